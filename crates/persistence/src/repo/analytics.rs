//! The dashboards' queries (issue 8): figures per group, hot spots, repeat locations and
//! merchants, recurring categories, officers' workload and the 721 mix.
//!
//! Every figure is about the **cohort** of the period: the cases reported (`created_at`) in
//! `[from, to)` inside the scope, as they stand at `now`. The counting is done by the database:
//! figures and workload `GROUP BY` over `case_fact` alone (one row per case with copies of the
//! columns counted, kept by triggers in the same transaction as each change, see migration
//! `000013`), hot spots and problem tracing over `cases`; the few things SQL cannot do on both databases (the
//! 90th percentile on SQLite, single-linkage clustering, week-over-week runs) are done with the
//! pure functions of `whistle_domain::analytics`.
//!
//! The SQL is written by hand with one builder ([`Sql`]) because it differs between the two
//! databases in small places (date arithmetic, `FLOOR`, `percentile_cont`); values are always
//! bound, never spliced, except the city's UTC offset, an integer from configuration.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use whistle_domain::analytics::{GroupBy, Period, longest_weekly_run, mean, percentile};
use whistle_domain::calendar::Stage;
use whistle_domain::worklog::{Class721, Mix};

use crate::error::RepoError;

// ---- scope ----------------------------------------------------------------------------------

/// Which cases (and work logs) a query looks at: the caller's areas (`None` = the whole city),
/// narrowed by the filters the caller asked for. Filters are checked against the caller's
/// jurisdiction before they get here.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `None`: everything. `Some`: inside any of these areas.
    pub areas: Option<Areas>,
    pub district: Option<i64>,
    pub street: Option<i64>,
    pub community: Option<i64>,
    pub grid: Option<i64>,
    pub category: Option<i64>,
}

/// Areas at three levels; a row is inside when it is inside any one of them. Empty matches
/// nothing.
#[derive(Debug, Clone, Default)]
pub struct Areas {
    pub districts: Vec<i64>,
    pub streets: Vec<i64>,
    pub communities: Vec<i64>,
}

/// The query of one dashboard: a period, a scope and the instant figures are "as of".
#[derive(Debug, Clone)]
pub struct Query {
    pub period: Period,
    pub scope: Scope,
    pub now: DateTime<Utc>,
    /// The city's offset from UTC in minutes (days, weeks and months are local).
    pub utc_offset_minutes: i32,
}

/// A statement under construction: text plus bound values, with the backend's placeholders.
struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    fn pg(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// Binds a value and returns its placeholder.
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        if self.pg() {
            format!("${}", self.values.len())
        } else {
            "?".to_owned()
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }

    /// `WHERE` for the cohort of `q` on table alias `c` (`cases`).
    fn cohort(&mut self, q: &Query) {
        self.cohort_of(q, "c");
    }

    /// `WHERE` for the cohort of `q` on `cases` or `case_fact` (same column names).
    fn cohort_of(&mut self, q: &Query, alias: &str) {
        let from = self.bind(q.period.from().fixed_offset());
        let to = self.bind(q.period.to().fixed_offset());
        self.text.push_str(&format!(
            " WHERE {alias}.created_at >= {from} AND {alias}.created_at < {to}"
        ));
        self.scope(&q.scope, alias, true);
    }

    /// The scope's conditions on a table alias; `cases` has a category, work logs do not.
    fn scope(&mut self, s: &Scope, alias: &str, has_category: bool) {
        if let Some(areas) = &s.areas {
            let mut any: Vec<String> = Vec::new();
            for (col, ids) in [
                ("district_id", &areas.districts),
                ("street_id", &areas.streets),
                ("community_id", &areas.communities),
            ] {
                if !ids.is_empty() {
                    let marks: Vec<String> = ids.iter().map(|id| self.bind(*id)).collect();
                    any.push(format!("{alias}.{col} IN ({})", marks.join(", ")));
                }
            }
            // An empty set of areas matches nothing, not everything.
            any.push("1 = 0".to_owned());
            self.text.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        let eq = |col: &str, v: Option<i64>, this: &mut Sql| {
            if let Some(v) = v {
                let m = this.bind(v);
                this.text.push_str(&format!(" AND {alias}.{col} = {m}"));
            }
        };
        eq("district_id", s.district, self);
        eq("street_id", s.street, self);
        eq("community_id", s.community, self);
        eq("grid_id", s.grid, self);
        if has_category {
            eq("category_id", s.category, self);
        }
    }

    /// The local calendar key of `col` for a time grouping.
    fn time_key(&self, col: &str, g: GroupBy, offset_minutes: i32) -> String {
        if self.pg() {
            let local =
                format!("(({col}) AT TIME ZONE 'UTC' + INTERVAL '{offset_minutes} minutes')");
            match g {
                GroupBy::Week => format!("to_char(date_trunc('week', {local}), 'YYYY-MM-DD')"),
                GroupBy::Month => format!("to_char({local}, 'YYYY-MM')"),
                _ => format!("to_char({local}, 'YYYY-MM-DD')"),
            }
        } else {
            let shift = format!("'{offset_minutes:+} minutes'");
            match g {
                // Back six days, then forward to a Monday: the Monday on or before the day.
                GroupBy::Week => format!("date({col}, {shift}, '-6 days', 'weekday 1')"),
                GroupBy::Month => format!("strftime('%Y-%m', {col}, {shift})"),
                _ => format!("date({col}, {shift})"),
            }
        }
    }

    /// `FLOOR(expr / step)` as an integer on both databases (SQLite may lack math functions).
    fn floor_div(&mut self, expr: &str, step: f64) -> String {
        if self.pg() {
            let s = self.bind(step);
            format!("CAST(FLOOR({expr} / {s}) AS BIGINT)")
        } else {
            let (a, b, c) = (self.bind(step), self.bind(step), self.bind(step));
            format!(
                "(CAST({expr} / {a} AS INTEGER) - ({expr} / {b} < CAST({expr} / {c} AS INTEGER)))"
            )
        }
    }
}

fn int(row: &QueryResult, col: &str) -> Result<u64, RepoError> {
    let v: Option<i64> = row.try_get("", col)?;
    Ok(u64::try_from(v.unwrap_or(0)).unwrap_or(0))
}

fn real(row: &QueryResult, col: &str) -> Result<Option<f64>, RepoError> {
    Ok(row.try_get::<Option<f64>>("", col)?)
}

// ---- figures --------------------------------------------------------------------------------

/// Time spent in one stage by the cohort's cases that went through it (a case's rounds summed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageTime {
    pub stage: Stage,
    /// Cases that completed the stage at least once.
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub p90_ms: Option<f64>,
}

/// The counts of one group; rates are derived from them (see `docs/ARCHITECTURE.md`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    pub reported: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub closed: u64,
    pub open: u64,
    pub overdue: u64,
    pub closed_on_time: u64,
    pub resolved: u64,
    pub resolved_on_time: u64,
    pub reworked: u64,
    pub extension_requested: u64,
    pub escalations: u64,
    pub escalated_cases: u64,
    pub rated: u64,
    pub mean_rating: Option<f64>,
    pub satisfied: u64,
    pub stages: Vec<StageTime>,
}

/// The key of a group: an id (district, …, officer; `None` for unassigned cases) or a local
/// date text (day, week, month).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    Id(Option<i64>),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: GroupKey,
    pub label: Option<String>,
    pub figures: Figures,
}

/// The id column and the name behind it for a grouping by place, category or officer.
fn id_key(g: GroupBy) -> (&'static str, &'static str, &'static str) {
    match g {
        GroupBy::District => (
            "f.district_id",
            "lbl.name",
            " LEFT JOIN district lbl ON lbl.id = f.district_id",
        ),
        GroupBy::Street => (
            "f.street_id",
            "lbl.name",
            " LEFT JOIN street lbl ON lbl.id = f.street_id",
        ),
        GroupBy::Community => (
            "f.community_id",
            "lbl.name",
            " LEFT JOIN community lbl ON lbl.id = f.community_id",
        ),
        GroupBy::Grid => (
            "f.grid_id",
            "lbl.name",
            " LEFT JOIN grid lbl ON lbl.id = f.grid_id",
        ),
        GroupBy::Category => (
            "f.category_id",
            "lbl.name_zh",
            " LEFT JOIN case_category lbl ON lbl.id = f.category_id",
        ),
        _ => (
            "f.assignee_id",
            "lbl.display_name",
            " LEFT JOIN users lbl ON lbl.id = f.assignee_id",
        ),
    }
}

/// `SELECT` of the key (and label) of a grouping; `GROUP BY` text; joins.
fn grouping(sql: &Sql, g: Option<GroupBy>, offset: i32) -> (String, String, String) {
    match g {
        None => (String::new(), String::new(), String::new()),
        Some(g) if g.is_time() => (
            format!("{} AS k, ", sql.time_key("f.created_at", g, offset)),
            " GROUP BY 1 ORDER BY 1".to_owned(),
            String::new(),
        ),
        Some(g) => {
            let (k, l, join) = id_key(g);
            (
                format!("{k} AS k, {l} AS l, "),
                " GROUP BY 1, 2 ORDER BY 1".to_owned(),
                join.to_owned(),
            )
        }
    }
}

fn read_key(
    row: &QueryResult,
    g: Option<GroupBy>,
) -> Result<(GroupKey, Option<String>), RepoError> {
    Ok(match g {
        None => (GroupKey::Id(None), None),
        Some(g) if g.is_time() => {
            let k: Option<String> = row.try_get("", "k")?;
            let k = k.unwrap_or_default();
            (GroupKey::Text(k.clone()), Some(k))
        }
        Some(_) => (GroupKey::Id(row.try_get("", "k")?), row.try_get("", "l")?),
    })
}

const FIGURES_SELECT: &str = "COUNT(*) AS reported, \
    SUM(CASE WHEN f.status NOT IN ('reported', 'rejected') THEN 1 ELSE 0 END) AS accepted, \
    SUM(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END) AS rejected, \
    SUM(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END) AS closed, \
    SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END) AS open, \
    SUM(CASE WHEN f.status = 'closed' AND f.late_stages = 0 THEN 1 ELSE 0 END) AS closed_on_time, \
    SUM(CASE WHEN f.resolves > 0 THEN 1 ELSE 0 END) AS resolved, \
    SUM(CASE WHEN f.resolves > 0 AND f.late_resolves = 0 THEN 1 ELSE 0 END) AS resolved_on_time, \
    SUM(CASE WHEN f.reworks > 0 THEN 1 ELSE 0 END) AS reworked, \
    SUM(CASE WHEN f.extension_requests > 0 THEN 1 ELSE 0 END) AS extension_requested, \
    SUM(f.escalations) AS escalations, \
    SUM(CASE WHEN f.escalations > 0 THEN 1 ELSE 0 END) AS escalated_cases, \
    COUNT(f.rating) AS rated, \
    CAST(AVG(f.rating) AS DOUBLE PRECISION) AS mean_rating, \
    SUM(CASE WHEN f.rating >= 4 THEN 1 ELSE 0 END) AS satisfied";

fn stage_columns(pg: bool) -> String {
    Stage::ALL
        .iter()
        .map(|s| {
            let s = s.as_str();
            let mut cols = format!(
                ", COUNT(f.{s}_ms) AS {s}_n, CAST(AVG(f.{s}_ms) AS DOUBLE PRECISION) AS {s}_mean"
            );
            if pg {
                cols.push_str(&format!(
                    ", CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.{s}_ms) AS DOUBLE PRECISION) AS {s}_p90"
                ));
            }
            cols
        })
        .collect()
}

fn read_figures(row: &QueryResult, pg: bool) -> Result<Figures, RepoError> {
    let mut stages = Vec::new();
    for s in Stage::ALL {
        let n = s.as_str();
        stages.push(StageTime {
            stage: s,
            count: int(row, &format!("{n}_n"))?,
            mean_ms: real(row, &format!("{n}_mean"))?,
            p90_ms: if pg {
                real(row, &format!("{n}_p90"))?
            } else {
                None
            },
        });
    }
    Ok(Figures {
        reported: int(row, "reported")?,
        accepted: int(row, "accepted")?,
        rejected: int(row, "rejected")?,
        closed: int(row, "closed")?,
        open: int(row, "open")?,
        overdue: int(row, "overdue")?,
        closed_on_time: int(row, "closed_on_time")?,
        resolved: int(row, "resolved")?,
        resolved_on_time: int(row, "resolved_on_time")?,
        reworked: int(row, "reworked")?,
        extension_requested: int(row, "extension_requested")?,
        escalations: int(row, "escalations")?,
        escalated_cases: int(row, "escalated_cases")?,
        rated: int(row, "rated")?,
        mean_rating: real(row, "mean_rating")?,
        satisfied: int(row, "satisfied")?,
        stages,
    })
}

/// The figures of the cohort, per group (`group_by`) and in total.
pub async fn figures(
    db: &impl ConnectionTrait,
    q: &Query,
    group_by: Option<GroupBy>,
) -> Result<(Vec<Group>, Figures), RepoError> {
    let backend = db.get_database_backend();
    let pg = backend == DbBackend::Postgres;
    let run = |g: Option<GroupBy>| {
        let mut sql = Sql::new(backend);
        let (key, group, join) = grouping(&sql, g, q.utc_offset_minutes);
        let now = sql.bind(q.now.fixed_offset());
        sql.push(&format!(
            "SELECT {key}{FIGURES_SELECT}, \
             SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') AND f.stage_due < {now} THEN 1 ELSE 0 END) AS overdue{} \
             FROM case_fact f{join}",
            stage_columns(pg)
        ));
        sql.cohort_of(q, "f");
        sql.push(&group);
        sql.statement()
    };
    let mut groups = Vec::new();
    if group_by.is_some() {
        for row in db.query_all_raw(run(group_by)).await? {
            let (key, label) = read_key(&row, group_by)?;
            groups.push(Group {
                key,
                label,
                figures: read_figures(&row, pg)?,
            });
        }
    }
    let mut total = match db.query_one_raw(run(None)).await? {
        Some(row) => read_figures(&row, pg)?,
        None => Figures::default(),
    };
    if !pg {
        // SQLite has no percentile_cont: the stage times of the cohort, in Rust.
        let mut sql = Sql::new(backend);
        let (key, _, join) = grouping(&sql, group_by, q.utc_offset_minutes);
        let key = if group_by.is_some() {
            key
        } else {
            "NULL AS k, NULL AS l, ".to_owned()
        };
        let ms: Vec<String> = Stage::ALL
            .iter()
            .map(|s| format!("f.{}_ms", s.as_str()))
            .collect();
        sql.push(&format!(
            "SELECT {key}{} FROM case_fact f{join}",
            ms.join(", ")
        ));
        sql.cohort_of(q, "f");
        let mut by_group: HashMap<GroupKey, [Vec<f64>; 5]> = HashMap::new();
        let mut all: [Vec<f64>; 5] = Default::default();
        for row in db.query_all_raw(sql.statement()).await? {
            let (k, _) = read_key(&row, group_by)?;
            let slot = by_group.entry(k).or_default();
            for (i, s) in Stage::ALL.iter().enumerate() {
                let v: Option<i64> = row.try_get("", &format!("{}_ms", s.as_str()))?;
                if let Some(v) = v {
                    slot[i].push(v as f64);
                    all[i].push(v as f64);
                }
            }
        }
        let fill = |f: &mut Figures, values: &[Vec<f64>; 5]| {
            for (i, st) in f.stages.iter_mut().enumerate() {
                st.p90_ms = percentile(&values[i], 0.9);
                st.mean_ms = st.mean_ms.or_else(|| mean(&values[i]));
            }
        };
        fill(&mut total, &all);
        for g in &mut groups {
            if let Some(values) = by_group.get(&g.key) {
                fill(&mut g.figures, values);
            }
        }
    }
    Ok((groups, total))
}

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

// ---- workload -------------------------------------------------------------------------------

/// One officer's cases in the cohort and work logged in the period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workload {
    pub officer_id: i64,
    pub name: Option<String>,
    /// Cohort cases assigned to the officer now.
    pub assigned: u64,
    pub open: u64,
    pub overdue: u64,
    pub closed: u64,
    pub closed_on_time: u64,
    pub reworked: u64,
    /// Work logs started in the period, by 721 class.
    pub mix: Mix,
}

/// Per officer: cohort cases assigned to them now and the work they logged in the period (in
/// the scope's areas). Officers with either appear; ordered by officer id.
pub async fn workload(db: &impl ConnectionTrait, q: &Query) -> Result<Vec<Workload>, RepoError> {
    let backend = db.get_database_backend();
    let mut out: BTreeMap<i64, Workload> = BTreeMap::new();

    let mut sql = Sql::new(backend);
    let now = sql.bind(q.now.fixed_offset());
    sql.push(&format!(
        "SELECT f.assignee_id AS id, u.display_name AS name, COUNT(*) AS assigned, \
         SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END) AS open, \
         SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') AND f.stage_due < {now} THEN 1 ELSE 0 END) AS overdue, \
         SUM(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END) AS closed, \
         SUM(CASE WHEN f.status = 'closed' AND f.late_stages = 0 THEN 1 ELSE 0 END) AS closed_on_time, \
         SUM(CASE WHEN f.reworks > 0 THEN 1 ELSE 0 END) AS reworked \
         FROM case_fact f LEFT JOIN users u ON u.id = f.assignee_id"
    ));
    sql.cohort_of(q, "f");
    sql.push(" AND f.assignee_id IS NOT NULL GROUP BY 1, 2");
    for r in db.query_all_raw(sql.statement()).await? {
        let id: i64 = r.try_get("", "id")?;
        let w = out.entry(id).or_default();
        w.officer_id = id;
        w.name = r.try_get("", "name")?;
        w.assigned = int(&r, "assigned")?;
        w.open = int(&r, "open")?;
        w.overdue = int(&r, "overdue")?;
        w.closed = int(&r, "closed")?;
        w.closed_on_time = int(&r, "closed_on_time")?;
        w.reworked = int(&r, "reworked")?;
    }

    let mut sql = Sql::new(backend);
    let from = sql.bind(q.period.from().fixed_offset());
    let to = sql.bind(q.period.to().fixed_offset());
    sql.push(&format!(
        "SELECT w.officer_id AS id, u.display_name AS name, w.class AS class, COUNT(*) AS n, \
         CAST(SUM(w.minutes) AS BIGINT) AS minutes \
         FROM work_log w LEFT JOIN users u ON u.id = w.officer_id \
         WHERE w.started_at >= {from} AND w.started_at < {to}"
    ));
    sql.scope(&q.scope, "w", false);
    sql.push(" GROUP BY 1, 2, 3");
    let mut rows: BTreeMap<i64, Vec<(Class721, u64, u64)>> = BTreeMap::new();
    for r in db.query_all_raw(sql.statement()).await? {
        let id: i64 = r.try_get("", "id")?;
        let class: String = r.try_get("", "class")?;
        let class: Class721 = class
            .parse()
            .map_err(crate::error::corrupt("work_log", 0))?;
        let w = out.entry(id).or_default();
        w.officer_id = id;
        if w.name.is_none() {
            w.name = r.try_get("", "name")?;
        }
        rows.entry(id)
            .or_default()
            .push((class, int(&r, "n")?, int(&r, "minutes")?));
    }
    for (id, r) in rows {
        if let Some(w) = out.get_mut(&id) {
            w.mix = Mix::from_rows(r);
        }
    }
    Ok(out.into_values().collect())
}

// ---- tests' support ---------------------------------------------------------------------------

/// Moves a case's report time and running deadline, as if it had been reported earlier or its
/// deadline had passed. Tests only: production timestamps are written by the actions.
#[cfg(feature = "testing")]
pub async fn set_case_times(
    db: &impl ConnectionTrait,
    case_id: i64,
    created_at: Option<DateTime<Utc>>,
    stage_due: Option<DateTime<Utc>>,
) -> Result<(), RepoError> {
    let backend = db.get_database_backend();
    for (col, v) in [("created_at", created_at), ("stage_due", stage_due)] {
        if let Some(v) = v {
            let mut sql = Sql::new(backend);
            let at = sql.bind(v.fixed_offset());
            let id = sql.bind(case_id);
            sql.push(&format!("UPDATE cases SET {col} = {at} WHERE id = {id}"));
            db.execute_raw(sql.statement()).await?;
        }
    }
    Ok(())
}

/// Links a case to a merchant, as an inspection that opens a case does. Tests only.
#[cfg(feature = "testing")]
pub async fn set_case_merchant(
    db: &impl ConnectionTrait,
    case_id: i64,
    merchant_id: i64,
) -> Result<(), RepoError> {
    let mut sql = Sql::new(db.get_database_backend());
    let m = sql.bind(merchant_id);
    let id = sql.bind(case_id);
    sql.push(&format!(
        "UPDATE cases SET merchant_id = {m} WHERE id = {id}"
    ));
    db.execute_raw(sql.statement()).await?;
    Ok(())
}
