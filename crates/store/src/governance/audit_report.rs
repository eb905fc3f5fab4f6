//! Searching the audit trail for access reports: per user, per resource
//! ("who saw this record"), per action, per date range. Read-only; the
//! caller audits the search itself in the same transaction.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};

/// What to look for (all optional, combined with AND).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    /// A resource id the event touched or returned.
    pub resource_id: Option<String>,
    pub action_prefix: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One row of an access report (ids and codes only, never PHI values).
#[derive(Clone, Debug)]
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

fn where_clause(first: usize) -> String {
    let (a, r, p, f, t) = (first, first + 1, first + 2, first + 3, first + 4);
    format!(
        "tenant_id = $1 \
         AND (CAST(${a} AS TEXT) IS NULL OR actor_id = CAST(${a} AS TEXT)) \
         AND (CAST(${r} AS TEXT) IS NULL OR ',' || resource_ids || ',' LIKE '%,' || CAST(${r} AS TEXT) || ',%') \
         AND (CAST(${p} AS TEXT) IS NULL OR action LIKE CAST(${p} AS TEXT) || '%') \
         AND (CAST(${f} AS BIGINT) IS NULL OR at >= CAST(${f} AS BIGINT)) \
         AND (CAST(${t} AS BIGINT) IS NULL OR at < CAST(${t} AS BIGINT))"
    )
}

/// Ids are UUID text and actions are dotted codes: refuse anything else
/// rather than let LIKE wildcards through.
fn clean(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '_')
            .collect()
    })
}

/// A page of matching events, newest first, with the total.
pub async fn search(
    tx: &mut TenantTx,
    q: &AuditQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<AuditRow>, u64)> {
    let (actor, resource, action) = (
        clean(&q.actor_id),
        clean(&q.resource_id),
        clean(&q.action_prefix),
    );
    let (from, to) = (q.from.map(ts), q.to.map(ts));
    let sql = format!(
        "SELECT id, at, actor_id, actor_roles, branch_id, action, resource_type, resource_ids, purpose, outcome, \
         reason, ip, user_agent, request_id FROM audit_events WHERE {} ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
        where_clause(4)
    );
    let query = tx
        .q(&sql)
        .bind(limit)
        .bind(offset)
        .bind(actor.clone())
        .bind(resource.clone())
        .bind(action.clone())
        .bind(from)
        .bind(to);
    let rows = tx.all(query).await?;
    let sql = format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE {}",
        where_clause(2)
    );
    let query = tx
        .q(&sql)
        .bind(actor)
        .bind(resource)
        .bind(action)
        .bind(from)
        .bind(to);
    let total = tx.one(query).await?.int("n")?;
    let rows = rows
        .iter()
        .map(|r| {
            Ok(AuditRow {
                id: r.text("id")?,
                at: r.time("at")?,
                actor_id: r.opt_text("actor_id")?,
                actor_roles: r.text("actor_roles")?,
                branch_id: r.opt_text("branch_id")?,
                action: r.text("action")?,
                resource_type: r.text("resource_type")?,
                resource_ids: r
                    .text("resource_ids")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                purpose: r.text("purpose")?,
                outcome: r.text("outcome")?,
                reason: r.text("reason")?,
                ip: r.text("ip")?,
                user_agent: r.text("user_agent")?,
                request_id: r.text("request_id")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((rows, total.max(0) as u64))
}
