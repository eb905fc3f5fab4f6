//! The audit writer: one row per audited action, inserted in the SAME
//! transaction as the change or read it records (a write that cannot be
//! audited does not happen). Events hold ids and field names, never PHI
//! values.
//!
//! Each event carries its MAC (HMAC-SHA256 under the event key the
//! transaction carries, over `EventFields::mac_message`), computed from the
//! event alone: no read, no extra statement, no shared chain head on the
//! request path. The sealer (`clinicos_app::governance::audit_trail`)
//! checks it before linking the event into the tenant's keyed chain, and
//! the rest of this module is the storage that sealer and the verifier use.

use crate::kit::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_crypto::AuditKeys;
use clinicos_domain::governance::audit::{ChainedEvent, EventFields};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{BranchId, UserId};
use sqlx::any::AnyRow;

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

/// The statement of [`record_for`]: one audit event with its MAC.
pub const INSERT_SQL: &str = "INSERT INTO audit_events (tenant_id, id, at, actor_id, actor_roles, \
    branch_id, action, resource_type, resource_ids, outcome, reason, ip, user_agent, request_id, \
    purpose, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// The MAC of an event of `tenant` under `keys` (the audit writer's, and
/// the benchmark baseline's, which inserts the same row).
pub fn event_mac(keys: &AuditKeys, tenant: &str, fields: &EventFields<'_>) -> Vec<u8> {
    keys.event_mac(&fields.mac_message(tenant)).to_vec()
}

/// Insert an audit event with its purpose of use (`treatment`,
/// `emergency` for break-the-glass reads, `operations`, ...) and its MAC.
pub async fn record_for(
    tx: &mut TenantTx,
    actor: &Actor,
    ev: AuditEvent,
    purpose: &str,
) -> StoreResult<()> {
    let id = uuid::Uuid::now_v7().to_string();
    let at = ts(ev.at);
    let actor_id = actor.user_id.map(|u| u.as_text());
    let branch_id = actor.branch_id.map(|b| b.as_text());
    let resource_ids = ev.resource_ids.join(",");
    let fields = EventFields {
        id: &id,
        at_micros: at,
        actor_id: actor_id.as_deref().unwrap_or_default(),
        actor_roles: &actor.roles,
        branch_id: branch_id.as_deref().unwrap_or_default(),
        action: ev.action.as_str(),
        resource_type: ev.resource_type.as_str(),
        resource_ids: &resource_ids,
        purpose,
        outcome: ev.outcome.as_str(),
        reason: &ev.reason,
        ip: &actor.ip,
        user_agent: &actor.user_agent,
        request_id: &actor.request_id,
    };
    let keys = tx.audit_keys().ok_or(StoreError::AuditKeysMissing)?;
    let mac = event_mac(keys, tx.tenant_text(), &fields);
    let q = tx
        .q(INSERT_SQL)
        .bind(id)
        .bind(at)
        .bind(actor_id)
        .bind(actor.roles.clone())
        .bind(branch_id)
        .bind(ev.action.as_str())
        .bind(ev.resource_type.as_str())
        .bind(resource_ids)
        .bind(ev.outcome.as_str())
        .bind(ev.reason)
        .bind(actor.ip.clone())
        .bind(actor.user_agent.clone())
        .bind(actor.request_id.clone())
        .bind(purpose.to_owned())
        .bind(mac);
    tx.exec(q).await?;
    Ok(())
}

/// Count events with an action (tests and the admin overview).
pub async fn count_action(tx: &mut TenantTx, action: &str) -> StoreResult<i64> {
    let q = tx
        .q("SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = $1 AND action = $2")
        .bind(action.to_owned());
    tx.one(q).await?.int("n")
}

// ---- tamper evidence -------------------------------------------------

/// The event columns (`e`), its MAC and whether migration 0019 listed it
/// as legacy (`l`).
const EVENT_COLS: &str =
    "e.id, e.at, e.actor_id, e.actor_roles, e.branch_id, e.action, e.resource_type, \
    e.resource_ids, e.purpose, e.outcome, e.reason, e.ip, e.user_agent, e.request_id, e.mac, \
    l.event_id AS legacy_id";

/// Joins the legacy list to `audit_events e`.
const LEGACY_JOIN: &str = "LEFT JOIN audit_legacy_events l \
    ON l.tenant_id = e.tenant_id AND l.event_id = e.id";

fn chained(r: &AnyRow) -> StoreResult<ChainedEvent> {
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
        mac: r.bytes("mac")?,
        legacy: r.opt_text("legacy_id")?.is_some(),
    })
}

/// Committed events neither in the chain nor refused by the sealer,
/// oldest first.
pub async fn unsealed(tx: &mut TenantTx, limit: i64) -> StoreResult<Vec<ChainedEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM audit_events e {LEGACY_JOIN} \
         LEFT JOIN audit_chain c ON c.tenant_id = e.tenant_id AND c.event_id = e.id \
         LEFT JOIN audit_rejections r ON r.tenant_id = e.tenant_id AND r.event_id = e.id \
         WHERE e.tenant_id = $1 AND c.event_id IS NULL AND r.event_id IS NULL \
         ORDER BY e.at, e.id LIMIT $2"
    );
    let q = tx.q(&sql).bind(limit);
    tx.all(q).await?.iter().map(chained).collect()
}

/// Events migration 0019 listed as written before MACs existed that are
/// neither in the chain nor refused, oldest first (the sealer links them
/// all, first, in the chain's first keyed round; the list is small and
/// fixed, so this is unbounded).
pub async fn unsealed_legacy(tx: &mut TenantTx) -> StoreResult<Vec<ChainedEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM audit_legacy_events l \
         JOIN audit_events e ON e.tenant_id = l.tenant_id AND e.id = l.event_id \
         LEFT JOIN audit_chain c ON c.tenant_id = e.tenant_id AND c.event_id = e.id \
         LEFT JOIN audit_rejections r ON r.tenant_id = e.tenant_id AND r.event_id = e.id \
         WHERE l.tenant_id = $1 AND c.event_id IS NULL AND r.event_id IS NULL \
         ORDER BY e.at, e.id"
    );
    let q = tx.q(&sql);
    tx.all(q).await?.iter().map(chained).collect()
}

/// Every event of the tenant (for verification).
pub async fn all_events(tx: &mut TenantTx) -> StoreResult<Vec<ChainedEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM audit_events e {LEGACY_JOIN} \
         WHERE e.tenant_id = $1 ORDER BY e.at, e.id"
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
    /// `LinkFormat::code` of how `hash` was made.
    pub format: i64,
}

const LINK_COLS: &str = "c.seq, c.event_id, c.prev_hash, c.hash, c.sealed_at, c.format";

fn link(r: &AnyRow) -> StoreResult<ChainLink> {
    Ok(ChainLink {
        seq: r.int("seq")?,
        event_id: r.text("event_id")?,
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
        sealed_at: r.time("sealed_at")?,
        format: r.int("format")?,
    })
}

/// The last link (highest seq) with its event, if any.
pub async fn chain_head(tx: &mut TenantTx) -> StoreResult<Option<(ChainLink, ChainedEvent)>> {
    let sql = format!(
        "SELECT {LINK_COLS}, {EVENT_COLS} FROM audit_chain c \
         JOIN audit_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id {LEGACY_JOIN} \
         WHERE c.tenant_id = $1 ORDER BY c.seq DESC LIMIT 1"
    );
    let q = tx.q(&sql);
    match tx.opt(q).await? {
        Some(r) => Ok(Some((link(&r)?, chained(&r)?))),
        None => Ok(None),
    }
}

/// The whole chain in order.
pub async fn chain(tx: &mut TenantTx) -> StoreResult<Vec<ChainLink>> {
    let sql =
        format!("SELECT {LINK_COLS} FROM audit_chain c WHERE c.tenant_id = $1 ORDER BY c.seq");
    let q = tx.q(&sql);
    tx.all(q).await?.iter().map(link).collect()
}

pub async fn append_link(tx: &mut TenantTx, l: &ChainLink) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO audit_chain (tenant_id, seq, event_id, prev_hash, hash, sealed_at, format) \
            VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(l.seq)
        .bind(l.event_id.clone())
        .bind(l.prev_hash.clone())
        .bind(l.hash.clone())
        .bind(ts(l.sealed_at))
        .bind(l.format);
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

const CHECKPOINT_SQL: &str =
    "SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints WHERE tenant_id = $1";

fn checkpoint(r: &AnyRow) -> StoreResult<Checkpoint> {
    Ok(Checkpoint {
        seq: r.int("seq")?,
        hash: r.text("hash")?,
        signed_at_micros: r.int("signed_at")?,
        key_id: r.text("key_id")?,
        signature: r.bytes("signature")?.unwrap_or_default(),
    })
}

pub async fn checkpoints(tx: &mut TenantTx) -> StoreResult<Vec<Checkpoint>> {
    let sql = format!("{CHECKPOINT_SQL} ORDER BY seq");
    let q = tx.q(&sql);
    tx.all(q).await?.iter().map(checkpoint).collect()
}

/// The checkpoint at the highest position, if any.
pub async fn newest_checkpoint(tx: &mut TenantTx) -> StoreResult<Option<Checkpoint>> {
    let sql = format!("{CHECKPOINT_SQL} ORDER BY seq DESC LIMIT 1");
    let q = tx.q(&sql);
    tx.opt(q).await?.as_ref().map(checkpoint).transpose()
}

/// An event the sealer refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub event_id: String,
    pub rejected_at: DateTime<Utc>,
    /// Why, as a code (`missing_mac`, `bad_mac`).
    pub reason: String,
}

/// Record that the sealer refused `event_id` (so it is not offered again).
pub async fn insert_rejection(tx: &mut TenantTx, r: &Rejection) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO audit_rejections (tenant_id, event_id, rejected_at, reason) VALUES ($1, $2, $3, $4)")
        .bind(r.event_id.clone())
        .bind(ts(r.rejected_at))
        .bind(r.reason.clone());
    tx.exec(q).await?;
    Ok(())
}

/// Every refused event of the tenant.
pub async fn rejections(tx: &mut TenantTx) -> StoreResult<Vec<Rejection>> {
    let q = tx.q(
        "SELECT event_id, rejected_at, reason FROM audit_rejections WHERE tenant_id = $1 ORDER BY rejected_at, event_id",
    );
    tx.all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(Rejection {
                event_id: r.text("event_id")?,
                rejected_at: r.time("rejected_at")?,
                reason: r.text("reason")?,
            })
        })
        .collect()
}

/// How many of the tenant's events wait for the sealer (neither in its
/// chain nor refused).
pub async fn unsealed_count(tx: &mut TenantTx) -> StoreResult<i64> {
    let q = tx.q(
        "SELECT (SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1) \
         - (SELECT COUNT(*) FROM audit_chain WHERE tenant_id = $1) \
         - (SELECT COUNT(*) FROM audit_rejections WHERE tenant_id = $1) AS n",
    );
    tx.one(q).await?.int("n")
}
