-- Name search, two words at a time: one row per pair of a patient's
-- distinct name tokens (each at least two characters, each marked when it
-- is from the family name), keyed by the first two characters of both (`crates/domain/src/name_pairs.rs` has the rule
-- and its invariants). A query of two or more words reads one key and one
-- range of complete tokens instead of walking every patient whose name
-- starts like its longest word. The app writes the pairs with the tokens,
-- in the same transaction.
--
-- WITHOUT ROWID makes the primary key the table on SQLite (one b-tree);
-- the runner drops the clause on PostgreSQL.

CREATE TABLE patient_name_pairs (
    tenant_id TEXT NOT NULL,
    pair_key TEXT COLLATE BINARY NOT NULL,
    token_a TEXT COLLATE BINARY NOT NULL,
    token_b TEXT COLLATE BINARY NOT NULL,
    patient_id TEXT NOT NULL,
    family_a BIGINT NOT NULL DEFAULT 0,
    family_b BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, pair_key, token_a, token_b, patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
) WITHOUT ROWID;

-- The pairs of the patients registered before this migration, from their
-- tokens, by the same rule as `name_pairs::patient_pairs` (a test compares
-- the two). SUBSTR and LENGTH count characters on both databases; the
-- comparison is byte-wise (the columns' collation). On PostgreSQL the
-- owner reads every tenant's tokens with row-level security relaxed for
-- this transaction only (the runner skips these two statements on SQLite).

ALTER TABLE patient_name_tokens NO FORCE ROW LEVEL SECURITY;

INSERT INTO patient_name_pairs (tenant_id, pair_key, token_a, token_b, patient_id, family_a, family_b)
SELECT x.tenant_id, SUBSTR(x.token, 1, 2) || ' ' || SUBSTR(y.token, 1, 2), x.token, y.token, x.patient_id,
    x.is_family, y.is_family
FROM patient_name_tokens x
JOIN patient_name_tokens y ON y.tenant_id = x.tenant_id AND y.patient_id = x.patient_id AND y.token <> x.token
WHERE LENGTH(x.token) >= 2 AND LENGTH(y.token) >= 2 AND SUBSTR(x.token, 1, 2) <= SUBSTR(y.token, 1, 2);

ALTER TABLE patient_name_tokens FORCE ROW LEVEL SECURITY;
