-- Abuse protection and security monitoring: security events (raised by
-- thresholds, listed on the admin security page, streamed to a SIEM),
-- which SIEM sink has received which event, per-tenant thresholds and
-- rate limits, and the networks/countries each user has signed in from.
-- Details are JSON with ids, counts and codes only, never PHI.

CREATE TABLE security_events (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    user_id TEXT,
    ip TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT NOT NULL DEFAULT '',
    occurred_at BIGINT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_security_events_at ON security_events (tenant_id, occurred_at);
CREATE INDEX idx_security_events_dedupe ON security_events (tenant_id, kind, dedupe_key, occurred_at);

CREATE TABLE security_event_deliveries (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    sink TEXT NOT NULL,
    delivered_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, event_id, sink),
    FOREIGN KEY (tenant_id, event_id) REFERENCES security_events(tenant_id, id)
);

-- One row per tenant (scope 'tenant'); the key leads with tenant_id like
-- every tenant table. Settings are a validated JSON document.
CREATE TABLE security_settings (
    tenant_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT,
    PRIMARY KEY (tenant_id, scope)
);

CREATE TABLE security_known_networks (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, kind, value),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE INDEX idx_audit_events_actor ON audit_events (tenant_id, actor_id, resource_type, at);
