//! The `patients` feature.

pub mod attachments;
pub mod links;
pub mod search;
pub mod search_pairs;
