//! 城管进社区: officers stationed in communities, the contact card, partner organisations.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{PW, TestApp, assert_problem, wenchang_south_gate};

/// The id of a demo community by name.
pub async fn community_id(app: &TestApp, name: &str) -> i64 {
    let list = app.get_json("/api/v1/communities").await;
    let items = list
        .get("items")
        .and_then(Value::as_array)
        .or_else(|| list.as_array())
        .unwrap()
        .clone();
    items
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no community {name} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

async fn account_id(app: &TestApp, username: &str) -> i64 {
    app.login(username, PW).await["account"]["id"]
        .as_i64()
        .unwrap()
}

async fn report_at_south_gate(app: &TestApp, token: &str) -> Value {
    let (lat, lon) = wenchang_south_gate();
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "南门外高音喇叭叫卖", "lat": lat, "lon": lon}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn new_officer(app: &TestApp, username: &str, badge: &str) -> i64 {
    let admin = app.token("admin").await;
    let res = app
        .post(
            "/api/v1/admin/users",
            &json!({
                "username": username, "display_name": "孙淑莉", "role": "officer",
                "password": "wenchang-duty-2026", "badge_number": badge, "squad": "海州一大队",
                "areas": []
            }),
            Some(&admin),
        )
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn tianye_is_stationed_in_wenchang_and_on_its_contact_card() {
    let app = TestApp::spawn().await;
    let wenchang = community_id(&app, "文昌社区").await;
    let tianye = account_id(&app, "tianye").await;

    // Public: the card hangs at the gate.
    let card = app
        .get_json(&format!("/api/v1/communities/{wenchang}/contact-card"))
        .await;
    assert_eq!(card["community"]["name"], "文昌社区");
    assert_eq!(card["street"]["name"], "海州街道");
    assert_eq!(card["bureau"], "海州区城市管理局");
    let officers = card["officers"].as_array().unwrap();
    assert_eq!(officers.len(), 1, "{card}");
    assert_eq!(officers[0]["name"], "田野");
    assert_eq!(officers[0]["badge_number"], "HZ0101");
    assert_eq!(officers[0]["phone"], "13905180101");
    assert!(officers[0]["duties"].as_str().unwrap().contains("吹哨"));
    assert!(officers[0]["office_hours"].is_string());
    assert_eq!(
        card["report_url"],
        "http://127.0.0.1:8080/report?community=320706001001"
    );

    // Staff see the stationing record.
    let leader = app.token("leader.haizhou1").await;
    let list: Value = app
        .get_as(
            &format!("/api/v1/communities/{wenchang}/stationings"),
            &leader,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["officer_id"], tianye);
    assert_eq!(list[0]["current"], true);
    // Residents do not read stationing records.
    let zhang = app.token("13800001234").await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/communities/{wenchang}/stationings"),
            &zhang,
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // A new case at the south gate is suggested to him.
    let case = report_at_south_gate(&app, &zhang).await;
    assert_eq!(case["suggested_officer_id"], tianye);
}

#[tokio::test]
async fn routing_picks_the_stationed_officer_with_the_least_open_load() {
    let app = TestApp::spawn().await;
    let wenchang = community_id(&app, "文昌社区").await;
    let tianye = account_id(&app, "tianye").await;
    let sun = new_officer(&app, "sunshuli", "HZ0103").await;
    let leader = app.token("leader.haizhou1").await;
    let res = app
        .post(
            "/api/v1/stationings",
            &json!({"officer_id": sun, "community_id": wenchang, "duties": "夜间巡查"}),
            Some(&leader),
        )
        .await;
    assert_eq!(res.status(), 201);
    let st: Value = res.json().await.unwrap();
    assert_eq!(st["current"], true);
    assert_eq!(st["officer_name"], "孙淑莉");

    // Equal load (none): the longer-stationed officer, 田野.
    let zhang = app.token("13800001234").await;
    let first = report_at_south_gate(&app, &zhang).await;
    assert_eq!(first["suggested_officer_id"], tianye);

    // 田野 now carries one open case; the next goes to 孙淑莉.
    let dispatcher = app.token("dispatcher").await;
    let id = first["id"].as_i64().unwrap();
    for body in [
        json!({"action": "accept", "version": 1}),
        json!({"action": "dispatch", "version": 2, "assignee_id": tianye}),
    ] {
        let res = app
            .post(
                &format!("/api/v1/cases/{id}/actions"),
                &body,
                Some(&dispatcher),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let second = report_at_south_gate(&app, &zhang).await;
    assert_eq!(second["suggested_officer_id"], sun);

    // Stationing granted 孙淑莉 the community: she may handle its cases.
    let sun_token = app.login("sunshuli", "wenchang-duty-2026").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .get_as(
            &format!("/api/v1/cases/{}", second["id"].as_i64().unwrap()),
            &sun_token,
        )
        .await;
    assert_eq!(res.status(), 200);

    // Both are on the card now.
    let card = app
        .get_json(&format!("/api/v1/communities/{wenchang}/contact-card"))
        .await;
    assert_eq!(card["officers"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn stationing_rules_refuse_bad_requests_and_keep_history() {
    let app = TestApp::spawn().await;
    let wenchang = community_id(&app, "文昌社区").await;
    let gulou = community_id(&app, "鼓楼社区").await;
    let jianshe = community_id(&app, "建设社区").await;
    let tianye = account_id(&app, "tianye").await;
    let leader = app.token("leader.haizhou1").await;
    let station = |body: Value| {
        let app = &app;
        let leader = leader.clone();
        async move { app.post("/api/v1/stationings", &body, Some(&leader)).await }
    };

    // 田野 already serves 文昌社区 (open-ended): a second community at the same time is refused.
    let res = station(json!({"officer_id": tianye, "community_id": gulou})).await;
    let body = assert_problem(res, 409, "stationing_overlaps").await;
    assert!(body["detail"].as_str().unwrap().contains("重叠"), "{body}");
    // A period that ends before it starts.
    assert_problem(
        station(json!({"officer_id": tianye, "community_id": gulou,
            "starts_on": "2030-02-01", "ends_on": "2030-01-01"}))
        .await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        station(json!({"officer_id": tianye, "community_id": gulou, "starts_on": "yesterday"}))
            .await,
        422,
        "invalid_date",
    )
    .await;
    // Not an officer; unknown community; outside the leader's street.
    let zhang_id = account_id(&app, "13800001234").await;
    assert_problem(
        station(json!({"officer_id": zhang_id, "community_id": gulou})).await,
        422,
        "not_an_officer",
    )
    .await;
    assert_problem(
        station(json!({"officer_id": tianye, "community_id": 99999})).await,
        404,
        "community_not_found",
    )
    .await;
    assert_problem(
        station(json!({"officer_id": tianye, "community_id": jianshe})).await,
        403,
        "outside_jurisdiction",
    )
    .await;
    // Officers do not station anyone.
    let officer = app.token("officer.gulou").await;
    assert_problem(
        app.post(
            "/api/v1/stationings",
            &json!({"officer_id": tianye, "community_id": gulou}),
            Some(&officer),
        )
        .await,
        403,
        "role_not_permitted",
    )
    .await;

    // End 文昌 yesterday-or-today, then a later stationing in 鼓楼 is fine.
    let list: Value = app
        .get_as(&format!("/api/v1/officers/{tianye}/stationings"), &leader)
        .await
        .json()
        .await
        .unwrap();
    let sid = list[0]["id"].as_i64().unwrap();
    let ended = app
        .post(
            &format!("/api/v1/stationings/{sid}/end"),
            &json!({"ends_on": "2099-12-30"}),
            Some(&leader),
        )
        .await;
    assert_eq!(ended.status(), 200);
    let res =
        station(json!({"officer_id": tianye, "community_id": gulou, "starts_on": "2099-12-30"}))
            .await;
    assert_problem(res, 409, "stationing_overlaps").await;
    let res =
        station(json!({"officer_id": tianye, "community_id": gulou, "starts_on": "2099-12-31"}))
            .await;
    assert_eq!(res.status(), 201);
    // Ending it earlier than it started is refused.
    assert_problem(
        app.post(
            &format!("/api/v1/stationings/{sid}/end"),
            &json!({"ends_on": "2020-01-01"}),
            Some(&leader),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    let history: Value = app
        .get_as(&format!("/api/v1/officers/{tianye}/stationings"), &leader)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2, "history is kept");

    // End it yesterday (local time): 文昌社区's card no longer lists him; its history does.
    let yesterday =
        (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive() - chrono::Duration::days(1);
    let res = app
        .post(
            &format!("/api/v1/stationings/{sid}/end"),
            &json!({"ends_on": yesterday.to_string()}),
            Some(&leader),
        )
        .await;
    assert_eq!(res.status(), 200);
    let ended: Value = res.json().await.unwrap();
    assert_eq!(ended["current"], false);
    let card = app
        .get_json(&format!("/api/v1/communities/{wenchang}/contact-card"))
        .await;
    assert_eq!(card["officers"], json!([]), "{card}");
    let all: Value = app
        .get_as(
            &format!("/api/v1/communities/{wenchang}/stationings?history=true"),
            &leader,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn officer_portraits_are_cleaned_and_public() {
    let app = TestApp::spawn().await;
    let tianye_id = account_id(&app, "tianye").await;
    let tianye = app.token("tianye").await;
    let put = |token: String, bytes: Vec<u8>| {
        let app = &app;
        async move {
            app.client
                .put(app.url(&format!("/api/v1/officers/{tianye_id}/photo")))
                .bearer_auth(token)
                .multipart(Form::new().part("file", Part::bytes(bytes).file_name("me.jpg")))
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(
        app.get(&format!("/api/v1/officers/{tianye_id}/photo"))
            .await,
        404,
        "photo_not_found",
    )
    .await;
    // Someone else's portrait: refused.
    let other = app.token("officer.gulou").await;
    assert_problem(
        put(other, crate::attachments::photo_with_exif()).await,
        403,
        "forbidden",
    )
    .await;
    // Not an image.
    assert_problem(
        put(tianye.clone(), b"MZ\x90\0not a photo".to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(
        put(tianye, crate::attachments::photo_with_exif())
            .await
            .status(),
        204
    );
    let res = app
        .get(&format!("/api/v1/officers/{tianye_id}/photo"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let bytes = res.bytes().await.unwrap();
    assert!(
        !bytes.windows(11).any(|w| w == b"GPSLatitude"),
        "EXIF removed"
    );
    let wenchang = community_id(&app, "文昌社区").await;
    let card = app
        .get_json(&format!("/api/v1/communities/{wenchang}/contact-card"))
        .await;
    assert_eq!(
        card["officers"][0]["photo_url"],
        format!("/api/v1/officers/{tianye_id}/photo")
    );
}

#[tokio::test]
async fn partner_organisations_tie_property_companies_to_their_compound() {
    let app = TestApp::spawn().await;
    let wenchang = community_id(&app, "文昌社区").await;
    let gulou = community_id(&app, "鼓楼社区").await;
    let admin = app.token("admin").await;
    let leader = app.token("leader.haizhou1").await;

    // The demo's property company, with its partner account.
    let list: Value = app
        .get_as(
            &format!("/api/v1/organisations?community={wenchang}"),
            &leader,
        )
        .await
        .json()
        .await
        .unwrap();
    let org = &list[0];
    assert_eq!(org["name"], "文昌物业服务有限公司");
    assert_eq!(org["kind"], "property_company");
    let wuye = account_id(&app, "wenchang.wuye").await;
    assert_eq!(org["member_ids"], json!([wuye]));
    let wuye_token = app.token("wenchang.wuye").await;
    let own = app
        .get_as(&format!("/api/v1/organisations/{}", org["id"]), &wuye_token)
        .await;
    assert_eq!(own.status(), 200);

    // A homeowners' committee in 鼓楼社区.
    let res = app
        .post(
            "/api/v1/organisations",
            &json!({"kind": "homeowners_committee", "name": "鼓楼社区业主委员会", "community_id": gulou,
                    "contact_name": "陈主任", "contact_phone": "13905180401"}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 201);
    let committee: Value = res.json().await.unwrap();
    // Its partner account, moved there from 文昌: jurisdiction follows.
    let res = app
        .post(
            &format!("/api/v1/organisations/{}/members", committee["id"]),
            &json!({"user_id": wuye}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    let zhang = app.token("13800001234").await;
    let case = report_at_south_gate(&app, &zhang).await;
    let moved = app.token("wenchang.wuye").await;
    let res = app
        .get_as(&format!("/api/v1/cases/{}", case["id"]), &moved)
        .await;
    assert_eq!(res.status(), 404, "no longer sees 文昌社区's cases");

    // Bad input.
    for (body, status, code) in [
        (
            json!({"kind": "bank", "name": "x", "community_id": gulou}),
            422,
            "invalid_value",
        ),
        (
            json!({"kind": "property_company", "name": "", "community_id": gulou}),
            422,
            "invalid_value",
        ),
        (
            json!({"kind": "property_company", "name": "x", "community_id": 424242}),
            404,
            "community_not_found",
        ),
        (
            json!({"kind": "property_company", "name": "x", "community_id": gulou, "contact_phone": "12"}),
            422,
            "invalid_value",
        ),
    ] {
        assert_problem(
            app.post("/api/v1/organisations", &body, Some(&admin)).await,
            status,
            code,
        )
        .await;
    }
    assert_problem(
        app.post(
            "/api/v1/organisations",
            &json!({"kind": "property_company", "name": "x", "community_id": gulou}),
            Some(&leader),
        )
        .await,
        403,
        "role_not_permitted",
    )
    .await;
    let tianye = account_id(&app, "tianye").await;
    assert_problem(
        app.post(
            &format!("/api/v1/organisations/{}/members", committee["id"]),
            &json!({"user_id": tianye}),
            Some(&admin),
        )
        .await,
        422,
        "not_a_partner",
    )
    .await;
    assert_problem(
        app.get_as(
            &format!("/api/v1/organisations/{}", committee["id"]),
            &zhang,
        )
        .await,
        404,
        "organisation_not_found",
    )
    .await;
}

#[tokio::test]
async fn the_printed_card_shows_chinese_and_its_qr_code_opens_the_reporting_link() {
    let app = TestApp::spawn().await;
    let wenchang = community_id(&app, "文昌社区").await;
    let card = app
        .get_json(&format!("/api/v1/communities/{wenchang}/contact-card"))
        .await;

    let res = app.get(card["png_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.unwrap();
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    assert_eq!((img.width(), img.height()), (1240, 1760));
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32)[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the card");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, card["report_url"].as_str().unwrap());
    assert_eq!(
        content,
        "http://127.0.0.1:8080/report?community=320706001001"
    );

    let res = app.get(card["svg_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert!(svg.contains("<svg"));
    assert!(
        !svg.contains("<text"),
        "text is drawn as outlines, readable without Chinese fonts"
    );
    assert!(svg.contains("<path"));

    // The renderer's font covers every character of the demo card (no tofu boxes).
    let input = whistle_api::card::ContactCard {
        community_name: card["community"]["name"].as_str().unwrap().into(),
        street_name: card["street"]["name"].as_str().unwrap().into(),
        district_name: card["district"]["name"].as_str().unwrap().into(),
        bureau_name: card["bureau"].as_str().unwrap().into(),
        officers: card["officers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| whistle_api::card::CardOfficer {
                name: o["name"].as_str().unwrap().into(),
                badge_number: o["badge_number"].as_str().unwrap().into(),
                phone: o["phone"].as_str().map(Into::into),
                duties: o["duties"].as_str().map(Into::into),
                enforcement_scope: o["enforcement_scope"].as_str().map(Into::into),
            })
            .collect(),
        office_hours: card["officers"][0]["office_hours"].as_str().map(Into::into),
        report_url: card["report_url"].as_str().unwrap().into(),
        hotline: Some("12345".into()),
    };
    assert_eq!(
        whistle_api::card::missing_glyphs(&input),
        Vec::<char>::new()
    );

    assert_problem(
        app.get("/api/v1/communities/99999/contact-card.png").await,
        404,
        "community_not_found",
    )
    .await;
}
