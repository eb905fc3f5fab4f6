//! Writing the name index: a patient's name tokens (`patient_name_tokens`)
//! and word pairs (`patient_name_pairs`), in the transaction that writes the
//! names. The query side is `patients/search.rs`.

use crate::kit::row::RowExt;
use crate::kit::sql::Sql;
use crate::{StoreResult, TenantTx};
use clinicos_domain::patients::search::{self as name_search, NameParts, NameToken};
use clinicos_domain::patients::search_pairs as name_pairs;
use clinicos_domain::PatientId;

/// Replace the patient's name tokens and pairs (after a name change, a
/// merge or its undo).
pub async fn write_tokens(
    tx: &mut TenantTx,
    patient_id: PatientId,
    names: &NameParts<'_>,
) -> StoreResult<()> {
    // The pairs derive from the tokens, so the stored tokens name the pair
    // rows to delete, each by its whole primary key.
    let q = tx
        .q("SELECT token, is_family FROM patient_name_tokens WHERE tenant_id = $1 AND patient_id = $2")
        .bind(patient_id.as_text());
    let old = tx
        .all(q)
        .await?
        .iter()
        .map(|r| {
            Ok(NameToken {
                token: r.text("token")?,
                family: r.int("is_family")? != 0,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    for p in name_pairs::patient_pairs(&old) {
        let q = tx
            .q(
                "DELETE FROM patient_name_pairs WHERE tenant_id = $1 AND pair_key = $2 \
                AND token_a = $3 AND token_b = $4 AND patient_id = $5",
            )
            .bind(p.key)
            .bind(p.a)
            .bind(p.b)
            .bind(patient_id.as_text());
        tx.exec(q).await?;
    }
    let q = tx
        .q("DELETE FROM patient_name_tokens WHERE tenant_id = $1 AND patient_id = $2")
        .bind(patient_id.as_text());
    tx.exec(q).await?;
    insert_tokens(tx, patient_id, names).await
}

/// The columns of a name-token row, as [`insert_tokens`] writes them.
pub const TOKEN_COLS: &str = "tenant_id, patient_id, token, is_family";

/// The columns of a name-pair row, as [`insert_tokens`] writes them.
pub const PAIR_COLS: &str = "tenant_id, pair_key, token_a, token_b, patient_id, family_a, family_b";

/// Insert the name tokens and pairs of a patient that has none yet (a new
/// row): one statement each.
pub async fn insert_tokens(
    tx: &mut TenantTx,
    patient_id: PatientId,
    names: &NameParts<'_>,
) -> StoreResult<()> {
    let tokens = name_search::patient_tokens(names);
    if tokens.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::default();
    let pid = sql.arg(patient_id.as_text());
    let rows: Vec<String> = tokens
        .iter()
        .map(|t| {
            let token = sql.arg(t.token.clone());
            format!("($1, {pid}, {token}, {})", i64::from(t.family))
        })
        .collect();
    sql.text = format!(
        "INSERT INTO patient_name_tokens ({TOKEN_COLS}) VALUES {}",
        rows.join(", ")
    );
    sql.run(tx).await?;
    let pairs = name_pairs::patient_pairs(&tokens);
    if pairs.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::default();
    let pid = sql.arg(patient_id.as_text());
    let rows: Vec<String> = pairs
        .into_iter()
        .map(|p| {
            let (key, a, b) = (sql.arg(p.key), sql.arg(p.a), sql.arg(p.b));
            let (fa, fb) = (i64::from(p.a_family), i64::from(p.b_family));
            format!("($1, {key}, {a}, {b}, {pid}, {fa}, {fb})")
        })
        .collect();
    sql.text = format!(
        "INSERT INTO patient_name_pairs ({PAIR_COLS}) VALUES {}",
        rows.join(", ")
    );
    sql.run(tx).await
}
