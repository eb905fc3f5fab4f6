//! Platform secrets (token and audit signing seeds) live under the master
//! key: the raw table holds no seed bytes, a legacy plaintext row is
//! upgraded in place, rotation and restarts keep tokens and checkpoints
//! verifiable, and a wrong master key stops start-up with a clear error.

use crate::support::{fresh_db, new_tenant, settings, test_keys};
use base64::Engine;
use clinicos_app::kit::crypto::AccessClaims;
use clinicos_app::{App, FixedClock};
use clinicos_crypto::{EnvMasterKey, FileMasterKey, Key32, MasterKeyProvider};
use clinicos_store::{FieldKeys, Store};
use ed25519_dalek::SigningKey;
use std::sync::Arc;

async fn start(url: &str, master: Arc<dyn MasterKeyProvider>) -> Result<App, String> {
    let keys = FieldKeys {
        key_store: test_keys(url).await.key_store,
        master,
    };
    let store = Store::open_with_keys(url, 4, Some(keys))
        .await
        .expect("store");
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    App::with_clock(store, settings(), clock)
        .await
        .map_err(|e| match e {
            clinicos_app::AppError::Internal(d) => d,
            other => other.to_string(),
        })
}

async fn raw_secrets(app: &App) -> Vec<(String, Vec<u8>)> {
    sqlx::query("SELECT name, value FROM platform_secrets ORDER BY name")
        .fetch_all(app.store.platform().pool())
        .await
        .expect("secrets")
        .iter()
        .map(|r| {
            (
                sqlx::Row::try_get(r, "name").expect("name"),
                sqlx::Row::try_get(r, "value").expect("value"),
            )
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn claims() -> AccessClaims {
    AccessClaims {
        sub: "u".into(),
        tid: "t".into(),
        sid: "s".into(),
        iat: 0,
        exp: i64::MAX / 2,
        typ: "access".into(),
    }
}

fn master_version(envelope: &[u8]) -> u32 {
    u32::from_be_bytes(envelope[1..5].try_into().expect("header"))
}

#[tokio::test]
async fn a_plaintext_secret_is_wrapped_in_place_and_keeps_its_value() {
    let (url, _dir) = fresh_db().await;
    // The schema as an older release left it: seeds in plaintext.
    let store = Store::open(&url, 2).await.expect("store");
    for (name, seed) in [
        ("token_signing_ed25519", [7u8; 32]),
        ("audit_signing_ed25519", [9u8; 32]),
    ] {
        clinicos_store::tenancy::platform::insert_secret_if_absent(store.platform(), name, &seed)
            .await
            .expect("legacy row");
    }
    store.close().await;
    let master = Arc::new(EnvMasterKey::single(Key32::from_array([42; 32])));
    let app = start(&url, master.clone()).await.expect("app");
    // Same keys as before the upgrade.
    let audit_pk = SigningKey::from_bytes(&[9u8; 32]).verifying_key();
    let published = app
        .governance()
        .audit_public_key()
        .await
        .expect("pk")
        .public_key;
    assert_eq!(
        published,
        base64::engine::general_purpose::STANDARD.encode(audit_pk.as_bytes())
    );
    assert_eq!(
        app.signer.verifying_key(),
        SigningKey::from_bytes(&[7u8; 32]).verifying_key()
    );
    let rows = raw_secrets(&app).await;
    assert_eq!(
        rows.len(),
        4,
        "token, audit signing, audit MAC and device secrets: {rows:?}"
    );
    for (name, value) in &rows {
        assert_ne!(value.len(), 32, "{name} is not plaintext");
        assert_eq!(value[0], 1, "{name} is an envelope");
        assert!(!contains(value, &[7u8; 32]) && !contains(value, &[9u8; 32]));
    }
    // A second instance reads the wrapped rows (no second upgrade).
    let again = start(&url, master).await.expect("restart");
    assert_eq!(raw_secrets(&again).await, rows);
    assert_eq!(again.signer.verifying_key(), app.signer.verifying_key());
}

#[tokio::test]
async fn rotation_and_restarts_keep_tokens_and_checkpoints_verifiable() {
    let (url, _dir) = fresh_db().await;
    let keydir = tempfile::tempdir().expect("keys");
    let path = keydir.path().join("master.key");
    let (p, _) = FileMasterKey::open_or_create(&path).expect("master");
    let app = start(&url, Arc::new(p)).await.expect("app");
    app.tenancy()
        .create_tenant(&new_tenant("rotor", None))
        .await
        .expect("tenant");
    assert!(app.governance().seal_audit_once().await.expect("seal") > 0);
    let token = app.signer.sign(&claims());

    let r = app
        .governance()
        .rotate_master_key(true)
        .await
        .expect("rotate");
    assert_eq!((r.master_version, r.secrets_rewrapped), (2, 4));
    assert!(raw_secrets(&app)
        .await
        .iter()
        .all(|(_, v)| master_version(v) == 2));
    assert_eq!(
        app.governance()
            .rotate_master_key(false)
            .await
            .expect("again")
            .secrets_rewrapped,
        0,
        "idempotent"
    );
    app.store.close().await;

    // Restart with every version, then with only the new one.
    let (p, _) = FileMasterKey::open_or_create(&path).expect("master");
    let restarted = start(&url, Arc::new(p)).await.expect("restart");
    let v2 = std::fs::read(path.with_file_name("master.key.v2")).expect("v2");
    let only_v2 = EnvMasterKey::parse(&format!(
        "2:{}",
        base64::engine::general_purpose::STANDARD.encode(v2)
    ))
    .expect("v2 key");
    let only_new = start(&url, Arc::new(only_v2)).await.expect("v2 only");
    for a in [&restarted, &only_new] {
        assert_eq!(a.signer.verify(&token, 0), Some(claims()));
        let report = a.governance().verify_audit().await.expect("verify");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(report.checkpoints >= 1);
    }
    // Sealing goes on after the restart under the same audit key.
    restarted
        .identity()
        .reset_sign_in_cli("rotor", "owner@rotor.example", false, true)
        .await
        .expect("audited write");
    assert!(
        restarted
            .governance()
            .seal_audit_once()
            .await
            .expect("seal")
            > 0
    );
    let report = only_new.governance().verify_audit().await.expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_wrong_master_key_stops_start_up_with_one_clear_line() {
    let (url, _dir) = fresh_db().await;
    let right = Arc::new(EnvMasterKey::single(Key32::from_array([42; 32])));
    start(&url, right).await.expect("first start");
    let wrong = Arc::new(EnvMasterKey::single(Key32::from_array([1; 32])));
    let err = start(&url, wrong).await.err().expect("refused");
    assert!(err.contains("cannot open the platform secret"), "{err}");
    assert!(err.contains("CLINICOS_MASTER_KEY"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}
