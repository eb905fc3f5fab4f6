//! The versioned ciphertext envelope:
//!
//! ```text
//! byte 0      envelope format version (1)
//! bytes 1..5  key version, big-endian u32 (which key sealed it)
//! bytes 5..17 random 96-bit nonce
//! bytes 17..  AES-256-GCM ciphertext and 16-byte tag
//! ```
//!
//! The 5-byte header is authenticated together with the caller's additional
//! data, so changing the recorded key version or format breaks the tag.
//! Random nonces are safe here: each data key seals far fewer than 2^32
//! values.

use crate::{CryptoError, Key32};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::rngs::OsRng;
use rand::RngCore;

/// The only envelope format written today.
pub const ENVELOPE_VERSION: u8 = 1;
const HEADER: usize = 5;
const NONCE: usize = 12;
const TAG: usize = 16;

fn cipher(key: &Key32) -> Aes256Gcm {
    Aes256Gcm::new(key.expose().into())
}

fn full_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(header.len() + aad.len());
    v.extend_from_slice(header);
    v.extend_from_slice(aad);
    v
}

/// Encrypt `plaintext` under `key` (recorded as `key_version`), bound to `aad`.
pub fn seal(key: &Key32, key_version: u32, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + NONCE + plaintext.len() + TAG);
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&key_version.to_be_bytes());
    let mut nonce = [0u8; NONCE];
    OsRng.fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    let aad = full_aad(&out[..HEADER], aad);
    // Encryption with a valid key and in-memory buffers cannot fail.
    let ct = cipher(key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    out.extend_from_slice(&ct);
    out
}

/// The key version an envelope was sealed with (to pick the key to open it).
pub fn key_version(envelope: &[u8]) -> Result<u32, CryptoError> {
    if envelope.len() < HEADER + NONCE + TAG {
        return Err(CryptoError::Format("too short"));
    }
    if envelope[0] != ENVELOPE_VERSION {
        return Err(CryptoError::Format("unknown envelope version"));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&envelope[1..HEADER]);
    Ok(u32::from_be_bytes(v))
}

/// Decrypt an envelope; fails unless `key` and `aad` are the ones it was sealed with.
pub fn open(key: &Key32, aad: &[u8], envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
    key_version(envelope)?;
    let (header, rest) = envelope.split_at(HEADER);
    let (nonce, ct) = rest.split_at(NONCE);
    let aad = full_aad(header, aad);
    cipher(key)
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_header() {
        let k = Key32::generate();
        let e = seal(&k, 7, b"ctx", b"+91 98765 43210");
        assert_eq!(e[0], ENVELOPE_VERSION);
        assert_eq!(key_version(&e).unwrap(), 7);
        assert_eq!(open(&k, b"ctx", &e).unwrap(), b"+91 98765 43210");
    }

    #[test]
    fn same_plaintext_gives_different_ciphertexts() {
        let k = Key32::generate();
        assert_ne!(seal(&k, 1, b"", b"x"), seal(&k, 1, b"", b"x"));
    }

    #[test]
    fn changed_key_version_breaks_the_tag() {
        let k = Key32::generate();
        let mut e = seal(&k, 1, b"a", b"secret");
        e[4] = 2;
        assert_eq!(open(&k, b"a", &e), Err(CryptoError::Decrypt));
    }

    #[test]
    fn short_or_unknown_envelopes_are_format_errors() {
        let k = Key32::generate();
        assert!(matches!(open(&k, b"", b"abc"), Err(CryptoError::Format(_))));
        let mut e = seal(&k, 1, b"", b"x");
        e[0] = 9;
        assert!(matches!(open(&k, b"", &e), Err(CryptoError::Format(_))));
    }

    proptest! {
        #[test]
        fn round_trips(pt in proptest::collection::vec(any::<u8>(), 0..512),
                       aad in proptest::collection::vec(any::<u8>(), 0..64),
                       ver in any::<u32>()) {
            let k = Key32::generate();
            let e = seal(&k, ver, &aad, &pt);
            prop_assert_eq!(open(&k, &aad, &e).unwrap(), pt);
        }

        #[test]
        fn other_aad_fails(pt in proptest::collection::vec(any::<u8>(), 0..64),
                           a in proptest::collection::vec(any::<u8>(), 0..32),
                           b in proptest::collection::vec(any::<u8>(), 0..32)) {
            prop_assume!(a != b);
            let k = Key32::generate();
            let e = seal(&k, 1, &a, &pt);
            prop_assert_eq!(open(&k, &b, &e), Err(CryptoError::Decrypt));
        }

        #[test]
        fn wrong_key_fails(pt in proptest::collection::vec(any::<u8>(), 0..64)) {
            let e = seal(&Key32::generate(), 1, b"a", &pt);
            prop_assert_eq!(open(&Key32::generate(), b"a", &e), Err(CryptoError::Decrypt));
        }

        #[test]
        fn any_flipped_byte_fails(pt in proptest::collection::vec(any::<u8>(), 1..64),
                                  pos in any::<prop::sample::Index>(),
                                  bit in 0u8..8) {
            let k = Key32::generate();
            let mut e = seal(&k, 1, b"a", &pt);
            let i = pos.index(e.len());
            e[i] ^= 1 << bit;
            prop_assert!(open(&k, b"a", &e).is_err());
        }
    }
}
