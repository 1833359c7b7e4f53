//! Defects found by attacking the server as a hostile or merely ordinary client would: error
//! bodies under compression, control characters and distant dates reaching the database,
//! idempotency keys reused by another reporter, tokens of ended sessions.

use std::io::Read;

use serde_json::{Value, json};

use crate::helpers::{PW, TestApp, assert_problem, wenchang_south_gate};

/// GETs `path` asking for `encoding`, and returns status, headers and the decoded body.
async fn fetch_encoded(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    encoding: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .client
        .request(method, app.url(path))
        .header("accept-encoding", encoding)
        .header("content-type", "application/json")
        .body("{\"username\":\"nobody\",\"password\":\"wrong-password-1\"}")
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let raw = res.bytes().await.unwrap().to_vec();
    let body = match headers
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned())
    {
        None => raw,
        Some(e) if e == "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap_or_else(|err| panic!("{path}: body is not gzip: {err}"));
            out
        }
        Some(other) => panic!("{path}: unexpected content-encoding {other}"),
    };
    (status, headers, body)
}

#[tokio::test]
async fn error_bodies_decode_whatever_encoding_the_client_accepts() {
    let app = TestApp::spawn().await;
    let get = reqwest::Method::GET;
    let cases: [(reqwest::Method, &str, u16, &str); 6] = [
        (get.clone(), "/api/v1/me", 401, "unauthenticated"),
        (
            get.clone(),
            "/api/v1/cases/999999?x=1",
            401,
            "unauthenticated",
        ),
        (get.clone(), "/api/v1/nothing-here", 404, "route_not_found"),
        (
            get.clone(),
            "/api/v1/locate?lat=10&lon=10",
            404,
            "outside_city",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/auth/login",
            401,
            "invalid_credentials",
        ),
        (
            get.clone(),
            "/api/v1/cases?q=%00abc",
            422,
            "invalid_characters",
        ),
    ];
    for encoding in ["gzip", "br", "gzip, deflate, br", "identity"] {
        for (method, path, status, code) in &cases {
            let (got, headers, body) = fetch_encoded(&app, method.clone(), path, encoding).await;
            assert_eq!(got, *status, "{path} with {encoding}");
            assert_eq!(
                headers["content-type"], "application/problem+json",
                "{path} with {encoding}"
            );
            let problem: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{path} with {encoding}: not JSON: {e}"));
            assert_eq!(problem["code"], *code, "{path} with {encoding}");
            if let Some(len) = headers.get("content-length") {
                let len: usize = len.to_str().unwrap().parse().unwrap();
                assert!(len > 0, "{path} with {encoding}: empty body");
            }
        }
    }
    // A big success body is still compressed for clients that accept it.
    let (status, headers, body) = fetch_encoded(&app, get, "/openapi.json", "gzip").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    assert!(serde_json::from_slice::<Value>(&body).is_ok());
}

#[tokio::test]
async fn control_characters_never_reach_the_database() {
    let app = TestApp::spawn().await;
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("leader.haizhou1").await;
    let admin = app.token("admin").await;
    for (path, token) in [
        ("/api/v1/cases?q=%00abc", Some(&dispatcher)),
        ("/api/v1/cases?category=%00", Some(&dispatcher)),
        ("/api/v1/public/cases?category=%00", None),
        ("/api/v1/merchants?q=%00", Some(&dispatcher)),
        ("/api/v1/merchants?business_type=%00", Some(&dispatcher)),
        ("/api/v1/analytics/summary?category=%00", Some(&leader)),
        ("/api/v1/admin/categories/%00/sla", Some(&admin)),
        ("/api/v1/cases?q=%1B%5B31m", Some(&dispatcher)),
        ("/api/v1/public/cases?%00=1", None),
    ] {
        let res = match token {
            Some(t) => app.get_as(path, t).await,
            None => app.get(path).await,
        };
        let body = assert_problem(res, 422, "invalid_characters").await;
        assert!(body["field"].is_string(), "{path}: {body}");
    }
    // Line breaks and tabs in a description are text, not control characters.
    let (lat, lon) = wenchang_south_gate();
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "南门外喇叭\n每天早上\t九点", "lat": lat, "lon": lon}),
            None,
        )
        .await;
    assert_eq!(res.status(), 201);
    // In JSON bodies too, wherever the string sits.
    for body in [
        json!({"category": "noise\u{0}", "description": "喇叭", "lat": lat, "lon": lon}),
        json!({"category": "noise", "description": "喇叭\u{0}", "lat": lat, "lon": lon}),
        json!({"category": "noise", "description": "喇叭", "lat": lat, "lon": lon, "attributes": {"time\u{0}": "night"}}),
    ] {
        let res = app.post("/api/v1/cases", &body, None).await;
        assert_problem(res, 422, "invalid_characters").await;
    }
    // Nothing of them was stored.
    let page = app
        .get_as("/api/v1/cases?limit=100", &dispatcher)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let descriptions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["description"].as_str().unwrap())
        .collect();
    assert!(descriptions.iter().all(|d| !d.contains('\u{0}')));
    assert!(descriptions.contains(&"南门外喇叭\n每天早上\t九点"));
}

#[tokio::test]
async fn open311_refuses_control_characters_with_its_own_400() {
    let app = TestApp::spawn().await;
    for path in [
        "/open311/v2/services/%00.json",
        "/open311/v2/requests.json?service_code=%00",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 400, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body[0]["code"], 400, "{path}: {body}");
    }
    // The form body of a POST is screened too (before the api_key is even looked at).
    let (lat, lon) = wenchang_south_gate();
    let res = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("api_key", "whatever")
                .append_pair("service_code", "noise\u{0}")
                .append_pair("lat", &lat.to_string())
                .append_pair("long", &lon.to_string())
                .append_pair("description", "喇叭")
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn distant_dates_are_refused_not_a_500() {
    let app = TestApp::spawn().await;
    let dispatcher = app.token("dispatcher").await;
    for path in [
        "/api/v1/cases?created_from=-262143-01-01T00:00:00Z",
        "/api/v1/cases?created_to=%2B262142-12-31T23:59:59Z",
        "/api/v1/cases?due_before=1900-01-01T00:00:00Z",
        "/api/v1/cases?created_from=2101-01-01T00:00:00%2B08:00",
    ] {
        let body = assert_problem(
            app.get_as(path, &dispatcher).await,
            422,
            "date_out_of_range",
        )
        .await;
        assert!(body["field"].is_string(), "{path}: {body}");
    }
    let ok = app
        .get_as(
            "/api/v1/cases?created_from=2026-01-01T00:00:00Z",
            &dispatcher,
        )
        .await;
    assert_eq!(ok.status(), 200);
}

async fn report_anonymously(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/cases"))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idempotency_key_is_bound_to_its_request() {
    let app = TestApp::spawn().await;
    let (lat, lon) = wenchang_south_gate();
    let first = json!({
        "category": "noise", "description": "南门喇叭", "lat": lat, "lon": lon,
        "reporter_name": "孙女士", "reporter_phone": "13912345678"
    });
    let res = report_anonymously(&app, "shared-key-1", &first).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let token = created["tracking_token"].as_str().unwrap().to_owned();

    // The same request again (a flaky network): the same case and the same tracking token.
    let res = report_anonymously(&app, "shared-key-1", &first).await;
    assert_eq!(res.status(), 201);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], created["id"]);
    assert_eq!(again["tracking_token"].as_str(), Some(token.as_str()));

    // Somebody else's report under the same key: refused, nothing of the first one shown.
    let other = json!({"category": "noise", "description": "北门游商", "lat": lat, "lon": lon});
    let res = report_anonymously(&app, "shared-key-1", &other).await;
    let body = assert_problem(res, 422, "idempotency_key_reused").await;
    let text = body.to_string();
    assert!(!text.contains("13912345678") && !text.contains("孙") && !text.contains(&token));

    // A logged-in resident's keys are their own: the same key is a new case for them.
    let zhang = app.token("13800001234").await;
    let res = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&zhang)
        .header("idempotency-key", "shared-key-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let theirs: Value = res.json().await.unwrap();
    assert_ne!(theirs["id"], created["id"]);
    // …and reusing it for a different report of theirs is refused as well.
    let res = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&zhang)
        .header("idempotency-key", "shared-key-1")
        .json(&first)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "idempotency_key_reused").await;
}

#[tokio::test]
async fn ended_sessions_refuse_their_access_tokens_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let (lat, lon) = wenchang_south_gate();
    let report = json!({"category": "noise", "description": "南门喇叭", "lat": lat, "lon": lon});

    // Disabling: the account's unexpired token stops working on its next request.
    let zhang = app.login("13800001234", PW).await;
    let zhang_id = zhang["account"]["id"].as_i64().unwrap();
    let zhang_token = zhang["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post("/api/v1/cases", &report, Some(&zhang_token))
            .await
            .status(),
        201
    );
    let res = app
        .post(
            &format!("/api/v1/admin/users/{zhang_id}/disable"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(
        app.post("/api/v1/cases", &report, Some(&zhang_token)).await,
        401,
        "invalid_token",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/me", &zhang_token).await,
        401,
        "invalid_token",
    )
    .await;
    // Enabled again, the old token stays dead; a new login works.
    let res = app
        .post(
            &format!("/api/v1/admin/users/{zhang_id}/enable"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(
        app.get_as("/api/v1/me", &zhang_token).await,
        401,
        "invalid_token",
    )
    .await;
    let fresh = app.token("13800001234").await;
    assert_eq!(app.get_as("/api/v1/me", &fresh).await.status(), 200);

    // Logging out everywhere ends the caller's own tokens too, and its refresh tokens.
    let tianye = app.login("tianye", PW).await;
    let t1 = tianye["access_token"].as_str().unwrap().to_owned();
    let refresh = tianye["refresh_token"].as_str().unwrap().to_owned();
    let t2 = app.token("tianye").await;
    let res = app
        .post("/api/v1/auth/logout-all", &json!({}), Some(&t1))
        .await;
    assert_eq!(res.status(), 204);
    for t in [&t1, &t2] {
        assert_problem(app.get_as("/api/v1/me", t).await, 401, "invalid_token").await;
    }
    let res = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": refresh}),
            None,
        )
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        app.get_as("/api/v1/me", &app.token("tianye").await)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_change_made_through_another_process_arrives_within_the_poll_interval() {
    // Two API processes over one database, as behind a load balancer.
    let app = TestApp::spawn_with(true, &[("WHISTLE__AUTH__SESSION_POLL_MS", "100")]).await;
    let other = app
        .second_process(&[("WHISTLE__AUTH__SESSION_POLL_MS", "100")])
        .await;
    let admin = app.token("admin").await;
    let tianye = app.login("tianye", PW).await;
    let id = tianye["account"]["id"].as_i64().unwrap();
    let token = tianye["access_token"].as_str().unwrap().to_owned();
    assert_eq!(other.get_as("/api/v1/me", &token).await.status(), 200);
    // The jurisdiction changes through the first process.
    let res = app
        .put(
            &format!("/api/v1/admin/users/{id}/jurisdiction"),
            &json!({"areas": [{"level": "community", "id": 2}]}),
            &admin,
        )
        .await;
    let status = res.status();
    assert_eq!(status, 200, "{}", res.text().await.unwrap());
    // The second process refuses the old token once its copy is refreshed; poll, don't sleep
    // a fixed time: the assertion is that it happens, not how fast.
    let mut refused = false;
    for _ in 0..100 {
        if other.get_as("/api/v1/me", &token).await.status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the other process never refused the old token");
    // The refresh token still works and brings the new jurisdiction.
    let res = other
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": tianye["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    let fresh = session["access_token"].as_str().unwrap();
    assert_eq!(other.get_as("/api/v1/me", fresh).await.status(), 200);
}

#[tokio::test]
async fn open311_keys_are_bound_to_their_request_too() {
    let app = TestApp::spawn().await;
    // One application's key is shared by all its users: their Idempotency-Keys share a scope.
    let key = crate::open311::issue_key(&app, "街道 app").await;
    let (lat, lon) = wenchang_south_gate();
    let post = |description: &'static str| {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("api_key", &key)
            .append_pair("service_code", "noise")
            .append_pair("lat", &lat.to_string())
            .append_pair("long", &lon.to_string())
            .append_pair("phone", "13912345678")
            .append_pair("description", description)
            .finish();
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("idempotency-key", "device-7")
            .body(form)
            .send()
    };
    let first: Value = post("南门喇叭").await.unwrap().json().await.unwrap();
    let again: Value = post("南门喇叭").await.unwrap().json().await.unwrap();
    assert_eq!(
        first[0]["service_request_id"], again[0]["service_request_id"],
        "a retry is answered with the same request"
    );
    let res = post("北门游商").await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(
        body[0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("Idempotency-Key")),
        "{body}"
    );
    assert!(
        !body
            .to_string()
            .contains(first[0]["service_request_id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn csv_exports_arrive_whole_under_gzip() {
    let app = TestApp::spawn().await;
    let dispatcher = app.token("dispatcher").await;
    let (lat, lon) = wenchang_south_gate();
    for i in 0..3 {
        let body = json!({"category": "noise", "description": format!("南门喇叭 {i}"), "lat": lat, "lon": lon});
        assert_eq!(app.post("/api/v1/cases", &body, None).await.status(), 201);
    }
    for encoding in ["gzip", "identity"] {
        let res = app
            .client
            .get(app.url("/api/v1/analytics/cases.csv"))
            .bearer_auth(&dispatcher)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{encoding}");
        let gzipped = res
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v == "gzip");
        let raw = res.bytes().await.expect("the whole body arrives");
        let text = if gzipped {
            let mut out = String::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_string(&mut out)
                .expect("a complete gzip stream");
            out
        } else {
            String::from_utf8(raw.to_vec()).unwrap()
        };
        assert_eq!(encoding == "gzip", gzipped);
        // The header line and one line per case.
        assert_eq!(text.lines().count(), 4, "{encoding}: {text}");
    }
}
