//! Branches (clinic locations) of a tenant.

use crate::kit::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::BranchId;
use sqlx::any::AnyRow;

/// A clinic location.
#[derive(Clone, Debug)]
pub struct Branch {
    pub id: BranchId,
    pub fields: BranchFields,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of a branch.
#[derive(Clone, Debug)]
pub struct BranchFields {
    pub code: String,
    pub name: String,
    pub address_line: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// IANA time zone, e.g. Asia/Kolkata.
    pub time_zone: String,
    /// ISO 4217.
    pub currency: String,
    pub gstin: Option<String>,
    pub vat_id: Option<String>,
    pub tin: Option<String>,
    /// Free-form opening hours, e.g. "Mon-Sat 09:00-18:00".
    pub working_hours: String,
    pub phone: String,
    pub email: String,
}

/// The columns of a branch row that [`get`] and the lists read.
pub const COLS: &str =
    "id, code, name, address_line, city, state, postcode, country, time_zone, currency, \
    gstin, vat_id, tin, working_hours, phone, email, is_active, created_at, updated_at";

fn from_row(r: &AnyRow) -> StoreResult<Branch> {
    Ok(Branch {
        id: r.parse("id")?,
        fields: BranchFields {
            code: r.text("code")?,
            name: r.text("name")?,
            address_line: r.text("address_line")?,
            city: r.text("city")?,
            state: r.text("state")?,
            postcode: r.text("postcode")?,
            country: r.text("country")?,
            time_zone: r.text("time_zone")?,
            currency: r.text("currency")?,
            gstin: r.opt_text("gstin")?,
            vat_id: r.opt_text("vat_id")?,
            tin: r.opt_text("tin")?,
            working_hours: r.text("working_hours")?,
            phone: r.text("phone")?,
            email: r.text("email")?,
        },
        is_active: r.flag("is_active")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn insert(
    tx: &mut TenantTx,
    id: BranchId,
    f: &BranchFields,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO branches (tenant_id, id, code, name, address_line, city, state, postcode, country, \
            time_zone, currency, gstin, vat_id, tin, working_hours, phone, email, is_active, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $18)")
        .bind(id.as_text());
    let q = bind_fields(q, f).bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

fn bind_fields<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    f: &BranchFields,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(f.code.clone())
        .bind(f.name.clone())
        .bind(f.address_line.clone())
        .bind(f.city.clone())
        .bind(f.state.clone())
        .bind(f.postcode.clone())
        .bind(f.country.clone())
        .bind(f.time_zone.clone())
        .bind(f.currency.clone())
        .bind(f.gstin.clone())
        .bind(f.vat_id.clone())
        .bind(f.tin.clone())
        .bind(f.working_hours.clone())
        .bind(f.phone.clone())
        .bind(f.email.clone())
}

pub async fn update(
    tx: &mut TenantTx,
    id: BranchId,
    f: &BranchFields,
    is_active: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE branches SET code = $3, name = $4, address_line = $5, city = $6, state = $7, postcode = $8, \
            country = $9, time_zone = $10, currency = $11, gstin = $12, vat_id = $13, tin = $14, \
            working_hours = $15, phone = $16, email = $17, is_active = $18, updated_at = $19 \
            WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text());
    let q = bind_fields(q, f).bind(i64::from(is_active)).bind(ts(now));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The statement of [`get`]: one branch by id (`$2`).
pub fn get_sql() -> String {
    format!("SELECT {COLS} FROM branches WHERE tenant_id = $1 AND id = $2")
}

pub async fn get(tx: &mut TenantTx, id: BranchId) -> StoreResult<Branch> {
    let sql = get_sql();
    let q = tx.q(&sql).bind(id.as_text());
    let row = tx.opt(q).await?.ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// Filters of the branch list.
#[derive(Clone, Debug, Default)]
pub struct BranchFilter {
    pub active: Option<bool>,
    /// Exact city, case-insensitive.
    pub city: Option<String>,
}

fn branch_where(first: usize) -> String {
    let (a, c) = (first, first + 1);
    format!(
        "tenant_id = $1 AND (CAST(${a} AS BIGINT) IS NULL OR is_active = CAST(${a} AS BIGINT)) \
         AND (CAST(${c} AS TEXT) IS NULL OR LOWER(city) = CAST(${c} AS TEXT))"
    )
}

/// A page of branches, filtered, ordered by an allow-listed column, with the total.
pub async fn list(
    tx: &mut TenantTx,
    filter: &BranchFilter,
    order: &str,
    desc: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Branch>, u64)> {
    let dir = if desc { "DESC" } else { "ASC" };
    let active = filter.active.map(i64::from);
    let city = filter.city.as_deref().map(|c| c.trim().to_lowercase());
    let sql = format!(
        "SELECT {COLS} FROM branches WHERE {} ORDER BY {order} {dir}, id LIMIT $2 OFFSET $3",
        branch_where(4)
    );
    let q = tx
        .q(&sql)
        .bind(limit)
        .bind(offset)
        .bind(active)
        .bind(city.clone());
    let rows = tx.all(q).await?;
    let sql = format!(
        "SELECT COUNT(*) AS n FROM branches WHERE {}",
        branch_where(2)
    );
    let q = tx.q(&sql).bind(active).bind(city);
    let total = tx.one(q).await?.int("n")?;
    Ok((
        rows.iter().map(from_row).collect::<StoreResult<_>>()?,
        total.max(0) as u64,
    ))
}

/// Every branch (small per tenant), for switchers and pickers.
pub async fn all(tx: &mut TenantTx) -> StoreResult<Vec<Branch>> {
    Ok(list(tx, &BranchFilter::default(), "name", false, 1000, 0)
        .await?
        .0)
}
