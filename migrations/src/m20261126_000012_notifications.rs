//! The notifier: its outbox, the queue of case events it has still to fan out, its lease, and
//! what it needs on `cases` and `users`.
//!
//! - `notification` is the outbox: one row per message to one recipient over one channel. Its
//!   `dedupe_key` is unique, so however many notifiers race, one (case, stage instance,
//!   threshold, recipient, channel) is written once.
//! - `notice_queue` holds the id of every case event someone should hear about; the API writes it
//!   in the transaction of the event, the notifier deletes it in the transaction that writes the
//!   outbox rows. Nothing is lost between the two, and a slow commit can't be skipped the way a
//!   "last id seen" cursor would skip it.
//! - `case_sla.check_at` is when the notifier must next look at a case's deadline (planning it
//!   right after a stage changes, then at each threshold). The sweep reads it through an index,
//!   so its cost grows with what is due, not with the number of open cases.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Contact and language of an account. SQLite adds one column per statement.
        for col in [
            string_len_null(Users::Email, 254),
            string_len(Users::Locale, 8).default("zh").to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        // When the running stage began: its deadline's window starts here.
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(timestamp_with_time_zone_null(Cases::StageStartedAt))
                    .to_owned(),
            )
            .await?;
        // The notifier's bookkeeping of each case's running deadline, in a narrow table of its
        // own: the sweep rewrites it for every reminder, and rewriting the wide `cases` row (ten
        // indexes) cost several times more.
        manager
            .create_table(
                Table::create()
                    .table(CaseSla::Table)
                    .if_not_exists()
                    .col(big_integer(CaseSla::CaseId).primary_key())
                    // When the notifier must next look at the running deadline; NULL when
                    // nothing runs or everything has been sent.
                    .col(timestamp_with_time_zone_null(CaseSla::CheckAt))
                    // The highest reminder already sent for the running deadline: warning,
                    // overdue, escalation.
                    .col(string_len_null(CaseSla::Level, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_sla_case")
                            .from(CaseSla::Table, CaseSla::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Cases stored before this migration: the stage's start is unknown; the last change is
        // the best guess, and the notifier plans each of them once.
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE cases SET stage_started_at = updated_at WHERE stage_due IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO case_sla (case_id, check_at) \
             SELECT id, updated_at FROM cases WHERE stage_due IS NOT NULL",
        )
        .await?;
        // The SLA sweep: `check_at <= now`, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_case_sla_check")
                    .table(CaseSla::Table)
                    .col(CaseSla::CheckAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notification::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Notification::Id))
                    .col(string_len_uniq(Notification::DedupeKey, 200))
                    // status, sla, pledge
                    .col(string_len(Notification::Kind, 16))
                    // e.g. case.accepted, sla.overdue
                    .col(string_len(Notification::Template, 40))
                    .col(big_integer_null(Notification::CaseId))
                    // The account it is for (inbox, and the recipient's language); NULL for a
                    // reporter without an account and for webhooks.
                    .col(big_integer_null(Notification::UserId))
                    // inbox, email, sms, webhook
                    .col(string_len(Notification::Channel, 16))
                    // The e-mail address, phone number or webhook name; NULL for the inbox.
                    .col(string_len_null(Notification::Address, 254))
                    .col(string_len(Notification::Locale, 8))
                    .col(string_len(Notification::Title, 200))
                    .col(text(Notification::Body))
                    // What the message is about, as JSON: the webhook body and the staleness check.
                    .col(text(Notification::Payload))
                    // pending, sending, sent, dead, moot
                    .col(string_len(Notification::State, 16))
                    .col(integer(Notification::Attempts).default(0))
                    .col(timestamp_with_time_zone(Notification::NextAttemptAt))
                    // A claim: which notifier is delivering it, and until when the claim holds.
                    .col(string_len_null(Notification::ClaimedBy, 64))
                    .col(timestamp_with_time_zone_null(Notification::ClaimedUntil))
                    .col(text_null(Notification::LastError))
                    .col(timestamp_with_time_zone(Notification::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notification::SentAt))
                    .col(timestamp_with_time_zone_null(Notification::ReadAt))
                    .to_owned(),
            )
            .await?;
        // The delivery claim: pending rows whose time has come, and expired claims.
        manager
            .create_index(
                Index::create()
                    .name("idx_notification_state_next")
                    .table(Notification::Table)
                    .col(Notification::State)
                    .col(Notification::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // An account's inbox, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_notification_user")
                    .table(Notification::Table)
                    .col(Notification::UserId)
                    .col(Notification::Channel)
                    .col(Notification::Id)
                    .to_owned(),
            )
            .await?;
        // Making a case's pending reminders moot when its stage changes.
        manager
            .create_index(
                Index::create()
                    .name("idx_notification_case")
                    .table(Notification::Table)
                    .col(Notification::CaseId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NoticeQueue::Table)
                    .if_not_exists()
                    .col(big_integer(NoticeQueue::EventId).primary_key())
                    .col(big_integer(NoticeQueue::CaseId))
                    .col(timestamp_with_time_zone(NoticeQueue::EnqueuedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotifierLease::Table)
                    .if_not_exists()
                    // `sqlite` (the one active notifier on SQLite), `pledges` (the day's pledge
                    // scan), …
                    .col(string_len(NotifierLease::Name, 32).primary_key())
                    .col(string_len_null(NotifierLease::Holder, 64))
                    .col(timestamp_with_time_zone_null(NotifierLease::Until))
                    // Free text a task keeps between runs (the last day the pledges were scanned).
                    .col(string_len_null(NotifierLease::Mark, 64))
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            NotifierLease::Table.into_iden(),
            NoticeQueue::Table.into_iden(),
            Notification::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(CaseSla::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::StageStartedAt)
                    .to_owned(),
            )
            .await?;
        for col in [Users::Locale, Users::Email] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Email,
    Locale,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    StageStartedAt,
}

#[derive(DeriveIden)]
enum CaseSla {
    Table,
    CaseId,
    CheckAt,
    Level,
}

#[derive(DeriveIden)]
enum Notification {
    Table,
    Id,
    DedupeKey,
    Kind,
    Template,
    CaseId,
    UserId,
    Channel,
    Address,
    Locale,
    Title,
    Body,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    ClaimedBy,
    ClaimedUntil,
    LastError,
    CreatedAt,
    SentAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum NoticeQueue {
    Table,
    EventId,
    CaseId,
    EnqueuedAt,
}

#[derive(DeriveIden)]
enum NotifierLease {
    Table,
    Name,
    Holder,
    Until,
    Mark,
}
