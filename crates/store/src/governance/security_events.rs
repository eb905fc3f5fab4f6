//! Security events and what feeds them: the events themselves (with a
//! dedupe key so a threshold raises once per window), which SIEM sink has
//! received which event, each tenant's security settings, the networks and
//! countries each user has signed in from, and the counts over the audit
//! trail that the thresholds look at. Ids, codes and counts only, no PHI.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use std::collections::HashSet;

/// A stored security event.
#[derive(Clone, Debug)]
pub struct SecurityEvent {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub user_id: Option<String>,
    pub ip: String,
    /// JSON object with ids, counts and codes (never PHI).
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A new event to insert.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub kind: String,
    pub severity: String,
    pub user_id: Option<String>,
    pub ip: String,
    pub details: serde_json::Value,
    /// Events with the same kind and key inside a window are raised once.
    pub dedupe_key: String,
    pub occurred_at: DateTime<Utc>,
}

const COLS: &str =
    "id, kind, severity, user_id, ip, details, occurred_at, acknowledged_by, acknowledged_at";

fn event(r: &AnyRow) -> StoreResult<SecurityEvent> {
    Ok(SecurityEvent {
        id: r.text("id")?,
        kind: r.text("kind")?,
        severity: r.text("severity")?,
        user_id: r.opt_text("user_id")?,
        ip: r.text("ip")?,
        details: serde_json::from_str(&r.text("details")?).unwrap_or(serde_json::Value::Null),
        occurred_at: r.time("occurred_at")?,
        acknowledged_by: r.opt_text("acknowledged_by")?,
        acknowledged_at: r.opt_time("acknowledged_at")?,
    })
}

/// Insert an event; returns its id.
pub async fn insert(tx: &mut TenantTx, e: &NewEvent) -> StoreResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let q = tx
        .q("INSERT INTO security_events (tenant_id, id, kind, severity, user_id, ip, details, dedupe_key, occurred_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(id.clone())
        .bind(e.kind.clone())
        .bind(e.severity.clone())
        .bind(e.user_id.clone())
        .bind(e.ip.clone())
        .bind(e.details.to_string())
        .bind(e.dedupe_key.clone())
        .bind(ts(e.occurred_at));
    tx.exec(q).await?;
    Ok(id)
}

/// Was an event of this kind and key raised at or after `since`?
pub async fn raised_since(
    tx: &mut TenantTx,
    kind: &str,
    dedupe_key: &str,
    since: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q("SELECT 1 AS x FROM security_events WHERE tenant_id = $1 AND kind = $2 AND dedupe_key = $3 AND occurred_at >= $4 LIMIT 1")
        .bind(kind.to_owned())
        .bind(dedupe_key.to_owned())
        .bind(ts(since));
    Ok(tx.opt(q).await?.is_some())
}

/// Filters of the event list (all optional).
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only events nobody has acknowledged yet.
    pub open_only: bool,
}

const WHERE: &str = "tenant_id = $1 \
    AND (CAST($2 AS TEXT) IS NULL OR kind = CAST($2 AS TEXT)) \
    AND (CAST($3 AS BIGINT) IS NULL OR occurred_at >= CAST($3 AS BIGINT)) \
    AND (CAST($4 AS BIGINT) IS NULL OR occurred_at < CAST($4 AS BIGINT)) \
    AND ($5 = 0 OR acknowledged_at IS NULL)";

/// A page of events, newest first, with the total.
pub async fn list(
    tx: &mut TenantTx,
    f: &EventQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<SecurityEvent>, u64)> {
    let open = i64::from(f.open_only);
    let sql = format!(
        "SELECT {COLS} FROM security_events WHERE {WHERE} ORDER BY occurred_at DESC, id DESC LIMIT $6 OFFSET $7"
    );
    let q = tx
        .q(&sql)
        .bind(f.kind.clone())
        .bind(f.from.map(ts))
        .bind(f.to.map(ts))
        .bind(open)
        .bind(limit)
        .bind(offset);
    let rows = tx.all(q).await?;
    let sql = format!("SELECT COUNT(*) AS n FROM security_events WHERE {WHERE}");
    let q = tx
        .q(&sql)
        .bind(f.kind.clone())
        .bind(f.from.map(ts))
        .bind(f.to.map(ts))
        .bind(open);
    let total = tx.one(q).await?.int("n")?;
    let rows = rows.iter().map(event).collect::<StoreResult<Vec<_>>>()?;
    Ok((rows, total.max(0) as u64))
}

/// Mark an event acknowledged; false when there is no such event.
pub async fn acknowledge(
    tx: &mut TenantTx,
    id: &str,
    by: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "UPDATE security_events SET acknowledged_by = COALESCE(acknowledged_by, $3), \
            acknowledged_at = COALESCE(acknowledged_at, $4) WHERE tenant_id = $1 AND id = $2",
        )
        .bind(id.to_owned())
        .bind(by.to_owned())
        .bind(ts(at));
    Ok(tx.exec(q).await? > 0)
}

/// Events the sink has not received yet, oldest first.
pub async fn undelivered(
    tx: &mut TenantTx,
    sink: &str,
    limit: i64,
) -> StoreResult<Vec<SecurityEvent>> {
    let sql = "SELECT e.id, e.kind, e.severity, e.user_id, e.ip, e.details, e.occurred_at, e.acknowledged_by, \
        e.acknowledged_at FROM security_events e LEFT JOIN security_event_deliveries d \
        ON d.tenant_id = e.tenant_id AND d.event_id = e.id AND d.sink = $2 \
        WHERE e.tenant_id = $1 AND d.event_id IS NULL ORDER BY e.occurred_at, e.id LIMIT $3";
    let q = tx.q(sql).bind(sink.to_owned()).bind(limit);
    tx.all(q).await?.iter().map(event).collect()
}

/// Record that the sink received the event (idempotent).
pub async fn mark_delivered(
    tx: &mut TenantTx,
    event_id: &str,
    sink: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO security_event_deliveries (tenant_id, event_id, sink, delivered_at) VALUES ($1, $2, $3, $4) \
            ON CONFLICT (tenant_id, event_id, sink) DO NOTHING")
        .bind(event_id.to_owned())
        .bind(sink.to_owned())
        .bind(ts(at));
    tx.exec(q).await?;
    Ok(())
}

/// The tenant's stored settings document, if any.
pub async fn settings(tx: &mut TenantTx) -> StoreResult<Option<String>> {
    let q =
        tx.q("SELECT settings FROM security_settings WHERE tenant_id = $1 AND scope = 'tenant'");
    tx.opt(q).await?.map(|r| r.text("settings")).transpose()
}

pub async fn put_settings(
    tx: &mut TenantTx,
    doc: &str,
    by: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO security_settings (tenant_id, scope, settings, updated_at, updated_by) VALUES ($1, 'tenant', $2, $3, $4) \
            ON CONFLICT (tenant_id, scope) DO UPDATE SET settings = $2, updated_at = $3, updated_by = $4")
        .bind(doc.to_owned())
        .bind(ts(at))
        .bind(by.map(str::to_owned));
    tx.exec(q).await?;
    Ok(())
}

/// Remember that `user` signed in from `value` (a network or a country).
/// Returns (newly seen, the user had other values of this kind before).
pub async fn note_known(
    tx: &mut TenantTx,
    user: &str,
    kind: &str,
    value: &str,
    at: DateTime<Utc>,
) -> StoreResult<(bool, bool)> {
    let q = tx
        .q("SELECT COUNT(*) AS n FROM security_known_networks WHERE tenant_id = $1 AND user_id = $2 AND kind = $3")
        .bind(user.to_owned())
        .bind(kind.to_owned());
    let before = tx.one(q).await?.int("n")?;
    let q = tx
        .q("INSERT INTO security_known_networks (tenant_id, user_id, kind, value, first_seen_at) VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (tenant_id, user_id, kind, value) DO NOTHING")
        .bind(user.to_owned())
        .bind(kind.to_owned())
        .bind(value.to_owned())
        .bind(ts(at));
    let inserted = tx.exec(q).await? > 0;
    Ok((inserted, before > 0))
}

/// Failed sign-ins recorded in the audit trail for one user since `since`.
pub async fn failed_sign_ins(
    tx: &mut TenantTx,
    user: &str,
    since: DateTime<Utc>,
) -> StoreResult<i64> {
    let q = tx
        .q("SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = $1 AND action IN ('auth.login', 'auth.mfa') \
            AND outcome = 'failure' AND resource_type = 'user' AND resource_ids = $2 AND at >= $3")
        .bind(user.to_owned())
        .bind(ts(since));
    tx.one(q).await?.int("n")
}

/// Distinct patient ids an actor's audit events name since `since`.
pub async fn distinct_patients_read(
    tx: &mut TenantTx,
    actor: &str,
    since: DateTime<Utc>,
) -> StoreResult<usize> {
    let q = tx
        .q(
            "SELECT resource_ids FROM audit_events WHERE tenant_id = $1 AND actor_id = $2 \
            AND resource_type = 'patient' AND at >= $3",
        )
        .bind(actor.to_owned())
        .bind(ts(since));
    let mut seen = HashSet::new();
    for r in tx.all(q).await? {
        for id in r.text("resource_ids")?.split(',').filter(|s| !s.is_empty()) {
            seen.insert(id.to_owned());
        }
    }
    Ok(seen.len())
}
