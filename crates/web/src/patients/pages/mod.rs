//! The `patients` feature: its server-rendered pages.

pub mod chart;
pub mod display;
pub mod erasure;
pub mod form;
pub mod links;
pub mod merge;
pub mod record_forms;
pub mod records;
pub mod registry;
pub mod share_links;
