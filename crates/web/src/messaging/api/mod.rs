//! The `messaging` feature: its JSON API handlers.

pub mod outbox;
