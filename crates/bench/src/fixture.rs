//! What both sides of the bench share: one tenant with a known owner, the
//! real router served in-process on a loopback port, and one signed-in API
//! session.
//!
//! Invariants:
//! - The server is the production router ([`clinicos_web::build_router`])
//!   with connect info, exactly as `clinicos serve` builds it; only the
//!   sign-in throttles are lifted, so that the load measures work and not
//!   the rate limiter.
//! - Every id the raw baseline queries comes from this fixture, so both
//!   sides read the same rows.

use super::database::random_suffix;
use clinicos_app::tenancy::provisioning::NewTenant;
use clinicos_app::{App, AppError, AuthSettings};
use clinicos_domain::PatientId;
use clinicos_store::Store;
use clinicos_web::{WebConfig, WebState};
use serde_json::Value;
use std::net::SocketAddr;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The bench tenant, its owner's sign-in and the running server.
pub struct Fixture {
    pub base_url: String,
    pub slug: String,
    pub email: String,
    pub password: String,
    /// Bearer access token of the one session every get-branch request uses.
    pub token: String,
    pub tenant_id: String,
    pub session_id: String,
    pub user_id: String,
    pub branch_id: String,
    /// A patient with encrypted phone and email, read by read-patient.
    pub patient_id: PatientId,
    /// The application behind the server (for the sealer and cipher benches).
    pub app: App,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<(), String>>,
}

impl Fixture {
    /// Create the tenant, start the server and sign in once.
    pub async fn start(store: Store, http: &reqwest::Client) -> Result<Fixture, String> {
        let settings = AuthSettings {
            ip_attempts_per_minute: i64::MAX / 2,
            lockout_threshold: i64::MAX / 2,
            secure_cookies: false,
            ..Default::default()
        };
        let app = App::new(store, settings)
            .await
            .map_err(AppError::operator_message)?;
        let slug = "bench".to_owned();
        let email = "owner@bench.example".to_owned();
        // Random (zxcvbn rates it strong) and free of the clinic and owner names,
        // which the strength check refuses.
        let password = format!("Quartz-{}-Harbour", random_suffix());
        let created = app
            .tenancy()
            .create_tenant(&NewTenant {
                slug: slug.clone(),
                legal_name: "Bench Clinic Private Limited".into(),
                display_name: "Bench Clinic".into(),
                country: "IN".into(),
                city: "Pune".into(),
                state: "MH".into(),
                region: None,
                plan: None,
                locale: "en".into(),
                currency: "INR".into(),
                time_zone: "Asia/Kolkata".into(),
                owner_email: email.clone(),
                owner_name: "Bench Owner".into(),
                owner_password: Some(password.clone()),
            })
            .await
            .map_err(|e| format!("cannot create the bench tenant: {}", e.operator_message()))?;
        // A new clinic requires its owner to sign in with a second factor;
        // the bench's owner signs in with the password alone, so that the
        // `login` scenario measures one request (the password step) against
        // the raw side's one verify and insert.
        let mut tx = app
            .store
            .write(created.tenant_id)
            .await
            .map_err(|e| e.to_string())?;
        clinicos_store::tenancy::tenants::set_sign_in_security(
            &mut tx,
            &[],
            false,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on a loopback port: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // The load generator is one client hammering from 127.0.0.1: the
        // bench raises the rate limits rather than measure 429s.
        let router = clinicos_web::build_router(WebState {
            app: app.clone(),
            config: WebConfig {
                rate_limits: clinicos_web::kit::limits::RateLimits::unlimited(),
                ..WebConfig::default()
            },
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| format!("the bench server failed: {e}"))
        });
        let base_url = format!("http://{addr}");
        let body = login_body(&slug, &email, &password);
        let signed_in = sign_in(http, &base_url, &body).await?;
        let field = |path: &str| -> Result<String, String> {
            signed_in
                .pointer(path)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("the sign-in answer has no {path}"))
        };
        let token = field("/data/access_token")?;
        let patient_id = create_patient(http, &base_url, &token).await?;
        let user_id = field("/data/user_id")?;
        fill_chart(http, &base_url, &token, patient_id, &user_id).await?;
        Ok(Fixture {
            patient_id,
            token,
            tenant_id: field("/data/tenant_id")?,
            session_id: field("/data/session_id")?,
            user_id,
            branch_id: field("/data/user/branch_ids/0")?,
            base_url,
            app,
            slug,
            email,
            password,
            stop,
            server,
        })
    }

    /// The JSON body of `POST /api/v1/auth/login` for the owner.
    pub fn login_body(&self) -> String {
        login_body(&self.slug, &self.email, &self.password)
    }

    /// Stop the server, letting in-flight requests finish.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(());
        self.server
            .await
            .map_err(|e| format!("the bench server task failed: {e}"))?
    }
}

pub(super) fn login_body(slug: &str, email: &str, password: &str) -> String {
    serde_json::json!({"tenant": slug, "email": email, "password": password}).to_string()
}

pub(super) async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    body: &str,
) -> Result<Value, String> {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| format!("cannot sign in to the bench server: {e}"))?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("bench sign-in answered {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("bench sign-in answer is not JSON: {e}"))
}

/// The body of `POST /api/v1/patients` for the fixture's own patient
/// (confirmed as new).
pub const PATIENT_BODY: &str = r#"{"given_name":"Bench","family_name":"Patient","sex":"female","birth_date":"1984-06-01","city":"Pune","phone":"+91 98220 12345","email":"bench.patient@example.org","confirm_new":true}"#;

/// The body of the `n`th registration of create-patient: a phone and a
/// passport number of its own, so the duplicate check (phone + birth date,
/// identifier) runs and finds nothing, as for a new person at the desk.
pub fn patient_body(n: u64) -> String {
    let n = n % 100_000_000;
    format!(
        r#"{{"given_name":"Kavita","middle_name":"Ramesh","family_name":"Deshpande","sex":"female","birth_date":"1984-06-01","city":"Pune","phone":"+91 97{n:08}","email":"kavita.{n}@example.org","identifiers":[{{"kind":"passport","value":"K{n:08}","country":"IN"}}]}}"#
    )
}

/// What a chart opens, after `/api/v1/patients/{id}`.
pub const CHART_PARTS: [&str; 5] = ["", "/allergies", "/conditions", "/medications", "/history"];

/// A chart worth opening: allergies, conditions, medications and history
/// entries of the fixture patient (added through the API).
const CHART_ENTRIES: [(&str, &str); 10] = [
    (
        "/allergies",
        r#"{"substance":"Penicillin","category":"medication","reaction":"Hives","severity":"moderate"}"#,
    ),
    (
        "/allergies",
        r#"{"substance":"Peanuts","category":"food","reaction":"Swelling of the lips","severity":"severe"}"#,
    ),
    (
        "/allergies",
        r#"{"substance":"Dust mites","category":"environment"}"#,
    ),
    (
        "/conditions",
        r#"{"name":"Type 2 diabetes mellitus","code":"E11","onset_date":"2019-03-01"}"#,
    ),
    (
        "/conditions",
        r#"{"name":"Essential hypertension","code":"I10"}"#,
    ),
    (
        "/medications",
        r#"{"name":"Metformin","dose":"500 mg","frequency":"twice daily","route":"oral"}"#,
    ),
    (
        "/medications",
        r#"{"name":"Amlodipine","dose":"5 mg","frequency":"once daily","route":"oral"}"#,
    ),
    (
        "/medications",
        r#"{"name":"Atorvastatin","dose":"10 mg","frequency":"at night","route":"oral"}"#,
    ),
    (
        "/history",
        r#"{"category":"surgical","text":"Appendectomy in 2009, uneventful recovery"}"#,
    ),
    (
        "/history",
        r#"{"category":"family","text":"Father: myocardial infarction at 58"}"#,
    ),
];

async fn fill_chart(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    patient: PatientId,
    user: &str,
) -> Result<(), String> {
    // The owner treats the patient (a care relationship), as a clinician
    // opening a chart does.
    let care = serde_json::json!({ "user_id": user }).to_string();
    let entries = std::iter::once(("/care-team", care.as_str())).chain(CHART_ENTRIES);
    for (part, body) in entries {
        let r = http
            .post(format!("{base}/api/v1/patients/{patient}{part}"))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| format!("cannot fill the bench chart: {e}"))?;
        let status = r.status();
        let text = r.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "filling the bench chart ({part}) answered {status}: {text}"
            ));
        }
    }
    Ok(())
}

async fn create_patient(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> Result<PatientId, String> {
    let r = http
        .post(format!("{base}/api/v1/patients"))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(PATIENT_BODY)
        .send()
        .await
        .map_err(|e| format!("cannot create the bench patient: {e}"))?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "creating the bench patient answered {status}: {text}"
        ));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v.pointer("/data/id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| "the bench patient has no id".to_owned())
}
