//! What a use case answers when it does not do what was asked: the caller's mistake or a rule
//! that refuses (each with a stable code, the English detail and, where the rule has one, a
//! Chinese detail carrying the request's particulars), a stale version, or the storage's own
//! error. The HTTP adapters turn these into their own bodies (the native API into
//! problem+json, Open311 into its error list); nothing here knows a status code.

use whistle_domain::ValueError;
use whistle_persistence::{Clash, RepoError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A value of the command is unacceptable.
    #[error("{detail}")]
    Invalid {
        code: &'static str,
        detail: String,
        field: Option<String>,
        zh: Option<String>,
    },
    /// The caller's credentials are wrong, used up or expired.
    #[error("{detail}")]
    Unauthenticated { code: &'static str, detail: String },
    /// The caller must wait before trying again.
    #[error("{detail}")]
    Throttled {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// The policy, or a rule about who may do this, refuses.
    #[error("{detail}")]
    Forbidden {
        code: &'static str,
        detail: String,
        zh: Option<String>,
    },
    /// The thing the command names does not exist, or the caller may not know that it does.
    #[error("{detail}")]
    NotFound { code: &'static str, detail: String },
    /// The command conflicts with the current state (an illegal transition, a rule of the
    /// case's history).
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        zh: Option<String>,
    },
    /// A value that must be unique is taken (a username, a phone, a badge): which rule, never
    /// the values.
    #[error("already taken")]
    Taken { code: &'static str, clash: Clash },
    /// The caller's version of the record is not the current one; nothing was written.
    #[error("the record changed meanwhile; its version is now {current}: reload and retry")]
    Stale { current: i32 },
    /// From the storage: missing rows, unique rules, an unavailable database.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A bug or an unexpected failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(code: &'static str, field: &str, detail: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            detail: detail.into(),
            field: Some(field.to_owned()),
            zh: None,
        }
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Forbidden {
            code,
            detail: detail.into(),
            zh: None,
        }
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::NotFound {
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
            zh: None,
        }
    }

    /// A domain value that failed to parse, under `code`: its field, and its reasons in both
    /// languages.
    pub fn value(code: &'static str, e: ValueError) -> Self {
        AppError::Invalid {
            code,
            detail: e.to_string(),
            zh: e.reason_zh.as_ref().map(|zh| format!("{}：{zh}", e.field)),
            field: Some(e.field.to_owned()),
        }
    }

    /// For `map_err`: a repository "not found" becomes `err`, anything else stays itself.
    pub fn when_missing(err: AppError) -> impl FnOnce(RepoError) -> AppError {
        move |e| match e {
            RepoError::NotFound(_) => err,
            other => other.into(),
        }
    }
}

/// A domain value that failed to parse is `invalid_value` at its field.
impl From<ValueError> for AppError {
    fn from(e: ValueError) -> Self {
        AppError::value("invalid_value", e)
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Repo(e.into())
    }
}
