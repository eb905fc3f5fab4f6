-- An audit trail only ClinicOS can extend (docs/SECURITY.md, "Audit
-- trail: threat model").
--
-- audit_events.mac: HMAC-SHA256 of the event's fields under a key derived
-- from the audit root (a platform secret wrapped by the master key), written
-- by the audit writer in the event's own transaction. Rows from before this
-- migration have none (NULL).
--
-- audit_chain.format: 1 = the unkeyed SHA-256 links sealed before this
-- migration (kept, anchored by their Ed25519 checkpoints); 2 = links keyed
-- with HMAC-SHA256 under the link key. The sealer writes only 2.
--
-- audit_legacy_events: the events that were committed but not yet sealed
-- when this migration ran, so carry no MAC through no fault of their own.
-- Written here, by the database owner, and read-only for the application
-- role (PostgreSQL: no INSERT/UPDATE/DELETE grant; SQLite: triggers), so an
-- event inserted later without a MAC cannot pass as one of them. The sealer
-- links them as legacy events; every other event without a valid MAC is
-- refused.
--
-- audit_rejections: events the sealer refused (no MAC, or a MAC that does
-- not match), so they are not offered to it again; append-only.
-- `clinicos audit verify` re-checks every row here (a refusal of an event
-- whose MAC is valid was written around the sealer and is reported too).

ALTER TABLE audit_events ADD COLUMN mac BLOB;

ALTER TABLE audit_chain ADD COLUMN format BIGINT NOT NULL DEFAULT 1;

CREATE TABLE audit_legacy_events (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES audit_events(tenant_id, id)
);

CREATE TABLE audit_rejections (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    rejected_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES audit_events(tenant_id, id)
);

-- The owner reads every tenant's events with row-level security relaxed
-- for this transaction only (the runner skips these statements on SQLite).

ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY;

ALTER TABLE audit_chain NO FORCE ROW LEVEL SECURITY;

INSERT INTO audit_legacy_events (tenant_id, event_id)
SELECT e.tenant_id, e.id FROM audit_events e
LEFT JOIN audit_chain c ON c.tenant_id = e.tenant_id AND c.event_id = e.id
WHERE c.event_id IS NULL;

ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;

ALTER TABLE audit_chain FORCE ROW LEVEL SECURITY;
