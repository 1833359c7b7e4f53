//! Account management by admins, and who may not do it.

use serde_json::{Value, json};

use crate::helpers::{PW, TestApp, assert_problem};

#[tokio::test]
async fn only_admins_manage_users() {
    let app = TestApp::spawn().await;
    assert_problem(app.get("/api/v1/admin/users").await, 401, "unauthenticated").await;
    for who in [
        "tianye",
        "leader.haizhou1",
        "dispatcher",
        "13800001234",
        "wenchang.wuye",
    ] {
        let token = app.token(who).await;
        let res = app.get_as("/api/v1/admin/users", &token).await;
        assert_problem(res, 403, "role_not_permitted").await;
        let res = app
            .post("/api/v1/admin/users", &json!({"username": "x1x", "display_name": "x", "role": "admin", "password": "wenchang-2026"}), Some(&token))
            .await;
        assert_problem(res, 403, "role_not_permitted").await;
        assert_problem(
            app.get_as("/api/v1/admin/audit", &token).await,
            403,
            "role_not_permitted",
        )
        .await;
    }
    let admin = app.token("admin").await;
    let page: Value = app
        .get_as("/api/v1/admin/users?role=officer", &admin)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tianye", "officer.gulou"]);
}

#[tokio::test]
async fn an_admin_creates_an_officer_who_can_log_in() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let res = app
        .post(
            "/api/v1/admin/users",
            &json!({
                "username": "sunshuli", "display_name": "孙淑莉", "role": "officer",
                "password": "gulou-duty-2026", "badge_number": "hz0103", "squad": "海州一大队",
                "areas": [{"level": "community", "id": 1}, {"level": "community", "id": 2}]
            }),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["badge_number"], "HZ0103");
    assert_eq!(created["jurisdiction"].as_array().unwrap().len(), 2);
    let session = app.login("sunshuli", "gulou-duty-2026").await;
    assert_eq!(session["account"]["role"], "officer");
    let id = created["id"].as_i64().unwrap();
    let one: Value = app
        .get_as(&format!("/api/v1/admin/users/{id}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["display_name"], "孙淑莉");
}

#[tokio::test]
async fn bad_accounts_are_refused_whole() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let base = json!({"username": "newone", "display_name": "新人", "password": "wenchang-2026"});
    let with = |extra: Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (body, status, code) in [
        (with(json!({"role": "officer"})), 422, "invalid_value"),
        (with(json!({"role": "emperor"})), 422, "invalid_value"),
        (
            with(
                json!({"role": "leader", "badge_number": "HZ9", "areas": [{"level": "community", "id": 1}]}),
            ),
            422,
            "invalid_value",
        ),
        (
            with(
                json!({"role": "partner", "areas": [{"level": "community", "id": 1}, {"level": "community", "id": 2}]}),
            ),
            422,
            "invalid_value",
        ),
        (
            with(
                json!({"role": "officer", "badge_number": "HZ9", "areas": [{"level": "community", "id": 999}]}),
            ),
            422,
            "unknown_area",
        ),
        (
            with(
                json!({"role": "officer", "badge_number": "HZ9", "areas": [{"level": "grid", "id": 1}]}),
            ),
            422,
            "invalid_value",
        ),
        (
            with(json!({"role": "dispatcher", "password": "weak"})),
            422,
            "weak_password",
        ),
        (
            with(json!({"role": "dispatcher", "username": "tianye"})),
            409,
            "account_taken",
        ),
        (
            with(json!({"role": "officer", "badge_number": "HZ0101"})),
            409,
            "account_taken",
        ),
    ] {
        let res = app.post("/api/v1/admin/users", &body, Some(&admin)).await;
        assert_problem(res, status, code).await;
    }
    // None of the refused attempts left an account behind.
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "newone", "password": "wenchang-2026"}),
            None,
        )
        .await;
    assert_problem(res, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn disabling_ends_sessions_and_logins() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let session = app.login("tianye", PW).await;
    let id = session["account"]["id"].as_i64().unwrap();
    let res = app
        .post(
            &format!("/api/v1/admin/users/{id}/disable"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
            None,
        )
        .await;
    assert_problem(res, 401, "invalid_refresh_token").await;
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "tianye", "password": PW}),
            None,
        )
        .await;
    assert_problem(res, 403, "account_disabled").await;
    // /me reads the account afresh.
    let res = app
        .get_as("/api/v1/me", session["access_token"].as_str().unwrap())
        .await;
    assert_problem(res, 401, "invalid_token").await;
    let res = app
        .post(
            &format!("/api/v1/admin/users/{id}/enable"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.login("tianye", PW).await;
}

#[tokio::test]
async fn role_and_jurisdiction_changes_apply_and_are_audited() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let session = app.login("tianye", PW).await;
    let id = session["account"]["id"].as_i64().unwrap();
    let res = app
        .put(
            &format!("/api/v1/admin/users/{id}/role"),
            &json!({"role": "leader", "areas": [{"level": "street", "id": 1}]}),
            &admin,
        )
        .await;
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["role"], "leader");
    assert_eq!(
        changed["badge_number"], "HZ0101",
        "keeps the officer record"
    );
    // Old sessions end; a new login carries the new role.
    let res = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(res.status(), 401);
    let again = app.login("tianye", PW).await;
    assert_eq!(again["account"]["role"], "leader");

    let res = app
        .put(
            &format!("/api/v1/admin/users/{id}/jurisdiction"),
            &json!({"areas": [{"level": "district", "id": 1}]}),
            &admin,
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .put(
            &format!("/api/v1/admin/users/{id}/jurisdiction"),
            &json!({"areas": [{"level": "community", "id": 1}]}),
            &admin,
        )
        .await;
    assert_problem(res, 422, "invalid_value").await;
    // A role needing a badge, for an account without one: refused, nothing changed.
    let resident = app.login("13800001234", PW).await["account"]["id"]
        .as_i64()
        .unwrap();
    let res = app
        .put(
            &format!("/api/v1/admin/users/{resident}/role"),
            &json!({"role": "officer"}),
            &admin,
        )
        .await;
    assert_problem(res, 422, "invalid_value").await;
    assert_eq!(
        app.login("13800001234", PW).await["account"]["role"],
        "resident"
    );

    let audit: Value = app
        .get_as(&format!("/api/v1/admin/audit?subject_id={id}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    let events: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"role_changed"), "{events:?}");
    assert!(events.contains(&"jurisdiction_changed"), "{events:?}");
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["subject_id"] == id)
    );
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let session = app.login("admin", PW).await;
    let token = session["access_token"].as_str().unwrap();
    let id = session["account"]["id"].as_i64().unwrap();
    let res = app
        .post(
            &format!("/api/v1/admin/users/{id}/disable"),
            &json!({}),
            Some(token),
        )
        .await;
    assert_problem(res, 409, "cannot_modify_self").await;
    let res = app
        .put(
            &format!("/api/v1/admin/users/{id}/role"),
            &json!({"role": "resident"}),
            token,
        )
        .await;
    assert_problem(res, 409, "cannot_modify_self").await;
    assert_problem(
        app.get_as("/api/v1/admin/users/99999", token).await,
        404,
        "user_not_found",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/admin/users/abc", token).await,
        400,
        "invalid_path",
    )
    .await;
}
