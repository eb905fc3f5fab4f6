//! The application handle shared by every request: storage, clock, token
//! signer, field cipher and sign-in settings.

use crate::documents::blob_store::{BlobStore, NoScanner, VirusScanner};
use crate::governance::audit_witness::{AuditWitness, MemoryWitness};
use crate::governance::security_state::{GeoLookup, NoGeo, SettingsCache};
use crate::kit::clock::{Clock, SystemClock};
use crate::kit::crypto::TokenSigner;
use crate::kit::field_cipher::FieldCipher;
use crate::kit::platform_secrets::{self, PlatformKeys};
use crate::{AppError, AppResult};
use chrono::Duration;
use clinicos_store::Store;
use std::sync::Arc;

/// Sign-in and throttling settings (config file / environment).
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Lifetime of an API access token (at most 15 minutes).
    pub access_ttl: Duration,
    /// Failed sign-ins for one account before it locks.
    pub lockout_threshold: i64,
    /// The window those failures are counted in.
    pub lockout_window: Duration,
    /// How long a locked account stays locked.
    pub lockout_duration: Duration,
    /// Sign-in attempts per IP per minute.
    pub ip_attempts_per_minute: i64,
    /// Lifetime of a password-reset link.
    pub reset_ttl: Duration,
    /// Base URL used in emailed links.
    pub public_url: String,
    /// Mark cookies `Secure` (off only for plain-HTTP development).
    pub secure_cookies: bool,
    /// Development mode's outbox: staff with the permission may read the
    /// queued messages in place of a mail server (the demo and tests).
    /// Off in production, where no one reads another person's messages.
    pub development_outbox: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::minutes(10),
            lockout_threshold: 5,
            lockout_window: Duration::minutes(15),
            lockout_duration: Duration::minutes(15),
            ip_attempts_per_minute: 30,
            reset_ttl: Duration::minutes(30),
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: true,
            development_outbox: false,
        }
    }
}

/// The application (cheap to clone).
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub signer: TokenSigner,
    pub settings: AuthSettings,
    /// Field encryption over the store's key store and master keys.
    pub cipher: FieldCipher,
    /// The patient-consent hook the policy point asks (the consent engine
    /// replaces the tenant-default policy).
    pub consent: Arc<dyn crate::patients::consent::ConsentHook>,
    /// Country of a request for `new_country` (default: knows nothing).
    pub geo: Arc<dyn GeoLookup>,
    /// Per-tenant security settings cached for the request path.
    pub security_cache: SettingsCache,
    /// Recent patient reads per user, for the mass-read detector.
    pub read_tracker: crate::governance::read_tracker::ReadTracker,
    /// Audit and device keys, unwrapped from the platform secrets.
    pub(crate) platform_keys: Arc<PlatformKeys>,
    /// Where attachment files live (in memory until the caller configures
    /// a directory: `serve` uses `<data-dir>-files/` or `files_dir`).
    pub files: BlobStore,
    /// Scans uploads before they are stored (default: none).
    pub scanner: Arc<dyn VirusScanner>,
    /// Where signed audit checkpoints are witnessed outside the database
    /// (in memory until the caller configures a file: `serve` and the CLI
    /// use `audit_witness_file`, by default beside the data directory).
    pub audit_witness: Arc<dyn AuditWitness>,
}

impl App {
    /// Build on an opened store; the signing keys are platform secrets
    /// shared by every instance on the same primary database, stored
    /// wrapped by the master key (a wrong master key fails here).
    pub async fn new(store: Store, settings: AuthSettings) -> AppResult<App> {
        Self::with_clock(store, settings, Arc::new(SystemClock)).await
    }

    pub async fn with_clock(
        store: Store,
        settings: AuthSettings,
        clock: Arc<dyn Clock>,
    ) -> AppResult<App> {
        if settings.access_ttl > Duration::minutes(15) {
            return Err(AppError::BadRequest(
                "access token lifetime must be at most 15 minutes".into(),
            ));
        }
        let seed = platform_secrets::load(&store, platform_secrets::TOKEN_SIGNING).await?;
        let platform_keys = Arc::new(PlatformKeys::load(&store).await?);
        // From here on every audit event carries its MAC.
        store.install_audit_keys(platform_keys.audit_keys.clone());
        let signer = TokenSigner::from_seed(&seed)
            .ok_or_else(|| AppError::Internal("bad token signing key".into()))?;
        let cipher = FieldCipher::new(store.field_keys().cloned());
        // Hear other instances' invalidations before serving anything.
        crate::kit::invalidation::listen(&store, cipher.clone()).await?;
        let app = App {
            consent: Arc::new(crate::patients::consent::DefaultConsent),
            cipher,
            store,
            clock,
            signer,
            settings,
            geo: Arc::new(NoGeo),
            security_cache: SettingsCache::default(),
            read_tracker: Default::default(),
            platform_keys,
            files: BlobStore::memory(),
            scanner: Arc::new(NoScanner),
            audit_witness: Arc::new(MemoryWitness::default()),
        };
        // A restored backup may hold patients erased since: erase them
        // again before anything reads them.
        let replayed = app.patients().replay_erasures().await?;
        if replayed > 0 {
            tracing::warn!(
                replayed,
                "patients erased since this database's backup were erased again"
            );
        }
        Ok(app)
    }
}

impl App {
    /// Is the primary database reachable (readiness)?
    pub async fn database_ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// The primary database pool: (connections open, of which idle).
    pub fn database_pool(&self) -> (u32, usize) {
        self.store.platform().pool_stats()
    }
}
