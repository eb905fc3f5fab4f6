//! The patient search index and query: one row per distinct name token in
//! `patient_name_tokens`, written with the patient row, and one SQL text for
//! both databases that finds patients by name-token prefixes, exact phone
//! index, identifier (kind + blind index), sex, birth-date range and first
//! branch.
//!
//! Invariants:
//! - tokens are made by `clinicos_domain::name_search` only, so the index
//!   and the query fold names the same way;
//! - a prefix is the range `token >= $q AND token < $q || U+10FFFF` on a
//!   byte-ordered column (`COLLATE BINARY` / `COLLATE "C"`), which is an
//!   index range on `(tenant_id, token, patient_id, is_family)` on both
//!   databases; a name search scans that range for one word (the longest),
//!   in index order, checks the other words and filters on each row, and
//!   stops once [`NAME_CANDIDATES`] rows match everything: a query matching
//!   fewer patients finds every one of them (nothing is skipped), a query
//!   matching more ranks and counts the first of them in token order and
//!   the front desk types another letter (see docs/BENCHMARKS.md,
//!   "Patients");
//! - every statement is tenant-scoped (`$1`, bound by [`TenantTx::q`]).

use crate::patients::{from_row, PatientRow, COLS};
use crate::row::RowExt;
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::name_search::{self, NameParts};
use clinicos_domain::BranchId;

/// What to look for; every part that is set must hold.
#[derive(Clone, Debug, Default)]
pub struct PatientSearch {
    /// Normalised query tokens (`name_search::query_tokens`); each must be a
    /// prefix of one of the patient's name tokens.
    pub name_tokens: Vec<String>,
    pub phone_bidx: Option<String>,
    /// An identifier: its kind and the blind index of its value.
    pub identifier: Option<(String, String)>,
    pub sex: Option<String>,
    pub branch: Option<BranchId>,
    /// `YYYY-MM-DD`: born on or before (a minimum age).
    pub born_on_or_before: Option<String>,
    /// `YYYY-MM-DD`: born after (a maximum age).
    pub born_after: Option<String>,
    /// A tag the patient carries (exact, ASCII case-insensitive).
    pub tag: Option<String>,
    /// Seen at a visit at or after this instant.
    pub visited_since: Option<DateTime<Utc>>,
    /// Last visit before this instant: seen, and not since.
    pub last_visit_before: Option<DateTime<Utc>>,
}

/// `LIKE` pattern of a value inside the patient's tags (a JSON array of
/// strings): the value's JSON string form, with `LIKE`'s wildcards escaped.
fn tag_pattern(tag: &str) -> String {
    let quoted = serde_json::Value::String(tag.to_lowercase()).to_string();
    let escaped: String = quoted
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '!' => vec!['!', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// SQL text with its text parameters numbered from `$2` (`$1` is the tenant).
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<String>,
}

impl Sql {
    /// Add a parameter; returns its placeholder.
    fn arg(&mut self, value: String) -> String {
        self.args.push(value);
        format!("${}", self.args.len() + 1)
    }
}

/// Replace the patient's name tokens (after a name change).
pub async fn write_tokens(
    tx: &mut TenantTx,
    patient_id: &str,
    names: &NameParts<'_>,
) -> StoreResult<()> {
    let q = tx
        .q("DELETE FROM patient_name_tokens WHERE tenant_id = $1 AND patient_id = $2")
        .bind(patient_id.to_owned());
    tx.exec(q).await?;
    insert_tokens(tx, patient_id, names).await
}

/// Insert the name tokens of a patient that has none yet (a new row), in
/// one statement.
pub async fn insert_tokens(
    tx: &mut TenantTx,
    patient_id: &str,
    names: &NameParts<'_>,
) -> StoreResult<()> {
    let tokens = name_search::patient_tokens(names);
    if tokens.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::default();
    let pid = sql.arg(patient_id.to_owned());
    let rows: Vec<String> = tokens
        .iter()
        .map(|t| {
            let token = sql.arg(t.token.clone());
            format!("($1, {pid}, {token}, {})", i64::from(t.family))
        })
        .collect();
    sql.text = format!(
        "INSERT INTO patient_name_tokens (tenant_id, patient_id, token, is_family) VALUES {}",
        rows.join(", ")
    );
    let mut q = tx.q(&sql.text);
    for a in sql.args {
        q = q.bind(a);
    }
    tx.exec(q).await?;
    Ok(())
}

/// Recompute the name-order key and tokens of a patient whose names were
/// written without them (rows from before the index existed).
pub async fn reindex(tx: &mut TenantTx, p: &PatientRow) -> StoreResult<()> {
    let q = tx
        .q("UPDATE patients SET name_key = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(p.id.clone())
        .bind(name_search::sort_key(&p.names()));
    tx.exec(q).await?;
    write_tokens(tx, &p.id, &p.names()).await
}

/// Patients of this tenant not yet in the name index, at most `limit`.
pub async fn unindexed(tx: &mut TenantTx, limit: i64) -> StoreResult<Vec<PatientRow>> {
    let sql =
        format!("SELECT {COLS} FROM patients WHERE tenant_id = $1 AND name_key = '' LIMIT $2");
    let q = tx.q(&sql).bind(limit);
    tx.all(q).await?.iter().map(from_row).collect()
}

/// Most matching name-token rows a name search ranks: below this every
/// matching patient is found, ranked and counted; above it, `total` is at
/// most this and the first matches in token order (exact-token matches
/// first) are ranked, so the front desk refines the query instead of paging
/// through hundreds of namesakes.
pub const NAME_CANDIDATES: i64 = 500;
/// Most matches a search without a name counts (`total` is capped here).
pub const COUNT_CAP: i64 = 10_000;

/// The parts of a search statement: the WHERE clause of the non-name
/// filters on `p`; for a name search, the bounded candidate scan and the
/// relevance expression.
struct Clauses {
    filter: String,
    /// `SELECT t.patient_id ... LIMIT n`: the candidates of a name search.
    candidates: Option<String>,
    score: Option<String>,
}

/// The query word that drives the candidate scan: the longest (the most
/// selective prefix), the first of equals.
fn driving_word(tokens: &[String]) -> usize {
    let mut best = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.len() > tokens[best].len() {
            best = i;
        }
    }
    best
}

fn clauses(s: &PatientSearch, sql: &mut Sql) -> Clauses {
    let mut cond = vec!["p.tenant_id = $1".to_owned()];
    let equal = [
        ("p.phone_bidx", &s.phone_bidx),
        ("p.sex", &s.sex),
        ("p.first_branch_id", &s.branch.map(|b| b.as_text())),
    ];
    for (col, value) in equal {
        if let Some(v) = value {
            cond.push(format!("{col} = {}", sql.arg(v.clone())));
        }
    }
    if let Some((kind, bidx)) = &s.identifier {
        let (kind, bidx) = (sql.arg(kind.clone()), sql.arg(bidx.clone()));
        cond.push(format!(
            "EXISTS (SELECT 1 FROM patient_identifiers i WHERE i.tenant_id = $1 AND i.patient_id = p.id \
             AND i.kind = {kind} AND i.value_bidx = {bidx})"
        ));
    }
    if let Some(d) = &s.born_on_or_before {
        cond.push(format!("p.birth_date <= {}", sql.arg(d.clone())));
    }
    if let Some(d) = &s.born_after {
        cond.push(format!("p.birth_date > {}", sql.arg(d.clone())));
    }
    if let Some(tag) = &s.tag {
        let pat = sql.arg(tag_pattern(tag));
        cond.push(format!("LOWER(p.tags) LIKE {pat} ESCAPE '!'"));
    }
    let visit = |at: &str, op: &str| {
        format!(
            "EXISTS (SELECT 1 FROM care_relationships c WHERE c.tenant_id = $1 \
             AND c.patient_id = p.id AND c.kind = 'visit' AND c.last_at {op} CAST({at} AS BIGINT))"
        )
    };
    if let Some(t) = s.visited_since {
        let at = sql.arg(crate::row::ts(t).to_string());
        cond.push(visit(&at, ">="));
    }
    if let Some(t) = s.last_visit_before {
        let at = sql.arg(crate::row::ts(t).to_string());
        cond.push(format!("{} AND NOT {}", visit(&at, "<"), visit(&at, ">=")));
    }
    let patient_filters = cond.len() > 1;
    let filter = cond.join(" AND ");
    if s.name_tokens.is_empty() {
        return Clauses {
            filter,
            candidates: None,
            score: None,
        };
    }
    let ranges: Vec<(String, String)> = s
        .name_tokens
        .iter()
        .map(|t| {
            (
                sql.arg(t.clone()),
                sql.arg(name_search::prefix_upper_bound(t)),
            )
        })
        .collect();
    // Per query word, the best of the patient's tokens in its prefix range
    // (mirroring `name_search::score`). The range test sits inside the
    // aggregate and the WHERE names only the primary key's leading columns
    // (tenant_id, patient_id), so both databases read the candidate's few
    // tokens through the primary key instead of scanning the word's whole
    // range on the token index once per candidate.
    let best = |alias: &str, owner: &str, lo: &str, hi: &str, value: &str| {
        format!(
            "(SELECT MAX(CASE WHEN {alias}.token >= {lo} AND {alias}.token < {hi} THEN {value} END) \
             FROM patient_name_tokens {alias} WHERE {alias}.tenant_id = $1 AND {alias}.patient_id = {owner})"
        )
    };
    let score = ranges
        .iter()
        .map(|(lo, hi)| {
            best(
                "u",
                "p.id",
                lo,
                hi,
                &format!("CASE WHEN u.token = {lo} THEN 2 ELSE 0 END + u.is_family"),
            )
        })
        .collect::<Vec<_>>()
        .join(" + ");
    // One ordered range scan of the (tenant_id, token, ...) index for the
    // driving word, the other words checked per patient on the primary
    // key, stopped after NAME_CANDIDATES rows.
    let d = driving_word(&s.name_tokens);
    let mut scan = vec![
        "t.tenant_id = $1".to_owned(),
        format!("t.token >= {}", ranges[d].0),
        format!("t.token < {}", ranges[d].1),
    ];
    for (i, (lo, hi)) in ranges.iter().enumerate() {
        if i != d {
            scan.push(format!("{} = 1", best("w", "t.patient_id", lo, hi, "1")));
        }
    }
    let join = if patient_filters {
        scan.push(filter.clone());
        " JOIN patients p ON p.tenant_id = t.tenant_id AND p.id = t.patient_id"
    } else {
        ""
    };
    let candidates = format!(
        "SELECT t.patient_id FROM patient_name_tokens t{join} WHERE {} \
         ORDER BY t.token, t.patient_id LIMIT {NAME_CANDIDATES}",
        scan.join(" AND ")
    );
    Clauses {
        filter,
        candidates: Some(candidates),
        score: Some(score),
    }
}

/// The page statement and the count statement of a search, with their
/// text parameters (from `$2`; the page statement takes `limit` and
/// `offset` after them). Public so that the benchmark's raw side runs the
/// very same SQL.
pub fn statements(s: &PatientSearch) -> (String, String, Vec<String>) {
    let mut sql = Sql::default();
    let Clauses {
        filter,
        candidates,
        score,
    } = clauses(s, &mut sql);
    let lim = format!("${}", sql.args.len() + 2);
    let off = format!("${}", sql.args.len() + 3);
    let (page, count) = match (candidates, score) {
        (Some(cands), Some(score)) => (
            format!(
                "SELECT {COLS}, {score} AS score FROM patients p \
                 WHERE p.tenant_id = $1 AND p.id IN (SELECT c.patient_id FROM ({cands}) c) \
                 ORDER BY score DESC, p.name_key, p.id LIMIT {lim} OFFSET {off}"
            ),
            format!("SELECT COUNT(DISTINCT c.patient_id) AS n FROM ({cands}) c"),
        ),
        _ => (
            format!(
                "SELECT {COLS}, 0 AS score FROM patients p WHERE {filter} \
                 ORDER BY p.created_at DESC, p.id DESC LIMIT {lim} OFFSET {off}"
            ),
            format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM patients p WHERE {filter} \
                 LIMIT {COUNT_CAP}) c"
            ),
        ),
    };
    (page, count, sql.args)
}

/// A page of matching patients and the number of matches (at most
/// [`NAME_CANDIDATES`] distinct patients for a name search, at most
/// [`COUNT_CAP`] otherwise). A name search ranks by relevance, then name
/// order; otherwise newest first.
pub async fn search(
    tx: &mut TenantTx,
    s: &PatientSearch,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<PatientRow>, i64)> {
    let (page_sql, count_sql, args) = statements(s);
    let mut q = tx.q(&page_sql);
    for a in &args {
        q = q.bind(a.clone());
    }
    let rows = tx.all(q.bind(limit).bind(offset)).await?;
    let mut q = tx.q(&count_sql);
    for a in args {
        q = q.bind(a);
    }
    let total = tx.one(q).await?.int("n")?;
    Ok((
        rows.iter().map(from_row).collect::<StoreResult<_>>()?,
        total,
    ))
}
