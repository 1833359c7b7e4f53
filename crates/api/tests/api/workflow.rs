//! The loop as stationed officers work it: 小事一格解决 (the officer takes a small matter of his
//! own community himself), 自行发现，自行处置 (what he finds he handles), rating once closed,
//! and answers that name people and things instead of listing ids.

use serde_json::{Value, json};

use crate::helpers::{PW, TestApp, assert_problem, wenchang_south_gate};

const ZHANG: &str = "13800001234";

fn noise_at_the_gate() -> Value {
    let (lat, lon) = wenchang_south_gate();
    json!({
        "category": "noise",
        "description": "小区南门外的商家使用高音喇叭叫卖。",
        "lat": lat, "lon": lon,
        "attributes": {"period": "evening"}
    })
}

async fn created(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn ok(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> reqwest::Response {
    app.post(&format!("/api/v1/cases/{id}/actions"), &body, Some(token))
        .await
}

async fn timeline(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    ok(app
        .get_as(&format!("/api/v1/cases/{id}/timeline"), token)
        .await)
    .await
    .as_array()
    .unwrap()
    .clone()
}

#[tokio::test]
async fn the_stationed_officer_takes_a_small_matter_himself_in_one_call() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let tianye = app.login("tianye", PW).await;
    let tianye_id = tianye["account"]["id"].as_i64().unwrap();
    let tianye = tianye["access_token"].as_str().unwrap().to_owned();

    let case = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&zhang))
            .await,
    )
    .await;
    let id = case["id"].as_i64().unwrap();
    // 田野 accepts it: it is his at once, no dispatcher in between.
    let taken = ok(act(&app, &tianye, id, json!({"action": "accept", "version": 1})).await).await;
    assert_eq!(taken["status"], "dispatched");
    assert_eq!(taken["assignee_id"], tianye_id);
    assert_eq!(taken["stage"], "sign");
    assert_eq!(
        taken["assignee"]["name"], "田野",
        "staff see the whole name"
    );
    let steps: Vec<(String, String)> = timeline(&app, &tianye, id)
        .await
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["to_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("report".into(), "reported".into()),
            ("accept".into(), "accepted".into()),
            ("dispatch".into(), "dispatched".into()),
        ]
    );
    // And he carries on as with any dispatched case.
    let signed = ok(act(&app, &tianye, id, json!({"action": "sign", "version": 2})).await).await;
    assert_eq!(signed["status"], "in_progress");
}

#[tokio::test]
async fn taking_a_case_is_for_small_matters_of_ones_own_community() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let tianye = app.token("tianye").await;
    let gulou = app.token("officer.gulou").await;
    let admin = app.token("admin").await;

    // Illegal construction waits for the command centre (a per-category setting).
    let mut shed = noise_at_the_gate();
    shed["category"] = json!("illegal_construction");
    shed["attributes"] = json!({});
    let shed = created(app.post("/api/v1/cases", &shed, Some(&zhang)).await).await;
    let refused = act(
        &app,
        &tianye,
        shed["id"].as_i64().unwrap(),
        json!({"action": "accept", "version": 1}),
    )
    .await;
    assert_problem(refused, 403, "category_needs_command_centre").await;

    // Another community's officer cannot even see the case.
    let noise = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&zhang))
            .await,
    )
    .await;
    let id = noise["id"].as_i64().unwrap();
    let elsewhere = act(&app, &gulou, id, json!({"action": "accept", "version": 1})).await;
    assert_problem(elsewhere, 404, "case_not_found").await;
    // An officer still may not reject: that stays the command centre's.
    let reject = act(
        &app,
        &tianye,
        id,
        json!({"action": "reject", "version": 1, "reason": "invalid"}),
    )
    .await;
    assert_eq!(reject.status(), 403);

    // The bureau switches the setting off for noise: 田野 is refused, the case is untouched.
    let off = app
        .put(
            "/api/v1/admin/categories/noise",
            &json!({"officer_may_take": false}),
            &admin,
        )
        .await;
    assert_eq!(ok(off).await["officer_may_take"], false);
    let refused = act(&app, &tianye, id, json!({"action": "accept", "version": 1})).await;
    assert_problem(refused, 403, "category_needs_command_centre").await;
    let still = ok(app.get_as(&format!("/api/v1/cases/{id}"), &tianye).await).await;
    assert_eq!(
        (still["status"].as_str(), still["version"].as_i64()),
        (Some("reported"), Some(1))
    );
}

#[tokio::test]
async fn dispatch_without_an_assignee_goes_to_the_suggested_officer() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let case = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&zhang))
            .await,
    )
    .await;
    let id = case["id"].as_i64().unwrap();
    let suggested = case["suggested_officer_id"]
        .as_i64()
        .expect("routing suggests 田野");
    assert_eq!(case["suggested_officer"]["id"], suggested);
    ok(act(
        &app,
        &dispatcher,
        id,
        json!({"action": "accept", "version": 1}),
    )
    .await)
    .await;
    let sent = ok(act(
        &app,
        &dispatcher,
        id,
        json!({"action": "dispatch", "version": 2}),
    )
    .await)
    .await;
    assert_eq!(sent["assignee_id"], suggested);
    assert_eq!(sent["status"], "dispatched");
}

#[tokio::test]
async fn what_an_officer_finds_himself_starts_in_his_hands() {
    let app = TestApp::spawn().await;
    let tianye = app.login("tianye", PW).await;
    let tianye_id = tianye["account"]["id"].as_i64().unwrap();
    let tianye = tianye["access_token"].as_str().unwrap().to_owned();
    let found = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&tianye))
            .await,
    )
    .await;
    assert_eq!(found["source"], "officer_patrol");
    assert_eq!(found["status"], "in_progress");
    assert_eq!(found["assignee_id"], tianye_id);
    assert_eq!(found["stage"], "resolve");
    let id = found["id"].as_i64().unwrap();
    let actions: Vec<String> = timeline(&app, &tianye, id)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["report", "accept", "dispatch", "sign"]);
    // Two calls in all: report, then resolve.
    let done = ok(act(
        &app,
        &tianye,
        id,
        json!({"action": "resolve", "version": 1, "note": "已当场劝导商家关闭喇叭。"}),
    )
    .await)
    .await;
    assert_eq!(done["status"], "resolved");

    // The dispatcher's hotline entry still waits for acceptance.
    let dispatcher = app.token("dispatcher").await;
    let mut call = noise_at_the_gate();
    call["reporter_phone"] = json!("13900002222");
    let hotline = created(app.post("/api/v1/cases", &call, Some(&dispatcher)).await).await;
    assert_eq!(hotline["status"], "reported");
    assert!(hotline["assignee_id"].is_null());
}

#[tokio::test]
async fn the_reporter_rates_once_closed_and_a_refusal_lists_only_his_own_moves() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let tianye = app.token("tianye").await;
    let leader = app.token("leader.haizhou1").await;
    let case = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&zhang))
            .await,
    )
    .await;
    let id = case["id"].as_i64().unwrap();
    ok(act(&app, &tianye, id, json!({"action": "accept", "version": 1})).await).await;
    ok(act(&app, &tianye, id, json!({"action": "sign", "version": 2})).await).await;
    ok(act(
        &app,
        &tianye,
        id,
        json!({"action": "resolve", "version": 3, "note": "已处理"}),
    )
    .await)
    .await;

    // Rating a resolved case: 409, and the answer names only what 张师傅 himself can do.
    let early = act(&app, &zhang, id, json!({"action": "rate", "rating": 5})).await;
    let problem = assert_problem(early, 409, "illegal_transition").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("comment"), "{detail}");
    for others in ["verify", "rework"] {
        assert!(!detail.contains(others), "{detail}");
    }

    ok(act(&app, &leader, id, json!({"action": "verify", "version": 4})).await).await;
    ok(act(&app, &leader, id, json!({"action": "close", "version": 5})).await).await;
    // Once closed he rates from the notice, without knowing any version.
    let rated = ok(act(
        &app,
        &zhang,
        id,
        json!({"action": "rate", "rating": 4, "note": "满意"}),
    )
    .await)
    .await;
    assert_eq!(rated["rating"], 4);
    // A comment needs no version either; a stale version sent is still refused.
    ok(act(
        &app,
        &zhang,
        id,
        json!({"action": "comment", "note": "谢谢田警官"}),
    )
    .await)
    .await;
    let stale = act(
        &app,
        &zhang,
        id,
        json!({"action": "comment", "version": 1, "note": "再次感谢"}),
    )
    .await;
    assert_problem(stale, 409, "version_conflict").await;
    // Other actions still need one.
    let reopen = act(&app, &zhang, id, json!({"action": "reopen"})).await;
    assert_problem(reopen, 422, "version_required").await;
}

#[tokio::test]
async fn answers_name_the_category_the_officer_and_the_people_on_the_timeline() {
    let app = TestApp::spawn().await;
    let zhang = app.token(ZHANG).await;
    let tianye = app.token("tianye").await;
    let dispatcher = app.token("dispatcher").await;
    let case = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&zhang))
            .await,
    )
    .await;
    let id = case["id"].as_i64().unwrap();
    assert_eq!(case["category_name_zh"], "噪声扰民");
    assert!(
        case["category_name_en"]
            .as_str()
            .unwrap()
            .starts_with("Noise")
    );
    assert_eq!(case["community"]["name"], "文昌社区");
    assert!(case["grid"]["name"].as_str().unwrap().ends_with("网格"));
    assert_eq!(case["suggested_officer"]["name"], "田警官");
    ok(act(&app, &tianye, id, json!({"action": "accept", "version": 1})).await).await;

    // The reporter sees the officer by surname and office, with the card's number.
    let mine = ok(app.get_as(&format!("/api/v1/cases/{id}"), &zhang).await).await;
    assert_eq!(mine["assignee"]["name"], "田警官");
    assert!(mine["assignee"]["phone"].is_string(), "{mine}");
    // The command centre sees the whole name.
    let theirs = ok(app
        .get_as(&format!("/api/v1/cases/{id}"), &dispatcher)
        .await)
    .await;
    assert_eq!(theirs["assignee"]["name"], "田野");

    let names = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["actor_name"].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    let for_zhang = names(&timeline(&app, &zhang, id).await);
    assert_eq!(for_zhang[1..], ["田警官".to_owned(), "田警官".to_owned()]);
    assert!(!for_zhang.iter().any(|n| n == "田野"), "{for_zhang:?}");
    let for_centre = names(&timeline(&app, &dispatcher, id).await);
    assert_eq!(for_centre[1..], ["田野".to_owned(), "田野".to_owned()]);
    assert_ne!(for_centre[0], "-", "the reporter is named to staff");
}

#[tokio::test]
async fn choices_have_words_and_bad_input_names_the_right_field() {
    let app = TestApp::spawn().await;
    let categories = app.get_json("/api/v1/categories").await;
    let noise = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "noise")
        .unwrap()
        .clone();
    let period = &noise["attributes"][0];
    assert_eq!(
        period["options"],
        json!(["morning", "day", "evening", "night"])
    );
    let night = &period["choices"][3];
    assert_eq!(night["code"], "night");
    assert!(night["label_zh"].as_str().unwrap().contains("夜间"));
    assert!(night["label_en"].as_str().unwrap().contains("Night"));
    assert_eq!(night["label"], night["label_zh"], "Chinese by default");

    // A choice question defined with labels keeps them; one with bare codes is still accepted.
    let admin = app.token("admin").await;
    let defined = app
        .put(
            "/api/v1/admin/categories/street_vending/attributes",
            &json!([{
                "key": "goods", "label_zh": "售卖物品", "label_en": "Goods sold", "type": "choice",
                "choices": [
                    {"code": "fruit", "label_zh": "水果", "label_en": "Fruit"},
                    {"code": "snacks", "label_zh": "小吃", "label_en": "Snacks"}
                ]
            }, {
                "key": "size", "label_zh": "规模", "label_en": "Size", "type": "choice",
                "options": ["small", "large"]
            }]),
            &admin,
        )
        .await;
    let defined = ok(defined).await;
    let goods = &defined["attributes"][0]["choices"];
    assert_eq!(goods[1]["label_zh"], "小吃");
    assert_eq!(defined["attributes"][1]["choices"][0]["label_en"], "small");

    // Rejecting as a duplicate with a malformed number names duplicate_of.
    let zhang = app.token(ZHANG).await;
    let dispatcher = app.token("dispatcher").await;
    let case = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&zhang))
            .await,
    )
    .await;
    let res = act(
        &app,
        &dispatcher,
        case["id"].as_i64().unwrap(),
        json!({"action": "reject", "version": 1, "reason": "duplicate", "duplicate_of": "nonsense"}),
    )
    .await;
    let problem = assert_problem(res, 422, "invalid_value").await;
    assert_eq!(problem["field"], "duplicate_of");

    // A point outside the city on a POST is bad input (422), not a missing resource.
    let mut far = noise_at_the_gate();
    far["lat"] = json!(39.9087);
    far["lon"] = json!(116.3975);
    let res = app.post("/api/v1/cases", &far, Some(&zhang)).await;
    assert_problem(res, 422, "outside_city").await;
}

/// Each answer lists what the caller may do now, so a console shows only those buttons: the
/// status, the role, the jurisdiction and the assignment all count.
#[tokio::test]
async fn a_case_lists_the_moves_its_reader_may_make_now() {
    let app = TestApp::spawn().await.checking_schemas().await;
    let zhang = app.token(ZHANG).await;
    let tianye = app.token("tianye").await;
    let dispatcher = app.token("dispatcher").await;
    let gulou = app.token("officer.gulou").await;
    let case = created(
        app.post("/api/v1/cases", &noise_at_the_gate(), Some(&zhang))
            .await,
    )
    .await;
    let id = case["id"].as_i64().unwrap();
    let moves = |v: &Value| -> Vec<String> {
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    let path = format!("/api/v1/cases/{id}");
    let seen = ok(app.get_as(&path, &dispatcher).await).await;
    assert_eq!(moves(&seen), ["accept", "reject", "comment"]);
    // The stationed officer may take it (accept), not reject it.
    let seen = ok(app.get_as(&path, &tianye).await).await;
    assert_eq!(moves(&seen), ["accept", "comment"]);
    // The reporter may only remark on it while it is open.
    let seen = ok(app.get_as(&path, &zhang).await).await;
    assert_eq!(moves(&seen), ["comment"]);

    let taken = ok(act(
        &app,
        &tianye,
        id,
        json!({"action": "accept", "version": seen["version"]}),
    )
    .await)
    .await;
    assert_eq!(taken["status"], "dispatched");
    let seen = ok(app.get_as(&path, &tianye).await).await;
    assert_eq!(
        moves(&seen),
        ["sign", "return", "request_extension", "comment"]
    );
    // Another officer's case: the command centre may escalate it, the district's leader may
    // also decide an extension; neither may sign.
    let seen = ok(app.get_as(&path, &dispatcher).await).await;
    assert_eq!(moves(&seen), ["escalate", "comment"]);
    let leader = app.token("leader.haizhou1").await;
    let seen = ok(app.get_as(&path, &leader).await).await;
    let theirs = moves(&seen);
    assert!(!theirs.contains(&"sign".to_owned()), "{theirs:?}");
    assert!(
        theirs.contains(&"decide_extension".to_owned()),
        "{theirs:?}"
    );
    // An officer of another district does not see the case at all.
    assert_problem(app.get_as(&path, &gulou).await, 404, "case_not_found").await;
}
