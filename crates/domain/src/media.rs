//! Photos: recognising the format by content, and removing metadata (EXIF with GPS position and
//! camera, XMP, text chunks, comments) before anything is stored. Pure byte work, no IO.

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
