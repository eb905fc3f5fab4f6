//! The `kit` feature.

pub mod ids;
pub mod page;
pub mod text;
pub mod validate;
