//! The `demo` feature.
pub mod organisation;
pub(crate) mod patients;
pub(crate) mod records;
pub mod service;
