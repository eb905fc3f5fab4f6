//! Field encryption micro-benchmark: one `FieldCipher::encrypt` and one
//! `decrypt` of a field value (warm key cache: what a request pays per
//! field), against raw AES-256-GCM of the same bytes with a random nonce
//! and a key schedule built once (no key lookup, no context binding, no
//! envelope). Both sides run in this task, alternating in rounds.
//!
//! Invariant: both sides encrypt and decrypt the same plaintext sizes and
//! check the round trip, so neither side can be optimised away.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use clinicos_app::FieldCipher;
use clinicos_domain::TenantId;
use rand::RngCore;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Plaintext sizes: a phone number-sized identifier and a clinical note.
const SIZES: [usize; 2] = [32, 4096];

/// One plaintext size, both sides.
#[derive(Clone, Debug, Serialize)]
pub struct FieldCryptoRow {
    pub bytes: usize,
    pub clinicos_encrypt_ns: f64,
    pub clinicos_decrypt_ns: f64,
    pub raw_encrypt_ns: f64,
    pub raw_decrypt_ns: f64,
    /// ClinicOS / raw, encrypt + decrypt.
    pub ratio: f64,
    pub operations: u64,
}

#[derive(Default)]
struct Tally {
    enc: Duration,
    dec: Duration,
    n: u64,
}

impl Tally {
    /// One checked round trip: encrypt from `a` to `b`, decrypt to `d`.
    fn add(
        &mut self,
        (a, b, d): (Instant, Instant, Instant),
        back: &[u8],
        pt: &[u8],
    ) -> Result<(), String> {
        if back != pt {
            return Err("decryption returned other bytes".into());
        }
        self.enc += b - a;
        self.dec += d - b;
        self.n += 1;
        Ok(())
    }

    fn ns(d: Duration, n: u64) -> f64 {
        if n == 0 {
            0.0
        } else {
            d.as_nanos() as f64 / n as f64
        }
    }
}

async fn clinicos_round(
    c: &FieldCipher,
    tenant: TenantId,
    pt: &[u8],
    until: Instant,
    t: &mut Tally,
) -> Result<(), String> {
    while Instant::now() < until {
        let a = Instant::now();
        let ct = c
            .encrypt(tenant, "patients", "note", "row-1", "subject-1", pt)
            .await
            .map_err(|e| format!("field encryption failed: {e}"))?;
        let b = Instant::now();
        let back = c
            .decrypt(tenant, "patients", "note", "row-1", "subject-1", &ct)
            .await
            .map_err(|e| format!("field decryption failed: {e}"))?;
        t.add((a, b, Instant::now()), &back, pt)?;
    }
    Ok(())
}

fn raw_round(cipher: &Aes256Gcm, pt: &[u8], until: Instant, t: &mut Tally) -> Result<(), String> {
    while Instant::now() < until {
        let a = Instant::now();
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), pt)
            .map_err(|_| "raw AES-GCM encryption failed".to_owned())?;
        let b = Instant::now();
        let back = cipher
            .decrypt(Nonce::from_slice(&nonce), ct.as_slice())
            .map_err(|_| "raw AES-GCM decryption failed".to_owned())?;
        t.add((a, b, Instant::now()), &back, pt)?;
    }
    Ok(())
}

/// Measure each size for `duration` per side, in `rounds` alternating rounds.
pub async fn measure(
    cipher: &FieldCipher,
    duration: Duration,
    rounds: u32,
) -> Result<Vec<FieldCryptoRow>, String> {
    let tenant = TenantId::new();
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let raw = Aes256Gcm::new(&key.into());
    let round = duration / rounds.max(1);
    let mut out = Vec::new();
    for bytes in SIZES {
        let pt = vec![0x5au8; bytes];
        // Warm-up: creates and caches the tenant and subject keys.
        let mut scratch = Tally::default();
        let warm = Instant::now() + Duration::from_millis(100);
        clinicos_round(cipher, tenant, &pt, warm, &mut scratch).await?;
        raw_round(
            &raw,
            &pt,
            Instant::now() + Duration::from_millis(100),
            &mut scratch,
        )?;
        let (mut ours, mut base) = (Tally::default(), Tally::default());
        for _ in 0..rounds.max(1) {
            clinicos_round(cipher, tenant, &pt, Instant::now() + round, &mut ours).await?;
            raw_round(&raw, &pt, Instant::now() + round, &mut base)?;
        }
        let (ce, cd) = (Tally::ns(ours.enc, ours.n), Tally::ns(ours.dec, ours.n));
        let (re, rd) = (Tally::ns(base.enc, base.n), Tally::ns(base.dec, base.n));
        out.push(FieldCryptoRow {
            bytes,
            clinicos_encrypt_ns: ce,
            clinicos_decrypt_ns: cd,
            raw_encrypt_ns: re,
            raw_decrypt_ns: rd,
            ratio: if re + rd > 0.0 {
                (ce + cd) / (re + rd)
            } else {
                0.0
            },
            operations: ours.n.min(base.n),
        });
    }
    Ok(out)
}
