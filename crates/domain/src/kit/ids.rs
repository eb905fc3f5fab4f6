//! Typed identifiers. Every id is a UUIDv7 (time-ordered, never a sequence);
//! distinct types stop a `BranchId` being passed where a `UserId` is meant,
//! or a patient's id where one of their records' is.
//!
//! Stored as hyphenated lower-case text ([`TenantId::as_text`] and every
//! other type's `as_text`); read from text in any case (`FromStr`, serde),
//! so an id typed in upper case names the same row.

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
id_type!(
    /// A patient of a tenant (one registry record).
    PatientId
);
id_type!(
    /// One entry of a patient's clinical record: a medical-history entry,
    /// an allergy, a condition or a medication.
    RecordId
);
id_type!(
    /// A file filed to a patient (report, image, lab file).
    AttachmentId
);
id_type!(
    /// One of a patient's identifiers (national id, insurance member id,
    /// passport, ...).
    IdentifierId
);
id_type!(
    /// A parent or guardian link between two patients.
    FamilyLinkId
);
id_type!(
    /// An expiring link that shares one attachment without signing in.
    ShareLinkId
);
id_type!(
    /// The merge of one patient record into another (undoable).
    MergeId
);
id_type!(
    /// A visit (an attachment may name the visit it belongs to).
    VisitId
);
id_type!(
    /// A legal hold on a patient record (it cannot be erased meanwhile).
    LegalHoldId
);

/// Every id type above, for code that treats them alike (how they are
/// stored, how a path or header names one): `every_id!(then)` expands to
/// `then!(TenantId, BranchId, ...)` with each type's full path. A new
/// `id_type!` is added here too.
#[macro_export]
macro_rules! every_id {
    ($then:ident) => {
        $then!(
            $crate::TenantId,
            $crate::BranchId,
            $crate::UserId,
            $crate::SessionId,
            $crate::OperatorId,
            $crate::PatientId,
            $crate::RecordId,
            $crate::AttachmentId,
            $crate::IdentifierId,
            $crate::FamilyLinkId,
            $crate::ShareLinkId,
            $crate::MergeId,
            $crate::VisitId,
            $crate::LegalHoldId,
        );
    };
}

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

    #[test]
    fn ids_read_in_any_case_and_are_stored_in_lower_case() {
        let p = PatientId::new();
        let upper = p.as_text().to_uppercase();
        let back: PatientId = upper.parse().unwrap();
        assert_eq!(back, p);
        assert_eq!(back.as_text(), p.as_text().to_lowercase());
        assert!("not-an-id".parse::<PatientId>().is_err());
    }
}
