//! Permissions: the grantable capabilities the policy point checks. A role
//! is a named bundle of them (defaults below, from seed 003's matrix and
//! seed 001; a tenant may replace a role's bundle), and a single permission
//! may be granted to one user. The catalogue is closed: an unknown code is
//! an error, never a silent no-op.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use crate::Role;

macro_rules! permissions {
    ($($variant:ident = $code:literal, $what:literal;)*) => {
        /// One grantable capability (`resource:verb`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission { $($variant),* }

        impl Permission {
            /// Every permission, in catalogue order (bit order of [`PermissionSet`]).
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// The stable code stored and sent over the API.
            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $code),* }
            }

            /// What holding it allows, for the admin page.
            pub fn describe(self) -> &'static str {
                match self { $(Permission::$variant => $what),* }
            }
        }

        impl FromStr for Permission {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(Permission::$variant),)*
                    other => Err(format!("unknown permission {other:?}")),
                }
            }
        }
    };
}

permissions! {
    TenantRead = "tenant:read", "read the organisation profile";
    TenantWrite = "tenant:write", "edit the organisation profile, logo and session limits";
    BranchesRead = "branches:read", "see the branches";
    BranchesWrite = "branches:write", "create and edit branches";
    UsersRead = "users:read", "see the staff directory";
    UsersWrite = "users:write", "invite staff, change roles and branches, deactivate";
    OutboxRead = "outbox:read", "read the development outbox";
    DataExport = "data:export", "download the organisation's records";
    AuditRead = "audit:read", "read the audit trail and access reports";
    RetentionRead = "retention:read", "see the retention periods that apply";
    SignInSecurityWrite = "signin_security:write", "set MFA and device-approval rules";
    DevicesApprove = "devices:approve", "approve or deny staff devices";
    SessionsManage = "sessions:manage", "list and end other staff members' sessions";
    PolicyWrite = "policy:write", "edit role bundles, grant single permissions, policy settings";
    SecurityRead = "security:read", "see and acknowledge security events";
    SecurityWrite = "security:write", "change security thresholds and rate limits";
    PatientsRead = "patients:read", "see patient demographics and contact details";
    PatientsWrite = "patients:write", "register and edit patients";
    PatientsMerge = "patients:merge", "merge and unmerge patient records";
    CareTeamManage = "care_team:manage", "add and remove care-team members";
    ClinicalRead = "clinical:read", "read clinical records of own patients";
    ClinicalWrite = "clinical:write", "record history, allergies, conditions, medications";
    ClinicalReadAny = "clinical:read_any", "read clinical records without a care relationship";
    RestrictedRead = "restricted:read", "see restricted-tier records of own patients";
    DiagnosesWrite = "diagnoses:write", "record diagnoses";
    PrescriptionsRead = "prescriptions:read", "read prescriptions";
    PrescriptionsWrite = "prescriptions:write", "write prescriptions";
    LabOrdersRead = "lab_orders:read", "read lab orders";
    LabOrdersWrite = "lab_orders:write", "order lab tests";
    LabResultsRead = "lab_results:read", "read lab results";
    LabResultsWrite = "lab_results:write", "enter lab results";
    VitalsWrite = "vitals:write", "record vitals and point-of-care observations";
    AppointmentsRead = "appointments:read", "see appointments";
    AppointmentsWrite = "appointments:write", "book, move and cancel appointments";
    QueueManage = "queue:manage", "run the waiting-room queue";
    BillingRead = "billing:read", "see invoices and payments";
    BillingWrite = "billing:write", "issue invoices and take payments";
    ReportsRead = "reports:read", "operational reports";
    ReportsFinancial = "reports:financial", "financial reports";
    InventoryWrite = "inventory:write", "manage pharmacy stock";
    DispensingWrite = "dispensing:write", "dispense medicines";
    BreakGlassUse = "break_glass:use", "open a record in an emergency (reviewed)";
    BreakGlassReview = "break_glass:review", "review emergency accesses";
    ExportPatients = "export:patients", "bulk export of patient records";
    ExportRestricted = "export:restricted", "include restricted-tier records in bulk exports";
    PatientsErase = "patients:erase", "erase a patient record for good (right to erasure)";
    LegalHoldsManage = "legal_holds:manage", "place and release legal holds on patient records";
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A set of permissions as a bit set (the catalogue stays under 64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u64);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    fn bit(p: Permission) -> u64 {
        // The index in ALL is the discriminant: variants are declared in order.
        1u64 << (p as u32)
    }

    pub fn of(ps: &[Permission]) -> PermissionSet {
        ps.iter().fold(Self::EMPTY, |s, p| s.with(*p))
    }

    pub fn all() -> PermissionSet {
        Self::of(Permission::ALL)
    }

    #[must_use]
    pub fn with(self, p: Permission) -> PermissionSet {
        PermissionSet(self.0 | Self::bit(p))
    }

    #[must_use]
    pub fn without(self, p: Permission) -> PermissionSet {
        PermissionSet(self.0 & !Self::bit(p))
    }

    #[must_use]
    pub fn union(self, o: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | o.0)
    }

    pub fn has(self, p: Permission) -> bool {
        self.0 & Self::bit(p) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.has(*p))
    }

    /// Space-separated codes (the stored form of an edited bundle).
    pub fn to_codes(self) -> String {
        self.iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parse the stored or submitted form; any unknown code is an error.
    pub fn parse_codes(s: &str) -> Result<PermissionSet, String> {
        s.split([' ', ','])
            .filter(|c| !c.is_empty())
            .try_fold(Self::EMPTY, |set, c| Ok(set.with(c.parse()?)))
    }
}

/// Permissions the owner keeps whatever is edited, so an organisation can
/// never lock itself out of its own policy.
pub const OWNER_LOCKED: &[Permission] = &[Permission::PolicyWrite, Permission::UsersWrite];

/// The default bundle of a role (seed 003's matrix, with seed 001's rules:
/// only clinicians diagnose and prescribe, only lab staff enter results,
/// front desk sees demographics but no clinical records). Documented and
/// tested cell by cell in docs/PERMISSIONS.md.
pub fn default_bundle(role: Role) -> PermissionSet {
    use Permission::*;
    let base = [TenantRead, BranchesRead];
    let extra: &[Permission] = match role {
        // Super admin: everything except reading clinical records without a
        // care relationship and erasing patients, which stay deliberate,
        // single grants (erasure is the privacy officer's).
        Role::Owner => {
            return PermissionSet::all()
                .without(ClinicalReadAny)
                .without(PatientsErase)
        }
        Role::BranchAdmin => &[
            UsersRead,
            UsersWrite,
            OutboxRead,
            DevicesApprove,
            SessionsManage,
            PatientsRead,
            PatientsWrite,
            CareTeamManage,
            AppointmentsRead,
            AppointmentsWrite,
            QueueManage,
            BillingRead,
            BillingWrite,
            ReportsRead,
            InventoryWrite,
        ],
        Role::Doctor => &[
            PatientsRead,
            PatientsWrite,
            CareTeamManage,
            ClinicalRead,
            ClinicalWrite,
            RestrictedRead,
            DiagnosesWrite,
            PrescriptionsRead,
            PrescriptionsWrite,
            LabOrdersRead,
            LabOrdersWrite,
            LabResultsRead,
            VitalsWrite,
            AppointmentsRead,
            AppointmentsWrite,
            BreakGlassUse,
        ],
        Role::Nurse => &[
            PatientsRead,
            ClinicalRead,
            VitalsWrite,
            AppointmentsRead,
            QueueManage,
            LabResultsRead,
            BreakGlassUse,
        ],
        Role::FrontDesk => &[
            PatientsRead,
            PatientsWrite,
            AppointmentsRead,
            AppointmentsWrite,
            QueueManage,
            BillingRead,
            BillingWrite,
        ],
        Role::Pharmacist => &[
            PatientsRead,
            PrescriptionsRead,
            DispensingWrite,
            InventoryWrite,
        ],
        Role::LabTechnician => &[PatientsRead, LabOrdersRead, LabResultsWrite],
        Role::Accountant => &[BillingRead, ReportsFinancial],
        Role::PrivacyOfficer => &[
            UsersRead,
            DataExport,
            AuditRead,
            RetentionRead,
            SecurityRead,
            PatientsRead,
            BreakGlassReview,
            PatientsErase,
            LegalHoldsManage,
        ],
    };
    PermissionSet::of(&base).union(PermissionSet::of(extra))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_catalogue_fits_the_bit_set_and_codes_round_trip() {
        assert!(Permission::ALL.len() <= 64);
        for (i, p) in Permission::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i);
            assert_eq!(p.as_str().parse::<Permission>(), Ok(*p));
        }
        assert!("patients:*".parse::<Permission>().is_err());
    }

    #[test]
    fn seed_rules_hold_in_the_default_bundles() {
        use Permission::*;
        let front = default_bundle(Role::FrontDesk);
        assert!(front.has(PatientsRead) && !front.has(ClinicalRead));
        for r in Role::ALL {
            let b = default_bundle(r);
            if b.has(DiagnosesWrite) || b.has(PrescriptionsWrite) {
                assert!(matches!(r, Role::Owner | Role::Doctor), "{r:?}");
            }
            if b.has(LabResultsWrite) {
                assert!(matches!(r, Role::Owner | Role::LabTechnician), "{r:?}");
            }
            assert!(!b.has(ClinicalReadAny), "{r:?}");
            if b.has(PatientsErase) {
                assert_eq!(
                    r,
                    Role::PrivacyOfficer,
                    "only the privacy officer erases by default"
                );
            }
        }
    }

    #[test]
    fn unknown_codes_are_refused() {
        assert!(PermissionSet::parse_codes("patients:read nope").is_err());
        assert_eq!(
            PermissionSet::parse_codes("patients:read, clinical:read").map(|s| s.to_codes()),
            Ok("patients:read clinical:read".to_owned())
        );
    }

    proptest! {
        #[test]
        fn codes_round_trip(bits in any::<u64>()) {
            let set = Permission::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .fold(PermissionSet::EMPTY, |s, (_, p)| s.with(*p));
            prop_assert_eq!(PermissionSet::parse_codes(&set.to_codes()), Ok(set));
        }
    }
}
