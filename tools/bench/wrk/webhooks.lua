-- POST /webhooks/paystack with the signed deliveries of BENCH_WEBHOOK_FILE, each line once (see
-- requests.lua). Only a 200 that says `"duplicate":false` (verified, stored durably, new) counts
-- as accepted.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "requests.lua")

function request()
  return signed_webhook()
end

function response(status, headers, body)
  if status == 200 and not body:find('"duplicate":false', 1, true) then bad = bad + 1 end
end
