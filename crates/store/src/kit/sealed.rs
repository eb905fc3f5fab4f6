//! Ciphertext bound to its column by its type. A sealed value is
//! encrypted (by the app's field cipher) with additional data naming the
//! tenant, table, column and row, so a value moved to another column fails
//! to decrypt at run time; [`Sealed`] makes the same mistake a compile
//! error: a `Sealed<PatientPhone>` can only be written to, and opened as,
//! `patients.phone`.

use std::marker::PhantomData;

/// One encrypted column: its table and column name.
pub trait SealedColumn {
    const TABLE: &'static str;
    const COLUMN: &'static str;
}

/// The ciphertext of one value of column `C`, as stored.
pub struct Sealed<C: SealedColumn> {
    bytes: Vec<u8>,
    column: PhantomData<C>,
}

impl<C: SealedColumn> Sealed<C> {
    /// Ciphertext read from (or made for) column `C`.
    pub fn from_bytes(bytes: Vec<u8>) -> Sealed<C> {
        Sealed {
            bytes,
            column: PhantomData,
        }
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The stored bytes, owned (to bind into a statement).
    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

impl<C: SealedColumn> Clone for Sealed<C> {
    fn clone(&self) -> Self {
        Sealed::from_bytes(self.bytes.clone())
    }
}

impl<C: SealedColumn> PartialEq for Sealed<C> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<C: SealedColumn> std::fmt::Debug for Sealed<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Sealed({}.{}, {} bytes)",
            C::TABLE,
            C::COLUMN,
            self.bytes.len()
        )
    }
}

/// Declare encrypted columns: `Name = "table"."column";`.
#[macro_export]
macro_rules! sealed_columns {
    ($($(#[$doc:meta])* $name:ident = $table:literal . $column:literal;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub struct $name;
            impl $crate::kit::sealed::SealedColumn for $name {
                const TABLE: &'static str = $table;
                const COLUMN: &'static str = $column;
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::sealed_columns! {
        /// A test column.
        Probe = "probes"."secret";
    }

    #[test]
    fn a_sealed_value_names_its_column_and_never_its_bytes() {
        let s: Sealed<Probe> = Sealed::from_bytes(vec![1, 2, 3]);
        assert_eq!(format!("{s:?}"), "Sealed(probes.secret, 3 bytes)");
        assert_eq!(s.as_bytes(), &[1, 2, 3]);
        assert_eq!(s.clone(), s);
    }
}
