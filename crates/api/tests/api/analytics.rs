//! Analytics for leaders: every figure of a known set of cases equals the count made by hand,
//! scoping by jurisdiction, bad input, and CSV exports a spreadsheet opens safely.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Value, json};
use whistle_persistence::repo::analytics::{set_case_merchant, set_case_times};

use crate::helpers::{TestApp, assert_problem, wenchang_south_gate};

const ZHANG: &str = "13800001234";

struct Who {
    zhang: String,
    dispatcher: String,
    leader: String,
    tianye: String,
    tianye_id: i64,
}

async fn who(app: &TestApp) -> Who {
    let t = app.login("tianye", crate::helpers::PW).await;
    Who {
        zhang: app.token(ZHANG).await,
        dispatcher: app.token("dispatcher").await,
        leader: app.token("leader.haizhou1").await,
        tianye: t["access_token"].as_str().unwrap().to_owned(),
        tianye_id: t["account"]["id"].as_i64().unwrap(),
    }
}

/// Reports a case at a point inside the demo community (row, col) and returns it.
async fn report_at(app: &TestApp, token: &str, row: usize, col: usize, text: &str) -> Value {
    let (lat, lon) = if (row, col) == (0, 0) {
        wenchang_south_gate()
    } else {
        let [x0, y0, x1, y1] = whistle_api::demo::community_rect(row, col);
        ((y0 + y1) / 2.0 - 0.001, (x0 + x1) / 2.0 - 0.001)
    };
    let res = app
        .post(
            "/api/v1/cases",
            &json!({"category": "noise", "description": text, "lat": lat, "lon": lon}),
            Some(token),
        )
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// Performs an action at the case's current version.
async fn step(app: &TestApp, w: &Who, token: &str, id: i64, mut body: Value) {
    let case: Value = app
        .get_as(&format!("/api/v1/cases/{id}"), &w.dispatcher)
        .await
        .json()
        .await
        .unwrap();
    body["version"] = case["version"].clone();
    let res = app
        .post(&format!("/api/v1/cases/{id}/actions"), &body, Some(token))
        .await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{body} → {text}");
}

async fn db(app: &TestApp) -> sea_orm::DatabaseConnection {
    sea_orm::Database::connect(app.database_url())
        .await
        .unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app.get_as(path, token).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The stage each action moves a case into (`None`: no clock runs), as the lifecycle does.
fn next_stage(action: &str, current: Option<&'static str>) -> Option<&'static str> {
    match action {
        "accept" | "return" | "reopen" => Some("dispatch"),
        "dispatch" => Some("sign"),
        "sign" | "rework" => Some("resolve"),
        "resolve" => Some("verify"),
        "reject" | "verify" => None,
        _ => current,
    }
}

const STAGES: [&str; 5] = ["accept", "dispatch", "sign", "resolve", "verify"];

/// Milliseconds per completed stage of a case, from its timeline (a stage's rounds summed).
async fn stage_ms(app: &TestApp, w: &Who, case: &Value) -> [Option<f64>; 5] {
    let id = case["id"].as_i64().unwrap();
    let events = get(app, &w.dispatcher, &format!("/api/v1/cases/{id}/timeline")).await;
    let mut totals: [Option<f64>; 5] = [None; 5];
    let mut stage = Some("accept");
    let mut since: DateTime<Utc> = case["created_at"].as_str().unwrap().parse().unwrap();
    for e in events.as_array().unwrap() {
        let at: DateTime<Utc> = e["at"].as_str().unwrap().parse().unwrap();
        let next = next_stage(e["action"].as_str().unwrap(), stage);
        if next != stage {
            if let Some(s) = stage {
                let i = STAGES.iter().position(|x| *x == s).unwrap();
                let ms = ((at - since).num_microseconds().unwrap() as f64 / 1000.0).round();
                totals[i] = Some(totals[i].unwrap_or(0.0) + ms);
            }
            stage = next;
            since = at;
        }
    }
    totals
}

/// `percentile_cont(0.9)`, by hand.
fn p90(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = 0.9 * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

fn close_to(got: &Value, want: Option<f64>, what: &str) {
    match want {
        None => assert!(got.is_null(), "{what}: {got}"),
        Some(w) => {
            let g = got.as_f64().unwrap_or_else(|| panic!("{what}: {got}"));
            // Milliseconds are rounded by the database and by hand: allow one.
            assert!(
                (g - w / 1000.0).abs() <= 0.002,
                "{what}: got {g}, want {}",
                w / 1000.0
            );
        }
    }
}

fn local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
}

#[tokio::test]
async fn analytics_figures_equal_the_counts_made_by_hand() {
    let app = TestApp::spawn().await;
    let w = who(&app).await;
    let db = db(&app).await;
    let past = Utc::now() - Duration::hours(1);
    let tianye = w.tianye_id;

    // A: the whole loop on time, rated 5.
    let a = report_at(&app, &w.zhang, 0, 0, "南门外高音喇叭叫卖").await;
    // B: signed for after the sign deadline, rated 2.
    let b = report_at(&app, &w.zhang, 0, 0, "南门外又在喇叭叫卖").await;
    // C: reworked once, the second handling late, rated 4.
    let c = report_at(&app, &w.zhang, 0, 0, "喇叭声一直不停").await;
    // D: extended, escalated, still being handled and now overdue.
    let d = report_at(&app, &w.zhang, 0, 0, "晚上十点还在叫卖").await;
    // E: just reported (and a week earlier: last week's case).
    let e = report_at(&app, &w.zhang, 0, 0, "周末也有喇叭声").await;
    // F: rejected.
    let f = report_at(&app, &w.zhang, 0, 0, "测试").await;
    // G: 鼓楼社区 (same street), accepted. H: 建设社区 (another street), reported.
    let g = report_at(&app, &w.zhang, 0, 1, "鼓楼社区门口叫卖").await;
    let h = report_at(&app, &w.zhang, 1, 0, "建设社区门口叫卖").await;
    // I: 40 days ago, outside the default period of 30 days.
    let i = report_at(&app, &w.zhang, 0, 0, "上个月的喇叭声").await;
    let id = |c: &Value| c["id"].as_i64().unwrap();

    let full_loop = async |case: i64, late_sign: bool, rating: i64| {
        step(&app, &w, &w.dispatcher, case, json!({"action": "accept"})).await;
        step(
            &app,
            &w,
            &w.dispatcher,
            case,
            json!({"action": "dispatch", "assignee_id": tianye}),
        )
        .await;
        if late_sign {
            set_case_times(&db, case, None, Some(past)).await.unwrap();
        }
        step(&app, &w, &w.tianye, case, json!({"action": "sign"})).await;
        step(
            &app,
            &w,
            &w.tianye,
            case,
            json!({"action": "resolve", "note": "已劝导商户停止使用喇叭"}),
        )
        .await;
        step(&app, &w, &w.leader, case, json!({"action": "verify"})).await;
        step(&app, &w, &w.leader, case, json!({"action": "close"})).await;
        step(
            &app,
            &w,
            &w.zhang,
            case,
            json!({"action": "rate", "rating": rating}),
        )
        .await;
    };
    full_loop(id(&a), false, 5).await;
    full_loop(id(&b), true, 2).await;

    let cid = id(&c);
    step(&app, &w, &w.dispatcher, cid, json!({"action": "accept"})).await;
    step(
        &app,
        &w,
        &w.dispatcher,
        cid,
        json!({"action": "dispatch", "assignee_id": tianye}),
    )
    .await;
    step(&app, &w, &w.tianye, cid, json!({"action": "sign"})).await;
    step(
        &app,
        &w,
        &w.tianye,
        cid,
        json!({"action": "resolve", "note": "已劝导"}),
    )
    .await;
    step(
        &app,
        &w,
        &w.leader,
        cid,
        json!({"action": "rework", "note": "现场仍有喇叭"}),
    )
    .await;
    set_case_times(&db, cid, None, Some(past)).await.unwrap();
    step(
        &app,
        &w,
        &w.tianye,
        cid,
        json!({"action": "resolve", "note": "已没收喇叭"}),
    )
    .await;
    step(&app, &w, &w.leader, cid, json!({"action": "verify"})).await;
    step(&app, &w, &w.leader, cid, json!({"action": "close"})).await;
    step(
        &app,
        &w,
        &w.zhang,
        cid,
        json!({"action": "rate", "rating": 4}),
    )
    .await;

    let did = id(&d);
    step(&app, &w, &w.dispatcher, did, json!({"action": "accept"})).await;
    step(
        &app,
        &w,
        &w.dispatcher,
        did,
        json!({"action": "dispatch", "assignee_id": tianye}),
    )
    .await;
    step(&app, &w, &w.tianye, did, json!({"action": "sign"})).await;
    step(
        &app,
        &w,
        &w.tianye,
        did,
        json!({"action": "request_extension", "extension_hours": 8, "note": "需联合市场监管"}),
    )
    .await;
    step(
        &app,
        &w,
        &w.leader,
        did,
        json!({"action": "decide_extension", "approve": true}),
    )
    .await;
    step(
        &app,
        &w,
        &w.dispatcher,
        did,
        json!({"action": "escalate", "escalate_to": "department", "department": "市场监管局"}),
    )
    .await;
    set_case_times(&db, did, None, Some(past)).await.unwrap();

    step(
        &app,
        &w,
        &w.dispatcher,
        id(&f),
        json!({"action": "reject", "reason": "invalid"}),
    )
    .await;
    step(&app, &w, &w.dispatcher, id(&g), json!({"action": "accept"})).await;
    let e_at = Utc::now() - Duration::days(7);
    set_case_times(&db, id(&e), Some(e_at), None).await.unwrap();
    let i_at = Utc::now() - Duration::days(40);
    set_case_times(&db, id(&i), Some(i_at), None).await.unwrap();
    let _ = h;

    // Merchant 文昌便民超市 (the demo's) had A and B reported against it.
    let merchants = get(&app, &w.leader, "/api/v1/merchants").await;
    let merchant = merchants["items"][0]["id"].as_i64().unwrap();
    set_case_merchant(&db, id(&a), merchant).await.unwrap();
    set_case_merchant(&db, id(&b), merchant).await.unwrap();

    let wenchang = a["community"]["id"].as_i64().unwrap();
    let grid = a["grid"]["id"].as_i64().unwrap();

    // ---- the figures of 文昌社区 (A–F), as its street's leader sees them
    let s = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/summary?community={wenchang}"),
    )
    .await;
    let t = &s["total"];
    let expect = [
        ("reported", 6),
        ("accepted", 4),
        ("rejected", 1),
        ("closed", 3),
        ("open", 2),
        ("overdue", 1),
        ("closed_on_time", 1),
        ("resolved", 3),
        ("resolved_on_time", 2),
        ("reworked", 1),
        ("extension_requested", 1),
        ("escalations", 1),
        ("escalated_cases", 1),
        ("rated", 3),
        ("satisfied", 2),
    ];
    for (k, v) in expect {
        assert_eq!(t[k], v, "{k}: {t}");
    }
    assert_eq!(t["on_time_close_rate"], 0.3333);
    assert_eq!(t["on_time_handling_rate"], 0.6667);
    assert_eq!(t["rework_rate"], 0.3333);
    assert_eq!(t["extension_rate"], 0.25);
    assert_eq!(t["mean_rating"], 3.6667);
    assert_eq!(t["satisfaction_rate"], 0.6667);

    // Time per stage, from the timelines.
    let mut per_stage: [Vec<f64>; 5] = Default::default();
    for case in [&a, &b, &c, &d, &e, &f] {
        for (i, ms) in stage_ms(&app, &w, case).await.iter().enumerate() {
            if let Some(ms) = ms {
                per_stage[i].push(*ms);
            }
        }
    }
    let stages = t["stages"].as_array().unwrap();
    for (i, name) in STAGES.iter().enumerate() {
        let got = &stages[i];
        assert_eq!(got["stage"], *name);
        assert_eq!(got["cases"], per_stage[i].len(), "{name}: {got}");
        let mean = (!per_stage[i].is_empty())
            .then(|| per_stage[i].iter().sum::<f64>() / per_stage[i].len() as f64);
        close_to(&got["mean_secs"], mean, &format!("{name} mean"));
        close_to(
            &got["p90_secs"],
            p90(per_stage[i].clone()),
            &format!("{name} p90"),
        );
    }
    // accept: A B C D F ended it; dispatch: A B C D; sign: A B C D; resolve: A B C (C twice);
    // verify: A B C (C twice).
    let counts: Vec<i64> = stages
        .iter()
        .map(|s| s["cases"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [5, 4, 4, 3, 3]);

    // ---- grouped: by officer (田野 has A–D; E and F are nobody's)
    let s = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/summary?community={wenchang}&group_by=officer"),
    )
    .await;
    let groups = s["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{s}");
    let tianye_key = tianye.to_string();
    let tian = groups
        .iter()
        .find(|g| g["key"].as_str() == Some(tianye_key.as_str()))
        .unwrap();
    assert_eq!(tian["label"], "田野");
    assert_eq!(tian["figures"]["reported"], 4);
    assert_eq!(tian["figures"]["closed"], 3);
    let nobody = groups.iter().find(|g| g["key"].is_null()).unwrap();
    assert_eq!(nobody["label"], "未分派");
    assert_eq!(nobody["figures"]["reported"], 2);
    assert_eq!(nobody["figures"]["rejected"], 1);

    // By community, city-wide (the dispatcher): A–F, G, H.
    let s = get(
        &app,
        &w.dispatcher,
        "/api/v1/analytics/summary?group_by=community",
    )
    .await;
    let by: Vec<(String, i64)> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["label"].as_str().unwrap().to_owned(),
                g["figures"]["reported"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("文昌社区".to_owned(), 6),
            ("鼓楼社区".to_owned(), 1),
            ("建设社区".to_owned(), 1)
        ]
    );
    assert_eq!(s["total"]["reported"], 8);
    assert_eq!(s["total"]["accepted"], 5);
    // The leader of 海州街道 sees his street only (H is in 新海街道).
    let s = get(&app, &w.leader, "/api/v1/analytics/summary").await;
    assert_eq!(s["total"]["reported"], 7);
    // An admin sees the city's figures too.
    let admin = app.token("admin").await;
    let s = get(&app, &admin, "/api/v1/analytics/summary").await;
    assert_eq!(s["total"]["reported"], 8);

    // By day, with a period long enough for I: local days.
    let from = (Utc::now() - Duration::days(60)).to_rfc3339();
    let path = format!(
        "/api/v1/analytics/summary?community={wenchang}&group_by=day&from={}",
        urlencode(&from)
    );
    let s = get(&app, &w.leader, &path).await;
    let today = local(Utc::now()).format("%Y-%m-%d").to_string();
    let days: Vec<(String, i64)> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["figures"]["reported"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            (local(i_at).format("%Y-%m-%d").to_string(), 1),
            (local(e_at).format("%Y-%m-%d").to_string(), 1),
            (today, 5),
        ]
    );
    let monday = |t: DateTime<Utc>| {
        let d = local(t).date_naive();
        whistle_domain::analytics::week_start(d).to_string()
    };
    let s = get(
        &app,
        &w.leader,
        &path.replace("group_by=day", "group_by=week"),
    )
    .await;
    let weeks: Vec<&str> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(weeks, [monday(i_at), monday(e_at), monday(Utc::now())]);
    let s = get(
        &app,
        &w.leader,
        &path.replace("group_by=day", "group_by=month"),
    )
    .await;
    let months: Vec<String> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = [i_at, e_at, Utc::now()]
        .iter()
        .map(|t| local(*t).format("%Y-%m").to_string())
        .collect();
    want.dedup();
    assert_eq!(months, want);

    // ---- hot spots: A–F stand at one point, so one cell and one grid hold all six.
    let hs = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/hotspots?community={wenchang}"),
    )
    .await;
    assert_eq!(hs["type"], "FeatureCollection");
    let feats = hs["features"].as_array().unwrap();
    assert_eq!(feats.len(), 1, "{hs}");
    assert_eq!(feats[0]["properties"]["cases"], 6);
    assert_eq!(feats[0]["properties"]["rank"], 1);
    assert_eq!(feats[0]["geometry"]["type"], "Polygon");
    // 6 cases in 250 m × 250 m = 0.0625 km².
    assert_eq!(feats[0]["properties"]["density_per_km2"], 96.0);
    // A cell is named by the address book (or its community), not only by its coordinates.
    assert!(
        feats[0]["properties"]["near"]
            .as_str()
            .is_some_and(|n| n.starts_with("文昌")),
        "{hs}"
    );
    let hs = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/hotspots?community={wenchang}&by=grid"),
    )
    .await;
    let feats = hs["features"].as_array().unwrap();
    assert_eq!(feats.len(), 1);
    assert_eq!(feats[0]["properties"]["grid_id"], grid);
    assert_eq!(feats[0]["properties"]["cases"], 6);
    assert_eq!(feats[0]["properties"]["community"], "文昌社区");
    // City-wide: three places, the densest first.
    let hs = get(&app, &w.dispatcher, "/api/v1/analytics/hotspots").await;
    let cases: Vec<i64> = hs["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["cases"].as_i64().unwrap())
        .collect();
    assert_eq!(cases, [6, 1, 1]);

    // ---- problem tracing
    let rl = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/repeat-locations?community={wenchang}"),
    )
    .await;
    let locs = rl["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 1, "{rl}");
    assert_eq!(locs[0]["cases"], 6);
    assert_eq!(locs[0]["category"], "噪声扰民");
    assert_eq!(locs[0]["numbers"].as_array().unwrap().len(), 6);
    assert_eq!(locs[0]["near"], "文昌路18号", "{rl}");
    // Seven cases would be needed to count as repeated with min_cases=7.
    let rl = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/repeat-locations?community={wenchang}&min_cases=7"),
    )
    .await;
    assert!(rl["locations"].as_array().unwrap().is_empty());

    let rm = get(&app, &w.leader, "/api/v1/analytics/repeat-merchants").await;
    let ms = rm["merchants"].as_array().unwrap();
    assert_eq!(ms.len(), 1, "{rm}");
    assert_eq!(ms[0]["merchant_id"], merchant);
    assert_eq!(ms[0]["name"], "文昌便民超市");
    assert_eq!(
        (
            ms[0]["cases"].as_i64(),
            ms[0]["open"].as_i64(),
            ms[0]["categories"].as_i64()
        ),
        (Some(2), Some(0), Some(1))
    );

    // Noise in A's grid last week (E) and this week: a run of two weeks.
    let rc = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/recurring-categories?community={wenchang}"),
    )
    .await;
    let rs = rc["recurrences"].as_array().unwrap();
    assert_eq!(rs.len(), 1, "{rc}");
    assert_eq!(rs[0]["grid_id"], grid);
    assert_eq!(rs[0]["category"], "噪声扰民");
    assert_eq!(rs[0]["run_weeks"], 2);
    assert_eq!(rs[0]["run_start"], monday(e_at));
    let weekly: Vec<i64> = rs[0]["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["cases"].as_i64().unwrap())
        .collect();
    assert_eq!(weekly, [1, 5]);
    let rc = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/recurring-categories?community={wenchang}&min_weeks=3"),
    )
    .await;
    assert!(rc["recurrences"].as_array().unwrap().is_empty());

    // ---- workload: 田野's cases, and his work logs as the work-log mix counts them.
    let wl = get(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/workload?community={wenchang}"),
    )
    .await;
    let me = wl["officers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["officer_id"] == tianye)
        .unwrap();
    for (k, v) in [
        ("assigned", 4),
        ("open", 1),
        ("overdue", 1),
        ("closed", 3),
        ("closed_on_time", 1),
        ("reworked", 1),
    ] {
        assert_eq!(me[k], v, "{k}: {me}");
    }
    let (from, to) = (wl["from"].as_str().unwrap(), wl["to"].as_str().unwrap());
    let mix = get(
        &app,
        &w.leader,
        &format!(
            "/api/v1/work-logs/mix?officer={tianye}&community={wenchang}&from={}&to={}",
            urlencode(from),
            urlencode(to)
        ),
    )
    .await;
    assert!(
        mix["total_count"].as_i64().unwrap() > 0,
        "the demo seeds 田野's work"
    );
    assert_eq!(me["work"]["count"], mix["total_count"]);
    assert_eq!(me["work"]["minutes"], mix["total_minutes"]);
    for (mine, theirs) in me["work"]["classes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(mix["classes"].as_array().unwrap())
    {
        assert_eq!(mine["class"], theirs["class"]);
        assert_eq!(mine["minutes"], theirs["minutes"]);
        assert_eq!(mine["share_by_minutes"], theirs["share_by_minutes"]);
    }

    // ---- every dashboard as CSV: BOM, a header, one row per item of the JSON
    for (path, items, header) in [
        ("hotspots", "features", "rank,cases,density_per_km2"),
        ("hotspots?by=grid", "features", "rank,cases,density_per_km2"),
        ("repeat-locations", "locations", "category,cases,lat"),
        ("repeat-merchants", "merchants", "merchant_id,name,cases"),
        ("workload", "officers", "officer_id,name,assigned"),
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("/api/v1/analytics/{path}{sep}community={wenchang}");
        let json = get(&app, &w.leader, &url).await;
        let res = get_in(&app, &w.leader, &format!("{url}&format=csv"), "en").await;
        assert_eq!(res.status(), 200, "{path}");
        let body = res.bytes().await.unwrap();
        assert!(body.starts_with(b"\xEF\xBB\xBF"), "{path}: BOM");
        let rows = parse_csv(std::str::from_utf8(&body[3..]).unwrap());
        assert!(
            rows[0].join(",").starts_with(header),
            "{path}: {:?}",
            rows[0]
        );
        assert_eq!(
            rows.len() - 1,
            json[items].as_array().unwrap().len(),
            "{path}"
        );
    }
    let res = app
        .get_as(
            &format!("/api/v1/analytics/recurring-categories?community={wenchang}&format=csv"),
            &w.leader,
        )
        .await;
    let body = res.bytes().await.unwrap();
    let rows = parse_csv(std::str::from_utf8(&body[3..]).unwrap());
    // One row per grid, category and week: two weeks of noise.
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1][2], "噪声扰民");

    // ---- the same figures as CSV
    let summary_csv =
        format!("/api/v1/analytics/summary?community={wenchang}&group_by=officer&format=csv");
    let zh = get_in(&app, &w.leader, &summary_csv, "zh-CN,zh;q=0.9").await;
    let zh = zh.text().await.unwrap();
    let zh: Vec<&str> = zh.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        zh[0].starts_with("\u{feff}分组方式,分组编号,名称,上报数,立案数"),
        "{zh:?}"
    );
    assert!(
        zh.iter()
            .any(|l| l.starts_with(&format!("队员,{tianye},田野,4,4,0,3,1,1,1,")))
    );
    assert!(
        zh.iter().any(|l| l.starts_with("队员,,未分派,2,")),
        "{zh:?}"
    );
    assert!(zh[3].starts_with("合计,,,6,"), "{zh:?}");
    let res = get_in(&app, &w.leader, &summary_csv, "en").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let text = std::str::from_utf8(&body[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("group_by,key,label,reported,accepted"));
    assert_eq!(lines.len(), 4, "header, two groups, total: {text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("officer,{tianye},田野,4,4,0,3,1,1,1,"))),
        "{text}"
    );
    assert!(
        lines[3].starts_with("total,,,6,4,1,3,2,1,1,0.3333,"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("officer,,Unassigned,2,")),
        "{text}"
    );
}

/// GET with a bearer token and an `Accept-Language`.
async fn get_in(app: &TestApp, token: &str, path: &str, lang: &str) -> reqwest::Response {
    app.send(
        app.client
            .get(app.url(path))
            .bearer_auth(token)
            .header("accept-language", lang),
    )
    .await
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn analytics_follow_roles_and_jurisdictions() {
    let app = TestApp::spawn().await;
    let w = who(&app).await;
    let streets = app.get_json("/api/v1/streets").await;
    let street_id = |name: &str| {
        streets["items"]
            .as_array()
            .or(streets.as_array())
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (haizhou, xinhai) = (street_id("海州街道"), street_id("新海街道"));
    // A leader of 新海街道.
    let admin = app.token("admin").await;
    let res = app
        .post(
            "/api/v1/admin/users",
            &json!({
                "username": "leader.xinhai", "display_name": "新海中队长", "role": "leader",
                "password": "xinhai-duty-2026", "badge_number": "HZ0200", "squad": "新海中队",
                "areas": [{"level": "street", "id": xinhai}]
            }),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let xinhai_leader = app.login("leader.xinhai", "xinhai-duty-2026").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    for path in [
        "/api/v1/analytics/summary",
        "/api/v1/analytics/hotspots",
        "/api/v1/analytics/repeat-locations",
        "/api/v1/analytics/repeat-merchants",
        "/api/v1/analytics/recurring-categories",
        "/api/v1/analytics/workload",
        "/api/v1/analytics/cases.csv",
    ] {
        assert_problem(app.get(path).await, 401, "unauthenticated").await;
        for token in [&w.zhang, &w.tianye] {
            assert_problem(app.get_as(path, token).await, 403, "role_not_permitted").await;
        }
        // One street's leader asking for another street, or a community of it: 403.
        for q in [format!("street={haizhou}"), "community=1".to_owned()] {
            let res = app.get_as(&format!("{path}?{q}"), &xinhai_leader).await;
            assert_problem(res, 403, "outside_jurisdiction").await;
        }
        let res = app
            .get_as(&format!("{path}?street={xinhai}"), &w.leader)
            .await;
        assert_problem(res, 403, "outside_jurisdiction").await;
        // A street leader cannot ask for the whole district.
        let res = app.get_as(&format!("{path}?district=1"), &w.leader).await;
        assert_problem(res, 403, "outside_jurisdiction").await;
        // Their own street is fine.
        let res = app
            .get_as(&format!("{path}?street={xinhai}"), &xinhai_leader)
            .await;
        assert_eq!(res.status(), 200, "{path}");
        let res = app.get_as(path, &w.dispatcher).await;
        assert_eq!(res.status(), 200, "{path}");
    }
    // Admins read figures but export no case lists (they carry residents' reports).
    assert_eq!(
        app.get_as("/api/v1/analytics/summary", &admin)
            .await
            .status(),
        200
    );
    assert_problem(
        app.get_as("/api/v1/analytics/cases.csv", &admin).await,
        403,
        "role_not_permitted",
    )
    .await;

    // A case in 海州街道 is invisible to 新海街道's leader without a filter.
    report_at(&app, &w.zhang, 0, 0, "南门外高音喇叭叫卖").await;
    let s = get(&app, &xinhai_leader, "/api/v1/analytics/summary").await;
    assert_eq!(s["total"]["reported"], 0);
    let s = get(&app, &w.leader, "/api/v1/analytics/summary").await;
    assert_eq!(s["total"]["reported"], 1);
}

#[tokio::test]
async fn analytics_bad_input_is_a_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = who(&app).await;
    report_at(&app, &w.zhang, 0, 0, "南门外高音喇叭叫卖").await;
    let before = get(&app, &w.dispatcher, "/api/v1/analytics/summary").await["total"].clone();
    let bad = [
        (
            "/api/v1/analytics/summary?from=2026-11-20T00:00:00%2B08:00&to=2026-11-01T00:00:00%2B08:00",
            "invalid_period",
        ),
        (
            "/api/v1/analytics/summary?from=2026-11-20T00:00:00Z&to=2026-11-20T00:00:00Z",
            "invalid_period",
        ),
        (
            "/api/v1/analytics/summary?from=2020-01-01T00:00:00Z",
            "period_too_long",
        ),
        (
            "/api/v1/analytics/summary?from=2025-01-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            "period_too_long",
        ),
        (
            "/api/v1/analytics/cases.csv?from=2020-01-01T00:00:00Z",
            "period_too_long",
        ),
        (
            "/api/v1/analytics/hotspots?from=2099-01-01T00:00:00Z",
            "invalid_period",
        ),
        (
            "/api/v1/analytics/summary?group_by=street_name",
            "invalid_group_by",
        ),
        (
            "/api/v1/analytics/summary?group_by=year",
            "invalid_group_by",
        ),
        ("/api/v1/analytics/summary?from=yesterday", "invalid_value"),
        ("/api/v1/analytics/summary?format=xlsx", "invalid_format"),
        (
            "/api/v1/analytics/summary?community=999999",
            "unknown_community",
        ),
        ("/api/v1/analytics/summary?street=0", "unknown_street"),
        ("/api/v1/analytics/summary?grid=-4", "unknown_grid"),
        (
            "/api/v1/analytics/summary?category=no_such",
            "unknown_category",
        ),
        (
            "/api/v1/analytics/summary?street=2&community=1",
            "areas_mismatch",
        ),
        ("/api/v1/analytics/hotspots?cell_m=1", "invalid_value"),
        ("/api/v1/analytics/hotspots?by=district", "invalid_value"),
        ("/api/v1/analytics/hotspots?cell_m=NaN", "invalid_value"),
        (
            "/api/v1/analytics/repeat-locations?radius_m=inf",
            "invalid_value",
        ),
        ("/api/v1/analytics/hotspots?limit=0", "invalid_value"),
        (
            "/api/v1/analytics/repeat-locations?radius_m=100000",
            "invalid_value",
        ),
        (
            "/api/v1/analytics/repeat-locations?min_cases=1",
            "invalid_value",
        ),
        (
            "/api/v1/analytics/recurring-categories?min_weeks=1",
            "invalid_value",
        ),
        ("/api/v1/analytics/cases.csv?status=lost", "invalid_value"),
    ];
    for (path, code) in bad {
        let res = app.get_as(path, &w.dispatcher).await;
        let body = assert_problem(res, 422, code).await;
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{path}: {body}"
        );
    }
    // Malformed numbers are the query string's fault: 400, never a 500.
    let res = app
        .get_as("/api/v1/analytics/hotspots?cell_m=big", &w.dispatcher)
        .await;
    assert_eq!(res.status(), 400);
    let after = get(&app, &w.dispatcher, "/api/v1/analytics/summary").await["total"].clone();
    assert_eq!(before, after);
    let list = get(&app, &w.dispatcher, "/api/v1/cases").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// Splits CSV text into records of cells (RFC 4180 quoting).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

#[tokio::test]
async fn analytics_csv_of_wenchang_opens_with_chinese_and_no_formulas() {
    let app = TestApp::spawn().await;
    let w = who(&app).await;
    let texts = [
        "南门外高音喇叭叫卖，噪声扰民",
        "=HYPERLINK(\"http://evil.example\",\"点击\")",
        "+8613800001234 叫我",
        "-1+1",
        "@SUM(A1:A9)",
        "\t制表符开头",
        "多行\n描述, 带逗号和\"引号\"",
    ];
    let mut wenchang = 0;
    for t in texts {
        wenchang = report_at(&app, &w.zhang, 0, 0, t).await["community"]["id"]
            .as_i64()
            .unwrap();
    }
    // A case of 鼓楼社区 stays out of 文昌社区's export.
    report_at(&app, &w.zhang, 0, 1, "鼓楼社区的案件").await;
    let res = app
        .get_as(
            &format!("/api/v1/analytics/cases.csv?community={wenchang}"),
            &w.leader,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("cases.csv")
    );
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    let text = String::from_utf8(body[3..].to_vec()).expect("UTF-8");
    let rows = parse_csv(&text);
    // No Accept-Language: Chinese, the default.
    assert_eq!(rows[0][0], "案件编号");
    assert_eq!(rows.len(), 1 + texts.len(), "{text}");
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    for r in &rows[1..] {
        assert_eq!(r.len(), rows[0].len(), "{r:?}");
        assert_eq!(r[col("社区")], "文昌社区");
        assert_eq!(r[col("街道")], "海州街道");
        assert_eq!(r[col("问题类别")], "噪声扰民");
        assert_eq!(r[col("状态")], "待受理");
        assert_eq!(r[col("当前环节")], "立案");
        assert_eq!(r[col("是否超期")], "否");
        // Local time to the second: 2026-12-01 09:30:05.
        let at = &r[col("上报时间")];
        assert!(
            chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{at}"
        );
        let due = &r[col("环节时限")];
        assert!(
            due.is_empty()
                || chrono::NaiveDateTime::parse_from_str(due, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{r:?}"
        );
        for cell in r {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
        }
    }
    let descriptions: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r[col("问题描述")].as_str())
        .collect();
    assert!(descriptions.contains(&"南门外高音喇叭叫卖，噪声扰民"));
    assert!(descriptions.contains(&"'=HYPERLINK(\"http://evil.example\",\"点击\")"));
    assert!(descriptions.contains(&"'+8613800001234 叫我"));
    assert!(descriptions.contains(&"'@SUM(A1:A9)"));
    assert!(descriptions.contains(&"多行\n描述, 带逗号和\"引号\""));
    // Reporters' phone numbers are not exported.
    assert!(!rows[0].iter().any(|h| h.contains("电话")));

    // In English: the API's codes, the same local times.
    let en = get_in(
        &app,
        &w.leader,
        &format!("/api/v1/analytics/cases.csv?community={wenchang}"),
        "en-US,en;q=0.9",
    )
    .await;
    let en_text = en.text().await.unwrap();
    let en_rows = parse_csv(en_text.trim_start_matches('\u{feff}'));
    let en_col = |name: &str| en_rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(en_rows[0][0], "number");
    assert!(!en_rows[0].iter().any(|h| h.contains("phone")));
    for r in &en_rows[1..] {
        assert_eq!(r[en_col("status")], "reported");
        assert_eq!(r[en_col("stage")], "accept");
        assert_eq!(r[en_col("overdue")], "no");
        assert_eq!(r[en_col("category")], "噪声扰民");
    }
    let mut zh_times: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r[col("上报时间")].as_str())
        .collect();
    let mut en_times: Vec<&str> = en_rows[1..]
        .iter()
        .map(|r| r[en_col("reported_at")].as_str())
        .collect();
    zh_times.sort();
    en_times.sort();
    assert_eq!(zh_times, en_times);

    // Larger than one page: streamed, every case once.
    for n in 0..520 {
        report_at(&app, &w.zhang, 0, 0, &format!("批量案件 {n}")).await;
    }
    let res = app
        .get_as(
            &format!("/api/v1/analytics/cases.csv?community={wenchang}"),
            &w.dispatcher,
        )
        .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let rows = parse_csv(text.trim_start_matches('\u{feff}'));
    assert_eq!(rows.len(), 1 + texts.len() + 520);
    let mut numbers: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), texts.len() + 520);
}
