//! The crypto this layer needs: argon2id password hashes, random secrets,
//! SHA-256 token hashes, and EdDSA (Ed25519) signed access tokens in JWT
//! form. Access tokens accept exactly one algorithm (EdDSA) and type.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// argon2id with OWASP's 19 MiB / 2 passes / 1 lane baseline.
fn argon() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Check a password against a PHC hash; false on any mismatch or bad hash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that a
/// wrong email costs the same time as a wrong password (no enumeration).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-xyzzy").unwrap_or_default())
}

/// `n` random bytes as URL-safe base64 (for tokens and CSRF values).
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    B64.encode(b)
}

/// SHA-256 hex of a secret (what the database stores instead of it).
pub fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality for secrets.
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Session id: checked against the database on every request.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
}

/// Signs and verifies access tokens.
#[derive(Clone)]
pub struct TokenSigner {
    key: SigningKey,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
}

impl TokenSigner {
    /// From a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8]) -> Option<Self> {
        let seed: [u8; 32] = seed.try_into().ok()?;
        Some(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn generate_seed() -> Vec<u8> {
        let mut b = [0u8; 32];
        OsRng.fill_bytes(&mut b);
        b.to_vec()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn sign(&self, claims: &AccessClaims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            typ: "JWT".into(),
        };
        let h = B64.encode(serde_json::to_vec(&header).unwrap_or_default());
        let c = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let input = format!("{h}.{c}");
        let sig = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    /// Verify signature, algorithm, type and expiry; `None` on any failure.
    pub fn verify(&self, token: &str, now_unix: i64) -> Option<AccessClaims> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || token.len() > 4096 {
            return None;
        }
        let header: Header = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
        if header.alg != "EdDSA" {
            return None;
        }
        let sig_bytes: [u8; 64] = B64.decode(s).ok()?.try_into().ok()?;
        let sig = Signature::from_bytes(&sig_bytes);
        self.verifying_key()
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .ok()?;
        let claims: AccessClaims = serde_json::from_slice(&B64.decode(c).ok()?).ok()?;
        (claims.typ == "access" && claims.exp > now_unix).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct-horse-battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct-horse-battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_verify_and_reject_tampering_and_expiry() {
        let s = TokenSigner::from_seed(&TokenSigner::generate_seed()).unwrap();
        let c = AccessClaims {
            sub: "u".into(),
            tid: "t".into(),
            sid: "s".into(),
            iat: 0,
            exp: 100,
            typ: "access".into(),
        };
        let t = s.sign(&c);
        assert_eq!(s.verify(&t, 50), Some(c.clone()));
        assert_eq!(s.verify(&t, 100), None, "expired");
        // One signature character changed, away from the final character's
        // unused bits (replacing the tail with a fixed string left the
        // token unchanged when the tail already read so).
        let mut forged = t.clone();
        let at = t.rfind('.').unwrap() + 10;
        let swapped = if &t[at..=at] == "A" { "B" } else { "A" };
        forged.replace_range(at..=at, swapped);
        assert_ne!(forged, t);
        assert_eq!(s.verify(&forged, 50), None);
        let other = TokenSigner::from_seed(&TokenSigner::generate_seed()).unwrap();
        assert_eq!(other.verify(&t, 50), None, "another key");
        // alg=none is refused.
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(s.verify(&none, 50), None);
    }
}
