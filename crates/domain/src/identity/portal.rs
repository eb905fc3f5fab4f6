//! Patient portal identity rules: sign-in channels, the one-time-code
//! limits of seed 003 ("otp: 3 per minute") and the issue text, and the
//! portal's policy decision (a patient acts only on their own record).
//! Pure: callers pass `now` and the stored facts.

use crate::kit::ids::PatientId;
use chrono::{DateTime, Duration, Utc};

/// How a one-time code reaches the patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Whatsapp,
    Email,
}

impl Channel {
    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim() {
            "sms" => Some(Channel::Sms),
            "whatsapp" => Some(Channel::Whatsapp),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Email => "email",
        }
    }

    /// SMS and WhatsApp go to the phone number; email to the address.
    pub fn is_phone(self) -> bool {
        self != Channel::Email
    }
}

/// The limits on codes. Every count is per destination (its blind index),
/// except `sends_per_ip_per_minute`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OtpLimits {
    /// A code's lifetime.
    pub ttl: Duration,
    /// Wrong tries after which a code is dead.
    pub wrong_tries: i64,
    /// Verify attempts per destination per minute (seed 003).
    pub verifies_per_minute: i64,
    /// Codes sent per destination per minute.
    pub sends_per_minute: i64,
    /// Codes sent from one IP address per minute.
    pub sends_per_ip_per_minute: i64,
    /// Codes per destination per day (24 hours from the first).
    pub codes_per_day: i64,
}

impl Default for OtpLimits {
    fn default() -> Self {
        Self {
            ttl: Duration::minutes(5),
            wrong_tries: 3,
            verifies_per_minute: 3,
            sends_per_minute: 3,
            sends_per_ip_per_minute: 3,
            codes_per_day: 10,
        }
    }
}

/// A stored code's state as the verify step sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeState {
    pub expires_at: DateTime<Utc>,
    pub attempts: i64,
    pub used: bool,
    pub superseded: bool,
}

impl CodeState {
    /// May this code still be tried at `now`?
    pub fn is_live(&self, limits: &OtpLimits, now: DateTime<Utc>) -> bool {
        !self.used
            && !self.superseded
            && now < self.expires_at
            && self.attempts < limits.wrong_tries
    }
}

/// Is a presented code well-formed (six ASCII digits)? Anything else is
/// simply a wrong code; the answer does not say which.
pub fn well_formed_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// What a signed-in patient may do in the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortalAction {
    /// Read their own demographics and contact details.
    ReadOwnRecord,
    /// End their own portal session.
    EndOwnSession,
}

/// Why the portal refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortalDeny {
    /// The record is another patient's.
    NotSelf,
}

/// The portal's policy decision: a patient acts on their own record only.
pub fn decide_portal(
    subject_patient: PatientId,
    _action: PortalAction,
    target_patient: PatientId,
) -> Result<(), PortalDeny> {
    if subject_patient == target_patient {
        Ok(())
    } else {
        Err(PortalDeny::NotSelf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(at: DateTime<Utc>) -> CodeState {
        CodeState {
            expires_at: at + Duration::minutes(5),
            attempts: 0,
            used: false,
            superseded: false,
        }
    }

    #[test]
    fn a_code_dies_when_used_superseded_expired_or_tried_three_times() {
        let l = OtpLimits::default();
        let t0 = Utc::now();
        let s = state(t0);
        assert!(s.is_live(&l, t0));
        assert!(
            !s.is_live(&l, t0 + Duration::minutes(5)),
            "expired at 5 min"
        );
        assert!(!CodeState { used: true, ..s }.is_live(&l, t0));
        assert!(!CodeState {
            superseded: true,
            ..s
        }
        .is_live(&l, t0));
        assert!(CodeState { attempts: 2, ..s }.is_live(&l, t0));
        assert!(!CodeState { attempts: 3, ..s }.is_live(&l, t0));
    }

    #[test]
    fn channels_round_trip_and_codes_are_six_digits() {
        for c in [Channel::Sms, Channel::Whatsapp, Channel::Email] {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("pigeon"), None);
        assert!(!Channel::Email.is_phone());
        assert!(well_formed_code("012345"));
        for bad in ["12345", "1234567", "12a456", " 12345", "١٢٣٤٥٦"] {
            assert!(!well_formed_code(bad), "{bad}");
        }
    }

    proptest! {
        /// Only the patient themself is allowed, for every action.
        #[test]
        fn portal_allows_only_self(a: u128, b: u128) {
            let (a, b) = (PatientId(uuid::Uuid::from_u128(a)), PatientId(uuid::Uuid::from_u128(b)));
            for act in [PortalAction::ReadOwnRecord, PortalAction::EndOwnSession] {
                prop_assert_eq!(decide_portal(a, act, b).is_ok(), a == b);
                prop_assert!(decide_portal(a, act, a).is_ok());
            }
        }
    }
}
