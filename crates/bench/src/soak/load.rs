//! The soak's mixed API load: what a clinic's day and the internet's
//! noise send a server, from many client addresses.
//!
//! Invariants:
//! - Every request carries an `X-Forwarded-For` address drawn at random
//!   from the benchmarking and documentation ranges (198.18.0.0/15,
//!   2001:db8::/32); the server is configured to trust it, so its
//!   per-address rate limits and throttles see a new client almost every
//!   time, as under attack from many addresses. The addresses are only
//!   header values: every request goes to the loopback server.
//! - An operation expects an answer class: 2xx for the clinic's work, 4xx
//!   for the noise (malformed JSON, unknown routes, bad ids, missing or
//!   forged tokens, wrong passwords). Any other answer, and every 5xx,
//!   is counted as unexpected and the first one is kept.
//! - Clinical operations (history, timeline, exports) go to the seeded
//!   patients, whose care team the owner is on; reads and searches go to
//!   seeded and newly registered patients alike.
//! - The loop is bounded by its deadline; no operation starts after it.

use super::super::names;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A signed-in client signs in again after this long (the access token
/// lives 10 minutes by default).
const FRESH_FOR: Duration = Duration::from_secs(5 * 60);
/// The tenant's bulk export is asked for at most this often (it reads
/// every patient up to the export cap).
const BULK_EXPORT_EVERY: Duration = Duration::from_secs(60);
/// Registered patients remembered for reads and searches.
const REMEMBERED: usize = 20_000;

const LOGIN: &str = "/api/v1/auth/login";
const PATIENTS: &str = "/api/v1/patients";
const HISTORY: &str =
    r#"{"category":"surgical","text":"Laparoscopic cholecystectomy, discharged on day two"}"#;
const MALFORMED: &str = r#"{"given_name":"Asha","#;
/// A token of the right shape whose signature is not the server's.
const FORGED_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

/// One kind of request in the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    CreatePatient,
    ReadPatient,
    SearchName,
    SearchPhone,
    AddHistory,
    ReadHistory,
    Timeline,
    ExportRecord,
    ExportPdf,
    BulkExport,
    Login,
    WrongPassword,
    MalformedJson,
    UnknownRoute,
    BadId,
    NoToken,
    ForgedToken,
    LoginPage,
}

/// The mix: each operation and its weight (per 100 requests).
pub const MIX: [(Op, u32); 18] = [
    (Op::CreatePatient, 8),
    (Op::ReadPatient, 20),
    (Op::SearchName, 12),
    (Op::SearchPhone, 5),
    (Op::AddHistory, 5),
    (Op::ReadHistory, 8),
    (Op::Timeline, 5),
    (Op::ExportRecord, 4),
    (Op::ExportPdf, 2),
    (Op::BulkExport, 1),
    (Op::Login, 3),
    (Op::WrongPassword, 3),
    (Op::MalformedJson, 4),
    (Op::UnknownRoute, 5),
    (Op::BadId, 4),
    (Op::NoToken, 5),
    (Op::ForgedToken, 3),
    (Op::LoginPage, 3),
];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::CreatePatient => "create-patient",
            Op::ReadPatient => "read-patient",
            Op::SearchName => "search-name",
            Op::SearchPhone => "search-phone",
            Op::AddHistory => "add-history",
            Op::ReadHistory => "read-history",
            Op::Timeline => "timeline",
            Op::ExportRecord => "export-record",
            Op::ExportPdf => "export-pdf",
            Op::BulkExport => "bulk-export",
            Op::Login => "login",
            Op::WrongPassword => "wrong-password",
            Op::MalformedJson => "malformed-json",
            Op::UnknownRoute => "unknown-route",
            Op::BadId => "bad-id",
            Op::NoToken => "no-token",
            Op::ForgedToken => "forged-token",
            Op::LoginPage => "login-page",
        }
    }

    /// Does a correct server answer this with 4xx (the noise)?
    fn refused(self) -> bool {
        matches!(
            self,
            Op::WrongPassword
                | Op::MalformedJson
                | Op::UnknownRoute
                | Op::BadId
                | Op::NoToken
                | Op::ForgedToken
        )
    }

    fn index(self) -> usize {
        MIX.iter().position(|(o, _)| *o == self).unwrap_or(0)
    }
}

/// A patient the load may ask about.
#[derive(Clone, Debug)]
pub struct Known {
    pub id: String,
    pub phone: String,
    /// The first letters of the given and family names (a search).
    pub prefix: String,
}

/// The server, the owner's sign-in and the patients known so far.
pub struct Target {
    http: reqwest::Client,
    base: String,
    login_body: String,
    wrong_body: String,
    /// Seeded patients with a chart the owner may open.
    charts: Vec<Known>,
    /// Patients registered during the load (the latest [`REMEMBERED`]).
    registered_known: Mutex<Vec<Known>>,
    registered: AtomicU64,
    /// Microseconds since `start` when the next bulk export is due.
    bulk_due: AtomicI64,
    start: Instant,
    counts: Vec<Counter>,
    first_unexpected: Mutex<Option<String>>,
}

#[derive(Default)]
struct Counter {
    requests: AtomicU64,
    unexpected: AtomicU64,
}

/// How many requests of one kind were sent and how many got an
/// unexpected answer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OpCount {
    pub name: &'static str,
    pub requests: u64,
    pub unexpected: u64,
}

impl Target {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        login_body: String,
        wrong_body: String,
        charts: Vec<Known>,
    ) -> Target {
        Target {
            http,
            base: base.to_owned(),
            login_body,
            wrong_body,
            registered_known: Mutex::new(Vec::new()),
            charts,
            registered: AtomicU64::new(0),
            bulk_due: AtomicI64::new(0),
            start: Instant::now(),
            counts: MIX.iter().map(|_| Counter::default()).collect(),
            first_unexpected: Mutex::new(None),
        }
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.requests.load(Ordering::Relaxed))
            .sum()
    }

    /// Requests and unexpected answers by operation, in [`MIX`] order.
    pub fn counts(&self) -> Vec<OpCount> {
        MIX.iter()
            .zip(&self.counts)
            .map(|((op, _), c)| OpCount {
                name: op.name(),
                requests: c.requests.load(Ordering::Relaxed),
                unexpected: c.unexpected.load(Ordering::Relaxed),
            })
            .collect()
    }

    pub fn first_unexpected(&self) -> Option<String> {
        self.first_unexpected.lock().ok().and_then(|g| g.clone())
    }

    /// Run `clients` looping clients until `deadline`.
    pub async fn drive(
        self: &std::sync::Arc<Self>,
        clients: usize,
        deadline: Instant,
    ) -> Result<(), String> {
        let mut tasks = Vec::with_capacity(clients);
        for n in 0..clients {
            let t = std::sync::Arc::clone(self);
            tasks.push(tokio::spawn(
                async move { t.client(n as u64, deadline).await },
            ));
        }
        for task in tasks {
            task.await
                .map_err(|e| format!("a soak client failed: {e}"))??;
        }
        Ok(())
    }

    async fn client(&self, n: u64, deadline: Instant) -> Result<(), String> {
        let mut rng = StdRng::seed_from_u64(0x50A4 + n);
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut session: Option<(String, Instant)> = None;
        while Instant::now() < deadline {
            if session
                .as_ref()
                .is_none_or(|(_, at)| at.elapsed() > FRESH_FOR)
            {
                session = Some((self.sign_in(&mut rng).await?, Instant::now()));
            }
            let token = session.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
            let mut pick = rng.gen_range(0..total);
            let op = MIX
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or(Op::ReadPatient, |(op, _)| *op);
            let op = if op == Op::BulkExport && !self.bulk_export_due() {
                Op::ReadPatient
            } else {
                op
            };
            let answer = self.send(op, &token, &mut rng).await;
            if answer == Answer::Unauthorised {
                // The session ended (idle timeout, say): sign in again.
                session = None;
            }
            self.note(op, answer);
        }
        Ok(())
    }

    fn bulk_export_due(&self) -> bool {
        let now = self.start.elapsed().as_micros() as i64;
        let due = self.bulk_due.load(Ordering::Relaxed);
        now >= due
            && self
                .bulk_due
                .compare_exchange(
                    due,
                    now + BULK_EXPORT_EVERY.as_micros() as i64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    fn note(&self, op: Op, answer: Answer) {
        let c = &self.counts[op.index()];
        c.requests.fetch_add(1, Ordering::Relaxed);
        if let Answer::Unexpected(what) = answer {
            c.unexpected.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first_unexpected.lock() {
                first.get_or_insert_with(|| format!("{}: {what}", op.name()));
            }
        }
    }

    /// Sign in as the owner from a fresh address; the access token.
    async fn sign_in(&self, rng: &mut StdRng) -> Result<String, String> {
        let r = self
            .request(reqwest::Method::POST, LOGIN, None, rng)
            .header(CONTENT_TYPE, "application/json")
            .body(self.login_body.clone());
        json_answer(r, LOGIN)
            .await?
            .pointer("/data/access_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| "the sign-in answer has no access token".to_owned())
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        rng: &mut StdRng,
    ) -> reqwest::RequestBuilder {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-forwarded-for", client_address(rng));
        match token {
            Some(t) => r.header(AUTHORIZATION, format!("Bearer {t}")),
            None => r,
        }
    }

    /// A seeded or (as often) a registered patient.
    fn any_known(&self, rng: &mut StdRng) -> Known {
        let chart = &self.charts[rng.gen_range(0..self.charts.len())];
        if rng.gen_bool(0.5) {
            if let Ok(known) = self.registered_known.lock() {
                if !known.is_empty() {
                    return known[rng.gen_range(0..known.len())].clone();
                }
            }
        }
        chart.clone()
    }

    /// Remember the `n`th registration (in a ring of [`REMEMBERED`]).
    fn remember(&self, n: u64, k: Known) {
        if let Ok(mut known) = self.registered_known.lock() {
            if known.len() < REMEMBERED {
                known.push(k);
            } else {
                known[n as usize % REMEMBERED] = k;
            }
        }
    }

    async fn send(&self, op: Op, token: &str, rng: &mut StdRng) -> Answer {
        use reqwest::Method;
        let chart = &self.charts[rng.gen_range(0..self.charts.len())].id;
        let known = self.any_known(rng);
        let of_chart = |part: &str| format!("/api/v1/patients/{chart}{part}");
        let (signed, anonymous, forged) = (Some(token), None, Some(FORGED_TOKEN));
        let (method, path, auth, body): (Method, String, Option<&str>, Option<String>) = match op {
            Op::CreatePatient => return self.register(token, rng).await,
            Op::ReadPatient => (
                Method::GET,
                format!("/api/v1/patients/{}", known.id),
                signed,
                None,
            ),
            Op::SearchName => (
                Method::GET,
                format!("/api/v1/patients?q={}&limit=20", known.prefix),
                signed,
                None,
            ),
            Op::SearchPhone => (
                Method::GET,
                format!("/api/v1/patients?phone={}&limit=20", known.phone),
                signed,
                None,
            ),
            Op::AddHistory => (
                Method::POST,
                of_chart("/history"),
                signed,
                Some(HISTORY.into()),
            ),
            Op::ReadHistory => (Method::GET, of_chart("/history"), signed, None),
            Op::Timeline => (Method::GET, of_chart("/timeline"), signed, None),
            Op::ExportRecord => (Method::GET, of_chart("/export"), signed, None),
            Op::ExportPdf => (Method::GET, of_chart("/export?format=pdf"), signed, None),
            Op::BulkExport => (Method::GET, format!("{PATIENTS}/export"), signed, None),
            Op::Login => (
                Method::POST,
                LOGIN.into(),
                anonymous,
                Some(self.login_body.clone()),
            ),
            Op::WrongPassword => (
                Method::POST,
                LOGIN.into(),
                anonymous,
                Some(self.wrong_body.clone()),
            ),
            Op::MalformedJson => (
                Method::POST,
                PATIENTS.into(),
                signed,
                Some(MALFORMED.into()),
            ),
            Op::UnknownRoute => (
                Method::GET,
                format!("/api/v1/no-such-thing/{}", rng.gen::<u32>()),
                signed,
                None,
            ),
            Op::BadId => (Method::GET, format!("{PATIENTS}/not-an-id"), signed, None),
            Op::NoToken => (Method::GET, PATIENTS.into(), anonymous, None),
            Op::ForgedToken => (Method::GET, PATIENTS.into(), forged, None),
            Op::LoginPage => (Method::GET, "/login".into(), anonymous, None),
        };
        let mut r = self.request(method, &path, auth, rng);
        if let Some(body) = body {
            r = r.header(CONTENT_TYPE, "application/json").body(body);
        }
        classify(op, r.send().await).await.0
    }

    /// Register a new patient; remember it for reads and searches.
    async fn register(&self, token: &str, rng: &mut StdRng) -> Answer {
        let n = self.registered.fetch_add(1, Ordering::Relaxed);
        let (body, mut k) = new_patient(n, rng);
        let r = self
            .request(reqwest::Method::POST, PATIENTS, Some(token), rng)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let (answer, body) = classify(Op::CreatePatient, r.send().await).await;
        if answer == Answer::Expected {
            let id = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
                v.pointer("/data/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            if let Some(id) = id {
                k.id = id;
                self.remember(n, k);
            }
        }
        answer
    }
}

/// Send `r`; the answer's JSON (`Null` for an empty body), or `Err`
/// naming `what` and a non-2xx status.
pub async fn json_answer(r: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
    let r = r.send().await.map_err(|e| format!("{what} failed: {e}"))?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{what} answered {status}: {text}"));
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| format!("{what}: the answer is not JSON: {e}"))
}

/// How an answer compared with what the operation expects.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Expected,
    /// 401 to a request that should have been served.
    Unauthorised,
    Unexpected(String),
}

/// Read the answer to its end and judge its status.
async fn classify(op: Op, r: Result<reqwest::Response, reqwest::Error>) -> (Answer, Vec<u8>) {
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            return (
                Answer::Unexpected(format!("request failed: {e}")),
                Vec::new(),
            )
        }
    };
    let status = r.status();
    let body = match r.bytes().await {
        Ok(b) => b.to_vec(),
        Err(e) => {
            return (
                Answer::Unexpected(format!("reading the answer failed: {e}")),
                Vec::new(),
            )
        }
    };
    let expected = if op.refused() {
        status.is_client_error()
    } else {
        status.is_success()
    };
    let answer = if expected {
        Answer::Expected
    } else if !op.refused() && status == reqwest::StatusCode::UNAUTHORIZED {
        Answer::Unauthorised
    } else {
        Answer::Unexpected(format!("HTTP {status}"))
    };
    (answer, body)
}

/// A client address from 198.18.0.0/15 (RFC 2544, benchmarking) or
/// 2001:db8::/32 (RFC 3849, documentation): never a real host.
pub fn client_address(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.5) {
        let n: u32 = rng.gen_range(0..1 << 17);
        std::net::Ipv4Addr::from(0xC612_0000 | n).to_string()
    } else {
        let low: u128 = rng.gen::<u128>() & ((1u128 << 96) - 1);
        std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | low).to_string()
    }
}

/// The body of the `n`th registration during the load, and what the load
/// may later ask about it (its id is filled in from the answer).
pub fn new_patient(n: u64, rng: &mut StdRng) -> (String, Known) {
    let p = names::person(rng);
    let phone = format!("+9196{:08}", n % 100_000_000);
    let body = serde_json::json!({
        "given_name": p.given,
        "middle_name": p.middle,
        "family_name": p.family,
        "sex": p.sex,
        "birth_date": format!("19{:02}-0{}-1{}", 40 + n % 60, 1 + n % 9, n % 10),
        "city": "Pune",
        "phone": phone,
        "email": format!("patient.{n}@example.org"),
    })
    .to_string();
    let prefix = format!(
        "{} {}",
        p.given.chars().take(3).collect::<String>(),
        p.family.chars().take(2).collect::<String>()
    );
    let k = Known {
        id: String::new(),
        phone: query_value(&phone),
        prefix: query_value(&prefix),
    };
    (body, k)
}

/// `text` percent-encoded for a query string (UTF-8 bytes).
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_in_the_reserved_ranges() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let a: std::net::IpAddr = client_address(&mut rng).parse().unwrap();
            match a {
                std::net::IpAddr::V4(v4) => {
                    let o = v4.octets();
                    assert!(o[0] == 198 && (o[1] == 18 || o[1] == 19), "{v4}");
                }
                std::net::IpAddr::V6(v6) => assert_eq!(v6.segments()[..2], [0x2001, 0x0db8]),
            }
        }
    }

    #[test]
    fn the_mix_names_every_operation_once() {
        let names: std::collections::BTreeSet<_> = MIX.iter().map(|(o, _)| o.name()).collect();
        assert_eq!(names.len(), MIX.len());
        assert_eq!(MIX.iter().map(|(_, w)| w).sum::<u32>(), 100);
    }

    #[test]
    fn registrations_are_valid_json_with_a_searchable_prefix() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in 0..50 {
            let (body, k) = new_patient(n, &mut rng);
            let v: Value = serde_json::from_str(&body).unwrap();
            assert!(v["given_name"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(
                k.prefix.is_ascii() && !k.prefix.contains(' '),
                "{}",
                k.prefix
            );
            assert!(k.phone.starts_with("%2B9196"));
        }
        assert_eq!(query_value("José Ga"), "Jos%C3%A9%20Ga");
    }
}
