-- Patient photos and family links (issue 5, items 1 and 2).
-- The photo itself lives in the blob store, encrypted under the patient's
-- data key and bound to photo_id; the row keeps which photo is current,
-- its sniffed content type, size and the digest of the plaintext (checked
-- on every read). patient_links joins a responsible patient (parent or
-- legal guardian) to a dependant in the same tenant; a guardian of a
-- dependent adult is flagged, and an adolescent's consent to the
-- responsible patient's portal access is recorded with its time.

ALTER TABLE patients ADD COLUMN photo_id TEXT;

ALTER TABLE patients ADD COLUMN photo_type TEXT;

ALTER TABLE patients ADD COLUMN photo_size BIGINT;

ALTER TABLE patients ADD COLUMN photo_sha256 TEXT;

CREATE TABLE patient_links (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    dependant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    dependent_adult BIGINT NOT NULL DEFAULT 0,
    adolescent_consent_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, patient_id, dependant_id, kind),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id),
    FOREIGN KEY (tenant_id, dependant_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX patient_links_by_dependant ON patient_links (tenant_id, dependant_id);
