-- Policy as data: a tenant may replace a role's default permission bundle
-- (the defaults live in code, from docs/PERMISSIONS.md), grant single
-- permissions to one user, and set the attribute and consent knobs the
-- policy point reads.

ALTER TABLE tenants ADD COLUMN own_patient_window_months BIGINT NOT NULL DEFAULT 24;
ALTER TABLE tenants ADD COLUMN break_glass_minutes BIGINT NOT NULL DEFAULT 60;
ALTER TABLE tenants ADD COLUMN consent_policy TEXT NOT NULL DEFAULT 'implied';
ALTER TABLE tenants ADD COLUMN clinical_cross_branch BIGINT NOT NULL DEFAULT 1;

CREATE TABLE role_bundles (
    tenant_id TEXT NOT NULL,
    role TEXT NOT NULL,
    permissions TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role),
    FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id)
);

CREATE TABLE user_grants (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    permission TEXT NOT NULL,
    reason TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE INDEX user_grants_by_user ON user_grants (tenant_id, user_id);
