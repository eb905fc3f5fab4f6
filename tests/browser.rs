//! Runs the headless-Chromium + axe-core page checks (`tests/browser/run.mjs`)
//! against the binary built for this test. Skips, saying why, when Chromium,
//! node or the npm packages are not installed (CI installs them).

use std::path::Path;
use std::process::Command;

#[test]
fn pages_are_accessible_and_keep_the_csp() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("CLINICOS_TEST_DATABASE_URL").is_some() {
        eprintln!("skipped: the browser checks run the SQLite demo, once, in the SQLite pass");
        return;
    }
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!("skipped: /usr/bin/chromium is missing (apt-get install chromium)");
        return;
    }
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("skipped: node is not installed");
        return;
    }
    if !root.join("tests/browser/node_modules").is_dir() {
        eprintln!("skipped: run `npm ci` in tests/browser first");
        return;
    }
    // Keep the demo's generated master key out of the source tree.
    let keys = tempfile::tempdir().expect("keys dir");
    let out = Command::new("node")
        .arg(root.join("tests/browser/run.mjs"))
        .env("CLINICOS_BIN", env!("CARGO_BIN_EXE_clinicos"))
        .env("CLINICOS_MASTER_KEY_FILE", keys.path().join("master.key"))
        // One browser signs in as every role from 127.0.0.1 within a minute:
        // raise the rate limits through configuration, not the defaults.
        .env("CLINICOS_RATE_LIMIT_GLOBAL", "100000")
        .env("CLINICOS_RATE_LIMIT_AUTH", "100000")
        .env("CLINICOS_RATE_LIMIT_API", "100000")
        .current_dir(root)
        .output()
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser checks failed:\n{stdout}");
}
