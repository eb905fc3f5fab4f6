//! Staff sign-in and sessions.
//!
//! - Sign-in (`login`) is throttled per IP and per account through counters
//!   in the primary database (shared by every instance); an account locks
//!   after `lockout_threshold` failures in `lockout_window`. Wrong clinic,
//!   wrong email and wrong password answer the same, in the same time.
//! - A session row backs every credential. API clients get a short-lived
//!   EdDSA access token carrying the session id plus a rotating refresh
//!   token (`<tenant>.<session>.<secret>`, stored as a hash); browsers get a
//!   cookie (`<tenant>.<session>.<secret>`). Every request re-checks the
//!   session row, so revocation takes effect at once.
//! - Idle and absolute expiry come from the tenant's settings.
//! - With a second factor active, the password step answers with a
//!   single-use MFA challenge instead of a session (see `identity/mfa.rs`);
//!   with device approval on, an unknown device gets a pending approval
//!   instead of a session (see `identity/devices.rs`). Both funnel through
//!   [`Identity::finish_sign_in`].

use crate::identity::service::Identity;
use crate::identity::types::{SessionSummary, User};
use crate::kit::context::{Ctx, RequestInfo};
use crate::kit::crypto::{self, AccessClaims};
use crate::kit::domain_schema;
use crate::messaging::outbox::Outgoing;
use crate::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::identity::password::check_strength;
use clinicos_domain::identity::session::{SessionEnd, SessionLimits, SessionTimes};
use clinicos_domain::messaging::message::{Addressee, MessageKind};
use clinicos_domain::{BranchId, SessionId, TenantId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::identity::sessions::{self, SessionRecord};
use clinicos_store::{
    identity::mfa, identity::resets, identity::throttle, identity::users, tenancy::platform,
    tenancy::tenants, TenantTx,
};
use serde::Serialize;

/// What kind of client a session is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Browser,
    Api,
}

impl SessionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Api => "api",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        if s == "browser" {
            SessionKind::Browser
        } else {
            SessionKind::Api
        }
    }
}

/// What the password step leads to (no `Debug`: it may carry a challenge token).
#[derive(Clone)]
pub enum LoginOutcome {
    /// Signed in: tokens or cookie issued.
    SignedIn(Issued, Box<User>),
    /// A second factor is needed: finish with [`Identity::complete_mfa`].
    MfaRequired { mfa_token: String },
}

/// A sign-in request.
#[derive(Clone, Debug)]
pub struct LoginInput {
    pub tenant_slug: String,
    pub email: String,
    pub password: String,
    pub kind: SessionKind,
    /// The server-issued device id (cookie or `X-Device-Id`), if any.
    pub device_id: Option<String>,
}

/// Credentials handed to the client after sign-in or refresh.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Issued {
    #[schema(value_type = domain_schema::SessionId)]
    pub session_id: SessionId,
    #[schema(value_type = domain_schema::TenantId)]
    pub tenant_id: TenantId,
    #[schema(value_type = domain_schema::UserId)]
    pub user_id: UserId,
    /// API clients: bearer access token (EdDSA JWT).
    pub access_token: Option<String>,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// API clients: single-use refresh token (rotates on every refresh).
    pub refresh_token: Option<String>,
    /// Browsers: the session cookie value (never shown to scripts).
    #[serde(skip)]
    pub cookie_value: Option<String>,
}

pub(crate) fn account_key(tenant_slug: &str, email: &str) -> String {
    format!(
        "acct:{}",
        crypto::sha256_hex(&format!("{tenant_slug}\n{email}"))
    )
}

fn ip_key(ip: &str) -> String {
    format!("ip:{}", crypto::sha256_hex(ip))
}

/// Normalise an email for lookup (trimmed, lower-case).
pub fn normalise_email(e: &str) -> String {
    e.trim().to_lowercase()
}

async fn hash_blocking(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::Internal)
}

async fn verify_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

pub(crate) fn limits_of(t: &tenants::Tenant) -> SessionLimits {
    SessionLimits {
        idle: Duration::minutes(t.idle_timeout_minutes.max(1)),
        absolute: Duration::minutes(t.absolute_timeout_minutes.max(1)),
    }
}

impl Identity<'_> {
    /// Check the per-IP sign-in budget (shared counter).
    pub(crate) async fn check_ip(&self, ip: &str, now: DateTime<Utc>) -> AppResult<()> {
        let (count, _) = throttle::hit(
            self.app.store.platform(),
            &ip_key(ip),
            Duration::minutes(1),
            now,
        )
        .await?;
        if count > self.app.settings.ip_attempts_per_minute {
            return Err(AppError::RateLimited {
                retry_after_secs: 60,
            });
        }
        Ok(())
    }

    /// Sign in with clinic code, email and password.
    pub async fn login(&self, mut input: LoginInput, req: &RequestInfo) -> AppResult<LoginOutcome> {
        let now = self.app.clock.now();
        self.check_ip(&req.ip, now).await?;
        let slug = input.tenant_slug.trim().to_lowercase();
        let email = normalise_email(&input.email);
        let key = account_key(&slug, &email);
        if let Some(until) = throttle::locked_until(self.app.store.platform(), &key, now).await? {
            return Err(AppError::Locked {
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            });
        }
        let entry = platform::directory_by_slug(self.app.store.platform(), &slug).await?;
        let Some(entry) = entry else {
            verify_blocking(input.password, crypto::dummy_hash().to_owned()).await;
            return Err(self.count_failure(&key, now).await);
        };
        // Read phase: no write lock is held while the password hash is
        // checked, and platform counters (which share the SQLite file with
        // the default region) are never written inside a tenant transaction.
        let mut tx = self.app.store.read(entry.tenant_id).await?;
        let tenant = tenants::get(&mut tx).await?;
        let creds = users::credentials_by_email(&mut tx, &email).await?;
        let (user_branches, mfa_on) = match &creds {
            Some(c) => (
                users::branches(&mut tx, c.id).await?,
                mfa::is_active(&mut tx, c.id).await?,
            ),
            None => (Vec::new(), false),
        };
        tx.commit().await?;
        let hash = creds
            .as_ref()
            .map(|c| c.password_hash.clone())
            .unwrap_or_else(|| crypto::dummy_hash().to_owned());
        let password_ok = verify_blocking(std::mem::take(&mut input.password), hash).await;
        let creds = match creds {
            Some(c)
                if password_ok && c.is_active && tenant.subscription_status.allows_sign_in() =>
            {
                c
            }
            other => {
                let mut tx = self.app.store.write(entry.tenant_id).await?;
                let actor = req.anonymous_actor();
                let known = other.map(|c| c.id);
                let ids = known.map(|u| vec![u.as_text()]).unwrap_or_default();
                let ev = AuditEvent::new(now, AuditAction::AuthLogin, ResourceKind::User, ids)
                    .failed("bad_credentials");
                audit::record(&mut tx, &actor, ev).await?;
                tx.commit().await?;
                if let Some(u) = known {
                    self.app
                        .governance()
                        .note_failed_sign_in(entry.tenant_id, u, &req.ip)
                        .await;
                }
                return Err(self.count_failure(&key, now).await);
            }
        };
        if mfa_on {
            // The failure counter is cleared only once the code is right, so
            // a known password does not reset the budget for guessing codes.
            let mfa_token = self
                .issue_mfa_challenge(entry.tenant_id, creds.id, &input, req, now)
                .await?;
            return Ok(LoginOutcome::MfaRequired { mfa_token });
        }
        throttle::clear(self.app.store.platform(), &key).await?;
        let (issued, user) = self
            .finish_sign_in(
                entry.tenant_id,
                creds.id,
                input.kind,
                input.device_id.as_deref(),
                user_branches.first().copied(),
                req,
                now,
            )
            .await?;
        Ok(LoginOutcome::SignedIn(issued, Box::new(user)))
    }

    /// The last step of every sign-in: device approval (when the tenant
    /// has it on), then a new session, last-login time and audit event.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish_sign_in(
        &self,
        tenant: TenantId,
        user: UserId,
        kind: SessionKind,
        device_id: Option<&str>,
        branch: Option<BranchId>,
        req: &RequestInfo,
        now: DateTime<Utc>,
    ) -> AppResult<(Issued, User)> {
        let mut tx = self.app.store.write(tenant).await?;
        if tenants::get(&mut tx).await?.device_approval {
            if let Err(blocked) = self
                .admit_device(&mut tx, user, device_id, req, now)
                .await?
            {
                tx.commit().await?;
                return Err(blocked);
            }
        }
        let (issued, record) = self.new_session(tenant, user, kind, branch, req, now);
        sessions::insert(&mut tx, &record).await?;
        users::touch_login(&mut tx, user, now).await?;
        let mut actor = req.anonymous_actor();
        actor.user_id = Some(user);
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthLogin,
            ResourceKind::Session,
            vec![record.id.as_text()],
        )
        .because(kind.as_str());
        audit::record(&mut tx, &actor, ev).await?;
        let user = users::get(&mut tx, user).await?;
        tx.commit().await?;
        metrics_session_started();
        self.app
            .governance()
            .note_sign_in(tenant, user.id, req)
            .await;
        Ok((issued, user.into()))
    }

    pub(crate) async fn count_failure(&self, key: &str, now: DateTime<Utc>) -> AppError {
        self.count_failure_as(key, now, AppError::InvalidCredentials)
            .await
    }

    /// Count a failed attempt on an account; answer `wrong` (or the error
    /// of the counter itself), locking the account at the threshold.
    pub(crate) async fn count_failure_as(
        &self,
        key: &str,
        now: DateTime<Utc>,
        wrong: AppError,
    ) -> AppError {
        match throttle::hit(
            self.app.store.platform(),
            key,
            self.app.settings.lockout_window,
            now,
        )
        .await
        {
            Ok((count, _)) if count >= self.app.settings.lockout_threshold => {
                let until = now + self.app.settings.lockout_duration;
                if let Err(e) = throttle::lock(self.app.store.platform(), key, until).await {
                    return e.into();
                }
                wrong
            }
            Ok(_) => wrong,
            Err(e) => e.into(),
        }
    }

    fn new_session(
        &self,
        tenant: TenantId,
        user: UserId,
        kind: SessionKind,
        branch: Option<BranchId>,
        req: &RequestInfo,
        now: DateTime<Utc>,
    ) -> (Issued, SessionRecord) {
        let id = SessionId::new();
        let secret = crypto::random_token(32);
        let credential = format!("{tenant}.{id}.{secret}");
        let hash = crypto::sha256_hex(&secret);
        let record = SessionRecord {
            id,
            user_id: user,
            kind: kind.as_str().to_owned(),
            secret_hash: hash.clone(),
            refresh_hash: (kind == SessionKind::Api).then(|| hash.clone()),
            csrf_token: crypto::random_token(24),
            branch_id: branch,
            ip: req.ip.clone(),
            user_agent: req.user_agent.chars().take(300).collect(),
            created_at: now,
            last_seen_at: now,
            revoked_at: None,
        };
        let issued = match kind {
            SessionKind::Api => Issued {
                session_id: id,
                tenant_id: tenant,
                user_id: user,
                access_token: Some(self.access_token(tenant, user, id, now)),
                token_type: "Bearer",
                expires_in: self.app.settings.access_ttl.num_seconds(),
                refresh_token: Some(credential),
                cookie_value: None,
            },
            SessionKind::Browser => Issued {
                session_id: id,
                tenant_id: tenant,
                user_id: user,
                access_token: None,
                token_type: "Cookie",
                expires_in: 0,
                refresh_token: None,
                cookie_value: Some(credential),
            },
        };
        (issued, record)
    }

    fn access_token(
        &self,
        tenant: TenantId,
        user: UserId,
        sid: SessionId,
        now: DateTime<Utc>,
    ) -> String {
        self.app.signer.sign(&AccessClaims {
            sub: user.as_text(),
            tid: tenant.as_text(),
            sid: sid.as_text(),
            iat: now.timestamp(),
            exp: (now + self.app.settings.access_ttl).timestamp(),
            typ: "access".into(),
        })
    }

    /// Authenticate a bearer access token (API).
    pub async fn authenticate_bearer(&self, token: &str, req: RequestInfo) -> AppResult<Ctx> {
        let now = self.app.clock.now();
        let claims = self
            .app
            .signer
            .verify(token, now.timestamp())
            .ok_or(AppError::Unauthenticated)?;
        let tenant: TenantId = claims.tid.parse().map_err(|_| AppError::Unauthenticated)?;
        let sid: SessionId = claims.sid.parse().map_err(|_| AppError::Unauthenticated)?;
        self.load_ctx(tenant, sid, None, SessionKind::Api, req)
            .await
    }

    /// Authenticate a browser session cookie.
    pub async fn authenticate_cookie(&self, value: &str, req: RequestInfo) -> AppResult<Ctx> {
        let (tenant, sid, secret) = split_credential(value).ok_or(AppError::Unauthenticated)?;
        self.load_ctx(tenant, sid, Some(secret), SessionKind::Browser, req)
            .await
    }

    async fn load_ctx(
        &self,
        tenant: TenantId,
        sid: SessionId,
        secret: Option<&str>,
        kind: SessionKind,
        req: RequestInfo,
    ) -> AppResult<Ctx> {
        let now = self.app.clock.now();
        let mut tx = self
            .app
            .store
            .read(tenant)
            .await
            .map_err(|_| AppError::Unauthenticated)?;
        let s = sessions::get(&mut tx, sid)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if s.kind != kind.as_str() {
            return Err(AppError::Unauthenticated);
        }
        if let Some(secret) = secret {
            if !crypto::ct_eq(&crypto::sha256_hex(secret), &s.secret_hash) {
                return Err(AppError::Unauthenticated);
            }
        }
        let t = tenants::get(&mut tx).await?;
        if let Err(e) = session_verdict(&t, s.created_at, s.last_seen_at, s.revoked_at, now) {
            if matches!(e, AppError::SessionExpired) {
                drop(tx);
                self.end_expired(tenant, sid, now).await?;
            }
            return Err(e);
        }
        // One read of the user with its roles and branches.
        let user = users::get(&mut tx, s.user_id)
            .await
            .map_err(|_| AppError::Unauthenticated)?;
        if !user.is_active {
            return Err(AppError::Unauthenticated);
        }
        let mfa_enrolment_required = user.roles.iter().any(|r| t.mfa_required_roles.contains(r))
            && !mfa::is_active(&mut tx, s.user_id).await?;
        let permissions =
            crate::governance::policy::load_permissions(&mut tx, s.user_id, &user.roles).await?;
        tx.commit().await?;
        // Record use at most once a minute: idle expiry has minute resolution,
        // and a write per request would serialise SQLite readers.
        if now - s.last_seen_at >= Duration::seconds(60) {
            let mut tx = self.app.store.write(tenant).await?;
            sessions::touch(&mut tx, sid, now).await?;
            tx.commit().await?;
        }
        Ok(Ctx {
            tenant,
            tenant_name: t.display_name,
            tenant_status: t.subscription_status,
            user: s.user_id,
            user_name: user.profile.name,
            roles: user.roles,
            permissions,
            branches: user.branch_ids,
            branch: s.branch_id,
            session: sid,
            csrf_token: s.csrf_token,
            locale: user.locale,
            request: req,
            mfa_enrolment_required,
        })
    }

    async fn end_expired(
        &self,
        tenant: TenantId,
        sid: SessionId,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let mut tx = self.app.store.write(tenant).await?;
        if sessions::revoke(&mut tx, sid, "expired", now).await? {
            metrics_session_ended("expired");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Exchange a refresh token for a new access token and refresh token.
    /// Presenting an already-rotated token ends the session (reuse means
    /// the token was copied).
    pub async fn refresh(&self, refresh_token: &str, req: &RequestInfo) -> AppResult<Issued> {
        let now = self.app.clock.now();
        let (tenant, sid, secret) =
            split_credential(refresh_token).ok_or(AppError::Unauthenticated)?;
        let mut tx = self
            .app
            .store
            .write(tenant)
            .await
            .map_err(|_| AppError::Unauthenticated)?;
        let s = sessions::get(&mut tx, sid)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let presented = crypto::sha256_hex(secret);
        let current = s.refresh_hash.clone().unwrap_or_default();
        if s.kind != "api" || s.revoked_at.is_some() {
            return Err(AppError::Unauthenticated);
        }
        if !crypto::ct_eq(&presented, &current) {
            sessions::revoke(&mut tx, sid, "refresh_reuse", now).await?;
            let mut actor = req.anonymous_actor();
            actor.user_id = Some(s.user_id);
            let ev = AuditEvent::new(
                now,
                AuditAction::AuthRefresh,
                ResourceKind::Session,
                vec![sid.as_text()],
            )
            .denied("refresh_token_reuse");
            audit::record(&mut tx, &actor, ev).await?;
            tx.commit().await?;
            metrics_session_ended("refresh_reuse");
            return Err(AppError::Unauthenticated);
        }
        let t = tenants::get(&mut tx).await?;
        let times = SessionTimes {
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            revoked: false,
        };
        if times.check(limits_of(&t), now).is_err() {
            sessions::revoke(&mut tx, sid, "expired", now).await?;
            tx.commit().await?;
            return Err(AppError::SessionExpired);
        }
        let new_secret = crypto::random_token(32);
        if !sessions::rotate_refresh(
            &mut tx,
            sid,
            &current,
            &crypto::sha256_hex(&new_secret),
            now,
        )
        .await?
        {
            return Err(AppError::Unauthenticated);
        }
        tx.commit().await?;
        Ok(Issued {
            session_id: sid,
            tenant_id: tenant,
            user_id: s.user_id,
            access_token: Some(self.access_token(tenant, s.user_id, sid, now)),
            token_type: "Bearer",
            expires_in: self.app.settings.access_ttl.num_seconds(),
            refresh_token: Some(format!("{tenant}.{sid}.{new_secret}")),
            cookie_value: None,
        })
    }

    /// End the current session.
    pub async fn logout(&self, ctx: &Ctx) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, crate::governance::policy::Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        sessions::revoke(&mut tx, ctx.session, "logout", now).await?;
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthLogout,
            ResourceKind::Session,
            vec![ctx.session.as_text()],
        );
        audit::record(&mut tx, &ctx.actor(), ev).await?;
        tx.commit().await?;
        metrics_session_ended("logout");
        Ok(())
    }

    /// The user's live sessions (device, IP, times).
    pub async fn my_sessions(&self, ctx: &Ctx) -> AppResult<Vec<SessionSummary>> {
        self.app
            .governance()
            .authorize(ctx, crate::governance::policy::Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let list = live_sessions(&mut tx, ctx.user, ctx.session, now).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// End one of the user's own sessions.
    pub async fn end_my_session(&self, ctx: &Ctx, id: SessionId) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, crate::governance::policy::Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let s = sessions::get(&mut tx, id)
            .await?
            .filter(|s| s.user_id == ctx.user)
            .ok_or(AppError::NotFound("session"))?;
        sessions::revoke(&mut tx, s.id, "ended_by_user", now).await?;
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthSessionEnd,
            ResourceKind::Session,
            vec![id.as_text()],
        );
        audit::record(&mut tx, &ctx.actor(), ev).await?;
        tx.commit().await?;
        metrics_session_ended("ended_by_user");
        Ok(())
    }

    /// Change one's own password; every other session of the user ends.
    pub async fn change_password(&self, ctx: &Ctx, current: &str, new: &str) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, crate::governance::policy::Action::ManageOwnAccount)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let creds = users::credentials_by_id(&mut tx, ctx.user)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        // Wrong current passwords count toward the account's lockout, so a
        // stolen session cannot be used to guess the password.
        let slug = tenants::get(&mut tx).await?.slug;
        let key = account_key(&slug, &creds.email);
        let platform = self.app.store.platform();
        if let Some(until) = throttle::locked_until(platform, &key, now).await? {
            return Err(AppError::Locked {
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            });
        }
        if !verify_blocking(current.to_owned(), creds.password_hash.clone()).await {
            let ev = AuditEvent::new(
                now,
                AuditAction::AuthPasswordChange,
                ResourceKind::User,
                vec![ctx.user.as_text()],
            )
            .failed("wrong_current_password");
            audit::record(&mut tx, &ctx.actor(), ev).await?;
            tx.commit().await?;
            let wrong = AppError::field("current_password", "is not your current password");
            return Err(self.count_failure_as(&key, now, wrong).await);
        }
        check_strength(new, &[&creds.name, &creds.email, &ctx.tenant_name])
            .map_err(|e| AppError::field("new_password", &e.to_string()))?;
        let hash = hash_blocking(new.to_owned()).await?;
        users::set_password(&mut tx, ctx.user, &hash, now).await?;
        let ended = sessions::revoke_all_for_user(
            &mut tx,
            ctx.user,
            Some(ctx.session),
            "password_changed",
            now,
        )
        .await?;
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthPasswordChange,
            ResourceKind::User,
            vec![ctx.user.as_text()],
        );
        audit::record(&mut tx, &ctx.actor(), ev).await?;
        tx.commit().await?;
        throttle::clear(platform, &key).await?;
        for _ in 0..ended {
            metrics_session_ended("password_changed");
        }
        Ok(())
    }

    /// Start a password reset. Always succeeds (no account enumeration); if
    /// the account exists and is active, a single-use link is emailed
    /// (development outbox until a mail server is configured).
    pub async fn forgot_password(
        &self,
        tenant_slug: &str,
        email: &str,
        req: &RequestInfo,
    ) -> AppResult<()> {
        let now = self.app.clock.now();
        self.check_ip(&req.ip, now).await?;
        let slug = tenant_slug.trim().to_lowercase();
        let email = normalise_email(email);
        let Some(entry) = platform::directory_by_slug(self.app.store.platform(), &slug).await?
        else {
            return Ok(());
        };
        let mut tx = self.app.store.write(entry.tenant_id).await?;
        let Some(creds) = users::credentials_by_email(&mut tx, &email)
            .await?
            .filter(|c| c.is_active)
        else {
            return Ok(());
        };
        self.send_password_link(
            &mut tx,
            entry.tenant_id,
            creds.id,
            &creds.email,
            "reset",
            now,
        )
        .await?;
        let mut actor = req.anonymous_actor();
        actor.user_id = Some(creds.id);
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthPasswordResetRequested,
            ResourceKind::User,
            vec![creds.id.as_text()],
        );
        audit::record(&mut tx, &actor, ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Put a set-password link in the outbox (reset or invitation).
    pub(crate) async fn send_password_link(
        &self,
        tx: &mut TenantTx,
        tenant: TenantId,
        user: UserId,
        email: &str,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let secret = crypto::random_token(32);
        let ttl = if purpose == "invite" {
            Duration::days(7)
        } else {
            self.app.settings.reset_ttl
        };
        resets::insert(tx, user, &crypto::sha256_hex(&secret), now + ttl, now).await?;
        let link = format!(
            "{}/reset-password?token={tenant}.{secret}",
            self.app.settings.public_url.trim_end_matches('/')
        );
        let (subject, body) = if purpose == "invite" {
            ("You have been invited to ClinicOS", format!("You have been given a ClinicOS account. Choose your password within 7 days:\n{link}\n"))
        } else {
            (
                "Reset your ClinicOS password",
                format!("Someone asked to reset your ClinicOS password. If it was you, open this link within {} minutes:\n{link}\nIf it was not you, ignore this message.\n", self.app.settings.reset_ttl.num_minutes()),
            )
        };
        let kind = if purpose == "invite" {
            MessageKind::StaffInvitation
        } else {
            MessageKind::PasswordReset
        };
        let m = Outgoing {
            kind,
            channel: "email",
            to: Addressee::User(user),
            branch: None,
            recipient: email,
            subject,
            body: &body,
        };
        self.app.messaging().send(tx, m, now).await
    }

    /// Finish a reset with the emailed token; ends every session of the user.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        req: &RequestInfo,
    ) -> AppResult<()> {
        let now = self.app.clock.now();
        self.check_ip(&req.ip, now).await?;
        let bad = || {
            AppError::BadRequest(
                "this reset link is invalid, used or expired; ask for a new one".into(),
            )
        };
        let (tenant, secret) = token.split_once('.').ok_or_else(bad)?;
        let tenant: TenantId = tenant.parse().map_err(|_| bad())?;
        let mut tx = self.app.store.write(tenant).await.map_err(|_| bad())?;
        let user = resets::take(&mut tx, &crypto::sha256_hex(secret), now)
            .await?
            .ok_or_else(bad)?;
        let creds = users::credentials_by_id(&mut tx, user)
            .await?
            .ok_or_else(bad)?;
        let t = tenants::get(&mut tx).await?;
        check_strength(new_password, &[&creds.name, &creds.email, &t.display_name])
            .map_err(|e| AppError::field("new_password", &e.to_string()))?;
        let hash = hash_blocking(new_password.to_owned()).await?;
        users::set_password(&mut tx, user, &hash, now).await?;
        resets::invalidate_for_user(&mut tx, user, now).await?;
        sessions::revoke_all_for_user(&mut tx, user, None, "password_reset", now).await?;
        let mut actor = req.anonymous_actor();
        actor.user_id = Some(user);
        let ev = AuditEvent::new(
            now,
            AuditAction::AuthPasswordReset,
            ResourceKind::User,
            vec![user.as_text()],
        );
        audit::record(&mut tx, &actor, ev).await?;
        tx.commit().await?;
        throttle::clear(
            self.app.store.platform(),
            &account_key(&t.slug, &creds.email),
        )
        .await?;
        Ok(())
    }

    /// Switch the session's working branch (must be one of the user's, or
    /// any branch for an owner).
    pub async fn switch_branch(&self, ctx: &Ctx, branch: BranchId) -> AppResult<()> {
        let target = clinicos_domain::governance::access::Target {
            branch: Some(branch),
            ..Default::default()
        };
        self.app
            .governance()
            .authorize_on(
                ctx,
                crate::governance::policy::Action::ManageOwnAccount,
                &target,
                &Default::default(),
            )
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        clinicos_store::tenancy::branches::get(&mut tx, branch)
            .await
            .map_err(|_| AppError::NotFound("branch"))?;
        sessions::set_branch(&mut tx, ctx.session, branch).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// May a session (staff or portal) be used at `now`? Expired under the
/// tenant's idle/absolute limits: `SessionExpired` (the caller ends it);
/// revoked, or the tenant may not sign in: `Unauthenticated`.
pub(crate) fn session_verdict(
    t: &tenants::Tenant,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let times = SessionTimes {
        created_at,
        last_seen_at,
        revoked: revoked_at.is_some(),
    };
    match times.check(limits_of(t), now) {
        Ok(()) if t.subscription_status.allows_sign_in() => Ok(()),
        Ok(()) | Err(SessionEnd::Revoked) => Err(AppError::Unauthenticated),
        Err(_) => Err(AppError::SessionExpired),
    }
}

/// Split `<tenant>.<session>.<secret>`.
pub(crate) fn split_credential(v: &str) -> Option<(TenantId, SessionId, &str)> {
    let mut it = v.splitn(3, '.');
    let t = it.next()?.parse().ok()?;
    let s = it.next()?.parse().ok()?;
    let secret = it.next().filter(|s| !s.is_empty())?;
    Some((t, s, secret))
}

fn metrics_session_started() {
    SESSIONS_STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn metrics_session_ended(_reason: &str) {
    SESSIONS_ENDED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Sessions started by this instance (exported on /metrics).
pub static SESSIONS_STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Sessions ended (logout, expiry, revocation) by this instance.
pub static SESSIONS_ENDED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A user's live (not revoked, not expired under the tenant's limits)
/// sessions, newest first, marking `current`.
pub(crate) async fn live_sessions(
    tx: &mut TenantTx,
    user: UserId,
    current: SessionId,
    now: DateTime<Utc>,
) -> AppResult<Vec<SessionSummary>> {
    let limits = limits_of(&tenants::get(tx).await?);
    let list = sessions::live_for_user(tx, user, now - limits.idle, now - limits.absolute).await?;
    Ok(list
        .into_iter()
        .map(|s| SessionSummary {
            current: s.id == current,
            id: s.id,
            kind: s.kind,
            ip: s.ip,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
        })
        .collect())
}
