//! The address book: a report that only says where it is in words is routed like one with
//! coordinates; the picker; the admin import.

use serde_json::{Value, json};
use whistle_api::demo;

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

async fn places(app: &TestApp, query: &str) -> Vec<Value> {
    let res = app.get(&format!("/api/v1/places{query}")).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body.as_array().unwrap().clone()
}

async fn place_named(app: &TestApp, name: &str) -> Value {
    places(app, &format!("?q={name}"))
        .await
        .into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is in the demo's address book"))
}

/// How many cases the dispatcher (whose jurisdiction is the whole district) can see.
async fn case_count(app: &TestApp) -> usize {
    let dispatcher = app.token("dispatcher").await;
    let res = app.get_as("/api/v1/cases?limit=200", &dispatcher).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().len()
}

fn report(address: &str) -> Value {
    json!({
        "category": "noise",
        "description": "南门口广场舞音响声音太大，晚上十点以后还在放。",
        "address": address,
    })
}

#[tokio::test]
async fn the_picker_finds_places_by_part_of_their_name() {
    let app = TestApp::spawn().await;
    let found = places(&app, "?q=文昌社区南").await;
    assert_eq!(found[0]["name"], "文昌社区南门", "{found:?}");
    assert_eq!(found[0]["kind"], "landmark");
    // Spacing, punctuation and full-width forms do not matter.
    let found = places(&app, "?q=%EF%BC%88文昌 社区，南%EF%BC%89").await;
    assert_eq!(found[0]["name"], "文昌社区南门");
    let found = places(&app, "?q=文昌路１８号").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["name"], "文昌路18号");
    // One character is enough while typing; names starting with it come first.
    let found = places(&app, "?q=鼓").await;
    let names: Vec<&str> = found.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["鼓楼社区", "鼓楼农贸市场"]);

    let wenchang = &place_named(&app, "文昌社区").await;
    assert_eq!(wenchang["kind"], "community");
    let in_wenchang = places(&app, &format!("?community={}", wenchang["community_id"])).await;
    assert_eq!(in_wenchang.len(), 5, "{in_wenchang:?}");
    assert!(
        in_wenchang
            .iter()
            .all(|p| p["community_id"] == wenchang["community_id"])
    );
    let communities = places(&app, "?kind=community").await;
    assert_eq!(communities.len(), 6);
    assert_eq!(places(&app, "?q=月球").await.len(), 0);
    assert_eq!(places(&app, "?q=%E3%80%82%EF%BC%8C").await.len(), 0);
    assert_eq!(places(&app, "?limit=2").await.len(), 2);

    assert_problem(
        app.get("/api/v1/places?limit=0").await,
        422,
        "invalid_limit",
    )
    .await;
    assert_problem(
        app.get("/api/v1/places?kind=street").await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/places?q={}", "文".repeat(201)))
            .await,
        422,
        "invalid_query",
    )
    .await;
    let one = app
        .get_json(&format!("/api/v1/places/{}", wenchang["id"]))
        .await;
    assert_eq!(one["name"], "文昌社区");
    assert_problem(
        app.get("/api/v1/places/999999").await,
        404,
        "place_not_found",
    )
    .await;
    assert_problem(app.get("/api/v1/places/0").await, 404, "place_not_found").await;
}

#[tokio::test]
async fn a_report_with_an_address_only_is_routed_by_the_address_book() {
    let app = TestApp::spawn().await;
    let gate = place_named(&app, "文昌社区南门").await;

    // Anonymous, by phone, in words: "文昌社区 南门口" names the south gate.
    let res = app
        .post(
            "/api/v1/cases",
            &report("海州区文昌社区 南门口，广场那边"),
            None,
        )
        .await;
    let status = res.status();
    let case: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["place_id"], gate["id"]);
    assert_eq!(case["community"]["name"], "文昌社区");
    assert_eq!(case["grid"]["id"], gate["grid_id"]);
    assert_eq!(case["lat"], gate["lat"]);
    assert_eq!(case["lon"], gate["lon"]);
    // The reporter's words are kept as they were said.
    assert_eq!(case["address"], "海州区文昌社区 南门口，广场那边");
    assert_eq!(case["stage"], "accept");
    assert!(case["stage_due"].is_string());
    assert!(case["number"].as_str().unwrap().starts_with("HZ-"));
    // 田野 is stationed in 文昌社区: the suggestion follows the place.
    let tianye = app.login("tianye", crate::helpers::PW).await;
    assert_eq!(case["suggested_officer_id"], tianye["account"]["id"]);

    let dispatcher = app.token("dispatcher").await;
    let timeline: Value = app
        .get_as(
            &format!("/api/v1/cases/{}/timeline", case["id"]),
            &dispatcher,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(timeline[0]["data"]["place_id"], gate["id"]);
    assert_eq!(timeline[0]["data"]["crs"], Value::Null);

    // A 12345 dispatcher picks the place in the picker and sends its id.
    let market = place_named(&app, "鼓楼农贸市场").await;
    let res = app
        .post(
            "/api/v1/cases",
            &json!({
                "category": "noise",
                "description": "市场门口早上四点卸货，噪声很大。",
                "place_id": market["id"],
                "reporter_name": "王女士",
                "reporter_phone": "13900002222",
            }),
            Some(&dispatcher),
        )
        .await;
    let status = res.status();
    let hotline: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{hotline}");
    assert_eq!(hotline["source"], "hotline_12345");
    assert_eq!(hotline["community"]["name"], "鼓楼社区");
    assert_eq!(hotline["place_id"], market["id"]);
    assert_eq!(hotline["address"], Value::Null);
    // The caller is the reporter staff see, not the dispatcher who typed the call in.
    assert_eq!(hotline["reporter_name"], "王女士");
    assert_eq!(hotline["reporter_phone"], "13900002222");
    let again = app
        .get_as(&format!("/api/v1/cases/{}", hotline["id"]), &dispatcher)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(again["reporter_name"], "王女士");
    assert_eq!(again["reporter_phone"], "13900002222");

    // Coordinates win over the address: the address is only kept as words.
    let (lat, lon) = wenchang_south_gate();
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "喇叭叫卖", "lat": lat, "lon": lon,
                     "address": "鼓楼农贸市场"}),
            None,
        )
        .await;
    let with_point: Value = res.json().await.unwrap();
    assert_eq!(with_point["place_id"], Value::Null);
    assert_eq!(with_point["community"]["name"], "文昌社区");

    // A retried address-only report with the same key is the same case.
    let key = "retry-address-1";
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = app
            .client
            .post(app.url("/api/v1/cases"))
            .header("idempotency-key", key)
            .json(&report("文昌社区北门"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        ids.push(body["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(case_count(&app).await, 4);
}

#[tokio::test]
async fn an_address_the_book_cannot_place_is_a_clear_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let before = case_count(&app).await;

    let body = assert_problem(
        app.post("/api/v1/cases", &report("月球背面环形山"), None)
            .await,
        422,
        "address_not_located",
    )
    .await;
    assert_eq!(body["field"], "address");
    assert!(body["detail"].as_str().unwrap().contains("/api/v1/places"));

    // Two communities, equally specific: the address does not say which.
    let body = assert_problem(
        app.post(
            "/api/v1/cases",
            &report("文昌社区和鼓楼社区中间那条路"),
            None,
        )
        .await,
        422,
        "address_not_located",
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("文昌社区") && detail.contains("鼓楼社区"),
        "{detail}"
    );

    // Punctuation only, no location at all, half a point, an unknown place.
    assert_problem(
        app.post("/api/v1/cases", &report("。，！"), None).await,
        422,
        "address_not_located",
    )
    .await;
    let bare = json!({"category": "noise", "description": "太吵了"});
    assert_problem(
        app.post("/api/v1/cases", &bare, None).await,
        422,
        "location_required",
    )
    .await;
    let half = json!({"category": "noise", "description": "太吵了", "lat": 34.6,
                      "address": "文昌社区南门"});
    let body = assert_problem(
        app.post("/api/v1/cases", &half, None).await,
        422,
        "incomplete_coordinate",
    )
    .await;
    assert_eq!(body["field"], "lon");
    for id in [json!(999999), json!(0), json!(-3)] {
        let body = json!({"category": "noise", "description": "太吵了", "place_id": id});
        assert_problem(
            app.post("/api/v1/cases", &body, None).await,
            422,
            "unknown_place",
        )
        .await;
    }
    let wrong_type = json!({"category": "noise", "description": "太吵了", "place_id": "南门"});
    assert_eq!(
        app.post("/api/v1/cases", &wrong_type, None)
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(case_count(&app).await, before);
}

#[tokio::test]
async fn admins_import_and_retire_entries_and_a_batch_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let [x0, y0, x1, y1] = demo::community_rect(0, 0);
    let inside = |fx: f64, fy: f64| (y0 + (y1 - y0) * fy, x0 + (x1 - x0) * fx);
    let (lat, lon) = inside(0.2, 0.2);
    let batch = json!({"places": [
        {"name": "文昌社区3号楼", "kind": "building", "lat": lat, "lon": lon},
        {"name": "文昌路20号", "kind": "address", "lat": inside(0.8, 0.1).0, "lon": inside(0.8, 0.1).1},
    ]});

    // Only admins.
    for who in ["dispatcher", "tianye", "leader.haizhou1"] {
        let token = app.token(who).await;
        assert_problem(
            app.post("/api/v1/admin/places", &batch, Some(&token)).await,
            403,
            "role_not_permitted",
        )
        .await;
    }
    assert_eq!(
        app.post("/api/v1/admin/places", &batch, None)
            .await
            .status(),
        401
    );

    let res = app.post("/api/v1/admin/places", &batch, Some(&admin)).await;
    let status = res.status();
    let done: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["created"].as_u64(), done["updated"].as_u64()),
        (Some(2), Some(0))
    );
    let building = done["places"][0].clone();
    assert_eq!(building["kind"], "building");
    assert!(building["active"].as_bool().unwrap());

    // The same name again (spelt differently) moves the entry instead of adding a twin.
    let (lat2, lon2) = inside(0.25, 0.3);
    let again = json!({"places": [
        {"name": "文昌社区 3号楼", "kind": "building", "lat": lat2, "lon": lon2},
    ]});
    let done: Value = app
        .post("/api/v1/admin/places", &again, Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (done["created"].as_u64(), done["updated"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(done["places"][0]["id"], building["id"]);
    assert_eq!(done["places"][0]["lat"].as_f64().unwrap(), lat2);

    // A GCJ-02 point is converted to WGS-84 before it is stored.
    let (glat, glon) = whistle_domain::location::Coordinate::wgs84(lat, lon)
        .unwrap()
        .to_crs(whistle_domain::location::Crs::Gcj02);
    let gcj = json!({"places": [
        {"name": "文昌社区便民服务站", "kind": "landmark", "lat": glat, "lon": glon, "crs": "gcj02"},
    ]});
    let done: Value = app
        .post("/api/v1/admin/places", &gcj, Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!((done["places"][0]["lat"].as_f64().unwrap() - lat).abs() < 1e-5);

    // One bad entry rejects the batch: nothing of it is stored.
    let count = places(&app, "?limit=100").await.len();
    let bad_batches = [
        (
            json!({"places": [
                {"name": "文昌社区5号楼", "kind": "building", "lat": lat, "lon": lon},
                {"name": "连云港港口", "kind": "landmark", "lat": 34.75, "lon": 119.45},
            ]}),
            "outside_city",
            "places[1].lat",
        ),
        (
            json!({"places": [
                {"name": "文昌社区6号楼", "kind": "building", "lat": lat, "lon": lon},
                {"name": "文昌社区 6号楼", "kind": "building", "lat": lat, "lon": lon},
            ]}),
            "duplicate_place",
            "places[1].name",
        ),
        (
            json!({"places": [{"name": "。", "kind": "building", "lat": lat, "lon": lon}]}),
            "invalid_name",
            "places[0].name",
        ),
        (
            json!({"places": [{"name": "文昌社区7号楼", "kind": "street", "lat": lat, "lon": lon}]}),
            "invalid_kind",
            "places[0].kind",
        ),
        (
            json!({"places": [{"name": "文昌社区8号楼", "kind": "building", "lat": 91.0, "lon": lon}]}),
            "invalid_coordinate",
            "places[0].lat",
        ),
        (json!({"places": []}), "invalid_batch", "places"),
    ];
    for (batch, code, field) in bad_batches {
        let body = assert_problem(
            app.post("/api/v1/admin/places", &batch, Some(&admin)).await,
            422,
            code,
        )
        .await;
        assert_eq!(body["field"], field, "{body}");
    }
    assert_eq!(places(&app, "?limit=100").await.len(), count);

    // Retired: no longer found or used for new reports, still readable for the cases it placed.
    let placed: Value = app
        .post("/api/v1/cases", &report("文昌社区3号楼楼下"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(placed["place_id"], building["id"]);
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/admin/places/{}", building["id"])))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let retired = app
        .get_json(&format!("/api/v1/places/{}", building["id"]))
        .await;
    assert_eq!(retired["active"], false);
    assert!(
        places(&app, "?q=3号楼")
            .await
            .iter()
            .all(|p| p["id"] != building["id"])
    );
    // The address now falls back to the community it names.
    let fallback: Value = app
        .post("/api/v1/cases", &report("文昌社区3号楼楼下"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        fallback["place_id"],
        place_named(&app, "文昌社区").await["id"]
    );
    let body = json!({"category": "noise", "description": "太吵了", "place_id": building["id"]});
    assert_problem(
        app.post("/api/v1/cases", &body, None).await,
        422,
        "unknown_place",
    )
    .await;
    let res = app
        .client
        .delete(app.url("/api/v1/admin/places/999999"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn an_overlong_name_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let [x0, y0, x1, y1] = demo::community_rect(0, 0);
    let body = json!({"places": [{"name": "文".repeat(41), "kind": "address",
        "lat": (y0 + y1) / 2.0 + 0.0001, "lon": (x0 + x1) / 2.0 - 0.0001}]});
    let problem = assert_problem(
        app.post("/api/v1/admin/places", &body, Some(&admin)).await,
        422,
        "invalid_name",
    )
    .await;
    assert_eq!(problem["field"], "places[0].name");
}
