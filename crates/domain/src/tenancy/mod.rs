//! The `tenancy` feature.

pub mod tenant;
