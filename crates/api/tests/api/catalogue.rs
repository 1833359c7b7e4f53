//! The catalogue, SLA policies and the working calendar, administered over HTTP.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

#[tokio::test]
async fn sla_policies_set_the_deadlines_of_new_cases() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let policies: Value = app
        .get_as("/api/v1/admin/categories/noise/sla", &admin)
        .await
        .json()
        .await
        .unwrap();
    let high = policies
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["priority"] == "high")
        .unwrap();
    assert_eq!(high["accept"], "2wh");
    assert_eq!(high["configured"], true, "the demo seeds policies");
    // Noise becomes a round-the-clock matter: one natural hour to accept.
    let res = app
        .put(
            "/api/v1/admin/categories/noise/sla/high",
            &json!({"accept": "1h", "dispatch": "1h", "sign": "1h", "resolve": "4h", "verify": "24h"}),
            &admin,
        )
        .await;
    assert_eq!(res.status(), 200);
    let (lat, lon) = wenchang_south_gate();
    let zhang = app.token("13800001234").await;
    let case: Value = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "夜里高音喇叭", "lat": lat, "lon": lon}),
            Some(&zhang),
        )
        .await
        .json()
        .await
        .unwrap();
    let created: DateTime<Utc> = case["created_at"].as_str().unwrap().parse().unwrap();
    let due: DateTime<Utc> = case["stage_due"].as_str().unwrap().parse().unwrap();
    assert_eq!((due - created).num_seconds(), 3600);
    for (body, code) in [
        (
            json!({"accept": "soon", "dispatch": "1h", "sign": "1h", "resolve": "4h", "verify": "24h"}),
            "invalid_value",
        ),
        (json!({"accept": "1h"}), "invalid_body"),
    ] {
        assert_problem(
            app.put("/api/v1/admin/categories/noise/sla/high", &body, &admin)
                .await,
            422,
            code,
        )
        .await;
    }
    // A limit the server cannot read is named by its stage.
    let body = assert_problem(
        app.put("/api/v1/admin/categories/noise/sla/high", &json!({"accept": "1h", "dispatch": "1h", "sign": "1h", "resolve": "4 hours", "verify": "24h"}), &admin).await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["field"], "resolve");
    assert_problem(
        app.put("/api/v1/admin/categories/noise/sla/whenever", &json!({"accept": "1h", "dispatch": "1h", "sign": "1h", "resolve": "4h", "verify": "24h"}), &admin).await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/admin/categories/dragons/sla", &admin)
            .await,
        404,
        "category_not_found",
    )
    .await;
}

#[tokio::test]
async fn the_calendar_round_trips_and_refuses_nonsense() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let cal: Value = app
        .get_as("/api/v1/admin/calendar", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cal["windows"], json!(["08:30-12:00", "13:30-17:30"]));
    assert_eq!(cal["weekend"], json!(["sat", "sun"]));
    assert!(
        cal["holidays"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-10-01"))
    );
    let new = json!({
        "windows": ["09:00-17:00"], "weekend": ["sun"],
        "holidays": ["2027-01-01"], "makeup_days": ["2027-01-03"]
    });
    let res = app.put("/api/v1/admin/calendar", &new, &admin).await;
    assert_eq!(res.status(), 200);
    let back: Value = app
        .get_as("/api/v1/admin/calendar", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back, new);
    for bad in [
        json!({"windows": [], "weekend": [], "holidays": [], "makeup_days": []}),
        json!({"windows": ["17:00-09:00"], "weekend": [], "holidays": [], "makeup_days": []}),
        json!({"windows": ["09:00-17:00"], "weekend": ["mon","tue","wed","thu","fri","sat","sun"], "holidays": [], "makeup_days": []}),
        json!({"windows": ["09:00-17:00"], "weekend": ["funday"], "holidays": [], "makeup_days": []}),
        json!({"windows": ["09:00-17:00"], "weekend": [], "holidays": ["2027-01-01"], "makeup_days": ["2027-01-01"]}),
    ] {
        let res = app.put("/api/v1/admin/calendar", &bad, &admin).await;
        assert_problem(res, 422, "invalid_value").await;
    }
    let res = app.put("/api/v1/admin/calendar", &json!({"windows": ["09:00-17:00"], "weekend": [], "holidays": ["2027-13-01"], "makeup_days": []}), &admin).await;
    assert_problem(res, 422, "invalid_body").await;
    // Unchanged by the refused attempts.
    let still: Value = app
        .get_as("/api/v1/admin/calendar", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still, new);
    let leader = app.token("leader.haizhou1").await;
    assert_problem(
        app.get_as("/api/v1/admin/calendar", &leader).await,
        403,
        "role_not_permitted",
    )
    .await;
}

#[tokio::test]
async fn categories_are_added_and_retired() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let res = app
        .post(
            "/api/v1/admin/categories",
            &json!({"code": "night_market", "name_zh": "夜市占道", "name_en": "Night market on the road", "case_type": "complaint", "default_priority": "normal"}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 201);
    let again = app
        .post(
            "/api/v1/admin/categories",
            &json!({"code": "night_market", "name_zh": "x", "name_en": "x", "case_type": "complaint", "default_priority": "normal"}),
            Some(&admin),
        )
        .await;
    assert_problem(again, 409, "category_exists").await;
    // A name left empty is refused at its own field.
    let res = app
        .post(
            "/api/v1/admin/categories",
            &json!({"code": "night_stall", "name_zh": "夜市摊点", "name_en": " ", "case_type": "complaint", "default_priority": "normal"}),
            Some(&admin),
        )
        .await;
    let body = assert_problem(res, 422, "invalid_value").await;
    assert_eq!(body["field"], "name_en");
    let listed: Value = app.get_json("/api/v1/categories").await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "night_market")
    );
    let res = app
        .put(
            "/api/v1/admin/categories/night_market",
            &json!({"active": false}),
            &admin,
        )
        .await;
    assert_eq!(res.status(), 200);
    let listed: Value = app.get_json("/api/v1/categories").await;
    assert!(
        !listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "night_market")
    );
    let (lat, lon) = wenchang_south_gate();
    let zhang = app.token("13800001234").await;
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "night_market", "description": "夜市", "lat": lat, "lon": lon}),
            Some(&zhang),
        )
        .await;
    assert_problem(res, 422, "unknown_category").await;
    // The administrators' list keeps the retired category, marked as such, to reactivate it.
    let res = app.get_as("/api/v1/admin/categories", &admin).await;
    assert_eq!(res.status(), 200);
    let all: Value = res.json().await.unwrap();
    let retired = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "night_market")
        .unwrap_or_else(|| panic!("the retired category is listed: {all}"));
    assert_eq!(retired["active"], false);
    assert_eq!(retired["name_en"], "Night market on the road");
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "noise" && c["active"] == true)
    );
    let res = app
        .put(
            "/api/v1/admin/categories/night_market",
            &json!({"default_priority": "asap"}),
            &admin,
        )
        .await;
    assert_problem(res, 422, "invalid_value").await;
    let tianye = app.token("tianye").await;
    let res = app
        .put(
            "/api/v1/admin/categories/noise",
            &json!({"active": false}),
            &tianye,
        )
        .await;
    assert_problem(res, 403, "role_not_permitted").await;
    assert_problem(
        app.get_as("/api/v1/admin/categories", &tianye).await,
        403,
        "role_not_permitted",
    )
    .await;
}

#[tokio::test]
async fn extra_questions_are_asked_and_answers_checked() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    // The demo asks when the noise happens.
    let cats: Value = app.get_json("/api/v1/categories").await;
    let noise = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "noise")
        .unwrap()
        .clone();
    assert_eq!(noise["attributes"][0]["key"], "period");
    assert_eq!(noise["attributes"][0]["label"], "扰民时段");
    assert_eq!(noise["attributes"][0]["type"], "choice");
    // The admin makes it required and adds a yes/no question.
    let res = app
        .put(
            "/api/v1/admin/categories/noise/attributes",
            &json!([
                {"key": "period", "label_zh": "扰民时段", "label_en": "When", "type": "choice", "required": true, "options": ["day", "night"]},
                {"key": "loudspeaker", "label_zh": "是否使用喇叭", "label_en": "Loudspeaker used", "type": "boolean"}
            ]),
            &admin,
        )
        .await;
    assert_eq!(res.status(), 200);
    let (lat, lon) = wenchang_south_gate();
    let zhang = app.token("13800001234").await;
    let report = |attrs: Value| {
        let body = json!({"category": "noise", "description": "喇叭", "lat": lat, "lon": lon, "attributes": attrs});
        let app = &app;
        let zhang = zhang.clone();
        async move { app.post("/api/v1/cases", &body, Some(&zhang)).await }
    };
    let ok = report(json!({"period": "night", "loudspeaker": true})).await;
    assert_eq!(ok.status(), 201);
    let case: Value = ok.json().await.unwrap();
    assert_eq!(
        case["attributes"],
        json!({"period": "night", "loudspeaker": true})
    );
    for bad in [
        json!({}),
        json!({"period": "noon"}),
        json!({"period": "day", "loudspeaker": "yes"}),
        json!({"period": "day", "volume": 90}),
    ] {
        assert_problem(report(bad).await, 422, "invalid_value").await;
    }
    for bad in [
        json!([{"key": "x", "label_zh": "问", "label_en": "Q", "type": "colour"}]),
        json!([{"key": "x", "label_zh": "问", "label_en": "Q", "type": "choice", "options": []}]),
        json!([{"key": "x", "label_zh": "问", "label_en": "Q", "type": "boolean"}, {"key": "x", "label_zh": "问", "label_en": "Q", "type": "boolean"}]),
    ] {
        assert_problem(
            app.put("/api/v1/admin/categories/noise/attributes", &bad, &admin)
                .await,
            422,
            "invalid_value",
        )
        .await;
    }
}

/// Another API process (or an operator in the database) retires a category: this process answers
/// from its reference cache until `database.reference_cache_secs` have passed, then reads the
/// change and refuses reports in it.
#[tokio::test]
async fn a_change_made_elsewhere_arrives_within_the_reference_cache_time() {
    use sea_orm::ConnectionTrait;

    let app = TestApp::spawn_with(true, &[("WHISTLE__DATABASE__REFERENCE_CACHE_SECS", "1")]).await;
    let (lat, lon) = wenchang_south_gate();
    let zhang = app.token("13800001234").await;
    let report =
        json!({"category": "noise", "description": "夜里高音喇叭", "lat": lat, "lon": lon});
    let res = app.post("/api/v1/cases", &report, Some(&zhang)).await;
    assert_eq!(res.status(), 201);

    let db = sea_orm::Database::connect(app.database_url())
        .await
        .unwrap();
    db.execute_unprepared("UPDATE case_category SET active = false WHERE code = 'noise'")
        .await
        .unwrap();
    let changed = std::time::Instant::now();
    // Past the cache time, the next request reloads and sees the category retired.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let res = app.post("/api/v1/cases", &report, Some(&zhang)).await;
    assert!(changed.elapsed() >= std::time::Duration::from_secs(1));
    assert_problem(res, 422, "unknown_category").await;
    db.close().await.unwrap();
}
