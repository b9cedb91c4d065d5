-- The mixed load of limits.sh's memory row, in every 20 requests: 11 GET of the booking BENCH_PATH
-- (as BENCH_READ_TOKEN), 8 new bookings (POST /bookings as BENCH_TOKEN) and 1 signed webhook from
-- BENCH_WEBHOOK_FILE. Webhooks are few because escrowd processes them far slower than it accepts
-- them under this load (limits.sh prints how many still wait at the end). Errors as in report.lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "requests.lua")

local read_headers = { ["Authorization"] = "Bearer " .. (os.getenv("BENCH_READ_TOKEN") or "") }
local read_path = os.getenv("BENCH_PATH") or "/"
local n = 0

function request()
  n = n + 1
  local slot = n % 20
  if slot < 11 then return wrk.format("GET", read_path, read_headers) end
  if slot < 19 then return create_booking(n) end
  return signed_webhook()
end
