//! Demo patients for `clinicos demo`: families across both branches with
//! encrypted contact details, care teams, medical history (one restricted
//! entry) and one emergency access waiting for the privacy officer's
//! review, family links (a mother with an 18-year-old and a young child, a
//! three-generation family, a legal guardian of a dependent adult) and two
//! photos. Seeded once: nothing is added when the tenant has patients.

use crate::demo::service::Demo;
use crate::AppResult;
use chrono::Duration;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::{BranchId, FamilyLinkId, PatientId, RecordId, Sensitivity, TenantId, UserId};
use clinicos_store::governance::audit::{self, Actor, AuditEvent};
use clinicos_store::governance::break_glass::BreakGlassReason;
use clinicos_store::governance::break_glass::{self, GrantRow};
use clinicos_store::patients::links::{self as patient_links, LinkRow};
use clinicos_store::patients::registry::HistoryBody;
use clinicos_store::patients::registry::PatientPhone;
use clinicos_store::patients::registry::{self as patients, HistoryRow};

struct DemoPatient {
    given: &'static str,
    family: &'static str,
    /// The name in the patient's own script, where the clinic records it.
    local: &'static str,
    birth: &'static str,
    sex: &'static str,
    city: &'static str,
    phone: &'static str,
    pune: bool,
    history: &'static [(&'static str, &'static str, Sensitivity)],
}

const PATIENTS: &[DemoPatient] = &[
    DemoPatient {
        given: "Lakshmi",
        family: "Sharma",
        local: "लक्ष्मी शर्मा",
        birth: "1968-02-11",
        sex: "female",
        city: "Bengaluru",
        phone: "+91 98450 10001",
        pune: false,
        history: &[
            (
                "medical",
                "Type 2 diabetes since 2012, on metformin",
                Sensitivity::Normal,
            ),
            (
                "surgical",
                "Cataract surgery, right eye, 2021",
                Sensitivity::Normal,
            ),
        ],
    },
    DemoPatient {
        given: "Rohan",
        family: "Sharma",
        local: "रोहन शर्मा",
        birth: "1995-07-30",
        sex: "male",
        city: "Bengaluru",
        phone: "+91 98450 10002",
        pune: false,
        history: &[(
            "social",
            "Non-smoker, plays cricket weekly",
            Sensitivity::Normal,
        )],
    },
    DemoPatient {
        given: "Aadhya",
        family: "Sharma",
        local: "आद्या शर्मा",
        birth: "2019-05-04",
        sex: "female",
        city: "Bengaluru",
        phone: "+91 98450 10001",
        pune: false,
        history: &[(
            "medical",
            "Recurrent tonsillitis, last episode March",
            Sensitivity::Normal,
        )],
    },
    DemoPatient {
        given: "Mohammed",
        family: "Siddiqui",
        local: "محمد صدیقی",
        birth: "1979-12-19",
        sex: "male",
        city: "Bengaluru",
        phone: "+91 99001 20003",
        pune: false,
        history: &[
            (
                "medical",
                "Hypertension, on amlodipine 5 mg",
                Sensitivity::Normal,
            ),
            (
                "medical",
                "Generalised anxiety disorder, under counselling",
                Sensitivity::MentalHealth,
            ),
        ],
    },
    DemoPatient {
        given: "Maria",
        family: "Fernandes",
        local: "",
        birth: "1988-09-23",
        sex: "female",
        city: "Pune",
        phone: "+91 97300 30004",
        pune: true,
        history: &[
            (
                "obstetric",
                "G2P1, uncomplicated delivery 2020",
                Sensitivity::ReproductiveSexual,
            ),
            ("family", "Mother: breast cancer at 52", Sensitivity::Normal),
        ],
    },
    DemoPatient {
        given: "Sanjay",
        family: "Kulkarni",
        local: "",
        birth: "1956-03-02",
        sex: "male",
        city: "Pune",
        phone: "+91 97300 30005",
        pune: true,
        history: &[("medical", "COPD, inhaler since 2018", Sensitivity::Normal)],
    },
    DemoPatient {
        given: "Ananya",
        family: "Kulkarni",
        local: "",
        birth: "1990-11-15",
        sex: "female",
        city: "Pune",
        phone: "+91 97300 30006",
        pune: true,
        history: &[],
    },
    // Maria Fernandes's children: past India's adolescent-confidentiality
    // age (18), and a young child.
    DemoPatient {
        given: "Rhea",
        family: "Fernandes",
        local: "",
        birth: "2008-03-14",
        sex: "female",
        city: "Pune",
        phone: "+91 97300 30007",
        pune: true,
        history: &[(
            "medical",
            "Mild asthma, salbutamol as needed",
            Sensitivity::Normal,
        )],
    },
    DemoPatient {
        given: "Leo",
        family: "Fernandes",
        local: "",
        birth: "2021-06-01",
        sex: "male",
        city: "Pune",
        phone: "+91 97300 30004",
        pune: true,
        history: &[],
    },
];

/// Family links by index into [`PATIENTS`]: (responsible, dependant, kind,
/// dependent adult).
const LINKS: &[(usize, usize, &str, bool)] = &[
    (0, 1, "parent", false),
    (1, 2, "parent", false),
    (4, 7, "parent", false),
    (4, 8, "parent", false),
    // Ananya is her father's legal guardian (dependent adult).
    (6, 5, "guardian", true),
];

/// A 1x1 PNG: the demo's patient photos (index into [`PATIENTS`]).
const PHOTO: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82";
const PHOTOS: &[usize] = &[0, 4];

impl Demo<'_> {
    /// Seed the demo patients once.
    pub(crate) async fn seed_demo_patients(
        &self,
        tenant: TenantId,
        branches: (BranchId, BranchId),
        staff: &DemoStaff,
    ) -> AppResult<()> {
        let mut tx = self.app.store.read(tenant).await?;
        let (_, count) = clinicos_store::patients::search::search(
            &mut tx,
            &clinicos_store::patients::search::PatientSearch::default(),
            1,
            0,
        )
        .await?;
        tx.commit().await?;
        if count > 0 {
            return Ok(());
        }
        let now = self.app.clock.now();
        let actor = Actor {
            user_id: Some(staff.front_desk),
            roles: "front_desk".into(),
            request_id: "demo".into(),
            ..Actor::default()
        };
        let mut ids = Vec::new();
        for (i, d) in PATIENTS.iter().enumerate() {
            let id = PatientId::new();
            let phone = crate::patients::patient::normalise_phone(d.phone);
            let branch = if d.pune { branches.1 } else { branches.0 };
            let mut row = crate::patients::write::blank_row(id, now);
            row.given_name = d.given.into();
            row.family_name = d.family.into();
            row.local_name = d.local.into();
            row.birth_date = Some(d.birth.into());
            row.sex = d.sex.into();
            row.city = d.city.into();
            row.phone = Some(
                self.app
                    .cipher
                    .seal::<PatientPhone>(tenant, id, id, phone.as_bytes())
                    .await?,
            );
            row.phone_bidx = Some(self.app.cipher.blind_index(tenant, "phone", &phone).await?);
            row.first_branch_id = Some(branch);
            row.care_consent_at = Some(now);
            row.created_by = Some(staff.front_desk);
            row.created_at = now - Duration::days(400 - 30 * i as i64);
            let mut tx = self.app.store.write(tenant).await?;
            patients::insert(&mut tx, &row).await?;
            // The doctor sees every demo patient; the nurse the Pune ones.
            patients::upsert_care(
                &mut tx,
                id,
                staff.doctor,
                "care_team",
                now,
                Some(staff.owner),
            )
            .await?;
            if d.pune {
                patients::upsert_care(
                    &mut tx,
                    id,
                    staff.nurse,
                    "care_team",
                    now,
                    Some(staff.owner),
                )
                .await?;
            }
            for (category, text, sensitivity) in d.history {
                let hid = RecordId::new();
                let body = self
                    .app
                    .cipher
                    .seal::<HistoryBody>(tenant, hid, id, text.as_bytes())
                    .await?;
                patients::insert_history(
                    &mut tx,
                    &HistoryRow {
                        id: hid,
                        patient_id: id,
                        category: (*category).into(),
                        sensitivity: sensitivity.as_str().into(),
                        body,
                        branch_id: Some(branch),
                        recorded_by: staff.doctor,
                        recorded_at: now - Duration::days(60),
                        updated_at: now - Duration::days(60),
                    },
                )
                .await?;
            }
            audit::record(
                &mut tx,
                &actor,
                AuditEvent::new(
                    now,
                    AuditAction::PatientCreated,
                    ResourceKind::Patient,
                    vec![id.as_text()],
                )
                .because("demo"),
            )
            .await?;
            tx.commit().await?;
            ids.push(id);
        }
        self.seed_demo_families(tenant, &ids, &actor, now).await?;
        // One emergency access by the owner, waiting for review.
        if let Some(&pid) = ids.get(5) {
            let gid = uuid::Uuid::now_v7().to_string();
            let reason =
                "Breathless at the front desk, needed inhaler history before the doctor arrived";
            let mut tx = self.app.store.write(tenant).await?;
            break_glass::insert(
                &mut tx,
                &GrantRow {
                    id: gid.clone(),
                    patient_id: pid,
                    user_id: staff.owner,
                    reason: self
                        .app
                        .cipher
                        .seal::<BreakGlassReason>(tenant, &gid, pid, reason.as_bytes())
                        .await?,
                    started_at: now - Duration::hours(3),
                    expires_at: now - Duration::hours(2),
                    ended_at: None,
                    review_status: "pending".into(),
                    reviewed_by: None,
                    reviewed_at: None,
                    review_note: None,
                },
            )
            .await?;
            let owner = Actor {
                user_id: Some(staff.owner),
                roles: "owner".into(),
                request_id: "demo".into(),
                ..Actor::default()
            };
            audit::record_for(
                &mut tx,
                &owner,
                AuditEvent::new(
                    now - Duration::hours(3),
                    AuditAction::BreakGlassOpened,
                    ResourceKind::BreakGlass,
                    vec![gid, pid.as_text()],
                )
                .because("demo"),
                "emergency",
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

impl Demo<'_> {
    /// The demo's family links and photos, audited like staff changes.
    async fn seed_demo_families(
        &self,
        tenant: TenantId,
        ids: &[PatientId],
        actor: &Actor,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<()> {
        let mut tx = self.app.store.write(tenant).await?;
        for (responsible, dependant, kind, dependent_adult) in LINKS {
            let (Some(&r), Some(&d)) = (ids.get(*responsible), ids.get(*dependant)) else {
                continue;
            };
            patient_links::insert(
                &mut tx,
                &LinkRow {
                    id: FamilyLinkId::new(),
                    patient_id: r,
                    dependant_id: d,
                    kind: (*kind).into(),
                    dependent_adult: *dependent_adult,
                    adolescent_consent_at: None,
                    created_by: actor.user_id.unwrap_or_default(),
                    created_at: now,
                },
            )
            .await?;
            audit::record(
                &mut tx,
                actor,
                demo_event(
                    now,
                    AuditAction::PatientLinkCreated,
                    vec![r.as_text(), d.as_text()],
                ),
            )
            .await?;
        }
        for i in PHOTOS {
            let Some(&id) = ids.get(*i) else { continue };
            let row = self
                .app
                .patients()
                .seal_photo(tenant, id, "image/png", PHOTO)
                .await?;
            patient_links::set_photo(&mut tx, id, Some(&row), now).await?;
            audit::record(
                &mut tx,
                actor,
                demo_event(now, AuditAction::PatientPhotoUpdated, vec![id.as_text()]),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn demo_event(
    at: chrono::DateTime<chrono::Utc>,
    action: AuditAction,
    ids: Vec<String>,
) -> AuditEvent {
    crate::patients::registry::event(at, action, ids).because("demo")
}

/// The demo staff the patients are linked to.
pub(crate) struct DemoStaff {
    pub owner: UserId,
    pub doctor: UserId,
    pub nurse: UserId,
    pub front_desk: UserId,
}
