#!/usr/bin/env bash
# Soak: every main flow in a bounded loop, concurrently, against one server for SOAK_MINUTES,
# sampling the server's RSS (VmRSS of /proc/PID/status) to show that memory stays flat.
#   scripts/soak.sh            (make soak)
#
# 1. the private PostgreSQL and Redis (scripts/db.sh up), secrets, the binaries (PROFILE,
#    default release)
# 2. its own provider stub and server, each on a free port, against a fresh database
#    zhijian_soak (dropped, created, migrated, regions imported, demo seeded)
# 3. scripts/soak.py: SOAK_CONCURRENCY clients loop over login -> submit -> queue -> approve ->
#    card + verify -> refresh -> transfer, release, accept -> membership; RSS every
#    SOAK_SAMPLE_SECS seconds
# Results: .zhijian/soak/<UTC time>/ (samples.csv, summary.json, server.log, stub.log) and one
# summary line. Exit 1 when RSS grew (last third's median more than SOAK_FLAT_PCT % above or
# below the second third's) or more than 1 % of the flows failed.
#
# Knobs: SOAK_MINUTES (10), SOAK_CONCURRENCY (32), SOAK_SAMPLE_SECS (5), SOAK_FLAT_PCT (15),
#   SOAK_FEATURES (cargo features of the server build: default, i.e. the mimalloc allocator;
#   SOAK_FEATURES=none builds it with the system allocator, to compare),
#   SOAK_EXTERNAL_DB=1 (use the PostgreSQL and Redis already answering on PG_PORT and
#   REDIS_PORT instead of scripts/db.sh up), ZHIJIAN_BIN (run this server binary instead).
# Not part of `make test`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROFILE="${PROFILE:-release}"
export PROFILE
DB="${SOAK_DB:-zhijian_soak}"
OUT="$ZJ_STATE/soak/$(date -u +%Y%m%dT%H%M%SZ)"

SERVER_PID=""
STUB_S_PORT=""

cleanup() {
    local rc=$?
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        log "stopping soak server (pid $SERVER_PID)"
        stop_pid "$SERVER_PID" || true
    fi
    if [ -n "$STUB_S_PORT" ]; then
        "$ZJ_ROOT/scripts/stub.sh" stop "$STUB_S_PORT" || true
        mv -f "$ZJ_STATE/stub-$STUB_S_PORT.log" "$OUT/stub.log" 2>/dev/null || true
    fi
    exit "$rc"
}

# The server binary: ZHIJIAN_BIN, or built with SOAK_FEATURES (copied aside, so a later build
# does not replace it under the running server).
server_bin() {
    if [ -n "${ZHIJIAN_BIN:-}" ]; then
        echo "$ZHIJIAN_BIN"
        return 0
    fi
    local flag features="${SOAK_FEATURES:-default}"
    flag="$(profile_flag "$PROFILE")"
    if [ "$features" != "default" ]; then
        local extra=(--no-default-features)
        [ "$features" = "none" ] || extra+=(--features "$features")
        log "building the server with features '$features': cargo build $flag -p zhijian-api --bin zhijian ${extra[*]}" >&2
        # shellcheck disable=SC2086 # $flag is empty or one word
        (cd "$ZJ_ROOT" && cargo build $flag -p zhijian-api --bin zhijian "${extra[@]}") >&2
    fi
    cp "$(bin_path "$PROFILE" zhijian)" "$OUT/zhijian"
    echo "$OUT/zhijian"
}

main() {
    cd "$ZJ_ROOT"
    if [ "${SOAK_EXTERNAL_DB:-0}" = "1" ]; then
        log "SOAK_EXTERNAL_DB=1: using PostgreSQL on 127.0.0.1:$PG_PORT and Redis on 127.0.0.1:$REDIS_PORT"
    else
        "$ZJ_ROOT/scripts/deps.sh"
        "$ZJ_ROOT/scripts/db.sh" up
    fi
    "$ZJ_ROOT/scripts/secrets.sh"
    build_bins "$PROFILE"
    install -d -m 0755 "$OUT"
    local zj
    zj="$(server_bin)"

    trap cleanup EXIT
    trap 'exit 130' INT TERM

    STUB_S_PORT="$(free_port)"
    "$ZJ_ROOT/scripts/stub.sh" start "$STUB_S_PORT"
    local port
    port="$(free_port)"
    [ "$port" != "$STUB_S_PORT" ] || port="$(free_port)"

    log "recreating database $DB"
    zj_psql postgres -qc "drop database if exists $DB with (force)" >/dev/null
    zj_psql postgres -qc "create database $DB" >/dev/null
    export_server_env "$port" "$STUB_S_PORT" "$DB"
    export APP__REDIS__NAMESPACE="soak$(date +%s)"
    export RUST_LOG="${RUST_LOG:-warn}"
    # migrate, regions and demo data with the freshly built tools; the server may be a copy
    "$(bin_path "$PROFILE" zhijian)" migrate
    "$(bin_path "$PROFILE" zhijian)" import-regions --dir "$ZJ_ROOT/data/regions"
    "$(bin_path "$PROFILE" zhijian-dev)" seed-demo >/dev/null

    log "starting soak server on http://127.0.0.1:$port (log: $OUT/server.log)"
    "$zj" serve >"$OUT/server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    wait_for 60 curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || {
        tail -n 30 "$OUT/server.log" >&2 || true
        die "the soak server does not answer /readyz (log: $OUT/server.log)"
    }
    log "soak: ${SOAK_MINUTES:-10} min at concurrency ${SOAK_CONCURRENCY:-32}; samples in $OUT/samples.csv"
    SOAK_PASSWORD="$(demo_password)" SOAK_LABEL="${SOAK_LABEL:-allocator ${SOAK_FEATURES:-default}, $PROFILE}" \
        python3 "$ZJ_ROOT/scripts/soak.py" "http://127.0.0.1:$port" "$SERVER_PID" "$OUT"
}

main "$@"
