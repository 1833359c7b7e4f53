//! The figures per group (按期结案率, on-time handling, 返工率, extensions, satisfaction, stage
//! times) over `case_fact`.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use whistle_domain::analytics::{GroupBy, mean, percentile};
use whistle_domain::calendar::Stage;

use super::{Query, Sql, int, real};
use crate::error::RepoError;

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
