//! Crypto errors. Messages say what went wrong and what to do; they never
//! contain key bytes or plaintext.

/// A crypto failure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Authentication failed: wrong key, altered bytes, or a ciphertext
    /// moved to another tenant, table, column or row.
    #[error("cannot decrypt: wrong key, altered data, or data moved from another record")]
    Decrypt,
    /// The bytes are not an envelope this version understands.
    #[error("not a valid encrypted value: {0}")]
    Format(&'static str),
    /// No key of this version is available.
    #[error("master key version {0} is not available")]
    MissingKeyVersion(u32),
    /// A key was given in the wrong shape.
    #[error("invalid key: {0}")]
    BadKey(String),
    /// The master key file cannot be used.
    #[error("master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    /// The provider cannot make new key versions (e.g. environment keys).
    #[error("this master key source cannot rotate: {0}")]
    RotationUnsupported(String),
}
