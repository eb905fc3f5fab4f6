//! Policy data: per-tenant role bundles (a row replaces the role's default
//! bundle), single permission grants to users, and the tenant's policy
//! settings (own-patient window, break-the-glass duration, consent policy,
//! cross-branch clinical visibility).

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{Role, UserId};

/// A role bundle a tenant has edited.
#[derive(Clone, Debug)]
pub struct StoredBundle {
    pub role: Role,
    pub permissions: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: UserId,
}

/// The rows that make up one user's effective permissions: edited bundles
/// of the given roles and the user's active grants, in one query.
pub struct EffectiveRows {
    pub bundles: Vec<(Role, String)>,
    pub grants: Vec<String>,
}

/// The statement of [`effective_rows`] (the user is `$2`).
pub const EFFECTIVE_ROWS_SQL: &str =
    "SELECT role AS k, permissions AS v FROM role_bundles WHERE tenant_id = $1 \
    UNION ALL SELECT '' AS k, permission AS v FROM user_grants \
    WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL";

pub async fn effective_rows(tx: &mut TenantTx, user: UserId) -> StoreResult<EffectiveRows> {
    let q = tx.q(EFFECTIVE_ROWS_SQL).bind(user.as_text());
    let mut out = EffectiveRows {
        bundles: Vec::new(),
        grants: Vec::new(),
    };
    for r in tx.all(q).await? {
        let k = r.text("k")?;
        let v = r.text("v")?;
        if k.is_empty() {
            out.grants.push(v);
        } else if let Ok(role) = k.parse() {
            out.bundles.push((role, v));
        }
    }
    Ok(out)
}

pub async fn bundles(tx: &mut TenantTx) -> StoreResult<Vec<StoredBundle>> {
    let q = tx.q(
        "SELECT role, permissions, updated_at, updated_by FROM role_bundles WHERE tenant_id = $1",
    );
    tx.all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(StoredBundle {
                role: r.parse("role")?,
                permissions: r.text("permissions")?,
                updated_at: r.time("updated_at")?,
                updated_by: r.parse("updated_by")?,
            })
        })
        .collect()
}

pub async fn set_bundle(
    tx: &mut TenantTx,
    role: Role,
    codes: &str,
    now: DateTime<Utc>,
    by: UserId,
) -> StoreResult<()> {
    let q = tx
        .q(
            "INSERT INTO role_bundles (tenant_id, role, permissions, updated_at, updated_by) \
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, role) \
            DO UPDATE SET permissions = $3, updated_at = $4, updated_by = $5",
        )
        .bind(role.as_str())
        .bind(codes.to_owned())
        .bind(ts(now))
        .bind(by.as_text());
    tx.exec(q).await?;
    Ok(())
}

/// Back to the default bundle; true when an edit was removed.
pub async fn reset_bundle(tx: &mut TenantTx, role: Role) -> StoreResult<bool> {
    let q = tx
        .q("DELETE FROM role_bundles WHERE tenant_id = $1 AND role = $2")
        .bind(role.as_str());
    Ok(tx.exec(q).await? > 0)
}

/// A single permission granted to one user.
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: String,
    pub user_id: UserId,
    pub permission: String,
    pub reason: String,
    pub granted_by: UserId,
    pub granted_at: DateTime<Utc>,
}

pub async fn grants(tx: &mut TenantTx, user: Option<UserId>) -> StoreResult<Vec<Grant>> {
    let q = tx
        .q(
            "SELECT id, user_id, permission, reason, granted_by, granted_at FROM user_grants \
            WHERE tenant_id = $1 AND revoked_at IS NULL AND ($2 = '' OR user_id = $2) \
            ORDER BY granted_at, id",
        )
        .bind(user.map(|u| u.as_text()).unwrap_or_default());
    tx.all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(Grant {
                id: r.text("id")?,
                user_id: r.parse("user_id")?,
                permission: r.text("permission")?,
                reason: r.text("reason")?,
                granted_by: r.parse("granted_by")?,
                granted_at: r.time("granted_at")?,
            })
        })
        .collect()
}

pub async fn insert_grant(tx: &mut TenantTx, g: &Grant) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO user_grants (tenant_id, id, user_id, permission, reason, granted_by, granted_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(g.id.clone())
        .bind(g.user_id.as_text())
        .bind(g.permission.clone())
        .bind(g.reason.clone())
        .bind(g.granted_by.as_text())
        .bind(ts(g.granted_at));
    tx.exec(q).await?;
    Ok(())
}

/// Revoke an active grant; returns its user when one was revoked.
pub async fn revoke_grant(
    tx: &mut TenantTx,
    id: &str,
    now: DateTime<Utc>,
    by: UserId,
) -> StoreResult<Option<UserId>> {
    let q = tx
        .q("UPDATE user_grants SET revoked_at = $3, revoked_by = $4 \
            WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING user_id")
        .bind(id.to_owned())
        .bind(ts(now))
        .bind(by.as_text());
    match tx.opt(q).await? {
        Some(r) => Ok(Some(r.parse("user_id")?)),
        None => Ok(None),
    }
}

/// The tenant's policy settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySettings {
    /// "Own patients": an appointment or visit within this many months.
    pub own_patient_window_months: i64,
    /// How long a break-the-glass grant lasts.
    pub break_glass_minutes: i64,
    /// `implied` (care needs no recorded consent) or `explicit` (the
    /// patient's recorded consent to care is required).
    pub consent_policy: String,
    /// Clinical records are visible across branches to clinicians with a
    /// care relationship.
    pub clinical_cross_branch: bool,
}

pub async fn settings(tx: &mut TenantTx) -> StoreResult<PolicySettings> {
    let q = tx.q(
        "SELECT own_patient_window_months, break_glass_minutes, consent_policy, \
                  clinical_cross_branch FROM tenants WHERE tenant_id = $1",
    );
    let r = tx.one(q).await?;
    Ok(PolicySettings {
        own_patient_window_months: r.int("own_patient_window_months")?,
        break_glass_minutes: r.int("break_glass_minutes")?,
        consent_policy: r.text("consent_policy")?,
        clinical_cross_branch: r.flag("clinical_cross_branch")?,
    })
}

pub async fn set_settings(
    tx: &mut TenantTx,
    s: &PolicySettings,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q(
            "UPDATE tenants SET own_patient_window_months = $2, break_glass_minutes = $3, \
            consent_policy = $4, clinical_cross_branch = $5, updated_at = $6 WHERE tenant_id = $1",
        )
        .bind(s.own_patient_window_months)
        .bind(s.break_glass_minutes)
        .bind(s.consent_policy.clone())
        .bind(i64::from(s.clinical_cross_branch))
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}
