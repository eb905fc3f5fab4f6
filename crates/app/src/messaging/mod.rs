//! The `messaging` feature: what the clinic sends to people (emails, texts).
pub mod types;
