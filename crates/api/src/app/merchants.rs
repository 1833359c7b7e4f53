//! Reading the merchant registry: who may read which merchants and pledges.

use whistle_auth::Principal;
use whistle_domain::ids::{MerchantId, PledgeId};
use whistle_domain::jurisdiction::Area;
use whistle_domain::people::Role;
use whistle_persistence::repo::merchants::{self, MerchantRecord, PledgeRecord, Scope};

use crate::app::AppError;
use crate::state::AppState;

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
