//! Patient portal sign-in with one-time codes.
//!
//! - `send`: a six-digit code goes to the patient's phone (SMS, WhatsApp)
//!   or email through the outbox. The answer is the same whether or not a
//!   patient has that destination (or the clinic code exists): unknown
//!   destinations still get a code row (no patient, nothing sent), and
//!   every answer waits until [`SEND_FLOOR`] has passed so that timing
//!   does not tell either.
//! - `verify`: the newest live code of the destination; a wrong code counts
//!   a try on it, three wrong tries kill it, a right one is used once and
//!   opens a portal session (see `identity/portal_session.rs`).
//! - Limits ([`OtpLimits`]) are counted in `rate_counters` in the primary
//!   database (one atomic upsert per hit), so every instance shares them.
//! - Stored: the destination's blind index and an HMAC of the code under
//!   the tenant's index key, salted with the row id (the key lives outside
//!   the database, so a copied table cannot be brute-forced offline).

use crate::identity::service::Identity;
use crate::kit::context::RequestInfo;
use crate::kit::crypto;
use crate::kit::domain_schema;
use crate::messaging::outbox::Outgoing;
use crate::patients::patient::normalise_phone;
use crate::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use clinicos_domain::governance::audit_catalogue::{AuditAction, ResourceKind};
use clinicos_domain::identity::portal::{well_formed_code, Channel, OtpLimits};
use clinicos_domain::kit::validate::Validator;
use clinicos_domain::messaging::message::{Addressee, MessageKind};
use clinicos_domain::{PatientId, SessionId, TenantId};
use clinicos_store::governance::audit::{self, Actor, AuditEvent};
use clinicos_store::identity::portal_codes::{self, Contact, OtpRow};
use clinicos_store::identity::portal_sessions::{self, PortalSession};
use clinicos_store::{
    identity::throttle, patients::registry as patients, tenancy::platform, tenancy::tenants,
    TenantTx,
};
use rand::Rng;
use serde::Serialize;

/// The least time a send takes, whatever happened inside, so a known
/// destination (decrypt + message) and an unknown one answer alike.
pub const SEND_FLOOR: std::time::Duration = std::time::Duration::from_millis(200);

/// Prefix of portal bearer tokens (`pt.<tenant>.<session>.<secret>`): a
/// portal token never parses as a staff token and the reverse.
pub const TOKEN_PREFIX: &str = "pt.";

/// The blind-index column under which code hashes are keyed.
const CODE_HASH_COLUMN: &str = "portal_otp_code";

/// A send or verify request (the code is empty for a send).
#[derive(Clone)]
pub struct OtpRequest {
    /// Clinic code (tenant slug).
    pub tenant_slug: String,
    /// `sms`, `whatsapp` or `email`.
    pub channel: String,
    /// The phone number or email address.
    pub destination: String,
    pub code: String,
}

/// A signed-in patient's credential (no `Debug`: it carries the token).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct PortalIssued {
    #[schema(value_type = domain_schema::SessionId)]
    pub session_id: SessionId,
    #[schema(value_type = domain_schema::TenantId)]
    pub tenant_id: TenantId,
    #[schema(value_type = domain_schema::PatientId)]
    pub patient_id: PatientId,
    /// Bearer token for `/api/v1/portal/*` (opaque; stored as a hash).
    pub access_token: String,
    pub token_type: &'static str,
}

/// The validated channel, normalised destination and its contact column.
fn parse_destination(channel: &str, destination: &str) -> AppResult<(Channel, String, Contact)> {
    let Some(ch) = Channel::parse(channel) else {
        return Err(AppError::field("channel", "must be sms, whatsapp or email"));
    };
    let mut v = Validator::new();
    let (dest, contact) = if ch.is_phone() {
        let n = normalise_phone(destination);
        let digits = n.trim_start_matches('+').len();
        if !(7..=15).contains(&digits) || n.chars().skip(1).any(|c| c == '+') {
            v.add("destination", "must be a phone number of 7 to 15 digits");
        }
        (n, Contact::Phone)
    } else {
        let n = destination.trim().to_lowercase();
        v.email("destination", &n);
        (n, Contact::Email)
    };
    v.finish().map_err(AppError::Validation)?;
    Ok((ch, dest, contact))
}

fn column(contact: Contact) -> &'static str {
    match contact {
        Contact::Phone => "phone",
        Contact::Email => "email",
    }
}

fn six_digits() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// The audit actor for an unauthenticated portal request.
fn portal_actor(req: &RequestInfo) -> Actor {
    Actor {
        roles: "patient".into(),
        ..req.anonymous_actor()
    }
}

fn limits() -> OtpLimits {
    OtpLimits::default()
}

impl Identity<'_> {
    /// Count one hit on a shared limit; 429 with the rest of the window as
    /// `Retry-After` once `max` is passed.
    async fn otp_limit(
        &self,
        key: &str,
        window: Duration,
        max: i64,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let h = throttle::hit_window(self.app.store.platform(), key, window, now).await?;
        if h.count > max {
            return Err(AppError::RateLimited {
                retry_after_secs: (h.window_ends - now).num_seconds().max(1) as u64,
            });
        }
        Ok(())
    }

    async fn code_hash(&self, tenant: TenantId, row_id: &str, code: &str) -> AppResult<String> {
        self.app
            .cipher
            .blind_index(tenant, CODE_HASH_COLUMN, &format!("{row_id}:{code}"))
            .await
    }

    /// Send a sign-in code. Succeeds alike for unknown clinics and
    /// destinations (nothing is sent to those); 422 for a malformed
    /// channel or destination, 429 past a limit.
    pub async fn send_portal_code(&self, r: &OtpRequest, req: &RequestInfo) -> AppResult<()> {
        let started = tokio::time::Instant::now();
        let out = self.send_portal_code_now(r, req).await;
        tokio::time::sleep_until(started + SEND_FLOOR).await;
        out
    }

    async fn send_portal_code_now(&self, r: &OtpRequest, req: &RequestInfo) -> AppResult<()> {
        let now = self.app.clock.now();
        let l = limits();
        let (channel, dest, contact) = parse_destination(&r.channel, &r.destination)?;
        self.check_ip(&req.ip, now).await?;
        let ip_key = format!("otp:send-ip:{}", crypto::sha256_hex(&req.ip));
        self.otp_limit(
            &ip_key,
            Duration::minutes(1),
            l.sends_per_ip_per_minute,
            now,
        )
        .await?;
        let slug = r.tenant_slug.trim().to_lowercase();
        let Some(entry) = platform::directory_by_slug(self.app.store.platform(), &slug).await?
        else {
            return Ok(());
        };
        let tenant = entry.tenant_id;
        let bidx = self
            .app
            .cipher
            .blind_index(tenant, column(contact), &dest)
            .await?;
        let key = format!("otp:send:{tenant}:{bidx}");
        self.otp_limit(&key, Duration::minutes(1), l.sends_per_minute, now)
            .await?;
        let key = format!("otp:day:{tenant}:{bidx}");
        self.otp_limit(&key, Duration::hours(24), l.codes_per_day, now)
            .await?;

        let mut tx = self.app.store.write(tenant).await?;
        let t = tenants::get(&mut tx).await?;
        let patient = match t.subscription_status.allows_sign_in() {
            true => portal_codes::patient_by_contact(&mut tx, contact, &bidx).await?,
            false => None,
        };
        let id = uuid::Uuid::now_v7().to_string();
        let code = six_digits();
        let row = OtpRow {
            code_hash: self.code_hash(tenant, &id, &code).await?,
            id,
            channel: channel.as_str().to_owned(),
            destination_bidx: bidx,
            patient_id: patient,
            expires_at: now + l.ttl,
            attempts: 0,
            created_at: now,
            ip: req.ip.clone(),
        };
        portal_codes::issue(&mut tx, &row).await?;
        if let Some(pid) = patient {
            self.deliver_code(&mut tx, pid, contact, channel, &code, &t.display_name, now)
                .await?;
        }
        let ev = AuditEvent::new(
            now,
            AuditAction::PortalOtpSent,
            ResourceKind::Patient,
            patient.iter().map(PatientId::as_text).collect(),
        )
        .because(channel.as_str());
        audit::record(&mut tx, &portal_actor(req), ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Put the code into the outbox, addressed to the patient's stored
    /// (decrypted) contact. The body names the clinic and the code only.
    #[allow(clippy::too_many_arguments)]
    async fn deliver_code(
        &self,
        tx: &mut TenantTx,
        patient: PatientId,
        contact: Contact,
        channel: Channel,
        code: &str,
        clinic: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let row = patients::get(tx, patient).await?;
        let patients = self.app.patients();
        let opened = match contact {
            Contact::Phone => patients.open_opt(tx.tenant(), patient, &row.phone).await,
            Contact::Email => patients.open_opt(tx.tenant(), patient, &row.email).await,
        };
        // A patient whose key was erased has no readable contact: send nothing.
        let Some(recipient) = opened else {
            return Ok(());
        };
        let minutes = limits().ttl.num_minutes();
        let subject = format!("{clinic} sign-in code");
        let body = format!(
            "{code} is your {clinic} patient portal sign-in code. It expires in {minutes} minutes. \
             Do not share it with anyone; the clinic will never ask for it.\n"
        );
        let m = Outgoing {
            kind: MessageKind::PortalCode,
            channel: channel.as_str(),
            to: Addressee::Patient(patient),
            branch: row.first_branch_id,
            recipient: &recipient,
            subject: &subject,
            body: &body,
        };
        self.app.messaging().send(tx, m, now).await
    }

    /// Verify a code and open a portal session. Every failure (unknown
    /// clinic, no live code, wrong code, inactive patient) answers the same
    /// 401; more than three attempts a minute per destination answer 429.
    pub async fn verify_portal_code(
        &self,
        r: &OtpRequest,
        req: &RequestInfo,
    ) -> AppResult<PortalIssued> {
        let now = self.app.clock.now();
        let l = limits();
        let (channel, dest, contact) = parse_destination(&r.channel, &r.destination)?;
        self.check_ip(&req.ip, now).await?;
        let slug = r.tenant_slug.trim().to_lowercase();
        let Some(entry) = platform::directory_by_slug(self.app.store.platform(), &slug).await?
        else {
            return Err(AppError::InvalidOtp);
        };
        let tenant = entry.tenant_id;
        let bidx = self
            .app
            .cipher
            .blind_index(tenant, column(contact), &dest)
            .await?;
        let key = format!("otp:verify:{tenant}:{bidx}");
        self.otp_limit(&key, Duration::minutes(1), l.verifies_per_minute, now)
            .await?;

        let mut tx = self.app.store.write(tenant).await?;
        let live = portal_codes::live(&mut tx, &bidx, now, l.wrong_tries).await?;
        let code = r.code.trim();
        let right = match &live {
            Some(c) if well_formed_code(code) => {
                let h = self.code_hash(tenant, &c.id, code).await?;
                crypto::ct_eq(&h, &c.code_hash)
            }
            _ => false,
        };
        let Some(c) = live else {
            return self.fail_verify(tx, None, req, now).await;
        };
        if !right {
            portal_codes::count_wrong(&mut tx, &c.id).await?;
            return self.fail_verify(tx, c.patient_id, req, now).await;
        }
        let Some(patient) = c.patient_id else {
            return self.fail_verify(tx, None, req, now).await;
        };
        let t = tenants::get(&mut tx).await?;
        let p = patients::get(&mut tx, patient).await?;
        let admitted = t.subscription_status.allows_sign_in()
            && p.is_active
            && p.deceased_at.is_none()
            && portal_codes::consume(&mut tx, &c.id, now, l.wrong_tries).await?;
        if !admitted {
            return self.fail_verify(tx, Some(patient), req, now).await;
        }
        let id = SessionId::new();
        let secret = crypto::random_token(32);
        portal_sessions::insert(
            &mut tx,
            &PortalSession {
                id,
                patient_id: patient,
                token_hash: crypto::sha256_hex(&secret),
                channel: channel.as_str().to_owned(),
                ip: req.ip.clone(),
                user_agent: req.user_agent.chars().take(300).collect(),
                created_at: now,
                last_seen_at: now,
                revoked_at: None,
            },
        )
        .await?;
        let ev = AuditEvent::new(
            now,
            AuditAction::PortalLogin,
            ResourceKind::Patient,
            vec![patient.as_text()],
        )
        .because(channel.as_str());
        audit::record(&mut tx, &portal_actor(req), ev).await?;
        tx.commit().await?;
        Ok(PortalIssued {
            session_id: id,
            tenant_id: tenant,
            patient_id: patient,
            access_token: format!("{TOKEN_PREFIX}{tenant}.{id}.{secret}"),
            token_type: "Bearer",
        })
    }

    /// Record a failed verification (and the counted try) and answer 401.
    async fn fail_verify<T>(
        &self,
        mut tx: TenantTx,
        patient: Option<PatientId>,
        req: &RequestInfo,
        now: DateTime<Utc>,
    ) -> AppResult<T> {
        let ev = AuditEvent::new(
            now,
            AuditAction::PortalLogin,
            ResourceKind::Patient,
            patient.iter().map(PatientId::as_text).collect(),
        )
        .failed("bad_code");
        audit::record(&mut tx, &portal_actor(req), ev).await?;
        tx.commit().await?;
        Err(AppError::InvalidOtp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_validate_and_normalise_per_channel() {
        let (c, d, k) = parse_destination("sms", "+91 98765-43210").unwrap();
        assert_eq!(
            (c, d.as_str(), k),
            (Channel::Sms, "+919876543210", Contact::Phone)
        );
        let (_, d, k) = parse_destination("email", " Asha@Example.IN ").unwrap();
        assert_eq!((d.as_str(), k), ("asha@example.in", Contact::Email));
        for (ch, dest) in [
            ("fax", "123"),
            ("sms", "12"),
            ("whatsapp", "1+2345678"),
            ("email", "nope"),
        ] {
            assert!(
                matches!(parse_destination(ch, dest), Err(AppError::Validation(_))),
                "{ch} {dest}"
            );
        }
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            assert!(well_formed_code(&six_digits()));
        }
    }
}
