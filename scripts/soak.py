#!/usr/bin/env python3
"""The soak load: every main flow in a bounded loop, concurrently, while the server's RSS is
sampled. Run by scripts/soak.sh (make soak), which starts the stub and the server.

  soak.py BASE_URL SERVER_PID OUT_DIR

Env: SOAK_MINUTES (10), SOAK_CONCURRENCY (32), SOAK_SAMPLE_SECS (5), SOAK_PASSWORD (the demo
admins' password), SOAK_FLAT_PCT (15), SOAK_LABEL (free text for the summary).

One flow, for a fresh worker: WeChat login (the stub) -> submit the real-name form (with an
Idempotency-Key) -> the reviewer reads the queue and the application -> approve -> the card
and its verification -> refresh the tokens -> a transfer to another union, released by the
old union and accepted by the new one -> the membership and its history. Only the standard
library: threads and urllib.

Writes OUT_DIR/samples.csv (elapsed_s, rss_kb, threads, flows, errors) and
OUT_DIR/summary.json; prints one summary line: RSS is flat when the median of the last third
of the samples is within SOAK_FLAT_PCT % of the median of the second third. Exit 1 when it is
not flat, or when more than 1 % of the flows failed.
"""

import csv
import itertools
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

BASE, PID, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))
CONCURRENCY = int(os.environ.get("SOAK_CONCURRENCY", "32"))
SAMPLE_SECS = float(os.environ.get("SOAK_SAMPLE_SECS", "5"))
PASSWORD = os.environ["SOAK_PASSWORD"]
FLAT_PCT = float(os.environ.get("SOAK_FLAT_PCT", "15"))
LABEL = os.environ.get("SOAK_LABEL", "")
RUN = uuid.uuid4().hex[:8]

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
counter = itertools.count()
lock = threading.Lock()
stats = {"flows": 0, "errors": 0, "requests": 0, "by_status": {}}
deadline = time.monotonic() + MINUTES * 60


class Failed(Exception):
    pass


def resident_id(n):
    # Born 1970-01-01 plus n // 1000 days, sequence n % 1000: distinct for every flow of a run.
    day = time.gmtime(n // 1000 * 86400)
    body = "500237%04d%02d%02d%03d" % (day.tm_year, day.tm_mon, day.tm_mday, n % 1000)
    total = sum(int(c) * w for c, w in zip(body, WEIGHTS))
    return body + "10X98765432"[total % 11]


def call(method, path, token=None, body=None, headers=None, expect=(200,)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    except OSError as e:
        status, text = 0, str(e).encode()
    with lock:
        stats["requests"] += 1
        stats["by_status"][status] = stats["by_status"].get(status, 0) + 1
    if status not in expect:
        raise Failed("%s %s -> %s %s" % (method, path, status, text[:200]))
    return json.loads(text) if text else None


class Admin:
    def __init__(self, username):
        self.username, self.token = username, None


def call_with_relogin(admin, method, path, body=None, again=True):
    """An admin's call; a 401 (the access token expired) logs in again once."""
    if admin.token is None:
        admin.token = call("POST", "/v1/admin/auth/login",
                           body={"username": admin.username, "password": PASSWORD})["access_token"]
    try:
        return call(method, path, admin.token, body)
    except Failed as e:
        if not again or " -> 401 " not in str(e):
            raise
        admin.token = None
        return call_with_relogin(admin, method, path, body, again=False)


def flow(n, reviewer, target):
    tokens = call("POST", "/v1/auth/wechat", body={"code": "soak%s-%d.%s" % (RUN, n, uuid.uuid4().hex)})
    worker = tokens["access_token"]
    form = {
        "name": "张三", "resident_id": resident_id(n), "phone": "138%08d" % (n % 10**8),
        "ethnicity": "han", "education": "senior_high", "political_status": "masses",
        "household_type": "agricultural", "employment_status": "flexible",
        "occupation": "courier", "employer_name": "巫山县某快递网点", "platform": "某快递",
        "work_region": "500237001009", "work_address": "高唐街道净坛社区广东中路1号",
        "consent": {"privacy_notice_version": "2026-01", "sensitive_data": True},
    }
    application = call("POST", "/v1/applications", worker, form,
                       headers={"Idempotency-Key": "soak-%s-%d" % (RUN, n)}, expect=(201,))
    app_id = application["id"]
    call_with_relogin(reviewer, "GET", "/v1/admin/applications?limit=20")
    call_with_relogin(reviewer, "GET", "/v1/admin/applications/" + app_id)
    call_with_relogin(reviewer, "POST", "/v1/admin/applications/%s/approve" % app_id, {"version": 1})
    card = call("GET", "/v1/membership/card", worker)
    verified = call("POST", "/v1/cards/verify", body={"payload": card["payload"]})
    if not verified.get("valid"):
        raise Failed("card did not verify: %s" % verified)
    tokens = call("POST", "/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]})
    worker = tokens["access_token"]
    transfer = call("POST", "/v1/transfers", worker,
                    {"work_region": "500237001009", "occupation": "cleaner", "reason": "改做保洁"},
                    expect=(201,))
    call_with_relogin(reviewer, "POST", "/v1/admin/transfers/%s/release" % transfer["id"], {"version": 1})
    call_with_relogin(target, "GET", "/v1/admin/transfers?direction=in")
    call_with_relogin(target, "POST", "/v1/admin/transfers/%s/accept" % transfer["id"], {"version": 2})
    call("GET", "/v1/membership", worker)
    call("GET", "/v1/membership/affiliations", worker)


first_errors = []


def client():
    reviewer, target = Admin("courier-reviewer"), Admin("jingtan-reviewer")
    while time.monotonic() < deadline:
        n = next(counter)
        try:
            flow(n, reviewer, target)
            with lock:
                stats["flows"] += 1
        except Exception as e:  # one failed flow is counted, the loop goes on
            with lock:
                stats["errors"] += 1
                if len(first_errors) < 5:
                    first_errors.append(str(e))


def status_of(pid):
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            values[key] = value.strip()
    return int(values["VmRSS"].split()[0]), int(values["Threads"])


def main():
    os.makedirs(OUT, exist_ok=True)
    started = time.monotonic()
    samples = []
    workers = [threading.Thread(target=client, daemon=True) for _ in range(CONCURRENCY)]
    rss, threads = status_of(PID)
    samples.append((0.0, rss, threads, 0, 0))
    for w in workers:
        w.start()
    with open(os.path.join(OUT, "samples.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["elapsed_s", "rss_kb", "threads", "flows", "errors"])
        out.writerow(samples[0])
        while any(w.is_alive() for w in workers):
            time.sleep(SAMPLE_SECS)
            try:
                rss, threads = status_of(PID)
            except OSError:
                sys.exit("soak: the server (pid %d) is gone" % PID)
            with lock:
                row = (round(time.monotonic() - started, 1), rss, threads, stats["flows"], stats["errors"])
            samples.append(row)
            out.writerow(row)
            f.flush()
            print("soak: %6.0f s  RSS %6.1f MB  threads %3d  flows %6d  errors %d"
                  % (row[0], rss / 1024, threads, row[3], row[4]), flush=True)
    loaded = [s[1] for s in samples[1:]] or [samples[0][1]]
    third = max(len(loaded) // 3, 1)
    second = statistics.median(loaded[third:2 * third] or loaded)
    last = statistics.median(loaded[-third:])
    change = (last - second) / second * 100
    flat = abs(change) <= FLAT_PCT
    failed_share = stats["errors"] / max(stats["flows"] + stats["errors"], 1) * 100
    summary = {
        "label": LABEL, "minutes": MINUTES, "concurrency": CONCURRENCY, "samples": len(samples),
        "flows": stats["flows"], "failed_flows": stats["errors"], "requests": stats["requests"],
        "by_status": {str(k): v for k, v in sorted(stats["by_status"].items())},
        "rss_mb": {"start": round(samples[0][1] / 1024, 1), "peak": round(max(loaded) / 1024, 1),
                   "second_third_median": round(second / 1024, 1),
                   "last_third_median": round(last / 1024, 1), "change_pct": round(change, 1)},
        "threads_peak": max(s[2] for s in samples), "flat": flat, "flat_pct": FLAT_PCT,
        "first_errors": first_errors,
    }
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
    print("soak: %s%d flows (%d failed, %d requests) in %g min at concurrency %d; RSS %.1f MB at start, "
          "peak %.1f MB, median %.1f MB in the second third and %.1f MB in the last (%+.1f %%): %s; "
          "peak threads %d"
          % (LABEL + ": " if LABEL else "", stats["flows"], stats["errors"], stats["requests"], MINUTES,
             CONCURRENCY, samples[0][1] / 1024, max(loaded) / 1024, second / 1024, last / 1024, change,
             "FLAT" if flat else "GROWING (over %g %%)" % FLAT_PCT, summary["threads_peak"]))
    for e in first_errors:
        print("soak: failed flow: " + e, file=sys.stderr)
    if not flat or failed_share > 1:
        sys.exit(1)


main()
