-- B4: POST /v1/admin/applications/{id}/approve as the busy county's manager ($BENCH_TOKEN),
-- each request a different pending application of its subtree ($BENCH_IDS: `id version` per
-- line); thread i takes lines i, i + n, ... When a thread runs out it starts again, and those
-- repeats answer 409 (counted as non-2xx): the script provides more ids than a run approves.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local ids, counter, token, threads

function init(args)
  threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  ids = {}
  local all = read_lines(os.getenv("BENCH_IDS"))
  for i = 1 + tid, #all, threads do
    ids[#ids + 1] = all[i]
  end
  token = os.getenv("BENCH_TOKEN")
  counter = 0
end

function request()
  counter = counter + 1
  local id, version = string.match(ids[(counter - 1) % #ids + 1], "(%S+)%s+(%d+)")
  return wrk.format("POST", "/v1/admin/applications/" .. id .. "/approve", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, '{"version":' .. version .. '}')
end
