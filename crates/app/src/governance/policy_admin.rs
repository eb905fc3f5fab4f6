//! Editing the policy as data: role bundles, single grants to users, and
//! the tenant's policy settings. Every change is audited (a permission or
//! role change is a security event in seed 000 §5.3) and takes effect on
//! the affected users' next request.

use crate::governance::policy::{bundle_of, Action};
use crate::governance::service::Governance;
use crate::governance::types::{Grant, PolicySettings};
use crate::kit::domain_schema;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{Permission, PermissionSet, Role, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::governance::policy;
use serde::{Deserialize, Serialize};

/// One role's bundle as the tenant has it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RoleBundle {
    #[schema(value_type = domain_schema::Role)]
    pub role: Role,
    pub permissions: Vec<String>,
    /// The tenant replaced the default bundle.
    pub edited: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A permission of the catalogue.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PermissionInfo {
    pub code: String,
    pub description: String,
}

/// The tenant's whole policy.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyOverview {
    pub catalogue: Vec<PermissionInfo>,
    pub roles: Vec<RoleBundle>,
    pub grants: Vec<Grant>,
    pub settings: PolicySettings,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleInput {
    pub permissions: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    #[schema(value_type = domain_schema::UserId)]
    pub user_id: UserId,
    pub permission: String,
    /// Why this person needs it (e.g. "nurse practitioner, prescribes").
    pub reason: String,
}

fn policy_event(
    at: DateTime<Utc>,
    action: AuditAction,
    resource_type: ResourceKind,
    ids: Vec<String>,
) -> AuditEvent {
    AuditEvent::new(at, action, resource_type, ids)
}

fn validate_settings(s: &PolicySettings) -> AppResult<()> {
    let mut v = clinicos_domain::kit::validate::Validator::new();
    if !(1..=120).contains(&s.own_patient_window_months) {
        v.add("own_patient_window_months", "must be between 1 and 120");
    }
    if !(5..=24 * 60).contains(&s.break_glass_minutes) {
        v.add("break_glass_minutes", "must be between 5 and 1440");
    }
    if !matches!(s.consent_policy.as_str(), "implied" | "explicit") {
        v.add("consent_policy", "must be implied or explicit");
    }
    v.finish().map_err(AppError::Validation)
}

impl Governance<'_> {
    /// The tenant's policy: catalogue, bundles, grants, settings.
    pub async fn policy_overview(&self, ctx: &Ctx) -> AppResult<PolicyOverview> {
        self.authorize(ctx, Action::ManagePolicy).await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let stored = policy::bundles(&mut tx).await?;
        let grants = policy::grants(&mut tx, None).await?;
        let settings = policy::settings(&mut tx).await?;
        tx.commit().await?;
        let roles = Role::ALL
            .iter()
            .map(|r| {
                let edited = stored.iter().find(|b| b.role == *r);
                RoleBundle {
                    role: *r,
                    permissions: bundle_of(*r, edited.map(|b| b.permissions.as_str()))
                        .iter()
                        .map(|p| p.as_str().to_owned())
                        .collect(),
                    edited: edited.is_some(),
                    updated_at: edited.map(|b| b.updated_at),
                }
            })
            .collect();
        Ok(PolicyOverview {
            catalogue: Permission::ALL
                .iter()
                .map(|p| PermissionInfo {
                    code: p.as_str().to_owned(),
                    description: p.describe().to_owned(),
                })
                .collect(),
            roles,
            grants: grants.into_iter().map(Into::into).collect(),
            settings: settings.into(),
        })
    }

    /// Replace a role's bundle in this tenant.
    pub async fn set_role_bundle(
        &self,
        ctx: &Ctx,
        role: Role,
        input: BundleInput,
    ) -> AppResult<()> {
        self.authorize(ctx, Action::ManagePolicy).await?;
        let set = PermissionSet::parse_codes(&input.permissions.join(" "))
            .map_err(|e| AppError::field("permissions", &e))?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        policy::set_bundle(&mut tx, role, &set.to_codes(), now, ctx.user).await?;
        let reason = set.to_codes();
        audit::record(
            &mut tx,
            &ctx.actor(),
            policy_event(
                now,
                AuditAction::PolicyBundleChanged,
                ResourceKind::Role,
                vec![role.as_str().to_owned()],
            )
            .because(reason),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Back to the role's default bundle.
    pub async fn reset_role_bundle(&self, ctx: &Ctx, role: Role) -> AppResult<()> {
        self.authorize(ctx, Action::ManagePolicy).await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        if !policy::reset_bundle(&mut tx, role).await? {
            return Err(AppError::NotFound("edited bundle"));
        }
        audit::record(
            &mut tx,
            &ctx.actor(),
            policy_event(
                now,
                AuditAction::PolicyBundleReset,
                ResourceKind::Role,
                vec![role.as_str().to_owned()],
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grant one permission to one user.
    pub async fn grant_permission(&self, ctx: &Ctx, input: GrantInput) -> AppResult<Grant> {
        self.authorize(ctx, Action::ManagePolicy).await?;
        let p: Permission = input
            .permission
            .parse()
            .map_err(|e: String| AppError::field("permission", &e))?;
        let reason = input.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::field(
                "reason",
                "must say why, in at most 500 characters",
            ));
        }
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        clinicos_store::identity::users::get(&mut tx, input.user_id)
            .await
            .map_err(|_| {
                AppError::field("user_id", "is not a staff member of this organisation")
            })?;
        if policy::grants(&mut tx, Some(input.user_id))
            .await?
            .iter()
            .any(|g| g.permission == p.as_str())
        {
            return Err(AppError::Conflict(
                "the user already holds this grant".into(),
            ));
        }
        let g = policy::Grant {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: input.user_id,
            permission: p.as_str().to_owned(),
            reason: reason.to_owned(),
            granted_by: ctx.user,
            granted_at: now,
        };
        policy::insert_grant(&mut tx, &g).await?;
        audit::record(
            &mut tx,
            &ctx.actor(),
            policy_event(
                now,
                AuditAction::PolicyGrantAdded,
                ResourceKind::User,
                vec![input.user_id.as_text(), g.id.clone()],
            )
            .because(p.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(g.into())
    }

    /// Revoke a grant.
    pub async fn revoke_grant(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        self.authorize(ctx, Action::ManagePolicy).await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let Some(user) = policy::revoke_grant(&mut tx, id, now, ctx.user).await? else {
            return Err(AppError::NotFound("grant"));
        };
        audit::record(
            &mut tx,
            &ctx.actor(),
            policy_event(
                now,
                AuditAction::PolicyGrantRevoked,
                ResourceKind::User,
                vec![user.as_text(), id.to_owned()],
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Change the policy settings.
    pub async fn set_policy_settings(
        &self,
        ctx: &Ctx,
        s: PolicySettings,
    ) -> AppResult<PolicySettings> {
        self.authorize(ctx, Action::ManagePolicy).await?;
        validate_settings(&s)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        policy::set_settings(&mut tx, &s.clone().into(), now).await?;
        let reason = format!(
            "window={} break_glass={} consent={} cross_branch={}",
            s.own_patient_window_months,
            s.break_glass_minutes,
            s.consent_policy,
            s.clinical_cross_branch
        );
        audit::record(
            &mut tx,
            &ctx.actor(),
            policy_event(
                now,
                AuditAction::PolicySettingsChanged,
                ResourceKind::Tenant,
                vec![ctx.tenant.as_text()],
            )
            .because(reason),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }
}
