//! A row declared once: [`table_row!`] turns one list of columns into the
//! row struct, its column list, its read (`from_row`) and the binds and
//! text of its INSERT and UPDATE, so a column is added in one place (plus
//! its migration). Each column's stored form is its type's [`Column`]
//! impl: text, flags as 0/1, timestamps as microseconds, ciphertext as
//! bytes, typed ids as hyphenated lower-case text (see `row.rs`).

use crate::kit::row::{ts, RowExt};
use crate::kit::sealed::{Sealed, SealedColumn};
use crate::StoreResult;
use chrono::{DateTime, Utc};
use sqlx::any::{AnyArguments, AnyRow};

/// A statement with its arguments, as `TenantTx::q` makes it.
pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>>;

/// How a value is stored in one column: read from a row by the column's
/// name, bound as the next parameter.
pub trait Column: Sized {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self>;
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q>;
}

impl Column for String {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        r.text(col)
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.clone())
    }
}

impl Column for Option<String> {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        r.opt_text(col)
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.clone())
    }
}

impl Column for i64 {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        r.int(col)
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(*self)
    }
}

impl Column for Option<i64> {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        r.opt_int(col)
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(*self)
    }
}

/// A flag: 0 or 1 (BIGINT on both databases).
impl Column for bool {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        r.flag(col)
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(i64::from(*self))
    }
}

/// A time: microseconds since the epoch.
impl Column for DateTime<Utc> {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        r.time(col)
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(ts(*self))
    }
}

impl Column for Option<DateTime<Utc>> {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        r.opt_time(col)
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.map(ts))
    }
}

/// Ciphertext of column `C` (an absent value reads as empty ciphertext).
impl<C: SealedColumn> Column for Sealed<C> {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        Ok(Sealed::from_bytes(r.bytes(col)?.unwrap_or_default()))
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.to_vec())
    }
}

impl<C: SealedColumn> Column for Option<Sealed<C>> {
    fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
        Ok(r.bytes(col)?.map(Sealed::from_bytes))
    }
    fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.as_ref().map(Sealed::to_vec))
    }
}

/// Every typed id: hyphenated lower-case text.
macro_rules! id_columns {
    ($($id:ty),* $(,)?) => {
        $(
            impl Column for $id {
                fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
                    r.parse(col)
                }
                fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
                    q.bind(self.as_text())
                }
            }

            /// An optional id; one that does not parse reads as none.
            impl Column for Option<$id> {
                fn read(r: &AnyRow, col: &str) -> StoreResult<Self> {
                    Ok(r.opt_text(col)?.and_then(|v| v.parse().ok()))
                }
                fn bind<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
                    q.bind(self.map(|id| id.as_text()))
                }
            }
        )*
    };
}

clinicos_domain::every_id!(id_columns);

/// What the statements of a row are made from: its table, key column,
/// columns (each with whether it is fixed once inserted) and derived
/// columns, in order.
pub struct RowShape {
    pub table: &'static str,
    pub key: &'static str,
    pub columns: &'static [(&'static str, bool)],
    pub derived: &'static [&'static str],
}

impl RowShape {
    /// `INSERT INTO table (tenant_id, key, columns..., derived...) VALUES
    /// ($1, ...)`.
    pub fn insert_statement(&self) -> String {
        let mut names = vec!["tenant_id", self.key];
        names.extend(self.columns.iter().map(|(c, _)| *c));
        names.extend_from_slice(self.derived);
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table,
            names.join(", "),
            marks.join(", ")
        )
    }

    /// `UPDATE table SET column = $3, ..., derived = $n WHERE tenant_id =
    /// $1 AND key = $2`, over the columns not fixed.
    pub fn update_statement(&self) -> String {
        let changing = self
            .columns
            .iter()
            .filter(|(_, fixed)| !fixed)
            .map(|(c, _)| *c)
            .chain(self.derived.iter().copied());
        let sets: Vec<String> = changing
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 3))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE tenant_id = $1 AND {} = $2",
            self.table,
            sets.join(", "),
            self.key
        )
    }
}

/// Declare a table's row once:
///
/// ```ignore
/// table_row! {
///     /// A patient's registry row.
///     pub struct PatientRow in "patients" {
///         key id: PatientId,
///         /// Written by the insert, never by the update.
///         @fixed created_at: DateTime<Utc>,
///         given_name: String,
///     }
///     /// Columns computed from the row when it is written.
///     derived { name_key = |p: &PatientRow| sort_key(&p.names()); }
///     /// Columns that statements of their own write and read.
///     elsewhere [photo_id, merged_into]
/// }
/// ```
///
/// makes the struct (every field `pub`), and on it `COLS` (the
/// columns a whole row is read from, in order), `SCHEMA` (every column of
/// the table, for the schema test), `from_row`, `insert_sql` and
/// `update_sql` (built once), and `bind_insert` / `bind_update`, which bind
/// `$2...` of those statements in their order (`TenantTx::q` binds the
/// tenant as `$1`). Every field's type implements [`Column`].
macro_rules! table_row {
    (
        $(#[$row_meta:meta])*
        pub struct $row:ident in $table:literal {
            $(#[$key_meta:meta])*
            key $key:ident : $key_type:ty,
            $(
                $(#[$meta:meta])*
                $(@$mark:ident)? $field:ident : $type:ty,
            )*
        }
        $(#[$derived_meta:meta])*
        derived { $( $derived:ident = $derive:expr; )* }
        $(#[$elsewhere_meta:meta])*
        elsewhere [ $( $elsewhere:ident ),* $(,)? ]
    ) => {
        $(#[$row_meta])*
        #[derive(Clone, Debug)]
        pub struct $row {
            $(#[$key_meta])*
            pub $key: $key_type,
            $(
                $(#[$meta])*
                pub $field: $type,
            )*
        }

        impl $row {
            /// The columns a whole row is read from, in declaration order.
            pub const COLS: &'static str =
                concat!(stringify!($key) $(, ", ", stringify!($field))*);
            /// What the statements are made from.
            const SHAPE: $crate::kit::column::RowShape = $crate::kit::column::RowShape {
                table: $table,
                key: stringify!($key),
                columns: &[$((stringify!($field), $crate::kit::column::fixed!($($mark)?)),)*],
                derived: &[$(stringify!($derived)),*],
            };
            /// Every column of the table: the tenant, the row's, the
            /// derived ones and those written by statements of their own.
            pub const SCHEMA: &'static [&'static str] = &[
                "tenant_id",
                stringify!($key),
                $(stringify!($field),)*
                $(stringify!($derived),)*
                $(stringify!($elsewhere),)*
            ];

            /// Read a row selected with [`Self::COLS`].
            pub fn from_row(r: &sqlx::any::AnyRow) -> $crate::StoreResult<Self> {
                use $crate::kit::column::Column;
                Ok(Self {
                    $key: Column::read(r, stringify!($key))?,
                    $($field: Column::read(r, stringify!($field))?,)*
                })
            }

            /// The INSERT of a whole row (built once).
            pub fn insert_sql() -> &'static str {
                $crate::kit::column::built_once!($row::SHAPE.insert_statement())
            }

            /// The UPDATE of every column not fixed (built once).
            pub fn update_sql() -> &'static str {
                $crate::kit::column::built_once!($row::SHAPE.update_statement())
            }

            /// Bind `$2...` of [`Self::insert_sql`].
            pub fn bind_insert<'q>(
                &self,
                q: $crate::kit::column::AnyQuery<'q>,
            ) -> $crate::kit::column::AnyQuery<'q> {
                self.bind_columns(q, true)
            }

            /// Bind `$2...` of [`Self::update_sql`].
            pub fn bind_update<'q>(
                &self,
                q: $crate::kit::column::AnyQuery<'q>,
            ) -> $crate::kit::column::AnyQuery<'q> {
                self.bind_columns(q, false)
            }

            /// The key, the columns (the fixed ones only when inserting)
            /// and the derived columns, in the statements' order.
            fn bind_columns<'q>(
                &self,
                q: $crate::kit::column::AnyQuery<'q>,
                inserting: bool,
            ) -> $crate::kit::column::AnyQuery<'q> {
                use $crate::kit::column::Column;
                let q = self.$key.bind(q);
                $(
                    let q = if inserting || !$crate::kit::column::fixed!($($mark)?) {
                        self.$field.bind(q)
                    } else {
                        q
                    };
                )*
                $(let q = ($derive)(self).bind(q);)*
                q
            }
        }
    };
}

/// A statement's text, built the first time it is asked for.
macro_rules! built_once {
    ($text:expr) => {{
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| $text);
        &SQL
    }};
}

/// `@fixed` (written by the insert only) or not.
macro_rules! fixed {
    (fixed) => {
        true
    };
    () => {
        false
    };
}

pub(crate) use {built_once, fixed, table_row};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_their_parameters_in_order() {
        let shape = RowShape {
            table: "things",
            key: "id",
            columns: &[("made", true), ("name", false), ("seen", false)],
            derived: &["key"],
        };
        assert_eq!(
            shape.insert_statement(),
            "INSERT INTO things (tenant_id, id, made, name, seen, key) VALUES ($1, $2, $3, $4, $5, $6)"
        );
        assert_eq!(
            shape.update_statement(),
            "UPDATE things SET name = $3, seen = $4, key = $5 WHERE tenant_id = $1 AND id = $2"
        );
    }
}
