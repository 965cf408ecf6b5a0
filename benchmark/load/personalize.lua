-- wrk script: durable personalization calls with the demo configuration.
-- Env: TAILOR_WRITE_KEY, TAILOR_TOKEN (empty for the baseline), TAILOR_VISITORS (pool size, default 100000).
-- 90% of the calls come from the imported customers (spread over TAILOR_VISITORS), 10% from new
-- visitors; ~300-byte pageviews.
local key = os.getenv("TAILOR_WRITE_KEY") or ""
local token = os.getenv("TAILOR_TOKEN") or ""
local visitors = tonumber(os.getenv("TAILOR_VISITORS") or "100000")
-- Paced runs: TAILOR_RATE calls/s over TAILOR_CONNECTIONS connections (each waits its share before a call).
-- wrk has no open-loop mode, so a slow answer delays the next call (coordinated omission): an approximation.
local rate = tonumber(os.getenv("TAILOR_RATE") or "0")
local connections = tonumber(os.getenv("TAILOR_CONNECTIONS") or "64")
if rate > 0 then
  local interval = connections * 1000 / rate
  function delay() return interval end
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
  io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.0f p50=%.2f p99=%.2f p999=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, errors, summary.errors.status))
end
