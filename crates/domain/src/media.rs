//! Photos: recognising the format by content, reading the size an image declares in its header,
//! and removing metadata (EXIF with GPS position and camera, XMP, text chunks, comments) before
//! anything is stored. Pure byte work, no IO.

use crate::ValueError;

/// The image formats Whistle accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    WebP,
}

impl ImageFormat {
    /// Recognises the format by its leading bytes; the file name and the client's content type
    /// are never trusted.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::WebP)
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::WebP => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::WebP => "webp",
        }
    }
}

fn broken(what: &str) -> ValueError {
    ValueError::new("file", format!("not a well-formed image: {what}"))
        .zh(format!("不是完整有效的图片：{what}"))
}

/// The size an image declares in its header. It is read before any pixel is decoded, because a
/// decoder allocates for the declared size up front: a few bytes can declare gigapixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u32,
    pub height: u32,
}

impl Dimensions {
    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    pub fn long_side(self) -> u32 {
        self.width.max(self.height)
    }

    /// The size of a copy whose longer side is at most `max_side`, keeping the aspect ratio
    /// (rounded to the nearest pixel). Never enlarges, and never makes a side zero, so a very
    /// thin image stays at least one pixel wide.
    pub fn fit_within(self, max_side: u32) -> Dimensions {
        let max_side = max_side.max(1);
        let long = self.long_side();
        if long <= max_side {
            return self;
        }
        let scale = |side: u32| -> u32 {
            let scaled =
                (u64::from(side) * u64::from(max_side) + u64::from(long) / 2) / u64::from(long);
            // `side ≤ long`, so the scaled side is at most `max_side` and fits.
            u32::try_from(scaled).unwrap_or(max_side).clamp(1, max_side)
        };
        Dimensions {
            width: scale(self.width),
            height: scale(self.height),
        }
    }
}

/// Reads the width and height from the header: the frame header (SOFn) of a JPEG, `IHDR` of a
/// PNG, the first chunk (`VP8 `, `VP8L` or `VP8X`) of a WebP. A header that cannot be read, or
/// that declares an empty image, is an error: such a file is refused rather than handed to a
/// decoder to find out.
pub fn dimensions(format: ImageFormat, bytes: &[u8]) -> Result<Dimensions, ValueError> {
    if ImageFormat::sniff(bytes) != Some(format) {
        return Err(broken("content does not match the format"));
    }
    let (width, height) = match format {
        ImageFormat::Jpeg => jpeg_dimensions(bytes)?,
        ImageFormat::Png => png_dimensions(bytes)?,
        ImageFormat::WebP => webp_dimensions(bytes)?,
    };
    if width == 0 || height == 0 {
        return Err(broken("the header declares an empty image"));
    }
    Ok(Dimensions { width, height })
}

fn be16(b: &[u8], at: usize) -> u32 {
    u32::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

fn le16(b: &[u8], at: usize) -> u32 {
    u32::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le24(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], 0])
}

/// Walks the segments up to the first frame header. Every SOFn carries the size at the same
/// place (precision, height, width), whatever the coding process; DHT (C4), JPG (C8) and DAC
/// (CC) share the marker range but are not frame headers. A height of zero (the size given later
/// in a DNL segment) is not supported by browsers and is refused like an unreadable header.
fn jpeg_dimensions(b: &[u8]) -> Result<(u32, u32), ValueError> {
    let mut i = 2;
    loop {
        if i + 2 > b.len() || b[i] != 0xFF {
            return Err(broken("JPEG without a readable frame header"));
        }
        let marker = b[i + 1];
        match marker {
            // Fill bytes before a marker.
            0xFF => {
                i += 1;
                continue;
            }
            // Markers without a length (TEM, RSTn).
            0x01 | 0xD0..=0xD7 => {
                i += 2;
                continue;
            }
            0xD8..=0xDA => return Err(broken("JPEG without a frame header")),
            _ => {}
        }
        if i + 4 > b.len() {
            return Err(broken("JPEG segment runs past the end"));
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if len < 2 || i + 2 + len > b.len() {
            return Err(broken("JPEG segment runs past the end"));
        }
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            if len < 8 {
                return Err(broken("JPEG frame header cut short"));
            }
            return Ok((be16(b, i + 7), be16(b, i + 5)));
        }
        i += 2 + len;
    }
}

/// `IHDR` must be the first chunk, 13 bytes long; PNG limits each side to 2³¹ − 1.
fn png_dimensions(b: &[u8]) -> Result<(u32, u32), ValueError> {
    if b.len() < 8 + 8 + 13 || b[8..12] != 13u32.to_be_bytes() || &b[12..16] != b"IHDR" {
        return Err(broken("PNG without an IHDR chunk first"));
    }
    let width = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let height = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    if width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(broken("PNG size out of range"));
    }
    Ok((width, height))
}

/// The first chunk says what the file is: a lossy frame (`VP8 `, 14-bit sides after a key-frame
/// start code), a lossless one (`VP8L`, 14-bit sides stored minus one) or the extended format
/// (`VP8X`, 24-bit canvas sides stored minus one, which bound every frame inside it).
fn webp_dimensions(b: &[u8]) -> Result<(u32, u32), ValueError> {
    if b.len() < 20 {
        return Err(broken("WebP without a first chunk"));
    }
    let len = u32::from_le_bytes([b[16], b[17], b[18], b[19]]) as usize;
    let data = 20usize
        .checked_add(len)
        .and_then(|end| b.get(20..end))
        .ok_or_else(|| broken("WebP chunk runs past the end"))?;
    match &b[12..16] {
        b"VP8 " => {
            // Frame tag (3 bytes, bit 0 clear on a key frame), start code, then the sides; the
            // top two bits of each are an upscaling hint, not part of the size.
            if data.len() < 10 || data[0] & 1 != 0 || data[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(broken("WebP VP8 frame header unreadable"));
            }
            Ok((le16(data, 6) & 0x3FFF, le16(data, 8) & 0x3FFF))
        }
        b"VP8L" => {
            if data.len() < 5 || data[0] != 0x2F {
                return Err(broken("WebP VP8L header unreadable"));
            }
            let bits = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
            Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => {
            if data.len() < 10 {
                return Err(broken("WebP VP8X header cut short"));
            }
            Ok((le24(data, 4) + 1, le24(data, 7) + 1))
        }
        _ => Err(broken("WebP without an image chunk first")),
    }
}

/// Returns the image without metadata. The structure is checked on the way; a truncated or
/// malformed file is an error rather than something stored half-understood.
pub fn strip_metadata(format: ImageFormat, bytes: &[u8]) -> Result<Vec<u8>, ValueError> {
    if ImageFormat::sniff(bytes) != Some(format) {
        return Err(broken("content does not match the format"));
    }
    match format {
        ImageFormat::Jpeg => strip_jpeg(bytes),
        ImageFormat::Png => strip_png(bytes),
        ImageFormat::WebP => strip_webp(bytes),
    }
}

/// Keeps APP0 (JFIF), APP2 (ICC colour profile) and APP14 (Adobe colour transform), which decoding
/// needs; drops APP1 (EXIF, XMP), the other APPn segments and comments. Everything from the
/// start of scan on is copied as is.
fn strip_jpeg(b: &[u8]) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    loop {
        if i + 4 > b.len() || b[i] != 0xFF {
            return Err(broken("JPEG segment expected"));
        }
        let marker = b[i + 1];
        // Fill bytes before a marker.
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if len < 2 || i + 2 + len > b.len() {
            return Err(broken("JPEG segment runs past the end"));
        }
        let segment = &b[i..i + 2 + len];
        if marker == 0xDA {
            // Start of scan: the compressed image follows; copy the rest.
            out.extend_from_slice(&b[i..]);
            if !b.ends_with(&[0xFF, 0xD9]) {
                return Err(broken("JPEG without an end marker"));
            }
            return Ok(out);
        }
        let keep = match marker {
            0xE0 | 0xE2 | 0xEE => true,
            0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.extend_from_slice(segment);
        }
        i += 2 + len;
    }
}

/// Drops `eXIf`, `tEXt`, `zTXt`, `iTXt` and `tIME` chunks.
fn strip_png(b: &[u8]) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..8]);
    let mut i = 8;
    loop {
        if i + 12 > b.len() {
            return Err(broken("PNG chunk runs past the end"));
        }
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let end = i
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .filter(|e| *e <= b.len())
            .ok_or_else(|| broken("PNG chunk runs past the end"))?;
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&b[i..end]);
        }
        if kind == b"IEND" {
            return Ok(out);
        }
        i = end;
    }
}

/// Drops `EXIF` and `XMP ` chunks, clears their flags in `VP8X`, and fixes the RIFF size.
fn strip_webp(b: &[u8]) -> Result<Vec<u8>, ValueError> {
    let riff_len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if riff_len + 8 > b.len() || riff_len < 4 {
        return Err(broken("RIFF size runs past the end"));
    }
    let body = &b[12..8 + riff_len];
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if i + 8 > body.len() {
            return Err(broken("WebP chunk header cut short"));
        }
        let len = u32::from_le_bytes([body[i + 4], body[i + 5], body[i + 6], body[i + 7]]) as usize;
        let padded = len + (len & 1);
        let end = (i + 8)
            .checked_add(padded)
            .filter(|e| *e <= body.len())
            .ok_or_else(|| broken("WebP chunk runs past the end"))?;
        let fourcc = &body[i..i + 4];
        if fourcc != b"EXIF" && fourcc != b"XMP " {
            let mut chunk = body[i..end].to_vec();
            if fourcc == b"VP8X" && chunk.len() > 8 {
                // Flags byte: bit 3 EXIF present, bit 2 XMP present.
                chunk[8] &= !0b0000_1100;
            }
            chunks.push(chunk);
        }
        i = end;
    }
    let total: usize = chunks.iter().map(Vec::len).sum::<usize>() + 4;
    let mut out = Vec::with_capacity(total + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    for c in chunks {
        out.extend_from_slice(&c);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A JPEG skeleton: SOI, APP0 JFIF, APP1 EXIF with a GPS tag, a comment, a quantisation
    /// table, start of scan, some entropy-coded bytes, EOI.
    pub(crate) fn jpeg_with_exif() -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        let seg = |marker: u8, payload: &[u8]| {
            let mut s = vec![0xFF, marker];
            s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
            s.extend_from_slice(payload);
            s
        };
        v.extend(seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        v.extend(seg(0xE1, b"Exif\0\0MM\0*GPSLatitude 34.5858 Canon EOS"));
        v.extend(seg(0xFE, b"taken at Wenchang south gate"));
        v.extend(seg(0xDB, &[0u8; 65]));
        v.extend(seg(0xDA, &[1, 1, 0, 0, 63, 0]));
        v.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56]);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    pub(crate) fn png_with_text() -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]); // CRC, not checked here
            c
        };
        v.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
        v.extend(chunk(b"tEXt", b"Comment\0GPS 34.5858,119.1430"));
        v.extend(chunk(b"eXIf", b"MM\0*Canon"));
        v.extend(chunk(b"IDAT", &[1, 2, 3]));
        v.extend(chunk(b"IEND", &[]));
        v
    }

    fn webp_with_exif() -> Vec<u8> {
        let chunk = |fourcc: &[u8], data: &[u8]| {
            let mut c = fourcc.to_vec();
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0b0000_1100, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(chunk(b"VP8L", &[0x2f, 0, 0, 0, 0]));
        body.extend(chunk(b"EXIF", b"MM\0*GPS"));
        body.extend(chunk(b"XMP ", b"<x:xmpmeta/>"));
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend(body);
        v
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(
            ImageFormat::sniff(&jpeg_with_exif()),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(ImageFormat::sniff(&png_with_text()), Some(ImageFormat::Png));
        assert_eq!(
            ImageFormat::sniff(&webp_with_exif()),
            Some(ImageFormat::WebP)
        );
        assert_eq!(ImageFormat::sniff(b"\x7fELF\x02\x01\x01"), None);
        assert_eq!(ImageFormat::sniff(b"MZ\x90\0"), None);
        assert_eq!(ImageFormat::sniff(b"GIF89a"), None);
        assert_eq!(ImageFormat::sniff(b""), None);
    }

    #[test]
    fn jpeg_loses_exif_and_comments_but_keeps_the_image() {
        let src = jpeg_with_exif();
        let out = strip_metadata(ImageFormat::Jpeg, &src).unwrap();
        assert!(
            !contains(&out, b"Exif") && !contains(&out, b"GPS") && !contains(&out, b"Wenchang")
        );
        assert!(contains(&out, b"JFIF"));
        assert!(out.ends_with(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]));
        assert_eq!(ImageFormat::sniff(&out), Some(ImageFormat::Jpeg));
        // Stripping twice changes nothing more.
        assert_eq!(strip_metadata(ImageFormat::Jpeg, &out).unwrap(), out);
    }

    #[test]
    fn png_loses_text_and_exif_chunks() {
        let out = strip_metadata(ImageFormat::Png, &png_with_text()).unwrap();
        assert!(!contains(&out, b"GPS") && !contains(&out, b"Canon"));
        assert!(
            contains(&out, b"IHDR") && contains(&out, b"IDAT") && out.ends_with(b"IEND\0\0\0\0")
        );
    }

    #[test]
    fn webp_loses_exif_and_xmp_and_stays_consistent() {
        let out = strip_metadata(ImageFormat::WebP, &webp_with_exif()).unwrap();
        assert!(!contains(&out, b"EXIF") && !contains(&out, b"xmpmeta"));
        let riff = u32::from_le_bytes([out[4], out[5], out[6], out[7]]) as usize;
        assert_eq!(riff + 8, out.len());
        assert_eq!(out[20] & 0b1100, 0, "VP8X flags cleared");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            for (format, head) in [
                (ImageFormat::Jpeg, &[0xFFu8, 0xD8, 0xFF][..]),
                (ImageFormat::Png, &b"\x89PNG\r\n\x1a\n"[..]),
                (ImageFormat::WebP, &b"RIFF\x10\0\0\0WEBP"[..]),
            ] {
                let mut bytes = head.to_vec();
                bytes.extend_from_slice(&tail);
                let _ = strip_metadata(format, &bytes);
                let _ = strip_metadata(format, &tail);
            }
        }
    }

    fn jpeg_chunk(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    /// [`jpeg_with_exif`] with a frame header of the given kind after its tables.
    fn jpeg_sized(sof: u8, width: u16, height: u16) -> Vec<u8> {
        let src = jpeg_with_exif();
        let sos = src.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let mut frame = vec![8];
        frame.extend_from_slice(&height.to_be_bytes());
        frame.extend_from_slice(&width.to_be_bytes());
        frame.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let mut v = src[..sos].to_vec();
        v.extend(jpeg_chunk(0xC4, &[0u8; 17]));
        v.extend(jpeg_chunk(sof, &frame));
        v.extend_from_slice(&src[sos..]);
        v
    }

    fn png_sized(width: u32, height: u32) -> Vec<u8> {
        let mut v = png_with_text();
        v[16..20].copy_from_slice(&width.to_be_bytes());
        v[20..24].copy_from_slice(&height.to_be_bytes());
        v
    }

    fn webp_first_chunk(fourcc: &[u8], data: &[u8]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        body.extend_from_slice(fourcc);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend(body);
        v
    }

    fn size(width: u32, height: u32) -> Dimensions {
        Dimensions { width, height }
    }

    #[test]
    fn jpeg_size_comes_from_the_first_frame_header() {
        for sof in [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCA, 0xCF] {
            assert_eq!(
                dimensions(ImageFormat::Jpeg, &jpeg_sized(sof, 3000, 2000)),
                Ok(size(3000, 2000)),
                "SOF {sof:#x}"
            );
        }
        assert_eq!(
            dimensions(ImageFormat::Jpeg, &jpeg_sized(0xC0, 65535, 65535))
                .unwrap()
                .pixels(),
            65535 * 65535
        );
        // Fill bytes before a marker are allowed.
        let mut filled = jpeg_sized(0xC0, 640, 480);
        filled.splice(2..2, [0xFF, 0xFF]);
        assert_eq!(dimensions(ImageFormat::Jpeg, &filled), Ok(size(640, 480)));
        // The metadata pass keeps the frame header.
        let clean = strip_metadata(ImageFormat::Jpeg, &jpeg_sized(0xC2, 640, 480)).unwrap();
        assert_eq!(dimensions(ImageFormat::Jpeg, &clean), Ok(size(640, 480)));
    }

    #[test]
    fn jpeg_without_a_usable_frame_header_is_refused() {
        // Tables and a scan, but no SOFn: DHT (C4) and DAC (CC) are not frame headers.
        assert!(dimensions(ImageFormat::Jpeg, &jpeg_with_exif()).is_err());
        assert!(dimensions(ImageFormat::Jpeg, &jpeg_sized(0xC4, 640, 480)).is_err());
        assert!(dimensions(ImageFormat::Jpeg, &jpeg_sized(0xCC, 640, 480)).is_err());
        // Height given later in a DNL segment; width zero.
        assert!(dimensions(ImageFormat::Jpeg, &jpeg_sized(0xC0, 640, 0)).is_err());
        assert!(dimensions(ImageFormat::Jpeg, &jpeg_sized(0xC0, 0, 480)).is_err());
        // Cut inside the frame header.
        let whole = jpeg_sized(0xC0, 640, 480);
        let sof = whole.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert!(dimensions(ImageFormat::Jpeg, &whole[..sof + 6]).is_err());
        // A frame header too short to hold a size.
        let mut short = jpeg_with_exif()[..2].to_vec();
        short.extend(jpeg_chunk(0xC0, &[8, 1, 0]));
        short.extend_from_slice(&[0xFF, 0xD9]);
        assert!(dimensions(ImageFormat::Jpeg, &short).is_err());
    }

    #[test]
    fn png_size_comes_from_ihdr() {
        assert_eq!(
            dimensions(ImageFormat::Png, &png_with_text()),
            Ok(size(1, 1))
        );
        assert_eq!(
            dimensions(ImageFormat::Png, &png_sized(20_000, 20_000)),
            Ok(size(20_000, 20_000))
        );
        assert_eq!(
            dimensions(ImageFormat::Png, &png_sized(65_535, 65_535))
                .unwrap()
                .pixels(),
            4_294_836_225
        );
        assert!(dimensions(ImageFormat::Png, &png_sized(0, 10)).is_err());
        assert!(dimensions(ImageFormat::Png, &png_sized(1 << 31, 1)).is_err());
        // IHDR not first, or cut short.
        let mut moved = png_with_text();
        moved[12..16].copy_from_slice(b"tEXt");
        assert!(dimensions(ImageFormat::Png, &moved).is_err());
        assert!(dimensions(ImageFormat::Png, &png_with_text()[..28]).is_err());
    }

    #[test]
    fn webp_size_comes_from_its_first_chunk() {
        // Lossy: 640 × 480, with an upscaling hint in the top bits of the width.
        let mut vp8 = vec![0x50, 0x2E, 0x00, 0x9D, 0x01, 0x2A];
        vp8.extend_from_slice(&(640u16 | 0x4000).to_le_bytes());
        vp8.extend_from_slice(&480u16.to_le_bytes());
        vp8.extend_from_slice(&[0; 8]);
        assert_eq!(
            dimensions(ImageFormat::WebP, &webp_first_chunk(b"VP8 ", &vp8)),
            Ok(size(640, 480))
        );
        let mut not_key = vp8.clone();
        not_key[0] |= 1;
        assert!(dimensions(ImageFormat::WebP, &webp_first_chunk(b"VP8 ", &not_key)).is_err());
        // Lossless: sides minus one in 14 bits each.
        let bits: u32 = (16_383) | (16_383 << 14) | (1 << 28);
        let mut vp8l = vec![0x2F];
        vp8l.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(
            dimensions(ImageFormat::WebP, &webp_first_chunk(b"VP8L", &vp8l)),
            Ok(size(16_384, 16_384))
        );
        // Extended: a 24-bit canvas, here 16 777 216 × 2.
        let vp8x = [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 1, 0, 0];
        assert_eq!(
            dimensions(ImageFormat::WebP, &webp_first_chunk(b"VP8X", &vp8x)),
            Ok(size(1 << 24, 2))
        );
        assert_eq!(
            dimensions(ImageFormat::WebP, &webp_with_exif()),
            Ok(size(1, 1))
        );
        // Unknown first chunk, a chunk longer than the file, a header cut short.
        assert!(dimensions(ImageFormat::WebP, &webp_first_chunk(b"ALPH", &[0; 10])).is_err());
        let mut long = webp_first_chunk(b"VP8X", &vp8x);
        long[16..20].copy_from_slice(&1000u32.to_le_bytes());
        assert!(dimensions(ImageFormat::WebP, &long).is_err());
        assert!(dimensions(ImageFormat::WebP, &webp_first_chunk(b"VP8L", &[0x2F, 1])).is_err());
    }

    #[test]
    fn content_must_match_the_format() {
        assert!(dimensions(ImageFormat::Png, &jpeg_sized(0xC0, 1, 1)).is_err());
        assert!(dimensions(ImageFormat::Jpeg, b"").is_err());
    }

    #[test]
    fn fitting_keeps_the_aspect_and_never_enlarges() {
        assert_eq!(size(3000, 2000).fit_within(2048), size(2048, 1365));
        assert_eq!(size(2000, 3000).fit_within(2048), size(1365, 2048));
        assert_eq!(size(1024, 768).fit_within(2048), size(1024, 768));
        assert_eq!(size(2048, 10).fit_within(2048), size(2048, 10));
        assert_eq!(size(65_535, 1).fit_within(2048), size(2048, 1));
        assert_eq!(size(100, 50).fit_within(0), size(1, 1));
        assert_eq!(size(20_000, 20_000).long_side(), 20_000);
    }

    proptest::proptest! {
        #[test]
        fn reading_sizes_of_arbitrary_bytes_never_panics(
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            for (format, head) in [
                (ImageFormat::Jpeg, &[0xFFu8, 0xD8, 0xFF][..]),
                (ImageFormat::Png, &b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"[..]),
                (ImageFormat::WebP, &b"RIFF\x10\0\0\0WEBP"[..]),
                (ImageFormat::WebP, &b"RIFF\x10\0\0\0WEBPVP8 "[..]),
                (ImageFormat::WebP, &b"RIFF\x10\0\0\0WEBPVP8L"[..]),
                (ImageFormat::WebP, &b"RIFF\x10\0\0\0WEBPVP8X"[..]),
            ] {
                let mut bytes = head.to_vec();
                bytes.extend_from_slice(&tail);
                if let Ok(d) = dimensions(format, &bytes) {
                    proptest::prop_assert!(d.width > 0 && d.height > 0);
                }
                let _ = dimensions(format, &tail);
            }
        }

        #[test]
        fn a_fitted_size_is_within_bounds(
            width in 1u32..=u32::MAX,
            height in 1u32..=u32::MAX,
            max_side in 1u32..10_000,
        ) {
            let original = size(width, height);
            let fitted = original.fit_within(max_side);
            proptest::prop_assert!(fitted.width >= 1 && fitted.height >= 1);
            proptest::prop_assert!(fitted.long_side() <= max_side);
            proptest::prop_assert!(fitted.width <= width && fitted.height <= height);
            if original.long_side() <= max_side {
                proptest::prop_assert_eq!(fitted, original);
            } else {
                proptest::prop_assert_eq!(fitted.long_side(), max_side);
            }
        }
    }

    #[test]
    fn broken_files_are_refused() {
        let jpeg = jpeg_with_exif();
        assert!(strip_metadata(ImageFormat::Jpeg, &jpeg[..20]).is_err());
        assert!(strip_metadata(ImageFormat::Jpeg, &[0xFF, 0xD8, 0xFF]).is_err());
        let png = png_with_text();
        assert!(strip_metadata(ImageFormat::Png, &png[..png.len() - 6]).is_err());
        let mut lying = png.clone();
        lying[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(strip_metadata(ImageFormat::Png, &lying).is_err());
        let mut webp = webp_with_exif();
        webp[4..8].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(strip_metadata(ImageFormat::WebP, &webp).is_err());
    }
}
