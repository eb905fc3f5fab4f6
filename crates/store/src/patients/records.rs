//! Structured clinical records (allergies, conditions, medications): one
//! shape for the three tables. Every row has an id, its patient, a
//! sensitivity tier, the recording branch, author and times; the rest are
//! `plain` columns (enums, dates, status) and `sealed` columns (ciphertext,
//! encrypted and decrypted by the app layer). The column lists are static,
//! so the SQL built from them is fixed text.

use crate::kit::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{BranchId, PatientId, RecordId, UserId};
use sqlx::any::AnyRow;

/// A table of clinical records and its columns.
#[derive(Debug)]
pub struct RecordTable {
    pub table: &'static str,
    /// Plaintext TEXT columns (enums, dates, status).
    pub plain: &'static [&'static str],
    /// Encrypted BLOB columns.
    pub sealed: &'static [&'static str],
}

pub const ALLERGIES: RecordTable = RecordTable {
    table: "allergies",
    plain: &["category", "severity", "status"],
    sealed: &["substance", "reaction", "note"],
};

pub const CONDITIONS: RecordTable = RecordTable {
    table: "conditions",
    plain: &["status", "onset_date", "resolved_date"],
    sealed: &["name", "code", "note"],
};

pub const MEDICATIONS: RecordTable = RecordTable {
    table: "medications",
    plain: &["status", "start_date", "stop_date"],
    sealed: &["name", "dose", "frequency", "route", "note"],
};

/// One record; `plain` and `sealed` follow the table's column order.
#[derive(Clone, Debug)]
pub struct RecordRow {
    pub id: RecordId,
    pub patient_id: PatientId,
    pub sensitivity: String,
    pub plain: Vec<Option<String>>,
    pub sealed: Vec<Option<Vec<u8>>>,
    pub branch_id: Option<BranchId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RecordTable {
    /// The columns every read and insert of this table names, in order.
    pub fn columns(&self) -> String {
        let mut cols = vec!["id", "patient_id", "tier"];
        cols.extend_from_slice(self.plain);
        cols.extend_from_slice(self.sealed);
        cols.extend_from_slice(&["branch_id", "recorded_by", "recorded_at", "updated_at"]);
        cols.join(", ")
    }

    fn row(&self, r: &AnyRow) -> StoreResult<RecordRow> {
        Ok(RecordRow {
            id: r.parse("id")?,
            patient_id: r.parse("patient_id")?,
            sensitivity: r.text("tier")?,
            plain: self
                .plain
                .iter()
                .map(|c| r.opt_text(c))
                .collect::<StoreResult<_>>()?,
            sealed: self
                .sealed
                .iter()
                .map(|c| r.bytes(c))
                .collect::<StoreResult<_>>()?,
            branch_id: r.opt_text("branch_id")?.and_then(|b| b.parse().ok()),
            recorded_by: r.parse("recorded_by")?,
            recorded_at: r.time("recorded_at")?,
            updated_at: r.time("updated_at")?,
        })
    }

    pub async fn insert(&self, tx: &mut TenantTx, row: &RecordRow) -> StoreResult<()> {
        let n = 3 + self.plain.len() + self.sealed.len() + 4;
        let params: Vec<String> = (1..=n + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} (tenant_id, {}) VALUES ({})",
            self.table,
            self.columns(),
            params.join(", ")
        );
        let mut q = tx
            .q(&sql)
            .bind(row.id.as_text())
            .bind(row.patient_id.as_text())
            .bind(row.sensitivity.clone());
        for v in &row.plain {
            q = q.bind(v.clone());
        }
        for v in &row.sealed {
            q = q.bind(v.clone());
        }
        let q = q
            .bind(row.branch_id.map(|b| b.as_text()))
            .bind(row.recorded_by.as_text())
            .bind(ts(row.recorded_at))
            .bind(ts(row.updated_at));
        tx.exec(q).await?;
        Ok(())
    }

    /// The statement of [`RecordTable::list`]: a patient's (`$2`) records,
    /// newest first.
    pub fn list_sql(&self) -> String {
        format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND patient_id = $2 \
             ORDER BY recorded_at DESC, id DESC",
            self.columns(),
            self.table
        )
    }

    /// A patient's records, newest first.
    pub async fn list(&self, tx: &mut TenantTx, patient: PatientId) -> StoreResult<Vec<RecordRow>> {
        let sql = self.list_sql();
        let q = tx.q(&sql).bind(patient.as_text());
        tx.all(q).await?.iter().map(|r| self.row(r)).collect()
    }

    pub async fn get(
        &self,
        tx: &mut TenantTx,
        patient: PatientId,
        id: RecordId,
    ) -> StoreResult<RecordRow> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND patient_id = $2 AND id = $3",
            self.columns(),
            self.table
        );
        let q = tx.q(&sql).bind(patient.as_text()).bind(id.as_text());
        self.row(&tx.opt(q).await?.ok_or(StoreError::NotFound)?)
    }

    /// Replace a record's content (plain and sealed columns) and stamp it.
    pub async fn update(&self, tx: &mut TenantTx, row: &RecordRow) -> StoreResult<()> {
        let sets: Vec<String> = self
            .plain
            .iter()
            .chain(self.sealed.iter())
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 4))
            .collect();
        let sql = format!(
            "UPDATE {} SET updated_at = $3, {} WHERE tenant_id = $1 AND id = $2",
            self.table,
            sets.join(", ")
        );
        let mut q = tx.q(&sql).bind(row.id.as_text()).bind(ts(row.updated_at));
        for v in &row.plain {
            q = q.bind(v.clone());
        }
        for v in &row.sealed {
            q = q.bind(v.clone());
        }
        tx.exec(q).await?;
        Ok(())
    }
}
