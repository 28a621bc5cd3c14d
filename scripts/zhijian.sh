#!/usr/bin/env bash
# The zhijian command line (`zhijian admin create …`, `zhijian migrate`, …) against the
# database of `make run`, from another terminal:
#   scripts/zhijian.sh admin create --union 2 --role manager --username county-admin
# It uses the binary `make run` built (ZHIJIAN_BIN to choose another) and the same settings as
# the server: config/default.toml, config/local.toml, and the private PostgreSQL and Redis —
# unless APP__DATABASE__URL / APP__REDIS__URL are already set (then those, e.g. in make test).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin="${ZHIJIAN_BIN:-}"
if [ -z "$bin" ]; then
    for profile in "${PROFILE:-release}" debug release; do
        candidate="$(bin_path "$profile" zhijian)"
        if [ -x "$candidate" ]; then
            bin="$candidate"
            break
        fi
    done
fi
[ -n "$bin" ] && [ -x "$bin" ] || die "no zhijian binary: run 'make run' (or cargo build) first"
export APP_ENV="${APP_ENV:-local}"
export APP__DATABASE__URL="${APP__DATABASE__URL:-$(pg_url zhijian)}"
export APP__REDIS__URL="${APP__REDIS__URL:-$(redis_url 0)}"
export RUST_LOG="${RUST_LOG:-warn}"
cd "$ZJ_ROOT"
exec "$bin" "$@"
