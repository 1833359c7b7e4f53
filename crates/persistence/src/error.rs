use sea_orm::{DbErr, SqlErr};
use whistle_domain::ValueError;

/// What can go wrong in a repository call, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique constraint refused the write. It says which table and columns, in identifiers
    /// only: the database's own message (which quotes the clashing value) is logged, never kept.
    #[error("conflict: {0}")]
    Conflict(Clash),
    /// A foreign key refused the write: the referenced row does not exist (or still is referenced).
    /// The text is the repository's own (the database's message is logged, never kept).
    #[error("reference violated: {0}")]
    Reference(String),
    /// A stored row does not parse into its domain type: the data was changed outside Whistle or a
    /// migration is missing. Reported as an internal error, never shown to clients in detail.
    #[error("stored {table} row {id} is invalid: {source}")]
    Corrupt {
        table: &'static str,
        id: i64,
        source: ValueError,
    },
    /// The database cannot be reached or did not answer in time: a refused or broken
    /// connection, an exhausted pool, a statement stopped by the server's `statement_timeout`.
    /// Not a bug: the caller should back off and retry later.
    #[error("database unavailable: {0}")]
    Unavailable(DbErr),
    #[error(transparent)]
    Db(DbErr),
}

impl From<DbErr> for RepoError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(message)) => {
                let clash = Clash::from_db(&err, &message);
                tracing::debug!(%message, %clash, "unique constraint refused a write");
                RepoError::Conflict(clash)
            }
            Some(SqlErr::ForeignKeyConstraintViolation(message)) => {
                tracing::debug!(%message, "foreign key refused a write");
                RepoError::Reference("a referenced record does not exist".into())
            }
            _ if is_connectivity(&err) => RepoError::Unavailable(err),
            _ => RepoError::Db(err),
        }
    }
}

/// Connection-level failures mean "try again later", not "bug". Besides a pool timeout or a
/// refused connection, that includes a pooled connection that breaks under a statement: a
/// connection used moments ago is handed out without a ping (`crate::db::connect`), so when the
/// server goes away the first statement on it is what finds out.
fn is_connectivity(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|c| server_unavailable(&c)),
                _ => false,
            }
        }
        _ => false,
    }
}

/// SQLSTATEs with which a PostgreSQL server says it cannot do the work now, though the statement
/// is fine: what a failover, a switchover or a restart looks like from a pooled connection.
fn server_unavailable(code: &str) -> bool {
    matches!(
        code,
        // query_canceled: the server's statement_timeout stopped the statement.
        "57014"
        // admin_shutdown ("terminating connection due to administrator command": a switchover
        // or a fast shutdown), crash_shutdown, cannot_connect_now (starting up, shutting down,
        // in recovery).
        | "57P01" | "57P02" | "57P03"
        // read_only_sql_transaction: the connection's server was demoted to a standby.
        | "25006"
        // too_many_connections
        | "53300"
    ) || code.starts_with("08") // connection_exception and its subclasses
}

/// Which unique rule a write broke: the table and the columns whose values must be unique, as
/// identifiers (`officer`, `badge_number`), or a short description of a rule the repositories
/// check themselves. Never the database's message, never the values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clash {
    pub table: Option<String>,
    pub columns: Vec<String>,
    /// For a rule a repository checks itself: what it is, in the repository's own words.
    pub rule: Option<String>,
}

impl Clash {
    pub fn new(table: &str, columns: &[&str]) -> Self {
        Clash {
            table: Some(table.to_owned()),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rule: None,
        }
    }

    /// Describes the rule a repository checked itself.
    pub fn because(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    /// The column a client should change: the last named one (in a composite key such as
    /// `(inspection_id, item_code)` the last is the one the request chose).
    pub fn field(&self) -> Option<&str> {
        self.columns.last().map(String::as_str)
    }

    /// Reads the table and columns from a unique violation. PostgreSQL names them in the error's
    /// detail (`Key (badge_number)=(B-1) already exists.`) and its table field; SQLite in the
    /// message (`UNIQUE constraint failed: officer.badge_number`). Anything else is dropped.
    fn from_db(err: &DbErr, message: &str) -> Self {
        use sea_orm::{RuntimeErr, sqlx};
        let db = match err {
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                match e.as_ref() {
                    sqlx::Error::Database(db) => Some(db),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(pg) = db.and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()) {
            let columns = pg
                .detail()
                .and_then(|d| d.strip_prefix("Key ("))
                .and_then(|d| d.split_once(")=(").map(|(cols, _)| cols))
                .map(|cols| cols.split(',').filter_map(identifier).collect())
                .unwrap_or_default();
            return Clash {
                table: pg.table().and_then(identifier),
                columns,
                rule: None,
            };
        }
        let Some((_, list)) = message.split_once("UNIQUE constraint failed:") else {
            return Clash::default();
        };
        let mut clash = Clash::default();
        for qualified in list.split(',') {
            let (table, column) = qualified.trim().split_once('.').unwrap_or(("", qualified));
            if clash.table.is_none() {
                clash.table = identifier(table);
            }
            clash.columns.extend(identifier(column));
        }
        clash
    }
}

/// `name` if it is a plain SQL identifier (letters, digits, underscores), else nothing: only
/// names pass, never a quoted value.
fn identifier(name: &str) -> Option<String> {
    let name = name.trim().trim_matches('"');
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| name.to_owned())
}

impl std::fmt::Display for Clash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(rule) = &self.rule {
            return f.write_str(rule);
        }
        match (&self.table, self.columns.as_slice()) {
            (Some(t), []) => write!(f, "{t}"),
            (Some(t), cols) => write!(f, "{t}.{}", cols.join(",")),
            (None, []) => f.write_str("a unique rule"),
            (None, cols) => f.write_str(&cols.join(",")),
        }
    }
}

/// Attaches the table and id to a domain parse failure of a stored row.
pub(crate) fn corrupt(table: &'static str, id: i64) -> impl FnOnce(ValueError) -> RepoError {
    move |source| RepoError::Corrupt { table, id, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_give_table_and_columns_only() {
        let err = DbErr::Custom("x".into());
        let c = Clash::from_db(&err, "UNIQUE constraint failed: officer.badge_number");
        assert_eq!(c, Clash::new("officer", &["badge_number"]));
        assert_eq!(c.field(), Some("badge_number"));
        let two = Clash::from_db(
            &err,
            "UNIQUE constraint failed: inspection_result.inspection_id, inspection_result.item_code",
        );
        assert_eq!(two.field(), Some("item_code"));
        assert_eq!(Clash::from_db(&err, "something else"), Clash::default());
        assert_eq!(identifier("x') or 1=1"), None);
    }
}

#[cfg(test)]
mod connectivity_tests {
    use super::*;
    use sea_orm::{RuntimeErr, sqlx};

    #[test]
    fn a_connection_that_breaks_under_a_statement_is_unavailable() {
        let broken = || {
            RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            ))))
        };
        for e in [DbErr::Query(broken()), DbErr::Exec(broken())] {
            assert!(matches!(RepoError::from(e), RepoError::Unavailable(_)));
        }
        let timed_out = DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        assert!(matches!(
            RepoError::from(timed_out),
            RepoError::Unavailable(_)
        ));
        // A statement the database refused is a bug, not an outage.
        let refused = DbErr::Query(RuntimeErr::Internal("syntax".into()));
        assert!(matches!(RepoError::from(refused), RepoError::Db(_)));
    }

    #[test]
    fn what_a_failover_looks_like_to_a_pooled_connection_is_unavailable() {
        // Switchover (admin_shutdown), crash, a server still recovering, a demoted primary,
        // a full server, a broken connection, the statement timeout.
        for code in [
            "57P01", "57P02", "57P03", "25006", "53300", "08006", "08003", "57014",
        ] {
            assert!(server_unavailable(code), "{code}");
        }
        // The statement's own faults are not: a unique violation, a syntax error, a
        // serialization failure the caller must handle itself.
        for code in ["23505", "42601", "40001", "22P02"] {
            assert!(!server_unavailable(code), "{code}");
        }
    }
}
