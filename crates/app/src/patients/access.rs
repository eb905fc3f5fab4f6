//! The patient side of the policy point: gathers the facts the pure
//! decision needs (care relationship within the tenant's window, an active
//! break-the-glass grant, the consent hook's answer), decides, audits a
//! denial, and tells the caller how the access was allowed so its audit
//! event carries the right purpose of use and the break-the-glass flag.

use crate::governance::policy::{forbidden, subject, Action};
use crate::patients::consent::Purpose;
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Months, Utc};
use clinicos_domain::governance::access::{
    self, Allow, Deny, PatientFacts, RecordFacts, Target, TenantRules,
};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::PatientId;
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::patients::registry::PatientRow;
use clinicos_store::{governance::break_glass, patients::registry as patients, TenantTx};

/// Why data is being used (recorded on every audit event).
/// How access to a patient's clinical record was allowed.
#[derive(Clone, Debug)]
pub struct ClinicalAccess {
    pub allow: Allow,
    /// The break-the-glass grant in force, if access depends on it.
    pub grant: Option<String>,
    pub rules: TenantRules,
    pub facts: PatientFacts,
}

impl ClinicalAccess {
    pub fn purpose(&self) -> Purpose {
        match self.allow {
            Allow::Normal => Purpose::Treatment,
            Allow::BreakGlass => Purpose::Emergency,
        }
    }

    /// The audit reason: names the grant for flagged reads.
    pub fn audit_reason(&self) -> String {
        match (&self.allow, &self.grant) {
            (Allow::BreakGlass, Some(g)) => format!("break_glass:{g}"),
            _ => String::new(),
        }
    }

    /// Audit a clinical read or write in the caller's transaction, with
    /// this access's purpose of use and break-the-glass flag.
    pub async fn record(
        &self,
        tx: &mut TenantTx,
        ctx: &Ctx,
        at: DateTime<Utc>,
        action: AuditAction,
        resource_type: ResourceKind,
        ids: Vec<String>,
    ) -> AppResult<()> {
        let reason = self.audit_reason();
        let ev = AuditEvent::new(at, action, resource_type, ids).because(reason);
        audit::record_for(tx, &ctx.actor(), ev, self.purpose().as_str()).await?;
        Ok(())
    }

    /// The records the reader may see under this access, and how many were
    /// withheld (restricted tier, other branch); lists show the first and
    /// count the second rather than failing.
    pub fn visible<R>(
        &self,
        ctx: &Ctx,
        rows: Vec<R>,
        facts: impl Fn(&R) -> RecordFacts,
    ) -> (Vec<R>, usize) {
        let total = rows.len();
        let shown: Vec<R> = rows
            .into_iter()
            .filter(|r| self.allows_record(ctx, Action::ReadClinical, &facts(r)))
            .collect();
        let withheld = total - shown.len();
        (shown, withheld)
    }

    /// May this record be shown within the access already granted?
    pub fn allows_record(&self, ctx: &Ctx, action: Action, record: &RecordFacts) -> bool {
        let t = Target {
            patient: Some(&self.facts),
            record: Some(record),
            ..Target::default()
        };
        access::decide(&subject(ctx), action, &t, &self.rules).is_ok()
    }
}

/// The start of the "own patients" window.
pub fn window_start(now: DateTime<Utc>, months: i64) -> DateTime<Utc> {
    let months = u32::try_from(months.clamp(0, 1200)).unwrap_or(0);
    now.checked_sub_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Patients<'_> {
    /// Decide a clinical action on a patient (and optionally one record)
    /// inside the caller's transaction. A denial is audited and answers 403.
    /// The transaction is handed back on success; on denial it is rolled
    /// back first, so that the denial's own audit write cannot wait on it.
    pub async fn authorize_clinical(
        &self,
        mut tx: TenantTx,
        ctx: &Ctx,
        action: Action,
        patient: &PatientRow,
        record: Option<&RecordFacts>,
    ) -> AppResult<(TenantTx, ClinicalAccess)> {
        let tx_ref = &mut tx;
        if action == Action::WriteClinical {
            crate::patients::registry::refuse_if_merged(tx_ref, patient).await?;
        }
        let settings = clinicos_store::governance::policy::settings(tx_ref).await?;
        let now = self.app.clock.now();
        let care = patients::has_care_relationship(
            tx_ref,
            patient.id,
            ctx.user,
            window_start(now, settings.own_patient_window_months),
        )
        .await?;
        let grant = if care {
            None
        } else {
            break_glass::active(tx_ref, patient.id, ctx.user, now)
                .await?
                .map(|g| g.id)
        };
        let purpose = if care || grant.is_none() {
            Purpose::Treatment
        } else {
            Purpose::Emergency
        };
        let facts = PatientFacts {
            care_relationship: care,
            break_glass: grant.is_some(),
            consent_refused: self.app.consent.refuses(&settings, patient, purpose),
        };
        let rules = TenantRules {
            clinical_cross_branch: settings.clinical_cross_branch,
        };
        let target = Target {
            patient: Some(&facts),
            record,
            ..Target::default()
        };
        match access::decide(&subject(ctx), action, &target, &rules) {
            Ok(allow) => Ok((
                tx,
                ClinicalAccess {
                    allow,
                    grant,
                    rules,
                    facts,
                },
            )),
            Err(deny) => {
                drop(tx);
                Err(self.deny_patient(ctx, action, deny, patient.id).await)
            }
        }
    }

    /// Audit a denial on a patient and build its 403.
    pub async fn deny_patient(
        &self,
        ctx: &Ctx,
        action: Action,
        deny: Deny,
        patient: PatientId,
    ) -> AppError {
        self.app
            .governance()
            .audit_denial(ctx, action, deny, &[patient.as_text()])
            .await;
        forbidden(action, deny)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_window_covers_the_months_asked() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let start = window_start(now, 24);
        assert_eq!(
            start,
            Utc.with_ymd_and_hms(2024, 11, 25, 0, 0, 0)
                .single()
                .unwrap_or_default()
        );
        assert_eq!(window_start(now, 0), now);
    }
}
