-- Patient identity for the portal: one-time sign-in codes and patient
-- sessions. A code row never holds the destination or the code itself:
-- only the destination's blind index and a keyed hash of the code (HMAC
-- under the tenant's index key, salted by the row id). Unknown
-- destinations get a row too (patient_id NULL) so that answers and timing
-- do not reveal whether a patient exists; nothing is sent for them.

CREATE TABLE portal_otp_codes (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    destination_bidx TEXT NOT NULL,
    patient_id TEXT,
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT,
    superseded_at BIGINT,
    created_at BIGINT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX portal_otp_codes_by_destination ON portal_otp_codes (tenant_id, destination_bidx, created_at);

CREATE TABLE portal_sessions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    channel TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX portal_sessions_by_patient ON portal_sessions (tenant_id, patient_id);
