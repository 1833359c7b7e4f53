//! Jurisdiction (管辖范围): the part of the city a staff account acts in.
//!
//! Officers act in the communities they are stationed in, leaders in a street or a district,
//! partners (property companies) in their one compound's community. Dispatchers act city-wide by
//! role and admins do not handle cases, so neither carries areas. Whether a resource is inside a
//! jurisdiction is decided against the resource's full [`AreaPath`], so a district leader covers
//! every community of every street of the district without listing them.

use std::fmt;
use std::str::FromStr;

use crate::ValueError;
use crate::ids::{CommunityId, DistrictId, StreetId};
use crate::people::Role;

/// One administrative area at any level above the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    District(DistrictId),
    Street(StreetId),
    Community(CommunityId),
}

/// The level of an [`Area`], as written on the wire (`district`, `street`, `community`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AreaLevel {
    District,
    Street,
    Community,
}

impl AreaLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
        }
    }
}

impl fmt::Display for AreaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AreaLevel {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim() {
            "district" => Ok(AreaLevel::District),
            "street" => Ok(AreaLevel::Street),
            "community" => Ok(AreaLevel::Community),
            _ => Err(ValueError::new(
                "level",
                "must be one of district, street, community",
            )),
        }
    }
}

impl Area {
    pub fn new(level: AreaLevel, id: i64) -> Result<Area, ValueError> {
        Ok(match level {
            AreaLevel::District => Area::District(DistrictId::new(id)?),
            AreaLevel::Street => Area::Street(StreetId::new(id)?),
            AreaLevel::Community => Area::Community(CommunityId::new(id)?),
        })
    }

    pub fn level(self) -> AreaLevel {
        match self {
            Area::District(_) => AreaLevel::District,
            Area::Street(_) => AreaLevel::Street,
            Area::Community(_) => AreaLevel::Community,
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Area::District(d) => d.get(),
            Area::Street(s) => s.get(),
            Area::Community(c) => c.get(),
        }
    }

    /// True when the place at `path` lies in this area.
    pub fn contains(self, path: &AreaPath) -> bool {
        match self {
            Area::District(d) => path.district == d,
            Area::Street(s) => path.street == s,
            Area::Community(c) => path.community == c,
        }
    }
}

/// Where something is, at every level: the community it is in and that community's street and
/// district. Built by whoever loaded the resource (a case, a merchant) from stored geography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaPath {
    pub district: DistrictId,
    pub street: StreetId,
    pub community: CommunityId,
}

/// The areas a staff account acts in, checked against what its role may hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jurisdiction {
    areas: Vec<Area>,
}

impl Jurisdiction {
    /// No areas: residents, dispatchers, admins, and staff not yet assigned.
    pub fn none() -> Self {
        Self::default()
    }

    /// Checks `areas` against the role: officers hold communities; leaders streets or districts;
    /// partners at most one community; residents, dispatchers and admins none. Duplicates are
    /// removed; the order is normalised.
    pub fn for_role(role: Role, areas: impl IntoIterator<Item = Area>) -> Result<Self, ValueError> {
        let mut areas: Vec<Area> = areas.into_iter().collect();
        areas.sort();
        areas.dedup();
        let allowed = |a: &Area| match role {
            Role::Officer | Role::Partner => a.level() == AreaLevel::Community,
            Role::Leader => matches!(a.level(), AreaLevel::Street | AreaLevel::District),
            Role::Resident | Role::Dispatcher | Role::Admin => false,
        };
        if let Some(bad) = areas.iter().find(|a| !allowed(a)) {
            let expected = match role {
                Role::Officer => "communities",
                Role::Partner => "one community",
                Role::Leader => "streets or districts",
                Role::Resident | Role::Dispatcher | Role::Admin => "no areas",
            };
            return Err(ValueError::new(
                "jurisdiction",
                format!("a {role} holds {expected}, not a {}", bad.level()),
            ));
        }
        if role == Role::Partner && areas.len() > 1 {
            return Err(ValueError::new(
                "jurisdiction",
                "a partner holds one community",
            ));
        }
        Ok(Self { areas })
    }

    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// True when the place at `path` lies in any of the areas.
    pub fn covers(&self, path: &AreaPath) -> bool {
        self.areas.iter().any(|a| a.contains(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(d: i64, s: i64, c: i64) -> AreaPath {
        AreaPath {
            district: DistrictId::new(d).unwrap(),
            street: StreetId::new(s).unwrap(),
            community: CommunityId::new(c).unwrap(),
        }
    }

    fn community(id: i64) -> Area {
        Area::Community(CommunityId::new(id).unwrap())
    }

    fn street(id: i64) -> Area {
        Area::Street(StreetId::new(id).unwrap())
    }

    fn district(id: i64) -> Area {
        Area::District(DistrictId::new(id).unwrap())
    }

    #[test]
    fn areas_cover_everything_below_them() {
        let p = path(1, 10, 100);
        assert!(district(1).contains(&p));
        assert!(street(10).contains(&p));
        assert!(community(100).contains(&p));
        assert!(!district(2).contains(&p));
        assert!(!street(11).contains(&p));
        assert!(!community(101).contains(&p));
        // Ids of different levels never match each other.
        assert!(!community(10).contains(&p));
    }

    #[test]
    fn roles_hold_their_kind_of_area() {
        assert!(Jurisdiction::for_role(Role::Officer, [community(1), community(2)]).is_ok());
        assert!(Jurisdiction::for_role(Role::Officer, [street(1)]).is_err());
        assert!(Jurisdiction::for_role(Role::Leader, [street(1), district(2)]).is_ok());
        assert!(Jurisdiction::for_role(Role::Leader, [community(1)]).is_err());
        assert!(Jurisdiction::for_role(Role::Partner, [community(1)]).is_ok());
        assert!(Jurisdiction::for_role(Role::Partner, [community(1), community(2)]).is_err());
        for role in [Role::Resident, Role::Dispatcher, Role::Admin] {
            assert!(Jurisdiction::for_role(role, []).is_ok());
            assert_eq!(
                Jurisdiction::for_role(role, [community(1)])
                    .unwrap_err()
                    .field,
                "jurisdiction"
            );
        }
    }

    #[test]
    fn duplicates_collapse_and_coverage_is_any() {
        let j = Jurisdiction::for_role(Role::Officer, [community(2), community(1), community(2)])
            .unwrap();
        assert_eq!(j.areas(), &[community(1), community(2)]);
        assert!(j.covers(&path(1, 1, 2)));
        assert!(!j.covers(&path(1, 1, 3)));
        assert!(!Jurisdiction::none().covers(&path(1, 1, 1)));
    }

    #[test]
    fn levels_parse() {
        for l in [AreaLevel::District, AreaLevel::Street, AreaLevel::Community] {
            assert_eq!(l.as_str().parse::<AreaLevel>().unwrap(), l);
            assert_eq!(Area::new(l, 5).unwrap().level(), l);
        }
        assert!("grid".parse::<AreaLevel>().is_err());
        assert!(Area::new(AreaLevel::Street, 0).is_err());
    }
}
