//! Officers' work records (线上工作记录) and the 721 mix, over HTTP.

use std::collections::HashSet;

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use whistle_api::demo;
use whistle_domain::location::{Coordinate, Crs};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

/// Ids of the demo places and accounts a test needs.
struct Demo {
    wenchang: i64,
    gulou: i64,
    jianshe: i64,
    tianye_id: i64,
    tianye: String,
}

async fn demo_ids(app: &TestApp) -> Demo {
    let page = app.get_json("/api/v1/communities?limit=200").await;
    let id_of = |name: &str| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("community {name}"))["id"]
            .as_i64()
            .unwrap()
    };
    let session = app.login("tianye", crate::helpers::PW).await;
    Demo {
        wenchang: id_of("文昌社区"),
        gulou: id_of("鼓楼社区"),
        jianshe: id_of("建设社区"),
        tianye_id: session["account"]["id"].as_i64().unwrap(),
        tianye: session["access_token"].as_str().unwrap().to_owned(),
    }
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A valid entry: a home visit in 文昌社区 that ended an hour ago and lasted 90 minutes.
fn entry(community: i64) -> Value {
    let end = Utc::now() - Duration::hours(1);
    json!({
        "activity": "home_visit",
        "started_at": rfc3339(end - Duration::minutes(90)),
        "ended_at": rfc3339(end),
        "community_id": community,
        "notes": "走访独居老人",
    })
}

fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn log_ok(app: &TestApp, token: &str, body: &Value) -> Value {
    let res = app.post("/api/v1/work-logs", body, Some(token)).await;
    let status = res.status();
    let json: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body} → {json}");
    json
}

async fn report_case(app: &TestApp, token: &str, lat: f64, lon: f64) -> i64 {
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "南门喇叭", "lat": lat, "lon": lon}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// A point inside the community at `row`, `col` of the demo city, away from grid edges.
fn inside(row: usize, col: usize) -> (f64, f64) {
    let [min_lon, min_lat, ..] = demo::community_rect(row, col);
    (min_lat + 0.001, min_lon + 0.001)
}

#[tokio::test]
async fn an_officer_logs_work_and_the_class_defaults_from_the_activity() {
    let app = TestApp::spawn().await;
    let d = demo_ids(&app).await;
    let zhang = app.token("13800001234").await;
    let leader = app.token("leader.haizhou1").await;
    let li = app.login("officer.gulou", crate::helpers::PW).await;
    let li_id = li["account"]["id"].as_i64().unwrap();
    let li_token = li["access_token"].as_str().unwrap().to_owned();
    let (lat, lon) = wenchang_south_gate();
    let case_id = report_case(&app, &zhang, lat, lon).await;

    // A home visit is service by default; where 田野's phone (Amap, GCJ-02) put him is routed to
    // its grid; participants, the case and a merchant are linked.
    let (glat, glon) = Coordinate::wgs84(lat, lon).unwrap().to_crs(Crs::Gcj02);
    let body = with(
        entry(d.wenchang),
        json!({
            "lat": glat, "lon": glon, "crs": "gcj02",
            "participants": ["物业王经理", "物业王经理", "楼长刘阿姨"],
            "participant_ids": [li_id],
            "case_ids": [case_id, case_id],
            // The demo's shop at the south gate, given twice.
            "merchant_ids": [1, 1],
        }),
    );
    let visit = log_ok(&app, &d.tianye, &body).await;
    assert_eq!(visit["officer_id"], d.tianye_id);
    assert_eq!(visit["activity"], "home_visit");
    assert_eq!(visit["class"], "service");
    assert_eq!(visit["default_class"], "service");
    assert_eq!(visit["class_overridden"], false);
    assert_eq!(visit["minutes"], 90);
    assert_eq!(visit["community_id"], d.wenchang);
    assert!(visit["grid_id"].is_i64(), "the grid comes from the point");
    assert!(
        (visit["lat"].as_f64().unwrap() - lat).abs() < 1e-5,
        "stored in WGS-84"
    );
    assert_eq!(visit["participants"], json!(["物业王经理", "楼长刘阿姨"]));
    assert_eq!(visit["participant_ids"], json!([li_id]));
    assert_eq!(visit["case_ids"], json!([case_id]));
    assert_eq!(visit["merchant_ids"], json!([1]));
    assert_eq!(visit["photos"], json!([]));

    // A patrol is management unless he says otherwise; saying so is recorded as an override.
    let patrol = with(entry(d.wenchang), json!({"activity": "patrol"}));
    let p = log_ok(&app, &d.tianye, &patrol).await;
    assert_eq!(
        (p["class"].as_str(), p["class_overridden"].as_bool()),
        (Some("management"), Some(false))
    );
    let p = log_ok(&app, &d.tianye, &with(patrol, json!({"class": "service"}))).await;
    assert_eq!(
        (p["class"].as_str(), p["class_overridden"].as_bool()),
        (Some("service"), Some(true))
    );
    assert_eq!(p["default_class"], "management");
    // Naming the default class explicitly is not an override.
    let e = log_ok(
        &app,
        &d.tianye,
        &with(
            entry(d.wenchang),
            json!({"activity": "enforcement", "class": "enforcement"}),
        ),
    )
    .await;
    assert_eq!(
        (e["class"].as_str(), e["class_overridden"].as_bool()),
        (Some("enforcement"), Some(false))
    );
    // A leader records work anywhere in the jurisdiction, e.g. a joint action in 鼓楼社区.
    let joint = log_ok(
        &app,
        &leader,
        &with(entry(d.gulou), json!({"activity": "joint_action"})),
    )
    .await;
    assert_eq!(joint["class"], "management");

    // Reading one entry: the author and his leader see it; another community's officer does not
    // learn that it exists; residents may not read work logs at all.
    let path = format!("/api/v1/work-logs/{}", visit["id"]);
    let mine: Value = app.get_as(&path, &d.tianye).await.json().await.unwrap();
    assert_eq!(mine, visit);
    assert_eq!(app.get_as(&path, &leader).await.status(), 200);
    assert_problem(
        app.get_as(&path, &li_token).await,
        404,
        "work_log_not_found",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/work-logs/999999", &d.tianye).await,
        404,
        "work_log_not_found",
    )
    .await;
    assert_problem(app.get_as(&path, &zhang).await, 403, "role_not_permitted").await;
    assert_problem(app.get(&path).await, 401, "unauthenticated").await;
}

/// The 721 mix over the demo entries of 田野, counted by hand from `demo::WORK_LOGS`:
/// service 120 + 90 + 60 + 45 + 45 (the patrol he classed as service) = 360 minutes in 5
/// entries, management 90 + 60 = 150 in 2, enforcement 30 in 1; 540 minutes, 8 entries.
#[tokio::test]
async fn the_721_mix_of_tianye_over_the_demo_logs() {
    let app = TestApp::spawn().await;
    let d = demo_ids(&app).await;
    let leader = app.token("leader.haizhou1").await;
    let li = app.token("officer.gulou").await;

    let mix = app
        .get_as("/api/v1/work-logs/mix?officer=me", &d.tianye)
        .await;
    assert_eq!(mix.status(), 200);
    let mix: Value = mix.json().await.unwrap();
    assert_eq!(mix["officer_id"], d.tianye_id);
    assert_eq!(mix["total_count"], 8);
    assert_eq!(mix["total_minutes"], 540);
    let expected = [
        ("service", 5, 360, 0.7),
        ("management", 2, 150, 0.2),
        ("enforcement", 1, 30, 0.1),
    ];
    let close = |v: &Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-4;
    let mut distance = 0.0;
    for (i, (class, count, minutes, target)) in expected.into_iter().enumerate() {
        let c = &mix["classes"][i];
        assert_eq!(c["class"], class);
        assert_eq!(c["count"], count);
        assert_eq!(c["minutes"], minutes);
        let share = minutes as f64 / 540.0;
        assert!(close(&c["share_by_minutes"], share), "{c}");
        assert!(close(&c["share_by_count"], count as f64 / 8.0), "{c}");
        assert!(close(&c["target_share"], target), "{c}");
        assert!(close(&c["deviation"], share - target), "{c}");
        distance += (share - target).abs() / 2.0;
    }
    // 2/3 − 0.7, 5/18 − 0.2, 1/18 − 0.1 → (1/30 + 7/90 + 2/45) / 2 = 7/90.
    assert!(close(&mix["distance_from_target"], 7.0 / 90.0));
    assert!(close(&mix["distance_from_target"], distance));

    // His leader sees the same mix for him, and for 文昌社区 (only 田野 logs work there).
    let for_him = app
        .get_as(
            &format!("/api/v1/work-logs/mix?officer={}", d.tianye_id),
            &leader,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(for_him["classes"], mix["classes"]);
    let community = app
        .get_as(
            &format!("/api/v1/work-logs/mix?community={}", d.wenchang),
            &leader,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(community["classes"], mix["classes"]);
    assert_eq!(community["community_id"], d.wenchang);

    // A period with no work has no shares, which is not a mix of zero.
    let long_ago = rfc3339(Utc::now() - Duration::days(300));
    let older = rfc3339(Utc::now() - Duration::days(301));
    let empty: Value = app
        .get_as(
            &format!("/api/v1/work-logs/mix?officer=me&from={older}&to={long_ago}"),
            &d.tianye,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["total_count"], 0);
    assert!(empty["classes"][0]["share_by_minutes"].is_null());
    assert!(empty["distance_from_target"].is_null());

    // Officers ask only about themselves; leaders only inside their jurisdiction.
    assert_problem(
        app.get_as(
            &format!("/api/v1/work-logs/mix?officer={}", d.tianye_id),
            &li,
        )
        .await,
        403,
        "not_owner",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/work-logs/mix?community={}", d.wenchang),
            &d.tianye,
        )
        .await,
        403,
        "not_owner",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/work-logs/mix?community={}", d.jianshe),
            &leader,
        )
        .await,
        403,
        "outside_jurisdiction",
    )
    .await;
    let zhang = app.token("13800001234").await;
    assert_problem(
        app.get_as("/api/v1/work-logs/mix", &zhang).await,
        403,
        "role_not_permitted",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/work-logs/mix?officer=abc", &leader)
            .await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/work-logs/mix?officer=999999", &leader)
            .await,
        422,
        "unknown_officer",
    )
    .await;
}

#[tokio::test]
async fn lists_by_officer_community_and_period_page_without_gaps() {
    let app = TestApp::spawn().await;
    let d = demo_ids(&app).await;
    let leader = app.token("leader.haizhou1").await;
    let li = app.token("officer.gulou").await;

    // 田野's eight demo entries in pages of three, newest first, each once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/work-logs?limit=3&cursor={c}"),
            None => "/api/v1/work-logs?limit=3".to_owned(),
        };
        let page: Value = app.get_as(&path, &d.tianye).await.json().await.unwrap();
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["officer_id"], d.tianye_id);
            seen.push((
                item["started_at"].as_str().unwrap().to_owned(),
                item["id"].as_i64().unwrap(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8);
    assert_eq!(seen.iter().map(|s| s.1).collect::<HashSet<_>>().len(), 8);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");

    // Period, activity and class filters.
    let count = |v: Value| v["items"].as_array().unwrap().len();
    let from = rfc3339(Utc::now() - Duration::days(10));
    let recent = app
        .get_as(&format!("/api/v1/work-logs?from={from}"), &d.tianye)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(count(recent), 4, "9, 6, 4 and 2 days ago");
    let to = rfc3339(Utc::now() - Duration::days(10));
    let older = app
        .get_as(&format!("/api/v1/work-logs?to={to}"), &d.tianye)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(count(older), 4);
    let patrols = app
        .get_as("/api/v1/work-logs?activity=patrol", &d.tianye)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(count(patrols), 2);
    let service = app
        .get_as("/api/v1/work-logs?class=service", &d.tianye)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(count(service), 5);

    // The leader sees 田野's work by officer and by community, and his own entry in 鼓楼社区;
    // 李晨 sees only his own (none); asking for 文昌社区's work is not his to ask.
    let leader_id = app.login("leader.haizhou1", crate::helpers::PW).await["account"]["id"]
        .as_i64()
        .unwrap();
    log_ok(
        &app,
        &leader,
        &with(entry(d.gulou), json!({"activity": "patrol"})),
    )
    .await;
    let by_officer = app
        .get_as(
            &format!("/api/v1/work-logs?officer={}&limit=50", d.tianye_id),
            &leader,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(count(by_officer), 8);
    let by_community = app
        .get_as(
            &format!("/api/v1/work-logs?community={}", d.wenchang),
            &leader,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(count(by_community), 8);
    let everything: Value = app
        .get_as("/api/v1/work-logs", &leader)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count(everything.clone()), 9);
    assert_eq!(
        everything["items"][0]["officer_id"], leader_id,
        "newest first"
    );
    let own_in_gulou = app
        .get_as(
            &format!("/api/v1/work-logs?officer=me&community={}", d.gulou),
            &leader,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(count(own_in_gulou), 1);
    let lis: Value = app
        .get_as("/api/v1/work-logs", &li)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count(lis), 0);
    assert_problem(
        app.get_as(&format!("/api/v1/work-logs?community={}", d.wenchang), &li)
            .await,
        403,
        "not_owner",
    )
    .await;
    assert_problem(
        app.get_as(&format!("/api/v1/work-logs?officer={}", d.tianye_id), &li)
            .await,
        403,
        "not_owner",
    )
    .await;
    let partner = app.token("wenchang.wuye").await;
    assert_problem(
        app.get_as("/api/v1/work-logs", &partner).await,
        403,
        "role_not_permitted",
    )
    .await;

    // Bad cursors, filters and periods.
    for bad in ["42", "w1_x", "i5"] {
        assert_problem(
            app.get_as(&format!("/api/v1/work-logs?cursor={bad}"), &d.tianye)
                .await,
            400,
            "invalid_cursor",
        )
        .await;
    }
    let now = Utc::now();
    let (a, b) = (
        rfc3339(now - Duration::days(1)),
        rfc3339(now - Duration::days(2)),
    );
    assert_problem(
        app.get_as(&format!("/api/v1/work-logs?from={a}&to={b}"), &d.tianye)
            .await,
        422,
        "invalid_period",
    )
    .await;
    let long_ago = rfc3339(now - Duration::days(400));
    assert_problem(
        app.get_as(&format!("/api/v1/work-logs?from={long_ago}"), &d.tianye)
            .await,
        422,
        "period_too_long",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/work-logs?from=yesterday", &d.tianye)
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/work-logs?activity=sightseeing", &d.tianye)
            .await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/work-logs?limit=0", &d.tianye).await,
        422,
        "invalid_limit",
    )
    .await;
}

async fn upload(app: &TestApp, token: &str, log: i64, bytes: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/work-logs/{log}/photos")))
        .bearer_auth(token)
        .multipart(Form::new().part("file", Part::bytes(bytes).file_name("work.jpg")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn photos_upload_download_and_strangers_get_404() {
    let app = TestApp::spawn().await;
    let d = demo_ids(&app).await;
    let leader = app.token("leader.haizhou1").await;
    let li = app.token("officer.gulou").await;
    let log = log_ok(&app, &d.tianye, &entry(d.wenchang)).await;
    let id = log["id"].as_i64().unwrap();

    let res = upload(&app, &d.tianye, id, crate::attachments::photo_with_exif()).await;
    assert_eq!(res.status(), 201);
    let photo: Value = res.json().await.unwrap();
    assert_eq!(photo["mime"], "image/jpeg");
    let url = photo["url"].as_str().unwrap().to_owned();
    assert_eq!(
        url,
        format!("/api/v1/work-logs/{id}/photos/{}", photo["id"])
    );

    // The author and his leader download it, without its EXIF position; the entry lists it.
    let res = app.get_as(&url, &d.tianye).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let bytes = res.bytes().await.unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"GPSLatitude"));
    assert_eq!(app.get_as(&url, &leader).await.status(), 200);
    let again: Value = app
        .get_as(&format!("/api/v1/work-logs/{id}"), &d.tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["photos"][0]["url"], url);

    // Strangers learn nothing; only the author adds photos; photo ids belong to their entry.
    assert_problem(app.get_as(&url, &li).await, 404, "work_log_not_found").await;
    let zhang = app.token("13800001234").await;
    assert_problem(app.get_as(&url, &zhang).await, 403, "role_not_permitted").await;
    assert_problem(
        upload(&app, &li, id, crate::attachments::photo_with_exif()).await,
        404,
        "work_log_not_found",
    )
    .await;
    assert_problem(
        upload(&app, &leader, id, crate::attachments::photo_with_exif()).await,
        403,
        "not_author",
    )
    .await;
    let other = log_ok(&app, &d.tianye, &entry(d.wenchang)).await["id"]
        .as_i64()
        .unwrap();
    assert_problem(
        app.get_as(
            &format!("/api/v1/work-logs/{other}/photos/{}", photo["id"]),
            &d.tianye,
        )
        .await,
        404,
        "photo_not_found",
    )
    .await;
    assert_problem(
        upload(&app, &d.tianye, id, b"just some text, not a photo".to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;

    // At most twenty photos an entry.
    for _ in 1..20 {
        assert_eq!(
            upload(&app, &d.tianye, id, crate::attachments::photo_with_exif())
                .await
                .status(),
            201
        );
    }
    assert_problem(
        upload(&app, &d.tianye, id, crate::attachments::photo_with_exif()).await,
        409,
        "too_many_photos",
    )
    .await;
}

#[tokio::test]
async fn bad_entries_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let d = demo_ids(&app).await;
    let zhang = app.token("13800001234").await;
    let zhang_id = app.login("13800001234", crate::helpers::PW).await["account"]["id"]
        .as_i64()
        .unwrap();
    let now = Utc::now();
    let at = |hours_ago: i64| rfc3339(now - Duration::hours(hours_ago));
    let grids: Value = app
        .get_json(&format!("/api/v1/grids?community_id={}", d.gulou))
        .await;
    let gulou_grid = grids[0]["id"].as_i64().unwrap();
    // A case in 建设社区: 田野 cannot see it.
    let (jlat, jlon) = inside(1, 0);
    let elsewhere_case = report_case(&app, &zhang, jlat, jlon).await;
    let (glat, glon) = inside(0, 1);

    let post = |body: Value, token: String| {
        let app = &app;
        async move { app.post("/api/v1/work-logs", &body, Some(&token)).await }
    };
    let base = entry(d.wenchang);
    let t = || d.tianye.clone();
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            with(
                base.clone(),
                json!({"started_at": at(1), "ended_at": at(2)}),
            ),
            422,
            "invalid_span",
            Some("ended_at"),
        ),
        (
            with(
                base.clone(),
                json!({"started_at": at(2), "ended_at": at(2)}),
            ),
            422,
            "invalid_span",
            Some("ended_at"),
        ),
        (
            with(
                base.clone(),
                json!({"started_at": at(30), "ended_at": at(2)}),
            ),
            422,
            "span_too_long",
            Some("ended_at"),
        ),
        (
            with(
                base.clone(),
                json!({"started_at": at(1), "ended_at": rfc3339(now + Duration::hours(1))}),
            ),
            422,
            "span_in_future",
            Some("ended_at"),
        ),
        (
            with(base.clone(), json!({"started_at": "yesterday morning"})),
            422,
            "invalid_value",
            Some("started_at"),
        ),
        (
            with(base.clone(), json!({"activity": "sightseeing"})),
            422,
            "invalid_value",
            Some("activity"),
        ),
        (
            with(base.clone(), json!({"class": "leisure"})),
            422,
            "invalid_value",
            Some("class"),
        ),
        (
            with(base.clone(), json!({"grid_id": gulou_grid})),
            422,
            "grid_not_in_community",
            Some("grid_id"),
        ),
        (
            with(base.clone(), json!({"grid_id": 999999})),
            422,
            "unknown_grid",
            Some("grid_id"),
        ),
        (
            with(base.clone(), json!({"lat": glat, "lon": glon})),
            422,
            "point_outside_community",
            Some("lat"),
        ),
        (
            with(base.clone(), json!({"lat": 39.9, "lon": 116.4})),
            422,
            "point_outside_community",
            Some("lat"),
        ),
        (
            with(base.clone(), json!({"lat": 34.58})),
            422,
            "invalid_value",
            Some("lon"),
        ),
        (
            with(base.clone(), json!({"lat": 95.0, "lon": 119.1})),
            422,
            "invalid_coordinate",
            Some("lat"),
        ),
        (
            with(
                base.clone(),
                json!({"crs": "mars", "lat": 34.58, "lon": 119.14}),
            ),
            422,
            "invalid_value",
            Some("crs"),
        ),
        (
            with(base.clone(), json!({"case_ids": [999999]})),
            422,
            "unknown_case",
            Some("case_ids"),
        ),
        (
            with(base.clone(), json!({"case_ids": [elsewhere_case]})),
            422,
            "unknown_case",
            Some("case_ids"),
        ),
        (
            with(base.clone(), json!({"merchant_ids": [0]})),
            422,
            "invalid_value",
            Some("merchant_ids"),
        ),
        (
            with(base.clone(), json!({"merchant_ids": [424242]})),
            422,
            "unknown_merchant",
            Some("merchant_ids"),
        ),
        (
            with(base.clone(), json!({"participant_ids": [zhang_id]})),
            422,
            "unknown_participant",
            Some("participant_ids"),
        ),
        (
            with(base.clone(), json!({"participants": [""]})),
            422,
            "invalid_value",
            Some("participants"),
        ),
        (
            with(base.clone(), json!({"notes": "记".repeat(5001)})),
            422,
            "invalid_value",
            Some("notes"),
        ),
        (
            with(base.clone(), json!({"community_id": 999999})),
            422,
            "unknown_community",
            Some("community"),
        ),
        (
            json!({"activity": "patrol", "community_id": d.wenchang}),
            422,
            "invalid_body",
            None,
        ),
        (
            with(base.clone(), json!({"community_id": d.gulou})),
            403,
            "outside_jurisdiction",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let problem = assert_problem(post(body.clone(), t()).await, status, code).await;
        if let Some(f) = field {
            assert_eq!(problem["field"], f, "{body}");
        }
    }
    // Residents, partners and the command centre do not log work.
    for who in ["13800001234", "wenchang.wuye", "dispatcher"] {
        let token = app.token(who).await;
        assert_problem(post(base.clone(), token).await, 403, "role_not_permitted").await;
    }

    // None of it was stored: 田野 still has his eight demo entries.
    let page: Value = app
        .get_as("/api/v1/work-logs?limit=50", &d.tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 8);
}
