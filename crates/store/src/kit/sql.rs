//! Statements whose text is built at run time (a variable number of rows
//! or clauses): the text and its parameters, numbered after the tenant.

use crate::{StoreResult, TenantTx};

/// SQL text with its text parameters numbered from `$2` (`$1` is the tenant).
#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<String>,
}

impl Sql {
    /// Add a parameter; returns its placeholder.
    pub(crate) fn arg(&mut self, value: String) -> String {
        self.args.push(value);
        format!("${}", self.args.len() + 1)
    }

    /// Execute the statement with its parameters.
    pub(crate) async fn run(self, tx: &mut TenantTx) -> StoreResult<()> {
        let mut q = tx.q(&self.text);
        for a in self.args {
            q = q.bind(a);
        }
        tx.exec(q).await?;
        Ok(())
    }
}
