-- Expiring share links for a patient's report (issue 5, item 3; seed 000
-- §7). Only the SHA-256 of the token is stored: a leaked database or
-- backup cannot be turned into working links. A link names one
-- attachment; it stops at expires_at or when revoked_at is set. Each use
-- is counted here and audited (share_link.used, naming the link id).

CREATE TABLE share_links (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    attachment_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT,
    use_count BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id),
    FOREIGN KEY (tenant_id, attachment_id) REFERENCES attachments(tenant_id, id)
);

CREATE INDEX share_links_by_patient ON share_links (tenant_id, patient_id, created_at);
