//! Creating tenants and users: used by the operator console, the CLI and the
//! demo. A new tenant gets a directory entry (primary database), its tenant
//! row, a first branch and its owner in its home region's database.

use crate::kit::context::RequestInfo;
use crate::kit::domain_schema;
use crate::tenancy::service::Tenancy;
use crate::tenancy::types::DirectoryEntry;
use crate::{AppError, AppResult};
use chrono::Utc;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::identity::password::check_strength;
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::tenancy::tenant::SubscriptionStatus;
use clinicos_domain::{BranchId, Role, TenantId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::identity::users::{self, UserProfile};
use clinicos_store::tenancy::branches::{self, BranchFields};
use clinicos_store::tenancy::platform;
use clinicos_store::tenancy::tenants::{self, TenantProfile};
use serde::Deserialize;

/// Everything needed to open a tenant.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTenant {
    /// Clinic code used at sign-in (lower-case letters, digits, hyphens).
    pub slug: String,
    pub legal_name: String,
    pub display_name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
    /// Home region code (data residency); defaults to the primary region.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    pub locale: String,
    pub currency: String,
    pub time_zone: String,
    pub owner_email: String,
    pub owner_name: String,
    /// If absent, the owner gets an invitation link to choose one.
    #[serde(default)]
    pub owner_password: Option<String>,
}

/// A new staff account.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    #[schema(value_type = Vec<domain_schema::Role>)]
    pub roles: Vec<Role>,
    #[serde(default)]
    #[schema(value_type = Vec<domain_schema::BranchId>)]
    pub branch_ids: Vec<BranchId>,
    /// If absent, the user is emailed an invitation link.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
}

impl Tenancy<'_> {
    /// Open a tenant with its first branch and owner.
    pub async fn create_tenant(&self, n: &NewTenant) -> AppResult<DirectoryEntry> {
        let now = self.app.clock.now();
        let mut v = Validator::new();
        v.slug("slug", &n.slug);
        v.text("legal_name", &n.legal_name, 200);
        v.text("display_name", &n.display_name, 120);
        v.country("country", &n.country);
        v.locale("locale", &n.locale);
        v.currency("currency", &n.currency);
        v.time_zone("time_zone", &n.time_zone);
        v.email("owner_email", &n.owner_email);
        v.text("owner_name", &n.owner_name, 120);
        v.finish()?;
        if let Some(p) = &n.owner_password {
            check_strength(p, &[&n.owner_name, &n.owner_email, &n.display_name])
                .map_err(|e| AppError::field("owner_password", &e.to_string()))?;
        }
        let region = n
            .region
            .clone()
            .unwrap_or_else(|| clinicos_store::kit::regions::PRIMARY_REGION.to_owned());
        let plan = n.plan.clone().unwrap_or_else(|| "trial".to_owned());
        self.ensure_default_plans().await?;
        if !platform::plans(self.app.store.platform())
            .await?
            .iter()
            .any(|p| p.code == plan)
        {
            return Err(AppError::field("plan", "is not a known plan"));
        }
        self.app
            .store
            .region_db(&region)
            .await
            .map_err(|_| AppError::field("region", "is not a known region"))?;
        let tenant = TenantId::new();
        let entry = platform::DirectoryEntry {
            tenant_id: tenant,
            slug: n.slug.clone(),
            display_name: n.display_name.clone(),
            region_code: region.clone(),
            plan_code: plan.clone(),
            status: SubscriptionStatus::Trial,
            created_at: now,
        };
        platform::insert_directory(self.app.store.platform(), &entry)
            .await
            .map_err(|e| match e {
                clinicos_store::StoreError::Duplicate(_) => {
                    AppError::field("slug", "is already taken")
                }
                other => other.into(),
            })?;
        self.app.store.set_home(tenant, &region).await;
        if let Err(e) = self.fill_new_tenant(tenant, n, &region, &plan).await {
            // Compensate: the tenant's region rows rolled back with their
            // transaction; remove the directory entry too.
            platform::delete_directory(self.app.store.platform(), tenant)
                .await
                .ok();
            return Err(e);
        }
        Ok(entry.into())
    }

    async fn fill_new_tenant(
        &self,
        tenant: TenantId,
        n: &NewTenant,
        region: &str,
        plan: &str,
    ) -> AppResult<()> {
        let now = self.app.clock.now();
        let profile = TenantProfile {
            legal_name: n.legal_name.trim().to_owned(),
            display_name: n.display_name.trim().to_owned(),
            address_line: String::new(),
            city: n.city.clone(),
            state: n.state.clone(),
            postcode: String::new(),
            country: n.country.clone(),
            default_locale: n.locale.clone(),
            default_currency: n.currency.clone(),
            default_time_zone: n.time_zone.clone(),
            idle_timeout_minutes: 15,
            absolute_timeout_minutes: 720,
        };
        let mut tx = self.app.store.write(tenant).await?;
        tenants::insert(
            &mut tx,
            &n.slug,
            region,
            plan,
            SubscriptionStatus::Trial,
            &profile,
            now,
        )
        .await?;
        // Two-step sign-in is required of the owner, branch admins and
        // privacy officers from the start (the owner may relax it later).
        tenants::set_sign_in_security(&mut tx, &Role::MFA_REQUIRED_BY_DEFAULT, false, now).await?;
        let branch = BranchId::new();
        let fields = BranchFields {
            code: "main".into(),
            name: format!("{} — Main", n.display_name.trim()),
            address_line: String::new(),
            city: n.city.clone(),
            state: n.state.clone(),
            postcode: String::new(),
            country: n.country.clone(),
            time_zone: n.time_zone.clone(),
            currency: n.currency.clone(),
            gstin: None,
            vat_id: None,
            tin: None,
            working_hours: String::new(),
            phone: String::new(),
            email: String::new(),
        };
        branches::insert(&mut tx, branch, &fields, now).await?;
        let owner = NewUser {
            email: n.owner_email.clone(),
            name: n.owner_name.clone(),
            roles: vec![Role::Owner],
            branch_ids: vec![branch],
            password: n.owner_password.clone(),
            locale: Some(n.locale.clone()),
        };
        let actor = RequestInfo {
            request_id: "provisioning".into(),
            ..Default::default()
        }
        .anonymous_actor();
        self.insert_user(&mut tx, &owner, &n.display_name, &actor)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Insert a user inside an open tenant transaction (validated here).
    pub(crate) async fn insert_user(
        &self,
        tx: &mut clinicos_store::TenantTx,
        u: &NewUser,
        org_name: &str,
        actor: &clinicos_store::governance::audit::Actor,
    ) -> AppResult<UserId> {
        let now = self.app.clock.now();
        let email = crate::identity::auth::normalise_email(&u.email);
        let mut v = Validator::new();
        v.email("email", &email);
        v.text("name", &u.name, 120);
        if u.roles.is_empty() {
            v.add("roles", "at least one role is required");
        }
        if let Some(l) = &u.locale {
            v.locale("locale", l);
        }
        v.finish()?;
        let hash = match &u.password {
            Some(p) => {
                check_strength(p, &[&u.name, &email, org_name])
                    .map_err(|e| AppError::field("password", &e.to_string()))?;
                let p = p.clone();
                tokio::task::spawn_blocking(move || crate::kit::crypto::hash_password(&p))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?
                    .map_err(AppError::Internal)?
            }
            // No usable password until the invitation link is used.
            None => format!("!invited:{}", crate::kit::crypto::random_token(16)),
        };
        let id = UserId::new();
        let profile = UserProfile {
            name: u.name.trim().to_owned(),
            ..Default::default()
        };
        let locale = u.locale.clone().unwrap_or_else(|| "en".into());
        users::insert(tx, id, &email, &profile, &locale, &hash, now)
            .await
            .map_err(|e| match e {
                clinicos_store::StoreError::Duplicate(_) => {
                    AppError::field("email", "is already used by another staff member")
                }
                other => other.into(),
            })?;
        let mut roles = u.roles.clone();
        roles.sort();
        roles.dedup();
        users::set_roles(tx, id, &roles).await?;
        users::set_branches(tx, id, &u.branch_ids)
            .await
            .map_err(|e| match e {
                clinicos_store::StoreError::ForeignKey => {
                    AppError::field("branch_ids", "contains a branch that does not exist")
                }
                other => other.into(),
            })?;
        if u.password.is_none() {
            self.app
                .identity()
                .send_password_link(tx, tx.tenant(), id, &email, "invite", now)
                .await?;
        }
        let ev = AuditEvent::new(
            now,
            AuditAction::StaffCreate,
            ResourceKind::User,
            vec![id.as_text()],
        );
        audit::record(tx, actor, ev).await?;
        Ok(id)
    }

    /// Create a user in a tenant found by slug (CLI).
    pub async fn create_user_cli(&self, tenant_slug: &str, u: &NewUser) -> AppResult<UserId> {
        let entry = platform::directory_by_slug(self.app.store.platform(), tenant_slug)
            .await?
            .ok_or(AppError::NotFound("tenant"))?;
        let mut tx = self.app.store.write(entry.tenant_id).await?;
        let t = tenants::get(&mut tx).await?;
        let mut u = u.clone();
        if u.branch_ids.is_empty() {
            u.branch_ids = branches::all(&mut tx)
                .await?
                .into_iter()
                .take(1)
                .map(|b| b.id)
                .collect();
        }
        let actor = RequestInfo {
            request_id: "cli".into(),
            ..Default::default()
        }
        .anonymous_actor();
        let id = self
            .insert_user(&mut tx, &u, &t.display_name, &actor)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Set a user's password by email (CLI `user reset-password`); ends
    /// their sessions.
    pub async fn reset_password_cli(
        &self,
        tenant_slug: &str,
        email: &str,
        password: &str,
    ) -> AppResult<()> {
        let now = self.app.clock.now();
        let entry = platform::directory_by_slug(self.app.store.platform(), tenant_slug)
            .await?
            .ok_or(AppError::NotFound("tenant"))?;
        let mut tx = self.app.store.write(entry.tenant_id).await?;
        let creds =
            users::credentials_by_email(&mut tx, &crate::identity::auth::normalise_email(email))
                .await?
                .ok_or(AppError::NotFound("user"))?;
        check_strength(password, &[&creds.name, &creds.email])
            .map_err(|e| AppError::field("password", &e.to_string()))?;
        let hash = crate::kit::crypto::hash_password(password).map_err(AppError::Internal)?;
        users::set_password(&mut tx, creds.id, &hash, now).await?;
        clinicos_store::identity::sessions::revoke_all_for_user(
            &mut tx,
            creds.id,
            None,
            "password_reset",
            now,
        )
        .await?;
        let actor = RequestInfo {
            request_id: "cli".into(),
            ..Default::default()
        }
        .anonymous_actor();
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthPasswordReset,
            ResourceKind::User,
            vec![creds.id.as_text()],
        )
        .because("cli");
        audit::record(&mut tx, &actor, ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The built-in plans, created on first use.
    pub async fn ensure_default_plans(&self) -> AppResult<()> {
        let existing = platform::plans(self.app.store.platform()).await?;
        if existing.iter().any(|p| p.code == "trial") {
            return Ok(());
        }
        let now = Utc::now();
        for (code, name, b, s, price) in [
            ("trial", "Trial", 2, 10, 0),
            ("clinic", "Clinic", 3, 30, 499_900),
            ("chain", "Chain", 50, 500, 2_499_900),
        ] {
            let p = platform::Plan {
                code: code.into(),
                name: name.into(),
                max_branches: b,
                max_staff: s,
                price_minor: price,
                currency: "INR".into(),
            };
            platform::upsert_plan(self.app.store.platform(), &p, now).await?;
        }
        Ok(())
    }
}
