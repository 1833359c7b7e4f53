//! The address book: which entry a report without coordinates names, and the admins' import
//! of a city's addresses.

use std::collections::HashMap;

use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::{CommunityId, PlaceId};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::location::Coordinate;
use whistle_domain::place::{AddressMatch, MAX_KEY_CHARS, Place, PlaceKey, PlaceKind, best_match};
use whistle_domain::routing::LocateError;
use whistle_domain::text::Name;
use whistle_persistence::repo::geography;
use whistle_persistence::repo::places::{self, NewPlace, Upserted};

use crate::app::AppError;
use crate::app::access::require;
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

/// At most this many entries per import; a city's list goes in several requests.
pub const MAX_IMPORT: usize = 1000;

/// One entry of an import, its values checked: the name, the kind and the point (WGS-84).
#[derive(Debug, Clone)]
pub struct PlaceEntry {
    pub name: Name,
    pub kind: PlaceKind,
    pub point: Coordinate,
}

/// What an import did: the stored entries in the order sent.
#[derive(Debug)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
    pub places: Vec<Place>,
}

/// Imports entries into the address book (admins), all or none. Each point is routed to its
/// grid; an entry whose name has the key of a stored one updates it, so re-importing a list is
/// safe. A refusal names the entry (`places[i].…`).
pub async fn import(
    state: &AppState,
    p: &Principal,
    entries: Vec<PlaceEntry>,
) -> Result<Imported, AppError> {
    require(p, Action::ManageGeography, &Resource::city())?;
    if entries.is_empty() || entries.len() > MAX_IMPORT {
        return Err(AppError::invalid(
            "invalid_batch",
            "places",
            format!("send 1–{MAX_IMPORT} places per request"),
        ));
    }
    let mut areas: HashMap<CommunityId, AreaPath> = HashMap::new();
    let mut seen: HashMap<PlaceKey, usize> = HashMap::new();
    let mut batch = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let at = |what: &str| format!("places[{i}].{what}");
        let key = PlaceKey::of(entry.name.as_str()).ok_or_else(|| {
            AppError::invalid(
                "invalid_name",
                &at("name"),
                "a place name needs at least two letters, digits or Chinese characters",
            )
        })?;
        if key.chars() > MAX_KEY_CHARS {
            return Err(AppError::invalid(
                "invalid_name",
                &at("name"),
                format!(
                    "an address-book name may have at most {MAX_KEY_CHARS} letters, digits and \
                     Chinese characters"
                ),
            ));
        }
        if let Some(first) = seen.insert(key, i) {
            return Err(AppError::invalid(
                "duplicate_place",
                &at("name"),
                format!("places[{first}] and places[{i}] name the same place"),
            ));
        }
        let hit =
            state
                .grids()
                .locate(entry.point)
                .map_err(|LocateError::OutsideCity { .. }| {
                    AppError::invalid(
                        "outside_city",
                        &at("lat"),
                        format!("places[{i}] is not inside any grid of the city"),
                    )
                })?;
        let area = match areas.get(&hit.community_id) {
            Some(a) => *a,
            None => {
                let c = geography::get_community(&state.db, hit.community_id).await?;
                let a = AreaPath {
                    district: c.district.id,
                    street: c.street.id,
                    community: hit.community_id,
                };
                areas.insert(hit.community_id, a);
                a
            }
        };
        batch.push(NewPlace {
            name: entry.name,
            kind: entry.kind,
            point: entry.point,
            grid: hit,
            area,
        });
    }

    let now = state.now();
    let txn = state.db.begin().await?;
    let mut done = Imported {
        created: 0,
        updated: 0,
        places: Vec::with_capacity(batch.len()),
    };
    for new in &batch {
        let (place, how) = places::upsert(&txn, new, now).await?;
        match how {
            Upserted::Created => done.created += 1,
            Upserted::Updated => done.updated += 1,
        }
        done.places.push(place);
    }
    txn.commit().await?;
    tracing::info!(
        created = done.created,
        updated = done.updated,
        by = p.user_id.get(),
        "address book imported"
    );
    Ok(done)
}
