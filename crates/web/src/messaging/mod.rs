//! The `messaging` feature.

pub mod api;
pub mod pages;
