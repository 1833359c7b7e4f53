//! Accounts: password change by the owner, reset by an admin, the owner's sessions, and login
//! throttling that never keeps an account's owner out.

use serde_json::{Value, json};

use crate::helpers::{PW, TestApp, assert_problem};

const LOGIN: &str = "/api/v1/auth/login";

/// Client addresses come from `X-Forwarded-For`, as behind the deployment's proxy.
async fn behind_proxy(extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("WHISTLE__LIMITS__TRUST_FORWARDED_FOR", "true"),
        ("WHISTLE__LIMITS__AUTH_IP_BURST", "1000"),
    ];
    settings.extend_from_slice(extra);
    TestApp::spawn_with(true, &settings)
        .await
        .checking_schemas()
        .await
}

/// A login from `address`, with a device token when given.
async fn login_from(
    app: &TestApp,
    address: &str,
    username: &str,
    password: &str,
    device: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(LOGIN))
        .header("x-forwarded-for", address)
        .json(&json!({"username": username, "password": password}));
    if let Some(d) = device {
        req = req.header("x-whistle-device", d);
    }
    app.send(req).await
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn audit_events(app: &TestApp) -> Vec<Value> {
    let admin = app.token("admin").await;
    let audit: Value = app
        .get_as("/api/v1/admin/audit?limit=200", &admin)
        .await
        .json()
        .await
        .unwrap();
    audit["items"].as_array().unwrap().clone()
}

fn has_event(events: &[Value], event: &str) -> bool {
    events.iter().any(|e| e["event"] == event)
}

#[tokio::test]
async fn fifty_wrong_passwords_from_elsewhere_do_not_keep_tianye_out() {
    let app = behind_proxy(&[]).await;
    // 田野 logs in from the community office once: the device and the address become known.
    let res = login_from(&app, "10.20.0.5", "tianye", PW, None).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("whistle_device="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/api/v1/auth"));
    let session: Value = res.json().await.unwrap();
    let device = session["device_token"].as_str().unwrap().to_owned();
    assert_eq!(session["password_change_required"], false);

    // Someone who knows his username tries 50 passwords from another address.
    let mut statuses = Vec::new();
    let mut waits = Vec::new();
    for i in 0..50 {
        let res = login_from(
            &app,
            "203.0.113.9",
            "tianye",
            &format!("guess-{i}-2026"),
            None,
        )
        .await;
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            waits.push(retry_after(&res));
            assert_problem(res, 429, "login_throttled").await;
        }
    }
    assert_eq!(statuses[..5], [401; 5], "five free failures: {statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // Every attempt while waiting doubles the wait, up to the cap (auth.login_max_delay_secs).
    assert_eq!(waits[..4], [4, 8, 16, 32], "{waits:?}");
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
    assert_eq!(*waits.last().unwrap(), 900);
    // The attacker's address is held back even with the right password…
    let res = login_from(&app, "203.0.113.9", "tianye", PW, None).await;
    assert_problem(res, 429, "login_throttled").await;

    // …but 田野 is not: from his known address, from his device anywhere.
    let res = login_from(&app, "10.20.0.5", "tianye", PW, None).await;
    assert_eq!(res.status(), 200);
    let res = login_from(&app, "198.51.100.7", "tianye", PW, Some(&device)).await;
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(
        again["device_token"], device,
        "a known device keeps its token"
    );
    // A device token of another account is no help.
    let other: Value = login_from(&app, "10.20.0.6", "officer.gulou", PW, None)
        .await
        .json()
        .await
        .unwrap();
    let res = login_from(
        &app,
        "203.0.113.9",
        "tianye",
        PW,
        other["device_token"].as_str(),
    )
    .await;
    assert_problem(res, 429, "login_throttled").await;

    let events = audit_events(&app).await;
    for e in ["login_failed", "login_throttled", "login_succeeded"] {
        assert!(has_event(&events, e), "{e}");
    }
    assert!(!has_event(&events, "account_throttled"));
}

#[tokio::test]
async fn guessing_from_many_addresses_holds_back_only_strangers() {
    let app = behind_proxy(&[("WHISTLE__AUTH__ACCOUNT_FAILURE_LIMIT", "12")]).await;
    let session: Value = login_from(&app, "10.20.0.5", "tianye", PW, None)
        .await
        .json()
        .await
        .unwrap();
    let device = session["device_token"].as_str().unwrap().to_owned();
    // Twelve addresses, one guess each: no address reaches its own limit.
    for i in 0..12 {
        let res = login_from(
            &app,
            &format!("203.0.113.{i}"),
            "tianye",
            "guess-2026",
            None,
        )
        .await;
        assert_problem(res, 401, "invalid_credentials").await;
    }
    // A thirteenth address, never seen, waits even with the right password…
    let res = login_from(&app, "203.0.113.99", "tianye", PW, None).await;
    assert!(retry_after(&res) > 800);
    assert_problem(res, 429, "login_throttled").await;
    // …the known address and the known device do not.
    assert_eq!(
        login_from(&app, "10.20.0.5", "tianye", PW, None)
            .await
            .status(),
        200
    );
    assert_eq!(
        login_from(&app, "198.51.100.7", "tianye", PW, Some(&device))
            .await
            .status(),
        200
    );
    // Other accounts are untouched.
    assert_eq!(
        login_from(&app, "203.0.113.99", "officer.gulou", PW, None)
            .await
            .status(),
        200
    );
    assert!(has_event(&audit_events(&app).await, "account_throttled"));
}

#[tokio::test]
async fn a_known_devices_own_failures_still_slow_it() {
    let app = behind_proxy(&[]).await;
    let session: Value = login_from(&app, "10.20.0.5", "tianye", PW, None)
        .await
        .json()
        .await
        .unwrap();
    let device = session["device_token"].as_str().unwrap().to_owned();
    let mut last = 0;
    for i in 0..6 {
        let res = login_from(
            &app,
            "198.51.100.7",
            "tianye",
            &format!("x-{i}-2026"),
            Some(&device),
        )
        .await;
        last = res.status().as_u16();
    }
    assert_eq!(last, 429, "a stolen device token buys no free guesses");
    // The address it was used from is not blamed: without the token it is a fresh source.
    assert_eq!(
        login_from(&app, "198.51.100.7", "tianye", PW, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_owner_changes_the_password_and_every_other_session_ends() {
    let app = TestApp::spawn().await;
    let first = app.login("tianye", PW).await;
    let second = app.login("tianye", PW).await;
    let token = first["access_token"].as_str().unwrap();
    let path = "/api/v1/me/password";

    let res = app
        .post(
            path,
            &json!({"current_password": "not-it-2026", "new_password": "wenchang-patrol-7"}),
            Some(token),
        )
        .await;
    let body = assert_problem(res, 422, "wrong_password").await;
    assert_eq!(body["field"], "current_password");
    for (new, code) in [
        ("short-1", "weak_password"),
        ("onlyletters", "weak_password"),
        ("tianye-2027", "weak_password"),
        (PW, "password_unchanged"),
    ] {
        let res = app
            .post(
                path,
                &json!({"current_password": PW, "new_password": new}),
                Some(token),
            )
            .await;
        let body = assert_problem(res, 422, code).await;
        assert_eq!(body["field"], "new_password");
    }
    let res = app
        .post(
            path,
            &json!({"current_password": PW, "new_password": "wenchang-patrol-7"}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    assert_eq!(
        fresh["session_id"], first["session_id"],
        "the caller's session goes on"
    );
    let fresh_token = fresh["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/me", fresh_token).await.status(), 200);
    // Every token issued before ends: this session's old ones and the other session's.
    for old in [token, second["access_token"].as_str().unwrap()] {
        assert_problem(app.get_as("/api/v1/me", old).await, 401, "invalid_token").await;
    }
    for old in [&first["refresh_token"], &second["refresh_token"]] {
        let res = app
            .post("/api/v1/auth/refresh", &json!({"refresh_token": old}), None)
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": fresh["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    // The old password no longer works, the new one does.
    let res = app
        .post(LOGIN, &json!({"username": "tianye", "password": PW}), None)
        .await;
    assert_problem(res, 401, "invalid_credentials").await;
    app.login("tianye", "wenchang-patrol-7").await;
    assert!(has_event(&audit_events(&app).await, "password_changed"));
}

#[tokio::test]
async fn an_admin_reset_forces_a_change_at_the_next_login() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let before = app.login("tianye", PW).await;
    let me: Value = app
        .get_as("/api/v1/me", before["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_i64().unwrap();
    let reset = format!("/api/v1/admin/users/{id}/password-reset");

    // Only admins; not one's own account; the policy applies to a chosen password.
    let officer = app.token("officer.gulou").await;
    assert_problem(
        app.post(&reset, &json!({}), Some(&officer)).await,
        403,
        "role_not_permitted",
    )
    .await;
    let admin_id = app
        .get_as("/api/v1/me", &admin)
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let own = format!("/api/v1/admin/users/{admin_id}/password-reset");
    assert_problem(
        app.post(&own, &json!({}), Some(&admin)).await,
        409,
        "cannot_modify_self",
    )
    .await;
    assert_problem(
        app.post(
            "/api/v1/admin/users/999999/password-reset",
            &json!({}),
            Some(&admin),
        )
        .await,
        404,
        "user_not_found",
    )
    .await;
    let res = app
        .post(
            &reset,
            &json!({"temporary_password": "short"}),
            Some(&admin),
        )
        .await;
    assert_problem(res, 422, "weak_password").await;

    let res = app.post(&reset, &json!({}), Some(&admin)).await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    let temporary = done["temporary_password"].as_str().unwrap().to_owned();
    assert_eq!(done["password_change_required"], true);
    assert!(done["sessions_revoked"].as_u64().unwrap() >= 1);
    // His sessions ended at once; the old password is gone.
    assert_problem(
        app.get_as("/api/v1/me", before["access_token"].as_str().unwrap())
            .await,
        401,
        "invalid_token",
    )
    .await;
    let res = app
        .post(LOGIN, &json!({"username": "tianye", "password": PW}), None)
        .await;
    assert_problem(res, 401, "invalid_credentials").await;

    // The temporary password logs in to a session that can only change it.
    let limited = app.login("tianye", &temporary).await;
    assert_eq!(limited["password_change_required"], true);
    let token = limited["access_token"].as_str().unwrap();
    for path in ["/api/v1/me", "/api/v1/me/sessions", "/api/v1/cases"] {
        assert_problem(
            app.get_as(path, token).await,
            403,
            "password_change_required",
        )
        .await;
    }
    let refreshed: Value = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": limited["refresh_token"]}),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        refreshed["password_change_required"], true,
        "refreshing does not lift it"
    );
    let res = app
        .post(
            "/api/v1/me/password",
            &json!({"current_password": temporary, "new_password": "patrol-wenchang-8"}),
            Some(refreshed["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(res.status(), 200);
    let full: Value = res.json().await.unwrap();
    assert_eq!(full["password_change_required"], false);
    assert_eq!(
        app.get_as("/api/v1/me", full["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(
        app.login("tianye", "patrol-wenchang-8").await["password_change_required"],
        false
    );

    let events = audit_events(&app).await;
    let entry = events
        .iter()
        .find(|e| e["event"] == "password_reset")
        .expect("the reset is audited");
    assert_eq!(entry["actor_id"], admin_id);
    assert_eq!(entry["subject_id"], id);
    assert!(
        !entry.to_string().contains(&temporary),
        "no password in the log"
    );
}

#[tokio::test]
async fn owners_list_and_end_their_sessions() {
    let app = TestApp::spawn().await;
    let app = &app;
    let login_as = |agent: &'static str| {
        let req = app
            .client
            .post(app.url(LOGIN))
            .header("user-agent", agent)
            .json(&json!({"username": "tianye", "password": PW}));
        async move { app.send(req).await.json::<Value>().await.unwrap() }
    };
    let phone = login_as("Whistle-Android/3.1").await;
    let desk = login_as("Mozilla/5.0 (Windows NT 10.0)").await;
    let token = phone["access_token"].as_str().unwrap();

    let list: Value = app
        .get_as("/api/v1/me/sessions", token)
        .await
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let mine = list.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(mine["id"], phone["session_id"]);
    assert_eq!(mine["user_agent"], "Whistle-Android/3.1");
    assert_eq!(mine["client_ip"], "127.0.0.1");
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["id"], desk["session_id"]);

    // Someone else's session is not found, like one that does not exist.
    let neighbour = app.login("officer.gulou", PW).await;
    let theirs = format!(
        "/api/v1/me/sessions/{}",
        neighbour["session_id"].as_str().unwrap()
    );
    let res = app
        .send(app.client.delete(app.url(&theirs)).bearer_auth(token))
        .await;
    assert_problem(res, 404, "session_not_found").await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": neighbour["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(res.status(), 200, "their session is untouched");

    let path = format!(
        "/api/v1/me/sessions/{}",
        desk["session_id"].as_str().unwrap()
    );
    let res = app
        .send(app.client.delete(app.url(&path)).bearer_auth(token))
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": desk["refresh_token"]}),
            None,
        )
        .await;
    assert_problem(res, 401, "invalid_refresh_token").await;
    let res = app
        .send(app.client.delete(app.url(&path)).bearer_auth(token))
        .await;
    assert_problem(res, 404, "session_not_found").await;
    let list: Value = app
        .get_as("/api/v1/me/sessions", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Refreshing keeps the session's id and start, and moves its last use.
    let refreshed: Value = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": phone["refresh_token"]}),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refreshed["session_id"], phone["session_id"]);
    let after: Value = app
        .get_as(
            "/api/v1/me/sessions",
            refreshed["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after[0]["started_at"], list[0]["started_at"]);
    assert_eq!(after[0]["current"], true);
    assert!(has_event(&audit_events(app).await, "session_revoked"));
}
