//! The messaging feature's API and page types: the development outbox's
//! messages. The web edge sees these, never the storage rows they are made
//! from; the JSON shape and the OpenAPI schema are the rows' own.

use chrono::{DateTime, Utc};
use clinicos_store::messaging::outbox;
use serde::Serialize;

/// One outgoing message.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<outbox::OutboxMessage> for OutboxMessage {
    fn from(m: outbox::OutboxMessage) -> Self {
        let outbox::OutboxMessage {
            id,
            channel,
            recipient,
            subject,
            body,
            created_at,
        } = m;
        Self {
            id,
            channel,
            recipient,
            subject,
            body,
            created_at,
        }
    }
}
