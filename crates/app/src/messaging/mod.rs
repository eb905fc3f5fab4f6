//! The `messaging` feature: what the clinic sends to people (emails, texts).
pub mod outbox;
pub mod service;
pub mod types;
