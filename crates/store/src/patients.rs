//! Patient rows and the facts the policy point needs about them: care
//! relationships ("own patients"), medical-history entries with their
//! sensitivity, and break-the-glass grants. Encrypted columns arrive here
//! as ciphertext; the app layer encrypts and decrypts.

use crate::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::name_search::{self, NameParts};
use clinicos_domain::{BranchId, UserId};
use sqlx::any::AnyRow;

/// A patient's registry row (ciphertext for encrypted columns).
#[derive(Clone, Debug)]
pub struct PatientRow {
    pub id: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    /// The name in a local script (Devanagari, Arabic, ...), or empty.
    pub local_name: String,
    pub birth_date: Option<String>,
    pub sex: String,
    pub city: String,
    pub postcode: String,
    pub phone: Option<Vec<u8>>,
    pub phone_bidx: Option<String>,
    pub email: Option<Vec<u8>>,
    pub email_bidx: Option<String>,
    pub first_branch_id: Option<BranchId>,
    pub care_consent_at: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub deceased_at: Option<DateTime<Utc>>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLS: &str = "id, given_name, middle_name, family_name, local_name, birth_date, sex, city, postcode, phone, \
    phone_bidx, email, email_bidx, first_branch_id, care_consent_at, is_active, deceased_at, created_by, \
    created_at, updated_at";

pub(crate) fn from_row(r: &AnyRow) -> StoreResult<PatientRow> {
    Ok(PatientRow {
        id: r.text("id")?,
        given_name: r.text("given_name")?,
        middle_name: r.text("middle_name")?,
        family_name: r.text("family_name")?,
        local_name: r.text("local_name")?,
        birth_date: r.opt_text("birth_date")?,
        sex: r.text("sex")?,
        city: r.text("city")?,
        postcode: r.text("postcode")?,
        phone: r.bytes("phone")?,
        phone_bidx: r.opt_text("phone_bidx")?,
        email: r.bytes("email")?,
        email_bidx: r.opt_text("email_bidx")?,
        first_branch_id: r.opt_text("first_branch_id")?.and_then(|b| b.parse().ok()),
        care_consent_at: r.opt_time("care_consent_at")?,
        is_active: r.flag("is_active")?,
        deceased_at: r.opt_time("deceased_at")?,
        created_by: r.opt_text("created_by")?.and_then(|u| u.parse().ok()),
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

impl PatientRow {
    /// The names the search index is built from.
    pub fn names(&self) -> NameParts<'_> {
        NameParts {
            given: &self.given_name,
            middle: &self.middle_name,
            family: &self.family_name,
            local: &self.local_name,
        }
    }
}

/// Insert a patient and its name tokens (one transaction: the search index
/// never lags the registry).
pub async fn insert(tx: &mut TenantTx, p: &PatientRow) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO patients (tenant_id, id, given_name, middle_name, family_name, local_name, name_key, \
            birth_date, sex, city, postcode, phone, phone_bidx, email, email_bidx, first_branch_id, \
            care_consent_at, is_active, deceased_at, created_by, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
            $20, $21, $22)")
        .bind(p.id.clone())
        .bind(p.given_name.clone())
        .bind(p.middle_name.clone())
        .bind(p.family_name.clone())
        .bind(p.local_name.clone())
        .bind(name_search::sort_key(&p.names()))
        .bind(p.birth_date.clone())
        .bind(p.sex.clone())
        .bind(p.city.clone())
        .bind(p.postcode.clone())
        .bind(p.phone.clone())
        .bind(p.phone_bidx.clone())
        .bind(p.email.clone())
        .bind(p.email_bidx.clone())
        .bind(p.first_branch_id.map(|b| b.as_text()))
        .bind(p.care_consent_at.map(ts))
        .bind(i64::from(p.is_active))
        .bind(p.deceased_at.map(ts))
        .bind(p.created_by.map(|u| u.as_text()))
        .bind(ts(p.created_at))
        .bind(ts(p.updated_at));
    tx.exec(q).await?;
    crate::patient_search::write_tokens(tx, &p.id, &p.names()).await
}

pub async fn get(tx: &mut TenantTx, id: &str) -> StoreResult<PatientRow> {
    let sql = format!("SELECT {COLS} FROM patients WHERE tenant_id = $1 AND id = $2");
    let q = tx.q(&sql).bind(id.to_owned());
    from_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

/// Does the patient exist in this tenant?
pub async fn exists(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let q = tx
        .q("SELECT 1 AS one FROM patients WHERE tenant_id = $1 AND id = $2")
        .bind(id.to_owned());
    Ok(tx.opt(q).await?.is_some())
}

/// Does the user have a care relationship with the patient: on the care
/// team, or an appointment or visit at or after `since`?
pub async fn has_care_relationship(
    tx: &mut TenantTx,
    patient: &str,
    user: UserId,
    since: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "SELECT 1 AS one FROM care_relationships WHERE tenant_id = $1 AND patient_id = $2 \
            AND user_id = $3 AND (kind = 'care_team' OR last_at >= $4)",
        )
        .bind(patient.to_owned())
        .bind(user.as_text())
        .bind(ts(since));
    Ok(tx.opt(q).await?.is_some())
}

/// One care relationship.
#[derive(Clone, Debug)]
pub struct CareRow {
    pub user_id: UserId,
    pub kind: String,
    pub last_at: DateTime<Utc>,
}

pub async fn care_team(tx: &mut TenantTx, patient: &str) -> StoreResult<Vec<CareRow>> {
    let q = tx
        .q("SELECT user_id, kind, last_at FROM care_relationships WHERE tenant_id = $1 AND patient_id = $2 \
            ORDER BY last_at DESC")
        .bind(patient.to_owned());
    tx.all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(CareRow {
                user_id: r.parse("user_id")?,
                kind: r.text("kind")?,
                last_at: r.time("last_at")?,
            })
        })
        .collect()
}

/// Record (or refresh) a relationship: `care_team`, `appointment`, `visit`.
pub async fn upsert_care(
    tx: &mut TenantTx,
    patient: &str,
    user: UserId,
    kind: &str,
    at: DateTime<Utc>,
    by: Option<UserId>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO care_relationships (tenant_id, patient_id, user_id, kind, last_at, added_by) \
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, patient_id, user_id, kind) \
            DO UPDATE SET last_at = $5")
        .bind(patient.to_owned())
        .bind(user.as_text())
        .bind(kind.to_owned())
        .bind(ts(at))
        .bind(by.map(|u| u.as_text()));
    tx.exec(q).await?;
    Ok(())
}

pub async fn remove_care(
    tx: &mut TenantTx,
    patient: &str,
    user: UserId,
    kind: &str,
) -> StoreResult<bool> {
    let q = tx
        .q("DELETE FROM care_relationships WHERE tenant_id = $1 AND patient_id = $2 AND user_id = $3 AND kind = $4")
        .bind(patient.to_owned())
        .bind(user.as_text())
        .bind(kind.to_owned());
    Ok(tx.exec(q).await? > 0)
}

/// A medical-history entry (ciphertext body).
#[derive(Clone, Debug)]
pub struct HistoryRow {
    pub id: String,
    pub patient_id: String,
    pub category: String,
    pub sensitivity: String,
    pub body: Vec<u8>,
    pub branch_id: Option<BranchId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const HISTORY_COLS: &str =
    "id, patient_id, category, tier, body, branch_id, recorded_by, recorded_at, updated_at";

fn history_row(r: &AnyRow) -> StoreResult<HistoryRow> {
    Ok(HistoryRow {
        id: r.text("id")?,
        patient_id: r.text("patient_id")?,
        category: r.text("category")?,
        sensitivity: r.text("tier")?,
        body: r.bytes("body")?.unwrap_or_default(),
        branch_id: r.opt_text("branch_id")?.and_then(|b| b.parse().ok()),
        recorded_by: r.parse("recorded_by")?,
        recorded_at: r.time("recorded_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn insert_history(tx: &mut TenantTx, h: &HistoryRow) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO history_entries (tenant_id, id, patient_id, category, tier, body, branch_id, \
            recorded_by, recorded_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(h.id.clone())
        .bind(h.patient_id.clone())
        .bind(h.category.clone())
        .bind(h.sensitivity.clone())
        .bind(h.body.clone())
        .bind(h.branch_id.map(|b| b.as_text()))
        .bind(h.recorded_by.as_text())
        .bind(ts(h.recorded_at))
        .bind(ts(h.updated_at));
    tx.exec(q).await?;
    Ok(())
}

pub async fn history(tx: &mut TenantTx, patient: &str) -> StoreResult<Vec<HistoryRow>> {
    let sql = format!(
        "SELECT {HISTORY_COLS} FROM history_entries WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY recorded_at DESC, id DESC"
    );
    let q = tx.q(&sql).bind(patient.to_owned());
    tx.all(q).await?.iter().map(history_row).collect()
}

pub async fn history_entry(tx: &mut TenantTx, patient: &str, id: &str) -> StoreResult<HistoryRow> {
    let sql = format!(
        "SELECT {HISTORY_COLS} FROM history_entries WHERE tenant_id = $1 AND patient_id = $2 AND id = $3"
    );
    let q = tx.q(&sql).bind(patient.to_owned()).bind(id.to_owned());
    history_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

pub async fn update_history(
    tx: &mut TenantTx,
    id: &str,
    category: &str,
    body: Vec<u8>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE history_entries SET category = $3, body = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(id.to_owned())
        .bind(category.to_owned())
        .bind(body)
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}
