//! The development outbox: messages that would be emailed / texted, kept in
//! the database until a real mail or SMS provider is configured. The demo
//! shows it and the tests read it.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};

/// One outgoing message.
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn push(
    tx: &mut TenantTx,
    channel: &str,
    recipient: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO outbox_messages (tenant_id, id, channel, recipient, subject, body, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(channel.to_owned())
        .bind(recipient.to_owned())
        .bind(subject.to_owned())
        .bind(body.to_owned())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Newest first.
pub async fn recent(tx: &mut TenantTx, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
    let q = tx
        .q(
            "SELECT id, channel, recipient, subject, body, created_at FROM outbox_messages \
            WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(limit);
    tx.all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(OutboxMessage {
                id: r.text("id")?,
                channel: r.text("channel")?,
                recipient: r.text("recipient")?,
                subject: r.text("subject")?,
                body: r.text("body")?,
                created_at: r.time("created_at")?,
            })
        })
        .collect()
}
