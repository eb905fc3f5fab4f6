-- Patient attachments (issue 5, item 3): reports, images and lab files.
-- The file itself lives in the blob store (object_store), encrypted under
-- the patient's data key; this row keeps its metadata. The file name can
-- be PHI and is encrypted; content type, size, digest (of the plaintext,
-- for integrity checks on download) and the storage key are not.
-- scan_status is the virus scanner's verdict (clean, skipped, ...).

CREATE TABLE attachments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    visit_id TEXT,
    file_name BLOB NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    tier TEXT NOT NULL DEFAULT 'normal',
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    scan_status TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX attachments_by_patient ON attachments (tenant_id, patient_id, uploaded_at);
