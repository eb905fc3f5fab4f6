//! ClinicOS printable documents (the patient record for referrals; later
//! prescriptions, invoices and lab reports): text laid out on A4 pages and
//! written as PDF with the fonts embedded.
//!
//! Text in any mix of Latin, Devanagari and Arabic prints as typed: shaped
//! (conjuncts, vowel signs, joining forms), reordered right to left where
//! the Unicode bidirectional algorithm says, and extractable (every line
//! carries its logical text). Characters of other scripts print as `?` and
//! are counted ([`TextDocument::unprintable`]); [`printable`] tells a caller
//! in advance.
//!
//! The crate is apart from the application so the fonts (1.4 MB) and the
//! shaper compile in parallel with the rest and are easy to replace.

#![forbid(unsafe_code)]

mod document;
mod fonts;
mod shape;
mod write;

pub use document::TextDocument;
pub use fonts::printable;

/// Writing a PDF failed. Only an embedded font that cannot be subsetted
/// gets here: the layout itself cannot fail.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("embedded font: {0}")]
    Font(&'static str),
}

#[cfg(test)]
mod tests;
