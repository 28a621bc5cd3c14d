-- B1: POST /v1/applications, every request a different person (valid resident ID, its own
-- phone and Idempotency-Key), signed in as one of the bench workers ($BENCH_TOKENS), working in
-- one of the busy county's townships and villages ($BENCH_REGIONS). Person numbers start at
-- $BENCH_PERSON_OFFSET + thread id * 1 000 000, so runs with different offsets never collide.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

local tokens, regions, counter, offset
local OCCUPATIONS = { "delivery_rider", "delivery_rider", "courier", "courier", "ride_hailing_driver",
  "truck_driver", "domestic_worker", "cleaner" }

function init(args)
  tokens = read_lines(os.getenv("BENCH_TOKENS"))
  regions = read_lines(os.getenv("BENCH_REGIONS"))
  counter = 0
  offset = tonumber(os.getenv("BENCH_PERSON_OFFSET") or "0") + tid * 1000000
end

function request()
  counter = counter + 1
  local p = offset + counter
  local body = string.format(
    '{"name":"张三","resident_id":"%s","phone":"13%09d","ethnicity":"han","education":"senior_high",' ..
    '"political_status":"masses","household_type":"agricultural","employment_status":"flexible",' ..
    '"occupation":"%s","employer_name":"巫山县某配送站","platform":"某平台","work_region":"%s",' ..
    '"work_address":"巫山县高唐街道广东中路%d号","consent":{"privacy_notice_version":"2026-01","sensitive_data":true}}',
    resident_id(p), p % 1000000000, OCCUPATIONS[counter % #OCCUPATIONS + 1],
    regions[counter % #regions + 1], counter % 500 + 1)
  return wrk.format("POST", "/v1/applications", {
    ["Authorization"] = "Bearer " .. tokens[counter % #tokens + 1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%d", p),
  }, body)
end
