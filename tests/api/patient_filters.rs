//! The front desk's filters beyond name, phone and identifier: a tag
//! (exact, ASCII case ignored, `LIKE` wildcards taken literally) and the
//! last visit (seen since a day; last seen before a day, for recalls), with
//! 422s naming a bad field.

use crate::support::{spawn_app, TestApp};
use crate::trust_policy::{send, staff};
use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn patient(t: &TestApp, token: &str, given: &str, phone: &str, tags: Value) -> String {
    let (st, v) = send(
        t,
        "POST",
        "/api/v1/patients",
        token,
        Some(
            json!({"given_name": given, "family_name": "Filter", "sex": "female",
                    "birth_date": "1990-01-01", "phone": phone, "tags": tags}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["data"]["id"].as_str().expect("id").to_owned()
}

async fn found(t: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (st, v) = send(t, "GET", &format!("/api/v1/patients?{query}"), token, None).await;
    assert_eq!(st, StatusCode::OK, "{query}: {v}");
    let mut names: Vec<String> = v["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["given_name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn tag_and_last_visit_filters() {
    let t = spawn_app().await;
    let tenant = t.tenant("filters").await;
    let s = staff(&t, &tenant).await;
    let asha = patient(
        &t,
        &s.desk,
        "Asha",
        "+91 90000 00001",
        json!(["VIP", "needs-interpreter"]),
    )
    .await;
    let bina = patient(
        &t,
        &s.desk,
        "Bina",
        "+91 90000 00002",
        json!(["vipx", "50%_off"]),
    )
    .await;
    patient(&t, &s.desk, "Chitra", "+91 90000 00003", json!([])).await;

    assert_eq!(found(&t, &s.desk, "tag=vip").await, ["Asha"]);
    assert_eq!(found(&t, &s.desk, "tag=Needs-Interpreter").await, ["Asha"]);
    // Wildcards are literal: "v_p" is not "vip", "50%_off" only itself.
    assert!(found(&t, &s.desk, "tag=v_p").await.is_empty());
    assert_eq!(found(&t, &s.desk, "tag=50%25_off").await, ["Bina"]);
    assert!(found(&t, &s.desk, "tag=50").await.is_empty());

    let day = |y, m, d| {
        Utc.with_ymd_and_hms(y, m, d, 10, 0, 0)
            .single()
            .expect("day")
    };
    let visit = |p: String, who: &str, at| {
        let (t, user) = (&t, s.id(who));
        async move {
            t.app
                .patients()
                .record_encounter(tenant.id, p.parse().expect("id"), user, "visit", at)
                .await
                .expect("visit");
        }
    };
    visit(asha.clone(), "doc1", day(2026, 1, 10)).await;
    visit(asha.clone(), "doc2", day(2025, 3, 1)).await;
    visit(bina.clone(), "doc1", day(2025, 6, 1)).await;
    // An appointment is not a visit.
    t.app
        .patients()
        .record_encounter(
            tenant.id,
            bina.parse().expect("id"),
            s.id("doc2"),
            "appointment",
            day(2026, 2, 1),
        )
        .await
        .expect("appointment");

    assert_eq!(
        found(&t, &s.desk, "last_visit_from=2026-01-01").await,
        ["Asha"]
    );
    assert_eq!(
        found(&t, &s.desk, "last_visit_from=2025-01-01").await,
        ["Asha", "Bina"]
    );
    // Due a recall: seen before 2026, not since (never-seen Chitra is not).
    assert_eq!(
        found(&t, &s.desk, "last_visit_before=2026-01-01").await,
        ["Bina"]
    );
    assert_eq!(
        found(&t, &s.desk, "last_visit_before=2026-01-01&tag=vipx").await,
        ["Bina"]
    );

    for (query, field) in [
        ("last_visit_from=2026-13-01", "last_visit_from"),
        ("last_visit_before=soon", "last_visit_before"),
        ("tag=%01", "tag"),
    ] {
        let (st, v) = send(
            &t,
            "GET",
            &format!("/api/v1/patients?{query}"),
            &s.desk,
            None,
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert!(v.to_string().contains(field), "{v}");
    }
}

/// A name search ranks at most `NAME_CANDIDATES` matching rows, but the
/// limit applies after every word is checked: a two-word query finds its
/// one patient however many namesakes of the longer word come first.
#[tokio::test]
async fn a_specific_name_is_found_behind_hundreds_of_namesakes() {
    let t = spawn_app().await;
    let tenant = t.tenant("namesakes").await;
    let s = staff(&t, &tenant).await;
    // More namesakes than the candidate limit, and than the 1,000 rows a
    // rejected bounded variant scanned before checking the other word.
    let many = 1_100;
    assert!(many > clinicos_store::patients::search::NAME_CANDIDATES);
    for i in 0..many {
        let (st, v) = send(
            &t,
            "POST",
            "/api/v1/patients",
            &s.desk,
            Some(
                json!({"given_name": format!("Anil{i}"), "family_name": "Sharma",
                        "sex": "male", "birth_date": "1980-01-01",
                        "phone": format!("+91 91{i:08}")}),
            ),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, v) = send(
        &t,
        "POST",
        "/api/v1/patients",
        &s.desk,
        Some(
            json!({"given_name": "Ravi", "family_name": "Sharma", "sex": "male",
                    "birth_date": "1985-05-05", "phone": "+91 99999 00001"}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(found(&t, &s.desk, "q=ravi%20sharma").await, ["Ravi"]);
    assert_eq!(found(&t, &s.desk, "q=sharma%20ravi").await, ["Ravi"]);
    // The common word alone: a full first page, total capped.
    let (_, v) = send(&t, "GET", "/api/v1/patients?q=sharma", &s.desk, None).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(20), "{v}");
}
