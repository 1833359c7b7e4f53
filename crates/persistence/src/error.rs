use sea_orm::{DbErr, SqlErr};
use whistle_domain::ValueError;

/// What can go wrong in a repository call, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique constraint refused the write; the string names the constraint or column.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A foreign key refused the write: the referenced row does not exist (or still is referenced).
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
    #[error(transparent)]
    Db(DbErr),
}

impl From<DbErr> for RepoError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(what)) => RepoError::Conflict(what),
            Some(SqlErr::ForeignKeyConstraintViolation(what)) => RepoError::Reference(what),
            _ => RepoError::Db(err),
        }
    }
}

/// Attaches the table and id to a domain parse failure of a stored row.
pub(crate) fn corrupt(table: &'static str, id: i64) -> impl FnOnce(ValueError) -> RepoError {
    move |source| RepoError::Corrupt { table, id, source }
}
