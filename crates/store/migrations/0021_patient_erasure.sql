-- Patient erasure (issue 16, docs/SECURITY.md "Erasure").
--
-- An erased patient keeps a shell row in `patients` (so the audit trail,
-- emergency-access reviews and merge history that name its id keep their
-- foreign keys): every demographic column blanked, every sealed column and
-- blind index NULL, inactive, `erased_at` set. Its name tokens and pairs,
-- identifiers, clinical records, attachments, share links, family links,
-- care relationships, portal codes and sessions, outbox messages and legal
-- holds are deleted; its data key is destroyed in the key store (which also
-- remembers the erasure, so a restored backup of this database is erased
-- again at start-up).
--
-- patient_erasures is the tombstone: who erased the record, when and why
-- (a reason code and the request's reference, never health data). A link to
-- the id answers 410 Gone.
--
-- patient_legal_holds: while a hold is placed (not released) the patient
-- cannot be erased. The reason is sealed under the patient's data key.

ALTER TABLE patients ADD COLUMN erased_at BIGINT;

CREATE TABLE patient_erasures (
    tenant_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    erased_at BIGINT NOT NULL,
    erased_by TEXT,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    keys_destroyed_at BIGINT,
    PRIMARY KEY (tenant_id, patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE TABLE patient_legal_holds (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    reason BLOB NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    released_by TEXT,
    released_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients(tenant_id, id)
);

CREATE INDEX patient_legal_holds_by_patient ON patient_legal_holds (tenant_id, patient_id);
