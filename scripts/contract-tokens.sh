#!/usr/bin/env bash
# Sign in a worker (through the provider stub) and a demo admin for the contract run; prints
# `NAME=value` lines that scripts/contract.sh exports for schemathesis.toml.
#   ZHIJIAN_BASE_URL=http://127.0.0.1:PORT scripts/contract-tokens.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

base="${ZHIJIAN_BASE_URL:?ZHIJIAN_BASE_URL is not set}"

json_field() {
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

worker="$(curl -fsS -X POST "$base/v1/auth/wechat" -H 'content-type: application/json' \
    -d "{\"code\":\"contract.$RANDOM$RANDOM\"}" | json_field access_token)"
password="$(demo_password)"
admin="$(curl -fsS -X POST "$base/v1/admin/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"wushan-manager\",\"password\":\"$password\"}" | json_field access_token)"
echo "ZJ_CONTRACT_WORKER_TOKEN=$worker"
echo "ZJ_CONTRACT_ADMIN_TOKEN=$admin"
