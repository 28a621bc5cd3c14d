-- B3's part at the provider stub: GET /sns/jscode2session alone, a fresh code each time, with the
-- credentials the stub accepts by default (the bench server's login sends the same request).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local counter

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local path = string.format(
    "/sns/jscode2session?appid=wx-stub-appid&secret=stub-wechat-secret&js_code=stubonly%d.%d-%d&grant_type=authorization_code",
    (counter * 7 + tid) % 10000, tid, counter)
  return wrk.format("GET", path)
end
