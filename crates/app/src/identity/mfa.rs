//! Second factor for staff: TOTP (RFC 6238, see [`crate::identity::totp`]) with ten
//! single-use recovery codes.
//!
//! Invariants:
//! - Enrolment is two steps: a pending secret is shown once, and becomes
//!   active only when a code from it is confirmed. Recovery codes are
//!   created at activation, shown once, stored as SHA-256 hashes.
//! - A time step is accepted once per user (`last_step` compare-and-set),
//!   so an observed code cannot be replayed within its window.
//! - The sign-in challenge (`mfa_token`, `<tenant>.<secret>`) is stored
//!   hashed, bound to the user, lives five minutes and is spent by the
//!   first correct code. Wrong codes count towards the account lockout
//!   exactly like wrong passwords; codes and secrets never reach logs or
//!   error messages.

use crate::governance::policy::Action;
use crate::identity::auth::{account_key, Issued, LoginInput, SessionKind};
use crate::identity::service::Identity;
use crate::identity::types::User;
use crate::kit::context::{Ctx, RequestInfo};
use crate::{identity::totp, kit::crypto, AppError, AppResult, FieldCipher};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{TenantId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent, Outcome};
use clinicos_store::{
    identity::mfa, identity::throttle, identity::users, tenancy::tenants, TenantTx,
};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::Serialize;

/// How long the code step of a sign-in may take.
const CHALLENGE_TTL_MINUTES: i64 = 5;
/// Recovery codes issued at activation.
const RECOVERY_CODES: usize = 10;

/// A started enrolment: shown once.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret to type into an authenticator app.
    pub secret: String,
    /// The same as an `otpauth://` URI (QR-code content).
    pub otpauth_uri: String,
}

/// Recovery codes: shown once, at activation.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// The user's second-factor state.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MfaStatus {
    pub totp_active: bool,
    /// An enrolment was started but not yet confirmed.
    pub totp_pending: bool,
    pub recovery_codes_left: i64,
    /// The tenant requires MFA for one of the user's roles.
    pub required: bool,
}

/// The second factor presented: a current code or a recovery code.
#[derive(Clone, Default)]
pub struct SecondFactor {
    pub code: Option<String>,
    pub recovery_code: Option<String>,
}

fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    crypto::sha256_hex(&format!("recovery\n{norm}"))
}

fn new_recovery_code() -> String {
    let mut b = [0u8; 6];
    OsRng.fill_bytes(&mut b);
    let s = totp::base32_encode(&b).to_lowercase();
    format!("{}-{}", &s[..5], &s[5..10])
}

/// Where a TOTP secret is stored; the field cipher binds each ciphertext
/// to it (and to the tenant and the user's row), so it cannot be moved.
const SECRET_TABLE: &str = "mfa_totp";
const SECRET_COLUMN: &str = "secret";

/// Encrypt a base32 TOTP secret for storage (base64 of the field-cipher
/// envelope; the user is the key subject).
async fn seal_secret(
    cipher: &FieldCipher,
    tenant: TenantId,
    user: UserId,
    secret: &str,
) -> AppResult<String> {
    let u = user.as_text();
    let ct = cipher
        .encrypt(
            tenant,
            SECRET_TABLE,
            SECRET_COLUMN,
            &u,
            &u,
            secret.as_bytes(),
        )
        .await?;
    Ok(B64.encode(ct))
}

/// Decrypt a stored TOTP secret to its raw bytes.
async fn open_secret(
    cipher: &FieldCipher,
    tenant: TenantId,
    user: UserId,
    stored: &str,
) -> AppResult<Vec<u8>> {
    let corrupt = || AppError::Internal("stored TOTP secret is unreadable".into());
    let ct = B64.decode(stored).map_err(|_| corrupt())?;
    let u = user.as_text();
    let plain = cipher
        .decrypt(tenant, SECRET_TABLE, SECRET_COLUMN, &u, &u, &ct)
        .await?;
    let text = String::from_utf8(plain).map_err(|_| corrupt())?;
    totp::base32_decode(&text).ok_or_else(corrupt)
}

/// Check a second factor against the user's active TOTP or recovery codes,
/// spending what it uses. `Ok(false)` when wrong, replayed or absent.
async fn check_factor(
    cipher: &FieldCipher,
    tx: &mut TenantTx,
    user: UserId,
    f: &SecondFactor,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let Some(rec) = mfa::totp(tx, user).await?.filter(|t| t.confirmed) else {
        return Ok(false);
    };
    if let Some(code) = f.code.as_deref().filter(|c| !c.trim().is_empty()) {
        let secret = open_secret(cipher, tx.tenant(), user, &rec.secret).await?;
        return match totp::matching_step(&secret, code, now.timestamp()) {
            Some(step) => Ok(mfa::use_step(tx, user, step).await?),
            None => Ok(false),
        };
    }
    if let Some(rc) = f.recovery_code.as_deref().filter(|c| !c.trim().is_empty()) {
        return Ok(mfa::take_recovery_code(tx, user, &recovery_hash(rc), now).await?);
    }
    Ok(false)
}

async fn audit_self(
    tx: &mut TenantTx,
    ctx: &Ctx,
    action: AuditAction,
    _outcome: Outcome,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let ev = AuditEvent::new(now, action, ResourceKind::User, vec![ctx.user.as_text()]);
    audit::record(tx, &ctx.actor(), ev).await?;
    Ok(())
}

impl Identity<'_> {
    /// Turn on TOTP for `user` with a secret the caller already knows (the
    /// demo's documented secret: its accounts sign in with two steps like a
    /// real clinic's). Nothing happens when a second factor is active.
    /// Audited as an activation with request id `demo`.
    pub(crate) async fn enrol_known_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        secret_b32: &str,
    ) -> AppResult<()> {
        if totp::base32_decode(secret_b32).is_none() {
            return Err(AppError::Internal(
                "the demo TOTP secret is not base32".into(),
            ));
        }
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(tenant).await?;
        if mfa::is_active(&mut tx, user).await? {
            return Ok(());
        }
        let sealed = seal_secret(&self.app.cipher, tenant, user, secret_b32).await?;
        mfa::put_pending(&mut tx, user, &sealed, now).await?;
        mfa::confirm(&mut tx, user, now).await?;
        let actor = RequestInfo {
            request_id: "demo".into(),
            ..Default::default()
        }
        .anonymous_actor();
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthMfaEnabled,
            ResourceKind::User,
            vec![user.as_text()],
        );
        audit::record(&mut tx, &actor, ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The signed-in user's second-factor state.
    pub async fn mfa_status(&self, ctx: &Ctx) -> AppResult<MfaStatus> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageOwnAccount)
            .await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let rec = mfa::totp(&mut tx, ctx.user).await?;
        let left = mfa::recovery_codes_left(&mut tx, ctx.user).await?;
        tx.commit().await?;
        Ok(MfaStatus {
            totp_active: rec.as_ref().is_some_and(|r| r.confirmed),
            totp_pending: rec.as_ref().is_some_and(|r| !r.confirmed),
            recovery_codes_left: left,
            required: ctx.mfa_enrolment_required,
        })
    }

    /// Start TOTP enrolment: a new secret, shown once, pending until
    /// confirmed. Refused while a second factor is active.
    pub async fn begin_totp(&self, ctx: &Ctx) -> AppResult<TotpEnrolment> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        if mfa::is_active(&mut tx, ctx.user).await? {
            return Err(AppError::Conflict(
                "two-step sign-in is already on; turn it off first to enrol again".into(),
            ));
        }
        let user = users::get(&mut tx, ctx.user).await?;
        let mut raw = [0u8; 20];
        OsRng.fill_bytes(&mut raw);
        let secret = totp::base32_encode(&raw);
        let sealed = seal_secret(&self.app.cipher, ctx.tenant, ctx.user, &secret).await?;
        mfa::put_pending(&mut tx, ctx.user, &sealed, now).await?;
        audit_self(
            &mut tx,
            ctx,
            AuditAction::AuthMfaEnrolStart,
            Outcome::Success,
            now,
        )
        .await?;
        tx.commit().await?;
        let issuer = format!("ClinicOS {}", ctx.tenant_name);
        Ok(TotpEnrolment {
            otpauth_uri: totp::otpauth_uri(&issuer, &user.email, &secret),
            secret,
        })
    }

    /// Confirm enrolment with a current code; activates TOTP and returns
    /// the ten recovery codes (shown once).
    pub async fn confirm_totp(&self, ctx: &Ctx, code: &str) -> AppResult<RecoveryCodes> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let rec = mfa::totp(&mut tx, ctx.user)
            .await?
            .ok_or_else(|| AppError::BadRequest("start enrolment first".into()))?;
        if rec.confirmed {
            return Err(AppError::Conflict("two-step sign-in is already on".into()));
        }
        let secret = open_secret(&self.app.cipher, ctx.tenant, ctx.user, &rec.secret).await?;
        let ok = match totp::matching_step(&secret, code, now.timestamp()) {
            Some(step) => mfa::use_step(&mut tx, ctx.user, step).await?,
            None => false,
        };
        if !ok {
            return Err(AppError::field(
                "code",
                "is not the current code of the authenticator app",
            ));
        }
        mfa::confirm(&mut tx, ctx.user, now).await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
        mfa::set_recovery_codes(&mut tx, ctx.user, &hashes, now).await?;
        audit_self(
            &mut tx,
            ctx,
            AuditAction::AuthMfaEnabled,
            Outcome::Success,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }

    /// Turn TOTP off; needs a current code or an unused recovery code.
    pub async fn disable_totp(&self, ctx: &Ctx, f: SecondFactor) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        if !mfa::is_active(&mut tx, ctx.user).await? {
            // A pending (unconfirmed) enrolment is simply discarded.
            mfa::remove(&mut tx, ctx.user).await?;
            tx.commit().await?;
            return Ok(());
        }
        if !check_factor(&self.app.cipher, &mut tx, ctx.user, &f, now).await? {
            audit_self(
                &mut tx,
                ctx,
                AuditAction::AuthMfaDisabled,
                Outcome::Failure,
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::InvalidMfaCode);
        }
        mfa::remove(&mut tx, ctx.user).await?;
        audit_self(
            &mut tx,
            ctx,
            AuditAction::AuthMfaDisabled,
            Outcome::Success,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// After a correct password: store a challenge and return its token.
    pub(crate) async fn issue_mfa_challenge(
        &self,
        tenant: TenantId,
        user: UserId,
        input: &LoginInput,
        req: &RequestInfo,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let secret = crypto::random_token(32);
        let mut tx = self.app.store.write(tenant).await?;
        let id = uuid::Uuid::now_v7().to_string();
        mfa::insert_challenge(
            &mut tx,
            &id,
            user,
            &crypto::sha256_hex(&secret),
            input.kind.as_str(),
            input.device_id.as_deref(),
            now + Duration::minutes(CHALLENGE_TTL_MINUTES),
            now,
        )
        .await?;
        let mut actor = req.anonymous_actor();
        actor.user_id = Some(user);
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthLogin,
            ResourceKind::User,
            vec![user.as_text()],
        )
        .because("mfa_required");
        audit::record(&mut tx, &actor, ev).await?;
        tx.commit().await?;
        Ok(format!("{tenant}.{secret}"))
    }

    /// Finish a sign-in with the challenge token and a second factor.
    pub async fn complete_mfa(
        &self,
        mfa_token: &str,
        f: SecondFactor,
        req: &RequestInfo,
    ) -> AppResult<(Issued, User)> {
        let now = self.app.clock.now();
        self.check_ip(&req.ip, now).await?;
        let (tenant, secret) = mfa_token.split_once('.').ok_or(AppError::Unauthenticated)?;
        let tenant: TenantId = tenant.parse().map_err(|_| AppError::Unauthenticated)?;
        let mut tx = self
            .app
            .store
            .write(tenant)
            .await
            .map_err(|_| AppError::Unauthenticated)?;
        let ch = mfa::live_challenge(&mut tx, &crypto::sha256_hex(secret), now)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let t = tenants::get(&mut tx).await?;
        let creds = users::credentials_by_id(&mut tx, ch.user_id)
            .await?
            .filter(|c| c.is_active)
            .ok_or(AppError::Unauthenticated)?;
        let key = account_key(&t.slug, &creds.email);
        if let Some(until) = throttle::locked_until(self.app.store.platform(), &key, now).await? {
            return Err(AppError::Locked {
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            });
        }
        let mut actor = req.anonymous_actor();
        actor.user_id = Some(ch.user_id);
        if !check_factor(&self.app.cipher, &mut tx, ch.user_id, &f, now).await? {
            let ev = AuditEvent::new(
                now,
                AuditAction::AuthMfa,
                ResourceKind::User,
                vec![ch.user_id.as_text()],
            )
            .failed("bad_code");
            audit::record(&mut tx, &actor, ev).await?;
            tx.commit().await?;
            self.app
                .governance()
                .note_failed_sign_in(tenant, ch.user_id, &req.ip)
                .await;
            // Platform counters are written only after the tenant
            // transaction ends (they may share the SQLite file).
            return Err(self
                .count_failure_as(&key, now, AppError::InvalidMfaCode)
                .await);
        }
        if !mfa::spend_challenge(&mut tx, &ch.id, now).await? {
            return Err(AppError::Unauthenticated);
        }
        let used = if f.code.as_deref().is_some_and(|c| !c.trim().is_empty()) {
            "totp"
        } else {
            "recovery_code"
        };
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthMfa,
            ResourceKind::User,
            vec![ch.user_id.as_text()],
        )
        .because(used);
        audit::record(&mut tx, &actor, ev).await?;
        let branch = users::branches(&mut tx, ch.user_id).await?.first().copied();
        tx.commit().await?;
        throttle::clear(self.app.store.platform(), &key).await?;
        self.finish_sign_in(
            tenant,
            ch.user_id,
            SessionKind::parse(&ch.kind),
            ch.device_id.as_deref(),
            branch,
            req,
            now,
        )
        .await
    }
}
