//! Writing a successful action's audit event in the caller's transaction.

use crate::{AppResult, Ctx};
use clinicos_store::governance::audit::{self, AuditEvent, Outcome};
use clinicos_store::TenantTx;

/// Record a successful action on `ids` of `kind`.
pub(crate) async fn audit_ok(
    tx: &mut TenantTx,
    ctx: &Ctx,
    action: &str,
    kind: &str,
    ids: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let ev = AuditEvent {
        at: now,
        action,
        resource_type: kind,
        resource_ids: ids,
        outcome: Outcome::Success,
        reason: "",
    };
    Ok(audit::record(tx, &ctx.actor(), ev).await?)
}
