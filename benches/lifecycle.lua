-- wrk -s benches/lifecycle.lua URL -- STATE_PATH API_PREFIX AUTHORIZATION [pairs]
--
-- The exchanges of one `cmconform load` iteration, sent by wrk and judged by nobody: stage an
-- Approved request (POST STATE_PATH), GET it, PUT {"status": "Completed"}, GET it again. The
-- server does the same work for both tools, so the ratio of their rates is what the harness's
-- conformance loop costs over bare HTTP. wrk gives no connection to the scripts, so each answer
-- queues the request that follows it (by the id it carries), and a connection with nothing
-- queued stages a new request.
--
-- With `pairs`, only the staging and the PUT: the stage+PUT pairs issue 13 measured wrk with.

local state_path, prefix, auth, pairs
local queued, first, last = {}, 1, 0
-- Per staged id: which of its requests was sent last ("get", "put", "final").
local phase = {}

function init(args)
  state_path, prefix, auth = args[1], args[2], args[3]
  pairs = args[4] == "pairs"
end

local function format(method, id, body)
  local headers = { ["Authorization"] = auth }
  if body then
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, prefix .. id, headers, body)
end

local function queue(request)
  last = last + 1
  queued[last] = request
end

function request()
  if first <= last then
    local next = queued[first]
    queued[first] = nil
    first = first + 1
    return next
  end
  local headers = { ["Content-Type"] = "application/json" }
  return wrk.format("POST", state_path, headers, '{"state": "approved", "action": "setup"}')
end

function response(status, headers, body)
  local staged = body:match('"id"%s*:%s*"([%x%-]+)"')
  if staged then
    if pairs then
      phase[staged] = "put"
      queue(format("PUT", staged, '{"status": "Completed"}'))
    else
      phase[staged] = "get"
      queue(format("GET", staged))
    end
    return
  end
  local id = body:match('"Uuid"%s*:%s*"([%x%-]+)"')
  if not id then
    return
  end
  local sent = phase[id]
  if sent == "get" then
    phase[id] = "put"
    queue(format("PUT", id, '{"status": "Completed"}'))
  elseif sent == "put" and not pairs then
    phase[id] = "final"
    queue(format("GET", id))
  else
    phase[id] = nil
  end
end
