//! Routing a point to its grid: the first step of every case.
//!
//! Grids are held in an R-tree keyed by their bounding boxes. A lookup asks the tree for the few
//! boxes that contain the point, then runs the exact point-in-polygon test on those only, so the
//! cost grows with the logarithm of the number of grids, not with the number.

use rstar::{AABB, RTree, RTreeObject};

use crate::geography::{Boundary, Grid};
use crate::ids::{CommunityId, GridId};
use crate::location::Coordinate;

/// Where a point belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridHit {
    pub grid_id: GridId,
    pub community_id: CommunityId,
}

/// Why a point could not be routed.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LocateError {
    #[error("the point ({lat}, {lon}) is outside every grid of the city")]
    OutsideCity { lat: f64, lon: f64 },
}

#[derive(Debug)]
struct Entry {
    hit: GridHit,
    boundary: Boundary,
    envelope: AABB<[f64; 2]>,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// An immutable spatial index over the city's grids. Build a new one when grids change.
#[derive(Debug)]
pub struct GridIndex {
    tree: RTree<Entry>,
}

impl GridIndex {
    pub fn new(grids: impl IntoIterator<Item = Grid>) -> Self {
        let entries = grids
            .into_iter()
            .map(|g| {
                let [min_lon, min_lat, max_lon, max_lat] = g.boundary.bbox();
                Entry {
                    hit: GridHit {
                        grid_id: g.id,
                        community_id: g.community_id,
                    },
                    envelope: AABB::from_corners([min_lon, min_lat], [max_lon, max_lat]),
                    boundary: g.boundary,
                }
            })
            .collect();
        Self {
            tree: RTree::bulk_load(entries),
        }
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The one grid the point belongs to.
    ///
    /// A point on an edge shared by two grids belongs to both geometrically; it is given to the
    /// grid with the smaller id so that routing is deterministic and never drops such a point.
    pub fn locate(&self, point: Coordinate) -> Result<GridHit, LocateError> {
        let probe = AABB::from_point([point.lon(), point.lat()]);
        self.tree
            .locate_in_envelope_intersecting(&probe)
            .filter(|e| e.boundary.touches_point(point))
            .map(|e| e.hit)
            .min_by_key(|hit| hit.grid_id)
            .ok_or(LocateError::OutsideCity {
                lat: point.lat(),
                lon: point.lon(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geography::tests::rect;
    use crate::text::{Code, Name};
    use proptest::prelude::*;

    fn grid(id: i64, community: i64, b: Boundary) -> Grid {
        Grid {
            id: GridId::new(id).unwrap(),
            community_id: CommunityId::new(community).unwrap(),
            code: Code::parse(&format!("G{id}")).unwrap(),
            name: Name::parse(&format!("网格{id}")).unwrap(),
            boundary: b,
        }
    }

    /// A 10 × 10 checkerboard of 0.01° cells starting at (119.0, 34.0); cell (i, j) has id
    /// `i * 10 + j + 1` and belongs to community `i / 5 + 1`.
    fn board() -> GridIndex {
        let mut grids = Vec::new();
        for i in 0..10 {
            for j in 0..10 {
                let (x, y) = (119.0 + 0.01 * i as f64, 34.0 + 0.01 * j as f64);
                grids.push(grid(
                    i * 10 + j + 1,
                    i / 5 + 1,
                    rect(x, y, x + 0.01, y + 0.01),
                ));
            }
        }
        GridIndex::new(grids)
    }

    #[test]
    fn routes_a_point_to_the_cell_that_contains_it() {
        let index = board();
        assert_eq!(index.len(), 100);
        let hit = index
            .locate(Coordinate::wgs84(34.035, 119.075).unwrap())
            .unwrap();
        assert_eq!(hit.grid_id.get(), 7 * 10 + 3 + 1);
        assert_eq!(hit.community_id.get(), 2);
    }

    #[test]
    fn outside_every_grid_is_an_error() {
        let index = board();
        let err = index
            .locate(Coordinate::wgs84(35.0, 119.05).unwrap())
            .unwrap_err();
        assert!(matches!(err, LocateError::OutsideCity { .. }));
        assert!(
            GridIndex::new([])
                .locate(Coordinate::wgs84(0.0, 0.0).unwrap())
                .is_err()
        );
    }

    #[test]
    fn a_point_on_a_shared_edge_goes_to_the_smaller_id() {
        let index = board();
        // x = 119.01 is the edge between column 0 and column 1.
        let hit = index
            .locate(Coordinate::wgs84(34.005, 119.01).unwrap())
            .unwrap();
        assert_eq!(hit.grid_id.get(), 1);
    }

    #[test]
    fn holes_and_concave_shapes_are_respected() {
        // An L-shaped grid whose bounding box covers a point that is not in it, and a second grid
        // filling that corner: the R-tree returns both, the exact test picks the right one.
        let l_shape = Boundary::from_geojson(
            r#"{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,1],[1,1],[1,2],[0,2],[0,0]]]}"#,
        )
        .unwrap();
        let index = GridIndex::new([grid(1, 1, l_shape), grid(2, 1, rect(1.0, 1.0, 2.0, 2.0))]);
        let p = Coordinate::wgs84(1.5, 1.5).unwrap();
        assert_eq!(index.locate(p).unwrap().grid_id.get(), 2);
        let q = Coordinate::wgs84(0.5, 1.5).unwrap();
        assert_eq!(index.locate(q).unwrap().grid_id.get(), 1);
    }

    proptest! {
        #[test]
        fn every_point_on_the_board_routes_to_exactly_its_cell(
            fx in 0.0005f64..0.0995, fy in 0.0005f64..0.0995
        ) {
            let index = board();
            let (lon, lat) = (119.0 + fx, 34.0 + fy);
            let hit = index.locate(Coordinate::wgs84(lat, lon).unwrap()).unwrap();
            let (i, j) = ((fx / 0.01).floor() as i64, (fy / 0.01).floor() as i64);
            // Points within float noise of an edge may legitimately go to the lower-id neighbour.
            let near = |f: f64| { let r = (f / 0.01).fract(); !(1e-9..=1.0 - 1e-9).contains(&r) };
            let near_edge = near(fx) || near(fy);
            if !near_edge {
                prop_assert_eq!(hit.grid_id.get(), i * 10 + j + 1);
            }
        }
    }
}
