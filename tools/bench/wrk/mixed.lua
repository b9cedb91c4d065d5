-- The mixed load of limits.sh's memory row, in every 10 requests: 5 GET of the booking BENCH_PATH
-- (as BENCH_READ_TOKEN), 3 new bookings (POST /bookings as BENCH_TOKEN) and 2 signed webhooks
-- from BENCH_WEBHOOK_FILE. Errors as in report.lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "requests.lua")

local read_headers = { ["Authorization"] = "Bearer " .. (os.getenv("BENCH_READ_TOKEN") or "") }
local read_path = os.getenv("BENCH_PATH") or "/"
local n = 0

function request()
  n = n + 1
  local slot = n % 10
  if slot < 5 then return wrk.format("GET", read_path, read_headers) end
  if slot < 8 then return create_booking(n) end
  return signed_webhook()
end
