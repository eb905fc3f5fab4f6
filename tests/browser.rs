//! Runs the headless-Chromium + axe-core page checks (`tests/browser/run.mjs`)
//! against the binary built for this test, on the demo over SQLite, or over
//! a fresh PostgreSQL database in the PostgreSQL pass. Without Chromium,
//! node or the npm packages it skips, saying why, except under `CI=true`,
//! where it fails: `.ci/run` installs them, and a skipped check is not a
//! pass.

use std::path::Path;
use std::process::Command;

/// A tool the test needs is missing: fail under CI, skip (saying so)
/// elsewhere. Returns whether to go on.
fn have(ok: bool, missing: &str) -> bool {
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{missing} (CI=true: .ci/run installs it; a skipped check is not a pass)"
        );
        eprintln!("skipped: {missing}");
    }
    ok
}

/// A fresh database on the PostgreSQL server of the test pass, if any.
fn postgres_database() -> Option<String> {
    let admin = std::env::var("CLINICOS_TEST_DATABASE_URL").ok()?;
    let name = format!("clinicos_test_browser_{}", std::process::id());
    let made = Command::new("psql")
        .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(made.success(), "cannot create {name}");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

#[test]
fn pages_are_accessible_and_keep_the_csp() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !have(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing (apt-get install chromium)",
    ) || !have(
        Command::new("node").arg("--version").output().is_ok(),
        "node is not installed",
    ) || !have(
        root.join("tests/browser/node_modules").is_dir(),
        "the npm packages are missing: run `npm ci` in tests/browser",
    ) {
        return;
    }
    // Keep the demo's generated master key out of the source tree.
    let keys = tempfile::tempdir().expect("keys dir");
    let mut cmd = Command::new("node");
    cmd.arg(root.join("tests/browser/run.mjs"))
        .env("CLINICOS_BIN", env!("CARGO_BIN_EXE_clinicos"))
        .env("CLINICOS_MASTER_KEY_FILE", keys.path().join("master.key"))
        // One browser signs in as every role from 127.0.0.1 within a minute:
        // raise the rate limits through configuration, not the defaults.
        .env("CLINICOS_RATE_LIMIT_GLOBAL", "100000")
        .env("CLINICOS_RATE_LIMIT_AUTH", "100000")
        .env("CLINICOS_RATE_LIMIT_API", "100000")
        .current_dir(root);
    if let Some(url) = postgres_database() {
        cmd.env("CLINICOS_DATABASE_URL", url);
    }
    let out = cmd.output().expect("node starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser checks failed:\n{stdout}");
}
