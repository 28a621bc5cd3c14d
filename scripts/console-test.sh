#!/usr/bin/env bash
# Browser tests of the admin console (/console): headless Debian Chromium driven by Playwright for
# Python against a real zhijian server.
#   scripts/console-test.sh     (part of make test; SKIP_CONSOLE=1 scripts/test.sh skips it)
#
# 1. the project venv .zhijian/venv with playwright (scripts/contract.sh's venv; Playwright's own
#    browser download is not used: /usr/bin/chromium from Debian, installed by make deps)
# 2. builds the binaries (PROFILE, default debug)
# 3. its own provider stub and server, each on a free port, against a fresh database
#    zhijian_console (migrated, regions imported, demo seeded)
# 4. console-tests/test_console.py: every test, the timing of 20 routine approvals, and the
#    screenshots under docs/console/
# Logs: .zhijian/console/ (server.log, stub.log).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROFILE="${PROFILE:-debug}"
export PROFILE
VENV="$ZJ_STATE/venv"
OUT="$ZJ_STATE/console"
DB=zhijian_console
PLAYWRIGHT_REQ='playwright>=1.40,<2'

SERVER_PID=""
STUB_C_PORT=""

cleanup() {
    local rc=$?
    stop_server_and_stub "$OUT" "$STUB_C_PORT" "console test server"
    exit "$rc"
}

ensure_playwright() {
    [ -x /usr/bin/chromium ] || die "no /usr/bin/chromium: run 'make deps' (installs chromium fonts-noto-cjk)"
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import playwright' >/dev/null 2>&1; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        ensure_state_dir
        log "creating $VENV"
        python3 -m venv "$VENV"
    fi
    log "installing $PLAYWRIGHT_REQ into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "$PLAYWRIGHT_REQ"
}

main() {
    cd "$ZJ_ROOT"
    "$ZJ_ROOT/scripts/deps.sh"
    "$ZJ_ROOT/scripts/db.sh" up
    "$ZJ_ROOT/scripts/secrets.sh"
    ensure_playwright
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
    # the Redis database of this run only (sessions, sign-in locks)
    APP__REDIS__URL="$(redis_url 3)"
    export APP__REDIS__URL
    prepare_db "$zj" "$DB"
    start_logged_server "$zj" "$port" "$OUT" "console test server"

    ZHIJIAN_BASE_URL="http://127.0.0.1:$port" \
        ZHIJIAN_DEMO_PASSWORD="$(demo_password)" \
        ZHIJIAN_SCREENSHOTS="$ZJ_ROOT/docs/console" \
        "$VENV/bin/python" "$ZJ_ROOT/console-tests/test_console.py"
}

main "$@"
