//! Housekeeping: a background task in every `serve` process (like the
//! audit sealer) that removes sign-in artefacts nobody can use any more.
//!
//! Per tenant, in one tenant-scoped transaction: MFA challenges and
//! password-reset tokens past their expiry are deleted; device approvals
//! pending for longer than [`DEVICE_PENDING_DAYS`] are marked `expired`
//! (kept, since audit events name them; a later sign-in from that device
//! asks again), with one `auth.device_expired` audit event naming them.
//! Attachment files older than an hour that no attachment row names (an
//! upload whose process died between storing the file and committing the
//! row) are deleted from the file store.
//! Platform-wide: throttle counters whose window has passed and that hold
//! no active lock are deleted.
//!
//! Invariants:
//! - Idempotent and safe with several instances: every statement is a
//!   conditional DELETE/UPDATE, so a second run (or a racing instance)
//!   changes nothing; a busy tenant is skipped until the next round.
//! - Never touches audit rows: they are append-only and kept for the
//!   tenant's retention (`crate::governance::retention`), which this job never shortens.

use crate::governance::service::Governance;
use crate::kit::context::RequestInfo;
use crate::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::TenantId;
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::{
    identity::devices, identity::mfa, identity::resets, identity::throttle, tenancy::platform,
};
use serde::Serialize;

/// Device approvals pending longer than this expire.
pub const DEVICE_PENDING_DAYS: i64 = 7;

/// What one round removed or expired.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Housekeeping {
    pub mfa_challenges: u64,
    pub password_resets: u64,
    pub devices_expired: u64,
    pub throttle_counters: u64,
    /// Stored attachment files with no row, deleted.
    pub orphan_files: u64,
    /// Tenants skipped this round (busy; retried next round).
    pub tenants_skipped: u64,
}

impl Governance<'_> {
    /// One housekeeping round over every tenant and the shared counters.
    pub async fn housekeeping_once(&self) -> AppResult<Housekeeping> {
        let now = self.app.clock.now();
        let mut out = Housekeeping::default();
        // Every counter window is at most the lockout window (1 minute for
        // per-IP counters); an hour's margin covers any configuration.
        let horizon = self.app.settings.lockout_window.max(Duration::hours(1));
        out.throttle_counters =
            throttle::purge_expired(self.app.store.platform(), now - horizon, now).await?;
        for entry in platform::directory_list(self.app.store.platform()).await? {
            match self.housekeep_tenant(entry.tenant_id, now, &mut out).await {
                Ok(()) => {}
                Err(AppError::Busy | AppError::Conflict(_)) => out.tenants_skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn housekeep_tenant(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        out: &mut Housekeeping,
    ) -> AppResult<()> {
        let mut tx = self.app.store.write(tenant).await?;
        let challenges = mfa::purge_expired_challenges(&mut tx, now).await?;
        let resets = resets::purge_expired(&mut tx, now).await?;
        let cutoff = now - Duration::days(DEVICE_PENDING_DAYS);
        let expired = devices::expire_pending(&mut tx, cutoff, now).await?;
        if !expired.is_empty() {
            let actor = RequestInfo {
                request_id: "housekeeping".into(),
                ..Default::default()
            }
            .anonymous_actor();
            let ev = AuditEvent::new(
                now,
                AuditAction::AuthDeviceExpired,
                ResourceKind::Device,
                expired.clone(),
            )
            .because("pending_too_long");
            audit::record(&mut tx, &actor, ev).await?;
        }
        tx.commit().await?;
        out.mfa_challenges += challenges;
        out.password_resets += resets;
        out.devices_expired += expired.len() as u64;
        out.orphan_files += self
            .app
            .patients()
            .sweep_orphan_files(
                tenant,
                Duration::minutes(crate::patients::attachments::ORPHAN_GRACE_MINUTES),
            )
            .await?;
        Ok(())
    }

    /// Run housekeeping every `every` until the process ends (`serve`).
    pub fn spawn_housekeeping(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match app.governance().housekeeping_once().await {
                    Ok(h) => tracing::debug!(
                        mfa_challenges = h.mfa_challenges,
                        password_resets = h.password_resets,
                        devices_expired = h.devices_expired,
                        throttle_counters = h.throttle_counters,
                        orphan_files = h.orphan_files,
                        "housekeeping round"
                    ),
                    Err(e) => tracing::warn!(
                        code = e.code(),
                        "housekeeping round failed; retrying next round"
                    ),
                }
            }
        })
    }
}
