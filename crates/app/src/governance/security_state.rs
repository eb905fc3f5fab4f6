//! What the security monitor keeps in each instance: where a sign-in comes
//! from (the geo lookup), the per-tenant settings cached for the request
//! path, and the count of events raised (for /metrics).

use crate::kit::context::RequestInfo;
use clinicos_domain::governance::security::SecuritySettings;
use clinicos_domain::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where a sign-in comes from, by country (ISO 3166-1 alpha-2).
pub trait GeoLookup: Send + Sync {
    fn country(&self, req: &RequestInfo) -> Option<String>;
}

/// The default: knows no country, so `new_country` never fires.
pub struct NoGeo;

impl GeoLookup for NoGeo {
    fn country(&self, _: &RequestInfo) -> Option<String> {
        None
    }
}

/// Trusts the country header a fronting proxy sets (the web layer copies
/// it into [`RequestInfo::country`] only when the header is configured).
pub struct TrustedHeaderGeo;

impl GeoLookup for TrustedHeaderGeo {
    fn country(&self, req: &RequestInfo) -> Option<String> {
        req.country
            .as_deref()
            .map(str::trim)
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
    }
}

/// Security events raised by this instance (exported on /metrics).
pub static EVENTS_RAISED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Per-tenant settings cached for the request path (rate limits).
#[derive(Clone, Default)]
pub struct SettingsCache {
    inner: Arc<Mutex<HashMap<TenantId, (std::time::Instant, SecuritySettings)>>>,
}

/// How long a cached tenant setting is trusted by other instances.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl SettingsCache {
    pub(crate) fn get(&self, t: TenantId) -> Option<SecuritySettings> {
        let g = self.inner.lock().ok()?;
        g.get(&t)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, s)| s.clone())
    }
    pub(crate) fn put(&self, t: TenantId, s: SecuritySettings) {
        if let Ok(mut g) = self.inner.lock() {
            if g.len() > 10_000 {
                g.clear();
            }
            g.insert(t, (std::time::Instant::now(), s));
        }
    }
}
