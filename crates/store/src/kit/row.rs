//! Column encodings shared by every repository: timestamps as microseconds,
//! ids as text, flags as 0/1. One place, so both databases agree.

use crate::StoreError;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;

/// Microseconds since the epoch, the stored form of a timestamp.
pub fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Read back a stored timestamp.
pub fn from_ts(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Typed column access with errors that name the column.
pub trait RowExt {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, col: &str) -> Result<bool, StoreError>;
    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError>;
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn parse<T: FromStr>(&self, col: &str) -> Result<T, StoreError>;
}

fn col_err(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {col}: {e}"))
}

impl RowExt for AnyRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.try_get::<String, _>(col).map_err(|e| col_err(col, e))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.try_get::<Option<String>, _>(col)
            .map_err(|e| col_err(col, e))
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.try_get::<i64, _>(col).map_err(|e| col_err(col, e))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.try_get::<Option<i64>, _>(col)
            .map_err(|e| col_err(col, e))
    }
    fn flag(&self, col: &str) -> Result<bool, StoreError> {
        Ok(self.int(col)? != 0)
    }
    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        Ok(from_ts(self.int(col)?))
    }
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.opt_int(col)?.map(from_ts))
    }
    fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.try_get::<Option<Vec<u8>>, _>(col)
            .map_err(|e| col_err(col, e))
    }
    fn parse<T: FromStr>(&self, col: &str) -> Result<T, StoreError> {
        let s = self.text(col)?;
        s.parse::<T>()
            .map_err(|_| col_err(col, "unparseable value"))
    }
}
