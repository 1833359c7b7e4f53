use serde_json::Value;
use whistle_domain::location::{Coordinate, Crs};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

async fn locate(app: &TestApp, lat: f64, lon: f64, crs: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/locate?lat={lat}&lon={lon}&crs={crs}"))
        .await
}

#[tokio::test]
async fn a_wgs84_point_in_wenchang_is_routed_there() {
    let app = TestApp::spawn().await;
    let (lat, lon) = wenchang_south_gate();
    let res = locate(&app, lat, lon, "wgs84").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["community"]["name"], "文昌社区");
    assert_eq!(body["street"]["name"], "海州街道");
    assert_eq!(body["district"]["name"], "海州区");
    // South of the middle line: one of the two southern grids.
    assert!(["第一网格", "第二网格"].contains(&body["grid"]["name"].as_str().unwrap()));
    assert_eq!(body["crs"], "wgs84");
}

#[tokio::test]
async fn a_gcj02_point_in_wenchang_is_routed_there() {
    let app = TestApp::spawn().await;
    let (lat, lon) = wenchang_south_gate();
    let wgs = app
        .get_json(&format!("/api/v1/locate?lat={lat}&lon={lon}"))
        .await;
    // What an Amap/Tencent map in the resident's phone reports for the same spot.
    let (glat, glon) = Coordinate::wgs84(lat, lon).unwrap().to_crs(Crs::Gcj02);
    let res = locate(&app, glat, glon, "gcj02").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["community"]["name"], "文昌社区");
    assert_eq!(body["grid"]["id"], wgs["grid"]["id"]);
    assert!((body["wgs84"]["lat"].as_f64().unwrap() - lat).abs() < 1e-6);
    assert!((body["wgs84"]["lon"].as_f64().unwrap() - lon).abs() < 1e-6);
    // The same numbers taken as WGS-84 are hundreds of metres away: not the same grid.
    let raw = locate(&app, glat, glon, "wgs84").await;
    if raw.status() == 200 {
        let raw: Value = raw.json().await.unwrap();
        assert_ne!(raw["grid"]["id"], wgs["grid"]["id"]);
    } else {
        assert_problem(raw, 404, "outside_city").await;
    }
}

#[tokio::test]
async fn a_bd09_point_in_wenchang_is_routed_there() {
    let app = TestApp::spawn().await;
    let (lat, lon) = wenchang_south_gate();
    let (blat, blon) = Coordinate::wgs84(lat, lon).unwrap().to_crs(Crs::Bd09);
    let res = locate(&app, blat, blon, "bd09").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["community"]["name"], "文昌社区");
}

#[tokio::test]
async fn every_grid_routes_its_own_interior() {
    let app = TestApp::spawn().await;
    let grids = app.get_json("/api/v1/grids").await;
    for g in grids.as_array().unwrap() {
        let b: Vec<f64> = g["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let (lat, lon) = ((b[1] + b[3]) / 2.0, (b[0] + b[2]) / 2.0);
        let hit = app
            .get_json(&format!("/api/v1/locate?lat={lat}&lon={lon}"))
            .await;
        assert_eq!(hit["grid"]["id"], g["id"], "centre of {}", g["code"]);
        assert_eq!(hit["community"]["id"], g["community_id"]);
    }
}

#[tokio::test]
async fn outside_the_city_is_404() {
    let app = TestApp::spawn().await;
    // Beijing, Tiananmen.
    let body = assert_problem(
        locate(&app, 39.9087, 116.3975, "wgs84").await,
        404,
        "outside_city",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("39.9087"));
    assert_problem(locate(&app, 0.0, 0.0, "gcj02").await, 404, "outside_city").await;
}

#[tokio::test]
async fn malformed_and_out_of_range_coordinates_are_422() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("lat=91&lon=119.14", "lat"),
        ("lat=-90.01&lon=119.14", "lat"),
        ("lat=34.5&lon=180.5", "lon"),
        ("lat=NaN&lon=119.14", "lat"),
        ("lat=34.5&lon=inf", "lon"),
        ("lat=1e400&lon=119.14", "lat"),
        ("lat=abc&lon=119.14", "lat"),
        ("lat=34.5&lon=", "lon"),
        ("lat=34.5", "lon"),
        ("lon=119.14", "lat"),
        ("", "lat"),
        ("lat=34%2C5&lon=119.14", "lat"),
    ] {
        let res = app.get(&format!("/api/v1/locate?{query}")).await;
        let body = assert_problem(res, 422, "invalid_coordinate").await;
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let body = assert_problem(
        app.get("/api/v1/locate?lat=34.58&lon=119.14&crs=utm50n")
            .await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["field"], "crs");
}

#[tokio::test]
async fn errors_speak_the_clients_language() {
    let app = TestApp::spawn().await;
    let zh = app.get("/api/v1/locate?lat=39.9&lon=116.4").await;
    let zh = assert_problem(zh, 404, "outside_city").await;
    assert_eq!(zh["title"], "位置不在本市网格内");
    let en = app
        .client
        .get(app.url("/api/v1/locate?lat=39.9&lon=116.4"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    let en = assert_problem(en, 404, "outside_city").await;
    assert_eq!(en["title"], "Location outside the city");
    assert_eq!(en["instance"], "/api/v1/locate");
    assert!(en["request_id"].as_str().is_some());
}
