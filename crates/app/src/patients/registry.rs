//! The patient registry core: register, read, list and find patients.
//! Demographics (names, birth date, sex, city) stay plaintext for search
//! and scheduling; phone and email are encrypted under the patient's data
//! key with blind indexes for exact lookup. Every read and write is
//! audited in its own transaction, naming the ids it touched.

use crate::governance::policy::Action;
use crate::kit::field_cipher::NewSubjectKeys;
use crate::patients::consent::Purpose;
use crate::patients::fields::Identifier;
use crate::patients::patient::{patient_demographics, validate, NewPatient, Patient};
use crate::patients::service::Patients;
use crate::patients::write::PrivateFields;
use crate::patients::write::{blank_row, duplicates};
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{PatientId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::patients::identifiers as patient_identifiers;
use clinicos_store::patients::registry::{self as patients, PatientRow};
use clinicos_store::TenantTx;

impl Patients<'_> {
    /// Register a patient: validation, duplicate warning, encryption and
    /// audit in one write.
    pub async fn register_patient(&self, ctx: &Ctx, p: NewPatient) -> AppResult<Patient> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let now = self.app.clock.now();
        validate(&p, now.date_naive())?;
        let id = PatientId::new();
        // The new record's data key is made in memory, written to the key
        // store once the fields are sealed, and discarded if anything after
        // that fails: a refused or failed registration leaves no key.
        let keys = self
            .app
            .cipher
            .new_subject_keys(ctx.tenant, &[id.as_text()])
            .await?;
        self.insert_new(ctx, p, id, keys, now).await
    }

    /// Seal, check and write a new patient under its new key: the key is
    /// stored once the fields are sealed, and discarded (from the cache
    /// and the key store) when anything fails, the duplicate warning
    /// included.
    async fn insert_new(
        &self,
        ctx: &Ctx,
        p: NewPatient,
        id: PatientId,
        mut keys: NewSubjectKeys,
        now: DateTime<Utc>,
    ) -> AppResult<Patient> {
        let written = self.write_new(ctx, &p, id, &mut keys, now).await;
        match written {
            Ok(shown) => Ok(shown),
            Err(e) => {
                self.app.cipher.discard_new_keys(keys).await;
                Err(e)
            }
        }
    }

    async fn write_new(
        &self,
        ctx: &Ctx,
        p: &NewPatient,
        id: PatientId,
        keys: &mut NewSubjectKeys,
        now: DateTime<Utc>,
    ) -> AppResult<Patient> {
        let t = ctx.tenant;
        let mut row = blank_row(id, now);
        row.first_branch_id = p.branch_id.or(ctx.branch);
        row.created_by = Some(ctx.user);
        let private = self.seal_into(t, &mut row, p, now).await?;
        let idents = self.seal_identifiers(t, id, &p.identifiers, now).await?;
        // The key goes to the key store before the write transaction
        // starts (on SQLite the writer's turn is not held for the key
        // store's own commit); any failure below discards it again.
        self.app.cipher.store_new_keys(keys).await?;
        let mut tx = self.app.store.write(t).await?;
        if let Some(b) = row.first_branch_id {
            if let Err(clinicos_store::StoreError::NotFound) =
                clinicos_store::tenancy::branches::get(&mut tx, b).await
            {
                return Err(AppError::field(
                    "branch_id",
                    "is not a branch of this organisation",
                ));
            }
        }
        if !p.confirm_new {
            let same = duplicates(&mut tx, &row, &idents).await?;
            if !same.is_empty() {
                // The warning shows other patients' ids: audit it as a read.
                audit::record_for(
                    &mut tx,
                    &ctx.actor(),
                    event(
                        now,
                        AuditAction::PatientDuplicateWarning,
                        same.iter().map(PatientId::as_text).collect(),
                    ),
                    Purpose::Operations.as_str(),
                )
                .await?;
                tx.commit().await?;
                return Err(AppError::DuplicatePatient(
                    same.iter().map(PatientId::as_text).collect(),
                ));
            }
        }
        patients::insert(&mut tx, &row).await?;
        patient_identifiers::insert(&mut tx, id, &idents).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(now, AuditAction::PatientCreated, vec![id.as_text()]),
            Purpose::Operations.as_str(),
        )
        .await?;
        tx.commit().await?;
        // The answer is built from the values in hand, not decrypted again.
        let mut shown = patient_view(row, private);
        shown.may_contact = self.may_contact(&shown);
        shown.identifiers = idents
            .into_iter()
            .zip(&p.identifiers)
            .map(|(r, input)| Identifier {
                id: r.id,
                kind: r.kind,
                value: input.value.trim().to_owned(),
                issuer: r.issuer,
                country: r.country,
            })
            .collect();
        Ok(shown)
    }

    /// Read a patient's demographics, contact details and identifiers
    /// (audited).
    pub async fn patient(&self, ctx: &Ctx, id: PatientId) -> AppResult<Patient> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let row = load(&mut tx, id).await?;
        let idents = patient_identifiers::list(&mut tx, id).await?;
        let merged_into = clinicos_store::patients::merge::merged_into(&mut tx, row.id).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(
                self.app.clock.now(),
                AuditAction::PatientRead,
                vec![row.id.as_text()],
            ),
            Purpose::Treatment.as_str(),
        )
        .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, &[row.id])
            .await;
        let mut shown = self.show_patient(ctx.tenant, row).await?;
        shown.merged_into = merged_into;
        shown.may_contact = self.may_contact(&shown);
        Ok(self.with_identifiers(ctx.tenant, shown, idents).await)
    }

    /// Decrypt a row for display (without identifiers: see
    /// `with_identifiers`). A patient whose key was erased shows without
    /// contact details rather than failing the whole page.
    pub(crate) async fn show_patient(
        &self,
        t: clinicos_domain::TenantId,
        r: PatientRow,
    ) -> AppResult<Patient> {
        let phone = self.open_opt(t, r.id, &r.phone).await;
        let email = self.open_opt(t, r.id, &r.email).await;
        let address = self.open_opt(t, r.id, &r.address).await;
        let notes = self.open_opt(t, r.id, &r.notes).await;
        let emergency_contact = self
            .open_opt(t, r.id, &r.emergency_contact)
            .await
            .and_then(|j| serde_json::from_str(&j).ok());
        let private = PrivateFields {
            phone,
            email,
            address,
            notes,
            emergency_contact,
        };
        let mut p = patient_view(r, private);
        p.may_contact = self.may_contact(&p);
        Ok(p)
    }

    /// Internal hook for scheduling and visits: record that `user` saw or
    /// will see the patient (`appointment` or `visit`), which makes the
    /// patient one of theirs for the tenant's window.
    pub async fn record_encounter(
        &self,
        tenant: clinicos_domain::TenantId,
        patient: PatientId,
        user: UserId,
        kind: &str,
        at: DateTime<Utc>,
    ) -> AppResult<()> {
        if !matches!(kind, "appointment" | "visit") {
            return Err(AppError::field("kind", "must be appointment or visit"));
        }
        let mut tx = self.app.store.write(tenant).await?;
        load(&mut tx, patient).await?;
        patients::upsert_care(&mut tx, patient, user, kind, at, None).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Load a patient to change it: 404 as [`load`], and 409 when the record
/// was merged into another (its data lives on the survivor now; writes to
/// the merged record would be lost from view or undone by an unmerge).
pub async fn load_for_write(tx: &mut TenantTx, id: PatientId) -> AppResult<PatientRow> {
    let row = load(tx, id).await?;
    refuse_if_merged(tx, &row).await?;
    Ok(row)
}

/// 409 when `row` was merged into another patient.
pub(crate) async fn refuse_if_merged(tx: &mut TenantTx, row: &PatientRow) -> AppResult<()> {
    match clinicos_store::patients::merge::merged_into(tx, row.id).await? {
        Some(survivor) => Err(AppError::Conflict(format!(
            "this patient record was merged into {survivor}; change the surviving record"
        ))),
        None => Ok(()),
    }
}

/// Load a patient or answer 404, or 410 `PATIENT_ERASED` when only its
/// tombstone remains (every route that names a patient loads it here).
pub async fn load(tx: &mut TenantTx, id: PatientId) -> AppResult<PatientRow> {
    let row = patients::get(tx, id).await.map_err(|e| match e {
        clinicos_store::StoreError::NotFound => AppError::NotFound("patient"),
        other => other.into(),
    })?;
    if row.erased_at.is_some() {
        return Err(AppError::PatientErased);
    }
    Ok(row)
}

/// A patient named by id in a request body (a merge, a link): text that
/// is not an id names no patient, so it is a 404 like an unknown one.
pub(crate) fn patient_named(text: &str) -> AppResult<PatientId> {
    text.trim()
        .parse()
        .map_err(|_| AppError::NotFound("patient"))
}

pub(crate) fn event(at: DateTime<Utc>, action: AuditAction, ids: Vec<String>) -> AuditEvent {
    AuditEvent::new(at, action, ResourceKind::Patient, ids)
}

/// [`patient_view`]: a stored row as the API shows it.
macro_rules! patient_view {
    ($($(#[$meta:meta])* $field:ident : $type:ty $(= $default:literal)?,)*) => {
        /// A patient as read: its row's plaintext columns and its encrypted
        /// ones opened (identifiers are attached separately).
        pub(crate) fn patient_view(r: PatientRow, private: PrivateFields) -> Patient {
            Patient {
                id: r.id,
                $($field: r.$field,)*
                phone: private.phone,
                email: private.email,
                first_branch_id: r.first_branch_id,
                care_consent_at: r.care_consent_at,
                is_active: r.is_active,
                deceased_at: r.deceased_at,
                deceased_on: r.deceased_on,
                address: private.address,
                identifiers: Vec::new(),
                emergency_contact: private.emergency_contact,
                tags: serde_json::from_str(&r.tags).unwrap_or_default(),
                notes: private.notes,
                may_contact: false,
                merged_into: None,
                created_at: r.created_at,
            }
        }
    };
}

patient_demographics!(patient_view);
