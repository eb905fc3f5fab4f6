//! Family links (parent–child, legal guardian) and what they open in the
//! patient portal.
//!
//! Invariants:
//! - A link joins two different patients of the tenant, neither merged
//!   into another record; the same link (kind, responsible, dependant) is
//!   never recorded twice, and parent links never form a cycle
//!   (`clinicos_domain::patients::links`). Links are demographics: read with
//!   `ViewPatients`, changed with `EditPatients`; every read and change is
//!   audited naming both patients.
//! - In the portal, a signed-in patient sees a dependant's record only
//!   while `clinicos_domain::patients::links::guardian_portal_access` allows it,
//!   with the ages of the tenant's jurisdiction packs (data, not code).
//!   Refusals are audited like every other denial.

use crate::governance::policy::Action;
use crate::identity::portal_session::PortalCtx;
use crate::kit::domain_schema;
use crate::patients::consent::Purpose;
use crate::patients::patient::Patient;
use crate::patients::registry::{event, load, patient_named};
use crate::patients::service::Patients;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, NaiveDate, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::governance::jurisdiction::{Catalogue, GuardianAges};
use clinicos_domain::identity::portal::PortalAction;
use clinicos_domain::patients::links::{
    guardian_portal_access, parent_link_cycles, GuardianDeny, GuardianLink, LinkKind,
};
use clinicos_domain::{FamilyLinkId, PatientId, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::patients::links::{self as store, LinkRow};
use clinicos_store::patients::merge as patient_merges;
use clinicos_store::patients::registry::PatientRow;
use clinicos_store::{tenancy::tenants, TenantTx};
use serde::{Deserialize, Serialize};

/// A link to record: `{id}` is the parent or guardian of `dependant_id`,
/// or the dependant of `responsible_id` (exactly one of the two).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// `parent` or `guardian`.
    pub kind: String,
    pub dependant_id: Option<String>,
    pub responsible_id: Option<String>,
    /// A legal guardian of an adult who cannot decide alone (guardian
    /// links only): portal access is not limited by age.
    #[serde(default)]
    pub dependent_adult: bool,
    /// The adolescent consented to the parent's or guardian's portal access
    /// beyond the confidentiality age.
    #[serde(default)]
    pub adolescent_consent: bool,
}

/// The adolescent's answer about a parent's or guardian's portal access.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkConsent {
    /// true: the adolescent consents; false: consent withdrawn.
    pub consent: bool,
}

/// The other patient of a link, as a list shows them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LinkedPatient {
    #[schema(value_type = domain_schema::PatientId)]
    pub id: PatientId,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Option<String>,
}

/// A link as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PatientLink {
    #[schema(value_type = domain_schema::FamilyLinkId)]
    pub id: FamilyLinkId,
    #[schema(value_type = domain_schema::LinkKind)]
    pub kind: LinkKind,
    /// The parent or guardian.
    #[schema(value_type = domain_schema::PatientId)]
    pub responsible_id: PatientId,
    #[schema(value_type = domain_schema::PatientId)]
    pub dependant_id: PatientId,
    pub dependent_adult: bool,
    pub adolescent_consent_at: Option<DateTime<Utc>>,
    /// The patient on the other side from the one asked about.
    pub other: LinkedPatient,
    #[schema(value_type = domain_schema::UserId)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// A dependant the signed-in patient may see in the portal.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PortalDependant {
    #[schema(value_type = domain_schema::PatientId)]
    pub id: PatientId,
    #[schema(value_type = domain_schema::LinkKind)]
    pub kind: LinkKind,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Option<String>,
}

fn linked(r: &PatientRow) -> LinkedPatient {
    LinkedPatient {
        id: r.id,
        given_name: r.given_name.clone(),
        family_name: r.family_name.clone(),
        birth_date: r.birth_date.clone(),
    }
}

fn show(l: LinkRow, other: &PatientRow) -> PatientLink {
    PatientLink {
        kind: LinkKind::parse(&l.kind).unwrap_or(LinkKind::Guardian),
        id: l.id,
        responsible_id: l.patient_id,
        dependant_id: l.dependant_id,
        dependent_adult: l.dependent_adult,
        adolescent_consent_at: l.adolescent_consent_at,
        other: linked(other),
        created_by: l.created_by,
        created_at: l.created_at,
    }
}

/// Load a patient who may take part in a link (not merged away).
async fn linkable(tx: &mut TenantTx, id: PatientId) -> AppResult<PatientRow> {
    let row = load(tx, id).await?;
    if patient_merges::merged_into(tx, row.id).await?.is_some() {
        return Err(AppError::Conflict(
            "this patient was merged into another record; link the surviving record".into(),
        ));
    }
    Ok(row)
}

/// The tenant's guardian-access ages and today's date in its time zone.
async fn ages_today(tx: &mut TenantTx, now: DateTime<Utc>) -> AppResult<(GuardianAges, NaiveDate)> {
    let r = crate::governance::retention::of_tenant(tx).await?;
    let packs = Catalogue::builtin().map_err(AppError::Internal)?;
    let ages = packs.guardian_ages(r.countries.iter().map(String::as_str), &r.home_region);
    let zone = tenants::get(tx)
        .await?
        .default_time_zone
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::UTC);
    Ok((ages, now.with_timezone(&zone).date_naive()))
}

fn access_of(
    l: &LinkRow,
    dependant: &PatientRow,
    ages: GuardianAges,
    today: NaiveDate,
) -> Result<(), GuardianDeny> {
    let facts = GuardianLink {
        kind: LinkKind::parse(&l.kind).unwrap_or(LinkKind::Guardian),
        dependent_adult: l.dependent_adult,
        adolescent_consented: l.adolescent_consent_at.is_some(),
        dependant_birth_date: dependant
            .birth_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
    };
    guardian_portal_access(&facts, ages, today)
}

impl Patients<'_> {
    /// Every link the patient is on (audited as a read of the patient and
    /// of every linked patient).
    pub async fn patient_links(
        &self,
        ctx: &Ctx,
        patient: PatientId,
    ) -> AppResult<Vec<PatientLink>> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let rows = store::of_patient(&mut tx, p.id).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut ids = vec![p.id.as_text()];
        for l in rows {
            let other_id = if l.patient_id == p.id {
                l.dependant_id
            } else {
                l.patient_id
            };
            let other = load(&mut tx, other_id).await?;
            ids.push(other.id.as_text());
            out.push(show(l, &other));
        }
        ids.dedup();
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(self.app.clock.now(), AuditAction::PatientLinksRead, ids),
            Purpose::Treatment.as_str(),
        )
        .await?;
        tx.commit().await?;
        self.app
            .governance()
            .note_patient_reads(ctx, std::slice::from_ref(&p.id))
            .await;
        Ok(out)
    }

    /// Record a family link.
    pub async fn add_patient_link(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        input: NewLink,
    ) -> AppResult<PatientLink> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let Some(kind) = LinkKind::parse(&input.kind) else {
            return Err(AppError::field("kind", "must be parent or guardian"));
        };
        let (responsible, dependant) = match (&input.dependant_id, &input.responsible_id) {
            (Some(d), None) => (Ok(patient), patient_named(d)),
            (None, Some(r)) => (patient_named(r), Ok(patient)),
            _ => {
                return Err(AppError::field(
                    "dependant_id",
                    "give exactly one of dependant_id and responsible_id",
                ))
            }
        };
        if input.dependent_adult && kind != LinkKind::Guardian {
            return Err(AppError::field(
                "dependent_adult",
                "applies to guardian links only",
            ));
        }
        let (responsible, dependant) = (responsible?, dependant?);
        if responsible == dependant {
            return Err(AppError::field("dependant_id", "must be another patient"));
        }
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let r = linkable(&mut tx, responsible).await?;
        let d = linkable(&mut tx, dependant).await?;
        if store::exists(&mut tx, r.id, d.id, kind.as_str()).await? {
            return Err(AppError::Conflict("this link already exists".into()));
        }
        if kind == LinkKind::Parent {
            let edges = store::parent_edges_around(&mut tx, &[r.id, d.id]).await?;
            if parent_link_cycles(&edges, r.id, d.id) {
                return Err(AppError::field(
                    "dependant_id",
                    "would make a patient their own ancestor",
                ));
            }
        }
        let row = LinkRow {
            id: FamilyLinkId::new(),
            patient_id: r.id,
            dependant_id: d.id,
            kind: kind.as_str().to_owned(),
            dependent_adult: input.dependent_adult,
            adolescent_consent_at: input.adolescent_consent.then_some(now),
            created_by: ctx.user,
            created_at: now,
        };
        store::insert(&mut tx, &row).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(
                now,
                AuditAction::PatientLinkCreated,
                vec![r.id.as_text(), d.id.as_text()],
            ),
            Purpose::Operations.as_str(),
        )
        .await?;
        tx.commit().await?;
        let other = if r.id == patient { d } else { r };
        Ok(show(row, &other))
    }

    /// A link the patient is on, for a change (404 otherwise).
    async fn link_of(
        tx: &mut TenantTx,
        patient: PatientId,
        link: FamilyLinkId,
    ) -> AppResult<LinkRow> {
        let p = load(tx, patient).await?;
        let l = store::get(tx, link)
            .await
            .map_err(|_| AppError::NotFound("link"))?;
        if l.patient_id != p.id && l.dependant_id != p.id {
            return Err(AppError::NotFound("link"));
        }
        Ok(l)
    }

    /// Remove a link the patient is on.
    pub async fn remove_patient_link(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        link: FamilyLinkId,
    ) -> AppResult<()> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let l = Self::link_of(&mut tx, patient, link).await?;
        store::delete(&mut tx, l.id).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(
                self.app.clock.now(),
                AuditAction::PatientLinkDeleted,
                vec![l.patient_id.as_text(), l.dependant_id.as_text()],
            ),
            Purpose::Operations.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record or withdraw the dependant's consent to the responsible
    /// patient's portal access beyond the adolescent-confidentiality age.
    pub async fn set_link_consent(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        link: FamilyLinkId,
        consent: LinkConsent,
    ) -> AppResult<PatientLink> {
        self.app
            .governance()
            .authorize(ctx, Action::EditPatients)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let mut l = Self::link_of(&mut tx, patient, link).await?;
        l.adolescent_consent_at = consent.consent.then_some(now);
        store::set_consent(&mut tx, l.id, l.adolescent_consent_at).await?;
        let action = if consent.consent {
            AuditAction::PatientLinkConsentGiven
        } else {
            AuditAction::PatientLinkConsentWithdrawn
        };
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            event(
                now,
                action,
                vec![l.dependant_id.as_text(), l.patient_id.as_text()],
            ),
            Purpose::Operations.as_str(),
        )
        .await?;
        let other_id = if l.patient_id == patient {
            l.dependant_id
        } else {
            l.patient_id
        };
        let other = load(&mut tx, other_id).await?;
        tx.commit().await?;
        Ok(show(l, &other))
    }

    /// The dependants the signed-in patient may see now (parent or
    /// guardian links the adolescent-confidentiality rule allows); one
    /// audit event names every dependant shown.
    pub async fn portal_dependants(&self, ctx: &PortalCtx) -> AppResult<Vec<PortalDependant>> {
        self.app
            .identity()
            .authorize_portal(ctx, PortalAction::ReadOwnRecord, ctx.patient)
            .await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let (ages, today) = ages_today(&mut tx, now).await?;
        let mut out: Vec<PortalDependant> = Vec::new();
        for l in store::dependants_of(&mut tx, ctx.patient).await? {
            let d = load(&mut tx, l.dependant_id).await?;
            if out.iter().any(|o| o.id == d.id) || access_of(&l, &d, ages, today).is_err() {
                continue;
            }
            out.push(PortalDependant {
                id: d.id,
                kind: LinkKind::parse(&l.kind).unwrap_or(LinkKind::Guardian),
                given_name: d.given_name,
                family_name: d.family_name,
                birth_date: d.birth_date,
            });
        }
        let mut ids = vec![ctx.patient.as_text()];
        ids.extend(out.iter().map(|d| d.id.as_text()));
        let ev = AuditEvent::new(
            now,
            AuditAction::PortalDependantsRead,
            ResourceKind::Patient,
            ids,
        )
        .because("portal_guardian");
        audit::record_for(&mut tx, &ctx.actor(), ev, Purpose::PatientRequest.as_str()).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A dependant's record as the portal shows it, when the signed-in
    /// patient is their parent or guardian and the rule allows it now.
    pub async fn portal_dependant(
        &self,
        ctx: &PortalCtx,
        dependant: PatientId,
    ) -> AppResult<Patient> {
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let (ages, today) = ages_today(&mut tx, now).await?;
        let links: Vec<LinkRow> = store::dependants_of(&mut tx, ctx.patient)
            .await?
            .into_iter()
            .filter(|l| l.dependant_id == dependant)
            .collect();
        let mut verdict: Result<(), &'static str> = Err("not_guardian");
        let mut row = None;
        for l in &links {
            let d = load(&mut tx, l.dependant_id).await?;
            match access_of(l, &d, ages, today) {
                Ok(()) => {
                    verdict = Ok(());
                    row = Some(d);
                    break;
                }
                Err(e) => verdict = Err(e.code()),
            }
        }
        let row = match (verdict, row) {
            (Ok(()), Some(row)) => row,
            (v, _) => {
                drop(tx);
                let reason = format!("ReadDependantRecord:{}", v.err().unwrap_or("not_guardian"));
                let ev = AuditEvent::new(
                    now,
                    AuditAction::PolicyDenied,
                    ResourceKind::Patient,
                    vec![dependant.as_text()],
                )
                .denied(reason);
                let mut tx = self.app.store.write(ctx.tenant).await?;
                audit::record(&mut tx, &ctx.actor(), ev).await?;
                tx.commit().await?;
                return Err(AppError::Forbidden(
                    "read this record (not your dependant, or the adolescent's record is confidential)"
                        .into(),
                ));
            }
        };
        let ev = AuditEvent::new(
            now,
            AuditAction::PatientRead,
            ResourceKind::Patient,
            vec![row.id.as_text(), ctx.patient.as_text()],
        )
        .because("portal_guardian");
        audit::record_for(&mut tx, &ctx.actor(), ev, Purpose::PatientRequest.as_str()).await?;
        tx.commit().await?;
        self.show_patient(ctx.tenant, row).await
    }
}
