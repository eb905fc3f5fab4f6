//! `clinicos`: one binary for the clinic server, its demo, migrations,
//! administration and benchmarks. Every failure exits non-zero with one
//! line naming the problem.
// `deny`, not `forbid`: `memory.rs` is the one reviewed exception (the
// glibc allocator settings), allowed there and nowhere else.
#![deny(unsafe_code)]

mod config;
mod file_storage;
mod keys;
mod memory;

use clap::{Args, Parser, Subcommand};
use clinicos_app::tenancy::provisioning::{NewTenant, NewUser};
use clinicos_app::{App, AppError, AuthSettings};
use clinicos_domain::Role;
use clinicos_store::kit::db::sqlite_url_for_dir;
use clinicos_store::Store;
use clinicos_web::{ServeOptions, TlsOptions, WebConfig, WebState};
use config::FileConfig;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "clinicos",
    version,
    about = "ClinicOS: clinic management and medical records"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Create the demo organisation (idempotent), then run the server.
    Demo(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Manage tenants (organisations).
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage staff users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage platform operator accounts.
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Manage data-residency regions.
    #[command(subcommand)]
    Region(RegionCmd),
    /// Audit trail tools.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Field-encryption keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Patient records: erasure.
    #[command(subcommand)]
    Patient(PatientCmd),
    /// Load-test the HTTP API against the raw database, side by side.
    Bench(clinicos_bench::BenchArgs),
    /// Print the version.
    Version,
}

/// Where the database is.
#[derive(Args, Clone, Debug)]
pub struct DbArgs {
    /// Directory of the embedded SQLite database (default ./clinicos-data).
    #[arg(long, env = "CLINICOS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host/db); overrides --data-dir.
    #[arg(long, env = "CLINICOS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// TOML config file.
    #[arg(long, env = "CLINICOS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Master key file, outside the data directory (default
    /// beside the data directory: <data-dir>-keys/master.key, or
    /// ./clinicos-keys/master.key for ./clinicos-data; created with mode 0600
    /// on first start).
    /// CLINICOS_MASTER_KEY (base64) is used instead when set and this is not.
    #[arg(long, env = "CLINICOS_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Key store database (default: keys.db beside the master key file).
    #[arg(long, env = "CLINICOS_KEY_STORE_URL")]
    pub key_store_url: Option<String>,
    /// Append-only file witnessing every signed audit checkpoint outside
    /// the database (default beside the data directory:
    /// <data-dir>-audit/checkpoints.jsonl, or
    /// ./clinicos-audit/checkpoints.jsonl for ./clinicos-data).
    #[arg(long, env = "CLINICOS_AUDIT_WITNESS_FILE")]
    pub audit_witness_file: Option<PathBuf>,
}

#[derive(Args, Clone, Debug)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "CLINICOS_BIND")]
    bind: Option<String>,
    /// Base URL used in emailed links (default http://<bind>).
    #[arg(long, env = "CLINICOS_PUBLIC_URL")]
    public_url: Option<String>,
    /// TLS certificate chain (PEM); enables HTTPS with --tls-key.
    #[arg(long, env = "CLINICOS_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "CLINICOS_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Minimum TLS version: 1.2 or 1.3 (default 1.2).
    #[arg(long, env = "CLINICOS_TLS_MIN_VERSION")]
    tls_min_version: Option<String>,
    /// Anonymous requests per minute per IP (default 100, seed 003).
    #[arg(long, env = "CLINICOS_RATE_LIMIT_GLOBAL")]
    rate_limit_global: Option<i64>,
    /// Sign-in/MFA/reset/refresh requests per minute per IP (default 5).
    #[arg(long, env = "CLINICOS_RATE_LIMIT_AUTH")]
    rate_limit_auth: Option<i64>,
    /// Patient one-time-code requests per minute per IP (default 3).
    #[arg(long, env = "CLINICOS_RATE_LIMIT_OTP")]
    rate_limit_otp: Option<i64>,
    /// Signed-in requests per minute per session (default 1000).
    #[arg(long, env = "CLINICOS_RATE_LIMIT_API")]
    rate_limit_api: Option<i64>,
    /// Append security events as JSON lines to this file ("-" = stdout).
    #[arg(long, env = "CLINICOS_SIEM_JSON_LINES")]
    siem_json_lines: Option<String>,
    /// Send security events as RFC 5424 syslog over TCP to host:port.
    #[arg(long, env = "CLINICOS_SIEM_SYSLOG")]
    siem_syslog: Option<String>,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum TenantCmd {
    /// Open a tenant with its first branch and owner.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        legal_name: Option<String>,
        #[arg(long, default_value = "IN")]
        country: String,
        #[arg(long, default_value = "en")]
        locale: String,
        #[arg(long, default_value = "INR")]
        currency: String,
        #[arg(long, default_value = "Asia/Kolkata")]
        time_zone: String,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        owner_name: String,
        /// Read the owner's password from standard input (else an invitation link is emailed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set which roles must use two-step sign-in, and device approval
    /// (a new clinic requires it of owner, branch_admin and
    /// privacy_officer). Audited with request id cli.
    SignInSecurity {
        #[command(flatten)]
        db: DbArgs,
        /// Clinic code (tenant slug).
        #[arg(long)]
        tenant: String,
        /// Comma-separated roles, or "none".
        #[arg(long)]
        mfa_required_roles: String,
        /// New staff devices need an administrator's approval.
        #[arg(long)]
        device_approval: bool,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a staff user.
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// Clinic code (tenant slug).
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Role (repeat for several): owner, branch_admin, doctor, nurse, front_desk, pharmacist, lab_technician, accountant, privacy_officer.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from standard input (else an invitation link is emailed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Sign-in recovery: remove the user's two-step sign-in (lost phone and
    /// recovery codes) and/or approve their pending devices.
    ResetSignIn {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Remove the TOTP second factor and its recovery codes.
        #[arg(long)]
        remove_mfa: bool,
        /// Approve every device waiting for approval.
        #[arg(long)]
        approve_devices: bool,
    },
    /// Set a user's password (ends their sessions).
    ResetPassword {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum OperatorCmd {
    /// Create a platform operator account.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check every tenant's audit chain, event MACs, signed checkpoints and
    /// the witness file; names the first broken link (position and event)
    /// and exits non-zero on any problem.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Seal pending events first (as a running server would).
        #[arg(long)]
        seal: bool,
    },
}

#[derive(Subcommand)]
enum PatientCmd {
    /// Erase a patient record for good (as the staff member named by
    /// --by, who needs the patients:erase permission): refused while a
    /// legal hold or a retention period applies. Prints the receipt.
    Erase {
        #[command(flatten)]
        db: DbArgs,
        /// Clinic code (tenant slug).
        #[arg(long)]
        tenant: String,
        /// The patient's id.
        #[arg(long)]
        patient: String,
        /// Email of the staff member erasing (audited as them, channel cli).
        #[arg(long)]
        by: String,
        /// patient_request, registered_in_error, consent_withdrawn, legal_order or retention_expired.
        #[arg(long)]
        reason: String,
        /// The request's reference (ticket or letter number).
        #[arg(long, default_value = "")]
        reference: String,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Make a new master key version and re-wrap every tenant key with it,
    /// while the server keeps running.
    Rotate {
        #[command(flatten)]
        db: DbArgs,
        /// Do not make a new version; only re-wrap under the newest one
        /// (after adding a version to CLINICOS_MASTER_KEY).
        #[arg(long)]
        rewrap_only: bool,
    },
}

#[derive(Subcommand)]
enum RegionCmd {
    /// Register a region and migrate its database.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        region_database_url: String,
    },
}

fn main() {
    memory::tune_allocator();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(format!("cannot start the runtime: {e}")),
    };
    if let Err(e) = rt.block_on(run(cli)) {
        fail(e);
    }
}

fn fail(msg: String) -> ! {
    eprintln!("clinicos: error: {msg}");
    std::process::exit(1);
}

fn init_logging(format: Option<&str>) {
    use clinicos_web::kit::logging;
    logging::install(
        logging::env_filter(),
        format == Some("text"),
        std::io::stderr,
    );
}

/// Resolve the database URL from flags, environment and config file.
pub fn database_url(db: &DbArgs, file: &FileConfig) -> Result<String, String> {
    if let Some(url) = db
        .database_url
        .clone()
        .or_else(|| file.database_url.clone())
    {
        clinicos_store::kit::db::backend_of(&url).map_err(|e| e.to_string())?;
        return Ok(url);
    }
    let dir = db
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("clinicos-data"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    Ok(sqlite_url_for_dir(&dir))
}

/// Open the store (migrating) with its key store and master keys, with a
/// clear message if anything is unreachable or unsafe.
pub async fn open_store(db: &DbArgs, file: &FileConfig) -> Result<Store, String> {
    let url = database_url(db, file)?;
    let keys = keys::field_keys(db, &url).await?;
    let max = file.max_connections.unwrap_or(16);
    Store::open_with_keys(&url, max, Some(keys))
        .await
        .map_err(|e| {
            let shown = clinicos_store::kit::db::redacted_url(&url);
            format!("cannot open the database {shown}: {e}")
        })
}

fn auth_settings(file: &FileConfig, public_url: String, secure: bool, demo: bool) -> AuthSettings {
    let d = AuthSettings::default();
    AuthSettings {
        access_ttl: file
            .access_token_minutes
            .map(chrono::Duration::minutes)
            .unwrap_or(d.access_ttl),
        lockout_threshold: file.lockout_threshold.unwrap_or(d.lockout_threshold),
        lockout_window: d.lockout_window,
        lockout_duration: file
            .lockout_minutes
            .map(chrono::Duration::minutes)
            .unwrap_or(d.lockout_duration),
        ip_attempts_per_minute: file
            .ip_attempts_per_minute
            .unwrap_or(d.ip_attempts_per_minute),
        reset_ttl: d.reset_ttl,
        public_url,
        secure_cookies: secure,
        development_outbox: demo || file.development_outbox.unwrap_or(false),
    }
}

/// Rate limits: flag > environment > file > seed 003 default.
fn rate_limits(
    a: &ServeArgs,
    file: &FileConfig,
) -> Result<clinicos_web::kit::limits::RateLimits, String> {
    let d = clinicos_web::kit::limits::RateLimits::default();
    let pick = |name: &str, flag: Option<i64>, key: Option<i64>, default: i64| {
        let v = flag.or(key).unwrap_or(default);
        if v < 1 {
            Err(format!(
                "rate limit {name} must be at least 1 request, not {v}"
            ))
        } else {
            Ok(v)
        }
    };
    Ok(clinicos_web::kit::limits::RateLimits {
        global: pick(
            "global",
            a.rate_limit_global,
            file.rate_limit_global,
            d.global,
        )?,
        auth: pick("auth", a.rate_limit_auth, file.rate_limit_auth, d.auth)?,
        otp: pick("otp", a.rate_limit_otp, file.rate_limit_otp, d.otp)?,
        api: pick("api", a.rate_limit_api, file.rate_limit_api, d.api)?,
        no_user_agent: pick(
            "no_user_agent",
            None,
            file.rate_limit_no_user_agent,
            d.no_user_agent,
        )?,
        burst_per_second: pick(
            "burst_per_second",
            None,
            file.burst_per_second,
            d.burst_per_second,
        )?,
    })
}

/// SIEM sinks: flag > environment > file; none by default.
fn siem_config(
    a: &ServeArgs,
    file: &FileConfig,
) -> Result<clinicos_app::governance::siem::SiemConfig, String> {
    use clinicos_app::governance::siem::{facility, JsonLinesTarget, SiemConfig, SyslogTarget};
    let json_lines = a
        .siem_json_lines
        .clone()
        .or(file.siem_json_lines.clone())
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p == "-" {
                JsonLinesTarget::Stdout
            } else {
                JsonLinesTarget::File(p.into())
            }
        });
    let syslog = match a
        .siem_syslog
        .clone()
        .or(file.siem_syslog.clone())
        .filter(|s| !s.is_empty())
    {
        Some(addr) => {
            let name = file
                .siem_syslog_facility
                .clone()
                .unwrap_or_else(|| "authpriv".into());
            let facility = facility(&name).ok_or_else(|| {
                format!(
                    "siem_syslog_facility must be auth, authpriv or local0..local7, not '{name}'"
                )
            })?;
            if !addr.contains(':') {
                return Err(format!("siem_syslog must be host:port, not '{addr}'"));
            }
            Some(SyslogTarget {
                addr,
                facility,
                hostname: std::env::var("HOSTNAME").unwrap_or_else(|_| "clinicos".into()),
            })
        }
        None => None,
    };
    Ok(SiemConfig { json_lines, syslog })
}

fn read_password(stdin: bool) -> Result<Option<String>, String> {
    if !stdin {
        return Ok(None);
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let p = s.trim_end_matches(['\n', '\r']).to_owned();
    if p.is_empty() {
        return Err("the password on standard input is empty".into());
    }
    Ok(Some(p))
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Version => {
            println!("clinicos {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve(a) => serve(a, false).await,
        Command::Demo(a) => serve(a, true).await,
        Command::Migrate(db) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let app = cli_app(&db, &file).await?;
            let indexed = app
                .patients()
                .index_patient_names()
                .await
                .map_err(AppError::operator_message)?;
            if indexed > 0 {
                println!("added {indexed} patients to the name-search index");
            }
            let versions = clinicos_store::kit::migrate::applied_versions(app.store.platform())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "database is at schema version {}",
                versions.last().copied().unwrap_or(0)
            );
            Ok(())
        }
        Command::Tenant(TenantCmd::SignInSecurity {
            db,
            tenant,
            mfa_required_roles,
            device_approval,
        }) => {
            let roles = match mfa_required_roles.trim() {
                "none" | "" => Vec::new(),
                list => list
                    .split(',')
                    .map(|r| {
                        r.trim().parse::<Role>().map_err(|_| {
                            format!("--mfa-required-roles: unknown role {:?}", r.trim())
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let file = FileConfig::load(db.config.as_deref())?;
            let app = cli_app(&db, &file).await?;
            let t = app
                .identity()
                .set_sign_in_security_cli(
                    &tenant,
                    clinicos_app::identity::devices::SignInSecurity {
                        mfa_required_roles: roles,
                        device_approval,
                    },
                )
                .await
                .map_err(AppError::operator_message)?;
            let names: Vec<&str> = t.mfa_required_roles.iter().map(|r| r.as_str()).collect();
            println!(
                "two-step sign-in required of: {}; device approval {}",
                if names.is_empty() {
                    "nobody".to_owned()
                } else {
                    names.join(", ")
                },
                if t.device_approval { "on" } else { "off" }
            );
            Ok(())
        }
        Command::Tenant(TenantCmd::List { db }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let store = open_store(&db, &file).await?;
            for t in clinicos_store::tenancy::platform::directory_list(store.platform())
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.slug,
                    t.status.as_str(),
                    t.region_code,
                    t.plan_code,
                    t.display_name
                );
            }
            Ok(())
        }
        Command::Tenant(TenantCmd::Create {
            db,
            slug,
            name,
            legal_name,
            country,
            locale,
            currency,
            time_zone,
            region,
            plan,
            owner_email,
            owner_name,
            password_stdin,
        }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let owner_password = read_password(password_stdin)?;
            let app = cli_app(&db, &file).await?;
            let n = NewTenant {
                legal_name: legal_name.unwrap_or_else(|| name.clone()),
                display_name: name,
                slug,
                country,
                city: String::new(),
                state: String::new(),
                region,
                plan,
                locale,
                currency,
                time_zone,
                owner_email,
                owner_name,
                owner_password,
            };
            let e = app
                .tenancy()
                .create_tenant(&n)
                .await
                .map_err(AppError::operator_message)?;
            println!(
                "created tenant {} ({}) in region {}",
                e.slug, e.tenant_id, e.region_code
            );
            Ok(())
        }
        Command::User(UserCmd::Create {
            db,
            tenant,
            email,
            name,
            roles,
            password_stdin,
        }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>().map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let password = read_password(password_stdin)?;
            let app = cli_app(&db, &file).await?;
            let u = NewUser {
                name: name.unwrap_or_else(|| email.split('@').next().unwrap_or("Staff").to_owned()),
                email,
                roles,
                branch_ids: vec![],
                password,
                locale: None,
            };
            let id = app
                .tenancy()
                .create_user_cli(&tenant, &u)
                .await
                .map_err(AppError::operator_message)?;
            println!("created user {id}");
            Ok(())
        }
        Command::User(UserCmd::ResetSignIn {
            db,
            tenant,
            email,
            remove_mfa,
            approve_devices,
        }) => {
            if !remove_mfa && !approve_devices {
                return Err("say what to reset: --remove-mfa and/or --approve-devices".into());
            }
            let file = FileConfig::load(db.config.as_deref())?;
            let app = cli_app(&db, &file).await?;
            let r = app
                .identity()
                .reset_sign_in_cli(&tenant, &email, remove_mfa, approve_devices)
                .await
                .map_err(AppError::operator_message)?;
            if remove_mfa {
                println!(
                    "two-step sign-in {}",
                    if r.mfa_removed {
                        "removed"
                    } else {
                        "was not set up"
                    }
                );
            }
            if approve_devices {
                println!("{} device(s) approved", r.devices_approved);
            }
            Ok(())
        }
        Command::User(UserCmd::ResetPassword {
            db,
            tenant,
            email,
            password_stdin,
        }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let password = read_password(password_stdin)?
                .ok_or("--password-stdin is required: pipe the new password in")?;
            let app = cli_app(&db, &file).await?;
            app.tenancy()
                .reset_password_cli(&tenant, &email, &password)
                .await
                .map_err(AppError::operator_message)?;
            println!("password changed; the user's sessions have ended");
            Ok(())
        }
        Command::Operator(OperatorCmd::Create {
            db,
            email,
            name,
            password_stdin,
        }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let password = read_password(password_stdin)?
                .ok_or("--password-stdin is required: pipe the password in")?;
            let app = cli_app(&db, &file).await?;
            let id = app
                .tenancy()
                .create_operator(&email, &name, &password)
                .await
                .map_err(AppError::operator_message)?;
            println!("created operator {id}");
            Ok(())
        }
        Command::Region(RegionCmd::Add {
            db,
            code,
            name,
            region_database_url,
        }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let store = open_store(&db, &file).await?;
            store
                .add_region(&code, &name, &region_database_url)
                .await
                .map_err(|e| format!("cannot add region {code}: {e}"))?;
            println!("region {code} is ready");
            Ok(())
        }
        Command::Audit(AuditCmd::Verify { db, seal }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let app = cli_app(&db, &file).await?;
            if seal {
                let g = app.governance();
                g.prepare_audit_chains()
                    .await
                    .map_err(AppError::operator_message)?;
                let n = g
                    .seal_audit_once()
                    .await
                    .map_err(AppError::operator_message)?;
                println!("sealed {n} pending events");
            }
            let r = app
                .governance()
                .verify_audit()
                .await
                .map_err(AppError::operator_message)?;
            println!(
                "checked {} tenants: {} sealed events, {} checkpoints, {} not yet sealed, {} refused; witness ({}): {} checkpoints",
                r.tenants,
                r.sealed_events,
                r.checkpoints,
                r.unsealed_events,
                r.refused_events,
                app.audit_witness.describe(),
                r.witnessed_checkpoints
            );
            if !r.unwitnessed_tenants.is_empty() {
                println!(
                    "note: the witness holds no checkpoint of {} tenant(s) ({}), so a cut of their chain's tail would go unnoticed; run the server (or --seal) with this witness",
                    r.unwitnessed_tenants.len(),
                    r.unwitnessed_tenants.join(", ")
                );
            }
            if r.problems.is_empty() {
                println!("audit trail ok");
                Ok(())
            } else {
                for p in &r.problems {
                    println!("PROBLEM: {p}");
                }
                Err(format!(
                    "audit trail verification failed: {}",
                    r.problems[0]
                ))
            }
        }
        Command::Keys(KeysCmd::Rotate { db, rewrap_only }) => {
            let file = FileConfig::load(db.config.as_deref())?;
            let app = cli_app(&db, &file).await?;
            let r = app
                .governance()
                .rotate_master_key(!rewrap_only)
                .await
                .map_err(AppError::operator_message)?;
            println!(
                "master key version {}: re-wrapped {} tenant keys ({} already current) and {} platform secrets",
                r.master_version, r.rewrapped, r.current, r.secrets_rewrapped
            );
            Ok(())
        }
        Command::Patient(PatientCmd::Erase {
            db,
            tenant,
            patient,
            by,
            reason,
            reference,
        }) => {
            let id: clinicos_domain::PatientId = patient
                .trim()
                .parse()
                .map_err(|_| format!("--patient {patient:?} is not a patient id (a UUID)"))?;
            let file = FileConfig::load(db.config.as_deref())?;
            let app = cli_app(&db, &file).await?;
            let ctx = app
                .identity()
                .offline_ctx_by_email(&tenant, &by, "cli")
                .await
                .map_err(AppError::operator_message)?;
            let input = clinicos_app::patients::erasure::EraseInput { reason, reference };
            let r = app
                .patients()
                .erase_patient(&ctx, id, input)
                .await
                .map_err(AppError::operator_message)?;
            let rows: u64 = r.deleted.iter().map(|d| d.rows).sum();
            println!(
                "patient {} erased ({} rows and {} files deleted{}); data key {}",
                r.erasure.patient_id,
                rows,
                r.files_deleted,
                if r.also_erased.is_empty() {
                    String::new()
                } else {
                    format!(", with {} merged record(s)", r.also_erased.len())
                },
                if r.erasure.key_destroyed {
                    "destroyed"
                } else {
                    "NOT yet destroyed (key store unreachable; retried at the next start)"
                }
            );
            Ok(())
        }
        Command::Bench(a) => clinicos_bench::run(a).await,
    }
}

async fn cli_app(db: &DbArgs, file: &FileConfig) -> Result<App, String> {
    let store = open_store(db, file).await?;
    let app = App::new(
        store,
        auth_settings(file, "http://127.0.0.1:8080".into(), true, false),
    )
    .await
    .map_err(AppError::operator_message)?;
    let app = with_audit_witness(app, db, file, None);
    with_files(app, db, file)
}

/// The audit witness: `--audit-witness-file` > config file > beside the
/// data directory; with a SIEM JSON-lines stream, checkpoints are copied
/// there too.
fn with_audit_witness(
    mut app: App,
    db: &DbArgs,
    file: &FileConfig,
    siem: Option<&clinicos_app::governance::siem::JsonLinesTarget>,
) -> App {
    use clinicos_app::governance::audit_witness::FileWitness;
    use clinicos_app::governance::siem::WithSiemCopy;
    let path = db
        .audit_witness_file
        .clone()
        .or_else(|| file.audit_witness_file.clone())
        .unwrap_or_else(|| {
            let data = db.data_dir.clone().or_else(|| file.data_dir.clone());
            keys::default_audit_witness_file(data.as_deref())
        });
    let witness = std::sync::Arc::new(FileWitness::new(path));
    app.audit_witness = match siem {
        Some(target) => std::sync::Arc::new(WithSiemCopy {
            witness,
            siem: target.clone(),
        }),
        None => witness,
    };
    app
}

/// Attachment files: an S3-compatible bucket when configured, else local
/// disk (`files_dir`, else beside the data directory); and the clamd
/// scanner when configured.
fn with_files(mut app: App, db: &DbArgs, file: &FileConfig) -> Result<App, String> {
    let dir = file.files_dir.clone().unwrap_or_else(|| {
        let data = db.data_dir.clone().or_else(|| file.data_dir.clone());
        keys::default_files_dir(data.as_deref())
    });
    app.files = file_storage::blob_store(file, &dir)?;
    if let Some(scanner) = file_storage::scanner(file)? {
        app.scanner = scanner;
    }
    Ok(app)
}

async fn serve(a: ServeArgs, demo: bool) -> Result<(), String> {
    let file = FileConfig::load(a.db.config.as_deref())?;
    init_logging(file.log_format.as_deref());
    let bind_text = a
        .bind
        .clone()
        .or_else(|| file.bind.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let bind: SocketAddr = bind_text
        .parse()
        .map_err(|_| format!("--bind '{bind_text}' is not an address like 127.0.0.1:8080"))?;
    let tls = match (
        a.tls_cert.clone().or(file.tls_cert.clone()),
        a.tls_key.clone().or(file.tls_key.clone()),
    ) {
        (Some(cert_path), Some(key_path)) => Some(TlsOptions {
            cert_path,
            key_path,
            min_version: a
                .tls_min_version
                .clone()
                .or(file.tls_min_version.clone())
                .unwrap_or_else(|| "1.2".into()),
        }),
        (None, None) => None,
        _ => return Err("TLS needs both --tls-cert and --tls-key".into()),
    };
    let limits = rate_limits(&a, &file)?;
    let siem = siem_config(&a, &file)?;
    // Fail fast on a taken port, before migrating anything.
    drop(std::net::TcpListener::bind(bind).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "cannot listen on {bind}: the port is already in use (choose another with --bind)"
            )
        } else {
            format!("cannot listen on {bind}: {e}")
        }
    })?);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = a
        .public_url
        .clone()
        .or(file.public_url.clone())
        .unwrap_or_else(|| format!("{scheme}://{bind}"));
    // Browsers accept Secure cookies over TLS and on loopback; a plain-HTTP
    // LAN address would silently lose them, so say so.
    let secure = file
        .secure_cookies
        .unwrap_or(tls.is_some() || bind.ip().is_loopback() || public_url.starts_with("https://"));
    if !secure {
        tracing::warn!(
            "cookies are not marked Secure: serve over TLS or behind an HTTPS proxy in production"
        );
    }
    let store = open_store(&a.db, &file).await?;
    memory::spawn_trimmer();
    let app = App::new(
        store.clone(),
        auth_settings(&file, public_url.clone(), secure, demo),
    )
    .await
    .map_err(AppError::operator_message)?;
    let app = with_audit_witness(app, &a.db, &file, siem.json_lines.as_ref());
    let app = with_files(app, &a.db, &file)?;
    // Patients from before the name-search index (a no-op once indexed).
    app.patients()
        .index_patient_names()
        .await
        .map_err(AppError::operator_message)?;
    let logins = if demo {
        Some(
            app.demo()
                .seed_demo()
                .await
                .map_err(AppError::operator_message)?,
        )
    } else {
        None
    };
    let country_header = file.country_header.clone().filter(|h| !h.trim().is_empty());
    let mut app = app;
    if country_header.is_some() {
        app.geo = std::sync::Arc::new(clinicos_app::governance::security_state::TrustedHeaderGeo);
    }
    let forwarder = (!siem.is_empty()).then(|| {
        app.governance()
            .spawn_siem_forwarder(siem, std::time::Duration::from_secs(5))
    });
    // Link committed audit events into each tenant's hash chain.
    let sealer = app
        .governance()
        .spawn_audit_sealer(clinicos_app::governance::audit_trail::SEAL_INTERVAL);
    // Remove expired challenges, reset tokens, stale approvals, counters.
    let housekeeping = app
        .governance()
        .spawn_housekeeping(std::time::Duration::from_secs(300));
    let config = WebConfig {
        body_limit: file
            .body_limit_bytes
            .unwrap_or(WebConfig::default().body_limit),
        request_timeout_secs: file.request_timeout_secs.unwrap_or(30),
        trust_proxy: file.trust_proxy.unwrap_or(false),
        demo_mode: demo,
        rate_limits: limits,
        country_header,
        ..WebConfig::default()
    };
    let state = WebState { app, config };
    let opts = ServeOptions { bind, tls };
    let result = clinicos_web::serve(state, opts, |addr| {
        let url = if addr.ip().is_unspecified() { format!("{scheme}://127.0.0.1:{}", addr.port()) } else { format!("{scheme}://{addr}") };
        println!("ClinicOS is running at {url}");
        if let Some(logins) = &logins {
            println!();
            println!("Demo organisation: clinic code '{}', password '{}' for every account:", clinicos_app::demo::organisation::DEMO_SLUG, clinicos_app::demo::organisation::DEMO_PASSWORD);
            for l in logins {
                println!("  {:<16} {}", l.role.as_str(), l.email);
            }
            println!("  {:<16} {} (operator console: {url}/operator/login)", "operator", clinicos_app::demo::organisation::DEMO_OPERATOR);
            println!("Two-step sign-in (owner, branch_admin, privacy_officer, as in every new clinic): authenticator secret {} (any TOTP app, or: oathtool --totp -b {})", clinicos_app::demo::organisation::DEMO_TOTP_SECRET, clinicos_app::demo::organisation::DEMO_TOTP_SECRET);
            println!("Patient portal: {url}/portal/login (sign-in codes arrive in the Outbox)");
            println!();
            println!("API: POST {url}/api/v1/auth/login {{\"tenant\":\"demo\",\"email\":\"...\",\"password\":\"...\"}}; docs at {url}/api/v1/openapi.json");
        }
    })
    .await;
    sealer.abort();
    if let Some(f) = forwarder {
        f.abort();
    }
    housekeeping.abort();
    store.close().await;
    result
}
