-- wrk script: logins with a demo account.
--   wrk -t2 -c16 -d20s -s docs/bench/login.lua http://127.0.0.1:8080/api/v1/auth/login
-- Run the server with the login limits raised, or every request after the burst is a 429:
--   WHISTLE__LIMITS__AUTH_IP_BURST=1000000 WHISTLE__LIMITS__AUTH_IP_PER_MINUTE=1000000 \
--   WHISTLE__LIMITS__AUTH_ACCOUNT_BURST=1000000 WHISTLE__LIMITS__AUTH_ACCOUNT_PER_MINUTE=1000000 \
--   target/release/whistle-api --demo
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"tianye","password":"whistle-demo-2026"}'

-- wrk reports Requests/sec (= logins/s) and counts any non-2xx answers separately: a run is
-- only valid when that count is zero.
