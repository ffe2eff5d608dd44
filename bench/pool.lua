-- wrk script: replay a pool of pre-signed requests, each at most once, then stop.
--
-- wrk's LuaJIT has no MD5/HMAC, and amojo rejects a reused msgid, so bench/served.py
-- signs every request up front (fresh Date, distinct msgids) and writes them to a pool
-- file: line 1 "METHOD<TAB>PATH<TAB>DATE<TAB>CAP", then one "MD5<TAB>SIGNATURE<TAB>BODY"
-- per request. Thread k of n sends lines k, k+n, k+2n, ... so no two threads share one.
-- A thread stops after its share of CAP responses (bounded in count as well as time).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  local file = assert(io.open(args[1], "r"))
  local head = file:read("*l")
  local method, path, date, cap = head:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
  requests = {}
  local n = 0
  for line in file:lines() do
    if n % nthreads == tid then
      local md5, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {
        ["Date"] = date,
        ["Content-Type"] = "application/json",
        ["Content-MD5"] = md5,
        ["X-Signature"] = sig,
      }
      if body == "" then body = nil end
      table.insert(requests, wrk.format(method, path, headers, body))
    end
    n = n + 1
  end
  file:close()
  limit = math.floor(tonumber(cap) / nthreads)
  cursor = 0
  bad = 0
end

function request()
  cursor = cursor + 1
  if cursor > #requests then cursor = #requests end
  return requests[cursor]
end

function response(status, headers, body)
  counter = counter + 1
  if status >= 300 then bad = bad + 1 end
  if counter >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do bad_total = bad_total + (thread:get("bad") or 0) end
  io.write(string.format(
    "RESULT {\"requests\": %d, \"duration_us\": %d, \"non2xx\": %d, \"socket_errors\": %d, \"p50_us\": %d, \"p99_us\": %d, \"max_us\": %d}\n",
    summary.requests, summary.duration, bad_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50.0), latency:percentile(99.0), latency.max))
end
