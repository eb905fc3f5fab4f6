//! What a message is, before any channel: its kind (which says whether it
//! carries a secret) and whose it is (whose key seals it).

use crate::{PatientId, UserId};

/// The kinds of message the product sends. A kind that carries a secret
/// (a one-time code, a sign-in or set-password link) is readable only by
/// the person it is addressed to: never by another staff member, not even
/// in the development outbox, except the owner standing in for a mail
/// server in development mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A patient portal sign-in code.
    PortalCode,
    /// A staff password-reset link.
    PasswordReset,
    /// A new staff member's set-password link.
    StaffInvitation,
    /// A privacy officer's task to review an emergency access (no PHI).
    BreakGlassReview,
}

impl MessageKind {
    pub const ALL: [MessageKind; 4] = [
        MessageKind::PortalCode,
        MessageKind::PasswordReset,
        MessageKind::StaffInvitation,
        MessageKind::BreakGlassReview,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageKind::PortalCode => "portal.code",
            MessageKind::PasswordReset => "staff.password_reset",
            MessageKind::StaffInvitation => "staff.invitation",
            MessageKind::BreakGlassReview => "break_glass.review",
        }
    }

    /// The kind of a stored name.
    pub fn parse(s: &str) -> Option<MessageKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Does a message of this kind carry a one-time secret?
    pub const fn carries_secret(self) -> bool {
        match self {
            MessageKind::PortalCode | MessageKind::PasswordReset | MessageKind::StaffInvitation => {
                true
            }
            MessageKind::BreakGlassReview => false,
        }
    }
}

/// The person a message is for; their key seals it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addressee {
    /// A patient (the patient's data key).
    Patient(PatientId),
    /// A staff member (their own subject key).
    User(UserId),
}

impl Addressee {
    /// The stored kind: `patient` or `user`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Addressee::Patient(_) => "patient",
            Addressee::User(_) => "user",
        }
    }

    /// The id, as stored and as the key subject.
    pub fn id(&self) -> String {
        match self {
            Addressee::Patient(p) => p.as_text(),
            Addressee::User(u) => u.as_text(),
        }
    }

    /// Read back a stored kind and id.
    pub fn parse(kind: &str, id: &str) -> Option<Addressee> {
        match kind {
            "patient" => id.parse().ok().map(Addressee::Patient),
            "user" => id.parse().ok().map(Addressee::User),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_only_review_tasks_carry_no_secret() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
        }
        let open: Vec<_> = MessageKind::ALL
            .into_iter()
            .filter(|k| !k.carries_secret())
            .collect();
        assert_eq!(open, [MessageKind::BreakGlassReview]);
        assert_eq!(MessageKind::parse("other"), None);
    }

    #[test]
    fn addressees_round_trip() {
        let u = Addressee::User(UserId::new());
        assert_eq!(Addressee::parse(u.kind(), &u.id()), Some(u));
        let p = Addressee::Patient(PatientId::new());
        assert_eq!(Addressee::parse(p.kind(), &p.id()), Some(p));
        assert_eq!(Addressee::parse("robot", "x"), None);
        assert_eq!(Addressee::parse("user", "not-a-uuid"), None);
    }
}
