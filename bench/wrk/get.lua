-- GET with a bearer token (BENCH_TOKEN); reports latency percentiles and status counts.
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  s2xx, s4xx_conflict, s429, s4xx, s5xx = 0, 0, 0, 0, 0
end

function response(status, headers, body)
  if status >= 500 then s5xx = s5xx + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 409 then s4xx_conflict = s4xx_conflict + 1
  elseif status >= 400 then s4xx = s4xx + 1
  else s2xx = s2xx + 1 end
end

function done(summary, latency, requests)
  local counts = { ["2xx"] = 0, ["409"] = 0, ["429"] = 0, ["4xx"] = 0, ["5xx"] = 0 }
  for _, t in ipairs(threads) do
    counts["2xx"] = counts["2xx"] + t:get("s2xx")
    counts["409"] = counts["409"] + t:get("s4xx_conflict")
    counts["429"] = counts["429"] + t:get("s429")
    counts["4xx"] = counts["4xx"] + t:get("s4xx")
    counts["5xx"] = counts["5xx"] + t:get("s5xx")
  end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, ' ..
    '"errors": %d, "status": {"2xx": %d, "409": %d, "429": %d, "4xx": %d, "5xx": %d}}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    counts["2xx"], counts["409"], counts["429"], counts["4xx"], counts["5xx"]))
end
