#!/usr/bin/env bash
# The whole check, as CI runs it (.ci/run -> make test):
# system packages, private PostgreSQL + Redis, secrets, rustfmt, clippy, tests, then the contract run.
#   scripts/test.sh            (make test)
#   SKIP_CONTRACT=1 scripts/test.sh    everything but the schemathesis run
#   SKIP_CRASH=1 scripts/test.sh       everything but the crash-under-load run
#   SKIP_CONSOLE=1 scripts/test.sh     everything but the console's browser tests
#   SKIP_EXAMPLE=1 scripts/test.sh     everything but the example partner (examples/partner/)
# Tests get ZHIJIAN_TEST_DATABASE_URL (the postgres database; tests create their own databases)
# and ZHIJIAN_TEST_REDIS_URL.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step() { log "==> $*"; }

# The typed TypeScript client: types generated from openapi.yaml, then `tsc --noEmit` over the
# client and the calls in clients/ts/src/contract-check.ts. `npm ci` takes the locked versions,
# from the npm cache once they have been fetched.
check_ts_client() {
    step "typed clients: openapi-typescript + tsc --noEmit (clients/ts)"
    (
        cd "$ZJ_ROOT/clients/ts"
        npm ci --prefer-offline --no-audit --no-fund --loglevel=error
        npm run --silent check
    )
}

run_tests() {
    ensure_venv
    ZHIJIAN_TEST_DATABASE_URL="$(pg_url postgres)"
    ZHIJIAN_TEST_REDIS_URL="$(redis_url)"
    ZHIJIAN_TEST_PYTHON="$VENV/bin/python"
    export ZHIJIAN_TEST_DATABASE_URL ZHIJIAN_TEST_REDIS_URL ZHIJIAN_TEST_PYTHON
    log "ZHIJIAN_TEST_DATABASE_URL=$ZHIJIAN_TEST_DATABASE_URL ZHIJIAN_TEST_REDIS_URL=$ZHIJIAN_TEST_REDIS_URL"
    if cargo nextest --version >/dev/null 2>&1; then
        # First, alone, so that their message is the first failure: schema.rs against the
        # migrated database (schema drift), api without diesel/r2d2, the hand-written SQL
        # prepared against the schema. The full run below repeats them.
        step "architecture checks (schema drift, api layering, hand-written SQL)"
        cargo nextest run -p zhijian-integration-tests --no-tests=fail \
            -E 'test(/^migrations::schema_rs_/) | test(/^architecture::/) | test(/^sql::/)'
        step "cargo nextest run --workspace"
        cargo nextest run --workspace --no-tests=warn
        step "cargo test --doc --workspace"
        cargo test --doc --workspace
    else
        step "cargo test --workspace"
        cargo test --workspace
    fi
}

main() {
    cd "$ZJ_ROOT"
    "$ZJ_ROOT/scripts/deps.sh"
    "$ZJ_ROOT/scripts/db.sh" up
    "$ZJ_ROOT/scripts/secrets.sh"

    step "cargo fmt --all -- --check"
    cargo fmt --all -- --check
    step "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings
    check_ts_client
    run_tests

    if [ "${SKIP_CRASH:-0}" = "1" ]; then
        log "SKIP_CRASH=1: not running the crash test"
    else
        step "crash under load, small (scripts/crash.sh; make crash runs 10 000)"
        CRASH_SIZE="${CRASH_SIZE:-400}" CRASH_CLIENTS="${CRASH_CLIENTS:-16}" "$ZJ_ROOT/scripts/crash.sh"
    fi

    if [ "${SKIP_CONSOLE:-0}" = "1" ]; then
        log "SKIP_CONSOLE=1: not running the console's browser tests"
    else
        step "console browser tests (scripts/console-test.sh)"
        "$ZJ_ROOT/scripts/console-test.sh"
    fi

    if [ "${SKIP_CONTRACT:-0}" = "1" ]; then
        log "SKIP_CONTRACT=1: not running the contract tests"
    else
        step "contract tests (scripts/contract.sh)"
        "$ZJ_ROOT/scripts/contract.sh"
    fi

    if [ "${SKIP_EXAMPLE:-0}" = "1" ]; then
        log "SKIP_EXAMPLE=1: not running the example partner"
    else
        step "example partner (scripts/example-partner.sh)"
        "$ZJ_ROOT/scripts/example-partner.sh"
    fi
    log "all checks passed"
}

main "$@"
