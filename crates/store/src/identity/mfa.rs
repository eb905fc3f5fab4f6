//! Second-factor storage: a user's TOTP secret (pending until confirmed),
//! the last accepted time step (replay protection), single-use recovery
//! codes (hashes only) and the short-lived sign-in challenges issued
//! between the password and the code (hashes only).

use crate::kit::row::{ts, RowExt};
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::UserId;

/// A user's TOTP enrolment.
#[derive(Clone)]
pub struct TotpRecord {
    /// The TOTP secret as stored: base64 of a field-cipher envelope (the
    /// app seals and opens it); never logged (no `Debug`).
    pub secret: String,
    pub confirmed: bool,
    pub last_step: i64,
}

/// The user's TOTP row, if any.
pub async fn totp(tx: &mut TenantTx, user: UserId) -> StoreResult<Option<TotpRecord>> {
    let q = tx
        .q("SELECT secret, confirmed_at, last_step FROM mfa_totp WHERE tenant_id = $1 AND user_id = $2")
        .bind(user.as_text());
    match tx.opt(q).await? {
        Some(r) => Ok(Some(TotpRecord {
            secret: r.text("secret")?,
            confirmed: r.opt_int("confirmed_at")?.is_some(),
            last_step: r.int("last_step")?,
        })),
        None => Ok(None),
    }
}

/// Does the user have an active (confirmed) second factor?
pub async fn is_active(tx: &mut TenantTx, user: UserId) -> StoreResult<bool> {
    Ok(totp(tx, user).await?.is_some_and(|t| t.confirmed))
}

/// Start (or restart) an unconfirmed enrolment.
pub async fn put_pending(
    tx: &mut TenantTx,
    user: UserId,
    secret: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("DELETE FROM mfa_totp WHERE tenant_id = $1 AND user_id = $2")
        .bind(user.as_text());
    tx.exec(q).await?;
    let q = tx
        .q("INSERT INTO mfa_totp (tenant_id, user_id, secret, confirmed_at, last_step, created_at) \
            VALUES ($1, $2, $3, NULL, 0, $4)")
        .bind(user.as_text())
        .bind(secret.to_owned())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Mark the enrolment confirmed.
pub async fn confirm(tx: &mut TenantTx, user: UserId, now: DateTime<Utc>) -> StoreResult<()> {
    let q = tx
        .q("UPDATE mfa_totp SET confirmed_at = $3 WHERE tenant_id = $1 AND user_id = $2")
        .bind(user.as_text())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Accept time step `step` once: succeeds only if it is later than the last
/// accepted step (compare-and-set, so two requests cannot both use it).
pub async fn use_step(tx: &mut TenantTx, user: UserId, step: i64) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE mfa_totp SET last_step = $3 WHERE tenant_id = $1 AND user_id = $2 AND last_step < $3")
        .bind(user.as_text())
        .bind(step);
    Ok(tx.exec(q).await? == 1)
}

/// Remove the second factor and its recovery codes.
pub async fn remove(tx: &mut TenantTx, user: UserId) -> StoreResult<()> {
    for sql in [
        "DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM mfa_totp WHERE tenant_id = $1 AND user_id = $2",
    ] {
        let q = tx.q(sql).bind(user.as_text());
        tx.exec(q).await?;
    }
    Ok(())
}

/// Replace the user's recovery codes with these hashes.
pub async fn set_recovery_codes(
    tx: &mut TenantTx,
    user: UserId,
    hashes: &[String],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2")
        .bind(user.as_text());
    tx.exec(q).await?;
    for h in hashes {
        let q = tx
            .q("INSERT INTO mfa_recovery_codes (tenant_id, user_id, code_hash, used_at, created_at) \
                VALUES ($1, $2, $3, NULL, $4)")
            .bind(user.as_text())
            .bind(h.clone())
            .bind(ts(now));
        tx.exec(q).await?;
    }
    Ok(())
}

/// Use a recovery code (by hash) once; false if unknown or already used.
pub async fn take_recovery_code(
    tx: &mut TenantTx,
    user: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let q = tx
        .q(
            "UPDATE mfa_recovery_codes SET used_at = $4 WHERE tenant_id = $1 AND user_id = $2 \
            AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(user.as_text())
        .bind(hash.to_owned())
        .bind(ts(now));
    Ok(tx.exec(q).await? == 1)
}

/// Unused recovery codes left.
pub async fn recovery_codes_left(tx: &mut TenantTx, user: UserId) -> StoreResult<i64> {
    let q = tx
        .q("SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
        .bind(user.as_text());
    tx.one(q).await?.int("n")
}

/// A pending sign-in challenge.
#[derive(Clone)]
pub struct Challenge {
    pub id: String,
    pub user_id: UserId,
    /// Session kind to issue ("browser" or "api").
    pub kind: String,
    /// The device id presented with the password, for device approval.
    pub device_id: Option<String>,
}

/// Store a challenge (token stored as a hash).
#[allow(clippy::too_many_arguments)]
pub async fn insert_challenge(
    tx: &mut TenantTx,
    id: &str,
    user: UserId,
    token_hash: &str,
    kind: &str,
    device_id: Option<&str>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO mfa_challenges (tenant_id, id, user_id, token_hash, kind, device_id, expires_at, used_at, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)")
        .bind(id.to_owned())
        .bind(user.as_text())
        .bind(token_hash.to_owned())
        .bind(kind.to_owned())
        .bind(device_id.map(str::to_owned))
        .bind(ts(expires_at))
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// A live (unused, unexpired) challenge by token hash.
pub async fn live_challenge(
    tx: &mut TenantTx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Challenge>> {
    let q = tx
        .q("SELECT id, user_id, kind, device_id FROM mfa_challenges WHERE tenant_id = $1 AND token_hash = $2 \
            AND used_at IS NULL AND expires_at > $3")
        .bind(token_hash.to_owned())
        .bind(ts(now));
    match tx.opt(q).await? {
        Some(r) => Ok(Some(Challenge {
            id: r.text("id")?,
            user_id: r.parse("user_id")?,
            kind: r.text("kind")?,
            device_id: r.opt_text("device_id")?,
        })),
        None => Ok(None),
    }
}

/// Spend a challenge (single use); false if it was already spent.
pub async fn spend_challenge(tx: &mut TenantTx, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let q = tx
        .q("UPDATE mfa_challenges SET used_at = $3 WHERE tenant_id = $1 AND id = $2 AND used_at IS NULL")
        .bind(id.to_owned())
        .bind(ts(now));
    Ok(tx.exec(q).await? == 1)
}

/// Housekeeping: delete challenges past their expiry (spent or not; an
/// expired challenge can never be used). Returns how many were removed.
pub async fn purge_expired_challenges(tx: &mut TenantTx, now: DateTime<Utc>) -> StoreResult<u64> {
    let q = tx
        .q("DELETE FROM mfa_challenges WHERE tenant_id = $1 AND expires_at <= $2")
        .bind(ts(now));
    tx.exec(q).await
}
