-- wrk script: the same bulk lookup body (TAILOR_BULK_FILE, a JSON array) posted again and again
-- with the lookup key TAILOR_LOOKUP_KEY. Prints one RESULT line like personalize.lua.
local file = assert(io.open(os.getenv("TAILOR_BULK_FILE"), "rb"))
local body = file:read("*a")
file:close()
local key = os.getenv("TAILOR_LOOKUP_KEY")

request = function()
  return wrk.format("POST", "/v5/ei/bulk?api_key=" .. key, { ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d rps=%.1f p50=%.2f p99=%.2f p999=%.2f errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, errors))
end
