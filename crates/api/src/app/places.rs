//! The address book's part in intake: which entry a report without coordinates names.

use whistle_domain::ids::PlaceId;
use whistle_domain::place::{AddressMatch, Place, PlaceKey, best_match};
use whistle_persistence::repo::places;

use crate::app::AppError;
use crate::state::AppState;

/// The active entry a report without coordinates names: its `place_id`, else the entry its
/// address text matches. Every refusal is `Invalid` and says what to send instead.
pub async fn place_report(
    state: &AppState,
    place_id: Option<i64>,
    address: Option<&str>,
) -> Result<Place, AppError> {
    if let Some(id) = place_id {
        let unknown = || AppError::Invalid {
            code: "unknown_place",
            detail: format!("no active address-book entry {id}"),
            field: Some("place_id".into()),
            zh: None,
        };
        let id = PlaceId::new(id).map_err(|_| unknown())?;
        let place = places::get(&state.db, id)
            .await
            .map_err(AppError::when_missing(unknown()))?;
        return if place.active {
            Ok(place)
        } else {
            Err(unknown())
        };
    }
    let Some(text) = address.filter(|a| !a.trim().is_empty()) else {
        return Err(AppError::Invalid {
            code: "location_required",
            detail: "send the point (lat and lon), a place_id from GET /api/v1/places, or an \
                     address naming a place in the address book"
                .into(),
            field: Some("lat".into()),
            zh: None,
        });
    };
    let not_located = |why: String| AppError::Invalid {
        code: "address_not_located",
        detail: format!(
            "{why}; send the point (lat and lon) or choose a place from GET /api/v1/places"
        ),
        field: Some("address".into()),
        zh: None,
    };
    let key =
        PlaceKey::of(text).ok_or_else(|| not_located("the address names no place".to_owned()))?;
    let candidates = places::candidates_for(&state.db, &key).await?;
    match best_match(&key, &candidates) {
        AddressMatch::Exact(p) | AddressMatch::Contained(p) => Ok(p),
        AddressMatch::Ambiguous(all) => Err(not_located(format!(
            "the address names several places ({})",
            all.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ))),
        AddressMatch::NoMatch => Err(not_located(
            "no place in the address book matches the address".to_owned(),
        )),
    }
}
