//! Tamper evidence for the audit trail: the sealer.
//!
//! Requests never queue on a chain head: they only INSERT audit events (in
//! their own transaction), each with its MAC under the event key
//! (`clinicos_store::governance::audit::record_for`). The sealer, a
//! background task on every server instance, links committed events into a
//! per-tenant chain in the order it observes them, each link keyed with
//! HMAC-SHA256 under the link key, and signs a checkpoint (Ed25519) after
//! each round that added links; once committed, the checkpoints also go to
//! the witness outside the database (`audit_witness.rs`). Both keys and the
//! signing seed are platform secrets under the master key.
//!
//! Invariants:
//! - The sealer links only events whose MAC verifies, and the events that
//!   migration 0019 listed as written before MACs existed, these only in
//!   the chain's first keyed round (all of them, before anything else).
//!   Any other event is refused: recorded in `audit_rejections` (so it is
//!   not offered again), never linked, and reported in an
//!   `audit_tampering` security event (one per kind of refusal and batch,
//!   naming up to 20 ids and counting all). The rest of the chain keeps
//!   sealing, so one forged row cannot stop the trail's tamper evidence;
//!   `clinicos audit verify` keeps naming the refused event.
//! - Before extending a chain the sealer checks its head link (keyed
//!   hash, or for a pre-0019 head its signed checkpoint) and raises an
//!   `audit_tampering` event if it does not hold; it extends it anyway, and
//!   the verifier names that link as the first broken one.
//! - Two sealers racing on one tenant collide on the chain's (or the
//!   rejections') primary key; the loser rolls back and retries next round.
//!
//! Verification is `audit_verify.rs`.

use crate::governance::audit_witness::WitnessLine;
use crate::governance::security::Raise;
use crate::governance::service::Governance;
use crate::kit::context::RequestInfo;
use crate::{AppError, AppResult};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use clinicos_crypto::AuditKeys;
use clinicos_domain::governance::audit::{
    checkpoint_message, legacy_link_hash, link_message, ChainedEvent, LinkFormat, GENESIS,
};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::governance::security::EventKind;
use clinicos_domain::TenantId;
use clinicos_store::governance::audit::{self, AuditEvent, ChainLink, Checkpoint, Rejection};
use clinicos_store::tenancy::platform;
use clinicos_store::TenantTx;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Events sealed per tenant per transaction; a round repeats until the
/// tenant's backlog is below this, so a busy tenant does not fall behind.
const BATCH: i64 = 1000;
/// At most this many batches per tenant per round, so one tenant under
/// sustained overload cannot starve the others.
const MAX_BATCHES_PER_ROUND: usize = 50;
/// The refusal code of a listed legacy event offered after its chain's
/// first keyed round (listed after the migration).
pub(crate) const LATE_LEGACY: &str = "late_legacy";
/// Refused event ids an `audit_tampering` security event lists (it
/// counts them all; `clinicos audit verify` names every one).
const MAX_IDS_PER_ALERT: usize = 20;
/// How often `serve` runs a sealing round.
pub const SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The published verification key.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditKey {
    /// First 16 hex digits of SHA-256 of the public key.
    pub key_id: String,
    pub algorithm: &'static str,
    /// The Ed25519 public key, base64.
    pub public_key: String,
}

pub(crate) fn key_id(pk: &VerifyingKey) -> String {
    Sha256::digest(pk.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What an event's MAC says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventCheck {
    /// Its MAC verifies: ClinicOS wrote it, as it is.
    Valid,
    /// No MAC, and listed as written before MACs existed.
    Legacy,
    /// No MAC and not legacy: inserted around ClinicOS.
    MissingMac,
    /// A MAC that does not match: forged, or altered since.
    BadMac,
}

impl EventCheck {
    pub(crate) fn check(keys: &AuditKeys, tenant: &str, e: &ChainedEvent) -> EventCheck {
        match &e.mac {
            Some(mac) if keys.event_mac_matches(&e.fields().mac_message(tenant), mac) => {
                EventCheck::Valid
            }
            Some(_) => EventCheck::BadMac,
            None if e.legacy => EventCheck::Legacy,
            None => EventCheck::MissingMac,
        }
    }

    /// Did ClinicOS write it (with a MAC, or before MACs existed)?
    pub(crate) fn sealable(self) -> bool {
        matches!(self, EventCheck::Valid | EventCheck::Legacy)
    }

    /// The refusal code (`audit_rejections.reason`, security event details).
    pub(crate) fn code(self) -> &'static str {
        match self {
            EventCheck::Valid => "valid",
            EventCheck::Legacy => "legacy",
            EventCheck::MissingMac => "missing_mac",
            EventCheck::BadMac => "bad_mac",
        }
    }
}

/// The keyed hash of the link at `seq` after `prev_hash` to `e`.
pub(crate) fn keyed_link(
    keys: &AuditKeys,
    tenant: &str,
    seq: i64,
    prev_hash: &str,
    e: &ChainedEvent,
) -> String {
    keys.link_hash(&link_message(
        tenant,
        seq,
        prev_hash,
        &e.fields(),
        e.mac.as_deref(),
    ))
}

/// Is `c` signed by `pk` (whose id is `kid`) for `tenant`?
pub(crate) fn signature_ok(pk: &VerifyingKey, kid: &str, tenant: &str, c: &Checkpoint) -> bool {
    c.key_id == kid
        && <[u8; 64]>::try_from(c.signature.as_slice())
            .map(|b| {
                pk.verify(
                    &checkpoint_message(tenant, c.seq, &c.hash, c.signed_at_micros),
                    &Signature::from_bytes(&b),
                )
                .is_ok()
            })
            .unwrap_or(false)
}

/// What one tenant's sealing transaction did.
#[derive(Default)]
struct TenantRound {
    /// Events offered (linked or refused): a full batch means more wait.
    offered: usize,
    linked: usize,
    checkpoint: Option<Checkpoint>,
    /// Security events to raise once the transaction committed.
    alerts: Vec<Raise>,
}

/// An event id as a security event names it: the id itself when it is a
/// UUID (every id ClinicOS writes), else its SHA-256, so text someone
/// wrote into the table never reaches the SIEM.
fn event_ref(id: &str) -> String {
    if uuid::Uuid::parse_str(id).is_ok() {
        id.to_owned()
    } else {
        let d = Sha256::digest(id.as_bytes());
        format!(
            "sha256:{}",
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }
}

/// An `audit_tampering` security event (ids and codes only).
fn tampering(details: serde_json::Value, once_per: Option<(String, Duration)>) -> Raise {
    Raise {
        kind: EventKind::AuditTampering,
        user: None,
        ip: String::new(),
        details,
        once_per,
    }
}

impl Governance<'_> {
    fn audit_signing_key(&self) -> &SigningKey {
        &self.app.platform_keys.audit
    }

    pub(crate) fn audit_keys(&self) -> &AuditKeys {
        &self.app.platform_keys.audit_keys
    }

    /// The checkpoint verification key and its id.
    pub(crate) fn audit_verifying_key(&self) -> (VerifyingKey, String) {
        let pk = self.audit_signing_key().verifying_key();
        let kid = key_id(&pk);
        (pk, kid)
    }

    /// The public key that verifies checkpoints.
    pub async fn audit_public_key(&self) -> AppResult<AuditKey> {
        let (pk, kid) = self.audit_verifying_key();
        Ok(AuditKey {
            key_id: kid,
            algorithm: "Ed25519",
            public_key: B64.encode(pk.as_bytes()),
        })
    }

    /// One sealing round over every tenant; returns links added.
    pub async fn seal_audit_once(&self) -> AppResult<usize> {
        let mut witnessed = Vec::new();
        let result = self.seal_round(&mut witnessed).await;
        // Whatever committed is witnessed, even if a later tenant failed.
        self.witness(witnessed).await;
        result
    }

    /// Seal every tenant; the committed checkpoints go to `witnessed`.
    async fn seal_round(&self, witnessed: &mut Vec<WitnessLine>) -> AppResult<usize> {
        let mut added = 0;
        for entry in platform::directory_list(self.app.store.platform()).await? {
            let tenant = entry.tenant_id;
            for _ in 0..MAX_BATCHES_PER_ROUND {
                match self.seal_tenant(tenant).await {
                    Ok(round) => {
                        added += round.linked;
                        if let Some(c) = &round.checkpoint {
                            witnessed.push(WitnessLine::of(&tenant.as_text(), c));
                        }
                        for alert in round.alerts {
                            self.raise_security_event(tenant, alert).await;
                        }
                        // A full batch: more may be waiting (the bench found a
                        // single batch per round capped a tenant at 200/s).
                        if (round.offered as i64) < BATCH {
                            break;
                        }
                    }
                    // Another sealer won this tenant's head; it goes next round.
                    Err(AppError::Conflict(_) | AppError::Busy) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(added)
    }

    async fn seal_tenant(&self, tenant: TenantId) -> AppResult<TenantRound> {
        let keys = self.audit_keys();
        let t = tenant.as_text();
        let mut tx = self.app.store.write(tenant).await?;
        let batch = audit::unsealed(&mut tx, BATCH).await?;
        let mut round = TenantRound {
            offered: batch.len(),
            ..TenantRound::default()
        };
        if batch.is_empty() {
            return Ok(round);
        }
        let now = self.app.clock.now();
        let head = audit::chain_head(&mut tx).await?;
        // Legacy events are linked only in a chain's first keyed round, all
        // of them and before anything else; afterwards the list is closed.
        let legacy_open = head
            .as_ref()
            .is_none_or(|(l, _)| l.format == LinkFormat::Unkeyed.code());
        let mut pending = if legacy_open {
            audit::unsealed_legacy(&mut tx).await?
        } else {
            Vec::new()
        };
        pending.extend(batch.into_iter().filter(|e| !(legacy_open && e.legacy)));
        let (mut seq, mut prev) = match head {
            Some((head, event)) => {
                if let Some(problem) = self.head_problem(&mut tx, &t, &head, &event).await? {
                    round.alerts.push(tampering(
                        json!({"problem": problem, "link": head.seq, "event_id": event_ref(&head.event_id)}),
                        Some((format!("link:{}", head.seq), Duration::days(1))),
                    ));
                }
                (head.seq, head.hash)
            }
            None => (0, GENESIS.to_owned()),
        };
        let mut refused: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for e in &pending {
            let refusal = match EventCheck::check(keys, &t, e) {
                EventCheck::Valid => None,
                EventCheck::Legacy if legacy_open => None,
                EventCheck::Legacy => Some(LATE_LEGACY),
                other => Some(other.code()),
            };
            if let Some(reason) = refusal {
                audit::insert_rejection(
                    &mut tx,
                    &Rejection {
                        event_id: e.id.clone(),
                        rejected_at: now,
                        reason: reason.to_owned(),
                    },
                )
                .await?;
                refused.entry(reason).or_default().push(event_ref(&e.id));
                continue;
            }
            seq += 1;
            let hash = keyed_link(keys, &t, seq, &prev, e);
            audit::append_link(
                &mut tx,
                &ChainLink {
                    seq,
                    event_id: e.id.clone(),
                    prev_hash: prev,
                    hash: hash.clone(),
                    sealed_at: now,
                    format: LinkFormat::Keyed.code(),
                },
            )
            .await?;
            prev = hash;
            round.linked += 1;
        }
        // One security event per kind of refusal and transaction, so a
        // flood of forged rows is one alert per batch, not one per row.
        for (problem, ids) in refused {
            round.alerts.push(tampering(
                json!({
                    "problem": problem,
                    "count": ids.len(),
                    "event_ids": ids.iter().take(MAX_IDS_PER_ALERT).collect::<Vec<_>>(),
                }),
                None,
            ));
        }
        if round.linked > 0 {
            let c = self.sign_checkpoint(&t, seq, prev, now);
            audit::insert_checkpoint(&mut tx, &c).await?;
            round.checkpoint = Some(c);
        }
        tx.commit().await?;
        Ok(round)
    }

    fn sign_checkpoint(
        &self,
        tenant: &str,
        seq: i64,
        hash: String,
        at: DateTime<Utc>,
    ) -> Checkpoint {
        let key = self.audit_signing_key();
        let signed_at = at.timestamp_micros();
        let sig = key.sign(&checkpoint_message(tenant, seq, &hash, signed_at));
        Checkpoint {
            seq,
            hash,
            signed_at_micros: signed_at,
            key_id: key_id(&key.verifying_key()),
            signature: sig.to_bytes().to_vec(),
        }
    }

    /// Why the chain's head link does not hold (None: it does). A keyed
    /// head must recompute; an unkeyed one (sealed before migration 0019)
    /// must be the newest signed checkpoint, as the old sealer left it.
    async fn head_problem(
        &self,
        tx: &mut TenantTx,
        tenant: &str,
        head: &ChainLink,
        event: &ChainedEvent,
    ) -> AppResult<Option<&'static str>> {
        Ok(match LinkFormat::from_code(head.format) {
            Some(LinkFormat::Keyed) => {
                let ok = EventCheck::check(self.audit_keys(), tenant, event).sealable()
                    && keyed_link(self.audit_keys(), tenant, head.seq, &head.prev_hash, event)
                        == head.hash;
                (!ok).then_some("head_link_invalid")
            }
            Some(LinkFormat::Unkeyed) => {
                let (pk, kid) = self.audit_verifying_key();
                let anchored = audit::newest_checkpoint(tx).await?.is_some_and(|c| {
                    c.seq == head.seq && c.hash == head.hash && signature_ok(&pk, &kid, tenant, &c)
                }) && legacy_link_hash(&head.prev_hash, event) == head.hash;
                (!anchored).then_some("unkeyed_head_unanchored")
            }
            None => Some("unknown_link_format"),
        })
    }

    /// Append committed checkpoints to the witness (off the async
    /// threads). A failure is logged: the checkpoints are committed, and
    /// `clinicos audit verify` lists tenants the witness does not cover.
    async fn witness(&self, lines: Vec<WitnessLine>) {
        if lines.is_empty() {
            return;
        }
        let w = self.app.audit_witness.clone();
        let n = lines.len();
        let done = tokio::task::spawn_blocking(move || w.append(&lines)).await;
        if !matches!(done, Ok(Ok(()))) {
            tracing::warn!(
                witness = %self.app.audit_witness.describe(),
                checkpoints = n,
                "could not append audit checkpoints to the witness"
            );
        }
    }

    /// Make every chain ready for sealing (at start-up, and before
    /// `clinicos audit verify --seal`):
    /// - a chain still headed by an unkeyed link (sealed before migration
    ///   0019) gets an `audit.chain_keyed` event, so its next round is its
    ///   first keyed one and closes the legacy list even if the tenant is
    ///   idle;
    /// - the witness gets each tenant's newest checkpoint it does not cover
    ///   yet (after an upgrade, or a witness that was unavailable). This
    ///   never lowers what it holds: a tenant whose chain was cut keeps its
    ///   higher witnessed checkpoint.
    ///
    /// Returns how many checkpoints were witnessed.
    pub async fn prepare_audit_chains(&self) -> AppResult<usize> {
        let w = self.app.audit_witness.clone();
        let held = tokio::task::spawn_blocking(move || w.read())
            .await
            .map_err(|e| AppError::Internal(format!("witness read: {e}")))?
            .map_err(|e| AppError::Internal(format!("cannot read the audit witness: {e}")))?;
        let mut highest: HashMap<&str, i64> = HashMap::new();
        for l in &held.lines {
            let s = highest.entry(l.tenant_id.as_str()).or_insert(0);
            *s = (*s).max(l.seq);
        }
        let mut lines = Vec::new();
        for entry in platform::directory_list(self.app.store.platform()).await? {
            let t = entry.tenant_id.as_text();
            let mut tx = self.app.store.read(entry.tenant_id).await?;
            let unkeyed_head = audit::chain_head(&mut tx)
                .await?
                .is_some_and(|(l, _)| l.format == LinkFormat::Unkeyed.code());
            let newest = audit::newest_checkpoint(&mut tx).await?;
            tx.commit().await?;
            if unkeyed_head {
                self.record_chain_keyed(entry.tenant_id).await?;
            }
            if let Some(c) =
                newest.filter(|c| c.seq > highest.get(t.as_str()).copied().unwrap_or(0))
            {
                lines.push(WitnessLine::of(&t, &c));
            }
        }
        let n = lines.len();
        self.witness(lines).await;
        Ok(n)
    }

    /// The `audit.chain_keyed` event of a tenant whose chain predates
    /// event MACs.
    async fn record_chain_keyed(&self, tenant: TenantId) -> AppResult<()> {
        let actor = RequestInfo {
            request_id: "audit_sealer".into(),
            ..Default::default()
        }
        .anonymous_actor();
        let ev = AuditEvent::new(
            self.app.clock.now(),
            AuditAction::AuditChainKeyed,
            ResourceKind::AuditEvent,
            vec![],
        )
        .because("migration_0019");
        let mut tx = self.app.store.write(tenant).await?;
        audit::record(&mut tx, &actor, ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Seal every `every` until the process ends (started by `serve`),
    /// after preparing the chains ([`Governance::prepare_audit_chains`]).
    pub fn spawn_audit_sealer(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.app.clone();
        tokio::spawn(async move {
            if let Err(e) = app.governance().prepare_audit_chains().await {
                tracing::warn!(code = e.code(), "could not prepare the audit chains");
            }
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = app.governance().seal_audit_once().await {
                    tracing::warn!(
                        code = e.code(),
                        "audit sealing round failed; retrying next round"
                    );
                }
            }
        })
    }
}
