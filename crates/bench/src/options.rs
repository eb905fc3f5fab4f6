//! `clinicos bench` flags and their validation. Numbers and names are
//! parsed here rather than by clap so that every bad value gets the CLI's
//! one-line `clinicos: error: ...` and exit status 1.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Longest allowed run per side of a scenario.
pub const MAX_DURATION_SECS: u64 = 120;
/// Most concurrent clients allowed.
pub const MAX_CLIENTS: usize = 1024;
/// Most patients the search scenarios load into the bench tenant.
pub const MAX_PATIENTS: u64 = 2_000_000;

/// Flags of `clinicos bench`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// Empty or new directory for the SQLite bench database (kept afterwards);
    /// default: a fresh temporary directory, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL server URL; a fresh database clinicos_bench_<random> is
    /// created on that server and dropped at the end.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Concurrent clients (1-1024).
    #[arg(long, value_name = "N", default_value = "16")]
    pub clients: String,
    /// Seconds of load per side of each scenario (1-120).
    #[arg(long, value_name = "SECS", default_value = "10")]
    pub duration: String,
    /// get-branch, login, read-patient, create-patient, open-chart,
    /// search-name, search-phone, search, field-crypto, audit-sealer,
    /// policy or all.
    #[arg(long, value_name = "NAME", default_value = "all")]
    pub scenario: String,
    /// Patients loaded into the bench tenant for search-name and
    /// search-phone (10-2000000), with 99 other tenants present.
    #[arg(long, value_name = "N", default_value = "10000")]
    pub patients: String,
    /// Audited requests per second for audit-sealer (1-100000).
    #[arg(long, value_name = "N", default_value = "1000")]
    pub rate: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Benchmarks of their own, beside the side-by-side scenarios.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Run `clinicos serve` as a child under a long mixed API load, then
    /// idle; report its resident memory over time and fail if after the
    /// idle pause it holds more than twice its idle figure before the load.
    Soak(crate::soak::options::SoakArgs),
}

/// A scenario: one API operation and its raw-database equivalent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    GetBranch,
    Login,
    ReadPatient,
    CreatePatient,
    OpenChart,
    SearchName,
    SearchPhone,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::GetBranch => "get-branch",
            Scenario::Login => "login",
            Scenario::ReadPatient => "read-patient",
            Scenario::CreatePatient => "create-patient",
            Scenario::OpenChart => "open-chart",
            Scenario::SearchName => "search-name",
            Scenario::SearchPhone => "search-phone",
        }
    }

    /// Does the scenario need the search population loaded?
    pub fn searches(self) -> bool {
        matches!(self, Scenario::SearchName | Scenario::SearchPhone)
    }

    /// What the ClinicOS side does.
    pub fn api_work(self) -> &'static str {
        match self {
            Scenario::GetBranch => "GET /api/v1/branches/{id} with a bearer token",
            Scenario::Login => "POST /api/v1/auth/login",
            Scenario::ReadPatient => {
                "GET /api/v1/patients/{id}: policy, decrypt phone and email, audit event in the same transaction"
            }
            Scenario::CreatePatient => {
                "POST /api/v1/patients (a new phone each time, so the duplicate check runs): validate, new data key, encrypt phone, email and one identifier, blind indexes, duplicate check, insert patient + name tokens and pairs + identifier + audit event in one transaction"
            }
            Scenario::OpenChart => {
                "what the chart opens, concurrently: GET /api/v1/patients/{id}, /allergies, /conditions, /medications, /history (5 audited requests)"
            }
            Scenario::SearchName => {
                "GET /api/v1/patients?q=<1-2 word prefixes>&limit=20: ranked page of decrypted patients, audited"
            }
            Scenario::SearchPhone => {
                "GET /api/v1/patients?phone=<exact phone>&limit=20: blind index, decrypted page, audited"
            }
        }
    }

    /// What the raw side does.
    pub fn raw_work(self) -> &'static str {
        match self {
            Scenario::GetBranch => {
                "1 transaction: SELECT session, tenant, user, roles, user branches, branch"
            }
            Scenario::Login => "SELECT user by email, argon2id verify, INSERT session",
            Scenario::ReadPatient => {
                "1 write transaction: SELECT session, tenant, user, roles, user branches, policy rows, patient; INSERT audit event"
            }
            Scenario::CreatePatient => {
                "INSERT a same-size data key row in the key store; 1 write transaction: SELECT session, tenant, user, roles, user branches, policy rows, branch, duplicate candidates (phone + birth date); INSERT patient (same-size blobs), name tokens, name pairs, identifier, audit event"
            }
            Scenario::OpenChart => {
                "5 concurrent write transactions, each: SELECT session, tenant, user, roles, user branches, policy rows, then the patient row / its allergies / conditions / medications / history, INSERT audit event"
            }
            Scenario::SearchName => {
                "1 write transaction: SELECT session, tenant, user, roles, user branches, policy rows; the store's name-search page and count statements; INSERT audit event"
            }
            Scenario::SearchPhone => {
                "1 write transaction: SELECT session, tenant, user, roles, user branches, policy rows; the store's phone-search page and count statements (blind index); INSERT audit event"
            }
        }
    }
}

/// Validated flags.
#[derive(Debug)]
pub struct Plan {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub clients: usize,
    pub duration: Duration,
    pub scenarios: Vec<Scenario>,
    /// Run the field-encryption micro-benchmark.
    pub field_crypto: bool,
    /// Run the audit sealer at a fixed request rate.
    pub audit_sealer: bool,
    /// Run the policy-decision micro-benchmark.
    pub policy: bool,
    /// Audited requests per second for the sealer run.
    pub rate: u64,
    /// Patients of the bench tenant for the search scenarios.
    pub patients: u64,
    pub json: bool,
}

impl Plan {
    pub fn from_args(a: BenchArgs) -> Result<Plan, String> {
        let clients = match a.clients.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_CLIENTS).contains(&n) => n,
            _ => {
                return Err(format!(
                    "--clients must be a whole number from 1 to {MAX_CLIENTS}, not '{}'",
                    a.clients
                ))
            }
        };
        let secs = match a.duration.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_DURATION_SECS).contains(&n) => n,
            _ => {
                return Err(format!(
                    "--duration must be whole seconds from 1 to {MAX_DURATION_SECS}, not '{}'",
                    a.duration
                ))
            }
        };
        let name = a.scenario.trim();
        let scenarios = match name {
            "get-branch" => vec![Scenario::GetBranch],
            "login" => vec![Scenario::Login],
            "read-patient" => vec![Scenario::ReadPatient],
            "create-patient" => vec![Scenario::CreatePatient],
            "open-chart" => vec![Scenario::OpenChart],
            "search-name" => vec![Scenario::SearchName],
            "search-phone" => vec![Scenario::SearchPhone],
            "search" => vec![Scenario::SearchName, Scenario::SearchPhone],
            "all" => vec![
                Scenario::GetBranch,
                Scenario::Login,
                Scenario::ReadPatient,
                Scenario::CreatePatient,
                Scenario::OpenChart,
                Scenario::SearchName,
                Scenario::SearchPhone,
            ],
            "field-crypto" | "audit-sealer" | "policy" => vec![],
            other => {
                return Err(format!(
                    "--scenario must be get-branch, login, read-patient, create-patient, open-chart, search-name, search-phone, search, field-crypto, audit-sealer, policy or all, not '{other}'"
                ))
            }
        };
        let patients = match a.patients.trim().parse::<u64>() {
            Ok(n) if (10..=MAX_PATIENTS).contains(&n) => n,
            _ => {
                return Err(format!(
                    "--patients must be a whole number from 10 to {MAX_PATIENTS}, not '{}'",
                    a.patients
                ))
            }
        };
        let rate = match a.rate.trim().parse::<u64>() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => {
                return Err(format!(
                    "--rate must be a whole number from 1 to 100000, not '{}'",
                    a.rate
                ))
            }
        };
        if a.data_dir.is_some() && a.database_url.is_some() {
            return Err("give either --data-dir or --database-url, not both".into());
        }
        Ok(Plan {
            data_dir: a.data_dir,
            database_url: a.database_url,
            clients,
            duration: Duration::from_secs(secs),
            scenarios,
            field_crypto: matches!(name, "field-crypto" | "all"),
            audit_sealer: matches!(name, "audit-sealer" | "all"),
            policy: matches!(name, "policy" | "all"),
            rate,
            patients,
            json: a.json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(clients: &str, duration: &str, scenario: &str) -> BenchArgs {
        BenchArgs {
            command: None,
            data_dir: None,
            database_url: None,
            clients: clients.into(),
            duration: duration.into(),
            scenario: scenario.into(),
            rate: "1000".into(),
            patients: "10000".into(),
            json: false,
        }
    }

    #[test]
    fn accepts_the_defaults() {
        let p = Plan::from_args(args("16", "10", "all")).unwrap();
        assert_eq!(p.clients, 16);
        assert_eq!(p.duration, Duration::from_secs(10));
        assert_eq!(p.scenarios.len(), 7);
        assert_eq!(p.patients, 10_000);
        assert!(p.policy);
        assert!(p.field_crypto && p.audit_sealer);
        assert_eq!(p.rate, 1000);
        let p = Plan::from_args(args("16", "10", "audit-sealer")).unwrap();
        assert!(p.scenarios.is_empty() && p.audit_sealer && !p.field_crypto);
    }

    #[test]
    fn rejects_bad_values_with_one_line() {
        for (c, d, s) in [
            ("0", "10", "all"),
            ("x", "10", "all"),
            ("4", "121", "all"),
            ("4", "0", "all"),
            ("4", "10", "everything"),
        ] {
            let e = Plan::from_args(args(c, d, s)).unwrap_err();
            assert!(e.starts_with("--") && !e.contains('\n'), "{e}");
        }
    }
}
