//! The platform operator: its own accounts and sessions (never a tenant
//! role), creating tenants with their first owner, regions and plans,
//! suspending / reactivating / closing tenants. Nothing here reads tenant
//! clinical data: operator views are built from the tenant directory and
//! platform tables only.

use crate::kit::context::RequestInfo;
use crate::kit::crypto;
use crate::tenancy::provisioning::NewTenant;
use crate::tenancy::service::Tenancy;
use crate::tenancy::types::{DirectoryEntry, Plan, Region};
use crate::{AppError, AppResult};
use chrono::Duration;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::tenancy::tenant::SubscriptionEvent;
use clinicos_domain::{OperatorId, TenantId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::tenancy::platform::{self, OperatorRecord, OperatorSession};
use clinicos_store::{identity::throttle, tenancy::tenants};

/// A signed-in operator.
#[derive(Clone, Debug)]
pub struct OperatorCtx {
    pub id: OperatorId,
    pub session_id: String,
    pub csrf_token: String,
    pub request: RequestInfo,
}

/// Operator sessions: 30 minutes idle, 8 hours absolute.
const OP_IDLE: i64 = 30;
const OP_ABSOLUTE_H: i64 = 8;

impl Tenancy<'_> {
    /// Create an operator account (CLI / demo).
    pub async fn create_operator(
        &self,
        email: &str,
        name: &str,
        password: &str,
    ) -> AppResult<OperatorId> {
        let email = crate::identity::auth::normalise_email(email);
        let mut v = Validator::new();
        v.email("email", &email);
        v.text("name", name, 120);
        v.finish()?;
        clinicos_domain::identity::password::check_strength(password, &[name, &email])
            .map_err(|e| AppError::field("password", &e.to_string()))?;
        let rec = OperatorRecord {
            id: OperatorId::new(),
            email,
            name: name.to_owned(),
            password_hash: crypto::hash_password(password).map_err(AppError::Internal)?,
            is_active: true,
        };
        platform::insert_operator(self.app.store.platform(), &rec, self.app.clock.now())
            .await
            .map_err(|e| match e {
                clinicos_store::StoreError::Duplicate(_) => {
                    AppError::field("email", "is already an operator")
                }
                other => other.into(),
            })?;
        Ok(rec.id)
    }

    /// Operator sign-in; returns the session credential (cookie / bearer).
    pub async fn operator_login(
        &self,
        email: &str,
        password: &str,
        req: &RequestInfo,
    ) -> AppResult<(String, String)> {
        let now = self.app.clock.now();
        let (count, _) = throttle::hit(
            self.app.store.platform(),
            &format!("opip:{}", crypto::sha256_hex(&req.ip)),
            Duration::minutes(1),
            now,
        )
        .await?;
        if count > self.app.settings.ip_attempts_per_minute {
            return Err(AppError::RateLimited {
                retry_after_secs: 60,
            });
        }
        let email = crate::identity::auth::normalise_email(email);
        let key = format!("opacct:{}", crypto::sha256_hex(&email));
        if let Some(until) = throttle::locked_until(self.app.store.platform(), &key, now).await? {
            return Err(AppError::Locked {
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            });
        }
        let rec = platform::operator_by_email(self.app.store.platform(), &email).await?;
        let hash = rec
            .as_ref()
            .map(|r| r.password_hash.clone())
            .unwrap_or_else(|| crypto::dummy_hash().to_owned());
        let pw = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        let rec = match rec {
            Some(r) if ok && r.is_active => r,
            _ => {
                let (n, _) = throttle::hit(
                    self.app.store.platform(),
                    &key,
                    self.app.settings.lockout_window,
                    now,
                )
                .await?;
                if n >= self.app.settings.lockout_threshold {
                    throttle::lock(
                        self.app.store.platform(),
                        &key,
                        now + self.app.settings.lockout_duration,
                    )
                    .await?;
                }
                return Err(AppError::InvalidCredentials);
            }
        };
        throttle::clear(self.app.store.platform(), &key).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let secret = crypto::random_token(32);
        let s = OperatorSession {
            id: id.clone(),
            operator_id: rec.id,
            secret_hash: crypto::sha256_hex(&secret),
            csrf_token: crypto::random_token(24),
            created_at: now,
            last_seen_at: now,
            revoked: false,
        };
        platform::insert_operator_session(self.app.store.platform(), &s, &req.ip, &req.user_agent)
            .await?;
        Ok((format!("op.{id}.{secret}"), s.csrf_token))
    }

    /// Authenticate an operator credential (`op.<session>.<secret>`).
    pub async fn authenticate_operator(
        &self,
        credential: &str,
        req: RequestInfo,
    ) -> AppResult<OperatorCtx> {
        let now = self.app.clock.now();
        let mut it = credential.splitn(3, '.');
        let (Some("op"), Some(id), Some(secret)) = (it.next(), it.next(), it.next()) else {
            return Err(AppError::Unauthenticated);
        };
        let s = platform::operator_session(self.app.store.platform(), id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if s.revoked || !crypto::ct_eq(&crypto::sha256_hex(secret), &s.secret_hash) {
            return Err(AppError::Unauthenticated);
        }
        if now - s.last_seen_at >= Duration::minutes(OP_IDLE)
            || now - s.created_at >= Duration::hours(OP_ABSOLUTE_H)
        {
            platform::revoke_operator_session(self.app.store.platform(), id, now).await?;
            return Err(AppError::SessionExpired);
        }
        if now - s.last_seen_at >= Duration::seconds(60) {
            platform::touch_operator_session(self.app.store.platform(), id, now).await?;
        }
        Ok(OperatorCtx {
            id: s.operator_id,
            session_id: s.id,
            csrf_token: s.csrf_token,
            request: req,
        })
    }

    pub async fn operator_logout(&self, op: &OperatorCtx) -> AppResult<()> {
        platform::revoke_operator_session(
            self.app.store.platform(),
            &op.session_id,
            self.app.clock.now(),
        )
        .await?;
        Ok(())
    }

    pub async fn op_list_tenants(&self, _op: &OperatorCtx) -> AppResult<Vec<DirectoryEntry>> {
        let entries = platform::directory_list(self.app.store.platform()).await?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    pub async fn op_create_tenant(
        &self,
        _op: &OperatorCtx,
        n: &NewTenant,
    ) -> AppResult<DirectoryEntry> {
        self.create_tenant(n).await
    }

    /// Suspend, reactivate, activate or close a tenant through the
    /// subscription state machine; the tenant's own row and the directory
    /// both change, and the tenant's audit trail records it.
    pub async fn op_change_status(
        &self,
        op: &OperatorCtx,
        tenant: TenantId,
        event: SubscriptionEvent,
    ) -> AppResult<DirectoryEntry> {
        let now = self.app.clock.now();
        platform::directory_get(self.app.store.platform(), tenant)
            .await
            .map_err(|_| AppError::NotFound("tenant"))?;
        let mut tx = self.app.store.write(tenant).await?;
        let t = tenants::get(&mut tx).await?;
        let next = t
            .subscription_status
            .apply(event)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        tenants::set_status(&mut tx, next, now).await?;
        let mut actor = op.request.anonymous_actor();
        actor.roles = "platform_operator".into();
        let ev = AuditEvent::new(
            now,
            AuditAction::ConfigSubscriptionStatus,
            ResourceKind::Tenant,
            vec![tenant.as_text()],
        )
        .because(next.as_str());
        audit::record(&mut tx, &actor, ev).await?;
        tx.commit().await?;
        platform::directory_set_status(self.app.store.platform(), tenant, next, now).await?;
        Ok(platform::directory_get(self.app.store.platform(), tenant)
            .await?
            .into())
    }

    pub async fn op_regions(&self, _op: &OperatorCtx) -> AppResult<Vec<Region>> {
        let regions = platform::regions(self.app.store.platform()).await?;
        Ok(regions.into_iter().map(Into::into).collect())
    }

    /// Register a region by code, name and database URL.
    pub async fn op_add_region(
        &self,
        _op: &OperatorCtx,
        code: &str,
        name: &str,
        url: &str,
    ) -> AppResult<Vec<Region>> {
        let mut v = Validator::new();
        v.slug("code", code);
        v.text("name", name, 120);
        if clinicos_store::kit::db::backend_of(url).is_err()
            && url != clinicos_store::kit::regions::PRIMARY_URL
        {
            v.add("database_url", "must start with sqlite:// or postgres://");
        }
        v.finish()?;
        self.app
            .store
            .add_region(code, name, url)
            .await
            .map_err(|e| {
                AppError::BadRequest(format!("the region database could not be prepared: {e}"))
            })?;
        self.op_regions(_op).await
    }

    pub async fn op_plans(&self, _op: &OperatorCtx) -> AppResult<Vec<Plan>> {
        self.ensure_default_plans().await?;
        let plans = platform::plans(self.app.store.platform()).await?;
        Ok(plans.into_iter().map(Into::into).collect())
    }

    pub async fn op_upsert_plan(&self, op: &OperatorCtx, p: Plan) -> AppResult<Vec<Plan>> {
        let mut v = Validator::new();
        v.slug("code", &p.code);
        v.text("name", &p.name, 120);
        v.currency("currency", &p.currency);
        if p.max_branches < 1 || p.max_staff < 1 || p.price_minor < 0 {
            v.add(
                "limits",
                "max_branches and max_staff must be at least 1 and the price not negative",
            );
        }
        v.finish()?;
        platform::upsert_plan(self.app.store.platform(), &p.into(), self.app.clock.now()).await?;
        self.op_plans(op).await
    }
}
