//! Merchants (商户): who may read which merchants, pledges and inspections, and the register
//! itself. Pledges (门前四包责任书) are [`pledges`], inspections against them [`inspections`].

use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::{MerchantId, PledgeId};
use whistle_domain::jurisdiction::Area;
use whistle_domain::location::Coordinate;
use whistle_domain::merchant::{Address, LicenceNumber};
use whistle_domain::people::PhoneNumber;
use whistle_domain::people::Role;
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::merchants::{
    self, InspectionRecord, MerchantFields, MerchantRecord, PledgeRecord, Scope,
};

use crate::app::access::require;
use crate::app::cases::route_point;

use crate::app::AppError;
use crate::state::AppState;

pub mod inspections;
pub mod pledges;

/// The merchants a principal may read: officers and leaders their jurisdiction, dispatchers the
/// city; residents, partners and administrators none.
pub fn read_scope(p: &Principal) -> Result<Option<Scope>, AppError> {
    match p.role {
        Role::Dispatcher => Ok(None),
        Role::Officer | Role::Leader => {
            let mut s = Scope::default();
            for area in p.jurisdiction.areas() {
                match area {
                    Area::District(d) => s.districts.push(d.get()),
                    Area::Street(x) => s.streets.push(x.get()),
                    Area::Community(c) => s.communities.push(c.get()),
                }
            }
            Ok(Some(s))
        }
        _ => Err(AppError::forbidden(
            "forbidden",
            "only bureau staff read the merchant registry",
        )),
    }
}

pub fn merchant_not_found() -> AppError {
    AppError::not_found("merchant_not_found", "no such merchant")
}

/// A merchant the principal may read (404 otherwise, not revealing that it exists).
pub async fn readable_merchant(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> Result<MerchantRecord, AppError> {
    let scope = read_scope(p)?;
    let id = MerchantId::new(id).map_err(|_| merchant_not_found())?;
    let m = merchants::get_merchant(&state.db, id)
        .await
        .map_err(AppError::when_missing(merchant_not_found()))?;
    if scope.is_some_and(|s| !s.covers(&m.area)) {
        return Err(merchant_not_found());
    }
    Ok(m)
}

/// A pledge with its merchant, if the principal may read the merchant.
pub async fn readable_pledge(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> Result<(PledgeRecord, MerchantRecord), AppError> {
    let not_found = || AppError::not_found("pledge_not_found", "no such pledge");
    let pid = PledgeId::new(id).map_err(|_| not_found())?;
    let r = merchants::get_pledge(&state.db, pid)
        .await
        .map_err(AppError::when_missing(not_found()))?;
    let m = readable_merchant(state, p, r.pledge.merchant_id.get())
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => not_found(),
            other => other,
        })?;
    Ok((r, m))
}

/// An inspection with its merchant, if the principal may read the merchant.
pub async fn readable_inspection(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> Result<(InspectionRecord, MerchantRecord), AppError> {
    let not_found = || AppError::not_found("inspection_not_found", "no such inspection");
    let i = merchants::get_inspection(&state.db, id)
        .await
        .map_err(AppError::when_missing(not_found()))?;
    let m = readable_merchant(state, p, i.merchant_id.get())
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => not_found(),
            other => other,
        })?;
    Ok((i, m))
}

/// A merchant as registered: every value parsed; its place is routed to a grid.
#[derive(Debug, Clone)]
pub struct MerchantDraft {
    pub name: Name,
    pub licence_number: LicenceNumber,
    pub owner_name: Name,
    pub owner_phone: PhoneNumber,
    pub address: Address,
    pub business_type: Name,
    /// WGS-84.
    pub location: Coordinate,
}

/// The draft with its grid and area, or `outside_city`.
async fn fields_of(state: &AppState, d: MerchantDraft) -> Result<MerchantFields, AppError> {
    let (hit, area) = route_point(state, d.location, "lat").await?;
    Ok(MerchantFields {
        name: d.name.as_str().to_owned(),
        licence_number: d.licence_number.as_str().to_owned(),
        owner_name: d.owner_name.as_str().to_owned(),
        owner_phone: d.owner_phone.as_str().to_owned(),
        address: d.address.as_str().to_owned(),
        business_type: d.business_type.as_str().to_owned(),
        location: d.location,
        grid_id: hit.grid_id,
        area,
    })
}

fn licence_taken(e: RepoError) -> AppError {
    match e {
        RepoError::Conflict(_) => AppError::conflict(
            "licence_number_taken",
            "a merchant with this licence number is already registered",
        ),
        other => other.into(),
    }
}

/// Registers a merchant (officers and leaders, inside their jurisdiction).
pub async fn register(
    state: &AppState,
    p: &Principal,
    draft: MerchantDraft,
) -> Result<MerchantRecord, AppError> {
    let fields = fields_of(state, draft).await?;
    require(p, Action::ManageMerchants, &Resource::at(fields.area))?;
    let txn = state.db.begin().await?;
    let m = merchants::insert_merchant(&txn, &fields, p.user_id, state.now())
        .await
        .map_err(licence_taken)?;
    txn.commit().await?;
    Ok(m)
}

/// Edits a merchant; its new place must also be inside the jurisdiction.
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: i64,
    draft: MerchantDraft,
) -> Result<MerchantRecord, AppError> {
    let current = readable_merchant(state, p, id).await?;
    require(p, Action::ManageMerchants, &Resource::at(current.area))?;
    let fields = fields_of(state, draft).await?;
    require(p, Action::ManageMerchants, &Resource::at(fields.area))?;
    let txn = state.db.begin().await?;
    let m = merchants::update_merchant(&txn, current.id, &fields, state.now())
        .await
        .map_err(licence_taken)?;
    txn.commit().await?;
    Ok(m)
}
