//! The outbox: messages waiting to be (or already) emailed or texted. A
//! message's recipient and body are sealed under its addressee's key; the
//! subject line, channel and kind are plaintext and carry no PHI and no
//! secret. In development mode (the demo and tests) the app shows the
//! outbox in place of a mail server.

use crate::kit::row::{ts, RowExt};
use crate::kit::sealed::Sealed;
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::messaging::message::{Addressee, MessageKind};
use clinicos_domain::{BranchId, UserId};

crate::sealed_columns! {
    /// `outbox_messages.recipient_sealed`: the phone number or address.
    OutboxRecipient = "outbox_messages"."recipient_sealed";
    /// `outbox_messages.body_sealed`: the message text.
    OutboxBody = "outbox_messages"."body_sealed";
}

/// One outgoing message, as stored.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: String,
    pub kind: MessageKind,
    pub channel: String,
    pub addressee: Addressee,
    /// The branch the message belongs to; `None` for the organisation.
    pub branch_id: Option<BranchId>,
    pub recipient: Sealed<OutboxRecipient>,
    /// Plaintext, without PHI or secrets.
    pub subject: String,
    pub body: Sealed<OutboxBody>,
    pub created_at: DateTime<Utc>,
}

impl OutboxRow {
    /// Does the message carry a one-time code or link?
    pub fn carries_secret(&self) -> bool {
        self.kind.carries_secret()
    }
}

pub async fn push(tx: &mut TenantTx, m: &OutboxRow) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO outbox_messages (tenant_id, id, kind, channel, addressee_kind, addressee_id, \
            branch_id, carries_secret, recipient, recipient_sealed, subject, body, body_sealed, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, $10, '', $11, $12)")
        .bind(m.id.clone())
        .bind(m.kind.as_str().to_owned())
        .bind(m.channel.clone())
        .bind(m.addressee.kind().to_owned())
        .bind(m.addressee.id())
        .bind(m.branch_id.map(|b| b.as_text()))
        .bind(i64::from(m.carries_secret()))
        .bind(m.recipient.to_vec())
        .bind(m.subject.clone())
        .bind(m.body.to_vec())
        .bind(ts(m.created_at));
    tx.exec(q).await?;
    Ok(())
}

/// Which messages a reader may see.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Every message of the organisation.
    All,
    /// Messages without a secret in these branches, and any message
    /// addressed to this user.
    Branches {
        branches: Vec<BranchId>,
        own: UserId,
    },
}

const COLS: &str = "id, kind, channel, addressee_kind, addressee_id, branch_id, recipient_sealed, \
    subject, body_sealed, created_at";

/// Newest first, at most `limit`, within `scope`.
pub async fn recent(tx: &mut TenantTx, scope: &Scope, limit: i64) -> StoreResult<Vec<OutboxRow>> {
    let rows = match scope {
        Scope::All => {
            let sql = format!(
                "SELECT {COLS} FROM outbox_messages WHERE tenant_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2"
            );
            let q = tx.q(&sql).bind(limit);
            tx.all(q).await?
        }
        Scope::Branches { branches, own } => {
            // $3.. are the branches; an empty list matches none.
            let marks: Vec<String> = (0..branches.len()).map(|i| format!("${}", i + 4)).collect();
            let in_branches = if marks.is_empty() {
                "1 = 0".to_owned()
            } else {
                format!(
                    "(carries_secret = 0 AND branch_id IN ({}))",
                    marks.join(", ")
                )
            };
            let sql = format!(
                "SELECT {COLS} FROM outbox_messages WHERE tenant_id = $1 \
                 AND ((addressee_kind = 'user' AND addressee_id = $3) OR {in_branches}) \
                 ORDER BY created_at DESC, id DESC LIMIT $2"
            );
            let mut q = tx.q(&sql).bind(limit).bind(own.as_text());
            for b in branches {
                q = q.bind(b.as_text());
            }
            tx.all(q).await?
        }
    };
    rows.iter()
        .map(|r| {
            let kind = r.text("kind")?;
            let (ak, aid) = (r.text("addressee_kind")?, r.text("addressee_id")?);
            Ok(OutboxRow {
                id: r.text("id")?,
                kind: MessageKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("outbox kind {kind}")))?,
                channel: r.text("channel")?,
                addressee: Addressee::parse(&ak, &aid)
                    .ok_or_else(|| StoreError::Corrupt(format!("outbox addressee kind {ak}")))?,
                branch_id: r.opt_text("branch_id")?.and_then(|b| b.parse().ok()),
                recipient: Sealed::from_bytes(r.bytes("recipient_sealed")?.unwrap_or_default()),
                subject: r.text("subject")?,
                body: Sealed::from_bytes(r.bytes("body_sealed")?.unwrap_or_default()),
                created_at: r.time("created_at")?,
            })
        })
        .collect()
}

/// Delete every message addressed to `addressee` (erasure). Returns how
/// many went.
pub async fn delete_for(tx: &mut TenantTx, addressee: &Addressee) -> StoreResult<u64> {
    let q = tx
        .q("DELETE FROM outbox_messages WHERE tenant_id = $1 AND addressee_kind = $2 AND addressee_id = $3")
        .bind(addressee.kind().to_owned())
        .bind(addressee.id());
    tx.exec(q).await
}
