//! The front desk's name-matching rule, as pure functions shared by the
//! search index (what is stored per patient) and the query (what is looked
//! up), so that both sides are normalised by the same code.
//!
//! The rule (fixture in `tests/fixtures/name_search/`):
//! - names are split into tokens at white space, hyphens, periods and
//!   commas; apostrophes are removed (O'Brien -> obrien);
//! - Latin letters are lower-cased and folded the way PostgreSQL's
//!   `unaccent` folds them (é -> e, ø -> o, ß -> ss, æ -> ae, ...); every
//!   other script is kept as written after Unicode NFC;
//! - a query matches a patient when every query token is a prefix of some
//!   token of the patient's given, middle, family or local-script name,
//!   in any order.
//!
//! Invariant: a token is never empty and contains no separator, apostrophe,
//! control character or Unicode noncharacter, so `token || U+10FFFF` is a
//! strict upper bound of every token that starts with it (the index query
//! is a range, see [`prefix_upper_bound`]).

use unicode_normalization::char::decompose_canonical;
use unicode_normalization::UnicodeNormalization;

/// Query tokens beyond this many are refused (each one is a join).
pub const MAX_QUERY_TOKENS: usize = 8;
/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// A patient's names, as registered.
#[derive(Clone, Copy, Debug, Default)]
pub struct NameParts<'a> {
    pub given: &'a str,
    pub middle: &'a str,
    pub family: &'a str,
    pub local: &'a str,
}

/// One distinct token of a patient's names; `family` when it comes from
/// the family name (ranks first).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NameToken {
    pub token: String,
    pub family: bool,
}

/// Why a query cannot run (the message never repeats the query).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("must be at most {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("must have at most {MAX_QUERY_TOKENS} words")]
    TooManyWords,
}

/// Latin letters that Unicode does not decompose into a base letter plus
/// marks, folded as PostgreSQL's `unaccent.rules` does. Keys are lower case
/// (the input is lower-cased first).
const LATIN_FOLDS: &[(char, &str)] = &[
    ('ß', "ss"),
    ('æ', "ae"),
    ('ð', "d"),
    ('ø', "o"),
    ('þ', "th"),
    ('đ', "d"),
    ('ħ', "h"),
    ('ı', "i"),
    ('ĳ', "ij"),
    ('ĸ', "k"),
    ('ŀ', "l"),
    ('ł', "l"),
    ('ŉ', "n"),
    ('ŋ', "n"),
    ('œ', "oe"),
    ('ŧ', "t"),
    ('ſ', "s"),
    ('ƀ', "b"),
    ('ƃ', "b"),
    ('ƈ', "c"),
    ('ƌ', "d"),
    ('ƒ', "f"),
    ('ƙ', "k"),
    ('ƚ', "l"),
    ('ƞ', "n"),
    ('ƥ', "p"),
    ('ƫ', "t"),
    ('ƭ', "t"),
    ('ƴ', "y"),
    ('ƶ', "z"),
    ('ǆ', "dz"),
    ('ǅ', "dz"),
    ('ǉ', "lj"),
    ('ǈ', "lj"),
    ('ǌ', "nj"),
    ('ǋ', "nj"),
    ('ǳ', "dz"),
    ('ǲ', "dz"),
    ('ȡ', "d"),
    ('ȥ', "z"),
    ('ȴ', "l"),
    ('ȵ', "n"),
    ('ȶ', "t"),
    ('ȷ', "j"),
    ('ȼ', "c"),
    ('ȿ', "s"),
    ('ɀ', "z"),
    ('ɇ', "e"),
    ('ɉ', "j"),
    ('ɋ', "q"),
    ('ɍ', "r"),
    ('ɏ', "y"),
    ('ɓ', "b"),
    ('ɗ', "d"),
    ('ɨ', "i"),
    ('ɫ', "l"),
    ('ɲ', "n"),
    ('ʋ', "v"),
    ('ʐ', "z"),
];

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '-' | '.' | ',' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}'
        )
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`' | '\u{00B4}' | '\u{02BC}' | '\u{2018}' | '\u{2019}'
    )
}

/// U+FDD0..U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let cp = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&cp) || cp & 0xFFFE == 0xFFFE
}

/// The Latin blocks whose letters are case- and accent-folded.
fn is_latin(c: char) -> bool {
    matches!(u32::from(c),
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x250..=0x2AF
        | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF)
}

/// Combining Diacritical Marks (the accents that Latin letters decompose
/// into; other scripts' marks live in their own blocks and are kept).
fn is_latin_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

fn fold_latin(c: char, out: &mut String) {
    for lower in c.to_lowercase() {
        if let Some((_, to)) = LATIN_FOLDS.iter().find(|(from, _)| *from == lower) {
            out.push_str(to);
            continue;
        }
        // The base letter of a decomposition may itself fold (ẛ -> ſ -> s),
        // so folding twice gives what folding once gave.
        decompose_canonical(lower, |part| {
            if is_latin_mark(part) {
                return;
            }
            match LATIN_FOLDS.iter().find(|(from, _)| *from == part) {
                Some((_, to)) => out.push_str(to),
                None => out.extend(part.to_lowercase()),
            }
        });
    }
}

/// Fold one word: NFC, Latin letters lower-cased without accents,
/// apostrophes and Latin combining marks dropped, other scripts as written.
fn fold_word(word: &str) -> String {
    // Folding can expose a new normalisation (a dropped apostrophe between
    // two marks lets NFC reorder them; a decomposed base letter folds
    // again): repeat until stable, so a token folds to itself.
    let mut cur = fold_once(word);
    for _ in 0..4 {
        let next = fold_once(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

fn fold_once(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfc() {
        if is_apostrophe(c) || is_latin_mark(c) || is_noncharacter(c) {
            continue;
        }
        if is_latin(c) {
            fold_latin(c, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// The tokens of a piece of text, in order, duplicates kept.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(is_separator)
        .map(fold_word)
        .filter(|t| !t.is_empty())
        .collect()
}

/// The distinct tokens of a patient's names, sorted, each marked when it
/// occurs in the family name.
pub fn patient_tokens(names: &NameParts<'_>) -> Vec<NameToken> {
    let mut out: Vec<NameToken> = Vec::new();
    let sources = [
        (names.family, true),
        (names.given, false),
        (names.middle, false),
        (names.local, false),
    ];
    for (text, family) in sources {
        for token in tokens(text) {
            match out.iter_mut().find(|t| t.token == token) {
                Some(t) => t.family |= family,
                None => out.push(NameToken { token, family }),
            }
        }
    }
    out.sort();
    out
}

/// The search tokens of a query: distinct, and without those implied by a
/// longer one ("ana an" needs only "ana"). Empty when nothing searchable
/// was typed.
pub fn query_tokens(query: &str) -> Result<Vec<String>, QueryError> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong);
    }
    let all = tokens(query);
    let mut out: Vec<String> = Vec::new();
    for (i, t) in all.iter().enumerate() {
        let implied = all
            .iter()
            .enumerate()
            .any(|(j, o)| o.starts_with(t.as_str()) && (o.len() > t.len() || (o == t && j < i)));
        if !implied {
            out.push(t.clone());
        }
    }
    if out.len() > MAX_QUERY_TOKENS {
        return Err(QueryError::TooManyWords);
    }
    Ok(out)
}

/// The exclusive upper bound of the tokens that start with `prefix` in
/// byte-wise (UTF-8, SQLite BINARY / PostgreSQL "C") order.
pub fn prefix_upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The name-order key: family, given and middle tokens joined by spaces
/// (compared byte-wise, so "de la cruz" sorts before "dela cruz").
pub fn sort_key(names: &NameParts<'_>) -> String {
    [names.family, names.given, names.middle]
        .iter()
        .flat_map(|t| tokens(t))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Does a patient with these tokens match the query tokens?
pub fn matches(query: &[String], patient: &[NameToken]) -> bool {
    query
        .iter()
        .all(|q| patient.iter().any(|p| p.token.starts_with(q.as_str())))
}

/// The relevance of a match: per query token, the best of its matching
/// patient tokens, worth 2 when equal to the query token plus 1 when from
/// the family name; summed. Higher ranks first (the SQL mirrors this).
pub fn score(query: &[String], patient: &[NameToken]) -> u32 {
    query
        .iter()
        .map(|q| {
            patient
                .iter()
                .filter(|p| p.token.starts_with(q.as_str()))
                .map(|p| 2 * u32::from(p.token == *q) + u32::from(p.family))
                .max()
                .unwrap_or(0)
        })
        .sum()
}

#[cfg(test)]
mod tests;
