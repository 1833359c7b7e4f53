//! Analytics (issue 8): `case_fact`, one row per case holding everything the dashboards count,
//! so that a dashboard reads one table through one index (`created_at`) instead of joining
//! `cases` to a side table (measured in `docs/PERFORMANCE.md`).
//!
//! It holds copies of the case's columns the figures need (report time, place, category,
//! status, assignee, running deadline, rating) and what `cases` does not say: how long each
//! stage took, whether a stage ended after its deadline, and how often the case was resolved,
//! reworked, extended and escalated.
//!
//! `case_fact` is kept by triggers in the same transaction as the change it records, so it is
//! never behind and no code path (API, notifier, a future channel) can forget it:
//!
//! - a new case opens its row (the accept stage starts at `created_at`);
//! - every update of `cases` copies the columns above again;
//! - a change of `cases.stage` closes the running stage: its milliseconds are added to that
//!   stage's total, and it counts as late when `updated_at` is past the stage's deadline
//!   (`stage_due` as it stood, so an approved extension counts);
//! - a `resolve`, `rework`, `request_extension` or `escalate` event bumps its counter.
//!
//! Rows of cases that existed before this migration get their counters from the timeline; their
//! stage times and lateness are unknown (NULL / 0), because past deadlines were not kept.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STAGES: [&str; 5] = ["accept", "dispatch", "sign", "resolve", "verify"];

/// Milliseconds from the running stage's start to the change, never negative.
fn elapsed_ms(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "GREATEST(0, ROUND(EXTRACT(EPOCH FROM (NEW.updated_at - stage_started_at)) * 1000))::BIGINT"
        }
        _ => {
            "MAX(0, CAST(ROUND((julianday(NEW.updated_at) - julianday(stage_started_at)) * 86400000.0) AS INTEGER))"
        }
    }
}

/// 1 when the change came after the ended stage's deadline.
fn late(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "(CASE WHEN OLD.stage_due IS NOT NULL AND NEW.updated_at > OLD.stage_due THEN 1 ELSE 0 END)"
        }
        _ => {
            "(CASE WHEN OLD.stage_due IS NOT NULL AND julianday(NEW.updated_at) > julianday(OLD.stage_due) THEN 1 ELSE 0 END)"
        }
    }
}

/// The UPDATE run when `cases.stage` changes.
fn stage_update(backend: DbBackend) -> String {
    let ms = elapsed_ms(backend);
    let late = late(backend);
    let mut sets: Vec<String> = STAGES
        .iter()
        .map(|s| {
            format!(
                "{s}_ms = CASE WHEN OLD.stage = '{s}' THEN COALESCE({s}_ms, 0) + {ms} ELSE {s}_ms END"
            )
        })
        .collect();
    sets.push(format!(
        "late_stages = late_stages + CASE WHEN OLD.stage IS NOT NULL THEN {late} ELSE 0 END"
    ));
    sets.push(format!(
        "late_resolves = late_resolves + CASE WHEN OLD.stage = 'resolve' THEN {late} ELSE 0 END"
    ));
    sets.push("stage_started_at = NEW.updated_at".to_owned());
    format!(
        "UPDATE case_fact SET {} WHERE case_id = NEW.id;",
        sets.join(", ")
    )
}

const EVENT_UPDATE: &str = "UPDATE case_fact SET \
    resolves = resolves + CASE WHEN NEW.action = 'resolve' THEN 1 ELSE 0 END, \
    reworks = reworks + CASE WHEN NEW.action = 'rework' THEN 1 ELSE 0 END, \
    extension_requests = extension_requests + CASE WHEN NEW.action = 'request_extension' THEN 1 ELSE 0 END, \
    escalations = escalations + CASE WHEN NEW.action = 'escalate' THEN 1 ELSE 0 END \
    WHERE case_id = NEW.case_id;";

const COUNTED: &str = "('resolve', 'rework', 'request_extension', 'escalate')";

/// The columns copied from `cases`, in `case_fact`'s names and in `cases`' (`id`).
const COPIED: [(&str, &str); 11] = [
    ("case_id", "id"),
    ("created_at", "created_at"),
    ("district_id", "district_id"),
    ("street_id", "street_id"),
    ("community_id", "community_id"),
    ("grid_id", "grid_id"),
    ("category_id", "category_id"),
    ("status", "status"),
    ("assignee_id", "assignee_id"),
    ("stage_due", "stage_due"),
    ("rating", "rating"),
];

fn copied_columns() -> String {
    COPIED.map(|(to, _)| to).join(", ")
}

fn copied_from(row: &str) -> String {
    COPIED.map(|(_, from)| format!("{row}.{from}")).join(", ")
}

/// The UPDATE run on every change of a case: the copies again.
fn copy_update() -> String {
    let sets: Vec<String> = COPIED[1..]
        .iter()
        .map(|(to, from)| format!("{to} = NEW.{from}"))
        .collect();
    format!(
        "UPDATE case_fact SET {} WHERE case_id = NEW.id;",
        sets.join(", ")
    )
}

/// The case columns `case_fact` copies: the copy trigger fires only when an UPDATE sets one of
/// them, so an UPDATE of other columns (`stage_started_at`, say) costs nothing here.
fn copied_sources() -> String {
    COPIED[1..]
        .iter()
        .map(|(_, from)| *from)
        .collect::<Vec<_>>()
        .join(", ")
}

fn counted_from_timeline(action: &str) -> String {
    format!("(SELECT COUNT(*) FROM case_event e WHERE e.case_id = c.id AND e.action = '{action}')")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        let ts = match backend {
            DbBackend::Postgres => "TIMESTAMP WITH TIME ZONE",
            _ => "TIMESTAMP_WITH_TIMEZONE_TEXT",
        };
        let mut cols = vec![
            "case_id BIGINT NOT NULL PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE"
                .to_owned(),
            // Copies of `cases`, rewritten on every update of the case.
            format!("created_at {ts} NOT NULL"),
            "district_id BIGINT NOT NULL".to_owned(),
            "street_id BIGINT NOT NULL".to_owned(),
            "community_id BIGINT NOT NULL".to_owned(),
            "grid_id BIGINT NOT NULL".to_owned(),
            "category_id BIGINT NOT NULL".to_owned(),
            "status VARCHAR(16) NOT NULL".to_owned(),
            "assignee_id BIGINT NULL".to_owned(),
            format!("stage_due {ts} NULL"),
            "rating INTEGER NULL".to_owned(),
            // When the running stage started (the case's creation, then each stage change).
            format!("stage_started_at {ts} NOT NULL"),
        ];
        // Total milliseconds spent in each stage, over every round (rework, reopen); NULL until
        // the stage first ends.
        cols.extend(STAGES.iter().map(|s| format!("{s}_ms BIGINT NULL")));
        for c in [
            "late_stages",
            "late_resolves",
            "resolves",
            "reworks",
            "extension_requests",
            "escalations",
        ] {
            cols.push(format!("{c} INTEGER NOT NULL DEFAULT 0"));
        }
        db.execute_unprepared(&format!("CREATE TABLE case_fact ({})", cols.join(", ")))
            .await?;

        // Existing cases: copies, and counters from the timeline.
        db.execute_unprepared(&format!(
            "INSERT INTO case_fact ({}, stage_started_at, resolves, reworks, extension_requests, escalations) \
             SELECT {}, c.updated_at, {}, {}, {}, {} FROM cases c",
            copied_columns(),
            copied_from("c"),
            counted_from_timeline("resolve"),
            counted_from_timeline("rework"),
            counted_from_timeline("request_extension"),
            counted_from_timeline("escalate"),
        ))
        .await?;

        let open = format!(
            "INSERT INTO case_fact ({}, stage_started_at) VALUES ({}, NEW.created_at);",
            copied_columns(),
            copied_from("NEW")
        );
        match backend {
            DbBackend::Postgres => {
                for (name, body) in [
                    ("case_fact_open", open),
                    ("case_fact_copy", copy_update()),
                    ("case_fact_stage", stage_update(backend)),
                    ("case_fact_event", EVENT_UPDATE.to_owned()),
                ] {
                    db.execute_unprepared(&format!(
                        "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                         BEGIN {body} RETURN NULL; END $$"
                    ))
                    .await?;
                }
                for t in [
                    "CREATE TRIGGER trg_case_fact_open AFTER INSERT ON cases \
                     FOR EACH ROW EXECUTE FUNCTION case_fact_open()"
                        .to_owned(),
                    format!(
                        "CREATE TRIGGER trg_case_fact_copy AFTER UPDATE OF {} ON cases \
                         FOR EACH ROW EXECUTE FUNCTION case_fact_copy()",
                        copied_sources()
                    ),
                    "CREATE TRIGGER trg_case_fact_stage AFTER UPDATE OF stage ON cases FOR EACH ROW \
                     WHEN (OLD.stage IS DISTINCT FROM NEW.stage) EXECUTE FUNCTION case_fact_stage()"
                        .to_owned(),
                    format!(
                        "CREATE TRIGGER trg_case_fact_event AFTER INSERT ON case_event FOR EACH ROW \
                         WHEN (NEW.action IN {COUNTED}) EXECUTE FUNCTION case_fact_event()"
                    ),
                ] {
                    db.execute_unprepared(&t).await?;
                }
            }
            _ => {
                for t in [
                    format!(
                        "CREATE TRIGGER trg_case_fact_open AFTER INSERT ON cases BEGIN {open} END"
                    ),
                    format!(
                        "CREATE TRIGGER trg_case_fact_copy AFTER UPDATE OF {} ON cases BEGIN {} END",
                        copied_sources(),
                        copy_update()
                    ),
                    format!(
                        "CREATE TRIGGER trg_case_fact_stage AFTER UPDATE OF stage ON cases \
                         WHEN OLD.stage IS NOT NEW.stage BEGIN {} END",
                        stage_update(backend)
                    ),
                    format!(
                        "CREATE TRIGGER trg_case_fact_event AFTER INSERT ON case_event \
                         WHEN NEW.action IN {COUNTED} BEGIN {EVENT_UPDATE} END"
                    ),
                ] {
                    db.execute_unprepared(&t).await?;
                }
            }
        }

        // Every dashboard query selects the cases reported in a period: the figures and the
        // workload from `case_fact`, hot spots and problem tracing from `cases`.
        for (name, table) in [
            ("idx_case_fact_created_at", "case_fact"),
            ("idx_case_created_at", "cases"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alias::new(table))
                        .col(Alias::new("created_at"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        manager
            .drop_index(
                Index::drop()
                    .name("idx_case_created_at")
                    .table(Alias::new("cases"))
                    .to_owned(),
            )
            .await?;
        let triggers = [
            ("trg_case_fact_event", "case_event"),
            ("trg_case_fact_stage", "cases"),
            ("trg_case_fact_copy", "cases"),
            ("trg_case_fact_open", "cases"),
        ];
        for (t, table) in triggers {
            let on = if backend == DbBackend::Postgres {
                format!(" ON {table}")
            } else {
                String::new()
            };
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {t}{on}"))
                .await?;
        }
        if backend == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP FUNCTION IF EXISTS case_fact_event(), case_fact_stage(), case_fact_copy(), \
                 case_fact_open()",
            )
            .await?;
        }
        // Its index goes with it.
        db.execute_unprepared("DROP TABLE case_fact").await?;
        Ok(())
    }
}
