#!/usr/bin/env python3
"""Crash under load: many clients submit applications with Idempotency-Keys and retry on any
failure; midway the database (or the server) is killed with SIGKILL and restarted. Afterwards
nothing acknowledged is lost or doubled, and every approval made exactly one member, one audit
row and one notice.

    bench/crash.py --base URL --dsn "psql args" --size N --clients 16 \
        --kill "shell command" --restart "shell command" --label postgres --out result.json

Only the standard library: urllib for HTTP, psql (through subprocess) for the checks.
Run by scripts/crash.sh, which starts the database, the stub and the server it kills.
"""
import argparse
import collections
import datetime
import json
import queue
import random
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(i):
    """A distinct valid resident ID for person i (巫山县, born from 1970 on)."""
    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=i // 900)
    body = f"500237{birth:%Y%m%d}{i % 900 + 100:03d}"
    total = sum(int(c) * w for c, w in zip(body, WEIGHTS))
    return body + "10X98765432"[total % 11]


def form(i):
    return {
        "name": "压测" + "甲乙丙丁戊己庚辛壬癸"[i % 10],
        "resident_id": resident_id(i),
        "phone": f"139{i:08d}",
        "ethnicity": "han",
        "education": "senior_high",
        "political_status": "masses",
        "household_type": "agricultural",
        "employment_status": "flexible",
        "occupation": "courier",
        "employer_name": "巫山县某快递网点",
        "work_region": "500237001009",
        "work_address": "高唐街道净坛社区广东中路1号",
        "consent": {"privacy_notice_version": "2026-01", "sensitive_data": True},
    }


class Client:
    """HTTP with JSON, retrying every failure (connection refused, reset, 5xx) until `ok`."""

    def __init__(self, base, stats):
        self.base = base
        self.stats = stats

    def once(self, method, path, body=None, token=None, key=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", "Bearer " + token)
        if key:
            request.add_header("idempotency-key", key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"null")
            except ValueError:
                return e.code, None
        except (OSError, ValueError) as e:  # refused, reset, timeout, truncated body
            return None, str(e)

    def until(self, method, path, ok, body=None, token=None, key=None, give_up=300):
        """Sends until `ok(status, body)` says the answer is final; returns it."""
        deadline = time.monotonic() + give_up
        attempt = 0
        while True:
            # A callable body is made afresh for each attempt (a WeChat code is single-use:
            # the mini-program calls wx.login again).
            payload = body() if callable(body) else body
            status, answer = self.once(method, path, payload, token, key)
            if status is not None and ok(status, answer):
                return status, answer
            attempt += 1
            self.stats[f"retry {method} {path.split('/')[2]} {status}"] += 1
            if time.monotonic() > deadline:
                return status, answer
            time.sleep(min(2.0, 0.05 * 2 ** min(attempt, 6)) * random.uniform(0.5, 1.5))


def final(status, _body):
    """An answer that will not change on retry: anything but a transport error, 5xx or 401."""
    return status < 500 and status != 401


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--psql", required=True, help="psql command line reaching the database")
    p.add_argument("--size", type=int, default=10000)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--approve-every", type=int, default=4)
    p.add_argument("--kill", required=True)
    p.add_argument("--restart", required=True)
    p.add_argument("--kill-at", type=float, default=0.4, help="fraction of acknowledged submissions")
    p.add_argument("--label", required=True)
    p.add_argument("--run", default=str(int(time.time())))
    p.add_argument("--password", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    stats = collections.Counter()
    client = Client(args.base, stats)
    acked = {}  # person -> application id
    approved = set()
    anomalies = []
    lock = threading.Lock()
    killed = threading.Event()
    kill_log = {}
    to_approve = queue.Queue()
    started = time.monotonic()

    def admin_token():
        _, body = client.until(
            "POST",
            "/v1/admin/auth/login",
            lambda s, b: s == 200,
            {"username": "courier-reviewer", "password": args.password},
        )
        return body["access_token"]

    def maybe_kill():
        with lock:
            due = len(acked) >= args.size * args.kill_at and not killed.is_set()
            if due:
                killed.set()
        if due:
            kill_log["at_acknowledged"] = len(acked)
            t0 = time.monotonic()
            subprocess.run(args.kill, shell=True, check=False)
            kill_log["killed_after_s"] = round(t0 - started, 1)
            time.sleep(2)
            subprocess.run(args.restart, shell=True, check=True)
            kill_log["down_s"] = round(time.monotonic() - t0, 1)

    def submitter(persons):
        for i in persons:
            _, login = client.until(
                "POST",
                "/v1/auth/wechat",
                lambda s, b: s == 200,
                lambda: {"code": f"crash{args.run}x{i}.{random.getrandbits(32)}"},
            )
            token = login["access_token"]
            key = f"crash-{args.run}-{i}"
            status, body = client.until(
                "POST", "/v1/applications", final, form(i), token=token, key=key
            )
            if status == 201:
                with lock:
                    acked[i] = body["id"]
                if i % args.approve_every == 0:
                    to_approve.put(body["id"])
            else:
                with lock:
                    anomalies.append(f"person {i}: submit answered {status} {body}")
            maybe_kill()

    def approver():
        token = admin_token()
        while True:
            application = to_approve.get()
            if application is None:
                return
            while True:
                status, body = client.until(
                    "POST",
                    f"/v1/admin/applications/{application}/approve",
                    lambda s, b: s == 401 or final(s, b),
                    {"version": 1},
                    token=token,
                )
                if status == 401:
                    token = admin_token()
                    continue
                break
            # A retry after a lost answer finds the approval done: 409 already_approved.
            code = body.get("code") if isinstance(body, dict) else None
            if status == 200 or (status == 409 and code == "already_approved"):
                with lock:
                    approved.add(application)
            else:
                with lock:
                    anomalies.append(f"approve {application}: {status} {body}")

    persons = list(range(args.size))
    shares = [persons[k :: args.clients] for k in range(args.clients)]
    threads = [threading.Thread(target=submitter, args=(share,)) for share in shares]
    approvers = [threading.Thread(target=approver) for _ in range(2)]
    for t in threads + approvers:
        t.start()
    for t in threads:
        t.join()
    for _ in approvers:
        to_approve.put(None)
    for t in approvers:
        t.join()
    elapsed = time.monotonic() - started

    def sql(statement):
        out = subprocess.run(
            shlex.split(args.psql) + ["-tAc", statement],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [line.split("|") for line in out.strip().splitlines() if line]

    rows = sql(
        "select id, status, (select count(*) from members m where m.application_id = a.id), "
        "(select count(*) from audit_log l where l.object_kind = 'application' "
        "and l.object_id = a.id::text and l.action = 'approve'), "
        "(select count(*) from outbox o where o.event_type = 'application.approved' "
        "and o.aggregate_id = a.id::text) "
        "from applications a where a.employer_name = '巫山县某快递网点' and a.name like '压测%'"
    )
    stored = {r[0]: r for r in rows}
    per_person = sql(
        "select person_index, count(*) from applications where name like '压测%' "
        "group by person_index having count(*) > 1"
    )
    failures = []
    lost = [i for i, a in acked.items() if a not in stored]
    if lost:
        failures.append(f"{len(lost)} acknowledged submissions are missing, e.g. {lost[:5]}")
    if per_person:
        failures.append(f"{len(per_person)} persons have more than one application")
    if len(set(acked.values())) != len(acked):
        failures.append("two persons were acknowledged the same application id")
    for application in approved:
        row = stored.get(application)
        if row is None:
            failures.append(f"approved {application} is missing")
            continue
        _, status, members, audits, notices = row
        if status != "approved" or (members, audits, notices) != ("1", "1", "1"):
            failures.append(
                f"approved {application}: status {status}, {members} members, "
                f"{audits} audit rows, {notices} notices (want 1 each)"
            )
    # Approvals nobody saw acknowledged (lost answers) must be whole as well.
    for application, (_, status, members, audits, notices) in stored.items():
        if status == "approved" and (members, audits, notices) != ("1", "1", "1"):
            failures.append(f"{application}: approved with {members}/{audits}/{notices}")
        if status != "approved" and members != "0":
            failures.append(f"{application}: {status} but {members} members")
    failures.extend(anomalies)

    result = {
        "kill": args.label,
        "size": args.size,
        "clients": args.clients,
        "acknowledged": len(acked),
        "stored": len(stored),
        "approved": len(approved),
        "elapsed_s": round(elapsed, 1),
        "submissions_per_s": round(len(acked) / elapsed, 1) if elapsed else None,
        **kill_log,
        "retries": dict(sorted(stats.items())),
        "failures": failures[:50],
        "failure_count": len(failures),
        "ok": not failures and len(acked) == args.size and killed.is_set(),
    }
    with open(args.out, "w") as f:
        json.dump(result, f, ensure_ascii=False, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "retries"}, ensure_ascii=False))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
