//! Patient search through `GET /api/v1/patients`: the shared name-search
//! fixture (every query returns exactly its patients, tenants isolated),
//! ranking and paging, the sex / age / branch / phone filters, the
//! local-script name, and refusals of bad filters.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

const PATIENTS: &str = include_str!("../fixtures/name_search/patients.tsv");
const QUERIES: &str = include_str!("../fixtures/name_search/queries.tsv");

/// Query parameters and the fixture keys they must find.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

/// Register a patient over the API; returns its id.
async fn register(t: &TestApp, token: &str, body: Value) -> String {
    let (s, v) = crate::support::body(t.post("/api/v1/patients", Some(token), body).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

/// `GET /api/v1/patients` with query parameters.
async fn search(t: &TestApp, token: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = t
        .http
        .get(t.url("/api/v1/patients"))
        .query(params)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    body(r).await
}

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Load the fixture patients into a tenant; returns id -> fixture key.
async fn load_fixture(t: &TestApp, token: &str) -> HashMap<String, String> {
    let mut keys = HashMap::new();
    for line in PATIENTS.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        let id = register(
            t,
            token,
            json!({"given_name": get(1), "middle_name": get(2), "family_name": get(3),
                   "local_name": get(4), "sex": "unknown"}),
        )
        .await;
        keys.insert(id, get(0).to_owned());
    }
    keys
}

#[test]
fn the_fixture_copy_matches_the_shared_one() {
    // The repository carries a copy so that CI needs nothing outside it;
    // where the shared folder is present, the copy must not drift.
    let shared =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/name-search");
    for (name, copy) in [("patients.tsv", PATIENTS), ("queries.tsv", QUERIES)] {
        if let Ok(original) = std::fs::read_to_string(shared.join(name)) {
            assert_eq!(original, copy, "{name} differs from the shared fixture");
        }
    }
}

#[tokio::test]
async fn every_fixture_query_finds_exactly_its_patients_in_its_own_tenant() {
    let t = spawn_app().await;
    let a = t.tenant("search-a").await;
    let b = t.tenant("search-b").await;
    let (ta, tb) = (t.owner_token(&a).await, t.owner_token(&b).await);
    let keys = load_fixture(&t, &ta).await;
    // The same names in another tenant must never show up in the first.
    let other = load_fixture(&t, &tb).await;
    assert_eq!(keys.len(), 25);

    let mut failures = Vec::new();
    for line in QUERIES.lines().skip(1).filter(|l| !l.is_empty()) {
        let (query, expected) = line.split_once('\t').unwrap_or((line, ""));
        let want: BTreeSet<&str> = expected.split(',').filter(|k| !k.is_empty()).collect();
        let (s, v) = search(&t, &ta, &[("q", query), ("limit", "100")]).await;
        assert_eq!(s, StatusCode::OK, "{query}: {v}");
        let got: BTreeSet<&str> = ids(&v)
            .iter()
            .map(|id| {
                assert!(!other.contains_key(id), "{query}: another tenant's patient");
                keys.get(id).map(String::as_str).unwrap_or("?")
            })
            .collect();
        assert_eq!(v["meta"]["total"], json!(got.len()), "{query}");
        if got != want {
            failures.push(format!("{query:?}: got {got:?}, want {want:?}"));
        }
        // The second tenant sees its own copies, the same number.
        let (_, vb) = search(&t, &tb, &[("q", query), ("limit", "100")]).await;
        assert!(ids(&vb).iter().all(|id| other.contains_key(id)), "{query}");
        assert_eq!(ids(&vb).len(), want.len(), "{query} in tenant b");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A search is one audit event naming exactly the ids it returned.
    let (_, v) = search(&t, &ta, &[("q", "maria")]).await;
    let mut returned = ids(&v);
    let mut tx = t.app.store.read(a.id).await.expect("tx");
    let events = clinicos_store::governance::audit::all_events(&mut tx)
        .await
        .expect("events");
    let last = events
        .iter()
        .rev()
        .find(|e| e.action == "patient.list")
        .expect("a patient.list event");
    let mut named: Vec<String> = last.resource_ids.split(',').map(str::to_owned).collect();
    returned.sort();
    named.sort();
    assert_eq!(named, returned);
}

#[tokio::test]
async fn exact_and_family_name_matches_rank_first_and_pages_follow_the_ranking() {
    let t = spawn_app().await;
    let tenant = t.tenant("rank").await;
    let token = t.owner_token(&tenant).await;
    let mut by_name = HashMap::new();
    // Registered in the reverse of the expected order, so newest-first
    // would give the opposite.
    for (given, family) in [
        ("Kumaresh", "Rao"),
        ("Ravi", "Kumaresh"),
        ("Kumar", "Sharma"),
        ("Anil", "Kumar"),
        ("Zubin", "Kumar"),
    ] {
        let id = register(
            &t,
            &token,
            json!({"given_name": given, "family_name": family, "sex": "male"}),
        )
        .await;
        by_name.insert(id, format!("{given} {family}"));
    }
    let names = |v: &Value| -> Vec<String> { ids(v).iter().map(|i| by_name[i].clone()).collect() };
    let (_, v) = search(&t, &token, &[("q", "kumar")]).await;
    // Exact family (then by given name), exact given, family prefix, given prefix.
    assert_eq!(
        names(&v),
        [
            "Anil Kumar",
            "Zubin Kumar",
            "Kumar Sharma",
            "Ravi Kumaresh",
            "Kumaresh Rao"
        ]
    );
    let (_, v) = search(&t, &token, &[("q", "KUMAR"), ("limit", "2"), ("page", "2")]).await;
    assert_eq!(names(&v), ["Kumar Sharma", "Ravi Kumaresh"]);
    assert_eq!(v["meta"]["total"], 5);
    assert_eq!(v["meta"]["total_pages"], 3);
    // A page past the end is empty and still says how many match (the
    // page's own count is then absent, so it is counted separately); a
    // two-word search (the pair index) likewise.
    let (_, v) = search(&t, &token, &[("q", "kumar"), ("limit", "2"), ("page", "9")]).await;
    assert!(ids(&v).is_empty(), "{v}");
    assert_eq!(v["meta"]["total"], 5);
    let (_, v) = search(
        &t,
        &token,
        &[("q", "kum ra"), ("limit", "1"), ("page", "2")],
    )
    .await;
    assert_eq!(names(&v), ["Kumaresh Rao"]);
    assert_eq!(v["meta"]["total"], 2);
    let (_, v) = search(
        &t,
        &token,
        &[("q", "kum ra"), ("limit", "1"), ("page", "3")],
    )
    .await;
    assert!(ids(&v).is_empty(), "{v}");
    assert_eq!(v["meta"]["total"], 2);
}

#[tokio::test]
async fn sex_age_branch_and_phone_filters_combine_with_the_name() {
    let t = spawn_app().await;
    let tenant = t.tenant("filters").await;
    let token = t.owner_token(&tenant).await;
    let (s, v) = body(
        t.post(
            "/api/v1/branches",
            Some(&token),
            json!({"code": "pune", "name": "Pune"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pune = v["data"]["id"].as_str().expect("branch id").to_owned();
    let today = t.clock_now().date_naive();
    let born = |years: u32| {
        today
            .checked_sub_months(chrono::Months::new(12 * years))
            .expect("date")
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut key = HashMap::new();
    for (k, sex, age, branch, phone) in [
        ("child", "female", 8, None, "+91 90000 00001"),
        ("adult", "female", 30, Some(&pune), "+91 90000 00002"),
        ("man", "male", 30, None, "+91 90000 00003"),
        ("elder", "female", 70, Some(&pune), "+91 90000 00004"),
    ] {
        let id = register(
            &t,
            &token,
            json!({"given_name": "Asha", "family_name": format!("Patil {k}"), "sex": sex,
                   "birth_date": born(age), "phone": phone, "branch_id": branch}),
        )
        .await;
        key.insert(id, k);
    }
    // Unknown age: never inside an age range.
    register(
        &t,
        &token,
        json!({"given_name": "Asha", "family_name": "Patil", "sex": "female"}),
    )
    .await;
    let found = |v: &Value| -> BTreeSet<&str> {
        ids(v).iter().filter_map(|i| key.get(i).copied()).collect()
    };
    let cases: [Case; 7] = [
        (&[("q", "asha"), ("sex", "male")], &["man"]),
        (
            &[("q", "patil"), ("age_min", "18")],
            &["adult", "man", "elder"],
        ),
        (
            &[("q", "patil"), ("age_max", "30")],
            &["child", "adult", "man"],
        ),
        (
            &[
                ("q", "asha"),
                ("age_min", "30"),
                ("age_max", "30"),
                ("sex", "female"),
            ],
            &["adult"],
        ),
        (
            &[("q", "asha"), ("branch_id", pune.as_str())],
            &["adult", "elder"],
        ),
        (&[("phone", "+919000000004")], &["elder"]),
        (
            &[("q", "asha"), ("phone", "+91 90000 00004"), ("sex", "male")],
            &[],
        ),
    ];
    for (params, want) in cases {
        let (s, v) = search(&t, &token, params).await;
        assert_eq!(s, StatusCode::OK, "{params:?}: {v}");
        let want: BTreeSet<&str> = want.iter().copied().collect();
        assert_eq!(found(&v), want, "{params:?}");
        assert_eq!(v["meta"]["total"], json!(ids(&v).len()), "{params:?}");
    }
    // The age bound is inclusive on the birthday itself.
    let (_, v) = search(&t, &token, &[("age_min", "70"), ("age_max", "70")]).await;
    assert_eq!(found(&v), BTreeSet::from(["elder"]));
}

#[tokio::test]
async fn the_local_script_name_is_stored_returned_and_searchable() {
    let t = spawn_app().await;
    let tenant = t.tenant("local").await;
    let token = t.owner_token(&tenant).await;
    let id = register(
        &t,
        &token,
        json!({"given_name": "Fatima", "family_name": "Haddad", "sex": "female",
               "local_name": " فاطمة حداد "}),
    )
    .await;
    let (s, v) = body(t.get(&format!("/api/v1/patients/{id}"), Some(&token)).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["local_name"], "فاطمة حداد");
    let (_, v) = search(&t, &token, &[("q", "حد")]).await;
    assert_eq!(ids(&v), std::slice::from_ref(&id));
    assert_eq!(v["data"][0]["local_name"], "فاطمة حداد");

    let (s, v) = body(
        t.post(
            "/api/v1/patients",
            Some(&token),
            json!({"given_name": "X", "sex": "male", "local_name": "क".repeat(201)}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    assert_eq!(v["error"]["details"][0]["field"], "local_name", "{v}");
}

#[tokio::test]
async fn bad_search_filters_get_a_422_naming_the_field() {
    let t = spawn_app().await;
    let tenant = t.tenant("badq").await;
    let token = t.owner_token(&tenant).await;
    let long = "a".repeat(201);
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("q", long.as_str())], "q"),
        (&[("q", "a b c d e f g h i")], "q"),
        (&[("sex", "f")], "sex"),
        (&[("age_min", "40"), ("age_max", "20")], "age_max"),
        (&[("age_max", "151")], "age_max"),
    ];
    for (params, field) in cases {
        let (s, v) = search(&t, &token, params).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{params:?}: {v}");
        assert_eq!(v["error"]["details"][0]["field"], field, "{v}");
        // Never echoes the query back.
        assert!(!v.to_string().contains("a b c d"), "{v}");
    }
    // A malformed number or branch id is a 4xx too, never a 500.
    for params in [[("age_min", "old")], [("branch_id", "nope")]] {
        let (s, v) = search(&t, &token, &params).await;
        assert!(s.is_client_error(), "{params:?}: {s} {v}");
    }
}

#[tokio::test]
async fn patients_from_before_the_index_are_indexed_at_start() {
    let t = spawn_app().await;
    let tenant = t.tenant("backfill").await;
    let token = t.owner_token(&tenant).await;
    let id = register(
        &t,
        &token,
        json!({"given_name": "Søren", "family_name": "Kierkegaard", "sex": "male"}),
    )
    .await;
    // As a row written before migration 0009 would look.
    let mut tx = t.app.store.write(tenant.id).await.expect("tx");
    let q = tx.q("DELETE FROM patient_name_pairs WHERE tenant_id = $1");
    tx.exec(q).await.expect("delete pairs");
    let q = tx.q("DELETE FROM patient_name_tokens WHERE tenant_id = $1");
    tx.exec(q).await.expect("delete tokens");
    let q = tx.q("UPDATE patients SET name_key = '' WHERE tenant_id = $1");
    tx.exec(q).await.expect("clear key");
    tx.commit().await.expect("commit");
    let (_, v) = search(&t, &token, &[("q", "soren")]).await;
    assert!(ids(&v).is_empty());

    assert_eq!(
        t.app.patients().index_patient_names().await.expect("index"),
        1
    );
    let (_, v) = search(&t, &token, &[("q", "soren kier")]).await;
    assert_eq!(ids(&v), std::slice::from_ref(&id));
    // Idempotent: nothing left to do.
    assert_eq!(
        t.app.patients().index_patient_names().await.expect("index"),
        0
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_search_parameter() {
    let t = spawn_app().await;
    let (_, d) = body(t.get("/api/v1/openapi.json", None).await).await;
    let params: BTreeSet<&str> = d["paths"]["/api/v1/patients"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    let want = [
        "page",
        "limit",
        "q",
        "phone",
        "sex",
        "age_min",
        "age_max",
        "branch_id",
        "identifier_kind",
        "identifier",
        "tag",
        "last_visit_from",
        "last_visit_before",
    ];
    assert_eq!(params, want.into_iter().collect(), "{params:?}");
}

/// The pair rows of a tenant, sorted.
async fn pair_rows(t: &TestApp, tenant: clinicos_domain::TenantId) -> Vec<[String; 6]> {
    use clinicos_store::kit::row::RowExt;
    let mut tx = t.app.store.write(tenant).await.expect("tx");
    let q = tx.q(
        "SELECT pair_key, token_a, token_b, patient_id, family_a, family_b \
                  FROM patient_name_pairs WHERE tenant_id = $1 \
                  ORDER BY pair_key, token_a, token_b, patient_id",
    );
    let rows = tx.all(q).await.expect("pairs");
    tx.commit().await.expect("commit");
    rows.iter()
        .map(|r| {
            let t = |c: &str| r.text(c).expect("text");
            let i = |c: &str| r.int(c).expect("int").to_string();
            [
                t("pair_key"),
                t("token_a"),
                t("token_b"),
                t("patient_id"),
                i("family_a"),
                i("family_b"),
            ]
        })
        .collect()
}

/// Migration 0017 builds the pairs of existing patients in SQL; they must
/// be exactly the pairs the application writes (`name_pairs::patient_pairs`),
/// Devanagari, accents, short tokens and equal starts included.
#[tokio::test]
async fn the_pair_backfill_of_migration_17_writes_what_registration_writes() {
    let t = spawn_app().await;
    let tenant = t.tenant("pairs").await;
    let token = t.owner_token(&tenant).await;
    load_fixture(&t, &token).await;
    register(
        &t,
        &token,
        json!({"given_name": "Rahul Ravi", "middle_name": "K", "family_name": "Raman-Rao",
               "local_name": "राहुल रमन", "sex": "male"}),
    )
    .await;
    let written = pair_rows(&t, tenant.id).await;
    assert!(written.len() > 40, "{}", written.len());

    let migration = include_str!("../../crates/store/migrations/0017_patient_name_pairs.sql");
    let backfill = migration
        .split(';')
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .find(|s| s.trim_start().starts_with("INSERT INTO patient_name_pairs"))
        .expect("the backfill statement");
    let mut tx = t.app.store.write(tenant.id).await.expect("tx");
    // Every tenant's pairs on SQLite; this tenant's under PostgreSQL's RLS.
    tx.raw_exec_unfiltered("DELETE FROM patient_name_pairs")
        .await
        .expect("delete");
    tx.raw_exec_unfiltered(&backfill).await.expect("backfill");
    tx.commit().await.expect("commit");
    assert_eq!(pair_rows(&t, tenant.id).await, written);
}

/// A renamed patient is found by the new pair of words only: the old
/// pairs go with the old tokens.
#[tokio::test]
async fn a_renamed_patient_leaves_no_old_pairs_behind() {
    let t = spawn_app().await;
    let tenant = t.tenant("rename").await;
    let token = t.owner_token(&tenant).await;
    let id = register(
        &t,
        &token,
        json!({"given_name": "Ravi", "family_name": "Kumar", "sex": "male"}),
    )
    .await;
    let (_, v) = search(&t, &token, &[("q", "rav kum")]).await;
    assert_eq!(ids(&v), std::slice::from_ref(&id));
    let r = t
        .patch(
            &format!("/api/v1/patients/{id}"),
            &token,
            json!({"family_name": "Sharma"}),
        )
        .await;
    assert_eq!(body(r).await.0, StatusCode::OK);
    let (_, v) = search(&t, &token, &[("q", "rav kum")]).await;
    assert!(ids(&v).is_empty(), "{v}");
    let (_, v) = search(&t, &token, &[("q", "sha rav")]).await;
    assert_eq!(ids(&v), std::slice::from_ref(&id));
    assert_eq!(v["meta"]["total"], 1, "{v}");
    let pairs = pair_rows(&t, tenant.id).await;
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0][0], "ra sh");
}
