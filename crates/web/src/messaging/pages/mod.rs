//! The `messaging` feature: its server-rendered pages.

pub mod outbox;
