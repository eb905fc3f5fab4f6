//! The bytes the audit trail's tamper evidence covers, as pure functions
//! (the keys that MAC and link them are `clinicos_crypto::audit`'s):
//! - an event's MAC covers its tenant and every field in a fixed order
//!   ([`EventFields::mac_message`]), each field length-prefixed under a
//!   version label, so no two different events give the same bytes;
//! - a keyed link covers the tenant, its position, the previous link's
//!   hash, the event's bytes and its MAC ([`link_message`]), so changing,
//!   removing, inserting or re-ordering an event breaks the link;
//! - checkpoints sign `(tenant, seq, hash, time)` with Ed25519
//!   ([`checkpoint_message`]).
//!
//! Links sealed before event MACs existed are unkeyed SHA-256
//! ([`legacy_link_hash`], [`LinkFormat::Unkeyed`]); they stay verifiable,
//! anchored by their signed checkpoints.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event of a tenant's chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How a chain link's hash was made (`audit_chain.format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkFormat {
    /// SHA-256 without a key: links sealed before event MACs (migration 0019).
    Unkeyed,
    /// HMAC-SHA256 under the link key: every link sealed since.
    Keyed,
}

impl LinkFormat {
    /// The stored code.
    pub fn code(self) -> i64 {
        match self {
            LinkFormat::Unkeyed => 1,
            LinkFormat::Keyed => 2,
        }
    }

    /// The format of a stored code (None for a code no release wrote).
    pub fn from_code(code: i64) -> Option<LinkFormat> {
        match code {
            1 => Some(LinkFormat::Unkeyed),
            2 => Some(LinkFormat::Keyed),
            _ => None,
        }
    }
}

/// The fields of an audit event that its MAC and its link protect, in
/// that order, borrowed (the audit writer MACs an event before binding it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventFields<'a> {
    pub id: &'a str,
    pub at_micros: i64,
    pub actor_id: &'a str,
    pub actor_roles: &'a str,
    pub branch_id: &'a str,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_ids: &'a str,
    pub purpose: &'a str,
    pub outcome: &'a str,
    pub reason: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub request_id: &'a str,
}

/// Append `part` as a 4-byte big-endian length and its bytes.
fn put(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u32).to_be_bytes());
    out.extend_from_slice(part);
}

impl EventFields<'_> {
    fn texts(&self) -> [&str; 13] {
        [
            self.id,
            self.actor_id,
            self.actor_roles,
            self.branch_id,
            self.action,
            self.resource_type,
            self.resource_ids,
            self.purpose,
            self.outcome,
            self.reason,
            self.ip,
            self.user_agent,
            self.request_id,
        ]
    }

    /// The bytes an event's MAC covers: the tenant, the time and every
    /// field, under the label `clinicos.audit.event.v1`.
    pub fn mac_message(&self, tenant: &str) -> Vec<u8> {
        let texts = self.texts();
        let mut out = Vec::with_capacity(96 + texts.iter().map(|t| t.len() + 4).sum::<usize>());
        put(&mut out, b"clinicos.audit.event.v1");
        put(&mut out, tenant.as_bytes());
        put(&mut out, &self.at_micros.to_be_bytes());
        for t in texts {
            put(&mut out, t.as_bytes());
        }
        out
    }
}

/// The bytes a keyed link covers: the tenant, the link's position, the
/// previous link's hash, the event's bytes and its MAC (`None` only for a
/// legacy event, written before MACs existed).
pub fn link_message(
    tenant: &str,
    seq: i64,
    prev_hash: &str,
    event: &EventFields<'_>,
    mac: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    put(&mut out, b"clinicos.audit.link.v2");
    put(&mut out, tenant.as_bytes());
    put(&mut out, &seq.to_be_bytes());
    put(&mut out, prev_hash.as_bytes());
    put(&mut out, &event.mac_message(tenant));
    match mac {
        Some(m) => {
            put(&mut out, b"mac");
            put(&mut out, m);
        }
        None => put(&mut out, b"legacy"),
    }
    out
}

/// An audit event as stored: its fields, its MAC, and whether it is one of
/// the events written before MACs existed (listed by migration 0019).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainedEvent {
    pub id: String,
    pub at_micros: i64,
    pub actor_id: String,
    pub actor_roles: String,
    pub branch_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_ids: String,
    pub purpose: String,
    pub outcome: String,
    pub reason: String,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
    /// The event's MAC (None: written before MACs, or around ClinicOS).
    pub mac: Option<Vec<u8>>,
    /// Listed by migration 0019 as committed before MACs existed.
    pub legacy: bool,
}

impl ChainedEvent {
    /// The protected fields.
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            id: &self.id,
            at_micros: self.at_micros,
            actor_id: &self.actor_id,
            actor_roles: &self.actor_roles,
            branch_id: &self.branch_id,
            action: &self.action,
            resource_type: &self.resource_type,
            resource_ids: &self.resource_ids,
            purpose: &self.purpose,
            outcome: &self.outcome,
            reason: &self.reason,
            ip: &self.ip,
            user_agent: &self.user_agent,
            request_id: &self.request_id,
        }
    }
}

/// Hex SHA-256 of `prev_hash` and the event (fields separated by 0x1F, a
/// byte no field may hold unescaped: each field is length-prefixed too):
/// the unkeyed links sealed before migration 0019, checked as they were.
pub fn legacy_link_hash(prev_hash: &str, e: &ChainedEvent) -> String {
    let mut h = Sha256::new();
    h.update(b"clinicos-audit/1\x1f");
    h.update(prev_hash.as_bytes());
    let at = e.at_micros.to_string();
    for f in [
        e.id.as_str(),
        at.as_str(),
        &e.actor_id,
        &e.actor_roles,
        &e.branch_id,
        &e.action,
        &e.resource_type,
        &e.resource_ids,
        &e.purpose,
        &e.outcome,
        &e.reason,
        &e.ip,
        &e.user_agent,
        &e.request_id,
    ] {
        h.update(b"\x1f");
        h.update(f.len().to_string().as_bytes());
        h.update(b":");
        h.update(f.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The exact bytes a checkpoint signature covers.
pub fn checkpoint_message(tenant: &str, seq: i64, hash: &str, signed_at_micros: i64) -> Vec<u8> {
    format!("clinicos-audit-checkpoint/1\n{tenant}\n{seq}\n{hash}\n{signed_at_micros}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(id: &str, action: &str) -> ChainedEvent {
        ChainedEvent {
            id: id.into(),
            at_micros: 1,
            action: action.into(),
            outcome: "success".into(),
            ..Default::default()
        }
    }

    #[test]
    fn legacy_links_depend_on_the_previous_hash_and_every_field() {
        let a = legacy_link_hash(GENESIS, &ev("1", "auth.login"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, legacy_link_hash(GENESIS, &ev("1", "auth.logout")));
        assert_ne!(a, legacy_link_hash(&a, &ev("1", "auth.login")));
    }

    #[test]
    fn event_bytes_name_the_tenant_and_link_bytes_the_position_and_mac() {
        let e = ev("1", "patient.read");
        let f = e.fields();
        assert_ne!(f.mac_message("t1"), f.mac_message("t2"));
        let mut later = e.clone();
        later.at_micros = 2;
        assert_ne!(f.mac_message("t1"), later.fields().mac_message("t1"));
        let link = |seq, prev: &str, mac: Option<&[u8]>| link_message("t1", seq, prev, &f, mac);
        assert_ne!(link(1, GENESIS, Some(b"m")), link(2, GENESIS, Some(b"m")));
        assert_ne!(link(1, GENESIS, Some(b"m")), link(1, "ab", Some(b"m")));
        assert_ne!(link(1, GENESIS, Some(b"m")), link(1, GENESIS, Some(b"n")));
        assert_ne!(link(1, GENESIS, Some(b"")), link(1, GENESIS, None));
    }

    #[test]
    fn link_formats_round_trip_their_codes() {
        for f in [LinkFormat::Unkeyed, LinkFormat::Keyed] {
            assert_eq!(LinkFormat::from_code(f.code()), Some(f));
        }
        assert_eq!(LinkFormat::from_code(0), None);
    }

    proptest! {
        /// Moving text between adjacent fields changes the bytes (no
        /// ambiguity from concatenation), for the MAC and the legacy hash.
        #[test]
        fn field_boundaries_matter(a in "[a-z]{0,8}", b in "[a-z]{0,8}", split in 0usize..8) {
            let joined = format!("{a}{b}");
            let k = split.min(joined.len());
            let mut x = ev("1", "x");
            x.resource_type = joined[..k].to_owned();
            x.resource_ids = joined[k..].to_owned();
            let mut y = ev("1", "x");
            y.resource_type = a.clone();
            y.resource_ids = b.clone();
            prop_assert_eq!(legacy_link_hash(GENESIS, &x) == legacy_link_hash(GENESIS, &y), k == a.len());
            prop_assert_eq!(x.fields().mac_message("t") == y.fields().mac_message("t"), k == a.len());
        }
    }
}
