//! Staff roles (seeds 001–003). A user may hold several. What each role may
//! do is decided by the policy point in `clinicos-app`; this module only names
//! the roles and their stable codes.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A staff role. The code (`as_str`) is what is stored and sent over the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Organisation owner (super admin).
    Owner,
    BranchAdmin,
    Doctor,
    Nurse,
    /// Front desk / receptionist.
    FrontDesk,
    Pharmacist,
    LabTechnician,
    Accountant,
    PrivacyOfficer,
}

impl Role {
    /// The roles that must enrol a second factor in a new organisation
    /// (the ones that can change who may do what, or see every patient's
    /// access trail). The organisation may relax it; the change is audited.
    pub const MFA_REQUIRED_BY_DEFAULT: [Role; 3] =
        [Role::Owner, Role::BranchAdmin, Role::PrivacyOfficer];

    /// Every role, in the order the UI lists them.
    pub const ALL: [Role; 9] = [
        Role::Owner,
        Role::BranchAdmin,
        Role::Doctor,
        Role::Nurse,
        Role::FrontDesk,
        Role::Pharmacist,
        Role::LabTechnician,
        Role::Accountant,
        Role::PrivacyOfficer,
    ];

    /// The stable code stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::BranchAdmin => "branch_admin",
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::FrontDesk => "front_desk",
            Role::Pharmacist => "pharmacist",
            Role::LabTechnician => "lab_technician",
            Role::Accountant => "accountant",
            Role::PrivacyOfficer => "privacy_officer",
        }
    }

    /// Clinicians carry a registration number and may sign documents.
    pub fn is_clinician(self) -> bool {
        matches!(
            self,
            Role::Doctor | Role::Nurse | Role::Pharmacist | Role::LabTechnician
        )
    }
}

/// The role code was not one of [`Role::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown role '{0}'; expected one of owner, branch_admin, doctor, nurse, front_desk, pharmacist, lab_technician, accountant, privacy_officer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_code_round_trips() {
        for r in Role::ALL {
            assert_eq!(r, r.as_str().parse().unwrap());
        }
        assert!("superuser".parse::<Role>().is_err());
    }
}
