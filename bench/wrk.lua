-- wrk script for benches/rollcall.rs. Arguments:
--   users_file groups_file mode offset token account
-- mode: single (management PUT, one new membership a request),
--       bulk (v1 PUT of 100 ids, 100 new memberships a request),
--       create_user / create_group (v1 POST of a new user / group, a name
--       no other request uses),
--       get / put / head (the URL given to wrk, unchanged, with that method).
-- Request i of a run names a pair (group, user-window) no other request of
-- any run uses, so every write creates new memberships.
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  users, groups = {}, {}
  for line in io.lines(args[1]) do users[#users + 1] = line end
  for line in io.lines(args[2]) do groups[#groups + 1] = line end
  mode = args[3]
  counter = tonumber(args[4]) + thread_index
  stride = 64 -- more than any thread count used, so threads never collide
  wrk.headers["Authorization"] = "Bearer " .. args[5]
  wrk.headers["X-Account-ID"] = args[6]
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  if mode == "get" then
    return wrk.format("GET")
  elseif mode == "put" then
    return wrk.format("PUT")
  elseif mode == "head" then
    return wrk.format("HEAD")
  end
  local i = counter
  counter = counter + stride
  if mode == "create_user" then
    return wrk.format("POST", "/v1/users", nil,
      '{"email":"bench-' .. i .. '@example.com","first_name":"Bench","last_name":"User ' .. i .. '"}')
  elseif mode == "create_group" then
    return wrk.format("POST", "/v1/groups", nil, '{"name":"bench group ' .. i .. '"}')
  end
  local group = groups[(i % #groups) + 1]
  local window = math.floor(i / #groups)
  if mode == "single" then
    local user = users[(window % #users) + 1]
    return wrk.format("PUT", "/api/security/groups/" .. group .. "/users/" .. user)
  end
  local first = (window * 100) % #users
  local ids = {}
  for k = 0, 99 do ids[#ids + 1] = '"' .. users[((first + k) % #users) + 1] .. '"' end
  return wrk.format("PUT", "/v1/groups/" .. group .. "/users", nil, "[" .. table.concat(ids, ",") .. "]")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT {\"requests\":%d,\"duration_us\":%d,\"socket_errors\":%d,\"status_errors\":%d,\"p50_us\":%d,\"p99_us\":%d}\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
