use super::*;
use proptest::prelude::*;

const PATIENTS: &str = include_str!("../../../../../tests/fixtures/name_search/patients.tsv");
const QUERIES: &str = include_str!("../../../../../tests/fixtures/name_search/queries.tsv");

fn q(s: &str) -> Vec<String> {
    query_tokens(s).unwrap()
}

fn names<'a>(given: &'a str, family: &'a str) -> NameParts<'a> {
    NameParts {
        given,
        family,
        ..NameParts::default()
    }
}

#[test]
fn splits_at_spaces_hyphens_periods_and_drops_apostrophes() {
    assert_eq!(tokens("Gómez-Ibáñez"), ["gomez", "ibanez"]);
    assert_eq!(tokens("  J. R.  O'Brien "), ["j", "r", "obrien"]);
    assert_eq!(tokens("O’Brien"), ["obrien"]);
    assert_eq!(tokens("de la Cruz"), ["de", "la", "cruz"]);
    assert!(tokens(" - . ' ").is_empty());
}

#[test]
fn folds_latin_like_unaccent() {
    for (from, to) in [
        ("é", "e"),
        ("Ñ", "n"),
        ("ü", "u"),
        ("Ø", "o"),
        ("Łukasz", "lukasz"),
        ("đ", "d"),
        ("Straße", "strasse"),
        ("Æsa", "aesa"),
        ("ı", "i"),
        ("İ", "i"),
        ("Nguyễn", "nguyen"),
        ("Thị", "thi"),
        ("Œuvre", "oeuvre"),
        ("Þór", "thor"),
    ] {
        assert_eq!(tokens(from), [to], "{from}");
    }
}

#[test]
fn decomposed_input_folds_like_composed() {
    // A browser may send "María" as a + U+0301.
    assert_eq!(tokens("Mari\u{0301}a"), tokens("María"));
    assert_eq!(tokens("Mari\u{0301}a"), ["maria"]);
}

#[test]
fn other_scripts_are_kept_as_written_after_nfc() {
    assert_eq!(tokens("रमेश शर्मा"), ["रमेश", "शर्मा"]);
    assert_eq!(tokens("عبدالله القحطاني"), ["عبدالله", "القحطاني"]);
    // Devanagari QA (U+0958) is NFC-excluded: it and KA + NUKTA are one token.
    assert_eq!(tokens("\u{0958}"), tokens("\u{0915}\u{093C}"));
    // Greek and Cyrillic are not case-folded: the rule folds Latin only.
    assert_eq!(tokens("Ωmega"), ["Ωmega"]);
}

#[test]
fn every_latin_1_and_extended_a_letter_folds_to_ascii() {
    for cp in 0xC0..=0x17F_u32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        if !c.is_alphabetic() {
            continue;
        }
        let t = tokens(&c.to_string()).join("");
        assert!(
            !t.is_empty() && t.bytes().all(|b| b.is_ascii_lowercase()),
            "U+{cp:04X} {c} -> {t}"
        );
    }
}

#[test]
fn patient_tokens_are_distinct_and_mark_the_family_name() {
    let t = patient_tokens(&NameParts {
        given: "Kumar",
        middle: "",
        family: "Kumar-Rao",
        local: "कुमार",
    });
    let words: Vec<(&str, bool)> = t.iter().map(|t| (t.token.as_str(), t.family)).collect();
    assert_eq!(words, [("kumar", true), ("rao", true), ("कुमार", false)]);
}

#[test]
fn query_tokens_drop_implied_and_repeated_words() {
    assert_eq!(q("ana an"), ["ana"]);
    assert_eq!(q("an ana"), ["ana"]);
    assert_eq!(q("Ram ram"), ["ram"]);
    assert_eq!(q("ram sha"), ["ram", "sha"]);
    assert!(q(" ' - ").is_empty());
    assert_eq!(
        query_tokens(&"a".repeat(MAX_QUERY_CHARS + 1)),
        Err(QueryError::TooLong)
    );
    assert_eq!(
        query_tokens("a b c d e f g h i"),
        Err(QueryError::TooManyWords)
    );
}

#[test]
fn ranking_prefers_exact_then_family_matches() {
    let query = q("kumar");
    let family_exact = patient_tokens(&names("Anil", "Kumar"));
    let given_exact = patient_tokens(&names("Kumar", "Sharma"));
    let family_prefix = patient_tokens(&names("Ravi", "Kumaresh"));
    let given_prefix = patient_tokens(&names("Kumaresh", "Rao"));
    let scores: Vec<u32> = [&family_exact, &given_exact, &family_prefix, &given_prefix]
        .iter()
        .map(|p| score(&query, p))
        .collect();
    assert_eq!(scores, [3, 2, 1, 0]);
    assert!(sort_key(&names("Maria", "de la Cruz")) < sort_key(&names("Ana", "dela Cruz")));
}

fn fixture_patients() -> Vec<(String, Vec<NameToken>)> {
    PATIENTS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("");
            let parts = NameParts {
                given: get(1),
                middle: get(2),
                family: get(3),
                local: get(4),
            };
            (get(0).to_owned(), patient_tokens(&parts))
        })
        .collect()
}

#[test]
fn the_shared_fixture_holds_for_the_pure_rule() {
    let patients = fixture_patients();
    assert_eq!(patients.len(), 25);
    for line in QUERIES.lines().skip(1).filter(|l| !l.is_empty()) {
        let (query, expected) = line.split_once('\t').unwrap_or((line, ""));
        let mut want: Vec<&str> = expected.split(',').filter(|k| !k.is_empty()).collect();
        want.sort_unstable();
        let qt = q(query);
        let got: Vec<&str> = patients
            .iter()
            .filter(|(_, t)| matches(&qt, t))
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(got, want, "query {query:?}");
    }
}

proptest! {
    #[test]
    fn tokens_are_clean_and_fold_idempotently(s in "\\PC{0,40}") {
        for t in tokens(&s) {
            prop_assert!(!t.is_empty());
            prop_assert!(!t.chars().any(|c| is_separator(c) || is_apostrophe(c) || is_noncharacter(c)));
            prop_assert!(!t.chars().any(|c| c.is_ascii_uppercase()));
            prop_assert_eq!(tokens(&t), vec![t.clone()]);
            // The range bound is above every token starting with t.
            let upper = prefix_upper_bound(&t);
            prop_assert!(t.as_str() < upper.as_str());
            let longer = format!("{t}zzz\u{FFFD}");
            prop_assert!(longer < upper);
        }
    }

    #[test]
    fn a_patient_always_matches_prefixes_of_their_own_names(
        given in "[A-Za-zÀ-ſ' -]{1,20}",
        family in "[A-Za-zÀ-ſ' .-]{1,20}",
        cut in 1usize..4,
    ) {
        let parts = names(&given, &family);
        let pt = patient_tokens(&parts);
        let query: Vec<String> = tokens(&format!("{family} {given}"))
            .into_iter()
            .map(|t| t.chars().take(cut).collect())
            .collect();
        prop_assert!(matches(&query, &pt));
        // Upper case and a different word order change nothing.
        let shouted = query_tokens(&format!("{} {}", given.to_uppercase(), family.to_uppercase()));
        if let Ok(shouted) = shouted {
            prop_assert!(matches(&shouted, &pt));
        }
    }

    #[test]
    fn prefix_match_equals_the_range_condition(token in "\\PC{1,12}", query in "\\PC{1,4}") {
        // What the index query does (token >= q AND token < q || U+10FFFF)
        // must be exactly "q is a prefix of token".
        for t in tokens(&token) {
            for qt in tokens(&query) {
                let in_range = t >= qt && t < prefix_upper_bound(&qt);
                prop_assert_eq!(in_range, t.starts_with(qt.as_str()));
            }
        }
    }
}

#[test]
fn a_decomposed_base_letter_is_folded_too() {
    // ẛ (long s with dot above) decomposes to ſ, which folds to s: found by
    // the idempotence property.
    assert_eq!(tokens("ẛ"), vec!["s".to_owned()]);
    assert_eq!(tokens(&tokens("ẛ").join(" ")), vec!["s".to_owned()]);
}
