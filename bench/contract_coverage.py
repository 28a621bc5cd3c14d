#!/usr/bin/env python3
"""How far the contract run reached: per openapi operation, the statuses the server answered.

Reads the server log of the schemathesis run only (from the byte offset recorded just before
schemathesis started, so the README walkthrough and the fixtures of scripts/contract-tokens.sh do
not count), maps every telemetry line `METHOD /route/{pattern} status=NNN` to its operation in
openapi.yaml, prints a table (2xx / 4xx / 5xx counts and the statuses seen per operation), the
share of operations with at least one 2xx, and the stateful phase's link coverage when the
schemathesis output is given. Exits 1 when the share is under the threshold.

  bench/contract_coverage.py --openapi openapi.yaml --log server.log [--offset N]
                             [--st-output st.log] [--threshold 90]

The threshold defaults to $ZJ_CONTRACT_MIN_2XX (90, in percent).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter, defaultdict

try:
    import yaml  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - PyYAML is everywhere schemathesis is
    yaml = None

# The request line as key-values (`method=POST route=/v1/applications/{id} status=201`, the
# text form of the structured log; in JSON logs the same keys), or the older
# `POST /v1/applications/{id} status=201`.
LINE = re.compile(
    r"\bmethod=(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) route=(\S+) status=(\d{3})\b"
    r"|\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) status=(\d{3})\b"
)
JSON_LINE = re.compile(
    r'"method":"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)".*?"route":"([^"]+)".*?"status":(\d{3})\b'
)
LINKS = re.compile(r"API Links:\s+(\d+) covered / (\d+) selected / (\d+) total")
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def operations(path: str) -> dict[tuple[str, str], str]:
    """(METHOD, path template) -> operationId, from the contract."""
    with open(path, encoding="utf-8") as fd:
        text = fd.read()
    if yaml is not None:
        doc = yaml.safe_load(text)
        out = {}
        for route, item in (doc.get("paths") or {}).items():
            for method in METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    out[(method.upper(), route)] = op.get("operationId") or f"{method.upper()} {route}"
        return out
    # No PyYAML: the contract's own layout (two-space path keys, four-space methods)
    out, route, method = {}, None, None
    for line in text.splitlines():
        if m := re.match(r"^  (/\S*):\s*$", line):
            route = m.group(1)
        elif route and (m := re.match(r"^    (get|post|put|patch|delete|head|options):\s*$", line)):
            method = m.group(1).upper()
            out[(method, route)] = f"{method} {route}"
        elif route and method and (m := re.match(r"^      operationId:\s*(\S+)", line)):
            out[(method, route)] = m.group(1)
        elif re.match(r"^\S", line):
            route = method = None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--openapi", required=True)
    parser.add_argument("--log", required=True, help="the server log")
    parser.add_argument("--offset", type=int, default=0, help="byte offset where the run starts")
    parser.add_argument("--st-output", help="schemathesis' output, for the stateful link coverage")
    parser.add_argument(
        "--threshold",
        type=float,
        default=float(os.environ.get("ZJ_CONTRACT_MIN_2XX", "90")),
        help="minimum share (percent) of operations with a 2xx (default $ZJ_CONTRACT_MIN_2XX or 90)",
    )
    args = parser.parse_args()

    ops = operations(args.openapi)
    seen: dict[str, Counter[int]] = defaultdict(Counter)
    unknown: Counter[str] = Counter()
    with open(args.log, "rb") as fd:
        fd.seek(args.offset)
        for raw in fd:
            text = raw.decode("utf-8", "replace")
            m = LINE.search(text) or JSON_LINE.search(text)
            if not m:
                continue
            groups = [g for g in m.groups() if g is not None]
            method, route, status = groups[0], groups[1], int(groups[2])
            op = ops.get((method, route))
            if op is None:
                unknown[f"{method} {route}"] += 1
            else:
                seen[op][status] += 1

    rows = []
    for (method, route), op in sorted(ops.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        counts = seen.get(op, Counter())
        total = sum(counts.values())
        ok = sum(n for s, n in counts.items() if 200 <= s < 300)
        client = sum(n for s, n in counts.items() if 400 <= s < 500)
        server = sum(n for s, n in counts.items() if s >= 500)
        statuses = " ".join(f"{s}:{n}" for s, n in sorted(counts.items()))
        rows.append((op, f"{method} {route}", total, ok, client, server, statuses))

    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  {'requests':>8} {'2xx':>6} {'4xx':>6} {'5xx':>4}  statuses")
    for op, _, total, ok, client, server, statuses in rows:
        mark = " " if ok else "!"
        print(f"{op:<{width}}{mark} {total:>8} {ok:>6} {client:>6} {server:>4}  {statuses}")
    if unknown:
        # schemathesis' unsupported-method checks and the like: counted, not listed one by one
        print(
            f"requests outside the contract (405s of other methods, unmatched paths): "
            f"{sum(unknown.values())} to {len(unknown)} method+route pairs"
        )

    reached = sum(1 for r in rows if r[3] > 0)
    share = 100.0 * reached / len(rows) if rows else 0.0
    missing = [r[0] for r in rows if r[3] == 0]
    print(f"operations with a 2xx: {reached}/{len(rows)} = {share:.1f} % (threshold {args.threshold:g} %)")
    if missing:
        print("without a 2xx: " + ", ".join(missing))
    if args.st_output and os.path.exists(args.st_output):
        with open(args.st_output, encoding="utf-8", errors="replace") as fd:
            links = LINKS.findall(fd.read())
        if links:
            covered, selected, total = links[-1]
            print(f"stateful phase: {covered} of {selected} selected links covered ({total} in the contract)")
    if share < args.threshold:
        print(f"FAIL: {share:.1f} % of operations reached a 2xx, under {args.threshold:g} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
