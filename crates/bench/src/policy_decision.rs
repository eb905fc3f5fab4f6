//! Policy-decision micro-benchmark: one `access::decide` for a clinical
//! read of a restricted record on an own patient (every rule evaluated:
//! permission, branch, consent, care relationship, tier, cross-branch),
//! against the cheapest possible check, one permission-bit test, run the
//! same number of times in the same task, alternating in rounds.
//!
//! Invariant: both loops feed their answers into a counter that is
//! checked, so neither can be optimised away.

use clinicos_domain::governance::access::{
    decide, Action, PatientFacts, RecordFacts, Sensitivity, Subject, Target, TenantRules,
};
use clinicos_domain::governance::permission::default_bundle;
use clinicos_domain::{BranchId, Permission, Role, UserId};
use serde::Serialize;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Decisions per timed batch.
const BATCH: u64 = 100_000;

#[derive(Clone, Debug, Serialize)]
pub struct PolicyReport {
    pub decision_ns: f64,
    pub bit_check_ns: f64,
    pub ratio: f64,
    pub decisions: u64,
}

pub fn measure(duration: Duration, rounds: u32) -> Result<PolicyReport, String> {
    let branches = [BranchId::new(), BranchId::new()];
    let subject = Subject {
        user: UserId::new(),
        permissions: default_bundle(Role::Doctor),
        branches: &branches,
        tenant_wide: false,
        owner: false,
    };
    let facts = PatientFacts {
        care_relationship: true,
        ..PatientFacts::default()
    };
    let record = RecordFacts {
        sensitivity: Sensitivity::MentalHealth,
        author: None,
        signed: false,
        branch: Some(branches[1]),
    };
    let target = Target {
        patient: Some(&facts),
        record: Some(&record),
        ..Target::default()
    };
    let rules = TenantRules {
        clinical_cross_branch: false,
    };
    let per_round = duration / rounds.max(1) / 2;
    let (mut dec_t, mut bit_t, mut n, mut allowed) = (Duration::ZERO, Duration::ZERO, 0u64, 0u64);
    for _ in 0..rounds.max(1) {
        let end = Instant::now() + per_round;
        while Instant::now() < end {
            let a = Instant::now();
            for _ in 0..BATCH {
                let d = decide(
                    black_box(&subject),
                    Action::ReadClinical,
                    black_box(&target),
                    &rules,
                );
                allowed += u64::from(d.is_ok());
            }
            let b = Instant::now();
            for _ in 0..BATCH {
                allowed += u64::from(black_box(subject.permissions).has(Permission::ClinicalRead));
            }
            let c = Instant::now();
            dec_t += b - a;
            bit_t += c - b;
            n += BATCH;
        }
    }
    if n == 0 || allowed != 2 * n {
        return Err("the policy bench decided differently than expected".into());
    }
    let ns = |d: Duration| d.as_nanos() as f64 / n as f64;
    Ok(PolicyReport {
        decision_ns: ns(dec_t),
        bit_check_ns: ns(bit_t),
        ratio: ns(dec_t) / ns(bit_t).max(f64::MIN_POSITIVE),
        decisions: n,
    })
}
