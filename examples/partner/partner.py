#!/usr/bin/env python3
"""An example partner platform (issue 15), against a running zhijian server. Standard library only.

    examples/partner/partner.py --base http://127.0.0.1:8080 \\
        --client-id 0193… --client-secret zjs_… [--reviewer delivery-reviewer] [--password …]

Made with `zhijian partner create --scopes applications:write,applications:read,members:verify,
webhooks:manage`; the server needs `webhooks.allow_insecure_targets = true`
(APP__WEBHOOKS__ALLOW_INSECURE_TARGETS=true, development only) since the receiver listens on
127.0.0.1 over http. scripts/example-partner.sh starts such a server and runs this.

The steps, each printed, the first failure ends the run with exit status 1:
  1. a token (OAuth 2.0 client credentials, client_secret_basic) at POST /v1/oauth/token
  2. a webhook receiver on 127.0.0.1 registered at /v1/partner/webhooks/endpoints (whsec_ secret)
  3. a consent request (POST /v1/partner/consent-requests): the mini-program scene and path
  4. the worker's side, played here: signs in with WeChat (the provider stub's code2Session turns
     the code `<user>.<n>` into a user) and grants the request (POST /v1/me/consents)
  5. the worker's application submitted by the partner (POST /v1/partner/applications with an
     Idempotency-Key; a retry answers the same application), read back
  6. a demo reviewer of the union it was routed to signs in (second factor if it has one) and
     approves it
  7. the `application.approved` webhook arrives; its Standard Webhooks signature is verified here
     (HMAC-SHA256 of "id.timestamp.body" with the base64 key after `whsec_`, against every `v1,`
     signature, the timestamp within the tolerance); a tampered body must fail the check
  8. the membership is verified (POST /v1/partner/members/verify)

Environment instead of options: ZHIJIAN_BASE_URL, ZHIJIAN_PARTNER_CLIENT_ID,
ZHIJIAN_PARTNER_CLIENT_SECRET, ZHIJIAN_DEMO_PASSWORD (default: [demo] admin_password of
config/local.toml).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import queue
import random
import secrets
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# Standard Webhooks: messages older or newer than this are refused (replay protection).
TOLERANCE_SECS = 5 * 60


class StepFailed(Exception):
    pass


def step(title):
    print("\n==> " + title, flush=True)


def show(label, value):
    print("    %s: %s" % (label, value), flush=True)


def expect(condition, what):
    if not condition:
        raise StepFailed(what)


# --- HTTP ---------------------------------------------------------------------------------

class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, token=None, body=None, headers=None, form=None, basic=None):
        """(status, parsed JSON or text, headers) of one request."""
        data = None
        hdrs = {"accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["content-type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["content-type"] = "application/x-www-form-urlencoded"
        if token:
            hdrs["authorization"] = "Bearer " + token
        if basic:
            raw = "%s:%s" % basic
            hdrs["authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
        hdrs.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), error.headers
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return status, parsed, got

    def ok(self, method, path, expected=(200, 201), **kwargs):
        status, body, _ = self.call(method, path, **kwargs)
        if status not in expected:
            raise StepFailed("%s %s answered %s: %s" % (method, path, status, body))
        return body


# --- The webhook receiver -----------------------------------------------------------------

def start_receiver():
    """An HTTP receiver on 127.0.0.1 (a free port): (its URL, a queue of (headers, body))."""
    got = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            got.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d/zhijian/webhooks" % server.server_address[1], got


def verify_webhook(secret, headers, body, now=None):
    """Standard Webhooks verification; raises StepFailed unless the message is authentic."""
    expect(secret.startswith("whsec_"), "the secret has no whsec_ prefix")
    key = base64.b64decode(secret[len("whsec_"):])
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    expect(msg_id and timestamp and signatures, "a webhook header is missing: %s" % headers)
    expect(timestamp.isdigit(), "webhook-timestamp is not a number: %r" % timestamp)
    now = time.time() if now is None else now
    expect(abs(now - int(timestamp)) <= TOLERANCE_SECS,
           "webhook-timestamp %s is more than %d s away from now" % (timestamp, TOLERANCE_SECS))
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise StepFailed("no v1 signature matches (got %r)" % signatures)


# --- The demo people ----------------------------------------------------------------------

def resident_id():
    """A valid GB 11643 resident ID of 巫山县 (500237), born 1970–1997."""
    born = datetime.date(1970, 1, 1) + datetime.timedelta(days=random.randrange(10000))
    body = "500237" + born.strftime("%Y%m%d") + "%03d" % random.randrange(1000)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]


def demo_totp(username, at=None):
    """The current code of a demo admin's second factor (as scripts/totp.py --demo)."""
    digest = hashlib.sha256(b"zhijian demo totp secret:" + username.encode()).digest()
    key = digest[:20]
    at = time.time() if at is None else at
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def demo_password():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config", "local.toml")
    import tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)["demo"]["admin_password"]


# --- The run ------------------------------------------------------------------------------

def run(args):
    api = Api(args.base)
    run_id = secrets.token_hex(4)
    user = "rider-" + run_id  # the platform's own id of its rider

    step("1. a token with client credentials (POST /v1/oauth/token)")
    token = api.ok("POST", "/v1/oauth/token", expected=(200,),
                   form={"grant_type": "client_credentials"},
                   basic=(args.client_id, args.client_secret))
    expect(token.get("token_type", "").lower() == "bearer", "not a bearer token: %s" % token)
    partner = token["access_token"]
    show("scope", token.get("scope"))
    show("expires_in", token.get("expires_in"))

    step("2. the webhook receiver (POST /v1/partner/webhooks/endpoints)")
    url, inbox = start_receiver()
    endpoint = api.ok("POST", "/v1/partner/webhooks/endpoints", expected=(201,), token=partner,
                      body={"url": url, "event_types": ["application.approved"]})
    whsec = endpoint["secret"]
    expect(whsec.startswith("whsec_"), "the endpoint's secret is not a whsec_ secret")
    show("endpoint", "%s → %s" % (endpoint["endpoint"]["id"], url))
    show("secret", whsec[:10] + "… (kept by the partner, shown once)")

    step("3. a consent request for the platform's user %s (POST /v1/partner/consent-requests)" % user)
    request = api.ok("POST", "/v1/partner/consent-requests", expected=(201,), token=partner,
                     body={"partner_user_id": user,
                           "purposes": ["application", "membership_verification"]})
    show("scene", request["code"])
    show("mini-program path", request["path"])
    expect(request["path"].endswith("scene=" + request["code"]), "the path does not carry the scene")

    step("4. the worker signs in with WeChat and grants it (POST /v1/me/consents)")
    worker = api.ok("POST", "/v1/auth/wechat", expected=(200,),
                    body={"code": "partner-%s.1" % run_id})["access_token"]
    consent = api.ok("POST", "/v1/me/consents", expected=(201,), token=worker,
                     body={"request_code": request["code"], "notice_version": "partner-2026-01"})
    show("consent", "%s for %s" % (consent.get("id"), consent.get("purposes")))

    step("5. the platform submits the worker's application (POST /v1/partner/applications)")
    person = resident_id()
    phone = "138%08d" % random.randrange(10 ** 8)
    name = "李四"
    form = {
        "name": name, "resident_id": person, "phone": phone,
        "ethnicity": "han", "education": "senior_high", "political_status": "masses",
        "household_type": "agricultural", "employment_status": "flexible",
        "occupation": "delivery_rider", "employer_name": "某外卖平台巫山站", "platform": "某外卖平台",
        "work_region": "500237001009", "work_address": "高唐街道净坛社区广东中路1号",
        "consent": {"privacy_notice_version": "2026-01", "sensitive_data": True},
    }
    key = {"Idempotency-Key": "join-" + user}
    submitted = api.ok("POST", "/v1/partner/applications", expected=(201,), token=partner,
                       headers=key, body={"partner_user_id": user, "form": form})
    app_id = submitted["id"]
    show("application", "%s, %s, %s, due %s" % (app_id, submitted["status"],
                                                 submitted["union"]["name"], submitted["due_at"]))
    retried = api.ok("POST", "/v1/partner/applications", expected=(201,), token=partner,
                     headers=key, body={"partner_user_id": user, "form": form})
    expect(retried["id"] == app_id, "a retry with the same Idempotency-Key made another application")
    show("retry with the same Idempotency-Key", "the same application")
    read = api.ok("GET", "/v1/partner/applications/" + app_id, expected=(200,), token=partner)
    expect(read["status"] == "pending_review", "read back as %s" % read["status"])
    show("read back", read["status"])
    mine = api.ok("GET", "/v1/applications/mine", expected=(200,), token=worker)
    expect(app_id in json.dumps(mine), "the worker does not see it in /v1/applications/mine")
    show("the worker sees it", "GET /v1/applications/mine")

    step("6. the union's reviewer %s approves it" % args.reviewer)
    answer = api.ok("POST", "/v1/admin/auth/login", expected=(200,),
                    body={"username": args.reviewer, "password": args.password})
    if answer.get("challenge"):
        answer = api.ok("POST", "/v1/admin/auth/second-factor", expected=(200,),
                        body={"challenge": answer["challenge"], "code": demo_totp(args.reviewer)})
        show("second factor", "TOTP")
    admin = answer["access_token"]
    version = api.ok("GET", "/v1/admin/applications/" + app_id, expected=(200,), token=admin)["version"]
    approved = api.ok("POST", "/v1/admin/applications/%s/approve" % app_id, expected=(200,),
                      token=admin, body={"version": version})
    show("approved", "membership number %s" % approved.get("membership_number"))

    step("7. the application.approved webhook, its signature verified here")
    deadline = time.time() + args.webhook_timeout
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            raise StepFailed("no application.approved webhook within %d s" % args.webhook_timeout)
        try:
            headers, body = inbox.get(timeout=remaining)
        except queue.Empty:
            continue
        verify_webhook(whsec, headers, body)
        message = json.loads(body)
        show("received", "%s %s (webhook-id %s)" % (message["type"], json.dumps(message["data"], ensure_ascii=False),
                                                    headers["webhook-id"]))
        show("signature", "valid (v1, HMAC-SHA256, timestamp %s within %d s)"
             % (headers["webhook-timestamp"], TOLERANCE_SECS))
        if message["type"] == "application.approved" and message["data"].get("application_id") == app_id:
            break
    expect(person not in body.decode(), "the webhook carries the resident ID")
    for label, forged in (("a tampered body", body + b" "),
                          ("another secret", None)):
        try:
            if forged is None:
                other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
                verify_webhook(other, headers, body)
            else:
                verify_webhook(whsec, headers, forged)
        except StepFailed:
            show("refused as it must be", label)
        else:
            raise StepFailed("the verification accepted %s" % label)
    try:
        verify_webhook(whsec, headers, body, now=int(headers["webhook-timestamp"]) + TOLERANCE_SECS + 1)
    except StepFailed:
        show("refused as it must be", "the same message replayed after the tolerance")
    else:
        raise StepFailed("the verification accepted a stale timestamp")
    read = api.ok("GET", "/v1/partner/applications/" + app_id, expected=(200,), token=partner)
    expect(read["status"] == "approved", "read back as %s" % read["status"])
    show("read back", "%s at %s" % (read["status"], read["decided_at"]))

    step("8. the membership, verified (POST /v1/partner/members/verify)")
    verified = api.ok("POST", "/v1/partner/members/verify", expected=(200,), token=partner,
                      body={"name": name, "resident_id": person})
    show("answer", json.dumps(verified, ensure_ascii=False))
    expect(verified.get("member") is True, "not a member")
    expect(verified.get("status") == "active", "status %s" % verified.get("status"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default=os.environ.get("ZHIJIAN_BASE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--client-id", default=os.environ.get("ZHIJIAN_PARTNER_CLIENT_ID"))
    parser.add_argument("--client-secret", default=os.environ.get("ZHIJIAN_PARTNER_CLIENT_SECRET"))
    parser.add_argument("--reviewer", default="delivery-reviewer",
                        help="the demo admin who approves (the delivery riders' union's reviewer)")
    parser.add_argument("--password", default=os.environ.get("ZHIJIAN_DEMO_PASSWORD"),
                        help="the demo admins' password (default: config/local.toml)")
    parser.add_argument("--webhook-timeout", type=int, default=60)
    args = parser.parse_args()
    if not args.client_id or not args.client_secret:
        parser.error("--client-id and --client-secret (or ZHIJIAN_PARTNER_CLIENT_ID/_SECRET) are required")
    if not args.password:
        args.password = demo_password()
    try:
        run(args)
    except StepFailed as failure:
        print("\nFAILED: %s" % failure, file=sys.stderr, flush=True)
        return 1
    except (urllib.error.URLError, OSError, KeyError, ValueError) as error:
        print("\nFAILED: %s: %s" % (type(error).__name__, error), file=sys.stderr, flush=True)
        return 1
    print("\nthe example partner: every step worked", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
