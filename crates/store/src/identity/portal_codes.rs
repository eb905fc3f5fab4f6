//! Portal sign-in codes. A row holds the destination's blind index (never
//! the phone or email) and a keyed hash of the code (never the code). A
//! code is live while it is unused, not superseded by a newer code, not
//! expired and below the wrong-try limit; every state change is one
//! conditional UPDATE, so two instances cannot both accept a code.

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::PatientId;
use sqlx::any::AnyRow;

/// One issued code.
#[derive(Clone, Debug)]
pub struct OtpRow {
    pub id: String,
    /// `sms`, `whatsapp` or `email`.
    pub channel: String,
    pub destination_bidx: String,
    /// `None` when no patient has this destination (nothing was sent).
    pub patient_id: Option<PatientId>,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub ip: String,
}

const COLS: &str =
    "id, channel, destination_bidx, patient_id, code_hash, expires_at, attempts, created_at, ip";

/// The live-code condition, with `$3` = now and `$4` = the wrong-try limit.
const LIVE: &str =
    "used_at IS NULL AND superseded_at IS NULL AND expires_at > $3 AND attempts < $4";

fn from_row(r: &AnyRow) -> StoreResult<OtpRow> {
    Ok(OtpRow {
        id: r.text("id")?,
        channel: r.text("channel")?,
        destination_bidx: r.text("destination_bidx")?,
        patient_id: r.opt_text("patient_id")?.and_then(|p| p.parse().ok()),
        code_hash: r.text("code_hash")?,
        expires_at: r.time("expires_at")?,
        attempts: r.int("attempts")?,
        created_at: r.time("created_at")?,
        ip: r.text("ip")?,
    })
}

/// Store a new code after ending every earlier open code for the same
/// destination (a new code invalidates the previous ones).
pub async fn issue(tx: &mut TenantTx, c: &OtpRow) -> StoreResult<()> {
    let q = tx
        .q(
            "UPDATE portal_otp_codes SET superseded_at = $3 WHERE tenant_id = $1 \
            AND destination_bidx = $2 AND used_at IS NULL AND superseded_at IS NULL",
        )
        .bind(c.destination_bidx.clone())
        .bind(ts(c.created_at));
    tx.exec(q).await?;
    let q = tx
        .q("INSERT INTO portal_otp_codes (tenant_id, id, channel, destination_bidx, patient_id, code_hash, \
            expires_at, attempts, created_at, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(c.id.clone())
        .bind(c.channel.clone())
        .bind(c.destination_bidx.clone())
        .bind(c.patient_id.map(|p| p.as_text()))
        .bind(c.code_hash.clone())
        .bind(ts(c.expires_at))
        .bind(c.attempts)
        .bind(ts(c.created_at))
        .bind(c.ip.clone());
    tx.exec(q).await?;
    Ok(())
}

/// The destination's live code, if any (newest first).
pub async fn live(
    tx: &mut TenantTx,
    destination_bidx: &str,
    now: DateTime<Utc>,
    max_attempts: i64,
) -> StoreResult<Option<OtpRow>> {
    let sql = format!(
        "SELECT {COLS} FROM portal_otp_codes WHERE tenant_id = $1 AND destination_bidx = $2 AND {LIVE} \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    );
    let q = tx
        .q(&sql)
        .bind(destination_bidx.to_owned())
        .bind(ts(now))
        .bind(max_attempts);
    tx.opt(q).await?.as_ref().map(from_row).transpose()
}

/// Count a wrong try on a code.
pub async fn count_wrong(tx: &mut TenantTx, id: &str) -> StoreResult<()> {
    let q = tx
        .q("UPDATE portal_otp_codes SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2")
        .bind(id.to_owned());
    tx.exec(q).await?;
    Ok(())
}

/// Use a code: true only for the one caller that found it still live.
pub async fn consume(
    tx: &mut TenantTx,
    id: &str,
    now: DateTime<Utc>,
    max_attempts: i64,
) -> StoreResult<bool> {
    let sql = format!(
        "UPDATE portal_otp_codes SET used_at = $3 WHERE tenant_id = $1 AND id = $2 AND {LIVE}"
    );
    let q = tx
        .q(&sql)
        .bind(id.to_owned())
        .bind(ts(now))
        .bind(max_attempts);
    Ok(tx.exec(q).await? == 1)
}

/// Which contact column a destination is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contact {
    Phone,
    Email,
}

/// The patient a destination belongs to: the earliest registered active,
/// living patient with that phone or email (households sharing a phone
/// sign in as the first; choosing among them is later work).
pub async fn patient_by_contact(
    tx: &mut TenantTx,
    contact: Contact,
    bidx: &str,
) -> StoreResult<Option<PatientId>> {
    let sql = match contact {
        Contact::Phone => {
            "SELECT id FROM patients WHERE tenant_id = $1 AND phone_bidx = $2 AND is_active = 1 \
             AND deceased_at IS NULL ORDER BY created_at, id LIMIT 1"
        }
        Contact::Email => {
            "SELECT id FROM patients WHERE tenant_id = $1 AND email_bidx = $2 AND is_active = 1 \
             AND deceased_at IS NULL ORDER BY created_at, id LIMIT 1"
        }
    };
    let q = tx.q(sql).bind(bidx.to_owned());
    tx.opt(q).await?.map(|r| r.parse("id")).transpose()
}
