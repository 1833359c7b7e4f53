//! The communities and what stations officers there.

use whistle_domain::ids::CommunityId;
use whistle_domain::jurisdiction::AreaPath;
use whistle_persistence::repo::geography::{self, CommunityInContext};

use crate::app::AppError;
use crate::state::AppState;

/// The community with this id, in its street and district.
pub async fn load_community(state: &AppState, id: i64) -> Result<CommunityInContext, AppError> {
    let not_found = || AppError::not_found("community_not_found", "no such community");
    let id = CommunityId::new(id).map_err(|_| not_found())?;
    geography::get_community(&state.db, id)
        .await
        .map_err(AppError::when_missing(not_found()))
}

/// The community's place at every level, for the policy.
pub fn path_of(c: &CommunityInContext) -> AreaPath {
    AreaPath {
        district: c.district.id,
        street: c.street.id,
        community: c.community.id,
    }
}
