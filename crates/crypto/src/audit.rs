//! The audit trail's keys. One platform secret, the audit root (32 random
//! bytes stored only wrapped by the master key), derives two keys under
//! their own labels:
//! - the event key: HMAC-SHA256 of one audit event's bytes, written with
//!   the event in its own transaction, so an event inserted around
//!   ClinicOS carries no valid MAC;
//! - the link key: HMAC-SHA256 of each link of a tenant's chain, so a
//!   correctly computed append without the key does not verify.
//!
//! What the bytes are is the domain's business
//! (`clinicos_domain::governance::audit`); this module only keys them.
//! Neither key is ever stored; both print as `AuditKeys { .. }`.

use crate::Key32;
use hmac::Mac;

/// The event and link keys, derived from the audit root.
#[derive(Clone)]
pub struct AuditKeys {
    event: Key32,
    link: Key32,
}

/// The length of an event MAC (HMAC-SHA256).
pub const EVENT_MAC_LEN: usize = 32;

impl AuditKeys {
    /// Derive both keys from the audit root.
    pub fn derive(root: &Key32) -> AuditKeys {
        AuditKeys {
            event: root.derive(b"clinicos.audit.event-mac.v1"),
            link: root.derive(b"clinicos.audit.link.v1"),
        }
    }

    /// The MAC of one event's bytes.
    pub fn event_mac(&self, message: &[u8]) -> [u8; EVENT_MAC_LEN] {
        let mut m = self.event.hmac();
        m.update(message);
        m.finalize().into_bytes().into()
    }

    /// Does `mac` belong to `message`? (Constant time.)
    pub fn event_mac_matches(&self, message: &[u8], mac: &[u8]) -> bool {
        let mut m = self.event.hmac();
        m.update(message);
        m.verify_slice(mac).is_ok()
    }

    /// The keyed hash of one chain link's bytes, as lower-case hex.
    pub fn link_hash(&self, message: &[u8]) -> String {
        let mut m = self.link.hmac();
        m.update(message);
        m.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKeys { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_depend_on_the_root_and_the_bytes_and_keys_differ_by_purpose() {
        let root = Key32::from_array([5; 32]);
        let k = AuditKeys::derive(&root);
        let mac = k.event_mac(b"event");
        assert!(k.event_mac_matches(b"event", &mac));
        assert!(!k.event_mac_matches(b"event!", &mac));
        assert!(!k.event_mac_matches(b"event", &mac[..31]));
        let other = AuditKeys::derive(&Key32::from_array([6; 32]));
        assert!(!other.event_mac_matches(b"event", &mac));
        assert_ne!(k.link_hash(b"x"), other.link_hash(b"x"));
        assert_eq!(k.link_hash(b"x").len(), 64);
        // The link key is not the event key, and neither is the root.
        let as_link: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&k.link_hash(b"event")[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_ne!(as_link, mac.to_vec());
        assert_ne!(k.event.expose(), root.expose());
        assert_ne!(k.link.expose(), k.event.expose());
    }

    #[test]
    fn debug_shows_no_key() {
        let k = AuditKeys::derive(&Key32::from_array([7; 32]));
        assert_eq!(format!("{k:?}"), "AuditKeys { .. }");
    }
}
