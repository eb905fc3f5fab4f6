//! The `identity` feature.
pub mod auth;
pub mod devices;
pub mod mfa;
pub mod portal;
pub mod portal_session;
pub mod service;
pub mod totp;
