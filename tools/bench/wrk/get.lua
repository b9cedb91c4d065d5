-- GET of one fixed target, the same request every time (wrk's static request, no Lua per
-- request): BENCH_PATH (default "/"), with `Authorization: Bearer $BENCH_TOKEN` when that is set.
-- Used for escrowd's GET /bookings/:id and for bench-min-server alike, so that both see exactly
-- the same load generator.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
