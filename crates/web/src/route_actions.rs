//! What every route does in the policy's terms: one declared action per API
//! operation and per page. The service behind a route calls the policy
//! point with this action; the OpenAPI document publishes it as
//! `x-clinicos-action`; a test enumerates the built router and fails when a
//! route has no declaration here (or a declaration names no route).

use clinicos_app::governance::policy::Action;

/// A route's declared access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Declared {
    /// No credential: sign-in, password reset, health, the API document.
    Public,
    /// Platform operator console (its own accounts and sessions).
    Operator,
    /// A patient signed in to the portal, acting on their own record (the
    /// portal policy point in `clinicos_app::identity::portal_session`).
    Portal,
    /// A tenant action decided by the policy point.
    Act(Action),
}

impl Declared {
    /// The published name (`ViewPatients`, `public`, `operator`).
    pub fn name(self) -> String {
        match self {
            Declared::Public => "public".into(),
            Declared::Operator => "operator".into(),
            Declared::Portal => "portal".into(),
            Declared::Act(a) => format!("{a:?}"),
        }
    }
}

use Action::*;
use Declared::{Act, Operator as Op, Portal, Public};

/// Every API operation: (method, path, access).
pub const API: &[(&str, &str, Declared)] = &[
    ("GET", "/api/v1/audit/events", Act(ViewAudit)),
    ("GET", "/api/v1/audit/events.csv", Act(ViewAudit)),
    ("GET", "/api/v1/audit/public-key", Public),
    ("POST", "/api/v1/auth/login", Public),
    ("POST", "/api/v1/auth/mfa", Public),
    ("POST", "/api/v1/auth/refresh", Public),
    ("POST", "/api/v1/auth/logout", Public),
    ("POST", "/api/v1/auth/forgot-password", Public),
    ("POST", "/api/v1/auth/reset-password", Public),
    ("GET", "/api/v1/policy", Act(ManagePolicy)),
    ("PUT", "/api/v1/policy/roles/{role}", Act(ManagePolicy)),
    ("DELETE", "/api/v1/policy/roles/{role}", Act(ManagePolicy)),
    ("POST", "/api/v1/policy/grants", Act(ManagePolicy)),
    ("DELETE", "/api/v1/policy/grants/{id}", Act(ManagePolicy)),
    ("PUT", "/api/v1/policy/settings", Act(ManagePolicy)),
    ("GET", "/api/v1/break-glass", Act(ReviewBreakGlass)),
    (
        "POST",
        "/api/v1/break-glass/{id}/review",
        Act(ReviewBreakGlass),
    ),
    ("POST", "/api/v1/break-glass/{id}/end", Act(BreakGlass)),
    ("GET", "/api/v1/me", Act(ManageOwnAccount)),
    ("PATCH", "/api/v1/me", Act(ManageOwnAccount)),
    ("POST", "/api/v1/me/password", Act(ManageOwnAccount)),
    ("GET", "/api/v1/me/sessions", Act(ManageOwnAccount)),
    ("DELETE", "/api/v1/me/sessions/{id}", Act(ManageOwnAccount)),
    ("POST", "/api/v1/me/branch", Act(ManageOwnAccount)),
    ("GET", "/api/v1/me/mfa", Act(ManageOwnAccount)),
    ("POST", "/api/v1/me/mfa/totp", Act(ManageOwnAccount)),
    ("POST", "/api/v1/me/mfa/totp/confirm", Act(ManageOwnAccount)),
    ("POST", "/api/v1/me/mfa/totp/disable", Act(ManageOwnAccount)),
    ("PUT", "/api/v1/me/avatar", Act(ManageOwnAccount)),
    ("PUT", "/api/v1/me/signature", Act(ManageOwnAccount)),
    ("POST", "/api/v1/operator/auth/login", Public),
    ("POST", "/api/v1/operator/auth/logout", Op),
    ("GET", "/api/v1/operator/tenants", Op),
    ("POST", "/api/v1/operator/tenants", Op),
    ("POST", "/api/v1/operator/tenants/{id}/status", Op),
    ("GET", "/api/v1/operator/regions", Op),
    ("POST", "/api/v1/operator/regions", Op),
    ("GET", "/api/v1/operator/plans", Op),
    ("POST", "/api/v1/operator/plans", Op),
    ("GET", "/api/v1/tenant", Act(ViewTenant)),
    ("PATCH", "/api/v1/tenant", Act(EditTenant)),
    ("GET", "/api/v1/tenant/logo", Act(ViewTenant)),
    ("PUT", "/api/v1/tenant/logo", Act(EditTenant)),
    ("GET", "/api/v1/tenant/export", Act(ExportData)),
    ("GET", "/api/v1/tenant/retention", Act(ViewRetention)),
    (
        "PUT",
        "/api/v1/tenant/sign-in-security",
        Act(EditSignInSecurity),
    ),
    ("GET", "/api/v1/branches", Act(ViewBranches)),
    ("POST", "/api/v1/branches", Act(ManageBranches)),
    ("GET", "/api/v1/branches/{id}", Act(ViewBranches)),
    ("PATCH", "/api/v1/branches/{id}", Act(ManageBranches)),
    ("GET", "/api/v1/staff", Act(ViewStaff)),
    ("POST", "/api/v1/staff", Act(ManageStaff)),
    ("GET", "/api/v1/staff/{id}", Act(ViewStaff)),
    ("PATCH", "/api/v1/staff/{id}", Act(ManageStaff)),
    ("GET", "/api/v1/staff/{id}/avatar", Act(ViewTenant)),
    ("GET", "/api/v1/staff/device-approvals", Act(ApproveDevices)),
    (
        "POST",
        "/api/v1/staff/device-approvals/{id}/approve",
        Act(ApproveDevices),
    ),
    (
        "POST",
        "/api/v1/staff/device-approvals/{id}/deny",
        Act(ApproveDevices),
    ),
    (
        "GET",
        "/api/v1/staff/{id}/sessions",
        Act(ManageStaffSessions),
    ),
    (
        "DELETE",
        "/api/v1/staff/{id}/sessions/{sid}",
        Act(ManageStaffSessions),
    ),
    ("GET", "/api/v1/outbox", Act(ViewOutbox)),
    ("GET", "/api/v1/patients", Act(ViewPatients)),
    ("POST", "/api/v1/patients", Act(EditPatients)),
    ("GET", "/api/v1/patients/{id}", Act(ViewPatients)),
    ("PATCH", "/api/v1/patients/{id}", Act(EditPatients)),
    (
        "GET",
        "/api/v1/patients/identifier-kinds",
        Act(ViewPatients),
    ),
    (
        "POST",
        "/api/v1/patients/{id}/deactivate",
        Act(EditPatients),
    ),
    (
        "POST",
        "/api/v1/patients/{id}/reactivate",
        Act(EditPatients),
    ),
    ("POST", "/api/v1/patients/{id}/deceased", Act(EditPatients)),
    ("GET", "/api/v1/patients/export", Act(ExportPatients)),
    ("PUT", "/api/v1/patients/{id}/photo", Act(EditPatients)),
    ("GET", "/api/v1/patients/{id}/photo", Act(ViewPatients)),
    ("DELETE", "/api/v1/patients/{id}/photo", Act(EditPatients)),
    ("GET", "/api/v1/patients/{id}/links", Act(ViewPatients)),
    ("POST", "/api/v1/patients/{id}/links", Act(EditPatients)),
    (
        "DELETE",
        "/api/v1/patients/{id}/links/{link}",
        Act(EditPatients),
    ),
    (
        "PUT",
        "/api/v1/patients/{id}/links/{link}/consent",
        Act(EditPatients),
    ),
    ("POST", "/api/v1/patients/merge", Act(MergePatients)),
    (
        "GET",
        "/api/v1/patients/{id}/erasure/check",
        Act(ErasePatients),
    ),
    ("GET", "/api/v1/patients/{id}/erasure", Act(ErasePatients)),
    ("POST", "/api/v1/patients/{id}/erasure", Act(ErasePatients)),
    (
        "GET",
        "/api/v1/patients/{id}/legal-holds",
        Act(ManageLegalHolds),
    ),
    (
        "POST",
        "/api/v1/patients/{id}/legal-holds",
        Act(ManageLegalHolds),
    ),
    (
        "POST",
        "/api/v1/patients/{id}/legal-holds/{hold}/release",
        Act(ManageLegalHolds),
    ),
    (
        "POST",
        "/api/v1/patients/merge/{merge_id}/undo",
        Act(MergePatients),
    ),
    ("GET", "/api/v1/patients/{id}/care-team", Act(ViewPatients)),
    (
        "POST",
        "/api/v1/patients/{id}/care-team",
        Act(ManageCareTeam),
    ),
    (
        "DELETE",
        "/api/v1/patients/{id}/care-team/{user_id}",
        Act(ManageCareTeam),
    ),
    ("GET", "/api/v1/patients/{id}/history", Act(ReadClinical)),
    ("GET", "/api/v1/patients/{id}/timeline", Act(ReadClinical)),
    ("GET", "/api/v1/patients/{id}/export", Act(ReadClinical)),
    ("POST", "/api/v1/patients/{id}/history", Act(WriteClinical)),
    (
        "PUT",
        "/api/v1/patients/{id}/history/{entry}",
        Act(WriteClinical),
    ),
    (
        "GET",
        "/api/v1/patients/{id}/attachments",
        Act(ReadClinical),
    ),
    (
        "POST",
        "/api/v1/patients/{id}/attachments",
        Act(WriteClinical),
    ),
    (
        "GET",
        "/api/v1/patients/{id}/attachments/{attachment}",
        Act(ReadClinical),
    ),
    (
        "POST",
        "/api/v1/patients/{id}/share-links",
        Act(WriteClinical),
    ),
    (
        "GET",
        "/api/v1/patients/{id}/share-links",
        Act(ReadClinical),
    ),
    ("DELETE", "/api/v1/share-links/{id}", Act(WriteClinical)),
    ("GET", "/api/v1/shared/{token}", Public),
    ("GET", "/api/v1/patients/{id}/allergies", Act(ReadClinical)),
    (
        "POST",
        "/api/v1/patients/{id}/allergies",
        Act(WriteClinical),
    ),
    (
        "PUT",
        "/api/v1/patients/{id}/allergies/{entry}",
        Act(WriteClinical),
    ),
    ("GET", "/api/v1/patients/{id}/conditions", Act(ReadClinical)),
    (
        "POST",
        "/api/v1/patients/{id}/conditions",
        Act(WriteClinical),
    ),
    (
        "PUT",
        "/api/v1/patients/{id}/conditions/{entry}",
        Act(WriteClinical),
    ),
    (
        "GET",
        "/api/v1/patients/{id}/medications",
        Act(ReadClinical),
    ),
    (
        "POST",
        "/api/v1/patients/{id}/medications",
        Act(WriteClinical),
    ),
    (
        "PUT",
        "/api/v1/patients/{id}/medications/{entry}",
        Act(WriteClinical),
    ),
    ("POST", "/api/v1/patients/{id}/break-glass", Act(BreakGlass)),
    ("GET", "/api/v1/security/events", Act(ViewSecurityEvents)),
    (
        "POST",
        "/api/v1/security/events/{id}/acknowledge",
        Act(ViewSecurityEvents),
    ),
    ("GET", "/api/v1/security/settings", Act(ViewSecurityEvents)),
    (
        "PUT",
        "/api/v1/security/settings",
        Act(ManageSecuritySettings),
    ),
    ("POST", "/api/v1/portal/otp/send", Public),
    ("POST", "/api/v1/portal/otp/verify", Public),
    ("GET", "/api/v1/portal/me", Portal),
    ("GET", "/api/v1/portal/dependants", Portal),
    ("GET", "/api/v1/portal/dependants/{id}", Portal),
    ("POST", "/api/v1/portal/logout", Portal),
    ("GET", "/health", Public),
    ("GET", "/health/live", Public),
    ("GET", "/health/ready", Public),
    ("GET", "/metrics", Public),
    ("GET", "/api/v1/openapi.json", Public),
];

/// Every page route (all methods of a path share the declaration; a form
/// POST may need a stronger action, which its service checks).
pub const PAGES: &[(&str, Declared)] = &[
    ("/", Act(ManageOwnAccount)),
    ("/static/app.css", Public),
    ("/static/patients.js", Public),
    ("/login", Public),
    ("/login/mfa", Public),
    ("/logout", Act(ManageOwnAccount)),
    ("/forgot-password", Public),
    ("/reset-password", Public),
    ("/locale", Public),
    ("/branch", Act(ManageOwnAccount)),
    ("/me", Act(ManageOwnAccount)),
    ("/me/avatar", Act(ManageOwnAccount)),
    ("/me/signature", Act(ManageOwnAccount)),
    ("/me/password", Act(ManageOwnAccount)),
    ("/me/sessions", Act(ManageOwnAccount)),
    ("/me/sessions/{id}/end", Act(ManageOwnAccount)),
    ("/me/security", Act(ManageOwnAccount)),
    ("/me/security/totp", Act(ManageOwnAccount)),
    ("/me/security/totp/confirm", Act(ManageOwnAccount)),
    ("/me/security/totp/disable", Act(ManageOwnAccount)),
    ("/admin/organisation", Act(ViewTenant)),
    ("/admin/organisation/logo", Act(EditTenant)),
    ("/admin/organisation/export", Act(ExportData)),
    ("/organisation/logo", Act(ViewTenant)),
    ("/outbox", Act(ViewOutbox)),
    ("/admin/branches", Act(ManageBranches)),
    ("/admin/branches/{id}", Act(ManageBranches)),
    ("/admin/staff", Act(ViewStaff)),
    ("/admin/staff/{id}", Act(ViewStaff)),
    (
        "/admin/staff/{id}/sessions/{sid}/end",
        Act(ManageStaffSessions),
    ),
    ("/admin/audit", Act(ViewAudit)),
    ("/admin/audit.csv", Act(ViewAudit)),
    ("/admin/devices", Act(ApproveDevices)),
    ("/admin/devices/{id}/{decision}", Act(ApproveDevices)),
    ("/admin/security", Act(ViewSecurityEvents)),
    (
        "/admin/security/events/{id}/acknowledge",
        Act(ViewSecurityEvents),
    ),
    ("/admin/permissions", Act(ManagePolicy)),
    ("/admin/permissions/roles/{role}", Act(ManagePolicy)),
    ("/admin/permissions/roles/{role}/reset", Act(ManagePolicy)),
    ("/admin/permissions/grants", Act(ManagePolicy)),
    ("/admin/permissions/grants/{id}/revoke", Act(ManagePolicy)),
    ("/admin/permissions/settings", Act(ManagePolicy)),
    ("/admin/break-glass", Act(ReviewBreakGlass)),
    ("/admin/break-glass/{id}/review", Act(ReviewBreakGlass)),
    ("/patients", Act(ViewPatients)),
    ("/patients/new", Act(EditPatients)),
    ("/patients/{id}", Act(ViewPatients)),
    ("/patients/{id}/care-team", Act(ManageCareTeam)),
    ("/patients/{id}/status", Act(EditPatients)),
    ("/patients/{id}/records/{kind}", Act(WriteClinical)),
    ("/patients/{id}/records/{kind}/{entry}", Act(WriteClinical)),
    ("/patients/{id}/attachments", Act(WriteClinical)),
    ("/patients/{id}/attachments/{attachment}", Act(ReadClinical)),
    ("/patients/{id}/export", Act(ReadClinical)),
    ("/patients/{id}/export.pdf", Act(ReadClinical)),
    ("/patients/{id}/photo", Act(ViewPatients)),
    ("/patients/{id}/photo/remove", Act(EditPatients)),
    ("/patients/{id}/links", Act(EditPatients)),
    ("/patients/{id}/links/{link}/remove", Act(EditPatients)),
    ("/patients/{id}/links/{link}/consent", Act(EditPatients)),
    ("/patients/{id}/merge", Act(MergePatients)),
    ("/patients/{id}/erasure", Act(ErasePatients)),
    ("/patients/{id}/legal-holds", Act(ManageLegalHolds)),
    (
        "/patients/{id}/legal-holds/{hold}/release",
        Act(ManageLegalHolds),
    ),
    ("/patients/{id}/merges/{merge}/undo", Act(MergePatients)),
    (
        "/patients/{id}/attachments/{attachment}/share-links",
        Act(WriteClinical),
    ),
    (
        "/patients/{id}/share-links/{link}/revoke",
        Act(WriteClinical),
    ),
    ("/portal", Portal),
    ("/portal/login", Public),
    ("/portal/verify", Public),
    ("/portal/logout", Portal),
    ("/operator", Op),
    ("/operator/login", Public),
    ("/operator/logout", Op),
    ("/operator/tenants", Op),
    ("/operator/tenants/{id}/status", Op),
    ("/operator/regions", Op),
    ("/operator/plans", Op),
];

/// The declaration of an API operation.
pub fn api(method: &str, path: &str) -> Option<Declared> {
    API.iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, d)| *d)
}

/// Publish each operation's action in the OpenAPI document.
pub fn annotate(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::extensions::ExtensionsBuilder;
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("GET", item.get.as_mut()),
            ("POST", item.post.as_mut()),
            ("PUT", item.put.as_mut()),
            ("PATCH", item.patch.as_mut()),
            ("DELETE", item.delete.as_mut()),
        ];
        for (method, op) in ops {
            if let (Some(op), Some(d)) = (op, api(method, path)) {
                let ext = ExtensionsBuilder::new()
                    .add("x-clinicos-action", d.name())
                    .build();
                match op.extensions.as_mut() {
                    Some(e) => e.merge(ext),
                    None => op.extensions = Some(ext),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clinicos_domain::governance::audit_catalogue::{recorded_as, UNAUDITED_READS};

    /// Every route that acts in the policy's terms has the audit events
    /// that record its use in the catalogue (or is a listed unaudited read
    /// of configuration without PHI).
    #[test]
    fn every_routes_declared_action_has_its_audit_events() {
        let declared = API
            .iter()
            .map(|(m, p, d)| (format!("{m} {p}"), *d))
            .chain(PAGES.iter().map(|(p, d)| (format!("page {p}"), *d)));
        let mut missing = Vec::new();
        for (route, d) in declared {
            if let Declared::Act(a) = d {
                let exempt = UNAUDITED_READS.iter().any(|(u, _)| *u == a);
                if recorded_as(a).is_empty() && !exempt {
                    missing.push(format!("{route}: {a:?}"));
                }
            }
        }
        assert!(missing.is_empty(), "no audit events for: {missing:?}");
    }
}
