//! Photos: sniffed by content, stripped of EXIF, size-limited, served only to those who may see
//! the case.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

/// A real JPEG (16 × 16) whose APP1 segment carries EXIF with a GPS position and a camera model.
pub fn photo_with_exif() -> Vec<u8> {
    with_app1(
        encoded_jpeg(16, 16),
        b"Exif\0\0MM\0*GPSLatitude=34.5858;GPSLongitude=119.1430;Model=HUAWEI P60",
    )
}

/// A gradient, so the encoder has something to encode.
fn encoded_jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// Puts an APP1 segment after the JFIF header, where cameras put theirs.
fn with_app1(jpeg: Vec<u8>, payload: &[u8]) -> Vec<u8> {
    let at = if jpeg[2..4] == [0xFF, 0xE0] {
        4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]))
    } else {
        2
    };
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(payload);
    let mut v = jpeg[..at].to_vec();
    v.extend(segment);
    v.extend_from_slice(&jpeg[at..]);
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub async fn upload(
    app: &TestApp,
    token: &str,
    case: i64,
    bytes: Vec<u8>,
    name: &str,
    kind: Option<&str>,
) -> reqwest::Response {
    let mut form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str("image/png")
            .unwrap(),
    );
    if let Some(k) = kind {
        form = form.text("kind", k.to_owned());
    }
    app.client
        .post(app.url(&format!("/api/v1/cases/{case}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub async fn new_case(app: &TestApp, token: &str) -> i64 {
    let (lat, lon) = wenchang_south_gate();
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "南门喇叭", "lat": lat, "lon": lon}),
            Some(token),
        )
        .await;
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_photo_loses_its_exif_and_is_served_to_those_who_may_see_it() {
    let app = TestApp::spawn().await;
    let zhang = app.token("13800001234").await;
    let id = new_case(&app, &zhang).await;
    let res = upload(&app, &zhang, id, photo_with_exif(), "gate.png", None).await;
    assert_eq!(res.status(), 201);
    let att: Value = res.json().await.unwrap();
    assert_eq!(
        att["mime"], "image/jpeg",
        "sniffed from the content, not the name or header"
    );
    assert_eq!(att["kind"], "report");
    // The stored file and the download carry no position or camera.
    let sha = att["sha256"].as_str().unwrap();
    let on_disk =
        std::fs::read(app.files.path().join(&sha[..2]).join(format!("{sha}.jpg"))).unwrap();
    assert!(
        !contains(&on_disk, b"GPS")
            && !contains(&on_disk, b"HUAWEI")
            && !contains(&on_disk, b"Exif")
    );
    let got = app.get_as(att["url"].as_str().unwrap(), &zhang).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    let bytes = got.bytes().await.unwrap();
    assert_eq!(&bytes[..], &on_disk[..]);
    // The same photo again is stored once (content-addressed).
    let again: Value = upload(&app, &zhang, id, photo_with_exif(), "x.jpg", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["sha256"], att["sha256"]);
    let list: Value = app
        .get_as(&format!("/api/v1/cases/{id}/attachments"), &zhang)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Another resident neither lists nor downloads it.
    let other = app.register_neighbour("13912340055").await;
    assert_problem(
        app.get_as(att["url"].as_str().unwrap(), &other).await,
        404,
        "attachment_not_found",
    )
    .await;
    assert_problem(
        app.get_as(&format!("/api/v1/cases/{id}/attachments"), &other)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        upload(&app, &other, id, photo_with_exif(), "a.jpg", None).await,
        404,
        "not_found",
    )
    .await;
    // The attachment is on the timeline.
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{id}/timeline"), &zhang)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        timeline
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "attach")
    );
}

#[tokio::test]
async fn after_photos_come_from_the_handling_side() {
    let app = TestApp::spawn().await;
    let zhang = app.token("13800001234").await;
    let id = new_case(&app, &zhang).await;
    assert_problem(
        upload(&app, &zhang, id, photo_with_exif(), "a.jpg", Some("after")).await,
        403,
        "role_not_permitted",
    )
    .await;
    let tianye = app.token("tianye").await;
    let res = upload(
        &app,
        &tianye,
        id,
        photo_with_exif(),
        "after.jpg",
        Some("after"),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_problem(
        upload(
            &app,
            &tianye,
            id,
            photo_with_exif(),
            "a.jpg",
            Some("selfie"),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
}

#[tokio::test]
async fn executables_broken_images_and_huge_uploads_are_refused() {
    let app = TestApp::spawn().await;
    let zhang = app.token("13800001234").await;
    let id = new_case(&app, &zhang).await;
    // An executable named like a PNG, sent as image/png.
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend(vec![0u8; 4096]);
    assert_problem(
        upload(&app, &zhang, id, elf, "photo.png", None).await,
        415,
        "unsupported_media_type",
    )
    .await;
    // A JPEG cut short.
    let mut cut = photo_with_exif();
    cut.truncate(30);
    assert_problem(
        upload(&app, &zhang, id, cut, "cut.jpg", None).await,
        422,
        "invalid_value",
    )
    .await;
    // No file field.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/cases/{id}/attachments")))
        .bearer_auth(&zhang)
        .multipart(Form::new().text("kind", "report"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "file_required").await;
    // 20 MB: refused without being stored.
    let mut huge = photo_with_exif();
    huge.extend(vec![0u8; 20 * 1024 * 1024]);
    let res = upload(&app, &zhang, id, huge, "huge.jpg", None).await;
    assert_problem(res, 413, "payload_too_large").await;
    let list: Value = app
        .get_as(&format!("/api/v1/cases/{id}/attachments"), &zhang)
        .await
        .json()
        .await
        .unwrap();
    assert!(list.as_array().unwrap().is_empty(), "nothing stored");
    // The server is fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc32(&c[4..]).to_be_bytes());
    c
}

/// A well-formed 8-bit greyscale PNG header declaring `width` × `height`, with `idat` as its
/// only image data.
fn png_declaring(width: u32, height: u32, idat: &[u8]) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(png_chunk(b"IHDR", &ihdr));
    v.extend(png_chunk(b"IDAT", idat));
    v.extend(png_chunk(b"IEND", &[]));
    v
}

/// A complete zlib stream of one fixed-Huffman block: a zero byte, then `runs` copies of the
/// previous 258 bytes (13 bits each, so the stream is tiny for what it inflates to).
fn zlib_zeros(runs: usize) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let (mut acc, mut n) = (0u32, 0u32);
    let mut put = |value: u32, bits: u32, out: &mut Vec<u8>| {
        acc |= value << n;
        n += bits;
        while n >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            n -= 8;
        }
    };
    // Huffman codes go most significant bit first.
    let code = |value: u32, bits: u32| value.reverse_bits() >> (32 - bits);
    put(0b011, 3, &mut out); // last block, fixed codes
    put(code(0b0011_0000, 8), 8, &mut out); // literal 0
    for _ in 0..runs {
        put(code(0b1100_0101, 8), 8, &mut out); // length 258
        put(0, 5, &mut out); // distance 1
    }
    put(0, 7, &mut out); // end of block
    if n > 0 {
        out.push(acc as u8);
    }
    let inflated = 1 + 258 * runs as u64;
    let adler = ((inflated % 65_521) << 16) as u32 | 1;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

/// Every file under the photo directory.
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(app.files.path(), &mut found);
    found
}

#[tokio::test]
async fn pixel_bombs_are_refused_before_decoding_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let zhang = app.token("13800001234").await;
    let id = new_case(&app, &zhang).await;

    // The construction is a real PNG: at a modest size it decodes.
    let modest = image::load_from_memory(&png_declaring(258, 1, &zlib_zeros(1))).unwrap();
    assert_eq!((modest.width(), modest.height()), (258, 1));
    // 20000 × 20000 (400 megapixels) in about 48 KB.
    let big = png_declaring(20_000, 20_000, &zlib_zeros(30_000));
    assert!(big.len() > 45_000 && big.len() < 50_000, "{}", big.len());
    // 65535 × 65535 (4.3 gigapixels) in 66 bytes.
    let tiny = png_declaring(65_535, 65_535, &zlib_zeros(0));
    assert_eq!(tiny.len(), 66);
    // A WebP canvas of 16384 × 16384.
    let mut webp = b"RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0".to_vec();
    webp.extend_from_slice(&[0, 0, 0, 0, 0xFF, 0x3F, 0, 0xFF, 0x3F, 0]);

    for (bomb, name) in [(big, "big.png"), (tiny, "tiny.png"), (webp, "canvas.webp")] {
        let problem = assert_problem(
            upload(&app, &zhang, id, bomb, name, None).await,
            422,
            "image_too_large",
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("40000000") && detail.contains("40 百万像素"),
            "{detail}"
        );
        assert_eq!(problem["field"], "file");
    }
    let list: Value = app
        .get_as(&format!("/api/v1/cases/{id}/attachments"), &zhang)
        .await
        .json()
        .await
        .unwrap();
    assert!(list.as_array().unwrap().is_empty(), "nothing attached");
    assert!(stored_files(&app).is_empty(), "nothing written");
    // In the client's language.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/cases/{id}/attachments")))
        .bearer_auth(&zhang)
        .header("accept-language", "en")
        .multipart(Form::new().part(
            "file",
            Part::bytes(png_declaring(65_535, 65_535, &zlib_zeros(0))).file_name("x.png"),
        ))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "image_too_large").await;
    assert_eq!(problem["title"], "Image has too many pixels");
}

#[tokio::test]
async fn an_image_that_does_not_decode_is_refused_not_a_server_error() {
    let app = TestApp::spawn().await;
    let zhang = app.token("13800001234").await;
    let id = new_case(&app, &zhang).await;
    // A sound header over image data that is not a zlib stream.
    let garbage = png_declaring(10, 10, b"this is not deflate data at all");
    assert_problem(
        upload(&app, &zhang, id, garbage, "g.png", None).await,
        422,
        "invalid_value",
    )
    .await;
    // A JPEG whose frame header is gone: nothing says how large it is.
    let jpeg = encoded_jpeg(8, 8);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut headless = jpeg.clone();
    headless[sof + 1] = 0xEF; // now an APP15 segment, dropped as metadata
    assert_problem(
        upload(&app, &zhang, id, headless, "h.jpg", None).await,
        422,
        "invalid_value",
    )
    .await;
    assert!(stored_files(&app).is_empty());
}

#[tokio::test]
async fn what_is_stored_and_served_is_a_bounded_jpeg() {
    let app = TestApp::spawn().await;
    let zhang = app.token("13800001234").await;
    let id = new_case(&app, &zhang).await;

    // A 3000 × 2000 camera photo is scaled to 2048 on its long side.
    let res = upload(&app, &zhang, id, encoded_jpeg(3000, 2000), "big.jpg", None).await;
    assert_eq!(res.status(), 201);
    let att: Value = res.json().await.unwrap();
    assert_eq!(att["mime"], "image/jpeg");
    let got = app.get_as(att["url"].as_str().unwrap(), &zhang).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    let bytes = got.bytes().await.unwrap();
    assert_eq!(
        image::guess_format(&bytes).unwrap(),
        image::ImageFormat::Jpeg
    );
    let served = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((served.width(), served.height()), (2048, 1365));

    // A PNG with transparency becomes a JPEG on white.
    let png = image::RgbaImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([0, 0, 200, 255])
        }
    });
    let mut png_bytes = Vec::new();
    png.write_to(
        &mut std::io::Cursor::new(&mut png_bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    let att: Value = upload(&app, &zhang, id, png_bytes, "sig.png", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(att["mime"], "image/jpeg");
    let bytes = app
        .get_as(att["url"].as_str().unwrap(), &zhang)
        .await
        .bytes()
        .await
        .unwrap();
    let served = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8();
    assert_eq!(served.dimensions(), (40, 20));
    assert!(served.get_pixel(5, 10).0.iter().all(|c| *c > 240), "white");
    assert!(served.get_pixel(35, 10).0[2] > 150, "blue kept");

    // A phone photo stored sideways with EXIF orientation 6 (turn 90° clockwise) is served
    // upright, since the copy has no EXIF left to say so.
    let sideways = with_app1(
        encoded_jpeg(30, 20),
        b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0",
    );
    let att: Value = upload(&app, &zhang, id, sideways, "phone.jpg", None)
        .await
        .json()
        .await
        .unwrap();
    let bytes = app
        .get_as(att["url"].as_str().unwrap(), &zhang)
        .await
        .bytes()
        .await
        .unwrap();
    let served = image::load_from_memory(&bytes).unwrap();
    assert_eq!((served.width(), served.height()), (20, 30));
    assert!(!contains(&bytes, b"Exif"));
}
