//! The patient's photo (demographics: the front desk may set and see it).
//!
//! Invariants:
//! - Accepted only as JPEG, PNG or WebP by content, agreeing with the
//!   declared type (and the name's extension when one is given), at most
//!   [`MAX_PHOTO_BYTES`].
//! - The bytes are encrypted under the patient's data key, bound to
//!   (tenant, `patient_photos`, `content`, photo id), before they reach the
//!   blob store; the row keeps the plaintext's digest, checked on read.
//! - Set and remove are `EditPatients`, read is `ViewPatients`; each is
//!   audited in the transaction that changes or reads the row. A replaced
//!   or removed photo's file is deleted after the commit (best effort: an
//!   orphan file is unreadable ciphertext that no row points at).

use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::consent::Purpose;
use crate::patients::registry::{event, load, load_for_write};
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use clinicos_domain::governance::audit_catalogue::AuditAction;
use clinicos_domain::patients::attachments::{self as file_type, SniffError};
use clinicos_domain::{PatientId, TenantId};
use clinicos_store::governance::audit;
use clinicos_store::patients::links::{self as store, PhotoRow};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The largest photo accepted (5 MiB).
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

const TABLE: &str = "patient_photos";

/// A photo as stored (metadata).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoInfo {
    #[schema(value_type = domain_schema::PatientId)]
    pub patient_id: PatientId,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the image.
    pub sha256: String,
}

/// A decrypted photo ready to send.
#[derive(Clone)]
pub struct Photo {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub(crate) fn storage_key(t: TenantId, patient: PatientId, photo: &str) -> String {
    format!("{}/{patient}/photo/{photo}", t.as_text())
}

/// Check an upload; returns the content type it is.
pub fn check_photo(
    content_type: &str,
    file_name: Option<&str>,
    bytes: &[u8],
) -> AppResult<&'static str> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(too_large());
    }
    file_type::check_photo(content_type, file_name, bytes)
        .map(|k| k.content_type())
        .map_err(|e| match e {
            SniffError::UnsupportedType => AppError::field(
                "content_type",
                "must be image/jpeg, image/png or image/webp",
            ),
            SniffError::UnknownContent => {
                AppError::field("photo", "is not a JPEG, PNG or WebP image")
            }
            SniffError::TypeMismatch => {
                AppError::field("photo", "content does not match the declared content type")
            }
            SniffError::ExtensionMismatch => {
                AppError::field("file_name", "extension does not match the image's content")
            }
        })
}

/// The error for a photo over the limit.
pub fn too_large() -> AppError {
    AppError::field("photo", "must be at most 5 MiB")
}

impl Patients<'_> {
    /// Encrypt a checked image for `patient` and put it in the blob store;
    /// the returned row is what the patient's photo columns must say.
    pub(crate) async fn seal_photo(
        &self,
        t: TenantId,
        patient: PatientId,
        content_type: &str,
        bytes: &[u8],
    ) -> AppResult<PhotoRow> {
        let photo_id = uuid::Uuid::now_v7().to_string();
        let sealed = self
            .app
            .cipher
            .encrypt(t, TABLE, "content", &photo_id, &patient.as_text(), bytes)
            .await?;
        self.app
            .files
            .put(&storage_key(t, patient, &photo_id), sealed)
            .await?;
        Ok(PhotoRow {
            photo_id,
            content_type: content_type.to_owned(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(Sha256::digest(bytes)),
        })
    }

    /// Set (or replace) a patient's photo.
    pub async fn set_patient_photo(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        content_type: &str,
        file_name: Option<&str>,
        bytes: Vec<u8>,
    ) -> AppResult<PhotoInfo> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let content_type = check_photo(content_type, file_name, &bytes)?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load_for_write(&mut tx, patient).await?;
        let old = store::photo(&mut tx, p.id).await?;
        let row = self
            .seal_photo(ctx.tenant, p.id, content_type, &bytes)
            .await?;
        let key = storage_key(ctx.tenant, p.id, &row.photo_id);
        let written = async {
            store::set_photo(&mut tx, p.id, Some(&row), now).await?;
            audit::record_for(
                &mut tx,
                &ctx.actor(),
                event(now, AuditAction::PatientPhotoUpdated, vec![p.id.as_text()]),
                Purpose::Operations.as_str(),
            )
            .await?;
            tx.commit().await?;
            Ok::<(), AppError>(())
        }
        .await;
        if let Err(e) = written {
            let _ = self.app.files.delete(&key).await;
            return Err(e);
        }
        if let Some(old) = old {
            let _ = self
                .app
                .files
                .delete(&storage_key(ctx.tenant, p.id, &old.photo_id))
                .await;
        }
        Ok(PhotoInfo {
            patient_id: p.id,
            content_type: row.content_type,
            size_bytes: row.size,
            sha256: row.sha256,
        })
    }

    /// The patient's photo, decrypted and checked against its digest
    /// (audited read).
    pub async fn patient_photo(&self, ctx: &Ctx, patient: PatientId) -> AppResult<Photo> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let row = store::photo(&mut tx, p.id)
            .await?
            .ok_or(AppError::NotFound("photo"))?;
        let sealed = self
            .app
            .files
            .get(&storage_key(ctx.tenant, p.id, &row.photo_id))
            .await?;
        let bytes = self
            .app
            .cipher
            .decrypt(
                ctx.tenant,
                TABLE,
                "content",
                &row.photo_id,
                &p.id.as_text(),
                &sealed,
            )
            .await?;
        if hex::encode(Sha256::digest(&bytes)) != row.sha256 {
            return Err(AppError::Internal(format!(
                "photo {} does not match its digest",
                row.photo_id
            )));
        }
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(
                self.app.clock.now(),
                AuditAction::PatientPhotoRead,
                vec![p.id.as_text()],
            ),
            Purpose::Treatment.as_str(),
        )
        .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&p.id))
            .await;
        Ok(Photo {
            content_type: row.content_type,
            bytes,
        })
    }

    /// Remove the patient's photo (404 when there is none).
    pub async fn remove_patient_photo(&self, ctx: &Ctx, patient: PatientId) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load_for_write(&mut tx, patient).await?;
        let old = store::photo(&mut tx, p.id)
            .await?
            .ok_or(AppError::NotFound("photo"))?;
        store::set_photo(&mut tx, p.id, None, now).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(now, AuditAction::PatientPhotoDeleted, vec![p.id.as_text()]),
            Purpose::Operations.as_str(),
        )
        .await?;
        tx.commit().await?;
        let _ = self
            .app
            .files
            .delete(&storage_key(ctx.tenant, p.id, &old.photo_id))
            .await;
        Ok(())
    }
}

crate::kit::phi::redacted_debug!(Photo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_checked_by_content_and_size() {
        let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
        assert_eq!(check_photo("image/png", None, &png).ok(), Some("image/png"));
        let pdf = b"%PDF-1.4\n".to_vec();
        assert!(check_photo("image/png", Some("x.png"), &pdf).is_err());
        let mut big = png.clone();
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        let Err(AppError::Validation(e)) = check_photo("image/png", None, &big) else {
            panic!("expected a validation error");
        };
        assert_eq!(e[0].field, "photo");
    }
}
