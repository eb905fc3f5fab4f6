//! The key hierarchy. A tenant key is random and stored only wrapped
//! (sealed) by a master key version; a subject (patient) data key is random
//! and stored only wrapped by its tenant key. Each wrap is bound to the
//! identity of the key it holds, so a wrapped key copied to another tenant
//! or subject row does not unwrap.

use crate::context::labelled;
use crate::envelope::{key_version, open, seal};
use crate::{CryptoError, Key32};
use zeroize::Zeroizing;

fn tenant_aad(tenant: &str, tenant_key_version: u32) -> Vec<u8> {
    labelled(
        "clinicos.tenant-key.v1",
        &[tenant, &tenant_key_version.to_string()],
    )
}

fn subject_aad(tenant: &str, subject: &str, data_key_version: u32) -> Vec<u8> {
    labelled(
        "clinicos.subject-key.v1",
        &[tenant, subject, &data_key_version.to_string()],
    )
}

fn platform_aad(name: &str) -> Vec<u8> {
    labelled("clinicos.platform-secret.v1", &[name])
}

/// Wrap a platform secret (e.g. a signing key seed) with master key
/// `master_version`, bound to the secret's name so that one secret's row
/// copied over another's does not unwrap.
pub fn wrap_platform_secret(
    master: &Key32,
    master_version: u32,
    name: &str,
    secret: &[u8],
) -> Vec<u8> {
    seal(master, master_version, &platform_aad(name), secret)
}

/// Unwrap a platform secret with the master key version it names
/// ([`wrapping_version`]).
pub fn unwrap_platform_secret(
    master: &Key32,
    name: &str,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    Ok(Zeroizing::new(open(master, &platform_aad(name), wrapped)?))
}

fn unwrap_key(key: &Key32, aad: &[u8], wrapped: &[u8]) -> Result<Key32, CryptoError> {
    let raw = Zeroizing::new(open(key, aad, wrapped)?);
    Key32::from_slice(&raw)
}

/// Wrap a tenant key with master key `master_version`.
pub fn wrap_tenant_key(
    master: &Key32,
    master_version: u32,
    tenant: &str,
    tenant_key_version: u32,
    key: &Key32,
) -> Vec<u8> {
    seal(
        master,
        master_version,
        &tenant_aad(tenant, tenant_key_version),
        key.expose(),
    )
}

/// The master key version a wrapped tenant key needs.
pub fn wrapping_version(wrapped: &[u8]) -> Result<u32, CryptoError> {
    key_version(wrapped)
}

/// Unwrap a tenant key with the master key version it names.
pub fn unwrap_tenant_key(
    master: &Key32,
    tenant: &str,
    tenant_key_version: u32,
    wrapped: &[u8],
) -> Result<Key32, CryptoError> {
    unwrap_key(master, &tenant_aad(tenant, tenant_key_version), wrapped)
}

/// Wrap a subject data key with its tenant key.
pub fn wrap_subject_key(
    tenant_key: &Key32,
    tenant_key_version: u32,
    tenant: &str,
    subject: &str,
    data_key_version: u32,
    key: &Key32,
) -> Vec<u8> {
    seal(
        tenant_key,
        tenant_key_version,
        &subject_aad(tenant, subject, data_key_version),
        key.expose(),
    )
}

/// Unwrap a subject data key with its tenant key.
pub fn unwrap_subject_key(
    tenant_key: &Key32,
    tenant: &str,
    subject: &str,
    data_key_version: u32,
    wrapped: &[u8],
) -> Result<Key32, CryptoError> {
    unwrap_key(
        tenant_key,
        &subject_aad(tenant, subject, data_key_version),
        wrapped,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_wrap_and_bind_to_their_tenant() {
        let m = Key32::generate();
        let t = Key32::generate();
        let w = wrap_tenant_key(&m, 3, "t1", 1, &t);
        assert_eq!(wrapping_version(&w).unwrap(), 3);
        assert_eq!(
            unwrap_tenant_key(&m, "t1", 1, &w).unwrap().expose(),
            t.expose()
        );
        assert_eq!(
            unwrap_tenant_key(&m, "t2", 1, &w).err(),
            Some(CryptoError::Decrypt)
        );
        assert_eq!(
            unwrap_tenant_key(&m, "t1", 2, &w).err(),
            Some(CryptoError::Decrypt)
        );
        assert!(unwrap_tenant_key(&Key32::generate(), "t1", 1, &w).is_err());
    }

    #[test]
    fn platform_secrets_wrap_and_bind_to_their_name() {
        let m = Key32::generate();
        let w = wrap_platform_secret(&m, 2, "audit_signing_ed25519", &[7u8; 32]);
        assert_eq!(wrapping_version(&w).unwrap(), 2);
        assert_eq!(
            unwrap_platform_secret(&m, "audit_signing_ed25519", &w)
                .unwrap()
                .as_slice(),
            &[7u8; 32]
        );
        assert!(unwrap_platform_secret(&m, "token_signing_ed25519", &w).is_err());
        assert!(unwrap_platform_secret(&Key32::generate(), "audit_signing_ed25519", &w).is_err());
    }

    #[test]
    fn subject_keys_wrap_and_bind_to_their_subject() {
        let t = Key32::generate();
        let d = Key32::generate();
        let w = wrap_subject_key(&t, 1, "t1", "p1", 1, &d);
        assert_eq!(
            unwrap_subject_key(&t, "t1", "p1", 1, &w).unwrap().expose(),
            d.expose()
        );
        assert!(unwrap_subject_key(&t, "t1", "p2", 1, &w).is_err());
        assert!(unwrap_subject_key(&t, "t2", "p1", 1, &w).is_err());
    }
}
