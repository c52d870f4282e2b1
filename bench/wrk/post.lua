-- POST one JSON body over and over; print a JSON summary line when done.
-- Usage: wrk -t1 -c16 -d10s --latency -s bench/wrk/post.lua URL -- BODY_FILE [BEARER_KEY]
-- The summary counts every request written (sent), so requests still in flight when wrk stops
-- are known: a gateway that logs them is not miscounted.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  if args[2] and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  sent = 0
  statuses = {}
  body_request = wrk.format()
end

function request()
  sent = sent + 1
  return body_request
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local sent_total = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    for code, count in pairs(thread:get("statuses")) do
      by_status[code] = (by_status[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(by_status) do
    table.insert(parts, string.format('"%s":%d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"sent":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"status":{%s},'
      .. '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, sent_total, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","),
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
