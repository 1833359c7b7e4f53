//! Error answers speak the client's language in `detail` as well as `title`, say which rule
//! refused, tell an expired token from a bad one, and never pass on the database's words.

use base64::Engine;
use reqwest::header::ACCEPT_LANGUAGE;
use serde_json::{Value, json};
use whistle_auth::Principal;
use whistle_auth::token::{KeyRing, SigningKey};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::Jurisdiction;
use whistle_domain::people::Role;

use crate::helpers::{TEST_KEY, TestApp, assert_problem};

const ZH: &str = "zh-CN,zh;q=0.9";
const EN: &str = "en-US,en;q=0.9";

fn has_han(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().expect("a detail")
}

async fn get_in(app: &TestApp, lang: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path)).header(ACCEPT_LANGUAGE, lang);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    app.send(req).await
}

async fn post_in(
    app: &TestApp,
    lang: &str,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header(ACCEPT_LANGUAGE, lang)
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    app.send(req).await
}

#[tokio::test]
async fn details_follow_accept_language() {
    let app = TestApp::spawn().await;
    // Not logged in.
    let zh = assert_problem(
        get_in(&app, ZH, "/api/v1/me", None).await,
        401,
        "unauthenticated",
    )
    .await;
    assert!(has_han(detail(&zh)), "{zh}");
    assert!(has_han(zh["title"].as_str().unwrap()), "{zh}");
    let en = assert_problem(
        get_in(&app, EN, "/api/v1/me", None).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(detail(&en), "this endpoint needs a bearer access token");
    // No Accept-Language at all: Chinese, the product's language.
    let none = assert_problem(app.get("/api/v1/me").await, 401, "unauthenticated").await;
    assert_eq!(detail(&none), detail(&zh));

    // Errors made outside handlers: an unknown route, a wrong method.
    // (Sent past the schema check: an unknown route has no documented answer.)
    let res = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .header(ACCEPT_LANGUAGE, ZH)
        .send()
        .await
        .unwrap();
    let zh = assert_problem(res, 404, "route_not_found").await;
    assert!(has_han(detail(&zh)), "{zh}");
    let res = app
        .client
        .delete(app.url("/api/v1/communities"))
        .header(ACCEPT_LANGUAGE, ZH)
        .send()
        .await
        .unwrap();
    let zh = assert_problem(res, 405, "method_not_allowed").await;
    assert!(has_han(detail(&zh)), "{zh}");

    // Unreadable JSON.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header(ACCEPT_LANGUAGE, ZH)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let zh = assert_problem(res, 400, "malformed_json").await;
    assert!(has_han(detail(&zh)), "{zh}");

    // Wrong password.
    let bad = json!({"username": "tianye", "password": "not-the-password"});
    let zh = assert_problem(
        post_in(&app, ZH, "/api/v1/auth/login", &bad, None).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(detail(&zh), "用户名或密码错误");
}

#[tokio::test]
async fn a_field_error_keeps_its_numbers_and_field_in_chinese() {
    let app = TestApp::spawn().await;
    let path = "/api/v1/locate?lat=95&lon=119.2";
    let zh = assert_problem(
        get_in(&app, ZH, path, None).await,
        422,
        "invalid_coordinate",
    )
    .await;
    assert_eq!(zh["field"], "lat", "{zh}");
    assert_eq!(detail(&zh), "lat：须为 -90 到 90 之间的数");
    let en = assert_problem(
        get_in(&app, EN, path, None).await,
        422,
        "invalid_coordinate",
    )
    .await;
    assert_eq!(detail(&en), "lat: must be a number between -90 and 90");
}

/// A token that expired is a different answer from one that never was valid: the first is
/// refreshed, the second needs a new login.
#[tokio::test]
async fn an_expired_token_is_told_apart_from_a_bad_one() {
    let app = TestApp::spawn().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ring = KeyRing::new(
        &SigningKey::parse(TEST_KEY).unwrap(),
        &[],
        "whistle",
        "whistle-api",
    );
    let admin = Principal {
        user_id: UserId::new(1).unwrap(),
        role: Role::Admin,
        jurisdiction: Jurisdiction::none(),
    };
    let expired = ring.issue(&admin, now - 7200, 600).unwrap().token;
    for lang in [ZH, EN] {
        let body = assert_problem(
            get_in(&app, lang, "/api/v1/admin/users", Some(&expired)).await,
            401,
            "token_expired",
        )
        .await;
        if lang == ZH {
            assert!(detail(&body).contains("刷新令牌"), "{body}");
        } else {
            assert!(detail(&body).contains("refresh token"), "{body}");
        }
    }

    // Garbled: a real token with its signature cut short, and plain garbage.
    let good = app.token("tianye").await;
    let garbled = format!("{}x", &good[..good.len() - 5]);
    let bad_sig = {
        let parts: Vec<&str> = good.split('.').collect();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
        format!("{}.{}.{sig}", parts[0], parts[1])
    };
    for token in [garbled, bad_sig, "not-a-token".to_owned()] {
        let zh = assert_problem(
            get_in(&app, ZH, "/api/v1/me", Some(&token)).await,
            401,
            "invalid_token",
        )
        .await;
        assert!(detail(&zh).contains("重新登录"), "{zh}");
        let en = assert_problem(
            get_in(&app, EN, "/api/v1/me", Some(&token)).await,
            401,
            "invalid_token",
        )
        .await;
        assert!(detail(&en).contains("log in again"), "{en}");
    }
    // The good one still works.
    assert_eq!(app.get_as("/api/v1/me", &good).await.status(), 200);
}

#[tokio::test]
async fn a_refusal_names_the_rule_the_role_and_the_action() {
    let app = TestApp::spawn().await;
    let officer = app.token("tianye").await;
    let zh = assert_problem(
        get_in(&app, ZH, "/api/v1/admin/users", Some(&officer)).await,
        403,
        "role_not_permitted",
    )
    .await;
    assert!(
        detail(&zh).contains("城管队员") && detail(&zh).contains("manage_users"),
        "{zh}"
    );
    let en = assert_problem(
        get_in(&app, EN, "/api/v1/admin/users", Some(&officer)).await,
        403,
        "role_not_permitted",
    )
    .await;
    assert_eq!(detail(&en), "the officer role may not manage_users");
}

/// A unique rule's refusal says which field is taken, in the client's language, and never
/// repeats the database (SQLite's "UNIQUE constraint failed", PostgreSQL's "duplicate key").
#[tokio::test]
async fn a_taken_badge_number_is_named_without_database_text() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let new = |username: &str| {
        json!({
            "username": username, "display_name": "孙淑莉", "role": "officer",
            "password": "gulou-duty-2026", "badge_number": "HZ0777", "squad": "海州一大队",
            "areas": [{"level": "community", "id": 1}]
        })
    };
    let first = post_in(
        &app,
        ZH,
        "/api/v1/admin/users",
        &new("sunshuli"),
        Some(&admin),
    )
    .await;
    assert_eq!(first.status(), 201);
    for lang in [ZH, EN] {
        let res = post_in(
            &app,
            lang,
            "/api/v1/admin/users",
            &new("sunshuli2"),
            Some(&admin),
        )
        .await;
        let body = assert_problem(res, 409, "account_taken").await;
        assert_eq!(body["field"], "badge_number", "{body}");
        let text = body.to_string().to_lowercase();
        for leak in [
            "unique",
            "constraint",
            "duplicate key",
            "officer.badge_number",
            "hz0777",
        ] {
            assert!(!text.contains(leak), "{leak} in {body}");
        }
        if lang == ZH {
            assert!(
                has_han(detail(&body)) && detail(&body).contains("badge_number"),
                "{body}"
            );
        } else {
            assert_eq!(detail(&body), "this badge number is already taken");
        }
    }
    // A taken username says so too.
    let res = post_in(&app, EN, "/api/v1/admin/users", &json!({
        "username": "sunshuli", "display_name": "孙", "role": "resident", "password": "gulou-duty-2026"
    }), Some(&admin)).await;
    let body = assert_problem(res, 409, "account_taken").await;
    assert_eq!(body["field"], "username", "{body}");
}
