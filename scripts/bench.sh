#!/usr/bin/env bash
# make bench: the speed of the real flows, as ratios to what this machine can do (BENCHMARKS.md).
#   scripts/bench.sh
#
# 1. tools: wrk (apt), pgbench (postgresql-15), redis-benchmark (redis-tools); release build
# 2. a fresh database $BENCH_DB (default zhijian_bench): migrations, regions, demo county
# 3. its own provider stub and server (release, one worker per core, outbox jobs off), on free
#    ports, Redis database $BENCH_REDIS_DB (default 9, flushed at the start and the end)
# 4. for each size of BENCH_SIZES: `zhijian-dev generate --applications SIZE`, then B2 (the busy
#    county manager's queue: first page and a page 90 % deep)
# 5. on the largest data set: B1 (submit, wrk) against pgbench doing the same INSERTs, B1 at a
#    fixed rate and at half of it (bench/fixed_rate.py), B4 (approvals), B3 (WeChat login)
#    against redis-benchmark
# 5b. B3 against its floor and its parts: GET /healthz on the same server and the provider stub's
#    jscode2session alone, with the same wrk settings (login/s ÷ each); CPU per login by part
# 5c. around every wrk and pgbench measurement of B1, B3 and B4: the bench database's
#    pg_stat_statements (reset before, read after: statements, round trips, planning vs
#    execution time per request, the statements themselves) — the extension is created in
#    $BENCH_DB only and tracks that database only (`ALTER DATABASE … SET pg_stat_statements.track`)
# 5d. B1 against its own SQL: pgbench replays bench/sql/submit.sql
#    (the statements the server sends, kept equal to them by a test) with fresh parameters
# 6. the server's peak RSS (VmHWM); bench/results/<UTC time>.json and a table on stdout
# 6b. B6: the coverage overview at each size (root, city, county), and B4 again with the
#    counters' rows out of the way (approvals/s with counters ÷ without)
# 7. B9: a union whose subtree holds $BENCH_MOVE_APPLICATIONS applications (and a tenth as many
#    members) moved under another county (`zhijian-dev bench-move`): the move's time, its
#    batches and its longest transaction
# 8. B5 (export): BENCH_EXPORT_MEMBERS members gathered under the busy county (the last step: it
#    moves them), exported as CSV and XLSX against `COPY (the same SELECT) TO STDOUT`, with the
#    server's RSS sampled during the export (bench/export.py)
#
# Knobs: BENCH_SIZES (10000,1000000,10000000), BENCH_DURATION (15 s per measurement),
#        BENCH_CONNECTIONS (16), BENCH_THREADS (2), BENCH_RATE (1000 req/s), BENCH_POOL_SIZE (6),
#        BENCH_WORKERS (nproc), BENCH_DB (zhijian_bench, dropped at the end unless
#        BENCH_KEEP_DB=1), BENCH_REDIS_DB (9), BENCH_MOVE_APPLICATIONS (100000),
#        BENCH_MOVE_BATCH (5000), BENCH_EXPORT_MEMBERS (1000000), BENCH_BIN_DIR (prebuilt
#        zhijian, zhijian-dev and zhijian-provider-stub to measure instead of building: a
#        "before" build), B8_WORKERS (2000), B8_REVIEWERS (20), B8_SECONDS (60), B8=0 skips B8.
# Logs and raw figures: .zhijian/bench/
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES="${BENCH_SIZES:-10000,1000000,10000000}"
DURATION="${BENCH_DURATION:-15}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
THREADS="${BENCH_THREADS:-2}"
RATE="${BENCH_RATE:-1000}"
POOL="${BENCH_POOL_SIZE:-6}"
WORKERS="${BENCH_WORKERS:-$(nproc)}"
DB="${BENCH_DB:-zhijian_bench}"
REDIS_DB="${BENCH_REDIS_DB:-9}"
PROFILE=release
export PROFILE
OUT="$ZJ_STATE/bench"
RAW="$OUT/raw"
export BENCH_LUA="$ZJ_ROOT/bench/lua"
PGBENCH="$PG_BIN/pgbench"

SERVER_PID=""
STUB_B_PORT=""
PORT=""
ZJ=""

cleanup() {
    local rc=$?
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        stop_pid "$SERVER_PID" || true
    fi
    if [ -n "$STUB_B_PORT" ]; then
        "$ZJ_ROOT/scripts/stub.sh" stop "$STUB_B_PORT" || true
        mv -f "$ZJ_STATE/stub-$STUB_B_PORT.log" "$OUT/stub.log" 2>/dev/null || true
    fi
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP_DB:-0}" != 1 ]; then # 10 M applications take 18 GB of disk
        zj_psql postgres -qc "drop database if exists $DB with (force)" >/dev/null 2>&1 || true
    fi
    exit "$rc"
}

ensure_tools() {
    local missing=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
    [ -x "$PGBENCH" ] || missing+=(postgresql-15)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

json_field() {
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# The line `BENCH_JSON {...}` of a tool's output, saved as $RAW/$1.json.
save_json() {
    local name="$1" file="$2"
    grep '^BENCH_JSON ' "$file" | tail -n 1 | cut -d' ' -f2- >"$RAW/$name.json"
    [ -s "$RAW/$name.json" ] || die "no figures in $file"
}

psql_bench() { zj_psql "$DB" -qAt "$@"; }

# CPU seconds used so far by each part of the system: the server, every PostgreSQL process,
# Redis and the provider stub (the load generators are what is left of the cores).
cpu_seconds() {
    python3 "$ZJ_ROOT/bench/report.py" cpu "$SERVER_PID" "$(cat "$ZJ_STATE/stub-$STUB_B_PORT.pid" 2>/dev/null || echo 0)"
}

# cpu_between NAME BEFORE_JSON: writes $RAW/NAME_cpu.json, the CPU seconds each part used since
# BEFORE_JSON was taken.
# The bench database's statement counters, zeroed before a measurement…
stmt_reset() {
    psql_bench -c "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)" >/dev/null
}

# …and read after it into $RAW/NAME_statements.json: calls (round trips: every statement the
# server sent, BEGIN and COMMIT included), plans and their time, execution time, and the
# statements by calls. The readers' own statements are left out.
stmt_collect() {
    psql_bench -c "
WITH s AS (SELECT * FROM pg_stat_statements
           WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND query NOT LIKE '%pg_stat_statements%'),
     top AS (SELECT calls, plans, round(total_plan_time::numeric, 3) AS plan_ms,
                    round(total_exec_time::numeric, 3) AS exec_ms, rows,
                    left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
             FROM s ORDER BY calls DESC, total_exec_time DESC LIMIT 25)
SELECT json_build_object(
    'calls', COALESCE(sum(calls), 0),
    'transaction_control', COALESCE(sum(calls) FILTER (WHERE query ~* '^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)'), 0),
    'plans', COALESCE(sum(plans), 0),
    'plan_ms', round(COALESCE(sum(total_plan_time), 0)::numeric, 3),
    'exec_ms', round(COALESCE(sum(total_exec_time), 0)::numeric, 3),
    'distinct_statements', count(*),
    'top', (SELECT json_agg(top) FROM top))
FROM s" >"$RAW/$1_statements.json"
}

cpu_between() {
    python3 -c 'import json, sys; a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2]); print(json.dumps({k: round(b[k] - a[k], 2) for k in a}))' \
        "$2" "$(cpu_seconds)" >"$RAW/$1_cpu.json"
}

start_server() {
    export_server_env "$PORT" "$STUB_B_PORT" "$DB"
    export RUST_LOG="${BENCH_RUST_LOG:-warn}"
    export APP__REDIS__URL="redis://127.0.0.1:$REDIS_PORT/$REDIS_DB"
    export APP__REDIS__NAMESPACE=zjbench
    export APP__SERVER__WORKERS="$WORKERS"
    export APP__DATABASE__POOL_SIZE="$POOL"
    export APP__OUTBOX__ENABLED=false
    export APP__SMS__PROVIDER=log
    log "starting the bench server on http://127.0.0.1:$PORT ($WORKERS workers, pool $POOL; log: $OUT/server.log)"
    "$ZJ" serve >"$OUT/server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    local deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || {
            tail -n 30 "$OUT/server.log" >&2
            die "the bench server exited"
        }
        [ "$SECONDS" -lt "$deadline" ] || die "the bench server does not answer after 60 s"
        sleep 0.2
    done
}

base() { echo "http://127.0.0.1:$PORT"; }

# The demo manager's access token: password, then the code of its demo TOTP secret (managers
# have a second factor; scripts/totp.py --demo computes the code). A code works once per
# 30-second window: a second sign-in within the window waits for the next one.
admin_token() {
    local challenge token attempt cache="$OUT/admin.token"
    # One sign-in serves ten minutes (tokens live 15): a second sign-in within the same 30 s
    # window would reuse the TOTP code, which the server refuses.
    if [ -s "$cache" ] && [ $(($(date +%s) - $(stat -c %Y "$cache"))) -lt 600 ]; then
        cat "$cache"
        return 0
    fi
    for attempt in 1 2; do
        challenge="$(curl -fsS -X POST "$(base)/v1/admin/auth/login" -H 'content-type: application/json' \
            -d "{\"username\":\"wushan-manager\",\"password\":\"$(demo_password)\"}" | json_field challenge)"
        if token="$(curl -fsS -X POST "$(base)/v1/admin/auth/second-factor" -H 'content-type: application/json' \
            -d "{\"challenge\":\"$challenge\",\"code\":\"$("$ZJ_ROOT/scripts/totp.py" --demo wushan-manager)\"}" |
            json_field access_token)" && [ -n "$token" ]; then
            echo "$token" | tee "$cache"
            return 0
        fi
        [ "$attempt" = 2 ] || sleep 30
    done
    return 1
}

# wrk NAME SCRIPT URL [wrk args...]: one measurement, figures in $RAW/NAME.json.
run_wrk() {
    local name="$1" script="$2" url="$3"
    shift 3
    local shown="$*"
    [[ "$shown" != *Bearer* ]] || shown="${shown%%Bearer *}Bearer …"
    log "$name: wrk $shown -d ${DURATION}s ${url%%cursor=*}…"
    local before
    stmt_reset
    before="$(cpu_seconds)"
    wrk --latency -s "$BENCH_LUA/$script" -d "${DURATION}s" --timeout 10s "$@" "$url" >"$OUT/$name.txt" 2>&1 || {
        cat "$OUT/$name.txt" >&2
        die "wrk failed ($name)"
    }
    cpu_between "$name" "$before"
    stmt_collect "$name"
    save_json "$name" "$OUT/$name.txt"
}

# B2 at the current size: first page and a page 90 % into the busy county's queue.
bench_queue() {
    local size="$1" token scope pending cursor
    token="$(admin_token)"
    scope="$(psql_bench -c "SELECT path FROM unions WHERE region_code = '500237' AND kind = 'federation' ORDER BY id LIMIT 1")"
    pending="$(psql_bench -c "SELECT count(*) FROM applications a JOIN unions u ON u.id = a.union_id WHERE u.path LIKE '$scope%' AND a.status = 'pending_review' AND a.due_at IS NOT NULL")"
    cursor="$(psql_bench -c "SELECT (extract(epoch FROM a.due_at) * 1000000)::bigint || '|' || a.id FROM applications a JOIN unions u ON u.id = a.union_id WHERE u.path LIKE '$scope%' AND a.status = 'pending_review' AND a.due_at IS NOT NULL ORDER BY a.due_at, a.id OFFSET (floor($pending * 0.9))::bigint LIMIT 1" |
        python3 -c 'import base64, sys; print(base64.urlsafe_b64encode(sys.stdin.read().strip().encode()).decode().rstrip("="))')"
    local first deep
    first="$(base)/v1/admin/applications?limit=20"
    deep="$(base)/v1/admin/applications?limit=20&cursor=$cursor"
    for url in "$first" "$deep"; do
        curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$url" || die "GET $url failed"
    done
    explain_queue "$size" "$scope"
    for url in "$first" "$deep"; do # warm-up: caches and connections, not measured
        wrk -t1 -c1 -d3s -H "Authorization: Bearer $token" "$url" >/dev/null 2>&1
    done
    run_wrk "b2_${size}_first" get.lua "$first" -t1 -c1 -H "Authorization: Bearer $token"
    run_wrk "b2_${size}_deep" get.lua "$deep" -t1 -c1 -H "Authorization: Bearer $token"
    printf '{"size": %s, "county_pending": %s, "scope": "%s"}\n' "$size" "$pending" "$scope" >"$RAW/b2_${size}_meta.json"
}

# B7: "nearest 20 within 1 km" among service stations spread over China
# (devtools/src/stations.rs), timed by `zhijian-dev bench-nearby` with the server's prepared
# statement. The table first holds the stations of a universe of $B7_UNIVERSE (1 000 000)
# inside the query areas — about 1 000, each area as dense as in the universe — then all of
# the universe: the queries in the areas read the same stations at both sizes, so their p50
# ratio measures the index (p50_us); the queries spread over China give the p50 at 1 M
# (spread_p50_us).
bench_stations() {
    local n universe="${B7_UNIVERSE:-1000000}"
    for n in 1000 1000000; do
        log "B7: $n stations"
        "$(dirname "$ZJ")/zhijian-dev" generate-stations "$([ "$n" = 1000000 ] && echo "$universe" || echo "$n")" "$universe" | tee -a "$OUT/generate.log" >&2
        "$(dirname "$ZJ")/zhijian-dev" bench-nearby 3000 "$universe" >"$OUT/b7_$n.txt"
        save_json "b7_$n" "$OUT/b7_$n.txt"
    done
}

# The plan of the queue's id statement — the one the server runs (`zhijian-dev explain-queue`,
# infra/src/store/applications.rs::explain_queue) — kept with the logs.
explain_queue() {
    "$(dirname "$ZJ")/zhijian-dev" explain-queue "$2" >"$OUT/explain_queue_$1.txt"
}

# Sign in bench workers through the stub; their access tokens, one per line.
worker_tokens() {
    local i
    : >"$OUT/tokens.txt"
    for i in $(seq 1 50); do
        curl -fsS -X POST "$(base)/v1/auth/wechat" -H 'content-type: application/json' \
            -d "{\"code\":\"benchworker$i.$RANDOM\"}" | json_field access_token >>"$OUT/tokens.txt"
    done
}

bench_submit() {
    export BENCH_TOKENS="$OUT/tokens.txt" BENCH_REGIONS="$OUT/regions.txt"
    worker_tokens
    psql_bench -c "SELECT code FROM regions WHERE code LIKE '500237%' AND level IN (4, 5) ORDER BY code" >"$BENCH_REGIONS"
    local url
    url="$(base)/v1/applications"
    log "B1 warm-up (3 s)"
    BENCH_PERSON_OFFSET=0 wrk -s "$BENCH_LUA/submit.lua" -d 3s -t "$THREADS" -c "$CONNECTIONS" "$url" >"$OUT/b1_warmup.txt" 2>&1
    BENCH_PERSON_OFFSET=2000000 run_wrk b1_wrk submit.lua "$url" -t "$THREADS" -c "$CONNECTIONS"

    local account union cipher
    account="$(psql_bench -c "SELECT id FROM accounts WHERE wechat_openid = 'o_stub_benchworker1'")"
    union="$(psql_bench -c "SELECT id FROM unions WHERE region_code = '500237001' AND kind = 'joint' ORDER BY id LIMIT 1")"
    cipher="$(psql_bench -c "SELECT resident_id_cipher FROM applications ORDER BY submitted_at DESC LIMIT 1")"
    log "B1 baseline: pgbench -c $CONNECTIONS -j $THREADS -T $DURATION -M prepared -f bench/pgbench/submit.sql"
    rm -f "$OUT"/pgbench_log*
    local before
    stmt_reset
    before="$(cpu_seconds)"
    (cd "$OUT" && "$PGBENCH" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared \
        -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" -l --log-prefix=pgbench_log \
        -D "account=$account" -D "union_id=$union" -D "cipher=$cipher" \
        -f "$ZJ_ROOT/bench/pgbench/submit.sql" "$DB") >"$OUT/b1_pgbench.txt" 2>&1 || {
        cat "$OUT/b1_pgbench.txt" >&2
        die "pgbench failed"
    }
    cpu_between b1_pgbench "$before"
    stmt_collect b1_pgbench
    python3 "$ZJ_ROOT/bench/report.py" pgbench "$OUT/b1_pgbench.txt" "$OUT" >"$RAW/b1_pgbench.json"
    # The baseline's rows carry a sealed value the server cannot open (sealed for another
    # application): out of the queue before B4 and B8 approve from it (they have no timeline).
    psql_bench -c "DELETE FROM outbox o USING applications a WHERE o.aggregate_id = a.id::text AND NOT EXISTS (SELECT 1 FROM application_events e WHERE e.application_id = a.id)" \
        -c "DELETE FROM applications a WHERE NOT EXISTS (SELECT 1 FROM application_events e WHERE e.application_id = a.id)" >/dev/null ||
        log "could not remove the two-row baseline's rows"

    # B1 against its own SQL (bench/sql/submit.sql), from the last submission B1 made.
    bench_submit_own

    fixed_rate b1_fixed "$RATE" 6000000
    # The same at half the rate: the latency of a server that is not at its limit.
    fixed_rate b1_fixed_half "$((RATE / 2))" 8000000
}

# pgbench_own NAME SCRIPT: pgbench replaying bench/sql/SCRIPT — the statements the server sends
# for one request (a test keeps them equal), with fresh parameters made by the script's own
# statements from the template tables below — with as many clients as the server's pool, figures in
# $RAW/NAME.json, statements in $RAW/NAME_statements.json.
pgbench_own() {
    local name="$1" script="$2"
    # As many clients as the server has database connections (its pool): the server never runs
    # more statements at once, and more clients only queue on the counters' rows.
    log "$name: pgbench -c $POOL -j $THREADS -T $DURATION -M prepared -f bench/sql/$script"
    rm -f "$OUT"/pgbench_log*
    stmt_reset
    local before
    before="$(cpu_seconds)"
    (cd "$OUT" && "$PGBENCH" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared \
        -c "$POOL" -j "$THREADS" -T "$DURATION" -l --log-prefix=pgbench_log \
        -f "$ZJ_ROOT/bench/sql/$script" "$DB") >"$OUT/$name.txt" 2>&1 || {
        tail -n 30 "$OUT/$name.txt" >&2
        log "pgbench failed ($name): no figure"
        return 0
    }
    cpu_between "$name" "$before"
    stmt_collect "$name"
    python3 "$ZJ_ROOT/bench/report.py" pgbench "$OUT/$name.txt" "$OUT" >"$RAW/$name.json"
}

# The replays' parameters: one real submission (the last the server answered) and the busy
# county's pending applications, one per replayed approval (bench/sql/*.sql read them).
replay_templates() {
    psql_bench -f "$ZJ_ROOT/bench/sql/templates.sql" >/dev/null
}

# B1's replay of its own SQL; a failure costs its figure, not the run.
bench_submit_own() {
    if replay_templates; then
        pgbench_own b1_pgbench_own submit.sql
    else
        log "bench/sql/templates.sql failed: no replay of B1's own SQL"
    fi
}

# fixed_rate NAME RATE PERSON_OFFSET: B1 at a fixed rate (open loop), figures in $RAW/NAME.json.
fixed_rate() {
    local name="$1" rate="$2" offset="$3"
    log "$name: bench/fixed_rate.py --rate $rate --duration $DURATION"
    python3 "$ZJ_ROOT/bench/fixed_rate.py" --url "$(base)" --rate "$rate" --duration "$DURATION" \
        --connections 64 --tokens "$BENCH_TOKENS" --regions "$BENCH_REGIONS" --offset "$offset" \
        >"$OUT/$name.txt" 2>&1 || {
        cat "$OUT/$name.txt" >&2
        die "fixed-rate run failed ($name)"
    }
    save_json "$name" "$OUT/$name.txt"
}

bench_approve() {
    local scope
    scope="$(psql_bench -c "SELECT path FROM unions WHERE region_code = '500237' AND kind = 'federation' ORDER BY id LIMIT 1")"
    psql_bench -F ' ' -c "SELECT a.id, a.version FROM applications a JOIN unions u ON u.id = a.union_id WHERE u.path LIKE '$scope%' AND a.status = 'pending_review' ORDER BY a.submitted_at DESC LIMIT 200000" >"$OUT/approve_ids.txt"
    log "B4: $(wc -l <"$OUT/approve_ids.txt") pending applications to approve"
    BENCH_IDS="$OUT/approve_ids.txt" BENCH_TOKEN="$(admin_token)" BENCH_THREADS="$THREADS" \
        run_wrk b4_wrk approve.lua "$(base)" -t "$THREADS" -c "$CONNECTIONS"
}

# B9: moving a union with BENCH_MOVE_APPLICATIONS applications under another county.
bench_move() {
    local n="${BENCH_MOVE_APPLICATIONS:-100000}" batch="${BENCH_MOVE_BATCH:-5000}"
    log "B9: zhijian-dev bench-move --applications $n --batch-size $batch"
    "$(dirname "$ZJ")/zhijian-dev" bench-move --applications "$n" --batch-size "$batch" >"$OUT/b9_move.txt" 2>&1 || {
        cat "$OUT/b9_move.txt" >&2
        die "bench-move failed"
    }
    save_json b9_move "$OUT/b9_move.txt"
}

# B5: a member register of BENCH_IMPORT_ROWS rows imported (parse, check, encrypt, COPY, commit)
# against a raw COPY of the same rows into the same tables, with the peak RSS of the importer.
bench_import() {
    local n="${BENCH_IMPORT_ROWS:-1000000}"
    log "B5: zhijian-dev bench-import --rows $n"
    "$(dirname "$ZJ")/zhijian-dev" bench-import --rows "$n" >"$OUT/b5_import.txt" 2>&1 || {
        cat "$OUT/b5_import.txt" >&2
        die "bench-import failed"
    }
    save_json b5_import "$OUT/b5_import.txt"
}

# B5 (export): BENCH_EXPORT_MEMBERS members under the busy county, exported against COPY TO.
bench_export() {
    local n="${BENCH_EXPORT_MEMBERS:-1000000}"
    log "B5 export: $n members, bench/export.py"
    python3 "$ZJ_ROOT/bench/export.py" --base "$(base)" --token "$(admin_token)" \
        --server-pid "$SERVER_PID" --psql "$PG_BIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -d $DB" \
        --zhijian-dev "$(dirname "$ZJ")/zhijian-dev" --members "$n" >"$OUT/b5_export.txt" 2>&1 || {
        cat "$OUT/b5_export.txt" >&2
        die "bench/export.py failed"
    }
    save_json b5_export "$OUT/b5_export.txt"
}

# B3 and its two references, back to back with the same wrk settings: the login, the same
# server's GET /healthz (the framework's floor: routing, one HTTP exchange, no I/O), and the
# provider stub's jscode2session alone (the part of a login that is the stub's).
bench_login() {
    run_wrk b3_wrk login.lua "$(base)/v1/auth/wechat" -t "$THREADS" -c "$CONNECTIONS"
    run_wrk b3_healthz get.lua "$(base)/healthz" -t "$THREADS" -c "$CONNECTIONS"
    run_wrk b3_stub stub_login.lua "http://127.0.0.1:$STUB_B_PORT/sns/jscode2session" -t "$THREADS" -c "$CONNECTIONS"
}

# B6 at the current size: the coverage overview at the root with the most members, its busiest
# city and 巫山县, timed by `zhijian-dev bench-overview` with the server's statements.
bench_overview() {
    local size="$1"
    log "B6: coverage overview at $size applications"
    "$(dirname "$ZJ")/zhijian-dev" bench-overview "${BENCH_OVERVIEW_QUERIES:-300}" >"$OUT/b6_$size.txt"
    save_json "b6_$size" "$OUT/b6_$size.txt"
}

# B6's other half: B4 again with the coverage counters' rows out of the way (`union_chain`
# answers no union, so each counter statement runs but writes no row), to compare approvals/s.
bench_approve_without_counters() {
    local definition
    definition="$(psql_bench -c "SELECT pg_get_functiondef('union_chain(bigint)'::regprocedure)")"
    psql_bench -c "CREATE OR REPLACE FUNCTION union_chain(u bigint) RETURNS bigint[] LANGUAGE sql STABLE AS 'SELECT ''{}''::bigint[]'" >/dev/null
    local scope
    scope="$(psql_bench -c "SELECT path FROM unions WHERE region_code = '500237' AND kind = 'federation' ORDER BY id LIMIT 1")"
    psql_bench -F ' ' -c "SELECT a.id, a.version FROM applications a JOIN unions u ON u.id = a.union_id WHERE u.path LIKE '$scope%' AND a.status = 'pending_review' ORDER BY a.submitted_at DESC LIMIT 200000" >"$OUT/approve_ids.txt"
    log "B4 without counters: $(wc -l <"$OUT/approve_ids.txt") pending applications to approve"
    BENCH_IDS="$OUT/approve_ids.txt" BENCH_TOKEN="$(admin_token)" BENCH_THREADS="$THREADS" \
        run_wrk b4_wrk_without_counters approve.lua "$(base)" -t "$THREADS" -c "$CONNECTIONS"
    psql_bench -c "$definition" >/dev/null
}

# B8, a campaign-day burst (bench/burst.py): B8_WORKERS workers sign in and submit within
# B8_SECONDS while B8_REVIEWERS reviewers work the busy county's queue and a bulk client submits;
# then every acknowledged submission is looked up in the database (exactly once), and the
# server's RSS is read. Figures in $RAW/b8.json, every request in $OUT/b8_requests.csv, the
# plot of latency over time in bench/results/ beside the JSON (by report.py assemble).
bench_burst() {
    local workers="${B8_WORKERS:-2000}" reviewers="${B8_REVIEWERS:-20}" seconds="${B8_SECONDS:-60}"
    [ -s "$OUT/regions.txt" ] ||
        psql_bench -c "SELECT code FROM regions WHERE code LIKE '500237%' AND level IN (4, 5) ORDER BY code" >"$OUT/regions.txt"
    log "B8: $workers workers sign in and submit within ${seconds}s, $reviewers reviewers, a bulk client"
    stmt_reset
    local before
    before="$(cpu_seconds)"
    python3 "$ZJ_ROOT/bench/burst.py" --url "$(base)" --admin-token "$(admin_token)" \
        --regions "$OUT/regions.txt" --out "$OUT" --workers "$workers" --reviewers "$reviewers" \
        --seconds "$seconds" >"$OUT/b8.txt" 2>&1 || {
        cat "$OUT/b8.txt" >&2
        die "bench/burst.py failed"
    }
    cpu_between b8 "$before"
    stmt_collect b8
    save_json b8 "$OUT/b8.txt"
    # Exactly once: every acknowledged id is one row, and the burst's idempotency keys hold
    # no row that was not acknowledged.
    local ids found keys
    ids="$(grep -c . "$OUT/b8_acknowledged.txt" || true)"
    found="$(grep . "$OUT/b8_acknowledged.txt" | psql_bench -c "CREATE TEMP TABLE acknowledged (id uuid)" \
        -c "COPY acknowledged FROM STDIN" \
        -c "SELECT count(*) FROM applications a JOIN (SELECT DISTINCT id FROM acknowledged) k ON k.id = a.id" | tail -n 1)"
    keys="$(psql_bench -c "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'burst-%'" 2>/dev/null || echo null)"
    local rss
    rss="$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status")"
    printf '{"acknowledged": %s, "found_in_db": %s, "idempotency_rows": %s, "server_rss_kb": %s}\n' \
        "$ids" "$found" "$keys" "$rss" >"$RAW/b8_check.json"
    cp "$OUT/b8_latency.svg" "$RAW/b8_latency.svg"
}

machine_json() {
    python3 - <<'EOF'
import json, os, platform, subprocess, sys
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
mem_kb = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
print(json.dumps({
    "nproc": os.cpu_count(),
    "cpu": sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p'"),
    "ram_gib": round(mem_kb / 1024 / 1024, 1),
    "kernel": platform.release(),
    "postgres": sh(os.environ["PG_BIN"] + "/postgres --version"),
    "redis": sh("redis-server --version | cut -d' ' -f3"),
    "wrk": sh("wrk -v 2>&1 | head -n 1"),
    "commit": sh("git -C " + os.environ["ZJ_ROOT"] + " rev-parse --short HEAD"),
    "dirty": bool(sh("git -C " + os.environ["ZJ_ROOT"] + " status --porcelain --untracked-files=no")),
}))
EOF
}

main() {
    cd "$ZJ_ROOT"
    "$ZJ_ROOT/scripts/deps.sh"
    ensure_tools
    "$ZJ_ROOT/scripts/db.sh" up
    "$ZJ_ROOT/scripts/secrets.sh"
    if [ -n "${BENCH_BIN_DIR:-}" ]; then
        log "measuring the binaries in $BENCH_BIN_DIR (no build)"
        export STUB_BIN="$BENCH_BIN_DIR/zhijian-provider-stub"
    else
        build_bins "$PROFILE"
    fi
    rm -rf "$OUT"
    install -d -m 0755 "$OUT" "$RAW"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    local started=$SECONDS

    STUB_B_PORT="$(free_port)"
    "$ZJ_ROOT/scripts/stub.sh" start "$STUB_B_PORT"
    PORT="$(free_port)"
    [ "$PORT" != "$STUB_B_PORT" ] || PORT="$(free_port)"
    ZJ="${BENCH_BIN_DIR:+$BENCH_BIN_DIR/zhijian}"
    ZJ="${ZJ:-$(bin_path "$PROFILE" zhijian)}"

    log "recreating database $DB"
    zj_psql postgres -qc "drop database if exists $DB with (force)" >/dev/null
    zj_psql postgres -qc "create database $DB" >/dev/null
    # Statement counters for this database only (the cluster preloads pg_stat_statements with
    # tracking off: scripts/db.sh). New sessions of $DB pick the settings up.
    [ "$(zj_psql postgres -tAc "show shared_preload_libraries")" = pg_stat_statements ] ||
        die "pg_stat_statements is not preloaded: run scripts/db.sh up (it restarts PostgreSQL once)"
    zj_psql postgres -qc "alter database $DB set pg_stat_statements.track = top" \
        -c "alter database $DB set pg_stat_statements.track_planning = on" >/dev/null
    psql_bench -c "create extension if not exists pg_stat_statements" >/dev/null
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null
    export_server_env "$PORT" "$STUB_B_PORT" "$DB"
    prepare_db "$ZJ" "$DB" >"$OUT/prepare.log"
    start_server

    local size t0 sizes_done=()
    IFS=, read -r -a sizes <<<"$SIZES"
    for size in "${sizes[@]}"; do
        log "generating: zhijian-dev generate --applications $size"
        t0=$SECONDS
        "$(dirname "$ZJ")/zhijian-dev" generate --applications "$size" | tee -a "$OUT/generate.log" >&2
        printf '{"size": %s, "seconds": %s}\n' "$size" "$((SECONDS - t0))" >"$RAW/gen_$size.json"
        bench_queue "$size"
        bench_overview "$size"
        sizes_done+=("$size")
    done
    # BENCH_STEPS (all by default) picks steps for a short comparison run.
    local steps="${BENCH_STEPS:-submit,approve,login,burst,move,stations,import,export}"
    step() { [[ ",$steps," == *",$1,"* ]]; }
    if step submit; then bench_submit; fi
    if step approve; then
        bench_approve
        bench_approve_without_counters
    fi
    if step login; then bench_login; fi
    if step burst && [ "${B8:-1}" != 0 ]; then bench_burst; fi
    if step move; then bench_move; fi
    if step stations; then bench_stations; fi
    if step import; then bench_import; fi
    if step export; then bench_export; fi

    local hwm
    hwm="$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status")"
    printf '{"server_vmhwm_kb": %s}\n' "$hwm" >"$RAW/rss.json"
    PG_BIN="$PG_BIN" ZJ_ROOT="$ZJ_ROOT" machine_json >"$RAW/machine.json"
    printf '{"sizes": [%s], "duration_s": %s, "connections": %s, "threads": %s, "rate": %s, "pool_size": %s, "workers": %s, "total_s": %s}\n' \
        "$(IFS=,; echo "${sizes_done[*]}")" "$DURATION" "$CONNECTIONS" "$THREADS" "$RATE" "$POOL" "$WORKERS" "$((SECONDS - started))" >"$RAW/settings.json"
    python3 "$ZJ_ROOT/bench/report.py" assemble "$RAW" "$ZJ_ROOT/bench/results"
}

main "$@"
