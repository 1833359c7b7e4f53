//! Officers' workload: cases in the cohort and the 721 mix of the work they logged.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;
use whistle_domain::worklog::{Class721, Mix};

use super::{Query, Sql, int};
use crate::error::RepoError;

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
