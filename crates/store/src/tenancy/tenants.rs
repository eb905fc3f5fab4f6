//! The tenant's own profile row (legal/display name, logo, address,
//! defaults, subscription status, session limits).

use crate::kit::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::tenancy::tenant::SubscriptionStatus;
use clinicos_domain::TenantId;
use sqlx::any::AnyRow;

/// A tenant (organisation).
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub legal_name: String,
    pub display_name: String,
    pub has_logo: bool,
    pub address_line: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub home_region: String,
    pub default_locale: String,
    pub default_currency: String,
    pub default_time_zone: String,
    pub subscription_status: SubscriptionStatus,
    pub plan_code: String,
    pub idle_timeout_minutes: i64,
    pub absolute_timeout_minutes: i64,
    /// Roles that must use a second factor (TOTP) to reach anything but
    /// MFA enrolment and sign-out.
    pub mfa_required_roles: Vec<clinicos_domain::Role>,
    /// New staff devices need an admin's approval before they sign in.
    pub device_approval: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Editable profile fields.
#[derive(Clone, Debug)]
pub struct TenantProfile {
    pub legal_name: String,
    pub display_name: String,
    pub address_line: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub default_locale: String,
    pub default_currency: String,
    pub default_time_zone: String,
    pub idle_timeout_minutes: i64,
    pub absolute_timeout_minutes: i64,
}

/// The columns of a tenant row that [`get`] reads.
pub const COLS: &str = "tenant_id, slug, legal_name, display_name, logo_mime, address_line, city, state, \
    postcode, country, home_region, default_locale, default_currency, default_time_zone, \
    subscription_status, plan_code, idle_timeout_minutes, absolute_timeout_minutes, mfa_required_roles, device_approval, created_at, updated_at";

fn from_row(r: &AnyRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: r.parse("tenant_id")?,
        slug: r.text("slug")?,
        legal_name: r.text("legal_name")?,
        display_name: r.text("display_name")?,
        has_logo: r.opt_text("logo_mime")?.is_some(),
        address_line: r.text("address_line")?,
        city: r.text("city")?,
        state: r.text("state")?,
        postcode: r.text("postcode")?,
        country: r.text("country")?,
        home_region: r.text("home_region")?,
        default_locale: r.text("default_locale")?,
        default_currency: r.text("default_currency")?,
        default_time_zone: r.text("default_time_zone")?,
        subscription_status: r.parse("subscription_status")?,
        plan_code: r.text("plan_code")?,
        idle_timeout_minutes: r.int("idle_timeout_minutes")?,
        absolute_timeout_minutes: r.int("absolute_timeout_minutes")?,
        mfa_required_roles: r
            .text("mfa_required_roles")?
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect(),
        device_approval: r.flag("device_approval")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// Insert the tenant row (the transaction's tenant is the new tenant's id).
pub async fn insert(
    tx: &mut TenantTx,
    slug: &str,
    region: &str,
    plan: &str,
    status: SubscriptionStatus,
    p: &TenantProfile,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO tenants (tenant_id, slug, legal_name, display_name, address_line, city, state, postcode, \
            country, home_region, default_locale, default_currency, default_time_zone, subscription_status, \
            plan_code, idle_timeout_minutes, absolute_timeout_minutes, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)")
        .bind(slug.to_owned())
        .bind(p.legal_name.clone())
        .bind(p.display_name.clone())
        .bind(p.address_line.clone())
        .bind(p.city.clone())
        .bind(p.state.clone())
        .bind(p.postcode.clone())
        .bind(p.country.clone())
        .bind(region.to_owned())
        .bind(p.default_locale.clone())
        .bind(p.default_currency.clone())
        .bind(p.default_time_zone.clone())
        .bind(status.as_str())
        .bind(plan.to_owned())
        .bind(p.idle_timeout_minutes)
        .bind(p.absolute_timeout_minutes)
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// The statement of [`get`]: the transaction's tenant.
pub fn get_sql() -> String {
    format!("SELECT {COLS} FROM tenants WHERE tenant_id = $1")
}

/// The transaction's tenant.
pub async fn get(tx: &mut TenantTx) -> StoreResult<Tenant> {
    let sql = get_sql();
    let q = tx.q(&sql);
    let row = tx.opt(q).await?.ok_or(StoreError::NotFound)?;
    from_row(&row)
}

pub async fn update_profile(
    tx: &mut TenantTx,
    p: &TenantProfile,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE tenants SET legal_name = $2, display_name = $3, address_line = $4, city = $5, state = $6, \
            postcode = $7, country = $8, default_locale = $9, default_currency = $10, default_time_zone = $11, \
            idle_timeout_minutes = $12, absolute_timeout_minutes = $13, updated_at = $14 WHERE tenant_id = $1")
        .bind(p.legal_name.clone())
        .bind(p.display_name.clone())
        .bind(p.address_line.clone())
        .bind(p.city.clone())
        .bind(p.state.clone())
        .bind(p.postcode.clone())
        .bind(p.country.clone())
        .bind(p.default_locale.clone())
        .bind(p.default_currency.clone())
        .bind(p.default_time_zone.clone())
        .bind(p.idle_timeout_minutes)
        .bind(p.absolute_timeout_minutes)
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

pub async fn set_status(
    tx: &mut TenantTx,
    status: SubscriptionStatus,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE tenants SET subscription_status = $2, updated_at = $3 WHERE tenant_id = $1")
        .bind(status.as_str())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

pub async fn set_logo(
    tx: &mut TenantTx,
    bytes: Vec<u8>,
    mime: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE tenants SET logo = $2, logo_mime = $3, updated_at = $4 WHERE tenant_id = $1")
        .bind(bytes)
        .bind(mime.to_owned())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// The logo bytes and MIME type, if one was uploaded.
pub async fn logo(tx: &mut TenantTx) -> StoreResult<Option<(Vec<u8>, String)>> {
    let q = tx.q("SELECT logo, logo_mime FROM tenants WHERE tenant_id = $1");
    let row = tx.opt(q).await?.ok_or(StoreError::NotFound)?;
    Ok(match (row.bytes("logo")?, row.opt_text("logo_mime")?) {
        (Some(b), Some(m)) => Some((b, m)),
        _ => None,
    })
}

/// Set the sign-in security settings (MFA-required roles, device approval).
pub async fn set_sign_in_security(
    tx: &mut TenantTx,
    mfa_required_roles: &[clinicos_domain::Role],
    device_approval: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let roles = mfa_required_roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let q = tx
        .q("UPDATE tenants SET mfa_required_roles = $2, device_approval = $3, updated_at = $4 WHERE tenant_id = $1")
        .bind(roles)
        .bind(i64::from(device_approval))
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}
