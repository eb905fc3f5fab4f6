//! Family links between patients and the patient photo's row columns.
//! The photo's bytes live in the blob store; this keeps which photo is
//! current and what it is.

use crate::kit::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{FamilyLinkId, PatientId, UserId};
use sqlx::any::AnyRow;

/// One link: `patient_id` is the parent or guardian of `dependant_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRow {
    pub id: FamilyLinkId,
    pub patient_id: PatientId,
    pub dependant_id: PatientId,
    /// `parent` or `guardian`.
    pub kind: String,
    pub dependent_adult: bool,
    pub adolescent_consent_at: Option<DateTime<Utc>>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

const COLS: &str =
    "id, patient_id, dependant_id, kind, dependent_adult, adolescent_consent_at, created_by, created_at";

fn from_row(r: &AnyRow) -> StoreResult<LinkRow> {
    Ok(LinkRow {
        id: r.parse("id")?,
        patient_id: r.parse("patient_id")?,
        dependant_id: r.parse("dependant_id")?,
        kind: r.text("kind")?,
        dependent_adult: r.flag("dependent_adult")?,
        adolescent_consent_at: r.opt_time("adolescent_consent_at")?,
        created_by: r.parse("created_by")?,
        created_at: r.time("created_at")?,
    })
}

pub async fn insert(tx: &mut TenantTx, l: &LinkRow) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO patient_links (tenant_id, id, patient_id, dependant_id, kind, dependent_adult, \
            adolescent_consent_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(l.id.as_text())
        .bind(l.patient_id.as_text())
        .bind(l.dependant_id.as_text())
        .bind(l.kind.clone())
        .bind(i64::from(l.dependent_adult))
        .bind(l.adolescent_consent_at.map(ts))
        .bind(l.created_by.as_text())
        .bind(ts(l.created_at));
    tx.exec(q).await?;
    Ok(())
}

/// Every link the patient is on, either side, oldest first.
pub async fn of_patient(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<LinkRow>> {
    let sql = format!(
        "SELECT {COLS} FROM patient_links WHERE tenant_id = $1 AND (patient_id = $2 OR dependant_id = $2) \
         ORDER BY created_at, id"
    );
    let q = tx.q(&sql).bind(patient.as_text());
    tx.all(q).await?.iter().map(from_row).collect()
}

/// The links on which the patient is the responsible one.
pub async fn dependants_of(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<LinkRow>> {
    let sql = format!(
        "SELECT {COLS} FROM patient_links WHERE tenant_id = $1 AND patient_id = $2 ORDER BY created_at, id"
    );
    let q = tx.q(&sql).bind(patient.as_text());
    tx.all(q).await?.iter().map(from_row).collect()
}

/// Every parent link of the tenant that touches the family of `patients`
/// (their ancestors and descendants), as `(parent, child)` pairs: enough to
/// decide whether a new parent link closes a cycle.
pub async fn parent_edges_around(
    tx: &mut TenantTx,
    patients: &[PatientId],
) -> StoreResult<Vec<(PatientId, PatientId)>> {
    let mut edges: Vec<(PatientId, PatientId)> = Vec::new();
    let mut frontier: Vec<PatientId> = patients.to_vec();
    let mut seen: std::collections::HashSet<PatientId> = frontier.iter().copied().collect();
    // Families are small; the bound stops a pathological graph.
    while let Some(n) = frontier.pop() {
        if seen.len() > 10_000 {
            break;
        }
        let q = tx
            .q("SELECT patient_id, dependant_id FROM patient_links WHERE tenant_id = $1 AND kind = 'parent' \
                AND (patient_id = $2 OR dependant_id = $2)")
            .bind(n.as_text());
        for r in tx.all(q).await? {
            let e: (PatientId, PatientId) = (r.parse("patient_id")?, r.parse("dependant_id")?);
            for side in [e.0, e.1] {
                if seen.insert(side) {
                    frontier.push(side);
                }
            }
            if !edges.contains(&e) {
                edges.push(e);
            }
        }
    }
    Ok(edges)
}

pub async fn get(tx: &mut TenantTx, id: FamilyLinkId) -> StoreResult<LinkRow> {
    let sql = format!("SELECT {COLS} FROM patient_links WHERE tenant_id = $1 AND id = $2");
    let q = tx.q(&sql).bind(id.as_text());
    from_row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
}

/// Is there already a link of this kind between these two patients?
pub async fn exists(
    tx: &mut TenantTx,
    patient: PatientId,
    dependant: PatientId,
    kind: &str,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "SELECT 1 AS one FROM patient_links WHERE tenant_id = $1 AND patient_id = $2 \
            AND dependant_id = $3 AND kind = $4",
        )
        .bind(patient.as_text())
        .bind(dependant.as_text())
        .bind(kind.to_owned());
    Ok(tx.opt(q).await?.is_some())
}

pub async fn delete(tx: &mut TenantTx, id: FamilyLinkId) -> StoreResult<()> {
    let q = tx
        .q("DELETE FROM patient_links WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text());
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Record (`Some`) or withdraw (`None`) the adolescent's consent.
pub async fn set_consent(
    tx: &mut TenantTx,
    id: FamilyLinkId,
    at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE patient_links SET adolescent_consent_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(at.map(ts));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Move one side of a link to another patient (`side` is `patient_id` or
/// `dependant_id`; any other value is refused).
pub async fn repoint(
    tx: &mut TenantTx,
    id: FamilyLinkId,
    side: &str,
    to: PatientId,
) -> StoreResult<u64> {
    let sql = match side {
        "patient_id" => "UPDATE patient_links SET patient_id = $3 WHERE tenant_id = $1 AND id = $2",
        "dependant_id" => {
            "UPDATE patient_links SET dependant_id = $3 WHERE tenant_id = $1 AND id = $2"
        }
        _ => return Err(StoreError::Corrupt(format!("unknown link side {side}"))),
    };
    let q = tx.q(sql).bind(id.as_text()).bind(to.as_text());
    tx.exec(q).await
}

/// The current photo of a patient, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoRow {
    pub photo_id: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// The patient's photo columns (`None` when no photo; NotFound when no
/// such patient).
pub async fn photo(tx: &mut TenantTx, patient: PatientId) -> StoreResult<Option<PhotoRow>> {
    let q = tx
        .q(
            "SELECT photo_id, photo_type, photo_size, photo_sha256 FROM patients \
            WHERE tenant_id = $1 AND id = $2",
        )
        .bind(patient.as_text());
    let r = tx.opt(q).await?.ok_or(StoreError::NotFound)?;
    let Some(photo_id) = r.opt_text("photo_id")? else {
        return Ok(None);
    };
    Ok(Some(PhotoRow {
        photo_id,
        content_type: r.opt_text("photo_type")?.unwrap_or_default(),
        size: r.opt_int("photo_size")?.unwrap_or(0),
        sha256: r.opt_text("photo_sha256")?.unwrap_or_default(),
    }))
}

/// Set (or clear, with `None`) the patient's photo columns.
pub async fn set_photo(
    tx: &mut TenantTx,
    patient: PatientId,
    p: Option<&PhotoRow>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE patients SET photo_id = $3, photo_type = $4, photo_size = $5, photo_sha256 = $6, \
            updated_at = $7 WHERE tenant_id = $1 AND id = $2")
        .bind(patient.as_text())
        .bind(p.map(|p| p.photo_id.clone()))
        .bind(p.map(|p| p.content_type.clone()))
        .bind(p.map(|p| p.size))
        .bind(p.map(|p| p.sha256.clone()))
        .bind(ts(now));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
