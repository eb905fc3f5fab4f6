//! The patient search index and query: one row per distinct name token in
//! `patient_name_tokens`, written with the patient row, and one SQL text for
//! both databases that finds patients by name-token prefixes, exact phone
//! index, identifier (kind + blind index), sex, birth-date range and first
//! branch.
//!
//! Invariants:
//! - tokens are made by `clinicos_domain::patients::search` only, so the index
//!   and the query fold names the same way;
//! - a prefix is the range `token >= $q AND token < $q || U+10FFFF` on a
//!   byte-ordered column (`COLLATE BINARY` / `COLLATE "C"`), which is an
//!   index range on `(tenant_id, token, patient_id, is_family)` on both
//!   databases;
//! - a name search of one word scans that word's range in index order; a
//!   search of two or more words scans one key and one token range of
//!   `patient_name_pairs` for its two longest words
//!   (`clinicos_domain::patients::search_pairs`), so the rows it reads are about the
//!   patients that start like both words, not like one of them. Either
//!   scan checks the remaining words and the filters on each row and stops
//!   once [`NAME_CANDIDATES`] rows match everything: a query matching
//!   fewer patients finds every one of them (nothing is skipped), a query
//!   matching more ranks and counts the first of them in index order and
//!   the front desk types another letter (see docs/BENCHMARKS.md,
//!   "Patients");
//! - the pairs are written and deleted with the tokens, in the same
//!   transaction, and only here: the stored tokens name exactly the pair
//!   rows of a patient;
//! - every statement is tenant-scoped (`$1`, bound by [`TenantTx::q`]).

use crate::kit::row::RowExt;
use crate::kit::sql::Sql;
use crate::patients::name_index::write_tokens;
use crate::patients::registry::PatientRow;
use crate::{StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::patients::search as name_search;
use clinicos_domain::patients::search_pairs as name_pairs;
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

/// Recompute the name-order key and tokens of a patient whose names were
/// written without them (rows from before the index existed).
pub async fn reindex(tx: &mut TenantTx, p: &PatientRow) -> StoreResult<()> {
    let q = tx
        .q("UPDATE patients SET name_key = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(p.id.as_text())
        .bind(name_search::sort_key(&p.names()));
    tx.exec(q).await?;
    write_tokens(tx, p.id, &p.names()).await
}

/// Patients of this tenant not yet in the name index, at most `limit`.
pub async fn unindexed(tx: &mut TenantTx, limit: i64) -> StoreResult<Vec<PatientRow>> {
    let sql = format!(
        "SELECT {} FROM patients WHERE tenant_id = $1 AND name_key = '' AND erased_at IS NULL LIMIT $2",
        PatientRow::COLS
    );
    let q = tx.q(&sql).bind(limit);
    tx.all(q).await?.iter().map(PatientRow::from_row).collect()
}

/// Most matching name-token rows a name search ranks: below this every
/// matching patient is found, ranked and counted; above it, `total` is at
/// most this and the first matches in token order (exact-token matches
/// first) are ranked, so the front desk refines the query instead of paging
/// through hundreds of namesakes.
///
/// 200 is ten pages of twenty. The work of a name search that reaches the
/// bound is proportional to it (each candidate is scored and ranked), and
/// that work is what a large register costs per keystroke: at 500 such a
/// search took 2.5 times as long (docs/BENCHMARKS.md, "Patients").
pub const NAME_CANDIDATES: i64 = 200;
/// Most matches a search without a name counts (`total` is capped here).
pub const COUNT_CAP: i64 = 10_000;

/// The parts of a search statement: the WHERE clause of the non-name
/// filters on `p`; for a name search, the bounded candidate scan and the
/// relevance expression.
struct Clauses {
    filter: String,
    /// `SELECT t.patient_id, s0 [, s1] ... LIMIT n`: the candidate rows of a
    /// name search, each with the scores of the words it read.
    candidates: Option<String>,
    /// The relevance of a patient, over its candidate rows `c` grouped by
    /// `c.patient_id`.
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
        // `IN`, not a correlated `EXISTS`: the identifier's few holders
        // drive, instead of a probe per patient of the register.
        cond.push(format!(
            "p.id IN (SELECT i.patient_id FROM patient_identifiers i WHERE i.tenant_id = $1 \
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
        let at = sql.arg(crate::kit::row::ts(t).to_string());
        cond.push(visit(&at, ">="));
    }
    if let Some(t) = s.last_visit_before {
        let at = sql.arg(crate::kit::row::ts(t).to_string());
        cond.push(format!("{} AND NOT {}", visit(&at, "<"), visit(&at, ">=")));
    }
    let patient_filters = cond.len() > 1;
    if s.name_tokens.is_empty() {
        // An erased record is a blank shell: never listed. (A name search
        // cannot find one: its name tokens are deleted.)
        cond.push("p.erased_at IS NULL".to_owned());
        let filter = cond.join(" AND ");
        return Clauses {
            filter,
            candidates: None,
            score: None,
        };
    }
    let filter = cond.join(" AND ");
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
    // Per query word not read by the scan, the best of the patient's tokens
    // in its prefix range (mirroring `name_search::score`), or a check
    // that there is one. The range test sits inside the aggregate and the
    // WHERE names only the primary key's leading columns (tenant_id,
    // patient_id), so both databases read the patient's few tokens through
    // the primary key instead of scanning the word's whole range on the
    // token index once per patient.
    let best = |alias: &str, owner: &str, lo: &str, hi: &str, value: &str| {
        format!(
            "(SELECT MAX(CASE WHEN {alias}.token >= {lo} AND {alias}.token < {hi} THEN {value} END) \
             FROM patient_name_tokens {alias} WHERE {alias}.tenant_id = $1 AND {alias}.patient_id = {owner})"
        )
    };
    // One ordered range scan, stopped after NAME_CANDIDATES rows: of the
    // pair index for the two longest words when there are two of at least
    // two characters, else of the token index for the longest word. Each
    // row carries the score of the words it read (`s0`, `s1`): 2 when its
    // token equals the word, plus 1 for a family-name token.
    let exact = |col: &str, lo: &str, family: &str| {
        format!("CASE WHEN {col} = {lo} THEN 2 ELSE 0 END + {family}")
    };
    let (table, mut scan, parts, order, scanned) = match name_pairs::query_pair(&s.name_tokens) {
        Some(pq) => {
            let key = sql.arg(pq.key);
            let ((alo, ahi), (blo, bhi)) = (&ranges[pq.a], &ranges[pq.b]);
            (
                "patient_name_pairs",
                vec![
                    "t.tenant_id = $1".to_owned(),
                    format!("t.pair_key = {key}"),
                    format!("t.token_a >= {alo}"),
                    format!("t.token_a < {ahi}"),
                    format!("t.token_b >= {blo}"),
                    format!("t.token_b < {bhi}"),
                ],
                vec![
                    exact("t.token_a", alo, "t.family_a"),
                    exact("t.token_b", blo, "t.family_b"),
                ],
                "t.token_a, t.token_b, t.patient_id",
                vec![pq.a, pq.b],
            )
        }
        None => {
            let d = driving_word(&s.name_tokens);
            let (lo, hi) = &ranges[d];
            (
                "patient_name_tokens",
                vec![
                    "t.tenant_id = $1".to_owned(),
                    format!("t.token >= {lo}"),
                    format!("t.token < {hi}"),
                ],
                vec![exact("t.token", lo, "t.is_family")],
                "t.token, t.patient_id",
                vec![d],
            )
        }
    };
    // A patient's rows each score the words they read; the best of its
    // rows per word is the best of its tokens (every matching token of one
    // word sits in a row with every matching token of the other).
    let mut score: Vec<String> = (0..parts.len()).map(|i| format!("MAX(c.s{i})")).collect();
    for (i, (lo, hi)) in ranges.iter().enumerate() {
        if !scanned.contains(&i) {
            scan.push(format!("{} = 1", best("w", "t.patient_id", lo, hi, "1")));
            score.push(best(
                "u",
                "c.patient_id",
                lo,
                hi,
                &exact("u.token", lo, "u.is_family"),
            ));
        }
    }
    // The ordered index scan must drive: `CROSS JOIN` keeps SQLite from
    // walking the tenant's patients instead.
    let join = if patient_filters {
        scan.push("p.tenant_id = t.tenant_id AND p.id = t.patient_id".to_owned());
        scan.push(filter.clone());
        " CROSS JOIN patients p"
    } else {
        ""
    };
    let columns: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{e} AS s{i}"))
        .collect();
    let candidates = format!(
        "SELECT t.patient_id, {} FROM {table} t{join} WHERE {} \
         ORDER BY {order} LIMIT {NAME_CANDIDATES}",
        columns.join(", "),
        scan.join(" AND ")
    );
    let score = score.join(" + ");
    Clauses {
        filter,
        candidates: Some(candidates),
        score: Some(score),
    }
}

/// The statements of a search, with their text parameters (from `$2`;
/// the page statement takes `limit` and `offset` after them). Public so
/// that the benchmark's raw side runs the very same SQL.
pub struct Statements {
    /// A page of patients, best first, each with its `score`. For a name
    /// search each row also carries `total`, the number of matches
    /// (counted by the same scan, before `LIMIT`).
    pub page: String,
    /// The number of matches, `n`: needed for a name search only when the
    /// page is empty and not the first.
    pub count: String,
    pub args: Vec<String>,
    pub page_has_total: bool,
}

impl Statements {
    /// Whether the count statement must run for a page of `rows` rows at
    /// `offset`.
    pub fn needs_count(&self, rows: usize, offset: i64) -> bool {
        !self.page_has_total || (rows == 0 && offset > 0)
    }
}

pub fn statements(s: &PatientSearch) -> Statements {
    let mut sql = Sql::default();
    let Clauses {
        filter,
        candidates,
        score,
    } = clauses(s, &mut sql);
    let lim = format!("${}", sql.args.len() + 2);
    let off = format!("${}", sql.args.len() + 3);
    const COLS: &str = PatientRow::COLS;
    match (candidates, score) {
        (Some(cands), Some(score)) => Statements {
            // Ranked on the narrow columns first; the whole rows are read
            // for the page only. The candidates drive every step (a scalar
            // subquery per candidate, `CROSS JOIN`, which SQLite never
            // reorders): SQLite 3.46, without statistics, otherwise
            // preferred to walk every patient of the tenant and probe the
            // candidates (35 ms at 10,000 patients instead of 2).
            page: format!(
                "SELECT {COLS}, r.score, r.total FROM (\
                 SELECT m.patient_id AS match_id, m.score AS score, \
                 (SELECT p.name_key FROM patients p WHERE p.tenant_id = $1 AND p.id = m.patient_id) \
                 AS rank_key, COUNT(*) OVER () AS total FROM (\
                 SELECT c.patient_id, {score} AS score FROM ({cands}) c GROUP BY c.patient_id\
                 ) m ORDER BY score DESC, rank_key, match_id LIMIT {lim} OFFSET {off}\
                 ) r CROSS JOIN patients o WHERE o.tenant_id = $1 AND o.id = r.match_id \
                 ORDER BY r.score DESC, r.rank_key, r.match_id"
            ),
            count: format!("SELECT COUNT(DISTINCT c.patient_id) AS n FROM ({cands}) c"),
            args: sql.args,
            page_has_total: true,
        },
        // A list without a name counts at most COUNT_CAP rows, so its count
        // is its own capped statement rather than a window over every row.
        _ => Statements {
            page: format!(
                "SELECT {COLS}, 0 AS score FROM patients p WHERE {filter} \
                 ORDER BY {newest} LIMIT {lim} OFFSET {off}",
                newest = newest_first(s)
            ),
            count: format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM patients p WHERE {filter} \
                 LIMIT {COUNT_CAP}) c"
            ),
            args: sql.args,
            page_has_total: false,
        },
    }
}

/// The order of a list without a name. A phone or an identifier finds a
/// handful of rows through its own index, so the order must not come from
/// `patients_by_created`: SQLite (no statistics) would walk the whole
/// register newest first to find the one row with that phone (seconds at
/// a million patients). `+` makes the first key an expression no index
/// provides, so the filter's index is used and its few rows are sorted.
fn newest_first(s: &PatientSearch) -> &'static str {
    if s.phone_bidx.is_some() || s.identifier.is_some() {
        "+p.created_at DESC, p.id DESC"
    } else {
        "p.created_at DESC, p.id DESC"
    }
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
    let st = statements(s);
    let mut q = tx.q(&st.page);
    for a in &st.args {
        q = q.bind(a.clone());
    }
    let rows = tx.all(q.bind(limit).bind(offset)).await?;
    let total = if st.needs_count(rows.len(), offset) {
        let mut q = tx.q(&st.count);
        for a in &st.args {
            q = q.bind(a.clone());
        }
        tx.one(q).await?.int("n")?
    } else {
        match rows.first() {
            Some(r) => r.int("total")?,
            None => 0,
        }
    };
    Ok((
        rows.iter()
            .map(PatientRow::from_row)
            .collect::<StoreResult<_>>()?,
        total,
    ))
}
#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// SQLite's plans for the search statements, on a migrated, empty
    /// database (SQLite plans without statistics, so these are the plans a
    /// clinic gets at any size).
    async fn plans(searches: &[PatientSearch]) -> Vec<Vec<String>> {
        let dir = tempfile::tempdir().expect("dir");
        let db = crate::Db::connect(&crate::kit::db::sqlite_url_for_dir(dir.path()), 1, false)
            .await
            .expect("db");
        crate::kit::migrate::run(&db).await.expect("migrate");
        let mut out = Vec::new();
        for s in searches {
            let st = statements(s);
            let sql = format!("EXPLAIN QUERY PLAN {}", st.page);
            let mut q = sqlx::query(&sql).bind("t");
            for a in &st.args {
                q = q.bind(a.clone());
            }
            let rows = q
                .bind(20i64)
                .bind(0i64)
                .fetch_all(db.pool())
                .await
                .expect("plan");
            out.push(
                rows.iter()
                    .map(|r| r.try_get::<String, _>(3).expect("detail"))
                    .collect(),
            );
        }
        out
    }

    fn words(q: &[&str]) -> Vec<String> {
        q.iter().map(|w| (*w).to_owned()).collect()
    }

    /// Every name search starts from its ordered index range and reaches
    /// patients only by primary key: a plan that walks the tenant's
    /// patients (any index with only `tenant_id` bound) costs a read of the
    /// whole register per keystroke. SQLite 3.46 chose such plans for a
    /// join of the candidates with `patients`.
    #[tokio::test]
    async fn name_searches_never_walk_the_tenants_patients() {
        let searches = [
            PatientSearch {
                name_tokens: words(&["kav"]),
                ..PatientSearch::default()
            },
            PatientSearch {
                name_tokens: words(&["kav", "sh"]),
                ..PatientSearch::default()
            },
            PatientSearch {
                name_tokens: words(&["kav", "sh", "r"]),
                sex: Some("female".into()),
                born_after: Some("1990-01-01".into()),
                ..PatientSearch::default()
            },
            PatientSearch {
                name_tokens: words(&["r", "sharma"]),
                ..PatientSearch::default()
            },
        ];
        for (s, plan) in searches.iter().zip(plans(&searches).await) {
            let text = plan.join("\n");
            // The candidates come from one ordered range of an index.
            let scan = plan.iter().find(|l| l.starts_with("SEARCH t USING"));
            assert!(
                scan.is_some_and(|l| l.contains("pair_key=? AND token_a>?")
                    || l.contains("patient_name_tokens_by_token (tenant_id=? AND token>?")),
                "{:?}: {text}",
                s.name_tokens
            );
            for line in &plan {
                if line.contains(" p ") || line.contains(" o ") {
                    assert!(
                        line.contains("(tenant_id=? AND id=?)"),
                        "{:?} reads patients by more than its key: {line}\n{text}",
                        s.name_tokens
                    );
                }
            }
        }
    }

    /// The list without a name reads the newest rows in index order
    /// (migration 18) and stops, rather than sorting the whole register;
    /// a phone or identifier search reads its own index instead of walking
    /// the register in that order.
    #[tokio::test]
    async fn lists_without_a_name_read_the_right_index() {
        let list = PatientSearch {
            sex: Some("female".into()),
            ..PatientSearch::default()
        };
        let phone = PatientSearch {
            phone_bidx: Some("b".into()),
            sex: Some("female".into()),
            ..PatientSearch::default()
        };
        let identifier = PatientSearch {
            identifier: Some(("passport".into(), "b".into())),
            ..PatientSearch::default()
        };
        let p = plans(&[list, phone, identifier]).await;
        let text = |i: usize| p[i].join("\n");
        assert!(text(0).contains("patients_by_created"), "{}", text(0));
        assert!(!text(0).contains("TEMP B-TREE FOR ORDER BY"), "{}", text(0));
        assert!(text(1).contains("patients_by_phone"), "{}", text(1));
        assert!(!text(2).contains("patients_by_created"), "{}", text(2));
        assert!(
            text(2).contains("patient_identifiers_by_value"),
            "{}",
            text(2)
        );
        assert!(text(2).contains("(tenant_id=? AND id=?)"), "{}", text(2));
    }
}
