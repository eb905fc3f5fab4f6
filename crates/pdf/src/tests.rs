//! Whole documents: what the file carries, and what a PDF reader (poppler's
//! `pdftotext` and `pdffonts`, installed by `.ci/run`) makes of it.

use crate::{printable, TextDocument};
use std::process::Command;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A name in each of the other scripts of India's official languages.
const INDIC_NAMES: &str = "রবীন্দ্রনাথ ગાંધી ਗੁਰਪ੍ਰੀਤ ಕನ್ನಡ മലയാളം ଓଡ଼ିଆ தமிழ் తెలుగు";

fn record(local_name: &str) -> TextDocument {
    let mut d = TextDocument::new("Patient record: Asha Verma");
    d.title("Patient record: Asha Verma");
    d.heading("Patient");
    d.field("Name", "Asha Verma");
    d.field("Name (local script)", local_name);
    d.heading("Allergies");
    d.strong("Penicillin (anaphylaxis)");
    d.paragraph(
        12.0,
        "drug; severe; hives, wheeze; active. Recorded 2026-11-30.",
    );
    d
}

#[test]
fn a_latin_document_embeds_only_the_latin_faces_subsetted() {
    let pdf = record("Asha Verma").finish("Confidential").expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&pdf).trim_end().ends_with("%%EOF"));
    for needle in [
        &b"/FontFile2"[..],
        b"/ToUnicode",
        b"/Identity-H",
        b"+NotoSans-Regular",
        b"+NotoSans-Bold",
        b"Page 1 of 1)",
        b"(Penicillin (anaphylaxis))",
    ] {
        assert!(
            contains(&pdf, needle),
            "{}",
            String::from_utf8_lossy(needle)
        );
    }
    assert!(!contains(&pdf, b"Devanagari"));
    assert!(!contains(&pdf, b"Arabic"));
    // Subsets: the whole Noto Sans pair alone is over 1 MB.
    assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
}

#[test]
fn devanagari_and_arabic_print_without_question_marks() {
    let d = record("आशा वर्मा / آشا ورما");
    assert_eq!(d.unprintable(), 0);
    let pdf = d.finish("Confidential").expect("pdf");
    assert!(contains(&pdf, b"+NotoSansDevanagari-Regular"));
    assert!(contains(&pdf, b"+NotoNaskhArabic-Regular"));
    assert!(pdf.len() < 120_000, "{} bytes", pdf.len());
}

#[test]
fn scripts_without_a_face_are_counted() {
    let mut d = TextDocument::new("t");
    d.paragraph(0.0, "José – अनिल – தமிழ் – සිංහල");
    assert_eq!(d.unprintable(), 5, "the five Sinhala characters");
    assert!(!printable("සිංහල"));
    assert!(d.finish("f").is_ok());
}

/// Runs a poppler tool on `pdf`; `None` when poppler is not installed and
/// this is not CI (where `.ci/run` installs it, and its absence fails).
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("clinicos-pdf-{}-{tool}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let file = dir.join("doc.pdf");
    std::fs::write(&file, pdf).ok()?;
    let out = match Command::new(tool).arg(&file).args(args).output() {
        Ok(out) => out,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{tool} (poppler-utils) is needed in CI: {e}")
        }
        Err(_) => {
            eprintln!("skipped: {tool} (Debian poppler-utils) is not installed");
            return None;
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} failed: {stderr}");
    assert!(stderr.trim().is_empty(), "{tool} complained: {stderr}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_pdf_reader_extracts_the_text_as_typed() {
    let mut d = record("राहुल शर्मा");
    d.field("Arabic", "محمد الحسن 42");
    // One line of both scripts: the vowel sign ि is drawn before three
    // different consonants and must read after each.
    d.paragraph(0.0, "पेनिसिलिन से एलर्जी; أعراض خفيفة");
    d.field("Other scripts", INDIC_NAMES);
    d.paragraph(0.0, &"Long notes wrap onto later pages. ".repeat(400));
    let pages = d.page_count();
    assert!(pages > 1);
    let pdf = d.finish("Confidential").expect("pdf");
    let Some(text) = poppler("pdftotext", &["-raw", "-"], &pdf) else {
        return;
    };
    for expected in [
        "Patient record: Asha Verma",
        "Penicillin (anaphylaxis)",
        INDIC_NAMES,
        "राहुल शर्मा",
        "पेनिसिलिन से एलर्जी;",
        // Right-to-left words come out in reading order; the order of
        // the words on the line is the reader's (poppler lists them as
        // drawn).
        "محمد",
        "الحسن",
        "42",
        "أعراض",
        "خفيفة",
        &format!("Page {pages} of {pages}"),
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
}

#[test]
fn a_pdf_reader_sees_embedded_subset_unicode_fonts() {
    let pdf = record("राहुल शर्मा").finish("f").expect("pdf");
    let Some(fonts) = poppler("pdffonts", &[], &pdf) else {
        return;
    };
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{fonts}");
    for row in rows {
        // name, type, encoding, emb, sub, uni, object, id
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(
            cols.contains(&"CID") && cols.contains(&"Identity-H"),
            "{row}"
        );
        let flags = &cols[cols.len() - 5..cols.len() - 2];
        assert_eq!(
            flags,
            ["yes", "yes", "yes"],
            "embedded, subset, unicode: {row}"
        );
    }
}
