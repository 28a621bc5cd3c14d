# shellcheck shell=bash
# Shared helpers for the zhijian scripts. Source it; don't run it.
#
# Every setting can be overridden from the environment (or `make VAR=value`):
#   PG_PORT     private PostgreSQL port            (default 54329)
#   REDIS_PORT  private Redis port                 (default 63799)
#   STUB_PORT   WeChat/SMS provider stub port      (default 18089)
#   PORT        port `make run` serves on          (default 8080)
#   PROFILE     cargo profile for the binaries     (default release for run, debug for contract)
#   PG_BIN      PostgreSQL server binaries         (default /usr/lib/postgresql/15/bin)

ZJ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
ZJ_STATE="$ZJ_ROOT/.zhijian"

PG_PORT="${PG_PORT:-54329}"
REDIS_PORT="${REDIS_PORT:-63799}"
STUB_PORT="${STUB_PORT:-18089}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
# Loaded into the private cluster, counting nothing unless a database or session asks.
PG_STATEMENTS_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=none -c pg_stat_statements.max=5000"


log() { printf '[zhijian] %s\n' "$*" >&2; }
warn() { printf '[zhijian] WARNING: %s\n' "$*" >&2; }
die() {
    printf '[zhijian] ERROR: %s\n' "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root for: $* (run as root, or install sudo and get sudo rights)"
    fi
}

# Make the state dir (world-traversable so the postgres user can reach into it).
ensure_state_dir() {
    if [ ! -d "$ZJ_STATE" ]; then
        install -d -m 0755 "$ZJ_STATE"
    fi
}

# Print N random bytes as standard base64 on one line.
random_b64() {
    local n="$1"
    if command -v openssl >/dev/null 2>&1; then
        openssl rand -base64 "$n" | tr -d '\n'
    else
        head -c "$n" /dev/urandom | base64 -w0
    fi
}

# True when something accepts TCP connections on 127.0.0.1:$1 (no extra tools needed).
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when a listener could bind 127.0.0.1:$1 now. Connecting is not enough: a port held as the
# local end of an outgoing connection accepts nothing, yet bind() on it fails (EADDRINUSE).
port_bindable() {
    python3 -c 'import socket,sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1" 2>/dev/null
}

# Print a free TCP port on 127.0.0.1, below the kernel's ephemeral range: a port inside it can be
# taken at any moment as the local end of an outgoing connection (to PostgreSQL, Redis, ...)
# between this check and the bind of the program we start on it.
free_port() {
    local p low
    low="$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    [ "$low" -gt 12000 ] 2>/dev/null || low=32768
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (low - 10000)))
        if ! port_open "$p" && port_bindable "$p"; then
            echo "$p"
            return 0
        fi
    done
    die "could not find a free TCP port"
}

# Wait up to $1 seconds for the command "$2..." to succeed.
wait_for() {
    local secs="$1"
    shift
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.2
    done
}

# Stop process $1: TERM, then KILL if it is still there after $2 seconds (default 10).
# Returns 1 when it had to be killed.
stop_pid() {
    local pid="$1" secs="${2:-10}"
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for "$secs" bash -c "! kill -0 $pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        return 1
    fi
}

# cargo profile -> (cargo flag, target sub-directory)
profile_flag() {
    case "$1" in
        release) echo "--release" ;;
        debug | dev) echo "" ;;
        *) echo "--profile $1" ;;
    esac
}
profile_dir() {
    case "$1" in
        debug | dev) echo "debug" ;;
        *) echo "$1" ;;
    esac
}
target_dir() {
    echo "${CARGO_TARGET_DIR:-$ZJ_ROOT/target}"
}

# Build the binaries we run (zhijian, zhijian-dev, zhijian-provider-stub) with profile $1.
# A debug build takes every target of the workspace, as the tests do: the same feature
# resolution, so `make test` reuses the test build instead of compiling the dependencies again.
build_bins() {
    local profile="$1" flag targets
    flag="$(profile_flag "$profile")"
    case "$profile" in
        debug | dev) targets="--workspace --all-targets" ;;
        *) targets="-p zhijian-api -p zhijian-devtools -p zhijian-integration-tests --bins" ;;
    esac
    log "building binaries (profile $profile): cargo build $flag $targets"
    # shellcheck disable=SC2086 # $flag and $targets are several words on purpose
    (cd "$ZJ_ROOT" && cargo build $flag $targets)
}
bin_path() {
    echo "$(target_dir)/$(profile_dir "$1")/$2"
}

# Connection URLs of the private servers.
pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/${1:-zhijian}"; }
redis_url() { echo "redis://127.0.0.1:$REDIS_PORT${1:+/$1}"; }

# psql over TCP as the postgres superuser (trust auth on loopback).
zj_psql() {
    local db="$1"
    shift
    PGCONNECT_TIMEOUT=5 PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" "$@"
}

# Environment for the `zhijian` binary: $1 = HTTP port, $2 = provider stub port, $3 = database name.
# APP_ENV and RUST_LOG keep values already set.
export_server_env() {
    local port="$1" stub="$2" db="$3"
    export APP_ENV="${APP_ENV:-local}"
    export RUST_LOG="${RUST_LOG:-info}"
    APP__DATABASE__URL="$(pg_url "$db")"
    APP__REDIS__URL="$(redis_url 0)"
    export APP__DATABASE__URL APP__REDIS__URL
    export APP__SERVER__PORT="$port"
    export APP__WECHAT__BASE_URL="http://127.0.0.1:$stub"
    export APP__SMS__TENCENT_BASE_URL="http://127.0.0.1:$stub/tencent"
    export APP__SMS__ALIYUN_BASE_URL="http://127.0.0.1:$stub/aliyun"
}

# Prepare database $2 with binary $1: migrate, import regions, seed the demo data.
prepare_db() {
    local zj="$1" db="$2"
    log "migrating database $db: zhijian migrate"
    "$zj" migrate
    log "importing regions: zhijian import-regions --dir data/regions"
    "$zj" import-regions --dir "$ZJ_ROOT/data/regions"
    log "seeding demo data: zhijian-dev seed-demo"
    "$(dirname "$zj")/zhijian-dev" seed-demo
}

# The demo admins' password from config/local.toml ([demo] admin_password).
demo_password() {
    python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["demo"]["admin_password"])' \
        "$ZJ_ROOT/config/local.toml"
}

# Environment for `make run`: SMS and worker notices go to the provider stub on port $1 as a
# real deployment's would go to Tencent Cloud and WeChat — Tencent SMS signed with the stub's
# credentials (TC3-HMAC-SHA256; the secret key is in config/local.toml) and demo template ids —
# so SMS sign-in and notifications work locally. Read what was "sent" at the stub:
# GET /__stub/sms (verification codes, SMS notices) and GET /__stub/wechat/messages.
export_stub_providers() {
    local stub="$1"
    export APP__SMS__PROVIDER="${APP__SMS__PROVIDER:-tencent}"
    export APP__SMS__TENCENT_BASE_URL="http://127.0.0.1:$stub/tencent"
    export APP__SMS__TENCENT_SECRET_ID="${APP__SMS__TENCENT_SECRET_ID:-AKIDstub}"
    export APP__SMS__TENCENT_SDK_APP_ID="${APP__SMS__TENCENT_SDK_APP_ID:-1400000000}"
    export APP__SMS__TENCENT_TEMPLATE_VERIFICATION="${APP__SMS__TENCENT_TEMPLATE_VERIFICATION:-1000001}"
    export APP__SMS__TENCENT_TEMPLATE_NOTIFICATION="${APP__SMS__TENCENT_TEMPLATE_NOTIFICATION:-1000002}"
    # WeChat subscribe-message templates of the worker notices: demo ids `tpl-<notice>`.
    local notice var
    for notice in application_received application_approved application_rejected application_returned transfer_step benefits_granted; do
        var="APP__NOTIFICATIONS__TEMPLATES__${notice^^}__TEMPLATE_ID"
        export "$var=${!var:-tpl-$notice}"
    done
}

# The pid file of the server `make run` started (written by scripts/run.sh, read by make stop
# and make status).
server_pidfile() { echo "$ZJ_STATE/server.pid"; }

# The pid of the server `make run` started, if it still runs.
server_pid() {
    local pid
    pid="$(cat "$(server_pidfile)" 2>/dev/null || true)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "zhijian" ]; then
        echo "$pid"
    fi
}

# The project's Python venv (.zhijian/venv): schemathesis for `make contract`, and
# standardwebhooks, the independent Standard Webhooks implementation the webhook signature
# test verifies with (ZHIJIAN_TEST_PYTHON). Created once; refreshed when a package is missing.
VENV="$ZJ_STATE/venv"
VENV_REQS=('schemathesis>=4,<5' 'standardwebhooks==1.1.0')

pick_python() {
    if command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        command -v python3
    elif [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo /usr/bin/python3
    else
        die "no python3 with venv: run 'make deps' (installs python3-venv)"
    fi
}

ensure_venv() {
    if [ -x "$VENV/bin/st" ] && "$VENV/bin/python" -c 'import schemathesis, standardwebhooks' >/dev/null 2>&1; then
        return 0
    fi
    ensure_state_dir
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(pick_python)"
        log "creating $VENV"
        "$py" -m venv "$VENV"
    fi
    log "installing into $VENV: ${VENV_REQS[*]}"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${VENV_REQS[@]}"
}

# ---- a seeded server of its own (contract.sh, console-test.sh, example-partner.sh) ----

# Drops and creates database $1.
recreate_db() {
    log "recreating database $1"
    zj_psql postgres -qc "drop database if exists $1 with (force)" >/dev/null
    zj_psql postgres -qc "create database $1" >/dev/null
}

# Starts `$1 serve` in the background, its log in $3/server.log, sets SERVER_PID, and waits up to
# 60 s until port $2 listens; $4 names the server in messages.
start_logged_server() {
    local zj="$1" port="$2" out="$3" what="$4"
    log "starting $what on http://127.0.0.1:$port (log: $out/server.log)"
    "$zj" serve >"$out/server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    local deadline=$((SECONDS + 60))
    until port_open "$port"; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 30 "$out/server.log" >&2 || true
            die "$what exited before listening (log: $out/server.log)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 30 "$out/server.log" >&2 || true
            die "$what does not listen on port $port after 60 s"
        fi
        sleep 0.2
    done
}

# Stops the server SERVER_PID (if running) and the provider stub on port $2 (if any), keeping
# the stub's log as $1/stub.log; $3 names the server in messages. For an EXIT trap.
stop_server_and_stub() {
    local out="$1" stub="$2" what="$3"
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        log "stopping $what (pid $SERVER_PID)"
        stop_pid "$SERVER_PID" || true
    fi
    if [ -n "$stub" ]; then
        "$ZJ_ROOT/scripts/stub.sh" stop "$stub" || true
        mv -f "$ZJ_STATE/stub-$stub.log" "$out/stub.log" 2>/dev/null || true
    fi
}
