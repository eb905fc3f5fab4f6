-- Patient name search: a name in a local script (Devanagari, Arabic, ...)
-- on the registry row, a folded name-order key, and one row per distinct
-- name token of each patient (the matching rule is in
-- crates/domain/src/name_search.rs). The app computes tokens in Rust and
-- writes them in the same transaction as the patient row, so the index
-- never disagrees with the names.
--
-- `COLLATE BINARY` is SQLite's byte-wise order; the migration runner
-- writes it as `COLLATE "C"` on PostgreSQL, so both databases order tokens
-- by their UTF-8 bytes and `token >= $q AND token < $q || U+10FFFF` is an
-- index range that means exactly "starts with $q" on both.

ALTER TABLE patients ADD COLUMN local_name TEXT NOT NULL DEFAULT '';

ALTER TABLE patients ADD COLUMN name_key TEXT COLLATE BINARY NOT NULL DEFAULT '';

CREATE TABLE patient_name_tokens (
    tenant_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    token TEXT COLLATE BINARY NOT NULL,
    is_family BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, patient_id, token),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX patient_name_tokens_by_token ON patient_name_tokens (tenant_id, token, patient_id, is_family);
