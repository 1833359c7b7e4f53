//! Registration, login, refresh, logout, and the attacks on each.

use base64::Engine;
use serde_json::{Value, json};
use whistle_auth::Principal;
use whistle_auth::token::{KeyRing, SigningKey};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::Jurisdiction;
use whistle_domain::notice::{Channel, Locale};
use whistle_domain::people::{PhoneNumber, Role};
use whistle_persistence::repo::notifications::{self, Notification};

use crate::helpers::{PW, TEST_KEY, TestApp, assert_problem};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

const REGISTER: &str = "/api/v1/auth/register";
const VERIFY: &str = "/api/v1/auth/register/verify";

/// The registration SMS sent to `phone` (any usual spelling), newest first, as the outbox holds
/// them for the notifier.
async fn registration_sms(app: &TestApp, phone: &str) -> Vec<Notification> {
    let phone = PhoneNumber::parse(phone).unwrap();
    let db = sea_orm::Database::connect(app.database_url())
        .await
        .unwrap();
    let outbox = notifications::list(&db, None, None, 500).await.unwrap();
    db.close().await.unwrap();
    outbox
        .into_iter()
        .filter(|n| {
            n.channel == Channel::Sms
                && n.address.as_deref() == Some(phone.as_str())
                && n.payload["purpose"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("registration"))
        })
        .collect()
}

fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|digits| digits.len() == 6)
        .map(str::to_owned)
}

/// The code most recently texted to `phone`.
async fn texted_code(app: &TestApp, phone: &str) -> String {
    let sms = registration_sms(app, phone).await;
    let latest = sms.first().expect("an SMS to the phone");
    assert_eq!(latest.payload["purpose"], "registration_code", "{latest:?}");
    six_digits(&latest.body).expect("a code in the SMS")
}

/// Runs a statement on the test database: what the clock would do in ten minutes.
async fn execute(app: &TestApp, sql: &str) {
    let db = sea_orm::Database::connect(app.database_url())
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(sql).await.unwrap();
    db.close().await.unwrap();
}

async fn verify(app: &TestApp, phone: &str, code: &str) -> reqwest::Response {
    app.post(VERIFY, &json!({"phone": phone, "code": code}), None)
        .await
}

/// Registers through the texted code; returns the session.
async fn register_and_verify(app: &TestApp, phone: &str, password: &str, name: &str) -> Value {
    let res = app
        .post(
            REGISTER,
            &json!({"phone": phone, "password": password, "display_name": name}),
            None,
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = texted_code(app, phone).await;
    let res = verify(app, phone, &code).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_resident_registers_with_the_texted_code_and_is_logged_in() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            REGISTER,
            &json!({"phone": "+86 139 1234 5678", "password": "wenchang-2026", "display_name": "王阿姨"}),
            None,
        )
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"status": "code_sent", "expires_in": 600}));
    // No account until the code comes back.
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "13912345678", "password": "wenchang-2026"}),
            None,
        )
        .await;
    assert_problem(res, 401, "invalid_credentials").await;
    let sms = registration_sms(&app, "13912345678").await;
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].locale, Locale::Zh);
    assert_eq!(sms[0].user_id, None);
    assert_eq!(sms[0].state, "pending");
    assert!(sms[0].body.contains("验证码"), "{}", sms[0].body);
    let code = texted_code(&app, "13912345678").await;

    let res = verify(&app, "139-1234-5678", &code).await;
    assert_eq!(res.status(), 201);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["account"]["role"], "resident");
    assert_eq!(session["account"]["phone"], "13912345678");
    let me = app
        .get_as("/api/v1/me", session["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["display_name"], "王阿姨");
    assert_eq!(me["username"], "13912345678");
    // And can log in with the phone number in any usual form.
    app.login("139-1234-5678", "wenchang-2026").await;
    // A code works once.
    assert_problem(
        verify(&app, "13912345678", &code).await,
        422,
        "invalid_code",
    )
    .await;
}

#[tokio::test]
async fn the_sms_speaks_the_language_of_the_request() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(app.url(REGISTER))
        .header("accept-language", "en-GB,en;q=0.9")
        .json(&json!({"phone": "13912340011", "password": "wenchang-2026", "display_name": "Ann"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let sms = registration_sms(&app, "13912340011").await;
    assert_eq!(sms[0].locale, Locale::En);
    assert!(
        sms[0].body.starts_with("Your registration code is "),
        "{}",
        sms[0].body
    );
    let res = app
        .client
        .post(app.url(REGISTER))
        .header("accept-language", "en")
        .json(&json!({"phone": "13800001234", "password": "wenchang-2026", "display_name": "Ann"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let sms = registration_sms(&app, "13800001234").await;
    assert_eq!(sms[0].locale, Locale::En);
    assert!(sms[0].body.contains("already"), "{}", sms[0].body);
}

#[tokio::test]
async fn registering_a_taken_phone_looks_the_same_and_tells_its_owner() {
    let app = TestApp::spawn().await;
    // 张师傅 (13800001234) is a demo resident; 13912340005 has no account.
    let before = app.login("13800001234", PW).await["account"].clone();
    let ask =
        |phone: &str| json!({"phone": phone, "password": "intruder-2026", "display_name": "冒名"});
    let taken = app.post(REGISTER, &ask("13800001234"), None).await;
    let free = app.post(REGISTER, &ask("13912340005"), None).await;
    assert_eq!(taken.status(), 202);
    assert_eq!(free.status(), taken.status());
    assert_eq!(
        taken.headers()["content-type"],
        free.headers()["content-type"]
    );
    let (taken, free) = (taken.text().await.unwrap(), free.text().await.unwrap());
    assert_eq!(taken, free);

    // The owner hears that someone tried, and gets no code.
    let sms = registration_sms(&app, "13800001234").await;
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].payload["purpose"], "registration_attempt");
    assert_eq!(sms[0].user_id.map(UserId::get), before["id"].as_i64());
    assert!(sms[0].body.contains("已有账号"), "{}", sms[0].body);
    assert_eq!(six_digits(&sms[0].body), None, "{}", sms[0].body);
    assert_eq!(
        registration_sms(&app, "13912340005").await[0].payload["purpose"],
        "registration_code"
    );

    // Nothing changed: no code makes the phone the intruder's, the old password still works and
    // the intruder's does not.
    for guess in ["000000", "123456", "999999"] {
        assert_problem(
            verify(&app, "13800001234", guess).await,
            422,
            "invalid_code",
        )
        .await;
    }
    let after = app.login("13800001234", PW).await["account"].clone();
    assert_eq!(after, before);
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "13800001234", "password": "intruder-2026"}),
            None,
        )
        .await;
    assert_problem(res, 401, "invalid_credentials").await;
    // A phone that asked for nothing, and one that is no phone, get the same answer.
    assert_problem(
        verify(&app, "13912340077", "123456").await,
        422,
        "invalid_code",
    )
    .await;
    assert_problem(verify(&app, "12345", "123456").await, 422, "invalid_code").await;
}

#[tokio::test]
async fn a_code_that_arrives_after_the_phone_got_an_account_is_refused() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        let res = app
            .post(
                REGISTER,
                &json!({"phone": "13912340012", "password": "wenchang-2026", "display_name": "x"}),
                None,
            )
            .await;
        assert_eq!(res.status(), 202);
        // Two people asked for codes for one phone (a minute apart); both hold one.
        execute(
            &app,
            "UPDATE pending_registration SET sent_at = '2000-01-01T00:00:00+00:00'",
        )
        .await;
    }
    let sms = registration_sms(&app, "13912340012").await;
    assert_eq!(sms.len(), 2);
    let (newer, older) = (
        six_digits(&sms[0].body).unwrap(),
        six_digits(&sms[1].body).unwrap(),
    );
    // The newer request replaced the older one: its code no longer works.
    if newer != older {
        assert_problem(
            verify(&app, "13912340012", &older).await,
            422,
            "invalid_code",
        )
        .await;
    }
    assert_eq!(verify(&app, "13912340012", &newer).await.status(), 201);
    // The phone has its account now; a registration begun since cannot take it over.
    let res = app
        .post(
            REGISTER,
            &json!({"phone": "13912340012", "password": "wenchang-2027", "display_name": "y"}),
            None,
        )
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        registration_sms(&app, "13912340012").await[0].payload["purpose"],
        "registration_attempt"
    );
    app.login("13912340012", "wenchang-2026").await;
}

#[tokio::test]
async fn a_second_sms_waits_a_minute_alike_for_taken_and_free_phones() {
    let app = TestApp::spawn().await;
    let ask =
        |phone: &str| json!({"phone": phone, "password": "wenchang-2026", "display_name": "x"});
    let mut answers = Vec::new();
    for phone in ["13800001234", "13912340006"] {
        assert_eq!(app.post(REGISTER, &ask(phone), None).await.status(), 202);
        let again = app.post(REGISTER, &ask(phone), None).await;
        let retry: u64 = again.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let mut problem = assert_problem(again, 429, "rate_limited").await;
        problem.as_object_mut().unwrap().remove("request_id");
        answers.push(problem);
        // One SMS each.
        assert_eq!(registration_sms(&app, phone).await.len(), 1);
    }
    assert_eq!(answers[0], answers[1]);
    // A minute later the phone may ask again, and the new code replaces the old.
    execute(
        &app,
        "UPDATE pending_registration SET sent_at = '2000-01-01T00:00:00+00:00' \
         WHERE phone = '13912340006'",
    )
    .await;
    let old = texted_code(&app, "13912340006").await;
    assert_eq!(
        app.post(REGISTER, &ask("13912340006"), None).await.status(),
        202
    );
    let new = texted_code(&app, "13912340006").await;
    assert_eq!(registration_sms(&app, "13912340006").await.len(), 2);
    if new != old {
        assert_problem(verify(&app, "13912340006", &old).await, 422, "invalid_code").await;
    }
    assert_eq!(verify(&app, "13912340006", &new).await.status(), 201);
}

#[tokio::test]
async fn five_wrong_codes_void_the_registration() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            REGISTER,
            &json!({"phone": "13912340007", "password": "wenchang-2026", "display_name": "x"}),
            None,
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = texted_code(&app, "13912340007").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        assert_problem(
            verify(&app, "13912340007", wrong).await,
            422,
            "invalid_code",
        )
        .await;
    }
    // Void: the right code comes too late.
    assert_problem(
        verify(&app, "13912340007", &code).await,
        422,
        "invalid_code",
    )
    .await;
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "13912340007", "password": "wenchang-2026"}),
            None,
        )
        .await;
    assert_problem(res, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            REGISTER,
            &json!({"phone": "13912340008", "password": "wenchang-2026", "display_name": "x"}),
            None,
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = texted_code(&app, "13912340008").await;
    // Ten minutes pass.
    execute(
        &app,
        "UPDATE pending_registration SET expires_at = '2000-01-01T00:10:00+00:00' \
         WHERE phone = '13912340008'",
    )
    .await;
    assert_problem(
        verify(&app, "13912340008", &code).await,
        422,
        "invalid_code",
    )
    .await;
}

#[tokio::test]
async fn registration_is_documented_without_a_conflict() {
    let app = TestApp::spawn_with(false, &[]).await;
    let doc = app.get_json("/openapi.json").await;
    let register = &doc["paths"][REGISTER]["post"]["responses"];
    assert!(register.get("202").is_some(), "{register}");
    assert!(register.get("201").is_none() && register.get("409").is_none());
    let verify = &doc["paths"][VERIFY]["post"]["responses"];
    assert!(
        verify.get("201").is_some() && verify.get("422").is_some(),
        "{verify}"
    );
    assert!(!doc.to_string().contains("phone_taken"));
}

#[tokio::test]
async fn registration_refuses_bad_input_and_stores_nothing() {
    let app = TestApp::spawn().await;
    for (body, status, code) in [
        (
            json!({"phone": "12345", "password": "wenchang-2026", "display_name": "x"}),
            422,
            "invalid_value",
        ),
        (
            json!({"phone": "13912340000", "password": "short", "display_name": "x"}),
            422,
            "weak_password",
        ),
        (
            json!({"phone": "13912340000", "password": "abc13912340000", "display_name": "x"}),
            422,
            "weak_password",
        ),
        (
            json!({"phone": "13912340000", "password": "a1".repeat(5000), "display_name": "x"}),
            422,
            "weak_password",
        ),
        (
            json!({"phone": "13912340000", "password": "wenchang-2026", "display_name": ""}),
            422,
            "invalid_value",
        ),
        (
            json!({"phone": "13912340000", "password": "wenchang-2026", "display_name": "名".repeat(101)}),
            422,
            "invalid_value",
        ),
        (
            json!({"phone": "13912340000", "password": "wenchang-2026"}),
            422,
            "invalid_body",
        ),
        (
            json!({"phone": {"$ne": null}, "password": "wenchang-2026", "display_name": "x"}),
            422,
            "invalid_body",
        ),
        (
            json!({"phone": "' OR '1'='1", "password": "wenchang-2026", "display_name": "x"}),
            422,
            "invalid_value",
        ),
        // serde reads a struct from an array too; the values then fail as values.
        (json!(["not", "a", "phone"]), 422, "invalid_value"),
        (json!("just a string"), 422, "invalid_body"),
    ] {
        let res = app.post("/api/v1/auth/register", &body, None).await;
        assert_problem(res, status, code).await;
    }
    let res = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{\"phone\": ")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_json").await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .body("phone=1")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "unsupported_content_type").await;
    // Nothing was stored or sent: the phone registers at once.
    assert!(registration_sms(&app, "13912340000").await.is_empty());
    register_and_verify(&app, "13912340000", "wenchang-2026", "x").await;
}

#[tokio::test]
async fn injection_strings_are_just_text() {
    let app = TestApp::spawn().await;
    let name = "Robert'); DROP TABLE users;-- <script>alert(1)</script>";
    let session = register_and_verify(&app, "13912340001", "wenchang-2026", name).await;
    assert_eq!(session["account"]["display_name"], name);
    for username in [
        "' OR '1'='1",
        "admin'--",
        "\"; DROP TABLE users; --",
        "{\"$gt\":\"\"}",
    ] {
        let res = app
            .post(
                "/api/v1/auth/login",
                &json!({"username": username, "password": "x' OR '1'='1"}),
                None,
            )
            .await;
        assert_problem(res, 401, "invalid_credentials").await;
    }
    // A control character is refused before any account is looked at.
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "admin\u{0}", "password": "x' OR '1'='1"}),
            None,
        )
        .await;
    assert_problem(res, 422, "invalid_characters").await;
    // The users table is intact.
    app.login("tianye", PW).await;
}

#[tokio::test]
async fn demo_staff_log_in_with_role_and_jurisdiction() {
    let app = TestApp::spawn().await;
    let session = app.login("tianye", PW).await;
    let account = &session["account"];
    assert_eq!(account["role"], "officer");
    assert_eq!(account["badge_number"], "HZ0101");
    assert_eq!(
        account["jurisdiction"],
        json!([{"level": "community", "id": 1}])
    );
    assert!(session["expires_in"].as_i64().unwrap() > 0);
    let leader = app.login("leader.haizhou1", PW).await;
    assert_eq!(leader["account"]["jurisdiction"][0]["level"], "street");
    // The access token carries the same principal.
    let ring = KeyRing::new(
        &SigningKey::parse(TEST_KEY).unwrap(),
        &[],
        "whistle",
        "whistle-api",
    );
    let p = ring
        .verify(session["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(p.role, Role::Officer);
    assert_eq!(p.jurisdiction.areas().len(), 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "tianye", "password": "nope-2026"}),
            None,
        )
        .await;
    let wrong = assert_problem(wrong, 401, "invalid_credentials").await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "nobody", "password": "nope-2026"}),
            None,
        )
        .await;
    let unknown = assert_problem(unknown, 401, "invalid_credentials").await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["title"], unknown["title"]);
}

#[tokio::test]
async fn an_over_long_password_is_refused_before_hashing() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "tianye", "password": "x".repeat(100_000)}),
            None,
        )
        .await;
    assert_problem(res, 422, "password_too_long").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let first = app.login("tianye", PW).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let res = app
        .post("/api/v1/auth/refresh", &json!({"refresh_token": r1}), None)
        .await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        app.get_as("/api/v1/me", second["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // The first token again: reuse. Everything from that login is revoked, r2 included.
    let reuse = app
        .post("/api/v1/auth/refresh", &json!({"refresh_token": r1}), None)
        .await;
    assert_problem(reuse, 401, "refresh_token_reused").await;
    let r2_after = app
        .post("/api/v1/auth/refresh", &json!({"refresh_token": r2}), None)
        .await;
    assert_problem(r2_after, 401, "invalid_refresh_token").await;
    // Another login (another family) is unaffected.
    let other = app.login("tianye", PW).await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": other["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    // The reuse is in the audit log.
    let admin = app.token("admin").await;
    let audit: Value = app
        .get_as("/api/v1/admin/audit", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "refresh_reuse_detected")
    );
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_cannot_both_win() {
    let app = TestApp::spawn().await;
    let session = app.login("tianye", PW).await;
    let body = json!({"refresh_token": session["refresh_token"]});
    let (a, b) = tokio::join!(
        app.post("/api/v1/auth/refresh", &body, None),
        app.post("/api/v1/auth/refresh", &body, None)
    );
    let ok = [a.status(), b.status()]
        .iter()
        .filter(|s| s.as_u16() == 200)
        .count();
    assert!(ok <= 1, "both refreshes succeeded");
}

#[tokio::test]
async fn garbage_refresh_tokens_and_logout() {
    let app = TestApp::spawn().await;
    for t in ["", "garbage", &"x".repeat(10_000)] {
        let res = app
            .post("/api/v1/auth/refresh", &json!({"refresh_token": t}), None)
            .await;
        assert_problem(res, 401, "invalid_refresh_token").await;
    }
    let session = app.login("tianye", PW).await;
    let body = json!({"refresh_token": session["refresh_token"]});
    assert_eq!(
        app.post("/api/v1/auth/logout", &body, None).await.status(),
        204
    );
    assert_eq!(
        app.post("/api/v1/auth/logout", &body, None).await.status(),
        204,
        "idempotent"
    );
    let res = app.post("/api/v1/auth/refresh", &body, None).await;
    assert_problem(res, 401, "invalid_refresh_token").await;
}

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn forged_and_broken_access_tokens_are_401() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/me").await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_problem(res, 401, "unauthenticated").await;

    let good = app.token("tianye").await;
    let parts: Vec<&str> = good.split('.').collect();
    let payload = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let test_key = SigningKey::parse(TEST_KEY).unwrap();
    let principal = |role: Role| Principal {
        user_id: UserId::new(1).unwrap(),
        role,
        jurisdiction: Jurisdiction::none(),
    };
    let claims = json!({
        "iss": "whistle", "aud": "whistle-api", "sub": "1", "iat": now(), "nbf": now(),
        "exp": now() + 600, "jti": "x", "role": "admin", "jur": []
    });
    let secret = base64::engine::general_purpose::STANDARD
        .decode(TEST_KEY.split_once(':').unwrap().1)
        .unwrap();
    let mut hs512 = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512);
    hs512.kid = Some("test-1".into());
    let mut no_kid = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    no_kid.kid = None;
    let forged: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT","kid":"test-1"}"#),
                parts[1]
            ),
        ),
        (
            "alg none, no dot",
            format!("{}.{}", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]),
        ),
        (
            "HS512",
            jsonwebtoken::encode(
                &hs512,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(&secret),
            )
            .unwrap(),
        ),
        (
            "no kid",
            jsonwebtoken::encode(
                &no_kid,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(&secret),
            )
            .unwrap(),
        ),
        (
            "wrong key",
            KeyRing::new(
                &SigningKey::new("test-1", vec![9; 32]).unwrap(),
                &[],
                "whistle",
                "whistle-api",
            )
            .issue(&principal(Role::Admin), now(), 600)
            .unwrap()
            .token,
        ),
        (
            "expired",
            KeyRing::new(&test_key, &[], "whistle", "whistle-api")
                .issue(&principal(Role::Admin), now() - 7200, 600)
                .unwrap()
                .token,
        ),
        (
            "wrong aud",
            KeyRing::new(&test_key, &[], "whistle", "someone-else")
                .issue(&principal(Role::Admin), now(), 600)
                .unwrap()
                .token,
        ),
        (
            "tampered role",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(payload.replace("\"officer\"", "\"admin\"").as_bytes()),
                parts[2]
            ),
        ),
        ("garbage", "not-a-token".into()),
        ("empty segments", "..".into()),
        ("huge", "a".repeat(20_000)),
    ];
    for (what, token) in forged {
        let res = app.get_as("/api/v1/admin/users", &token).await;
        // A genuine token past its lifetime is refreshed; anything else means logging in again.
        let code = if what == "expired" {
            "token_expired"
        } else {
            "invalid_token"
        };
        let body = assert_problem(res, 401, code).await;
        assert!(body["detail"].is_string(), "{what}");
    }
    for header in ["Basic dGlhbnllOnB3", "Bearer", "Bearer ", "bearer\tx"] {
        let res = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_problem(res, 401, "invalid_token").await;
    }
    // The genuine token still works.
    assert_eq!(app.get_as("/api/v1/me", &good).await.status(), 200);
}

#[tokio::test]
async fn unknown_accounts_are_slowed_like_real_ones() {
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    for name in ["ghost", "tianye"] {
        for _ in 0..6 {
            let res = app
                .post(
                    "/api/v1/auth/login",
                    &json!({"username": name, "password": "whatever-1"}),
                    None,
                )
                .await;
            let status = res.status().as_u16();
            let code = res.json::<Value>().await.unwrap()["code"].clone();
            answers.push((status, code));
        }
    }
    // Five free failures, then a wait, alike for a name that exists and one that does not.
    assert_eq!(answers[..6], answers[6..]);
    assert_eq!(answers[5], (429, json!("login_throttled")));
}

#[tokio::test]
async fn logins_are_throttled_per_client_address() {
    let app = TestApp::spawn_with(
        true,
        &[
            ("WHISTLE__LIMITS__AUTH_IP_BURST", "5"),
            ("WHISTLE__LIMITS__AUTH_IP_PER_MINUTE", "1"),
        ],
    )
    .await;
    for i in 0..5 {
        let res = app
            .post(
                "/api/v1/auth/login",
                &json!({"username": format!("user{i}"), "password": "x-1234567"}),
                None,
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"username": "tianye", "password": PW}),
            None,
        )
        .await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_problem(res, 429, "rate_limited").await;
    let res = app
        .post(
            "/api/v1/auth/register",
            &json!({"phone": "13912340002", "password": "wenchang-2026", "display_name": "x"}),
            None,
        )
        .await;
    assert_problem(res, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_development_key_is_generated_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys/jwt.key");
    let key_file = key_file.to_str().unwrap();
    let db = whistle_persistence::testing::TestDatabase::create().await;
    let settings = || {
        let mut s =
            crate::helpers::settings_for(db.url(), &[("WHISTLE__AUTH__DEV_KEY_FILE", key_file)]);
        s.auth.signing_key = whistle_api::config::Secret::new(String::new());
        s
    };
    let conn = whistle_api::startup::open_database(&settings())
        .await
        .unwrap();
    whistle_api::demo::seed(&conn).await.unwrap();
    let first = whistle_api::App::build_with(settings(), conn.clone())
        .await
        .unwrap();
    let base = format!("http://{}", first.local_addr());
    tokio::spawn(first.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let session: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "tianye", "password": PW}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap();
    let content = std::fs::read_to_string(key_file).unwrap();
    assert!(content.starts_with("dev-1:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is private");
    }
    // A restart (a second process on the same key file) accepts the first one's tokens.
    let second = whistle_api::App::build_with(settings(), conn.clone())
        .await
        .unwrap();
    let base2 = format!("http://{}", second.local_addr());
    tokio::spawn(second.run_until(std::future::pending()));
    let me = client
        .get(format!("{base2}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(std::fs::read_to_string(key_file).unwrap(), content);
}

#[tokio::test]
async fn production_without_a_key_refuses_to_start() {
    let db = whistle_persistence::testing::TestDatabase::create().await;
    let mut settings =
        crate::helpers::settings_for(db.url(), &[("WHISTLE__APP__ENVIRONMENT", "production")]);
    settings.auth.signing_key = whistle_api::config::Secret::new(String::new());
    let err = whistle_api::App::build(settings).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("auth.signing_key is required in production"),
        "{err:#}"
    );
}
