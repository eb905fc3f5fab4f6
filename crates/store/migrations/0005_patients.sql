-- The patient core the policy point decides about: the registry row
-- (names, birth date, sex and city in plaintext for search and scheduling;
-- phone and email encrypted under the patient's data key with blind
-- indexes for exact-match lookup), care relationships ("own patients"),
-- medical-history entries with a sensitivity tier, and break-the-glass
-- grants with their privacy review. The patients issue extends these.

CREATE TABLE patients (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    given_name TEXT NOT NULL,
    middle_name TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    birth_date TEXT,
    sex TEXT NOT NULL,
    city TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    phone BLOB,
    phone_bidx TEXT,
    email BLOB,
    email_bidx TEXT,
    first_branch_id TEXT,
    care_consent_at BIGINT,
    is_active BIGINT NOT NULL DEFAULT 1,
    deceased_at BIGINT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, first_branch_id) REFERENCES branches(tenant_id, id)
);

CREATE INDEX patients_by_phone ON patients (tenant_id, phone_bidx);
CREATE INDEX patients_by_email ON patients (tenant_id, email_bidx);
CREATE INDEX patients_by_family ON patients (tenant_id, family_name);

CREATE TABLE care_relationships (
    tenant_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    added_by TEXT,
    PRIMARY KEY (tenant_id, patient_id, user_id, kind),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE INDEX care_relationships_by_user ON care_relationships (tenant_id, user_id);

CREATE TABLE history_entries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    category TEXT NOT NULL,
    tier TEXT NOT NULL,
    body BLOB NOT NULL,
    branch_id TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX history_entries_by_patient ON history_entries (tenant_id, patient_id);

CREATE TABLE break_glass_grants (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    reason BLOB NOT NULL,
    started_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT,
    review_status TEXT NOT NULL DEFAULT 'pending',
    reviewed_by TEXT,
    reviewed_at BIGINT,
    review_note BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE INDEX break_glass_by_user ON break_glass_grants (tenant_id, user_id, patient_id);
