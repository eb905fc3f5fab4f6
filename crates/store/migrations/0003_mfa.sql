-- Stronger sign-in: TOTP second factor with single-use recovery codes,
-- short-lived MFA challenges between password and code, staff device
-- approval, and the tenant settings that switch them on.
-- Secrets and codes are stored as hashes, except the TOTP secret itself,
-- which the server needs to compute codes (field encryption wraps it once
-- the crypto crate lands).

ALTER TABLE tenants ADD COLUMN mfa_required_roles TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN device_approval BIGINT NOT NULL DEFAULT 0;

CREATE TABLE mfa_totp (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE TABLE mfa_recovery_codes (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE TABLE mfa_challenges (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    device_id TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT mfa_challenges_unique_token UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE TABLE staff_devices (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT staff_devices_unique_device UNIQUE (tenant_id, user_id, device_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);
CREATE INDEX idx_staff_devices_status ON staff_devices (tenant_id, status);
