#!/usr/bin/env python3
"""B5 (export half): `GET /v1/admin/members/export` of N members against `COPY (SELECT …) TO
STDOUT` of the same rows and columns, measured in the same run, and the server's memory during
the export.

    bench/export.py --base URL --token TOKEN --server-pid PID --psql "psql -h … -d DB"
                    --zhijian-dev PATH --members N [--repeat 3]

1. Gathers N members under the union of the token's admin (the busy county's manager in
   `make bench`): one `UPDATE members SET union_id = …` of the first N members by id (all of
   them when fewer). B5 runs last, on a database that is dropped afterwards.
2. The statement the export reads (`zhijian-dev register-sql PATH`, the same function the server
   calls) goes to `psql -c "COPY (…) TO STDOUT"`; the export goes over HTTP as CSV, then as
   XLSX. Both outputs are read by this script in 64 KiB chunks and thrown away; the best of
   `--repeat` runs of each counts. The COPY ships the sealed personal data as stored; the export
   decrypts it, formats and neutralises every cell, and speaks HTTP.
3. While an export runs, a thread samples the server's VmRSS every 10 ms; the peak above the
   RSS before the export is what the export held (it should not grow with N).

Prints `BENCH_JSON {...}`: rows, copy_s, csv_s, xlsx_s, ratio_csv (= copy_s / csv_s, target
≥ 0.5), ratio_xlsx, csv_mb, xlsx_mb, rss_before_kb, csv_rss_peak_kb, xlsx_rss_peak_kb.
"""
import argparse
import json
import shlex
import subprocess
import threading
import time
import urllib.request

CHUNK = 64 * 1024


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, rss_kb(pid), threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.01)

    def stop(self):
        self.done.set()
        self.join()
        return max(self.peak, rss_kb(self.pid))


def drain(stream):
    """Bytes and lines read from a binary stream, chunk by chunk."""
    size = lines = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return size, lines
        size += len(chunk)
        lines += chunk.count(b"\n")


def psql(args, sql):
    return subprocess.run(shlex.split(args) + ["-qAt", "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def copy_once(args, select):
    started = time.perf_counter()
    process = subprocess.Popen(shlex.split(args) + ["-qAt", "-c", f"COPY ({select}) TO STDOUT"],
                               stdout=subprocess.PIPE)
    size, lines = drain(process.stdout)
    if process.wait() != 0:
        raise SystemExit("COPY failed")
    return time.perf_counter() - started, size, lines


def export_once(base, token, fmt, pid):
    request = urllib.request.Request(f"{base}/v1/admin/members/export?format={fmt}",
                                     headers={"Authorization": f"Bearer {token}"})
    sampler = RssSampler(pid)
    sampler.start()
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=3600) as response:
        size, lines = drain(response)
    elapsed = time.perf_counter() - started
    return elapsed, size, lines, sampler.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--psql", required=True)
    parser.add_argument("--zhijian-dev", required=True)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--admin", default="wushan-manager")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    union_id, path = psql(args.psql, f"SELECT u.id || ' ' || u.path FROM admins a JOIN unions u "
                                     f"ON u.id = a.union_id WHERE a.username = '{args.admin}'").split()
    psql(args.psql, f"UPDATE members SET union_id = {union_id} WHERE id IN "
                    f"(SELECT id FROM members ORDER BY id LIMIT {args.members})")
    psql(args.psql, "VACUUM ANALYZE members")
    select = subprocess.run([args.zhijian_dev, "register-sql", path], check=True,
                            capture_output=True, text=True).stdout.strip()

    copies = [copy_once(args.psql, select) for _ in range(args.repeat)]
    rows = copies[0][2]
    rss_before = rss_kb(args.server_pid)
    csvs = [export_once(args.base, args.token, "csv", args.server_pid) for _ in range(args.repeat)]
    for _, _, lines, _ in csvs:
        if lines - 1 != rows:
            raise SystemExit(f"the CSV export has {lines - 1} lines, COPY {rows}")
    xlsxs = [export_once(args.base, args.token, "xlsx", args.server_pid)
             for _ in range(max(1, args.repeat - 1))]
    copy_s = min(c[0] for c in copies)
    csv_s = min(c[0] for c in csvs)
    xlsx_s = min(x[0] for x in xlsxs)
    figures = {
        "rows": rows,
        "copy_s": round(copy_s, 3),
        "csv_s": round(csv_s, 3),
        "xlsx_s": round(xlsx_s, 3),
        "ratio_csv": round(copy_s / csv_s, 3),
        "ratio_xlsx": round(copy_s / xlsx_s, 3),
        "copy_mb": round(copies[0][1] / 1e6, 1),
        "csv_mb": round(csvs[0][1] / 1e6, 1),
        "xlsx_mb": round(xlsxs[0][1] / 1e6, 1),
        "rss_before_kb": rss_before,
        "csv_rss_peak_kb": max(c[3] for c in csvs),
        "xlsx_rss_peak_kb": max(x[3] for x in xlsxs),
    }
    print(f"B5 export: {rows} rows; COPY {copy_s:.2f} s, CSV {csv_s:.2f} s "
          f"(ratio {figures['ratio_csv']}), XLSX {xlsx_s:.2f} s (ratio {figures['ratio_xlsx']}); "
          f"server RSS {rss_before} kB before, peak {figures['csv_rss_peak_kb']} kB (CSV), "
          f"{figures['xlsx_rss_peak_kb']} kB (XLSX)")
    print("BENCH_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
