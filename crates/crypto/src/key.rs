//! [`Key32`]: 32 secret bytes in a `secrecy` box. Zeroised on drop, never
//! printed (Debug shows `[REDACTED]`), exposed only to the cipher calls.

use crate::CryptoError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::Hmac;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use zeroize::Zeroizing;

/// A 256-bit secret key.
pub struct Key32(SecretBox<[u8; 32]>);

impl Key32 {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Key32 {
        let mut b = Box::new([0u8; 32]);
        OsRng.fill_bytes(b.as_mut());
        Key32(SecretBox::new(b))
    }

    /// From an array (moved into the secret box).
    pub fn from_array(bytes: [u8; 32]) -> Key32 {
        let mut bytes = Zeroizing::new(bytes);
        let k = Key32(SecretBox::new(Box::new(*bytes)));
        bytes.iter_mut().for_each(|b| *b = 0);
        k
    }

    /// From exactly 32 bytes (the source is left for the caller to zeroise).
    pub fn from_slice(bytes: &[u8]) -> Result<Key32, CryptoError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKey(format!("expected 32 bytes, got {}", bytes.len())))?;
        Ok(Key32(SecretBox::new(Box::new(arr))))
    }

    /// From standard base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Key32, CryptoError> {
        let raw = Zeroizing::new(
            B64.decode(text.trim())
                .map_err(|_| CryptoError::BadKey("not valid base64".into()))?,
        );
        Key32::from_slice(&raw)
    }

    /// The key bytes, for the cipher and for wrapping.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    /// HMAC-SHA256 keyed by this key. A key shorter than the 64-byte block
    /// is zero-padded by HMAC itself, so padding here is the same function
    /// and avoids a fallible constructor.
    pub(crate) fn hmac(&self) -> Hmac<Sha256> {
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(self.expose());
        <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into())
    }

    /// A key derived from this one under `label` (HMAC-SHA256(self, label)),
    /// distinct from it and from every other label's.
    pub(crate) fn derive(&self, label: &[u8]) -> Key32 {
        use hmac::Mac;
        let mut m = self.hmac();
        m.update(label);
        Key32::from_array(m.finalize().into_bytes().into())
    }
}

impl Clone for Key32 {
    fn clone(&self) -> Self {
        Key32(SecretBox::new(Box::new(*self.expose())))
    }
}

impl std::fmt::Debug for Key32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key32([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_bytes() {
        let k = Key32::from_slice(&[7u8; 32]).unwrap();
        let shown = format!("{k:?}");
        assert_eq!(shown, "Key32([REDACTED])");
        assert!(!shown.contains('7'));
    }

    #[test]
    fn bad_lengths_and_base64_are_refused() {
        assert!(Key32::from_slice(&[0u8; 31]).is_err());
        assert!(Key32::from_base64("not base64!").is_err());
        assert!(Key32::from_base64(&B64.encode([1u8; 16])).is_err());
        let k = Key32::from_base64(&B64.encode([1u8; 32])).unwrap();
        assert_eq!(k.expose(), &[1u8; 32]);
    }
}
