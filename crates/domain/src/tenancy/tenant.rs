//! Tenant subscription lifecycle: trial -> active -> suspended <-> active,
//! and closed (terminal). A suspended tenant signs in read-only.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Subscription status of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trial,
    Active,
    Suspended,
    Closed,
}

/// An operator action on a tenant's subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionEvent {
    Activate,
    Suspend,
    Reactivate,
    Close,
}

/// The transition is not allowed from the current status.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("a tenant that is {from:?} cannot be moved by {event:?}")]
pub struct IllegalTransition {
    pub from: SubscriptionStatus,
    pub event: SubscriptionEvent,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Closed => "closed",
        }
    }

    /// May staff sign in at all?
    pub fn allows_sign_in(self) -> bool {
        !matches!(self, Self::Closed)
    }

    /// May staff create or change records? (Suspended tenants are read-only.)
    pub fn allows_writes(self) -> bool {
        matches!(self, Self::Trial | Self::Active)
    }

    /// The state machine: the one place that says which moves are legal.
    pub fn apply(self, event: SubscriptionEvent) -> Result<Self, IllegalTransition> {
        use SubscriptionEvent::*;
        use SubscriptionStatus::*;
        match (self, event) {
            (Trial, Activate) => Ok(Active),
            (Trial | Active, Suspend) => Ok(Suspended),
            (Suspended, Reactivate) => Ok(Active),
            (Trial | Active | Suspended, Close) => Ok(Closed),
            (from, event) => Err(IllegalTransition { from, event }),
        }
    }
}

impl FromStr for SubscriptionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trial" => Ok(Self::Trial),
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "closed" => Ok(Self::Closed),
            other => Err(format!("unknown subscription status '{other}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SubscriptionEvent::*;
    use super::SubscriptionStatus::*;
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = SubscriptionEvent> {
        prop_oneof![Just(Activate), Just(Suspend), Just(Reactivate), Just(Close)]
    }

    proptest! {
        /// Whatever the operator does, a closed tenant never reopens, and only
        /// trial/active tenants can write.
        #[test]
        fn closed_is_terminal_and_only_live_tenants_write(events in proptest::collection::vec(event(), 0..20)) {
            let mut s = Trial;
            let mut closed = false;
            for e in events {
                if let Ok(next) = s.apply(e) { s = next; }
                if s == Closed { closed = true; }
                prop_assert!(!closed || s == Closed);
                prop_assert_eq!(s.allows_writes(), matches!(s, Trial | Active));
            }
        }
    }

    #[test]
    fn suspend_and_reactivate() {
        assert_eq!(Active.apply(Suspend), Ok(Suspended));
        assert_eq!(Suspended.apply(Reactivate), Ok(Active));
        assert!(Suspended.apply(Suspend).is_err());
        assert!(Closed.apply(Reactivate).is_err());
        assert!(Suspended.allows_sign_in() && !Suspended.allows_writes());
        assert!(!Closed.allows_sign_in());
    }
}
