-- wrk script: an authenticated request (token verification + one account read).
--   TOKEN=$(curl -s -X POST http://127.0.0.1:8080/api/v1/auth/login -H 'content-type: application/json' \
--            -d '{"username":"tianye","password":"whistle-demo-2026"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
--   TOKEN=$TOKEN wrk -t2 -c16 -d20s -s docs/bench/me.lua http://127.0.0.1:8080/api/v1/me
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
