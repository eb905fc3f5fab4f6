//! Break-the-glass: a clinician without a care relationship opens a
//! patient's record in an emergency by giving a reason. The grant lasts the
//! tenant's setting (default 60 minutes); every read under it is flagged in
//! the audit (purpose `emergency`, reason naming the grant); privacy
//! officers get a review task (the pending list, plus an outbox message
//! without PHI) and record the outcome. Restricted-tier records stay
//! closed (see docs/PERMISSIONS.md).

use crate::governance::policy::Action;
use crate::governance::service::Governance;
use crate::kit::domain_schema;
use crate::messaging::outbox::Outgoing;
use crate::patients::registry::load;
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Duration, Utc};
use clinicos_domain::governance::access::Target;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::messaging::message::{Addressee, MessageKind};
use clinicos_domain::{PatientId, Role, UserId};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::governance::break_glass::BreakGlassReason;
use clinicos_store::governance::break_glass::BreakGlassReviewNote;
use clinicos_store::governance::break_glass::{self, GrantRow};
use serde::{Deserialize, Serialize};

/// Shortest reason accepted: a word or two is not a justification.
pub const MIN_REASON_CHARS: usize = 15;

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// Why normal access is not enough (stored encrypted).
    pub reason: String,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// `justified` or `unjustified`.
    pub outcome: String,
    /// The reviewer's note (stored encrypted).
    #[serde(default)]
    pub note: String,
}

/// A grant as shown to its holder and to reviewers.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BreakGlassGrant {
    pub id: String,
    #[schema(value_type = domain_schema::PatientId)]
    pub patient_id: PatientId,
    #[schema(value_type = domain_schema::UserId)]
    pub user_id: UserId,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub active: bool,
    /// pending, justified or unjustified.
    pub review_status: String,
    #[schema(value_type = Option<domain_schema::UserId>)]
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
}

fn grant_event(at: DateTime<Utc>, action: AuditAction, ids: Vec<String>) -> AuditEvent {
    AuditEvent::new(at, action, ResourceKind::BreakGlass, ids)
}

impl Governance<'_> {
    async fn show_grant(&self, ctx: &Ctx, g: GrantRow) -> AppResult<BreakGlassGrant> {
        let text = |b: AppResult<Vec<u8>>| {
            b.map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let cipher = &self.app.cipher;
        let reason = text(
            cipher
                .open(ctx.tenant, &g.id, g.patient_id, &g.reason)
                .await,
        );
        let review_note = match &g.review_note {
            Some(n) => Some(text(cipher.open(ctx.tenant, &g.id, g.patient_id, n).await)),
            None => None,
        };
        let now = self.app.clock.now();
        Ok(BreakGlassGrant {
            active: g.ended_at.is_none() && g.expires_at > now,
            id: g.id,
            patient_id: g.patient_id,
            user_id: g.user_id,
            reason,
            started_at: g.started_at,
            expires_at: g.expires_at,
            ended_at: g.ended_at,
            review_status: g.review_status,
            reviewed_by: g.reviewed_by,
            reviewed_at: g.reviewed_at,
            review_note,
        })
    }

    /// Open a patient's record in an emergency.
    pub async fn break_glass(
        &self,
        ctx: &Ctx,
        patient: PatientId,
        req: BreakGlassRequest,
    ) -> AppResult<BreakGlassGrant> {
        self.authorize(ctx, Action::BreakGlass).await?;
        let reason = req.reason.trim();
        if reason.chars().count() < MIN_REASON_CHARS || reason.chars().count() > 2000 {
            return Err(AppError::field(
                "reason",
                "must explain the emergency in 15 to 2000 characters",
            ));
        }
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let p = load(&mut tx, patient).await?;
        let settings = clinicos_store::governance::policy::settings(&mut tx).await?;
        let since = crate::patients::access::window_start(now, settings.own_patient_window_months);
        if clinicos_store::patients::registry::has_care_relationship(&mut tx, p.id, ctx.user, since)
            .await?
        {
            return Err(AppError::Conflict(
                "you already have access to this patient's record".into(),
            ));
        }
        if let Some(g) = break_glass::active(&mut tx, p.id, ctx.user, now).await? {
            drop(tx);
            return self.show_grant(ctx, g).await;
        }
        let id = uuid::Uuid::now_v7().to_string();
        let row = GrantRow {
            id: id.clone(),
            patient_id: p.id,
            user_id: ctx.user,
            reason: self
                .app
                .cipher
                .seal::<BreakGlassReason>(ctx.tenant, &id, p.id, reason.as_bytes())
                .await?,
            started_at: now,
            expires_at: now + Duration::minutes(settings.break_glass_minutes.clamp(1, 24 * 60)),
            ended_at: None,
            review_status: "pending".into(),
            reviewed_by: None,
            reviewed_at: None,
            review_note: None,
        };
        break_glass::insert(&mut tx, &row).await?;
        audit::record_for(
            &mut tx,
            &ctx.actor(),
            grant_event(
                now,
                AuditAction::BreakGlassOpened,
                vec![id.clone(), p.id.as_text()],
            ),
            "emergency",
        )
        .await?;
        // The review task: every privacy officer is told, without PHI.
        for (officer, email) in
            clinicos_store::identity::users::with_role(&mut tx, Role::PrivacyOfficer).await?
        {
            let body = format!(
                "A staff member used emergency (break-the-glass) access at {}. \
                 Review it under Emergency access reviews (grant {id}).",
                now.format("%Y-%m-%d %H:%M UTC")
            );
            let review = Outgoing {
                kind: MessageKind::BreakGlassReview,
                channel: "email",
                to: Addressee::User(officer),
                branch: None,
                recipient: &email,
                subject: "Emergency access needs your review",
                body: &body,
            };
            self.app.messaging().send(&mut tx, review, now).await?;
        }
        tx.commit().await?;
        self.raise_security_event(
            ctx.tenant,
            crate::governance::security::Raise {
                kind: clinicos_domain::governance::security::EventKind::BreakGlass,
                user: Some(ctx.user),
                ip: ctx.request.ip.clone(),
                details: serde_json::json!({"grant_id": id, "patient_id": p.id}),
                once_per: None,
            },
        )
        .await;
        self.show_grant(ctx, row).await
    }

    /// End one's own grant early.
    pub async fn end_break_glass(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        self.authorize(ctx, Action::BreakGlass).await?;
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        if !break_glass::end(&mut tx, id, ctx.user, now).await? {
            return Err(AppError::NotFound("active emergency access"));
        }
        audit::record(
            &mut tx,
            &ctx.actor(),
            grant_event(now, AuditAction::BreakGlassEnded, vec![id.to_owned()]),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grants for review (`pending`, `justified`, `unjustified`, or all).
    pub async fn break_glass_reviews(
        &self,
        ctx: &Ctx,
        status: Option<&str>,
    ) -> AppResult<Vec<BreakGlassGrant>> {
        self.authorize(ctx, Action::ReviewBreakGlass).await?;
        let status = status.unwrap_or("pending");
        if !matches!(status, "pending" | "justified" | "unjustified" | "all") {
            return Err(AppError::field(
                "status",
                "must be pending, justified, unjustified or all",
            ));
        }
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let rows =
            break_glass::list(&mut tx, if status == "all" { "" } else { status }, 200).await?;
        audit::record(
            &mut tx,
            &ctx.actor(),
            grant_event(
                self.app.clock.now(),
                AuditAction::BreakGlassList,
                rows.iter().map(|r| r.id.clone()).collect(),
            ),
        )
        .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.show_grant(ctx, r).await?);
        }
        Ok(out)
    }

    /// Record the review outcome (once; not of one's own access).
    pub async fn review_break_glass(
        &self,
        ctx: &Ctx,
        id: &str,
        input: ReviewInput,
    ) -> AppResult<BreakGlassGrant> {
        if !matches!(input.outcome.as_str(), "justified" | "unjustified") {
            return Err(AppError::field(
                "outcome",
                "must be justified or unjustified",
            ));
        }
        if input.note.chars().count() > 2000 {
            return Err(AppError::field("note", "must be at most 2000 characters"));
        }
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let g = break_glass::get(&mut tx, id).await;
        // One decision: the permission, and never one's own access.
        let target = Target {
            about_user: g.as_ref().ok().map(|g| g.user_id),
            ..Target::default()
        };
        let mut tx = self
            .authorize_in(tx, ctx, Action::ReviewBreakGlass, &target)
            .await?;
        let g = g.map_err(|_| AppError::NotFound("emergency access"))?;
        let note = match input.note.trim() {
            "" => None,
            n => Some(
                self.app
                    .cipher
                    .seal::<BreakGlassReviewNote>(ctx.tenant, &g.id, g.patient_id, n.as_bytes())
                    .await?,
            ),
        };
        if !break_glass::review(&mut tx, &g.id, &input.outcome, note, ctx.user, now).await? {
            return Err(AppError::Conflict(
                "this access was already reviewed".into(),
            ));
        }
        let reason = format!("outcome:{}", input.outcome);
        audit::record(
            &mut tx,
            &ctx.actor(),
            grant_event(
                now,
                AuditAction::BreakGlassReviewed,
                vec![g.id.clone(), g.patient_id.as_text()],
            )
            .because(reason),
        )
        .await?;
        let g = break_glass::get(&mut tx, id).await?;
        tx.commit().await?;
        self.show_grant(ctx, g).await
    }
}
