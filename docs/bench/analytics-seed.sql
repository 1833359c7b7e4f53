-- 1,000,000 cases for measuring the analytics queries (docs/PERFORMANCE.md). Run on a scratch
-- database after `whistle-api migrate` and `whistle-api demo` (the demo's 24 grids, 11
-- categories, officers 田野 and 李晨, merchant 1):
--   psql -h 127.0.0.1 -U postgres -d whistle_perf -f docs/bench/analytics-seed.sql
\timing on
ALTER TABLE cases DISABLE TRIGGER USER;
-- 1,000,000 cases over the 365 days before now (ids grow with the report time, as in production), spread over the demo's 24 grids and 11 categories.
INSERT INTO cases (number, category_id, case_type, priority, source, status, description, lat, lon,
  grid_id, community_id, street_id, district_id, reporter_id, assignee_id, stage, stage_due, version,
  rating, created_at, updated_at, closed_at, merchant_id)
SELECT 'PF-' || i,
  1 + (i * 7) % 11, 'complaint', 'normal', 'resident_app',
  s.status, '性能测试案件 ' || i,
  g.min_lat + (g.max_lat - g.min_lat) * ((i * 37) % 1000) / 1000.0,
  g.min_lon + (g.max_lon - g.min_lon) * ((i * 53) % 1000) / 1000.0,
  g.id, g.community_id, m.street_id, st.district_id, NULL,
  CASE WHEN s.status IN ('reported', 'rejected', 'accepted') THEN NULL ELSE u.id END,
  CASE WHEN s.status IN ('dispatched') THEN 'sign' WHEN s.status = 'in_progress' THEN 'resolve'
       WHEN s.status = 'resolved' THEN 'verify' WHEN s.status = 'accepted' THEN 'dispatch'
       WHEN s.status = 'reported' THEN 'accept' END,
  CASE WHEN s.status IN ('closed', 'rejected', 'verified') THEN NULL
       ELSE t.created + interval '3 days' END,
  3,
  CASE WHEN s.status = 'closed' AND i % 3 <> 0 THEN 1 + i % 5 END,
  t.created, t.created + interval '2 days',
  CASE WHEN s.status = 'closed' THEN t.created + interval '2 days' END,
  CASE WHEN i % 50 = 0 THEN 1 END
FROM generate_series(1, 1000000) AS i
CROSS JOIN LATERAL (SELECT now() - ((1000001 - i)::double precision / 1000000.0) * interval '365 days' AS created) t
CROSS JOIN LATERAL (SELECT CASE WHEN i % 20 < 14 THEN 'closed' WHEN i % 20 = 14 THEN 'rejected'
   WHEN i % 20 = 15 THEN 'reported' WHEN i % 20 = 16 THEN 'accepted' WHEN i % 20 = 17 THEN 'dispatched'
   WHEN i % 20 = 18 THEN 'in_progress' ELSE 'resolved' END AS status) s
JOIN grid g ON g.id = 1 + (i % 24)
JOIN community m ON m.id = g.community_id
JOIN street st ON st.id = m.street_id
JOIN users u ON u.username = CASE WHEN m.id = 1 THEN 'tianye' ELSE 'officer.gulou' END;
-- Their facts, as the triggers would have kept them (stage times and counters made up).
INSERT INTO case_fact (case_id, created_at, district_id, street_id, community_id, grid_id, category_id,
  status, assignee_id, stage_due, rating, stage_started_at, accept_ms, dispatch_ms, sign_ms, resolve_ms, verify_ms,
  late_stages, late_resolves, resolves, reworks, extension_requests, escalations)
SELECT c.id, c.created_at, c.district_id, c.street_id, c.community_id, c.grid_id, c.category_id,
  c.status, c.assignee_id, c.stage_due, c.rating, c.updated_at,
  600000 + (c.id * 7919) % 7200000,
  CASE WHEN c.status NOT IN ('reported', 'rejected', 'accepted') THEN 300000 + (c.id * 104729) % 3600000 END,
  CASE WHEN c.status NOT IN ('reported', 'rejected', 'accepted', 'dispatched') THEN 60000 + (c.id * 1299709) % 1800000 END,
  CASE WHEN c.status IN ('resolved', 'verified', 'closed') THEN 3600000 + (c.id * 15485863) % 172800000 END,
  CASE WHEN c.status IN ('verified', 'closed') THEN 600000 + (c.id * 32452843) % 86400000 END,
  CASE WHEN c.id % 9 = 0 THEN 1 ELSE 0 END,
  CASE WHEN c.id % 18 = 0 THEN 1 ELSE 0 END,
  CASE WHEN c.status IN ('resolved', 'verified', 'closed') THEN 1 + (c.id % 17 = 0)::int ELSE 0 END,
  (c.id % 17 = 0)::int, (c.id % 23 = 0)::int, (c.id % 31 = 0)::int
FROM cases c WHERE c.number LIKE 'PF-%';
ALTER TABLE cases ENABLE TRIGGER USER;
-- 200,000 work-log entries over the same year.
INSERT INTO work_log (officer_id, activity, class, class_overridden, started_at, ended_at, minutes,
  community_id, street_id, district_id, grid_id, created_at)
SELECT u.id, 'patrol', CASE WHEN i % 10 < 7 THEN 'service' WHEN i % 10 < 9 THEN 'management' ELSE 'enforcement' END,
  false, now() - (i::double precision / 200000.0) * interval '365 days',
  now() - (i::double precision / 200000.0) * interval '365 days' + interval '45 minutes', 45,
  m.id, m.street_id, st.district_id, NULL, now()
FROM generate_series(1, 200000) AS i
JOIN community m ON m.id = 1 + (i % 6)
JOIN street st ON st.id = m.street_id
JOIN users u ON u.username = CASE WHEN i % 2 = 0 THEN 'tianye' ELSE 'officer.gulou' END;
ANALYZE;
SELECT count(*) FROM cases; SELECT count(*) FROM case_fact; SELECT count(*) FROM work_log;
