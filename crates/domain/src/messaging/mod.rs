//! The `messaging` feature: what the clinic sends to people.

pub mod message;
