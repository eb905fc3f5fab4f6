//! Patient rows and the facts the policy point needs about them: care
//! relationships ("own patients"), medical-history entries with their
//! sensitivity, and break-the-glass grants. Encrypted columns arrive here
//! as ciphertext; the app layer encrypts and decrypts.

use crate::kit::row::{ts, RowExt};
use crate::kit::sealed::Sealed;
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::patients::search::{self as name_search, NameParts};
use clinicos_domain::{BranchId, PatientId, RecordId, UserId};
use sqlx::any::AnyRow;

crate::sealed_columns! {
    /// `patients.phone`: the normalised phone number.
    PatientPhone = "patients"."phone";
    /// `patients.email`: the lower-cased email address.
    PatientEmail = "patients"."email";
    /// `patients.address`: the street address.
    PatientAddress = "patients"."address";
    /// `patients.emergency_contact`: name, phone and relationship (JSON).
    PatientEmergencyContact = "patients"."emergency_contact";
    /// `patients.notes`: the front desk's free-text notes.
    PatientNotes = "patients"."notes";
    /// `history_entries.body`: a medical-history entry's text.
    HistoryBody = "history_entries"."body";
}

/// A patient's registry row (ciphertext for encrypted columns).
#[derive(Clone, Debug)]
pub struct PatientRow {
    pub id: PatientId,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    /// The name in a local script (Devanagari, Arabic, ...), or empty.
    pub local_name: String,
    pub birth_date: Option<String>,
    pub sex: String,
    pub city: String,
    pub postcode: String,
    pub phone: Option<Sealed<PatientPhone>>,
    pub phone_bidx: Option<String>,
    pub email: Option<Sealed<PatientEmail>>,
    pub email_bidx: Option<String>,
    pub first_branch_id: Option<BranchId>,
    pub care_consent_at: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub deceased_at: Option<DateTime<Utc>>,
    /// The date of death (`YYYY-MM-DD`) when known.
    pub deceased_on: Option<String>,
    pub gender_identity: String,
    pub birth_date_estimated: bool,
    /// Encrypted street address.
    pub address: Option<Sealed<PatientAddress>>,
    /// Encrypted emergency contact (JSON: name, phone, relationship).
    pub emergency_contact: Option<Sealed<PatientEmergencyContact>>,
    pub preferred_language: String,
    pub preferred_channel: String,
    pub blood_group: String,
    /// JSON array of short plaintext tags.
    pub tags: String,
    /// Encrypted free-text notes for the front desk.
    pub notes: Option<Sealed<PatientNotes>>,
    pub marketing_consent: bool,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of a patient row, as [`from_row`] reads them (every read of
/// a whole patient: [`get`], search, the unindexed scan).
pub const COLS: &str = "id, given_name, middle_name, family_name, local_name, birth_date, sex, city, postcode, phone, \
    phone_bidx, email, email_bidx, first_branch_id, care_consent_at, is_active, deceased_at, created_by, \
    created_at, updated_at, deceased_on, gender_identity, birth_date_estimated, address, emergency_contact, \
    preferred_language, preferred_channel, blood_group, tags, notes, marketing_consent";

pub(crate) fn from_row(r: &AnyRow) -> StoreResult<PatientRow> {
    Ok(PatientRow {
        id: r.parse("id")?,
        given_name: r.text("given_name")?,
        middle_name: r.text("middle_name")?,
        family_name: r.text("family_name")?,
        local_name: r.text("local_name")?,
        birth_date: r.opt_text("birth_date")?,
        sex: r.text("sex")?,
        city: r.text("city")?,
        postcode: r.text("postcode")?,
        phone: r.bytes("phone")?.map(Sealed::from_bytes),
        phone_bidx: r.opt_text("phone_bidx")?,
        email: r.bytes("email")?.map(Sealed::from_bytes),
        email_bidx: r.opt_text("email_bidx")?,
        first_branch_id: r.opt_text("first_branch_id")?.and_then(|b| b.parse().ok()),
        care_consent_at: r.opt_time("care_consent_at")?,
        is_active: r.flag("is_active")?,
        deceased_at: r.opt_time("deceased_at")?,
        deceased_on: r.opt_text("deceased_on")?,
        gender_identity: r.text("gender_identity")?,
        birth_date_estimated: r.flag("birth_date_estimated")?,
        address: r.bytes("address")?.map(Sealed::from_bytes),
        emergency_contact: r.bytes("emergency_contact")?.map(Sealed::from_bytes),
        preferred_language: r.text("preferred_language")?,
        preferred_channel: r.text("preferred_channel")?,
        blood_group: r.text("blood_group")?,
        tags: r.text("tags")?,
        notes: r.bytes("notes")?.map(Sealed::from_bytes),
        marketing_consent: r.flag("marketing_consent")?,
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

/// The statement of [`insert`]: every column of a new patient.
pub const INSERT_SQL: &str = "INSERT INTO patients (tenant_id, id, created_by, created_at, first_branch_id, given_name, \
    middle_name, family_name, local_name, name_key, birth_date, sex, city, postcode, phone, phone_bidx, \
    email, email_bidx, care_consent_at, is_active, deceased_at, updated_at, deceased_on, \
    gender_identity, birth_date_estimated, address, emergency_contact, preferred_language, \
    preferred_channel, blood_group, tags, notes, marketing_consent) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
    $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)";

/// Insert a patient and its name tokens (one transaction: the search index
/// never lags the registry).
pub async fn insert(tx: &mut TenantTx, p: &PatientRow) -> StoreResult<()> {
    let q = tx
        .q(INSERT_SQL)
        .bind(p.id.as_text())
        .bind(p.created_by.map(|u| u.as_text()))
        .bind(ts(p.created_at))
        .bind(p.first_branch_id.map(|b| b.as_text()));
    let q = bind_mutable(q, p);
    tx.exec(q).await?;
    crate::patients::name_index::insert_tokens(tx, p.id, &p.names()).await
}

/// Rewrite every changeable column of a patient (the id, creator, creation
/// time and first branch stay); re-index the names when they changed.
pub async fn update(tx: &mut TenantTx, p: &PatientRow, names_changed: bool) -> StoreResult<()> {
    let q = tx
        .q("UPDATE patients SET \
            given_name = $3, middle_name = $4, family_name = $5, local_name = $6, name_key = $7, \
            birth_date = $8, sex = $9, city = $10, postcode = $11, phone = $12, phone_bidx = $13, \
            email = $14, email_bidx = $15, care_consent_at = $16, is_active = $17, \
            deceased_at = $18, updated_at = $19, deceased_on = $20, gender_identity = $21, \
            birth_date_estimated = $22, address = $23, emergency_contact = $24, \
            preferred_language = $25, preferred_channel = $26, blood_group = $27, tags = $28, \
            notes = $29, marketing_consent = $30 \
            WHERE tenant_id = $1 AND id = $2")
        .bind(p.id.as_text());
    let q = bind_mutable(q, p);
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    if names_changed {
        crate::patients::name_index::write_tokens(tx, p.id, &p.names()).await?;
    }
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Bind the columns insert and update share, in one order (`$6..$33` of
/// the insert, `$3..$30` of the update).
fn bind_mutable<'q>(q: AnyQuery<'q>, p: &PatientRow) -> AnyQuery<'q> {
    q.bind(p.given_name.clone())
        .bind(p.middle_name.clone())
        .bind(p.family_name.clone())
        .bind(p.local_name.clone())
        .bind(name_search::sort_key(&p.names()))
        .bind(p.birth_date.clone())
        .bind(p.sex.clone())
        .bind(p.city.clone())
        .bind(p.postcode.clone())
        .bind(p.phone.as_ref().map(Sealed::to_vec))
        .bind(p.phone_bidx.clone())
        .bind(p.email.as_ref().map(Sealed::to_vec))
        .bind(p.email_bidx.clone())
        .bind(p.care_consent_at.map(ts))
        .bind(i64::from(p.is_active))
        .bind(p.deceased_at.map(ts))
        .bind(ts(p.updated_at))
        .bind(p.deceased_on.clone())
        .bind(p.gender_identity.clone())
        .bind(i64::from(p.birth_date_estimated))
        .bind(p.address.as_ref().map(Sealed::to_vec))
        .bind(p.emergency_contact.as_ref().map(Sealed::to_vec))
        .bind(p.preferred_language.clone())
        .bind(p.preferred_channel.clone())
        .bind(p.blood_group.clone())
        .bind(p.tags.clone())
        .bind(p.notes.as_ref().map(Sealed::to_vec))
        .bind(i64::from(p.marketing_consent))
}

/// Active patients with this phone blind index (`$2`) and birth date
/// (`$3`): the first statement of [`duplicates`]. Sorted in Rust, not by
/// `ORDER BY id`: that invites a plan that walks the primary key of the
/// whole tenant (see `patient_identifiers::find`).
pub const SAME_PHONE_AND_BIRTH_SQL: &str = "SELECT id FROM patients WHERE tenant_id = $1 \
    AND phone_bidx = $2 AND birth_date = $3 AND is_active = 1";

/// Active patients with this phone index and birth date, or with one of
/// these identifiers (kind, blind index): the duplicate candidates.
pub async fn duplicates(
    tx: &mut TenantTx,
    phone_birth: Option<(&str, &str)>,
    identifiers: &[(String, String)],
) -> StoreResult<Vec<PatientId>> {
    let mut ids = Vec::new();
    if let Some((bidx, birth)) = phone_birth {
        let q = tx
            .q(SAME_PHONE_AND_BIRTH_SQL)
            .bind(bidx.to_owned())
            .bind(birth.to_owned());
        for r in tx.all(q).await? {
            ids.push(r.parse("id")?);
        }
        ids.sort_unstable();
    }
    for (kind, bidx) in identifiers {
        for id in crate::patients::identifiers::find(tx, kind, bidx, true).await? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// The statement of [`get`]: one patient by id (`$2`).
pub fn get_sql() -> String {
    format!("SELECT {COLS} FROM patients WHERE tenant_id = $1 AND id = $2")
}

pub async fn get(tx: &mut TenantTx, id: PatientId) -> StoreResult<PatientRow> {
    let sql = get_sql();
    let q = tx.q(&sql).bind(id.as_text());
    from_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

/// Does the patient exist in this tenant?
pub async fn exists(tx: &mut TenantTx, id: PatientId) -> StoreResult<bool> {
    let q = tx
        .q("SELECT 1 AS one FROM patients WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text());
    Ok(tx.opt(q).await?.is_some())
}

/// Does the user have a care relationship with the patient: on the care
/// team, or an appointment or visit at or after `since`?
pub async fn has_care_relationship(
    tx: &mut TenantTx,
    patient: PatientId,
    user: UserId,
    since: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "SELECT 1 AS one FROM care_relationships WHERE tenant_id = $1 AND patient_id = $2 \
            AND user_id = $3 AND (kind = 'care_team' OR last_at >= $4)",
        )
        .bind(patient.as_text())
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

pub async fn care_team(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<CareRow>> {
    let q = tx
        .q("SELECT user_id, kind, last_at FROM care_relationships WHERE tenant_id = $1 AND patient_id = $2 \
            ORDER BY last_at DESC")
        .bind(patient.as_text());
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
    patient: PatientId,
    user: UserId,
    kind: &str,
    at: DateTime<Utc>,
    by: Option<UserId>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO care_relationships (tenant_id, patient_id, user_id, kind, last_at, added_by) \
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, patient_id, user_id, kind) \
            DO UPDATE SET last_at = $5")
        .bind(patient.as_text())
        .bind(user.as_text())
        .bind(kind.to_owned())
        .bind(ts(at))
        .bind(by.map(|u| u.as_text()));
    tx.exec(q).await?;
    Ok(())
}

pub async fn remove_care(
    tx: &mut TenantTx,
    patient: PatientId,
    user: UserId,
    kind: &str,
) -> StoreResult<bool> {
    let q = tx
        .q("DELETE FROM care_relationships WHERE tenant_id = $1 AND patient_id = $2 AND user_id = $3 AND kind = $4")
        .bind(patient.as_text())
        .bind(user.as_text())
        .bind(kind.to_owned());
    Ok(tx.exec(q).await? > 0)
}

/// A medical-history entry (ciphertext body).
#[derive(Clone, Debug)]
pub struct HistoryRow {
    pub id: RecordId,
    pub patient_id: PatientId,
    pub category: String,
    pub sensitivity: String,
    pub body: Sealed<HistoryBody>,
    pub branch_id: Option<BranchId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of a medical-history entry that every history read reads.
pub const HISTORY_COLS: &str =
    "id, patient_id, category, tier, body, branch_id, recorded_by, recorded_at, updated_at";

fn history_row(r: &AnyRow) -> StoreResult<HistoryRow> {
    Ok(HistoryRow {
        id: r.parse("id")?,
        patient_id: r.parse("patient_id")?,
        category: r.text("category")?,
        sensitivity: r.text("tier")?,
        body: Sealed::from_bytes(r.bytes("body")?.unwrap_or_default()),
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
        .bind(h.id.as_text())
        .bind(h.patient_id.as_text())
        .bind(h.category.clone())
        .bind(h.sensitivity.clone())
        .bind(h.body.to_vec())
        .bind(h.branch_id.map(|b| b.as_text()))
        .bind(h.recorded_by.as_text())
        .bind(ts(h.recorded_at))
        .bind(ts(h.updated_at));
    tx.exec(q).await?;
    Ok(())
}

/// The statement of [`history`]: a patient's (`$2`) entries, newest first.
pub fn history_sql() -> String {
    format!(
        "SELECT {HISTORY_COLS} FROM history_entries WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY recorded_at DESC, id DESC"
    )
}

pub async fn history(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<HistoryRow>> {
    let sql = history_sql();
    let q = tx.q(&sql).bind(patient.as_text());
    tx.all(q).await?.iter().map(history_row).collect()
}

/// The history of many patients in a few queries (chunks of
/// [`MANY_CHUNK`] ids), each patient's entries newest first.
pub async fn history_of_many(
    tx: &mut TenantTx,
    patients: &[PatientId],
) -> StoreResult<std::collections::HashMap<PatientId, Vec<HistoryRow>>> {
    let mut out: std::collections::HashMap<PatientId, Vec<HistoryRow>> =
        std::collections::HashMap::new();
    for chunk in patients.chunks(MANY_CHUNK) {
        let marks = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {HISTORY_COLS} FROM history_entries WHERE tenant_id = $1 AND patient_id IN ({marks}) \
             ORDER BY patient_id, recorded_at DESC, id DESC"
        );
        let mut q = tx.q(&sql);
        for id in chunk {
            q = q.bind(id.as_text());
        }
        for r in tx.all(q).await?.iter() {
            let h = history_row(r)?;
            out.entry(h.patient_id).or_default().push(h);
        }
    }
    Ok(out)
}

/// Ids bound in one `IN (...)` list (well under SQLite's and PostgreSQL's
/// bind limits).
pub const MANY_CHUNK: usize = 500;

pub async fn history_entry(
    tx: &mut TenantTx,
    patient: PatientId,
    id: RecordId,
) -> StoreResult<HistoryRow> {
    let sql = format!(
        "SELECT {HISTORY_COLS} FROM history_entries WHERE tenant_id = $1 AND patient_id = $2 AND id = $3"
    );
    let q = tx.q(&sql).bind(patient.as_text()).bind(id.as_text());
    history_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

pub async fn update_history(
    tx: &mut TenantTx,
    id: RecordId,
    category: &str,
    body: &Sealed<HistoryBody>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE history_entries SET category = $3, body = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(category.to_owned())
        .bind(body.to_vec())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}
