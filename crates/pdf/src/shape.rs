//! From a line of text to positioned glyphs: characters no face has become
//! `?`, the line is split into runs of one face, reordered for display by
//! the Unicode bidirectional algorithm (Arabic reads right to left, its
//! digits and any Latin inside it left to right), and each run is shaped
//! (rustybuzz: Devanagari conjuncts and vowel signs, Arabic joining forms,
//! kerning).
//!
//! Advances and offsets are in thousandths of an em, the unit of PDF glyph
//! widths, so a glyph's position in points is `value * size / 1000`.

use crate::fonts::{face_for, faces, is_invisible, joins_previous, per_em, Style, LATIN};
use rustybuzz::{Direction, UnicodeBuffer};
use std::ops::Range;
use unicode_bidi::BidiInfo;

/// One glyph in display order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Glyph {
    /// Index into [`crate::fonts::FACES`].
    pub(crate) face: usize,
    /// The glyph id in the whole (not yet subsetted) face.
    pub(crate) id: u16,
    /// Pen advance after the glyph, kerning included.
    pub(crate) advance: f32,
    /// Offset of this glyph from the pen (marks above and below a base).
    pub(crate) dx: f32,
    pub(crate) dy: f32,
    /// Byte offset of the glyph's cluster in the shaped text.
    pub(crate) cluster: usize,
    /// The characters of the cluster, on the cluster's first glyph only
    /// (for the font's ToUnicode map); empty on the others.
    pub(crate) text: String,
}

/// Glyphs of one face and one direction, with the text they show.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ShapedRun {
    pub(crate) rtl: bool,
    /// The run's characters as typed (logical order).
    pub(crate) text: String,
    /// In display order.
    pub(crate) glyphs: Vec<Glyph>,
}

/// `text` with line breaks and tabs as spaces, carriage returns dropped,
/// and every character no embedded face has replaced by `?`; the second
/// value counts those replacements.
pub(crate) fn sanitize(text: &str, style: Style) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut current = None;
    let mut unprintable = 0;
    let mut after_unprintable = false;
    for c in text.chars() {
        let c = match c {
            '\r' => continue,
            '\n' | '\t' | '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{1c}'..='\u{1f}' => ' ',
            c if c.is_control() => continue,
            c => c,
        };
        match face_for(c, style, current) {
            Some(f) if !(after_unprintable && joins_previous(c)) => {
                current = Some(f);
                after_unprintable = false;
                out.push(c);
            }
            // The marks of an unprintable letter go with it.
            _ if after_unprintable && joins_previous(c) => unprintable += 1,
            _ => {
                unprintable += 1;
                current = Some(LATIN);
                after_unprintable = true;
                out.push('?');
            }
        }
    }
    (out, unprintable)
}

/// Runs of one face, in logical order, covering `range` of `text`.
fn face_runs(text: &str, range: Range<usize>, style: Style) -> Vec<(usize, Range<usize>)> {
    let mut runs: Vec<(usize, Range<usize>)> = Vec::new();
    let mut current = None;
    for (i, c) in text[range.clone()].char_indices() {
        let at = range.start + i;
        let face = face_for(c, style, current).unwrap_or(LATIN);
        current = Some(face);
        match runs.last_mut() {
            Some((f, r)) if *f == face => r.end = at + c.len_utf8(),
            _ => runs.push((face, at..at + c.len_utf8())),
        }
    }
    runs
}

/// Shape one run of one face and direction.
fn shape_run(text: &str, range: Range<usize>, face: usize, rtl: bool) -> ShapedRun {
    let mut out = ShapedRun {
        rtl,
        text: text[range.clone()].to_owned(),
        glyphs: Vec::new(),
    };
    let Some(font) = faces().get(face) else {
        return out;
    };
    let run = &text[range.clone()];
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(run);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl {
        Direction::RightToLeft
    } else {
        Direction::LeftToRight
    });
    let shaped = rustybuzz::shape(font, &[], buffer);
    let per_em = per_em(font);

    // Each cluster's text runs to the next cluster start in logical order.
    let mut starts: Vec<usize> = shaped
        .glyph_infos()
        .iter()
        .map(|g| g.cluster as usize)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    // The first glyph drawn of each cluster carries its text; `seen` is
    // indexed like `starts` (a binary search each, not a scan).
    let mut seen = vec![false; starts.len()];
    for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
        let cluster = info.cluster as usize;
        let at = starts.partition_point(|&s| s < cluster);
        let first = seen.get(at).is_some_and(|s| !s);
        if let Some(s) = seen.get_mut(at) {
            *s = true;
        }
        // An invisible character's cluster is drawn with some other glyph
        // (often the space): it must not become that glyph's text.
        let text = if first {
            let end = starts.get(at + 1).copied().unwrap_or(run.len());
            let t = run.get(cluster..end).unwrap_or("");
            if t.chars().all(is_invisible) {
                String::new()
            } else {
                t.to_owned()
            }
        } else {
            String::new()
        };
        out.glyphs.push(Glyph {
            face,
            id: u16::try_from(info.glyph_id).unwrap_or(0),
            advance: pos.x_advance as f32 * per_em,
            dx: pos.x_offset as f32 * per_em,
            dy: pos.y_offset as f32 * per_em,
            cluster: range.start + cluster,
            text,
        });
    }
    out
}

/// The runs of a sanitized line (see [`sanitize`]) in display order.
pub(crate) fn shape_runs(text: &str, style: Style) -> Vec<ShapedRun> {
    let mut runs = Vec::new();
    if text.is_empty() {
        return runs;
    }
    let bidi = BidiInfo::new(text, None);
    if !bidi.has_rtl() {
        for (face, range) in face_runs(text, 0..text.len(), style) {
            runs.push(shape_run(text, range, face, false));
        }
        return runs;
    }
    for para in &bidi.paragraphs {
        let (levels, visual) = bidi.visual_runs(para, para.range.clone());
        for range in visual {
            let rtl = levels.get(range.start).is_some_and(|l| l.is_rtl());
            let mut pieces = face_runs(text, range, style);
            if rtl {
                pieces.reverse();
            }
            for (face, range) in pieces {
                runs.push(shape_run(text, range, face, rtl));
            }
        }
    }
    runs
}

/// The glyphs of a sanitized line in display order.
pub(crate) fn shape(text: &str, style: Style) -> Vec<Glyph> {
    shape_runs(text, style)
        .into_iter()
        .flat_map(|r| r.glyphs)
        .collect()
}

/// The advance of each cluster of a sanitized `text`, by byte offset of its
/// start, in logical order: what line breaking measures.
pub(crate) fn cluster_advances(text: &str, style: Style) -> Vec<(usize, f32)> {
    let mut by_cluster: Vec<(usize, f32)> = shape(text, style)
        .iter()
        .map(|g| (g.cluster, g.advance))
        .collect();
    by_cluster.sort_by_key(|(c, _)| *c);
    let mut merged: Vec<(usize, f32)> = Vec::with_capacity(by_cluster.len());
    for (c, a) in by_cluster {
        match merged.last_mut() {
            Some((last, sum)) if *last == c => *sum += a,
            _ => merged.push((c, a)),
        }
    }
    merged
}

/// Width of shaped glyphs, in thousandths of an em.
#[cfg(test)]
pub(crate) fn width(glyphs: &[Glyph]) -> f32 {
    glyphs.iter().map(|g| g.advance).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fonts::{ARABIC, DEVANAGARI, LATIN_BOLD};

    fn ids(text: &str) -> Vec<u16> {
        shape(text, Style::Regular).iter().map(|g| g.id).collect()
    }

    #[test]
    fn unprintable_characters_become_question_marks() {
        assert_eq!(sanitize("a\tb\r\nc", Style::Regular), ("a b c".into(), 0));
        // Sinhala: three letters, two signs; one `?` per letter.
        assert_eq!(
            sanitize("Ravi සිංහල", Style::Regular),
            ("Ravi ???".into(), 5)
        );
        assert_eq!(sanitize("कि", Style::Regular), ("कि".into(), 0));
    }

    #[test]
    fn latin_text_is_one_run_with_kerning_and_no_missing_glyphs() {
        let g = shape("AVa Verma", Style::Regular);
        assert_eq!(g.len(), 9);
        assert!(g.iter().all(|g| g.face == LATIN && g.id != 0));
        // "AV" kerns: A's advance is less than its advance before "a".
        let av = shape("AV", Style::Regular)[0].advance;
        let aa = shape("Aa", Style::Regular)[0].advance;
        assert!(av < aa, "{av} < {aa}");
        assert!(shape("Bold", Style::Bold)
            .iter()
            .all(|g| g.face == LATIN_BOLD));
    }

    #[test]
    fn devanagari_is_shaped_into_conjuncts_and_reordered_vowel_signs() {
        // "कि": the i-sign is drawn before its consonant, one cluster.
        let ki = shape("कि", Style::Regular);
        assert_eq!(ki.len(), 2);
        assert!(ki.iter().all(|g| g.face == DEVANAGARI && g.id != 0));
        assert_eq!(ki[0].cluster, ki[1].cluster);
        assert_eq!(ki[0].text, "कि");
        assert_eq!(ki[1].text, "");
        assert_eq!(ki[1].id, ids("क")[0], "the consonant is drawn second");
        // "क्ष" (ka, virama, ssa) is one conjunct glyph, not three.
        assert_eq!(shape("क्ष", Style::Regular).len(), 1);
    }

    #[test]
    fn arabic_joins_and_reads_right_to_left() {
        let text = "محمد";
        let g = shape(text, Style::Regular);
        assert!(g.iter().all(|g| g.face == ARABIC && g.id != 0));
        // Display order is reversed: the last letter is drawn first.
        assert_eq!(
            g.first().map(|g| g.cluster),
            Some(text.len() - 'د'.len_utf8())
        );
        assert_eq!(g.last().map(|g| g.cluster), Some(0));
        // Joined: the first meem takes its initial form, not the isolated one.
        let isolated = ids("م")[0];
        assert_ne!(g.last().map(|g| g.id), Some(isolated));
    }

    #[test]
    fn mixed_lines_keep_latin_left_to_right_around_arabic() {
        let text = "Name: محمد 42";
        let g = shape(text, Style::Regular);
        // The Latin label comes first on the line, in its own order.
        let label: String = g.iter().take(5).map(|g| g.text.as_str()).collect();
        assert_eq!(label, "Name:");
        assert!(g.iter().any(|g| g.face == ARABIC));
        let text_of_all: usize = g.iter().map(|g| g.text.chars().count()).sum();
        assert_eq!(
            text_of_all,
            text.chars().count(),
            "every character mapped once"
        );
    }

    #[test]
    fn invisible_characters_draw_nothing_and_name_no_glyph() {
        let plain = shape("محمد علي", Style::Regular);
        let marked = shape("\u{200f}محمد\u{200f} علي", Style::Regular);
        assert!((width(&plain) - width(&marked)).abs() < 0.01);
        assert!(marked.iter().all(|g| !g.text.chars().any(is_invisible)));
        assert!(marked.iter().all(|g| g.id != 0));
    }

    #[test]
    fn runs_split_by_face_and_direction_in_display_order() {
        let runs = shape_runs("राहुल Asha محمد", Style::Regular);
        let texts: Vec<(&str, bool)> = runs.iter().map(|r| (r.text.as_str(), r.rtl)).collect();
        assert_eq!(texts, [("राहुल ", false), ("Asha ", false), ("محمد", true)]);
        // In an Arabic paragraph the runs go right to left.
        let runs = shape_runs("محمد Asha", Style::Regular);
        let texts: Vec<&str> = runs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["Asha", "محمد "]);
    }

    #[test]
    fn cluster_advances_cover_the_text_in_logical_order() {
        let text = "कि Asha محمد";
        let adv = cluster_advances(text, Style::Regular);
        assert!(adv.windows(2).all(|w| w[0].0 < w[1].0));
        let total: f32 = adv.iter().map(|(_, a)| a).sum();
        assert!((total - width(&shape(text, Style::Regular))).abs() < 0.01);
    }
}
