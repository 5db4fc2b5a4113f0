//! Checking an upload by decoding it, and re-encoding it at two sizes without its metadata
//! (API.md §8). The limits are set before decoding starts: a small file that declares a huge
//! image (a decompression bomb) is refused from its header, before any pixel is allocated.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// Uploads larger than this are refused unread (10 MB).
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// At most 40 megapixels, and no side over 20,000 pixels.
pub const MAX_PIXELS: u64 = 40_000_000;
const MAX_SIDE: u32 = 20_000;
/// The long side of the image a lot page shows, and of the card's thumbnail.
const DISPLAY_SIDE: u32 = 1600;
const THUMB_SIDE: u32 = 480;
const DISPLAY_QUALITY: u8 = 85;
const THUMB_QUALITY: u8 = 80;

/// One re-encoded JPEG, named by the SHA-256 of its bytes.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub hash: String,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone)]
pub struct Processed {
    pub display: Encoded,
    pub thumb: Encoded,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the file is larger than 10 MB")]
    TooLarge,
    #[error("the image is larger than 40 megapixels ({width} × {height})")]
    TooManyPixels { width: u32, height: u32 },
    #[error("not a JPEG, PNG or WebP image that can be read: {0}")]
    Invalid(String),
}

/// Decodes `bytes` (JPEG, PNG or WebP, told by their content), turns the picture upright by
/// its EXIF orientation, and re-encodes it as a display image and a thumbnail. Nothing of the
/// original file but its pixels survives: no EXIF, GPS or comments. CPU-heavy: call it off the
/// async workers.
pub fn process(bytes: &[u8]) -> Result<Processed, ImageError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(ImageError::TooLarge);
    }
    let invalid = |e: &dyn std::fmt::Display| ImageError::Invalid(e.to_string());
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| invalid(&e))?;
    match reader.format() {
        Some(ImageFormat::Jpeg) if !jpeg_is_whole(bytes) => {
            return Err(ImageError::Invalid(
                "the JPEG is cut short (it has no end marker)".into(),
            ));
        }
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => {
            return Err(ImageError::Invalid(
                "the format is not JPEG, PNG or WebP".into(),
            ));
        }
    }
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // The decoded pixels (at most 4 bytes each) and the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| refused(&e))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooManyPixels { width, height });
    }
    let orientation = decoder.orientation().ok();
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| refused(&e))?;
    if let Some(o) = orientation {
        picture.apply_orientation(o);
    }
    from_picture(&picture)
}

/// A decoded picture at both sizes.
pub fn from_picture(picture: &DynamicImage) -> Result<Processed, ImageError> {
    let display = encode(picture, DISPLAY_SIDE, DISPLAY_QUALITY)?;
    let thumb = encode(picture, THUMB_SIDE, THUMB_QUALITY)?;
    Ok(Processed { display, thumb })
}

/// The JPEG decoder fills a cut-off file with grey rather than failing; a whole file has an
/// end-of-image marker after its first scan. (Inside a scan a 0xFF byte is always followed by
/// 0x00 or a restart marker, so the pair cannot occur there by chance.)
fn jpeg_is_whole(bytes: &[u8]) -> bool {
    let marker = |m: u8| bytes.windows(2).position(|w| w == [0xff, m]);
    match (
        marker(0xda),
        bytes.windows(2).rposition(|w| w == [0xff, 0xd9]),
    ) {
        (Some(scan), Some(end)) => end > scan,
        _ => false,
    }
}

fn refused(e: &image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(_) => ImageError::Invalid(
            "the image is too large to decode (at most 40 megapixels, 20,000 pixels a side)".into(),
        ),
        e => ImageError::Invalid(e.to_string()),
    }
}

/// Scaled down (never up) to fit `side`, on white where it was transparent, as a JPEG.
fn encode(picture: &DynamicImage, side: u32, quality: u8) -> Result<Encoded, ImageError> {
    let scaled = if picture.width() > side || picture.height() > side {
        picture.resize(side, side, image::imageops::FilterType::Triangle)
    } else {
        picture.clone()
    };
    let rgb = on_white(&scaled);
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(&rgb)
        .map_err(|e| ImageError::Invalid(e.to_string()))?;
    Ok(Encoded {
        hash: hex::encode(Sha256::digest(&bytes)),
        width: rgb.width(),
        height: rgb.height(),
        bytes,
    })
}

fn on_white(picture: &DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.to_rgb8();
    }
    let rgba = picture.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: ImageFormat) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(200, 100, |x, y| {
            image::Rgb([x as u8, y as u8, 7])
        }));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encoded");
        out.into_inner()
    }

    #[test]
    fn whole_files_pass_and_cut_ones_of_every_format_are_refused() {
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let whole = encoded(format);
            let p = process(&whole).expect("a whole image");
            assert_eq!(
                (p.display.width, p.display.height),
                (200, 100),
                "{format:?}"
            );
            assert!(
                process(&whole[..whole.len() / 2]).is_err(),
                "{format:?} cut in half"
            );
        }
    }

    #[test]
    fn large_pictures_are_scaled_down_never_up() {
        let big = DynamicImage::ImageRgb8(RgbImage::new(3200, 1600));
        let p = from_picture(&big).expect("encoded");
        assert_eq!((p.display.width, p.display.height), (1600, 800));
        assert_eq!((p.thumb.width, p.thumb.height), (480, 240));
        assert_ne!(p.display.hash, p.thumb.hash);
    }
}
