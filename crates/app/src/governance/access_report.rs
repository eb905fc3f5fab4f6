//! Access reports: who did what, to which record, when (seed 000 §2.3
//! "who saw my record", per user / date range), on screen and as CSV.
//! Viewing a report is itself audited, naming the events it returned.

use crate::governance::policy::Action;
use crate::governance::service::Governance;
use crate::governance::types::{AuditQuery, AuditRow};
use crate::{AppError, AppResult, Ctx};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::kit::page::{PageMeta, PageRequest};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::governance::audit_report;

/// Most rows in one CSV download.
pub const CSV_MAX_ROWS: i64 = 10_000;

/// Parse a date bound: `YYYY-MM-DD` (a whole UTC day; `to` includes it) or
/// an RFC 3339 instant.
pub fn parse_bound(field: &str, v: &str, is_end: bool) -> AppResult<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let day = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| AppError::field(field, "is not a valid date"))?;
        return Ok(if is_end { day + Duration::days(1) } else { day });
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| AppError::field(field, "must be a date like 2026-11-25 or an RFC 3339 time"))
}

/// One CSV field: quoted, quotes doubled, and a leading = + - @ neutralised
/// so that spreadsheets do not run it as a formula.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// Render rows as CSV (RFC 4180, CRLF line ends, header first).
pub fn to_csv(rows: &[AuditRow]) -> String {
    let mut out = String::from("at,actor_id,actor_roles,branch_id,action,resource_type,resource_ids,purpose,outcome,reason,ip,user_agent,request_id,event_id\r\n");
    for r in rows {
        let fields = [
            r.at.to_rfc3339(),
            r.actor_id.clone().unwrap_or_default(),
            r.actor_roles.clone(),
            r.branch_id.clone().unwrap_or_default(),
            r.action.clone(),
            r.resource_type.clone(),
            r.resource_ids.join(" "),
            r.purpose.clone(),
            r.outcome.clone(),
            r.reason.clone(),
            r.ip.clone(),
            r.user_agent.clone(),
            r.request_id.clone(),
            r.id.clone(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

impl Governance<'_> {
    /// A page of the audit trail matching `q`, newest first.
    pub async fn access_report(
        &self,
        ctx: &Ctx,
        q: &AuditQuery,
        page: PageRequest,
    ) -> AppResult<(Vec<AuditRow>, PageMeta)> {
        let rows = self
            .report_rows(
                ctx,
                q,
                i64::from(page.limit),
                page.offset(),
                AuditAction::AuditReportView,
            )
            .await?;
        Ok((rows.0, PageMeta::new(page, rows.1)))
    }

    /// The same report as CSV (at most [`CSV_MAX_ROWS`] rows).
    pub async fn access_report_csv(&self, ctx: &Ctx, q: &AuditQuery) -> AppResult<String> {
        let (rows, _) = self
            .report_rows(ctx, q, CSV_MAX_ROWS, 0, AuditAction::ExportAuditReport)
            .await?;
        Ok(to_csv(&rows))
    }

    async fn report_rows(
        &self,
        ctx: &Ctx,
        q: &AuditQuery,
        limit: i64,
        offset: i64,
        action: AuditAction,
    ) -> AppResult<(Vec<AuditRow>, u64)> {
        self.authorize(ctx, Action::ViewAudit).await?;
        if let (Some(f), Some(t)) = (q.from, q.to) {
            if f >= t {
                return Err(AppError::field("from", "must be before to"));
            }
        }
        let now = self.app.clock.now();
        let mut tx = self.app.store.write(ctx.tenant).await?;
        let (rows, total) = audit_report::search(&mut tx, &q.clone().into(), limit, offset).await?;
        let ev = AuditEvent::new(
            now,
            action,
            ResourceKind::AuditEvent,
            rows.iter().map(|r| r.id.clone()).collect(),
        );
        audit::record(&mut tx, &ctx.actor(), ev).await?;
        tx.commit().await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_field("plain"), "\"plain\"");
    }

    #[test]
    fn date_bounds() {
        let from = parse_bound("from", "2026-11-25", false).unwrap();
        let to = parse_bound("to", "2026-11-25", true).unwrap();
        assert_eq!(to - from, Duration::days(1));
        assert!(parse_bound("from", "25/11/2026", false).is_err());
        assert!(parse_bound("from", "2026-11-25T10:00:00+05:30", false).is_ok());
    }
}
