-- Shared by the wrk scripts of tools/bench/limits.sh (loaded with dofile): numbers each wrk thread
-- (so that ids made in different threads differ) and, when wrk is done, prints one line
--   WRK_RESULT {"requests":...,"ok":...,...}
-- that limits.sh reads. `ok` counts 2xx answers less those a script's response() found wrong
-- (its thread-global `bad`); everything else is an error: non-2xx answers, socket errors
-- (connect, read, write) and timeouts.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function done(summary, latency, requests)
  local e = summary.errors
  local bad, exhausted = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("bad") or 0)
    exhausted = exhausted + (thread:get("exhausted") or 0)
  end
  local seconds = summary.duration / 1e6
  local ok = summary.requests - e.status - bad
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"ok":%d,"seconds":%.3f,"ok_per_s":%.1f,"non_2xx":%d,' ..
    '"unexpected_body":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"input_exhausted":%d,"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,' ..
    '"max":%.3f}}\n',
    summary.requests, ok, seconds, ok / seconds, e.status, bad, e.connect, e.read, e.write,
    e.timeout, exhausted, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
