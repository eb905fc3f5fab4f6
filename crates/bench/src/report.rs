//! The bench report: a table per scenario (ClinicOS, raw, and their ratio
//! side by side), the serve probe and the machine, as text or JSON.
//!
//! Ratios are always ClinicOS / raw: below 1 for throughput and above 1 for
//! latency mean ClinicOS is slower than the bare database work.

use super::load::Summary;
use super::machine::Machine;
use super::options::Scenario;
use super::serve_probe::ServeProbe;
use serde::Serialize;
use std::fmt::Write;

/// Errors above this share of attempts fail the bench.
pub const MAX_ERROR_RATE: f64 = 0.01;

/// A report the bench prints (text or JSON) and then judges.
pub trait Verdict: Serialize {
    fn text(&self) -> String;
    /// `Err` is the one-line reason the run failed.
    fn check(&self) -> Result<(), String>;
}

/// Print `report` (JSON when `json`), then return its verdict: the figures
/// are shown even when the run fails.
pub fn print_and_judge(report: &impl Verdict, json: bool) -> Result<(), String> {
    if json {
        let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", report.text());
    }
    report.check()
}

/// Everything one run measured.
#[derive(Serialize)]
pub struct Report {
    pub machine: Machine,
    pub clients: usize,
    pub duration_secs: u64,
    pub scenarios: Vec<ScenarioReport>,
    /// Field encryption per operation against raw AES-256-GCM.
    pub field_crypto: Option<Vec<super::field_crypto::FieldCryptoRow>>,
    /// The audit sealer under a fixed rate of audited requests.
    pub audit_sealer: Option<super::audit_sealer::SealerReport>,
    /// One policy decision against one permission-bit check.
    pub policy: Option<super::policy_decision::PolicyReport>,
    /// The search population, when a search scenario ran.
    pub population: Option<PopulationReport>,
    pub serve: ServeProbe,
}

/// What the search scenarios ran against.
#[derive(Serialize)]
pub struct PopulationReport {
    /// Patients of the bench tenant.
    pub patients: u64,
    /// Other tenants and the patients of each.
    pub other_tenants: usize,
    pub other_patients_each: u64,
    /// Seconds to load all of them (keys, encryption, tokens, rows).
    pub load_secs: f64,
}

/// Both sides of one scenario.
#[derive(Serialize)]
pub struct ScenarioReport {
    pub name: &'static str,
    pub clinicos_work: &'static str,
    pub raw_work: &'static str,
    pub clinicos: Summary,
    pub raw: Summary,
    pub ratio: Ratio,
}

/// ClinicOS / raw for each figure (`None` when raw measured zero).
#[derive(Serialize)]
pub struct Ratio {
    pub throughput: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

fn div(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

impl ScenarioReport {
    pub fn new(s: Scenario, clinicos: Summary, raw: Summary) -> ScenarioReport {
        ScenarioReport {
            name: s.name(),
            clinicos_work: s.api_work(),
            raw_work: s.raw_work(),
            ratio: Ratio {
                throughput: div(clinicos.throughput, raw.throughput),
                p50: div(clinicos.p50_ms, raw.p50_ms),
                p95: div(clinicos.p95_ms, raw.p95_ms),
                p99: div(clinicos.p99_ms, raw.p99_ms),
            },
            clinicos,
            raw,
        }
    }
}

fn x(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |v| format!("{v:.2}x"))
}

fn row(out: &mut String, side: &str, s: &Summary) {
    let _ = writeln!(
        out,
        "  {side:<9} {:>9} {:>7} {:>11.1} {:>9.3} {:>9.3} {:>9.3}",
        s.requests, s.errors, s.throughput, s.p50_ms, s.p95_ms, s.p99_ms
    );
}

impl Verdict for Report {
    /// The human-readable table.
    fn text(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ClinicOS bench: backend {} {}, {} clients, {} s per side",
            m.backend, m.database_version, self.clients, self.duration_secs
        );
        let _ = writeln!(
            out,
            "machine: {} CPUs, {:.1} GiB memory, {}",
            m.cpus,
            m.memory_total_mib as f64 / 1024.0,
            m.cpu_model
        );
        if let Some(p) = &self.population {
            let _ = writeln!(
                out,
                "search population: {} patients in the bench tenant, {} other tenants with {} each, loaded in {:.1} s",
                p.patients, p.other_tenants, p.other_patients_each, p.load_secs
            );
        }
        for s in &self.scenarios {
            let _ = writeln!(out, "\n{}", s.name);
            let _ = writeln!(out, "  clinicos: {}", s.clinicos_work);
            let _ = writeln!(out, "  raw:      {}", s.raw_work);
            let _ = writeln!(
                out,
                "  {:<9} {:>9} {:>7} {:>11} {:>9} {:>9} {:>9}",
                "side", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"
            );
            row(&mut out, "clinicos", &s.clinicos);
            row(&mut out, "raw", &s.raw);
            let r = &s.ratio;
            let _ = writeln!(
                out,
                "  ratio clinicos/raw: throughput {}, p50 {}, p95 {}, p99 {}",
                x(r.throughput),
                x(r.p50),
                x(r.p95),
                x(r.p99)
            );
            for (side, sum) in [("clinicos", &s.clinicos), ("raw", &s.raw)] {
                if let Some(e) = &sum.first_error {
                    let _ = writeln!(out, "  first {side} error: {e}");
                }
            }
        }
        if let Some(rows) = &self.field_crypto {
            field_crypto_text(&mut out, rows);
        }
        if let Some(a) = &self.audit_sealer {
            sealer_text(&mut out, a);
        }
        if let Some(p) = &self.policy {
            let _ = writeln!(
                out,
                "\npolicy\n  clinicos: access::decide, clinical read of a restricted record (all rules)\n  raw:      one permission-bit check\n  {:.1} ns per decision, {:.2} ns per bit check, ratio {:.1}x over {} decisions",
                p.decision_ns, p.bit_check_ns, p.ratio, p.decisions
            );
        }
        let _ = writeln!(
            out,
            "\nserve (SQLite, fresh data dir): cold start {:.0} ms to /health/ready 200, idle RSS {:.1} MiB",
            self.serve.cold_start_ms,
            self.serve.idle_rss_kib as f64 / 1024.0
        );
        out
    }

    /// Fail if any side of any scenario had more than 1% errors.
    fn check(&self) -> Result<(), String> {
        for s in &self.scenarios {
            for (side, sum) in [("clinicos", &s.clinicos), ("raw", &s.raw)] {
                if sum.error_rate > MAX_ERROR_RATE {
                    return Err(format!(
                        "{} ({side}): {} errors ({:.1}% of attempts, over the 1% limit); first: {}",
                        s.name,
                        sum.errors,
                        sum.error_rate * 100.0,
                        sum.first_error.as_deref().unwrap_or("unknown")
                    ));
                }
            }
        }
        Ok(())
    }
}

fn field_crypto_text(out: &mut String, rows: &[super::field_crypto::FieldCryptoRow]) {
    let _ = writeln!(out, "\nfield-crypto");
    let _ = writeln!(
        out,
        "  clinicos: FieldCipher::encrypt + decrypt (warm key cache, bound to tenant/table/column/row)"
    );
    let _ = writeln!(
        out,
        "  raw:      AES-256-GCM encrypt + decrypt, random nonce, key schedule built once"
    );
    let _ = writeln!(
        out,
        "  {:>6} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "bytes", "ours enc ns", "ours dec ns", "raw enc ns", "raw dec ns", "ops"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "  {:>6} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>10}",
            r.bytes,
            r.clinicos_encrypt_ns,
            r.clinicos_decrypt_ns,
            r.raw_encrypt_ns,
            r.raw_decrypt_ns,
            r.operations
        );
        let _ = writeln!(
            out,
            "  ratio clinicos/raw ({} bytes): {:.2}x",
            r.bytes, r.ratio
        );
    }
}

fn sealer_text(out: &mut String, a: &super::audit_sealer::SealerReport) {
    let _ = writeln!(out, "\naudit-sealer");
    let _ = writeln!(
        out,
        "  load: GET /api/v1/staff as front desk (403, one policy.denied audit event each), target {}/s, achieved {:.1}/s over {:.1} s ({} audited, {} failed, {} not sent)",
        a.target_rate, a.achieved_rate, a.load_secs, a.audited_requests, a.failed_requests, a.not_sent
    );
    let backlog: Vec<String> = a
        .samples
        .iter()
        .map(|s| format!("{:.1}s:{}", s.at_secs, s.backlog))
        .collect();
    let _ = writeln!(
        out,
        "  backlog over time (unsealed events): {}",
        backlog.join(" ")
    );
    let _ = writeln!(
        out,
        "  sealer round every {:.0} s: {} sealed during the load, backlog at the end {}, drained in {:.2} s",
        a.seal_interval_secs, a.sealed_during_load, a.backlog_at_end, a.drain_secs
    );
    let _ = writeln!(
        out,
        "  sealing throughput {:.0} events/s of sealing work ({:.2} s busy); keeps up: {}",
        a.sealing_throughput,
        a.sealing_busy_secs,
        if a.keeps_up { "yes" } else { "no" }
    );
}
