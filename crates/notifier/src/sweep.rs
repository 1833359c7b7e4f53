//! Writing the outbox: the notices case events call for, the deadline reminders that came due,
//! and the pledges running out. Each step runs in one transaction with what it consumes (the
//! queued events it deletes, the `case_sla.check_at` it moves, the day's pledge mark it sets), and
//! every row has a dedupe key the database holds unique: a step that is repeated, or raced by
//! another notifier, writes nothing twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use whistle_domain::calendar::Stage;
use whistle_domain::ids::{CategoryId, CommunityId, UserId};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::notice::{
    self, Audience, Channel, Facts, Locale, QuietHours, RecipientKind, SlaLevel, Template,
};
use whistle_domain::people::public_name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::notifications::{
    self as outbox, CaseFacts, Contact, DeadlinePlan, DueDeadline, NewNotification,
};

use crate::Notifier;

/// Someone to notify, however they are reached.
#[derive(Debug, Clone)]
struct Recipient {
    /// Stable within a dedupe key: `u<id>`, `p<phone>`.
    key: String,
    user_id: Option<UserId>,
    kind: RecipientKind,
    locale: Locale,
    email: Option<String>,
    phone: Option<String>,
}

impl From<Contact> for Recipient {
    fn from(c: Contact) -> Self {
        Recipient {
            key: format!("u{}", c.user_id.get()),
            user_id: Some(c.user_id),
            kind: RecipientKind::of_role(c.role),
            locale: c.locale,
            email: c.email,
            phone: c.phone,
        }
    }
}

/// What a sweep step looks up, each asked of the database once per step.
#[derive(Default)]
struct Lookup {
    categories: HashMap<CategoryId, (String, String)>,
    users: HashMap<UserId, Option<Contact>>,
    dispatchers: Option<Vec<Contact>>,
    leaders: HashMap<(i64, i64, i64), Vec<Contact>>,
    partners: HashMap<CommunityId, Vec<Contact>>,
}

impl Lookup {
    /// Loads the active accounts among `ids` in one query (disabled or gone ones: `None`).
    async fn preload_users(
        &mut self,
        db: &impl sea_orm::ConnectionTrait,
        ids: impl IntoIterator<Item = UserId>,
    ) -> Result<(), RepoError> {
        let mut missing: Vec<UserId> = ids
            .into_iter()
            .filter(|i| !self.users.contains_key(i))
            .collect();
        missing.sort_by_key(|i| i.get());
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let found = outbox::contacts(db, &missing).await?;
        for id in missing {
            self.users.insert(id, None);
        }
        for c in found {
            self.users.insert(c.user_id, Some(c));
        }
        Ok(())
    }

    async fn user(
        &mut self,
        db: &impl sea_orm::ConnectionTrait,
        id: UserId,
    ) -> Result<Option<Contact>, RepoError> {
        self.preload_users(db, [id]).await?;
        Ok(self.users.get(&id).cloned().flatten())
    }

    async fn category(
        &mut self,
        db: &impl sea_orm::ConnectionTrait,
        id: CategoryId,
    ) -> Result<(String, String), RepoError> {
        if let Some(names) = self.categories.get(&id) {
            return Ok(names.clone());
        }
        let names = outbox::category_names(db, id).await?;
        self.categories.insert(id, names.clone());
        Ok(names)
    }

    async fn dispatchers(
        &mut self,
        db: &impl sea_orm::ConnectionTrait,
    ) -> Result<Vec<Contact>, RepoError> {
        if self.dispatchers.is_none() {
            self.dispatchers = Some(outbox::dispatchers(db).await?);
        }
        Ok(self.dispatchers.clone().unwrap_or_default())
    }

    async fn leaders(
        &mut self,
        db: &impl sea_orm::ConnectionTrait,
        area: &AreaPath,
    ) -> Result<Vec<Contact>, RepoError> {
        let key = (area.district.get(), area.street.get(), area.community.get());
        if let Some(l) = self.leaders.get(&key) {
            return Ok(l.clone());
        }
        let l = outbox::leaders_over(db, area).await?;
        self.leaders.insert(key, l.clone());
        Ok(l)
    }

    async fn partners(
        &mut self,
        db: &impl sea_orm::ConnectionTrait,
        community: CommunityId,
    ) -> Result<Vec<Contact>, RepoError> {
        if let Some(p) = self.partners.get(&community) {
            return Ok(p.clone());
        }
        let p = outbox::partners_of(db, community).await?;
        self.partners.insert(community, p.clone());
        Ok(p)
    }
}

/// What one notice is about, before it is addressed to anyone.
struct Notice<'a> {
    /// The dedupe key's prefix: which event, deadline or pledge caused it.
    cause: String,
    template: Template,
    case_id: Option<whistle_domain::ids::CaseId>,
    facts_zh: &'a Facts,
    facts_en: &'a Facts,
    payload: serde_json::Value,
}

impl Notifier {
    fn channel_ready(&self, c: Channel) -> bool {
        match c {
            Channel::Inbox | Channel::Webhook => true,
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
        }
    }

    /// When a message to `kind` over `channel` may first go.
    pub(crate) fn not_before(
        &self,
        kind: RecipientKind,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let Some(quiet) = self.quiet.filter(|_| QuietHours::applies(kind, channel)) else {
            return now;
        };
        let local = now.with_timezone(&self.offset).naive_local();
        quiet
            .release(local)
            .and_then(|t| t.and_local_timezone(self.offset).single())
            .map_or(now, |t| t.with_timezone(&Utc))
    }

    /// The rows of one notice: every recipient × channel, and each webhook that wants it.
    fn address(
        &self,
        notice: &Notice<'_>,
        recipients: &[Recipient],
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        let mut rows = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in recipients {
            if !seen.insert(r.key.clone()) {
                continue;
            }
            let channels = notice::channels_for(
                r.kind,
                notice.template,
                r.email.is_some(),
                r.phone.is_some(),
            );
            let facts = match r.locale {
                Locale::Zh => notice.facts_zh,
                Locale::En => notice.facts_en,
            };
            let text = notice::render(notice.template, r.locale, facts);
            for c in channels.into_iter().filter(|c| self.channel_ready(*c)) {
                let address = match c {
                    Channel::Email => r.email.clone(),
                    Channel::Sms => r.phone.clone(),
                    _ => None,
                };
                let mut payload = notice.payload.clone();
                payload["recipient_kind"] = serde_json::json!(kind_str(r.kind));
                rows.push(NewNotification {
                    dedupe_key: format!("{}:{}:{}", notice.cause, r.key, c.as_str()),
                    template: notice.template,
                    case_id: notice.case_id,
                    user_id: r.user_id,
                    channel: c,
                    address,
                    locale: r.locale,
                    title: text.title.clone(),
                    body: text.body.clone(),
                    payload,
                    next_attempt_at: self.not_before(r.kind, c, now),
                    created_at: now,
                });
            }
        }
        for hook in self
            .settings
            .notifier
            .webhooks
            .iter()
            .filter(|h| h.wants(notice.template))
        {
            let text = notice::render(notice.template, Locale::Zh, notice.facts_zh);
            rows.push(NewNotification {
                dedupe_key: format!("{}:w{}:webhook", notice.cause, hook.name),
                template: notice.template,
                case_id: notice.case_id,
                user_id: None,
                channel: Channel::Webhook,
                address: Some(hook.name.clone()),
                locale: Locale::Zh,
                title: text.title,
                body: text.body,
                payload: notice.payload.clone(),
                next_attempt_at: now,
                created_at: now,
            });
        }
        rows
    }

    async fn audience(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        lookup: &mut Lookup,
        audience: Audience,
        case: &CaseFacts,
        assignee: Option<UserId>,
    ) -> Result<Vec<Recipient>, RepoError> {
        let contacts = match audience {
            Audience::Reporter => match case.reporter_id {
                Some(id) => lookup.user(db, id).await?.into_iter().collect(),
                None => {
                    return Ok(case
                        .reporter_phone
                        .iter()
                        .map(|p| Recipient {
                            key: format!("p{p}"),
                            user_id: None,
                            kind: RecipientKind::Anonymous,
                            locale: Locale::Zh,
                            email: None,
                            phone: Some(p.clone()),
                        })
                        .collect());
                }
            },
            Audience::Assignee => match assignee {
                Some(id) => lookup.user(db, id).await?.into_iter().collect(),
                None => Vec::new(),
            },
            Audience::Dispatchers => lookup.dispatchers(db).await?,
            Audience::Leaders => lookup.leaders(db, &case.area).await?,
            Audience::Partners => lookup.partners(db, case.area.community).await?,
        };
        Ok(contacts.into_iter().map(Recipient::from).collect())
    }

    async fn case_facts(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        lookup: &mut Lookup,
        case: &CaseFacts,
        reason: Option<String>,
    ) -> Result<(Facts, Facts), RepoError> {
        let (zh, en) = lookup.category(db, case.category_id).await?;
        let due_local = case.stage_due.map(|d| {
            d.with_timezone(&self.offset)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        });
        let base = Facts {
            case_number: Some(case.number.clone()),
            category: Some(zh),
            reason,
            stage: case.stage,
            due_local,
            ..Facts::default()
        };
        let english = Facts {
            category: Some(en),
            ..base.clone()
        };
        Ok((base, english))
    }

    /// Fans queued case events out into notices. Returns (events, rows written).
    pub(crate) async fn fan_out_events(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(usize, u64), RepoError> {
        let txn = outbox::begin_write(&self.db).await?;
        let events = outbox::take_events(&txn, self.settings.notifier.batch_size).await?;
        let mut rows = Vec::new();
        let mut lookup = Lookup::default();
        for ev in &events {
            let case = outbox::case_facts(&txn, ev.case_id).await?;
            let data = ev.data.clone().unwrap_or(serde_json::Value::Null);
            let reason = data["reason"].as_str().map(str::to_owned);
            let (mut zh, mut en) = self.case_facts(&txn, &mut lookup, &case, reason).await?;
            // The deadline the event set is the one its notices name, not the case's current
            // one: by the time the notice is written the case may be at a later stage.
            if let Some(stamped) = data.get("stage_due") {
                let due_local = stamped
                    .as_str()
                    .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                    .map(|d| {
                        d.with_timezone(&self.offset)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    });
                let stage = data["stage"].as_str().and_then(|s| Stage::parse(s).ok());
                for f in [&mut zh, &mut en] {
                    f.due_local = due_local.clone();
                    f.stage = stage;
                }
            }
            // The officer the event is about (a dispatch names them), else whoever holds it now.
            let assignee = data["assignee_id"]
                .as_i64()
                .and_then(|i| UserId::new(i).ok())
                .or(case.assignee);
            if let Some(officer) = match assignee {
                Some(id) => lookup.user(&txn, id).await?,
                None => None,
            } {
                zh.officer = Some(public_name(&officer.name, officer.role, false));
                en.officer = Some(public_name(&officer.name, officer.role, true));
            }
            // A stage begun after this event means someone already acted on it.
            let moved_on = case.stage_started_at.is_some_and(|s| s > ev.at);
            for (audience, template) in notice::status_notices(ev.action.as_str()) {
                if template.is_instruction() && moved_on {
                    continue;
                }
                // An officer who took a report himself dispatched it in the same step; the
                // reporter hears once, from the dispatch, who is coming.
                if *template == Template::CaseAccepted && data["taken_by_officer"] == true {
                    continue;
                }
                // An officer who found the problem himself is not told about his own case.
                if *audience == Audience::Reporter
                    && case.reporter_id.is_some()
                    && case.reporter_id == assignee
                {
                    continue;
                }
                let mut recipients = self
                    .audience(&txn, &mut lookup, *audience, &case, assignee)
                    .await?;
                // Nobody is told about what they just did themselves.
                recipients.retain(|r| r.user_id.is_none() || r.user_id != ev.actor_id);
                let notice = Notice {
                    cause: format!("ev{}:{}", ev.event_id, template.as_str()),
                    template: *template,
                    case_id: Some(case.case_id),
                    facts_zh: &zh,
                    facts_en: &en,
                    payload: serde_json::json!({
                        "case_id": case.case_id.get(),
                        "case_number": case.number,
                        "event_id": ev.event_id,
                        "action": ev.action.as_str(),
                        "at": ev.at.to_rfc3339(),
                        "data": data,
                    }),
                };
                rows.extend(self.address(&notice, &recipients, now));
            }
        }
        let written = outbox::insert_new(&txn, &rows).await?;
        txn.commit().await?;
        Ok((events.len(), written))
    }

    /// Deadline reminders for the cases whose `case_sla.check_at` has come. Returns (cases, rows).
    pub(crate) async fn sweep_deadlines(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(usize, u64), RepoError> {
        let t0 = std::time::Instant::now();
        let txn = outbox::begin_write(&self.db).await?;
        let due = outbox::due_deadlines(&txn, now, self.settings.notifier.batch_size).await?;
        let t1 = t0.elapsed();
        // Everything the batch needs is looked up once: the accounts in one query, the command
        // centre once, each category and area once. The step costs a handful of statements
        // whatever the batch size.
        let mut lookup = Lookup::default();
        lookup
            .preload_users(&txn, due.iter().filter_map(|d| d.case.assignee))
            .await?;
        let mut rows = Vec::new();
        let mut plans = Vec::with_capacity(due.len());
        for DueDeadline { case, level } in &due {
            let (Some(stage), Some(deadline)) = (case.stage, case.stage_due) else {
                plans.push(DeadlinePlan {
                    case: case.case_id,
                    level: None,
                    next_check: None,
                });
                continue;
            };
            let started = case.stage_started_at.unwrap_or(deadline);
            let plan = self.thresholds.plan(started, deadline, now, *level);
            if let Some(level) = plan.send {
                rows.extend(self.reminder(&txn, &mut lookup, case, level, now).await?);
            }
            plans.push(DeadlinePlan {
                case: case.case_id,
                level: plan.level,
                next_check: plan.next_check,
            });
            tracing::debug!(case_id = case.case_id.get(), stage = stage.as_str(), level = ?plan.send, next = ?plan.next_check, "deadline planned");
        }
        let t2 = t0.elapsed();
        outbox::set_deadline_plans(&txn, &plans).await?;
        let t3 = t0.elapsed();
        let written = outbox::insert_new(&txn, &rows).await?;
        let t4 = t0.elapsed();
        txn.commit().await?;
        if !due.is_empty() {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
            tracing::debug!(
                deadlines = due.len(),
                reminders = written,
                select_ms = ms(t1),
                plan_ms = ms(t2 - t1),
                record_ms = ms(t3 - t2),
                insert_ms = ms(t4 - t3),
                commit_ms = ms(t0.elapsed() - t4),
                "deadline sweep step"
            );
        }
        Ok((due.len(), written))
    }

    async fn reminder(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        lookup: &mut Lookup,
        case: &CaseFacts,
        level: SlaLevel,
        now: DateTime<Utc>,
    ) -> Result<Vec<NewNotification>, RepoError> {
        let (stage, due) = (
            case.stage.expect("checked by the caller"),
            case.stage_due.expect("checked by the caller"),
        );
        let (zh, en) = self.case_facts(db, lookup, case, None).await?;
        let mut recipients = Vec::new();
        for audience in notice::sla_audiences(level, case.assignee.is_some()) {
            recipients.extend(
                self.audience(db, lookup, audience, case, case.assignee)
                    .await?,
            );
        }
        let notice = Notice {
            // The stage instance is its deadline: an extension or a second round of handling
            // is a new deadline with reminders of its own.
            cause: format!(
                "sla{}:{}:{}:{}",
                case.case_id.get(),
                stage.as_str(),
                due.timestamp(),
                level.as_str()
            ),
            template: level.template(),
            case_id: Some(case.case_id),
            facts_zh: &zh,
            facts_en: &en,
            payload: serde_json::json!({
                "case_id": case.case_id.get(),
                "case_number": case.number,
                "stage": stage.as_str(),
                "due": due.to_rfc3339(),
                "level": level.as_str(),
            }),
        };
        Ok(self.address(&notice, &recipients, now))
    }

    /// Once a local day: reminders to stationed officers about pledges running out. Returns
    /// (pledges, rows).
    pub(crate) async fn sweep_pledges(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(usize, u64), RepoError> {
        let today = now.with_timezone(&self.offset).date_naive();
        let mark = today.to_string();
        let txn = outbox::begin_write(&self.db).await?;
        let last = outbox::mark_of(&txn, "pledges").await?;
        if last.as_deref() >= Some(mark.as_str()) {
            txn.rollback().await?;
            return Ok((0, 0));
        }
        // Compare-and-set: of notifiers racing at midnight, one scans.
        if !outbox::swap_mark(&txn, "pledges", last.as_deref(), &mark).await? {
            txn.rollback().await?;
            return Ok((0, 0));
        }
        let until = today + chrono::Duration::days(self.settings.notifier.pledge_expiry_days);
        let pledges = outbox::expiring_pledges(&txn, today, until).await?;
        let mut rows = Vec::new();
        for p in &pledges {
            let officers = outbox::stationed_officers(&txn, p.community_id, today).await?;
            let recipients: Vec<Recipient> = officers.into_iter().map(Recipient::from).collect();
            let facts = Facts {
                merchant: Some(p.merchant_name.clone()),
                valid_until: Some(p.valid_until.to_string()),
                ..Facts::default()
            };
            let notice = Notice {
                cause: format!("pledge{}:{}", p.pledge_id, p.valid_until),
                template: Template::PledgeExpiring,
                case_id: None,
                facts_zh: &facts,
                facts_en: &facts,
                payload: serde_json::json!({
                    "pledge_id": p.pledge_id,
                    "merchant_id": p.merchant_id,
                    "merchant": p.merchant_name,
                    "valid_until": p.valid_until.to_string(),
                }),
            };
            rows.extend(self.address(&notice, &recipients, now));
        }
        let written = outbox::insert_new(&txn, &rows).await?;
        txn.commit().await?;
        Ok((pledges.len(), written))
    }
}

pub(crate) fn kind_str(k: RecipientKind) -> &'static str {
    match k {
        RecipientKind::Resident => "resident",
        RecipientKind::Staff => "staff",
        RecipientKind::Anonymous => "anonymous",
    }
}

pub(crate) fn kind_of(payload: &serde_json::Value) -> RecipientKind {
    match payload["recipient_kind"].as_str() {
        Some("resident") => RecipientKind::Resident,
        Some("anonymous") => RecipientKind::Anonymous,
        _ => RecipientKind::Staff,
    }
}
