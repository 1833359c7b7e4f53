//! The address book (标准地址库): entries by key, address matching, the picker's search.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use whistle_domain::ids::{CommunityId, DistrictId, GridId, PlaceId, StreetId};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::location::Coordinate;
use whistle_domain::place::{MAX_KEY_CHARS, Place, PlaceKey, PlaceKind};
use whistle_domain::routing::GridHit;
use whistle_domain::text::Name;

use crate::entities::place;
use crate::error::{Clash, RepoError, corrupt};

/// The placeholder of a custom expression's one value: sea-query numbers them on PostgreSQL.
fn param(db: &impl ConnectionTrait) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "$1",
        _ => "?",
    }
}

/// Keys looked up per query when matching an address: well under both databases' limits on
/// bound parameters.
const LOOKUP_BATCH: usize = 500;

impl TryFrom<place::Model> for Place {
    type Error = RepoError;

    fn try_from(m: place::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("place", m.id)(e);
        let key = PlaceKey::of(&m.key)
            .filter(|k| k.as_str() == m.key)
            .ok_or_else(|| bad(whistle_domain::ValueError::new("key", "is not a place key")))?;
        let community = CommunityId::new(m.community_id).map_err(bad)?;
        Ok(Place {
            id: PlaceId::new(m.id).map_err(bad)?,
            key,
            name: Name::parse(&m.name).map_err(bad)?,
            kind: m.kind.parse().map_err(bad)?,
            point: Coordinate::wgs84(m.lat, m.lon).map_err(bad)?,
            grid: GridHit {
                grid_id: GridId::new(m.grid_id).map_err(bad)?,
                community_id: community,
            },
            area: AreaPath {
                district: DistrictId::new(m.district_id).map_err(bad)?,
                street: StreetId::new(m.street_id).map_err(bad)?,
                community,
            },
            active: m.active,
        })
    }
}

/// An entry to store: already validated and routed by the caller.
#[derive(Debug, Clone)]
pub struct NewPlace {
    pub name: Name,
    pub kind: PlaceKind,
    pub point: Coordinate,
    pub grid: GridHit,
    pub area: AreaPath,
}

impl NewPlace {
    /// The entry's key, or `None` if its name has no identifying characters.
    pub fn key(&self) -> Option<PlaceKey> {
        PlaceKey::of(self.name.as_str())
    }
}

/// Whether [`upsert`] added an entry or updated the one with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// Adds the entry, or — when an entry with the same key exists — updates it (and makes it active
/// again): re-importing a city's address list changes what changed and adds nothing twice.
pub async fn upsert(
    db: &impl ConnectionTrait,
    new: &NewPlace,
    now: DateTime<Utc>,
) -> Result<(Place, Upserted), RepoError> {
    let key = new
        .key()
        .filter(|k| k.chars() <= MAX_KEY_CHARS)
        .ok_or_else(|| {
            RepoError::Conflict(
                Clash::new("place", &["name"])
                    .because("place name is not a valid address-book key"),
            )
        })?;
    let now = now.fixed_offset();
    let existing = place::Entity::find()
        .filter(place::Column::Key.eq(key.as_str()))
        .one(db)
        .await?;
    let (model, how) = match existing {
        Some(m) => {
            let mut am = m.into_active_model();
            am.name = Set(new.name.as_str().to_owned());
            am.kind = Set(new.kind.as_str().to_owned());
            am.lat = Set(new.point.lat());
            am.lon = Set(new.point.lon());
            am.grid_id = Set(new.grid.grid_id.get());
            am.community_id = Set(new.area.community.get());
            am.street_id = Set(new.area.street.get());
            am.district_id = Set(new.area.district.get());
            am.active = Set(true);
            am.updated_at = Set(now);
            (am.update(db).await?, Upserted::Updated)
        }
        None => (
            place::ActiveModel {
                key: Set(key.as_str().to_owned()),
                name: Set(new.name.as_str().to_owned()),
                kind: Set(new.kind.as_str().to_owned()),
                lat: Set(new.point.lat()),
                lon: Set(new.point.lon()),
                grid_id: Set(new.grid.grid_id.get()),
                community_id: Set(new.area.community.get()),
                street_id: Set(new.area.street.get()),
                district_id: Set(new.area.district.get()),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?,
            Upserted::Created,
        ),
    };
    Ok((model.try_into()?, how))
}

pub async fn get(db: &impl ConnectionTrait, id: PlaceId) -> Result<Place, RepoError> {
    place::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("place"))?
        .try_into()
}

/// Retires an entry: it no longer places new reports. Returns the entry as it now is.
pub async fn retire(
    db: &impl ConnectionTrait,
    id: PlaceId,
    now: DateTime<Utc>,
) -> Result<Place, RepoError> {
    let m = place::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("place"))?;
    let mut am = m.into_active_model();
    am.active = Set(false);
    am.updated_at = Set(now.fixed_offset());
    am.update(db).await?.try_into()
}

/// The active entries an address may name: those whose key is one of the address's pieces
/// (`PlaceKey::pieces`), found through the unique key index in batches — the cost grows with
/// the length of the address, not with the size of the book.
pub async fn candidates_for(
    db: &impl ConnectionTrait,
    address: &PlaceKey,
) -> Result<Vec<(PlaceKey, Place)>, RepoError> {
    let pieces: Vec<&str> = address.pieces().into_iter().collect();
    let mut found = Vec::new();
    for batch in pieces.chunks(LOOKUP_BATCH) {
        let rows = place::Entity::find()
            .filter(place::Column::Active.eq(true))
            .filter(place::Column::Key.is_in(batch.iter().copied()))
            .all(db)
            .await?;
        for m in rows {
            let p = Place::try_from(m)?;
            found.push((p.key.clone(), p));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The picker's search: active entries whose key contains `q` (those starting with it first,
/// then shorter names first), optionally in one community.
pub async fn search(
    db: &impl ConnectionTrait,
    q: Option<&PlaceKey>,
    community: Option<CommunityId>,
    kind: Option<PlaceKind>,
    limit: u64,
) -> Result<Vec<Place>, RepoError> {
    let mut query = place::Entity::find().filter(place::Column::Active.eq(true));
    if let Some(c) = community {
        query = query.filter(place::Column::CommunityId.eq(c.get()));
    }
    if let Some(k) = kind {
        query = query.filter(place::Column::Kind.eq(k.as_str()));
    }
    if let Some(q) = q {
        query = query
            .filter(place::Column::Key.like(format!("%{}%", q.as_str())))
            .order_by_asc(Expr::cust_with_values(
                format!("CASE WHEN \"key\" LIKE {} THEN 0 ELSE 1 END", param(db)),
                [format!("{}%", q.as_str())],
            ));
    }
    query
        .order_by_asc(Expr::cust("LENGTH(\"key\")"))
        .order_by_asc(place::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Place::try_from)
        .collect()
}

/// Active entries inside a latitude/longitude box, at most `limit` of them: the candidates for
/// naming the places analytics reports on (the caller picks the nearest).
pub async fn within_box(
    db: &impl ConnectionTrait,
    (min_lat, min_lon): (f64, f64),
    (max_lat, max_lon): (f64, f64),
    limit: u64,
) -> Result<Vec<Place>, RepoError> {
    place::Entity::find()
        .filter(place::Column::Active.eq(true))
        .filter(place::Column::Lat.between(min_lat, max_lat))
        .filter(place::Column::Lon.between(min_lon, max_lon))
        .order_by_asc(place::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Place::try_from)
        .collect()
}
