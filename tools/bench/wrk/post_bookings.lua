-- POST /bookings, each request a new booking (id BENCH_ID_PREFIX-THREAD-N), with the service
-- token in BENCH_TOKEN. escrowd answers 201 once the BookingCreated event is committed.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "requests.lua")

local n = 0

function request()
  n = n + 1
  return create_booking(n)
end
