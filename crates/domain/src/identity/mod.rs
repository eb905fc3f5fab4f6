//! The `identity` feature.

pub mod password;
pub mod portal;
pub mod role;
pub mod session;
