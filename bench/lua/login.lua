-- B3: POST /v1/auth/wechat with a fresh wx.login code each time, for 10 000 returning workers
-- (the provider stub turns `<user>.<anything>` into the openid `o_stub_<user>`): code exchange
-- at the stub, account look-up (created on a worker's first login), session in Redis, tokens.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local counter

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local body = string.format('{"code":"bench%d.%d-%d"}', (counter * 7 + tid) % 10000, tid, counter)
  return wrk.format("POST", "/v1/auth/wechat", { ["Content-Type"] = "application/json" }, body)
end
