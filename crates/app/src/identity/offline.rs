//! A staff member's context without a web session: the command line
//! (`clinicos patient erase --by ...`) and the demo seeding act as a real
//! user, with that user's roles, grants and branches, so the policy point
//! and the audit trail treat them like any request (`request_id` names the
//! channel: `cli`, `demo`).

use crate::identity::service::Identity;
use crate::kit::context::RequestInfo;
use crate::{AppError, AppResult, Ctx};
use clinicos_domain::{SessionId, TenantId, UserId};

impl Identity<'_> {
    /// The context of `user` in `tenant`, acting through `channel`.
    pub async fn offline_ctx(
        &self,
        tenant: TenantId,
        user: UserId,
        channel: &str,
    ) -> AppResult<Ctx> {
        let mut tx = self.app.store.read(tenant).await?;
        let t = clinicos_store::tenancy::tenants::get(&mut tx).await?;
        let u = clinicos_store::identity::users::get(&mut tx, user).await?;
        if !u.is_active {
            return Err(AppError::Forbidden("act as a deactivated user".into()));
        }
        let permissions =
            crate::governance::policy::load_permissions(&mut tx, user, &u.roles).await?;
        tx.commit().await?;
        Ok(Ctx {
            tenant,
            tenant_name: t.display_name,
            tenant_status: t.subscription_status,
            user,
            user_name: u.profile.name,
            roles: u.roles,
            permissions,
            branch: u.branch_ids.first().copied(),
            branches: u.branch_ids,
            session: SessionId::new(),
            csrf_token: String::new(),
            locale: u.locale,
            request: RequestInfo {
                request_id: channel.into(),
                ..RequestInfo::default()
            },
            mfa_enrolment_required: false,
        })
    }

    /// [`Identity::offline_ctx`] by clinic code and email (the command line).
    pub async fn offline_ctx_by_email(
        &self,
        tenant_slug: &str,
        email: &str,
        channel: &str,
    ) -> AppResult<Ctx> {
        let entry = clinicos_store::tenancy::platform::directory_by_slug(
            self.app.store.platform(),
            tenant_slug,
        )
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
        let mut tx = self.app.store.read(entry.tenant_id).await?;
        let creds = clinicos_store::identity::users::credentials_by_email(
            &mut tx,
            &crate::identity::auth::normalise_email(email),
        )
        .await?
        .ok_or(AppError::NotFound("user"))?;
        tx.commit().await?;
        self.offline_ctx(entry.tenant_id, creds.id, channel).await
    }
}
