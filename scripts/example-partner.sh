#!/usr/bin/env bash
# Runs the example partner (examples/partner/partner.py) against a server of its own: make test
# calls it after the contract run (SKIP_EXAMPLE=1 skips it).
#   scripts/example-partner.sh
#
# 1. builds the binaries (PROFILE, default debug; ZJ_SKIP_BUILD=1 uses those already built)
# 2. its own provider stub and server, each on a free port, against a fresh database
#    zhijian_example (dropped, created, migrated, regions imported, demo seeded), with
#    webhooks.allow_insecure_targets = true so that the example's receiver on 127.0.0.1 is admitted
# 3. a partner client with every scope, made on the command line (`zhijian partner create`)
# 4. examples/partner/partner.py with that client; fails when any of its steps fails
# Server and stub are stopped on exit. Logs: .zhijian/example/ (prepare.log, server.log, stub.log).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROFILE="${PROFILE:-debug}"
export PROFILE
OUT="$ZJ_STATE/example"
DB=zhijian_example

SERVER_PID=""
STUB_E_PORT=""

cleanup() {
    local rc=$?
    stop_server_and_stub "$OUT" "$STUB_E_PORT" "the example's server"
    exit "$rc"
}

main() {
    cd "$ZJ_ROOT"
    "$ZJ_ROOT/scripts/db.sh" up
    "$ZJ_ROOT/scripts/secrets.sh"
    if [ "${ZJ_SKIP_BUILD:-0}" = "1" ]; then
        log "ZJ_SKIP_BUILD=1: using the binaries already built (profile $PROFILE)"
    else
        build_bins "$PROFILE"
    fi
    local zj
    zj="$(bin_path "$PROFILE" zhijian)"
    [ -x "$zj" ] || die "no $zj: build it (cargo build -p zhijian-api --bin zhijian)"
    install -d -m 0755 "$OUT"

    trap cleanup EXIT
    trap 'exit 130' INT TERM

    STUB_E_PORT="$(free_port)"
    "$ZJ_ROOT/scripts/stub.sh" start "$STUB_E_PORT"
    local port
    port="$(free_port)"
    [ "$port" != "$STUB_E_PORT" ] || port="$(free_port)"

    recreate_db "$DB"
    export_server_env "$port" "$STUB_E_PORT" "$DB"
    # The example's receiver listens on http://127.0.0.1 (development only; production refuses it)
    export APP__WEBHOOKS__ALLOW_INSECURE_TARGETS=true
    log "migrating, importing regions, seeding the demo (log: $OUT/prepare.log)"
    prepare_db "$zj" "$DB" >"$OUT/prepare.log" 2>&1 || {
        tail -n 30 "$OUT/prepare.log" >&2
        die "could not prepare database $DB (log: $OUT/prepare.log)"
    }
    start_logged_server "$zj" "$port" "$OUT" "the example's server"

    log "registering the partner: zhijian partner create"
    local out id secret
    out="$(RUST_LOG=warn "$zj" partner create --name "示例外卖平台" --contact "示例 13800000000" \
        --scopes applications:write,applications:read,members:verify,webhooks:manage)"
    id="$(printf '%s\n' "$out" | sed -n 's/^client_id: //p')"
    secret="$(printf '%s\n' "$out" | sed -n 's/^client_secret (shown once): //p')"
    [ -n "$id" ] && [ -n "$secret" ] || die "zhijian partner create printed no client_id/client_secret"

    log "running examples/partner/partner.py against http://127.0.0.1:$port"
    ZHIJIAN_PARTNER_CLIENT_SECRET="$secret" python3 "$ZJ_ROOT/examples/partner/partner.py" \
        --base "http://127.0.0.1:$port" --client-id "$id" --password "$(demo_password)" ||
        die "the example partner failed (server log: $OUT/server.log)"
    log "example partner: every step worked"
}

main "$@"
