//! The audit writer: one row per audited action, inserted in the SAME
//! transaction as the change or read it records (a write that cannot be
//! audited does not happen). Events hold ids and field names, never PHI
//! values. The trust-core work adds the hash chain and checkpoints on top.

use crate::kit::row::ts;
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
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
/// One audit event, built by [`AuditEvent::new`] (the one builder: the
/// action and resource kind come from the catalogue in
/// `clinicos_domain::governance::audit_catalogue`, never from free text).
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    pub resource_type: ResourceKind,
    /// Ids the action touched or returned (a list is one event naming all).
    pub resource_ids: Vec<String>,
    pub outcome: Outcome,
    /// A code, never free text from the user.
    pub reason: String,
}

impl AuditEvent {
    /// A successful `action` on resources of `kind` at `at`, naming `ids`.
    pub fn new(
        at: DateTime<Utc>,
        action: AuditAction,
        kind: ResourceKind,
        ids: Vec<String>,
    ) -> AuditEvent {
        AuditEvent {
            at,
            action,
            resource_type: kind,
            resource_ids: ids,
            outcome: Outcome::Success,
            reason: String::new(),
        }
    }

    /// The action was refused, for `reason` (a code).
    pub fn denied(self, reason: impl Into<String>) -> AuditEvent {
        AuditEvent {
            outcome: Outcome::Denied,
            reason: reason.into(),
            ..self
        }
    }

    /// The action failed, for `reason` (a code).
    pub fn failed(self, reason: impl Into<String>) -> AuditEvent {
        AuditEvent {
            outcome: Outcome::Failure,
            reason: reason.into(),
            ..self
        }
    }

    /// The same event naming resources of another kind.
    pub fn on(self, kind: ResourceKind) -> AuditEvent {
        AuditEvent {
            resource_type: kind,
            ..self
        }
    }

    /// A reason code on a successful action (e.g. why a session ended).
    pub fn because(self, reason: impl Into<String>) -> AuditEvent {
        AuditEvent {
            reason: reason.into(),
            ..self
        }
    }
}

pub async fn record(tx: &mut TenantTx, actor: &Actor, ev: AuditEvent) -> StoreResult<()> {
    record_for(tx, actor, ev, "operations").await
}

/// The statement of [`record_for`]: one audit event.
pub const INSERT_SQL: &str = "INSERT INTO audit_events (tenant_id, id, at, actor_id, actor_roles, \
    branch_id, action, resource_type, resource_ids, outcome, reason, ip, user_agent, request_id, \
    purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// Insert an audit event with its purpose of use (`treatment`,
/// `emergency` for break-the-glass reads, `operations`, ...).
pub async fn record_for(
    tx: &mut TenantTx,
    actor: &Actor,
    ev: AuditEvent,
    purpose: &str,
) -> StoreResult<()> {
    let q = tx
        .q(INSERT_SQL)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(ts(ev.at))
        .bind(actor.user_id.map(|u| u.as_text()))
        .bind(actor.roles.clone())
        .bind(actor.branch_id.map(|b| b.as_text()))
        .bind(ev.action.as_str())
        .bind(ev.resource_type.as_str())
        .bind(ev.resource_ids.join(","))
        .bind(ev.outcome.as_str())
        .bind(ev.reason)
        .bind(actor.ip.clone())
        .bind(actor.user_agent.clone())
        .bind(actor.request_id.clone())
        .bind(purpose.to_owned());
    tx.exec(q).await?;
    Ok(())
}

/// Count events with an action (tests and the admin overview).
pub async fn count_action(tx: &mut TenantTx, action: &str) -> StoreResult<i64> {
    let q = tx
        .q("SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = $1 AND action = $2")
        .bind(action.to_owned());
    let row = tx.one(q).await?;
    crate::kit::row::RowExt::int(&row, "n")
}

// ---- tamper evidence -------------------------------------------------

use clinicos_domain::governance::audit::ChainedEvent;
use sqlx::any::AnyRow;

const EVENT_COLS: &str =
    "e.id, e.at, e.actor_id, e.actor_roles, e.branch_id, e.action, e.resource_type, \
    e.resource_ids, e.purpose, e.outcome, e.reason, e.ip, e.user_agent, e.request_id";

fn chained(r: &AnyRow) -> crate::StoreResult<ChainedEvent> {
    use crate::kit::row::RowExt;
    Ok(ChainedEvent {
        id: r.text("id")?,
        at_micros: r.int("at")?,
        actor_id: r.opt_text("actor_id")?.unwrap_or_default(),
        actor_roles: r.text("actor_roles")?,
        branch_id: r.opt_text("branch_id")?.unwrap_or_default(),
        action: r.text("action")?,
        resource_type: r.text("resource_type")?,
        resource_ids: r.text("resource_ids")?,
        purpose: r.text("purpose")?,
        outcome: r.text("outcome")?,
        reason: r.text("reason")?,
        ip: r.text("ip")?,
        user_agent: r.text("user_agent")?,
        request_id: r.text("request_id")?,
    })
}

/// Committed events not yet in the chain, oldest first.
pub async fn unsealed(tx: &mut TenantTx, limit: i64) -> StoreResult<Vec<ChainedEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM audit_events e LEFT JOIN audit_chain c \
         ON c.tenant_id = e.tenant_id AND c.event_id = e.id \
         WHERE e.tenant_id = $1 AND c.event_id IS NULL ORDER BY e.at, e.id LIMIT $2"
    );
    let q = tx.q(&sql).bind(limit);
    tx.all(q).await?.iter().map(chained).collect()
}

/// Every event of the tenant, by id (for verification).
pub async fn all_events(tx: &mut TenantTx) -> StoreResult<Vec<ChainedEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM audit_events e WHERE e.tenant_id = $1 ORDER BY e.at, e.id"
    );
    let q = tx.q(&sql);
    tx.all(q).await?.iter().map(chained).collect()
}

/// One link of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainLink {
    pub seq: i64,
    pub event_id: String,
    pub prev_hash: String,
    pub hash: String,
    pub sealed_at: DateTime<Utc>,
}

/// The last link (highest seq), if any.
pub async fn chain_head(tx: &mut TenantTx) -> StoreResult<Option<ChainLink>> {
    let q = tx.q("SELECT seq, event_id, prev_hash, hash, sealed_at FROM audit_chain WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1");
    tx.opt(q).await?.as_ref().map(link).transpose()
}

fn link(r: &AnyRow) -> StoreResult<ChainLink> {
    use crate::kit::row::RowExt;
    Ok(ChainLink {
        seq: r.int("seq")?,
        event_id: r.text("event_id")?,
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
        sealed_at: r.time("sealed_at")?,
    })
}

/// The whole chain in order.
pub async fn chain(tx: &mut TenantTx) -> StoreResult<Vec<ChainLink>> {
    let q = tx.q("SELECT seq, event_id, prev_hash, hash, sealed_at FROM audit_chain WHERE tenant_id = $1 ORDER BY seq");
    tx.all(q).await?.iter().map(link).collect()
}

pub async fn append_link(tx: &mut TenantTx, l: &ChainLink) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO audit_chain (tenant_id, seq, event_id, prev_hash, hash, sealed_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(l.seq)
        .bind(l.event_id.clone())
        .bind(l.prev_hash.clone())
        .bind(l.hash.clone())
        .bind(ts(l.sealed_at));
    tx.exec(q).await?;
    Ok(())
}

/// A signed statement that the chain had `hash` at `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub signed_at_micros: i64,
    pub key_id: String,
    pub signature: Vec<u8>,
}

pub async fn insert_checkpoint(tx: &mut TenantTx, c: &Checkpoint) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO audit_checkpoints (tenant_id, seq, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(c.seq)
        .bind(c.hash.clone())
        .bind(c.signed_at_micros)
        .bind(c.key_id.clone())
        .bind(c.signature.clone());
    tx.exec(q).await?;
    Ok(())
}

pub async fn checkpoints(tx: &mut TenantTx) -> StoreResult<Vec<Checkpoint>> {
    use crate::kit::row::RowExt;
    let q = tx.q("SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq");
    tx.all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(Checkpoint {
                seq: r.int("seq")?,
                hash: r.text("hash")?,
                signed_at_micros: r.int("signed_at")?,
                key_id: r.text("key_id")?,
                signature: r.bytes("signature")?.unwrap_or_default(),
            })
        })
        .collect()
}

/// How many of the tenant's events are not yet in its chain (the sealer's
/// backlog).
pub async fn unsealed_count(tx: &mut TenantTx) -> StoreResult<i64> {
    let q = tx.q(
        "SELECT (SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1) \
         - (SELECT COUNT(*) FROM audit_chain WHERE tenant_id = $1) AS n",
    );
    crate::kit::row::RowExt::int(&tx.one(q).await?, "n")
}
