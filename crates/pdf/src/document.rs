//! Laying text out on A4 pages: a title, headings, labelled fields and
//! wrapped paragraphs, a running header and a "Page n of N" footer.
//!
//! Lines break at spaces where they can, otherwise between clusters (never
//! inside a Devanagari conjunct or between a letter and its marks), using
//! the shaped widths, so a line never runs past its margin.

use crate::fonts::Style;
use crate::shape::{cluster_advances, sanitize};
use crate::write::{write, PlacedLine, PAGE_H, PAGE_W};
use crate::PdfError;
use std::ops::Range;

const MARGIN: f32 = 50.0;
const BODY_SIZE: f32 = 10.0;
const HEADING_SIZE: f32 = 13.0;
const TITLE_SIZE: f32 = 17.0;
const SMALL_SIZE: f32 = 8.0;
const LABEL_W: f32 = 140.0;
/// Body lines start below the running header and stop above the footer.
const TOP: f32 = PAGE_H - MARGIN - 20.0;
const BOTTOM: f32 = MARGIN + 20.0;

/// Break sanitized `text` into lines no wider than `max` points at `size`:
/// byte ranges of `text`, never empty unless `text` is.
fn wrap(text: &str, max: f32, size: f32, style: Style) -> Vec<Range<usize>> {
    let advances = cluster_advances(text, style);
    let starts: Vec<usize> = advances.iter().map(|(s, _)| *s).collect();
    let mut prefix = Vec::with_capacity(advances.len() + 1);
    prefix.push(0.0_f32);
    for (_, a) in &advances {
        let last = prefix.last().copied().unwrap_or(0.0);
        prefix.push(last + a * size / 1000.0);
    }
    let at = |byte: usize| starts.partition_point(|&s| s < byte);
    let width = |r: &Range<usize>| prefix[at(r.end)] - prefix[at(r.start)];

    let mut words: Vec<Range<usize>> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c == ' ', start) {
            (true, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..text.len());
    }

    let mut lines = Vec::new();
    let mut line: Option<Range<usize>> = None;
    for mut word in words {
        loop {
            let candidate = match &line {
                Some(l) => l.start..word.end,
                None => word.clone(),
            };
            if width(&candidate) <= max {
                line = Some(candidate);
                break;
            }
            if let Some(l) = line.take() {
                lines.push(l);
                continue;
            }
            // One word wider than the line: cut it at the last cluster
            // that fits, keeping at least one cluster.
            let first = at(word.start);
            let mut cut = first + 1;
            while cut < starts.len()
                && starts[cut] < word.end
                && prefix[cut + 1] - prefix[first] <= max
            {
                cut += 1;
            }
            let cut_at = starts.get(cut).copied().unwrap_or(word.end).min(word.end);
            if cut_at >= word.end || cut_at <= word.start {
                lines.push(word.clone());
                break;
            }
            lines.push(word.start..cut_at);
            word = cut_at..word.end;
        }
    }
    if let Some(l) = line {
        lines.push(l);
    }
    if lines.is_empty() {
        lines.push(0..0);
    }
    lines
}

/// A document being laid out; [`TextDocument::finish`] writes the PDF.
#[derive(Debug)]
pub struct TextDocument {
    title: String,
    pages: Vec<Vec<PlacedLine>>,
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

    /// Characters no embedded face has (printed as `?`).
    pub fn unprintable(&self) -> usize {
        self.unprintable
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

    fn place(&mut self, x: f32, y: f32, size: f32, style: Style, text: &str) {
        if let Some(page) = self.pages.last_mut() {
            page.push(PlacedLine::new(x, y, size, style, text));
        }
    }

    fn clean(&mut self, text: &str, style: Style) -> String {
        let (text, unprintable) = sanitize(text, style);
        self.unprintable += unprintable;
        text
    }

    fn lines(&mut self, x: f32, width: f32, size: f32, style: Style, text: &str) {
        let text = self.clean(text, style);
        for range in wrap(&text, width, size, style) {
            let y = self.advance(size * 1.4);
            self.place(x, y, size, style, &text[range]);
        }
    }

    /// The document's title line (large, bold).
    pub fn title(&mut self, text: &str) {
        self.lines(MARGIN, PAGE_W - 2.0 * MARGIN, TITLE_SIZE, Style::Bold, text);
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
            Style::Bold,
            text,
        );
    }

    /// A wrapped paragraph of body text, indented by `indent` points.
    pub fn paragraph(&mut self, indent: f32, text: &str) {
        let x = MARGIN + indent;
        self.lines(x, PAGE_W - MARGIN - x, BODY_SIZE, Style::Regular, text);
    }

    /// A bold line of body size (an entry's name).
    pub fn strong(&mut self, text: &str) {
        self.lines(MARGIN, PAGE_W - 2.0 * MARGIN, BODY_SIZE, Style::Bold, text);
    }

    /// `label` in bold in a left column, `value` wrapped beside it.
    pub fn field(&mut self, label: &str, value: &str) {
        let label = self.clean(label, Style::Bold);
        let value = self.clean(value, Style::Regular);
        let value_x = MARGIN + LABEL_W;
        let ranges = wrap(&value, PAGE_W - MARGIN - value_x, BODY_SIZE, Style::Regular);
        for (i, range) in ranges.into_iter().enumerate() {
            let y = self.advance(BODY_SIZE * 1.4);
            if i == 0 {
                self.place(MARGIN, y, BODY_SIZE, Style::Bold, &label);
            }
            self.place(value_x, y, BODY_SIZE, Style::Regular, &value[range]);
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
    pub fn finish(mut self, footer: &str) -> Result<Vec<u8>, PdfError> {
        let header = self.clean(&self.title.clone(), Style::Bold);
        let footer = self.clean(footer, Style::Regular);
        let total = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            let foot = format!("{footer}    Page {} of {total}", i + 1);
            for (y, style, text) in [
                (PAGE_H - MARGIN + 8.0, Style::Bold, header.as_str()),
                (MARGIN - 8.0, Style::Regular, foot.as_str()),
            ] {
                page.push(PlacedLine::new(MARGIN, y, SMALL_SIZE, style, text));
            }
        }
        write(&self.title, &self.pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{shape, width};

    fn line_width(text: &str, size: f32, style: Style) -> f32 {
        width(&shape(text, style)) * size / 1000.0
    }

    #[test]
    fn wrapped_lines_fit_the_width() {
        let text = "Amoxicillin 500 mg three times a day for seven days, then review";
        let lines = wrap(text, 120.0, BODY_SIZE, Style::Regular);
        assert!(lines.len() > 2);
        for r in &lines {
            assert!(line_width(&text[r.clone()], BODY_SIZE, Style::Regular) <= 120.0 + 0.01);
            assert!(!r.is_empty());
        }
        // Every word is on exactly one line.
        let rejoined: Vec<&str> = lines.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(rejoined.join(" "), text);
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut_between_clusters() {
        let long = "W".repeat(80);
        let lines = wrap(&long, 50.0, BODY_SIZE, Style::Regular);
        assert!(lines.len() > 1);
        assert_eq!(lines.iter().map(|r| r.len()).sum::<usize>(), 80);
        // Devanagari: a cut never separates a consonant from its vowel sign.
        let hindi = "किकिकिकिकिकिकिकिकिकिकिकिकिकिकिकि";
        for r in wrap(hindi, 20.0, BODY_SIZE, Style::Regular) {
            assert!(hindi[r.clone()].starts_with('क'), "{:?}", &hindi[r]);
        }
    }

    #[test]
    fn long_text_flows_onto_new_pages() {
        let mut d = TextDocument::new("t");
        d.paragraph(0.0, &"word ".repeat(2_000));
        assert!(d.page_count() > 1);
    }

    #[test]
    fn empty_text_is_one_empty_line() {
        assert_eq!(wrap("", 100.0, BODY_SIZE, Style::Regular), vec![0..0]);
    }
}
