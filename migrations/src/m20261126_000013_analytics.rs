//! Analytics (issue 8): `case_fact`, one row per case holding what the dashboards need and the
//! `cases` row does not say — how long each stage took, whether a stage ended after its
//! deadline, and how often the case was resolved, reworked, extended and escalated — and the
//! index the dashboards scan by.
//!
//! `case_fact` is kept by triggers in the same transaction as the change it records, so it is
//! never behind and no code path (API, notifier, a future channel) can forget it:
//!
//! - a new case opens its row (the accept stage starts at `created_at`);
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

        // Existing cases: counters from the timeline.
        db.execute_unprepared(&format!(
            "INSERT INTO case_fact (case_id, stage_started_at, resolves, reworks, extension_requests, escalations) \
             SELECT c.id, c.updated_at, {}, {}, {}, {} FROM cases c",
            counted_from_timeline("resolve"),
            counted_from_timeline("rework"),
            counted_from_timeline("request_extension"),
            counted_from_timeline("escalate"),
        ))
        .await?;

        match backend {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION case_fact_open() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN INSERT INTO case_fact (case_id, stage_started_at) VALUES (NEW.id, NEW.created_at); \
                     RETURN NULL; END $$",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION case_fact_stage() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN {} RETURN NULL; END $$",
                    stage_update(backend)
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION case_fact_event() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN {EVENT_UPDATE} RETURN NULL; END $$"
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER trg_case_fact_open AFTER INSERT ON cases \
                     FOR EACH ROW EXECUTE FUNCTION case_fact_open()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER trg_case_fact_stage AFTER UPDATE ON cases FOR EACH ROW \
                     WHEN (OLD.stage IS DISTINCT FROM NEW.stage) EXECUTE FUNCTION case_fact_stage()",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER trg_case_fact_event AFTER INSERT ON case_event FOR EACH ROW \
                     WHEN (NEW.action IN {COUNTED}) EXECUTE FUNCTION case_fact_event()"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER trg_case_fact_open AFTER INSERT ON cases BEGIN \
                     INSERT INTO case_fact (case_id, stage_started_at) VALUES (NEW.id, NEW.created_at); END",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER trg_case_fact_stage AFTER UPDATE ON cases \
                     WHEN OLD.stage IS NOT NEW.stage BEGIN {} END",
                    stage_update(backend)
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER trg_case_fact_event AFTER INSERT ON case_event \
                     WHEN NEW.action IN {COUNTED} BEGIN {EVENT_UPDATE} END"
                ))
                .await?;
            }
        }

        // Every dashboard query selects the cases reported in a period.
        manager
            .create_index(
                Index::create()
                    .name("idx_case_created_at")
                    .table(Alias::new("cases"))
                    .col(Alias::new("created_at"))
                    .to_owned(),
            )
            .await?;
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
        match backend {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS trg_case_fact_event ON case_event")
                    .await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS trg_case_fact_stage ON cases")
                    .await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS trg_case_fact_open ON cases")
                    .await?;
                db.execute_unprepared(
                    "DROP FUNCTION IF EXISTS case_fact_event(), case_fact_stage(), case_fact_open()",
                )
                .await?;
            }
            _ => {
                for t in [
                    "trg_case_fact_event",
                    "trg_case_fact_stage",
                    "trg_case_fact_open",
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {t}"))
                        .await?;
                }
            }
        }
        db.execute_unprepared("DROP TABLE case_fact").await?;
        Ok(())
    }
}
