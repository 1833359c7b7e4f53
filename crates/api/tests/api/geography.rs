use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::{TestApp, assert_problem};

fn find<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {list:?}"))
}

#[tokio::test]
async fn communities_list_with_street_and_district() {
    let app = TestApp::spawn().await;
    let page = app.get_json("/api/v1/communities").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert!(page["next_cursor"].is_null());
    let wenchang = find(items, "文昌社区");
    assert_eq!(wenchang["street"]["name"], "海州街道");
    assert_eq!(wenchang["district"]["name"], "海州区");
    assert_eq!(wenchang["grid_count"], 4);
    assert!(wenchang.get("boundary").is_none(), "lists stay light");
}

#[tokio::test]
async fn community_pages_cover_everything_once() {
    let app = TestApp::spawn().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/communities?limit=4&cursor={c}"),
            None => "/api/v1/communities?limit=4".to_owned(),
        };
        let page = app.get_json(&path).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 4);
        seen.extend(items.iter().map(|c| c["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "stable ascending order"
    );
}

#[tokio::test]
async fn communities_filter_by_street_and_district() {
    let app = TestApp::spawn().await;
    let streets = app.get_json("/api/v1/streets").await;
    let streets = streets.as_array().unwrap();
    assert_eq!(streets.len(), 3);
    let haizhou = find(streets, "海州街道");
    let page = app
        .get_json(&format!("/api/v1/communities?street_id={}", haizhou["id"]))
        .await;
    let names: HashSet<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, HashSet::from(["文昌社区", "鼓楼社区"]));

    let districts = app.get_json("/api/v1/districts").await;
    assert_eq!(districts[0]["name"], "海州区");
    assert_eq!(districts[0]["case_prefix"], "HZ");
    let all = app
        .get_json(&format!(
            "/api/v1/communities?district_id={}",
            districts[0]["id"]
        ))
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    let none = app.get_json("/api/v1/communities?district_id=999").await;
    assert!(none["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn one_community_with_its_boundary() {
    let app = TestApp::spawn().await;
    let page = app.get_json("/api/v1/communities").await;
    let id = find(page["items"].as_array().unwrap(), "文昌社区")["id"].clone();
    let c = app.get_json(&format!("/api/v1/communities/{id}")).await;
    assert_eq!(c["name"], "文昌社区");
    assert_eq!(c["code"], "320706001001");
    assert_eq!(c["boundary"]["type"], "MultiPolygon");
    let ring = c["boundary"]["coordinates"][0][0].as_array().unwrap();
    assert_eq!(ring.len(), 5, "closed rectangle");
    assert_eq!(ring.first(), ring.last());
}

#[tokio::test]
async fn unknown_or_malformed_community_ids() {
    let app = TestApp::spawn().await;
    assert_problem(
        app.get("/api/v1/communities/99999").await,
        404,
        "community_not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities/0").await,
        404,
        "community_not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities/-3").await,
        404,
        "community_not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities/abc").await,
        400,
        "invalid_path",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities/99999999999999999999999").await,
        400,
        "invalid_path",
    )
    .await;
}

#[tokio::test]
async fn grids_of_a_community_lie_inside_it() {
    let app = TestApp::spawn().await;
    let page = app.get_json("/api/v1/communities").await;
    let wenchang = find(page["items"].as_array().unwrap(), "文昌社区").clone();
    let grids = app
        .get_json(&format!("/api/v1/grids?community_id={}", wenchang["id"]))
        .await;
    let grids = grids.as_array().unwrap();
    assert_eq!(grids.len(), 4);
    let [cx0, cy0, cx1, cy1] = bbox(&wenchang["bbox"]);
    for g in grids {
        assert_eq!(g["community_id"], wenchang["id"]);
        assert_eq!(g["boundary"]["type"], "MultiPolygon");
        let [x0, y0, x1, y1] = bbox(&g["bbox"]);
        assert!(x0 >= cx0 && y0 >= cy0 && x1 <= cx1 && y1 <= cy1, "{g}");
    }
    let all = app.get_json("/api/v1/grids").await;
    assert_eq!(all.as_array().unwrap().len(), 24);
    assert_problem(
        app.get("/api/v1/grids?community_id=424242").await,
        404,
        "community_not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/grids?community_id=x").await,
        400,
        "invalid_query",
    )
    .await;
}

fn bbox(v: &Value) -> [f64; 4] {
    let a = v.as_array().unwrap();
    [0, 1, 2, 3].map(|i| a[i].as_f64().unwrap())
}

#[tokio::test]
async fn categories_in_both_languages() {
    let app = TestApp::spawn().await;
    let zh = app.get_json("/api/v1/categories").await;
    let noise = zh
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "noise")
        .expect("noise category")
        .clone();
    assert_eq!(noise["name"], "噪声扰民");
    assert_eq!(noise["case_type"], "complaint");
    let res = app
        .client
        .get(app.url("/api/v1/categories"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    let en: Value = res.json().await.unwrap();
    let noise_en = en
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "noise")
        .unwrap();
    assert!(noise_en["name"].as_str().unwrap().starts_with("Noise"));
    for code in [
        "street_vending",
        "green_encroachment",
        "construction_waste",
        "illegal_construction",
        "garbage_sorting",
    ] {
        assert!(
            zh.as_array().unwrap().iter().any(|c| c["code"] == code),
            "{code}"
        );
    }
}

#[tokio::test]
async fn bad_list_parameters() {
    let app = TestApp::spawn().await;
    assert_problem(
        app.get("/api/v1/communities?limit=abc").await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities?limit=0").await,
        422,
        "invalid_limit",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities?limit=5000").await,
        422,
        "invalid_limit",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities?limit=-1").await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities?cursor=zzz").await,
        400,
        "invalid_cursor",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities?street_id=-1").await,
        422,
        "invalid_value",
    )
    .await;
    assert_problem(
        app.get("/api/v1/communities?street_id=1%27%20OR%201%3D1")
            .await,
        400,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn the_basemap_is_none_by_default_and_what_the_bureau_configured_otherwise() {
    let plain = TestApp::spawn().await;
    let none = plain.get_json("/api/v1/map/basemap").await;
    assert_eq!(none["tile_url"], Value::Null);
    assert_eq!(none["crs"], "wgs84");

    let amap_url = "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}";
    let amap = TestApp::spawn_with(
        false,
        &[
            ("WHISTLE__MAP__TILE_URL", amap_url),
            ("WHISTLE__MAP__TILE_CRS", "gcj02"),
            ("WHISTLE__MAP__TILE_SUBDOMAINS", "1234"),
            ("WHISTLE__MAP__ATTRIBUTION", "© 高德地图"),
        ],
    )
    .await
    .checking_schemas()
    .await;
    let res = amap.get("/api/v1/map/basemap").await;
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["tile_url"], amap_url);
    assert_eq!(b["crs"], "gcj02");
    assert_eq!(b["subdomains"], serde_json::json!(["1", "2", "3", "4"]));
    assert_eq!(b["attribution"], "© 高德地图");
}

#[tokio::test]
async fn a_tile_url_the_pages_could_not_use_stops_the_start() {
    let settings = crate::helpers::settings_for(
        "sqlite::memory:",
        &[(
            "WHISTLE__MAP__TILE_URL",
            "https://tiles.example/{z}/{x}.png",
        )],
    );
    let err = whistle_api::startup::App::build(settings)
        .await
        .expect_err("a tile URL without {y} is refused");
    assert!(format!("{err:#}").contains("map.tile_url"), "{err:#}");
}
