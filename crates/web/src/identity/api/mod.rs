//! The `identity` feature: its JSON API handlers.

pub mod account;
pub mod auth;
pub mod mfa;
pub mod portal;
pub mod security;
