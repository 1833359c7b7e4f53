//! Printing from a browser: signed print links for pledge documents and contact cards, pledge
//! numbers, and cards refused rather than printed with a missing glyph.

use serde_json::{Value, json};
use whistle_domain::merchant::LicenceNumber;

use crate::community::community_id;
use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

async fn created(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// A merchant at 文昌社区's south gate with a pledge signed today by 田野.
async fn signed_pledge(app: &TestApp, tianye: &str, seed: &str) -> Value {
    let (lat, lon) = wenchang_south_gate();
    let licence = LicenceNumber::with_check_digit(&format!("9132070{seed}")).unwrap();
    let merchant = created(
        app.post(
            "/api/v1/merchants",
            &json!({
                "name": "老王烧烤", "licence_number": licence.as_str(), "owner_name": "王老板",
                "owner_phone": "13905180555", "address": "文昌路 20 号", "business_type": "餐饮",
                "lat": lat + 0.0002, "lon": lon
            }),
            Some(tianye),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("/api/v1/merchants/{}/pledges", merchant["id"]),
            &json!({"frontage": "店门前至人行道边缘，东西各 5 米"}),
            Some(tianye),
        )
        .await,
    )
    .await
}

async fn print_link(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.post("/api/v1/print-links", &json!({ "path": path }), Some(token))
        .await
}

#[tokio::test]
async fn a_pledge_prints_from_a_signed_link_with_its_own_number_and_one_numbering() {
    let app = TestApp::spawn().await;
    let tianye = app.token("tianye").await;
    let first = signed_pledge(&app, &tianye, "6MA1W2X3Y6").await;
    let second = signed_pledge(&app, &tianye, "6MA1W2X3Y7").await;

    // Numbers of their own, in the year of signing, one after the other.
    let year = &first["signed_on"].as_str().unwrap()[..4];
    let number = first["number"].as_str().unwrap();
    assert!(number.starts_with(&format!("MQ-{year}-")), "{number}");
    let seq = |n: &str| n.rsplit('-').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(seq(second["number"].as_str().unwrap()), seq(number) + 1);

    let path = format!("/api/v1/pledges/{}/document", first["id"]);
    // A click on the plain link sends no Bearer header.
    assert_problem(app.get(&path).await, 401, "unauthenticated").await;

    let link = created(print_link(&app, &tianye, &path).await).await;
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{path}?expires=")), "{url}");
    assert!(url.contains("&signature="), "{url}");
    let res = app.get(url).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("编号：{number}")), "{html}");
    assert!(!html.contains(&format!("编号：{}<", first["id"])));
    // The list numbers the items; the items carry no number of their own.
    assert!(html.contains("<ol>"));
    assert!(html.contains("<li><strong>市容整洁</strong>"), "{html}");
    assert!(!html.contains("1、"), "{html}");

    // The signature is for exactly this path and this expiry.
    let (_, query) = url.split_once('?').unwrap();
    let other = format!("/api/v1/pledges/{}/document?{query}", second["id"]);
    assert_problem(app.get(&other).await, 403, "signed_link_invalid").await;
    let expires: i64 = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let later = url.replace(
        &format!("expires={expires}"),
        &format!("expires={}", expires + 3600),
    );
    assert_problem(app.get(&later).await, 403, "signed_link_invalid").await;
    let mut tampered = url.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_problem(app.get(&tampered).await, 403, "signed_link_invalid").await;
    let half = url.split("&signature=").next().unwrap();
    assert_problem(app.get(half).await, 403, "signed_link_invalid").await;

    // Only someone who may read the pledge gets a link; only printable paths are signed.
    let gulou_officer = app.token("officer.gulou").await;
    assert_problem(
        print_link(&app, &gulou_officer, &path).await,
        404,
        "pledge_not_found",
    )
    .await;
    for bad in [
        "/api/v1/cases/1",
        "/api/v1/pledges/1/signature",
        "/api/v1/pledges/01/document",
    ] {
        assert_problem(print_link(&app, &tianye, bad).await, 422, "not_printable").await;
    }
    assert_problem(
        app.post("/api/v1/print-links", &json!({ "path": path }), None)
            .await,
        401,
        "unauthenticated",
    )
    .await;
    // With the Bearer header, as before.
    assert_eq!(app.get_as(&path, &tianye).await.status(), 200);
}

#[tokio::test]
async fn an_expired_print_link_is_refused() {
    let app = TestApp::spawn_with(true, &[("WHISTLE__APP__PRINT_LINK_TTL_SECS", "1")])
        .await
        .checking_schemas()
        .await;
    let tianye = app.token("tianye").await;
    let pledge = signed_pledge(&app, &tianye, "6MA1W2X3Y6").await;
    let path = format!("/api/v1/pledges/{}/document", pledge["id"]);
    let link = created(print_link(&app, &tianye, &path).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let body = assert_problem(
        app.get(link["url"].as_str().unwrap()).await,
        401,
        "signed_link_expired",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("过期"), "{body}");
}

#[tokio::test]
async fn a_contact_card_prints_from_a_link_and_refuses_a_name_its_font_cannot_draw() {
    let app = TestApp::spawn().await;
    let tianye = app.token("tianye").await;
    let wenchang = community_id(&app, "文昌社区").await;
    let png = format!("/api/v1/communities/{wenchang}/contact-card.png");
    let link = created(print_link(&app, &tianye, &png).await).await;
    let res = app.get(link["url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    // The card stays public, but a link that was tampered with is refused, not ignored.
    let svg_with_png_signature = link["url"]
        .as_str()
        .unwrap()
        .replace("contact-card.png", "contact-card.svg");
    assert_problem(
        app.get(&svg_with_png_signature).await,
        403,
        "signed_link_invalid",
    )
    .await;

    // 王龑: 龑 is in GB 18030 but not in GB2312, and not in the embedded font.
    let admin = app.token("admin").await;
    let wang = created(
        app.post(
            "/api/v1/admin/users",
            &json!({
                "username": "wang.yan", "display_name": "王龑", "role": "officer",
                "password": "wenchang-duty-2026", "badge_number": "32070099", "squad": "海州一大队",
                "areas": []
            }),
            Some(&admin),
        )
        .await,
    )
    .await;
    let leader = app.token("leader.haizhou1").await;
    created(
        app.post(
            "/api/v1/stationings",
            &json!({"officer_id": wang["id"], "community_id": wenchang}),
            Some(&leader),
        )
        .await,
    )
    .await;
    for format in ["png", "svg"] {
        let body = assert_problem(
            app.get(&format!(
                "/api/v1/communities/{wenchang}/contact-card.{format}"
            ))
            .await,
            422,
            "glyph_missing",
        )
        .await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("龑 (U+9F91)"), "{detail}");
        assert!(!detail.contains('王'), "{detail}");
    }
    // The card's content is still there as JSON.
    let card = app
        .get_json(&format!("/api/v1/communities/{wenchang}/contact-card"))
        .await;
    assert!(card.to_string().contains("王龑"));
}
