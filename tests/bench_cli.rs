//! `clinicos bench` end to end on SQLite: the harness runs, reports a ratio
//! and refuses bad flags with one line. Deliberately asserts no timing:
//! performance is judged from the bench's own side-by-side ratios.

use std::process::Command;

fn clinicos(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clinicos"))
        .args(args)
        .env_remove("CLINICOS_DATABASE_URL")
        .env_remove("CLINICOS_DATA_DIR")
        .output()
        .unwrap()
}

/// Run the bench with `--json`; it must succeed.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = clinicos(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn bench_reports_a_ratio_on_sqlite() {
    let out = clinicos(&[
        "bench",
        "--scenario",
        "get-branch",
        "--clients",
        "2",
        "--duration",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("ratio clinicos/raw: throughput")),
        "{stdout}"
    );
    assert!(stdout.contains("cold start"), "{stdout}");
}

#[test]
fn bench_json_names_both_sides() {
    let v = bench_json(&[
        "--scenario",
        "get-branch",
        "--clients",
        "1",
        "--duration",
        "1",
    ]);
    let s = &v["scenarios"][0];
    assert_eq!(s["name"], "get-branch");
    assert!(s["clinicos"]["requests"].as_u64().unwrap() > 0);
    assert!(s["raw"]["requests"].as_u64().unwrap() > 0);
    assert!(s["ratio"]["throughput"].is_number());
}

#[test]
fn bench_measures_field_encryption_against_raw_aes_gcm() {
    let out = clinicos(&[
        "bench",
        "--scenario",
        "field-crypto",
        "--duration",
        "1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["field_crypto"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "two plaintext sizes");
    for r in rows {
        assert!(r["operations"].as_u64().unwrap() > 0);
        assert!(r["clinicos_encrypt_ns"].as_f64().unwrap() > 0.0);
        assert!(r["raw_decrypt_ns"].as_f64().unwrap() > 0.0);
        assert!(r["ratio"].is_number());
    }
    assert!(v["scenarios"].as_array().unwrap().is_empty());
}

#[test]
fn bench_drives_audited_requests_while_the_sealer_runs() {
    let out = clinicos(&[
        "bench",
        "--scenario",
        "audit-sealer",
        "--duration",
        "1",
        "--rate",
        "200",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backlog over time"), "{stdout}");
    assert!(stdout.contains("keeps up:"), "{stdout}");
    let v = bench_json(&[
        "--scenario",
        "audit-sealer",
        "--duration",
        "1",
        "--rate",
        "100",
    ]);
    let a = &v["audit_sealer"];
    assert!(a["audited_requests"].as_u64().unwrap() > 0);
    assert_eq!(a["failed_requests"], 0);
    assert!(!a["samples"].as_array().unwrap().is_empty());
    assert!(a["keeps_up"].is_boolean());
}

#[test]
fn bench_refuses_bad_flags_with_one_line() {
    for args in [
        &["bench", "--duration", "500"][..],
        &["bench", "--clients", "none"][..],
        &["bench", "--scenario", "everything"][..],
        &["bench", "--rate", "0"][..],
    ] {
        let out = clinicos(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("clinicos: error: --"), "{stderr}");
    }
}

#[test]
fn bench_reads_and_writes_encrypted_audited_patients_against_raw() {
    for scenario in ["read-patient", "create-patient"] {
        let v = bench_json(&["--scenario", scenario, "--clients", "2", "--duration", "1"]);
        let s = &v["scenarios"][0];
        assert_eq!(s["name"], scenario);
        assert!(s["clinicos"]["requests"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(s["clinicos"]["errors"].as_u64(), Some(0), "{v}");
        assert!(s["raw"]["requests"].as_u64().unwrap() > 0);
        assert!(s["ratio"]["throughput"].is_number());
    }
}

#[test]
fn bench_times_one_policy_decision() {
    let v = bench_json(&["--scenario", "policy", "--duration", "1"]);
    let p = &v["policy"];
    assert!(p["decision_ns"].as_f64().unwrap() > 0.0, "{v}");
    assert!(p["decisions"].as_u64().unwrap() >= 100_000);
    assert!(v["scenarios"].as_array().unwrap().is_empty());
}

#[test]
fn bench_opens_a_chart_against_raw() {
    let v = bench_json(&[
        "--scenario",
        "open-chart",
        "--clients",
        "2",
        "--duration",
        "1",
    ]);
    let s = &v["scenarios"][0];
    assert_eq!(s["name"], "open-chart");
    assert!(s["clinicos"]["requests"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(s["clinicos"]["errors"].as_u64(), Some(0), "{v}");
    assert_eq!(s["raw"]["errors"].as_u64(), Some(0), "{v}");
    assert!(s["ratio"]["throughput"].is_number());
}

#[test]
fn bench_searches_a_loaded_population_by_name_and_phone() {
    let v = bench_json(&[
        "--scenario",
        "search",
        "--patients",
        "300",
        "--clients",
        "2",
        "--duration",
        "1",
    ]);
    let p = &v["population"];
    assert_eq!(p["patients"], 300, "{v}");
    assert_eq!(p["other_tenants"], 99, "{v}");
    let names: Vec<&str> = v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["search-name", "search-phone"]);
    for s in v["scenarios"].as_array().unwrap() {
        assert!(s["clinicos"]["requests"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(s["clinicos"]["errors"].as_u64(), Some(0), "{v}");
        assert_eq!(s["raw"]["errors"].as_u64(), Some(0), "{v}");
        assert!(s["clinicos"]["p99_ms"].is_number());
    }
}

#[test]
fn bench_refuses_a_population_out_of_range() {
    for n in ["0", "9", "2000001", "many"] {
        let out = clinicos(&["bench", "--scenario", "search", "--patients", n]);
        assert_eq!(out.status.code(), Some(1), "{n}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("clinicos: error: --patients"),
            "{stderr}"
        );
    }
}

/// A short soak: the production server as a child process, seeded, idle,
/// under the mixed load, idle again. Asserts the report's shape and that
/// the verdict and the exit status agree with the figures; the 2x rule
/// itself is judged by the real 30-minute run (docs/BENCHMARKS.md),
/// because a few seconds are too short for the trimmer to have run.
fn short_soak(database_url: Option<&str>) {
    let mut args = vec![
        "bench",
        "soak",
        "--minutes",
        "0.1",
        "--idle-minutes",
        "0.05",
        "--sample-secs",
        "1",
        "--patients",
        "5",
        "--clients",
        "2",
        "--json",
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    let out = clinicos(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    let phases: Vec<&str> = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["phase"].as_str().unwrap())
        .collect();
    for phase in ["seeded", "idle-before", "load", "idle-after"] {
        assert!(phases.contains(&phase), "{phase} missing: {phases:?}");
    }
    let kib = |k: &str| v[k].as_u64().unwrap();
    assert!(
        kib("idle_before_kib") > 0 && kib("after_idle_kib") > 0,
        "{v}"
    );
    assert!(kib("peak_rss_kib") >= kib("idle_before_kib"), "{v}");
    // (VmHWM is not compared with the sampled peak: the kernel's RSS
    // counters are approximate, a reading may pass the mark by a page.)
    assert!(kib("hwm_kib") > 0, "{v}");
    let ratio = v["ratio"].as_f64().unwrap();
    let expected = kib("after_idle_kib") as f64 / kib("idle_before_kib") as f64;
    assert!((ratio - expected).abs() < 1e-9, "{v}");
    assert_eq!(v["within_limit"], ratio <= 2.0, "{v}");
    assert!(v["requests"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["unexpected"], 0, "{v}\n{stderr}");
    let ops = v["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 18, "{v}");
    // Exit 0 exactly when the memory came back (no answer was unexpected).
    assert_eq!(out.status.success(), ratio <= 2.0, "{stderr}");
    if !out.status.success() {
        assert!(stderr.contains("after the idle pause"), "{stderr}");
    }
}

/// On the database of this test pass: PostgreSQL when
/// `CLINICOS_TEST_DATABASE_URL` names a server (a fresh database is made
/// there and dropped), else SQLite.
#[test]
fn soak_runs_the_server_as_a_child_and_reports_its_memory() {
    short_soak(std::env::var("CLINICOS_TEST_DATABASE_URL").ok().as_deref());
}

#[test]
fn soak_refuses_bad_flags_with_one_line() {
    for args in [
        &["bench", "soak", "--minutes", "0"][..],
        &["bench", "soak", "--idle-minutes", "61"][..],
        &["bench", "soak", "--sample-secs", "none"][..],
        &["bench", "soak", "--clients", "0"][..],
        &["bench", "soak", "--patients", "0"][..],
    ] {
        let out = clinicos(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("clinicos: error: --"), "{stderr}");
    }
}
