//! The `clinicos` binary: commands work, and every mistake exits non-zero
//! with one line naming the problem.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A fixed master key for commands whose test is not about keys (so no
/// "generated a new master key" warning joins their one-line errors).
const TEST_MASTER_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

fn clinicos(args: &[&str], stdin: Option<&str>) -> Output {
    clinicos_in(None, args, stdin)
}

/// Run in `cwd` (default: a fresh temporary directory, so the default
/// `./clinicos-keys` never lands in the source tree).
fn clinicos_in(cwd: Option<&std::path::Path>, args: &[&str], stdin: Option<&str>) -> Output {
    let scratch = tempfile::tempdir().expect("cwd");
    let mut child = Command::new(env!("CARGO_BIN_EXE_clinicos"))
        .current_dir(cwd.unwrap_or(scratch.path()))
        .env(
            "CLINICOS_MASTER_KEY",
            if cwd.is_some() { "" } else { TEST_MASTER_KEY },
        )
        .env_remove("CLINICOS_MASTER_KEY_FILE")
        .env_remove("CLINICOS_KEY_STORE_URL")
        .args(args)
        .env_remove("CLINICOS_DATABASE_URL")
        .env_remove("CLINICOS_DATA_DIR")
        .env_remove("CLINICOS_CONFIG")
        .env_remove("CLINICOS_BIND")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run clinicos");
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s.as_bytes())
            .expect("write");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One error line, prefixed, naming the problem.
fn assert_one_line_error(o: &Output, needle: &str) {
    assert!(!o.status.success(), "should fail: {}", stdout(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {err}");
    assert!(lines[0].contains(needle), "'{needle}' not in: {err}");
}

#[test]
fn version_and_help() {
    let o = clinicos(&["version"], None);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("clinicos "));
    let o = clinicos(&["--help"], None);
    assert!(stdout(&o).contains("demo"));
}

#[test]
fn migrate_tenant_and_user_commands() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_str().expect("path");
    let o = clinicos(&["migrate", "--data-dir", d], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let latest = clinicos_store::kit::migrate::MIGRATIONS
        .last()
        .map(|m| m.version)
        .unwrap_or(0);
    assert!(
        stdout(&o).contains(&format!("schema version {latest}")),
        "{}",
        stdout(&o)
    );
    // Idempotent.
    assert!(clinicos(&["migrate", "--data-dir", d], None)
        .status
        .success());

    let o = clinicos(
        &[
            "tenant",
            "create",
            "--data-dir",
            d,
            "--slug",
            "kaveri",
            "--name",
            "Kaveri Clinic",
            "--owner-email",
            "owner@kaveri.example",
            "--owner-name",
            "Kaveri Owner",
            "--password-stdin",
        ],
        Some("Saffron-River-Boat-12\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = clinicos(&["tenant", "list", "--data-dir", d], None);
    assert!(
        stdout(&o).contains("kaveri\ttrial\tlocal"),
        "{}",
        stdout(&o)
    );
    // Two-step sign-in: required of the owner, admins and privacy officers
    // in a new clinic; an operator may change it (audited).
    let security = |roles: &str| {
        clinicos(
            &[
                "tenant",
                "sign-in-security",
                "--data-dir",
                d,
                "--tenant",
                "kaveri",
                "--mfa-required-roles",
                roles,
            ],
            None,
        )
    };
    assert_one_line_error(&security("owner,wizard"), "unknown role \"wizard\"");
    let o = security("owner, doctor");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("required of: owner, doctor; device approval off"),
        "{}",
        stdout(&o)
    );
    let o = security("none");
    assert!(stdout(&o).contains("required of: nobody"), "{}", stdout(&o));

    let o = clinicos(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "--tenant",
            "kaveri",
            "--email",
            "doc@kaveri.example",
            "--role",
            "doctor",
            "--role",
            "nurse",
            "--password-stdin",
        ],
        Some("Indigo-Mango-Harbour-5"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("created user "));
    // Same email again, a weak password, an unknown role, an unknown tenant.
    let o = clinicos(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "--tenant",
            "kaveri",
            "--email",
            "doc@kaveri.example",
            "--role",
            "doctor",
            "--password-stdin",
        ],
        Some("Indigo-Mango-Harbour-5"),
    );
    assert_one_line_error(&o, "email");
    let o = clinicos(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "--tenant",
            "kaveri",
            "--email",
            "x@kaveri.example",
            "--role",
            "doctor",
            "--password-stdin",
        ],
        Some("password1"),
    );
    assert_one_line_error(&o, "password");
    let o = clinicos(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "--tenant",
            "kaveri",
            "--email",
            "y@kaveri.example",
            "--role",
            "wizard",
            "--password-stdin",
        ],
        Some("Indigo-Mango-Harbour-5"),
    );
    assert_one_line_error(&o, "unknown role 'wizard'");
    let o = clinicos(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "--tenant",
            "nowhere",
            "--email",
            "z@kaveri.example",
            "--role",
            "doctor",
            "--password-stdin",
        ],
        Some("Indigo-Mango-Harbour-5"),
    );
    assert_one_line_error(&o, "tenant not found");
    let o = clinicos(
        &[
            "user",
            "reset-password",
            "--data-dir",
            d,
            "--tenant",
            "kaveri",
            "--email",
            "doc@kaveri.example",
            "--password-stdin",
        ],
        Some("Teal-Orchard-Whistle-8"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = clinicos(
        &[
            "user",
            "reset-password",
            "--data-dir",
            d,
            "--tenant",
            "kaveri",
            "--email",
            "doc@kaveri.example",
        ],
        None,
    );
    assert_one_line_error(&o, "--password-stdin");
}

#[test]
fn bad_arguments_config_database_and_port() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_str().expect("path");
    // Bad argument (clap's own message, exit 2).
    let o = clinicos(&["serve", "--no-such-flag"], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--no-such-flag"));
    let o = clinicos(
        &["serve", "--data-dir", d, "--bind", "not-an-address"],
        None,
    );
    assert_one_line_error(&o, "--bind 'not-an-address'");
    // Bad config file: unknown key, and unreadable file.
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "bind = \"127.0.0.1:1\"\nfavourite_colour = \"teal\"\n",
    )
    .expect("write");
    let o = clinicos(&["serve", "--config", cfg.to_str().expect("p")], None);
    assert_one_line_error(&o, "bad config file");
    let o = clinicos(&["serve", "--config", "/nonexistent/clinicos.toml"], None);
    assert_one_line_error(&o, "cannot read config file");
    // Bad SIEM target and rate limit, refused before anything starts.
    std::fs::write(&cfg, "siem_syslog = \"no-port\"\n").expect("write");
    let o = clinicos(&["serve", "--config", cfg.to_str().expect("p")], None);
    assert_one_line_error(&o, "siem_syslog must be host:port");
    std::fs::write(
        &cfg,
        "siem_syslog = \"127.0.0.1:6514\"\nsiem_syslog_facility = \"kern\"\n",
    )
    .expect("write");
    let o = clinicos(&["serve", "--config", cfg.to_str().expect("p")], None);
    assert_one_line_error(&o, "siem_syslog_facility must be");
    let o = clinicos(&["serve", "--data-dir", d, "--rate-limit-auth", "0"], None);
    assert_one_line_error(&o, "rate limit auth must be at least 1");
    // Unreachable database.
    let o = clinicos(
        &[
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        None,
    );
    assert_one_line_error(&o, "cannot open the database");
    let o = clinicos(&["migrate", "--database-url", "mysql://x"], None);
    assert_one_line_error(&o, "sqlite:// or postgres://");
    // Port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let o = clinicos(&["serve", "--data-dir", d, "--bind", &addr], None);
    assert_one_line_error(&o, "already in use");
    // TLS needs both halves, and a sane minimum version.
    let o = clinicos(
        &[
            "serve",
            "--data-dir",
            d,
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            "/x.pem",
        ],
        None,
    );
    assert_one_line_error(&o, "--tls-key");
}

#[test]
fn demo_serves_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_str().expect("path");
    for _ in 0..2 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_clinicos"))
            .current_dir(dir.path())
            .args([
                "demo",
                "--data-dir",
                d,
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("demo");
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::Read;
                let _ = s.write_all(b"GET /health/ready HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    ready = true;
                    break;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let out = child.wait_with_output().expect("output");
        assert!(ready, "demo did not become ready");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("http://127.0.0.1:{port}")), "{text}");
        assert!(text.contains("front.desk@demo.clinicos.example"));
    }
    let o = clinicos(&["tenant", "list", "--data-dir", d], None);
    assert_eq!(
        stdout(&o)
            .lines()
            .filter(|l| l.starts_with("demo\t"))
            .count(),
        1,
        "demo is created once"
    );
    patient_erase_command(dir.path());
}

/// `clinicos patient erase` on the demo data: refused for a doctor, for a
/// malformed id and while the medical record must be kept; done for a
/// patient without clinical entries by the privacy officer.
fn patient_erase_command(dir: &std::path::Path) {
    let d = dir.to_str().expect("path");
    let url = clinicos_store::kit::db::sqlite_url_for_dir(dir);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let query = |sql: &str| {
        rt.block_on(async {
            let db = clinicos_store::Db::connect(&url, 1, false)
                .await
                .expect("db");
            let rows = sqlx::query(sql).fetch_all(db.pool()).await.expect("query");
            db.close().await;
            rows.iter()
                .map(|r| sqlx::Row::try_get::<String, _>(r, "id").expect("id"))
                .collect::<Vec<String>>()
        })
    };
    let records = "EXISTS (SELECT 1 FROM history_entries h WHERE h.patient_id = p.id) \
        OR EXISTS (SELECT 1 FROM allergies a WHERE a.patient_id = p.id) \
        OR EXISTS (SELECT 1 FROM conditions c WHERE c.patient_id = p.id) \
        OR EXISTS (SELECT 1 FROM medications m WHERE m.patient_id = p.id) \
        OR EXISTS (SELECT 1 FROM attachments f WHERE f.patient_id = p.id)";
    let kept = query(&format!(
        "SELECT id FROM patients p WHERE {records} LIMIT 1"
    ));
    let free = query(&format!(
        "SELECT id FROM patients p WHERE NOT ({records}) AND merged_into IS NULL \
         AND NOT EXISTS (SELECT 1 FROM patients m WHERE m.merged_into = p.id) LIMIT 1"
    ));
    let (kept, free) = (&kept[0], &free[0]);
    let erase = |patient: &str, by: &str| {
        clinicos_in(
            Some(dir),
            &[
                "patient",
                "erase",
                "--data-dir",
                d,
                "--tenant",
                "demo",
                "--patient",
                patient,
                "--by",
                by,
                "--reason",
                "patient_request",
                "--reference",
                "DSR-1",
            ],
            None,
        )
    };
    let privacy = "privacy.officer@demo.clinicos.example";
    assert_one_line_error(&erase(free, "doctor@demo.clinicos.example"), "permission");
    assert_one_line_error(&erase("P-17", privacy), "not a patient id");
    assert_one_line_error(&erase(kept, privacy), "must be kept until");
    let o = erase(free, privacy);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("patient {free} erased"))
            && stdout(&o).contains("data key destroyed"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        query(&format!(
            "SELECT id FROM patients WHERE id = '{free}' AND erased_at IS NOT NULL"
        ))
        .len(),
        1
    );
    assert_one_line_error(&erase(free, privacy), "was erased");
}

#[test]
fn tls_with_a_minimum_version() {
    let (Ok(_), Ok(_)) = (
        Command::new("openssl").arg("version").output(),
        Command::new("curl").arg("--version").output(),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl and curl are needed to exercise TLS (CI=true: .ci/run installs them)"
        );
        eprintln!("skipped: openssl and curl are needed to exercise TLS");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let gen = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_clinicos"))
        .current_dir(dir.path())
        .env("CLINICOS_MASTER_KEY", TEST_MASTER_KEY)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--tls-min-version",
            "1.3",
        ])
        .arg("--data-dir")
        .arg(&data)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let url = format!("https://127.0.0.1:{port}/health/ready");
    let curl = |extra: &[&str]| {
        Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(extra)
            .arg(&url)
            .output()
            .expect("curl")
    };
    let mut ok = false;
    for _ in 0..100 {
        if String::from_utf8_lossy(&curl(&["--tlsv1.3"]).stdout) == "200" {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let old = curl(&["--tlsv1.2", "--tls-max", "1.2"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "HTTPS with TLS 1.3 answers 200");
    assert_ne!(
        String::from_utf8_lossy(&old.stdout),
        "200",
        "TLS 1.2 is refused when the minimum is 1.3"
    );
    // A bad minimum version is a one-line error.
    let o = clinicos(
        &[
            "serve",
            "--data-dir",
            data.to_str().expect("p"),
            "--bind",
            "127.0.0.1:0",
            "--tls-min-version",
            "1.1",
            "--tls-cert",
            cert.to_str().expect("p"),
            "--tls-key",
            key.to_str().expect("p"),
        ],
        None,
    );
    assert_one_line_error(&o, "tls minimum version must be 1.2 or 1.3");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_clinicos"))
        .current_dir(dir.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "serve did not start");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "exit status after SIGTERM: {:?}",
        out.status
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shutting down"),
        "logs the graceful shutdown"
    );
}

#[test]
fn audit_verify_passes_then_names_a_tampered_event() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_str().expect("path");
    let o = clinicos(
        &[
            "tenant",
            "create",
            "--data-dir",
            d,
            "--slug",
            "tapti",
            "--name",
            "Tapti Clinic",
            "--owner-email",
            "owner@tapti.example",
            "--owner-name",
            "Tapti Owner",
            "--password-stdin",
        ],
        Some("Saffron-River-Boat-12"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let witness = dir.path().join("witness.jsonl");
    let w = witness.to_str().expect("path");
    let o = clinicos(
        &[
            "audit",
            "verify",
            "--data-dir",
            d,
            "--seal",
            "--audit-witness-file",
            w,
        ],
        None,
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("audit trail ok"), "{}", stdout(&o));
    let lines = std::fs::read_to_string(&witness).expect("the checkpoint was witnessed");
    assert!(
        lines.starts_with("{\"type\":\"audit_checkpoint\""),
        "{lines}"
    );

    // Tamper as someone with the database file would.
    let db = dir.path().join("clinicos.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let victim = rt.block_on(async {
        sqlx::any::install_default_drivers();
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!(
            "sqlite://{}",
            db.display()
        ))
        .await
        .expect("open");
        let row = sqlx::query("SELECT event_id FROM audit_chain WHERE seq = 1")
            .fetch_one(&mut c)
            .await
            .expect("link");
        let id: String = sqlx::Row::get(&row, 0);
        sqlx::Executor::execute(&mut c, "DROP TRIGGER audit_events_no_update")
            .await
            .expect("drop trigger");
        sqlx::query("UPDATE audit_events SET actor_roles = 'owner' WHERE id = $1")
            .bind(id.clone())
            .execute(&mut c)
            .await
            .expect("tamper");
        id
    });
    let o = clinicos(
        &[
            "audit",
            "verify",
            "--data-dir",
            d,
            "--audit-witness-file",
            w,
        ],
        None,
    );
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains(&format!(
            "first broken link: link 1 (event {victim}): the event was altered"
        )),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("audit trail verification failed"));
}

#[test]
fn master_key_is_generated_private_outside_the_data_dir_and_rotates() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("clinicos-data");
    let d = data.to_str().expect("path");
    let o = clinicos_in(Some(dir.path()), &["migrate", "--data-dir", d], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("generated a new master key"),
        "{}",
        stderr(&o)
    );
    let key = dir.path().join("clinicos-keys/master.key");
    assert_eq!(std::fs::read(&key).expect("key").len(), 32);
    assert!(dir.path().join("clinicos-keys/keys.db").exists());
    assert!(!data.join("master.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Second start: no new key, no warning.
    let o = clinicos_in(Some(dir.path()), &["migrate", "--data-dir", d], None);
    assert!(
        o.status.success() && !stderr(&o).contains("generated"),
        "{}",
        stderr(&o)
    );
    let o = clinicos_in(Some(dir.path()), &["keys", "rotate", "--data-dir", d], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("master key version 2"),
        "{}",
        stdout(&o)
    );
    assert!(dir.path().join("clinicos-keys/master.key.v2").exists());
}

#[cfg(unix)]
#[test]
fn group_readable_master_key_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let key = dir.path().join("k/master.key");
    std::fs::create_dir_all(key.parent().expect("parent")).expect("mkdir");
    std::fs::write(&key, [7u8; 32]).expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let d = dir.path().join("data");
    let o = clinicos(
        &[
            "migrate",
            "--data-dir",
            d.to_str().expect("p"),
            "--master-key-file",
            key.to_str().expect("k"),
        ],
        None,
    );
    assert_one_line_error(&o, "chmod 600");
}

#[test]
fn env_master_key_is_used_and_cannot_rotate_by_itself() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().join("data");
    let run = |args: &[&str], key: &str| {
        Command::new(env!("CARGO_BIN_EXE_clinicos"))
            .current_dir(dir.path())
            .env_remove("CLINICOS_MASTER_KEY_FILE")
            .env("CLINICOS_MASTER_KEY", key)
            .args(args)
            .arg("--data-dir")
            .arg(&d)
            .output()
            .expect("run")
    };
    let o = run(&["migrate"], "not-a-key");
    assert_one_line_error(&o, "CLINICOS_MASTER_KEY");
    assert!(!stderr(&o).contains("not-a-key"), "the key is not echoed");
    let key = TEST_MASTER_KEY;
    let o = run(&["migrate"], key);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.path().join("clinicos-keys/master.key").exists());
    let o = run(&["keys", "rotate"], key);
    assert_one_line_error(&o, "cannot rotate");
    // The platform secrets are now wrapped by that key: another key cannot
    // start a server or a tool on this database.
    let o = run(&["audit", "verify"], key);
    assert!(o.status.success(), "{}", stderr(&o));
    let other = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let o = run(&["audit", "verify"], other);
    assert_one_line_error(
        &o,
        "cannot open the platform secret 'token_signing_ed25519'",
    );
    let o = run(&["serve", "--bind", "127.0.0.1:0"], other);
    assert_one_line_error(
        &o,
        "start with the master key this database was set up with",
    );
}

/// A raw HTTP/1.0 request; returns the whole response text.
fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: cli-test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(req.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn serve_applies_seed_rate_limits_and_streams_security_events() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let d = data.to_str().expect("path");
    let o = clinicos(
        &[
            "tenant",
            "create",
            "--data-dir",
            d,
            "--slug",
            "clisiem",
            "--name",
            "Cli Siem Clinic",
            "--owner-email",
            "owner@clisiem.example",
            "--owner-name",
            "Owner Person",
            "--password-stdin",
        ],
        Some("Tulsi-Garden-Lamp-77\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let events = dir.path().join("security.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_clinicos"))
        .current_dir(dir.path())
        .env("CLINICOS_MASTER_KEY", TEST_MASTER_KEY)
        .args([
            "serve",
            "--data-dir",
            d,
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--siem-json-lines")
        .arg(&events)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut up = false;
    for _ in 0..200 {
        if http(port, "GET", "/health/ready", "").starts_with("HTTP/1.0 200") {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let wrong =
        r#"{"tenant":"clisiem","email":"owner@clisiem.example","password":"wrong-wrong-wrong"}"#;
    let answers: Vec<String> = (0..6)
        .map(|_| http(port, "POST", "/api/v1/auth/login", wrong))
        .collect();
    let mut streamed = String::new();
    for _ in 0..150 {
        streamed = std::fs::read_to_string(&events).unwrap_or_default();
        if streamed.contains("failed_sign_ins") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "serve did not start");
    for a in &answers[..5] {
        assert!(a.starts_with("HTTP/1.0 401"), "{a}");
    }
    // Seed 003: 5 sign-in requests a minute per address.
    assert!(answers[5].starts_with("HTTP/1.0 429"), "{}", answers[5]);
    assert!(answers[5].to_lowercase().contains("retry-after:"));
    assert!(answers[5].contains("RATE_LIMITED"));
    assert!(streamed.contains("\"tenant\":\"clisiem\""), "{streamed}");
    assert!(
        !streamed.contains("owner@clisiem"),
        "no email in the stream"
    );
}
