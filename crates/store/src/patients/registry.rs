//! Patient rows and the facts the policy point needs about them: care
//! relationships ("own patients"), medical-history entries with their
//! sensitivity, and break-the-glass grants. Encrypted columns arrive here
//! as ciphertext; the app layer encrypts and decrypts.
//!
//! The `patients` row is declared once: `patient_demographics!` lists
//! the plain demographic columns (the app's registration, patient and
//! update types and the web form are made from the same list), and
//! `patient_row!` adds the columns with rules of their own; `table_row!`
//! (`kit/column.rs`) makes the struct, its column list, its read and the
//! INSERT and UPDATE with their binds from that declaration. A test in
//! `tests/api/patient_registry.rs` compares it with the migrated table on
//! both databases.

use crate::kit::column::table_row;
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

/// The patient's plain demographic columns, declared once: each is a
/// column of `patients`, a field of the row, of the registration
/// (`NewPatient`), of the patient shown (`Patient`), of a partial update
/// (`PatientUpdate`) and of the demographics form, all made from this
/// list. An entry is `name: Type` or `name: Type = "default"`: a default
/// makes the field optional at registration and is what an empty value is
/// stored as (text is stored trimmed); without one, a text field is
/// required and an `Option` one optional. Adding a plain column is a line
/// here and its migration.
///
/// `patient_demographics!(then)` expands to `then! { <the entries> }`.
#[macro_export]
macro_rules! patient_demographics {
    ($then:ident) => {
        $then! {
            given_name: String,
            middle_name: String = "",
            family_name: String = "",
            /// The name in a local script (Devanagari, Arabic, ...), searchable
            /// like the other names.
            local_name: String = "",
            /// `YYYY-MM-DD`.
            birth_date: Option<String>,
            /// The birth date was estimated from a stated age.
            birth_date_estimated: bool = false,
            /// `female`, `male`, `other` or `unknown`.
            sex: String,
            /// Free text (at most 50 characters), or empty.
            gender_identity: String = "",
            city: String = "",
            postcode: String = "",
            /// A language tag like `hi` or `en-IN`, or empty.
            preferred_language: String = "",
            /// `sms`, `whatsapp`, `email`, `phone` or `none` (the default).
            preferred_channel: String = "none",
            /// `A+` ... `O-`, or `unknown` (the default).
            blood_group: String = "unknown",
            /// Consent to marketing messages (off unless given).
            marketing_consent: bool = false,
        }
    };
}

/// The `patients` row: the demographics above, then the columns with rules
/// of their own (ciphertext and blind indexes, consent and status times).
macro_rules! patient_row {
    ($($(#[$meta:meta])* $field:ident : $type:ty $(= $default:literal)?,)*) => {
        table_row! {
            /// A patient's registry row (ciphertext for encrypted columns).
            pub struct PatientRow in "patients" {
                key id: PatientId,
                @fixed created_by: Option<UserId>,
                @fixed created_at: DateTime<Utc>,
                @fixed first_branch_id: Option<BranchId>,
                $($(#[$meta])* $field: $type,)*
                phone: Option<Sealed<PatientPhone>>,
                phone_bidx: Option<String>,
                email: Option<Sealed<PatientEmail>>,
                email_bidx: Option<String>,
                /// Encrypted street address.
                address: Option<Sealed<PatientAddress>>,
                /// Encrypted emergency contact (JSON: name, phone, relationship).
                emergency_contact: Option<Sealed<PatientEmergencyContact>>,
                /// Encrypted free-text notes for the front desk.
                notes: Option<Sealed<PatientNotes>>,
                /// JSON array of short plaintext tags.
                tags: String,
                care_consent_at: Option<DateTime<Utc>>,
                is_active: bool,
                deceased_at: Option<DateTime<Utc>>,
                /// The date of death (`YYYY-MM-DD`) when known.
                deceased_on: Option<String>,
                /// When the record was erased (`patients/erasure.rs`): the
                /// row is a blank shell and links to it answer 410 Gone.
                erased_at: Option<DateTime<Utc>>,
                updated_at: DateTime<Utc>,
            }
            /// `name_key`: the folded "family given middle", for name order.
            derived {
                name_key = |p: &PatientRow| name_search::sort_key(&p.names());
            }
            /// The photo's and the merge's columns, written and read by
            /// `links::set_photo` / `photo` and `merge::set_merged_into` /
            /// `merged_into`.
            elsewhere [photo_id, photo_type, photo_size, photo_sha256, merged_into, merged_at]
        }
    };
}

crate::patient_demographics!(patient_row);

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
    let q = p.bind_insert(tx.q(PatientRow::insert_sql()));
    tx.exec(q).await?;
    crate::patients::name_index::insert_tokens(tx, p.id, &p.names()).await
}

/// Rewrite every changeable column of a patient (the id, creator, creation
/// time and first branch stay); re-index the names when they changed.
pub async fn update(tx: &mut TenantTx, p: &PatientRow, names_changed: bool) -> StoreResult<()> {
    let q = p.bind_update(tx.q(PatientRow::update_sql()));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    if names_changed {
        crate::patients::name_index::write_tokens(tx, p.id, &p.names()).await?;
    }
    Ok(())
}

/// Active patients with this phone blind index (`$2`) and birth date
/// (`$3`): the first statement of [`duplicates`]. Sorted in Rust, not by
/// `ORDER BY id`: that invites a plan that walks the primary key of the
/// whole tenant (see `patient_identifiers::find`).
pub const SAME_PHONE_AND_BIRTH_SQL: &str = "SELECT id FROM patients WHERE tenant_id = $1 \
    AND phone_bidx = $2 AND birth_date = $3 AND is_active = 1";

/// The PostgreSQL lock a duplicate check takes per key (`$2`, from
/// [`duplicate_lock_keys`]) of the tenant (`$1`), held to the commit.
pub const DUPLICATE_LOCK_SQL: &str = "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(\
    hashtextextended('duplicate:' || $1 || ':' || $2, 0))) l";

/// The keys a duplicate check locks, in the one order every transaction
/// takes them (no deadlock between two registrations sharing two keys).
pub fn duplicate_lock_keys(
    phone_birth: Option<(&str, &str)>,
    identifiers: &[(String, String)],
) -> Vec<String> {
    let mut keys: Vec<String> = identifiers
        .iter()
        .map(|(kind, bidx)| format!("identifier:{kind}:{bidx}"))
        .collect();
    if let Some((bidx, birth)) = phone_birth {
        keys.push(format!("phone:{bidx}:{birth}"));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Active patients with this phone index and birth date, or with one of
/// these identifiers (kind, blind index): the duplicate candidates.
///
/// Concurrent checks of the same keys run one after the other: on
/// PostgreSQL each key takes a transaction-scoped advisory lock first
/// (held to the commit, so the next check of that key sees this
/// transaction's new patient); SQLite has one writer, which serialises
/// them already.
pub async fn duplicates(
    tx: &mut TenantTx,
    phone_birth: Option<(&str, &str)>,
    identifiers: &[(String, String)],
) -> StoreResult<Vec<PatientId>> {
    if tx.backend() == crate::Backend::Postgres {
        for k in duplicate_lock_keys(phone_birth, identifiers) {
            let q = tx.q(DUPLICATE_LOCK_SQL).bind(k);
            tx.all(q).await?;
        }
    }
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
    format!(
        "SELECT {} FROM patients WHERE tenant_id = $1 AND id = $2",
        PatientRow::COLS
    )
}

pub async fn get(tx: &mut TenantTx, id: PatientId) -> StoreResult<PatientRow> {
    let sql = get_sql();
    let q = tx.q(&sql).bind(id.as_text());
    PatientRow::from_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements follow the declaration: the insert writes every
    /// column the row is read from and the derived name key; the update
    /// leaves the id, creator, creation time and first branch alone.
    #[test]
    fn the_patient_statements_come_from_the_declaration() {
        let read: Vec<&str> = PatientRow::COLS.split(", ").collect();
        assert_eq!(read.first(), Some(&"id"));
        for c in &read {
            assert!(PatientRow::insert_sql().contains(c), "{c}");
        }
        assert!(PatientRow::insert_sql().contains("name_key"));
        assert!(PatientRow::insert_sql().ends_with("$34)"));
        for fixed in ["created_by", "created_at", "first_branch_id"] {
            assert!(!PatientRow::update_sql().contains(fixed), "{fixed}");
        }
        assert!(PatientRow::update_sql().contains("name_key = $31"));
        assert!(PatientRow::update_sql().ends_with("WHERE tenant_id = $1 AND id = $2"));
        for c in ["tenant_id", "name_key", "photo_id", "merged_into"] {
            assert!(PatientRow::SCHEMA.contains(&c), "{c}");
        }
    }
}
