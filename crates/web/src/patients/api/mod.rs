//! The `patients` feature: its JSON API handlers.

pub mod attachments;
pub mod erasure;
pub mod links;
pub mod merge;
pub mod records;
pub mod registry;
pub mod share_links;
pub mod timeline;
pub mod update;
