//! The audit catalogue: every action the audit trail records and every
//! kind of resource it names, with their stable names (the values stored
//! in `audit_events.action` and `resource_type`, so never renamed) and
//! what each means. `docs/AUDIT_EVENTS.md` is generated from this list and
//! a test keeps it current. Events are built by
//! `clinicos_store::governance::audit::AuditEvent`; no free-text action
//! name exists anywhere else.

/// Declares the actions with their stored name and meaning.
use crate::governance::access::Action;

macro_rules! actions {
    ($($variant:ident = $name:literal : $doc:literal,)*) => {
        /// An audited action.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AuditAction {
            $(#[doc = $doc] $variant,)*
        }

        impl AuditAction {
            /// Every action, in catalogue order.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stored name (`audit_events.action`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }

            /// What the action means.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $doc,)*
                }
            }
        }
    };
}

/// Declares the resource kinds with their stored name and meaning.
macro_rules! kinds {
    ($($variant:ident = $name:literal : $doc:literal,)*) => {
        /// The kind of resource an audit event names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResourceKind {
            $(#[doc = $doc] $variant,)*
        }

        impl ResourceKind {
            /// Every kind, in catalogue order.
            pub const ALL: &'static [ResourceKind] = &[$(ResourceKind::$variant,)*];

            /// The stored name (`audit_events.resource_type`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ResourceKind::$variant => $name,)*
                }
            }

            /// What the kind is.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ResourceKind::$variant => $doc,)*
                }
            }
        }
    };
}

actions! {
    AuthLogin = "auth.login" : "A staff sign-in (success, or refused with its reason).",
    AuthLogout = "auth.logout" : "A staff member signed out.",
    AuthRefresh = "auth.refresh" : "An access token was refreshed.",
    AuthMfa = "auth.mfa" : "A second-factor check at sign-in.",
    AuthMfaEnrolStart = "auth.mfa_enrol_start" : "A staff member began enrolling an authenticator.",
    AuthMfaEnabled = "auth.mfa_enabled" : "Two-step sign-in was turned on.",
    AuthMfaDisabled = "auth.mfa_disabled" : "Two-step sign-in was turned off.",
    AuthMfaReset = "auth.mfa_reset" : "An admin reset a staff member's two-step sign-in.",
    AuthPasswordChange = "auth.password_change" : "A staff member changed their password.",
    AuthPasswordResetRequested = "auth.password_reset_requested" : "A password-reset link was requested.",
    AuthPasswordReset = "auth.password_reset" : "A password was reset with a link.",
    AuthSessionEnd = "auth.session_end" : "A staff member ended one of their own sessions.",
    AuthSessionRevoke = "auth.session_revoke" : "An admin ended another staff member's session.",
    AuthDevicePending = "auth.device_pending" : "A sign-in from an unknown device waits for approval.",
    AuthDeviceApprove = "auth.device_approve" : "An admin approved a staff device.",
    AuthDeviceDeny = "auth.device_deny" : "An admin denied a staff device.",
    AuthDeviceExpired = "auth.device_expired" : "A pending device approval expired.",
    PortalOtpSent = "portal.otp_sent" : "A portal one-time code was sent.",
    PortalLogin = "portal.login" : "A patient signed in to the portal.",
    PortalLogout = "portal.logout" : "A patient signed out of the portal.",
    PortalDependantsRead = "portal.dependants.read" : "A patient read the dependants they may act for.",
    ConfigTenantUpdate = "config.tenant_update" : "The organisation's profile was changed.",
    ConfigTenantLogo = "config.tenant_logo" : "The organisation's logo was changed.",
    ConfigSubscriptionStatus = "config.subscription_status" : "The operator changed the tenant's subscription status.",
    ConfigBranchCreate = "config.branch_create" : "A branch was created.",
    ConfigBranchUpdate = "config.branch_update" : "A branch was changed.",
    TenantSignInSecurity = "tenant.sign_in_security" : "The organisation's sign-in security settings were changed.",
    StaffCreate = "staff.create" : "A staff member was invited.",
    StaffList = "staff.list" : "The staff directory was listed.",
    StaffProfileUpdate = "staff.profile_update" : "A staff profile was changed.",
    StaffImageUpdate = "staff.image_update" : "A staff avatar or signature image was changed.",
    StaffDeactivate = "staff.deactivate" : "A staff member was deactivated.",
    StaffReactivate = "staff.reactivate" : "A staff member was reactivated.",
    PermissionRolesChange = "permission.roles_change" : "A staff member's roles were changed.",
    PermissionBranchesChange = "permission.branches_change" : "A staff member's branches were changed.",
    PolicyDenied = "policy.denied" : "The policy point refused an action (reason: action and deny code).",
    PolicyBundleChanged = "policy.bundle_changed" : "A role's permission bundle was edited.",
    PolicyBundleReset = "policy.bundle_reset" : "A role's permission bundle was reset to its default.",
    PolicyGrantAdded = "policy.grant_added" : "A single permission was granted to a user.",
    PolicyGrantRevoked = "policy.grant_revoked" : "A single permission grant was revoked.",
    PolicySettingsChanged = "policy.settings_changed" : "The tenant's policy settings were changed.",
    BreakGlassOpened = "break_glass.opened" : "Emergency access to a patient's record was opened.",
    BreakGlassEnded = "break_glass.ended" : "Emergency access was ended.",
    BreakGlassList = "break_glass.list" : "Emergency accesses were listed for review.",
    BreakGlassReviewed = "break_glass.reviewed" : "An emergency access was reviewed.",
    SecurityEventAck = "security.event_ack" : "A security event was acknowledged.",
    SecuritySettings = "security.settings" : "The security thresholds and rate limits were changed.",
    AuditReportView = "audit.report_view" : "An access report over the audit trail was viewed.",
    ExportAuditReport = "export.audit_report" : "An access report was downloaded as CSV.",
    AuditChainKeyed = "audit.chain_keyed" : "The tenant's audit chain moved to event MACs and keyed links (written once, by the sealer, after the upgrade; events written before are linked no later).",
    ExportPatients = "export.patients" : "The bulk export of patient records.",
    ExportPatientRecord = "export.patient_record" : "One patient's record exported as JSON.",
    ExportPatientRecordPdf = "export.patient_record_pdf" : "One patient's record exported as PDF.",
    ExportTenantData = "export.tenant_data" : "The organisation's data export.",
    PatientCreated = "patient.created" : "A patient was registered.",
    PatientRead = "patient.read" : "A patient's demographics and contact details were read.",
    PatientList = "patient.list" : "A patient list or search (names the ids returned).",
    PatientUpdated = "patient.updated" : "A patient's registry fields were changed (names the fields).",
    PatientDeactivated = "patient.deactivated" : "A patient record was deactivated.",
    PatientReactivated = "patient.reactivated" : "A patient record was reactivated.",
    PatientDeceased = "patient.deceased" : "A patient was recorded as deceased.",
    PatientDuplicateWarning = "patient.duplicate_warning" : "A registration was warned of likely duplicates (names them).",
    PatientMerged = "patient.merged" : "A duplicate record was merged into another.",
    PatientUnmerged = "patient.unmerged" : "A merge was undone.",
    PatientMergesRead = "patient.merges.read" : "A record's merges were read.",
    PatientErased = "patient.erased" : "A patient record was erased: its data key destroyed, its rows deleted, a tombstone left (names the ids; the reason code and reference in the detail).",
    PatientErasureReplayed = "patient.erasure_replayed" : "An erasure remembered by the key store was applied again to this database at start-up (a restored backup).",
    PatientErasureChecked = "patient.erasure_checked" : "What stands in the way of erasing a record (legal holds, retention) was read.",
    PatientLegalHoldsRead = "patient.legal_holds.read" : "A record's legal holds were read.",
    PatientLegalHoldPlaced = "patient.legal_hold.placed" : "A legal hold was placed on a record (it cannot be erased).",
    PatientLegalHoldReleased = "patient.legal_hold.released" : "A legal hold was released.",
    PatientPhotoRead = "patient.photo.read" : "A patient's photo was read.",
    PatientPhotoUpdated = "patient.photo.updated" : "A patient's photo was set.",
    PatientPhotoDeleted = "patient.photo.deleted" : "A patient's photo was removed.",
    PatientLinksRead = "patient.links.read" : "A patient's family links were read.",
    PatientLinkCreated = "patient.link.created" : "A family link was added.",
    PatientLinkDeleted = "patient.link.deleted" : "A family link was removed.",
    PatientLinkConsentGiven = "patient.link.consent_given" : "An adolescent consented to a guardian's portal access.",
    PatientLinkConsentWithdrawn = "patient.link.consent_withdrawn" : "An adolescent withdrew that consent.",
    PatientCareTeamRead = "patient.care_team.read" : "A patient's care team was read.",
    PatientCareTeamAdded = "patient.care_team.added" : "A clinician joined a patient's care team.",
    PatientCareTeamRemoved = "patient.care_team.removed" : "A clinician left a patient's care team.",
    PatientHistoryRead = "patient.history.read" : "A patient's medical history was read.",
    PatientHistoryCreated = "patient.history.created" : "A history entry was added.",
    PatientHistoryUpdated = "patient.history.updated" : "A history entry was changed.",
    PatientAllergiesRead = "patient.allergies.read" : "A patient's allergies were read.",
    PatientAllergyCreated = "patient.allergy.created" : "An allergy was recorded.",
    PatientAllergyUpdated = "patient.allergy.updated" : "An allergy was changed.",
    PatientConditionsRead = "patient.conditions.read" : "A patient's chronic conditions were read.",
    PatientConditionCreated = "patient.condition.created" : "A chronic condition was recorded.",
    PatientConditionUpdated = "patient.condition.updated" : "A chronic condition was changed.",
    PatientMedicationsRead = "patient.medications.read" : "A patient's current medications were read.",
    PatientMedicationCreated = "patient.medication.created" : "A medication was recorded.",
    PatientMedicationUpdated = "patient.medication.updated" : "A medication was changed.",
    PatientAttachmentsRead = "patient.attachments.read" : "A patient's attachments were listed.",
    PatientAttachmentCreated = "patient.attachment.created" : "An attachment was uploaded.",
    PatientAttachmentDownloaded = "patient.attachment.downloaded" : "An attachment was downloaded.",
    PatientTimelineRead = "patient.timeline.read" : "A patient's timeline was read.",
    ShareLinksRead = "share_links.read" : "An attachment's share links were listed.",
    ShareLinkCreated = "share_link.created" : "A share link was created.",
    ShareLinkRevoked = "share_link.revoked" : "A share link was revoked.",
    ShareLinkUsed = "share_link.used" : "A share link was used to download its file.",
    ShareLinkRefused = "share_link.refused" : "A share link use was refused (expired, revoked or used up).",
    OutboxRead = "message.outbox_read" : "The development outbox was read (names the messages shown).",
}

kinds! {
    Action = "action" : "An action of the policy (for refusals without a record).",
    AuditEvent = "audit_event" : "Audit events (access reports).",
    Branch = "branch" : "A branch.",
    BreakGlass = "break_glass" : "An emergency access grant.",
    Device = "device" : "A staff device.",
    Patient = "patient" : "A patient record.",
    PatientAllergy = "patient.allergy" : "An allergy entry.",
    PatientAttachment = "patient.attachment" : "An attachment.",
    PatientCareTeam = "patient.care_team" : "A care-team membership.",
    PatientCondition = "patient.condition" : "A chronic condition entry.",
    PatientHistory = "patient.history" : "A medical-history entry.",
    PatientMedication = "patient.medication" : "A medication entry.",
    PatientTimeline = "patient.timeline" : "A patient's timeline.",
    Session = "session" : "A sign-in session.",
    ShareLink = "share_link" : "A share link.",
    Message = "message" : "A queued email or text message.",
    Tenant = "tenant" : "The organisation.",
    TenantData = "tenant_data" : "The organisation's data.",
    User = "user" : "A staff member or account.",
    Role = "role" : "A role (its permission bundle).",
    SecurityEvent = "security_event" : "A security event.",
}

/// Actions of the policy whose allowed uses write no audit event: reads of
/// configuration that holds no PHI (DESIGN.md audits PHI reads and writes,
/// sign-ins, permission and consent changes, exports and break-the-glass).
/// A refusal of any action is still recorded as `policy.denied`.
pub const UNAUDITED_READS: &[(Action, &str)] = &[
    (Action::ViewTenant, "the organisation's profile: no PHI"),
    (Action::ViewBranches, "branch addresses and hours: no PHI"),
    (
        Action::ViewSecurityEvents,
        "security events name users and IPs, no PHI",
    ),
    (
        Action::ViewRetention,
        "the retention periods that apply: no PHI",
    ),
];

/// The audit events that record allowed uses of a policy action (every
/// refusal is `policy.denied`). Exhaustive: a new policy action does not
/// compile until it says how its uses are recorded.
pub fn recorded_as(action: Action) -> &'static [AuditAction] {
    use AuditAction as A;
    match action {
        Action::ViewTenant
        | Action::ViewBranches
        | Action::ViewSecurityEvents
        | Action::ViewRetention => &[],
        Action::EditTenant => &[A::ConfigTenantUpdate, A::ConfigTenantLogo],
        Action::ManageBranches => &[A::ConfigBranchCreate, A::ConfigBranchUpdate],
        Action::ViewStaff => &[A::StaffList],
        Action::ManageStaff => &[
            A::StaffCreate,
            A::StaffProfileUpdate,
            A::StaffImageUpdate,
            A::StaffDeactivate,
            A::StaffReactivate,
            A::PermissionRolesChange,
            A::PermissionBranchesChange,
            A::AuthMfaReset,
        ],
        Action::ExportData => &[A::ExportTenantData],
        Action::ViewOutbox => &[A::OutboxRead],
        Action::ViewAudit => &[A::AuditReportView, A::ExportAuditReport],
        Action::ManageOwnAccount => &[
            A::AuthPasswordChange,
            A::AuthSessionEnd,
            A::AuthMfaEnrolStart,
            A::AuthMfaEnabled,
            A::AuthMfaDisabled,
            A::StaffProfileUpdate,
            A::StaffImageUpdate,
        ],
        Action::EditSignInSecurity => &[A::TenantSignInSecurity],
        Action::ApproveDevices => &[A::AuthDeviceApprove, A::AuthDeviceDeny],
        Action::ManageStaffSessions => &[A::AuthSessionRevoke],
        Action::ManagePolicy => &[
            A::PolicyBundleChanged,
            A::PolicyBundleReset,
            A::PolicyGrantAdded,
            A::PolicyGrantRevoked,
            A::PolicySettingsChanged,
        ],
        Action::ViewPatients => &[
            A::PatientRead,
            A::PatientList,
            A::PatientPhotoRead,
            A::PatientLinksRead,
            A::PatientMergesRead,
        ],
        Action::EditPatients => &[
            A::PatientCreated,
            A::PatientDuplicateWarning,
            A::PatientUpdated,
            A::PatientDeactivated,
            A::PatientReactivated,
            A::PatientDeceased,
            A::PatientPhotoUpdated,
            A::PatientPhotoDeleted,
            A::PatientLinkCreated,
            A::PatientLinkDeleted,
            A::PatientLinkConsentGiven,
            A::PatientLinkConsentWithdrawn,
        ],
        Action::ManageCareTeam => &[
            A::PatientCareTeamRead,
            A::PatientCareTeamAdded,
            A::PatientCareTeamRemoved,
        ],
        Action::ReadClinical => &[
            A::PatientHistoryRead,
            A::PatientAllergiesRead,
            A::PatientConditionsRead,
            A::PatientMedicationsRead,
            A::PatientAttachmentsRead,
            A::PatientAttachmentDownloaded,
            A::PatientTimelineRead,
            A::ExportPatientRecord,
            A::ExportPatientRecordPdf,
            A::ShareLinksRead,
        ],
        Action::WriteClinical => &[
            A::PatientHistoryCreated,
            A::PatientHistoryUpdated,
            A::PatientAllergyCreated,
            A::PatientAllergyUpdated,
            A::PatientConditionCreated,
            A::PatientConditionUpdated,
            A::PatientMedicationCreated,
            A::PatientMedicationUpdated,
            A::PatientAttachmentCreated,
            A::ShareLinkCreated,
            A::ShareLinkRevoked,
        ],
        Action::BreakGlass => &[A::BreakGlassOpened, A::BreakGlassEnded],
        Action::ReviewBreakGlass => &[A::BreakGlassList, A::BreakGlassReviewed],
        Action::ExportPatients => &[A::ExportPatients],
        Action::ManageSecuritySettings => &[A::SecuritySettings, A::SecurityEventAck],
        Action::MergePatients => &[A::PatientMerged, A::PatientUnmerged],
        Action::ErasePatients => &[A::PatientErased, A::PatientErasureChecked],
        Action::ManageLegalHolds => &[
            A::PatientLegalHoldsRead,
            A::PatientLegalHoldPlaced,
            A::PatientLegalHoldReleased,
        ],
    }
}

impl AuditAction {
    /// The action stored under `name`, if the catalogue has it.
    pub fn parse(name: &str) -> Option<AuditAction> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The catalogue as Markdown (`docs/AUDIT_EVENTS.md`).
pub fn markdown() -> String {
    let mut s = String::from(
        "# Audit events\n\n\
         Generated from `crates/domain/src/governance/audit_catalogue.rs` (a test \
         fails when this file differs; regenerate with `UPDATE_AUDIT_EVENTS=1 cargo \
         test -p clinicos-domain audit_catalogue`). The names are stored in \
         `audit_events.action` and `audit_events.resource_type` and never change.\n\n\
         Every event also records who (user, roles), tenant, branch, outcome \
         (success, denied, failure), a reason code, purpose of use, IP, user agent, \
         request id and time, and never a PHI value.\n\n\
         ## Actions\n\n| action | meaning |\n|---|---|\n",
    );
    for a in AuditAction::ALL {
        s.push_str(&format!("| `{}` | {} |\n", a.as_str(), a.meaning()));
    }
    s.push_str(
        "\n## Policy actions and their events\n\n\
         Every refusal is `policy.denied`; an allowed use writes these.\n\n\
         | policy action | events |\n|---|---|\n",
    );
    for a in Action::ALL {
        let events: Vec<String> = recorded_as(*a)
            .iter()
            .map(|e| format!("`{}`", e.as_str()))
            .collect();
        let cell = match UNAUDITED_READS.iter().find(|(u, _)| u == a) {
            Some((_, why)) => format!("none ({why})"),
            None => events.join(", "),
        };
        s.push_str(&format!("| {a:?} | {cell} |\n"));
    }
    s.push_str("\n## Resource kinds\n\n| kind | meaning |\n|---|---|\n");
    for k in ResourceKind::ALL {
        s.push_str(&format!("| `{}` | {} |\n", k.as_str(), k.meaning()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_shaped_like_names() {
        let names: BTreeSet<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        let kinds: BTreeSet<_> = ResourceKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds.len(), ResourceKind::ALL.len());
        for n in names.iter().chain(kinds.iter()) {
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{n}"
            );
        }
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
        }
        assert_eq!(AuditAction::parse("patient.reed"), None);
    }

    #[test]
    fn every_policy_action_is_recorded_or_a_listed_unaudited_read() {
        for a in Action::ALL {
            let exempt = UNAUDITED_READS.iter().any(|(u, _)| u == a);
            assert_eq!(recorded_as(*a).is_empty(), exempt, "{a:?}");
        }
    }

    #[test]
    fn the_audit_events_doc_is_generated_from_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/AUDIT_EVENTS.md");
        let want = markdown();
        if std::env::var_os("UPDATE_AUDIT_EVENTS").is_some() {
            std::fs::write(path, &want).expect("write docs/AUDIT_EVENTS.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/AUDIT_EVENTS.md is not the catalogue's; run UPDATE_AUDIT_EVENTS=1 cargo test -p clinicos-domain audit_catalogue"
        );
    }
}
