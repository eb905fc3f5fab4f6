//! Patient attachments: reports, images and lab files filed to a patient
//! (optionally a visit). Invariants:
//! - Accepted only when the declared type, the name's extension and the
//!   content's magic bytes agree (`clinicos_domain::patients::attachments`), within
//!   [`MAX_ATTACHMENT_BYTES`], and the virus scanner does not object.
//! - The content is encrypted with the patient's data key, bound to
//!   (tenant, `attachments`, `content`, attachment id), before it reaches
//!   the blob store; the file name is encrypted in the row the same way.
//! - Upload is `WriteClinical`, list and download `ReadClinical` through
//!   [`Patients::authorize_clinical`]; restricted files the reader may not see
//!   are withheld from the list and refused on download. Every upload,
//!   list and download is audited in the transaction that reads the row.

use crate::documents::blob_store::ScanVerdict;
use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::access::ClinicalAccess;
use crate::patients::consent::Purpose;
use crate::patients::registry::load;
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::access::{Deny, RecordFacts};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::patients::attachments::{self as file_type, SniffError};
use clinicos_domain::{AttachmentId, PatientId, Sensitivity, TenantId, UserId, VisitId};
use clinicos_store::patients::attachments::AttachmentFileName;
use clinicos_store::patients::attachments::{self as store, AttachmentRow};
use clinicos_store::TenantTx;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The largest attachment accepted (20 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// The table (and field-cipher binding) of attachment rows.
pub(crate) const TABLE: &str = "attachments";

/// A file to attach.
#[derive(Clone)]
pub struct NewAttachment {
    /// The name the file had (encrypted at rest).
    pub file_name: String,
    /// The declared content type.
    pub content_type: String,
    /// The visit it belongs to, if any.
    pub visit_id: Option<VisitId>,
    /// normal (default) or a restricted tier.
    pub sensitivity: Option<String>,
    pub bytes: Vec<u8>,
}

/// An attachment's metadata as shown.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentInfo {
    #[schema(value_type = domain_schema::AttachmentId)]
    pub id: AttachmentId,
    #[schema(value_type = domain_schema::PatientId)]
    pub patient_id: PatientId,
    #[schema(value_type = Option<domain_schema::VisitId>)]
    pub visit_id: Option<VisitId>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the file's content.
    pub sha256: String,
    pub sensitivity: String,
    pub restricted: bool,
    #[schema(value_type = domain_schema::UserId)]
    pub uploaded_by: UserId,
    pub uploaded_at: DateTime<Utc>,
    /// clean, not_scanned (no scanner configured).
    pub scan_status: String,
}

/// The attachments the reader may see, and how many were withheld.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AttachmentList {
    pub attachments: Vec<AttachmentInfo>,
    /// Restricted attachments not shown to this reader.
    pub withheld: usize,
    /// Shown under break-the-glass (every read flagged in the audit).
    pub emergency_access: bool,
}

/// A decrypted file ready to send.
#[derive(Clone)]
pub struct AttachmentFile {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub(crate) fn facts(a: &AttachmentRow) -> RecordFacts {
    RecordFacts {
        sensitivity: a.sensitivity.parse().unwrap_or(Sensitivity::Genetics),
        author: Some(a.uploaded_by),
        signed: false,
        branch: None,
    }
}

fn check_name(v: &mut Validator, name: &str) {
    let bad = name.trim().is_empty()
        || name.len() > 255
        || clinicos_domain::kit::text::text_problem(name).is_some()
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if bad {
        v.add(
            "file_name",
            "must be 1-255 characters without path separators",
        );
    }
}

/// Validate an upload; returns its content type and sensitivity.
fn check(input: &NewAttachment) -> AppResult<(&'static str, Sensitivity)> {
    let mut v = Validator::new();
    check_name(&mut v, &input.file_name);
    if input.bytes.len() > MAX_ATTACHMENT_BYTES {
        v.add(
            "file",
            format!("must be at most {MAX_ATTACHMENT_BYTES} bytes"),
        );
    }
    let sensitivity = input
        .sensitivity
        .as_deref()
        .unwrap_or("normal")
        .parse::<Sensitivity>();
    if sensitivity.is_err() {
        v.add("sensitivity", "is not a known sensitivity");
    }
    v.finish().map_err(AppError::Validation)?;
    let kind = file_type::check(&input.content_type, &input.file_name, &input.bytes).map_err(
        |e| match e {
            SniffError::UnsupportedType => AppError::field(
                "content_type",
                "must be application/pdf, image/png, image/jpeg, application/dicom, text/csv or text/plain",
            ),
            SniffError::UnknownContent => {
                AppError::field("file", "is not a PDF, PNG, JPEG, DICOM or UTF-8 text file")
            }
            SniffError::TypeMismatch => {
                AppError::field("file", "content does not match the declared content type")
            }
            SniffError::ExtensionMismatch => {
                AppError::field("file_name", "extension does not match the file's content")
            }
        },
    )?;
    let sensitivity = sensitivity.map_err(AppError::BadRequest)?;
    Ok((kind.content_type(), sensitivity))
}

impl Patients<'_> {
    /// A stored file's content, decrypted and checked against its digest.
    pub(crate) async fn file_content(
        &self,
        tenant: TenantId,
        row: &AttachmentRow,
    ) -> AppResult<Vec<u8>> {
        let sealed = self.app.files.get(&row.storage_key).await?;
        let bytes = self
            .app
            .cipher
            .decrypt(
                tenant,
                TABLE,
                "content",
                &row.id.as_text(),
                &row.patient_id.as_text(),
                &sealed,
            )
            .await?;
        if hex::encode(Sha256::digest(&bytes)) != row.sha256 {
            return Err(AppError::Internal(format!(
                "attachment {} does not match its digest",
                row.id
            )));
        }
        Ok(bytes)
    }

    /// A stored file's name, decrypted.
    pub(crate) async fn file_name(&self, tenant: TenantId, a: &AttachmentRow) -> AppResult<String> {
        let name = self
            .app
            .cipher
            .open(tenant, a.id, a.patient_id, &a.file_name)
            .await?;
        Ok(String::from_utf8_lossy(&name).into_owned())
    }

    async fn open_attachment(&self, ctx: &Ctx, a: AttachmentRow) -> AppResult<AttachmentInfo> {
        let file_name = self.file_name(ctx.tenant, &a).await?;
        let restricted = facts(&a).sensitivity.is_restricted();
        Ok(AttachmentInfo {
            file_name,
            id: a.id,
            patient_id: a.patient_id,
            visit_id: a.visit_id,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            sensitivity: a.sensitivity,
            restricted,
            uploaded_by: a.uploaded_by,
            uploaded_at: a.uploaded_at,
            scan_status: a.scan_status,
        })
    }

    /// Authorize a clinical action on the patient in a short transaction of
    /// its own (a denial is audited there); the patient's id.
    async fn precheck(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        action: Action,
        rec: &RecordFacts,
    ) -> AppResult<PatientId> {
        self.app
            .governance()
            .authorize_permission(ctx, action)
            .await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let (tx, _) = self
            .authorize_clinical(tx, ctx, action, &p, Some(rec))
            .await?;
        drop(tx);
        Ok(p.id)
    }

    /// File an attachment to a patient (the uploader is the current user).
    ///
    /// The slow parts (virus scan, encryption, the blob upload) run before
    /// the database transaction opens, after a first authorization check;
    /// the transaction then re-checks authorization and only inserts the
    /// row and its audit event. A file whose row is never written is
    /// removed at once, or by the orphan sweep
    /// ([`Patients::sweep_orphan_files`]) if this process dies in between.
    pub async fn add_attachment(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        input: NewAttachment,
    ) -> AppResult<AttachmentInfo> {
        let (content_type, sensitivity) = check(&input)?;
        let rec = RecordFacts {
            sensitivity,
            author: Some(ctx.user),
            signed: false,
            branch: ctx.branch,
        };
        let patient_id = self
            .precheck(ctx, patient, Action::WriteClinical, &rec)
            .await?;
        let verdict = self.app.scanner.scan(&input.bytes).await?;
        if let ScanVerdict::Infected(signature) = &verdict {
            tracing::warn!(
                scanner = self.app.scanner.name(),
                signature = %signature,
                "upload refused by the virus scanner"
            );
            return Err(AppError::field(
                "file",
                &format!(
                    "was refused by the virus scanner ({}: {signature})",
                    self.app.scanner.name()
                ),
            ));
        }
        let id = AttachmentId::new();
        let row = AttachmentRow {
            storage_key: format!("{}/{}/{}", ctx.tenant.as_text(), patient_id, id),
            id,
            patient_id,
            visit_id: input.visit_id,
            file_name: self
                .app
                .cipher
                .seal::<AttachmentFileName>(
                    ctx.tenant,
                    id,
                    patient_id,
                    input.file_name.trim().as_bytes(),
                )
                .await?,
            content_type: content_type.to_owned(),
            size_bytes: i64::try_from(input.bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(Sha256::digest(&input.bytes)),
            sensitivity: sensitivity.as_str().to_owned(),
            uploaded_by: ctx.user,
            uploaded_at: self.app.clock.now(),
            scan_status: verdict.status().to_owned(),
        };
        let sealed = self
            .app
            .cipher
            .encrypt(
                ctx.tenant,
                TABLE,
                "content",
                &id.as_text(),
                &patient_id.as_text(),
                &input.bytes,
            )
            .await?;
        // The plaintext is no longer needed while the ciphertext uploads.
        drop(input);
        self.app.files.put(&row.storage_key, sealed).await?;
        if let Err(e) = self.file_row(ctx, patient, &row, &rec).await {
            // No row points at the file: remove it (best effort; the
            // orphan sweep catches what this misses).
            let _ = self.app.files.delete(&row.storage_key).await;
            return Err(e);
        }
        self.open_attachment(ctx, row).await
    }

    /// The transaction of an upload: re-authorize, insert, audit.
    async fn file_row(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        row: &AttachmentRow,
        rec: &RecordFacts,
    ) -> AppResult<()> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::WriteClinical)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        if p.id != row.patient_id {
            return Err(AppError::Conflict(
                "the patient record changed during the upload; try again".into(),
            ));
        }
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::WriteClinical, &p, Some(rec))
            .await?;
        store::insert(&mut tx, row).await?;
        access
            .record(
                &mut tx,
                ctx,
                row.uploaded_at,
                AuditAction::PatientAttachmentCreated,
                ResourceKind::PatientAttachment,
                vec![p.id.as_text(), row.id.as_text()],
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A patient's attachments (metadata), as far as the reader may see them.
    pub async fn attachments(&self, ctx: &Ctx, patient: PatientId) -> AppResult<AttachmentList> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ReadClinical)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::ReadClinical, &p, None)
            .await?;
        let rows = store::list(&mut tx, p.id).await?;
        let (shown, withheld) = access.visible(ctx, rows, facts);
        let mut ids = vec![p.id.as_text()];
        ids.extend(shown.iter().map(|a| a.id.as_text()));
        access
            .record(
                &mut tx,
                ctx,
                self.app.clock.now(),
                AuditAction::PatientAttachmentsRead,
                ResourceKind::PatientAttachment,
                ids,
            )
            .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&p.id))
            .await;
        let mut attachments = Vec::with_capacity(shown.len());
        for a in shown {
            attachments.push(self.open_attachment(ctx, a).await?);
        }
        Ok(AttachmentList {
            attachments,
            withheld,
            emergency_access: access.purpose() == Purpose::Emergency,
        })
    }

    /// Load the patient, authorize a read and find one attachment the
    /// reader may open (a restricted file they may not see is a denial).
    async fn readable(
        &self,
        mut tx: TenantTx,
        ctx: &Ctx,
        patient: PatientId,
        attachment: AttachmentId,
    ) -> AppResult<(TenantTx, ClinicalAccess, PatientId, AttachmentRow)> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ReadClinical)
            .await?;
        let p = load(&mut tx, patient).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::ReadClinical, &p, None)
            .await?;
        let row = store::get(&mut tx, p.id, attachment)
            .await
            .map_err(|_| AppError::NotFound("attachment"))?;
        if !access.allows_record(ctx, Action::ReadClinical, &facts(&row)) {
            drop(tx);
            return Err(self
                .deny_patient(ctx, Action::ReadClinical, Deny::Restricted, p.id)
                .await);
        }
        Ok((tx, access, p.id, row))
    }

    /// One attachment's content, decrypted and checked against its digest.
    /// The file is fetched between a read transaction (authorize, find the
    /// row) and the write transaction that re-authorizes and audits, so no
    /// database lock waits on the file store.
    pub async fn download_attachment(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        attachment: AttachmentId,
    ) -> AppResult<AttachmentFile> {
        let tx = self.app.store.read(ctx.tenant).await?;
        let (tx, _, _, row) = self.readable(tx, ctx, patient, attachment).await?;
        drop(tx);
        let bytes = self.file_content(ctx.tenant, &row).await?;
        let tx = self.app.store.write(ctx.tenant).await?;
        let (mut tx, access, patient_id, row) = self.readable(tx, ctx, patient, attachment).await?;
        access
            .record(
                &mut tx,
                ctx,
                self.app.clock.now(),
                AuditAction::PatientAttachmentDownloaded,
                ResourceKind::PatientAttachment,
                vec![patient_id.as_text(), row.id.as_text()],
            )
            .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&patient_id))
            .await;
        let info = self.open_attachment(ctx, row).await?;
        Ok(AttachmentFile {
            file_name: info.file_name,
            content_type: info.content_type,
            bytes,
        })
    }
}

/// Files younger than this are never swept: an upload stores its file
/// before its row commits.
pub const ORPHAN_GRACE_MINUTES: i64 = 60;

impl Patients<'_> {
    /// Delete this tenant's stored files that no attachment row names and
    /// that are older than `grace` (left by a process that died between
    /// storing a file and committing its row). Returns how many went.
    /// Keys not shaped `tenant/patient/attachment` are left alone.
    pub async fn sweep_orphan_files(
        &self,
        tenant: TenantId,
        grace: chrono::Duration,
    ) -> AppResult<u64> {
        let cutoff = self.app.clock.now() - grace;
        let prefix = tenant.as_text();
        let mut by_patient: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for o in self.app.files.list_under(&prefix).await? {
            let parts: Vec<&str> = o.key.split('/').collect();
            if o.last_modified < cutoff && parts.len() == 3 && parts[0] == prefix {
                by_patient
                    .entry(parts[1].to_owned())
                    .or_default()
                    .push(o.key);
            }
        }
        let mut removed = 0;
        for (patient, keys) in by_patient {
            // The primary, never a replica that might lag behind a commit.
            // A part that is not a patient id names no row's file.
            let known = match patient.parse::<PatientId>() {
                Ok(patient) => {
                    let mut tx = self.app.store.write(tenant).await?;
                    store::storage_keys(&mut tx, patient).await?
                }
                Err(_) => Vec::new(),
            };
            for key in keys.iter().filter(|k| !known.contains(k)) {
                self.app.files.delete(key).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

crate::kit::phi::redacted_debug!(AttachmentInfo, AttachmentFile, NewAttachment);
