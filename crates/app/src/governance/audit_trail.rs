//! Tamper evidence for the audit trail.
//!
//! Requests never queue on a chain head: they only INSERT audit events (in
//! their own transaction). The sealer, a background task on every server
//! instance, links committed events into a per-tenant hash chain in the
//! order it observes them and signs a checkpoint (Ed25519) after each round
//! that added links. Two sealers racing on one tenant collide on the
//! chain's primary key; the loser rolls back and retries next round.
//! [`Governance::verify_audit`] recomputes every chain and checks every checkpoint.

use crate::governance::service::Governance;
use crate::{AppError, AppResult};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Duration;
use clinicos_domain::governance::audit::{checkpoint_message, link_hash, GENESIS};
use clinicos_domain::TenantId;
use clinicos_store::governance::audit::{self, ChainLink, Checkpoint};
use clinicos_store::tenancy::platform;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Events sealed per tenant per transaction; a round repeats until the
/// tenant's backlog is below this, so a busy tenant does not fall behind.
const BATCH: i64 = 1000;
/// At most this many batches per tenant per round, so one tenant under
/// sustained overload cannot starve the others.
const MAX_BATCHES_PER_ROUND: usize = 50;
/// How often `serve` runs a sealing round.
pub const SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// An unsealed event older than this before the newest checkpoint did not
/// come through the normal path (it would have been sealed by then).
const SEAL_GRACE_MINUTES: i64 = 10;

/// The published verification key.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditKey {
    /// First 16 hex digits of SHA-256 of the public key.
    pub key_id: String,
    pub algorithm: &'static str,
    /// The Ed25519 public key, base64.
    pub public_key: String,
}

/// What a verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    pub tenants: usize,
    pub sealed_events: usize,
    pub unsealed_events: usize,
    pub checkpoints: usize,
    /// Problems in the order found; the first names the first broken or
    /// missing event of its tenant.
    pub problems: Vec<String>,
}

fn key_id(pk: &VerifyingKey) -> String {
    Sha256::digest(pk.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Governance<'_> {
    fn audit_signing_key(&self) -> &SigningKey {
        &self.app.platform_keys.audit
    }

    /// The public key that verifies checkpoints.
    pub async fn audit_public_key(&self) -> AppResult<AuditKey> {
        let pk = self.audit_signing_key().verifying_key();
        Ok(AuditKey {
            key_id: key_id(&pk),
            algorithm: "Ed25519",
            public_key: B64.encode(pk.as_bytes()),
        })
    }

    /// One sealing round over every tenant; returns links added.
    pub async fn seal_audit_once(&self) -> AppResult<usize> {
        let key = self.audit_signing_key();
        let kid = key_id(&key.verifying_key());
        let mut added = 0;
        for entry in platform::directory_list(self.app.store.platform()).await? {
            for _ in 0..MAX_BATCHES_PER_ROUND {
                match self.seal_tenant(entry.tenant_id, key, &kid).await {
                    Ok(n) => {
                        added += n;
                        // A full batch: more may be waiting (the bench found a
                        // single batch per round capped a tenant at 200/s).
                        if (n as i64) < BATCH {
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

    async fn seal_tenant(&self, tenant: TenantId, key: &SigningKey, kid: &str) -> AppResult<usize> {
        let mut tx = self.app.store.write(tenant).await?;
        let pending = audit::unsealed(&mut tx, BATCH).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let now = self.app.clock.now();
        let head = audit::chain_head(&mut tx).await?;
        let (mut seq, mut prev) = head
            .map(|h| (h.seq, h.hash))
            .unwrap_or((0, GENESIS.to_owned()));
        for e in &pending {
            seq += 1;
            let hash = link_hash(&prev, e);
            audit::append_link(
                &mut tx,
                &ChainLink {
                    seq,
                    event_id: e.id.clone(),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    sealed_at: now,
                },
            )
            .await?;
            prev = hash;
        }
        let signed_at = now.timestamp_micros();
        let sig = key.sign(&checkpoint_message(
            &tenant.as_text(),
            seq,
            &prev,
            signed_at,
        ));
        audit::insert_checkpoint(
            &mut tx,
            &Checkpoint {
                seq,
                hash: prev,
                signed_at_micros: signed_at,
                key_id: kid.to_owned(),
                signature: sig.to_bytes().to_vec(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(pending.len())
    }

    /// Seal every `every` until the process ends (started by `serve`).
    pub fn spawn_audit_sealer(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.app.clone();
        tokio::spawn(async move {
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

    /// Recompute every tenant's chain and check every checkpoint.
    pub async fn verify_audit(&self) -> AppResult<VerifyReport> {
        let pk = self.audit_signing_key().verifying_key();
        let kid = key_id(&pk);
        let mut report = VerifyReport::default();
        for entry in platform::directory_list(self.app.store.platform()).await? {
            report.tenants += 1;
            self.verify_tenant(entry.tenant_id, &entry.slug, &pk, &kid, &mut report)
                .await?;
        }
        Ok(report)
    }

    async fn verify_tenant(
        &self,
        tenant: TenantId,
        slug: &str,
        pk: &VerifyingKey,
        kid: &str,
        report: &mut VerifyReport,
    ) -> AppResult<()> {
        let mut tx = self.app.store.read(tenant).await?;
        let events = audit::all_events(&mut tx).await?;
        let chain = audit::chain(&mut tx).await?;
        let checkpoints = audit::checkpoints(&mut tx).await?;
        tx.commit().await?;
        let by_id: HashMap<&str, _> = events.iter().map(|e| (e.id.as_str(), e)).collect();
        let before = report.problems.len();
        let mut prev = GENESIS.to_owned();
        let mut hashes: HashMap<i64, &str> = HashMap::new();
        for (i, l) in chain.iter().enumerate() {
            let expected_seq = i as i64 + 1;
            if l.seq != expected_seq {
                report.problems.push(format!(
                    "tenant {slug}: chain link {expected_seq} is missing (next link is {})",
                    l.seq
                ));
                break;
            }
            let Some(e) = by_id.get(l.event_id.as_str()) else {
                report.problems.push(format!(
                    "tenant {slug}: event {} (link {}) is missing",
                    l.event_id, l.seq
                ));
                break;
            };
            if l.prev_hash != prev || link_hash(&prev, e) != l.hash {
                report.problems.push(format!(
                    "tenant {slug}: event {} (link {}) was altered",
                    l.event_id, l.seq
                ));
                break;
            }
            hashes.insert(l.seq, l.hash.as_str());
            prev = l.hash.clone();
            report.sealed_events += 1;
        }
        let chained: std::collections::HashSet<&str> =
            chain.iter().map(|l| l.event_id.as_str()).collect();
        let newest_checkpoint = checkpoints
            .iter()
            .map(|c| c.signed_at_micros)
            .max()
            .unwrap_or(i64::MIN);
        let grace = Duration::minutes(SEAL_GRACE_MINUTES)
            .num_microseconds()
            .unwrap_or(0);
        for e in events.iter().filter(|e| !chained.contains(e.id.as_str())) {
            report.unsealed_events += 1;
            if e.at_micros < newest_checkpoint.saturating_sub(grace) {
                report.problems.push(format!("tenant {slug}: event {} was inserted outside the audit path (older than the last checkpoint, never sealed)", e.id));
            }
        }
        for c in &checkpoints {
            report.checkpoints += 1;
            let sig_ok = <[u8; 64]>::try_from(c.signature.as_slice())
                .map(|b| {
                    pk.verify(
                        &checkpoint_message(&tenant.as_text(), c.seq, &c.hash, c.signed_at_micros),
                        &Signature::from_bytes(&b),
                    )
                    .is_ok()
                })
                .unwrap_or(false);
            if c.key_id != kid || !sig_ok {
                report.problems.push(format!(
                    "tenant {slug}: checkpoint at link {} has an invalid signature",
                    c.seq
                ));
            } else if hashes.get(&c.seq) != Some(&c.hash.as_str()) {
                let what = if c.seq > chain.len() as i64 {
                    "the chain was truncated"
                } else {
                    "the chain differs"
                };
                report.problems.push(format!(
                    "tenant {slug}: checkpoint at link {} does not match: {what}",
                    c.seq
                ));
            }
        }
        if report.problems.len() == before {
            tracing::debug!(tenant = %tenant, "audit chain verified");
        }
        Ok(())
    }
}
