//! What the chart page shows about a record beyond its demographics:
//! whether it has a photo, and the merges it takes part in (the banner of
//! a merged record, the list on a survivor, and which one may be undone).
//!
//! Invariants:
//! - `ViewPatients`, tenant-scoped; the names of the other records shown
//!   are a read of those records, audited in the same transaction.
//! - `undoable` says what `App::undo_merge` would allow: only the newest
//!   live merge touching either record.

use crate::governance::policy::Action;
use crate::patients::consent::Purpose;
use crate::patients::registry::{event, load};
use crate::patients::service::Patients;
use crate::{AppResult, Ctx};
use chrono::{DateTime, Utc};
use clinicos_domain::governance::audit_catalogue::AuditAction;
use clinicos_domain::{MergeId, PatientId};
use clinicos_store::governance::audit;
use clinicos_store::patients::links as photos;
use clinicos_store::patients::merge as merges;

/// A merge not undone that touches the record.
#[derive(Clone, Debug)]
pub struct LiveMerge {
    pub id: MergeId,
    pub survivor_id: PatientId,
    pub merged_id: PatientId,
    /// The other record's given and family name.
    pub other_name: String,
    pub merged_at: DateTime<Utc>,
    pub undoable: bool,
}

/// The chart's facts about a record.
#[derive(Clone, Debug, Default)]
pub struct ChartFacts {
    pub has_photo: bool,
    pub merges: Vec<LiveMerge>,
}

impl Patients<'_> {
    /// Photo presence and live merges of one patient (audited when other
    /// records are named).
    pub async fn patient_chart_facts(
        &self,
        ctx: &Ctx,
        patient: PatientId,
    ) -> AppResult<ChartFacts> {
        self.app
            .governance()
            .authorize(ctx, Action::ViewPatients)
            .await?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let has_photo = photos::photo(&mut tx, p.id).await?.is_some();
        let mut out = Vec::new();
        let mut ids = vec![p.id.as_text()];
        for m in merges::live_touching(&mut tx, &[p.id]).await? {
            let newest = merges::live_touching(&mut tx, &[m.survivor_id, m.merged_id]).await?;
            let other_id = if m.survivor_id == p.id {
                m.merged_id
            } else {
                m.survivor_id
            };
            let other = load(&mut tx, other_id).await?;
            ids.push(other.id.as_text());
            out.push(LiveMerge {
                undoable: newest.first().is_some_and(|n| n.id == m.id),
                other_name: format!("{} {}", other.given_name, other.family_name)
                    .trim()
                    .to_owned(),
                id: m.id,
                survivor_id: m.survivor_id,
                merged_id: m.merged_id,
                merged_at: m.merged_at,
            });
        }
        if ids.len() > 1 {
            audit::record_for(
                &mut tx,
                &ctx.actor(),
                event(self.app.clock.now(), AuditAction::PatientMergesRead, ids),
                Purpose::Operations.as_str(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ChartFacts {
            has_photo,
            merges: out,
        })
    }
}
