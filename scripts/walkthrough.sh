#!/usr/bin/env bash
# Runs the README's walkthrough, exactly as written, against a running server, and fails if any
# step fails or the card does not verify. Called by scripts/contract.sh (make test) against its
# fresh server with the demo data. Each run makes a new worker, so it can run again and again
# against the same database (e.g. the one of make run).
#   scripts/walkthrough.sh http://127.0.0.1:PORT
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

base="${1:?usage: scripts/walkthrough.sh BASE_URL}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Every ```sh block of the sections whose heading starts with "## Walkthrough" (each up to the
# next "## " heading), in order, in one shell; the BASE line points at this server.
python3 - "$ZJ_ROOT/README.md" "$base" >"$work/walkthrough.sh" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
sections = re.findall(r"^## Walkthrough.*?(?=^## |\Z)", text, flags=re.S | re.M)
blocks = [b for s in sections for b in re.findall(r"```sh\n(.*?)```", s, flags=re.S)]
if not blocks:
    sys.exit("README.md has no ```sh blocks under ## Walkthrough")
script = "\n".join(blocks)
script = re.sub(r"^BASE=.*$", "BASE=" + sys.argv[2], script, count=1, flags=re.M)
print(script)
PY
log "walkthrough: running the README's $(grep -c . "$work/walkthrough.sh") lines against $base"
out="$(cd "$ZJ_ROOT" && bash -euo pipefail "$work/walkthrough.sh" 2>&1)" || {
    printf '%s\n' "$out" >&2
    die "the README walkthrough failed"
}
printf '%s\n' "$out"
grep -q '"valid":true' <<<"$out" || die "the README walkthrough ran, but the member card did not verify"
log "walkthrough: every step worked"
