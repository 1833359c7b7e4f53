use serde_json::Value;

use crate::helpers::TestApp;
use crate::schema::assert_matches_schema;

#[tokio::test]
async fn openapi_describes_every_endpoint() {
    let app = TestApp::spawn_with(false, &[]).await;
    let doc = app.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/readyz",
        "/api/v1/districts",
        "/api/v1/streets",
        "/api/v1/communities",
        "/api/v1/communities/{id}",
        "/api/v1/grids",
        "/api/v1/locate",
        "/api/v1/places",
        "/api/v1/places/{id}",
        "/api/v1/admin/places",
        "/api/v1/admin/places/{id}",
        "/api/v1/categories",
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/admin/users",
        "/api/v1/admin/users/{id}",
        "/api/v1/admin/users/{id}/disable",
        "/api/v1/admin/users/{id}/enable",
        "/api/v1/admin/users/{id}/role",
        "/api/v1/admin/users/{id}/jurisdiction",
        "/api/v1/admin/users/{id}/password-reset",
        "/api/v1/me/password",
        "/api/v1/me/sessions",
        "/api/v1/me/sessions/{id}",
        "/api/v1/admin/audit",
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/timeline",
        "/api/v1/cases/{id}/actions",
        "/api/v1/public/cases",
        "/api/v1/admin/categories",
        "/api/v1/admin/categories/{code}",
        "/api/v1/admin/categories/{code}/sla",
        "/api/v1/admin/categories/{code}/attributes",
        "/api/v1/admin/categories/{code}/sla/{priority}",
        "/api/v1/admin/calendar",
        "/api/v1/cases/{id}/attachments",
        "/api/v1/stationings",
        "/api/v1/stationings/{id}/end",
        "/api/v1/communities/{id}/stationings",
        "/api/v1/officers/{id}/stationings",
        "/api/v1/officers/{id}/photo",
        "/api/v1/communities/{id}/contact-card",
        "/api/v1/communities/{id}/contact-card.svg",
        "/api/v1/communities/{id}/contact-card.png",
        "/api/v1/organisations",
        "/api/v1/organisations/{id}",
        "/api/v1/organisations/{id}/members",
        "/api/v1/merchants",
        "/api/v1/merchants/{id}",
        "/api/v1/merchants/repeat-offenders",
        "/api/v1/merchants/{id}/pledges",
        "/api/v1/merchants/{id}/inspections",
        "/api/v1/merchants/{id}/compliance",
        "/api/v1/pledge-items",
        "/api/v1/pledges/expiring",
        "/api/v1/pledges/{id}",
        "/api/v1/pledges/{id}/revoke",
        "/api/v1/pledges/{id}/signature",
        "/api/v1/pledges/{id}/document",
        "/api/v1/inspections/{id}",
        "/api/v1/inspections/{id}/photos",
        "/api/v1/inspection-photos/{id}",
        "/api/v1/attachments/{id}",
        "/api/v1/work-logs",
        "/api/v1/work-logs/mix",
        "/api/v1/work-logs/{id}",
        "/api/v1/work-logs/{id}/photos",
        "/api/v1/work-logs/{id}/photos/{photo_id}",
        "/api/v1/admin/api-keys",
        "/api/v1/admin/api-keys/{id}/revoke",
        "/api/v1/notifications",
        "/api/v1/notifications/{id}/read",
        "/api/v1/notifications/read-all",
        "/api/v1/me/notification-settings",
        "/api/v1/admin/notifications",
        "/api/v1/admin/notifications/{id}/retry",
        "/api/v1/analytics/summary",
        "/api/v1/analytics/hotspots",
        "/api/v1/analytics/repeat-locations",
        "/api/v1/analytics/repeat-merchants",
        "/api/v1/analytics/recurring-categories",
        "/api/v1/analytics/workload",
        "/api/v1/analytics/cases.csv",
        "/open311/v2/discovery.{format}",
        "/open311/v2/services.{format}",
        "/open311/v2/services/{service_code}.{format}",
        "/open311/v2/requests.{format}",
        "/open311/v2/requests/{service_request_id}.{format}",
        "/open311/v2/tokens/{token}.{format}",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Open311's requests resource is both read and written.
    let requests = &doc["paths"]["/open311/v2/requests.{format}"];
    assert!(requests["get"].is_object() && requests["post"].is_object());
    assert!(
        requests["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object()
    );
    // The bearer scheme, and the endpoints that need it say so.
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
    assert!(doc["paths"]["/api/v1/me"]["get"]["security"][0]["bearer"].is_array());
    assert!(doc["paths"]["/api/v1/admin/users"]["post"]["security"][0]["bearer"].is_array());
    // The generated document and the served one are the same.
    assert_eq!(
        serde_json::to_value(whistle_api::routes::openapi()).unwrap()["paths"],
        doc["paths"]
    );
}

/// A schema name belongs to one Rust type. When two types register the same name, the document
/// keeps one of them for both, and the other endpoint's documented body is not the body it sends:
/// only real bodies show it. The two 721 mixes (the work-log mix and each officer's share in the
/// workload) are the pair that once collided.
#[tokio::test]
async fn the_documented_schemas_are_the_bodies_sent() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/openapi.json").await;
    let leader = app.token("leader.haizhou1").await;
    let officer = app.token("tianye").await;
    let mut bodies = Vec::new();
    for (path, template, token) in [
        (
            "/api/v1/analytics/workload",
            "/api/v1/analytics/workload",
            &leader,
        ),
        (
            "/api/v1/work-logs/mix?officer=me",
            "/api/v1/work-logs/mix",
            &officer,
        ),
        ("/api/v1/work-logs/mix", "/api/v1/work-logs/mix", &leader),
    ] {
        let res = app.get_as(path, token).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        assert_matches_schema(&doc, "get", template, status, &body);
        bodies.push(body);
    }
    // Without an officer in the workload, the per-officer mix would go unchecked.
    let officers = bodies[0]["officers"].as_array();
    assert!(officers.is_some_and(|o| !o.is_empty()), "{}", bodies[0]);
}

#[tokio::test]
async fn docs_render_from_local_assets_only() {
    let app = TestApp::spawn_with(false, &[]).await;
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no CDN links: {html}");
    let js = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(js.status(), 200);
    assert!(
        js.text().await.unwrap().len() > 100_000,
        "the bundle is served locally"
    );
    let init = app.get("/docs/swagger-initializer.js").await;
    assert!(init.text().await.unwrap().contains("/openapi.json"));
}

/// A parameter documented as `in: path` must be a placeholder of its path: generated clients
/// otherwise put query parameters into the URL's path and never send them.
#[tokio::test]
async fn path_parameters_are_the_paths_placeholders() {
    let app = TestApp::spawn_with(false, &[]).await;
    let doc = app.get_json("/openapi.json").await;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                if p["in"] == "path" && !path.contains(&format!("{{{name}}}")) {
                    wrong.push(format!("{method} {path}: {name}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "query parameters documented as path parameters: {wrong:#?}"
    );
}

/// The API's contract is reviewed as a file: `web/api/openapi.json` is the document as it was
/// last agreed, and any change to an endpoint, a field or a schema shows up here until that
/// copy is regenerated (`npm run gen:api` in `web/`) in the same commit.
#[tokio::test]
async fn openapi_document_matches_the_stored_copy() {
    let app = TestApp::spawn_with(false, &[]).await;
    let served = app.get_json("/openapi.json").await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/api/openapi.json");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut differences = Vec::new();
    diff("", &stored, &served, &mut differences);
    assert!(
        differences.is_empty(),
        "the OpenAPI document differs from web/api/openapi.json (regenerate it with \
         `npm run gen:api` in web/ if the change is meant):\n{}",
        differences.join("\n")
    );
}

/// Where two JSON documents differ, as JSON pointers (at most a screenful).
fn diff(at: &str, stored: &Value, served: &Value, out: &mut Vec<String>) {
    if out.len() >= 40 {
        return;
    }
    match (stored, served) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match b.get(k) {
                    Some(w) => diff(&here, v, w, out),
                    None => out.push(format!("{here}: only in the stored copy")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{at}/{k}: only in the served document"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff(&format!("{at}/{i}"), v, w, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{at}: stored {a}, served {b}")),
    }
}
