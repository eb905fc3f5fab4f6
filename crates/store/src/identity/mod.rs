//! The `identity` feature.

pub mod devices;
pub mod mfa;
pub mod portal_codes;
pub mod portal_sessions;
pub mod resets;
pub mod sessions;
pub mod throttle;
pub mod users;
