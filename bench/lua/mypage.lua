-- wrk script of the My Page and baseline scenarios: the same POST body for every request, the
-- bearer token of a logged-in patron rotating across all of them (each thread starts elsewhere).
-- Arguments after `--`: the tokens file (one a line) and the body file.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

local tokens, body, i = {}, "", 0
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  local f = assert(io.open(args[2], "rb"))
  body = f:read("*a")
  f:close()
  i = ((thread_id or 1) * 7919) % #tokens
end

function request()
  i = i % #tokens + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[i],
  }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "mean_us": %.1f, "max_us": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
