//! The `identity` feature: its server-rendered pages.

pub mod account;
pub mod auth;
pub mod portal;
pub mod security;
