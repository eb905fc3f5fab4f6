//! The `patients` feature.

pub mod api;
pub mod pages;
