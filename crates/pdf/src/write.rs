//! Serialising laid-out pages as PDF: each face used becomes a Type 0 font
//! with an Identity-H CID font whose file is subsetted to the glyphs the
//! document uses, a width array, and a ToUnicode map; each line is one
//! marked-content span whose `ActualText` is the run's text as typed, so
//! copying, searching and screen readers get the words, not the glyphs
//! (a Devanagari vowel sign drawn before its consonant is read after it).
//! Right-to-left runs carry no `ActualText`: readers (poppler, pdf.js) put
//! glyphs drawn in display order back into reading order themselves, and
//! would reverse an `ActualText` that already is; their glyphs' ToUnicode
//! entries give the words.

use crate::fonts::{faces, per_em, Style, FACES};
use crate::shape::{shape_runs, Glyph, ShapedRun};
use crate::PdfError;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use rustybuzz::ttf_parser::GlyphId;
use std::collections::BTreeMap;
use subsetter::GlyphRemapper;

pub(crate) const PAGE_W: f32 = 595.0; // A4, points
pub(crate) const PAGE_H: f32 = 842.0;

/// One line of shaped text at its place on a page.
#[derive(Clone, Debug)]
pub(crate) struct PlacedLine {
    pub(crate) x: f32,
    pub(crate) y: f32,
    pub(crate) size: f32,
    pub(crate) runs: Vec<ShapedRun>,
}

impl PlacedLine {
    /// `text` (sanitized) shaped in `style` at `(x, y)`.
    pub(crate) fn new(x: f32, y: f32, size: f32, style: Style, text: &str) -> PlacedLine {
        PlacedLine {
            x,
            y,
            size,
            runs: shape_runs(text, style),
        }
    }
}

/// What the document needs of one face: its new glyph ids and, per new id,
/// the text it stands for.
struct UsedFace {
    remapper: GlyphRemapper,
    to_unicode: BTreeMap<u16, String>,
}

fn resource_name(face: usize) -> Vec<u8> {
    format!("F{face}").into_bytes()
}

/// Six capital letters naming a subset (PDF 32000 §9.9.2), from its glyphs.
fn subset_tag(face: usize, remapper: &GlyphRemapper) -> String {
    let mut h: u32 = 0x811c_9dc5 ^ u32::try_from(face).unwrap_or(0);
    for g in remapper.remapped_gids() {
        h = (h ^ u32::from(g)).wrapping_mul(0x0100_0193);
    }
    (0..6)
        .map(|i| char::from(b'A' + u8::try_from((h >> (i * 5)) % 26).unwrap_or(0)))
        .collect()
}

fn collect_faces(pages: &[Vec<PlacedLine>]) -> BTreeMap<usize, UsedFace> {
    let mut used: BTreeMap<usize, UsedFace> = BTreeMap::new();
    let glyphs = pages
        .iter()
        .flatten()
        .flat_map(|l| &l.runs)
        .flat_map(|r| &r.glyphs);
    for g in glyphs {
        let face = used.entry(g.face).or_insert_with(|| UsedFace {
            remapper: GlyphRemapper::new(),
            to_unicode: BTreeMap::new(),
        });
        let new = face.remapper.remap(g.id);
        if !g.text.is_empty() {
            face.to_unicode.entry(new).or_insert_with(|| g.text.clone());
        }
    }
    used
}

/// Write the font objects of one face; returns the Type 0 font's reference.
fn write_face(
    pdf: &mut Pdf,
    alloc: &mut Ref,
    face: usize,
    used: &UsedFace,
) -> Result<Ref, PdfError> {
    let file = FACES.get(face).ok_or(PdfError::Font("unknown face"))?;
    let font = faces()
        .get(face)
        .ok_or(PdfError::Font("face did not parse"))?;
    let subset =
        subsetter::subset(file.data, 0, &used.remapper).map_err(|_| PdfError::Font("subset"))?;
    let per_em = per_em(font);
    let base_name = format!(
        "{}+{}",
        subset_tag(face, &used.remapper),
        file.postscript_name
    );

    let type0 = alloc.bump();
    let cid = alloc.bump();
    let descriptor = alloc.bump();
    let file_ref = alloc.bump();
    let cmap_ref = alloc.bump();
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(type0)
        .base_font(Name(base_name.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_ref);

    let widths: Vec<f32> = used
        .remapper
        .remapped_gids()
        .map(|old| f32::from(font.glyph_hor_advance(GlyphId(old)).unwrap_or(0)) * per_em)
        .collect();
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base_name.as_bytes()))
        .system_info(system_info)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid_font.widths().consecutive(0, widths);
    cid_font.finish();

    let bbox = font.global_bounding_box();
    let ascent = f32::from(font.ascender()) * per_em;
    pdf.font_descriptor(descriptor)
        .name(Name(base_name.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * per_em,
            f32::from(bbox.y_min) * per_em,
            f32::from(bbox.x_max) * per_em,
            f32::from(bbox.y_max) * per_em,
        ))
        .italic_angle(0.0)
        .ascent(ascent)
        .descent(f32::from(font.descender()) * per_em)
        .cap_height(
            font.capital_height()
                .map_or(ascent, |h| f32::from(h) * per_em),
        )
        .stem_v(if file.bold { 140.0 } else { 80.0 })
        .font_file2(file_ref);

    pdf.stream(file_ref, &subset).pair(
        Name(b"Length1"),
        i32::try_from(subset.len()).unwrap_or(i32::MAX),
    );

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
    for (gid, text) in &used.to_unicode {
        cmap.pair_with_multiple(*gid, text.chars());
    }
    let cmap_data = cmap.finish();
    pdf.cmap(cmap_ref, &cmap_data)
        .name(Name(b"Custom"))
        .system_info(system_info);
    Ok(type0)
}

/// Draw one line, run by run: glyphs of one vertical offset go into one
/// `TJ`, with adjustments where the shaper's advance or offset differs
/// from the glyph's width in the font.
fn draw_line(c: &mut Content, line: &PlacedLine, used: &BTreeMap<usize, UsedFace>) {
    let mut pen = line.x;
    for run in &line.runs {
        if !run.rtl {
            c.begin_marked_content_with_properties(Name(b"Span"))
                .properties()
                .actual_text(TextStr(&run.text));
        }
        pen = draw_run(c, line, &run.glyphs, pen, used);
        if !run.rtl {
            c.end_marked_content();
        }
    }
}

/// Draw glyphs of one face from `pen`; returns the pen after them.
fn draw_run(
    c: &mut Content,
    line: &PlacedLine,
    glyphs: &[Glyph],
    mut pen: f32,
    used: &BTreeMap<usize, UsedFace>,
) -> f32 {
    let scale = line.size / 1000.0;
    let mut rest = glyphs;
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|g| g.dy == first.dy).count();
        let (segment, tail) = rest.split_at(n);
        rest = tail;
        let Some(face) = used.get(&first.face) else {
            continue;
        };
        let font = faces().get(first.face);
        let per_em = font.map_or(1.0, per_em);
        c.begin_text();
        c.set_font(Name(&resource_name(first.face)), line.size);
        c.set_text_matrix([1.0, 0.0, 0.0, 1.0, pen, line.y + first.dy * scale]);
        let mut tj = c.show_positioned();
        let mut items = tj.items();
        let mut shown: Vec<u8> = Vec::new();
        let mut pending = 0.0_f32;
        for g in segment {
            let width = font
                .and_then(|f| f.glyph_hor_advance(GlyphId(g.id)))
                .map_or(0.0, |w| f32::from(w) * per_em);
            pending -= g.dx;
            if pending.abs() > 0.01 {
                if !shown.is_empty() {
                    items.show(Str(&shown));
                    shown.clear();
                }
                items.adjust(pending);
            }
            let new = face.remapper.get(g.id).unwrap_or(0);
            shown.extend_from_slice(&new.to_be_bytes());
            pending = g.dx + width - g.advance;
            pen += g.advance * scale;
        }
        if !shown.is_empty() {
            items.show(Str(&shown));
        }
        items.finish();
        tj.finish();
        c.end_text();
    }
    pen
}

/// The whole file: catalog, page tree, fonts, pages and document info.
pub(crate) fn write(title: &str, pages: &[Vec<PlacedLine>]) -> Result<Vec<u8>, PdfError> {
    let used = collect_faces(pages);
    let mut pdf = Pdf::new();
    let mut alloc = Ref::new(1);
    let catalog = alloc.bump();
    let tree = alloc.bump();
    let info = alloc.bump();

    let mut fonts = Vec::with_capacity(used.len());
    for (&face, u) in &used {
        fonts.push((face, write_face(&mut pdf, &mut alloc, face, u)?));
    }

    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc.bump(), alloc.bump())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(p, _)| *p))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("ClinicOS"));
    pdf.set_file_id((vec![0; 16], vec![0; 16]));

    for (lines, (page_ref, content_ref)) in pages.iter().zip(&page_refs) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(*content_ref);
        let mut resources = page.resources();
        let mut font_dict = resources.fonts();
        for (face, r) in &fonts {
            font_dict.pair(Name(&resource_name(*face)), *r);
        }
        font_dict.finish();
        resources.finish();
        page.finish();

        let mut c = Content::new();
        for line in lines {
            draw_line(&mut c, line, &used);
        }
        pdf.stream(*content_ref, &c.finish());
    }
    Ok(pdf.finish())
}
