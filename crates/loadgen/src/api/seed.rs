//! The benchmark's own database: cases seeded in bulk over the demo city with
//! `INSERT … SELECT generate_series`, then `VACUUM ANALYZE`.

use anyhow::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

// ---- the database ----------------------------------------------------------------------------

pub(crate) async fn exec(db: &impl ConnectionTrait, sql: &str) -> anyhow::Result<u64> {
    Ok(db
        .execute_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .with_context(|| format!("running {}", sql.lines().next().unwrap_or(sql)))?
        .rows_affected())
}

pub(super) async fn ids(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<i64>> {
    let rows = db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .with_context(|| format!("running {sql}"))?;
    rows.iter()
        .map(|r| r.try_get_by_index::<i64>(0).map_err(Into::into))
        .collect()
}

pub(crate) async fn one_id(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    ids(db, sql)
        .await?
        .first()
        .copied()
        .with_context(|| format!("no row for {sql}"))
}

/// `n` cases over the demo city, ids in the order they were reported over two years: the
/// newest 5% still open and spread over every stage (with deadlines from long overdue to three
/// days ahead), the rest closed or (one in twenty) rejected. Every category, grid, priority and
/// source; assigned to the officer stationed in the community where there is one. Each case has
/// its report event, and those past `reported` a second event.
pub(crate) async fn seed_cases(db: &DatabaseConnection, n: u64) -> anyhow::Result<()> {
    let open_from = n - n / 20;
    let sql = format!(
        "INSERT INTO cases (number, category_id, case_type, priority, source, status, description,
            address, lat, lon, grid_id, community_id, street_id, district_id, reporter_id,
            reporter_phone, suggested_officer_id, assignee_id, stage, stage_due, stage_started_at,
            version, created_at, updated_at, closed_at)
         SELECT 'BX-' || to_char(s.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
                    || lpad(s.g::text, 7, '0'),
            s.category_id, s.case_type, s.priority, s.source, s.status,
            '压测案件 ' || s.g || '：小区门口有人占道经营，影响通行。', '压测地址 ' || (s.g % 500),
            s.lat, s.lon, s.grid_id, s.community_id, s.street_id, s.district_id,
            CASE WHEN s.h % 3 = 0 THEN s.zhang END,
            CASE WHEN s.h % 3 <> 0 THEN '139' || lpad((s.g % 100000000)::text, 8, '0') END,
            s.officer,
            CASE WHEN s.status IN ('dispatched','in_progress','resolved','verified','closed')
                 THEN s.officer END,
            s.stage,
            CASE WHEN s.stage IS NOT NULL THEN s.created_at + (s.h % 96) * interval '1 hour' END,
            CASE WHEN s.stage IS NOT NULL THEN s.created_at END,
            CASE WHEN s.status = 'reported' THEN 1 ELSE 5 END,
            s.created_at, s.created_at,
            CASE WHEN s.status IN ('closed','rejected')
                 THEN s.created_at + (1 + s.h % 5) * interval '1 day' END
         FROM (
            SELECT r.g, r.h, r.created_at, c.id AS category_id, c.case_type,
                (ARRAY['normal','normal','normal','high','urgent','low'])[1 + (r.g * 40503) % 6]
                    AS priority,
                (ARRAY['resident_app','resident_app','hotline_12345','officer_patrol','partner'])
                    [1 + (r.g * 7) % 5] AS source,
                r.status,
                CASE r.status WHEN 'reported' THEN 'accept' WHEN 'accepted' THEN 'dispatch'
                    WHEN 'dispatched' THEN 'sign' WHEN 'in_progress' THEN 'resolve'
                    WHEN 'resolved' THEN 'verify' END AS stage,
                34.585 + 0.012 * ((r.h % 1000) / 1000.0) AS lat,
                119.140 + 0.016 * (((r.h / 1000) % 1000) / 1000.0) AS lon,
                gr.id AS grid_id, gr.community_id, co.street_id, st.district_id,
                (SELECT officer_id FROM stationing sn WHERE sn.community_id = gr.community_id
                 ORDER BY sn.id LIMIT 1) AS officer,
                (SELECT id FROM users WHERE username = '13800001234') AS zhang
            FROM (
                SELECT g, (g * 2654435761) % 4294967296 AS h,
                    now() - ({n} - g) * (interval '730 days' / {n}) AS created_at,
                    CASE WHEN g > {open_from} THEN
                        (ARRAY['reported','accepted','dispatched','in_progress','in_progress',
                               'resolved','verified'])[1 + (g * 2654435761 / 7) % 7]
                    WHEN (g * 2654435761) % 20 = 0 THEN 'rejected'
                    ELSE 'closed' END AS status
                FROM generate_series(1::bigint, {n}) g
            ) r
            JOIN (SELECT id, case_type, row_number() OVER (ORDER BY id) - 1 AS k
                  FROM case_category) c ON c.k = r.g % (SELECT count(*) FROM case_category)
            JOIN (SELECT id, community_id, row_number() OVER (ORDER BY id) - 1 AS k FROM grid) gr
              ON gr.k = (r.g / 7) % (SELECT count(*) FROM grid)
            JOIN community co ON co.id = gr.community_id
            JOIN street st ON st.id = co.street_id
         ) s"
    );
    exec(db, &sql).await?;
    // The notifier's plan of every running deadline: look at it when it falls due.
    exec(
        db,
        "INSERT INTO case_sla (case_id, check_at)
         SELECT id, stage_due FROM cases WHERE number LIKE 'BX-%' AND stage_due IS NOT NULL",
    )
    .await?;
    exec(
        db,
        "INSERT INTO case_event (case_id, at, actor_id, actor_role, action, from_status,
            to_status, data)
         SELECT id, created_at, reporter_id,
            CASE WHEN reporter_id IS NULL THEN 'anonymous' ELSE 'resident' END, 'report', NULL,
            'reported', '{\"source\":\"' || source || '\"}'
         FROM cases WHERE number LIKE 'BX-%'",
    )
    .await?;
    exec(
        db,
        "INSERT INTO case_event (case_id, at, actor_role, action, from_status, to_status, note)
         SELECT id, created_at + interval '1 hour', 'dispatcher',
            CASE status WHEN 'rejected' THEN 'reject' ELSE 'accept' END, 'reported', status,
            '压测：批量推进'
         FROM cases WHERE number LIKE 'BX-%' AND status <> 'reported'",
    )
    .await?;
    // A database that has been running for two years has been vacuumed by autovacuum: its
    // visibility map is set, and index-only scans skip the table. A bulk load has neither until
    // autovacuum comes round, so do now what it would do.
    exec(db, "VACUUM ANALYZE").await?;
    Ok(())
}
