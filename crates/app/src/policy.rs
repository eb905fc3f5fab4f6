//! The policy point: every action is decided here, `(subject, action) ->
//! allow / deny with a reason`. Routes declare their [`Action`]; services
//! call [`authorize`] before touching data. This release grants by role
//! (seed 003's matrix for the actions that exist so far); the trust-core
//! work turns the bundles into editable data and adds attributes, consent
//! and break-the-glass behind this same function.

use crate::{App, AppError, Ctx};
use clinicos_domain::Role;
use clinicos_store::audit::{self, AuditEvent, Outcome};

/// Everything a tenant user can ask to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the organisation profile (every staff member).
    ViewTenant,
    /// Edit the organisation profile, logo, session limits.
    EditTenant,
    /// See the branch list (every staff member, for the switcher).
    ViewBranches,
    /// Create or edit branches.
    ManageBranches,
    /// See the staff directory.
    ViewStaff,
    /// Invite staff, change roles and branches, deactivate.
    ManageStaff,
    /// Read the development outbox (messages not yet sent by a provider).
    ViewOutbox,
    /// Download the organisation's records (also while suspended).
    ExportData,
    /// Read the audit trail and access reports ("who saw what").
    ViewAudit,
    /// Own profile, password, sessions, second factor: every signed-in user.
    ManageOwnAccount,
    /// Set which roles must use MFA and whether new devices need approval.
    EditSignInSecurity,
    /// List, approve and deny staff sign-in devices.
    ApproveDevices,
    /// List and end other staff members' sessions.
    ManageStaffSessions,
    /// See the organisation's retention periods (jurisdiction packs).
    ViewRetention,
}

impl Action {
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
            Action::ViewRetention => "view retention periods",
        }
    }
}

/// Does any of these roles grant the action?
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Owner => true,
        Role::BranchAdmin => matches!(
            action,
            ViewTenant
                | ViewBranches
                | ViewStaff
                | ManageStaff
                | ViewOutbox
                | ManageOwnAccount
                | ApproveDevices
                | ManageStaffSessions
        ),
        Role::PrivacyOfficer => matches!(
            action,
            ViewTenant
                | ViewBranches
                | ViewStaff
                | ExportData
                | ViewAudit
                | ManageOwnAccount
                | ViewRetention
        ),
        Role::Doctor
        | Role::Nurse
        | Role::FrontDesk
        | Role::Pharmacist
        | Role::LabTechnician
        | Role::Accountant => {
            matches!(action, ViewTenant | ViewBranches | ManageOwnAccount)
        }
    }
}

/// The decision, with the reason recorded when denied.
pub fn decide(roles: &[Role], action: Action) -> Result<(), String> {
    if roles.iter().any(|r| role_allows(*r, action)) {
        Ok(())
    } else {
        Err(format!("no role grants {action:?}"))
    }
}

/// Authorize or fail with 403, without recording anything (for checks
/// that only shape what a page shows; actions go through
/// [`App::authorize`], which audits denials).
pub fn authorize(ctx: &Ctx, action: Action) -> Result<(), AppError> {
    decide(&ctx.roles, action).map_err(|_| AppError::Forbidden(action.describe().to_owned()))
}

impl App {
    /// The policy point for actions: allow, or deny with 403 and an audit
    /// event (`policy.denied`, the action's name as the reason). A denial
    /// whose audit cannot be written is still a denial.
    pub async fn authorize(&self, ctx: &Ctx, action: Action) -> Result<(), AppError> {
        let Err(_) = decide(&ctx.roles, action) else {
            return Ok(());
        };
        let now = self.clock.now();
        let reason = format!("{action:?}");
        let ev = AuditEvent {
            at: now,
            action: "policy.denied",
            resource_type: "action",
            resource_ids: Vec::new(),
            outcome: Outcome::Denied,
            reason: &reason,
        };
        match self.store.write(ctx.tenant).await {
            Ok(mut tx) => {
                let written = audit::record(&mut tx, &ctx.actor(), ev).await;
                if written.is_err() || tx.commit().await.is_err() {
                    tracing::warn!(code = "policy.denied", "could not audit a denial");
                }
            }
            Err(_) => tracing::warn!(code = "policy.denied", "could not audit a denial"),
        }
        Err(AppError::Forbidden(action.describe().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_desk_cannot_manage_staff_but_owner_can() {
        assert!(decide(&[Role::FrontDesk], Action::ManageStaff).is_err());
        assert!(decide(&[Role::Owner], Action::ManageStaff).is_ok());
        assert!(decide(&[Role::Nurse, Role::BranchAdmin], Action::ManageStaff).is_ok());
        assert!(decide(&[Role::BranchAdmin], Action::EditTenant).is_err());
        assert!(decide(&[Role::BranchAdmin], Action::EditSignInSecurity).is_err());
        assert!(decide(&[Role::BranchAdmin], Action::ApproveDevices).is_ok());
        assert!(decide(&[Role::Doctor], Action::ManageStaffSessions).is_err());
        for r in Role::ALL {
            assert!(role_allows(r, Action::ManageOwnAccount), "{r:?}");
        }
    }
}

#[cfg(test)]
mod matrix {
    use super::*;

    const ACTIONS: [Action; 14] = [
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
        Action::ViewRetention,
    ];

    /// Every variant must be listed above (a new action fails to compile
    /// here until it is added, then fails the matrix test until documented).
    fn listed(a: Action) -> bool {
        match a {
            Action::ViewTenant
            | Action::EditTenant
            | Action::ViewBranches
            | Action::ManageBranches
            | Action::ViewStaff
            | Action::ManageStaff
            | Action::ViewOutbox
            | Action::ExportData
            | Action::ViewAudit
            | Action::ManageOwnAccount
            | Action::EditSignInSecurity
            | Action::ApproveDevices
            | Action::ManageStaffSessions
            | Action::ViewRetention => ACTIONS.contains(&a),
        }
    }

    #[test]
    fn the_matrix_in_docs_permissions_md_is_what_the_code_decides() {
        let doc = include_str!("../../../docs/PERMISSIONS.md");
        let mut lines = doc.lines().filter(|l| l.starts_with('|'));
        let header: Vec<&str> = lines
            .next()
            .expect("header")
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let roles: Vec<Role> = header[2..]
            .iter()
            .map(|r| r.parse().expect("role column"))
            .collect();
        assert_eq!(roles.len(), Role::ALL.len(), "every role has a column");
        let mut seen = Vec::new();
        for line in lines.skip(1) {
            let cells: Vec<&str> = line
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let action = ACTIONS
                .iter()
                .copied()
                .find(|a| format!("{a:?}") == cells[0])
                .unwrap_or_else(|| panic!("unknown action {}", cells[0]));
            assert!(listed(action));
            for (role, cell) in roles.iter().zip(&cells[2..]) {
                let expected = match *cell {
                    "yes" => true,
                    "no" => false,
                    other => panic!("cell must be yes or no, not {other}"),
                };
                assert_eq!(
                    decide(&[*role], action).is_ok(),
                    expected,
                    "{action:?} for {role:?}"
                );
            }
            seen.push(action);
        }
        for a in ACTIONS {
            assert!(
                seen.contains(&a),
                "{a:?} is missing from docs/PERMISSIONS.md"
            );
        }
    }
}
