//! Merchants (商户), the city's pledge items, four-responsibility pledges (门前四包) and
//! inspections against them.

mod inspections;
mod pledges;

pub use inspections::*;
pub use pledges::*;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use whistle_domain::ids::{CommunityId, GridId, MerchantId, UserId};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::location::Coordinate;

use super::{Page, PageRequest};
use crate::entities::merchant;
use crate::error::{RepoError, corrupt};

// ---- merchants ------------------------------------------------------------------------------

/// A merchant as stored, with its place at every level: the one merchant model. Its text was
/// checked by the domain's types on the way in (`Name`, `LicenceNumber`, `PhoneNumber`,
/// `merchant::Address`) and is kept as that checked text.
#[derive(Debug, Clone, PartialEq)]
pub struct MerchantRecord {
    pub id: MerchantId,
    pub name: String,
    pub licence_number: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub address: String,
    pub business_type: String,
    pub location: Coordinate,
    pub grid_id: GridId,
    pub area: AreaPath,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<merchant::Model> for MerchantRecord {
    type Error = RepoError;

    fn try_from(m: merchant::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("merchant", m.id)(e);
        Ok(MerchantRecord {
            id: MerchantId::new(m.id).map_err(bad)?,
            location: Coordinate::wgs84(m.lat, m.lon).map_err(bad)?,
            grid_id: GridId::new(m.grid_id).map_err(bad)?,
            area: AreaPath {
                district: whistle_domain::ids::DistrictId::new(m.district_id).map_err(bad)?,
                street: whistle_domain::ids::StreetId::new(m.street_id).map_err(bad)?,
                community: CommunityId::new(m.community_id).map_err(bad)?,
            },
            name: m.name,
            licence_number: m.licence_number,
            owner_name: m.owner_name,
            owner_phone: m.owner_phone,
            address: m.address,
            business_type: m.business_type,
            created_at: m.created_at.with_timezone(&Utc),
            updated_at: m.updated_at.with_timezone(&Utc),
        })
    }
}

/// The fields of a merchant that are written (on create and on update).
#[derive(Debug, Clone)]
pub struct MerchantFields {
    pub name: String,
    pub licence_number: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub address: String,
    pub business_type: String,
    pub location: Coordinate,
    pub grid_id: GridId,
    pub area: AreaPath,
}

pub async fn insert_merchant(
    db: &impl ConnectionTrait,
    f: &MerchantFields,
    created_by: UserId,
    now: DateTime<Utc>,
) -> Result<MerchantRecord, RepoError> {
    let now = now.fixed_offset();
    merchant::ActiveModel {
        name: Set(f.name.clone()),
        licence_number: Set(f.licence_number.clone()),
        owner_name: Set(f.owner_name.clone()),
        owner_phone: Set(f.owner_phone.clone()),
        address: Set(f.address.clone()),
        business_type: Set(f.business_type.clone()),
        lat: Set(f.location.lat()),
        lon: Set(f.location.lon()),
        grid_id: Set(f.grid_id.get()),
        community_id: Set(f.area.community.get()),
        street_id: Set(f.area.street.get()),
        district_id: Set(f.area.district.get()),
        created_by: Set(Some(created_by.get())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn update_merchant(
    db: &impl ConnectionTrait,
    id: MerchantId,
    f: &MerchantFields,
    now: DateTime<Utc>,
) -> Result<MerchantRecord, RepoError> {
    merchant::ActiveModel {
        id: Set(id.get()),
        name: Set(f.name.clone()),
        licence_number: Set(f.licence_number.clone()),
        owner_name: Set(f.owner_name.clone()),
        owner_phone: Set(f.owner_phone.clone()),
        address: Set(f.address.clone()),
        business_type: Set(f.business_type.clone()),
        lat: Set(f.location.lat()),
        lon: Set(f.location.lon()),
        grid_id: Set(f.grid_id.get()),
        community_id: Set(f.area.community.get()),
        street_id: Set(f.area.street.get()),
        district_id: Set(f.area.district.get()),
        updated_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .update(db)
    .await?
    .try_into()
}

pub async fn get_merchant(
    db: &impl ConnectionTrait,
    id: MerchantId,
) -> Result<MerchantRecord, RepoError> {
    merchant::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("merchant"))?
        .try_into()
}

pub async fn find_by_licence(
    db: &impl ConnectionTrait,
    licence: &str,
) -> Result<Option<MerchantRecord>, RepoError> {
    merchant::Entity::find()
        .filter(merchant::Column::LicenceNumber.eq(licence))
        .one(db)
        .await?
        .map(MerchantRecord::try_from)
        .transpose()
}

/// A jurisdiction as lists of area ids: a row is inside when its district, street or community
/// is listed.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub districts: Vec<i64>,
    pub streets: Vec<i64>,
    pub communities: Vec<i64>,
}

impl Scope {
    fn condition(&self) -> sea_orm::Condition {
        sea_orm::Condition::any()
            .add(merchant::Column::DistrictId.is_in(self.districts.clone()))
            .add(merchant::Column::StreetId.is_in(self.streets.clone()))
            .add(merchant::Column::CommunityId.is_in(self.communities.clone()))
    }

    pub fn covers(&self, area: &AreaPath) -> bool {
        self.districts.contains(&area.district.get())
            || self.streets.contains(&area.street.get())
            || self.communities.contains(&area.community.get())
    }
}

/// Which merchants a search may return.
#[derive(Debug, Clone, Default)]
pub struct MerchantFilter {
    /// Only inside this jurisdiction; `None` = city-wide.
    pub scope: Option<Scope>,
    pub community: Option<CommunityId>,
    pub grid: Option<GridId>,
    /// Part of the name or the licence number.
    pub text: Option<String>,
    pub business_type: Option<String>,
}

/// Merchants by id, keyset-paged.
pub async fn search_merchants(
    db: &impl ConnectionTrait,
    f: &MerchantFilter,
    page: PageRequest,
) -> Result<Page<MerchantRecord>, RepoError> {
    let mut q = merchant::Entity::find();
    if let Some(scope) = &f.scope {
        q = q.filter(scope.condition());
    }
    if let Some(c) = f.community {
        q = q.filter(merchant::Column::CommunityId.eq(c.get()));
    }
    if let Some(g) = f.grid {
        q = q.filter(merchant::Column::GridId.eq(g.get()));
    }
    if let Some(t) = &f.text {
        q = q.filter(
            sea_orm::Condition::any()
                .add(merchant::Column::Name.contains(t))
                .add(merchant::Column::LicenceNumber.eq(t.to_uppercase())),
        );
    }
    if let Some(b) = &f.business_type {
        q = q.filter(merchant::Column::BusinessType.eq(b.as_str()));
    }
    if let Some(after) = page.after {
        q = q.filter(merchant::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(merchant::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(MerchantRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(rows, page.limit, |m| m.id.get()))
}
