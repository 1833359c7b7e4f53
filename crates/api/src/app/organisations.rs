//! Partner organisations (城管+物业): registering a property company or homeowners' committee
//! serving a community, and attaching partner accounts to it.

use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::{Area, Jurisdiction};
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::stationing::OrganisationKind;
use whistle_domain::text::Name;
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::community::{self, Organisation};
use whistle_persistence::repo::users;

use crate::app::AppError;
use crate::app::access::require;
use crate::app::community::load_community;
use crate::state::AppState;

/// A new organisation, its values checked.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub kind: OrganisationKind,
    pub name: Name,
    pub community_id: i64,
    pub contact_name: Option<Name>,
    pub contact_phone: Option<PhoneNumber>,
}

/// Registers an organisation in a community (administrators).
pub async fn register(
    state: &AppState,
    p: &Principal,
    new: NewOrganisation,
) -> Result<Organisation, AppError> {
    require(p, Action::ManageUsers, &Resource::city())?;
    let place = load_community(state, new.community_id).await?;
    let txn = state.db.begin().await?;
    let org = community::insert_organisation(
        &txn,
        new.kind,
        new.name.as_str(),
        place.community.id,
        new.contact_name.as_ref().map(Name::as_str),
        new.contact_phone.as_ref().map(PhoneNumber::as_str),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}

/// Attaches a partner account to an organisation (administrators): the account's jurisdiction
/// becomes the organisation's community, audited in the same transaction.
pub async fn add_member(
    state: &AppState,
    p: &Principal,
    organisation: i64,
    user: i64,
) -> Result<Organisation, AppError> {
    require(p, Action::ManageUsers, &Resource::city())?;
    let org = community::get_organisation(&state.db, organisation)
        .await
        .map_err(AppError::when_missing(AppError::not_found(
            "organisation_not_found",
            "no such organisation",
        )))?;
    let no_user = || AppError::not_found("user_not_found", "no such account");
    let user_id = UserId::new(user).map_err(|_| no_user())?;
    let account = users::get_user(&state.db, user_id)
        .await
        .map_err(AppError::when_missing(no_user()))?;
    if account.role != Role::Partner {
        return Err(AppError::invalid(
            "not_a_partner",
            "user_id",
            "only partner accounts join organisations",
        ));
    }
    let jurisdiction = Jurisdiction::for_role(Role::Partner, [Area::Community(org.community_id)])?;
    let now = state.now();
    let txn = state.db.begin().await?;
    community::set_member(&txn, org.id, user_id).await?;
    users::set_jurisdiction(&txn, user_id, &jurisdiction, now).await?;
    audit::record(
        &txn,
        AuditEvent::JurisdictionChanged,
        AuditEntry {
            actor: Some(p.user_id),
            subject: Some(user_id),
            username: None,
            ip: None,
            detail: Some(format!("member of organisation {} ({})", org.id, org.name)),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}
