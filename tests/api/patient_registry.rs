//! The full registry row: every field round-trips, bad input names its
//! fields, partial updates audit field names only, deactivation and death
//! stop contact, duplicate warnings, identifier search through the blind
//! index, and no plaintext identifier, address or note in stored bytes.

use crate::encryption::assert_not_stored;
use crate::support::{body, code, spawn_app, TestApp};
use clinicos_store::Db;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn setup(slug: &str) -> (TestApp, String) {
    let t = spawn_app().await;
    let tenant = t.tenant(slug).await;
    let owner = t.owner_token(&tenant).await;
    (t, owner)
}

fn full() -> Value {
    json!({
        "given_name": "Meera", "middle_name": "K", "family_name": "Iyer",
        "local_name": "मीरा अय्यर", "birth_date": "1988-03-09", "birth_date_estimated": true,
        "sex": "female", "gender_identity": "woman", "city": "Chennai", "postcode": "600001",
        "phone": "+91 90000 11122", "email": "meera.i@example.org",
        "address": "14 Quillfeather Lane, Mylapore",
        "identifiers": [
            {"kind": "abha_number", "value": "91-4321-8765-2109", "issuer": "ABDM", "country": "in"},
            {"kind": "passport", "value": "Z7731946"}
        ],
        "emergency_contact": {"name": "Vasanthakumar Iyer", "phone": "+91 90000 55566", "relationship": "spouse"},
        "preferred_language": "ta-IN", "preferred_channel": "whatsapp", "blood_group": "AB-",
        "tags": ["vip", "wheelchair"], "notes": "Prefers mornings; hard of hearing",
        "marketing_consent": true, "care_consent": true
    })
}

async fn create(t: &TestApp, token: &str, p: Value) -> (StatusCode, Value) {
    body(t.post("/api/v1/patients", Some(token), p).await).await
}

async fn get(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    body(t.get(path, Some(token)).await).await
}

fn fields_of(v: &Value) -> Vec<String> {
    v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn every_registry_field_round_trips() {
    let (t, owner) = setup("regrow").await;
    let (s, v) = create(&t, &owner, full()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["data"]["id"].as_str().expect("id").to_owned();
    let (s, v) = get(&t, &owner, &format!("/api/v1/patients/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let p = &v["data"];
    for (k, want) in [
        ("local_name", json!("मीरा अय्यर")),
        ("birth_date_estimated", json!(true)),
        ("gender_identity", json!("woman")),
        ("phone", json!("+919000011122")),
        ("address", json!("14 Quillfeather Lane, Mylapore")),
        ("preferred_language", json!("ta-IN")),
        ("preferred_channel", json!("whatsapp")),
        ("blood_group", json!("AB-")),
        ("tags", json!(["vip", "wheelchair"])),
        ("notes", json!("Prefers mornings; hard of hearing")),
        ("marketing_consent", json!(true)),
        ("is_active", json!(true)),
        ("may_contact", json!(true)),
        ("deceased_on", Value::Null),
    ] {
        assert_eq!(p[k], want, "{k}: {p}");
    }
    assert_eq!(
        p["emergency_contact"],
        json!({"name": "Vasanthakumar Iyer", "phone": "+919000055566", "relationship": "spouse"})
    );
    let ids = p["identifiers"].as_array().expect("identifiers");
    assert_eq!(ids.len(), 2, "{p}");
    assert_eq!(ids[0]["kind"], "abha_number");
    assert_eq!(ids[0]["value"], "91-4321-8765-2109");
    assert_eq!(ids[0]["issuer"], "ABDM");
    assert_eq!(ids[0]["country"], "IN");
    assert_eq!(ids[1]["value"], "Z7731946");
    // Defaults: no marketing, channel none, blood group unknown.
    let (s, v) = create(&t, &owner, json!({"given_name": "Bare", "sex": "unknown"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["marketing_consent"], false);
    assert_eq!(v["data"]["preferred_channel"], "none");
    assert_eq!(v["data"]["blood_group"], "unknown");
    assert_eq!(v["data"]["tags"], json!([]));
    // The identifier kinds a country offers.
    let (s, v) = get(&t, &owner, "/api/v1/patients/identifier-kinds?country=IN").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"][0]["kind"], "abha_number");
    let (s, v) = get(&t, &owner, "/api/v1/patients/identifier-kinds?country=ZZZ").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn bad_registry_input_names_each_field() {
    let (t, owner) = setup("regbad").await;
    let (s, v) = create(
        &t,
        &owner,
        json!({"given_name": "Ravi", "sex": "male", "blood_group": "C+", "preferred_channel": "fax",
               "preferred_language": "en_IN!", "tags": [""],
               "identifiers": [{"kind": "ssn", "value": "1"}, {"kind": "abha_number", "value": "123"}],
               "emergency_contact": {"name": "", "phone": "12"}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let f = fields_of(&v);
    for want in [
        "blood_group",
        "preferred_channel",
        "preferred_language",
        "tags",
        "identifiers[0].kind",
        "identifiers[1].value",
        "emergency_contact.name",
        "emergency_contact.phone",
    ] {
        assert!(f.iter().any(|x| x == want), "{want} in {f:?}");
    }
    let (s, v) = create(&t, &owner, json!({"given_name": "Ravi", "sex": "male"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["data"]["id"].as_str().expect("id").to_owned();
    let r = t
        .patch(
            &format!("/api/v1/patients/{id}"),
            &owner,
            json!({"sex": "x", "given_name": " "}),
        )
        .await;
    let (s, v) = body(r).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields_of(&v), ["given_name", "sex"]);
    let r = t
        .patch(
            &format!("/api/v1/patients/{id}"),
            &owner,
            json!({"shoe_size": 9}),
        )
        .await;
    assert!(body(r).await.0.is_client_error());
    let (s, v) = body(
        t.post(
            &format!("/api/v1/patients/{id}/deceased"),
            Some(&owner),
            json!({"date": "2999-01-01"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields_of(&v), ["date"]);
    // Nothing was written by the refused requests.
    let (_, v) = get(&t, &owner, &format!("/api/v1/patients/{id}")).await;
    assert_eq!(v["data"]["sex"], "male");
    assert_eq!(v["data"]["deceased_on"], Value::Null);
}

async fn audit_reasons(t: &TestApp, action: &str) -> Vec<String> {
    let db = Db::connect(&t.db_url, 2, false).await.expect("db");
    let rows = sqlx::query(&format!(
        "SELECT reason FROM audit_events WHERE action = '{action}' ORDER BY at"
    ))
    .fetch_all(db.pool())
    .await
    .expect("audit rows");
    rows.iter()
        .map(|r| sqlx::Row::try_get::<Option<String>, _>(r, "reason").expect("reason"))
        .map(Option::unwrap_or_default)
        .collect()
}

#[tokio::test]
async fn update_changes_only_what_was_sent_and_audits_field_names() {
    let (t, owner) = setup("regupd").await;
    let (_, v) = create(&t, &owner, full()).await;
    let id = v["data"]["id"].as_str().expect("id").to_owned();
    let before = v["data"].clone();
    let r = t
        .patch(
            &format!("/api/v1/patients/{id}"),
            &owner,
            json!({"family_name": "Krishnan", "phone": null, "notes": "Needs an interpreter",
                   "blood_group": "AB-", "identifiers": [{"kind": "national_id", "value": "5566 7788 9900"}]}),
        )
        .await;
    let (s, v) = body(r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let after = &v["data"];
    assert_eq!(after["family_name"], "Krishnan");
    assert_eq!(after["phone"], Value::Null);
    assert_eq!(after["notes"], "Needs an interpreter");
    assert_eq!(after["identifiers"][0]["kind"], "national_id");
    assert_eq!(after["identifiers"].as_array().map(Vec::len), Some(1));
    for same in [
        "given_name",
        "email",
        "address",
        "emergency_contact",
        "tags",
        "blood_group",
        "birth_date",
        "care_consent_at",
        "marketing_consent",
        "created_at",
    ] {
        assert_eq!(after[same], before[same], "{same} changed");
    }
    // Names were re-indexed: the new family name finds, the old does not.
    let (_, v) = get(&t, &owner, "/api/v1/patients?q=krish").await;
    assert_eq!(v["data"][0]["id"], id.as_str(), "{v}");
    let (_, v) = get(&t, &owner, "/api/v1/patients?q=iyer").await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0), "{v}");
    // The audit event names the changed fields (blood_group was unchanged), never values.
    let reasons = audit_reasons(&t, "patient.updated").await;
    assert_eq!(reasons, ["family_name,phone,identifiers,notes"]);
}

async fn act(t: &TestApp, token: &str, id: &str, what: &str) -> (StatusCode, Value) {
    body(
        t.post(
            &format!("/api/v1/patients/{id}/{what}"),
            Some(token),
            json!({}),
        )
        .await,
    )
    .await
}

#[tokio::test]
async fn deactivation_and_death_stop_contact() {
    let (t, owner) = setup("regstat").await;
    let (_, v) = create(&t, &owner, json!({"given_name": "Ana", "sex": "female", "birth_date": "1950-01-01", "phone": "+63 917 555 0101"})).await;
    let id = v["data"]["id"].as_str().expect("id").to_owned();
    let (s, v) = act(&t, &owner, &id, "deactivate").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["is_active"], false);
    assert_eq!(v["data"]["may_contact"], false);
    // An inactive patient is no duplicate candidate.
    let (s, v) = create(&t, &owner, json!({"given_name": "Ana", "sex": "female", "birth_date": "1950-01-01", "phone": "+639175550101"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = act(&t, &owner, &id, "reactivate").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["may_contact"], true);
    // A deceased patient gets no reminder.
    let (s, v) = body(
        t.post(
            &format!("/api/v1/patients/{id}/deceased"),
            Some(&owner),
            json!({"date": "2026-01-02"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["deceased_on"], "2026-01-02");
    assert_eq!(v["data"]["may_contact"], false);
    let (_, v) = get(&t, &owner, &format!("/api/v1/patients/{id}")).await;
    assert_eq!(v["data"]["may_contact"], false);
    assert!(!v["data"]["deceased_at"].is_null());
    let (s, _) = body(
        t.post(
            &format!("/api/v1/patients/{id}/deceased"),
            Some(&owner),
            json!({"date": "1949-12-31"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for action in [
        "patient.deactivated",
        "patient.reactivated",
        "patient.deceased",
    ] {
        assert_eq!(audit_reasons(&t, action).await.len(), 1, "{action}");
    }
}

#[tokio::test]
async fn duplicates_warn_then_confirm_new_registers() {
    let (t, owner) = setup("regdup").await;
    let (_, v) = create(&t, &owner, full()).await;
    let first = v["data"]["id"].as_str().expect("id").to_owned();
    // Same phone (typed differently) and birth date.
    let (s, v) = create(
        &t,
        &owner,
        json!({"given_name": "M", "sex": "female", "phone": "+919000011122", "birth_date": "1988-03-09"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(code(&v), "DUPLICATE_PATIENT");
    assert_eq!(
        v["error"]["details"],
        json!([{"field": "patient_id", "message": first}])
    );
    assert!(
        !v.to_string().contains("9000011122"),
        "no PHI in the answer: {v}"
    );
    // Same phone, other birth date: no warning.
    let (s, v) = create(
        &t,
        &owner,
        json!({"given_name": "M", "sex": "female", "phone": "+919000011122", "birth_date": "1990-03-09"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Same identifier, other spelling.
    let dup = json!({"given_name": "Other", "sex": "male",
        "identifiers": [{"kind": "abha_number", "value": "91 4321 8765 2109"}]});
    let (s, v) = create(&t, &owner, dup.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["details"][0]["message"], first.as_str());
    // The same value under another kind is no match.
    let (s, _) = create(
        &t,
        &owner,
        json!({"given_name": "Other", "sex": "male", "identifiers": [{"kind": "other", "value": "91432187652109"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut confirmed = dup;
    confirmed["confirm_new"] = json!(true);
    let (s, v) = create(&t, &owner, confirmed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_ne!(v["data"]["id"], first.as_str());
    assert_eq!(
        audit_reasons(&t, "patient.duplicate_warning").await.len(),
        2
    );
}

/// 50 registrations of the same phone and birth date at once make one
/// record and 49 warnings, on both databases (the check and the insert of
/// one registration cannot interleave with another's); a deliberate
/// second record with `confirm_new` is still allowed.
#[tokio::test]
async fn the_duplicate_check_holds_under_concurrency() {
    let (t, owner) = setup("regrace").await;
    let same = json!({"given_name": "Farida", "sex": "female",
                      "phone": "+91 90000 44455", "birth_date": "1970-07-07"});
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (http, url, owner, b) = (
                t.http.clone(),
                t.url("/api/v1/patients"),
                owner.clone(),
                same.clone(),
            );
            tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(owner)
                    .json(&b)
                    .send()
                    .await
                    .expect("request")
                    .status()
            })
        })
        .collect();
    let mut created = 0;
    let mut warned = 0;
    for task in tasks {
        match task.await.expect("task") {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => warned += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, warned), (1, 49));
    let mut deliberate = same;
    deliberate["confirm_new"] = json!(true);
    let (s, v) = create(&t, &owner, deliberate).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn identifiers_are_found_through_the_blind_index() {
    let (t, owner) = setup("regfind").await;
    let (_, v) = create(&t, &owner, full()).await;
    let id = v["data"]["id"].as_str().expect("id").to_owned();
    create(
        &t,
        &owner,
        json!({"given_name": "Noise", "sex": "male",
        "identifiers": [{"kind": "passport", "value": "Y1234567"}]}),
    )
    .await;
    let (s, v) = get(
        &t,
        &owner,
        "/api/v1/patients?identifier_kind=abha_number&identifier=91432187652109",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["data"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["id"], id.as_str());
    let (_, v) = get(
        &t,
        &owner,
        "/api/v1/patients?identifier_kind=passport&identifier=z7731946",
    )
    .await;
    assert_eq!(v["data"][0]["id"], id.as_str(), "{v}");
    let (_, v) = get(
        &t,
        &owner,
        "/api/v1/patients?identifier_kind=national_id&identifier=Z7731946",
    )
    .await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(0), "{v}");
    let (s, v) = get(&t, &owner, "/api/v1/patients?identifier=Z7731946").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields_of(&v), ["identifier_kind"]);
}

#[tokio::test]
async fn registry_phi_is_not_in_the_database_bytes() {
    let (t, owner) = setup("regscan").await;
    let (s, v) = create(&t, &owner, full()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let needles: [&[u8]; 5] = [
        b"Quillfeather",
        b"4321-8765",
        b"Z7731946",
        b"Vasanthakumar",
        b"hard of hearing",
    ];
    assert_not_stored(
        &t.db_url,
        b"Meera",
        &[
            "patients",
            "patient_identifiers",
            "audit_events",
            "outbox_messages",
        ],
        &needles,
    )
    .await;
}

/// The data keys the key store holds for a tenant.
async fn data_keys(t: &TestApp, tenant: &str) -> i64 {
    use sqlx::Row;
    let ks = crate::support::test_keys(&t.db_url).await.key_store;
    sqlx::query("SELECT COUNT(*) AS n FROM subject_keys WHERE tenant_id = $1")
        .bind(tenant.to_owned())
        .fetch_one(ks.db().pool())
        .await
        .expect("count keys")
        .try_get::<i64, _>("n")
        .expect("n")
}

#[tokio::test]
async fn a_refused_registration_leaves_no_data_key_and_the_answer_is_what_was_sent() {
    let t = spawn_app().await;
    let tenant = t.tenant("keyless").await;
    let owner = t.owner_token(&tenant).await;
    let tid = tenant.id.to_string();
    let (s, v) = create(&t, &owner, full()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The answer carries the normalised values that were sealed.
    assert_eq!(v["data"]["phone"], "+919000011122");
    assert_eq!(v["data"]["email"], "meera.i@example.org");
    assert_eq!(v["data"]["emergency_contact"]["phone"], "+919000055566");
    assert_eq!(v["data"]["identifiers"][0]["value"], "91-4321-8765-2109");
    assert_eq!(v["data"]["identifiers"][0]["country"], "IN");
    let id = v["data"]["id"].as_str().expect("id").to_owned();
    let (_, read) = get(&t, &owner, &format!("/api/v1/patients/{id}")).await;
    let (mut sent, mut got) = (v["data"].clone(), read["data"].clone());
    for x in [&mut sent, &mut got] {
        x.as_object_mut().expect("object").remove("merged_into");
    }
    assert_eq!(sent, got, "the create answer equals a later read");
    let before = data_keys(&t, &tid).await;
    assert_eq!(before, 1);
    // The same phone and birth date: 409 duplicate warning, no new key.
    let mut again = full();
    again["identifiers"] = json!([]);
    let (s, v) = create(&t, &owner, again).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(code(&v), "DUPLICATE_PATIENT");
    // A branch of no one's: refused after sealing, no new key.
    let mut foreign = full();
    foreign["confirm_new"] = json!(true);
    foreign["identifiers"] = json!([]);
    foreign["branch_id"] = json!(uuid::Uuid::now_v7().to_string());
    let (s, v) = create(&t, &owner, foreign).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(data_keys(&t, &tid).await, before, "no orphan key");
    // A deliberate second record gets its own key.
    let mut second = full();
    second["confirm_new"] = json!(true);
    second["identifiers"] = json!([]);
    let (s, v) = create(&t, &owner, second).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(data_keys(&t, &tid).await, before + 1);
}

/// The `patients` table and its declaration (`PatientRow`, from
/// `patient_demographics!` and the row's own columns) name the same
/// columns on the migrated database: a column added by a migration but not
/// declared, or declared but not migrated, fails here.
#[tokio::test]
async fn the_patients_table_and_its_declaration_name_the_same_columns() {
    let t = spawn_app().await;
    let db = Db::connect(&t.db_url, 2, false).await.expect("db");
    let sql = match db.backend() {
        clinicos_store::Backend::Sqlite => "SELECT name AS c FROM pragma_table_info('patients')",
        clinicos_store::Backend::Postgres => {
            "SELECT column_name::text AS c FROM information_schema.columns \
             WHERE table_name = 'patients' AND table_schema = current_schema()"
        }
    };
    let rows = sqlx::query(sql).fetch_all(db.pool()).await.expect("schema");
    let mut live: Vec<String> = rows
        .iter()
        .map(|r| sqlx::Row::try_get::<String, _>(r, "c").expect("column"))
        .collect();
    live.sort();
    let mut declared: Vec<String> = clinicos_store::patients::registry::PatientRow::SCHEMA
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    declared.sort();
    assert!(live.len() > 30, "{live:?}");
    let missing: Vec<&String> = live.iter().filter(|c| !declared.contains(c)).collect();
    let extra: Vec<&String> = declared.iter().filter(|c| !live.contains(c)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "columns of patients not declared in PatientRow: {missing:?}; declared but not in the table: {extra:?}"
    );
    assert_eq!(declared.len(), live.len(), "a column declared twice");
}
