//! Retention per tenant: which jurisdiction packs apply (the organisation's
//! country, its branches' countries, its home region) and the periods that
//! follow (`clinicos_domain::governance::jurisdiction`).
//!
//! Invariants:
//! - Periods come only from the packs' data; the longest applicable wins.
//! - Nothing audit-related is ever deleted: audit tables are append-only
//!   (SQLite triggers, PostgreSQL grants). The housekeeping job deletes only
//!   expired sign-in artefacts, never audit rows; an archival job that
//!   ever moves audit events must keep everything newer than
//!   [`Retention::audit_keep_since`].

use crate::governance::policy::Action;
use crate::governance::service::Governance;
use crate::kit::domain_schema;
use crate::{AppError, AppResult, Ctx};
use clinicos_domain::governance::jurisdiction::{Catalogue, Retention};
use clinicos_domain::TenantId;
use clinicos_store::{tenancy::branches, tenancy::tenants, TenantTx};
use serde::Serialize;

/// A tenant's retention and what it was derived from.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TenantRetention {
    #[serde(flatten)]
    #[schema(value_type = domain_schema::Retention)]
    pub retention: Retention,
    /// The organisation's country and its branches' countries, as used.
    pub countries: Vec<String>,
    /// The home region (data residency) code, as used.
    pub home_region: String,
}

/// The retention of the tenant whose transaction this is.
pub(crate) async fn of_tenant(tx: &mut TenantTx) -> AppResult<TenantRetention> {
    let t = tenants::get(tx).await?;
    let mut countries = vec![t.country.trim().to_uppercase()];
    for b in branches::all(tx).await? {
        countries.push(b.fields.country.trim().to_uppercase());
    }
    countries.retain(|c| !c.is_empty());
    countries.sort();
    countries.dedup();
    let packs = Catalogue::builtin().map_err(AppError::Internal)?;
    Ok(TenantRetention {
        retention: packs.retention(countries.iter().map(String::as_str), &t.home_region),
        countries,
        home_region: t.home_region,
    })
}

impl Governance<'_> {
    /// The organisation's retention periods (owner, privacy officer).
    pub async fn tenant_retention(&self, ctx: &Ctx) -> AppResult<TenantRetention> {
        self.authorize(ctx, Action::ViewRetention).await?;
        self.retention_of(ctx.tenant).await
    }

    /// Any tenant's retention (background jobs; no policy check).
    pub async fn retention_of(&self, tenant: TenantId) -> AppResult<TenantRetention> {
        let mut tx = self.app.store.read(tenant).await?;
        let r = of_tenant(&mut tx).await?;
        tx.commit().await?;
        Ok(r)
    }
}
