//! Writing a successful action's audit event in the caller's transaction.

use crate::{AppResult, Ctx};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_store::governance::audit::{self, AuditEvent};
use clinicos_store::TenantTx;

/// Record a successful action on `ids` of `kind`.
pub(crate) async fn audit_ok(
    tx: &mut TenantTx,
    ctx: &Ctx,
    action: AuditAction,
    kind: ResourceKind,
    ids: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let ev = AuditEvent::new(now, action, kind, ids);
    Ok(audit::record(tx, &ctx.actor(), ev).await?)
}
