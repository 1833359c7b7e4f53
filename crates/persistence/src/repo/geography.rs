//! Districts, streets, communities and grids.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use whistle_domain::geography::{Boundary, CasePrefix, Community, District, Grid, Street};
use whistle_domain::ids::{CommunityId, DistrictId, GridId, StreetId};
use whistle_domain::text::{Code, Name};

use super::{Page, PageRequest};
use crate::entities::{community, district, grid, street};
use crate::error::{Clash, RepoError, corrupt};

impl TryFrom<district::Model> for District {
    type Error = RepoError;

    fn try_from(m: district::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("district", m.id)(e);
        Ok(District {
            id: DistrictId::new(m.id).map_err(bad)?,
            code: Code::parse(&m.code).map_err(bad)?,
            name: Name::parse(&m.name).map_err(bad)?,
            case_prefix: CasePrefix::parse(&m.case_prefix).map_err(bad)?,
        })
    }
}

impl TryFrom<street::Model> for Street {
    type Error = RepoError;

    fn try_from(m: street::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("street", m.id)(e);
        Ok(Street {
            id: StreetId::new(m.id).map_err(bad)?,
            district_id: DistrictId::new(m.district_id).map_err(bad)?,
            code: Code::parse(&m.code).map_err(bad)?,
            name: Name::parse(&m.name).map_err(bad)?,
        })
    }
}

impl TryFrom<community::Model> for Community {
    type Error = RepoError;

    fn try_from(m: community::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("community", m.id)(e);
        Ok(Community {
            id: CommunityId::new(m.id).map_err(bad)?,
            street_id: StreetId::new(m.street_id).map_err(bad)?,
            code: Code::parse(&m.code).map_err(bad)?,
            name: Name::parse(&m.name).map_err(bad)?,
            boundary: Boundary::from_geojson(&m.boundary).map_err(bad)?,
        })
    }
}

impl TryFrom<grid::Model> for Grid {
    type Error = RepoError;

    fn try_from(m: grid::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("grid", m.id)(e);
        Ok(Grid {
            id: GridId::new(m.id).map_err(bad)?,
            community_id: CommunityId::new(m.community_id).map_err(bad)?,
            code: Code::parse(&m.code).map_err(bad)?,
            name: Name::parse(&m.name).map_err(bad)?,
            boundary: Boundary::from_geojson(&m.boundary).map_err(bad)?,
        })
    }
}

fn collect<M, T>(rows: Vec<M>) -> Result<Vec<T>, RepoError>
where
    T: TryFrom<M, Error = RepoError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// A community with the street and district it belongs to: what the API shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CommunityInContext {
    pub community: Community,
    pub street: Street,
    pub district: District,
    pub grid_count: u64,
}

/// Filters for listing communities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommunityFilter {
    pub street_id: Option<StreetId>,
    pub district_id: Option<DistrictId>,
}

pub async fn list_districts(db: &impl ConnectionTrait) -> Result<Vec<District>, RepoError> {
    collect(
        district::Entity::find()
            .order_by_asc(district::Column::Id)
            .all(db)
            .await?,
    )
}

pub async fn list_streets(
    db: &impl ConnectionTrait,
    district_id: Option<DistrictId>,
) -> Result<Vec<Street>, RepoError> {
    let mut q = street::Entity::find().order_by_asc(street::Column::Id);
    if let Some(d) = district_id {
        q = q.filter(street::Column::DistrictId.eq(d.get()));
    }
    collect(q.all(db).await?)
}

/// A page of communities in id order, each with its street, district and number of grids.
pub async fn list_communities(
    db: &impl ConnectionTrait,
    filter: CommunityFilter,
    page: PageRequest,
) -> Result<Page<CommunityInContext>, RepoError> {
    let mut q = community::Entity::find().order_by_asc(community::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(community::Column::Id.gt(after));
    }
    if let Some(s) = filter.street_id {
        q = q.filter(community::Column::StreetId.eq(s.get()));
    }
    if let Some(d) = filter.district_id {
        let streets: Vec<i64> = street::Entity::find()
            .select_only()
            .column(street::Column::Id)
            .filter(street::Column::DistrictId.eq(d.get()))
            .into_tuple()
            .all(db)
            .await?;
        q = q.filter(community::Column::StreetId.is_in(streets));
    }
    let rows: Vec<Community> = collect(q.limit(page.limit + 1).all(db).await?)?;
    let page = Page::from_overfetch(rows, page.limit, |c| c.id.get());
    let items = in_context(db, page.items).await?;
    Ok(Page {
        items,
        next_after: page.next_after,
    })
}

pub async fn get_community(
    db: &impl ConnectionTrait,
    id: CommunityId,
) -> Result<CommunityInContext, RepoError> {
    let row = community::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("community"))?;
    let mut list = in_context(db, vec![Community::try_from(row)?]).await?;
    list.pop().ok_or(RepoError::NotFound("community"))
}

/// Attaches streets, districts and grid counts with three queries for the whole list (not three
/// per community).
async fn in_context(
    db: &impl ConnectionTrait,
    communities: Vec<Community>,
) -> Result<Vec<CommunityInContext>, RepoError> {
    if communities.is_empty() {
        return Ok(Vec::new());
    }
    let street_ids: Vec<i64> = communities.iter().map(|c| c.street_id.get()).collect();
    let streets: HashMap<StreetId, Street> = collect::<_, Street>(
        street::Entity::find()
            .filter(street::Column::Id.is_in(street_ids))
            .all(db)
            .await?,
    )?
    .into_iter()
    .map(|s| (s.id, s))
    .collect();
    let district_ids: Vec<i64> = streets.values().map(|s| s.district_id.get()).collect();
    let districts: HashMap<DistrictId, District> = collect::<_, District>(
        district::Entity::find()
            .filter(district::Column::Id.is_in(district_ids))
            .all(db)
            .await?,
    )?
    .into_iter()
    .map(|d| (d.id, d))
    .collect();
    let community_ids: Vec<i64> = communities.iter().map(|c| c.id.get()).collect();
    let counts: HashMap<i64, i64> = grid::Entity::find()
        .select_only()
        .column(grid::Column::CommunityId)
        .column_as(grid::Column::Id.count(), "n")
        .filter(grid::Column::CommunityId.is_in(community_ids))
        .group_by(grid::Column::CommunityId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    communities
        .into_iter()
        .map(|community| {
            let street = streets
                .get(&community.street_id)
                .cloned()
                .ok_or(RepoError::NotFound("street"))?;
            let district = districts
                .get(&street.district_id)
                .cloned()
                .ok_or(RepoError::NotFound("district"))?;
            let grid_count = counts.get(&community.id.get()).copied().unwrap_or(0) as u64;
            Ok(CommunityInContext {
                community,
                street,
                district,
                grid_count,
            })
        })
        .collect()
}

pub async fn community_exists(
    db: &impl ConnectionTrait,
    id: CommunityId,
) -> Result<bool, RepoError> {
    Ok(community::Entity::find_by_id(id.get())
        .select_only()
        .column(community::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

pub async fn list_grids(
    db: &impl ConnectionTrait,
    community_id: Option<CommunityId>,
) -> Result<Vec<Grid>, RepoError> {
    let mut q = grid::Entity::find().order_by_asc(grid::Column::Id);
    if let Some(c) = community_id {
        q = q.filter(grid::Column::CommunityId.eq(c.get()));
    }
    collect(q.all(db).await?)
}

pub async fn get_grid(db: &impl ConnectionTrait, id: GridId) -> Result<Grid, RepoError> {
    grid::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("grid"))?
        .try_into()
}

/// Every grid with its community, street and district, in grid id order: five queries whatever
/// the size of the city.
pub async fn all_grids_in_context(
    db: &impl ConnectionTrait,
) -> Result<Vec<GridInContext>, RepoError> {
    let grids = list_grids(db, None).await?;
    let communities: Vec<Community> = collect(community::Entity::find().all(db).await?)?;
    let communities: HashMap<CommunityId, CommunityInContext> = in_context(db, communities)
        .await?
        .into_iter()
        .map(|c| (c.community.id, c))
        .collect();
    grids
        .into_iter()
        .map(|grid| {
            let community = communities
                .get(&grid.community_id)
                .cloned()
                .ok_or(RepoError::NotFound("community"))?;
            Ok(GridInContext { grid, community })
        })
        .collect()
}

/// Names of a grid's community, street and district, for answering "where is this point".
#[derive(Debug, Clone, PartialEq)]
pub struct GridInContext {
    pub grid: Grid,
    pub community: CommunityInContext,
}

pub async fn get_grid_in_context(
    db: &impl ConnectionTrait,
    id: GridId,
) -> Result<GridInContext, RepoError> {
    let grid = get_grid(db, id).await?;
    let community = get_community(db, grid.community_id).await?;
    Ok(GridInContext { grid, community })
}

// ---- writes (admin, demo seed) -------------------------------------------------------------

/// Inserts the district unless one with the same code exists; returns the stored one either way.
pub async fn ensure_district(
    db: &impl ConnectionTrait,
    code: &Code,
    name: &Name,
    case_prefix: &CasePrefix,
    now: DateTime<Utc>,
) -> Result<District, RepoError> {
    if let Some(found) = district::Entity::find()
        .filter(district::Column::Code.eq(code.as_str()))
        .one(db)
        .await?
    {
        return found.try_into();
    }
    district::ActiveModel {
        code: Set(code.as_str().to_owned()),
        name: Set(name.as_str().to_owned()),
        case_prefix: Set(case_prefix.as_str().to_owned()),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn ensure_street(
    db: &impl ConnectionTrait,
    district_id: DistrictId,
    code: &Code,
    name: &Name,
    now: DateTime<Utc>,
) -> Result<Street, RepoError> {
    if let Some(found) = street::Entity::find()
        .filter(street::Column::Code.eq(code.as_str()))
        .one(db)
        .await?
    {
        return found.try_into();
    }
    street::ActiveModel {
        district_id: Set(district_id.get()),
        code: Set(code.as_str().to_owned()),
        name: Set(name.as_str().to_owned()),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn ensure_community(
    db: &impl ConnectionTrait,
    street_id: StreetId,
    code: &Code,
    name: &Name,
    boundary: &Boundary,
    now: DateTime<Utc>,
) -> Result<Community, RepoError> {
    if let Some(found) = community::Entity::find()
        .filter(community::Column::Code.eq(code.as_str()))
        .one(db)
        .await?
    {
        return found.try_into();
    }
    let [min_lon, min_lat, max_lon, max_lat] = boundary.bbox();
    community::ActiveModel {
        street_id: Set(street_id.get()),
        code: Set(code.as_str().to_owned()),
        name: Set(name.as_str().to_owned()),
        boundary: Set(boundary.to_geojson_string()),
        min_lon: Set(min_lon),
        min_lat: Set(min_lat),
        max_lon: Set(max_lon),
        max_lat: Set(max_lat),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

/// Inserts a grid unless one with the same code exists. The grid must lie inside its community
/// (checked here, against the stored community, before writing).
pub async fn ensure_grid(
    db: &impl ConnectionTrait,
    community: &Community,
    code: &Code,
    name: &Name,
    boundary: &Boundary,
    now: DateTime<Utc>,
) -> Result<Grid, RepoError> {
    if let Some(found) = grid::Entity::find()
        .filter(grid::Column::Code.eq(code.as_str()))
        .one(db)
        .await?
    {
        return found.try_into();
    }
    if !community.boundary.covers(boundary) {
        return Err(RepoError::Conflict(
            Clash::new("grid", &["boundary"]).because(format!(
                "grid {code} extends outside community {}",
                community.code
            )),
        ));
    }
    let [min_lon, min_lat, max_lon, max_lat] = boundary.bbox();
    grid::ActiveModel {
        community_id: Set(community.id.get()),
        code: Set(code.as_str().to_owned()),
        name: Set(name.as_str().to_owned()),
        boundary: Set(boundary.to_geojson_string()),
        min_lon: Set(min_lon),
        min_lat: Set(min_lat),
        max_lon: Set(max_lon),
        max_lat: Set(max_lat),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

/// The area with this code at this level, if any (for commands that name areas by code).
pub async fn find_area_by_code(
    db: &impl ConnectionTrait,
    level: whistle_domain::jurisdiction::AreaLevel,
    code: &Code,
) -> Result<Option<whistle_domain::jurisdiction::Area>, RepoError> {
    use whistle_domain::jurisdiction::{Area, AreaLevel};
    let id: Option<i64> = match level {
        AreaLevel::District => {
            district::Entity::find()
                .select_only()
                .column(district::Column::Id)
                .filter(district::Column::Code.eq(code.as_str()))
                .into_tuple()
                .one(db)
                .await?
        }
        AreaLevel::Street => {
            street::Entity::find()
                .select_only()
                .column(street::Column::Id)
                .filter(street::Column::Code.eq(code.as_str()))
                .into_tuple()
                .one(db)
                .await?
        }
        AreaLevel::Community => {
            community::Entity::find()
                .select_only()
                .column(community::Column::Id)
                .filter(community::Column::Code.eq(code.as_str()))
                .into_tuple()
                .one(db)
                .await?
        }
    };
    id.map(|id| Area::new(level, id).map_err(corrupt(level.as_str(), id)))
        .transpose()
}
