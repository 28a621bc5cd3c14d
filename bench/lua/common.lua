-- Shared by every wrk script of `make bench` (loaded with dofile from $BENCH_LUA).
-- done() prints one line `BENCH_JSON {...}` that scripts/bench.sh picks up: request count,
-- duration, throughput, latency percentiles (ms) and errors (non-2xx/3xx answers and socket
-- errors are counted separately; their latencies are in the percentiles too).

-- GB 11643 resident ID check character over the first 17 digits.
local WEIGHTS = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 }
local CHECK = "10X98765432"

-- A valid resident ID for person number p (0 <= p < 12 000 000): address code of the busy
-- county 巫山县, a birth date p / 1000 days after 1970-01-01 (at most ~33 years later, so
-- every person is an adult), sequence p % 1000.
function resident_id(p)
  local days = math.floor(p / 1000) % 12000
  local t = os.date("!*t", days * 86400)
  local body = string.format("500237%04d%02d%02d%03d", t.year, t.month, t.day, p % 1000)
  local sum = 0
  for i = 1, 17 do
    sum = sum + (string.byte(body, i) - 48) * WEIGHTS[i]
  end
  local k = sum % 11 + 1
  return body .. string.sub(CHECK, k, k)
end

-- Lines of a file, as a list.
function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  return lines
end

-- Threads are numbered 0.. in setup(), so each one draws from its own range.
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.2f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
