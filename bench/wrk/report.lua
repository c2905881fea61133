-- wrk script: optional POST body from the environment, and a JSON summary at the end.
--   WRK_METHOD        GET (default) or POST
--   WRK_BODY          url-encoded form body for POST (with the CSRF token)
-- The session cookie comes in with -H "Cookie: ..." on the wrk command line.

local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")

wrk.method = method
if method == "POST" then
  wrk.body = body or ""
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

-- No response() callback on purpose: it makes wrk parse every reply in Lua and
-- lowers the ceiling it can measure. Non-2xx/3xx replies are counted in errors.status.

function done(summary, latency, requests)
  local errors = summary.errors
  io.write("BENCH-JSON ")
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
