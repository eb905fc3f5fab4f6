//! Blind indexes: `HMAC-SHA256(index key, column || 0 || normalised value)`
//! as lower-case hex, stored beside an encrypted column so that exact-match
//! search works without decrypting. The index key is derived from the
//! tenant key under its own label, so it is distinct from every encryption
//! key and differs per tenant: equal values in two tenants index apart.
//!
//! Normalisation decides what "equal" means: phone numbers keep only digits
//! (and a leading `+`), everything else is trimmed, lower-cased and has its
//! whitespace runs collapsed to one space.

use crate::Key32;
use hmac::Mac;

/// A per-tenant blind-index key.
#[derive(Clone, Debug)]
pub struct IndexKey(Key32);

impl IndexKey {
    /// Derive the index key of a tenant from its tenant key.
    pub fn derive(tenant_key: &Key32, tenant: &str) -> IndexKey {
        let label = [b"clinicos.blind-index.v1\0".as_slice(), tenant.as_bytes()].concat();
        IndexKey(tenant_key.derive(&label))
    }
}

/// Normalise a value for exact matching in `column`.
pub fn normalise(column: &str, value: &str) -> String {
    if column.contains("phone") || column.contains("mobile") {
        let t = value.trim();
        let plus = if t.starts_with('+') { "+" } else { "" };
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        format!("{plus}{digits}")
    } else {
        value
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }
}

/// The blind index of `value` in `column` (64 hex characters).
pub fn blind_index(key: &IndexKey, column: &str, value: &str) -> String {
    let mut m = key.0.hmac();
    m.update(column.as_bytes());
    m.update(&[0]);
    m.update(normalise(column, value).as_bytes());
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalise("phone", " +91 98765-43210 "), "+919876543210");
        assert_eq!(
            normalise("email", "  Asha@Example.COM "),
            "asha@example.com"
        );
        assert_eq!(normalise("abha_id", "12  34\t56"), "12 34 56");
    }

    #[test]
    fn index_is_stable_normalised_and_key_dependent() {
        let t = Key32::generate();
        let k = IndexKey::derive(&t, "t1");
        let a = blind_index(&k, "phone", "+91 98765 43210");
        assert_eq!(a.len(), 64);
        assert_eq!(a, blind_index(&k, "phone", "+91-98765-43210"));
        assert_eq!(
            a,
            blind_index(&IndexKey::derive(&t, "t1"), "phone", "+919876543210")
        );
        assert_ne!(
            a,
            blind_index(&IndexKey::derive(&t, "t2"), "phone", "+919876543210")
        );
        assert_ne!(
            a,
            blind_index(
                &IndexKey::derive(&Key32::generate(), "t1"),
                "phone",
                "+919876543210"
            )
        );
        assert_ne!(
            a,
            blind_index(&k, "mobile", "+919876543210"),
            "columns index apart"
        );
    }

    #[test]
    fn index_key_is_not_the_tenant_key() {
        let t = Key32::generate();
        let k = IndexKey::derive(&t, "t1");
        assert_ne!(k.0.expose(), t.expose());
    }

    proptest! {
        #[test]
        fn equal_after_normalising_means_equal_index(v in "[ a-zA-Z0-9@.]{0,40}") {
            let k = IndexKey::derive(&Key32::generate(), "t");
            prop_assert_eq!(blind_index(&k, "email", &v), blind_index(&k, "email", &format!("  {}  ", v.to_uppercase())));
        }

        #[test]
        fn different_values_index_apart(a in "[a-z0-9]{1,20}", b in "[a-z0-9]{1,20}") {
            prop_assume!(a != b);
            let k = IndexKey::derive(&Key32::generate(), "t");
            prop_assert_ne!(blind_index(&k, "email", &a), blind_index(&k, "email", &b));
        }
    }
}
