-- wrk script of `make bench` (bench/run.py): one POST, as the browser sends it, with the signed-in session.
--
-- Environment (set by bench/run.py):
--   BENCH_BODY_FILE  urlencoded form body (the workup of DT20 Patient 1, or the baseline form's fields)
--   BENCH_COOKIE     "sessionid=...; csrftoken=..."
--   BENCH_CSRF       the CSRF token, sent as X-CSRFToken as htmx does (hx-headers on <body>)
--   BENCH_HTMX       "1": add HX-Request (the workspace's live update returns the result fragment)
--   BENCH_BODIES_FILE optional: bodies sent in turn, one per line (BENCH_BODY_FILE is then unused)
--
-- done() prints one line "BENCH_JSON {...}" with the percentiles wrk's --latency table lacks (p95), and
-- the count of responses that were not 200 (a redirect to the sign-in page would otherwise count as success).

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

wrk.method = "POST"
wrk.body = read_file(os.getenv("BENCH_BODY_FILE"))
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["X-CSRFToken"] = os.getenv("BENCH_CSRF")
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"  -- as a browser sends it
-- BENCH_BODIES_FILE (optional): one body per line, sent in turn (a clinician typing: a new workup each time)
local bodies_file = os.getenv("BENCH_BODIES_FILE")
local bodies, sent = {}, tonumber(os.getenv("BENCH_OFFSET") or "0")
if bodies_file then
  -- Each thread starts at its own place in the list (BENCH_OFFSET moves every run's start), so that no two
  -- requests of a run send the same workup unless the run outlasts the list.
  for line in io.lines(bodies_file) do
    if #line > 0 then table.insert(bodies, line) end
  end
  function request()
    sent = sent + 1
    return wrk.format(nil, nil, nil, bodies[(sent % #bodies) + 1])
  end
end

if os.getenv("BENCH_HTMX") == "1" then
  wrk.headers["HX-Request"] = "true"
  wrk.headers["HX-Current-URL"] = "http://127.0.0.1/"
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  not_ok = 0
  if bodies_file then
    sent = sent + (thread_number - 1) * math.floor(#bodies / 2)  -- two threads: each its half of the list
  end
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("not_ok") or 0)
  end
  local us = function(p) return latency:percentile(p) end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "mean_us": %.1f, "stdev_us": %.1f, "max_us": %d, "not_200": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration, us(50), us(90), us(95), us(99), latency.mean, latency.stdev,
    latency.max, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
