//! Signed-in patients: the portal bearer token, the portal's policy point
//! and the patient's own reads. A portal session belongs to one patient;
//! every request re-reads its row (revocation is immediate) and applies the
//! tenant's idle and absolute limits, like staff sessions.

use crate::identity::auth::{session_verdict, split_credential};
use crate::identity::portal::TOKEN_PREFIX;
use crate::identity::service::Identity;
use crate::kit::context::RequestInfo;
use crate::kit::crypto;
use crate::patients::consent::Purpose;
use crate::patients::patient::Patient;
use crate::patients::registry::load;
use crate::{AppError, AppResult};
use chrono::Duration;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::identity::portal::{decide_portal, PortalAction};
use clinicos_domain::{PatientId, SessionId, TenantId};
use clinicos_store::governance::audit::{self, Actor, AuditEvent};
use clinicos_store::{identity::portal_sessions, tenancy::tenants};

/// A signed-in patient.
#[derive(Clone, Debug)]
pub struct PortalCtx {
    pub tenant: TenantId,
    pub tenant_name: String,
    pub patient: PatientId,
    pub session: SessionId,
    pub request: RequestInfo,
}

impl PortalCtx {
    /// The audit actor: no staff user, role `patient`; the patient is the
    /// resource of every event they cause.
    pub fn actor(&self) -> Actor {
        Actor {
            roles: "patient".into(),
            ..self.request.anonymous_actor()
        }
    }
}

impl Identity<'_> {
    /// Authenticate a portal bearer token (`pt.<tenant>.<session>.<secret>`).
    pub async fn authenticate_portal(&self, token: &str, req: RequestInfo) -> AppResult<PortalCtx> {
        let now = self.app.clock.now();
        let (tenant, sid, secret) = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(split_credential)
            .ok_or(AppError::Unauthenticated)?;
        let mut tx = self
            .app
            .store
            .read(tenant)
            .await
            .map_err(|_| AppError::Unauthenticated)?;
        let s = portal_sessions::get(&mut tx, sid)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if !crypto::ct_eq(&crypto::sha256_hex(secret), &s.token_hash) {
            return Err(AppError::Unauthenticated);
        }
        let t = tenants::get(&mut tx).await?;
        if let Err(e) = session_verdict(&t, s.created_at, s.last_seen_at, s.revoked_at, now) {
            if matches!(e, AppError::SessionExpired) {
                drop(tx);
                let mut tx = self.app.store.write(tenant).await?;
                portal_sessions::revoke(&mut tx, sid, "expired", now).await?;
                tx.commit().await?;
            }
            return Err(e);
        }
        tx.commit().await?;
        if now - s.last_seen_at >= Duration::seconds(60) {
            let mut tx = self.app.store.write(tenant).await?;
            portal_sessions::touch(&mut tx, sid, now).await?;
            tx.commit().await?;
        }
        Ok(PortalCtx {
            tenant,
            tenant_name: t.display_name,
            patient: s.patient_id,
            session: sid,
            request: req,
        })
    }

    /// The portal's policy point: a patient acts on their own record only;
    /// a denial is audited like a staff one.
    pub async fn authorize_portal(
        &self,
        ctx: &PortalCtx,
        action: PortalAction,
        target_patient: PatientId,
    ) -> AppResult<()> {
        if decide_portal(ctx.patient, action, target_patient).is_ok() {
            return Ok(());
        }
        let reason = format!("{action:?}:not_self");
        let ev = AuditEvent::new(
            self.app.clock.now(),
            AuditAction::PolicyDenied,
            ResourceKind::Patient,
            vec![target_patient.as_text()],
        )
        .denied(reason);
        let mut tx = self.app.store.write(ctx.tenant).await?;
        audit::record(&mut tx, &ctx.actor(), ev).await?;
        tx.commit().await?;
        Err(AppError::Forbidden("read another patient's record".into()))
    }

    /// The signed-in patient's own demographics and contact details,
    /// audited as a read of the patient by the patient.
    pub async fn portal_me(&self, ctx: &PortalCtx) -> AppResult<Patient> {
        self.authorize_portal(ctx, PortalAction::ReadOwnRecord, ctx.patient)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let row = load(&mut tx, ctx.patient).await?;
        let ev = AuditEvent::new(
            self.app.clock.now(),
            AuditAction::PatientRead,
            ResourceKind::Patient,
            vec![row.id.as_text()],
        )
        .because("portal_self");
        audit::record_for(&mut tx, &ctx.actor(), ev, Purpose::PatientRequest.as_str()).await?;
        tx.commit().await?;
        let mut me = self.app.patients().show_patient(ctx.tenant, row).await?;
        // The front desk's working notes ("prefers mornings") and tags are
        // staff-only; the full record is the data-portability export.
        me.notes = None;
        me.tags.clear();
        Ok(me)
    }

    /// End the patient's portal session.
    pub async fn portal_logout(&self, ctx: &PortalCtx) -> AppResult<()> {
        self.authorize_portal(ctx, PortalAction::EndOwnSession, ctx.patient)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        portal_sessions::revoke(&mut tx, ctx.session, "logout", now).await?;
        let ev = AuditEvent::new(
            now,
            AuditAction::PortalLogout,
            ResourceKind::Patient,
            vec![ctx.patient.as_text()],
        );
        audit::record(&mut tx, &ctx.actor(), ev).await?;
        tx.commit().await?;
        Ok(())
    }
}
