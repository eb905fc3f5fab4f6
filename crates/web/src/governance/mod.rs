//! The `governance` feature.

pub mod api;
pub mod pages;
