#!/usr/bin/env bash
# Install the system packages zhijian needs, only those that are missing.
#   scripts/deps.sh
# Debian 12; as root, or as a user with sudo. Prints what it installs; quiet when nothing is missing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MISSING=()

need() { MISSING+=("$1"); }

check_postgres() {
    # The server binaries (initdb, pg_ctl, pg_isready, psql) of PostgreSQL 15.
    # Debian's package also creates and may start its own cluster on 5432; we never use it.
    if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ] || [ ! -x "$PG_BIN/psql" ]; then
        need postgresql-15
    fi
}

check_redis() {
    command -v redis-server >/dev/null 2>&1 || need redis-server
    # redis-tools (redis-cli) comes with redis-server; ask for it if only the server is there.
    if command -v redis-server >/dev/null 2>&1 && ! command -v redis-cli >/dev/null 2>&1; then
        need redis-tools
    fi
}

check_tools() {
    command -v curl >/dev/null 2>&1 || need curl
    command -v openssl >/dev/null 2>&1 || need openssl
    command -v runuser >/dev/null 2>&1 || need util-linux
    command -v setsid >/dev/null 2>&1 || need util-linux
}

check_python() {
    # schemathesis (make contract) lives in a venv: needs python3 with venv + ensurepip.
    if command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        return 0
    fi
    if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        return 0
    fi
    [ -x /usr/bin/python3 ] || need python3
    need python3-venv
}

check_browser() {
    # The console's browser tests (scripts/console-test.sh): Debian's Chromium, driven by
    # Playwright with executable_path, and CJK fonts so that screenshots show the Chinese text.
    [ -x /usr/bin/chromium ] || need chromium
    # grep without -q reads all of fc-list's output: no SIGPIPE to fail the pipeline (pipefail)
    if ! fc-list 2>/dev/null | grep -i 'Noto Sans CJK' >/dev/null; then
        need fonts-noto-cjk
    fi
}

check_node() {
    # The typed TypeScript client (clients/ts) is generated and compiled with Node and npm.
    command -v node >/dev/null 2>&1 || need nodejs
    command -v npm >/dev/null 2>&1 || need npm
}

install_missing() {
    if [ "${#MISSING[@]}" -eq 0 ]; then
        log "system packages: all present"
        return 0
    fi
    # de-duplicate, keep order
    local pkgs=() p q seen
    for p in "${MISSING[@]}"; do
        seen=0
        for q in "${pkgs[@]+"${pkgs[@]}"}"; do [ "$p" = "$q" ] && seen=1; done
        [ "$seen" -eq 1 ] || pkgs+=("$p")
    done
    command -v apt-get >/dev/null 2>&1 || die "missing ${pkgs[*]} and no apt-get: install them by hand"
    log "installing system packages: ${pkgs[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${pkgs[@]}"
    log "installed: ${pkgs[*]}"
}

main() {
    check_postgres
    check_redis
    check_tools
    check_python
    check_browser
    check_node
    install_missing
}

main "$@"
