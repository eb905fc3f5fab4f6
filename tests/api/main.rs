//! Integration tests: the real HTTP API against a real database (SQLite by
//! default; PostgreSQL when CLINICOS_TEST_DATABASE_URL is set).

mod attachments;
mod audit;
mod auth;
mod clinical_records;
mod conventions;
mod demo_data;
mod encryption;
mod governance_pages;
mod housekeeping;
mod ids;
mod mfa;
mod mfa_pages;
mod name_search;
mod observability;
mod operator;
mod patient_family;
mod patient_filters;
mod patient_merge;
mod patient_pages;
mod patient_pages_family;
mod patient_registry;
mod platform_keys;
mod policy_point;
mod portal_otp;
mod rate_limits;
mod regions;
mod retention;
mod rls;
mod security_events;
mod share_links;
mod siem;
mod support;
mod tenancy;
mod timeline;
mod trust_policy;
