//! The ClinicOS side of each scenario: real HTTP requests to the in-process
//! server, through every layer a production request passes.
//!
//! Invariant: an operation succeeds only on a 2xx answer whose body has
//! been read to the end; anything else is an error with the status named.

use super::fixture::Fixture;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use std::sync::atomic::{AtomicU64, Ordering};

/// One shared HTTP client (connection pool) and the prepared requests.
pub struct ApiClient {
    http: reqwest::Client,
    branch_url: String,
    login_url: String,
    patient_url: String,
    patients_url: String,
    /// What the chart of the fixture patient opens.
    chart_urls: [String; 5],
    bearer: HeaderValue,
    login_body: String,
    /// Numbers the patients create-patient registers (distinct phones).
    created: AtomicU64,
}

impl ApiClient {
    /// The client of the fixture's server, sending `token` as its bearer.
    pub fn new(http: reqwest::Client, fx: &Fixture, token: &str) -> Result<ApiClient, String> {
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the access token is not a valid header value".to_owned())?;
        Ok(ApiClient {
            http,
            branch_url: format!("{}/api/v1/branches/{}", fx.base_url, fx.branch_id),
            login_url: format!("{}/api/v1/auth/login", fx.base_url),
            patient_url: format!("{}/api/v1/patients/{}", fx.base_url, fx.patient_id),
            patients_url: format!("{}/api/v1/patients", fx.base_url),
            chart_urls: super::fixture::CHART_PARTS
                .map(|part| format!("{}/api/v1/patients/{}{part}", fx.base_url, fx.patient_id)),
            bearer,
            login_body: fx.login_body(),
            created: AtomicU64::new(0),
        })
    }

    /// The base URL of the patient list (`?q=` and `?phone=` follow).
    pub fn patients_url(&self) -> &str {
        &self.patients_url
    }

    /// `GET /api/v1/branches/{id}` with the bearer token.
    pub async fn get_branch(&self) -> Result<(), String> {
        let r = self
            .http
            .get(&self.branch_url)
            .header(AUTHORIZATION, self.bearer.clone())
            .send()
            .await;
        finish(r).await
    }

    /// `GET /api/v1/patients/{id}`: decrypted contact details, audited.
    pub async fn read_patient(&self) -> Result<(), String> {
        let r = self
            .http
            .get(&self.patient_url)
            .header(AUTHORIZATION, self.bearer.clone())
            .send()
            .await;
        finish(r).await
    }

    /// `POST /api/v1/patients`: a new encrypted patient, audited (a new
    /// phone and passport number each time, so the duplicate check finds
    /// nothing and the registration goes through).
    pub async fn create_patient(&self) -> Result<(), String> {
        let n = self.created.fetch_add(1, Ordering::Relaxed);
        let r = self
            .http
            .post(&self.patients_url)
            .header(AUTHORIZATION, self.bearer.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(super::fixture::patient_body(n))
            .send()
            .await;
        finish(r).await
    }

    /// Open the fixture patient's chart: its parts requested concurrently,
    /// as the chart page does.
    pub async fn open_chart(&self) -> Result<(), String> {
        let [a, b, c, d, e] = &self.chart_urls;
        let (a, b, c, d, e) = tokio::join!(
            self.get(a),
            self.get(b),
            self.get(c),
            self.get(d),
            self.get(e)
        );
        a.and(b).and(c).and(d).and(e)
    }

    /// `GET` a prepared URL with the bearer token (a search).
    pub async fn get(&self, url: &str) -> Result<(), String> {
        let r = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.bearer.clone())
            .send()
            .await;
        finish(r).await
    }

    /// `POST /api/v1/auth/login` as the owner (a new session each time).
    pub async fn login(&self) -> Result<(), String> {
        let r = self
            .http
            .post(&self.login_url)
            .header(CONTENT_TYPE, "application/json")
            .body(self.login_body.clone())
            .send()
            .await;
        finish(r).await
    }
}

async fn finish(r: Result<reqwest::Response, reqwest::Error>) -> Result<(), String> {
    let r = r.map_err(|e| format!("request failed: {e}"))?;
    let status = r.status();
    r.bytes()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}
