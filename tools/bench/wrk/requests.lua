-- The requests of the escrowd scripts (loaded with dofile by each): a new booking, and the next
-- signed webhook of the file BENCH_WEBHOOK_FILE that `escrow-bench webhook-file` wrote
-- (SIGNATURE<TAB>BODY a line). With several wrk threads, thread k of T sends lines k, k+T, ...
-- When the file runs out it starts again and `exhausted` is set: the repeats are duplicates,
-- which escrowd answers 200 but as not new, so they count as unexpected.

local prefix = os.getenv("BENCH_ID_PREFIX") or "wrk"
local booking_headers = {
  ["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or ""),
  ["Content-Type"] = "application/json",
}

function create_booking(n)
  local id = prefix .. "-" .. (thread_number or 1) .. "-" .. n
  local client, provider = "wc-" .. (n % 64), "wp-" .. (n % 32)
  local body = '{"id":"' .. id .. '","client_id":"' .. client .. '","provider_id":"' ..
    provider .. '","client_email":"' .. client .. '@example.com","description":' ..
    '"Deep clean, 3-bedroom flat","amount":5000000,"currency":"NGN"}'
  return wrk.format("POST", "/bookings", booking_headers, body)
end

bad = 0
exhausted = 0
local webhooks, line_number = nil, 0
local wrk_threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")

local function next_line()
  if webhooks == nil then
    webhooks = assert(io.open(assert(os.getenv("BENCH_WEBHOOK_FILE"), "BENCH_WEBHOOK_FILE"), "r"))
  end
  local line = webhooks:read("*l")
  if line == nil then
    exhausted = 1
    webhooks:seek("set", 0)
    line_number = 0
    line = assert(webhooks:read("*l"), "an empty webhook file")
  end
  line_number = line_number + 1
  return line
end

function signed_webhook()
  local mine = thread_number or 1
  local line = next_line()
  while (line_number - 1) % wrk_threads ~= mine - 1 do line = next_line() end
  local tab = line:find("\t", 1, true)
  return wrk.format("POST", "/webhooks/paystack", {
    ["Content-Type"] = "application/json",
    ["x-paystack-signature"] = line:sub(1, tab - 1),
  }, line:sub(tab + 1))
end
