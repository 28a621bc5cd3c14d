#!/usr/bin/env python3
"""B1 at a fixed rate: open-loop POST /v1/applications, latency from each request's *scheduled*
start (so a stalled server is charged for the requests that should have gone out meanwhile —
no coordinated omission, as wrk2 or `oha --latency-correction` do).

    fixed_rate.py --url http://127.0.0.1:PORT --rate 1000 --duration 15 --connections 64 \
        --tokens FILE --regions FILE --offset N

Requests are the same as bench/lua/submit.lua (a new valid person each time). Request i is
due at start + i / rate; every due request is handed to a free keep-alive connection (or waits
for one, which counts in its latency). Prints one line `BENCH_JSON {...}`: achieved rate,
p50/p90/p99/p99.9/max in ms, non-2xx and failed requests. Standard library only; at 1 000 req/s
it uses about a tenth of a core, which it takes from the server like any load generator would.
"""

import argparse
import asyncio
import datetime
import json
import sys
import time
from urllib.parse import urlparse

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
OCCUPATIONS = ["delivery_rider", "delivery_rider", "courier", "courier", "ride_hailing_driver",
               "truck_driver", "domestic_worker", "cleaner"]
EPOCH = datetime.date(1970, 1, 1)


def resident_id(p: int) -> str:
    """The same person numbering as bench/lua/common.lua."""
    birth = EPOCH + datetime.timedelta(days=(p // 1000) % 12000)
    body = f"500237{birth:%Y%m%d}{p % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, WEIGHTS))
    return body + CHECK[total % 11]


def lines(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


class Connection:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = None
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        return status


async def run(args) -> dict:
    url = urlparse(args.url)
    host, port = url.hostname, url.port or 80
    tokens = lines(args.tokens)
    regions = lines(args.regions)

    def build(i: int) -> bytes:
        p = args.offset + i
        body = json.dumps({
            "name": "张三", "resident_id": resident_id(p), "phone": f"13{p % 1000000000:09d}",
            "ethnicity": "han", "education": "senior_high", "political_status": "masses",
            "household_type": "agricultural", "employment_status": "flexible",
            "occupation": OCCUPATIONS[i % len(OCCUPATIONS)], "employer_name": "巫山县某配送站",
            "platform": "某平台", "work_region": regions[i % len(regions)],
            "work_address": f"巫山县高唐街道广东中路{i % 500 + 1}号",
            "consent": {"privacy_notice_version": "2026-01", "sensitive_data": True},
        }, ensure_ascii=False).encode()
        head = (f"POST /v1/applications HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {tokens[i % len(tokens)]}\r\n"
                f"Content-Type: application/json\r\nIdempotency-Key: bench-{p}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        return head + body

    free: asyncio.Queue = asyncio.Queue()
    for _ in range(args.connections):
        reader, writer = await asyncio.open_connection(host, port)
        free.put_nowait(Connection(reader, writer))

    total = int(args.rate * args.duration)
    latencies = [0.0] * total
    statuses = [0] * total
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int, due: float) -> None:
        conn = await free.get()
        try:
            statuses[i] = await conn.request(build(i))
            free.put_nowait(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            statuses[i] = -1
            reader, writer = await asyncio.open_connection(host, port)
            free.put_nowait(Connection(reader, writer))
        latencies[i] = loop.time() - due

    tasks = []
    i = 0
    while i < total:
        now = loop.time()
        while i < total and start + i / args.rate <= now:
            tasks.append(asyncio.create_task(one(i, start + i / args.rate)))
            i += 1
        if i < total:
            await asyncio.sleep(max(0.0, start + i / args.rate - loop.time()))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start

    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000

    return {
        "target_rps": args.rate,
        "requests": total,
        "duration_s": round(elapsed, 3),
        "rps": round(total / elapsed, 2),
        "p50_ms": round(pct(50), 3),
        "p90_ms": round(pct(90), 3),
        "p99_ms": round(pct(99), 3),
        "p999_ms": round(pct(99.9), 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "non2xx": sum(1 for s in statuses if s >= 300 or 0 < s < 200),
        "failed": sum(1 for s in statuses if s <= 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--regions", required=True)
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    started = time.time()
    result = asyncio.run(run(args))
    result["wall_s"] = round(time.time() - started, 3)
    print("BENCH_JSON " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
