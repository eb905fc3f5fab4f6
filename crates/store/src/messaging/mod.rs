//! The `messaging` feature.

pub mod outbox;
