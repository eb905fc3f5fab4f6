//! Test support: `spawn_app()` starts the real server on a random port with
//! a fresh database (a SQLite file, or a new PostgreSQL database when
//! `CLINICOS_TEST_DATABASE_URL` points at a server), an injectable clock,
//! and captured logs.

use clinicos_app::{App, AuthSettings, FixedClock};
use clinicos_store::Store;
use clinicos_web::{WebConfig, WebState};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

pub const PASSWORD: &str = "Tulsi-Garden-Lamp-77";

/// Every log line written during the test run (JSON, as in production).
pub static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for BufWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = BufWriter(buf.clone());
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,sqlx=warn,hyper=warn,reqwest=warn",
            ))
            .with_writer(move || w.clone())
            .try_init();
        buf
    });
}

/// The captured logs so far.
pub fn logs() -> String {
    LOGS.get()
        .and_then(|b| {
            b.lock()
                .ok()
                .map(|v| String::from_utf8_lossy(&v).into_owned())
        })
        .unwrap_or_default()
}

/// Is the suite running against PostgreSQL?
pub fn pg_admin_url() -> Option<String> {
    std::env::var("CLINICOS_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// A fresh, empty database URL (kept alive by the returned guard).
pub async fn fresh_db() -> (String, Option<tempfile::TempDir>) {
    match pg_admin_url() {
        Some(admin) => {
            let name = format!("clinicos_test_{}", uuid::Uuid::now_v7().simple());
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connect to PostgreSQL admin URL");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin.clone());
            (format!("{base}/{name}"), None)
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = clinicos_store::kit::db::sqlite_url_for_dir(dir.path());
            (url, Some(dir))
        }
    }
}

/// The test key store for a main database: a SQLite file in a `keys`
/// folder beside it, or a PostgreSQL database named `<main>_keys`; the
/// same one for every instance on that database. Master key: fixed.
pub async fn test_keys(url: &str) -> clinicos_store::FieldKeys {
    let ks_url = if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or(rest);
        let dir = std::path::Path::new(path)
            .parent()
            .expect("db dir")
            .join("keys");
        std::fs::create_dir_all(&dir).expect("keys dir");
        clinicos_store::KeyStore::sqlite_url_for_dir(&dir)
    } else {
        let (base, name) = url.rsplit_once('/').expect("pg url");
        let admin = pg_admin_url().expect("admin url");
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect admin");
        // Ignore "already exists": a second instance shares the key store.
        let _ = sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}_keys").as_str())
            .await;
        format!("{base}/{name}_keys")
    };
    clinicos_store::FieldKeys {
        key_store: clinicos_store::KeyStore::open(&ks_url)
            .await
            .expect("key store"),
        master: Arc::new(clinicos_crypto::EnvMasterKey::single(
            clinicos_crypto::Key32::from_array([42; 32]),
        )),
    }
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: Client,
    pub app: App,
    pub clock: Arc<FixedClock>,
    pub db_url: String,
    /// Where this instance keeps attachment files.
    pub files_dir: tempfile::TempDir,
    _dir: Option<tempfile::TempDir>,
}

pub fn settings() -> AuthSettings {
    AuthSettings {
        secure_cookies: false,
        ip_attempts_per_minute: 1000,
        development_outbox: true,
        ..AuthSettings::default()
    }
}

/// The test web config: many requests from 127.0.0.1, so the rate limits
/// are raised (the rate limit tests set their own).
pub fn web_config() -> WebConfig {
    WebConfig {
        demo_mode: false,
        rate_limits: clinicos_web::kit::limits::RateLimits::unlimited(),
        ..WebConfig::default()
    }
}

pub async fn spawn_app() -> TestApp {
    let (url, dir) = fresh_db().await;
    spawn_on(url, dir, settings()).await
}

/// Start a server (another instance, too) on an existing database.
pub async fn spawn_on(
    url: String,
    dir: Option<tempfile::TempDir>,
    settings: AuthSettings,
) -> TestApp {
    spawn_with(url, dir, settings, web_config()).await
}

/// Start a server with its own web config (rate limits, country header;
/// a country header also switches on the trusted-header geo lookup, as
/// `serve` does).
pub async fn spawn_with(
    url: String,
    dir: Option<tempfile::TempDir>,
    settings: AuthSettings,
    config: WebConfig,
) -> TestApp {
    spawn_configured(url, dir, settings, config, |_| {}).await
}

/// A fresh database and a server whose `App` is adjusted first (another
/// file store, a virus scanner).
pub async fn spawn_app_with(configure: impl FnOnce(&mut App)) -> TestApp {
    let (url, dir) = fresh_db().await;
    spawn_configured(url, dir, settings(), web_config(), configure).await
}

/// [`spawn_with`], adjusting the `App` before the router is built.
pub async fn spawn_configured(
    url: String,
    dir: Option<tempfile::TempDir>,
    settings: AuthSettings,
    config: WebConfig,
    configure: impl FnOnce(&mut App),
) -> TestApp {
    let keys = test_keys(&url).await;
    spawn_with_keys(url, dir, keys, settings, config, configure).await
}

/// A server on a restored copy (`url`) of the database at `original`,
/// with the original's key store (which is never restored with it).
pub async fn spawn_restored(url: String, original: &str) -> TestApp {
    let keys = test_keys(original).await;
    spawn_with_keys(url, None, keys, settings(), web_config(), |_| {}).await
}

async fn spawn_with_keys(
    url: String,
    dir: Option<tempfile::TempDir>,
    keys: clinicos_store::FieldKeys,
    settings: AuthSettings,
    config: WebConfig,
    configure: impl FnOnce(&mut App),
) -> TestApp {
    init_logs();
    let store = Store::open_with_keys(&url, 8, Some(keys))
        .await
        .expect("open store");
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    let mut app = App::with_clock(store, settings, clock.clone())
        .await
        .expect("app");
    if config.country_header.is_some() {
        app.geo = Arc::new(clinicos_app::governance::security_state::TrustedHeaderGeo);
    }
    let files_dir = tempfile::tempdir().expect("files dir");
    app.files =
        clinicos_app::documents::blob_store::BlobStore::local(files_dir.path()).expect("files");
    configure(&mut app);
    let state = WebState {
        app: app.clone(),
        config,
    };
    let router =
        clinicos_web::build_router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        addr,
        http,
        app,
        clock,
        db_url: url,
        files_dir,
        _dir: dir,
    }
}

/// The test tenant `slug` (India, Chennai) with owner `owner@<slug>.example`.
pub fn new_tenant(
    slug: &str,
    region: Option<&str>,
) -> clinicos_app::tenancy::provisioning::NewTenant {
    clinicos_app::tenancy::provisioning::NewTenant {
        slug: slug.into(),
        legal_name: format!("{slug} Health Pvt Ltd"),
        display_name: format!("{slug} Health"),
        country: "IN".into(),
        city: "Chennai".into(),
        state: "Tamil Nadu".into(),
        region: region.map(str::to_owned),
        plan: None,
        locale: "en".into(),
        currency: "INR".into(),
        time_zone: "Asia/Kolkata".into(),
        owner_email: format!("owner@{slug}.example"),
        owner_name: "Owner Person".into(),
        owner_password: Some(PASSWORD.into()),
    }
}

/// A tenant with an owner, made through the provisioning service.
pub struct Tenant {
    pub slug: String,
    pub id: clinicos_domain::TenantId,
    pub owner_email: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn tenant(&self, slug: &str) -> Tenant {
        self.tenant_in(slug, None).await
    }

    pub async fn tenant_in(&self, slug: &str, region: Option<&str>) -> Tenant {
        let n = new_tenant(slug, region);
        let owner_email = n.owner_email.clone();
        let e = self
            .app
            .tenancy()
            .create_tenant(&n)
            .await
            .expect("create tenant");
        self.relax_mfa(e.tenant_id).await;
        Tenant {
            slug: slug.into(),
            id: e.tenant_id,
            owner_email,
        }
    }

    /// Require no second factor in the tenant (a new clinic requires one
    /// of its owner, branch admins and privacy officers): most tests sign
    /// those roles in with a password alone. `tests/api/mfa.rs` tests the
    /// default and the relaxation through the API.
    pub async fn relax_mfa(&self, tenant: clinicos_domain::TenantId) {
        let mut tx = self.app.store.write(tenant).await.expect("tx");
        clinicos_store::tenancy::tenants::set_sign_in_security(
            &mut tx,
            &[],
            false,
            self.clock_now(),
        )
        .await
        .expect("relax mfa");
        tx.commit().await.expect("commit");
    }

    pub async fn add_user(&self, t: &Tenant, email: &str, role: clinicos_domain::Role) {
        let u = clinicos_app::tenancy::provisioning::NewUser {
            email: email.into(),
            name: "Staff Member".into(),
            roles: vec![role],
            branch_ids: vec![],
            password: Some(PASSWORD.into()),
            locale: None,
        };
        self.app
            .tenancy()
            .create_user_cli(&t.slug, &u)
            .await
            .expect("create user");
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut r = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    /// Sign in over the API; returns (access token, refresh token).
    pub async fn login(&self, slug: &str, email: &str, password: &str) -> (String, String) {
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"tenant": slug, "email": email, "password": password}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "login failed: {}",
            r.text().await.unwrap_or_default()
        );
        let v: Value = r.json().await.expect("json");
        (
            v["data"]["access_token"]
                .as_str()
                .expect("access")
                .to_owned(),
            v["data"]["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        )
    }

    pub async fn owner_token(&self, t: &Tenant) -> String {
        self.login(&t.slug, &t.owner_email, PASSWORD).await.0
    }
}

/// Status and JSON body of a response.
pub async fn body(r: Response) -> (StatusCode, Value) {
    let s = r.status();
    let text = r.text().await.unwrap_or_default();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The error code of an enveloped error.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

impl TestApp {
    /// Like `tenant_in`, returning the error instead of panicking.
    pub async fn tenant_in_result(
        &self,
        slug: &str,
        region: Option<&str>,
    ) -> Result<(), clinicos_app::AppError> {
        let n = new_tenant(slug, region);
        self.app.tenancy().create_tenant(&n).await.map(|_| ())
    }
}

impl TestApp {
    /// The injected clock's current time.
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use clinicos_app::Clock;
        self.clock.now()
    }
}

pub const CSRF: &str = "test-csrf-token";

/// POST a page form with a valid CSRF pair.
pub async fn form(
    t: &TestApp,
    path: &str,
    cookies: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut f: Vec<(&str, &str)> = vec![("csrf", CSRF)];
    f.extend_from_slice(fields);
    t.http
        .post(t.url(path))
        .header("cookie", format!("clinicos_csrf={CSRF}; {cookies}"))
        .form(&f)
        .send()
        .await
        .expect("request")
}

/// The session cookie a sign-in set.
pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    set_cookie_named(r, "clinicos_session")
}

/// `name=value` of the cookie a response sets, if any.
pub fn set_cookie_named(r: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// GET a page with cookies.
pub async fn page(t: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    t.http
        .get(t.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
}

impl TestApp {
    /// Sign in through the page form; returns the session cookie pair.
    pub async fn page_sign_in(&self, slug: &str, email: &str) -> String {
        let r = self
            .http
            .post(self.url("/login"))
            .header("cookie", "clinicos_csrf=c")
            .form(&[
                ("csrf", "c"),
                ("tenant", slug),
                ("email", email),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("login");
        session_cookie(&r).expect("session cookie")
    }
}
