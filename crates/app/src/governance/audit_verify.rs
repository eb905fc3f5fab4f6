//! Verifying the audit trail (`clinicos audit verify`): every tenant's
//! chain, events, checkpoints and the witness, with the keys only
//! ClinicOS holds.
//!
//! Per tenant, in this order (so the first problem of a tenant is the
//! first thing that went wrong in its chain):
//! 1. the chain from position 1: each link must sit at the next position,
//!    follow the previous link's hash, name an existing event whose MAC
//!    verifies (or a legacy event), and carry the keyed hash of all that;
//!    the unkeyed links from before migration 0019 must form a prefix that
//!    ends at a signed checkpoint (past the last one that matches, the
//!    first of them is the broken link), and events without a MAC (legacy) may
//!    only follow it, before any event with one. The FIRST link that fails
//!    is named
//!    (position and event id); links after it are checked on their own
//!    and only counted, and checkpoints and witness lines beyond it are
//!    not compared (they would only repeat the same break);
//! 2. events outside the chain: refused by the sealer (no valid MAC),
//!    without a valid MAC and not yet seen by the sealer, or marked refused
//!    although their MAC is valid (written around the sealer);
//! 3. every checkpoint's Ed25519 signature and its hash on the chain; a
//!    checkpoint beyond the chain's end means its tail was cut;
//! 4. the witness: each witnessed checkpoint must be signed and on the
//!    chain, so deleting the newest events together with their
//!    checkpoints is caught. Tenants with checkpoints but none in the
//!    witness are listed (a cut of their tail would go unnoticed).

use crate::governance::audit_trail::{keyed_link, signature_ok, EventCheck, LATE_LEGACY};
use crate::governance::audit_witness::WitnessLine;
use crate::governance::service::Governance;
use crate::{AppError, AppResult};
use chrono::Duration;
use clinicos_crypto::AuditKeys;
use clinicos_domain::governance::audit::{legacy_link_hash, ChainedEvent, LinkFormat, GENESIS};
use clinicos_domain::TenantId;
use clinicos_store::governance::audit::{self, ChainLink, Checkpoint, Rejection};
use clinicos_store::tenancy::platform;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// An unsealed event older than this before the newest checkpoint did not
/// come through the normal path (it would have been sealed by then).
const SEAL_GRACE_MINUTES: i64 = 10;

/// What a verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    pub tenants: usize,
    pub sealed_events: usize,
    /// Events with a valid MAC the sealer has not linked yet.
    pub unsealed_events: usize,
    /// Events the sealer refused (no valid MAC).
    pub refused_events: usize,
    pub checkpoints: usize,
    /// Checkpoint lines read from the witness.
    pub witnessed_checkpoints: usize,
    /// Tenants with checkpoints in the database but none in the witness:
    /// a cut of their chain's tail would go unnoticed.
    pub unwitnessed_tenants: Vec<String>,
    /// Problems in the order found; a tenant's first names its first
    /// broken link (position and event id).
    pub problems: Vec<String>,
}

/// What one tenant's chain walk found.
struct Walk<'a> {
    /// The hash at each position before the first broken link.
    hashes: Vec<&'a str>,
    /// Why the first broken link is broken (it names the link).
    first_break: Option<String>,
    /// Links after it that fail on their own.
    later_failures: usize,
}

/// What the links before the one being checked were.
#[derive(Clone, Copy, Default)]
struct Before {
    /// At least one keyed link (so no unkeyed link may follow).
    keyed: bool,
    /// At least one link to an event with a MAC (so no legacy event may
    /// follow: the sealer links them all in the chain's first keyed round,
    /// before anything else).
    with_mac: bool,
    /// Where the unkeyed prefix (links sealed before migration 0019) goes
    /// past its last signed checkpoint, if it does: the old sealer signed
    /// a checkpoint at the end of every round, so it never did.
    unanchored_from: Option<i64>,
}

/// The keys and facts one tenant is checked with.
struct TenantCheck<'a> {
    keys: &'a AuditKeys,
    pk: &'a VerifyingKey,
    kid: &'a str,
    tenant: String,
    events: HashMap<&'a str, &'a ChainedEvent>,
    checkpoints: &'a [Checkpoint],
}

impl TenantCheck<'_> {
    fn signed(&self, c: &Checkpoint) -> bool {
        signature_ok(self.pk, self.kid, &self.tenant, c)
    }

    /// Is there a signed checkpoint at `seq` with `hash`?
    fn anchored(&self, seq: i64, hash: &str) -> bool {
        self.checkpoints
            .iter()
            .any(|c| c.seq == seq && c.hash == hash && self.signed(c))
    }

    /// Check `l` (expected at `expected`, after `prev`, with what the links
    /// before it were) on its own; returns why it is broken.
    fn link(&self, l: &ChainLink, expected: i64, prev: &str, before: Before) -> Result<(), String> {
        if l.seq != expected {
            return Err(format!(
                "link {expected} is missing (the next stored link is {})",
                l.seq
            ));
        }
        let at = format!("link {} (event {})", l.seq, l.event_id);
        let Some(e) = self.events.get(l.event_id.as_str()) else {
            return Err(format!("{at}: the event is missing"));
        };
        if l.prev_hash != prev {
            return Err(format!(
                "{at}: does not follow link {} (a link was removed, inserted or re-chained)",
                l.seq - 1
            ));
        }
        match LinkFormat::from_code(l.format) {
            Some(LinkFormat::Unkeyed) => {
                if before.keyed || e.mac.is_some() {
                    return Err(format!(
                        "{at}: an unkeyed link after the upgrade (appended around the sealer)"
                    ));
                }
                if legacy_link_hash(prev, e) != l.hash {
                    return Err(format!(
                        "{at}: the event was altered (its hash does not match)"
                    ));
                }
                if before.unanchored_from.is_some_and(|from| l.seq >= from) {
                    return Err(format!(
                        "{at}: the unkeyed links sealed before the upgrade match no signed checkpoint from here on (altered, or appended around the sealer)"
                    ));
                }
                Ok(())
            }
            Some(LinkFormat::Keyed) => {
                match EventCheck::check(self.keys, &self.tenant, e) {
                    EventCheck::MissingMac => {
                        return Err(format!(
                            "{at}: the event has no MAC (inserted outside the audit path)"
                        ))
                    }
                    EventCheck::BadMac => {
                        return Err(format!(
                            "{at}: the event was altered (its MAC does not match)"
                        ))
                    }
                    EventCheck::Legacy if before.with_mac => {
                        return Err(format!(
                            "{at}: an event without a MAC linked after events with one (listed as legacy after the migration)"
                        ))
                    }
                    EventCheck::Valid | EventCheck::Legacy => {}
                }
                if keyed_link(self.keys, &self.tenant, l.seq, prev, e) != l.hash {
                    return Err(format!(
                        "{at}: the link's keyed hash does not match (written or re-chained without the key)"
                    ));
                }
                Ok(())
            }
            None => Err(format!("{at}: unknown link format {}", l.format)),
        }
    }

    /// Walk the chain from position 1.
    fn walk<'c>(&self, chain: &'c [ChainLink]) -> Walk<'c> {
        let mut w = Walk {
            hashes: Vec::with_capacity(chain.len()),
            first_break: None,
            later_failures: 0,
        };
        let mut prev = GENESIS;
        let mut expected = 1;
        let prefix = chain
            .iter()
            .take_while(|l| l.format == LinkFormat::Unkeyed.code())
            .count();
        let anchored_to = chain[..prefix]
            .iter()
            .rev()
            .find(|l| self.anchored(l.seq, &l.hash))
            .map_or(0, |l| l.seq);
        let mut before = Before {
            unanchored_from: chain[..prefix]
                .last()
                .filter(|last| last.seq > anchored_to)
                .map(|_| anchored_to + 1),
            ..Before::default()
        };
        for l in chain {
            match self.link(l, expected, prev, before) {
                Ok(()) if w.first_break.is_none() => w.hashes.push(&l.hash),
                Ok(()) => {}
                Err(why) if w.first_break.is_none() => w.first_break = Some(why),
                Err(_) => w.later_failures += 1,
            }
            before.keyed |= l.format == LinkFormat::Keyed.code();
            before.with_mac |= self
                .events
                .get(l.event_id.as_str())
                .is_some_and(|e| e.mac.is_some());
            // Past a break, each link is checked against the stored one
            // before it, so one break is counted once.
            prev = &l.hash;
            expected = l.seq + 1;
        }
        w
    }
}

impl Governance<'_> {
    /// Recompute every tenant's chain and check every event, checkpoint
    /// and witnessed checkpoint.
    pub async fn verify_audit(&self) -> AppResult<VerifyReport> {
        let (pk, kid) = self.audit_verifying_key();
        let mut report = VerifyReport::default();
        let w = self.app.audit_witness.clone();
        let witness = tokio::task::spawn_blocking(move || w.read())
            .await
            .map_err(|e| AppError::Internal(format!("witness read: {e}")))?
            .map_err(|e| {
                AppError::Internal(format!(
                    "cannot read the audit witness ({}): {e}",
                    self.app.audit_witness.describe()
                ))
            })?;
        for n in &witness.unreadable {
            report.problems.push(format!(
                "witness ({}): line {n} is not a checkpoint (damaged or written by someone else)",
                self.app.audit_witness.describe()
            ));
        }
        report.witnessed_checkpoints = witness.lines.len();
        let mut witnessed: HashMap<&str, Vec<&WitnessLine>> = HashMap::new();
        for l in &witness.lines {
            witnessed.entry(l.tenant_id.as_str()).or_default().push(l);
        }
        for entry in platform::directory_list(self.app.store.platform()).await? {
            report.tenants += 1;
            let lines = witnessed
                .get(entry.tenant_id.as_text().as_str())
                .cloned()
                .unwrap_or_default();
            self.verify_tenant(
                entry.tenant_id,
                &entry.slug,
                (&pk, &kid),
                &lines,
                &mut report,
            )
            .await?;
        }
        Ok(report)
    }

    async fn verify_tenant(
        &self,
        tenant: TenantId,
        slug: &str,
        (pk, kid): (&VerifyingKey, &str),
        witnessed: &[&WitnessLine],
        report: &mut VerifyReport,
    ) -> AppResult<()> {
        let mut tx = self.app.store.read(tenant).await?;
        let events = audit::all_events(&mut tx).await?;
        let chain = audit::chain(&mut tx).await?;
        let checkpoints = audit::checkpoints(&mut tx).await?;
        let rejections = audit::rejections(&mut tx).await?;
        tx.commit().await?;
        let check = TenantCheck {
            keys: self.audit_keys(),
            pk,
            kid,
            tenant: tenant.as_text(),
            events: events.iter().map(|e| (e.id.as_str(), e)).collect(),
            checkpoints: &checkpoints,
        };
        let mut problems = Vec::new();

        // 1. The chain.
        let walk = check.walk(&chain);
        report.sealed_events += walk.hashes.len();
        if let Some(why) = &walk.first_break {
            let later = match walk.later_failures {
                0 => String::new(),
                n => format!(" ({n} later links fail too)"),
            };
            problems.push(format!("first broken link: {why}{later}"));
        }
        let verified = walk.hashes.len() as i64;
        let chain_end = chain.last().map(|l| l.seq).unwrap_or(0);
        let intact = walk.first_break.is_none();

        // 2. Events outside the chain.
        check_unchained(&check, &events, &chain, &rejections, &mut problems, report);

        // 3. Checkpoints.
        for c in &checkpoints {
            report.checkpoints += 1;
            if !check.signed(c) {
                problems.push(format!(
                    "checkpoint at link {} has an invalid signature",
                    c.seq
                ));
            } else if c.seq >= 1 && c.seq <= verified {
                if walk.hashes[(c.seq - 1) as usize] != c.hash {
                    problems.push(format!(
                        "checkpoint at link {} does not match the chain",
                        c.seq
                    ));
                }
            } else if intact && c.seq > chain_end {
                problems.push(format!(
                    "checkpoint at link {} is beyond the chain's end (link {chain_end}): the chain was truncated",
                    c.seq
                ));
            }
        }

        // 4. The witness.
        let mut cut: Option<&WitnessLine> = None;
        let mut differs: Option<&WitnessLine> = None;
        for l in witnessed {
            let c = l.checkpoint();
            if !check.signed(&c) {
                problems.push(format!(
                    "the witness holds a checkpoint at link {} with an invalid signature",
                    l.seq
                ));
            } else if l.seq >= 1 && l.seq <= verified {
                if walk.hashes[(l.seq - 1) as usize] != l.hash
                    && differs.is_none_or(|d| l.seq < d.seq)
                {
                    differs = Some(l);
                }
            } else if intact && l.seq > chain_end && cut.is_none_or(|d| l.seq > d.seq) {
                cut = Some(l);
            }
        }
        if let Some(l) = differs {
            problems.push(format!(
                "the witness's checkpoint at link {} does not match the chain: the chain was rewritten at or before link {}",
                l.seq, l.seq
            ));
        }
        if let Some(l) = cut {
            problems.push(format!(
                "the witness holds a signed checkpoint at link {} but the chain ends at link {chain_end}: its tail was cut (the events after link {chain_end} and their checkpoints were deleted)",
                l.seq
            ));
        }
        if witnessed.is_empty() && !checkpoints.is_empty() {
            report.unwitnessed_tenants.push(slug.to_owned());
        }

        if problems.is_empty() {
            tracing::debug!(tenant = %tenant, "audit chain verified");
        }
        report
            .problems
            .extend(problems.into_iter().map(|p| format!("tenant {slug}: {p}")));
        Ok(())
    }
}

/// Events outside the chain: refused ones, ones without a valid MAC, and
/// ones that should have been sealed long ago.
fn check_unchained(
    check: &TenantCheck<'_>,
    events: &[ChainedEvent],
    chain: &[ChainLink],
    rejections: &[Rejection],
    problems: &mut Vec<String>,
    report: &mut VerifyReport,
) {
    let chained: HashSet<&str> = chain.iter().map(|l| l.event_id.as_str()).collect();
    let refused: HashMap<&str, &Rejection> = rejections
        .iter()
        .map(|r| (r.event_id.as_str(), r))
        .collect();
    let newest_checkpoint = check
        .checkpoints
        .iter()
        .map(|c| c.signed_at_micros)
        .max()
        .unwrap_or(i64::MIN);
    let grace = Duration::minutes(SEAL_GRACE_MINUTES)
        .num_microseconds()
        .unwrap_or(0);
    for e in events.iter().filter(|e| !chained.contains(e.id.as_str())) {
        let verdict = EventCheck::check(check.keys, &check.tenant, e);
        if let Some(r) = refused.get(e.id.as_str()) {
            report.refused_events += 1;
            let why = match verdict {
                EventCheck::Valid => {
                    problems.push(format!("event {} carries a valid MAC but is marked refused (written around the sealer)", e.id));
                    continue;
                }
                // Listed as legacy after its chain's first keyed round.
                EventCheck::Legacy => LATE_LEGACY,
                other => other.code(),
            };
            problems.push(format!(
                "event {} was inserted outside the audit path ({why}): the sealer refused it on {}",
                e.id,
                r.rejected_at.format("%Y-%m-%d %H:%M:%S UTC")
            ));
            continue;
        }
        match verdict {
                EventCheck::MissingMac => problems.push(format!(
                    "event {} has no MAC: it was inserted outside the audit path (it will not be sealed)",
                    e.id
                )),
                EventCheck::BadMac => problems.push(format!(
                    "event {} does not match its MAC: it was inserted or altered outside the audit path (it will not be sealed)",
                    e.id
                )),
                EventCheck::Valid | EventCheck::Legacy => {
                    report.unsealed_events += 1;
                    if e.at_micros < newest_checkpoint.saturating_sub(grace) {
                        problems.push(format!("event {} was inserted outside the audit path (older than the last checkpoint, never sealed)", e.id));
                    }
                }
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::audit_trail::key_id;
    use chrono::Utc;
    use clinicos_crypto::Key32;
    use clinicos_domain::governance::audit::checkpoint_message;
    use ed25519_dalek::{Signer, SigningKey};

    const TENANT: &str = "t1";

    struct Fixture {
        keys: AuditKeys,
        signer: SigningKey,
        kid: String,
        events: Vec<ChainedEvent>,
        chain: Vec<ChainLink>,
        checkpoints: Vec<Checkpoint>,
    }

    impl Fixture {
        fn new() -> Fixture {
            let signer = SigningKey::from_bytes(&[3; 32]);
            Fixture {
                keys: AuditKeys::derive(&Key32::from_array([4; 32])),
                kid: key_id(&signer.verifying_key()),
                signer,
                events: vec![],
                chain: vec![],
                checkpoints: vec![],
            }
        }

        fn event(&mut self, mac: bool, legacy: bool) -> ChainedEvent {
            let mut e = ChainedEvent {
                id: format!("e{}", self.events.len() + 1),
                at_micros: self.events.len() as i64,
                action: "auth.login".into(),
                legacy,
                ..ChainedEvent::default()
            };
            if mac {
                e.mac = Some(
                    self.keys
                        .event_mac(&e.fields().mac_message(TENANT))
                        .to_vec(),
                );
            }
            self.events.push(e.clone());
            e
        }

        fn prev(&self) -> String {
            self.chain
                .last()
                .map_or(GENESIS.to_owned(), |l| l.hash.clone())
        }

        /// Link a new event, as the old sealer (unkeyed) or the new one.
        fn link(&mut self, format: LinkFormat, mac: bool, legacy: bool) {
            let e = self.event(mac, legacy);
            let (seq, prev) = (self.chain.len() as i64 + 1, self.prev());
            let hash = match format {
                LinkFormat::Unkeyed => legacy_link_hash(&prev, &e),
                LinkFormat::Keyed => keyed_link(&self.keys, TENANT, seq, &prev, &e),
            };
            self.chain.push(ChainLink {
                seq,
                event_id: e.id,
                prev_hash: prev,
                hash,
                sealed_at: Utc::now(),
                format: format.code(),
            });
        }

        fn checkpoint(&mut self) {
            let (seq, hash) = (self.chain.len() as i64, self.prev());
            let sig = self.signer.sign(&checkpoint_message(TENANT, seq, &hash, 1));
            self.checkpoints.push(Checkpoint {
                seq,
                hash,
                signed_at_micros: 1,
                key_id: self.kid.clone(),
                signature: sig.to_bytes().to_vec(),
            });
        }

        fn first_break(&self) -> Option<String> {
            let pk = self.signer.verifying_key();
            let check = TenantCheck {
                keys: &self.keys,
                pk: &pk,
                kid: &self.kid,
                tenant: TENANT.to_owned(),
                events: self.events.iter().map(|e| (e.id.as_str(), e)).collect(),
                checkpoints: &self.checkpoints,
            };
            check.walk(&self.chain).first_break
        }
    }

    /// A chain sealed before the upgrade (unkeyed, checkpointed), its
    /// legacy events, then events with MACs.
    fn upgraded() -> Fixture {
        let mut f = Fixture::new();
        f.link(LinkFormat::Unkeyed, false, false);
        f.link(LinkFormat::Unkeyed, false, false);
        f.checkpoint();
        f.link(LinkFormat::Keyed, false, true);
        f.link(LinkFormat::Keyed, true, false);
        f.link(LinkFormat::Keyed, true, false);
        f
    }

    #[test]
    fn an_upgraded_chain_verifies() {
        assert_eq!(upgraded().first_break(), None);
    }

    #[test]
    fn unkeyed_links_past_the_last_checkpoint_break_at_the_first_of_them() {
        let mut f = Fixture::new();
        f.link(LinkFormat::Unkeyed, false, false);
        f.checkpoint();
        f.link(LinkFormat::Unkeyed, false, false);
        f.link(LinkFormat::Unkeyed, false, false);
        let why = f.first_break().expect("broken");
        assert!(
            why.starts_with("link 2 (event e2): the unkeyed links"),
            "{why}"
        );
        // Rewritten consistently from link 1 on: the checkpoint at 2 no
        // longer matches, so link 1 is the first broken one.
        let mut f = upgraded();
        f.events[0].resource_ids = "forged".into();
        let prev = legacy_link_hash(GENESIS, &f.events[0]);
        f.chain[0].hash = prev.clone();
        f.chain[1].prev_hash = prev.clone();
        f.chain[1].hash = legacy_link_hash(&prev, &f.events[1]);
        let why = f.first_break().expect("broken");
        assert!(why.starts_with("link 1 (event e1)"), "{why}");
    }

    #[test]
    fn a_legacy_event_after_one_with_a_mac_breaks_the_chain() {
        let mut f = upgraded();
        f.link(LinkFormat::Keyed, false, true);
        let why = f.first_break().expect("broken");
        assert!(
            why.starts_with("link 6 (event e6): an event without a MAC"),
            "{why}"
        );
        let mut f = upgraded();
        f.link(LinkFormat::Keyed, false, false);
        let why = f.first_break().expect("broken");
        assert!(why.contains("has no MAC"), "{why}");
    }
}
