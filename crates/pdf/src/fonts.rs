//! The embedded typefaces and the choice of face for each character.
//!
//! Printed documents carry their fonts (PDF/A-style; a reader's machine may
//! have no Devanagari or Arabic font), so the faces are compiled into the
//! binary: Noto Sans (Latin, Greek, Cyrillic; regular and bold), Noto Sans
//! Devanagari, Noto Naskh Arabic (Arabic, Urdu, Persian) and Noto Sans for
//! the other scripts of India's official languages: Bengali, Gujarati,
//! Gurmukhi, Kannada, Malayalam, Odia, Tamil, Telugu (regular; bold text
//! in those scripts is set in the regular face). Licence: `fonts/OFL.txt`.
//!
//! Adding a script is adding a face to [`FACES`] and to the fallback chains.

use rustybuzz::Face;
use std::sync::OnceLock;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// One embedded font file.
pub(crate) struct FaceFile {
    /// The PostScript name (the PDF's `BaseFont`, after the subset tag).
    pub(crate) postscript_name: &'static str,
    pub(crate) data: &'static [u8],
    pub(crate) bold: bool,
}

/// Indexes into [`FACES`].
pub(crate) const LATIN: usize = 0;
pub(crate) const LATIN_BOLD: usize = 1;
pub(crate) const DEVANAGARI: usize = 2;
pub(crate) const ARABIC: usize = 3;
/// Bengali, Gujarati, Gurmukhi, Kannada, Malayalam, Odia, Tamil, Telugu.
const OTHER_INDIC: [usize; 8] = [4, 5, 6, 7, 8, 9, 10, 11];

pub(crate) const FACES: [FaceFile; 12] = [
    FaceFile {
        postscript_name: "NotoSans-Regular",
        data: include_bytes!("../fonts/NotoSans-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSans-Bold",
        data: include_bytes!("../fonts/NotoSans-Bold.ttf"),
        bold: true,
    },
    FaceFile {
        postscript_name: "NotoSansDevanagari-Regular",
        data: include_bytes!("../fonts/NotoSansDevanagari-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoNaskhArabic-Regular",
        data: include_bytes!("../fonts/NotoNaskhArabic-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansBengali-Regular",
        data: include_bytes!("../fonts/NotoSansBengali-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansGujarati-Regular",
        data: include_bytes!("../fonts/NotoSansGujarati-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansGurmukhi-Regular",
        data: include_bytes!("../fonts/NotoSansGurmukhi-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansKannada-Regular",
        data: include_bytes!("../fonts/NotoSansKannada-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansMalayalam-Regular",
        data: include_bytes!("../fonts/NotoSansMalayalam-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansOriya-Regular",
        data: include_bytes!("../fonts/NotoSansOriya-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansTamil-Regular",
        data: include_bytes!("../fonts/NotoSansTamil-Regular.ttf"),
        bold: false,
    },
    FaceFile {
        postscript_name: "NotoSansTelugu-Regular",
        data: include_bytes!("../fonts/NotoSansTelugu-Regular.ttf"),
        bold: false,
    },
];

/// The weight text is set in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Regular,
    Bold,
}

impl Style {
    /// The faces tried, in order, for a letter.
    pub(crate) fn chain(self) -> &'static [usize] {
        const fn chain(first: usize) -> [usize; 11] {
            let mut c = [first, DEVANAGARI, ARABIC, 0, 0, 0, 0, 0, 0, 0, 0];
            let mut i = 0;
            while i < OTHER_INDIC.len() {
                c[3 + i] = OTHER_INDIC[i];
                i += 1;
            }
            c
        }
        const REGULAR: [usize; 11] = chain(LATIN);
        const BOLD: [usize; 11] = chain(LATIN_BOLD);
        match self {
            Style::Regular => &REGULAR,
            Style::Bold => &BOLD,
        }
    }
}

/// The parsed faces, in the order of [`FACES`].
pub(crate) fn faces() -> &'static [Face<'static>] {
    static PARSED: OnceLock<Vec<Face<'static>>> = OnceLock::new();
    PARSED.get_or_init(|| {
        FACES
            .iter()
            .filter_map(|f| Face::from_slice(f.data, 0))
            .collect()
    })
}

/// Thousandths of an em per font unit of `face`.
pub(crate) fn per_em(face: &Face<'_>) -> f32 {
    1000.0 / face.units_per_em().max(1) as f32
}

fn covers(face: usize, c: char) -> bool {
    faces()
        .get(face)
        .and_then(|f| f.glyph_index(c))
        .is_some_and(|g| g.0 != 0)
}

/// Characters that belong to the character before them: combining marks
/// (Devanagari vowel signs and virama, Arabic harakat, accents) and the
/// invisible characters.
pub(crate) fn joins_previous(c: char) -> bool {
    is_invisible(c) || c.general_category_group() == GeneralCategoryGroup::Mark
}

/// Characters that draw nothing but steer shaping or direction: joiners,
/// variation selectors, bidi marks and isolates, soft hyphen, zero-width
/// space, word joiner, BOM. The shaper hides them whether or not the face
/// maps them, so they never need a face of their own (a pasted Arabic name
/// often carries a right-to-left mark).
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
    )
}

/// The face for `c` given the face of the run it would continue (`current`),
/// or `None` when no embedded face has it.
///
/// Invisible characters stay with their run, marks with their base if the
/// base's face has them (a mark the face lacks is looked up like a
/// letter); letters take the first face of the style's chain that has
/// them; digits, spaces and punctuation stay in the current face when it
/// has them, so "राहुल 2" is one run.
pub(crate) fn face_for(c: char, style: Style, current: Option<usize>) -> Option<usize> {
    if is_invisible(c) {
        return current.or(style.chain().first().copied());
    }
    if let Some(cur) = current {
        if (joins_previous(c) || !c.is_alphabetic()) && covers(cur, c) {
            return Some(cur);
        }
    }
    style.chain().iter().copied().find(|&f| covers(f, c))
}

/// Can every character of `s` be printed with the embedded faces?
/// (Line breaks and tabs count as spaces.)
pub fn printable(s: &str) -> bool {
    let mut current = None;
    for c in s.chars() {
        if matches!(c, '\n' | '\r' | '\t') {
            continue;
        }
        match face_for(c, Style::Regular, current) {
            Some(f) => current = Some(f),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_face_parses() {
        assert_eq!(faces().len(), FACES.len());
        for (i, f) in FACES.iter().enumerate() {
            assert!(faces()[i].units_per_em() > 0, "{}", f.postscript_name);
        }
    }

    #[test]
    fn letters_take_the_face_of_their_script() {
        assert_eq!(face_for('a', Style::Regular, None), Some(LATIN));
        assert_eq!(face_for('a', Style::Bold, None), Some(LATIN_BOLD));
        assert_eq!(face_for('é', Style::Regular, None), Some(LATIN));
        assert_eq!(face_for('र', Style::Regular, Some(LATIN)), Some(DEVANAGARI));
        assert_eq!(face_for('र', Style::Bold, None), Some(DEVANAGARI));
        assert_eq!(face_for('م', Style::Regular, Some(LATIN)), Some(ARABIC));
        assert_eq!(face_for('த', Style::Bold, Some(LATIN_BOLD)), Some(10));
        // A letter in a Devanagari run that the Devanagari face also has
        // still goes back to the first face of the chain.
        assert_eq!(face_for('a', Style::Regular, Some(DEVANAGARI)), Some(LATIN));
    }

    #[test]
    fn marks_digits_and_spaces_stay_in_their_run() {
        // The vowel sign ि and the virama ् follow their consonant.
        assert_eq!(
            face_for('ि', Style::Regular, Some(DEVANAGARI)),
            Some(DEVANAGARI)
        );
        assert_eq!(
            face_for('्', Style::Regular, Some(DEVANAGARI)),
            Some(DEVANAGARI)
        );
        assert_eq!(
            face_for('\u{200d}', Style::Regular, Some(DEVANAGARI)),
            Some(DEVANAGARI)
        );
        assert_eq!(face_for(' ', Style::Regular, Some(ARABIC)), Some(ARABIC));
        assert_eq!(face_for(' ', Style::Regular, None), Some(LATIN));
    }

    #[test]
    fn printable_knows_what_the_faces_cover() {
        assert!(printable("José Müller – O’Neil"));
        assert!(printable("राहुल शर्मा"));
        assert!(printable("محمد الحسن"));
        assert!(printable("Ramírez, Ma. Cristina\tdela Cruz\n"));
        // A right-to-left mark, a zero-width joiner, a BOM, a soft hyphen.
        assert!(printable(
            "\u{200f}محمد\u{200f} क्\u{200d}ष \u{feff}Ana\u{ad}bel"
        ));
        // Every script of India's official languages.
        for name in [
            "রবীন্দ্রনাথ",
            "ગાંધી",
            "ਗੁਰਪ੍ਰੀਤ",
            "ಕನ್ನಡ",
            "മലയാളം",
            "ଓଡ଼ିଆ",
            "தமிழ்",
            "తెలుగు",
        ] {
            assert!(printable(name), "{name}");
        }
        // Sinhala and CJK have no embedded face.
        assert!(!printable("සිංහල"));
        assert!(!printable("王"));
    }
}
