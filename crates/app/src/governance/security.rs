//! Security monitoring: raising security events at their thresholds, the
//! admin use cases over them (list, acknowledge, settings), and the hooks
//! other services call (failed sign-in, sign-in, export, patient reads,
//! break-the-glass).
//!
//! Invariants:
//! - Raising an event never fails the user's request: problems are logged
//!   as a warning naming the kind only ([`Governance::raise_security_event`]).
//! - A threshold raises once per window (dedupe key + window), so an
//!   attack does not flood the table or the SIEM.
//! - Details carry ids, counts and codes, never PHI.

use crate::governance::policy::Action;
use crate::governance::read_tracker::Verdict;
use crate::governance::security_state::EVENTS_RAISED;
use crate::governance::service::Governance;
use crate::governance::types::{EventQuery, SecurityEvent};
use crate::kit::audit::audit_ok;
use crate::kit::context::RequestInfo;
use crate::{AppError, AppResult, Ctx};
use chrono::Duration;
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::governance::security::{
    network_of, EventKind, SecuritySettings, WorkingHours,
};
use clinicos_domain::kit::page::{PageMeta, PageRequest};
use clinicos_domain::{PatientId, TenantId, UserId};
use clinicos_store::governance::security_events::{self as store, NewEvent};
use clinicos_store::{tenancy::branches, tenancy::tenants};
use serde_json::{json, Value};

/// One event to raise.
pub struct Raise {
    pub kind: EventKind,
    pub user: Option<UserId>,
    pub ip: String,
    pub details: Value,
    /// Raise at most once per (kind, key) within this window.
    pub once_per: Option<(String, Duration)>,
}

impl Governance<'_> {
    /// Raise a security event (break-the-glass and other features call
    /// this). Never fails: returns the new event's id, or None when it was
    /// deduplicated or could not be written (logged without PHI).
    pub async fn raise_security_event(&self, tenant: TenantId, r: Raise) -> Option<String> {
        let kind = r.kind.as_str();
        match self.try_raise(tenant, r).await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(kind, code = e.code(), "could not record a security event");
                None
            }
        }
    }

    async fn try_raise(&self, tenant: TenantId, r: Raise) -> AppResult<Option<String>> {
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(tenant).await?;
        let key = match &r.once_per {
            Some((key, window)) => {
                if store::raised_since(&mut tx, r.kind.as_str(), key, now - *window).await? {
                    return Ok(None);
                }
                key.clone()
            }
            None => String::new(),
        };
        let id = store::insert(
            &mut tx,
            &NewEvent {
                kind: r.kind.as_str().into(),
                severity: r.kind.severity().as_str().into(),
                user_id: r.user.map(|u| u.as_text()),
                ip: r.ip,
                details: r.details,
                dedupe_key: key,
                occurred_at: now,
            },
        )
        .await?;
        tx.commit().await?;
        EVENTS_RAISED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Some(id))
    }

    /// The tenant's thresholds and limits (defaults when never set).
    pub async fn security_settings_of(&self, tenant: TenantId) -> AppResult<SecuritySettings> {
        let mut tx = self.app.store.read(tenant).await?;
        let doc = store::settings(&mut tx).await?;
        tx.commit().await?;
        let s = doc
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default();
        self.app
            .security_cache
            .put(tenant, SecuritySettings::clone(&s));
        Ok(s)
    }

    /// The tenant's settings for the request path: cached for 30 s; None
    /// if they cannot be read (the server defaults apply).
    pub async fn cached_security_settings(&self, tenant: TenantId) -> Option<SecuritySettings> {
        match self.app.security_cache.get(tenant) {
            Some(s) => Some(s),
            None => self.security_settings_of(tenant).await.ok(),
        }
    }

    /// After a failed sign-in (password or second factor) of a known
    /// account: raise `failed_sign_ins` at the threshold.
    pub async fn note_failed_sign_in(&self, tenant: TenantId, user: UserId, ip: &str) {
        let Ok(s) = self.security_settings_of(tenant).await else {
            return;
        };
        let window = Duration::minutes(s.failed_sign_in_window_minutes);
        let since = self.app.clock.now() - window;
        let count = match self.app.store.read(tenant).await {
            Ok(mut tx) => store::failed_sign_ins(&mut tx, &user.as_text(), since).await,
            Err(e) => Err(e),
        };
        match count {
            Ok(n) if n >= s.failed_sign_in_threshold => {
                let details = json!({"failures": n, "window_minutes": s.failed_sign_in_window_minutes, "threshold": s.failed_sign_in_threshold});
                self.raise_security_event(
                    tenant,
                    Raise {
                        kind: EventKind::FailedSignIns,
                        user: Some(user),
                        ip: ip.to_owned(),
                        details,
                        once_per: Some((user.as_text(), window)),
                    },
                )
                .await;
            }
            Ok(_) => {}
            Err(_) => tracing::warn!(kind = "failed_sign_ins", "could not count failed sign-ins"),
        }
    }

    /// After a successful sign-in: a network or country not seen for this
    /// user before raises `new_network` / `new_country` (not on the first
    /// sign-in ever, which has nothing to compare with).
    pub async fn note_sign_in(&self, tenant: TenantId, user: UserId, req: &RequestInfo) {
        let Ok(s) = self.security_settings_of(tenant).await else {
            return;
        };
        let now = self.app.clock.now();
        let mut seen = Vec::new();
        if let Some(net) = network_of(&req.ip) {
            seen.push((EventKind::NewNetwork, "network", net));
        }
        if let Some(c) = self.app.geo.country(req) {
            seen.push((EventKind::NewCountry, "country", c));
        }
        for (kind, what, value) in seen {
            let fresh = match self.app.store.write(tenant).await {
                Ok(mut tx) => {
                    let r = store::note_known(&mut tx, &user.as_text(), what, &value, now).await;
                    match (r, tx.commit().await) {
                        (Ok((new, had_others)), Ok(())) => new && had_others,
                        _ => false,
                    }
                }
                Err(_) => false,
            };
            if fresh && s.new_network_alerts {
                self.raise_security_event(
                    tenant,
                    Raise {
                        kind,
                        user: Some(user),
                        ip: req.ip.clone(),
                        details: json!({ what: value }),
                        once_per: None,
                    },
                )
                .await;
            }
        }
    }

    /// Patient reads by the acting user (called by patient features with
    /// the ids they returned, after their audit event is committed): more
    /// than the threshold of distinct patients within the window raises
    /// `mass_patient_reads`, once per window.
    pub async fn note_patient_reads(&self, ctx: &Ctx, ids: &[PatientId]) {
        if ids.is_empty() {
            return;
        }
        let Ok(s) = self.security_settings_of(ctx.tenant).await else {
            return;
        };
        let window = Duration::minutes(s.patient_read_window_minutes);
        let now = self.app.clock.now();
        let since = now - window;
        let verdict = self.app.read_tracker.note(
            ctx.tenant,
            ctx.user,
            ids,
            now,
            window,
            s.patient_read_threshold,
        );
        let count = match verdict {
            Verdict::Fine => return,
            Verdict::Exceeded(n) => Ok(n),
            Verdict::CheckDatabase => match self.app.store.read(ctx.tenant).await {
                Ok(mut tx) => {
                    store::distinct_patients_read(&mut tx, &ctx.user.as_text(), since).await
                }
                Err(e) => Err(e),
            },
        };
        match count {
            Ok(n) if n as i64 > s.patient_read_threshold => {
                let details = json!({"distinct_patients": n, "window_minutes": s.patient_read_window_minutes, "threshold": s.patient_read_threshold});
                self.raise_security_event(
                    ctx.tenant,
                    Raise {
                        kind: EventKind::MassPatientReads,
                        user: Some(ctx.user),
                        ip: ctx.request.ip.clone(),
                        details,
                        once_per: Some((ctx.user.as_text(), window)),
                    },
                )
                .await;
            }
            Ok(_) => {}
            Err(_) => tracing::warn!(kind = "mass_patient_reads", "could not count patient reads"),
        }
    }

    /// After an organisation export: outside the working hours of the
    /// user's current branch (in its time zone; the tenant's zone and
    /// default hours when there is no branch or it states none) raises
    /// `export_off_hours`.
    pub async fn note_export(&self, ctx: &Ctx, what: &str) {
        match self.is_off_hours(ctx).await {
            Ok(Some((zone, hours))) => {
                self.raise_security_event(
                    ctx.tenant,
                    Raise {
                        kind: EventKind::ExportOffHours,
                        user: Some(ctx.user),
                        ip: ctx.request.ip.clone(),
                        details: json!({"export": what, "branch_id": ctx.branch.map(|b| b.as_text()), "time_zone": zone, "working_hours": hours}),
                        once_per: None,
                    },
                )
                .await;
            }
            Ok(None) => {}
            Err(_) => tracing::warn!(kind = "export_off_hours", "could not check working hours"),
        }
    }

    async fn is_off_hours(&self, ctx: &Ctx) -> AppResult<Option<(String, String)>> {
        let s = self.security_settings_of(ctx.tenant).await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let tenant = tenants::get(&mut tx).await?;
        let branch = match ctx.branch {
            Some(b) => Some(branches::get(&mut tx, b).await?),
            None => None,
        };
        tx.commit().await?;
        let zone_text = branch
            .as_ref()
            .map(|b| b.fields.time_zone.clone())
            .unwrap_or(tenant.default_time_zone);
        let hours_text = branch
            .map(|b| b.fields.working_hours)
            .filter(|h| WorkingHours::parse(h).is_some())
            .unwrap_or(s.default_working_hours);
        let (Ok(zone), Some(hours)) = (
            zone_text.parse::<chrono_tz::Tz>(),
            WorkingHours::parse(&hours_text),
        ) else {
            return Ok(None);
        };
        Ok((!hours.contains(self.app.clock.now(), zone)).then_some((zone_text, hours_text)))
    }

    // ---- admin use cases ---------------------------------------------

    /// Security events, newest first.
    pub async fn security_events(
        &self,
        ctx: &Ctx,
        q: &EventQuery,
        page: PageRequest,
    ) -> AppResult<(Vec<SecurityEvent>, PageMeta)> {
        self.authorize(ctx, Action::ViewSecurityEvents).await?;
        let mut tx = self.app.store.read(ctx.tenant).await?;
        let (rows, total) =
            store::list(&mut tx, &q.into(), i64::from(page.limit), page.offset()).await?;
        tx.commit().await?;
        Ok((
            rows.into_iter().map(Into::into).collect(),
            PageMeta::new(page, total),
        ))
    }

    /// Acknowledge an event (audited as `security.event_ack`).
    pub async fn acknowledge_security_event(&self, ctx: &Ctx, id: uuid::Uuid) -> AppResult<()> {
        self.authorize(ctx, Action::ViewSecurityEvents).await?;
        let now = self.app.clock.now();
        let id = id.hyphenated().to_string();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        if !store::acknowledge(&mut tx, &id, &ctx.user.as_text(), now).await? {
            return Err(AppError::NotFound("security event"));
        }
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::SecurityEventAck,
            ResourceKind::SecurityEvent,
            vec![id],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replace the tenant's thresholds and limits (audited as
    /// `security.settings`).
    pub async fn put_security_settings(
        &self,
        ctx: &Ctx,
        s: &SecuritySettings,
    ) -> AppResult<SecuritySettings> {
        self.authorize(ctx, Action::ManageSecuritySettings).await?;
        s.validate().map_err(AppError::Validation)?;
        let now = self.app.clock.now();
        let doc = serde_json::to_string(s).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tx = self.app.store.write(ctx.tenant).await?;
        store::put_settings(&mut tx, &doc, Some(&ctx.user.as_text()), now).await?;
        let ids = vec![ctx.tenant.as_text()];
        audit_ok(
            &mut tx,
            ctx,
            AuditAction::SecuritySettings,
            ResourceKind::Tenant,
            ids,
            now,
        )
        .await?;
        tx.commit().await?;
        self.app.security_cache.put(ctx.tenant, s.clone());
        Ok(s.clone())
    }

    /// The settings for the admin page and API.
    pub async fn security_settings(&self, ctx: &Ctx) -> AppResult<SecuritySettings> {
        self.authorize(ctx, Action::ViewSecurityEvents).await?;
        self.security_settings_of(ctx.tenant).await
    }
}
