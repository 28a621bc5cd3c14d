#!/usr/bin/env bash
# Run zhijian locally: system packages, private PostgreSQL + Redis, secrets, release build,
# provider stub, migrations, regions, demo data, then the server in the foreground (its pid in
# .zhijian/server.pid, for make stop and make status). SMS and WeChat messages go to the stub.
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
    export_stub_providers "$STUB_PORT"
    prepare_db "$zj" zhijian

    check_port_free
    local DEMO_PW
    DEMO_PW="$(demo_password 2>/dev/null || true)"
    echo "zhijian is serving on http://127.0.0.1:$PORT"
    echo "the admin console: http://127.0.0.1:$PORT/console/ — demo admins (password: [demo] admin_password"
    echo "  in config/local.toml${DEMO_PW:+, i.e. $DEMO_PW}):"
    echo "    courier-reviewer   reviewer of 巫山县快递行业工会联合会 (the walkthrough's courier lands there)"
    echo "    wushan-viewer      viewer of 巫山县总工会 (looks, cannot decide)"
    echo "    wushan-manager     manager of 巫山县总工会; second step: the code of 'scripts/totp.py --demo wushan-manager'"
    echo "    pool-reviewer, gaotang-reviewer, jingtan-reviewer, delivery-reviewer, ridehailing-reviewer"
    echo "SMS (verification codes, notices) and WeChat messages go to the provider stub: read them at"
    echo "  http://127.0.0.1:$STUB_PORT/__stub/sms and http://127.0.0.1:$STUB_PORT/__stub/wechat/messages"
    echo "stop it with Ctrl-C, or 'make stop' from another terminal (also stops the databases and the stub)"
    # exec: this process becomes the server, so its pid is the one `make stop` and `make status` read
    ensure_state_dir
    echo "$$" >"$(server_pidfile)"
    exec "$zj" serve
}

main "$@"
