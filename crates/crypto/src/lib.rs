//! ClinicOS field encryption, with no I/O beyond reading and writing the
//! master key file.
//!
//! - [`envelope`]: AES-256-GCM ciphertexts in a versioned envelope
//!   (`version | key version | nonce | ciphertext+tag`), whose header is
//!   authenticated along with the caller's additional data.
//! - [`context`]: the additional data that binds a field ciphertext to its
//!   tenant, table, column and row, so a moved ciphertext fails to decrypt.
//! - [`hierarchy`]: master key -> tenant key -> subject (patient) data key;
//!   each lower key is stored only wrapped by the one above it. Platform
//!   secrets (signing key seeds) are wrapped by the master key too.
//! - [`blind`]: keyed HMAC-SHA256 blind indexes for exact-match search.
//! - [`audit`]: the audit trail's event-MAC and chain-link keys, derived
//!   from the audit root (a platform secret).
//! - [`provider`]: where master keys come from (file, environment; a KMS
//!   later), behind [`MasterKeyProvider`].
//!
//! Invariants: key bytes live only in [`Key32`] (a `secrecy` box that is
//! zeroised on drop and prints as `[REDACTED]`); errors never carry key
//! material or plaintext.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
pub mod blind;
pub mod context;
pub mod envelope;
pub mod error;
pub mod hierarchy;
pub mod key;
pub mod provider;

pub use audit::AuditKeys;
pub use blind::{blind_index, normalise, IndexKey};
pub use context::FieldContext;
pub use envelope::{open, seal, ENVELOPE_VERSION};
pub use error::CryptoError;
pub use hierarchy::{
    unwrap_platform_secret, unwrap_subject_key, unwrap_tenant_key, wrap_platform_secret,
    wrap_subject_key, wrap_tenant_key,
};
pub use key::Key32;
pub use provider::{EnvMasterKey, FileMasterKey, MasterKeyProvider};
