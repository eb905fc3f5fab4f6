//! Typed identifiers. Every id is a UUIDv7 (time-ordered, never a sequence);
//! distinct types stop a `BranchId` being passed where a `UserId` is meant.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// The id as stored in the database (hyphenated lower-case text).
            pub fn as_text(&self) -> String {
                self.0.hyphenated().to_string()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// An organisation (tenant): the unit of isolation.
    TenantId
);
id_type!(
    /// A clinic location of a tenant.
    BranchId
);
id_type!(
    /// A staff member of a tenant.
    UserId
);
id_type!(
    /// A server-side sign-in session (browser or API client).
    SessionId
);
id_type!(
    /// A platform operator account (never a tenant user).
    OperatorId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_are_time_ordered() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert_eq!(a, a.as_text().parse::<TenantId>().unwrap());
        assert!(a.as_text() < b.as_text(), "v7 ids sort by creation time");
        assert_eq!(a.0.get_version_num(), 7);
    }
}
