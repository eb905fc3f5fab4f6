//! The governance feature's API and page types: permission grants, policy
//! settings, access-report rows and security events, and their filters.
//! The web edge sees these, never the storage rows they are made from; the
//! JSON shape and the OpenAPI schema are the rows' own (same names, fields
//! and docs).

use crate::kit::domain_schema;
use chrono::{DateTime, Utc};
use clinicos_domain::UserId;
use clinicos_store::governance::{audit_report, policy, security_events};
use serde::{Deserialize, Serialize};

/// A single permission granted to one user.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub id: String,
    #[schema(value_type = domain_schema::UserId)]
    pub user_id: UserId,
    pub permission: String,
    pub reason: String,
    #[schema(value_type = domain_schema::UserId)]
    pub granted_by: UserId,
    pub granted_at: DateTime<Utc>,
}

impl From<policy::Grant> for Grant {
    fn from(g: policy::Grant) -> Self {
        let policy::Grant {
            id,
            user_id,
            permission,
            reason,
            granted_by,
            granted_at,
        } = g;
        Self {
            id,
            user_id,
            permission,
            reason,
            granted_by,
            granted_at,
        }
    }
}

/// The tenant's policy settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicySettings {
    /// "Own patients": an appointment or visit within this many months.
    pub own_patient_window_months: i64,
    /// How long a break-the-glass grant lasts.
    pub break_glass_minutes: i64,
    /// `implied` (care needs no recorded consent) or `explicit` (the
    /// patient's recorded consent to care is required).
    pub consent_policy: String,
    /// Clinical records are visible across branches to clinicians with a
    /// care relationship.
    pub clinical_cross_branch: bool,
}

/// Moves the same fields either way (the store row has exactly these).
macro_rules! settings_fields {
    ($from:path => $to:path, $s:expr) => {{
        let $from {
            own_patient_window_months,
            break_glass_minutes,
            consent_policy,
            clinical_cross_branch,
        } = $s;
        $to {
            own_patient_window_months,
            break_glass_minutes,
            consent_policy,
            clinical_cross_branch,
        }
    }};
}

impl From<policy::PolicySettings> for PolicySettings {
    fn from(s: policy::PolicySettings) -> Self {
        settings_fields!(policy::PolicySettings => PolicySettings, s)
    }
}

impl From<PolicySettings> for policy::PolicySettings {
    fn from(s: PolicySettings) -> Self {
        settings_fields!(PolicySettings => policy::PolicySettings, s)
    }
}

/// What to look for in the audit trail (all optional, combined with AND).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    /// A resource id the event touched or returned.
    pub resource_id: Option<String>,
    pub action_prefix: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl From<AuditQuery> for audit_report::AuditQuery {
    fn from(q: AuditQuery) -> Self {
        let AuditQuery {
            actor_id,
            resource_id,
            action_prefix,
            from,
            to,
        } = q;
        Self {
            actor_id,
            resource_id,
            action_prefix,
            from,
            to,
        }
    }
}

/// One row of an access report (ids and codes only, never PHI values).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub actor_roles: String,
    pub branch_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_ids: Vec<String>,
    pub purpose: String,
    pub outcome: String,
    pub reason: String,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

impl From<audit_report::AuditRow> for AuditRow {
    fn from(r: audit_report::AuditRow) -> Self {
        let audit_report::AuditRow {
            id,
            at,
            actor_id,
            actor_roles,
            branch_id,
            action,
            resource_type,
            resource_ids,
            purpose,
            outcome,
            reason,
            ip,
            user_agent,
            request_id,
        } = r;
        Self {
            id,
            at,
            actor_id,
            actor_roles,
            branch_id,
            action,
            resource_type,
            resource_ids,
            purpose,
            outcome,
            reason,
            ip,
            user_agent,
            request_id,
        }
    }
}

/// A stored security event.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SecurityEvent {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub user_id: Option<String>,
    pub ip: String,
    /// JSON object with ids, counts and codes (never PHI).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl From<security_events::SecurityEvent> for SecurityEvent {
    fn from(e: security_events::SecurityEvent) -> Self {
        let security_events::SecurityEvent {
            id,
            kind,
            severity,
            user_id,
            ip,
            details,
            occurred_at,
            acknowledged_by,
            acknowledged_at,
        } = e;
        Self {
            id,
            kind,
            severity,
            user_id,
            ip,
            details,
            occurred_at,
            acknowledged_by,
            acknowledged_at,
        }
    }
}

/// Filters of the security event list (all optional).
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only events nobody has acknowledged yet.
    pub open_only: bool,
}

impl From<&EventQuery> for security_events::EventQuery {
    fn from(q: &EventQuery) -> Self {
        let EventQuery {
            kind,
            from,
            to,
            open_only,
        } = q;
        Self {
            kind: kind.clone(),
            from: *from,
            to: *to,
            open_only: *open_only,
        }
    }
}
