//! The `identity` feature.
pub mod auth;
pub mod devices;
pub mod mfa;
pub mod offline;
pub mod portal;
pub mod portal_session;
pub mod rate_window;
pub mod service;
pub mod totp;
pub mod types;
