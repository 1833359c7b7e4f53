//! Problem tracing (溯源): repeat locations, repeat merchants and recurring categories.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use whistle_domain::analytics::{GroupBy, longest_weekly_run};

use super::{Query, Sql, int};
use crate::error::RepoError;

// ---- problem tracing (溯源) ------------------------------------------------------------------

/// A case as a point, for repeat locations.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePoint {
    pub id: i64,
    pub number: String,
    pub category_id: i64,
    pub category: String,
    pub lat: f64,
    pub lon: f64,
    pub created_at: DateTime<Utc>,
}

/// The cohort's points, oldest first, at most `limit` (the caller asks for one more than it
/// accepts, to know when there are too many).
pub async fn case_points(
    db: &impl ConnectionTrait,
    q: &Query,
    limit: u64,
) -> Result<Vec<CasePoint>, RepoError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT c.id AS id, c.number AS number, c.category_id AS category_id, k.name_zh AS category, \
         c.lat AS lat, c.lon AS lon, c.created_at AS created_at \
         FROM cases c JOIN case_category k ON k.id = c.category_id",
    );
    sql.cohort(q);
    let lim = sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.push(&format!(" ORDER BY c.created_at, c.id LIMIT {lim}"));
    db.query_all_raw(sql.statement())
        .await?
        .iter()
        .map(|r| {
            let at: DateTime<FixedOffset> = r.try_get("", "created_at")?;
            Ok(CasePoint {
                id: r.try_get("", "id")?,
                number: r.try_get("", "number")?,
                category_id: r.try_get("", "category_id")?,
                category: r.try_get("", "category")?,
                lat: r.try_get("", "lat")?,
                lon: r.try_get("", "lon")?,
                created_at: at.with_timezone(&Utc),
            })
        })
        .collect()
}

/// A merchant that cases were reported against.
#[derive(Debug, Clone, PartialEq)]
pub struct MerchantCount {
    pub merchant_id: i64,
    pub name: Option<String>,
    pub cases: u64,
    pub open: u64,
    /// How many different categories.
    pub categories: u64,
}

/// Merchants with at least `min_cases` cases in the cohort, most first.
pub async fn repeat_merchants(
    db: &impl ConnectionTrait,
    q: &Query,
    min_cases: u64,
    limit: u64,
) -> Result<Vec<MerchantCount>, RepoError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT c.merchant_id AS id, m.name AS name, COUNT(*) AS n, \
         SUM(CASE WHEN c.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END) AS open, \
         COUNT(DISTINCT c.category_id) AS kinds \
         FROM cases c LEFT JOIN merchant m ON m.id = c.merchant_id",
    );
    sql.cohort(q);
    let min = sql.bind(i64::try_from(min_cases).unwrap_or(i64::MAX));
    let lim = sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.push(&format!(
        " AND c.merchant_id IS NOT NULL GROUP BY c.merchant_id, m.name \
         HAVING COUNT(*) >= {min} ORDER BY 3 DESC, 1 LIMIT {lim}"
    ));
    db.query_all_raw(sql.statement())
        .await?
        .iter()
        .map(|r| {
            Ok(MerchantCount {
                merchant_id: r.try_get("", "id")?,
                name: r.try_get("", "name")?,
                cases: int(r, "n")?,
                open: int(r, "open")?,
                categories: int(r, "kinds")?,
            })
        })
        .collect()
}

/// A category that came back in a grid week after week.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurrence {
    pub grid_id: i64,
    pub grid: String,
    pub category_id: i64,
    pub category: String,
    /// Every local week (its Monday) with cases, and how many.
    pub weeks: Vec<(NaiveDate, u64)>,
    /// The longest run of consecutive weeks: its first Monday and its length.
    pub run_start: NaiveDate,
    pub run_weeks: u32,
}

/// A grid's name, a category's name, and the pair's weeks with their counts.
type Named = (String, String, Vec<(NaiveDate, u64)>);

/// Grid × category pairs whose cases came in at least `min_weeks` consecutive weeks, longest
/// runs first.
pub async fn recurring(
    db: &impl ConnectionTrait,
    q: &Query,
    min_weeks: u32,
) -> Result<Vec<Recurrence>, RepoError> {
    let mut sql = Sql::new(db.get_database_backend());
    let week = sql.time_key("c.created_at", GroupBy::Week, q.utc_offset_minutes);
    sql.push(&format!(
        "SELECT c.grid_id AS g, gr.name AS gname, c.category_id AS k, k.name_zh AS kname, \
         {week} AS w, COUNT(*) AS n \
         FROM cases c JOIN grid gr ON gr.id = c.grid_id JOIN case_category k ON k.id = c.category_id"
    ));
    sql.cohort(q);
    sql.push(" GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 5");
    let mut pairs: BTreeMap<(i64, i64), Named> = BTreeMap::new();
    for r in db.query_all_raw(sql.statement()).await? {
        let w: String = r.try_get("", "w")?;
        let Ok(day) = NaiveDate::parse_from_str(&w, "%Y-%m-%d") else {
            continue;
        };
        let entry = pairs
            .entry((r.try_get("", "g")?, r.try_get("", "k")?))
            .or_insert_with(|| (String::new(), String::new(), Vec::new()));
        entry.0 = r.try_get("", "gname")?;
        entry.1 = r.try_get("", "kname")?;
        entry.2.push((day, int(&r, "n")?));
    }
    let mut out: Vec<Recurrence> = pairs
        .into_iter()
        .filter_map(|((grid_id, category_id), (grid, category, weeks))| {
            let days: Vec<NaiveDate> = weeks.iter().map(|(d, _)| *d).collect();
            let (run_start, run_weeks) = longest_weekly_run(&days)?;
            (run_weeks >= min_weeks).then_some(Recurrence {
                grid_id,
                grid,
                category_id,
                category,
                weeks,
                run_start,
                run_weeks,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.run_weeks
            .cmp(&a.run_weeks)
            .then(a.grid_id.cmp(&b.grid_id))
            .then(a.category_id.cmp(&b.category_id))
    });
    Ok(out)
}
