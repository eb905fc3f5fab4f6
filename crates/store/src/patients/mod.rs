//! The `patients` feature.

pub mod attachments;
pub mod erasure;
pub mod identifiers;
pub mod links;
pub mod merge;
pub mod name_index;
pub mod records;
pub mod registry;
pub mod search;
pub mod share_links;
