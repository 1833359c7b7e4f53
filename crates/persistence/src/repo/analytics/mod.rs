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

mod figures;
mod hotspots;
mod repeats;
mod workload;

pub use figures::*;
pub use hotspots::*;
pub use repeats::*;
pub use workload::*;

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, QueryResult, Statement, Value};
use whistle_domain::analytics::{GroupBy, Period};

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

// ---- tests' support ---------------------------------------------------------------------------

/// Moves a case's report time and running deadline, as if it had been reported earlier or its
/// deadline had passed. Tests only: production timestamps are written by the actions.
#[cfg(feature = "testing")]
pub async fn set_case_times(
    db: &impl sea_orm::ConnectionTrait,
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
    db: &impl sea_orm::ConnectionTrait,
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
