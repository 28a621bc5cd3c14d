#!/usr/bin/env bash
# Run zhijian locally: system packages, private PostgreSQL + Redis, secrets, release build,
# provider stub, migrations, regions, demo data, then the server in the foreground.
#   scripts/run.sh            (make run)
# Env: PORT (8080), PROFILE (release; debug for a faster build), PG_PORT, REDIS_PORT, STUB_PORT, RUST_LOG.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${PORT:-8080}"
PROFILE="${PROFILE:-release}"
export PROFILE

check_port_free() {
    if port_open "$PORT"; then
        die "port $PORT is already in use (another zhijian?): stop it or run 'make run PORT=<free port>'"
    fi
}

main() {
    cd "$ZJ_ROOT"
    check_port_free
    "$ZJ_ROOT/scripts/deps.sh"
    "$ZJ_ROOT/scripts/db.sh" up
    "$ZJ_ROOT/scripts/secrets.sh"
    build_bins "$PROFILE"
    "$ZJ_ROOT/scripts/stub.sh" start "$STUB_PORT"

    local zj
    zj="$(bin_path "$PROFILE" zhijian)"
    export_server_env "$PORT" "$STUB_PORT" zhijian
    prepare_db "$zj" zhijian

    check_port_free
    echo "zhijian is serving on http://127.0.0.1:$PORT"
    exec "$zj" serve
}

main "$@"
