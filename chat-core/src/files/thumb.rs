//! Thumbnails of images: decoded within bounds (so a small file that claims a huge picture
//! cannot exhaust memory), scaled to fit [`THUMB_EDGE`], and encoded as JPEG for photos or
//! PNG for formats that may be transparent.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};

/// The longest edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 320;
/// The largest picture decoded for a thumbnail, per edge.
const MAX_EDGE: u32 = 16_384;
/// The most memory one decode may take.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 80;

/// The content type of the thumbnail made from an image of `content_type`.
pub fn thumb_type(content_type: &str) -> &'static str {
    if content_type == "image/jpeg" {
        "image/jpeg"
    } else {
        "image/png"
    }
}

/// Makes the thumbnail of an image whose bytes are `image` and whose sniffed type is
/// `content_type`. CPU-bound: call it on a blocking thread.
pub fn thumbnail(image: &[u8], content_type: &str) -> Result<Vec<u8>> {
    let mut reader = ImageReader::new(Cursor::new(image))
        .with_guessed_format()
        .map_err(|err| Error::Invalid(format!("unreadable image: {err}")))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_EDGE);
    limits.max_image_height = Some(MAX_EDGE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|err| Error::Invalid(format!("cannot decode image: {err}")))?;
    let small = decoded.thumbnail(THUMB_EDGE, THUMB_EDGE);
    let mut out = Vec::new();
    let encoded = if thumb_type(content_type) == "image/jpeg" {
        JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&small.to_rgb8())
    } else {
        small.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
    };
    encoded.map_err(|err| Error::Invalid(format!("cannot encode thumbnail: {err}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_fit_the_edge_and_keep_the_aspect() {
        let mut big = Cursor::new(Vec::new());
        image::RgbImage::new(1000, 500)
            .write_to(&mut big, ImageFormat::Png)
            .unwrap();
        let thumb = thumbnail(big.get_ref(), "image/png").unwrap();
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (THUMB_EDGE, THUMB_EDGE / 2)
        );
        assert!(thumbnail(b"not an image", "image/png").is_err());
    }
}
