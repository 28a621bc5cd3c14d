#!/usr/bin/env bash
# Crash under load (make crash; make test runs it small, make bench at full size):
# CRASH_CLIENTS clients submit CRASH_SIZE applications with Idempotency-Keys, retrying on any
# failure, while two reviewers approve every fourth one. Midway, run 1 kills PostgreSQL with
# SIGKILL and restarts it; run 2 kills the server with SIGKILL and restarts it. Afterwards
# (bench/crash.py) every acknowledged submission exists exactly once, no person has two
# applications, and every approved application has exactly one member, one audit row and one
# notice (outbox event).
#
#   scripts/crash.sh                 CRASH_SIZE (10000), CRASH_CLIENTS (16), PROFILE (debug)
#
# The PostgreSQL killed here is a cluster of its own (initdb'd afresh in a scratch directory,
# synchronous_commit on), never the one of `make db-up`. Results: .zhijian/crash/result.json.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE="${CRASH_SIZE:-10000}"
CLIENTS="${CRASH_CLIENTS:-16}"
PROFILE="${PROFILE:-debug}"
export PROFILE
OUT="$ZJ_STATE/crash"
BASE_DIR="/var/tmp/zhijian-crash-$(printf '%s' "$ZJ_ROOT" | sha256sum | cut -c1-12)"
DATA="$BASE_DIR/pg/data"
REDIS_DB=8
CPORT="${CPORT:-}"
STUB_PORT=""
SERVER_PID_FILE="$OUT/server.pid"

as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_cmd() { # pg_ctl on the scratch cluster
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$BASE_DIR/pg/server.log" "$@"
}

start_pg() {
    pg_cmd -w -t 60 -o "-p $CPORT -k $BASE_DIR/pg/run -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on -c max_connections=100" start >/dev/null
}

kill_pg() { # SIGKILL to the postmaster and every backend: a crash, not a shutdown
    local pm
    pm="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)"
    [ -n "$pm" ] || return 0
    pkill -KILL -P "$pm" 2>/dev/null || true
    kill -KILL "$pm" 2>/dev/null || true
    wait_for 10 bash -c "! kill -0 $pm"
}

start_server() {
    "$ZJ" serve >>"$OUT/server.log" 2>&1 </dev/null &
    echo $! >"$SERVER_PID_FILE"
    wait_for 60 port_open "$PORT" || die "the server does not listen on $PORT (log: $OUT/server.log)"
}

kill_server() {
    kill -KILL "$(cat "$SERVER_PID_FILE")" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    [ -f "$SERVER_PID_FILE" ] && stop_pid "$(cat "$SERVER_PID_FILE")" 2 || true
    [ -n "$STUB_PORT" ] && "$ZJ_ROOT/scripts/stub.sh" stop "$STUB_PORT" || true
    [ -f "$DATA/postmaster.pid" ] && pg_cmd -m immediate stop >/dev/null 2>&1 || true
    cp "$BASE_DIR/pg/server.log" "$OUT/postgres.log" 2>/dev/null || true
    rm -rf "$BASE_DIR"
    exit "$rc"
}

# One run: a fresh database, the server, the load, the kill named $1.
run() {
    local label="$1" kill restart db="crash_$1"
    "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$CPORT" -U postgres -d postgres \
        -c "drop database if exists $db with (force)" -c "create database $db" >/dev/null
    export APP__DATABASE__URL="postgres://postgres@127.0.0.1:$CPORT/$db"
    prepare_db "$ZJ" "$db" >>"$OUT/prepare.log" 2>&1
    start_server
    local self="$ZJ_ROOT/scripts/crash.sh"
    case "$label" in
        postgres) kill="$self _do kill_pg" restart="$self _do start_pg" ;;
        server) kill="$self _do kill_server" restart="$self _do start_server" ;;
    esac
    log "crash run '$label': $SIZE applications, $CLIENTS clients, SIGKILL to $label midway"
    local rc=0
    python3 "$ZJ_ROOT/bench/crash.py" --base "http://127.0.0.1:$PORT" \
        --psql "$PG_BIN/psql -X -h 127.0.0.1 -p $CPORT -U postgres -d $db" \
        --size "$SIZE" --clients "$CLIENTS" --label "$label" \
        --kill "$kill" --restart "$restart" \
        --password "$(demo_password)" --out "$OUT/result-$label.json" || rc=$?
    stop_pid "$(cat "$SERVER_PID_FILE")" 5 || true
    return "$rc"
}

main() {
    if [ "${1:-}" = _do ]; then # bench/crash.py calls back: _do kill_pg|start_pg|kill_server|start_server
        "$2"
        return
    fi
    cd "$ZJ_ROOT"
    "$ZJ_ROOT/scripts/deps.sh"
    "$ZJ_ROOT/scripts/db.sh" up # for Redis (database $REDIS_DB); its PostgreSQL is not used
    "$ZJ_ROOT/scripts/secrets.sh"
    build_bins "$PROFILE"
    rm -rf "$OUT"
    install -d -m 0755 "$OUT"
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 not found in $PG_BIN: run 'make deps'"
    rm -rf "$BASE_DIR"
    install -d -m 0755 "$BASE_DIR"
    if is_root; then
        install -d -o postgres -g postgres -m 0700 "$BASE_DIR/pg" "$BASE_DIR/pg/run"
    else
        install -d -m 0700 "$BASE_DIR/pg" "$BASE_DIR/pg/run"
    fi
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$OUT/initdb.log" 2>&1 ||
        die "initdb failed (log: $OUT/initdb.log)"
    CPORT="$(free_port)"
    export CPORT
    start_pg

    STUB_PORT="$(free_port)"
    "$ZJ_ROOT/scripts/stub.sh" start "$STUB_PORT"
    PORT="$(free_port)"
    ZJ="$(bin_path "$PROFILE" zhijian)"
    export PORT ZJ
    export_server_env "$PORT" "$STUB_PORT" zhijian
    export APP__REDIS__URL="$(redis_url "$REDIS_DB")"
    # A namespace of its own: nothing of another run's sessions or caps is touched or flushed.
    export APP__REDIS__NAMESPACE="crash$$"
    export RUST_LOG=warn

    local rc=0
    run postgres || rc=1
    run server || rc=1
    python3 - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
runs = [json.loads((out / f"result-{k}.json").read_text()) for k in ("postgres", "server")
        if (out / f"result-{k}.json").exists()]
result = {"runs": runs, "ok": len(runs) == 2 and all(r["ok"] for r in runs)}
(out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
PY
    [ "$rc" -eq 0 ] || die "crash test failed: see $OUT/result.json (server log: $OUT/server.log)"
    log "crash test passed: nothing acknowledged lost or doubled across a PostgreSQL and a server SIGKILL ($OUT/result.json)"
}

main "$@"
