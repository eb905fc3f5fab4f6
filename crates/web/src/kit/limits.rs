//! The configured rate limits: requests per minute for each class of route
//! (server configuration; enforced by `kit/rate_limit.rs`).

/// Requests per minute for each class (server configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub global: i64,
    pub auth: i64,
    pub otp: i64,
    pub api: i64,
    /// Anonymous requests without a User-Agent, per IP.
    pub no_user_agent: i64,
    /// More requests than this in one second from one key is a burst signal.
    pub burst_per_second: i64,
}

impl Default for RateLimits {
    /// Seed 003: global 100, auth 5, otp 3, api 1000 per minute.
    fn default() -> Self {
        Self {
            global: 100,
            auth: 5,
            otp: 3,
            api: 1000,
            no_user_agent: 20,
            burst_per_second: 30,
        }
    }
}

impl RateLimits {
    /// Limits high enough never to trigger (tests, benchmarks).
    pub fn unlimited() -> Self {
        let n = i64::MAX / 4;
        Self {
            global: n,
            auth: n,
            otp: n,
            api: n,
            no_user_agent: n,
            burst_per_second: n,
        }
    }
}
