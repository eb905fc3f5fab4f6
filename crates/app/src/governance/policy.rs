//! The policy point: every action is decided here, `(subject, action,
//! target) -> allow / deny with a reason`, by the pure rules in
//! `clinicos_domain::governance::access`. Permissions are data: a role is a bundle
//! (default in code, editable per tenant) and single permissions can be
//! granted to a user; both are loaded once per request into
//! [`Ctx::permissions`]. Denials are audited (`policy.denied`, with the
//! action and the deny code as the reason).

use crate::governance::service::Governance;
use crate::{AppError, AppResult, Ctx};
use clinicos_domain::governance::access::{self, Allow, Deny, Subject, Target, TenantRules};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::governance::permission::{default_bundle, OWNER_LOCKED};
use clinicos_domain::{PermissionSet, Role, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::governance::policy::EffectiveRows;
use clinicos_store::TenantTx;

pub use clinicos_domain::governance::access::Action;

/// A role's bundle in this tenant: the edited one if any, else the default.
/// The owner always keeps the permissions that manage the policy itself.
pub fn bundle_of(role: Role, edited: Option<&str>) -> PermissionSet {
    let set = edited
        .and_then(|codes| PermissionSet::parse_codes(codes).ok())
        .unwrap_or_else(|| default_bundle(role));
    if role == Role::Owner {
        OWNER_LOCKED.iter().fold(set, |s, p| s.with(*p))
    } else {
        set
    }
}

/// Union of the user's role bundles and single grants.
pub fn effective(roles: &[Role], rows: &EffectiveRows) -> PermissionSet {
    let bundles = roles.iter().fold(PermissionSet::EMPTY, |set, r| {
        let edited = rows
            .bundles
            .iter()
            .find(|(role, _)| role == r)
            .map(|(_, c)| c.as_str());
        set.union(bundle_of(*r, edited))
    });
    rows.grants
        .iter()
        .filter_map(|g| g.parse().ok())
        .fold(bundles, |s, p| s.with(p))
}

/// Load a user's effective permissions inside the caller's transaction.
pub async fn load_permissions(
    tx: &mut TenantTx,
    user: UserId,
    roles: &[Role],
) -> AppResult<PermissionSet> {
    let rows = clinicos_store::governance::policy::effective_rows(tx, user).await?;
    Ok(effective(roles, &rows))
}

/// The subject of a decision.
pub fn subject(ctx: &Ctx) -> Subject<'_> {
    Subject {
        user: ctx.user,
        permissions: ctx.permissions,
        branches: &ctx.branches,
        tenant_wide: ctx.has_role(Role::Owner) || ctx.has_role(Role::PrivacyOfficer),
        owner: ctx.has_role(Role::Owner),
    }
}

/// Whether the subject's permissions cover `action` at all, before any
/// record's attributes: what a page offers (a chart's clinical tabs, an
/// edit button). The action itself is decided again, with its target, by
/// the service behind it.
pub fn may_attempt(ctx: &Ctx, action: Action) -> bool {
    action.permission().is_none_or(|p| ctx.permissions.has(p))
}

/// Decide on a target without recording: only for filters that shape what
/// a list shows (a refused action goes through the policy point).
pub fn allows_on(ctx: &Ctx, action: Action, target: &Target<'_>) -> bool {
    access::decide(&subject(ctx), action, target, &TenantRules::default()).is_ok()
}

/// Decide without recording (for checks that only shape what a page
/// shows; actions go through [`Governance::authorize`], which audits denials).
pub fn allows(ctx: &Ctx, action: Action) -> bool {
    access::decide(
        &subject(ctx),
        action,
        &Target::default(),
        &TenantRules::default(),
    )
    .is_ok()
}

/// Authorize or fail with 403, without recording anything.
pub fn authorize(ctx: &Ctx, action: Action) -> Result<(), AppError> {
    if allows(ctx, action) {
        Ok(())
    } else {
        Err(AppError::Forbidden(action.describe().to_owned()))
    }
}

impl Governance<'_> {
    /// The policy point for actions without a patient: allow, or deny with
    /// 403 and an audit event.
    pub async fn authorize(&self, ctx: &Ctx, action: Action) -> Result<(), AppError> {
        self.authorize_on(ctx, action, &Target::default(), &TenantRules::default())
            .await
            .map(|_| ())
    }

    /// The first step of an action on a record: refuse (audited, 403)
    /// when the subject's permissions do not cover the action at all,
    /// before the record is looked up, so a refusal never depends on, nor
    /// tells, whether the id exists. The record's own attributes are
    /// decided after it is read ([`Governance::authorize_on`]).
    pub async fn authorize_permission(&self, ctx: &Ctx, action: Action) -> Result<(), AppError> {
        match action.permission() {
            Some(p) if !ctx.permissions.has(p) => {
                let deny = Deny::MissingPermission(p);
                self.audit_denial(ctx, action, deny, &[]).await;
                Err(forbidden(action, deny))
            }
            _ => Ok(()),
        }
    }

    /// The policy point with a target's attributes.
    pub async fn authorize_on(
        &self,
        ctx: &Ctx,
        action: Action,
        target: &Target<'_>,
        rules: &TenantRules,
    ) -> Result<Allow, AppError> {
        match access::decide(&subject(ctx), action, target, rules) {
            Ok(a) => Ok(a),
            Err(deny) => {
                self.audit_denial(ctx, action, deny, &[]).await;
                Err(forbidden(action, deny))
            }
        }
    }

    /// The policy point for a decision that needs what a transaction has
    /// just read (the staff member being changed, the grant being
    /// reviewed): allowed, the transaction is handed back; refused, it is
    /// rolled back first (so the denial's own write cannot wait on it), the
    /// refusal is recorded and the answer is 403.
    pub async fn authorize_in(
        &self,
        tx: TenantTx,
        ctx: &Ctx,
        action: Action,
        target: &Target<'_>,
    ) -> Result<TenantTx, AppError> {
        match access::decide(&subject(ctx), action, target, &TenantRules::default()) {
            Ok(_) => Ok(tx),
            Err(deny) => {
                // A failed rollback still ends the transaction (dropped).
                let _ = tx.rollback().await;
                self.audit_denial(ctx, action, deny, &[]).await;
                Err(forbidden(action, deny))
            }
        }
    }

    /// Record a denial in its own transaction. A denial whose audit cannot
    /// be written is still a denial.
    pub async fn audit_denial(&self, ctx: &Ctx, action: Action, deny: Deny, ids: &[String]) {
        let reason = format!("{action:?}:{}", deny.code());
        let ev = AuditEvent::new(
            self.app.clock.now(),
            AuditAction::PolicyDenied,
            ResourceKind::Action,
            ids.to_vec(),
        )
        .denied(reason);
        match self.app.store.write(ctx.tenant).await {
            Ok(mut tx) => {
                let written = audit::record(&mut tx, &ctx.actor(), ev).await;
                if written.is_err() || tx.commit().await.is_err() {
                    tracing::warn!(
                        code = AuditAction::PolicyDenied.as_str(),
                        "could not audit a denial"
                    );
                }
            }
            Err(_) => tracing::warn!(
                code = AuditAction::PolicyDenied.as_str(),
                "could not audit a denial"
            ),
        }
    }
}

/// The 403 for a denial: the action, and for attribute denials the rule.
pub fn forbidden(action: Action, deny: Deny) -> AppError {
    let why = match deny {
        Deny::MissingPermission(_) => return AppError::Forbidden(action.describe().to_owned()),
        Deny::OtherBranch => "it belongs to a branch you do not work in",
        Deny::NoCareRelationship => {
            "you have no care relationship with this patient (emergency access is available)"
        }
        Deny::Restricted => "the record is restricted",
        Deny::ConsentRefused => "the patient's consent does not cover this",
        Deny::Signed => "the record is signed and locked",
        Deny::NotAuthor => "only the author can change this record",
        Deny::OwnerOnly => "only an owner may make or manage an owner",
        Deny::OwnAction => "someone else must review your own emergency access",
    };
    AppError::Forbidden(format!("{}: {why}", action.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clinicos_domain::Permission;

    fn rows(bundles: &[(Role, &str)], grants: &[&str]) -> EffectiveRows {
        EffectiveRows {
            bundles: bundles.iter().map(|(r, c)| (*r, (*c).to_owned())).collect(),
            grants: grants.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    #[test]
    fn edited_bundles_replace_defaults_and_grants_add() {
        let nurse = [Role::Nurse];
        let d = effective(&nurse, &rows(&[], &[]));
        assert_eq!(d, default_bundle(Role::Nurse));
        let e = effective(&nurse, &rows(&[(Role::Nurse, "tenant:read")], &[]));
        assert_eq!(e, PermissionSet::of(&[Permission::TenantRead]));
        let g = effective(&nurse, &rows(&[], &["prescriptions:write"]));
        assert!(g.has(Permission::PrescriptionsWrite));
        assert!(!d.has(Permission::PrescriptionsWrite));
    }

    #[test]
    fn the_owner_cannot_be_locked_out_of_the_policy() {
        let e = effective(&[Role::Owner], &rows(&[(Role::Owner, "")], &[]));
        for p in OWNER_LOCKED {
            assert!(e.has(*p));
        }
    }
}

#[cfg(test)]
mod matrix {
    //! docs/PERMISSIONS.md is the specification: its bundle table is
    //! checked cell by cell against the default bundles, and its action
    //! table against decisions on a typical target (own patient, normal
    //! tier, the subject's branch).
    use super::*;
    use clinicos_domain::governance::access::PatientFacts;
    use clinicos_domain::Permission;

    fn table(doc: &str, heading: &str) -> (Vec<Role>, Vec<Vec<String>>) {
        let start = doc
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} missing"));
        let mut lines = doc[start..]
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'));
        let cells = |l: &str| -> Vec<String> {
            l.split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let header = cells(lines.next().expect("header"));
        let roles: Vec<Role> = header[2..]
            .iter()
            .map(|r| r.parse().expect("role column"))
            .collect();
        assert_eq!(roles.len(), Role::ALL.len(), "every role has a column");
        (roles, lines.skip(1).map(cells).collect())
    }

    fn yes(cell: &str) -> bool {
        match cell {
            "yes" => true,
            "no" => false,
            other => panic!("cell must be yes or no, not {other}"),
        }
    }

    const DOC: &str = include_str!("../../../../docs/PERMISSIONS.md");

    #[test]
    fn the_bundle_table_is_the_default_bundles() {
        let (roles, rows) = table(DOC, "## Default bundles");
        let mut seen = Vec::new();
        for row in rows {
            let p: Permission = row[0].trim_matches('`').parse().expect("permission");
            for (role, cell) in roles.iter().zip(&row[2..]) {
                assert_eq!(default_bundle(*role).has(p), yes(cell), "{p} for {role:?}");
            }
            seen.push(p);
        }
        for p in Permission::ALL {
            assert!(seen.contains(p), "{p} is missing from docs/PERMISSIONS.md");
        }
    }

    #[test]
    fn the_action_table_is_what_the_policy_point_decides() {
        let (roles, rows) = table(DOC, "## Actions");
        let mut seen = Vec::new();
        let facts = PatientFacts {
            care_relationship: true,
            ..PatientFacts::default()
        };
        for row in rows {
            let action = *Action::ALL
                .iter()
                .find(|a| format!("{a:?}") == row[0])
                .unwrap_or_else(|| panic!("unknown action {}", row[0]));
            for (role, cell) in roles.iter().zip(&row[2..]) {
                let s = Subject {
                    user: UserId::new(),
                    permissions: default_bundle(*role),
                    branches: &[],
                    tenant_wide: *role == Role::Owner,
                    owner: *role == Role::Owner,
                };
                let t = Target {
                    patient: Some(&facts),
                    ..Target::default()
                };
                let got = access::decide(&s, action, &t, &TenantRules::default()).is_ok();
                assert_eq!(got, yes(cell), "{action:?} for {role:?}");
            }
            seen.push(action);
        }
        for a in Action::ALL {
            assert!(
                seen.contains(a),
                "{a:?} is missing from docs/PERMISSIONS.md"
            );
        }
    }
}
