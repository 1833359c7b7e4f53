//! Hot spots: case counts per lattice cell or per grid.

use sea_orm::{ConnectionTrait, Statement};

use super::{Query, Sql, int, real};
use crate::error::RepoError;

// ---- hot spots ------------------------------------------------------------------------------

/// The middle latitude of the city's grids: the reference of the hot-spot lattice (0 with no
/// grids).
pub async fn reference_latitude(db: &impl ConnectionTrait) -> Result<f64, RepoError> {
    let sql = Statement::from_string(
        db.get_database_backend(),
        "SELECT CAST(MIN(min_lat) AS DOUBLE PRECISION) AS lo, CAST(MAX(max_lat) AS DOUBLE PRECISION) AS hi FROM grid",
    );
    let row = db.query_one_raw(sql).await?;
    Ok(match row {
        Some(r) => match (real(&r, "lo")?, real(&r, "hi")?) {
            (Some(lo), Some(hi)) => (lo + hi) / 2.0,
            _ => 0.0,
        },
        None => 0.0,
    })
}

/// A lattice cell with its number of cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellCount {
    pub row: i64,
    pub col: i64,
    pub cases: u64,
}

/// The cohort counted per lattice cell (`dlat` × `dlon` degrees), densest first, at most
/// `limit` cells.
pub async fn cell_counts(
    db: &impl ConnectionTrait,
    q: &Query,
    dlat: f64,
    dlon: f64,
    limit: u64,
) -> Result<Vec<CellCount>, RepoError> {
    let mut sql = Sql::new(db.get_database_backend());
    let i = sql.floor_div("c.lat", dlat);
    let j = sql.floor_div("c.lon", dlon);
    sql.push(&format!(
        "SELECT {i} AS i, {j} AS j, COUNT(*) AS n FROM cases c"
    ));
    sql.cohort(q);
    let lim = sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.push(&format!(" GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT {lim}"));
    db.query_all_raw(sql.statement())
        .await?
        .iter()
        .map(|r| {
            Ok(CellCount {
                row: r.try_get("", "i")?,
                col: r.try_get("", "j")?,
                cases: int(r, "n")?,
            })
        })
        .collect()
}

/// A grid with its number of cases and its boundary (GeoJSON text).
#[derive(Debug, Clone, PartialEq)]
pub struct GridCount {
    pub grid_id: i64,
    pub name: String,
    pub community: String,
    pub boundary: String,
    pub cases: u64,
}

/// The cohort counted per grid (grids without cases are left out).
pub async fn grid_counts(
    db: &impl ConnectionTrait,
    q: &Query,
) -> Result<Vec<GridCount>, RepoError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT g.id AS id, g.name AS name, m.name AS community, g.boundary AS boundary, t.n AS n \
         FROM (SELECT c.grid_id AS grid_id, COUNT(*) AS n FROM cases c",
    );
    sql.cohort(q);
    sql.push(
        " GROUP BY c.grid_id) t JOIN grid g ON g.id = t.grid_id \
         JOIN community m ON m.id = g.community_id ORDER BY t.n DESC, g.id",
    );
    db.query_all_raw(sql.statement())
        .await?
        .iter()
        .map(|r| {
            Ok(GridCount {
                grid_id: r.try_get("", "id")?,
                name: r.try_get("", "name")?,
                community: r.try_get("", "community")?,
                boundary: r.try_get("", "boundary")?,
                cases: int(r, "n")?,
            })
        })
        .collect()
}
