//! The `patients` feature.

pub mod access;
pub mod allergies;
pub mod attachments;
pub mod care;
pub mod chart;
pub mod conditions;
pub mod consent;
pub mod erasure;
pub mod export;
pub mod fields;
pub mod links;
pub mod medications;
pub mod merge;
pub mod patient;
pub mod photo;
pub mod record;
pub mod record_pdf;
pub mod records;
pub mod registry;
pub mod search;
pub mod service;
pub mod share_links;
pub mod timeline;
pub mod update;
pub(crate) mod write;
