-- Name search scores each candidate patient from its own few tokens: an
-- index on (tenant_id, patient_id, token, is_family) that covers that
-- read on both databases. Without it SQLite (which has no statistics
-- unless ANALYZE runs) prefers the covering token index with only
-- tenant_id bound, i.e. a scan of the tenant's whole token list per
-- candidate (docs/BENCHMARKS.md, "Patients").

CREATE INDEX patient_name_tokens_by_patient ON patient_name_tokens (tenant_id, patient_id, token, is_family);
