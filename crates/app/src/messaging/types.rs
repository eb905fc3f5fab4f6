//! The messaging feature's API and page types. The web edge sees these,
//! never the storage rows they are made from.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One outgoing message of the development outbox, opened.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    /// `portal.code`, `staff.password_reset`, `staff.invitation` or
    /// `break_glass.review`.
    pub kind: String,
    pub channel: String,
    /// Empty when the addressee's key was erased.
    pub recipient: String,
    pub subject: String,
    /// Empty when the addressee's key was erased.
    pub body: String,
    /// The message carries a one-time code or a sign-in link.
    pub carries_secret: bool,
    /// False when the addressee was erased: recipient and body are gone.
    pub readable: bool,
    pub created_at: DateTime<Utc>,
}

crate::kit::phi::redacted_debug!(OutboxMessage);
