//! A small text-only PDF writer for printable documents (the patient record
//! for referrals): headings, labelled fields and wrapped paragraphs on A4
//! pages, with a running header and "page n of N" footer, set in the
//! standard Helvetica fonts so nothing is embedded.
//!
//! The standard fonts cover WinAnsi (Latin) text only. Characters outside
//! it are printed as `?` and counted ([`TextDocument::unprintable`]), so a
//! caller can say which fields to read in the JSON export instead; shaping
//! scripts such as Devanagari needs an embedded font and a shaper, which
//! this writer deliberately does not carry.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

const PAGE_W: f32 = 595.0; // A4, points
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const BODY_SIZE: f32 = 10.0;
const HEADING_SIZE: f32 = 13.0;
const TITLE_SIZE: f32 = 17.0;
const SMALL_SIZE: f32 = 8.0;
const LABEL_W: f32 = 140.0;
/// Body lines start below the running header and stop above the footer.
const TOP: f32 = PAGE_H - MARGIN - 20.0;
const BOTTOM: f32 = MARGIN + 20.0;

/// Helvetica advance widths (1/1000 em) of ASCII 32..=126, from the font's
/// published metrics; Latin-1 letters use the width of `o`-sized glyphs.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // :;<=>?@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A-M
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
    278, 278, 278, 469, 556, 333, // [\]^_`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a-m
    556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n-z
    334, 260, 334, 584, // {|}~
];
/// Bold glyphs are wider; wrapping bold text assumes this factor.
const BOLD_FACTOR: f32 = 1.1;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }
}

/// One placed run of text.
#[derive(Clone, Debug)]
struct Run {
    x: f32,
    y: f32,
    size: f32,
    font: Font,
    text: Vec<u8>,
}

/// The byte of `c` in WinAnsiEncoding, if it has one.
fn win_ansi(c: char) -> Option<u8> {
    match c {
        ' '..='~' => Some(c as u8),
        '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).ok(),
        '€' => Some(0x80),
        '‚' => Some(0x82),
        '„' => Some(0x84),
        '…' => Some(0x85),
        '‘' => Some(0x91),
        '’' => Some(0x92),
        '“' => Some(0x93),
        '”' => Some(0x94),
        '•' => Some(0x95),
        '–' => Some(0x96),
        '—' => Some(0x97),
        '\t' => Some(b' '),
        _ => None,
    }
}

/// Can every character of `s` be printed?
pub fn printable(s: &str) -> bool {
    s.chars().all(|c| win_ansi(c).is_some())
}

fn width_of(b: u8, size: f32, font: Font) -> f32 {
    let em = match b {
        32..=126 => f32::from(HELVETICA[usize::from(b - 32)]),
        _ => 556.0,
    };
    let w = em * size / 1000.0;
    if font == Font::Bold {
        w * BOLD_FACTOR
    } else {
        w
    }
}

fn text_width(bytes: &[u8], size: f32, font: Font) -> f32 {
    bytes.iter().map(|&b| width_of(b, size, font)).sum()
}

/// Break `bytes` into lines no wider than `max`, at spaces where possible
/// (a word longer than a line is cut).
fn wrap(bytes: &[u8], max: f32, size: f32, font: Font) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in bytes.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_vec();
        loop {
            let candidate_w = if line.is_empty() {
                text_width(&word, size, font)
            } else {
                text_width(&line, size, font)
                    + width_of(b' ', size, font)
                    + text_width(&word, size, font)
            };
            if candidate_w <= max {
                if !line.is_empty() {
                    line.push(b' ');
                }
                line.append(&mut word);
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A single word wider than the line: cut it.
            let mut cut = 0;
            let mut w = 0.0;
            while cut < word.len() && w + width_of(word[cut], size, font) <= max {
                w += width_of(word[cut], size, font);
                cut += 1;
            }
            let cut = cut.max(1);
            let rest = word.split_off(cut);
            lines.push(word);
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A document being laid out; [`TextDocument::finish`] writes the PDF.
#[derive(Debug)]
pub struct TextDocument {
    title: String,
    pages: Vec<Vec<Run>>,
    y: f32,
    unprintable: usize,
}

impl TextDocument {
    /// A new document; `title` is the running header of every page and the
    /// PDF's title.
    pub fn new(title: &str) -> TextDocument {
        TextDocument {
            title: title.to_owned(),
            pages: vec![Vec::new()],
            y: TOP,
            unprintable: 0,
        }
    }

    /// Characters that could not be printed (shown as `?`).
    pub fn unprintable(&self) -> usize {
        self.unprintable
    }

    fn encode(&mut self, s: &str) -> Vec<u8> {
        s.chars()
            .filter(|c| *c != '\r')
            .map(|c| match c {
                '\n' => b' ',
                c => win_ansi(c).unwrap_or_else(|| {
                    self.unprintable += 1;
                    b'?'
                }),
            })
            .collect()
    }

    /// Move down by `h`, starting a new page when the line would not fit.
    fn advance(&mut self, h: f32) -> f32 {
        if self.y - h < BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
        self.y -= h;
        self.y
    }

    fn place(&mut self, x: f32, y: f32, size: f32, font: Font, text: Vec<u8>) {
        if let Some(page) = self.pages.last_mut() {
            page.push(Run {
                x,
                y,
                size,
                font,
                text,
            });
        }
    }

    fn lines(&mut self, x: f32, width: f32, size: f32, font: Font, text: &str) {
        let bytes = self.encode(text);
        for line in wrap(&bytes, width, size, font) {
            let y = self.advance(size * 1.4);
            self.place(x, y, size, font, line);
        }
    }

    /// The document's title line (large, bold).
    pub fn title(&mut self, text: &str) {
        self.lines(MARGIN, PAGE_W - 2.0 * MARGIN, TITLE_SIZE, Font::Bold, text);
        self.gap();
    }

    /// A section heading; never left alone at the foot of a page.
    pub fn heading(&mut self, text: &str) {
        if self.y - HEADING_SIZE * 1.4 - 3.0 * BODY_SIZE * 1.4 < BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
        } else {
            self.gap();
        }
        self.lines(
            MARGIN,
            PAGE_W - 2.0 * MARGIN,
            HEADING_SIZE,
            Font::Bold,
            text,
        );
    }

    /// A wrapped paragraph of body text, indented by `indent` points.
    pub fn paragraph(&mut self, indent: f32, text: &str) {
        let x = MARGIN + indent;
        self.lines(x, PAGE_W - MARGIN - x, BODY_SIZE, Font::Regular, text);
    }

    /// A bold line of body size (an entry's name).
    pub fn strong(&mut self, text: &str) {
        self.lines(MARGIN, PAGE_W - 2.0 * MARGIN, BODY_SIZE, Font::Bold, text);
    }

    /// `label` in bold in a left column, `value` wrapped beside it.
    pub fn field(&mut self, label: &str, value: &str) {
        let label = self.encode(label);
        let value = self.encode(value);
        let value_x = MARGIN + LABEL_W;
        let lines = wrap(&value, PAGE_W - MARGIN - value_x, BODY_SIZE, Font::Regular);
        for (i, line) in lines.into_iter().enumerate() {
            let y = self.advance(BODY_SIZE * 1.4);
            if i == 0 {
                self.place(MARGIN, y, BODY_SIZE, Font::Bold, label.clone());
            }
            self.place(value_x, y, BODY_SIZE, Font::Regular, line);
        }
    }

    /// Half a line of space.
    pub fn gap(&mut self) {
        if self.y - BODY_SIZE * 0.7 >= BOTTOM {
            self.y -= BODY_SIZE * 0.7;
        }
    }

    /// Number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Write the PDF: every page gets the running header and a footer with
    /// `footer` and "Page n of N".
    pub fn finish(mut self, footer: &str) -> Vec<u8> {
        let header = self.encode(&self.title.clone());
        let footer = self.encode(footer);
        let total = self.pages.len();
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let first_page = 6;
        let page_ref = |i: usize| Ref::new(first_page + 2 * i32::try_from(i).unwrap_or(0));
        let content_ref = |i: usize| Ref::new(first_page + 1 + 2 * i32::try_from(i).unwrap_or(0));

        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids((0..total).map(page_ref))
            .count(i32::try_from(total).unwrap_or(i32::MAX));
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.document_info(info)
            .title(pdf_writer::TextStr(&self.title))
            .producer(pdf_writer::TextStr("ClinicOS"));
        pdf.set_file_id((vec![0; 16], vec![0; 16]));

        for (i, runs) in self.pages.iter().enumerate() {
            let mut page = pdf.page(page_ref(i));
            page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
            page.parent(tree);
            page.contents(content_ref(i));
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(Font::Regular.name(), regular);
            fonts.pair(Font::Bold.name(), bold);
            fonts.finish();
            resources.finish();
            page.finish();

            let mut c = Content::new();
            let mut show = |x: f32, y: f32, size: f32, font: Font, text: &[u8]| {
                c.begin_text();
                c.set_font(font.name(), size);
                c.next_line(x, y);
                c.show(Str(text));
                c.end_text();
            };
            show(
                MARGIN,
                PAGE_H - MARGIN + 8.0,
                SMALL_SIZE,
                Font::Bold,
                &header,
            );
            let mut foot = footer.clone();
            foot.extend_from_slice(format!("    Page {} of {total}", i + 1).as_bytes());
            show(MARGIN, MARGIN - 8.0, SMALL_SIZE, Font::Regular, &foot);
            for r in runs {
                show(r.x, r.y, r.size, r.font, &r.text);
            }
            pdf.stream(content_ref(i), &c.finish());
        }
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(pdf: &[u8]) -> String {
        String::from_utf8_lossy(pdf).into_owned()
    }

    #[test]
    fn writes_a_pdf_with_the_text_and_page_numbers() {
        let mut d = TextDocument::new("Patient record");
        d.title("Asha Verma");
        d.heading("Allergies");
        d.field("Substance", "Penicillin (anaphylaxis)");
        let pdf = d.finish("Confidential");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(text_of(&pdf).trim_end().ends_with("%%EOF"));
        let t = text_of(&pdf);
        assert!(t.contains("(Asha Verma)"));
        assert!(
            t.contains("(Penicillin (anaphylaxis))"),
            "balanced parentheses kept"
        );
        assert!(t.contains("Page 1 of 1"));
        assert!(t.contains("/Helvetica-Bold"));
    }

    #[test]
    fn long_text_wraps_and_flows_onto_new_pages() {
        let mut d = TextDocument::new("t");
        let para = "word ".repeat(2_000);
        d.paragraph(0.0, &para);
        assert!(d.page_count() > 1);
        let pages = d.page_count();
        let t = text_of(&d.finish("f"));
        assert!(t.contains(&format!("Page {pages} of {pages}")));
    }

    #[test]
    fn wrapped_lines_fit_the_width() {
        let text = b"Amoxicillin 500 mg three times a day for seven days, then review";
        for line in wrap(text, 120.0, BODY_SIZE, Font::Regular) {
            assert!(text_width(&line, BODY_SIZE, Font::Regular) <= 120.0);
            assert!(!line.is_empty());
        }
        // A word longer than the line is cut rather than overflowing.
        let long = [b'W'; 80];
        let lines = wrap(&long, 50.0, BODY_SIZE, Font::Regular);
        assert!(lines.len() > 1);
        assert_eq!(lines.iter().map(Vec::len).sum::<usize>(), 80);
    }

    #[test]
    fn text_outside_win_ansi_is_counted_not_dropped() {
        let mut d = TextDocument::new("t");
        d.paragraph(0.0, "José Müller – अनिल");
        assert_eq!(d.unprintable(), 4);
        assert!(printable("José Müller – O’Neil"));
        assert!(!printable("अनिल"));
        let t = text_of(&d.finish("f")).to_ascii_uppercase();
        // Non-ASCII runs are hex strings: é is 0xE9 in WinAnsi, and the
        // Devanagari letters are question marks (0x3F).
        assert!(t.contains("4A6F73E9"), "Jos\\xe9");
        assert!(t.contains("3F3F3F3F"));
    }
}
