//! Open311 GeoReport v2: conformance per resource and format, the spec's awkward parts, and bad
//! input that must be refused with the spec's codes and bodies without writing anything.

use reqwest::header::CONTENT_TYPE;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, wenchang_south_gate};

const BASE: &str = "/open311/v2";

// ---- helpers -------------------------------------------------------------------------------

/// An admin issues a key; returns the key.
pub(crate) async fn issue_key(app: &TestApp, name: &str) -> String {
    let admin = app.token("admin").await;
    let res = app
        .post(
            "/api/v1/admin/api-keys",
            &json!({"name": name}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["api_key"].as_str().unwrap().to_owned()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn post_form(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(&format!("{BASE}/{path}")))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(pairs))
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.get(&format!("{BASE}/{path}")).await
}

/// GET expecting 200 JSON with the right content type.
async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = get(app, path).await;
    let status = res.status();
    let ct = content_type(&res);
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    assert_eq!(ct, "application/json; charset=utf-8", "{path}");
    serde_json::from_str(&text).unwrap()
}

/// GET expecting 200 XML; returns the document text.
async fn get_xml(app: &TestApp, path: &str) -> String {
    let res = get(app, path).await;
    let status = res.status();
    let ct = content_type(&res);
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    assert_eq!(ct, "text/xml; charset=utf-8", "{path}");
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{text}"
    );
    text
}

fn content_type(res: &reqwest::Response) -> String {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The text of the first child element `name` of `node`.
fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.tag_name().name() == name)
        .map(|c| c.text().unwrap_or(""))
}

fn elements<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children()
        .filter(|c| c.tag_name().name() == name)
        .collect()
}

/// Asserts an Open311 error in JSON: the status, and the spec's body `[{code, description}]`.
async fn assert_error_json(res: reqwest::Response, status: u16) -> String {
    let got = res.status().as_u16();
    let ct = content_type(&res);
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    assert_eq!(ct, "application/json; charset=utf-8", "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let errors = body.as_array().expect("an array of errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["code"], status, "{body}");
    let description = errors[0]["description"].as_str().unwrap().to_owned();
    assert!(!description.is_empty());
    description
}

/// Asserts an Open311 error in XML: `<errors><error><code>…`.
async fn assert_error_xml(res: reqwest::Response, status: u16) -> String {
    let got = res.status().as_u16();
    let ct = content_type(&res);
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    assert_eq!(ct, "text/xml; charset=utf-8", "{text}");
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "errors");
    let error = elements(root, "error");
    assert_eq!(error.len(), 1, "{text}");
    assert_eq!(child(error[0], "code"), Some(status.to_string().as_str()));
    let description = child(error[0], "description").unwrap().to_owned();
    assert!(!description.is_empty());
    description
}

/// A report's form fields.
type Report = Vec<(&'static str, String)>;

/// A complete, valid report at 文昌社区's south gate.
fn report(key: &str) -> Report {
    let (lat, lon) = wenchang_south_gate();
    vec![
        ("api_key", key.to_owned()),
        ("jurisdiction_id", "lyg.gov.cn".to_owned()),
        ("service_code", "noise".to_owned()),
        ("lat", lat.to_string()),
        ("long", lon.to_string()),
        ("address_string", "文昌社区南门".to_owned()),
        ("first_name", "三".to_owned()),
        ("last_name", "张".to_owned()),
        ("phone", "13912345678".to_owned()),
        ("email", "zhangsan@example.cn".to_owned()),
        ("device_id", "tt222111".to_owned()),
        ("account_id", "123456".to_owned()),
        (
            "description",
            "南门外商家用高音喇叭叫卖，每天早上六点开始。联系我 13912345678".to_owned(),
        ),
        ("attribute[period]", "morning".to_owned()),
    ]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Replaces (or, with `None`, removes) a field of a report.
fn with(mut v: Report, key: &'static str, value: Option<&str>) -> Report {
    v.retain(|(k, _)| *k != key);
    if let Some(value) = value {
        v.push((key, value.to_owned()));
    }
    v
}

/// Posts a report and returns its service_request_id.
async fn create(app: &TestApp, report: &[(&'static str, String)]) -> String {
    let res = post_form(app, "requests.json", &pairs(report)).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body[0]["service_request_id"].as_str().unwrap().to_owned()
}

/// Every case, as the command centre sees them.
async fn all_cases(app: &TestApp) -> Vec<Value> {
    let dispatcher = app.token("dispatcher").await;
    let res = app.get_as("/api/v1/cases?limit=200", &dispatcher).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

// ---- discovery, services -------------------------------------------------------------------

#[tokio::test]
async fn discovery_in_json_and_xml() {
    let app = TestApp::spawn_with(
        false,
        &[(
            "WHISTLE__SERVER__PUBLIC_BASE_URL",
            "https://whistle.example.cn/",
        )],
    )
    .await;
    let d = get_json(&app, "discovery.json").await;
    assert!(d.is_object(), "{d}");
    for field in ["changeset", "contact", "key_service"] {
        assert!(d[field].as_str().is_some_and(|s| !s.is_empty()), "{d}");
    }
    let endpoint = &d["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["url"], "https://whistle.example.cn/open311/v2");
    assert_eq!(endpoint["type"], "test", "development is not production");
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));

    let xml = get_xml(&app, "discovery.xml").await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "discovery");
    assert_eq!(child(root, "changeset"), d["changeset"].as_str());
    let endpoints = elements(root, "endpoints");
    let endpoint = elements(endpoints[0], "endpoint")[0];
    assert_eq!(
        child(endpoint, "url"),
        Some("https://whistle.example.cn/open311/v2")
    );
    let formats: Vec<_> = elements(elements(endpoint, "formats")[0], "format")
        .iter()
        .map(|f| f.text().unwrap())
        .collect();
    assert_eq!(formats, ["text/xml", "application/json"]);
}

#[tokio::test]
async fn services_in_json_and_xml_with_codes_as_strings() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    // A code that looks like a number must stay a string ("006", not 6).
    let res = app
        .post(
            "/api/v1/admin/categories",
            &json!({"code": "006", "name_zh": "井盖缺失", "name_en": "Missing manhole cover", "case_type": "help_request", "default_priority": "urgent"}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 201);
    // A retired category is no service.
    let res = app
        .put(
            "/api/v1/admin/categories/garbage_sorting",
            &json!({"active": false}),
            &admin,
        )
        .await;
    assert_eq!(res.status(), 200);

    let list = get_json(&app, "services.json").await;
    let list = list.as_array().unwrap();
    let find = |code: &str| list.iter().find(|s| s["service_code"] == code).cloned();
    let noise = find("noise").expect("noise is a service");
    assert_eq!(noise["service_name"], "噪声扰民");
    assert_eq!(noise["metadata"], true, "noise asks when it happens");
    assert_eq!(noise["type"], "realtime");
    assert_eq!(noise["group"], "投诉");
    assert!(noise["keywords"].as_str().unwrap().contains("noise"));
    assert!(noise["description"].is_string());
    let manhole = find("006").expect("the new category");
    assert!(manhole["service_code"].is_string());
    assert_eq!(manhole["metadata"], false);
    assert!(find("garbage_sorting").is_none());
    for s in list {
        assert!(s["service_code"].is_string(), "{s}");
    }

    // English on request.
    let res = app
        .client
        .get(app.url(&format!("{BASE}/services.json")))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let en: Value = res.json().await.unwrap();
    let noise_en = en
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "noise")
        .unwrap();
    assert_eq!(noise_en["group"], "Complaint");

    let xml = get_xml(&app, "services.xml").await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "services");
    let services = elements(root, "service");
    assert_eq!(services.len(), list.len());
    let manhole = services
        .iter()
        .find(|s| child(**s, "service_code") == Some("006"))
        .expect("006 in XML");
    assert_eq!(child(*manhole, "service_name"), Some("井盖缺失"));
    assert_eq!(child(*manhole, "metadata"), Some("false"));
    assert_eq!(child(*manhole, "type"), Some("realtime"));
}

#[tokio::test]
async fn service_definitions_in_json_and_xml() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let res = app
        .put(
            "/api/v1/admin/categories/noise/attributes",
            &json!([
                {"key": "period", "label_zh": "扰民时段", "label_en": "When", "type": "choice", "required": true, "options": ["day", "night"]},
                {"key": "loudspeaker", "label_zh": "是否使用喇叭", "label_en": "Loudspeaker used", "type": "boolean"},
                {"key": "decibels", "label_zh": "分贝", "label_en": "Decibels", "type": "number", "min": 0, "max": 200},
                {"key": "shop", "label_zh": "店名", "label_en": "Shop", "type": "text", "max_chars": 40},
                {"key": "details", "label_zh": "详情", "label_en": "Details", "type": "text", "max_chars": 1000}
            ]),
            &admin,
        )
        .await;
    assert_eq!(res.status(), 200);

    let def = get_json(&app, "services/noise.json").await;
    assert_eq!(def["service_code"], "noise");
    let attrs = def["attributes"].as_array().unwrap();
    assert_eq!(attrs.len(), 5);
    let period = &attrs[0];
    assert_eq!(period["variable"], true);
    assert_eq!(period["code"], "period");
    assert_eq!(period["datatype"], "singlevaluelist");
    assert_eq!(period["required"], true);
    assert_eq!(period["order"], 1);
    assert_eq!(period["description"], "扰民时段");
    assert_eq!(
        period["values"],
        json!([{"key": "day", "name": "day"}, {"key": "night", "name": "night"}])
    );
    assert_eq!(attrs[1]["datatype"], "singlevaluelist");
    assert_eq!(attrs[1]["values"][0]["key"], "true");
    assert_eq!(attrs[2]["datatype"], "number");
    assert_eq!(attrs[2]["required"], false);
    assert!(attrs[2]["datatype_description"].is_string());
    assert_eq!(attrs[3]["datatype"], "string");
    assert_eq!(attrs[4]["datatype"], "text");
    assert_eq!(attrs[4]["order"], 5);

    let xml = get_xml(&app, "services/noise.xml").await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_definition");
    assert_eq!(child(root, "service_code"), Some("noise"));
    let attributes = elements(elements(root, "attributes")[0], "attribute");
    assert_eq!(attributes.len(), 5);
    assert_eq!(child(attributes[0], "datatype"), Some("singlevaluelist"));
    let values = elements(elements(attributes[0], "values")[0], "value");
    assert_eq!(child(values[1], "key"), Some("night"));

    // A category without questions has an empty definition.
    let plain = get_json(&app, "services/street_vending.json").await;
    assert_eq!(plain["attributes"], json!([]));

    // Unknown and retired codes are 404 in either format.
    assert_error_json(get(&app, "services/dragons.json").await, 404).await;
    assert_error_xml(get(&app, "services/dragons.xml").await, 404).await;
    app.put(
        "/api/v1/admin/categories/street_vending",
        &json!({"active": false}),
        &admin,
    )
    .await;
    assert_error_json(get(&app, "services/street_vending.json").await, 404).await;
}

#[tokio::test]
async fn jurisdiction_formats_and_unknown_resources() {
    let app = TestApp::spawn().await;
    // None, empty (= absent), or ours; any other is the spec's 404.
    for q in [
        "",
        "?jurisdiction_id=",
        "?jurisdiction_id=lyg.gov.cn",
        "?jurisdiction_id=LYG.gov.cn",
    ] {
        get_json(&app, &format!("services.json{q}")).await;
    }
    for path in [
        "services.json?jurisdiction_id=sfgov.org",
        "discovery.json?jurisdiction_id=sfgov.org",
        "services/noise.json?jurisdiction_id=sfgov.org",
        "requests.json?jurisdiction_id=sfgov.org",
    ] {
        let d = assert_error_json(get(&app, path).await, 404).await;
        assert!(d.contains("jurisdiction_id"), "{d}");
    }
    assert_error_xml(
        get(&app, "services.xml?jurisdiction_id=sfgov.org").await,
        404,
    )
    .await;

    // Unknown format suffixes and resources: 404 with the spec's body (XML unless JSON was
    // asked for), never problem+json.
    for path in [
        "services.html",
        "services",
        "services.JSON",
        "services/noise.csv",
        "requests/HZ-20261125-000001.yaml",
        "tokens/abc",
        "nothing.xml",
    ] {
        assert_error_xml(get(&app, path).await, 404).await;
    }
    assert_error_json(get(&app, "nothing.json").await, 404).await;
    assert_error_json(get(&app, "a/b/c.json").await, 404).await;
    // A method the resource does not take is "any other error": 400, still the spec's body.
    let res = app
        .client
        .delete(app.url(&format!("{BASE}/services.json")))
        .send()
        .await
        .unwrap();
    assert_error_json(res, 400).await;
    assert_error_json(post_form(&app, "services.json", &[]).await, 400).await;
}

// ---- POST requests -------------------------------------------------------------------------

#[tokio::test]
async fn a_form_encoded_post_is_a_real_case_through_native_intake() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "街道微信小程序").await;
    let res = post_form(&app, "requests.json", &pairs(&report(&key))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(content_type(&res), "application/json; charset=utf-8");
    let body: Value = res.json().await.unwrap();
    let created = body.as_array().expect("an array of one");
    assert_eq!(created.len(), 1);
    let id = created[0]["service_request_id"].as_str().unwrap();
    assert!(id.starts_with("HZ-") && id.ends_with("-000001"), "{id}");
    assert!(created[0].get("token").is_none(), "realtime: no token");
    assert!(created[0]["service_notice"].as_str().unwrap().contains(id));
    assert!(created[0]["account_id"].is_null());

    // The same case the native API would have made: routed, suggested, on the clock, numbered,
    // with its first timeline event — and the reporter's contact kept for staff.
    let tianye = app.login("tianye", crate::helpers::PW).await;
    let tianye_id = tianye["account"]["id"].as_i64().unwrap();
    let cases = all_cases(&app).await;
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case["number"], id);
    assert_eq!(case["source"], "open311");
    assert_eq!(case["status"], "reported");
    assert_eq!(case["category"], "noise");
    assert_eq!(case["community"]["name"], "文昌社区");
    assert_eq!(case["suggested_officer_id"], tianye_id);
    assert_eq!(case["stage"], "accept");
    assert!(case["stage_due"].is_string());
    assert_eq!(case["priority"], "high", "the category's default");
    assert_eq!(case["attributes"], json!({"period": "morning"}));
    assert_eq!(case["address"], "文昌社区南门");
    assert_eq!(case["reporter_name"], "张三", "family name first");
    assert_eq!(case["reporter_phone"], "13912345678");
    let dispatcher = app.token("dispatcher").await;
    let case_id = case["id"].as_i64().unwrap();
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{case_id}/timeline"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(timeline[0]["action"], "report");
    assert_eq!(timeline[0]["actor_role"], "anonymous");
    assert_eq!(timeline[0]["data"]["source"], "open311");

    // XML, with the key in the query string, an empty optional parameter and no description.
    let (lat, lon) = wenchang_south_gate();
    let res = app
        .client
        .post(app.url(&format!("{BASE}/requests.xml?api_key={key}")))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[
            ("service_code", "street_vending"),
            ("lat", &lat.to_string()),
            ("long", &lon.to_string()),
            ("email", ""),
            ("description", ""),
            ("jurisdiction_id", ""),
            ("attribute[period]", ""),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(content_type(&res), "text/xml; charset=utf-8");
    let xml = res.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_requests");
    let request = elements(root, "request");
    assert_eq!(request.len(), 1);
    let second = child(request[0], "service_request_id").unwrap();
    assert!(second.ends_with("-000002"), "{xml}");
    assert_eq!(child(request[0], "account_id"), Some(""));
    let cases = all_cases(&app).await;
    let vending = cases.iter().find(|c| c["number"] == second).unwrap();
    assert_eq!(vending["description"], "游商占道经营", "the service's name");
    assert!(vending["reporter_name"].is_null());

    // The key's use is noted.
    let admin = app.token("admin").await;
    let keys: Value = app
        .get_as("/api/v1/admin/api-keys", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(keys[0]["last_used_at"].is_string(), "{keys}");
}

#[tokio::test]
async fn a_multipart_post_attaches_its_media_through_the_photo_path() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "拍照上报 App").await;
    let mut form = Form::new();
    for (k, v) in report(&key) {
        form = form.text(k, v);
    }
    let form = form.part(
        "media",
        Part::bytes(crate::attachments::photo_with_exif())
            .file_name("gate.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let res = app
        .client
        .post(app.url(&format!("{BASE}/requests.json")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let number = body[0]["service_request_id"].as_str().unwrap();

    let cases = all_cases(&app).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["number"], number);
    let case_id = cases[0]["id"].as_i64().unwrap();
    let dispatcher = app.token("dispatcher").await;
    let photos: Value = app
        .get_as(&format!("/api/v1/cases/{case_id}/attachments"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    let photos = photos.as_array().unwrap();
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["kind"], "report");
    // Stored like every other photo: its position and camera data removed.
    let bytes = app
        .get_as(photos[0]["url"].as_str().unwrap(), &dispatcher)
        .await
        .bytes()
        .await
        .unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"GPSLatitude"));
    let timeline: Value = app
        .get_as(&format!("/api/v1/cases/{case_id}/timeline"), &dispatcher)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<_> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["report", "attach"]);

    // Something that is not a photo: 400, and no case.
    let mut form = Form::new();
    for (k, v) in report(&key) {
        form = form.text(k, v);
    }
    let form = form.part(
        "media",
        Part::bytes(b"#!/bin/sh\nrm -rf /\n".to_vec()).file_name("x.jpg"),
    );
    let res = app
        .client
        .post(app.url(&format!("{BASE}/requests.json")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error_json(res, 400).await;
    assert_eq!(all_cases(&app).await.len(), 1);
}

#[tokio::test]
async fn a_retried_post_with_an_idempotency_key_creates_one_case() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "弱网 App").await;
    let post = |idem: &'static str| {
        let app = &app;
        let body = encode(&pairs(&report(&key)));
        async move {
            app.client
                .post(app.url(&format!("{BASE}/requests.json")))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("idempotency-key", idem)
                .body(body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let first = post("retry-0001").await;
    let again = post("retry-0001").await;
    assert_eq!(
        first[0]["service_request_id"], again[0]["service_request_id"],
        "{first} {again}"
    );
    let other = post("retry-0002").await;
    assert_ne!(
        first[0]["service_request_id"],
        other[0]["service_request_id"]
    );
    assert_eq!(all_cases(&app).await.len(), 2);
}

#[tokio::test]
async fn bad_input_gets_the_specs_codes_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "测试客户端").await;
    let revoked = issue_key(&app, "已停用客户端").await;
    let admin = app.token("admin").await;
    let keys: Value = app
        .get_as("/api/v1/admin/api-keys", &admin)
        .await
        .json()
        .await
        .unwrap();
    let revoked_id = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "已停用客户端")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post(
            &format!("/api/v1/admin/api-keys/{revoked_id}/revoke"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);

    let ok = report(&key);
    let long_text = "喇".repeat(5000);
    let just_over = "喇".repeat(4001);
    let cases: Vec<(&str, Report, u16)> = vec![
        (
            "unknown service code",
            with(ok.clone(), "service_code", Some("dragons")),
            404,
        ),
        (
            "retired-looking code",
            with(ok.clone(), "service_code", Some("NOISE")),
            404,
        ),
        (
            "no service code",
            with(ok.clone(), "service_code", None),
            400,
        ),
        (
            "empty service code",
            with(ok.clone(), "service_code", Some("")),
            400,
        ),
        (
            "no location",
            with(
                with(with(ok.clone(), "lat", None), "long", None),
                "address_string",
                None,
            ),
            400,
        ),
        (
            "lat without long",
            with(with(ok.clone(), "long", None), "address_string", None),
            400,
        ),
        ("lat out of range", with(ok.clone(), "lat", Some("91")), 400),
        (
            "long out of range",
            with(ok.clone(), "long", Some("-181.5")),
            400,
        ),
        (
            "lat not a number",
            with(ok.clone(), "lat", Some("north")),
            400,
        ),
        ("lat NaN", with(ok.clone(), "lat", Some("NaN")), 400),
        (
            "outside the city",
            with(with(ok.clone(), "lat", Some("39.9")), "long", Some("116.4")),
            400,
        ),
        (
            "an address the address book cannot place",
            with(
                with(with(ok.clone(), "lat", None), "long", None),
                "address_string",
                Some("月球背面环形山"),
            ),
            400,
        ),
        (
            "address_id not an integer",
            with(ok.clone(), "address_id", Some("12b")),
            400,
        ),
        (
            "5000-character description",
            with(ok.clone(), "description", Some(&long_text)),
            400,
        ),
        (
            "4001-character description",
            with(ok.clone(), "description", Some(&just_over)),
            400,
        ),
        (
            "a value outside the list",
            with(ok.clone(), "attribute[period]", Some("noon")),
            400,
        ),
        (
            "an unknown attribute",
            with(ok.clone(), "attribute[colour]", Some("red")),
            400,
        ),
        (
            "malformed attribute",
            with(ok.clone(), "attribute[period", Some("day")),
            400,
        ),
        (
            "a phone that is not one",
            with(ok.clone(), "phone", Some("111111111")),
            400,
        ),
        (
            "media_url not http",
            with(ok.clone(), "media_url", Some("javascript:alert(1)")),
            400,
        ),
        ("no api_key", with(ok.clone(), "api_key", None), 403),
        ("empty api_key", with(ok.clone(), "api_key", Some("")), 403),
        (
            "wrong api_key",
            with(ok.clone(), "api_key", Some("w311_notakeyatall")),
            403,
        ),
        (
            "garbage api_key",
            with(ok.clone(), "api_key", Some("xyz")),
            403,
        ),
        (
            "revoked api_key",
            with(ok.clone(), "api_key", Some(&revoked)),
            403,
        ),
        (
            "foreign jurisdiction",
            with(ok.clone(), "jurisdiction_id", Some("sfgov.org")),
            404,
        ),
    ];
    for (what, form, status) in &cases {
        let res = post_form(&app, "requests.json", &pairs(form)).await;
        let got = res.status().as_u16();
        assert_eq!(got, *status, "{what}");
        let d = assert_error_json(res, *status).await;
        assert!(!d.contains("internal"), "{what}: {d}");
        // The same refusal in XML.
        let res = post_form(&app, "requests.xml", &pairs(form)).await;
        assert_error_xml(res, *status).await;
    }
    // Two values for a single-choice question.
    let mut twice = with(ok.clone(), "attribute[period]", None);
    twice.push(("attribute[period][]", "day".into()));
    twice.push(("attribute[period][]", "night".into()));
    assert_error_json(post_form(&app, "requests.json", &pairs(&twice)).await, 400).await;
    // Not a form at all.
    let res = app
        .client
        .post(app.url(&format!("{BASE}/requests.json")))
        .json(&json!({"service_code": "noise"}))
        .send()
        .await
        .unwrap();
    assert_error_json(res, 400).await;
    // An unknown format suffix: 404 in XML.
    assert_error_xml(post_form(&app, "requests.html", &pairs(&ok)).await, 404).await;
    assert_error_xml(post_form(&app, "requests", &pairs(&ok)).await, 404).await;

    // Nothing was half-written: no case, and the good report still goes through, numbered 1.
    assert!(all_cases(&app).await.is_empty());
    let id = create(&app, &ok).await;
    assert!(
        id.ends_with("-000001"),
        "no refused report took a number: {id}"
    );
    assert_eq!(all_cases(&app).await.len(), 1);
    // A single value sent as a list is fine.
    let mut listed = with(ok.clone(), "attribute[period]", None);
    listed.push(("attribute[period][]", "night".into()));
    create(&app, &listed).await;
    assert_eq!(all_cases(&app).await.len(), 2);
}

// ---- GET requests --------------------------------------------------------------------------

#[tokio::test]
async fn requests_are_listed_filtered_and_paged_without_personal_data() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "城市 App").await;
    let media = "https://img.example.cn/p/gate.jpg";
    let first = create(&app, &with(report(&key), "media_url", Some(media))).await;
    let second = create(
        &app,
        &with(
            with(report(&key), "service_code", Some("street_vending")),
            "attribute[period]",
            None,
        ),
    )
    .await;
    let third = create(&app, &report(&key)).await;

    // A native report too: listed, but without its description or address.
    let (lat, lon) = wenchang_south_gate();
    let zhang = app.token("13800001234").await;
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": "我家楼下太吵了，我是张师傅", "lat": lat, "lon": lon, "address": "3栋2单元501"}),
            Some(&zhang),
        )
        .await;
    assert_eq!(res.status(), 201);
    let native: Value = res.json().await.unwrap();
    let native_number = native["number"].as_str().unwrap().to_owned();

    // Close the third (rejected as a duplicate) so that the statuses differ.
    let dispatcher = app.token("dispatcher").await;
    let third_id = all_cases(&app)
        .await
        .iter()
        .find(|c| c["number"] == third)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post(
            &format!("/api/v1/cases/{third_id}/actions"),
            &json!({"action": "reject", "version": 1, "reason": "duplicate", "duplicate_of": first}),
            Some(&dispatcher),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    let list = get_json(&app, "requests.json").await;
    let list = list.as_array().unwrap();
    let ids: Vec<_> = list
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [native_number.as_str(), second.as_str(), first.as_str()],
        "newest first; the rejected report is not listed"
    );
    let r = list
        .iter()
        .find(|r| r["service_request_id"] == first)
        .unwrap();
    assert_eq!(r["status"], "open");
    assert_eq!(r["status_notes"], "待受理");
    assert_eq!(r["service_code"], "noise");
    assert_eq!(r["service_name"], "噪声扰民");
    assert_eq!(r["agency_responsible"], "海州区城市管理局");
    assert_eq!(r["address"], "文昌社区南门");
    assert!(
        r["description"].as_str().unwrap().contains("139****5678"),
        "{r}"
    );
    assert_eq!(r["media_url"], media);
    assert!(r["address_id"].is_null() && r["zipcode"].is_null());
    assert!(r["expected_datetime"].as_str().unwrap().ends_with("+08:00"));
    assert!(
        r["requested_datetime"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    assert!(r.get("extended_attributes").is_none() && r.get("notes").is_none());
    let lat_out = r["lat"].as_f64().unwrap();
    assert_eq!(
        lat_out,
        (lat * 1000.0).round() / 1000.0,
        "rounded like the public map"
    );
    assert!((r["long"].as_f64().unwrap() - lon).abs() < 0.001);
    let n = list
        .iter()
        .find(|r| r["service_request_id"] == native_number)
        .unwrap();
    assert!(
        n["description"].is_null(),
        "native reports keep their text private"
    );
    assert_eq!(n["address"], "文昌社区, 海州街道, 海州区");
    assert!(n["media_url"].is_null());

    // No personal data anywhere, in either format, with or without extensions.
    for path in [
        "requests.json",
        "requests.xml",
        "requests.json?extensions=true",
        "requests.xml?extensions=true",
    ] {
        let text = get(&app, path).await.text().await.unwrap();
        for secret in [
            "13912345678",
            "张三",
            "zhangsan@example.cn",
            "tt222111",
            "123456",
            "3栋2单元501",
            "张师傅",
            "13800001234",
        ] {
            assert!(!text.contains(secret), "{path} shows {secret}");
        }
    }

    // Filters: service_code (comma list, repeated), status, and both.
    let codes = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes(get_json(&app, "requests.json?service_code=street_vending").await),
        [second.as_str()]
    );
    assert_eq!(
        codes(get_json(&app, "requests.json?service_code=street_vending,noise").await).len(),
        3
    );
    assert_eq!(
        codes(
            get_json(
                &app,
                "requests.json?service_code=street_vending&service_code=noise"
            )
            .await
        )
        .len(),
        3
    );
    assert!(codes(get_json(&app, "requests.json?service_code=dragons").await).is_empty());
    assert_eq!(
        codes(get_json(&app, "requests.json?status=open").await).len(),
        3
    );
    assert!(codes(get_json(&app, "requests.json?status=closed").await).is_empty());
    assert_eq!(
        codes(get_json(&app, "requests.json?status=open,closed").await).len(),
        3
    );
    // Empty optional parameters are ignored.
    assert_eq!(
        codes(
            get_json(
                &app,
                "requests.json?status=&service_code=&start_date=&end_date=&page=&page_size=&jurisdiction_id="
            )
            .await
        )
        .len(),
        3
    );

    // service_request_id overrides the other filters and shows the rejected one, closed.
    let by_id = get_json(
        &app,
        &format!("requests.json?service_request_id={third},{first},HZ-nonsense&status=open&service_code=street_vending"),
    )
    .await;
    let by_id = by_id.as_array().unwrap();
    assert_eq!(by_id.len(), 2);
    let rejected = by_id
        .iter()
        .find(|r| r["service_request_id"] == third)
        .unwrap();
    assert_eq!(rejected["status"], "closed");
    assert_eq!(rejected["status_notes"], "不予立案");
    assert!(rejected["expected_datetime"].is_null());

    // Dates: a window that holds them, one that does not, and one too long.
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    let w3 = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        codes(
            get_json(
                &app,
                &format!(
                    "requests.json?start_date={}&end_date={}",
                    w3(now - day),
                    w3(now + day)
                )
            )
            .await
        )
        .len(),
        3
    );
    assert!(
        codes(get_json(&app, &format!("requests.json?end_date={}", w3(now - day))).await)
            .is_empty()
    );
    // An offset whose + arrived as a space (sent unencoded) still parses.
    let local = (now + day).format("%Y-%m-%dT%H:%M:%S").to_string();
    assert_eq!(
        codes(get_json(&app, &format!("requests.json?end_date={local}+08:00")).await).len(),
        3
    );
    assert_error_json(
        get(
            &app,
            &format!(
                "requests.json?start_date={}&end_date={}",
                w3(now - day * 100),
                w3(now)
            ),
        )
        .await,
        400,
    )
    .await;
    assert_error_json(
        get(
            &app,
            &format!(
                "requests.json?start_date={}&end_date={}",
                w3(now),
                w3(now - day)
            ),
        )
        .await,
        400,
    )
    .await;
    assert_error_json(get(&app, "requests.json?start_date=yesterday").await, 400).await;
    assert_error_json(get(&app, "requests.json?status=pending").await, 400).await;
    assert_error_xml(get(&app, "requests.xml?status=pending").await, 400).await;

    // Paging extension.
    assert_eq!(
        codes(get_json(&app, "requests.json?page_size=2").await),
        [native_number.clone(), second.clone()]
    );
    assert_eq!(
        codes(get_json(&app, "requests.json?page_size=2&page=2").await),
        [first.as_str()]
    );
    assert!(codes(get_json(&app, "requests.json?page_size=2&page=3").await).is_empty());
    assert_eq!(
        codes(get_json(&app, "requests.json?page_size=5000").await).len(),
        3,
        "page_size is capped at 1000, not refused"
    );
    for bad in ["page=0", "page=-1", "page=two", "page_size=0"] {
        assert_error_json(get(&app, &format!("requests.json?{bad}")).await, 400).await;
    }

    // XML list.
    let xml = get_xml(&app, "requests.xml?service_code=noise").await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_requests");
    let requests = elements(root, "request");
    assert_eq!(requests.len(), 2);
    let r = requests
        .iter()
        .find(|r| child(**r, "service_request_id") == Some(first.as_str()))
        .unwrap();
    assert_eq!(child(*r, "status"), Some("open"));
    assert_eq!(child(*r, "service_code"), Some("noise"));
    assert_eq!(child(*r, "media_url"), Some(media));
    assert_eq!(child(*r, "zipcode"), Some(""));
    assert_eq!(
        child(*r, "lat").unwrap().parse::<f64>().unwrap(),
        (lat * 1000.0).round() / 1000.0
    );
}

#[tokio::test]
async fn one_request_is_an_array_of_one_and_extensions_add_the_timeline() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "城市 App").await;
    let id = create(&app, &report(&key)).await;

    let one = get_json(&app, &format!("requests/{id}.json")).await;
    let one = one
        .as_array()
        .expect("the spec returns a one-element array");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["service_request_id"], id);
    assert_eq!(one[0]["status"], "open");

    let xml = get_xml(&app, &format!("requests/{id}.xml")).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_requests");
    let requests = elements(root, "request");
    assert_eq!(requests.len(), 1);
    assert_eq!(child(requests[0], "service_request_id"), Some(id.as_str()));

    // The officer handles it; extensions show the detailed state and the public steps.
    let case_id = all_cases(&app).await[0]["id"].as_i64().unwrap();
    let dispatcher = app.token("dispatcher").await;
    let tianye = app.login("tianye", crate::helpers::PW).await;
    let tianye_id = tianye["account"]["id"].as_i64().unwrap();
    let tianye_token = tianye["access_token"].as_str().unwrap().to_owned();
    let act = |token: String, body: Value| {
        let app = &app;
        async move {
            let res = app
                .post(
                    &format!("/api/v1/cases/{case_id}/actions"),
                    &body,
                    Some(&token),
                )
                .await;
            assert_eq!(res.status(), 200, "{body}");
        }
    };
    act(
        dispatcher.clone(),
        json!({"action": "accept", "version": 1}),
    )
    .await;
    act(
        dispatcher.clone(),
        json!({"action": "dispatch", "version": 2, "assignee_id": tianye_id}),
    )
    .await;
    act(
        tianye_token.clone(),
        json!({"action": "comment", "version": 3, "note": "内部：商户老板电话 13700001111"}),
    )
    .await;

    let ext = get_json(&app, &format!("requests/{id}.json?extensions=true")).await;
    let r = &ext[0];
    assert_eq!(r["status"], "open");
    assert_eq!(r["status_notes"], "已派遣");
    let x = &r["extended_attributes"];
    assert_eq!(x["status"], "dispatched");
    assert_eq!(x["stage"], "sign");
    assert_eq!(x["community"], "文昌社区");
    assert_eq!(x["channel"], "open311");
    let notes = r["notes"].as_array().unwrap();
    let types: Vec<_> = notes.iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["report", "accept", "dispatch", "comment"]);
    assert_eq!(notes[2]["description"], "派遣");
    assert_eq!(
        notes[3]["description"], "备注",
        "internal comments are not published"
    );
    for n in notes {
        assert!(n["datetime"].as_str().unwrap().ends_with("+08:00"));
        assert!(n.get("actor_id").is_none());
    }
    let text = serde_json::to_string(&ext).unwrap();
    assert!(!text.contains("13700001111"));

    let xml = get_xml(&app, &format!("requests/{id}.xml?extensions=true")).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let request = elements(doc.root_element(), "request")[0];
    let x = elements(request, "extended_attributes")[0];
    assert_eq!(child(x, "status"), Some("dispatched"));
    let notes = elements(elements(request, "notes")[0], "note");
    assert_eq!(notes.len(), 4);
    assert_eq!(child(notes[0], "type"), Some("report"));

    // English.
    let res = app
        .client
        .get(app.url(&format!("{BASE}/requests/{id}.json")))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    let en: Value = res.json().await.unwrap();
    assert_eq!(en[0]["status_notes"], "Dispatched to an officer");
    assert_eq!(
        en[0]["service_name"],
        "Noise nuisance (e.g. loudspeaker hawking)"
    );

    // Unknown ids, in either format.
    assert_error_json(get(&app, "requests/HZ-20991231-000001.json").await, 404).await;
    assert_error_json(get(&app, "requests/12345.json").await, 404).await;
    assert_error_xml(get(&app, "requests/HZ-20991231-000001.xml").await, 404).await;
}

#[tokio::test]
async fn e_mail_addresses_and_landlines_in_a_description_are_masked() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "城市 App").await;
    let description = "联系人孙自述 邮箱sun.self@example.com 座机0518-85551234";
    let id = create(&app, &with(report(&key), "description", Some(description))).await;
    let masked = "联系人孙自述 邮箱s***@example.com 座机0518-****1234";
    let hidden = ["sun.self@example.com", "85551234", "0518-8555"];

    let one = get_json(&app, &format!("requests/{id}.json")).await;
    assert_eq!(one[0]["description"], masked, "{one}");
    let list = get_json(&app, "requests.json").await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == id.as_str())
        .unwrap();
    assert_eq!(listed["description"], masked);
    let text = format!("{one}{list}");
    for secret in hidden {
        assert!(!text.contains(secret), "{secret} published: {text}");
    }

    let xml = get_xml(&app, &format!("requests/{id}.xml")).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let request = elements(doc.root_element(), "request")[0];
    assert_eq!(child(request, "description"), Some(masked));
    for secret in hidden {
        assert!(!xml.contains(secret), "{secret} published: {xml}");
    }
}

#[tokio::test]
async fn tokens_resolve_to_the_request() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "批量客户端").await;
    let id = create(&app, &report(&key)).await;
    let t = get_json(&app, &format!("tokens/{id}.json")).await;
    assert_eq!(t, json!([{"service_request_id": id, "token": id}]));
    let xml = get_xml(&app, &format!("tokens/{id}.xml")).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let request = elements(doc.root_element(), "request")[0];
    assert_eq!(child(request, "token"), Some(id.as_str()));
    assert_eq!(child(request, "service_request_id"), Some(id.as_str()));
    assert_error_json(get(&app, "tokens/unknown-token.json").await, 404).await;
    assert_error_xml(get(&app, "tokens/HZ-20991231-000001.xml").await, 404).await;
}

// ---- API keys ------------------------------------------------------------------------------

#[tokio::test]
async fn admins_issue_list_and_revoke_keys_and_nobody_else_can() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let res = app
        .post(
            "/api/v1/admin/api-keys",
            &json!({"name": "街道微信小程序"}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 201);
    let issued: Value = res.json().await.unwrap();
    let plaintext = issued["api_key"].as_str().unwrap().to_owned();
    assert!(plaintext.starts_with("w311_"));
    assert!(plaintext.starts_with(issued["hint"].as_str().unwrap()));
    assert_eq!(issued["active"], true);
    let id = issued["id"].as_i64().unwrap();

    // Listed without the key itself.
    let listed = app.get_as("/api/v1/admin/api-keys", &admin).await;
    assert_eq!(listed.status(), 200);
    let text = listed.text().await.unwrap();
    assert!(!text.contains(&plaintext));
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed[0]["name"], "街道微信小程序");
    assert!(listed[0].get("api_key").is_none());

    // Only admins.
    for user in ["dispatcher", "tianye", "13800001234"] {
        let token = app.token(user).await;
        crate::helpers::assert_problem(
            app.get_as("/api/v1/admin/api-keys", &token).await,
            403,
            "role_not_permitted",
        )
        .await;
        let res = app
            .post(
                "/api/v1/admin/api-keys",
                &json!({"name": "x"}),
                Some(&token),
            )
            .await;
        assert_eq!(res.status(), 403);
    }
    crate::helpers::assert_problem(
        app.post("/api/v1/admin/api-keys", &json!({"name": ""}), Some(&admin))
            .await,
        422,
        "invalid_value",
    )
    .await;

    // The key works until it is revoked; revoking twice is harmless; unknown ids are 404.
    let form = report(&plaintext);
    create(&app, &form).await;
    let res = app
        .post(
            &format!("/api/v1/admin/api-keys/{id}/revoke"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert_eq!(revoked["active"], false);
    assert!(revoked["revoked_at"].is_string());
    let again = app
        .post(
            &format!("/api/v1/admin/api-keys/{id}/revoke"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(again.status(), 200);
    crate::helpers::assert_problem(
        app.post(
            "/api/v1/admin/api-keys/999/revoke",
            &json!({}),
            Some(&admin),
        )
        .await,
        404,
        "api_key_not_found",
    )
    .await;
    assert_error_json(post_form(&app, "requests.json", &pairs(&form)).await, 403).await;
    assert_eq!(all_cases(&app).await.len(), 1);

    // Issuing and revoking are audited, once each.
    let audit: Value = app
        .get_as("/api/v1/admin/audit", &admin)
        .await
        .json()
        .await
        .unwrap();
    let events: Vec<_> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .filter(|e| e.starts_with("api_key"))
        .collect();
    assert_eq!(events, ["api_key_revoked", "api_key_created"]);
}

#[tokio::test]
async fn an_address_only_report_is_placed_by_the_address_book() {
    let app = TestApp::spawn().await;
    let key = issue_key(&app, "地址簿客户端").await;
    let places: Value = app.get_json("/api/v1/places?q=文昌社区南门").await;
    let gate = places[0].clone();
    assert_eq!(gate["name"], "文昌社区南门");

    // address_string alone, as a client without location services sends it.
    let words = with(with(report(&key), "lat", None), "long", None);
    let words = with(words, "address_string", Some("文昌社区南门口"));
    let id = create(&app, &words).await;
    let one = get_json(&app, &format!("requests/{id}.json")).await;
    assert_eq!(one[0]["address_id"], gate["id"].to_string());
    assert_eq!(one[0]["address"], "文昌社区南门口");

    // address_id alone: the entry's id, as the spec's address_id.
    let by_id = with(words.clone(), "address_string", None);
    let by_id = with(by_id, "address_id", Some(&gate["id"].to_string()));
    let id = create(&app, &by_id).await;
    let one = get_json(&app, &format!("requests/{id}.json")).await;
    assert_eq!(one[0]["address_id"], gate["id"].to_string());

    // Neither the book nor a point can place it: the spec's 400, and nothing is written.
    let before = all_cases(&app).await.len();
    let nowhere = with(words, "address_string", Some("月球背面"));
    let res = post_form(&app, "requests.json", &pairs(&nowhere)).await;
    assert_error_json(res, 400).await;
    let unknown = with(by_id, "address_id", Some("999999"));
    let res = post_form(&app, "requests.json", &pairs(&unknown)).await;
    assert_error_json(res, 400).await;
    assert_eq!(all_cases(&app).await.len(), before);
}
