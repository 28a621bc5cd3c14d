#!/usr/bin/env python3
"""Figures of `make bench` (scripts/bench.sh).

    report.py pgbench OUTPUT DIR     pgbench's stdout and per-transaction logs -> JSON
    report.py redis CSV              redis-benchmark --csv -> JSON
    report.py assemble RAW RESULTS   the raw JSON files -> RESULTS/<UTC time>.json + a table
    report.py table FILE             the table of a results file
"""

import datetime
import glob
import json
import os
import re
import sys

TARGETS = {
    "b1_fixed_p99_ms": ("<=", 25.0, "B1 p99 at the fixed rate (ms)"),
    "b2_first_p50_ratio_largest_smallest": ("<=", 1.2, "B2 first page p50, largest ÷ smallest size"),
    "b1_own_sql_ratio": (">=", 0.7, "B1 req/s ÷ pgbench of the server's own SQL"),
    "b4_own_sql_ratio": (">=", 0.7, "B4 req/s ÷ pgbench of the server's own SQL"),
    "b1_two_row_ratio": (">=", 0.35, "B1 req/s ÷ pgbench two-row baseline"),
    "b3_server_cpu_le_parts": ("<=", 1.0, "B3 server CPU ÷ (PG + Redis + stub CPU) per login"),
    "b8_submit_p99_ms": ("<=", 100.0, "B8 burst: submit p99 (ms)"),
    "b8_queue_p99_ms": ("<=", 100.0, "B8 burst: queue p99 (ms)"),
    "b8_5xx": ("<=", 0, "B8 burst: 5xx and failed requests"),
    "b8_missing_or_duplicated": ("<=", 0, "B8 burst: acknowledged ≠ exactly once in the DB"),
    "b8_server_rss_mb": ("<=", 150.0, "B8 burst: server RSS after (MB)"),
    "server_peak_rss_mb": ("<=", 150.0, "server peak RSS (MB)"),
    "b7_p50_ms_1000000": ("<=", 5.0, "B7 nearest 20 within 1 km, p50 at 1 M (ms)"),
    "b6_root_p50_ms_largest": ("<=", 20.0, "B6 overview at the root, p50 at the largest size (ms)"),
    "b6_city_p50_ms_largest": ("<=", 20.0, "B6 overview at a city, p50 at the largest size (ms)"),
    "b6_county_p50_ms_largest": ("<=", 20.0, "B6 overview at the county, p50 at the largest size (ms)"),
    "b6_root_p50_ratio_largest_smallest": ("<=", 1.2, "B6 root p50, largest ÷ smallest size"),
    "b6_b4_with_without_counters": (">=", 0.9, "B6 B4 approvals/s with counters ÷ without"),
    "b7_p50_ratio_1000000_1000": ("<=", 1.2, "B7 p50 at 1 M ÷ at 1 k"),
    "b5_import_ratio": (">=", 0.5, "B5 raw COPY time ÷ import time"),
    "b5_import_peak_rss_mb": ("<=", 150.0, "B5 importer peak RSS (MB)"),
    "b5_export_ratio_csv": (">=", 0.5, "B5 export (CSV) ÷ COPY TO, same rows"),
}


def percentile(ordered, q):
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def pgbench(output, directory):
    text = open(output, encoding="utf-8").read()
    tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text).group(1))
    processed = int(re.search(r"number of transactions actually processed: (\d+)", text).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", text)
    latencies = []
    for path in glob.glob(os.path.join(directory, "pgbench_log*")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000)
    latencies.sort()
    result = {"tps": tps, "transactions": processed, "failed": int(failed.group(1)) if failed else 0}
    if latencies:
        result.update({
            "p50_ms": round(percentile(latencies, 50), 3),
            "p90_ms": round(percentile(latencies, 90), 3),
            "p99_ms": round(percentile(latencies, 99), 3),
            "max_ms": round(latencies[-1], 3),
        })
    print(json.dumps(result))


def redis(csv):
    for line in open(csv, encoding="utf-8"):
        fields = [f.strip('"') for f in line.strip().split(",")]
        if fields and fields[0].startswith("SET"):
            result = {"rps": float(fields[1])}
            if len(fields) >= 8:
                result.update({"avg_ms": float(fields[2]), "p50_ms": float(fields[4]),
                               "p99_ms": float(fields[6])})
            print(json.dumps(result))
            return
    sys.exit(f"no SET line in {csv}")


def cpu(server_pid, stub_pid):
    """CPU seconds used so far by the server, every PostgreSQL process, Redis and the stub, and
    by the whole machine (`total`, from /proc/stat: also counts processes that have exited
    since, like pgbench's own backends)."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(pid):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            return 0.0

    def named(name):
        total = 0.0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
                    if f.read().strip() == name:
                        total += of(pid)
            except OSError:
                pass
        return total

    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
    print(json.dumps({"server": of(server_pid), "postgres": named("postgres"),
                      "redis": named("redis-server"), "stub": of(stub_pid), "total": busy / tick}))


def load(raw, name):
    path = os.path.join(raw, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def assemble(raw, results):
    settings = load(raw, "settings")
    sizes = settings["sizes"]
    doc = {
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": load(raw, "machine"),
        "settings": settings,
        "b1": {"server": load(raw, "b1_wrk"), "pgbench": load(raw, "b1_pgbench"),
               "pgbench_own_sql": load(raw, "b1_pgbench_own"),
               "fixed_rate": load(raw, "b1_fixed"), "fixed_half_rate": load(raw, "b1_fixed_half"),
               "server_cpu_s": load(raw, "b1_wrk_cpu"), "pgbench_cpu_s": load(raw, "b1_pgbench_cpu")},
        "b2": {str(s): {"generate": load(raw, f"gen_{s}"), "meta": load(raw, f"b2_{s}_meta"),
                        "first_page": load(raw, f"b2_{s}_first"),
                        "deep_page": load(raw, f"b2_{s}_deep")} for s in sizes},
        "b3": {"server": load(raw, "b3_wrk"), "healthz": load(raw, "b3_healthz"),
               "stub_alone": load(raw, "b3_stub"), "server_cpu_s": load(raw, "b3_wrk_cpu"),
               "healthz_cpu_s": load(raw, "b3_healthz_cpu"), "stub_cpu_s": load(raw, "b3_stub_cpu")},
        "b4": {"server": load(raw, "b4_wrk"), "pgbench_own_sql": load(raw, "b4_pgbench_own"),
               "server_cpu_s": load(raw, "b4_wrk_cpu")},
        "b8": {"burst": load(raw, "b8"), "check": load(raw, "b8_check"), "cpu_s": load(raw, "b8_cpu"),
               "statements": load(raw, "b8_statements")},
        "statements": {name: load(raw, f"{name}_statements") for name in
                       ("b1_wrk", "b1_pgbench", "b1_pgbench_own", "b3_wrk", "b3_healthz",
                        "b4_wrk", "b4_wrk_without_counters", "b4_pgbench_own")},
        "b7": {"1000": load(raw, "b7_1000"), "1000000": load(raw, "b7_1000000")},
        "b6": {"overview": {str(s): load(raw, f"b6_{s}") for s in sizes},
               "b4_without_counters": load(raw, "b4_wrk_without_counters")},
        "b9": {"move": load(raw, "b9_move")},
        "b5": {"import": load(raw, "b5_import")},
        "b5_export": load(raw, "b5_export"),
        "rss": load(raw, "rss"),
    }
    figures = {}
    if doc["b1"]["server"] and doc["b1"]["pgbench"]:
        figures["b1_two_row_ratio"] = round(doc["b1"]["server"]["rps"] / doc["b1"]["pgbench"]["tps"], 3)
    for b in ("b1", "b4"):
        own = doc[b].get("pgbench_own_sql")
        if doc[b]["server"] and own and own.get("tps"):
            figures[f"{b}_own_sql_ratio"] = round(doc[b]["server"]["rps"] / own["tps"], 3)
    # What PostgreSQL was asked per request (pg_stat_statements deltas around each run):
    # round trips (calls, BEGIN/COMMIT included), statements other than transaction control,
    # plans, planning and execution time.
    runs = {"b1_wrk": doc["b1"]["server"], "b1_pgbench": doc["b1"]["pgbench"],
            "b1_pgbench_own": doc["b1"].get("pgbench_own_sql"), "b3_wrk": doc["b3"]["server"],
            "b3_healthz": doc["b3"].get("healthz"), "b4_wrk": doc["b4"]["server"],
            "b4_wrk_without_counters": doc["b6"]["b4_without_counters"],
            "b4_pgbench_own": doc["b4"].get("pgbench_own_sql")}
    for name, run in runs.items():
        st = doc["statements"].get(name)
        n = run and (run.get("requests") or run.get("transactions"))
        if st and n:
            figures[f"{name}_pg_calls_per_request"] = round(st["calls"] / n, 2)
            figures[f"{name}_pg_statements_per_request"] = round((st["calls"] - st["transaction_control"]) / n, 2)
            figures[f"{name}_pg_plans_per_request"] = round(st["plans"] / n, 3)
            figures[f"{name}_pg_plan_ms_per_request"] = round(st["plan_ms"] / n, 4)
            figures[f"{name}_pg_exec_ms_per_request"] = round(st["exec_ms"] / n, 4)
    # Where each request's CPU went (ms per request, from /proc around the measurement), and
    # the ratio B1 could reach if the server and the load generator cost nothing: the cores
    # divided by PostgreSQL's own CPU per submission, over pgbench's rate.
    for bench, run_key, count_key, cpu_key in (("b1", "server", "requests", "server_cpu_s"),
                                               ("b1", "pgbench", "transactions", "pgbench_cpu_s"),
                                               ("b3", "server", "requests", "server_cpu_s"),
                                               ("b3", "healthz", "requests", "healthz_cpu_s"),
                                               ("b3", "stub_alone", "requests", "stub_cpu_s"),
                                               ("b4", "server", "requests", "server_cpu_s")):
        run, used = doc[bench].get(run_key), doc[bench].get(cpu_key)
        if run and used and run.get(count_key):
            for part, seconds in used.items():
                # pgbench's backends exit before the second reading: only the total counts.
                if seconds and (run_key != "pgbench" or part == "total"):
                    figures[f"{bench}_{run_key}_cpu_ms_per_request_{part}"] = round(seconds * 1000 / run[count_key], 3)
    pg_ms = figures.get("b1_server_cpu_ms_per_request_postgres")
    nproc = (doc["machine"] or {}).get("nproc")
    if pg_ms and nproc and doc["b1"]["pgbench"]:
        figures["b1_ratio_bound_if_server_free"] = round(nproc * 1000 / pg_ms / doc["b1"]["pgbench"]["tps"], 3)
    if doc["b1"]["fixed_rate"]:
        figures["b1_fixed_p99_ms"] = doc["b1"]["fixed_rate"]["p99_ms"]
    if doc["b1"].get("fixed_half_rate"):
        figures["b1_fixed_half_rate_p99_ms"] = doc["b1"]["fixed_half_rate"]["p99_ms"]
    first, last = str(sizes[0]), str(sizes[-1])
    for page in ("first_page", "deep_page"):
        a, b = doc["b2"][first][page], doc["b2"][last][page]
        if a and b and len(sizes) > 1:
            figures[f"b2_{page.split('_')[0]}_p50_ratio_largest_smallest"] = round(b["p50_ms"] / a["p50_ms"], 3)
    for s in sizes[1:]:
        a, b = doc["b2"][first]["first_page"], doc["b2"][str(s)]["first_page"]
        figures[f"b2_first_p50_ratio_{s}_{first}"] = round(b["p50_ms"] / a["p50_ms"], 3)
    b3 = doc["b3"]
    if b3["server"] and b3.get("healthz"):
        figures["b3_login_healthz_ratio"] = round(b3["server"]["rps"] / b3["healthz"]["rps"], 3)
    if b3["server"] and b3.get("stub_alone"):
        figures["b3_login_stub_ratio"] = round(b3["server"]["rps"] / b3["stub_alone"]["rps"], 3)
    parts = [figures.get(f"b3_server_cpu_ms_per_request_{p}") for p in ("postgres", "redis", "stub")]
    own = figures.get("b3_server_cpu_ms_per_request_server")
    if own and all(p is not None for p in parts[:1]):
        figures["b3_parts_cpu_ms_per_login"] = round(sum(p or 0 for p in parts), 3)
        figures["b3_server_cpu_le_parts"] = round(own / figures["b3_parts_cpu_ms_per_login"], 3)
    b8 = doc["b8"]
    if b8["burst"]:
        burst = b8["burst"]
        for kind in ("login", "submit", "bulk_submit", "queue", "approve"):
            if kind in burst:
                figures[f"b8_{kind}_p99_ms"] = burst[kind]["p99_ms"]
                figures[f"b8_{kind}_requests"] = burst[kind]["requests"]
        figures["b8_5xx"] = burst["status_5xx"] + burst["failed"]
    if b8["check"]:
        c = b8["check"]
        figures["b8_acknowledged"] = c["acknowledged"]
        figures["b8_missing_or_duplicated"] = abs(c["acknowledged"] - c["found_in_db"]) + (
            abs(c["idempotency_rows"] - c["acknowledged"]) if isinstance(c.get("idempotency_rows"), int) else 0)
        figures["b8_server_rss_mb"] = round(c["server_rss_kb"] / 1024, 1)
    # B7 (devtools/src/stations.rs): the p50 at 1 M is the queries spread over China; the
    # ratio compares the queries in the query areas, which read the same stations at both
    # sizes (their mean found is recorded to show it).
    small, large = doc["b7"]["1000"], doc["b7"]["1000000"]
    if large:
        figures["b7_p50_ms_1000000"] = round(large.get("spread_p50_us", large["p50_us"]) / 1000, 3)
        figures["b7_areas_p50_ms_1000000"] = round(large["p50_us"] / 1000, 3)
    if small and large and small["p50_us"]:
        figures["b7_p50_ratio_1000000_1000"] = round(large["p50_us"] / small["p50_us"], 3)
        figures["b7_found_per_query_1000"] = small["mean_found"]
        figures["b7_found_per_query_1000000"] = large["mean_found"]
    overview = doc["b6"]["overview"]
    largest = overview.get(last) or {}
    for level in ("root", "city", "county"):
        if level in largest:
            figures[f"b6_{level}_p50_ms_largest"] = round(largest[level]["p50_us"] / 1000, 3)
    smallest = overview.get(first) or {}
    if "root" in largest and "root" in smallest and smallest["root"]["p50_us"]:
        figures["b6_root_p50_ratio_largest_smallest"] = round(largest["root"]["p50_us"] / smallest["root"]["p50_us"], 3)
    without = doc["b6"]["b4_without_counters"]
    if doc["b4"]["server"] and without and without.get("rps"):
        figures["b6_b4_with_without_counters"] = round(doc["b4"]["server"]["rps"] / without["rps"], 3)
    move = doc["b9"]["move"]
    if move:
        figures["b9_move_total_s"] = round(move["total_ms"] / 1000, 2)
        figures["b9_move_batches"] = move["batches"]
        figures["b9_move_longest_batch_ms"] = move["longest_batch_ms"]
        figures["b9_move_longest_transaction_ms"] = max(move["longest_transaction_ms"], move["switch_ms"])
    imported = doc["b5"]["import"]
    if imported:
        figures["b5_import_rows"] = imported["rows"]
        figures["b5_import_ratio"] = imported["ratio"]
        figures["b5_import_s"] = round(imported["import_ms"] / 1000, 2)
        figures["b5_import_peak_rss_mb"] = imported["peak_rss_mb"]
    export = doc.get("b5_export")
    if export:
        figures["b5_export_rows"] = export["rows"]
        figures["b5_export_ratio_csv"] = export["ratio_csv"]
        figures["b5_export_ratio_xlsx"] = export["ratio_xlsx"]
        figures["b5_export_rss_growth_mb"] = round(
            (max(export["csv_rss_peak_kb"], export["xlsx_rss_peak_kb"]) - export["rss_before_kb"]) / 1024, 1)
    if doc["rss"]:
        figures["server_peak_rss_mb"] = round(doc["rss"]["server_vmhwm_kb"] / 1024, 1)
    doc["figures"] = figures
    doc["targets"] = {}
    for key, (op, bound, label) in TARGETS.items():
        value = figures.get(key)
        met = None if value is None else (value >= bound if op == ">=" else value <= bound)
        doc["targets"][key] = {"label": label, "target": f"{op} {bound}", "value": value, "met": met}
    os.makedirs(results, exist_ok=True)
    path = os.path.join(results, doc["when"].replace(":", "") + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    svg = os.path.join(raw, "b8_latency.svg")
    if os.path.exists(svg):
        import shutil
        shutil.copy(svg, path[:-len(".json")] + "_b8_latency.svg")
    table(doc)
    print(f"\nresults: {os.path.relpath(path)}")


def table(doc):
    m = doc["machine"] or {}
    print(f"\nzhijian bench — {doc['when']} — {m.get('nproc')} × {m.get('cpu')}, "
          f"{m.get('ram_gib')} GiB, Linux {m.get('kernel')}, commit {m.get('commit')}")
    s = doc["settings"]
    print(f"wrk/pgbench: {s['connections']} connections, {s['threads']} threads, {s['duration_s']} s each; "
          f"server: {s['workers']} workers, pool {s['pool_size']}; total {s['total_s']} s\n")
    rows = [("benchmark", "throughput", "p50 ms", "p99 ms", "errors")]

    def row(name, r, rate_key="rps", errors=None):
        if r:
            rows.append((name, f"{r[rate_key]:.0f}/s", f"{r.get('p50_ms', float('nan')):.2f}",
                         f"{r.get('p99_ms', float('nan')):.2f}",
                         str(errors if errors is not None else r.get("non2xx", 0) + r.get("socket_errors", 0))))

    row("B1 submit (server)", doc["b1"]["server"])
    row("B1 baseline (pgbench)", doc["b1"]["pgbench"], "tps", doc["b1"]["pgbench"] and doc["b1"]["pgbench"].get("failed"))
    for fixed in (doc["b1"]["fixed_rate"], doc["b1"].get("fixed_half_rate")):
        if fixed:
            row(f"B1 fixed {fixed['target_rps']:.0f}/s", fixed, errors=fixed["non2xx"] + fixed["failed"])
    for size, b2 in doc["b2"].items():
        pending = b2["meta"]["county_pending"] if b2["meta"] else "?"
        row(f"B2 queue first, {int(size):,} ({pending} pending)", b2["first_page"])
        row(f"B2 queue deep,  {int(size):,}", b2["deep_page"])
    row("B3 login (server)", doc["b3"]["server"])
    if doc["b3"].get("redis_benchmark"):
        row("B3 baseline (redis SET)", doc["b3"]["redis_benchmark"], errors=0)
    row("B3 GET /healthz (same server)", doc["b3"].get("healthz"))
    row("B3 stub jscode2session alone", doc["b3"].get("stub_alone"))
    row("B1 pgbench, the server's own SQL", doc["b1"].get("pgbench_own_sql"), "tps",
        doc["b1"].get("pgbench_own_sql") and doc["b1"]["pgbench_own_sql"].get("failed"))
    row("B4 approve (server)", doc["b4"]["server"])
    row("B4 pgbench, the server's own SQL", doc["b4"].get("pgbench_own_sql"), "tps",
        doc["b4"].get("pgbench_own_sql") and doc["b4"]["pgbench_own_sql"].get("failed"))
    row("B4 approve, counters' rows off", (doc.get("b6") or {}).get("b4_without_counters"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    f = doc["figures"]
    st_rows = [("per request (pg_stat_statements)", "round trips", "statements", "plans", "plan ms", "exec ms")]
    for name, label in (("b1_wrk", "B1 submit (server)"), ("b1_pgbench_own", "B1 pgbench own SQL"),
                        ("b1_pgbench", "B1 pgbench two rows"), ("b3_wrk", "B3 login"),
                        ("b4_wrk", "B4 approve"), ("b4_wrk_without_counters", "B4 approve, counters off"),
                        ("b4_pgbench_own", "B4 pgbench own SQL")):
        if f"{name}_pg_calls_per_request" in f:
            st_rows.append((label, str(f[f"{name}_pg_calls_per_request"]), str(f[f"{name}_pg_statements_per_request"]),
                            str(f[f"{name}_pg_plans_per_request"]), str(f[f"{name}_pg_plan_ms_per_request"]),
                            str(f[f"{name}_pg_exec_ms_per_request"])))
    if len(st_rows) > 1:
        print()
        widths = [max(len(r[i]) for r in st_rows) for i in range(6)]
        for r in st_rows:
            print("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    b8 = (doc.get("b8") or {}).get("burst")
    if b8:
        print(f"\nB8 burst ({b8['workers']} workers in {b8['seconds']:.0f} s, {b8['reviewers']} reviewers, "
              f"{b8['bulk_connections']} bulk connections; {b8['duration_s']} s):")
        for kind in ("login", "submit", "bulk_submit", "queue", "approve"):
            if kind in b8:
                k = b8[kind]
                print(f"  {kind:<12} {k['requests']:>6} req  {k['rps']:>7}/s  p50 {k['p50_ms']:>8} ms  "
                      f"p99 {k['p99_ms']:>8} ms  max {k['max_ms']:>8} ms  4xx {k['status_4xx']}  5xx {k['status_5xx']}  failed {k['failed']}")
    move = (doc.get("b9") or {}).get("move")
    if move:
        print(f"\nB9 move of a union with {move['applications']:,} applications and {move['members']:,} members: "
              f"{move['total_ms'] / 1000:.2f} s, {move['rows_moved']:,} rows in {move['batches']} batches of "
              f"{move['batch_size']}, longest batch {move['longest_batch_ms']} ms, first transaction "
              f"{move['switch_ms']} ms, listing the rows {move['collect_ms']} ms")
    export = doc.get("b5_export")
    if export:
        print(f"\nB5 export of {export['rows']:,} members: COPY TO {export['copy_s']:.2f} s, CSV {export['csv_s']:.2f} s "
              f"(ratio {export['ratio_csv']}), XLSX {export['xlsx_s']:.2f} s (ratio {export['ratio_xlsx']}); server RSS "
              f"{export['rss_before_kb'] // 1024} MB before, peak {export['csv_rss_peak_kb'] // 1024} MB (CSV), "
              f"{export['xlsx_rss_peak_kb'] // 1024} MB (XLSX)")
    print("\nfigures:")
    for key, value in doc["figures"].items():
        print(f"  {key:<42} {value}")
    print("\ntargets:")
    for key, t in doc["targets"].items():
        verdict = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
        print(f"  {t['label']:<46} {t['target']:<8} {str(t['value']):<10} {verdict}")


def main():
    command, *args = sys.argv[1:] or [""]
    if command == "pgbench":
        pgbench(*args)
    elif command == "redis":
        redis(*args)
    elif command == "cpu":
        cpu(*args)
    elif command == "assemble":
        assemble(*args)
    elif command == "table":
        with open(args[0], encoding="utf-8") as f:
            table(json.load(f))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
