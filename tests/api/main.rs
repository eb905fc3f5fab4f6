//! Integration tests: the real HTTP API against a real database (SQLite by
//! default; PostgreSQL when CLINICOS_TEST_DATABASE_URL is set).

mod audit;
mod auth;
mod conventions;
mod encryption;
mod mfa;
mod mfa_pages;
mod observability;
mod operator;
mod portal_otp;
mod regions;
mod rls;
mod support;
mod tenancy;
mod trust_policy;
