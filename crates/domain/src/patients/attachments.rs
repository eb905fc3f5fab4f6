//! Attachment file types, recognised by their content (magic bytes), and
//! the rule that the declared content type and the file name's extension
//! must both agree with what the content is.

/// A file type attachments accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Dicom,
    Csv,
    Text,
    /// Accepted for patient photos only (not an attachment type).
    Webp,
}

impl FileKind {
    /// The content type stored and served for this kind.
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Dicom => "application/dicom",
            FileKind::Csv => "text/csv",
            FileKind::Text => "text/plain",
            FileKind::Webp => "image/webp",
        }
    }

    /// File name extensions (lower case) this kind may carry.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileKind::Pdf => &["pdf"],
            FileKind::Png => &["png"],
            FileKind::Jpeg => &["jpg", "jpeg"],
            FileKind::Dicom => &["dcm", "dicom"],
            FileKind::Csv => &["csv"],
            FileKind::Text => &["txt"],
            FileKind::Webp => &["webp"],
        }
    }

    /// The kind a declared content type names (parameters such as
    /// `; charset=utf-8` ignored).
    pub fn from_content_type(declared: &str) -> Option<FileKind> {
        let base = declared.split(';').next().unwrap_or("").trim();
        let kinds = [
            FileKind::Pdf,
            FileKind::Png,
            FileKind::Jpeg,
            FileKind::Dicom,
            FileKind::Csv,
            FileKind::Text,
        ];
        kinds
            .into_iter()
            .find(|k| k.content_type().eq_ignore_ascii_case(base))
    }
}

/// Why a file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SniffError {
    /// The content type is not one attachments accept.
    UnsupportedType,
    /// The content is not a file of an accepted kind.
    UnknownContent,
    /// The content is of another kind than the one declared.
    TypeMismatch,
    /// The file name's extension does not fit the content.
    ExtensionMismatch,
}

/// What the content is, by its first bytes; text kinds need valid UTF-8.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpeg)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(FileKind::Webp)
    } else if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        Some(FileKind::Dicom)
    } else if !bytes.is_empty() && !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        Some(FileKind::Text)
    } else {
        None
    }
}

/// Check an upload: the declared type must be accepted, the content must
/// be of that kind (CSV is text), and the name's extension must fit it.
pub fn check(declared: &str, file_name: &str, bytes: &[u8]) -> Result<FileKind, SniffError> {
    let kind = FileKind::from_content_type(declared).ok_or(SniffError::UnsupportedType)?;
    let found = sniff(bytes).ok_or(SniffError::UnknownContent)?;
    let fits = found == kind || (kind == FileKind::Csv && found == FileKind::Text);
    if !fits {
        return Err(SniffError::TypeMismatch);
    }
    fits_name(kind, file_name)
}

/// The kind, when the file name's extension is one it may carry.
fn fits_name(kind: FileKind, file_name: &str) -> Result<FileKind, SniffError> {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if kind.extensions().contains(&ext.as_str()) {
        Ok(kind)
    } else {
        Err(SniffError::ExtensionMismatch)
    }
}

/// The image kinds a patient photo may be.
pub const PHOTO_KINDS: [FileKind; 3] = [FileKind::Jpeg, FileKind::Png, FileKind::Webp];

/// Check a photo: the declared type must be JPEG, PNG or WebP and the
/// content must be of that kind; a file name, when given, must fit it too.
pub fn check_photo(
    declared: &str,
    file_name: Option<&str>,
    bytes: &[u8],
) -> Result<FileKind, SniffError> {
    let base = declared.split(';').next().unwrap_or("").trim();
    let kind = PHOTO_KINDS
        .into_iter()
        .find(|k| k.content_type().eq_ignore_ascii_case(base))
        .ok_or(SniffError::UnsupportedType)?;
    let found = sniff(bytes).ok_or(SniffError::UnknownContent)?;
    if found != kind {
        return Err(SniffError::TypeMismatch);
    }
    match file_name {
        Some(name) => fits_name(kind, name),
        None => Ok(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dicom() -> Vec<u8> {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        b.extend_from_slice(&[2, 0, 0, 0]);
        b
    }

    #[test]
    fn content_decides_the_kind() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(FileKind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(FileKind::Jpeg));
        assert_eq!(sniff(&dicom()), Some(FileKind::Dicom));
        assert_eq!(sniff(b"a,b\n1,2\n"), Some(FileKind::Text));
        assert_eq!(sniff(&[0xC3, 0x28]), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn declared_type_and_extension_must_fit_the_content() {
        assert_eq!(
            check("application/pdf", "report.PDF", b"%PDF-1.4"),
            Ok(FileKind::Pdf)
        );
        assert_eq!(
            check("text/csv; charset=utf-8", "labs.csv", b"a,b\n"),
            Ok(FileKind::Csv)
        );
        assert_eq!(
            check("application/dicom", "scan.dcm", &dicom()),
            Ok(FileKind::Dicom)
        );
        // A PDF renamed .png and declared as PNG.
        assert_eq!(
            check("image/png", "scan.png", b"%PDF-1.4"),
            Err(SniffError::TypeMismatch)
        );
        // A PDF declared as PDF but named .png.
        assert_eq!(
            check("application/pdf", "scan.png", b"%PDF-1.4"),
            Err(SniffError::ExtensionMismatch)
        );
        assert_eq!(
            check("application/zip", "a.zip", b"PK"),
            Err(SniffError::UnsupportedType)
        );
        assert_eq!(
            check("text/plain", "a.txt", &[0xFF, 0xFE, 0]),
            Err(SniffError::UnknownContent)
        );
    }

    #[test]
    fn photos_are_jpeg_png_or_webp_by_content() {
        let png = b"\x89PNG\r\n\x1a\n....".to_vec();
        let webp = b"RIFF\x10\x00\x00\x00WEBPVP8 ".to_vec();
        assert_eq!(check_photo("image/png", None, &png), Ok(FileKind::Png));
        assert_eq!(
            check_photo("image/webp", Some("me.webp"), &webp),
            Ok(FileKind::Webp)
        );
        assert_eq!(
            check_photo("image/jpeg", Some("me.JPG"), &[0xFF, 0xD8, 0xFF, 0xE0]),
            Ok(FileKind::Jpeg)
        );
        // A PDF renamed .png, declared either way.
        assert_eq!(
            check_photo("image/png", Some("me.png"), b"%PDF-1.4\n"),
            Err(SniffError::TypeMismatch)
        );
        assert_eq!(
            check_photo("application/pdf", Some("me.png"), b"%PDF-1.4\n"),
            Err(SniffError::UnsupportedType)
        );
        assert_eq!(
            check_photo("image/png", Some("me.jpg"), &png),
            Err(SniffError::ExtensionMismatch)
        );
        assert_eq!(
            check_photo("image/webp", None, b"RIFF\x00\x00\x00\x00AVI "),
            Err(SniffError::UnknownContent)
        );
        // WebP is a photo type, not an attachment type.
        assert_eq!(FileKind::from_content_type("image/webp"), None);
    }
}
