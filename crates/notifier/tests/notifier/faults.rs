//! Receivers that fail, addresses that cannot work, reminders that went stale.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use whistle_domain::ids::CaseId;
use whistle_domain::notice::{Channel, DeliveryState, Locale, Template};
use whistle_notifier::settings::WebhookSettings;
use whistle_persistence::repo::notifications::{self as outbox_repo, NewNotification};

use crate::helpers::{SECRET, TestApp, drain_at, notifier, notifier_settings, outbox};
use crate::receivers::Receivers;

fn row(key: &str, channel: Channel, address: &str, payload: Value) -> NewNotification {
    NewNotification {
        dedupe_key: key.to_owned(),
        template: Template::CaseAccepted,
        case_id: None,
        user_id: None,
        channel,
        address: Some(address.to_owned()),
        locale: Locale::Zh,
        title: "标题".to_owned(),
        body: "正文".to_owned(),
        payload,
        next_attempt_at: Utc::now(),
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn failing_receivers_are_retried_then_dead_and_an_admin_can_retry() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let mut settings = notifier_settings(
        app.test_db.url(),
        &rx,
        &[("WHISTLE__NOTIFIER__MAX_ATTEMPTS", "3")],
    );
    settings.notifier.webhooks.clear();
    for (name, url) in [
        ("answers-500", rx.url("/hook/fail")),
        ("too-slow", rx.url("/hook/slow")),
        ("hangs-up", format!("http://127.0.0.1:{}/", rx.closing_port)),
    ] {
        settings.notifier.webhooks.push(WebhookSettings {
            name: name.to_owned(),
            url,
            secret: SECRET.to_owned(),
            templates: vec!["compound.reported".to_owned()],
        });
    }
    let n = notifier(settings).await;
    let resident = app.token("13800001234").await;
    app.report(&resident).await;

    let t0 = Utc::now();
    let r = drain_at(&n, t0).await;
    assert_eq!(r.retried, 3, "{r:?}");
    let r = drain_at(&n, t0 + Duration::seconds(10)).await;
    assert_eq!(r.retried, 3, "{r:?}");
    let r = drain_at(&n, t0 + Duration::seconds(20)).await;
    assert_eq!(r.dead, 3, "{r:?}");
    assert_eq!(
        rx.seen.lock().unwrap().failures.len(),
        6,
        "500 and slow, three times each"
    );

    let admin = app.token("admin").await;
    let dead = app
        .get(&admin, "/api/v1/admin/notifications?state=dead")
        .await;
    let items = dead["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{dead}");
    let error_of = |name: &str| {
        items
            .iter()
            .find(|i| i["address"] == name)
            .map(|i| {
                (
                    i["attempts"].as_i64(),
                    i["last_error"].as_str().unwrap().to_owned(),
                )
            })
            .unwrap()
    };
    let (attempts, e) = error_of("answers-500");
    assert_eq!(attempts, Some(3));
    assert!(
        e.contains("500") && e.contains("gave up after 3 attempts"),
        "{e}"
    );
    assert!(error_of("too-slow").1.contains("timed out"), "{dead}");
    assert!(
        error_of("hangs-up").1.contains("webhook hangs-up"),
        "{dead}"
    );

    // Retrying a dead one puts it back; it is not dead any more, so not again.
    let id = items
        .iter()
        .find(|i| i["address"] == "answers-500")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/admin/notifications/{id}/retry");
    let res = app.send(Method::POST, &admin, &path, None).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["state"].as_str(), body["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );
    let res = app.send(Method::POST, &admin, &path, None).await;
    assert_eq!(res.status(), 409);
    let res = app
        .send(
            Method::POST,
            &admin,
            "/api/v1/admin/notifications/999999/retry",
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app.send(Method::POST, &resident, &path, None).await;
    assert_eq!(res.status(), 403);
    let res = app
        .send(
            Method::GET,
            &admin,
            "/api/v1/admin/notifications?state=lost",
            None,
        )
        .await;
    assert_eq!(res.status(), 422);
    // The retried one fails again (the receiver still answers 500) and is retried, not dead.
    let r = drain_at(&n, Utc::now()).await;
    assert_eq!(r.retried, 1, "{r:?}");
}

#[tokio::test]
async fn a_malformed_address_is_dead_at_once() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let n = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    drain_at(&n, Utc::now()).await;
    let before = outbox(&app.db).await.len();
    outbox_repo::insert_new(
        &app.db,
        &[
            row(
                "bad-email",
                Channel::Email,
                "zhang at example dot com",
                json!({}),
            ),
            row("bad-phone", Channel::Sms, "12345", json!({})),
            row("no-hook", Channel::Webhook, "nobody", json!({})),
        ],
    )
    .await
    .unwrap();
    let r = drain_at(&n, Utc::now()).await;
    assert_eq!((r.dead, r.retried, r.sent), (3, 0, 0), "{r:?}");
    let rows = outbox_repo::list(&app.db, Some(DeliveryState::Dead), None, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.attempts, 1, "{r:?}");
    }
    let errors: Vec<_> = rows.iter().map(|r| r.last_error.clone().unwrap()).collect();
    assert!(
        errors.iter().any(|e| e.contains("not an e-mail address")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("not a mobile number")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("no webhook named")),
        "{errors:?}"
    );
    assert!(rx.sms().is_empty() && rx.mails().is_empty());
    assert_eq!(outbox(&app.db).await.len(), before + 3);
}

#[tokio::test]
async fn a_reminder_whose_stage_is_over_is_never_sent() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let resident = app.token("13800001234").await;
    let id = app.report(&resident).await;
    let n = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    drain_at(&n, Utc::now()).await;
    let sent_before = rx.hooks().len();
    // A reminder written for a deadline the case no longer has (claimed by a notifier before
    // the stage changed, say).
    let mut stale = row(
        "stale-reminder",
        Channel::Webhook,
        "command-centre",
        json!({"stage": "accept", "due": "2020-01-01T00:00:00+00:00"}),
    );
    stale.template = Template::SlaOverdue;
    stale.case_id = Some(CaseId::new(id).unwrap());
    outbox_repo::insert_new(&app.db, &[stale]).await.unwrap();
    let r = drain_at(&n, Utc::now()).await;
    assert_eq!((r.moot, r.sent), (1, 0), "{r:?}");
    assert_eq!(rx.hooks().len(), sent_before);
}
