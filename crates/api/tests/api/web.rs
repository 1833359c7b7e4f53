//! The resident's phone page served under /report, and what its tracking token opens: photos,
//! comments, the rating and a reopen of that one case.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::attachments::photo_with_exif;
use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

#[tokio::test]
async fn the_page_is_served_with_the_right_cache_headers() {
    let app = TestApp::spawn().await;
    for path in ["/report", "/report/", "/report?community=320706001001"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(res.headers()["cache-control"], "no-cache");
    }
    let html = app.get("/report").await.text().await.unwrap();
    // Every asset the page names is there, hashed and cached for good.
    let assets: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/report/assets/"))
        .collect();
    assert!(
        !assets.is_empty(),
        "the built page names its assets: {html}"
    );
    for a in assets {
        let res = app.get(a).await;
        assert_eq!(res.status(), 200, "{a}");
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.contains("javascript") || ct.contains("css"), "{a}: {ct}");
    }
}

#[tokio::test]
async fn the_page_routes_fall_back_to_index_but_the_api_keeps_its_404s() {
    let app = TestApp::spawn().await;
    let track = app
        .get("/report/track/abc123?case=HZ-20261201-000001")
        .await;
    assert_eq!(track.status(), 200);
    assert_eq!(track.headers()["cache-control"], "no-cache");
    assert!(track.text().await.unwrap().contains("<div id=\"app\">"));
    // A missing asset is a 404, not the page (a stale page must not get HTML for its script).
    // (Sent around the schema check: no documented operation answers these paths.)
    for path in [
        "/report/assets/gone-1234.js",
        "/api/v1/nothing-here",
        "/reports",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert_problem(res, 404, "route_not_found").await;
    }
}

#[tokio::test]
async fn the_demo_cards_qr_address_opens_the_page() {
    let app = TestApp::spawn().await;
    let communities = app.get_json("/api/v1/communities?limit=200").await;
    let id = communities["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "320706001001")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let card = app
        .get_json(&format!("/api/v1/communities/{id}/contact-card"))
        .await;
    let url = card["report_url"].as_str().unwrap();
    let path = &url[url.find("/report").unwrap()..];
    let res = app.get(path).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("/report/assets/"));
}

async fn anonymous_case(app: &TestApp) -> (i64, String) {
    let (lat, lon) = wenchang_south_gate();
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "南门喇叭叫卖", "lat": lat, "lon": lon}),
            None,
        )
        .await;
    assert_eq!(res.status(), 201);
    let case: Value = res.json().await.unwrap();
    (
        case["id"].as_i64().unwrap(),
        case["tracking_token"].as_str().unwrap().to_owned(),
    )
}

async fn upload_with_token(
    app: &TestApp,
    case: i64,
    token: Option<&str>,
    kind: &str,
) -> reqwest::Response {
    let form = Form::new()
        .part(
            "file",
            Part::bytes(photo_with_exif())
                .file_name("p.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        )
        .text("kind", kind.to_owned());
    let mut req = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case}/attachments")))
        .multipart(form);
    if let Some(t) = token {
        req = req.header("x-tracking-token", t);
    }
    app.send(req).await
}

#[tokio::test]
async fn the_tracking_token_uploads_and_reads_photos_of_its_case_only() {
    let app = TestApp::spawn().await;
    let (id, token) = anonymous_case(&app).await;
    let (other, other_token) = anonymous_case(&app).await;

    let res = upload_with_token(&app, id, Some(&token), "report").await;
    assert_eq!(res.status(), 201);
    let att: Value = res.json().await.unwrap();

    // Listed and downloaded with the same token, stripped of EXIF.
    let list = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/cases/{id}/attachments")))
                .header("x-tracking-token", &token),
        )
        .await;
    assert_eq!(list.status(), 200);
    assert_eq!(
        list.json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let got = app
        .send(
            app.client
                .get(app.url(att["url"].as_str().unwrap()))
                .header("x-tracking-token", &token),
        )
        .await;
    assert_eq!(got.status(), 200);
    let bytes = got.bytes().await.unwrap();
    assert!(!bytes.windows(4).any(|w| w == b"Exif"));

    // The timeline says an anonymous reporter attached it.
    let timeline = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/cases/{id}/timeline")))
                .header("x-tracking-token", &token),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(
        timeline
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "attach" && e["actor_role"] == "anonymous")
    );

    // Another case's token opens nothing here; no token at all is 401; after-photos are not
    // the reporter's.
    assert_problem(
        upload_with_token(&app, id, Some(&other_token), "report").await,
        404,
        "case_not_found",
    )
    .await;
    assert_problem(
        upload_with_token(&app, other, Some(&token), "report").await,
        404,
        "case_not_found",
    )
    .await;
    assert_problem(
        upload_with_token(&app, id, None, "report").await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        upload_with_token(&app, id, Some(&token), "after").await,
        403,
        "forbidden",
    )
    .await;
    let foreign = app
        .send(
            app.client
                .get(app.url(att["url"].as_str().unwrap()))
                .header("x-tracking-token", &other_token),
        )
        .await;
    assert_problem(foreign, 404, "attachment_not_found").await;
}

async fn feedback(app: &TestApp, id: i64, token: &str, body: Value) -> reqwest::Response {
    app.send(
        app.client
            .post(app.url(&format!("/api/v1/cases/{id}/feedback")))
            .header("x-tracking-token", token)
            .json(&body),
    )
    .await
}

async fn version(app: &TestApp, id: i64, token: &str) -> i64 {
    app.send(
        app.client
            .get(app.url(&format!("/api/v1/cases/{id}")))
            .header("x-tracking-token", token),
    )
    .await
    .json::<Value>()
    .await
    .unwrap()["version"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn the_tracking_token_comments_rates_once_closed_and_reopens() {
    let app = TestApp::spawn().await;
    let (id, token) = anonymous_case(&app).await;
    let (_, other_token) = anonymous_case(&app).await;

    let v = version(&app, id, &token).await;
    let res = feedback(
        &app,
        id,
        &token,
        json!({"action": "comment", "note": "晚上十点后还在响", "version": v}),
    )
    .await;
    assert_eq!(res.status(), 204);
    // Not closed yet: no rating.
    let v = version(&app, id, &token).await;
    assert_problem(
        feedback(
            &app,
            id,
            &token,
            json!({"action": "rate", "rating": 5, "version": v}),
        )
        .await,
        409,
        "illegal_transition",
    )
    .await;
    // Only this case's token.
    assert_problem(
        feedback(
            &app,
            id,
            &other_token,
            json!({"action": "comment", "note": "x", "version": v}),
        )
        .await,
        404,
        "case_not_found",
    )
    .await;

    // The bureau closes the loop.
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("leader.haizhou1").await;
    let tianye = app.login("tianye", crate::helpers::PW).await;
    let tianye_id = tianye["account"]["id"].as_i64().unwrap();
    let tianye = tianye["access_token"].as_str().unwrap().to_owned();
    for (who, body) in [
        (&dispatcher, json!({"action": "accept"})),
        (
            &dispatcher,
            json!({"action": "dispatch", "assignee_id": tianye_id}),
        ),
        (&tianye, json!({"action": "sign"})),
        (&tianye, json!({"action": "resolve", "note": "已劝离"})),
        (&leader, json!({"action": "verify"})),
        (&leader, json!({"action": "close"})),
    ] {
        let cur = app
            .get_as(&format!("/api/v1/cases/{id}"), who)
            .await
            .json::<Value>()
            .await
            .unwrap();
        let mut body = body;
        body["version"] = cur["version"].clone();
        let res = app
            .post(&format!("/api/v1/cases/{id}/actions"), &body, Some(who))
            .await;
        assert_eq!(res.status(), 200, "{body}: {}", res.text().await.unwrap());
    }

    let v = version(&app, id, &token).await;
    assert_problem(
        feedback(
            &app,
            id,
            &token,
            json!({"action": "rate", "rating": 9, "version": v}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    let res = feedback(
        &app,
        id,
        &token,
        json!({"action": "rate", "rating": 4, "note": "处理及时", "version": v}),
    )
    .await;
    assert_eq!(res.status(), 204);
    let case = app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(case["rating"], 4);
    let v = case["version"].as_i64().unwrap();
    assert_problem(
        feedback(
            &app,
            id,
            &token,
            json!({"action": "rate", "rating": 5, "version": v}),
        )
        .await,
        409,
        "already_rated",
    )
    .await;

    let res = feedback(
        &app,
        id,
        &token,
        json!({"action": "reopen", "note": "又响了", "version": v}),
    )
    .await;
    assert_eq!(res.status(), 204);
    let case = app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(case["status"], "accepted");
    assert!(case["rating"].is_null());

    // With a login the actions endpoint is the way.
    let res = app
        .send(
            app.client
                .post(app.url(&format!("/api/v1/cases/{id}/feedback")))
                .bearer_auth(&dispatcher)
                .header("x-tracking-token", &token)
                .json(&json!({"action": "comment", "note": "x", "version": 1})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
}

/// The staff console is served like the phone page: its own routes fall back to its
/// `index.html`, its hashed assets are cached for good, a missing asset is a 404.
#[tokio::test]
async fn the_console_is_served_under_its_own_prefix() {
    let app = TestApp::spawn().await;
    for path in [
        "/console",
        "/console/",
        "/console/queue",
        "/console/cases/12",
        "/console/login?next=%2Fqueue",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-cache", "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("<div id=\"app\">"), "{path}");
        assert!(html.contains("/console/assets/"), "{path}");
    }
    let html = app.get("/console").await.text().await.unwrap();
    let assets: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/console/assets/"))
        .collect();
    assert!(!assets.is_empty(), "{html}");
    for a in assets {
        let res = app.get(a).await;
        assert_eq!(res.status(), 200, "{a}");
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    // (Sent around the schema check: no documented operation answers this path.)
    let res = app
        .client
        .get(app.url("/console/assets/gone-1234.js"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "route_not_found").await;
}
