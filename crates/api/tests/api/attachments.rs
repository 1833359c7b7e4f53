//! Photos: sniffed by content, stripped of EXIF, size-limited, served only to those who may see
//! the case.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

/// A JPEG whose APP1 segment carries EXIF with a GPS position and a camera model.
pub fn photo_with_exif() -> Vec<u8> {
    let seg = |marker: u8, payload: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(payload);
        s
    };
    let mut v = vec![0xFF, 0xD8];
    v.extend(seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    v.extend(seg(
        0xE1,
        b"Exif\0\0MM\0*GPSLatitude=34.5858;GPSLongitude=119.1430;Model=HUAWEI P60",
    ));
    v.extend(seg(0xDB, &[0u8; 65]));
    v.extend(seg(0xDA, &[1, 1, 0, 0, 63, 0]));
    v.extend_from_slice(&[0x12, 0x34, 0x56, 0xFF, 0xD9]);
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn upload(
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

async fn new_case(app: &TestApp, token: &str) -> i64 {
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
        "forbidden",
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
