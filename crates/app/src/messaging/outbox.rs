//! Sending a message and reading the development outbox.
//!
//! A message is queued in the caller's transaction with its recipient and
//! body sealed under the addressee's key (the patient's data key, or the
//! staff member's own), so nothing in `outbox_messages` is readable at
//! rest and an erased patient's messages go with their key. The outbox is
//! shown only in development mode (`AuthSettings::development_outbox`: the
//! demo and tests, where it stands in for a mail server), every read is
//! audited, and a reader other than the owner sees only messages without a
//! secret in their own branches and the messages addressed to themselves.

use crate::governance::policy::Action;
use crate::messaging::service::Messaging;
use crate::messaging::types::OutboxMessage;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::messaging::message::{Addressee, MessageKind};
use clinicos_domain::{BranchId, Role, TenantId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::kit::sealed::{Sealed, SealedColumn};
use clinicos_store::messaging::outbox::{self, OutboxBody, OutboxRecipient, OutboxRow, Scope};
use clinicos_store::TenantTx;

/// A message to queue.
pub struct Outgoing<'a> {
    pub kind: MessageKind,
    /// `email`, `sms` or `whatsapp`.
    pub channel: &'a str,
    pub to: Addressee,
    /// The branch it belongs to (`None`: the organisation).
    pub branch: Option<BranchId>,
    /// The address or number (sealed).
    pub recipient: &'a str,
    /// Plaintext: no PHI, no secret.
    pub subject: &'a str,
    /// Sealed.
    pub body: &'a str,
}

impl Messaging<'_> {
    /// Queue a message in `tx`, sealed under its addressee's key.
    pub async fn send(
        &self,
        tx: &mut TenantTx,
        m: Outgoing<'_>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let t = tx.tenant();
        let id = uuid::Uuid::now_v7().to_string();
        let row = OutboxRow {
            recipient: self
                .seal::<OutboxRecipient>(t, &id, &m.to, m.recipient)
                .await?,
            body: self.seal::<OutboxBody>(t, &id, &m.to, m.body).await?,
            id,
            kind: m.kind,
            channel: m.channel.to_owned(),
            addressee: m.to,
            branch_id: m.branch,
            subject: m.subject.to_owned(),
            created_at: now,
        };
        Ok(outbox::push(tx, &row).await?)
    }

    /// The development outbox, newest first: 404 unless the server runs in
    /// development mode. The owner sees every message; anyone else with
    /// the permission sees the messages addressed to them and those without
    /// a secret in their branches. Audited with the ids shown.
    pub async fn development_outbox(&self, ctx: &Ctx, limit: i64) -> AppResult<Vec<OutboxMessage>> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewOutbox)
            .await?;
        if !self.app.settings.development_outbox {
            return Err(AppError::NotFound("development outbox"));
        }
        let scope = if ctx.has_role(Role::Owner) {
            Scope::All
        } else {
            Scope::Branches {
                branches: ctx.branches.clone(),
                own: ctx.user,
            }
        };
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let rows = outbox::recent(&mut tx, &scope, limit).await?;
        let ids = rows.iter().map(|r| r.id.clone()).collect();
        let ev = AuditEvent::new(now, AuditAction::OutboxRead, ResourceKind::Message, ids);
        audit::record(&mut tx, &ctx.actor(), ev).await?;
        tx.commit().await?;
        let mut shown = Vec::with_capacity(rows.len());
        for r in rows {
            shown.push(self.open(ctx, r).await);
        }
        Ok(shown)
    }

    /// Seal one column of a message under its addressee's key (a
    /// patient's data key, or the staff member's own subject key).
    async fn seal<C: SealedColumn>(
        &self,
        tenant: TenantId,
        id: &str,
        to: &Addressee,
        text: &str,
    ) -> AppResult<Sealed<C>> {
        let bytes = self
            .app
            .cipher
            .encrypt(tenant, C::TABLE, C::COLUMN, id, &to.id(), text.as_bytes())
            .await?;
        Ok(Sealed::from_bytes(bytes))
    }

    /// One sealed column of a message as text, if its key still exists.
    async fn open_text<C: SealedColumn>(
        &self,
        ctx: &Ctx,
        r: &OutboxRow,
        c: &Sealed<C>,
    ) -> Option<String> {
        let bytes = self
            .app
            .cipher
            .decrypt(
                ctx.tenant,
                C::TABLE,
                C::COLUMN,
                &r.id,
                &r.addressee.id(),
                c.as_bytes(),
            )
            .await
            .ok()?;
        String::from_utf8(bytes).ok()
    }

    /// A stored message with its recipient and body opened (an erased
    /// addressee's message shows neither).
    async fn open(&self, ctx: &Ctx, r: OutboxRow) -> OutboxMessage {
        let recipient = self.open_text(ctx, &r, &r.recipient).await;
        let body = self.open_text(ctx, &r, &r.body).await;
        OutboxMessage {
            kind: r.kind.as_str().to_owned(),
            carries_secret: r.carries_secret(),
            readable: recipient.is_some() && body.is_some(),
            recipient: recipient.unwrap_or_default(),
            body: body.unwrap_or_default(),
            id: r.id,
            channel: r.channel,
            subject: r.subject,
            created_at: r.created_at,
        }
    }
}
