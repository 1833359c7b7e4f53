use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = TestApp::spawn_with(false, &[]).await;
    let health = app.get_json("/healthz").await;
    assert_eq!(health["status"], "ok");
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn_with(false, &[]).await;
    let res = app.get("/healthz").await;
    let id = res
        .headers()
        .get("x-request-id")
        .expect("request id header");
    assert_eq!(id.to_str().unwrap().len(), 36, "a UUID");
    // A client-supplied id is kept, so a request can be traced across services.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "mobile-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "mobile-abc-123");
}

#[tokio::test]
async fn responses_are_gzipped_when_asked() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/grids"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
}
