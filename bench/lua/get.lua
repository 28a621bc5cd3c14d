-- B2: GET of one URL with the admin's bearer token (wrk -H); only the summary is ours.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
