//! Tenant administration and the signed-in user's own account: the
//! organisation profile and logo, branches, staff (invite, roles, branches,
//! deactivate), my profile. Every use case authorizes through the policy
//! point and writes its audit event in the same transaction.

use crate::governance::policy::Action;
use crate::identity::types::{Image, StaffFilter, User, UserProfile};
use crate::kit::audit::audit_ok;
use crate::kit::domain_schema;
use crate::tenancy::provisioning::NewUser;
use crate::tenancy::service::Tenancy;
use crate::tenancy::types::{Branch, BranchFilter, Tenant};
use crate::{AppError, AppResult, Ctx};
use clinicos_domain::governance::access::Target;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::page::{parse_sort, Direction, PageMeta, PageRequest};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::{BranchId, Role, UserId};
use clinicos_store::identity::sessions;
use clinicos_store::identity::users;
use clinicos_store::tenancy::branches::{self, BranchFields};
use clinicos_store::tenancy::tenants::{self, TenantProfile};
use serde::Deserialize;

/// Images must be one of these, recognised by their first bytes.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// Detect PNG / JPEG / WebP by content (never trust the declared type).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn check_image(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppError::field("image", "must be at most 2 MB"));
    }
    sniff_image(bytes).ok_or_else(|| AppError::field("image", "must be a PNG, JPEG or WebP image"))
}

/// Changes to a staff member's access.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffAccess {
    #[schema(value_type = Option<Vec<domain_schema::Role>>)]
    pub roles: Option<Vec<Role>>,
    #[schema(value_type = Option<Vec<domain_schema::BranchId>>)]
    pub branch_ids: Option<Vec<BranchId>>,
    pub is_active: Option<bool>,
}

/// A machine-readable export of the organisation's records.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TenantExport {
    pub format: String,
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub tenant: Tenant,
    pub branches: Vec<Branch>,
    pub staff: Vec<User>,
}

/// Partial update of a branch (missing fields keep their value).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BranchPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub address_line: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
    pub currency: Option<String>,
    pub gstin: Option<String>,
    pub vat_id: Option<String>,
    pub tin: Option<String>,
    pub working_hours: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub is_active: Option<bool>,
}

/// Partial update of the organisation profile.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TenantPatch {
    pub legal_name: Option<String>,
    pub display_name: Option<String>,
    pub address_line: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub default_locale: Option<String>,
    pub default_currency: Option<String>,
    pub default_time_zone: Option<String>,
    pub idle_timeout_minutes: Option<i64>,
    pub absolute_timeout_minutes: Option<i64>,
}

fn validate_branch(f: &BranchFields) -> AppResult<()> {
    let mut v = Validator::new();
    v.slug("code", &f.code);
    v.text("name", &f.name, 120);
    v.opt_text("address_line", Some(&f.address_line), 300);
    v.opt_text("city", Some(&f.city), 100);
    v.opt_text("state", Some(&f.state), 100);
    v.opt_text("postcode", Some(&f.postcode), 20);
    v.country("country", &f.country);
    v.time_zone("time_zone", &f.time_zone);
    v.currency("currency", &f.currency);
    v.opt_text("gstin", f.gstin.as_deref(), 20);
    v.opt_text("vat_id", f.vat_id.as_deref(), 30);
    v.opt_text("tin", f.tin.as_deref(), 30);
    v.opt_text("working_hours", Some(&f.working_hours), 300);
    v.opt_text("phone", Some(&f.phone), 30);
    if !f.email.is_empty() {
        v.email("email", &f.email);
    }
    if let Some(g) = f.gstin.as_deref().filter(|g| !g.is_empty()) {
        if g.len() != 15
            || !g
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            v.add("gstin", "must be 15 upper-case letters and digits");
        }
    }
    Ok(v.finish()?)
}

fn nonempty(o: Option<String>) -> Option<String> {
    o.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// What a staff change touches, for the policy point: the member's
/// branches (each must be the acting admin's) and whether an owner is made
/// or managed (only an owner may).
pub(crate) fn staff_target<'a>(roles: &[Role], branches: &'a [BranchId]) -> Target<'a> {
    Target {
        branches,
        grants_owner: roles.contains(&Role::Owner),
        ..Target::default()
    }
}

impl Tenancy<'_> {
    // ---- organisation -------------------------------------------------

    pub async fn tenant_profile(&self, ctx: &Ctx) -> AppResult<Tenant> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewTenant)
            .await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let t = tenants::get(&mut tx).await?;
        tx.commit().await?;
        Ok(t.into())
    }

    pub async fn update_tenant(&self, ctx: &Ctx, p: TenantPatch) -> AppResult<Tenant> {
        self.app
            .governance()
            .authorize(ctx, Action::EditTenant)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let t = tenants::get(&mut tx).await?;
        let profile = TenantProfile {
            legal_name: p.legal_name.unwrap_or(t.legal_name),
            display_name: p.display_name.unwrap_or(t.display_name),
            address_line: p.address_line.unwrap_or(t.address_line),
            city: p.city.unwrap_or(t.city),
            state: p.state.unwrap_or(t.state),
            postcode: p.postcode.unwrap_or(t.postcode),
            country: p.country.unwrap_or(t.country),
            default_locale: p.default_locale.unwrap_or(t.default_locale),
            default_currency: p.default_currency.unwrap_or(t.default_currency),
            default_time_zone: p.default_time_zone.unwrap_or(t.default_time_zone),
            idle_timeout_minutes: p.idle_timeout_minutes.unwrap_or(t.idle_timeout_minutes),
            absolute_timeout_minutes: p
                .absolute_timeout_minutes
                .unwrap_or(t.absolute_timeout_minutes),
        };
        let mut v = Validator::new();
        v.text("legal_name", &profile.legal_name, 200);
        v.text("display_name", &profile.display_name, 120);
        v.opt_text("address_line", Some(&profile.address_line), 300);
        v.country("country", &profile.country);
        v.locale("default_locale", &profile.default_locale);
        v.currency("default_currency", &profile.default_currency);
        v.time_zone("default_time_zone", &profile.default_time_zone);
        if !(5..=240).contains(&profile.idle_timeout_minutes) {
            v.add("idle_timeout_minutes", "must be between 5 and 240");
        }
        if !(60..=24 * 60).contains(&profile.absolute_timeout_minutes) {
            v.add("absolute_timeout_minutes", "must be between 60 and 1440");
        }
        v.finish()?;
        tenants::update_profile(&mut tx, &profile, now).await?;
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::ConfigTenantUpdate,
            ResourceKind::Tenant,
            vec![ctx.tenant.as_text()],
            now,
        )
        .await?;
        let t = tenants::get(&mut tx).await?;
        tx.commit().await?;
        Ok(t.into())
    }

    pub async fn set_tenant_logo(&self, ctx: &Ctx, bytes: Vec<u8>) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, Action::EditTenant)
            .await?;
        let mime = check_image(&bytes)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        tenants::set_logo(&mut tx, bytes, mime, now).await?;
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::ConfigTenantLogo,
            ResourceKind::Tenant,
            vec![ctx.tenant.as_text()],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn tenant_logo(&self, ctx: &Ctx) -> AppResult<(Vec<u8>, String)> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewTenant)
            .await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let logo = tenants::logo(&mut tx)
            .await?
            .ok_or(AppError::NotFound("logo"))?;
        tx.commit().await?;
        Ok(logo)
    }

    /// Everything the organisation holds so far, as one JSON document
    /// (profile, branches, staff without credentials). Allowed while the
    /// subscription is suspended; audited as an export.
    pub async fn export_tenant(&self, ctx: &Ctx) -> AppResult<TenantExport> {
        self.app
            .governance()
            .authorize(ctx, Action::ExportData)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let tenant = tenants::get(&mut tx).await?;
        let branches = branches::all(&mut tx).await?;
        let (staff, _) = users::list(
            &mut tx,
            &users::StaffFilter::default(),
            "name",
            false,
            i64::MAX / 2,
            0,
        )
        .await?;
        let mut ids = vec![ctx.tenant.as_text()];
        ids.extend(branches.iter().map(|b| b.id.as_text()));
        ids.extend(staff.iter().map(|u| u.id.as_text()));
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::ExportTenantData,
            ResourceKind::Tenant,
            ids,
            now,
        )
        .await?;
        tx.commit().await?;
        self.app.governance().note_export(ctx, "tenant_data").await;
        Ok(TenantExport {
            format: "clinicos-tenant-export/1".into(),
            exported_at: now,
            tenant: tenant.into(),
            branches: branches.into_iter().map(Into::into).collect(),
            staff: staff.into_iter().map(Into::into).collect(),
        })
    }

    // ---- branches -----------------------------------------------------

    pub async fn list_branches(
        &self,
        ctx: &Ctx,
        filter: &BranchFilter,
        page: PageRequest,
        sort: Option<&str>,
    ) -> AppResult<(Vec<Branch>, PageMeta)> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewBranches)
            .await?;
        let allowed = [
            ("name", "name"),
            ("code", "code"),
            ("city", "city"),
            ("created_at", "created_at"),
        ];
        let (col, dir) = parse_sort(sort, &allowed, ("name", Direction::Asc))
            .map_err(|m| AppError::field("sort", &m))?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let (rows, total) = branches::list(
            &mut tx,
            &filter.into(),
            col,
            dir == Direction::Desc,
            i64::from(page.limit),
            page.offset(),
        )
        .await?;
        tx.commit().await?;
        Ok((
            rows.into_iter().map(Into::into).collect(),
            PageMeta::new(page, total),
        ))
    }

    pub async fn get_branch(&self, ctx: &Ctx, id: BranchId) -> AppResult<Branch> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewBranches)
            .await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let b = branches::get(&mut tx, id)
            .await
            .map_err(|_| AppError::NotFound("branch"))?;
        tx.commit().await?;
        Ok(b.into())
    }

    /// Create a branch; omitted country, time zone and currency default
    /// from the organisation.
    pub async fn create_branch(&self, ctx: &Ctx, p: BranchPatch) -> AppResult<Branch> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageBranches)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let t = tenants::get(&mut tx).await?;
        let f = BranchFields {
            code: p.code.unwrap_or_default().trim().to_lowercase(),
            name: p.name.unwrap_or_default().trim().to_owned(),
            address_line: p.address_line.unwrap_or_default(),
            city: p.city.unwrap_or_default(),
            state: p.state.unwrap_or_default(),
            postcode: p.postcode.unwrap_or_default(),
            country: nonempty(p.country).unwrap_or(t.country),
            time_zone: nonempty(p.time_zone).unwrap_or(t.default_time_zone),
            currency: nonempty(p.currency).unwrap_or(t.default_currency),
            gstin: nonempty(p.gstin),
            vat_id: nonempty(p.vat_id),
            tin: nonempty(p.tin),
            working_hours: p.working_hours.unwrap_or_default(),
            phone: p.phone.unwrap_or_default(),
            email: p.email.unwrap_or_default(),
        };
        validate_branch(&f)?;
        let id = BranchId::new();
        branches::insert(&mut tx, id, &f, now)
            .await
            .map_err(|e| match e {
                clinicos_store::StoreError::Duplicate(_) => {
                    AppError::field("code", "is already used by another branch")
                }
                other => other.into(),
            })?;
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::ConfigBranchCreate,
            ResourceKind::Branch,
            vec![id.as_text()],
            now,
        )
        .await?;
        let b = branches::get(&mut tx, id).await?;
        tx.commit().await?;
        Ok(b.into())
    }

    pub async fn update_branch(
        &self,
        ctx: &Ctx,
        id: BranchId,
        p: BranchPatch,
    ) -> AppResult<Branch> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageBranches)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let b = branches::get(&mut tx, id)
            .await
            .map_err(|_| AppError::NotFound("branch"))?;
        let o = b.fields;
        let f = BranchFields {
            code: p.code.map(|c| c.trim().to_lowercase()).unwrap_or(o.code),
            name: p.name.unwrap_or(o.name),
            address_line: p.address_line.unwrap_or(o.address_line),
            city: p.city.unwrap_or(o.city),
            state: p.state.unwrap_or(o.state),
            postcode: p.postcode.unwrap_or(o.postcode),
            country: p.country.unwrap_or(o.country),
            time_zone: p.time_zone.unwrap_or(o.time_zone),
            currency: p.currency.unwrap_or(o.currency),
            gstin: if p.gstin.is_some() {
                nonempty(p.gstin)
            } else {
                o.gstin
            },
            vat_id: if p.vat_id.is_some() {
                nonempty(p.vat_id)
            } else {
                o.vat_id
            },
            tin: if p.tin.is_some() {
                nonempty(p.tin)
            } else {
                o.tin
            },
            working_hours: p.working_hours.unwrap_or(o.working_hours),
            phone: p.phone.unwrap_or(o.phone),
            email: p.email.unwrap_or(o.email),
        };
        validate_branch(&f)?;
        branches::update(&mut tx, id, &f, p.is_active.unwrap_or(b.is_active), now)
            .await
            .map_err(|e| match e {
                clinicos_store::StoreError::Duplicate(_) => {
                    AppError::field("code", "is already used by another branch")
                }
                other => other.into(),
            })?;
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::ConfigBranchUpdate,
            ResourceKind::Branch,
            vec![id.as_text()],
            now,
        )
        .await?;
        let b = branches::get(&mut tx, id).await?;
        tx.commit().await?;
        Ok(b.into())
    }

    // ---- staff --------------------------------------------------------

    pub async fn list_staff(
        &self,
        ctx: &Ctx,
        filter: &StaffFilter,
        page: PageRequest,
        sort: Option<&str>,
    ) -> AppResult<(Vec<User>, PageMeta)> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewStaff)
            .await?;
        let allowed = [
            ("name", "name"),
            ("email", "email"),
            ("created_at", "created_at"),
        ];
        let (col, dir) = parse_sort(sort, &allowed, ("name", Direction::Asc))
            .map_err(|m| AppError::field("sort", &m))?;
        let now = self.app.clock.now();
        // The list and its audit event share one transaction: a read that
        // cannot be audited returns an error instead of data.
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let (rows, total) = users::list(
            &mut tx,
            &filter.into(),
            col,
            dir == Direction::Desc,
            i64::from(page.limit),
            page.offset(),
        )
        .await?;
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::StaffList,
            ResourceKind::User,
            rows.iter().map(|u| u.id.as_text()).collect(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((
            rows.into_iter().map(Into::into).collect(),
            PageMeta::new(page, total),
        ))
    }

    pub async fn get_staff(&self, ctx: &Ctx, id: UserId) -> AppResult<User> {
        if id != ctx.user {
            self.app
                .governance()
                .authorize(ctx, Action::ViewStaff)
                .await?;
        }
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let u = users::get(&mut tx, id)
            .await
            .map_err(|_| AppError::NotFound("staff member"))?;
        tx.commit().await?;
        Ok(u.into())
    }

    /// Invite a staff member: the account is created without a usable
    /// password and a 7-day set-password link goes to their email.
    pub async fn invite_staff(&self, ctx: &Ctx, mut n: NewUser) -> AppResult<User> {
        self.app
            .governance()
            .authorize_on(
                ctx,
                Action::ManageStaff,
                &staff_target(&n.roles, &n.branch_ids),
                &Default::default(),
            )
            .await?;
        n.password = None;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let id = self
            .insert_user(&mut tx, &n, &ctx.tenant_name, &ctx.actor())
            .await?;
        let u = users::get(&mut tx, id).await?;
        tx.commit().await?;
        Ok(u.into())
    }

    pub async fn update_staff_access(
        &self,
        ctx: &Ctx,
        id: UserId,
        a: StaffAccess,
    ) -> AppResult<User> {
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let current = users::get(&mut tx, id).await;
        // One decision over the member as they are and as they would be.
        let (mut roles, mut branches) = match &current {
            Ok(u) => (u.roles.clone(), u.branch_ids.clone()),
            Err(_) => (Vec::new(), Vec::new()),
        };
        roles.extend(a.roles.iter().flatten().copied());
        branches.extend(a.branch_ids.iter().flatten().copied());
        let mut tx = self
            .app
            .governance()
            .authorize_in(
                tx,
                ctx,
                Action::ManageStaff,
                &staff_target(&roles, &branches),
            )
            .await?;
        let current = current.map_err(|_| AppError::NotFound("staff member"))?;
        if let Some(roles) = &a.roles {
            if roles.is_empty() {
                return Err(AppError::field("roles", "at least one role is required"));
            }
            if id == ctx.user
                && current.roles.contains(&Role::Owner)
                && !roles.contains(&Role::Owner)
            {
                return Err(AppError::field(
                    "roles",
                    "you cannot remove your own owner role",
                ));
            }
            let mut r = roles.clone();
            r.sort();
            r.dedup();
            users::set_roles(&mut tx, id, &r).await?;
            audit_ok(
                &mut tx,
                ctx,
                AuditAction::PermissionRolesChange,
                ResourceKind::User,
                vec![id.as_text()],
                now,
            )
            .await?;
        }
        if let Some(b) = &a.branch_ids {
            users::set_branches(&mut tx, id, b)
                .await
                .map_err(|e| match e {
                    clinicos_store::StoreError::ForeignKey => {
                        AppError::field("branch_ids", "contains a branch that does not exist")
                    }
                    other => other.into(),
                })?;
            audit_ok(
                &mut tx,
                ctx,
                AuditAction::PermissionBranchesChange,
                ResourceKind::User,
                vec![id.as_text()],
                now,
            )
            .await?;
        }
        if let Some(active) = a.is_active {
            if id == ctx.user && !active {
                return Err(AppError::field(
                    "is_active",
                    "you cannot deactivate yourself",
                ));
            }
            users::set_active(&mut tx, id, active, now).await?;
            if !active {
                sessions::revoke_all_for_user(&mut tx, id, None, "deactivated", now).await?;
            }
            let action = if active {
                AuditAction::StaffReactivate
            } else {
                AuditAction::StaffDeactivate
            };
            audit_ok(
                &mut tx,
                ctx,
                action,
                ResourceKind::User,
                vec![id.as_text()],
                now,
            )
            .await?;
        }
        let u = users::get(&mut tx, id).await?;
        tx.commit().await?;
        Ok(u.into())
    }

    pub async fn staff_image(
        &self,
        ctx: &Ctx,
        id: UserId,
        which: Image,
    ) -> AppResult<(Vec<u8>, String)> {
        if id != ctx.user {
            // Colleagues' photos are visible to every staff member.
            self.app
                .governance()
                .authorize(ctx, Action::ViewTenant)
                .await?;
        }
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let img = users::image(&mut tx, id, which.into())
            .await
            .map_err(|_| AppError::NotFound("staff member"))?
            .ok_or(AppError::NotFound("image"))?;
        tx.commit().await?;
        Ok(img)
    }

    // ---- my account ---------------------------------------------------

    pub async fn me(&self, ctx: &Ctx) -> AppResult<User> {
        self.get_staff(ctx, ctx.user).await
    }

    pub async fn update_me(
        &self,
        ctx: &Ctx,
        p: UserProfile,
        locale: Option<String>,
    ) -> AppResult<User> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut v = Validator::new();
        v.text("name", &p.name, 120);
        v.opt_text("phone", Some(&p.phone), 30);
        for f in [
            ("registration_number", &p.registration_number),
            ("registration_council", &p.registration_council),
            ("qualifications", &p.qualifications),
            ("specialisation", &p.specialisation),
            ("health_professional_id", &p.health_professional_id),
        ] {
            v.opt_text(f.0, f.1.as_deref(), 200);
        }
        if p.languages.len() > 20 || p.languages.iter().any(|l| l.is_empty() || l.len() > 16) {
            v.add(
                "languages",
                "must be up to 20 language codes such as en, hi",
            );
        }
        if let Some(l) = &locale {
            v.locale("locale", l);
        }
        v.finish()?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        users::update_profile(&mut tx, ctx.user, &p.into(), now).await?;
        if let Some(l) = &locale {
            users::set_locale(&mut tx, ctx.user, l).await?;
        }
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::StaffProfileUpdate,
            ResourceKind::User,
            vec![ctx.user.as_text()],
            now,
        )
        .await?;
        let u = users::get(&mut tx, ctx.user).await?;
        tx.commit().await?;
        Ok(u.into())
    }

    pub async fn set_my_locale(&self, ctx: &Ctx, locale: &str) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageOwnAccount)
            .await?;
        let mut v = Validator::new();
        v.locale("locale", locale);
        v.finish()?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        users::set_locale(&mut tx, ctx.user, locale).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_my_image(&self, ctx: &Ctx, which: Image, bytes: Vec<u8>) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageOwnAccount)
            .await?;
        let mime = check_image(&bytes)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        users::set_image(&mut tx, ctx.user, which.into(), bytes, mime).await?;
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::StaffImageUpdate,
            ResourceKind::User,
            vec![ctx.user.as_text()],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Branches for the switcher: the user's own (all for owners).
    pub async fn my_branches(&self, ctx: &Ctx) -> AppResult<Vec<Branch>> {
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let all = branches::all(&mut tx).await?;
        tx.commit().await?;
        Ok(all
            .into_iter()
            .filter(|b| ctx.has_role(Role::Owner) || ctx.branches.contains(&b.id))
            .map(Into::into)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_content() {
        assert_eq!(
            sniff_image(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]),
            Some("image/png")
        );
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg onload=alert(1)>"), None);
    }
}
