//! The two-word index of name search. For each patient there is one row
//! per pair of its distinct name tokens, keyed by the first two characters
//! of both. A query of two or more words then finds its patients through
//! one exact key and one index range over complete tokens, instead of
//! walking every patient whose name starts like one of the words and
//! testing the other word patient by patient. That walk grows with the
//! register: "ra ga" read every "ra..." name (docs/BENCHMARKS.md,
//! "Patients").
//!
//! Invariants:
//! - A row `(key, a, b)` holds two different tokens `a` and `b` of one
//!   patient, each at least [`PAIR_PREFIX`] characters long.
//! - `key` is `start(a) + " " + start(b)`, with `start(a) <= start(b)`
//!   byte-wise (the databases' `BINARY` / `"C"` order). When the two starts
//!   are equal, both orders are stored.
//! - For query words `w1` and `w2`, each at least [`PAIR_PREFIX`]
//!   characters long and neither a prefix of the other (what
//!   [`crate::patients::search::query_tokens`] leaves), [`query_pair`] names a
//!   key and which word ranges over `a`. A patient has tokens `x` and `y`
//!   starting with `w1` and `w2` exactly when it has a row with that key,
//!   `a` starting with the a-word and `b` starting with the other. The two
//!   tokens differ: one token cannot start with two words when neither
//!   word is a prefix of the other. A property test checks this.

use crate::patients::search::NameToken;

/// Characters of each token in a pair's key.
pub const PAIR_PREFIX: usize = 2;

/// The first [`PAIR_PREFIX`] characters of a token (all of it if shorter).
pub fn start(token: &str) -> &str {
    match token.char_indices().nth(PAIR_PREFIX) {
        Some((end, _)) => &token[..end],
        None => token,
    }
}

fn long_enough(token: &str) -> bool {
    token.chars().count() >= PAIR_PREFIX
}

fn key(a: &str, b: &str) -> String {
    format!("{} {}", start(a), start(b))
}

/// One row of the pair index, with whether each token is (also) from the
/// family name (the search ranks family matches first).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NamePair {
    pub key: String,
    pub a: String,
    pub b: String,
    pub a_family: bool,
    pub b_family: bool,
}

/// The pair rows of a patient with these tokens, sorted.
pub fn patient_pairs(tokens: &[NameToken]) -> Vec<NamePair> {
    let usable: Vec<&NameToken> = tokens.iter().filter(|t| long_enough(&t.token)).collect();
    let mut out = Vec::new();
    for (i, x) in usable.iter().enumerate() {
        for y in &usable[i + 1..] {
            if x.token == y.token {
                continue;
            }
            let (sx, sy) = (start(&x.token), start(&y.token));
            let mut push = |a: &NameToken, b: &NameToken| {
                out.push(NamePair {
                    key: key(&a.token, &b.token),
                    a: a.token.clone(),
                    b: b.token.clone(),
                    a_family: a.family,
                    b_family: b.family,
                })
            };
            if sx <= sy {
                push(x, y);
            }
            if sy <= sx {
                push(y, x);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// How a query of several words uses the pair index: the key, the word
/// that ranges over `a` and the word checked against `b` (indexes into the
/// query's words). The other words are checked patient by patient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairQuery {
    pub key: String,
    pub a: usize,
    pub b: usize,
}

/// The pair lookup for these query words: the two longest words of at
/// least [`PAIR_PREFIX`] characters (the most selective; the first of
/// equals), or `None` when fewer than two are that long.
pub fn query_pair(words: &[String]) -> Option<PairQuery> {
    let mut usable: Vec<usize> = (0..words.len())
        .filter(|&i| long_enough(&words[i]))
        .collect();
    // Stable: equal lengths keep the typed order.
    usable.sort_by_key(|&i| std::cmp::Reverse(words[i].chars().count()));
    let (&i, &j) = (usable.first()?, usable.get(1)?);
    // The longer word ranges over `a` when the starts allow it (equal
    // starts are stored both ways); otherwise the word with the lower
    // start does.
    let (a, b) = if start(&words[j]) < start(&words[i]) {
        (j, i)
    } else {
        (i, j)
    };
    Some(PairQuery {
        key: key(&words[a], &words[b]),
        a,
        b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patients::search::{matches, patient_tokens, query_tokens, NameParts};
    use proptest::prelude::*;

    fn toks(names: &[&str]) -> Vec<NameToken> {
        let given = names.join(" ");
        patient_tokens(&NameParts {
            given: &given,
            ..NameParts::default()
        })
    }

    fn words(q: &str) -> Vec<String> {
        query_tokens(q).unwrap()
    }

    /// Does the pair index (as rows in memory) find this patient for the
    /// first two words of the query's pair?
    fn found(q: &PairQuery, w: &[String], pairs: &[NamePair]) -> bool {
        pairs.iter().any(|p| {
            p.key == q.key && p.a.starts_with(w[q.a].as_str()) && p.b.starts_with(w[q.b].as_str())
        })
    }

    #[test]
    fn start_counts_characters_not_bytes() {
        assert_eq!(start("ravi"), "ra");
        assert_eq!(start("r"), "r");
        assert_eq!(start("मोहन"), "मो");
        assert_eq!(start("ñu"), "ñu");
    }

    #[test]
    fn pairs_of_different_starts_are_stored_once_in_start_order() {
        let pairs = patient_pairs(&patient_tokens(&NameParts {
            given: "Ravi",
            family: "Kumar",
            ..NameParts::default()
        }));
        assert_eq!(
            pairs,
            vec![NamePair {
                key: "ku ra".into(),
                a: "kumar".into(),
                b: "ravi".into(),
                a_family: true,
                b_family: false,
            }]
        );
    }

    #[test]
    fn pairs_of_equal_starts_are_stored_both_ways() {
        let pairs = patient_pairs(&toks(&["rahul", "ravi"]));
        let rows: Vec<(&str, &str)> = pairs.iter().map(|p| (p.a.as_str(), p.b.as_str())).collect();
        assert_eq!(rows, vec![("rahul", "ravi"), ("ravi", "rahul")]);
        assert!(pairs.iter().all(|p| p.key == "ra ra"));
    }

    #[test]
    fn one_letter_tokens_make_no_pairs() {
        assert!(patient_pairs(&toks(&["k", "ravi"])).is_empty());
        assert_eq!(patient_pairs(&toks(&["k", "ravi", "dev"])).len(), 1);
    }

    #[test]
    fn the_two_longest_words_make_the_pair() {
        let w = words("sharm ra kavi");
        let q = query_pair(&w).unwrap();
        assert_eq!((w[q.a].as_str(), w[q.b].as_str()), ("kavi", "sharm"));
        assert_eq!(q.key, "ka sh");
        // A one-letter word is never part of the pair.
        assert_eq!(query_pair(&words("r sharma")), None);
        assert_eq!(query_pair(&words("sharma")), None);
        // Equal starts: the longer word ranges over `a`.
        let w = words("ra ramesh");
        assert_eq!(w.len(), 1, "ra is implied by ramesh");
        let w = words("rah ravi");
        let q = query_pair(&w).unwrap();
        assert_eq!((w[q.a].as_str(), q.key.as_str()), ("ravi", "ra ra"));
    }

    #[test]
    fn devanagari_and_latin_pair_by_bytes() {
        let pairs = patient_pairs(&toks(&["mohan", "मोहन"]));
        assert_eq!(pairs.len(), 1);
        // Latin sorts before Devanagari byte-wise.
        assert_eq!(pairs[0].key, "mo मो");
        let w = words("मोह moh");
        let q = query_pair(&w).unwrap();
        assert!(found(&q, &w, &pairs));
    }

    const SYLLABLES: &[&str] = &[
        "ra",
        "ram",
        "rav",
        "ka",
        "kav",
        "sh",
        "sha",
        "de",
        "des",
        "mo",
        "मो",
        "मोह",
        "ña",
        "ab",
        "a",
        "k",
    ];

    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(SYLLABLES), 1..3).prop_map(|s| s.concat())
    }

    proptest! {
        /// The pair index finds exactly the patients the rule matches, for
        /// every query it is used for.
        #[test]
        fn the_pair_index_agrees_with_the_rule(
            names in prop::collection::vec(name(), 1..6),
            query in prop::collection::vec(prop::sample::select(SYLLABLES), 2..4),
        ) {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let tokens = toks(&refs);
            let w = words(&query.join(" "));
            if let Some(q) = query_pair(&w) {
                let pair_words = vec![w[q.a].clone(), w[q.b].clone()];
                let by_rule = matches(&pair_words, &tokens);
                prop_assert_eq!(found(&q, &w, &patient_pairs(&tokens)), by_rule);
            }
        }
    }
}
