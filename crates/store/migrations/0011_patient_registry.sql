-- The full registry row (issue 5, item 1): gender identity, an estimated
-- birth date flag, street address, emergency contact and front-desk notes
-- (encrypted under the patient's data key), preferred language and
-- channel, blood group, tags (plaintext, small), marketing consent
-- (default off) and the date of death (deceased_at keeps when it was
-- recorded). Identifiers live in a child table, each value encrypted with
-- a blind index per kind for exact lookup and duplicate warnings.

ALTER TABLE patients ADD COLUMN gender_identity TEXT NOT NULL DEFAULT '';

ALTER TABLE patients ADD COLUMN birth_date_estimated BIGINT NOT NULL DEFAULT 0;

ALTER TABLE patients ADD COLUMN address BLOB;

ALTER TABLE patients ADD COLUMN emergency_contact BLOB;

ALTER TABLE patients ADD COLUMN preferred_language TEXT NOT NULL DEFAULT '';

ALTER TABLE patients ADD COLUMN preferred_channel TEXT NOT NULL DEFAULT 'none';

ALTER TABLE patients ADD COLUMN blood_group TEXT NOT NULL DEFAULT 'unknown';

ALTER TABLE patients ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

ALTER TABLE patients ADD COLUMN notes BLOB;

ALTER TABLE patients ADD COLUMN marketing_consent BIGINT NOT NULL DEFAULT 0;

ALTER TABLE patients ADD COLUMN deceased_on TEXT;

CREATE INDEX patients_by_phone_birth ON patients (tenant_id, phone_bidx, birth_date);

CREATE TABLE patient_identifiers (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BLOB NOT NULL,
    value_bidx TEXT NOT NULL,
    issuer TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX patient_identifiers_by_patient ON patient_identifiers (tenant_id, patient_id);

CREATE INDEX patient_identifiers_by_value ON patient_identifiers (tenant_id, kind, value_bidx);
