//! Merchants, four-responsibility pledges (门前四包) and inspections that open cases.

use serde_json::{Value, json};
use whistle_domain::merchant::LicenceNumber;

use crate::community::community_id;
use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

fn licence(seed: &str) -> String {
    LicenceNumber::with_check_digit(&format!("9132070{seed}"))
        .unwrap()
        .as_str()
        .to_owned()
}

fn merchant_body(name: &str, licence: &str) -> Value {
    let (lat, lon) = wenchang_south_gate();
    json!({
        "name": name, "licence_number": licence, "owner_name": "赵老板",
        "owner_phone": "13905180555", "address": "文昌路 20 号", "business_type": "餐饮",
        "lat": lat + 0.0002, "lon": lon
    })
}

async fn created(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn register(app: &TestApp, token: &str, name: &str, licence: &str) -> i64 {
    created(
        app.post(
            "/api/v1/merchants",
            &merchant_body(name, licence),
            Some(token),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn inspections(app: &TestApp, token: &str, merchant: i64) -> Vec<Value> {
    app.get_as(&format!("/api/v1/merchants/{merchant}/inspections"), token)
        .await
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_merchant_signs_fails_public_order_and_a_case_opens_in_one_call() {
    let app = TestApp::spawn().await;
    let tianye = app.token("tianye").await;
    let tianye_id = app.login("tianye", crate::helpers::PW).await["account"]["id"]
        .as_i64()
        .unwrap();
    let wenchang = community_id(&app, "文昌社区").await;

    let m = created(
        app.post(
            "/api/v1/merchants",
            &merchant_body("老王烧烤", &licence("6MA1W2X3Y5")),
            Some(&tianye),
        )
        .await,
    )
    .await;
    let mid = m["id"].as_i64().unwrap();
    assert_eq!(
        m["community_id"], wenchang,
        "routed to its grid and community"
    );
    assert!(m["grid_id"].as_i64().unwrap() > 0);

    // The city's four items, signed before 田野.
    let items: Value = app.get_json("/api/v1/pledge-items").await;
    let names: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name_zh"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["市容整洁", "环境卫生", "公共秩序", "绿化与设施"]);
    let pledge = created(
        app.post(
            &format!("/api/v1/merchants/{mid}/pledges"),
            &json!({"frontage": "店门前至人行道边缘，东西各 5 米"}),
            Some(&tianye),
        )
        .await,
    )
    .await;
    assert_eq!(pledge["status"], "active");
    assert_eq!(pledge["officer_id"], tianye_id);
    assert_eq!(pledge["items"].as_array().unwrap().len(), 4);

    // Inspection: 公共秩序 fails (loudspeaker at the door), and a case opens against the merchant.
    let inspection = created(
        app.post(
            &format!("/api/v1/merchants/{mid}/inspections"),
            &json!({
                "note": "晚间巡查",
                "results": [
                    {"item": "appearance", "passed": true},
                    {"item": "sanitation", "passed": true},
                    {"item": "order", "passed": false, "note": "门口高音喇叭叫卖",
                     "open_case": {"category": "noise"}},
                    {"item": "greenery", "passed": true}
                ]
            }),
            Some(&tianye),
        )
        .await,
    )
    .await;
    assert_eq!(inspection["passed"], false);
    assert_eq!(inspection["pledge_id"], pledge["id"]);
    let order = inspection["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["item"] == "order")
        .unwrap()
        .clone();
    let case_id = order["case_id"].as_i64().expect("a case was opened");
    assert!(order["case_number"].as_str().unwrap().starts_with("HZ-"));

    let case: Value = app
        .get_as(&format!("/api/v1/cases/{case_id}"), &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["merchant_id"], mid);
    assert_eq!(case["category"], "noise");
    assert_eq!(case["source"], "officer_patrol");
    assert_eq!(case["community"]["name"], "文昌社区");
    assert_eq!(case["suggested_officer_id"], tianye_id);
    // 自行发现，自行处置: the inspecting officer's finding is in his hands at once.
    assert_eq!(case["status"], "in_progress");
    assert_eq!(case["assignee_id"], tianye_id);
    assert!(case["description"].as_str().unwrap().contains("公共秩序"));
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{case_id}/timeline"), &tianye)
        .await
        .json()
        .await
        .unwrap();
    let first = &timeline.get("items").unwrap_or(&timeline)[0];
    assert_eq!(first["action"], "report");

    // Compliance and history.
    let c: Value = app
        .get_as(&format!("/api/v1/merchants/{mid}/compliance"), &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["inspections"], 1);
    assert_eq!(c["passed_inspections"], 0);
    assert_eq!(c["items_checked"], 4);
    assert_eq!(c["items_passed"], 3);
    assert_eq!(c["score"], 0.0);
    assert_eq!(c["item_pass_rate"], 0.75);
    assert_eq!(c["cases_opened"], 1);
    assert_eq!(c["active_pledge_id"], pledge["id"]);

    // A second failure makes it a repeat offender of 文昌社区; a pass improves the score.
    created(
        app.post(
            &format!("/api/v1/merchants/{mid}/inspections"),
            &json!({"results": [{"item": "order", "passed": false}]}),
            Some(&tianye),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("/api/v1/merchants/{mid}/inspections"),
            &json!({"results": [{"item": "order", "passed": true}, {"item": "sanitation", "passed": true}]}),
            Some(&tianye),
        )
        .await,
    )
    .await;
    let c: Value = app
        .get_as(
            &format!("/api/v1/merchants/{mid}/compliance?last=10"),
            &tianye,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["inspections"], 3);
    assert_eq!(c["passed_inspections"], 1);
    assert_eq!(c["items_checked"], 7);
    assert_eq!(c["items_passed"], 5);
    let last2: Value = app
        .get_as(
            &format!("/api/v1/merchants/{mid}/compliance?last=2"),
            &tianye,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last2["inspections"], 2);
    assert_eq!(last2["score"], 0.5);
    let offenders: Value = app
        .get_as(
            &format!("/api/v1/merchants/repeat-offenders?community={wenchang}"),
            &tianye,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(offenders.as_array().unwrap().len(), 1, "{offenders}");
    assert_eq!(offenders[0]["merchant"]["id"], mid);
    assert_eq!(offenders[0]["failed_inspections"], 2);
    let gulou = community_id(&app, "鼓楼社区").await;
    let none: Value = app
        .get_as(
            &format!("/api/v1/merchants/repeat-offenders?community={gulou}"),
            &app.token("leader.haizhou1").await,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));

    // The printable pledge.
    let doc = app
        .get_as(
            &format!("/api/v1/pledges/{}/document", pledge["id"]),
            &tianye,
        )
        .await;
    assert_eq!(doc.status(), 200);
    assert!(
        doc.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = doc.text().await.unwrap();
    assert!(html.contains("门前四包责任书"));
    assert!(html.contains("老王烧烤"));
    assert!(html.contains("公共秩序"));
    assert!(html.contains("田野"));
}

#[tokio::test]
async fn registry_search_and_jurisdiction() {
    let app = TestApp::spawn().await;
    let tianye = app.token("tianye").await;
    let gulou_officer = app.token("officer.gulou").await;
    let wenchang = community_id(&app, "文昌社区").await;
    let a = register(&app, &tianye, "文昌早餐店", &licence("6MA1W2X3Y6")).await;
    let b = register(
        &app,
        &tianye,
        "<script>alert(1)</script>",
        &licence("6MA1W2X3Y7"),
    )
    .await;

    let page: Value = app
        .get_as(
            &format!("/api/v1/merchants?community={wenchang}&limit=2"),
            &tianye,
        )
        .await
        .json()
        .await
        .unwrap();
    // The demo's shop plus the two new ones, two per page.
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get_as(
            &format!("/api/v1/merchants?community={wenchang}&limit=2&cursor={next}"),
            &tianye,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let by_name: Value = app
        .get_as("/api/v1/merchants?q=早餐", &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_name["items"][0]["id"], a);
    // Stored as text, returned as text.
    let m: Value = app
        .get_as(&format!("/api/v1/merchants/{b}"), &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["name"], "<script>alert(1)</script>");

    // 鼓楼社区's officer sees none of 文昌社区's merchants and cannot act on them.
    let theirs: Value = app
        .get_as("/api/v1/merchants", &gulou_officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"], json!([]));
    assert_problem(
        app.get_as(&format!("/api/v1/merchants/{a}"), &gulou_officer)
            .await,
        404,
        "merchant_not_found",
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/merchants/{a}/inspections"),
            &json!({"results": [{"item": "order", "passed": false}]}),
            Some(&gulou_officer),
        )
        .await,
        404,
        "merchant_not_found",
    )
    .await;
    // …nor register one at 文昌社区's gate.
    assert_problem(
        app.post(
            "/api/v1/merchants",
            &merchant_body("越界登记", &licence("6MA1W2X3Y8")),
            Some(&gulou_officer),
        )
        .await,
        403,
        "outside_jurisdiction",
    )
    .await;
    // Residents do not read the registry.
    let zhang = app.token("13800001234").await;
    assert_problem(
        app.get_as("/api/v1/merchants", &zhang).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn bad_merchants_pledges_and_inspections_are_refused_and_nothing_is_half_written() {
    let app = TestApp::spawn().await;
    let tianye = app.token("tianye").await;
    let good = licence("6MA1W2X3Y9");

    // Licence numbers: wrong length, wrong check digit, taken.
    let mut wrong_digit = good.clone();
    let last = wrong_digit.pop().unwrap();
    wrong_digit.push(if last == '0' { '1' } else { '0' });
    for bad in ["12345", wrong_digit.as_str(), "91320706MA1W2X3Y4Ä"] {
        assert_problem(
            app.post(
                "/api/v1/merchants",
                &merchant_body("坏执照", bad),
                Some(&tianye),
            )
            .await,
            422,
            "invalid_licence_number",
        )
        .await;
    }
    let mid = register(&app, &tianye, "好商户", &good).await;
    assert_problem(
        app.post(
            "/api/v1/merchants",
            &merchant_body("重复", &good),
            Some(&tianye),
        )
        .await,
        409,
        "licence_number_taken",
    )
    .await;
    let mut outside = merchant_body("城外", &licence("6MA1W2X3YA"));
    outside["lat"] = json!(39.9);
    assert_problem(
        app.post("/api/v1/merchants", &outside, Some(&tianye)).await,
        422,
        "outside_city",
    )
    .await;

    // No pledge yet: nothing to inspect against.
    assert_problem(
        app.post(
            &format!("/api/v1/merchants/{mid}/inspections"),
            &json!({"results": [{"item": "order", "passed": true}]}),
            Some(&tianye),
        )
        .await,
        409,
        "pledge_not_active",
    )
    .await;

    // An expired pledge (signed and run out last year) cannot be inspected against.
    let expired = created(
        app.post(
            &format!("/api/v1/merchants/{mid}/pledges"),
            &json!({"frontage": "门前", "signed_on": "2024-01-01", "valid_until": "2024-12-31"}),
            Some(&tianye),
        )
        .await,
    )
    .await;
    assert_eq!(expired["status"], "expired");
    assert_problem(
        app.post(
            &format!("/api/v1/merchants/{mid}/inspections"),
            &json!({"pledge_id": expired["id"], "results": [{"item": "order", "passed": true}]}),
            Some(&tianye),
        )
        .await,
        409,
        "pledge_not_active",
    )
    .await;
    // Validity that ends before it starts; a date that is not one.
    assert_problem(
        app.post(
            &format!("/api/v1/merchants/{mid}/pledges"),
            &json!({"frontage": "门前", "valid_from": "2026-06-01", "valid_until": "2026-01-01"}),
            Some(&tianye),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/merchants/{mid}/pledges"),
            &json!({"frontage": "门前", "valid_until": "31/12/2026"}),
            Some(&tianye),
        )
        .await,
        422,
        "invalid_date",
    )
    .await;

    let active = created(
        app.post(
            &format!("/api/v1/merchants/{mid}/pledges"),
            &json!({"frontage": "门前五米"}),
            Some(&tianye),
        )
        .await,
    )
    .await;
    // One pledge at a time.
    assert_problem(
        app.post(
            &format!("/api/v1/merchants/{mid}/pledges"),
            &json!({"frontage": "又一份"}),
            Some(&tianye),
        )
        .await,
        409,
        "pledge_overlaps",
    )
    .await;

    let inspect = |body: Value| {
        let app = &app;
        let tianye = tianye.clone();
        async move {
            app.post(
                &format!("/api/v1/merchants/{mid}/inspections"),
                &body,
                Some(&tianye),
            )
            .await
        }
    };
    // An item that is not in the pledge; the same item twice; no items; a passed item opening a
    // case; an unknown category for the case: all refused, and no inspection is stored.
    for (body, status, code) in [
        (
            json!({"results": [{"item": "parking", "passed": false}]}),
            422,
            "unknown_pledge_item",
        ),
        (
            json!({"results": [{"item": "order", "passed": false}, {"item": "order", "passed": true}]}),
            422,
            "invalid_results",
        ),
        (json!({"results": []}), 422, "invalid_results"),
        (
            json!({"results": [{"item": "order", "passed": true, "open_case": {"category": "noise"}}]}),
            422,
            "invalid_results",
        ),
        (
            json!({"results": [{"item": "order", "passed": false, "open_case": {"category": "no_such"}}]}),
            422,
            "unknown_category",
        ),
        (
            json!({"results": [{"item": "order", "passed": false, "note": "x".repeat(2001)}]}),
            422,
            "invalid_value",
        ),
    ] {
        assert_problem(inspect(body).await, status, code).await;
    }
    assert!(inspections(&app, &tianye, mid).await.is_empty());

    // Revoked: inspections are refused again; revoking twice is refused.
    let pid = active["id"].as_i64().unwrap();
    assert_problem(
        app.post(
            &format!("/api/v1/pledges/{pid}/revoke"),
            &json!({"reason": ""}),
            Some(&tianye),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    let revoked: Value = app
        .post(
            &format!("/api/v1/pledges/{pid}/revoke"),
            &json!({"reason": "店铺转让"}),
            Some(&tianye),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revoked["status"], "revoked");
    assert_problem(
        inspect(json!({"results": [{"item": "order", "passed": true}]})).await,
        409,
        "pledge_not_active",
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/pledges/{pid}/revoke"),
            &json!({"reason": "再次"}),
            Some(&tianye),
        )
        .await,
        409,
        "pledge_not_revocable",
    )
    .await;
    // After revocation a new pledge may be signed.
    created(
        app.post(
            &format!("/api/v1/merchants/{mid}/pledges"),
            &json!({"frontage": "新责任书"}),
            Some(&tianye),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn pledge_items_signatures_photos_and_the_renewal_list() {
    let app = TestApp::spawn().await;
    let tianye = app.token("tianye").await;
    let admin = app.token("admin").await;

    // The demo's shop has a pledge running out in ten days: on the default 30-day list.
    let soon: Value = app
        .get_as("/api/v1/pledges/expiring", &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(soon.as_array().unwrap().len(), 1, "{soon}");
    assert_eq!(soon[0]["merchant"]["name"], "文昌便民超市");
    let days = soon[0]["days_left"].as_i64().unwrap();
    assert!((9..=11).contains(&days), "{days}");
    let none: Value = app
        .get_as("/api/v1/pledges/expiring?within_days=5", &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));
    assert_problem(
        app.get_as("/api/v1/pledges/expiring?within_days=0", &tianye)
            .await,
        422,
        "invalid_value",
    )
    .await;

    // A city changes its items: new pledges use them, the signed one keeps its four.
    let mid = soon[0]["merchant"]["id"].as_i64().unwrap();
    let old_pledge = soon[0]["pledge"]["id"].as_i64().unwrap();
    assert_problem(
        app.put(
            "/api/v1/pledge-items",
            &json!([{"code": "a", "name_zh": "甲", "name_en": "A", "text": "t"}]),
            &tianye,
        )
        .await,
        403,
        "role_not_permitted",
    )
    .await;
    assert_problem(
        app.put("/api/v1/pledge-items", &json!([]), &admin).await,
        422,
        "invalid_value",
    )
    .await;
    let five = json!([
        {"code": "appearance", "name_zh": "市容整洁", "name_en": "Tidy frontage", "text": "不乱堆乱放"},
        {"code": "sanitation", "name_zh": "环境卫生", "name_en": "Sanitation", "text": "门前无垃圾"},
        {"code": "order", "name_zh": "公共秩序", "name_en": "Public order", "text": "不占道、不噪声扰民"},
        {"code": "greenery", "name_zh": "绿化与设施", "name_en": "Greenery", "text": "爱护绿化"},
        {"code": "parking", "name_zh": "车辆停放", "name_en": "Parking", "text": "非机动车有序停放"}
    ]);
    assert_eq!(
        app.put("/api/v1/pledge-items", &five, &admin)
            .await
            .status(),
        200
    );
    let items: Value = app.get_json("/api/v1/pledge-items").await;
    assert_eq!(items.as_array().unwrap().len(), 5);
    let signed: Value = app
        .get_as(&format!("/api/v1/pledges/{old_pledge}"), &tianye)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signed["items"].as_array().unwrap().len(), 4);
    // Inspecting the old pledge for the new item is refused: it is not in what was signed.
    assert_problem(
        app.post(
            &format!("/api/v1/merchants/{mid}/inspections"),
            &json!({"results": [{"item": "parking", "passed": false}]}),
            Some(&tianye),
        )
        .await,
        422,
        "unknown_pledge_item",
    )
    .await;

    // The scanned signature page and an inspection photo, metadata removed.
    let photo = crate::attachments::photo_with_exif();
    let res = app
        .client
        .put(app.url(&format!("/api/v1/pledges/{old_pledge}/signature")))
        .bearer_auth(&tianye)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(photo.clone()).file_name("sign.jpg"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let with_sig: Value = res.json().await.unwrap();
    let sig = app
        .get_as(with_sig["signature_url"].as_str().unwrap(), &tianye)
        .await;
    assert_eq!(sig.status(), 200);
    assert!(
        !sig.bytes()
            .await
            .unwrap()
            .windows(11)
            .any(|w| w == b"GPSLatitude")
    );

    let inspection = created(
        app.post(
            &format!("/api/v1/merchants/{mid}/inspections"),
            &json!({"results": [{"item": "sanitation", "passed": false, "note": "门前油渍"}]}),
            Some(&tianye),
        )
        .await,
    )
    .await;
    let iid = inspection["id"].as_i64().unwrap();
    let upload = |token: String, item: &'static str| {
        let app = &app;
        let photo = photo.clone();
        async move {
            app.client
                .post(app.url(&format!("/api/v1/inspections/{iid}/photos")))
                .bearer_auth(token)
                .multipart(reqwest::multipart::Form::new().text("item", item).part(
                    "file",
                    reqwest::multipart::Part::bytes(photo).file_name("x.jpg"),
                ))
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(
        upload(tianye.clone(), "greenery").await,
        422,
        "unknown_pledge_item",
    )
    .await;
    let leader = app.token("leader.haizhou1").await;
    assert_problem(upload(leader.clone(), "sanitation").await, 403, "not_owner").await;
    let stored = created(upload(tianye.clone(), "sanitation").await).await;
    assert_eq!(stored["item"], "sanitation");
    let got: Value = app
        .get_as(&format!("/api/v1/inspections/{iid}"), &leader)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["photos"][0]["id"], stored["id"]);
    let gulou = app.token("officer.gulou").await;
    assert_problem(
        app.get_as(stored["url"].as_str().unwrap(), &gulou).await,
        404,
        "photo_not_found",
    )
    .await;
    assert_eq!(
        app.get_as(stored["url"].as_str().unwrap(), &leader)
            .await
            .status(),
        200
    );
}
