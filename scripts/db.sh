#!/usr/bin/env bash
# Private PostgreSQL and Redis for development and tests, under .zhijian/ (git-ignored).
#   scripts/db.sh up         provision (first time) and start both; idempotent; waits until they answer
#   scripts/db.sh stop       stop the server of make run, the provider stub, and both; no error when not running
#   scripts/db.sh clean      stop, then delete .zhijian/ (databases, logs, venv); keeps target/ and config/local.toml
#   scripts/db.sh status     say what runs: PostgreSQL, Redis, the server of make run, the provider stub
#   scripts/db.sh psql [..]  psql to database zhijian
#   scripts/db.sh redis-cli [..]
#
# PostgreSQL: cluster in .zhijian/pg/data, socket dir .zhijian/pg/run, log .zhijian/pg/server.log,
#   listening on 127.0.0.1:$PG_PORT only, trust auth, superuser `postgres`. Durability is switched off
#   (fsync, synchronous_commit, full_page_writes): fine for dev and tests, never for real data.
#   pg_stat_statements is loaded but tracks nothing (`pg_stat_statements.track = none`): a database
#   that wants its statements counted says so itself (make bench's `ALTER DATABASE zhijian_bench
#   SET pg_stat_statements.track = top`, the statement-drift test's connection options).
#   initdb refuses to run as root, so as root the cluster belongs to the `postgres` user; if that user
#   cannot reach into the repo (e.g. a 0700 home dir), the cluster lives in /var/tmp/zhijian-<hash>/pg
#   and .zhijian/pg is a symlink to it.
# Redis: data dir .zhijian/redis, 127.0.0.1:$REDIS_PORT only, no persistence.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_LINK="$ZJ_STATE/pg"
ZJ_REDIS_DIR="$ZJ_STATE/redis"

# ---------------------------------------------------------------- PostgreSQL

# Run a PostgreSQL program as the cluster owner: `postgres` when we are root, else ourselves.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

fallback_base() {
    local hash
    hash="$(printf '%s' "$ZJ_ROOT" | sha256sum | cut -c1-12)"
    echo "/var/tmp/zhijian-$hash/pg"
}

# Can the cluster live under .zhijian/pg? (owner can reach it; socket path fits in sun_path)
repo_base_usable() {
    local sock="$PG_LINK/run/.s.PGSQL.$PG_PORT.lock"
    if [ "${#sock}" -gt 100 ]; then
        log "socket path $sock is too long for a Unix socket"
        return 1
    fi
    if is_root; then
        getent passwd postgres >/dev/null || die "no 'postgres' user: run 'make deps' (installs postgresql-15)"
        if ! (cd / && runuser -u postgres -- test -x "$ZJ_STATE" -a -r "$ZJ_STATE"); then
            log "user postgres cannot reach $ZJ_STATE (a parent dir is not traversable)"
            return 1
        fi
    fi
    return 0
}

# Print the real directory holding data/, run/ and server.log; decide it on first use.
pg_base() {
    if [ -L "$PG_LINK" ]; then
        readlink -f "$PG_LINK"
    elif [ -d "$PG_LINK" ]; then
        echo "$PG_LINK"
    elif repo_base_usable; then
        echo "$PG_LINK"
    else
        local fb
        fb="$(fallback_base)"
        log "using $fb for the PostgreSQL cluster (symlinked from .zhijian/pg)"
        install -d -m 0755 "$(dirname "$fb")"
        ln -sfn "$fb" "$PG_LINK"
        echo "$fb"
    fi
}

# Existing base dir without deciding/creating anything (empty when none).
pg_base_existing() {
    if [ -L "$PG_LINK" ]; then
        readlink -f "$PG_LINK" || true
    elif [ -d "$PG_LINK" ]; then
        echo "$PG_LINK"
    fi
}

mkdir_pg() {
    if is_root; then
        install -d -o postgres -g postgres -m 0700 "$@"
    else
        install -d -m 0700 "$@"
    fi
}

pg_running() { # $1 = data dir
    [ -f "$1/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1
}

pg_ready() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2
}

pg_init() { # $1 = base
    local base="$1"
    if [ -f "$base/data/PG_VERSION" ]; then
        return 0
    fi
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 not found in $PG_BIN: run 'make deps'"
    log "initialising PostgreSQL cluster in $base/data"
    mkdir_pg "$base"
    rm -rf "$base/data" # a half-made data dir from an interrupted initdb
    mkdir_pg "$base/data" "$base/run"
    as_pg "$PG_BIN/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$base/initdb.log" 2>&1 || {
        tail -n 30 "$base/initdb.log" >&2
        die "initdb failed (log: $base/initdb.log)"
    }
}

pg_start() { # $1 = base
    local base="$1" data="$1/data"
    if pg_running "$data"; then
        if pg_ready; then
            log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
            return 0
        fi
        die "the cluster in $data runs but does not answer on port $PG_PORT (started with another PG_PORT?): run 'make stop' first"
    fi
    if port_open "$PG_PORT"; then
        die "port $PG_PORT is taken by another program: stop it or set PG_PORT=<free port>"
    fi
    mkdir_pg "$base/run"
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $base/server.log)"
    local opts="-p $PG_PORT -k '$base/run' -c listen_addresses=127.0.0.1"
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    opts+=" $PG_STATEMENTS_OPTS"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 -o "$opts" start >/dev/null; then
        tail -n 30 "$base/server.log" >&2 || true
        die "PostgreSQL did not start (log: $base/server.log)"
    fi
}

pg_ensure_db() {
    local db="$1"
    if [ "$(zj_psql postgres -tAc "select 1 from pg_database where datname = '$db'")" != "1" ]; then
        log "creating database $db"
        zj_psql postgres -qc "create database $db" >/dev/null
    fi
}

pg_up() {
    ensure_state_dir
    local base
    base="$(pg_base)"
    pg_init "$base"
    pg_start "$base"
    wait_for 30 pg_ready || die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT (log: $base/server.log)"
    if ! pg_has_statements; then
        log "restarting PostgreSQL to preload pg_stat_statements (it tracks nothing unless a database asks)"
        as_pg "$PG_BIN/pg_ctl" -D "$base/data" -m fast -w -t 60 stop >/dev/null
        pg_start "$base"
        wait_for 30 pg_ready || die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT (log: $base/server.log)"
    fi
    pg_ensure_db zhijian
    log "PostgreSQL ready: $(pg_url zhijian)"
}

# A cluster started before pg_stat_statements was preloaded is restarted once to load it.
pg_has_statements() {
    [ "$(zj_psql postgres -tAc "select setting from pg_settings where name = 'shared_preload_libraries'" 2>/dev/null)" = pg_stat_statements ]
}

pg_stop() {
    local base
    base="$(pg_base_existing)"
    if [ -n "$base" ] && pg_running "$base/data"; then
        log "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$base/data" -m fast -w -t 60 stop >/dev/null
    else
        log "PostgreSQL not running"
    fi
}

# ---------------------------------------------------------------- Redis

redis_cmd() { timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" 2>/dev/null; }
redis_ready() { [ "$(redis_cmd ping)" = "PONG" ]; }
redis_ours() { # is the Redis on $REDIS_PORT the one whose dir is .zhijian/redis?
    [ -d "$ZJ_REDIS_DIR" ] || return 1
    [ "$(redis_cmd config get dir | tail -n 1)" = "$(cd "$ZJ_REDIS_DIR" && pwd -P)" ]
}
redis_pid() { # pid from our pidfile if that process is a live redis-server
    local pid
    pid="$(cat "$ZJ_REDIS_DIR/redis.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "redis-server" ]; then
        echo "$pid"
    fi
}

redis_up() {
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found: run 'make deps'"
    ensure_state_dir
    install -d -m 0700 "$ZJ_REDIS_DIR"
    if redis_ready; then
        if redis_ours; then
            log "Redis already running on 127.0.0.1:$REDIS_PORT"
            return 0
        fi
        die "another Redis answers on port $REDIS_PORT: stop it or set REDIS_PORT=<free port>"
    fi
    if port_open "$REDIS_PORT"; then
        die "port $REDIS_PORT is taken by another program: stop it or set REDIS_PORT=<free port>"
    fi
    log "starting Redis on 127.0.0.1:$REDIS_PORT (log: $ZJ_REDIS_DIR/redis.log)"
    : >"$ZJ_REDIS_DIR/redis.log"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes --daemonize yes \
        --dir "$ZJ_REDIS_DIR" --pidfile "$ZJ_REDIS_DIR/redis.pid" --logfile "$ZJ_REDIS_DIR/redis.log" \
        --save "" --appendonly no
    if ! wait_for 15 redis_ready; then
        tail -n 30 "$ZJ_REDIS_DIR/redis.log" >&2 || true
        die "Redis did not start (log: $ZJ_REDIS_DIR/redis.log)"
    fi
    log "Redis ready: $(redis_url 0)"
}

redis_stop() {
    local pid
    pid="$(redis_pid)"
    if [ -n "$pid" ]; then
        log "stopping Redis (pid $pid)"
        stop_pid "$pid" 15 || warn "Redis did not stop in 15 s; killed it"
    elif redis_ready && redis_ours; then
        log "stopping Redis on port $REDIS_PORT"
        redis_cmd shutdown nosave >/dev/null || true
    else
        log "Redis not running"
    fi
}

# ---------------------------------------------------------------- commands

cmd_up() {
    pg_up
    redis_up
}

# The server `make run` started (its pid in .zhijian/server.pid), before what it uses.
server_stop() {
    local pid
    pid="$(server_pid)"
    if [ -n "$pid" ]; then
        log "stopping the zhijian server (pid $pid)"
        stop_pid "$pid" 15 || warn "the zhijian server did not stop in 15 s; killed it"
    else
        log "zhijian server not running"
    fi
    rm -f "$(server_pidfile)"
}

cmd_stop() {
    server_stop
    "$ZJ_ROOT/scripts/stub.sh" stop-all
    pg_stop
    redis_stop
}

cmd_clean() {
    cmd_stop
    local base
    base="$(pg_base_existing)"
    if [ -L "$PG_LINK" ] && [ -n "$base" ] && [ "$base" != "$PG_LINK" ]; then
        log "removing $(dirname "$base")"
        rm -rf "$(dirname "$base")"
    fi
    if [ -e "$ZJ_STATE" ]; then
        log "removing $ZJ_STATE"
        rm -rf "$ZJ_STATE"
    fi
    log "clean (kept target/ and config/local.toml)"
}

cmd_status() {
    local base
    base="$(pg_base_existing)"
    if [ -n "$base" ] && pg_running "$base/data"; then
        log "PostgreSQL: running in $base/data$(pg_ready && echo ", answering on 127.0.0.1:$PG_PORT")"
    else
        log "PostgreSQL: not running"
    fi
    if redis_ready; then
        log "Redis: answering on 127.0.0.1:$REDIS_PORT$(redis_ours || echo " (NOT ours)")"
    else
        log "Redis: not running on 127.0.0.1:$REDIS_PORT"
    fi
    local pid port ready f
    pid="$(server_pid)"
    if [ -n "$pid" ]; then
        port="$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^APP__SERVER__PORT=//p')"
        port="${port:-8080}"
        ready="$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" 2>/dev/null || true)"
        case "$ready" in
            200) log "zhijian: running (pid $pid), ready on http://127.0.0.1:$port" ;;
            *) log "zhijian: running (pid $pid) on port $port, /readyz answers ${ready:-nothing}" ;;
        esac
    else
        log "zhijian: not running (no server started by make run)"
    fi
    local stubs=0
    for f in "$ZJ_STATE"/stub-*.pid; do
        [ -e "$f" ] || continue
        port="${f##*/stub-}"
        port="${port%.pid}"
        pid="$(cat "$f" 2>/dev/null || true)"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            stubs=$((stubs + 1))
            if curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/__stub/health" 2>/dev/null; then
                log "provider stub: running (pid $pid), answering on http://127.0.0.1:$port"
            else
                log "provider stub: running (pid $pid) on port $port, not answering /__stub/health"
            fi
        fi
    done
    [ "$stubs" -gt 0 ] || log "provider stub: not running"
}

main() {
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
        up) cmd_up ;;
        stop) cmd_stop ;;
        clean) cmd_clean ;;
        status) cmd_status ;;
        psql)
            pg_ready || die "PostgreSQL is not running: run 'make db-up'"
            zj_psql zhijian "$@"
            ;;
        redis-cli)
            redis_ready || die "Redis is not running: run 'make db-up'"
            exec redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
            ;;
        *) die "usage: scripts/db.sh up|stop|clean|status|psql|redis-cli" ;;
    esac
}

main "$@"
