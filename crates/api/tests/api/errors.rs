use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::spawn_with(false, &[]).await;
    assert_problem(
        app.get("/api/v1/nothing-here").await,
        404,
        "route_not_found",
    )
    .await;
    assert_problem(app.get("/").await, 404, "route_not_found").await;
    let res = app
        .client
        .delete(app.url("/api/v1/communities"))
        .send()
        .await
        .unwrap();
    let allow = res.headers().get("allow").cloned();
    assert_problem(res, 405, "method_not_allowed").await;
    assert!(allow.is_some(), "405 keeps its Allow header");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(false, &[("WHISTLE__SERVER__BODY_LIMIT_BYTES", "1024")]).await;
    // A JSON body over server.body_limit_bytes.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"username\":\"{}\",\"password\":\"x\"}}",
            "x".repeat(64 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    // Anything over the hard cap (the photo limit) is refused before it is read.
    let res = app
        .client
        .post(app.url("/api/v1/locate"))
        .header("content-type", "application/json")
        .body(vec![b'x'; 11 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    // The server is still fine afterwards.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn hostile_query_strings_never_500() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/locate?lat=%00&lon=%FF",
        "/api/v1/locate?lat=34.58&lon=119.14&crs=%3Cscript%3E",
        "/api/v1/locate?lat[]=1&lon=2",
        "/api/v1/communities?cursor=i99999999999999999999",
        "/api/v1/communities?limit=99999999999999999999999",
        "/api/v1/communities?street_id=9223372036854775807",
        "/api/v1/grids?community_id=%27;DROP%20TABLE%20grid;--",
        "/api/v1/streets?district_id=1e3",
        "/api/v1/categories?x=%E4%B8%AD%E6%96%87",
    ] {
        let res = app.get(path).await;
        assert!(res.status().as_u16() < 500, "{path} → {}", res.status());
        if !res.status().is_success() {
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(ct, "application/problem+json", "{path}");
        }
    }
    // The grid table survived the injection attempt.
    assert_eq!(
        app.get_json("/api/v1/grids")
            .await
            .as_array()
            .unwrap()
            .len(),
        24
    );
}
