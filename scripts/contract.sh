#!/usr/bin/env bash
# Contract tests: schemathesis runs openapi.yaml against a real zhijian server.
#   scripts/contract.sh        (make contract; also the last step of make test)
#
# 1. venv .zhijian/venv with schemathesis 4.x (installed once)
# 2. builds the binaries (PROFILE, default debug: reuses the build of `cargo test`)
# 3. its own provider stub and server, each on a free port, against a fresh database
#    zhijian_contract (dropped, created, migrated, regions imported, demo seeded)
# 4. optional auth: if scripts/contract-tokens.sh exists it is run (with the server's environment
#    plus ZHIJIAN_BASE_URL) and every non-empty stdout line `Name: value` becomes a request header
# 5. st run openapi.yaml --url http://127.0.0.1:PORT --checks all ...; exits non-zero on any
#    failed check (5xx, schema or status-code mismatch, ...) or if the server dies
# 6. bench/contract_coverage.py: per operation, the statuses the server answered during the run
#    (its log from the offset where schemathesis started); fails when fewer than
#    ZJ_CONTRACT_MIN_2XX % (default 90) of the operations reached a 2xx
# Server and stub are stopped on exit. Logs (server.log, stub.log) and JUnit report: .zhijian/contract/
#
# Knobs: ST_CHECKS (all), ST_MAX_EXAMPLES (20), ST_PHASES (examples,coverage,fuzzing,stateful),
#        ST_WORKERS (2), ST_SEED (random), ST_ARGS (extra arguments, split on spaces).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROFILE="${PROFILE:-debug}"
export PROFILE
OUT="$ZJ_STATE/contract"
DB=zhijian_contract

SERVER_PID=""
STUB_C_PORT=""

cleanup() {
    local rc=$?
    stop_server_and_stub "$OUT" "$STUB_C_PORT" "contract server"
    exit "$rc"
}

# Fill the array HEADER_ARGS with -H arguments from scripts/contract-tokens.sh, if it exists.
HEADER_ARGS=()
load_headers() {
    local helper="$ZJ_ROOT/scripts/contract-tokens.sh" out line
    if [ ! -f "$helper" ]; then
        log "no scripts/contract-tokens.sh: running without auth headers"
        return 0
    fi
    log "getting auth headers from scripts/contract-tokens.sh"
    out="$(ZHIJIAN_BASE_URL="$1" ZHIJIAN_STUB_URL="http://127.0.0.1:$STUB_C_PORT" bash "$helper")" ||
        die "scripts/contract-tokens.sh failed"
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        if [[ "$line" =~ ^[A-Z_][A-Z0-9_]*= ]]; then
            # NAME=value: exported for the ${NAME} placeholders of schemathesis.toml
            export "${line?}"
            continue
        fi
        [[ "$line" == *:* ]] || die "scripts/contract-tokens.sh printed a line that is neither 'Name: value' nor 'NAME=value'"
        HEADER_ARGS+=(-H "$line")
    done <<<"$out"
    log "using $((${#HEADER_ARGS[@]} / 2)) header(s) and the exported tokens (values not shown)"
}

run_schemathesis() {
    local url="$1"
    local args=(run "$ZJ_ROOT/openapi.yaml" --url "$url"
        --checks "${ST_CHECKS:-all}"
        --max-examples "${ST_MAX_EXAMPLES:-20}"
        --phases "${ST_PHASES:-examples,coverage,fuzzing,stateful}"
        --workers "${ST_WORKERS:-2}"
        --request-timeout 10
        --generation-database "$OUT/examples-db"
        --report junit --report-dir "$OUT/report")
    if [ -n "${ST_SEED:-}" ]; then
        args+=(--seed "$ST_SEED")
    fi
    if [ -n "${ST_ARGS:-}" ]; then
        # shellcheck disable=SC2206 # split on purpose
        args+=($ST_ARGS)
    fi
    log "st ${args[*]}"
    # from $OUT: its crash cache (.schemathesis/) stays out of the work tree; a schemathesis.toml
    # at the repo root is still found (st looks in parent directories up to the .git one)
    (cd "$OUT" && "$VENV/bin/st" "${args[@]}" "${HEADER_ARGS[@]+"${HEADER_ARGS[@]}"}")
}

main() {
    cd "$ZJ_ROOT"
    [ -f "$ZJ_ROOT/openapi.yaml" ] || die "openapi.yaml not found at the repo root"
    "$ZJ_ROOT/scripts/deps.sh"
    "$ZJ_ROOT/scripts/db.sh" up
    "$ZJ_ROOT/scripts/secrets.sh"
    ensure_venv
    log "schemathesis: $("$VENV/bin/st" --version)"
    build_bins "$PROFILE"
    install -d -m 0755 "$OUT"

    trap cleanup EXIT
    trap 'exit 130' INT TERM

    STUB_C_PORT="$(free_port)"
    "$ZJ_ROOT/scripts/stub.sh" start "$STUB_C_PORT"
    local port zj
    port="$(free_port)"
    [ "$port" != "$STUB_C_PORT" ] || port="$(free_port)"
    zj="$(bin_path "$PROFILE" zhijian)"

    recreate_db "$DB"
    export_server_env "$port" "$STUB_C_PORT" "$DB"
    # SMS through the stub's signed Tencent endpoint, so the fixtures can read codes (/__stub/sms)
    # Schemathesis calls the public routes far faster than a person: lift their per-IP caps
    # (the caps themselves are tested in integration-tests/tests/api/reference.rs).
    export APP__PUBLIC_LIMITS__CARDS_VERIFY_PER_IP__LIMIT=100000
    export APP__PUBLIC_LIMITS__REFERENCE_PER_IP__LIMIT=100000
    # The partner token buckets, likewise (their 429 has its own test, partners.rs)
    export APP__PARTNERS__LIMITS__DEFAULT__CAPACITY=100000
    export APP__PARTNERS__LIMITS__DEFAULT__PER_MINUTE=100000
    export APP__SMS__PROVIDER="${APP__SMS__PROVIDER:-tencent}"
    export APP__SMS__TENCENT_SECRET_ID="${APP__SMS__TENCENT_SECRET_ID:-AKIDstub}"
    export APP__SMS__TENCENT_SDK_APP_ID="${APP__SMS__TENCENT_SDK_APP_ID:-1400000000}"
    export APP__SMS__TENCENT_TEMPLATE_VERIFICATION="${APP__SMS__TENCENT_TEMPLATE_VERIFICATION:-1000001}"
    export APP__SMS__TENCENT_TEMPLATE_NOTIFICATION="${APP__SMS__TENCENT_TEMPLATE_NOTIFICATION:-1000002}"
    prepare_db "$zj" "$DB"
    start_logged_server "$zj" "$port" "$OUT" "contract server"
    # the command-line steps of the walkthroughs (scripts/zhijian.sh) and of the fixtures use this
    # binary, and the database of this server (APP__DATABASE__URL above)
    export ZHIJIAN_BIN="$zj"
    "$ZJ_ROOT/scripts/walkthrough.sh" "http://127.0.0.1:$port"
    load_headers "http://127.0.0.1:$port"

    # only the schemathesis run counts for the coverage, not the walkthrough nor the fixtures
    local offset rc=0
    offset="$(stat -c %s "$OUT/server.log")"
    run_schemathesis "http://127.0.0.1:$port" 2>&1 | tee "$OUT/st.log" || rc=$?
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        tail -n 30 "$OUT/server.log" >&2 || true
        die "the server died during the contract run (log: $OUT/server.log)"
    fi
    if [ "$rc" -ne 0 ]; then
        die "contract tests failed (exit $rc; server log: $OUT/server.log, JUnit report: $OUT/report; replay: cd $OUT && $VENV/bin/st replay ID)"
    fi
    log "contract tests passed"
    # share of operations that reached a 2xx (threshold ZJ_CONTRACT_MIN_2XX, default 90 %)
    python3 "$ZJ_ROOT/bench/contract_coverage.py" --openapi "$ZJ_ROOT/openapi.yaml" \
        --log "$OUT/server.log" --offset "$offset" --st-output "$OUT/st.log" ||
        die "contract coverage under the threshold (server log: $OUT/server.log)"
}

main "$@"
