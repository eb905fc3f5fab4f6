//! The additional authenticated data of a field ciphertext: tenant, table,
//! column and row id, length-prefixed under a domain label so that no two
//! different contexts produce the same bytes.

/// Where a field value lives. Decryption succeeds only with the exact
/// context the value was encrypted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldContext<'a> {
    pub tenant: &'a str,
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
}

impl FieldContext<'_> {
    /// The canonical additional-data bytes.
    pub fn aad(&self) -> Vec<u8> {
        labelled(
            "clinicos.field.v1",
            &[self.tenant, self.table, self.column, self.row_id],
        )
    }
}

/// `label` followed by each part as a 4-byte big-endian length and bytes.
pub fn labelled(label: &str, parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for p in std::iter::once(&label).chain(parts.iter()) {
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(p.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cannot_run_into_each_other() {
        let a = FieldContext {
            tenant: "t",
            table: "ab",
            column: "c",
            row_id: "r",
        };
        let b = FieldContext {
            tenant: "t",
            table: "a",
            column: "bc",
            row_id: "r",
        };
        assert_ne!(a.aad(), b.aad());
    }
}
