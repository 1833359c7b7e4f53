//! The heart of Whistle: a resident blows the whistle, the right officer reports for duty, the
//! loop closes.

use serde_json::{Value, json};
use whistle_domain::location::{Coordinate, Crs};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

const ZHANG: &str = "13800001234";

fn report_body() -> Value {
    let (lat, lon) = wenchang_south_gate();
    // What 张师傅's phone (Amap) reports for the south gate.
    let (glat, glon) = Coordinate::wgs84(lat, lon).unwrap().to_crs(Crs::Gcj02);
    json!({
        "category": "noise",
        "description": "小区南门外的商家使用高音喇叭叫卖，造成噪声扰民。",
        "lat": glat, "lon": glon, "crs": "gcj02",
        "address": "文昌社区南门"
    })
}

async fn report(
    app: &TestApp,
    token: Option<&str>,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut req = app.client.post(app.url("/api/v1/cases")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    app.send(req).await
}

async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> reqwest::Response {
    app.post(&format!("/api/v1/cases/{id}/actions"), &body, Some(token))
        .await
}

async fn act_ok(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let res = act(app, token, id, body.clone()).await;
    let status = res.status();
    let json: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body} → {json}");
    json
}

#[tokio::test]
async fn the_articles_story_closes_the_loop() {
    // Every answer of the story must be what the OpenAPI document says it is.
    let app = TestApp::spawn().await.checking_schemas().await;
    let zhang = app.login(ZHANG, crate::helpers::PW).await;
    let zhang_token = zhang["access_token"].as_str().unwrap().to_owned();
    let tianye = app.login("tianye", crate::helpers::PW).await;
    let tianye_id = tianye["account"]["id"].as_i64().unwrap();
    let tianye_token = tianye["access_token"].as_str().unwrap().to_owned();
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("leader.haizhou1").await;

    // 张师傅 blows the whistle from his phone.
    let res = report(&app, Some(&zhang_token), Some("zhang-0001"), &report_body()).await;
    assert_eq!(res.status(), 201);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let case: Value = res.json().await.unwrap();
    assert_eq!(etag, "\"1\"");
    let id = case["id"].as_i64().unwrap();
    assert_eq!(case["community"]["name"], "文昌社区");
    assert_eq!(case["street"]["name"], "海州街道");
    assert!(case["number"].as_str().unwrap().starts_with("HZ-"));
    assert!(case["number"].as_str().unwrap().ends_with("-000001"));
    assert_eq!(case["status"], "reported");
    assert_eq!(case["source"], "resident_app");
    assert_eq!(case["priority"], "high");
    assert_eq!(case["stage"], "accept");
    assert!(
        case["stage_due"].is_string(),
        "the first deadline is known at once"
    );
    assert_eq!(
        case["suggested_officer_id"], tianye_id,
        "routed to the stationed officer"
    );
    assert_eq!(
        case["reporter_phone"], ZHANG,
        "the reporter sees their own number"
    );

    // His phone lost the answer and retried: the same case, not a second one.
    let retry = report(&app, Some(&zhang_token), Some("zhang-0001"), &report_body()).await;
    assert_eq!(retry.status(), 201);
    let retried: Value = retry.json().await.unwrap();
    assert_eq!(retried, case);

    // With a photo of the loudspeaker.
    let photo = app
        .client
        .post(app.url(&format!("/api/v1/cases/{id}/attachments")))
        .bearer_auth(&zhang_token)
        .multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(crate::attachments::photo_with_exif())
                    .file_name("speaker.jpg"),
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), 201);

    // The command centre accepts and dispatches to 田野.
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "accept", "version": 1}),
    )
    .await;
    assert_eq!(
        (c["status"].as_str(), c["stage"].as_str()),
        (Some("accepted"), Some("dispatch"))
    );
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "dispatch", "version": 2, "assignee_id": tianye_id}),
    )
    .await;
    assert_eq!(c["assignee_id"], tianye_id);
    // 田野 reports for duty, handles it, resolves.
    let c = act_ok(
        &app,
        &tianye_token,
        id,
        json!({"action": "sign", "version": 3}),
    )
    .await;
    assert_eq!(c["status"], "in_progress");
    assert_eq!(
        c["reporter_phone"], ZHANG,
        "the officer in charge may call the reporter"
    );
    let after = app
        .client
        .post(app.url(&format!("/api/v1/cases/{id}/attachments")))
        .bearer_auth(&tianye_token)
        .multipart(
            reqwest::multipart::Form::new()
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(crate::attachments::photo_with_exif())
                        .file_name("after.jpg"),
                )
                .text("kind", "after"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 201);
    let c = act_ok(&app, &tianye_token, id, json!({"action": "resolve", "version": 4, "note": "已劝导商家停止使用高音喇叭，签订门前四包责任书。"})).await;
    assert_eq!(c["status"], "resolved");
    // The squad leader verifies and closes.
    let c = act_ok(&app, &leader, id, json!({"action": "verify", "version": 5})).await;
    assert_eq!(c["status"], "verified");
    let c = act_ok(&app, &leader, id, json!({"action": "close", "version": 6})).await;
    assert_eq!(c["status"], "closed");
    assert!(c["closed_at"].is_string());
    // 张师傅 rates it 5.
    let c = act_ok(
        &app,
        &zhang_token,
        id,
        json!({"action": "rate", "version": 7, "rating": 5, "note": "很快就解决了"}),
    )
    .await;
    assert_eq!(c["rating"], 5);
    let again = act(
        &app,
        &zhang_token,
        id,
        json!({"action": "rate", "version": 8, "rating": 1}),
    )
    .await;
    assert_problem(again, 409, "already_rated").await;

    // The timeline shows every step with its actor.
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{id}/timeline"), &zhang_token)
        .await
        .json()
        .await
        .unwrap();
    let steps: Vec<(&str, &str)> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor_role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("report", "resident"),
            ("attach", "resident"),
            ("accept", "dispatcher"),
            ("dispatch", "dispatcher"),
            ("sign", "officer"),
            ("attach", "officer"),
            ("resolve", "officer"),
            ("verify", "leader"),
            ("close", "leader"),
            ("rate", "resident"),
        ]
    );
    assert_eq!(timeline[4]["actor_id"], tianye_id);
    assert_eq!(timeline[5]["data"]["kind"], "after");
    assert_eq!(
        timeline[6]["note"],
        "已劝导商家停止使用高音喇叭，签订门前四包责任书。"
    );
    assert_eq!(timeline[3]["data"]["assignee_id"], tianye_id);
}

#[tokio::test]
async fn two_concurrent_actions_on_one_version_apply_once() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let case: Value = report(&app, Some(&zhang), None, &report_body())
        .await
        .json()
        .await
        .unwrap();
    let id = case["id"].as_i64().unwrap();
    let (a, b) = tokio::join!(
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "accept", "version": 1})
        ),
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "reject", "version": 1, "reason": "invalid"})
        )
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses[0], 200);
    assert_eq!(statuses[1], 409, "the loser is told, not silently applied");
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{id}/timeline"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        timeline.as_array().unwrap().len(),
        2,
        "exactly one action recorded"
    );
    let now: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["version"], 2);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_case() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let body = report_body();
    let (a, b, c) = tokio::join!(
        report(&app, Some(&zhang), Some("flaky-net-7"), &body),
        report(&app, Some(&zhang), Some("flaky-net-7"), &body),
        report(&app, Some(&zhang), Some("flaky-net-7"), &body)
    );
    let mut numbers = Vec::new();
    for res in [a, b, c] {
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        numbers.push(v["number"].as_str().unwrap().to_owned());
    }
    numbers.dedup();
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    // A different key is a different case.
    let other: Value = report(&app, Some(&zhang), Some("flaky-net-8"), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(other["number"].as_str().unwrap(), numbers[0]);
}

#[tokio::test]
async fn stale_versions_and_illegal_transitions_change_nothing() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let case: Value = report(&app, Some(&zhang), None, &report_body())
        .await
        .json()
        .await
        .unwrap();
    let id = case["id"].as_i64().unwrap();
    let body = assert_problem(
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "dispatch", "version": 1, "assignee_id": 4}),
        )
        .await,
        409,
        "illegal_transition",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("reported"),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("accept, reject, comment"),
        "{body}"
    );
    assert_problem(
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "accept", "version": 7}),
        )
        .await,
        409,
        "version_conflict",
    )
    .await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/cases/{id}/actions")))
        .bearer_auth(&dispatcher)
        .header("if-match", "\"9\"")
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 412, "precondition_failed").await;
    assert_problem(
        act(&app, &dispatcher, id, json!({"action": "accept"})).await,
        422,
        "version_required",
    )
    .await;
    assert_problem(
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "explode", "version": 1}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "reject", "version": 1, "reason": "boring"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    let now: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (now["status"].as_str(), now["version"].as_i64()),
        (Some("reported"), Some(1))
    );
}

#[tokio::test]
async fn jurisdiction_and_ownership_hide_and_forbid() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let case: Value = report(&app, Some(&zhang), None, &report_body())
        .await
        .json()
        .await
        .unwrap();
    let id = case["id"].as_i64().unwrap();
    // Another resident: 404, as if the case did not exist.
    let other = app.register_neighbour("13912340009").await;
    assert_problem(
        app.get_as(&format!("/api/v1/cases/{id}"), &other).await,
        404,
        "case_not_found",
    )
    .await;
    assert_problem(
        act(
            &app,
            &other,
            id,
            json!({"action": "comment", "version": 1, "note": "?"}),
        )
        .await,
        404,
        "case_not_found",
    )
    .await;
    // The officer of 鼓楼社区 cannot see or act on a 文昌社区 case.
    let gulou = app.token("officer.gulou").await;
    assert_problem(
        app.get_as(&format!("/api/v1/cases/{id}"), &gulou).await,
        404,
        "case_not_found",
    )
    .await;
    // 田野 sees it (his community) but may not reject it: that is the command centre's.
    let tianye = app.token("tianye").await;
    let seen: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["id"], id);
    assert_problem(
        act(
            &app,
            &tianye,
            id,
            json!({"action": "reject", "version": 1, "reason": "invalid"}),
        )
        .await,
        403,
        "role_not_permitted",
    )
    .await;
    // The property company of the compound sees it with the reporter's contact masked.
    let wuye = app.token("wenchang.wuye").await;
    let masked: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &wuye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(masked["reporter_phone"], "138****1234");
    assert_eq!(masked["reporter_name"], "张**");
    // The admin does not read residents' cases.
    let admin = app.token("admin").await;
    assert_problem(
        app.get_as(&format!("/api/v1/cases/{id}"), &admin).await,
        403,
        "role_not_permitted",
    )
    .await;
    // Dispatching to an officer of another community is refused.
    let dispatcher = app.token("dispatcher").await;
    act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "accept", "version": 1}),
    )
    .await;
    let gulou_id = app.login("officer.gulou", crate::helpers::PW).await["account"]["id"]
        .as_i64()
        .unwrap();
    assert_problem(
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "dispatch", "version": 2, "assignee_id": gulou_id}),
        )
        .await,
        422,
        "assignee_outside_jurisdiction",
    )
    .await;
}

#[tokio::test]
async fn an_anonymous_reporter_follows_the_case_with_a_token() {
    let app = TestApp::spawn().await;
    let mut body = report_body();
    body["reporter_name"] = json!("路人");
    let res = report(&app, None, Some("anon-key-1"), &body).await;
    assert_eq!(res.status(), 201);
    let case: Value = res.json().await.unwrap();
    let token = case["tracking_token"].as_str().unwrap().to_owned();
    let id = case["id"].as_i64().unwrap();
    // A retry gives back the same token.
    let again: Value = report(&app, None, Some("anon-key-1"), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["tracking_token"], token.as_str());
    let get = |t: Option<&str>| {
        let mut req = app.client.get(app.url(&format!("/api/v1/cases/{id}")));
        if let Some(t) = t {
            req = req.header("x-tracking-token", t);
        }
        req.send()
    };
    let seen = get(Some(&token)).await.unwrap();
    assert_eq!(seen.status(), 200);
    let seen: Value = seen.json().await.unwrap();
    assert!(
        seen.get("tracking_token").is_none(),
        "shown once, at intake"
    );
    assert_problem(get(Some("guess")).await.unwrap(), 404, "case_not_found").await;
    assert_problem(get(None).await.unwrap(), 401, "unauthenticated").await;
}

#[tokio::test]
async fn bad_reports_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let with = |k: &str, v: Value| {
        let mut b = report_body();
        b[k] = v;
        b
    };
    for (body, status, code) in [
        (with("category", json!("dragons")), 422, "unknown_category"),
        (with("lat", json!(39.9087)), 422, "outside_city"),
        (with("lat", json!("NaN")), 422, "invalid_body"),
        (with("lat", json!(1e308)), 422, "invalid_coordinate"),
        (with("lon", json!(-200.0)), 422, "invalid_coordinate"),
        (with("crs", json!("utm")), 422, "invalid_value"),
        (with("description", json!("")), 422, "invalid_value"),
        (
            with("description", json!("吵".repeat(100_000 / 3))),
            422,
            "invalid_value",
        ),
        (
            with("address", json!("路".repeat(201))),
            422,
            "invalid_value",
        ),
    ] {
        let res = report(&app, Some(&zhang), None, &body).await;
        assert_problem(res, status, code).await;
    }
    let res = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&zhang)
        .header("idempotency-key", "x".repeat(101))
        .json(&report_body())
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_idempotency_key").await;
    // Nothing was half-written: the next case is number 1.
    let ok: Value = report(&app, Some(&zhang), None, &report_body())
        .await
        .json()
        .await
        .unwrap();
    assert!(ok["number"].as_str().unwrap().ends_with("-000001"), "{ok}");
    // Markup is kept as text, never interpreted.
    let html: Value = report(
        &app,
        Some(&zhang),
        None,
        &with("description", json!("<script>alert('x')</script> 南门")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(html["description"], "<script>alert('x')</script> 南门");
}

fn body_at(row: usize, col: usize, category: &str, text: &str) -> Value {
    let [x0, y0, x1, y1] = whistle_api::demo::community_rect(row, col);
    json!({
        "category": category, "description": text,
        "lat": (y0 + y1) / 2.0 - 0.001, "lon": (x0 + x1) / 2.0 - 0.001
    })
}

async fn items(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let res = app.get_as(path, token).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn queues_lists_and_the_public_map() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let tianye_session = app.login("tianye", crate::helpers::PW).await;
    let tianye = tianye_session["access_token"].as_str().unwrap().to_owned();
    let tianye_id = tianye_session["account"]["id"].as_i64().unwrap();
    // Two cases in 文昌社区 (one urgent), one in 鼓楼社区.
    let mut ids = Vec::new();
    for (row, col, category, text, priority) in [
        (0, 0, "street_vending", "北门游商占道经营", None),
        (
            0,
            0,
            "construction_waste",
            "楼下建筑垃圾乱堆放",
            Some("urgent"),
        ),
        (0, 1, "green_encroachment", "绿地被挖来种菜", None),
    ] {
        let mut body = body_at(row, col, category, text);
        if let Some(p) = priority {
            body["priority"] = json!(p);
        }
        // The urgent one comes in through the hotline, where priority can be set.
        let token = if priority.is_some() {
            &dispatcher
        } else {
            &zhang
        };
        let res = report(&app, Some(token), None, &body).await;
        assert_eq!(res.status(), 201);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    for id in &ids[..2] {
        act_ok(
            &app,
            &dispatcher,
            *id,
            json!({"action": "accept", "version": 1}),
        )
        .await;
        act_ok(
            &app,
            &dispatcher,
            *id,
            json!({"action": "dispatch", "version": 2, "assignee_id": tianye_id}),
        )
        .await;
    }
    // 田野's queue: his two cases, the urgent one (earliest deadline) first.
    let queue = items(&app, &tianye, "/api/v1/cases?assignee=me").await;
    assert_eq!(
        queue
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [ids[1], ids[0]]
    );
    assert!(queue[0]["stage_due"].as_str() <= queue[1]["stage_due"].as_str());
    // Page by page: everything once, in the same order.
    let first: Value = app
        .get_as("/api/v1/cases?assignee=me&limit=1", &tianye)
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    // A new case arriving between pages does not disturb the second page.
    report(&app, Some(&zhang), None, &body_at(0, 0, "noise", "又吵了")).await;
    let second: Value = app
        .get_as(
            &format!("/api/v1/cases?assignee=me&limit=1&cursor={cursor}"),
            &tianye,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"][0]["id"], ids[1]);
    assert_eq!(second["items"][0]["id"], ids[0]);
    assert!(second["next_cursor"].is_null());

    // Who sees what.
    let count = |v: Vec<Value>| v.len();
    assert_eq!(
        count(items(&app, &zhang, "/api/v1/cases").await),
        3,
        "his own reports"
    );
    assert_eq!(
        count(items(&app, &tianye, "/api/v1/cases").await),
        3,
        "文昌社区 only"
    );
    let gulou = app.token("officer.gulou").await;
    assert_eq!(
        count(items(&app, &gulou, "/api/v1/cases").await),
        1,
        "鼓楼社区 only"
    );
    let leader = app.token("leader.haizhou1").await;
    assert_eq!(
        count(items(&app, &leader, "/api/v1/cases").await),
        4,
        "the whole street"
    );
    assert_eq!(count(items(&app, &dispatcher, "/api/v1/cases").await), 4);
    let admin = app.token("admin").await;
    assert_problem(app.get_as("/api/v1/cases", &admin).await, 403, "forbidden").await;

    // Filters.
    assert_eq!(
        count(items(&app, &dispatcher, "/api/v1/cases?status=dispatched").await),
        2
    );
    assert_eq!(
        count(
            items(
                &app,
                &dispatcher,
                "/api/v1/cases?status=reported,dispatched"
            )
            .await
        ),
        4
    );
    assert_eq!(
        count(
            items(
                &app,
                &dispatcher,
                "/api/v1/cases?category=green_encroachment"
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(items(&app, &dispatcher, "/api/v1/cases?q=%E6%B8%B8%E5%95%86").await),
        1,
        "游商"
    );
    assert_eq!(
        count(items(&app, &dispatcher, "/api/v1/cases?overdue=true").await),
        0
    );
    assert_eq!(
        count(items(&app, &dispatcher, "/api/v1/cases?source=hotline_12345").await),
        1
    );
    let newest = items(&app, &dispatcher, "/api/v1/cases?sort=newest").await;
    assert!(
        newest
            .windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64())
    );
    for (path, status, code) in [
        ("/api/v1/cases?status=lost", 422, "invalid_value"),
        ("/api/v1/cases?sort=random", 422, "invalid_value"),
        ("/api/v1/cases?cursor=zzz", 400, "invalid_cursor"),
        (
            "/api/v1/cases?created_from=2026-12-01T00:00:00Z&created_to=2026-01-01T00:00:00Z",
            422,
            "invalid_period",
        ),
        ("/api/v1/cases?created_from=yesterday", 400, "invalid_query"),
        ("/api/v1/cases?category=dragons", 422, "unknown_category"),
        ("/api/v1/cases?limit=0", 422, "invalid_limit"),
    ] {
        assert_problem(app.get_as(path, &dispatcher).await, status, code).await;
    }

    // The public map: no login, no personal data, rounded coordinates, no rejected cases.
    act_ok(
        &app,
        &dispatcher,
        ids[2],
        json!({"action": "reject", "version": 1, "reason": "out_of_scope"}),
    )
    .await;
    let public: Value = app.get_json("/api/v1/public/cases").await;
    let public = public["items"].as_array().unwrap();
    assert_eq!(public.len(), 3);
    for c in public {
        assert!(
            c.get("description").is_none()
                && c.get("reporter_phone").is_none()
                && c.get("reporter_name").is_none()
        );
        let lat = c["lat"].as_f64().unwrap();
        assert_eq!((lat * 1000.0).round() / 1000.0, lat);
    }
    let text = serde_json::to_string(public).unwrap();
    assert!(!text.contains(ZHANG) && !text.contains("张"));
}

#[tokio::test]
async fn nearby_open_cases_of_the_same_category_are_suggested_and_can_be_merged() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let first: Value = report(&app, Some(&zhang), None, &report_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["possible_duplicates"], json!([]));
    // Same spot, same problem, another neighbour.
    let neighbour = app.register_neighbour("13912340077").await;
    let second: Value = report(&app, Some(&neighbour), None, &report_body())
        .await
        .json()
        .await
        .unwrap();
    let dups = second["possible_duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0]["number"], first["number"]);
    assert!(dups[0]["distance_m"].as_f64().unwrap() < 1.0);
    // Another category at the same spot is not a duplicate; nor is the same category far away.
    let mut vending = report_body();
    vending["category"] = json!("street_vending");
    let other: Value = report(&app, Some(&neighbour), None, &vending)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["possible_duplicates"], json!([]));
    // A duplicate of nothing is refused.
    let res = act(&app, &dispatcher, second["id"].as_i64().unwrap(), json!({"action": "reject", "version": 1, "reason": "duplicate", "duplicate_of": "HZ-20200101-000001"})).await;
    assert_problem(res, 422, "unknown_case").await;
    // The command centre merges the second into the first.
    let merged = act_ok(
        &app,
        &dispatcher,
        second["id"].as_i64().unwrap(),
        json!({"action": "reject", "version": 1, "reason": "duplicate", "duplicate_of": first["number"]}),
    )
    .await;
    assert_eq!(merged["status"], "rejected");
    let timeline: Value = app
        .get_as(
            &format!("/api/v1/cases/{}/timeline", second["id"]),
            &dispatcher,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(timeline[1]["data"]["duplicate_of"], first["number"]);
    assert_eq!(timeline[1]["data"]["reason"], "duplicate");
}

#[tokio::test]
async fn return_rework_escalate_extend_and_reopen() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("leader.haizhou1").await;
    let tianye_session = app.login("tianye", crate::helpers::PW).await;
    let tianye = tianye_session["access_token"].as_str().unwrap().to_owned();
    let tianye_id = tianye_session["account"]["id"].as_i64().unwrap();
    let case: Value = report(&app, Some(&zhang), None, &report_body())
        .await
        .json()
        .await
        .unwrap();
    let id = case["id"].as_i64().unwrap();
    let version = |c: &Value| c["version"].as_i64().unwrap();
    let mut v;
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "accept", "version": 1}),
    )
    .await;
    v = version(&c);
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "dispatch", "version": v, "assignee_id": tianye_id}),
    )
    .await;
    v = version(&c);
    // Someone else cannot sign for 田野.
    let gulou = app.token("officer.gulou").await;
    assert_problem(
        act(&app, &gulou, id, json!({"action": "sign", "version": v})).await,
        404,
        "case_not_found",
    )
    .await;
    // 退单: wrongly dispatched, back to the command centre (a note is required).
    assert_problem(
        act(&app, &tianye, id, json!({"action": "return", "version": v})).await,
        422,
        "note_required",
    )
    .await;
    let c = act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "return", "version": v, "note": "不属于城管职责，需转住建部门"}),
    )
    .await;
    assert_eq!(
        (c["status"].as_str(), c["assignee_id"].is_null()),
        (Some("accepted"), true)
    );
    v = version(&c);
    // 大事一网联动: escalated to another department, status unchanged.
    let c = act_ok(&app, &dispatcher, id, json!({"action": "escalate", "version": v, "escalate_to": "department", "department": "住建局"})).await;
    assert_eq!(c["status"], "accepted");
    v = version(&c);
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "dispatch", "version": v, "assignee_id": tianye_id}),
    )
    .await;
    v = version(&c);
    let c = act_ok(&app, &tianye, id, json!({"action": "sign", "version": v})).await;
    v = version(&c);
    // 延期: requested by the officer, approved by the leader, the deadline moves by 8 working hours.
    let due_before: chrono::DateTime<chrono::Utc> =
        c["stage_due"].as_str().unwrap().parse().unwrap();
    assert_problem(
        act(
            &app,
            &leader,
            id,
            json!({"action": "decide_extension", "version": v, "approve": true}),
        )
        .await,
        409,
        "no_pending_extension",
    )
    .await;
    let c = act_ok(&app, &tianye, id, json!({"action": "request_extension", "version": v, "extension_hours": 8, "note": "需协调物业拆除"})).await;
    v = version(&c);
    assert_problem(
        act(
            &app,
            &tianye,
            id,
            json!({"action": "decide_extension", "version": v, "approve": true}),
        )
        .await,
        403,
        "role_not_permitted",
    )
    .await;
    let c = act_ok(
        &app,
        &leader,
        id,
        json!({"action": "decide_extension", "version": v, "approve": true}),
    )
    .await;
    let due_after: chrono::DateTime<chrono::Utc> =
        c["stage_due"].as_str().unwrap().parse().unwrap();
    assert!(due_after > due_before, "{due_before} → {due_after}");
    v = version(&c);
    // 返工: verification fails, back to the officer.
    let c = act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "resolve", "version": v, "note": "已处理"}),
    )
    .await;
    v = version(&c);
    let c = act_ok(
        &app,
        &leader,
        id,
        json!({"action": "rework", "version": v, "note": "现场仍有喇叭"}),
    )
    .await;
    assert_eq!(c["status"], "in_progress");
    v = version(&c);
    let c = act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "resolve", "version": v, "note": "已没收喇叭"}),
    )
    .await;
    v = version(&c);
    let c = act_ok(&app, &leader, id, json!({"action": "verify", "version": v})).await;
    v = version(&c);
    let c = act_ok(&app, &leader, id, json!({"action": "close", "version": v})).await;
    v = version(&c);
    // The reporter is not satisfied and reopens within the window; only the reporter may.
    assert_problem(
        act(
            &app,
            &dispatcher,
            id,
            json!({"action": "reopen", "version": v}),
        )
        .await,
        403,
        "role_not_permitted",
    )
    .await;
    let c = act_ok(
        &app,
        &zhang,
        id,
        json!({"action": "reopen", "version": v, "note": "又开始了"}),
    )
    .await;
    assert_eq!(
        (c["status"].as_str(), c["closed_at"].is_null()),
        (Some("accepted"), true)
    );
    v = version(&c);
    // Comments from anyone who may see the case; the reporter's need a note.
    assert_problem(
        act(&app, &zhang, id, json!({"action": "comment", "version": v})).await,
        422,
        "note_required",
    )
    .await;
    act_ok(
        &app,
        &zhang,
        id,
        json!({"action": "comment", "version": v, "note": "谢谢"}),
    )
    .await;
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{id}/timeline"), &leader)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "report",
            "accept",
            "dispatch",
            "return",
            "escalate",
            "dispatch",
            "sign",
            "request_extension",
            "decide_extension",
            "resolve",
            "rework",
            "resolve",
            "verify",
            "close",
            "reopen",
            "comment"
        ]
    );
    assert_eq!(timeline[4]["data"]["department"], "住建局");
    assert_eq!(timeline[8]["data"]["approved"], true);
}

#[tokio::test]
async fn reopening_after_the_window_is_refused() {
    let app = TestApp::spawn_with(true, &[("WHISTLE__CASES__REOPEN_DAYS", "0")]).await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("leader.haizhou1").await;
    let t = app.login("tianye", crate::helpers::PW).await;
    let (tianye, tianye_id) = (
        t["access_token"].as_str().unwrap().to_owned(),
        t["account"]["id"].as_i64().unwrap(),
    );
    let id = report(&app, Some(&zhang), None, &report_body())
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "accept", "version": 1}),
    )
    .await;
    act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "dispatch", "version": 2, "assignee_id": tianye_id}),
    )
    .await;
    act_ok(&app, &tianye, id, json!({"action": "sign", "version": 3})).await;
    act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "resolve", "version": 4, "note": "ok"}),
    )
    .await;
    act_ok(&app, &leader, id, json!({"action": "verify", "version": 5})).await;
    act_ok(&app, &leader, id, json!({"action": "close", "version": 6})).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_problem(
        act(&app, &zhang, id, json!({"action": "reopen", "version": 7})).await,
        409,
        "reopen_window_passed",
    )
    .await;
}

#[tokio::test]
async fn the_first_reports_of_a_day_arriving_together_all_get_numbers() {
    // The day's counter row does not exist yet: every one of these intakes may try to create
    // it at once. Each must get its own number, none a 500 or a 409.
    let app = TestApp::spawn().await;
    let token = app.token(ZHANG).await;
    let sends = (0..8).map(|i| {
        let (app, token) = (&app, &token);
        async move {
            let key = format!("first-of-day-{i}");
            let res = report(app, Some(token), Some(&key), &report_body()).await;
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            assert_eq!(status, 201, "{body}");
            body["number"].as_str().unwrap().to_owned()
        }
    });
    let mut numbers = futures_util::future::join_all(sends).await;
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 8, "{numbers:?}");
}

#[tokio::test]
async fn a_case_is_found_by_its_number_as_residents_quote_it() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let res = report(&app, Some(&zhang), None, &report_body()).await;
    assert_eq!(res.status(), 201);
    let case: Value = res.json().await.unwrap();
    let number = case["number"].as_str().unwrap().to_owned();

    let found: Value = app
        .get_as(&format!("/api/v1/cases/{number}"), &zhang)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["id"], case["id"]);
    assert_eq!(found["number"], number.as_str());
    // The same rules as by id: another resident does not learn it exists.
    let neighbour = app.register_neighbour("13912340077").await;
    for token in [&neighbour] {
        assert_problem(
            app.get_as(&format!("/api/v1/cases/{number}"), token).await,
            404,
            "case_not_found",
        )
        .await;
    }
    for missing in ["HZ-20990101-000001", "not-a-number", "HZ-2026"] {
        assert_problem(
            app.get_as(&format!("/api/v1/cases/{missing}"), &zhang)
                .await,
            404,
            "case_not_found",
        )
        .await;
    }
}
