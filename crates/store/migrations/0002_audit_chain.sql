-- Tamper evidence for the audit trail: the sealer appends each committed
-- event to a per-tenant hash chain (audit_chain) and signs periodic
-- checkpoints. Audit tables are append-only: SQLite triggers refuse UPDATE
-- and DELETE; on PostgreSQL the application role has no UPDATE/DELETE grant.

CREATE TABLE audit_chain (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sealed_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    CONSTRAINT audit_chain_unique_event UNIQUE (tenant_id, event_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES audit_events(tenant_id, id)
);

CREATE TABLE audit_checkpoints (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
