//! Who hears what, once: status notices over every channel, deadline reminders, quiet hours,
//! pledges running out.

use chrono::{Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use whistle_domain::ids::CaseId;
use whistle_persistence::repo::notifications as outbox_repo;

use crate::helpers::{TestApp, drain_at, notifier, notifier_settings, outbox};
use crate::receivers::Receivers;

#[tokio::test]
async fn a_case_s_story_reaches_everyone_once_over_every_channel() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let resident = app.token("13800001234").await;
    // The resident reads English and leaves an e-mail address; nonsense is refused.
    let path = "/api/v1/me/notification-settings";
    for bad in [
        json!({"email": "not-an-address", "locale": "zh"}),
        json!({"email": null, "locale": "fr"}),
    ] {
        let res = app.send(Method::PUT, &resident, path, Some(bad)).await;
        assert_eq!(res.status(), 422);
    }
    let res = app
        .send(
            Method::PUT,
            &resident,
            path,
            Some(json!({"email": "zhang@example.com", "locale": "en"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get(&resident, path).await["locale"], "en");

    let id = app.report(&resident).await;
    let dispatcher = app.token("dispatcher").await;
    let tianye = app.token("tianye").await;
    let tianye_id = app.user_id(&tianye).await;
    app.act(&dispatcher, id, json!({"action": "accept"})).await;
    app.act(
        &dispatcher,
        id,
        json!({"action": "dispatch", "assignee_id": tianye_id}),
    )
    .await;

    let n = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    let first = drain_at(&n, Utc::now()).await;
    assert!(first.sent > 0 && first.dead == 0, "{first:?}");

    // SMS: the resident twice (accepted, dispatched) in English; 田野 once (his assignment).
    let sms = rx.sms();
    let to = |p: &str| sms.iter().filter(|m| m["phone"] == p).count();
    assert_eq!(
        (to("13800001234"), to("13905180101"), sms.len()),
        (2, 1, 3),
        "{sms:?}"
    );
    assert!(
        sms.iter().any(|m| m["phone"] == "13800001234"
            && m["text"].as_str().unwrap().contains("accepted as case"))
    );
    assert!(
        sms.iter()
            .any(|m| m["phone"] == "13905180101"
                && m["text"].as_str().unwrap().contains("已派遣给您"))
    );
    // E-mail: the resident twice, through the loopback SMTP server.
    let mails = rx.mails();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().all(|m| m.to == ["zhang@example.com"]));
    assert!(mails.iter().any(|m| m.data.contains("is accepted")));
    // Webhook: each notice once, signed (the receiver verified every call).
    // (The demo's pledge, due in ten days, has its own reminder: not part of this story.)
    let hooks: Vec<_> = rx
        .hooks()
        .into_iter()
        .filter(|h| h.body["template"] != "pledge.expiring")
        .collect();
    let mut templates: Vec<String> = hooks
        .iter()
        .map(|h| h.body["template"].as_str().unwrap().to_owned())
        .filter(|t| t != "pledge.expiring")
        .collect();
    templates.sort();
    assert_eq!(
        templates,
        [
            "case.accepted",
            "case.dispatched",
            "compound.reported",
            "officer.assignment"
        ]
    );
    assert_eq!(rx.seen.lock().unwrap().rejected, 0);
    assert!(hooks.iter().all(|h| h.body["payload"]["case_id"] == id));

    // In-app: the resident's inbox in English, 田野's and the property company's in Chinese.
    let inbox = app.get(&resident, "/api/v1/notifications").await;
    assert_eq!(inbox["unread"], 2, "{inbox}");
    assert_eq!(inbox["items"][0]["template"], "case.dispatched");
    assert!(
        inbox["items"][1]["title"]
            .as_str()
            .unwrap()
            .contains("accepted")
    );
    let mine = app.get(&tianye, "/api/v1/notifications").await;
    let mine: Vec<&Value> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["template"] != "pledge.expiring")
        .collect();
    assert_eq!(mine.len(), 1);
    assert!(mine[0]["title"].as_str().unwrap().contains("新派遣案件"));
    let wuye = app.token("wenchang.wuye").await;
    let theirs = app.get(&wuye, "/api/v1/notifications").await;
    assert_eq!(theirs["items"][0]["template"], "compound.reported");
    // Paging, reading one, someone else's, reading all.
    let page = app.get(&resident, "/api/v1/notifications?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .get(
            &resident,
            &format!("/api/v1/notifications?limit=1&cursor={cursor}"),
        )
        .await;
    assert_eq!(rest["items"][0]["template"], "case.accepted");
    assert!(rest["next_cursor"].is_null());
    let first_id = inbox["items"][0]["id"].as_i64().unwrap();
    let res = app
        .send(
            Method::POST,
            &resident,
            &format!("/api/v1/notifications/{first_id}/read"),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .send(
            Method::POST,
            &tianye,
            &format!("/api/v1/notifications/{first_id}/read"),
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
    let unread = app
        .get(&resident, "/api/v1/notifications?unread=true")
        .await;
    assert_eq!(
        (
            unread["unread"].as_i64(),
            unread["items"].as_array().unwrap().len()
        ),
        (Some(1), 1)
    );
    let res = app
        .send(
            Method::POST,
            &resident,
            "/api/v1/notifications/read-all",
            None,
        )
        .await;
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["marked"], 1);

    // Again: nothing new is written or sent.
    let again = drain_at(&n, Utc::now()).await;
    assert_eq!((again.created, again.sent), (0, 0), "{again:?}");
    assert_eq!(rx.sms().len(), 3);
    assert!(outbox(&app.db).await.iter().all(|(_, _, _, s)| s == "sent"));
    let text = n.metrics().render();
    assert!(
        text.contains("whistle_notifier_sent_total{channel=\"sms\"} 3"),
        "{text}"
    );
    assert!(text.contains("whistle_notifier_queue_depth 0"), "{text}");
}

#[tokio::test]
async fn deadline_reminders_fire_once_and_a_finished_stage_silences_them() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let resident = app.token("13800001234").await;
    let id = app.report(&resident).await;
    // One delivery per round, so that some reminders are still waiting when the stage ends.
    let n = notifier(notifier_settings(
        app.test_db.url(),
        &rx,
        &[("WHISTLE__NOTIFIER__BATCH_SIZE", "1")],
    ))
    .await;
    drain_at(&n, Utc::now()).await;
    let case = outbox_repo::case_facts(&app.db, CaseId::new(id).unwrap())
        .await
        .unwrap();
    let (start, due) = (case.stage_started_at.unwrap(), case.stage_due.unwrap());
    let warn_at = start + (due - start) * 3 / 4 + Duration::seconds(1);
    let sla = |t: &str| {
        let t = t.to_owned();
        move |r: &(String, String, Option<String>, String)| r.0 == t
    };

    // Three quarters in: the command centre (no assignee yet) is warned, once.
    drain_at(&n, warn_at).await;
    let rows = outbox(&app.db).await;
    let warnings: Vec<_> = rows.iter().filter(|r| sla("sla.warning")(r)).collect();
    // The dispatcher's inbox and the webhook.
    assert_eq!(warnings.len(), 2, "{rows:?}");
    assert!(warnings.iter().all(|r| r.3 == "sent"));
    drain_at(&n, warn_at + Duration::minutes(1)).await;
    assert_eq!(
        outbox(&app.db)
            .await
            .iter()
            .filter(|r| sla("sla.warning")(r))
            .count(),
        2
    );

    // Past the deadline the overdue reminders are written, but only one goes out this round…
    let r = n.run_once_at(due + Duration::seconds(1)).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    // …and the case is accepted before the next: the one still waiting is moot, never sent.
    let dispatcher = app.token("dispatcher").await;
    app.act(&dispatcher, id, json!({"action": "accept"})).await;
    drain_at(&n, due + Duration::seconds(2)).await;
    let overdue: Vec<_> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|r| r.0 == "sla.overdue")
        .map(|r| r.3)
        .collect();
    // (Later rows are the next stage's own, when its deadline is as early.)
    assert_eq!(overdue[..2], ["sent", "moot"]);
    // The new stage (dispatch) has a clock of its own, planned from its own start.
    let case = outbox_repo::case_facts(&app.db, CaseId::new(id).unwrap())
        .await
        .unwrap();
    assert_eq!(case.stage.map(|s| s.as_str()), Some("dispatch"));
    assert!(case.stage_started_at.unwrap() > start);
}

#[tokio::test]
async fn quiet_hours_hold_residents_sms_and_email_until_morning_but_not_the_inbox() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let resident = app.token("13800001234").await;
    let res = app
        .send(
            Method::PUT,
            &resident,
            "/api/v1/me/notification-settings",
            Some(json!({"email": "zhang@example.com", "locale": "zh"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let id = app.report(&resident).await;
    let dispatcher = app.token("dispatcher").await;
    app.act(&dispatcher, id, json!({"action": "accept"})).await;
    let n = notifier(notifier_settings(
        app.test_db.url(),
        &rx,
        &[("WHISTLE__NOTIFIER__QUIET_HOURS", "22:00-07:00")],
    ))
    .await;
    // 23:00 in the city (UTC+8) tomorrow: the inbox fills, the phone stays quiet.
    let night = (Utc::now() + Duration::days(1)).date_naive();
    let at = |h: u32, m: u32| {
        chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .from_local_datetime(&night.and_hms_opt(h, m, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    drain_at(&n, at(23, 0)).await;
    let accepted: Vec<_> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|r| r.0 == "case.accepted")
        .map(|r| (r.1, r.3))
        .collect();
    assert_eq!(
        accepted,
        [
            ("inbox".to_owned(), "sent".to_owned()),
            ("sms".to_owned(), "pending".to_owned()),
            ("email".to_owned(), "pending".to_owned()),
            ("webhook".to_owned(), "sent".to_owned()),
        ]
    );
    // (Staff are not held: a reminder to the command centre may go at night.)
    let to_resident = |rx: &Receivers| {
        rx.sms()
            .iter()
            .filter(|m| m["phone"] == "13800001234")
            .count()
    };
    assert_eq!((to_resident(&rx), rx.mails().len()), (0, 0));
    drain_at(&n, at(23, 0) + Duration::hours(7)).await;
    assert_eq!(to_resident(&rx), 0, "06:00 is still quiet");
    drain_at(&n, at(23, 0) + Duration::hours(8) + Duration::minutes(1)).await;
    assert_eq!((to_resident(&rx), rx.mails().len()), (1, 1));
}

#[tokio::test]
async fn a_pledge_running_out_reminds_the_stationed_officer_once() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    // The demo's pledge runs out in 10 days: inside the default 14-day window.
    let n = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    let r = drain_at(&n, Utc::now()).await;
    assert!(r.created >= 2, "{r:?}");
    let tianye = app.token("tianye").await;
    let inbox = app.get(&tianye, "/api/v1/notifications").await;
    let pledge: Vec<_> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["template"] == "pledge.expiring")
        .collect();
    assert_eq!(pledge.len(), 1, "{inbox}");
    assert!(
        pledge[0]["title"]
            .as_str()
            .unwrap()
            .contains("文昌便民超市")
    );
    // Later the same day, and the next day: nothing again.
    drain_at(&n, Utc::now()).await;
    drain_at(&n, Utc::now() + Duration::days(1)).await;
    let count = outbox(&app.db)
        .await
        .iter()
        .filter(|r| r.0 == "pledge.expiring")
        .count();
    assert_eq!(count, 2, "the officer's inbox and the webhook, once");
    // With a window that does not reach it, nobody is reminded.
    let app2 = TestApp::spawn().await;
    let n2 = notifier(notifier_settings(
        app2.test_db.url(),
        &rx,
        &[("WHISTLE__NOTIFIER__PLEDGE_EXPIRY_DAYS", "5")],
    ))
    .await;
    drain_at(&n2, Utc::now()).await;
    assert!(
        outbox(&app2.db)
            .await
            .iter()
            .all(|r| r.0 != "pledge.expiring")
    );
}

#[tokio::test]
async fn notices_name_the_officer_and_never_a_deadline_of_a_stage_gone_by() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let resident = app.token("13800001234").await;
    let tianye = app.token("tianye").await;

    // 田野 takes the report himself (小事一格解决) and signs before the notifier runs.
    let id = app.report(&resident).await;
    app.act(&tianye, id, json!({"action": "accept"})).await;
    app.act(&tianye, id, json!({"action": "sign"})).await;
    let n = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    drain_at(&n, Utc::now()).await;

    // The resident hears once, from the dispatch, who is coming and about what.
    let inbox = app.get(&resident, "/api/v1/notifications").await;
    let items = inbox["items"].as_array().unwrap();
    let templates: Vec<&str> = items
        .iter()
        .map(|i| i["template"].as_str().unwrap())
        .collect();
    assert_eq!(templates, ["case.dispatched"], "{inbox}");
    let body = items[0]["body"].as_str().unwrap();
    assert!(
        body.contains("田警官") && body.contains("噪声扰民"),
        "{body}"
    );
    assert!(
        !body.contains("田野"),
        "residents see the public name: {body}"
    );

    // 田野 is not told about what he did himself (his inbox has only the demo pledge's
    // renewal reminder); nobody gets "请于-前签收".
    let mine = app.get(&tianye, "/api/v1/notifications").await;
    let about_cases: Vec<&Value> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["case_id"].is_null())
        .collect();
    assert!(about_cases.is_empty(), "{mine}");
    let everything = outbox(&app.db).await;
    assert!(
        everything.iter().all(|r| r.0 != "officer.assignment"),
        "{everything:?}"
    );

    // A dispatch the officer has not acted on yet names its own deadline.
    let dispatcher = app.token("dispatcher").await;
    let tianye_id = app.user_id(&tianye).await;
    let shed_id = app.report(&resident).await;
    app.act(&dispatcher, shed_id, json!({"action": "accept"}))
        .await;
    app.act(
        &dispatcher,
        shed_id,
        json!({"action": "dispatch", "assignee_id": tianye_id}),
    )
    .await;
    drain_at(&n, Utc::now()).await;
    let mine = app.get(&tianye, "/api/v1/notifications").await;
    let assignment = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["template"] == "officer.assignment")
        .unwrap_or_else(|| panic!("{mine}"));
    let text = assignment["body"].as_str().unwrap();
    assert!(text.contains("请于20") && !text.contains("请于-"), "{text}");
}
