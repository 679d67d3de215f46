//! What a file really is, read from its first bytes: the upload's own content type is never
//! trusted, so an HTML page uploaded as `image/png` is stored (and served) as what its bytes
//! say it is.

use std::io::Cursor;

use image::{ImageFormat, ImageReader};

/// How many leading bytes uploads keep in memory to sniff: enough for every image header the
/// engine reads sizes from, in practice.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The type of bytes nothing more specific was recognized in.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// What the first bytes of a file showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The content type to store and serve.
    pub content_type: &'static str,
    /// An image's width, when its header was in the bytes seen.
    pub width: Option<u32>,
    /// An image's height.
    pub height: Option<u32>,
}

/// The raster formats browsers decode themselves; the only types served inline.
const INLINE_IMAGES: [(&str, ImageFormat); 4] = [
    ("image/png", ImageFormat::Png),
    ("image/jpeg", ImageFormat::Jpeg),
    ("image/gif", ImageFormat::Gif),
    ("image/webp", ImageFormat::WebP),
];

/// Whether `content_type` is one of the raster images that may be shown inline.
pub fn is_inline_image(content_type: &str) -> bool {
    INLINE_IMAGES
        .iter()
        .any(|(known, _)| *known == content_type)
}

/// Recognizes `prefix`, the first bytes of a file (all of it when shorter than
/// [`SNIFF_BYTES`]): images by signature (with their size when the header is complete), a few
/// common document and archive formats, UTF-8 text, and otherwise `application/octet-stream`.
pub fn sniff(prefix: &[u8]) -> Sniffed {
    if let Some((content_type, format)) = image_format(prefix) {
        let size = ImageReader::with_format(Cursor::new(prefix), format)
            .into_dimensions()
            .ok();
        return Sniffed {
            content_type,
            width: size.map(|(width, _)| width),
            height: size.map(|(_, height)| height),
        };
    }
    let content_type = if prefix.starts_with(b"%PDF-") {
        "application/pdf"
    } else if prefix.starts_with(b"PK\x03\x04") {
        "application/zip"
    } else if prefix.starts_with(&[0x1f, 0x8b]) {
        "application/gzip"
    } else if prefix.len() >= 12 && &prefix[4..8] == b"ftyp" {
        "video/mp4"
    } else if looks_like_text(prefix) {
        "text/plain; charset=utf-8"
    } else {
        OCTET_STREAM
    };
    Sniffed {
        content_type,
        width: None,
        height: None,
    }
}

fn image_format(prefix: &[u8]) -> Option<(&'static str, ImageFormat)> {
    let format = if prefix.starts_with(b"\x89PNG\r\n\x1a\n") {
        ImageFormat::Png
    } else if prefix.starts_with(&[0xff, 0xd8, 0xff]) {
        ImageFormat::Jpeg
    } else if prefix.starts_with(b"GIF87a") || prefix.starts_with(b"GIF89a") {
        ImageFormat::Gif
    } else if prefix.len() >= 12 && prefix.starts_with(b"RIFF") && &prefix[8..12] == b"WEBP" {
        ImageFormat::WebP
    } else {
        return None;
    };
    INLINE_IMAGES
        .iter()
        .find(|(_, known)| *known == format)
        .map(|(content_type, _)| (*content_type, format))
}

/// Non-empty UTF-8 (a character cut off at the end of the prefix allowed) without NULs or
/// control characters other than whitespace.
fn looks_like_text(prefix: &[u8]) -> bool {
    let text = match std::str::from_utf8(prefix) {
        Ok(text) => text,
        Err(err) if err.error_len().is_none() && prefix.len() >= SNIFF_BYTES => {
            std::str::from_utf8(&prefix[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::RgbImage::new(width, height)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn images_are_recognized_with_their_size() {
        let sniffed = sniff(&png(7, 3));
        assert_eq!(sniffed.content_type, "image/png");
        assert_eq!((sniffed.width, sniffed.height), (Some(7), Some(3)));
        assert!(is_inline_image(sniffed.content_type));
    }

    #[test]
    fn html_is_text_whatever_it_claims() {
        let sniffed = sniff(b"<!doctype html><script>alert(1)</script>");
        assert_eq!(sniffed.content_type, "text/plain; charset=utf-8");
        assert!(!is_inline_image(sniffed.content_type));
    }

    #[test]
    fn other_bytes_are_documents_archives_or_octets() {
        assert_eq!(sniff(b"%PDF-1.7\n").content_type, "application/pdf");
        assert_eq!(sniff(b"PK\x03\x04rest").content_type, "application/zip");
        assert_eq!(sniff(&[0, 1, 2, 3, 255]).content_type, OCTET_STREAM);
        assert_eq!(sniff(b"").content_type, OCTET_STREAM);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n").width, None);
    }
}
