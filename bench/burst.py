#!/usr/bin/env python3
"""B8, a campaign-day burst: WORKERS workers sign in (POST /v1/auth/wechat, a fresh code each)
and submit (POST /v1/applications) at arrival times spread evenly over SECONDS, while REVIEWERS
reviewers work the busy county's queue (GET /v1/admin/applications, then approve one of the
page) and one bulk client submits back to back on its own connections (the HTTP intake, as a
partner's integration would call it), until the last worker is done.

    burst.py --url http://127.0.0.1:PORT --admin-token T --regions FILE --out DIR \
        [--workers 2000] [--reviewers 20] [--seconds 60] [--bulk-connections 4] [--offset N]

Every request's start (since the burst began), latency, kind and status go to DIR/b8_requests.csv;
the acknowledged submissions' ids to DIR/b8_acknowledged.txt (checked in the database by
scripts/bench.sh: each exists exactly once). Prints `BENCH_JSON {...}`: per kind the count,
p50/p99/max, 5xx and failures. `burst.py plot DIR` draws DIR/b8_latency.svg (latency over time,
one mark per request, and the p99 of each second) with the standard library only.
Workers' latencies are from their scheduled arrival (an open loop: a stalled server is charged).
"""

import argparse
import asyncio
import csv
import json
import os
import random
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixed_rate import OCCUPATIONS, resident_id  # noqa: E402


class Http:
    """One keep-alive HTTP/1.1 connection; answers (status, body bytes)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method, path, headers=None, body=None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(data)}\r\n\r\n"
        try:
            self.writer.write(head.encode() + data)
            raw = await self.reader.readuntil(b"\r\n\r\n")
            status = int(raw.split(b" ", 2)[1])
            length, chunked = 0, False
            for line in raw.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            out = b""
            if chunked:
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                    out += (await self.reader.readexactly(size + 2))[:size]
                    if size == 0:
                        break
            elif length:
                out = await self.reader.readexactly(length)
            return status, out
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.writer.close()
            self.reader = self.writer = None
            raise


def form(p, i, regions):
    return {
        "name": "李四", "resident_id": resident_id(p), "phone": f"15{p % 1000000000:09d}",
        "ethnicity": "han", "education": "senior_high", "political_status": "masses",
        "household_type": "agricultural", "employment_status": "flexible",
        "occupation": OCCUPATIONS[i % len(OCCUPATIONS)], "employer_name": "巫山县某配送站",
        "platform": "某平台", "work_region": regions[i % len(regions)],
        "work_address": f"巫山县龙门街道{i % 500 + 1}号",
        "consent": {"privacy_notice_version": "2026-01", "sensitive_data": True},
    }


async def run(args):
    url = urlparse(args.url)
    host, port = url.hostname, url.port or 80
    with open(args.regions, encoding="utf-8") as f:
        regions = [line.strip() for line in f if line.strip()]
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    records = []  # (start_s, latency_ms, kind, status)
    acknowledged = []
    stop = asyncio.Event()

    async def timed(conn, kind, due, method, path, headers=None, body=None, retries=2):
        """One request (retried on a broken connection with the same headers, so the
        Idempotency-Key makes a retried submission the same one)."""
        for attempt in range(retries + 1):
            try:
                status, out = await conn.request(method, path, headers, body)
                break
            except (OSError, asyncio.IncompleteReadError, ValueError):
                if attempt == retries:
                    status, out = -1, b""
        records.append((round(due - start, 4), round((loop.time() - due) * 1000, 3), kind, status))
        return status, out

    async def worker(i):
        due = start + i * args.seconds / args.workers
        await asyncio.sleep(max(0.0, due - loop.time()))
        conn = Http(host, port)
        status, out = await timed(conn, "login", due, "POST", "/v1/auth/wechat",
                                  body={"code": f"burst{args.offset + i}.{random.randrange(1 << 30)}"})
        if status != 200:
            return
        token = json.loads(out)["access_token"]
        p = args.offset + i
        t = loop.time()
        status, out = await timed(conn, "submit", t, "POST", "/v1/applications",
                                  {"Authorization": f"Bearer {token}", "Idempotency-Key": f"burst-{p}"},
                                  form(p, i, regions))
        if status in (200, 201):
            acknowledged.append(json.loads(out)["id"])
        if conn.writer:
            conn.writer.close()

    async def reviewer(r):
        conn = Http(host, port)
        auth = {"Authorization": f"Bearer {args.admin_token}"}
        rng = random.Random(r)
        while not stop.is_set():
            status, out = await timed(conn, "queue", loop.time(), "GET", "/v1/admin/applications?limit=20", auth)
            if status != 200:
                await asyncio.sleep(0.05)
                continue
            items = json.loads(out).get("items") or []
            if not items:
                await asyncio.sleep(0.05)
                continue
            item = rng.choice(items)
            await timed(conn, "approve", loop.time(), "POST", f"/v1/admin/applications/{item['id']}/approve",
                        auth, {"version": item["version"]})

    async def bulk(c):
        conn = Http(host, port)
        status, out = await conn.request("POST", "/v1/auth/wechat", body={"code": f"burstbulk{c}.{random.randrange(1 << 30)}"})
        token = json.loads(out)["access_token"]
        n = 0
        while not stop.is_set():
            n += 1
            p = args.offset + 500000 + c * 100000 + n
            status, out = await timed(conn, "bulk_submit", loop.time(), "POST", "/v1/applications",
                                      {"Authorization": f"Bearer {token}", "Idempotency-Key": f"burst-bulk-{p}"},
                                      form(p, n, regions))
            if status in (200, 201):
                acknowledged.append(json.loads(out)["id"])

    background = [asyncio.create_task(reviewer(r)) for r in range(args.reviewers)]
    background += [asyncio.create_task(bulk(c)) for c in range(args.bulk_connections)]
    await asyncio.gather(*(worker(i) for i in range(args.workers)))
    stop.set()
    await asyncio.gather(*background)
    return records, acknowledged, loop.time() - start


def summary(records, elapsed):
    result = {"duration_s": round(elapsed, 2)}
    for kind in sorted({r[2] for r in records}):
        lat = sorted(r[1] for r in records if r[2] == kind)
        statuses = [r[3] for r in records if r[2] == kind]

        def pct(q):
            return lat[min(len(lat) - 1, int(q / 100 * len(lat)))]

        result[kind] = {
            "requests": len(lat), "rps": round(len(lat) / elapsed, 1),
            "p50_ms": round(pct(50), 2), "p99_ms": round(pct(99), 2), "max_ms": round(lat[-1], 2),
            "status_5xx": sum(1 for s in statuses if s >= 500), "failed": sum(1 for s in statuses if s <= 0),
            "status_4xx": sum(1 for s in statuses if 400 <= s < 500),
        }
    result["status_5xx"] = sum(v["status_5xx"] for k, v in result.items() if isinstance(v, dict))
    result["failed"] = sum(v["failed"] for k, v in result.items() if isinstance(v, dict))
    return result


def plot(directory):
    """DIR/b8_requests.csv -> DIR/b8_latency.svg: each request a dot (log latency over start
    time, one colour per kind) and each kind's p99 per second as a line."""
    rows = []
    with open(os.path.join(directory, "b8_requests.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append((float(r["start_s"]), max(0.1, float(r["latency_ms"])), r["kind"], int(r["status"])))
    colours = {"login": "#1f77b4", "submit": "#d62728", "bulk_submit": "#ff7f0e", "queue": "#2ca02c", "approve": "#9467bd"}
    import math
    w, h, left, right, top, bottom = 960, 480, 60, 150, 30, 40
    t_max = max(r[0] for r in rows) or 1
    l_min, l_max = 0.1, max(1000.0, max(r[1] for r in rows))

    def x(t):
        return left + (w - left - right) * t / t_max

    def y(ms):
        return top + (h - top - bottom) * (1 - (math.log10(ms) - math.log10(l_min)) / (math.log10(l_max) - math.log10(l_min)))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="13">B8 campaign-day burst: latency of every request over time (log scale); lines: p99 per second</text>']
    ms = l_min
    while ms <= l_max:
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(ms):.1f}" y2="{y(ms):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 5}" y="{y(ms) + 4:.1f}" text-anchor="end">{ms:g} ms</text>')
        ms *= 10
    step = 10 if t_max > 30 else 5
    t = 0
    while t <= t_max:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{h - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{x(t):.1f}" y="{h - bottom + 15}" text-anchor="middle">{t} s</text>')
        t += step
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{h - bottom}" stroke="black"/>')
    out.append(f'<line x1="{left}" x2="{w - right}" y1="{h - bottom}" y2="{h - bottom}" stroke="black"/>')
    for (start, lat, kind, status) in rows:
        colour = "black" if status >= 500 or status <= 0 else colours.get(kind, "gray")
        out.append(f'<circle cx="{x(start):.1f}" cy="{y(lat):.1f}" r="1.3" fill="{colour}" fill-opacity="0.35"/>')
    for n, kind in enumerate(k for k in colours if any(r[2] == k for r in rows)):
        by_second = {}
        for (start, lat, k, _) in rows:
            if k == kind:
                by_second.setdefault(int(start), []).append(lat)
        points = []
        for sec in sorted(by_second):
            lat = sorted(by_second[sec])
            points.append(f"{x(sec + 0.5):.1f},{y(lat[min(len(lat) - 1, int(0.99 * len(lat)))]):.1f}")
        out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colours[kind]}" stroke-width="1.8"/>')
        out.append(f'<rect x="{w - right + 12}" y="{top + 18 * n}" width="12" height="12" fill="{colours[kind]}"/>')
        out.append(f'<text x="{w - right + 30}" y="{top + 18 * n + 10}">{kind}</text>')
    out.append(f'<text x="{w - right + 12}" y="{top + 18 * 6 + 10}">black: 5xx or failed</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 5}" text-anchor="middle">time since the burst began</text>')
    out.append("</svg>")
    with open(os.path.join(directory, "b8_latency.svg"), "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "plot":
        plot(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--regions", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--workers", type=int, default=2000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--bulk-connections", type=int, default=4)
    parser.add_argument("--offset", type=int, default=11000000)
    args = parser.parse_args()
    started = time.time()
    records, acknowledged, elapsed = asyncio.run(run(args))
    with open(os.path.join(args.out, "b8_requests.csv"), "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["start_s", "latency_ms", "kind", "status"])
        writer.writerows(sorted(records))
    with open(os.path.join(args.out, "b8_acknowledged.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(acknowledged) + "\n")
    plot(args.out)
    result = summary(records, elapsed)
    result.update({"workers": args.workers, "reviewers": args.reviewers, "seconds": args.seconds,
                   "bulk_connections": args.bulk_connections, "acknowledged": len(acknowledged),
                   "acknowledged_distinct": len(set(acknowledged)), "wall_s": round(time.time() - started, 2)})
    print("BENCH_JSON " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
