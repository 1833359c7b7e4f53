//! The command centre's and the leaders' work lists: undecided extension requests, escalated
//! cases, reports that stand at an address until someone places them on the map; merging a
//! duplicate; the officers a stationing or a dispatch can name.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

const ZHANG: &str = "13800001234";

async fn report_at(app: &TestApp, token: &str, lat: f64, lon: f64) -> Value {
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "夜间施工噪声扰民。", "lat": lat, "lon": lon}),
            Some(token),
        )
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn act_ok(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let res = app
        .post(&format!("/api/v1/cases/{id}/actions"), &body, Some(token))
        .await;
    let status = res.status();
    let json: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body} → {json}");
    json
}

/// The case numbers of a list.
async fn numbers(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let res = app
        .get_as(&format!("/api/v1/cases?limit=200&{query}"), token)
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_owned())
        .collect()
}

fn version(c: &Value) -> i64 {
    c["version"].as_i64().unwrap()
}

#[tokio::test]
async fn extension_requests_and_escalations_wait_in_their_lists_until_handled() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("leader.haizhou1").await;
    let tianye = app.login("tianye", crate::helpers::PW).await;
    let tianye_id = tianye["account"]["id"].as_i64().unwrap();
    let tianye = tianye["access_token"].as_str().unwrap().to_owned();
    let (lat, lon) = wenchang_south_gate();
    let asked = report_at(&app, &zhang, lat, lon).await;
    let quiet = report_at(&app, &zhang, lat, lon).await;
    let number = asked["number"].as_str().unwrap().to_owned();
    let id = asked["id"].as_i64().unwrap();

    assert!(
        numbers(&app, &leader, "attention=extension_request")
            .await
            .is_empty()
    );
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "accept", "version": 1}),
    )
    .await;
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "dispatch", "version": version(&c), "assignee_id": tianye_id}),
    )
    .await;
    let c = act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "sign", "version": version(&c)}),
    )
    .await;
    let c = act_ok(&app, &tianye, id, json!({"action": "request_extension", "version": version(&c), "extension_hours": 4, "note": "需协调物业"})).await;
    // The leader over 文昌社区 and the command centre see it waiting; the other report does not.
    assert_eq!(
        numbers(&app, &leader, "attention=extension_request").await,
        [number.as_str()]
    );
    assert_eq!(
        numbers(&app, &dispatcher, "attention=extension_request").await,
        [number.as_str()]
    );
    // Other filters combine with it.
    assert!(
        numbers(&app, &leader, "attention=extension_request&status=accepted")
            .await
            .is_empty()
    );
    let c = act_ok(
        &app,
        &leader,
        id,
        json!({"action": "decide_extension", "version": version(&c), "approve": false}),
    )
    .await;
    assert!(
        numbers(&app, &leader, "attention=extension_request")
            .await
            .is_empty()
    );
    // Asked again after a refusal: waiting again.
    let c = act_ok(&app, &tianye, id, json!({"action": "request_extension", "version": version(&c), "extension_hours": 2, "note": "物业下周才能到场"})).await;
    assert_eq!(
        numbers(&app, &leader, "attention=extension_request").await,
        [number.as_str()]
    );

    // 督办: escalated cases stay on the list while they are open.
    assert!(
        numbers(&app, &dispatcher, "attention=escalated")
            .await
            .is_empty()
    );
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "escalate", "version": version(&c), "escalate_to": "leader"}),
    )
    .await;
    assert_eq!(c["status"], "in_progress");
    assert_eq!(
        numbers(&app, &dispatcher, "attention=escalated").await,
        [number.as_str()]
    );
    let c = act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "resolve", "version": version(&c), "note": "已协调停工"}),
    )
    .await;
    let c = act_ok(
        &app,
        &leader,
        id,
        json!({"action": "verify", "version": version(&c)}),
    )
    .await;
    act_ok(
        &app,
        &leader,
        id,
        json!({"action": "close", "version": version(&c)}),
    )
    .await;
    assert!(
        numbers(&app, &dispatcher, "attention=escalated")
            .await
            .is_empty()
    );
    assert!(
        numbers(&app, &leader, "attention=extension_request")
            .await
            .is_empty()
    );
    // The quiet report was on no list at any point, and it is still open.
    assert!(
        !numbers(&app, &dispatcher, "attention=escalated")
            .await
            .contains(&quiet["number"].as_str().unwrap().to_owned())
    );

    let res = app
        .get_as("/api/v1/cases?attention=urgent", &dispatcher)
        .await;
    let body = assert_problem(res, 422, "invalid_value").await;
    assert_eq!(body["field"], "attention");
}

#[tokio::test]
async fn a_report_placed_by_its_address_is_put_on_the_map_by_the_command_centre() {
    let app = TestApp::spawn().await.checking_schemas().await;
    let dispatcher = app.token("dispatcher").await;
    let leader = app.token("leader.haizhou1").await;
    let tianye = app.token("tianye").await;
    // A 12345 call names the market; the case stands at the address book's point for it.
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "市场门口凌晨卸货，噪声很大。",
                    "address": "鼓楼农贸市场", "reporter_name": "王女士", "reporter_phone": "13900002222"}),
            Some(&dispatcher),
        )
        .await;
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["community"]["name"], "鼓楼社区", "{case}");
    assert!(case["place_id"].is_i64());
    let id = case["id"].as_i64().unwrap();
    let number = case["number"].as_str().unwrap().to_owned();
    assert_eq!(
        numbers(&app, &dispatcher, "attention=placed_by_address").await,
        [number.as_str()]
    );
    assert_eq!(
        numbers(&app, &leader, "attention=placed_by_address").await,
        [number.as_str()]
    );
    let path = format!("/api/v1/cases/{id}/location");
    let (lat, lon) = wenchang_south_gate();

    // An officer may see cases of his community but not move them; 田野 cannot even see this one.
    assert_problem(
        app.put(
            &path,
            &json!({"lat": lat, "lon": lon, "version": 1}),
            &tianye,
        )
        .await,
        404,
        "case_not_found",
    )
    .await;
    // The version is required, and a stale one changes nothing.
    assert_problem(
        app.put(&path, &json!({"lat": lat, "lon": lon}), &dispatcher)
            .await,
        422,
        "version_required",
    )
    .await;
    assert_problem(
        app.put(
            &path,
            &json!({"lat": lat, "lon": lon, "version": 7}),
            &dispatcher,
        )
        .await,
        409,
        "version_conflict",
    )
    .await;
    // Off the map and outside the city are refused at the field.
    let body = assert_problem(
        app.put(
            &path,
            &json!({"lat": 95.0, "lon": lon, "version": 1}),
            &dispatcher,
        )
        .await,
        422,
        "invalid_coordinate",
    )
    .await;
    assert_eq!(body["field"], "lat");
    assert_problem(
        app.put(
            &path,
            &json!({"lat": 31.2, "lon": 121.5, "version": 1}),
            &dispatcher,
        )
        .await,
        422,
        "outside_city",
    )
    .await;
    // The leader of 海州街道 may not carry it into 新海街道's 建设社区.
    let [min_lon, min_lat, max_lon, max_lat] = whistle_api::demo::community_rect(1, 0);
    let xinhai = ((min_lat + max_lat) / 2.0, (min_lon + max_lon) / 2.0 - 0.001);
    assert_problem(
        app.put(
            &path,
            &json!({"lat": xinhai.0, "lon": xinhai.1, "version": 1}),
            &leader,
        )
        .await,
        403,
        "outside_jurisdiction",
    )
    .await;
    let again: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["version"], 1);
    assert_eq!(again["community"]["name"], "鼓楼社区");

    // The dispatcher clicks the spot: the case is routed again, to 文昌社区.
    let res = app
        .put(
            &path,
            &json!({"lat": lat, "lon": lon, "version": 1}),
            &dispatcher,
        )
        .await;
    assert_eq!(res.headers()["etag"], "\"2\"");
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["community"]["name"], "文昌社区", "{moved}");
    assert_eq!(moved["place_id"], Value::Null);
    assert_eq!(moved["status"], "reported");
    assert_eq!(moved["stage_due"], case["stage_due"]);
    assert!((moved["lat"].as_f64().unwrap() - lat).abs() < 1e-9);
    assert!(
        numbers(&app, &dispatcher, "attention=placed_by_address")
            .await
            .is_empty()
    );
    // 田野 of 文昌社区 now sees it; the timeline says where it was.
    assert_eq!(
        app.get_as(&format!("/api/v1/cases/{id}"), &tianye)
            .await
            .status(),
        200
    );
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{id}/timeline"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    let last = timeline.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "locate");
    assert_eq!(last["to_status"], "reported");
    assert_eq!(last["data"]["to_community"], moved["community"]["id"]);
    assert_eq!(last["data"]["from_community"], case["community"]["id"]);
    assert_eq!(last["data"]["place_id"], case["place_id"]);

    // Dispatched to 田野, it may still move within 文昌社区 but not out of it.
    let t = app.login("tianye", crate::helpers::PW).await;
    let tianye_id = t["account"]["id"].as_i64().unwrap();
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "accept", "version": 2}),
    )
    .await;
    let c = act_ok(
        &app,
        &dispatcher,
        id,
        json!({"action": "dispatch", "version": version(&c), "assignee_id": tianye_id}),
    )
    .await;
    let v = version(&c);
    let [min_lon, min_lat, max_lon, max_lat] = whistle_api::demo::community_rect(0, 1);
    let gulou = ((min_lat + max_lat) / 2.0, (min_lon + max_lon) / 2.0 - 0.001);
    assert_problem(
        app.put(
            &path,
            &json!({"lat": gulou.0, "lon": gulou.1, "version": v}),
            &dispatcher,
        )
        .await,
        409,
        "assignee_outside_new_area",
    )
    .await;
    let nudged: Value = app
        .put(
            &path,
            &json!({"lat": lat + 0.0002, "lon": lon, "version": v}),
            &leader,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(nudged["community"]["name"], "文昌社区", "{nudged}");
    assert_eq!(nudged["assignee_id"], tianye_id);

    // Once finished, the place is history.
    let c = act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "sign", "version": version(&nudged)}),
    )
    .await;
    let c = act_ok(
        &app,
        &tianye,
        id,
        json!({"action": "resolve", "version": version(&c), "note": "已约谈市场管理方"}),
    )
    .await;
    let c = act_ok(
        &app,
        &leader,
        id,
        json!({"action": "verify", "version": version(&c)}),
    )
    .await;
    let c = act_ok(
        &app,
        &leader,
        id,
        json!({"action": "close", "version": version(&c)}),
    )
    .await;
    assert_eq!(c["status"], "closed");
    assert_problem(
        app.put(
            &path,
            &json!({"lat": lat, "lon": lon, "version": version(&c)}),
            &dispatcher,
        )
        .await,
        409,
        "case_finished",
    )
    .await;
}

#[tokio::test]
async fn the_command_centre_sees_a_reports_duplicates_and_the_original_records_the_merge() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let tianye = app.token("tianye").await;
    let (lat, lon) = wenchang_south_gate();
    let first = report_at(&app, &zhang, lat, lon).await;
    let neighbour = app.register_neighbour("13912340078").await;
    let second = report_at(&app, &neighbour, lat + 0.0001, lon).await;
    let id = second["id"].as_i64().unwrap();
    let seen: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    let dups = seen["possible_duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{seen}");
    assert_eq!(dups[0]["number"], first["number"]);
    // Someone who cannot reject the report is not shown the list.
    let officer_view: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        officer_view.get("possible_duplicates").is_none(),
        "{officer_view}"
    );

    act_ok(&app, &dispatcher, id, json!({"action": "reject", "version": 1, "reason": "duplicate", "duplicate_of": first["number"]})).await;
    let timeline: Value = app
        .get_as(
            &format!("/api/v1/cases/{}/timeline", first["id"]),
            &dispatcher,
        )
        .await
        .json()
        .await
        .unwrap();
    let last = timeline.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "merge");
    assert_eq!(last["data"]["duplicate"], second["number"]);
    assert_eq!(last["to_status"], "reported");
    // The original itself is unchanged.
    let original: Value = app
        .get_as(&format!("/api/v1/cases/{}", first["id"]), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(original["version"], 1);
    // A rejected case offers no merge.
    let rejected: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert!(rejected.get("possible_duplicates").is_none());
}

#[tokio::test]
async fn leaders_and_the_command_centre_list_the_officers_they_can_station_or_dispatch() {
    let app = TestApp::spawn().await.checking_schemas().await;
    let leader = app.token("leader.haizhou1").await;
    let dispatcher = app.token("dispatcher").await;
    let res = app.get_as("/api/v1/officers", &leader).await;
    assert_eq!(res.status(), 200);
    let all: Value = res.json().await.unwrap();
    let tianye = all
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "田野")
        .unwrap_or_else(|| panic!("田野 is listed: {all}"))
        .clone();
    assert_eq!(tianye["badge_number"], "HZ0101");
    assert_eq!(tianye["stationed_in"]["name"], "文昌社区");
    assert!(tianye.get("phone").is_none());
    // Leaders are not stationed, so they are not listed.
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|o| o["badge_number"] != "HZ0100")
    );
    let found: Value = app
        .get_as("/api/v1/officers?q=HZ0101", &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["name"], "田野");
    let none: Value = app
        .get_as("/api/v1/officers?q=nobody", &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));
    // A stationing with a bad phone is refused at the request's own field name.
    let res = app
        .post(
            "/api/v1/stationings",
            &json!({"officer_id": tianye["id"], "community_id": tianye["stationed_in"]["id"],
                    "contact_phone": "12345", "starts_on": "2030-01-01"}),
            Some(&leader),
        )
        .await;
    let body = assert_problem(res, 422, "invalid_value").await;
    assert_eq!(body["field"], "contact_phone");

    for who in ["tianye", ZHANG] {
        let t = app.token(who).await;
        assert_problem(app.get_as("/api/v1/officers", &t).await, 403, "forbidden").await;
    }
    let body = assert_problem(
        app.get_as("/api/v1/officers?limit=0", &leader).await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["field"], "limit");
    assert_eq!(app.get("/api/v1/officers").await.status(), 401);
}
