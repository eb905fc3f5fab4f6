//! Platform secrets (the access-token and audit-checkpoint signing seeds,
//! the audit root that keys event MACs and chain links, the device-id key)
//! under the master key.
//!
//! Invariants:
//! - The platform `secrets` table holds only envelopes sealed by a master
//!   key version and bound to the secret's name; a copy of the primary
//!   database alone yields no signing key.
//! - A legacy row holding the raw 32-byte seed (before this module) is
//!   wrapped in place on first start, keeping its value, by a
//!   compare-and-set so that several instances starting at once agree.
//! - Without the master key that wrapped a secret, start-up fails with one
//!   line naming the secret and the key source, never with key bytes.
//! - `clinicos keys rotate` re-wraps every secret under the newest master
//!   version ([`rewrap_all`]); each update is conditional on the old bytes.

use crate::{AppError, AppResult};
use clinicos_crypto::hierarchy::wrapping_version;
use clinicos_crypto::{
    unwrap_platform_secret, wrap_platform_secret, AuditKeys, Key32, MasterKeyProvider,
};
use clinicos_store::{tenancy::platform, Db, Store};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Seed of the Ed25519 key that signs access tokens.
pub const TOKEN_SIGNING: &str = "token_signing_ed25519";
/// Seed of the Ed25519 key that signs audit checkpoints.
pub const AUDIT_SIGNING: &str = "audit_signing_ed25519";
/// HMAC key that derives stable device ids for clients that send none.
pub const DEVICE_ID: &str = "device_id_hmac";
/// The audit root: derives the keys of audit event MACs and chain links
/// (`clinicos_crypto::AuditKeys`).
pub const AUDIT_MAC: &str = "audit_mac_hmac";

/// The length of every secret this platform keeps (a legacy plaintext row
/// has exactly this length; an envelope is always longer).
const SECRET_LEN: usize = 32;

fn master(store: &Store) -> AppResult<&dyn MasterKeyProvider> {
    store
        .field_keys()
        .map(|k| k.master.as_ref())
        .ok_or_else(|| {
            AppError::Internal(
                "platform secrets need the master key, and none is configured".into(),
            )
        })
}

fn cannot_open(name: &str, m: &dyn MasterKeyProvider, why: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!(
        "the master key ({}) cannot open the platform secret '{name}' ({why}): start with the master key this database was set up with (--master-key-file or CLINICOS_MASTER_KEY)",
        m.describe()
    ))
}

fn wrap(m: &dyn MasterKeyProvider, name: &str, secret: &[u8]) -> AppResult<Vec<u8>> {
    let v = m.current_version();
    let key = m.key(v).map_err(|e| cannot_open(name, m, e))?;
    Ok(wrap_platform_secret(&key, v, name, secret))
}

fn unwrap(m: &dyn MasterKeyProvider, name: &str, stored: &[u8]) -> AppResult<Zeroizing<Vec<u8>>> {
    let v = wrapping_version(stored).map_err(|e| cannot_open(name, m, e))?;
    let key = m.key(v).map_err(|e| cannot_open(name, m, e))?;
    let raw = unwrap_platform_secret(&key, name, stored).map_err(|e| cannot_open(name, m, e))?;
    if raw.len() != SECRET_LEN {
        return Err(AppError::Internal(format!(
            "platform secret '{name}' has the wrong length"
        )));
    }
    Ok(raw)
}

/// The secret `name`, created (random) on first use, upgraded in place if
/// it is still stored as plaintext.
pub async fn load(store: &Store, name: &str) -> AppResult<Zeroizing<Vec<u8>>> {
    let m = master(store)?;
    let db = store.platform();
    let stored = match platform::secret_value(db, name).await? {
        Some(v) => v,
        None => {
            let fresh = Zeroizing::new(crate::kit::crypto::TokenSigner::generate_seed());
            platform::insert_secret_if_absent(db, name, &wrap(m, name, &fresh)?).await?;
            read(db, name).await?
        }
    };
    if stored.len() == SECRET_LEN {
        return upgrade_plaintext(db, m, name, Zeroizing::new(stored)).await;
    }
    unwrap(m, name, &stored)
}

async fn read(db: &Db, name: &str) -> AppResult<Vec<u8>> {
    platform::secret_value(db, name)
        .await?
        .ok_or_else(|| AppError::Internal(format!("platform secret '{name}' was not stored")))
}

/// Wrap a legacy plaintext secret in place; if another instance wrapped it
/// first, use theirs (it holds the same value).
async fn upgrade_plaintext(
    db: &Db,
    m: &dyn MasterKeyProvider,
    name: &str,
    plain: Zeroizing<Vec<u8>>,
) -> AppResult<Zeroizing<Vec<u8>>> {
    let wrapped = wrap(m, name, &plain)?;
    if !platform::replace_secret(db, name, &plain, &wrapped).await? {
        return unwrap(m, name, &read(db, name).await?);
    }
    tracing::info!(secret = name, "platform secret moved under the master key");
    Ok(plain)
}

/// Re-wrap every platform secret under the newest master key version
/// (plaintext rows too). Returns how many rows this run changed.
pub async fn rewrap_all(store: &Store) -> AppResult<usize> {
    let m = master(store)?;
    let db = store.platform();
    let current = m.current_version();
    let mut changed = 0;
    for name in platform::secret_names(db).await? {
        let stored = read(db, &name).await?;
        let plain = if stored.len() == SECRET_LEN {
            Zeroizing::new(stored.clone())
        } else if wrapping_version(&stored).ok() == Some(current) {
            continue;
        } else {
            unwrap(m, &name, &stored)?
        };
        if platform::replace_secret(db, &name, &stored, &wrap(m, &name, &plain)?).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// The platform keys the application core (`state.rs`) holds in memory after start-up.
pub struct PlatformKeys {
    /// Signs audit checkpoints.
    pub(crate) audit: ed25519_dalek::SigningKey,
    /// MACs audit events and keys chain links (also installed in the store,
    /// whose audit writer MACs every event).
    pub(crate) audit_keys: Arc<AuditKeys>,
    /// Derives device ids for clients that present none.
    pub(crate) device: Zeroizing<Vec<u8>>,
}

impl PlatformKeys {
    /// Load (creating or upgrading) the audit and device secrets.
    pub async fn load(store: &Store) -> AppResult<PlatformKeys> {
        let seed = load(store, AUDIT_SIGNING).await?;
        let seed: [u8; SECRET_LEN] = seed
            .as_slice()
            .try_into()
            .map_err(|_| AppError::Internal("bad audit key".into()))?;
        let root = Key32::from_slice(&load(store, AUDIT_MAC).await?)
            .map_err(|_| AppError::Internal("bad audit root".into()))?;
        Ok(PlatformKeys {
            audit: ed25519_dalek::SigningKey::from_bytes(&seed),
            audit_keys: Arc::new(AuditKeys::derive(&root)),
            device: load(store, DEVICE_ID).await?,
        })
    }
}
