//! The administrative hierarchy: district (区) → street (街道) → community (社区) → grid (网格).
//!
//! Every level has a code and a name. Communities and grids have a boundary; a grid lies inside
//! exactly one community ([`Grid::check_within`]), and a point is routed to exactly one grid by
//! [`crate::routing::GridIndex`].

use geo::{Area, BoundingRect, Covers, Intersects, MultiPolygon, Validation};

use crate::ValueError;
use crate::ids::{CommunityId, DistrictId, GridId, StreetId};
use crate::location::Coordinate;
use crate::text::{Code, Name};

/// A WGS-84 area: a valid, non-empty (multi)polygon with coordinates in range.
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary(MultiPolygon<f64>);

impl Boundary {
    /// Parses a GeoJSON `Polygon` or `MultiPolygon` geometry (RFC 7946: `[lon, lat]` order).
    pub fn from_geojson(raw: &str) -> Result<Self, ValueError> {
        let geometry: geojson::Geometry = raw
            .parse()
            .map_err(|e| ValueError::new("boundary", format!("not a GeoJSON geometry: {e}")))?;
        let shape = geo::Geometry::<f64>::try_from(&geometry.value)
            .map_err(|e| ValueError::new("boundary", format!("unusable geometry: {e}")))?;
        let multi = match shape {
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(mp) => mp,
            _ => {
                return Err(ValueError::new(
                    "boundary",
                    "must be a Polygon or MultiPolygon",
                ));
            }
        };
        Self::new(multi)
    }

    /// Checks the shape: non-empty, every coordinate a valid WGS-84 point, a positive area, and
    /// OGC-valid (closed rings, no self-intersection, holes inside their shells).
    pub fn new(shape: MultiPolygon<f64>) -> Result<Self, ValueError> {
        if shape.0.is_empty() {
            return Err(ValueError::new("boundary", "must not be empty"));
        }
        for polygon in &shape.0 {
            let rings = std::iter::once(polygon.exterior()).chain(polygon.interiors());
            for coord in rings.flat_map(|r| r.coords()) {
                Coordinate::wgs84(coord.y, coord.x).map_err(|e| {
                    ValueError::new("boundary", format!("coordinate out of range: {e}"))
                })?;
            }
        }
        if let Err(e) = shape.check_validation() {
            return Err(ValueError::new("boundary", format!("invalid polygon: {e}")));
        }
        if shape.unsigned_area() <= 0.0 {
            return Err(ValueError::new("boundary", "must enclose a positive area"));
        }
        Ok(Self(shape))
    }

    /// The boundary as a GeoJSON geometry object.
    pub fn to_geojson(&self) -> serde_json::Value {
        let geometry = geojson::Geometry::new(geojson::GeometryValue::from(&self.0));
        serde_json::to_value(geometry).unwrap_or(serde_json::Value::Null)
    }

    /// The boundary as GeoJSON text, as stored.
    pub fn to_geojson_string(&self) -> String {
        self.to_geojson().to_string()
    }

    /// True when the point is inside or on the edge.
    pub fn touches_point(&self, point: Coordinate) -> bool {
        self.0.intersects(&point.to_point())
    }

    /// True when `inner` has no part outside `self` (shared edges allowed).
    pub fn covers(&self, inner: &Boundary) -> bool {
        self.0.covers(&inner.0)
    }

    /// `(min_lon, min_lat, max_lon, max_lat)`.
    pub fn bbox(&self) -> [f64; 4] {
        // A validated boundary is non-empty, so it always has a bounding rectangle.
        let rect = self
            .0
            .bounding_rect()
            .unwrap_or_else(|| geo::Rect::new((0.0, 0.0), (0.0, 0.0)));
        [rect.min().x, rect.min().y, rect.max().x, rect.max().y]
    }

    /// The area on the ground in km² (Chamberlain–Duquette on the sphere; hot-spot densities).
    pub fn area_km2(&self) -> f64 {
        use geo::ChamberlainDuquetteArea;
        self.0.chamberlain_duquette_unsigned_area() / 1e6
    }

    /// A point guaranteed to lie inside the area (useful as a label or demo point).
    pub fn interior_point(&self) -> Option<Coordinate> {
        use geo::InteriorPoint;
        let p = self.0.interior_point()?;
        Coordinate::wgs84(p.y(), p.x()).ok()
    }
}

/// A district (区): the top of the hierarchy, and the owner of a case-number prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct District {
    pub id: DistrictId,
    pub code: Code,
    pub name: Name,
    /// Prefix of human case numbers, e.g. `HZ` for 海州区 → `HZ-20261125-000123`.
    pub case_prefix: CasePrefix,
}

/// A street or subdistrict (街道) inside one district.
#[derive(Debug, Clone, PartialEq)]
pub struct Street {
    pub id: StreetId,
    pub district_id: DistrictId,
    pub code: Code,
    pub name: Name,
}

/// A community (社区) inside one street.
#[derive(Debug, Clone, PartialEq)]
pub struct Community {
    pub id: CommunityId,
    pub street_id: StreetId,
    pub code: Code,
    pub name: Name,
    pub boundary: Boundary,
}

/// A grid (网格) inside one community.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub id: GridId,
    pub community_id: CommunityId,
    pub code: Code,
    pub name: Name,
    pub boundary: Boundary,
}

/// Why a grid cannot belong where it was put.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeographyError {
    #[error("grid {grid} belongs to community {actual}, not {expected}")]
    WrongCommunity {
        grid: GridId,
        expected: CommunityId,
        actual: CommunityId,
    },
    #[error("grid {grid} extends outside the boundary of community {community}")]
    OutsideCommunity {
        grid: GridId,
        community: CommunityId,
    },
}

impl Grid {
    /// The invariant "a grid lies in one community": the grid names the community and its area is
    /// covered by the community's boundary.
    pub fn check_within(&self, community: &Community) -> Result<(), GeographyError> {
        if self.community_id != community.id {
            return Err(GeographyError::WrongCommunity {
                grid: self.id,
                expected: community.id,
                actual: self.community_id,
            });
        }
        if !community.boundary.covers(&self.boundary) {
            return Err(GeographyError::OutsideCommunity {
                grid: self.id,
                community: community.id,
            });
        }
        Ok(())
    }
}

/// The prefix of a district's case numbers: 1–6 upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CasePrefix(String);

impl CasePrefix {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        if (1..=6).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValueError::new(
                "case_prefix",
                "must be 1 to 6 upper-case letters A-Z",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An axis-aligned rectangle as GeoJSON, `[lon, lat]` corners.
    pub(crate) fn rect(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Boundary {
        Boundary::from_geojson(&format!(
            r#"{{"type":"Polygon","coordinates":[[[{min_lon},{min_lat}],[{max_lon},{min_lat}],[{max_lon},{max_lat}],[{min_lon},{max_lat}],[{min_lon},{min_lat}]]]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn parses_polygon_and_multipolygon_geojson() {
        let b = rect(119.0, 34.0, 119.1, 34.1);
        assert!(b.touches_point(Coordinate::wgs84(34.05, 119.05).unwrap()));
        assert!(!b.touches_point(Coordinate::wgs84(34.2, 119.05).unwrap()));
        // A point on the edge counts: routing must not drop points on shared grid edges.
        assert!(b.touches_point(Coordinate::wgs84(34.0, 119.05).unwrap()));
        let multi = Boundary::from_geojson(
            r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,3],[2,2]]]]}"#,
        )
        .unwrap();
        assert!(multi.touches_point(Coordinate::wgs84(2.5, 2.5).unwrap()));
        assert_eq!(multi.bbox(), [0.0, 0.0, 3.0, 3.0]);
    }

    #[test]
    fn geojson_round_trips() {
        let b = rect(119.0, 34.0, 119.1, 34.1);
        let again = Boundary::from_geojson(&b.to_geojson_string()).unwrap();
        assert_eq!(b, again);
        assert_eq!(b.to_geojson()["type"], "MultiPolygon");
    }

    #[test]
    fn rejects_bad_shapes() {
        for raw in [
            "not json",
            r#"{"type":"Point","coordinates":[119.0,34.0]}"#,
            r#"{"type":"MultiPolygon","coordinates":[]}"#,
            // zero area
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[2,0],[0,0]]]}"#,
            // out of range
            r#"{"type":"Polygon","coordinates":[[[0,0],[200,0],[200,1],[0,1],[0,0]]]}"#,
            // bow-tie: self-intersecting
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}"#,
        ] {
            let err = Boundary::from_geojson(raw).unwrap_err();
            assert_eq!(err.field, "boundary", "{raw}");
        }
    }

    fn community(id: i64, b: Boundary) -> Community {
        Community {
            id: CommunityId::new(id).unwrap(),
            street_id: StreetId::new(1).unwrap(),
            code: Code::parse("C1").unwrap(),
            name: Name::parse("文昌社区").unwrap(),
            boundary: b,
        }
    }

    fn grid(id: i64, community: i64, b: Boundary) -> Grid {
        Grid {
            id: GridId::new(id).unwrap(),
            community_id: CommunityId::new(community).unwrap(),
            code: Code::parse("G1").unwrap(),
            name: Name::parse("第一网格").unwrap(),
            boundary: b,
        }
    }

    #[test]
    fn a_grid_lies_inside_its_one_community() {
        let c = community(1, rect(0.0, 0.0, 2.0, 2.0));
        // Sharing the community's edge is fine.
        assert_eq!(
            grid(1, 1, rect(0.0, 0.0, 1.0, 1.0)).check_within(&c),
            Ok(())
        );
        assert!(matches!(
            grid(2, 1, rect(1.5, 1.5, 2.5, 2.5)).check_within(&c),
            Err(GeographyError::OutsideCommunity { .. })
        ));
        assert!(matches!(
            grid(3, 9, rect(0.0, 0.0, 1.0, 1.0)).check_within(&c),
            Err(GeographyError::WrongCommunity { .. })
        ));
    }

    #[test]
    fn case_prefix_is_short_upper_case() {
        assert_eq!(CasePrefix::parse("HZ").unwrap().as_str(), "HZ");
        assert!(CasePrefix::parse("hz").is_err());
        assert!(CasePrefix::parse("").is_err());
        assert!(CasePrefix::parse("TOOLONG").is_err());
        assert!(CasePrefix::parse("H-Z").is_err());
    }

    #[test]
    fn interior_point_is_inside() {
        let b = rect(119.0, 34.0, 119.1, 34.1);
        assert!(b.touches_point(b.interior_point().unwrap()));
    }
}
