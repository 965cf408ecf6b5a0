-- wrk script: durable personalization calls with the demo configuration.
-- Env: TAILOR_WRITE_KEY, TAILOR_TOKEN (empty for the baseline), TAILOR_VISITORS (pool size, default 100000).
-- 90% of the calls come from the imported customers (spread over TAILOR_VISITORS), 10% from new
-- visitors; ~300-byte pageviews.
local key = os.getenv("TAILOR_WRITE_KEY") or ""
local token = os.getenv("TAILOR_TOKEN") or ""
local visitors = tonumber(os.getenv("TAILOR_VISITORS") or "100000")
-- Fixed-rate runs: TAILOR_RATE calls/s in all, over wrk's TAILOR_THREADS threads (default 2, wrk's -t).
-- Each thread hands out send times evenly spaced at its share of the rate; a connection that is free
-- takes the next one and waits for it, or sends at once if that time has passed (calls that an
-- open-loop client would have queued during a stall). The rate holds as long as enough connections
-- are free; latency is timed from the send, not from the scheduled time (wrk has no open-loop mode).
local rate = tonumber(os.getenv("TAILOR_RATE") or "0")
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } tailor_timespec;
    int clock_gettime(int clock, tailor_timespec *ts);
  ]]
  local ts = ffi.new("tailor_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local spacing = tonumber(os.getenv("TAILOR_THREADS") or "2") * 1000 / rate
  local next_send
  function delay()
    local now = now_ms()
    next_send = (next_send or now) + spacing
    return math.max(0, math.floor(next_send - now + 0.5))
  end
end
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  wrk.headers["Content-Type"] = "application/vnd.treasuredata.v1+json"
  wrk.headers["Authorization"] = "TD1 " .. key
  wrk.headers["WP13n-Token"] = token
end

local categories = { "women", "men", "kids" }

function request()
  counter = counter + 1
  -- A known visitor is one of the imported customers (the demo's customerN@example.com) on their own
  -- browser; a new one has only a fresh browser id.
  local visitor, email
  if math.random(100) <= 10 then
    visitor = string.format("new-%d-%d-%d", id, counter, math.random(1000000000))
    email = ""
  else
    local n = math.random(visitors)
    visitor = string.format("visitor-%d", n)
    email = string.format(',"email":"customer%d@example.com"', n)
  end
  local body = string.format(
    '{"td_client_id":"%s"%s,"td_path":"/retail/shoes/running","td_url":"https://shop.example.com/retail/shoes/running?utm_source=mail",' ..
    '"td_title":"Trail running shoes","product_category":"%s","product_name":"trail runner %d",' ..
    '"td_user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"}',
    visitor, email, categories[math.random(3)], math.random(50))
  return wrk.format("POST", "/demo_db/pageviews", nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.0f p50=%.2f p95=%.2f p99=%.2f p999=%.2f max=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.max / 1000, errors, summary.errors.status))
end
