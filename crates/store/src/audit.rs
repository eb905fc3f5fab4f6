//! The audit writer: one row per audited action, inserted in the SAME
//! transaction as the change or read it records (a write that cannot be
//! audited does not happen). Events hold ids and field names, never PHI
//! values. The trust-core work adds the hash chain and checkpoints on top.

use crate::row::ts;
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{BranchId, UserId};

/// Outcome of an audited action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// Who did it, from where (filled by the web layer from the request).
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub roles: String,
    pub branch_id: Option<BranchId>,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

/// One audit event.
#[derive(Clone, Debug)]
pub struct AuditEvent<'a> {
    pub at: DateTime<Utc>,
    pub action: &'a str,
    pub resource_type: &'a str,
    /// Ids the action touched or returned (a list is one event naming all).
    pub resource_ids: Vec<String>,
    pub outcome: Outcome,
    /// A code, never free text from the user.
    pub reason: &'a str,
}

/// Insert an audit event in the caller's transaction.
pub async fn record(tx: &mut TenantTx, actor: &Actor, ev: AuditEvent<'_>) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO audit_events (tenant_id, id, at, actor_id, actor_roles, branch_id, action, \
            resource_type, resource_ids, outcome, reason, ip, user_agent, request_id) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(ts(ev.at))
        .bind(actor.user_id.map(|u| u.as_text()))
        .bind(actor.roles.clone())
        .bind(actor.branch_id.map(|b| b.as_text()))
        .bind(ev.action.to_owned())
        .bind(ev.resource_type.to_owned())
        .bind(ev.resource_ids.join(","))
        .bind(ev.outcome.as_str())
        .bind(ev.reason.to_owned())
        .bind(actor.ip.clone())
        .bind(actor.user_agent.clone())
        .bind(actor.request_id.clone());
    tx.exec(q).await?;
    Ok(())
}

/// Count events with an action (tests and the admin overview).
pub async fn count_action(tx: &mut TenantTx, action: &str) -> StoreResult<i64> {
    let q = tx
        .q("SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = $1 AND action = $2")
        .bind(action.to_owned());
    let row = tx.one(q).await?;
    crate::row::RowExt::int(&row, "n")
}
