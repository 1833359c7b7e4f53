//! Community operations around people: stationing officers in communities (派驻), the community
//! contact card (社区联系牌), officers' portraits, and partner organisations (城管+物业).

mod contact_card;
mod organisations;
mod portraits;
mod stationing;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_domain::people::Role;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stationing::create_stationing))
        .routes(routes!(stationing::end_stationing))
        .routes(routes!(stationing::community_stationings))
        .routes(routes!(stationing::officer_stationings))
        .routes(routes!(stationing::officer_directory))
        .routes(routes!(contact_card::contact_card))
        .routes(routes!(contact_card::contact_card_svg))
        .routes(routes!(contact_card::contact_card_png))
        .routes(routes!(
            organisations::create_organisation,
            organisations::list_organisations
        ))
        .routes(routes!(organisations::get_organisation))
        .routes(routes!(organisations::add_member))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(
                    portraits::put_officer_photo,
                    portraits::get_officer_photo
                ))
                .layer(DefaultBodyLimit::disable()),
        )
}

/// Stationing records and organisations are for staff; residents and partners see the
/// contact card.
pub(super) fn require_staff(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Resident | Role::Partner => Err(ApiError::forbidden(
            "forbidden",
            "only staff read stationing records",
        )),
        _ => Ok(()),
    }
}
