#!/usr/bin/env bash
# The WeChat/SMS provider stub (zhijian-provider-stub), in the background.
#   scripts/stub.sh start [PORT]   start it on 127.0.0.1:PORT (default $STUB_PORT = 18089);
#                                  reuse one already answering GET /__stub/health
#   scripts/stub.sh stop [PORT]    stop the one we started on PORT
#   scripts/stub.sh stop-all       stop every stub we started
# Binary: target/$PROFILE/zhijian-provider-stub (PROFILE default release; STUB_BIN overrides).
# pid and log: .zhijian/stub-PORT.pid, .zhijian/stub-PORT.log
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pidfile() { echo "$ZJ_STATE/stub-$1.pid"; }
logfile() { echo "$ZJ_STATE/stub-$1.log"; }

healthy() { curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$1/__stub/health" 2>/dev/null; }

# pid from our pidfile if that process is alive
our_pid() {
    local pid
    pid="$(cat "$(pidfile "$1")" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    fi
}

stop_port() {
    local port="$1" pid
    pid="$(our_pid "$port")"
    if [ -n "$pid" ]; then
        log "stopping provider stub on port $port (pid $pid)"
        stop_pid "$pid" || true
    fi
    rm -f "$(pidfile "$port")"
}

start() {
    local port="$1" bin pid
    bin="${STUB_BIN:-$(bin_path "${PROFILE:-release}" zhijian-provider-stub)}"
    if healthy "$port"; then
        pid="$(our_pid "$port")"
        # cargo replaced the binary since we started it: restart to run the new one
        if [ -n "$pid" ] && [[ "$(readlink "/proc/$pid/exe" 2>/dev/null || true)" == *" (deleted)" ]]; then
            log "provider stub on port $port runs an old build: restarting it"
            stop_port "$port"
        else
            log "provider stub already answering on http://127.0.0.1:$port"
            return 0
        fi
    fi
    if port_open "$port"; then
        die "port $port is taken by a program that is not the provider stub: stop it or set STUB_PORT=<free port>"
    fi
    [ -x "$bin" ] || die "$bin not found: build it first (cargo build -p zhijian-integration-tests --bins)"
    ensure_state_dir
    log "starting provider stub on http://127.0.0.1:$port (log: $(logfile "$port"))"
    # setsid: its own session, so Ctrl-C on `make run` leaves it running for the next run
    setsid "$bin" --port "$port" >>"$(logfile "$port")" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$(pidfile "$port")"
    local deadline=$((SECONDS + 30))
    until healthy "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$(logfile "$port")" >&2 || true
            rm -f "$(pidfile "$port")"
            die "provider stub exited (log: $(logfile "$port"))"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 20 "$(logfile "$port")" >&2 || true
            stop_port "$port"
            die "provider stub does not answer GET /__stub/health on port $port"
        fi
        sleep 0.2
    done
}

main() {
    local cmd="${1:-}"
    local port="${2:-$STUB_PORT}"
    case "$cmd" in
        start) start "$port" ;;
        stop) stop_port "$port" ;;
        stop-all)
            local f p
            for f in "$ZJ_STATE"/stub-*.pid; do
                [ -e "$f" ] || continue
                p="${f##*/stub-}"
                stop_port "${p%.pid}"
            done
            ;;
        *) die "usage: scripts/stub.sh start|stop [PORT] | stop-all" ;;
    esac
}

main "$@"
