//! The `identity` feature.

pub mod api;
pub mod pages;
