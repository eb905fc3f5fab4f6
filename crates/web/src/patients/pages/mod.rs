//! The `patients` feature: its server-rendered pages.

pub mod chart;
pub mod form;
pub mod links;
pub mod merge;
pub mod records;
pub mod registry;
pub mod share_links;
