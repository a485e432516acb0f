-- wrk script of the benchmark (bench/run.py): one script for every run, so wrk does the same
-- work (a response hook, a request built per call) whether it drives the service or a baseline.
--
--   wrk -s bench/wrk.lua URL -- MODE TAG
--
-- MODE sign:  each thread first GETs the signing form (session cookie and CSRF token), then
--             POSTs signatures to it with distinct addresses (TAG, thread, counter).
-- MODE insert: POSTs the same form body, without token, to the bare /_bench/insert.
-- MODE get:   GETs the URL.
-- done() prints one line: BENCH requests=.. accepted=.. seconds=.. p50_us=.. p99_us=.. errors=..

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "get"
  tag = args[2] or "run"
  path = wrk.path
  sent = 0
  accepted = 0
  token = nil
  cookie = nil
  asking = false
end

local function form_body(n)
  local body = "full_name=Bench+Signer&city=Calais&country=FR&consent=y" ..
    "&email=" .. tag .. "-" .. id .. "-" .. n .. "%40example.org"
  if token then
    body = body .. "&csrf_token=" .. token
  end
  return body
end

function request()
  if mode == "get" then
    return wrk.format("GET", path)
  end
  if mode == "sign" and token == nil then
    asking = true
    return wrk.format("GET", path)
  end
  sent = sent + 1
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if cookie then
    headers["Cookie"] = cookie
  end
  return wrk.format("POST", path, headers, form_body(sent))
end

function response(status, headers, body)
  if mode == "get" then
    if status == 200 then
      accepted = accepted + 1
    end
    return
  end
  if token == nil and mode == "sign" then
    if status == 200 and body then
      local found = string.match(body, 'name="csrf_token"[^>]-value="([^"]+)"')
      local set_cookie = headers["Set-Cookie"] or headers["set-cookie"]
      if found and set_cookie then
        token = found
        cookie = string.match(set_cookie, "(session=[^;]+)")
      end
    end
    return
  end
  -- Accepted: the redirect to "check your email" (or, for the baseline, its own redirect).
  if status == 302 then
    accepted = accepted + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("accepted") or 0)
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    "BENCH requests=%d accepted=%d seconds=%.3f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, total, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), errors))
end
