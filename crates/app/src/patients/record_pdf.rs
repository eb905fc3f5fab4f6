//! The patient record as a printable PDF for referrals: the same
//! [`PatientRecord`] the JSON export carries (so the policy point, the
//! withholding of restricted entries and the audit are the same), laid out
//! for a reader on paper. Front-desk notes, tags and marketing consent are
//! operational and left out; withheld entries are counted, not hidden
//! silently.

use crate::kit::error::{AppError, AppResult};
use crate::patients::patient::Patient;
use crate::patients::record::{PatientRecord, RecordFormat};
use crate::patients::service::Patients;
use crate::Ctx;
use chrono::{DateTime, Utc};
use clinicos_domain::PatientId;
use clinicos_pdf::{printable, TextDocument};

impl Patients<'_> {
    /// One patient's record as a printable PDF, as far as the reader may
    /// see it (the same read, policy and audit as the JSON export).
    pub async fn export_patient_record_pdf(&self, ctx: &Ctx, id: PatientId) -> AppResult<Vec<u8>> {
        let record = self
            .export_patient_record(ctx, id, RecordFormat::Pdf)
            .await?;
        record_pdf(&record)
    }
}

fn day(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn joined(parts: &[Option<&str>], sep: &str) -> String {
    parts
        .iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

fn full_name(p: &Patient) -> String {
    joined(
        &[
            Some(&p.given_name),
            Some(&p.middle_name),
            Some(&p.family_name),
        ],
        " ",
    )
}

fn demographics(d: &mut TextDocument, p: &Patient) {
    d.heading("Patient");
    d.field("Name", &full_name(p));
    if !p.local_name.trim().is_empty() {
        if printable(&p.local_name) {
            d.field("Name (local script)", &p.local_name);
        } else {
            d.field(
                "Name (local script)",
                "recorded in a script this document cannot print; see the JSON export",
            );
        }
    }
    d.field("Patient id", &p.id.as_text());
    let born = match (&p.birth_date, p.birth_date_estimated) {
        (Some(b), true) => format!("{b} (estimated)"),
        (Some(b), false) => b.clone(),
        (None, _) => "not recorded".into(),
    };
    d.field("Date of birth", &born);
    d.field("Sex", &p.sex);
    if !p.gender_identity.is_empty() {
        d.field("Gender identity", &p.gender_identity);
    }
    if !p.blood_group.is_empty() && p.blood_group != "unknown" {
        d.field("Blood group", &p.blood_group);
    }
    let contact = joined(&[p.phone.as_deref(), p.email.as_deref()], ", ");
    if !contact.is_empty() {
        d.field("Contact", &contact);
    }
    let address = joined(
        &[p.address.as_deref(), Some(&p.city), Some(&p.postcode)],
        ", ",
    );
    if !address.is_empty() {
        d.field("Address", &address);
    }
    for id in &p.identifiers {
        d.field(
            &id.kind,
            &joined(&[Some(&id.value), Some(&id.issuer)], " / "),
        );
    }
    if let Some(ec) = &p.emergency_contact {
        let who = joined(
            &[Some(&ec.name), Some(&ec.relationship), Some(&ec.phone)],
            ", ",
        );
        d.field("Emergency contact", &who);
    }
    if !p.preferred_language.is_empty() {
        d.field("Preferred language", &p.preferred_language);
    }
    if let Some(on) = p.deceased_on.as_deref() {
        d.field("Deceased", on);
    } else if p.deceased_at.is_some() {
        d.field("Deceased", "yes");
    }
    if !p.is_active {
        d.field("Status", "inactive");
    }
}

fn withheld(d: &mut TextDocument, n: usize) {
    if n > 0 {
        d.paragraph(
            0.0,
            &format!("Restricted entries not included for this reader: {n}."),
        );
    }
}

fn none_recorded(d: &mut TextDocument, empty: bool) {
    if empty {
        d.paragraph(0.0, "None recorded.");
    }
}

/// Render `record` as a PDF.
pub fn record_pdf(record: &PatientRecord) -> AppResult<Vec<u8>> {
    let p = &record.patient;
    let mut d = TextDocument::new(&format!("Patient record: {}", full_name(p)));
    d.title(&format!("Patient record: {}", full_name(p)));
    if record.emergency_access {
        d.paragraph(
            0.0,
            "Read under emergency (break-the-glass) access; this access is audited.",
        );
    }
    demographics(&mut d, p);

    d.heading("Allergies");
    none_recorded(&mut d, record.allergies.entries.is_empty());
    for a in &record.allergies.entries {
        d.strong(&a.substance);
        let detail = joined(
            &[
                Some(&a.category),
                a.severity.as_deref(),
                a.reaction.as_deref().map(|r| r.trim()),
                Some(&a.status),
            ],
            "; ",
        );
        d.paragraph(
            12.0,
            &format!("{detail}. Recorded {}.", day(&a.recorded.recorded_at)),
        );
        if let Some(n) = &a.note {
            d.paragraph(12.0, n);
        }
    }
    withheld(&mut d, record.allergies.withheld);

    d.heading("Conditions");
    none_recorded(&mut d, record.conditions.entries.is_empty());
    for c in &record.conditions.entries {
        match &c.code {
            Some(code) => d.strong(&format!("{} ({code})", c.name)),
            None => d.strong(&c.name),
        }
        let since = c.onset_date.as_deref().map(|o| format!("since {o}"));
        let until = c.resolved_date.as_deref().map(|r| format!("resolved {r}"));
        let detail = joined(&[Some(&c.status), since.as_deref(), until.as_deref()], "; ");
        d.paragraph(12.0, &detail);
        if let Some(n) = &c.note {
            d.paragraph(12.0, n);
        }
    }
    withheld(&mut d, record.conditions.withheld);

    d.heading("Medications");
    none_recorded(&mut d, record.medications.entries.is_empty());
    for m in &record.medications.entries {
        d.strong(&joined(
            &[
                Some(&m.name),
                m.dose.as_deref(),
                m.route.as_deref(),
                m.frequency.as_deref(),
            ],
            " ",
        ));
        let from = m.start_date.as_deref().map(|s| format!("from {s}"));
        let to = m.stop_date.as_deref().map(|s| format!("to {s}"));
        d.paragraph(
            12.0,
            &joined(&[Some(&m.status), from.as_deref(), to.as_deref()], "; "),
        );
        if let Some(n) = &m.note {
            d.paragraph(12.0, n);
        }
    }
    withheld(&mut d, record.medications.withheld);

    d.heading("Medical history");
    none_recorded(&mut d, record.history.entries.is_empty());
    for h in &record.history.entries {
        d.strong(&format!("{} ({})", h.category, day(&h.recorded_at)));
        d.paragraph(12.0, &h.text);
    }
    withheld(&mut d, record.history.withheld);

    d.finish(&format!(
        "Confidential patient information. Exported {} UTC by ClinicOS.",
        record.exported_at.format("%Y-%m-%d %H:%M")
    ))
    .map_err(|e| AppError::Internal(e.to_string()))
}
