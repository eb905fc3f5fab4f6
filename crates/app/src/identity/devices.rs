//! Device approval for staff sign-in (seed 002 §10) and admin control of
//! other staff members' sessions.
//!
//! Invariants:
//! - With the tenant's `device_approval` on, a sign-in from a device the
//!   user has not used before records a pending approval instead of a
//!   session. The device id is a random value the server issues (cookie
//!   or `X-Device-Id`); only a per-user hash of it is stored.
//! - Approve / deny and session revocation need their policy action and
//!   obey the staff-management scope (a branch admin only reaches staff of
//!   their own branches, never an owner); each writes an audit event in
//!   the same transaction.

use crate::governance::policy::{allows_on, Action};
use crate::identity::service::Identity;
use crate::identity::types::{Device, SessionSummary};
use crate::kit::context::{Ctx, RequestInfo};
use crate::kit::domain_schema;
use crate::tenancy::admin::staff_target;
use crate::tenancy::types::Tenant;
use crate::{kit::crypto, AppError, AppResult};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{Role, SessionId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::identity::devices;
use clinicos_store::identity::sessions;
use clinicos_store::{identity::users, tenancy::tenants, TenantTx};
use serde::Deserialize;

/// Sign-in security settings of the organisation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInSecurity {
    /// Roles that must use two-step sign-in, e.g. every role with clinical
    /// data access. Empty: nobody is forced.
    #[schema(value_type = Vec<domain_schema::Role>)]
    pub mfa_required_roles: Vec<Role>,
    /// New staff devices need an administrator's approval.
    pub device_approval: bool,
}

fn device_hash(user: UserId, device_id: &str) -> String {
    crypto::sha256_hex(&format!("device\n{user}\n{device_id}"))
}

async fn audit_admin(
    tx: &mut TenantTx,
    ctx: &Ctx,
    action: AuditAction,
    resource_type: ResourceKind,
    id: String,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let ev = AuditEvent::new(now, action, resource_type, vec![id]);
    audit::record(tx, &ctx.actor(), ev).await?;
    Ok(())
}

async fn audit_pending(
    tx: &mut TenantTx,
    user: UserId,
    req: &RequestInfo,
    device: String,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut actor = req.anonymous_actor();
    actor.user_id = Some(user);
    let ev = AuditEvent::new(
        now,
        AuditAction::AuthDevicePending,
        ResourceKind::Device,
        vec![device],
    )
    .denied("device_approval_pending");
    audit::record(tx, &actor, ev).await?;
    Ok(())
}

impl Identity<'_> {
    /// Inside the sign-in transaction: `Ok(Ok(()))` when the device is
    /// approved; `Ok(Err(blocked))` after recording a pending approval (the
    /// caller commits, then answers with the error).
    pub(crate) async fn admit_device(
        &self,
        tx: &mut TenantTx,
        user: UserId,
        device_id: Option<&str>,
        req: &RequestInfo,
        now: DateTime<Utc>,
    ) -> AppResult<Result<(), AppError>> {
        let presented = device_id
            .map(str::trim)
            .filter(|d| !d.is_empty() && d.len() <= 128);
        // A client that keeps no device id (an API client without the
        // header, a browser refusing cookies) gets the same id on every
        // attempt from the same user agent and address, so it queues one
        // approval, not one per attempt.
        let device_id = match presented {
            Some(d) => d.to_owned(),
            None => self.derived_device_id(user, req)?,
        };
        let pending = || {
            Ok(Err(AppError::DeviceApprovalPending {
                device_id: device_id.clone(),
            }))
        };
        match devices::find(tx, user, &device_hash(user, &device_id)).await? {
            // Admission needs the id presented back, derived or not.
            Some(dev) if dev.status == "approved" && presented.is_some() => return Ok(Ok(())),
            Some(dev) if dev.status == "denied" => return Ok(Err(AppError::DeviceDenied)),
            Some(dev) if dev.status == "expired" => {
                devices::reopen(tx, &dev.id, &req.ip, &req.user_agent, now).await?;
                audit_pending(tx, user, req, dev.id, now).await?;
                return pending();
            }
            Some(_) => return pending(),
            None => {}
        }
        let id = uuid::Uuid::now_v7().to_string();
        devices::insert(
            tx,
            &id,
            user,
            &device_hash(user, &device_id),
            "pending",
            &req.ip,
            &req.user_agent,
            now,
        )
        .await?;
        audit_pending(tx, user, req, id, now).await?;
        pending()
    }

    /// HMAC(device key, user, address, user agent): stable for one client
    /// that keeps no id, unguessable without the platform's device key.
    fn derived_device_id(&self, user: UserId, req: &RequestInfo) -> AppResult<String> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.app.platform_keys.device)
            .map_err(|_| AppError::Internal("bad device key".into()))?;
        for part in [user.as_text().as_str(), &req.ip, &req.user_agent] {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let tag = mac.finalize().into_bytes();
        Ok(tag.iter().take(24).map(|b| format!("{b:02x}")).collect())
    }

    /// Change the organisation's sign-in security settings (owner).
    pub async fn set_sign_in_security(&self, ctx: &Ctx, s: SignInSecurity) -> AppResult<Tenant> {
        self.app
            .governance()
            .authorize(ctx, Action::EditSignInSecurity)
            .await?;
        let tx = self.app.store.write(ctx.tenant).await?;
        self.write_sign_in_security(tx, &ctx.actor(), s).await
    }

    /// The same from the command line (an operator with server access:
    /// `clinicos tenant sign-in-security`), audited with request id `cli`.
    pub async fn set_sign_in_security_cli(
        &self,
        tenant_slug: &str,
        s: SignInSecurity,
    ) -> AppResult<Tenant> {
        let entry = clinicos_store::tenancy::platform::directory_by_slug(
            self.app.store.platform(),
            tenant_slug,
        )
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
        let tx = self.app.store.write(entry.tenant_id).await?;
        let actor = RequestInfo {
            request_id: "cli".into(),
            ..Default::default()
        }
        .anonymous_actor();
        self.write_sign_in_security(tx, &actor, s).await
    }

    async fn write_sign_in_security(
        &self,
        mut tx: TenantTx,
        actor: &clinicos_store::governance::audit::Actor,
        s: SignInSecurity,
    ) -> AppResult<Tenant> {
        let now = self.app.clock.now();
        let mut roles = s.mfa_required_roles;
        roles.sort();
        roles.dedup();
        let tenant = tx.tenant();
        tenants::set_sign_in_security(&mut tx, &roles, s.device_approval, now).await?;
        // The trail says what the rule became (relaxing MFA included).
        let detail = format!(
            "mfa_required_roles={} device_approval={}",
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
            s.device_approval
        );
        let ev = AuditEvent::new(
            now,
            AuditAction::TenantSignInSecurity,
            ResourceKind::Tenant,
            vec![tenant.as_text()],
        )
        .because(detail);
        audit::record(&mut tx, actor, ev).await?;
        let t = tenants::get(&mut tx).await?;
        tx.commit().await?;
        Ok(t.into())
    }

    /// The policy point for acting on staff member `id` (which may not
    /// exist): one decision over the permission and the member's branches
    /// and roles; a missing member is 404 only after that.
    async fn managed_staff(
        &self,
        mut tx: TenantTx,
        ctx: &Ctx,
        action: Action,
        id: Option<UserId>,
    ) -> AppResult<TenantTx> {
        let u = match id {
            Some(id) => users::get(&mut tx, id).await.ok(),
            None => None,
        };
        let (roles, branches) = match &u {
            Some(u) => (u.roles.clone(), u.branch_ids.clone()),
            None => (Vec::new(), Vec::new()),
        };
        let tx = self
            .app
            .governance()
            .authorize_in(tx, ctx, action, &staff_target(&roles, &branches))
            .await?;
        if id.is_some() && u.is_none() {
            return Err(AppError::NotFound("staff member"));
        }
        Ok(tx)
    }

    /// Devices waiting for approval that this admin may decide.
    pub async fn pending_devices(&self, ctx: &Ctx) -> AppResult<Vec<Device>> {
        self.app
            .governance()
            .authorize(ctx, Action::ApproveDevices)
            .await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let mut out = Vec::new();
        // A filter on what the list shows: decided without recording.
        for d in devices::pending(&mut tx).await? {
            let Ok(u) = users::get(&mut tx, d.user_id).await else {
                continue;
            };
            let target = staff_target(&u.roles, &u.branch_ids);
            if allows_on(ctx, Action::ApproveDevices, &target) {
                out.push(d.into());
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Approve or deny a pending device.
    pub async fn decide_device(&self, ctx: &Ctx, id: &str, approve: bool) -> AppResult<Device> {
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let d = devices::get(&mut tx, id).await?;
        let user = d.as_ref().map(|d| d.user_id);
        let mut tx = self
            .managed_staff(tx, ctx, Action::ApproveDevices, user)
            .await?;
        if d.is_none() {
            return Err(AppError::NotFound("device approval"));
        }
        let (status, action) = if approve {
            ("approved", AuditAction::AuthDeviceApprove)
        } else {
            ("denied", AuditAction::AuthDeviceDeny)
        };
        if !devices::decide(&mut tx, id, status, ctx.user, now).await? {
            return Err(AppError::Conflict(
                "this device approval was already decided".into(),
            ));
        }
        audit_admin(
            &mut tx,
            ctx,
            action,
            ResourceKind::Device,
            id.to_owned(),
            now,
        )
        .await?;
        let d = devices::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("device approval"))?;
        tx.commit().await?;
        Ok(d.into())
    }

    /// Another staff member's live sessions.
    pub async fn staff_sessions(&self, ctx: &Ctx, user: UserId) -> AppResult<Vec<SessionSummary>> {
        let now = self.app.clock.now();
        let tx = self.app.store.read(ctx.tenant).await?;
        let mut tx = self
            .managed_staff(tx, ctx, Action::ManageStaffSessions, Some(user))
            .await?;
        let list = crate::identity::auth::live_sessions(&mut tx, user, ctx.session, now).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// End another staff member's session; its tokens fail at once.
    pub async fn revoke_staff_session(
        &self,
        ctx: &Ctx,
        user: UserId,
        sid: SessionId,
    ) -> AppResult<()> {
        let now = self.app.clock.now();
        let tx = self.app.store.write(ctx.tenant).await?;
        let mut tx = self
            .managed_staff(tx, ctx, Action::ManageStaffSessions, Some(user))
            .await?;
        sessions::get(&mut tx, sid)
            .await?
            .filter(|s| s.user_id == user)
            .ok_or(AppError::NotFound("session"))?;
        sessions::revoke(&mut tx, sid, "revoked_by_admin", now).await?;
        audit_admin(
            &mut tx,
            ctx,
            AuditAction::AuthSessionRevoke,
            ResourceKind::Session,
            sid.as_text(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What `clinicos user reset-sign-in` changed.
#[derive(Clone, Debug, Default)]
pub struct SignInReset {
    pub mfa_removed: bool,
    pub devices_approved: u64,
}

impl Identity<'_> {
    /// Recovery from the command line (server access, no admin left able to
    /// help): remove a user's second factor (phone and recovery codes lost)
    /// and/or approve their pending devices (e.g. the only owner on a new
    /// device). Audited with a `cli` request id.
    pub async fn reset_sign_in_cli(
        &self,
        tenant_slug: &str,
        email: &str,
        remove_mfa: bool,
        approve_devices: bool,
    ) -> AppResult<SignInReset> {
        let now = self.app.clock.now();
        let entry = clinicos_store::tenancy::platform::directory_by_slug(
            self.app.store.platform(),
            tenant_slug,
        )
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
        let mut tx = self.app.store.write(entry.tenant_id).await?;
        let creds =
            users::credentials_by_email(&mut tx, &crate::identity::auth::normalise_email(email))
                .await?
                .ok_or(AppError::NotFound("user"))?;
        let actor = RequestInfo {
            request_id: "cli".into(),
            ..Default::default()
        }
        .anonymous_actor();
        let mut out = SignInReset::default();
        let record = |action: AuditAction| {
            AuditEvent::new(now, action, ResourceKind::User, vec![creds.id.as_text()])
                .because("cli")
        };
        if remove_mfa {
            out.mfa_removed = clinicos_store::identity::mfa::totp(&mut tx, creds.id)
                .await?
                .is_some();
            clinicos_store::identity::mfa::remove(&mut tx, creds.id).await?;
            audit::record(&mut tx, &actor, record(AuditAction::AuthMfaReset)).await?;
        }
        if approve_devices {
            out.devices_approved =
                devices::approve_pending_for_user(&mut tx, creds.id, now).await?;
            audit::record(&mut tx, &actor, record(AuditAction::AuthDeviceApprove)).await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}
