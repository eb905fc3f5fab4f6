-- Structured clinical records: allergies, chronic conditions and current
-- medications. Each row records who recorded it, when, at which branch, and
-- its sensitivity tier. The clinical content (substance, reaction, names,
-- codes, doses, notes) is encrypted under the patient's data key (BLOB);
-- only enums, dates, status and ids are plaintext.

CREATE TABLE allergies (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    tier TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT,
    status TEXT NOT NULL,
    substance BLOB NOT NULL,
    reaction BLOB,
    note BLOB,
    branch_id TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX allergies_by_patient ON allergies (tenant_id, patient_id);

CREATE TABLE conditions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    tier TEXT NOT NULL,
    status TEXT NOT NULL,
    onset_date TEXT,
    resolved_date TEXT,
    name BLOB NOT NULL,
    code BLOB,
    note BLOB,
    branch_id TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX conditions_by_patient ON conditions (tenant_id, patient_id);

CREATE TABLE medications (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    tier TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT,
    stop_date TEXT,
    name BLOB NOT NULL,
    dose BLOB,
    frequency BLOB,
    route BLOB,
    note BLOB,
    branch_id TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX medications_by_patient ON medications (tenant_id, patient_id);
