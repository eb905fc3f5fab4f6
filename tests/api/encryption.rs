//! Field encryption end to end on a real database: PHI written through the
//! field cipher is not in the database bytes; erasing a patient's key makes
//! their fields unreadable in a restored backup while others still read;
//! ciphertexts moved to another row, column or tenant fail; blind indexes
//! find rows by exact value; master key rotation re-wraps without loss.

use crate::support::{pg_admin_url, spawn_app, test_keys, TestApp};
use base64::Engine;
use clinicos_app::FieldCipher;
use clinicos_crypto::{EnvMasterKey, FileMasterKey};
use clinicos_domain::TenantId;
use clinicos_store::{Backend, Db, FieldKeys};
use std::sync::Arc;

const PHONE_A: &str = "+91 98765 43210";
const NOTE_A: &str = "HIV positive since 2019, on ART";
const PHONE_B: &str = "+91 91234 56789";

/// The owner connection and the probe table (a stand-in for the patient
/// tables of a later issue).
async fn probe_db(url: &str) -> Db {
    let db = Db::connect(url, 2, false).await.expect("owner connection");
    let blob = match db.backend() {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS phi_probe (tenant_id TEXT NOT NULL, id TEXT NOT NULL, \
         subject_id TEXT NOT NULL, phone {blob} NOT NULL, phone_bidx TEXT NOT NULL, note {blob} NOT NULL, \
         PRIMARY KEY (tenant_id, id))"
    ))
    .execute(db.pool())
    .await
    .expect("create phi_probe");
    db
}

/// Encrypt and insert one row.
async fn put(
    c: &FieldCipher,
    db: &Db,
    tenant: TenantId,
    id: &str,
    subject: &str,
    phone: &str,
    note: &str,
) {
    let p = c
        .encrypt(tenant, "phi_probe", "phone", id, subject, phone.as_bytes())
        .await
        .expect("encrypt phone");
    let n = c
        .encrypt(tenant, "phi_probe", "note", id, subject, note.as_bytes())
        .await
        .expect("encrypt note");
    let b = c.blind_index(tenant, "phone", phone).await.expect("index");
    sqlx::query("INSERT INTO phi_probe (tenant_id, id, subject_id, phone, phone_bidx, note) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(tenant.as_text())
        .bind(id)
        .bind(subject)
        .bind(p)
        .bind(b)
        .bind(n)
        .execute(db.pool())
        .await
        .expect("insert");
}

/// The stored phone ciphertext of a row.
async fn stored(db: &Db, id: &str, col: &str) -> Vec<u8> {
    let row = sqlx::query(&format!("SELECT {col} FROM phi_probe WHERE id = $1"))
        .bind(id)
        .fetch_one(db.pool())
        .await
        .expect("row");
    sqlx::Row::try_get::<Vec<u8>, _>(&row, 0).expect("bytes")
}

async fn read_phone(
    c: &FieldCipher,
    db: &Db,
    tenant: TenantId,
    id: &str,
    subject: &str,
) -> Result<String, String> {
    let ct = stored(db, id, "phone").await;
    c.decrypt(tenant, "phi_probe", "phone", id, subject, &ct)
        .await
        .map(|v| String::from_utf8(v).expect("utf8"))
        .map_err(|e| e.to_string())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn sqlite_path(url: &str) -> std::path::PathBuf {
    let rest = url.strip_prefix("sqlite://").expect("sqlite url");
    std::path::PathBuf::from(rest.split('?').next().expect("path"))
}

/// Scan the stored bytes (SQLite: the files; PostgreSQL: every row of
/// `tables` as text, BYTEA as hex) for each needle; `seen` is plaintext the
/// SQLite scan must find, proving it reads the right files.
pub(crate) async fn assert_not_stored(url: &str, seen: &[u8], tables: &[&str], needles: &[&[u8]]) {
    let db = Db::connect(url, 2, false).await.expect("owner connection");
    match db.backend() {
        Backend::Sqlite => {
            let main = sqlite_path(url);
            let mut bytes = std::fs::read(&main).expect("read db");
            let mut wal = main.into_os_string();
            wal.push("-wal");
            bytes.extend(std::fs::read(&wal).unwrap_or_default());
            assert!(contains(&bytes, seen), "the scan sees plaintext names");
            for n in needles {
                assert!(
                    !contains(&bytes, n),
                    "{:?} in the database files",
                    String::from_utf8_lossy(n)
                );
            }
        }
        Backend::Postgres => {
            for table in tables {
                let rows = sqlx::query(&format!("SELECT t::text AS whole FROM {table} t"))
                    .fetch_all(db.pool())
                    .await
                    .expect("rows");
                for r in rows {
                    let whole: String = sqlx::Row::try_get(&r, "whole").expect("whole");
                    for n in needles {
                        // BYTEA columns print as hex in a row's text form.
                        let hex: String = n.iter().map(|b| format!("{b:02x}")).collect();
                        assert!(
                            !whole.contains(&hex),
                            "{:?} (hex) in {table}",
                            String::from_utf8_lossy(n)
                        );
                        assert!(
                            !contains(whole.as_bytes(), n),
                            "{:?} in {table}",
                            String::from_utf8_lossy(n)
                        );
                    }
                }
            }
        }
    }
}

async fn setup() -> (TestApp, Db, TenantId) {
    let t = spawn_app().await;
    let db = probe_db(&t.db_url).await;
    (t, db, TenantId::new())
}

#[tokio::test]
async fn phi_is_not_in_the_database_bytes() {
    let (t, db, tenant) = setup().await;
    let c = &t.app.cipher;
    put(c, &db, tenant, "row-a", "patient-a", PHONE_A, NOTE_A).await;
    put(
        c,
        &db,
        tenant,
        "row-b",
        "patient-b",
        PHONE_B,
        "Allergic to penicillin",
    )
    .await;
    let needles: [&[u8]; 4] = [
        PHONE_A.as_bytes(),
        b"9876543210",
        b"HIV positive",
        b"penicillin",
    ];
    match db.backend() {
        Backend::Sqlite => {
            let main = sqlite_path(&t.db_url);
            let mut bytes = std::fs::read(&main).expect("read db");
            let mut wal = main.clone().into_os_string();
            wal.push("-wal");
            bytes.extend(std::fs::read(&wal).unwrap_or_default());
            assert!(contains(&bytes, b"phi_probe"), "the scan sees the table");
            for n in needles {
                assert!(
                    !contains(&bytes, n),
                    "plaintext {:?} found in the database files",
                    String::from_utf8_lossy(n)
                );
            }
        }
        Backend::Postgres => {
            let rows = sqlx::query("SELECT encode(phone, 'hex') || encode(note, 'hex') AS h, phone_bidx, t::text AS whole FROM phi_probe t")
                .fetch_all(db.pool())
                .await
                .expect("rows");
            assert_eq!(rows.len(), 2);
            for r in rows {
                let hex: String = sqlx::Row::try_get(&r, "h").expect("hex");
                let raw: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect();
                let whole: String = sqlx::Row::try_get(&r, "whole").expect("whole");
                for n in needles {
                    assert!(
                        !contains(&raw, n) && !contains(whole.as_bytes(), n),
                        "plaintext found in a row"
                    );
                }
            }
        }
    }
    // And it reads back.
    assert_eq!(
        read_phone(c, &db, tenant, "row-a", "patient-a")
            .await
            .unwrap(),
        PHONE_A
    );
}

/// A copy of the probe table as a backup database: SQLite `VACUUM INTO`;
/// PostgreSQL a new database the rows are copied into.
async fn backup(t: &TestApp, db: &Db) -> Db {
    match db.backend() {
        Backend::Sqlite => {
            let path = sqlite_path(&t.db_url).with_file_name("backup.db");
            sqlx::query(&format!("VACUUM INTO '{}'", path.display()))
                .execute(db.pool())
                .await
                .expect("vacuum into");
            Db::connect(&format!("sqlite://{}?mode=rw", path.display()), 1, false)
                .await
                .expect("open backup")
        }
        Backend::Postgres => {
            let (base, name) = t.db_url.rsplit_once('/').expect("url");
            let admin = Db::connect(&pg_admin_url().expect("admin"), 1, false)
                .await
                .expect("admin");
            sqlx::query(&format!("CREATE DATABASE {name}_backup"))
                .execute(admin.pool())
                .await
                .expect("create backup");
            let bk = probe_db(&format!("{base}/{name}_backup")).await;
            let rows = sqlx::query(
                "SELECT tenant_id, id, subject_id, phone, phone_bidx, note FROM phi_probe",
            )
            .fetch_all(db.pool())
            .await
            .expect("rows");
            for r in rows {
                let g = |c: &str| sqlx::Row::try_get::<String, _>(&r, c).expect("text");
                let b = |c: &str| sqlx::Row::try_get::<Vec<u8>, _>(&r, c).expect("bytes");
                sqlx::query("INSERT INTO phi_probe (tenant_id, id, subject_id, phone, phone_bidx, note) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(g("tenant_id")).bind(g("id")).bind(g("subject_id")).bind(b("phone")).bind(g("phone_bidx")).bind(b("note"))
                    .execute(bk.pool()).await.expect("copy");
            }
            bk
        }
    }
}

#[tokio::test]
async fn erasing_a_key_reaches_restored_backups() {
    let (t, db, tenant) = setup().await;
    let c = &t.app.cipher;
    put(c, &db, tenant, "row-a", "patient-a", PHONE_A, NOTE_A).await;
    put(c, &db, tenant, "row-b", "patient-b", PHONE_B, "Asthma").await;
    let bk = backup(&t, &db).await;
    assert_eq!(c.erase_subject(tenant, "patient-a").await.unwrap(), 1);
    // A fresh instance (no cache) on the same key store, reading the restored backup.
    let fresh = FieldCipher::new(Some(test_keys(&t.db_url).await));
    for cipher in [c, &fresh] {
        let err = read_phone(cipher, &bk, tenant, "row-a", "patient-a")
            .await
            .unwrap_err();
        assert!(err.contains("erased"), "{err}");
        assert!(!err.contains("9876"), "no PHI in errors");
        assert_eq!(
            read_phone(cipher, &bk, tenant, "row-b", "patient-b")
                .await
                .unwrap(),
            PHONE_B
        );
    }
    // Erasing again is harmless; encrypting for A afterwards makes a new key
    // that does not open the old data.
    assert_eq!(c.erase_subject(tenant, "patient-a").await.unwrap(), 0);
    c.encrypt(tenant, "phi_probe", "phone", "row-new", "patient-a", b"x")
        .await
        .unwrap();
    assert!(read_phone(c, &bk, tenant, "row-a", "patient-a")
        .await
        .is_err());
}

/// The key caches are bounded, and eviction never loses the key of a new
/// record that sealed values before its key reached the key store.
#[tokio::test]
async fn bounded_key_caches_keep_new_records_keys_until_stored() {
    let t = spawn_app().await;
    let tenant = TenantId::new();
    let c = FieldCipher::with_capacity(Some(test_keys(&t.db_url).await), 4, 4);
    let fresh = "subject-new".to_owned();
    let mut keys = c
        .new_subject_keys(tenant, std::slice::from_ref(&fresh))
        .await
        .expect("new key");
    let sealed = c
        .encrypt(
            tenant,
            "phi_probe",
            "note",
            "row-new",
            &fresh,
            NOTE_A.as_bytes(),
        )
        .await
        .expect("seal");
    // Many other subjects pass through the cache meanwhile.
    let other = |i: usize| {
        let subject = format!("subject-{i}");
        let c = c.clone();
        async move {
            c.encrypt(tenant, "phi_probe", "note", "row", &subject, b"x")
                .await
                .expect("other subject");
        }
    };
    for i in 0..40 {
        other(i).await;
        assert!(
            c.cached_subject_keys() <= 4 + 1,
            "bounded: {}",
            c.cached_subject_keys()
        );
    }
    let open = || c.decrypt(tenant, "phi_probe", "note", "row-new", &fresh, &sealed);
    assert_eq!(
        open().await.expect("still pending").as_slice(),
        NOTE_A.as_bytes()
    );
    c.store_new_keys(&mut keys).await.expect("store");
    for i in 40..80 {
        other(i).await;
    }
    assert!(c.cached_subject_keys() <= 4);
    // Evicted now, and read back from the key store.
    assert_eq!(
        open().await.expect("reloaded").as_slice(),
        NOTE_A.as_bytes()
    );
}

#[tokio::test]
async fn moved_or_altered_ciphertexts_do_not_decrypt() {
    let (t, db, tenant) = setup().await;
    let c = &t.app.cipher;
    put(c, &db, tenant, "row-a", "patient-a", PHONE_A, NOTE_A).await;
    let ct = stored(&db, "row-a", "phone").await;
    let ok = c
        .decrypt(tenant, "phi_probe", "phone", "row-a", "patient-a", &ct)
        .await;
    assert_eq!(ok.unwrap(), PHONE_A.as_bytes());
    assert!(
        c.decrypt(tenant, "phi_probe", "phone", "row-b", "patient-a", &ct)
            .await
            .is_err(),
        "other row"
    );
    assert!(
        c.decrypt(tenant, "phi_probe", "note", "row-a", "patient-a", &ct)
            .await
            .is_err(),
        "other column"
    );
    assert!(
        c.decrypt(tenant, "patients", "phone", "row-a", "patient-a", &ct)
            .await
            .is_err(),
        "other table"
    );
    assert!(
        c.decrypt(tenant, "phi_probe", "phone", "row-a", "patient-b", &ct)
            .await
            .is_err(),
        "other subject"
    );
    assert!(
        c.decrypt(
            TenantId::new(),
            "phi_probe",
            "phone",
            "row-a",
            "patient-a",
            &ct
        )
        .await
        .is_err(),
        "other tenant"
    );
    // Swapping two rows' values in the database is caught.
    put(c, &db, tenant, "row-c", "patient-a", PHONE_B, "x").await;
    sqlx::query("UPDATE phi_probe SET phone = $1 WHERE id = 'row-c'")
        .bind(ct.clone())
        .execute(db.pool())
        .await
        .unwrap();
    assert!(read_phone(c, &db, tenant, "row-c", "patient-a")
        .await
        .is_err());
    let mut bad = ct.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = c
        .decrypt(tenant, "phi_probe", "phone", "row-a", "patient-a", &bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains(PHONE_A));
    assert!(c
        .decrypt(tenant, "phi_probe", "phone", "row-a", "patient-a", b"short")
        .await
        .is_err());
    assert!(
        c.encrypt(tenant, "phi_probe", "phone", "", "patient-a", b"x")
            .await
            .is_err(),
        "empty row id"
    );
}

#[tokio::test]
async fn blind_index_finds_the_row_by_exact_value() {
    let (t, db, tenant) = setup().await;
    let c = &t.app.cipher;
    put(c, &db, tenant, "row-a", "patient-a", PHONE_A, NOTE_A).await;
    put(c, &db, tenant, "row-b", "patient-b", PHONE_B, "x").await;
    let wanted = c
        .blind_index(tenant, "phone", "+91-98765-43210")
        .await
        .unwrap();
    let rows = sqlx::query("SELECT id FROM phi_probe WHERE tenant_id = $1 AND phone_bidx = $2")
        .bind(tenant.as_text())
        .bind(wanted.clone())
        .fetch_all(db.pool())
        .await
        .unwrap();
    let ids: Vec<String> = rows
        .iter()
        .map(|r| sqlx::Row::try_get(r, "id").unwrap())
        .collect();
    assert_eq!(ids, vec!["row-a".to_owned()]);
    assert_ne!(
        wanted,
        c.blind_index(TenantId::new(), "phone", PHONE_A)
            .await
            .unwrap(),
        "tenants index apart"
    );
    assert_ne!(
        wanted,
        c.blind_index(tenant, "phone", "+91 98765 43211")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn master_key_rotation_rewraps_every_tenant_key() {
    let t = spawn_app().await;
    let db = probe_db(&t.db_url).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (provider, created) = FileMasterKey::open_or_create(&path).unwrap();
    assert!(created);
    let key_store = test_keys(&t.db_url).await.key_store;
    let keys = FieldKeys {
        key_store: key_store.clone(),
        master: Arc::new(provider),
    };
    let c = FieldCipher::new(Some(keys));
    let (t1, t2) = (TenantId::new(), TenantId::new());
    put(&c, &db, t1, "r1", "p1", PHONE_A, NOTE_A).await;
    put(&c, &db, t2, "r2", "p2", PHONE_B, NOTE_A).await;
    let r = c.rotate_master(true).await.unwrap();
    assert_eq!((r.master_version, r.rewrapped), (2, 2));
    assert!(path.with_file_name("master.key.v2").exists());
    assert!(key_store
        .all_tenant_keys()
        .await
        .unwrap()
        .iter()
        .all(|k| k.master_version == 2));
    // Idempotent: a second run finds nothing to do.
    assert_eq!(c.rotate_master(false).await.unwrap().rewrapped, 0);
    // Only the new master version is needed now.
    let v2 = std::fs::read(path.with_file_name("master.key.v2")).unwrap();
    let only_v2 = EnvMasterKey::parse(&format!(
        "2:{}",
        base64::engine::general_purpose::STANDARD.encode(v2)
    ))
    .unwrap();
    let fresh = FieldCipher::new(Some(FieldKeys {
        key_store,
        master: Arc::new(only_v2),
    }));
    assert_eq!(
        read_phone(&fresh, &db, t1, "r1", "p1").await.unwrap(),
        PHONE_A
    );
    assert_eq!(
        read_phone(&fresh, &db, t2, "r2", "p2").await.unwrap(),
        PHONE_B
    );
    // Index keys derive from the tenant key, which rotation keeps.
    assert_eq!(
        c.blind_index(t1, "phone", PHONE_A).await.unwrap(),
        fresh.blind_index(t1, "phone", PHONE_A).await.unwrap()
    );
}

#[tokio::test]
async fn without_keys_encryption_is_refused_clearly() {
    let c = FieldCipher::new(None);
    let err = c
        .encrypt(TenantId::new(), "t", "c", "r", "s", b"x")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("internal") || err.contains("not configured"),
        "{err}"
    );
}

/// The real patient tables, written through the HTTP API: phone, email,
/// history text and an emergency reason never reach the database bytes in
/// plaintext, yet read back through the API.
#[tokio::test]
async fn phi_written_through_the_api_is_not_in_the_database_bytes() {
    use crate::support::{body, PASSWORD};
    use serde_json::json;
    let t = spawn_app().await;
    let tenant = t.tenant("phiscan").await;
    t.add_user(
        &tenant,
        "doc@phiscan.example",
        clinicos_domain::Role::Doctor,
    )
    .await;
    let owner = t.owner_token(&tenant).await;
    let (s, p) = body(
        t.post(
            "/api/v1/patients",
            Some(&owner),
            json!({"given_name": "Zarina", "sex": "female", "phone": "+91 99887 76655",
                   "email": "zarina.q@example.org"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{p}");
    let pid = p["data"]["id"].as_str().expect("id").to_owned();
    let (_, me) = body(t.get("/api/v1/me", Some(&owner)).await).await;
    let me_id = me["data"]["id"].as_str().expect("me").to_owned();
    t.http
        .post(t.url(&format!("/api/v1/patients/{pid}/care-team")))
        .bearer_auth(&owner)
        .json(&json!({"user_id": me_id}))
        .send()
        .await
        .expect("care team");
    let (s, v) = body(
        t.post(
            &format!("/api/v1/patients/{pid}/history"),
            Some(&owner),
            json!({"category": "social", "text": "Quetiapine-resistant insomnia", "sensitivity": "mental_health"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    // Three messages reach the outbox: the break-the-glass review task
    // (privacy officer), a portal code and the owner's reset link.
    t.add_user(
        &tenant,
        "privacy@phiscan.example",
        clinicos_domain::Role::PrivacyOfficer,
    )
    .await;
    let (doc, _) = t.login("phiscan", "doc@phiscan.example", PASSWORD).await;
    let (s, v) = body(
        t.post(
            &format!("/api/v1/patients/{pid}/break-glass"),
            Some(&doc),
            json!({"reason": "Obtunded after a fall, Xylocaine reaction suspected"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    let (s, v) = crate::portal_otp::send(&t, "phiscan", "sms", "+91 99887 76655").await;
    assert_eq!(s, reqwest::StatusCode::ACCEPTED, "{v}");
    let (s, v) = body(
        t.post(
            "/api/v1/auth/forgot-password",
            None,
            json!({"tenant": "phiscan", "email": tenant.owner_email}),
        )
        .await,
    )
    .await;
    assert_eq!(s, reqwest::StatusCode::ACCEPTED, "{v}");
    let mail = crate::portal_otp::messages(&t, &tenant).await;
    let kinds: Vec<&str> = mail.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["staff.password_reset", "portal.code", "break_glass.review"]
    );
    let link = mail[0].body.split("token=").nth(1).expect("link");
    let token = link.split_whitespace().next().expect("token").to_owned();
    let otp = crate::portal_otp::code_in(&mail[1].body);
    let otp_text = format!("{otp} is your");
    let needles: [&[u8]; 9] = [
        b"9988776655",
        b"zarina.q",
        b"Quetiapine",
        b"Xylocaine",
        b"Obtunded",
        token.as_bytes(),
        otp_text.as_bytes(),
        b"break-the-glass) access",
        b"Someone asked to reset",
    ];
    assert_not_stored(
        &t.db_url,
        b"Zarina",
        &[
            "patients",
            "history_entries",
            "break_glass_grants",
            "audit_events",
            "outbox_messages",
        ],
        &needles,
    )
    .await;
    let (_, v) = body(
        t.get(&format!("/api/v1/patients/{pid}"), Some(&owner))
            .await,
    )
    .await;
    assert_eq!(v["data"]["phone"], "+919988776655");
    assert_eq!(v["data"]["email"], "zarina.q@example.org");
}
