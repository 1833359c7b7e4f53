-- The analytics queries as whistle_persistence::repo::analytics writes them for PostgreSQL, over the
-- default period (the last 30 days), with EXPLAIN (ANALYZE, BUFFERS). See docs/PERFORMANCE.md.
--   psql -h 127.0.0.1 -U postgres -d whistle_perf -f docs/bench/analytics-queries.sql
SELECT now() AS now, now() - interval '30 days' AS from, now() AS to \gset
\echo '### Q1 summary, dispatcher (city), total'
EXPLAIN (ANALYZE, BUFFERS)
SELECT COUNT(*) AS reported,
  SUM(CASE WHEN f.status NOT IN ('reported', 'rejected') THEN 1 ELSE 0 END) AS accepted,
  SUM(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
  SUM(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END) AS closed,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END) AS open,
  SUM(CASE WHEN f.status = 'closed' AND f.late_stages = 0 THEN 1 ELSE 0 END) AS closed_on_time,
  SUM(CASE WHEN f.resolves > 0 THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN f.resolves > 0 AND f.late_resolves = 0 THEN 1 ELSE 0 END) AS resolved_on_time,
  SUM(CASE WHEN f.reworks > 0 THEN 1 ELSE 0 END) AS reworked,
  SUM(CASE WHEN f.extension_requests > 0 THEN 1 ELSE 0 END) AS extension_requested,
  SUM(f.escalations) AS escalations,
  SUM(CASE WHEN f.escalations > 0 THEN 1 ELSE 0 END) AS escalated_cases,
  COUNT(f.rating) AS rated, CAST(AVG(f.rating) AS DOUBLE PRECISION) AS mean_rating,
  SUM(CASE WHEN f.rating >= 4 THEN 1 ELSE 0 END) AS satisfied,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') AND f.stage_due < :'now' THEN 1 ELSE 0 END) AS overdue,
  COUNT(f.accept_ms) AS accept_n, CAST(AVG(f.accept_ms) AS DOUBLE PRECISION) AS accept_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.accept_ms) AS DOUBLE PRECISION) AS accept_p90,
  COUNT(f.dispatch_ms) AS dispatch_n, CAST(AVG(f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_p90,
  COUNT(f.sign_ms) AS sign_n, CAST(AVG(f.sign_ms) AS DOUBLE PRECISION) AS sign_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.sign_ms) AS DOUBLE PRECISION) AS sign_p90,
  COUNT(f.resolve_ms) AS resolve_n, CAST(AVG(f.resolve_ms) AS DOUBLE PRECISION) AS resolve_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.resolve_ms) AS DOUBLE PRECISION) AS resolve_p90,
  COUNT(f.verify_ms) AS verify_n, CAST(AVG(f.verify_ms) AS DOUBLE PRECISION) AS verify_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.verify_ms) AS DOUBLE PRECISION) AS verify_p90
FROM case_fact f WHERE f.created_at >= :'from' AND f.created_at < :'to';
\echo '### Q2 summary, street leader, group_by=community'
EXPLAIN (ANALYZE, BUFFERS)
SELECT f.community_id AS k, lbl.name AS l, COUNT(*) AS reported,
  SUM(CASE WHEN f.status NOT IN ('reported', 'rejected') THEN 1 ELSE 0 END) AS accepted,
  SUM(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
  SUM(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END) AS closed,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END) AS open,
  SUM(CASE WHEN f.status = 'closed' AND f.late_stages = 0 THEN 1 ELSE 0 END) AS closed_on_time,
  SUM(CASE WHEN f.resolves > 0 THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN f.resolves > 0 AND f.late_resolves = 0 THEN 1 ELSE 0 END) AS resolved_on_time,
  SUM(CASE WHEN f.reworks > 0 THEN 1 ELSE 0 END) AS reworked,
  SUM(CASE WHEN f.extension_requests > 0 THEN 1 ELSE 0 END) AS extension_requested,
  SUM(f.escalations) AS escalations,
  SUM(CASE WHEN f.escalations > 0 THEN 1 ELSE 0 END) AS escalated_cases,
  COUNT(f.rating) AS rated, CAST(AVG(f.rating) AS DOUBLE PRECISION) AS mean_rating,
  SUM(CASE WHEN f.rating >= 4 THEN 1 ELSE 0 END) AS satisfied,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') AND f.stage_due < :'now' THEN 1 ELSE 0 END) AS overdue,
  COUNT(f.accept_ms) AS accept_n, CAST(AVG(f.accept_ms) AS DOUBLE PRECISION) AS accept_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.accept_ms) AS DOUBLE PRECISION) AS accept_p90,
  COUNT(f.dispatch_ms) AS dispatch_n, CAST(AVG(f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_p90,
  COUNT(f.sign_ms) AS sign_n, CAST(AVG(f.sign_ms) AS DOUBLE PRECISION) AS sign_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.sign_ms) AS DOUBLE PRECISION) AS sign_p90,
  COUNT(f.resolve_ms) AS resolve_n, CAST(AVG(f.resolve_ms) AS DOUBLE PRECISION) AS resolve_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.resolve_ms) AS DOUBLE PRECISION) AS resolve_p90,
  COUNT(f.verify_ms) AS verify_n, CAST(AVG(f.verify_ms) AS DOUBLE PRECISION) AS verify_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.verify_ms) AS DOUBLE PRECISION) AS verify_p90
FROM case_fact f LEFT JOIN community lbl ON lbl.id = f.community_id WHERE f.created_at >= :'from' AND f.created_at < :'to' AND (f.street_id IN (1) OR 1 = 0) GROUP BY 1, 2 ORDER BY 1;
\echo '### Q3 summary, city, group_by=day'
EXPLAIN (ANALYZE, BUFFERS)
SELECT to_char(((f.created_at) AT TIME ZONE 'UTC' + INTERVAL '480 minutes'), 'YYYY-MM-DD') AS k, COUNT(*) AS reported,
  SUM(CASE WHEN f.status NOT IN ('reported', 'rejected') THEN 1 ELSE 0 END) AS accepted,
  SUM(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
  SUM(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END) AS closed,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END) AS open,
  SUM(CASE WHEN f.status = 'closed' AND f.late_stages = 0 THEN 1 ELSE 0 END) AS closed_on_time,
  SUM(CASE WHEN f.resolves > 0 THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN f.resolves > 0 AND f.late_resolves = 0 THEN 1 ELSE 0 END) AS resolved_on_time,
  SUM(CASE WHEN f.reworks > 0 THEN 1 ELSE 0 END) AS reworked,
  SUM(CASE WHEN f.extension_requests > 0 THEN 1 ELSE 0 END) AS extension_requested,
  SUM(f.escalations) AS escalations,
  SUM(CASE WHEN f.escalations > 0 THEN 1 ELSE 0 END) AS escalated_cases,
  COUNT(f.rating) AS rated, CAST(AVG(f.rating) AS DOUBLE PRECISION) AS mean_rating,
  SUM(CASE WHEN f.rating >= 4 THEN 1 ELSE 0 END) AS satisfied,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') AND f.stage_due < :'now' THEN 1 ELSE 0 END) AS overdue,
  COUNT(f.accept_ms) AS accept_n, CAST(AVG(f.accept_ms) AS DOUBLE PRECISION) AS accept_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.accept_ms) AS DOUBLE PRECISION) AS accept_p90,
  COUNT(f.dispatch_ms) AS dispatch_n, CAST(AVG(f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_p90,
  COUNT(f.sign_ms) AS sign_n, CAST(AVG(f.sign_ms) AS DOUBLE PRECISION) AS sign_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.sign_ms) AS DOUBLE PRECISION) AS sign_p90,
  COUNT(f.resolve_ms) AS resolve_n, CAST(AVG(f.resolve_ms) AS DOUBLE PRECISION) AS resolve_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.resolve_ms) AS DOUBLE PRECISION) AS resolve_p90,
  COUNT(f.verify_ms) AS verify_n, CAST(AVG(f.verify_ms) AS DOUBLE PRECISION) AS verify_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.verify_ms) AS DOUBLE PRECISION) AS verify_p90
FROM case_fact f WHERE f.created_at >= :'from' AND f.created_at < :'to' GROUP BY 1 ORDER BY 1;
\echo '### Q4 summary, city, group_by=officer'
EXPLAIN (ANALYZE, BUFFERS)
SELECT f.assignee_id AS k, lbl.display_name AS l, COUNT(*) AS reported,
  SUM(CASE WHEN f.status NOT IN ('reported', 'rejected') THEN 1 ELSE 0 END) AS accepted,
  SUM(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
  SUM(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END) AS closed,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END) AS open,
  SUM(CASE WHEN f.status = 'closed' AND f.late_stages = 0 THEN 1 ELSE 0 END) AS closed_on_time,
  SUM(CASE WHEN f.resolves > 0 THEN 1 ELSE 0 END) AS resolved,
  SUM(CASE WHEN f.resolves > 0 AND f.late_resolves = 0 THEN 1 ELSE 0 END) AS resolved_on_time,
  SUM(CASE WHEN f.reworks > 0 THEN 1 ELSE 0 END) AS reworked,
  SUM(CASE WHEN f.extension_requests > 0 THEN 1 ELSE 0 END) AS extension_requested,
  SUM(f.escalations) AS escalations,
  SUM(CASE WHEN f.escalations > 0 THEN 1 ELSE 0 END) AS escalated_cases,
  COUNT(f.rating) AS rated, CAST(AVG(f.rating) AS DOUBLE PRECISION) AS mean_rating,
  SUM(CASE WHEN f.rating >= 4 THEN 1 ELSE 0 END) AS satisfied,
  SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') AND f.stage_due < :'now' THEN 1 ELSE 0 END) AS overdue,
  COUNT(f.accept_ms) AS accept_n, CAST(AVG(f.accept_ms) AS DOUBLE PRECISION) AS accept_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.accept_ms) AS DOUBLE PRECISION) AS accept_p90,
  COUNT(f.dispatch_ms) AS dispatch_n, CAST(AVG(f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.dispatch_ms) AS DOUBLE PRECISION) AS dispatch_p90,
  COUNT(f.sign_ms) AS sign_n, CAST(AVG(f.sign_ms) AS DOUBLE PRECISION) AS sign_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.sign_ms) AS DOUBLE PRECISION) AS sign_p90,
  COUNT(f.resolve_ms) AS resolve_n, CAST(AVG(f.resolve_ms) AS DOUBLE PRECISION) AS resolve_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.resolve_ms) AS DOUBLE PRECISION) AS resolve_p90,
  COUNT(f.verify_ms) AS verify_n, CAST(AVG(f.verify_ms) AS DOUBLE PRECISION) AS verify_mean, CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.verify_ms) AS DOUBLE PRECISION) AS verify_p90
FROM case_fact f LEFT JOIN users lbl ON lbl.id = f.assignee_id WHERE f.created_at >= :'from' AND f.created_at < :'to' GROUP BY 1, 2 ORDER BY 1;
\echo '### Q5 hotspots, city, 250 m cells'
EXPLAIN (ANALYZE, BUFFERS)
SELECT CAST(FLOOR(c.lat / 0.0022458) AS BIGINT) AS i, CAST(FLOOR(c.lon / 0.0027277) AS BIGINT) AS j, COUNT(*) AS n
FROM cases c WHERE c.created_at >= :'from' AND c.created_at < :'to' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 20;
\echo '### Q6 hotspots, city, by grid'
EXPLAIN (ANALYZE, BUFFERS)
SELECT g.id, g.name, m.name, g.boundary, t.n
FROM (SELECT c.grid_id AS grid_id, COUNT(*) AS n FROM cases c WHERE c.created_at >= :'from' AND c.created_at < :'to' GROUP BY c.grid_id) t
JOIN grid g ON g.id = t.grid_id JOIN community m ON m.id = g.community_id ORDER BY t.n DESC, g.id;
\echo '### Q7 repeat locations, city, all categories (points to cluster)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT c.id, c.number, c.category_id, k.name_zh, c.lat, c.lon, c.created_at
FROM cases c JOIN case_category k ON k.id = c.category_id WHERE c.created_at >= :'from' AND c.created_at < :'to' ORDER BY c.created_at, c.id LIMIT 100001;
\echo '### Q8 repeat merchants, city'
EXPLAIN (ANALYZE, BUFFERS)
SELECT c.merchant_id, m.name, COUNT(*) AS n, SUM(CASE WHEN c.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END), COUNT(DISTINCT c.category_id)
FROM cases c LEFT JOIN merchant m ON m.id = c.merchant_id WHERE c.created_at >= :'from' AND c.created_at < :'to' AND c.merchant_id IS NOT NULL
GROUP BY c.merchant_id, m.name HAVING COUNT(*) >= 2 ORDER BY 3 DESC, 1 LIMIT 20;
\echo '### Q9 recurring categories, city'
EXPLAIN (ANALYZE, BUFFERS)
SELECT c.grid_id, gr.name, c.category_id, k.name_zh, to_char(date_trunc('week', ((c.created_at) AT TIME ZONE 'UTC' + INTERVAL '480 minutes')), 'YYYY-MM-DD') AS w, COUNT(*)
FROM cases c JOIN grid gr ON gr.id = c.grid_id JOIN case_category k ON k.id = c.category_id WHERE c.created_at >= :'from' AND c.created_at < :'to' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 5;
\echo '### Q10 workload, city: cases'
EXPLAIN (ANALYZE, BUFFERS)
SELECT f.assignee_id, u.display_name, COUNT(*), SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') THEN 1 ELSE 0 END), SUM(CASE WHEN f.status NOT IN ('closed', 'rejected') AND f.stage_due < :'now' THEN 1 ELSE 0 END), SUM(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END), SUM(CASE WHEN f.status = 'closed' AND f.late_stages = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN f.reworks > 0 THEN 1 ELSE 0 END)
FROM case_fact f LEFT JOIN users u ON u.id = f.assignee_id WHERE f.created_at >= :'from' AND f.created_at < :'to' AND f.assignee_id IS NOT NULL GROUP BY 1, 2;
\echo '### Q11 workload, city: work logs'
EXPLAIN (ANALYZE, BUFFERS)
SELECT w.officer_id, u.display_name, w.class, COUNT(*), CAST(SUM(w.minutes) AS BIGINT)
FROM work_log w LEFT JOIN users u ON u.id = w.officer_id WHERE w.started_at >= :'from' AND w.started_at < :'to' GROUP BY 1, 2, 3;
\echo '### Q12 case list export, one page of 500 (community 1, newest first)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT * FROM cases c WHERE (c.community_id IN (1) OR 1 = 0) AND c.created_at >= :'from' AND c.created_at < :'to' ORDER BY c.id DESC LIMIT 501;
