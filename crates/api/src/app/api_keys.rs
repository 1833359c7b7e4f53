//! API keys of Open311 client applications: issued and revoked by admins (over HTTP or on the
//! command line), each change audited in the caller's transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use whistle_auth::Principal;
use whistle_auth::api_key;
use whistle_domain::ids::UserId;
use whistle_domain::text::Name;
use whistle_persistence::repo::api_keys::{self, ApiKey};
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};

use crate::app::AppError;

/// Who issues or revokes a key: an admin over HTTP, or the command line.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    pub user: Option<UserId>,
    pub ip: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}

impl<'a> Issuer<'a> {
    pub fn admin(p: &Principal, ip: &'a str, at: DateTime<Utc>) -> Self {
        Issuer {
            user: Some(p.user_id),
            ip: Some(ip),
            at,
        }
    }
}

/// Issues a key and audits it, in one transaction; returns the stored key and the plaintext (to
/// be shown once). Used by the admin endpoint and the command line alike.
pub async fn issue(
    db: &DatabaseConnection,
    name: &Name,
    by: Issuer<'_>,
) -> Result<(ApiKey, String), AppError> {
    let new = api_key::generate()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness for a key: {e}")))?;
    let txn = db.begin().await?;
    let key = api_keys::insert(&txn, name, &new.hash, &new.hint, by.user, by.at).await?;
    record(&txn, AuditEvent::ApiKeyCreated, &key, &by).await?;
    txn.commit().await?;
    Ok((key, new.plaintext))
}

/// Audits a change to a key: who, from where, which key (id, hint, client name; never the key).
async fn record(
    txn: &impl ConnectionTrait,
    event: AuditEvent,
    key: &ApiKey,
    by: &Issuer<'_>,
) -> Result<(), AppError> {
    audit::record(
        txn,
        event,
        AuditEntry {
            actor: by.user,
            ip: by.ip.map(str::to_owned),
            detail: Some(format!(
                "api key {} ({}) for {}",
                key.id, key.hint, key.name
            )),
            ..Default::default()
        },
        by.at,
    )
    .await?;
    Ok(())
}

/// Revokes a key, auditing it in the same transaction when this call revoked it (a second
/// revocation changes nothing); `api_key_not_found` for an unknown id.
pub async fn revoke(db: &DatabaseConnection, id: i64, by: Issuer<'_>) -> Result<ApiKey, AppError> {
    let txn = db.begin().await?;
    let (key, newly) = api_keys::revoke(&txn, id, by.at)
        .await
        .map_err(AppError::when_missing(AppError::not_found(
            "api_key_not_found",
            format!("no api key {id}"),
        )))?;
    if newly {
        record(&txn, AuditEvent::ApiKeyRevoked, &key, &by).await?;
    }
    txn.commit().await?;
    Ok(key)
}
