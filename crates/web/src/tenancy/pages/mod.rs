//! The `tenancy` feature: its server-rendered pages.

pub mod admin;
pub mod branches;
pub mod home;
pub mod operator;
pub mod staff;
