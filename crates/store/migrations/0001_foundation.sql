-- Foundation: platform tables (regions, plans, tenant directory, operators,
-- shared counters, secrets) and the first tenant-owned tables (tenants,
-- branches, users and their roles/branches, sessions, password resets,
-- development outbox, audit events).
-- Types are portable: TEXT ids, BIGINT microsecond timestamps and 0/1 flags,
-- BLOB (BYTEA on PostgreSQL) bytes.

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    database_url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE plans (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    max_branches BIGINT NOT NULL,
    max_staff BIGINT NOT NULL,
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tenant_directory (
    tenant_id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    plan_code TEXT NOT NULL REFERENCES plans(code),
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret BLOB,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE operator_sessions (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(id),
    secret_hash TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE rate_counters (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    locked_until BIGINT
);

CREATE TABLE platform_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tenants (
    tenant_id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    legal_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    logo BLOB,
    logo_mime TEXT,
    address_line TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL,
    home_region TEXT NOT NULL,
    default_locale TEXT NOT NULL,
    default_currency TEXT NOT NULL,
    default_time_zone TEXT NOT NULL,
    subscription_status TEXT NOT NULL,
    plan_code TEXT NOT NULL,
    idle_timeout_minutes BIGINT NOT NULL DEFAULT 15,
    absolute_timeout_minutes BIGINT NOT NULL DEFAULT 720,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE branches (
    tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id),
    id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    address_line TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    currency TEXT NOT NULL,
    gstin TEXT,
    vat_id TEXT,
    tin TEXT,
    working_hours TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT branches_unique_code UNIQUE (tenant_id, code)
);

CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    avatar BLOB,
    avatar_mime TEXT,
    languages TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL,
    registration_number TEXT,
    registration_council TEXT,
    qualifications TEXT,
    specialisation TEXT,
    health_professional_id TEXT,
    signature BLOB,
    signature_mime TEXT,
    password_hash TEXT NOT NULL,
    is_active BIGINT NOT NULL DEFAULT 1,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_unique_email UNIQUE (tenant_id, email)
);

CREATE TABLE user_roles (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE TABLE user_branches (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    branch_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, branch_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches(tenant_id, id)
);

CREATE TABLE sessions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    refresh_hash TEXT,
    csrf_token TEXT NOT NULL,
    branch_id TEXT,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id),
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches(tenant_id, id)
);
CREATE INDEX idx_sessions_user ON sessions (tenant_id, user_id, revoked_at);
CREATE UNIQUE INDEX idx_sessions_refresh ON sessions (tenant_id, refresh_hash);

CREATE TABLE password_resets (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT password_resets_unique_token UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE TABLE outbox_messages (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE audit_events (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor_id TEXT,
    actor_roles TEXT NOT NULL DEFAULT '',
    branch_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_ids TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT 'operations',
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_audit_events_at ON audit_events (tenant_id, at);
