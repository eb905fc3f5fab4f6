//! The `tenancy` feature.

pub mod api;
pub mod pages;
