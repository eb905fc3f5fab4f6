//! The acting subject of a request: tenant, user, roles, current branch,
//! session, and the request facts the audit trail needs.

use clinicos_domain::tenancy::tenant::SubscriptionStatus;
use clinicos_domain::{BranchId, PermissionSet, Role, SessionId, TenantId, UserId};
use clinicos_store::governance::audit::Actor;

/// Who is acting, for which tenant, from where.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub tenant: TenantId,
    pub tenant_name: String,
    pub tenant_status: SubscriptionStatus,
    pub user: UserId,
    pub user_name: String,
    pub roles: Vec<Role>,
    /// Effective permissions: role bundles (as edited by the tenant) and
    /// single grants, loaded once per request.
    pub permissions: PermissionSet,
    /// Branches the user belongs to.
    pub branches: Vec<BranchId>,
    /// The branch the user is working in now (switcher).
    pub branch: Option<BranchId>,
    pub session: SessionId,
    pub csrf_token: String,
    pub locale: String,
    pub request: RequestInfo,
    /// A role of the user requires MFA (tenant setting) and the user has
    /// none yet: only MFA enrolment and sign-out are allowed.
    pub mfa_enrolment_required: bool,
}

/// Facts about the HTTP request (or CLI invocation) for audit and sessions.
#[derive(Clone, Debug, Default)]
pub struct RequestInfo {
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
    /// Country (ISO 3166-1 alpha-2) from a trusted proxy header, when the
    /// server is configured to read one.
    pub country: Option<String>,
}

impl Ctx {
    pub fn has_role(&self, r: Role) -> bool {
        self.roles.contains(&r)
    }

    /// The audit actor for this context.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user),
            roles: self
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
            branch_id: self.branch,
            ip: self.request.ip.clone(),
            user_agent: self.request.user_agent.clone(),
            request_id: self.request.request_id.clone(),
        }
    }
}

impl RequestInfo {
    /// An actor with no user (failed sign-in, password reset by link).
    pub fn anonymous_actor(&self) -> Actor {
        Actor {
            user_id: None,
            roles: String::new(),
            branch_id: None,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            request_id: self.request_id.clone(),
        }
    }
}
