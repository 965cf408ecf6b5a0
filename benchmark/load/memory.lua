-- wrk script: every call is a new visitor (a profile activated and kept in memory) whose pageview
-- carries 20 fields that 20 attributes of benchmark/load/memory.yaml remember.
-- Env: TAILOR_WRITE_KEY, TAILOR_TOKEN, TAILOR_ROUND (a run of wrk's number: each run's visitors are new).
local key = os.getenv("TAILOR_WRITE_KEY")
local token = os.getenv("TAILOR_TOKEN")
local round = os.getenv("TAILOR_ROUND") or "0"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.headers["Content-Type"] = "application/vnd.treasuredata.v1+json"
  wrk.headers["Authorization"] = "TD1 " .. key
  wrk.headers["WP13n-Token"] = token
end

function request()
  counter = counter + 1
  local fields = {}
  for i = 1, 20 do fields[i] = string.format('"f%d":"value-%d-%d"', i, i, counter % 1000) end
  local body = string.format('{"td_client_id":"mem-%s-%d-%d","td_path":"/retail/x",%s}', round, id, counter, table.concat(fields, ","))
  return wrk.format("POST", "/demo_db/pageviews", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.0f non2xx=%d\n", summary.requests, summary.requests / (summary.duration / 1e6), summary.errors.status))
end
