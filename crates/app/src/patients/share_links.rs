//! Expiring share links for a patient's report (seed 000 §7): a clinician
//! hands a referral doctor or the patient a URL that downloads one
//! attachment without signing in, until it expires or is revoked.
//!
//! Invariants:
//! - The token is 32 random bytes behind the tenant's id (so a use can
//!   open the right tenant's transaction), base64url; only its SHA-256 is
//!   stored. It is shown once, at creation. A token whose tenant part is
//!   changed finds nothing in that other tenant (404).
//! - Time-limited (1 hour to [`MAX_HOURS`], default [`DEFAULT_HOURS`])
//!   and revocable; an expired or revoked link answers 410
//!   `SHARE_LINK_GONE`, an unknown one 404, and neither says which part was
//!   wrong.
//! - Creating and revoking need `WriteClinical` on the patient (a care
//!   relationship) and the attachment's tier must be readable by the
//!   creator (restricted files only by those who may see them); listing
//!   needs `ReadClinical`. Every create, list, revoke and use is audited in
//!   its own transaction (`share_link.used` names the link, patient and
//!   attachment ids, never the token); refused uses too.

use crate::governance::policy::Action;
use crate::kit::domain_schema;
use crate::patients::attachments::facts;
use crate::patients::registry::load;
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use clinicos_domain::governance::access::Deny;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{AttachmentId, PatientId, ShareLinkId, TenantId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::patients::attachments as files;
use clinicos_store::patients::share_links::{self as store, ShareLinkRow};
use clinicos_store::StoreError;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The longest a link may live (30 days).
pub const MAX_HOURS: i64 = 30 * 24;
/// A link's life when the request names none (7 days).
pub const DEFAULT_HOURS: i64 = 7 * 24;

/// What to share.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewShareLink {
    /// The attachment (of this patient) the link downloads.
    pub attachment_id: String,
    /// Hours until the link stops working: 1 to 720 (default 168).
    pub expires_in_hours: Option<i64>,
}

/// A share link as listed (never its token).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ShareLinkInfo {
    #[schema(value_type = domain_schema::ShareLinkId)]
    pub id: ShareLinkId,
    #[schema(value_type = domain_schema::PatientId)]
    pub patient_id: PatientId,
    #[schema(value_type = domain_schema::AttachmentId)]
    pub attachment_id: AttachmentId,
    #[schema(value_type = domain_schema::UserId)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// active, expired or revoked.
    pub status: String,
    pub use_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new link with its token (shown once).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedShareLink {
    pub link: ShareLinkInfo,
    /// The secret part of the URL; not retrievable later.
    pub token: String,
    /// The link to hand out.
    pub url: String,
}

/// A shared file, decrypted.
#[derive(Clone)]
pub struct SharedFile {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The public path a token is used at (before the token).
pub const USE_PATH: &str = "/api/v1/shared/";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token for a link of `tenant`.
fn new_token(tenant: TenantId) -> String {
    let mut raw = [0u8; 48];
    raw[..16].copy_from_slice(tenant.0.as_bytes());
    rand::rngs::OsRng.fill_bytes(&mut raw[16..]);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The tenant a token names (None for anything not shaped like a token).
fn token_tenant(token: &str) -> Option<TenantId> {
    let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    if raw.len() != 48 {
        return None;
    }
    let id = uuid::Uuid::from_slice(&raw[..16]).ok()?;
    Some(TenantId(id))
}

fn status(l: &ShareLinkRow, now: DateTime<Utc>) -> &'static str {
    if l.revoked_at.is_some() {
        "revoked"
    } else if now >= l.expires_at {
        "expired"
    } else {
        "active"
    }
}

fn info(l: ShareLinkRow, now: DateTime<Utc>) -> ShareLinkInfo {
    ShareLinkInfo {
        status: status(&l, now).to_owned(),
        id: l.id,
        patient_id: l.patient_id,
        attachment_id: l.attachment_id,
        created_by: l.created_by,
        created_at: l.created_at,
        expires_at: l.expires_at,
        revoked_at: l.revoked_at,
        use_count: l.use_count,
        last_used_at: l.last_used_at,
    }
}

fn link_not_found(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => AppError::NotFound("share link"),
        other => other.into(),
    }
}

impl Patients<'_> {
    /// Create a link to one of the patient's attachments.
    pub async fn create_share_link(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        input: NewShareLink,
    ) -> AppResult<CreatedShareLink> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::WriteClinical)
            .await?;
        let hours = input.expires_in_hours.unwrap_or(DEFAULT_HOURS);
        if !(1..=MAX_HOURS).contains(&hours) {
            return Err(AppError::field(
                "expires_in_hours",
                &format!("must be between 1 and {MAX_HOURS} (30 days)"),
            ));
        }
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::WriteClinical, &p, None)
            .await?;
        let not_this_patients =
            || AppError::field("attachment_id", "is not an attachment of this patient");
        let attachment: AttachmentId = input
            .attachment_id
            .trim()
            .parse()
            .map_err(|_| not_this_patients())?;
        let file = files::get(&mut tx, p.id, attachment)
            .await
            .map_err(|_| not_this_patients())?;
        if !access.allows_record(ctx, Action::ReadClinical, &facts(&file)) {
            drop(tx);
            return Err(self
                .deny_patient(ctx, Action::ReadClinical, Deny::Restricted, p.id)
                .await);
        }
        let token = new_token(ctx.tenant);
        let row = ShareLinkRow {
            id: ShareLinkId::new(),
            patient_id: p.id,
            attachment_id: file.id,
            token_hash: hash(&token),
            created_by: ctx.user,
            created_at: now,
            expires_at: now + Duration::hours(hours),
            revoked_at: None,
            revoked_by: None,
            use_count: 0,
            last_used_at: None,
        };
        store::insert(&mut tx, &row).await?;
        access
            .record(
                &mut tx,
                ctx,
                now,
                AuditAction::ShareLinkCreated,
                ResourceKind::ShareLink,
                vec![row.id.as_text(), p.id.as_text(), file.id.as_text()],
            )
            .await?;
        tx.commit().await?;
        let url = format!(
            "{}{USE_PATH}{token}",
            self.app.settings.public_url.trim_end_matches('/')
        );
        Ok(CreatedShareLink {
            link: info(row, now),
            token,
            url,
        })
    }

    /// The patient's share links (active, expired and revoked).
    pub async fn share_links(
        &self,
        ctx: &Ctx,
        patient: PatientId,
    ) -> AppResult<Vec<ShareLinkInfo>> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::ReadClinical)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::ReadClinical, &p, None)
            .await?;
        let rows = store::list(&mut tx, p.id).await?;
        let mut ids = vec![p.id.as_text()];
        ids.extend(rows.iter().map(|l| l.id.as_text()));
        access
            .record(
                &mut tx,
                ctx,
                now,
                AuditAction::ShareLinksRead,
                ResourceKind::ShareLink,
                ids,
            )
            .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|l| info(l, now)).collect())
    }

    /// Revoke a link (idempotent: revoking a revoked link changes nothing).
    pub async fn revoke_share_link(&self, ctx: &Ctx, id: ShareLinkId) -> AppResult<ShareLinkInfo> {
        self.app
            .governance()
            .authorize_permission(ctx, Action::WriteClinical)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let link = store::get(&mut tx, id).await.map_err(link_not_found)?;
        let p = load(&mut tx, link.patient_id).await?;
        let (mut tx, access) = self
            .authorize_clinical(tx, ctx, Action::WriteClinical, &p, None)
            .await?;
        if store::revoke(&mut tx, link.id, ctx.user, now).await? {
            access
                .record(
                    &mut tx,
                    ctx,
                    now,
                    AuditAction::ShareLinkRevoked,
                    ResourceKind::ShareLink,
                    vec![link.id.as_text(), p.id.as_text()],
                )
                .await?;
        }
        let link = store::get(&mut tx, id).await.map_err(link_not_found)?;
        tx.commit().await?;
        Ok(info(link, now))
    }

    /// Use a link (no sign-in): the file, decrypted, if the link is live.
    /// Every use, and every refused use of a known link, is audited. The
    /// file is fetched and decrypted between a read transaction (find the
    /// link) and the short write transaction that re-checks the link,
    /// counts the use and audits it, so no write lock waits on the store.
    pub async fn use_share_link(
        &self,
        token: &str,
        request: &crate::kit::context::RequestInfo,
    ) -> AppResult<SharedFile> {
        let tenant = token_tenant(token).ok_or(AppError::NotFound("share link"))?;
        let token_hash = hash(token);
        let mut tx = match self.app.store.read(tenant).await {
            Ok(tx) => tx,
            Err(StoreError::UnknownTenant) => return Err(AppError::NotFound("share link")),
            Err(e) => return Err(e.into()),
        };
        let link = store::by_token_hash(&mut tx, &token_hash)
            .await?
            .ok_or(AppError::NotFound("share link"))?;
        let file = if status(&link, self.app.clock.now()) == "active" {
            Some(files::get(&mut tx, link.patient_id, link.attachment_id).await?)
        } else {
            None
        };
        drop(tx);
        let content = match &file {
            Some(f) => Some((
                self.file_content(tenant, f).await?,
                self.file_name(tenant, f).await?,
            )),
            None => None,
        };
        // Re-read the link where the use is recorded: a revocation or the
        // expiry between the two transactions wins.
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(tenant).await?;
        let link = store::by_token_hash(&mut tx, &token_hash)
            .await?
            .ok_or(AppError::NotFound("share link"))?;
        let state = status(&link, now);
        let delivered = match (state, file, content) {
            ("active", Some(file), Some(content)) => Some((file, content)),
            _ => None,
        };
        let used = delivered.is_some();
        let ev = AuditEvent::new(
            now,
            if used {
                AuditAction::ShareLinkUsed
            } else {
                AuditAction::ShareLinkRefused
            },
            ResourceKind::ShareLink,
            vec![
                link.id.as_text(),
                link.patient_id.as_text(),
                link.attachment_id.as_text(),
            ],
        )
        .because(state);
        audit::record_for(&mut tx, &request.anonymous_actor(), ev, "disclosure").await?;
        if used {
            store::mark_used(&mut tx, link.id, now).await?;
        }
        tx.commit().await?;
        let (file, (bytes, file_name)) = delivered.ok_or(AppError::ShareLinkGone)?;
        Ok(SharedFile {
            file_name,
            content_type: file.content_type,
            bytes,
        })
    }
}

crate::kit::phi::redacted_debug!(SharedFile);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_tenant_and_are_unique() {
        let t = TenantId::new();
        let a = new_token(t);
        let b = new_token(t);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_tenant(&a), Some(t));
        assert_eq!(token_tenant("not-a-token"), None);
        assert_eq!(token_tenant(&a[..40]), None);
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
    }
}
