//! The access decision, pure: `(subject, action, target) -> allow / deny
//! with a reason`. Permissions come from role bundles and single grants;
//! attributes decide the rest: branch membership, a care relationship with
//! the patient ("own patients"), the record's sensitivity tier, its author
//! and signed state, the patient's consent, and break-the-glass. The app's
//! policy point gathers the facts and audits the outcome; this module only
//! decides, so every rule is property-tested here.

use crate::governance::permission::{Permission, PermissionSet};
use crate::{BranchId, UserId};
use serde::Serialize;
use std::str::FromStr;

/// Everything a tenant user can ask to do. Each action needs one permission
/// (none for one's own account); clinical actions also need the patient
/// attributes below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    ViewTenant,
    EditTenant,
    ViewBranches,
    ManageBranches,
    ViewStaff,
    ManageStaff,
    ViewOutbox,
    ExportData,
    ViewAudit,
    ManageOwnAccount,
    EditSignInSecurity,
    ApproveDevices,
    ManageStaffSessions,
    ManagePolicy,
    ViewPatients,
    EditPatients,
    ManageCareTeam,
    ReadClinical,
    WriteClinical,
    BreakGlass,
    ReviewBreakGlass,
    ExportPatients,
    ViewSecurityEvents,
    ManageSecuritySettings,
    ViewRetention,
    MergePatients,
    ErasePatients,
    ManageLegalHolds,
}

impl Action {
    /// Every action (the matrix in docs/PERMISSIONS.md lists each).
    pub const ALL: &'static [Action] = &[
        Action::ViewTenant,
        Action::EditTenant,
        Action::ViewBranches,
        Action::ManageBranches,
        Action::ViewStaff,
        Action::ManageStaff,
        Action::ViewOutbox,
        Action::ExportData,
        Action::ViewAudit,
        Action::ManageOwnAccount,
        Action::EditSignInSecurity,
        Action::ApproveDevices,
        Action::ManageStaffSessions,
        Action::ManagePolicy,
        Action::ViewPatients,
        Action::EditPatients,
        Action::ManageCareTeam,
        Action::ReadClinical,
        Action::WriteClinical,
        Action::BreakGlass,
        Action::ReviewBreakGlass,
        Action::ExportPatients,
        Action::ViewSecurityEvents,
        Action::ManageSecuritySettings,
        Action::ViewRetention,
        Action::MergePatients,
        Action::ErasePatients,
        Action::ManageLegalHolds,
    ];

    /// The permission the action needs; `None` = every signed-in user.
    pub fn permission(self) -> Option<Permission> {
        use Permission as P;
        Some(match self {
            Action::ViewTenant => P::TenantRead,
            Action::EditTenant => P::TenantWrite,
            Action::ViewBranches => P::BranchesRead,
            Action::ManageBranches => P::BranchesWrite,
            Action::ViewStaff => P::UsersRead,
            Action::ManageStaff => P::UsersWrite,
            Action::ViewOutbox => P::OutboxRead,
            Action::ExportData => P::DataExport,
            Action::ViewAudit => P::AuditRead,
            Action::ManageOwnAccount => return None,
            Action::EditSignInSecurity => P::SignInSecurityWrite,
            Action::ApproveDevices => P::DevicesApprove,
            Action::ManageStaffSessions => P::SessionsManage,
            Action::ManagePolicy => P::PolicyWrite,
            Action::ViewPatients => P::PatientsRead,
            Action::EditPatients => P::PatientsWrite,
            Action::ManageCareTeam => P::CareTeamManage,
            Action::ReadClinical => P::ClinicalRead,
            Action::WriteClinical => P::ClinicalWrite,
            Action::BreakGlass => P::BreakGlassUse,
            Action::ReviewBreakGlass => P::BreakGlassReview,
            Action::ExportPatients => P::ExportPatients,
            Action::ViewSecurityEvents => P::SecurityRead,
            Action::ManageSecuritySettings => P::SecurityWrite,
            Action::ViewRetention => P::RetentionRead,
            Action::MergePatients => P::PatientsMerge,
            Action::ErasePatients => P::PatientsErase,
            Action::ManageLegalHolds => P::LegalHoldsManage,
        })
    }

    /// Clinical content: needs a care relationship (or break-the-glass),
    /// consent, and the tier's own permission.
    pub fn is_clinical(self) -> bool {
        matches!(self, Action::ReadClinical | Action::WriteClinical)
    }

    /// Wording for "you do not have permission to ...".
    pub fn describe(self) -> &'static str {
        match self {
            Action::ViewTenant => "view the organisation",
            Action::EditTenant => "edit the organisation",
            Action::ViewBranches => "view branches",
            Action::ManageBranches => "manage branches",
            Action::ViewStaff => "view staff",
            Action::ManageStaff => "manage staff",
            Action::ViewOutbox => "view the outbox",
            Action::ExportData => "export the organisation's data",
            Action::ViewAudit => "view the audit trail",
            Action::ManageOwnAccount => "manage your account",
            Action::EditSignInSecurity => "change sign-in security settings",
            Action::ApproveDevices => "approve staff devices",
            Action::ManageStaffSessions => "manage staff sessions",
            Action::ManagePolicy => "change roles and permissions",
            Action::ViewPatients => "view patients",
            Action::EditPatients => "register or edit patients",
            Action::ManageCareTeam => "change a patient's care team",
            Action::ReadClinical => "read this clinical record",
            Action::WriteClinical => "change this clinical record",
            Action::BreakGlass => "use emergency access",
            Action::ReviewBreakGlass => "review emergency access",
            Action::ExportPatients => "export patient records",
            Action::ViewSecurityEvents => "view security events",
            Action::ManageSecuritySettings => "change security settings",
            Action::ViewRetention => "view retention periods",
            Action::MergePatients => "merge or unmerge patient records",
            Action::ErasePatients => "erase patient records",
            Action::ManageLegalHolds => "manage legal holds on patient records",
        }
    }
}

/// Why a record is sensitive. Anything but `Normal` is the restricted tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    Normal,
    HivSti,
    MentalHealth,
    /// US 42 CFR Part 2.
    SubstanceUse,
    Genetics,
    ReproductiveSexual,
}

impl Sensitivity {
    pub const ALL: [Sensitivity; 6] = [
        Sensitivity::Normal,
        Sensitivity::HivSti,
        Sensitivity::MentalHealth,
        Sensitivity::SubstanceUse,
        Sensitivity::Genetics,
        Sensitivity::ReproductiveSexual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Normal => "normal",
            Sensitivity::HivSti => "hiv_sti",
            Sensitivity::MentalHealth => "mental_health",
            Sensitivity::SubstanceUse => "substance_use",
            Sensitivity::Genetics => "genetics",
            Sensitivity::ReproductiveSexual => "reproductive_sexual",
        }
    }

    pub fn is_restricted(self) -> bool {
        self != Sensitivity::Normal
    }
}

impl FromStr for Sensitivity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sensitivity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown sensitivity {s:?}"))
    }
}

/// The acting user as the decision sees them.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    pub user: UserId,
    pub permissions: PermissionSet,
    pub branches: &'a [BranchId],
    /// Owners and privacy officers act for the whole organisation.
    pub tenant_wide: bool,
    /// The organisation's owner (the only one who makes owners).
    pub owner: bool,
}

/// What the decision knows about the patient, gathered by the policy point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatientFacts {
    /// On the care team, or an appointment or visit with the subject within
    /// the tenant's window.
    pub care_relationship: bool,
    /// The subject holds an unexpired break-the-glass grant for the patient.
    pub break_glass: bool,
    /// The consent hook's answer for this purpose.
    pub consent_refused: bool,
}

/// What the decision knows about one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFacts {
    pub sensitivity: Sensitivity,
    pub author: Option<UserId>,
    pub signed: bool,
    /// The branch the record was made in.
    pub branch: Option<BranchId>,
}

/// The target of an action.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target<'a> {
    /// The branch a branch-scoped resource belongs to.
    pub branch: Option<BranchId>,
    pub patient: Option<&'a PatientFacts>,
    pub record: Option<&'a RecordFacts>,
    /// Branches an action grants or changes (staff access): each must be
    /// the subject's, as `branch` must.
    pub branches: &'a [BranchId],
    /// The action makes someone an owner: only an owner may.
    pub grants_owner: bool,
    /// The user the action is about, where acting on oneself is refused
    /// (reviewing one's own emergency access).
    pub about_user: Option<UserId>,
}

/// Tenant policy settings the decision reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantRules {
    /// Clinicians with a care relationship see clinical records made in
    /// other branches (default true: one organisation, one chart).
    pub clinical_cross_branch: bool,
}

impl Default for TenantRules {
    fn default() -> Self {
        TenantRules {
            clinical_cross_branch: true,
        }
    }
}

/// How access was allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allow {
    Normal,
    /// Only through break-the-glass: every read is flagged in the audit.
    BreakGlass,
}

/// Why access was denied (the code goes into the audit event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deny {
    MissingPermission(Permission),
    OtherBranch,
    NoCareRelationship,
    Restricted,
    ConsentRefused,
    Signed,
    NotAuthor,
    /// Only the owner makes owners.
    OwnerOnly,
    /// A check of oneself (an emergency access review) needs someone else.
    OwnAction,
}

impl Deny {
    pub fn code(self) -> String {
        match self {
            Deny::MissingPermission(p) => format!("missing:{p}"),
            Deny::OtherBranch => "other_branch".into(),
            Deny::NoCareRelationship => "no_care_relationship".into(),
            Deny::Restricted => "restricted".into(),
            Deny::ConsentRefused => "consent_refused".into(),
            Deny::Signed => "signed".into(),
            Deny::NotAuthor => "not_author".into(),
            Deny::OwnerOnly => "owner_only".into(),
            Deny::OwnAction => "own_action".into(),
        }
    }
}

/// The decision.
pub fn decide(s: &Subject, a: Action, t: &Target, rules: &TenantRules) -> Result<Allow, Deny> {
    if let Some(p) = a.permission() {
        if !s.permissions.has(p) {
            return Err(Deny::MissingPermission(p));
        }
    }
    let in_branch = |b: Option<BranchId>| match b {
        Some(b) => s.tenant_wide || s.branches.contains(&b),
        None => true,
    };
    if !in_branch(t.branch) || t.branches.iter().any(|b| !in_branch(Some(*b))) {
        return Err(Deny::OtherBranch);
    }
    if t.grants_owner && !s.owner {
        return Err(Deny::OwnerOnly);
    }
    if a == Action::ReviewBreakGlass && t.about_user == Some(s.user) {
        return Err(Deny::OwnAction);
    }
    if !a.is_clinical() {
        return Ok(Allow::Normal);
    }
    let facts = t.patient.copied().unwrap_or_default();
    if facts.consent_refused {
        return Err(Deny::ConsentRefused);
    }
    let care = facts.care_relationship;
    let allow =
        if care || s.permissions.has(Permission::ClinicalReadAny) && a == Action::ReadClinical {
            Allow::Normal
        } else if facts.break_glass {
            Allow::BreakGlass
        } else {
            return Err(Deny::NoCareRelationship);
        };
    if let Some(r) = t.record {
        // Restricted: the permission and an explicit care relationship;
        // neither a tenant-wide read grant nor break-the-glass opens it.
        if r.sensitivity.is_restricted() && !(care && s.permissions.has(Permission::RestrictedRead))
        {
            return Err(Deny::Restricted);
        }
        if !rules.clinical_cross_branch && !in_branch(r.branch) {
            return Err(Deny::OtherBranch);
        }
        if a == Action::WriteClinical {
            if r.signed {
                return Err(Deny::Signed);
            }
            if r.author.is_some_and(|au| au != s.user) {
                return Err(Deny::NotAuthor);
            }
        }
    }
    Ok(allow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::permission::default_bundle;
    use crate::Role;
    use proptest::prelude::*;

    fn subject(role: Role, branches: &[BranchId]) -> Subject<'_> {
        Subject {
            user: UserId::new(),
            permissions: default_bundle(role),
            branches,
            tenant_wide: role == Role::Owner,
            owner: role == Role::Owner,
        }
    }

    #[test]
    fn only_an_owner_makes_owners_and_staff_access_stays_in_ones_branches() {
        let (b1, b2) = (BranchId::new(), BranchId::new());
        let mine = [b1];
        let admin = subject(Role::BranchAdmin, &mine);
        let owner = subject(Role::Owner, &[]);
        let rules = TenantRules::default();
        let grant = |s: &Subject, branches: &[BranchId], grants_owner: bool| {
            decide(
                s,
                Action::ManageStaff,
                &Target {
                    branches,
                    grants_owner,
                    ..Target::default()
                },
                &rules,
            )
        };
        assert_eq!(grant(&admin, &[b1], false), Ok(Allow::Normal));
        assert_eq!(grant(&admin, &[b1, b2], false), Err(Deny::OtherBranch));
        assert_eq!(grant(&admin, &[b1], true), Err(Deny::OwnerOnly));
        assert_eq!(grant(&owner, &[b1, b2], true), Ok(Allow::Normal));
    }

    #[test]
    fn nobody_reviews_their_own_emergency_access() {
        let po = subject(Role::PrivacyOfficer, &[]);
        let review = |about: UserId| {
            decide(
                &po,
                Action::ReviewBreakGlass,
                &Target {
                    about_user: Some(about),
                    ..Target::default()
                },
                &TenantRules::default(),
            )
        };
        assert_eq!(review(po.user), Err(Deny::OwnAction));
        assert_eq!(review(UserId::new()), Ok(Allow::Normal));
    }

    fn record(sensitivity: Sensitivity, author: Option<UserId>) -> RecordFacts {
        RecordFacts {
            sensitivity,
            author,
            signed: false,
            branch: None,
        }
    }

    const CARE: PatientFacts = PatientFacts {
        care_relationship: true,
        break_glass: false,
        consent_refused: false,
    };

    #[test]
    fn a_doctor_reads_own_patients_but_not_another_doctors() {
        let d = subject(Role::Doctor, &[]);
        let rules = TenantRules::default();
        let own = Target {
            patient: Some(&CARE),
            ..Target::default()
        };
        assert_eq!(
            decide(&d, Action::ReadClinical, &own, &rules),
            Ok(Allow::Normal)
        );
        let other = PatientFacts::default();
        let t = Target {
            patient: Some(&other),
            ..Target::default()
        };
        assert_eq!(
            decide(&d, Action::ReadClinical, &t, &rules),
            Err(Deny::NoCareRelationship)
        );
        let glass = PatientFacts {
            break_glass: true,
            ..PatientFacts::default()
        };
        let t = Target {
            patient: Some(&glass),
            ..Target::default()
        };
        assert_eq!(
            decide(&d, Action::ReadClinical, &t, &rules),
            Ok(Allow::BreakGlass)
        );
    }

    #[test]
    fn restricted_needs_the_permission_and_a_care_relationship() {
        let rules = TenantRules::default();
        let rec = record(Sensitivity::MentalHealth, None);
        let t = Target {
            patient: Some(&CARE),
            record: Some(&rec),
            ..Target::default()
        };
        assert_eq!(
            decide(
                &subject(Role::Doctor, &[]),
                Action::ReadClinical,
                &t,
                &rules
            ),
            Ok(Allow::Normal)
        );
        assert_eq!(
            decide(&subject(Role::Nurse, &[]), Action::ReadClinical, &t, &rules),
            Err(Deny::Restricted)
        );
        let glass = PatientFacts {
            break_glass: true,
            ..PatientFacts::default()
        };
        let t = Target {
            patient: Some(&glass),
            record: Some(&rec),
            ..Target::default()
        };
        assert_eq!(
            decide(
                &subject(Role::Doctor, &[]),
                Action::ReadClinical,
                &t,
                &rules
            ),
            Err(Deny::Restricted)
        );
    }

    #[test]
    fn only_the_author_edits_and_never_once_signed() {
        let d = subject(Role::Doctor, &[]);
        let rules = TenantRules::default();
        let mine = record(Sensitivity::Normal, Some(d.user));
        let theirs = record(Sensitivity::Normal, Some(UserId::new()));
        let signed = RecordFacts {
            signed: true,
            ..mine
        };
        let at = |r: &RecordFacts| {
            decide(
                &d,
                Action::WriteClinical,
                &Target {
                    patient: Some(&CARE),
                    record: Some(r),
                    ..Target::default()
                },
                &rules,
            )
        };
        assert_eq!(at(&mine), Ok(Allow::Normal));
        assert_eq!(at(&theirs), Err(Deny::NotAuthor));
        assert_eq!(at(&signed), Err(Deny::Signed));
    }

    #[test]
    fn branch_scope_and_cross_branch_setting() {
        let (a, b) = (BranchId::new(), BranchId::new());
        let branches = [a];
        let admin = subject(Role::BranchAdmin, &branches);
        let rules = TenantRules::default();
        let in_b = Target {
            branch: Some(b),
            ..Target::default()
        };
        assert_eq!(
            decide(&admin, Action::ManageStaff, &in_b, &rules),
            Err(Deny::OtherBranch)
        );
        assert!(decide(
            &subject(Role::Owner, &[]),
            Action::ManageStaff,
            &in_b,
            &rules
        )
        .is_ok());
        let d = subject(Role::Doctor, &branches);
        let rec = RecordFacts {
            branch: Some(b),
            ..record(Sensitivity::Normal, None)
        };
        let t = Target {
            patient: Some(&CARE),
            record: Some(&rec),
            ..Target::default()
        };
        assert!(decide(&d, Action::ReadClinical, &t, &rules).is_ok());
        let strict = TenantRules {
            clinical_cross_branch: false,
        };
        assert_eq!(
            decide(&d, Action::ReadClinical, &t, &strict),
            Err(Deny::OtherBranch)
        );
    }

    #[test]
    fn a_single_grant_adds_exactly_that_permission() {
        let mut n = subject(Role::Nurse, &[]);
        let rules = TenantRules::default();
        let t = Target {
            patient: Some(&CARE),
            ..Target::default()
        };
        assert!(decide(&n, Action::WriteClinical, &t, &rules).is_err());
        n.permissions = n.permissions.with(Permission::ClinicalWrite);
        assert!(decide(&n, Action::WriteClinical, &t, &rules).is_ok());
        assert!(decide(&n, Action::ManageStaff, &t, &rules).is_err());
    }

    fn any_facts() -> impl Strategy<Value = PatientFacts> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(c, b, r)| PatientFacts {
            care_relationship: c,
            break_glass: b,
            consent_refused: r,
        })
    }

    proptest! {
        /// Properties of every decision: no permission, no access; refused
        /// consent is never overridden; restricted records never open
        /// without care + restricted permission; break-the-glass is the only
        /// flagged path and needs a grant.
        #[test]
        fn invariants(role in 0usize..9, facts in any_facts(), sens in 0usize..6, write in any::<bool>(), extra in any::<u64>()) {
            let mut s = subject(Role::ALL[role], &[]);
            s.permissions = Permission::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| extra & (1 << i) != 0)
                .fold(s.permissions, |set, (_, p)| set.with(*p));
            let a = if write { Action::WriteClinical } else { Action::ReadClinical };
            let rec = record(Sensitivity::ALL[sens], None);
            let t = Target { patient: Some(&facts), record: Some(&rec), ..Target::default() };
            let d = decide(&s, a, &t, &TenantRules::default());
            if let Some(p) = a.permission() {
                if !s.permissions.has(p) { prop_assert_eq!(d, Err(Deny::MissingPermission(p))); }
            }
            if d.is_ok() {
                prop_assert!(!facts.consent_refused);
                if rec.sensitivity.is_restricted() {
                    prop_assert!(facts.care_relationship && s.permissions.has(Permission::RestrictedRead));
                }
            }
            if d == Ok(Allow::BreakGlass) {
                prop_assert!(facts.break_glass && !facts.care_relationship);
            }
        }
    }
}
