-- Merging duplicate patient records (issue 5, item 2). The merged record
-- stays, marked merged_into the survivor, so its id keeps resolving.
-- patient_merges records each merge (the reason encrypted under the
-- survivor's data key); patient_merge_moves lists exactly which rows a
-- merge moved or copied (table, row key, and what undo needs: the old
-- storage key of a re-encrypted file, the side of a link), so undo puts
-- back exactly those rows.

ALTER TABLE patients ADD COLUMN merged_into TEXT;

ALTER TABLE patients ADD COLUMN merged_at BIGINT;

CREATE TABLE patient_merges (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    survivor_id TEXT NOT NULL,
    merged_id TEXT NOT NULL,
    reason BLOB NOT NULL,
    merged_by TEXT NOT NULL,
    merged_at BIGINT NOT NULL,
    undone_by TEXT,
    undone_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, survivor_id) REFERENCES patients(tenant_id, id),
    FOREIGN KEY (tenant_id, merged_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX patient_merges_by_survivor ON patient_merges (tenant_id, survivor_id);

CREATE INDEX patient_merges_by_merged ON patient_merges (tenant_id, merged_id);

CREATE TABLE patient_merge_moves (
    tenant_id TEXT NOT NULL,
    merge_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_key TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, merge_id, table_name, row_key),
    FOREIGN KEY (tenant_id, merge_id) REFERENCES patient_merges(tenant_id, id)
);
