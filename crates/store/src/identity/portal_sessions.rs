//! Patient portal sessions: one row per signed-in patient device, the
//! bearer secret stored only as a SHA-256 hash. Separate from staff
//! `sessions` (which belong to users), so a patient credential can never be
//! taken for a staff one.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{PatientId, SessionId};

/// A stored portal session.
#[derive(Clone, Debug)]
pub struct PortalSession {
    pub id: SessionId,
    pub patient_id: PatientId,
    pub token_hash: String,
    /// How the patient proved the destination (`sms`, `whatsapp`, `email`).
    pub channel: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(tx: &mut TenantTx, s: &PortalSession) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO portal_sessions (tenant_id, id, patient_id, token_hash, channel, ip, user_agent, \
            created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(s.id.as_text())
        .bind(s.patient_id.as_text())
        .bind(s.token_hash.clone())
        .bind(s.channel.clone())
        .bind(s.ip.clone())
        .bind(s.user_agent.clone())
        .bind(ts(s.created_at))
        .bind(ts(s.last_seen_at));
    tx.exec(q).await?;
    Ok(())
}

pub async fn get(tx: &mut TenantTx, id: SessionId) -> StoreResult<Option<PortalSession>> {
    let q = tx
        .q("SELECT id, patient_id, token_hash, channel, ip, user_agent, created_at, last_seen_at, revoked_at \
            FROM portal_sessions WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text());
    let Some(r) = tx.opt(q).await? else {
        return Ok(None);
    };
    Ok(Some(PortalSession {
        id: r.parse("id")?,
        patient_id: r.parse("patient_id")?,
        token_hash: r.text("token_hash")?,
        channel: r.text("channel")?,
        ip: r.text("ip")?,
        user_agent: r.text("user_agent")?,
        created_at: r.time("created_at")?,
        last_seen_at: r.time("last_seen_at")?,
        revoked_at: r.opt_time("revoked_at")?,
    }))
}

/// Record use (at most once a minute per session, like staff sessions).
pub async fn touch(tx: &mut TenantTx, id: SessionId, now: DateTime<Utc>) -> StoreResult<()> {
    let q = tx
        .q("UPDATE portal_sessions SET last_seen_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// End a session; true if it was still open.
pub async fn revoke(
    tx: &mut TenantTx,
    id: SessionId,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE portal_sessions SET revoked_at = $3, revoked_reason = $4 WHERE tenant_id = $1 AND id = $2 \
            AND revoked_at IS NULL")
        .bind(id.as_text())
        .bind(ts(now))
        .bind(reason.to_owned());
    Ok(tx.exec(q).await? == 1)
}
