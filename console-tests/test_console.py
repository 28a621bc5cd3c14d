#!/usr/bin/env python3
"""Browser tests of the admin console, in headless Debian Chromium (Playwright for Python).

Run by scripts/console-test.sh (make test) against a freshly seeded server:
    ZHIJIAN_BASE_URL=http://127.0.0.1:PORT ZHIJIAN_DEMO_PASSWORD=... python console-tests/test_console.py
Applications are made through the HTTP API (workers signed in through the provider stub); every
check is done in the browser. Screenshots of the main pages (1366x768 and 390x844) go to
ZHIJIAN_SCREENSHOTS (docs/console/). Exits non-zero when a test fails.
"""
import base64
import hashlib
import hmac
import json
import os
import pathlib
import struct
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid

from playwright.sync_api import sync_playwright

BASE = os.environ["ZHIJIAN_BASE_URL"].rstrip("/")
PASSWORD = os.environ["ZHIJIAN_DEMO_PASSWORD"]
SHOTS = pathlib.Path(os.environ.get("ZHIJIAN_SCREENSHOTS", "docs/console"))
AXE = pathlib.Path(__file__).resolve().parent / "vendor" / "axe.min.js"
RUN = uuid.uuid4().hex[:8]
COUNTER = [0]
LAST_WORKER = [None]

REVIEWER = "courier-reviewer"
VIEWER = "wushan-viewer"
MANAGER = "wushan-manager"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


# ---------------------------------------------------------------- the API, for the fixtures

def api(method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
        req.add_header("Idempotency-Key", str(uuid.uuid4()))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, (json.loads(text) if text.startswith("{") else text)


USED_STEP = {}


def fresh_totp(username):
    """A code of a step not used yet by `username`: the server takes each step once."""
    step = int(time.time()) // 30
    if USED_STEP.get(username, -1) >= step:
        time.sleep((step + 1) * 30 - time.time() + 0.5)
        step = int(time.time()) // 30
    USED_STEP[username] = step
    return totp(username, step * 30)


def totp(username, at=None):
    digest = hashlib.sha256(b"zhijian demo totp secret:" + username.encode()).digest()
    key = digest[:20]
    mac = hmac.new(key, struct.pack(">Q", int(at or time.time()) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def next_n():
    COUNTER[0] += 1
    return COUNTER[0]


def resident_id(n):
    body = "5002371987%04d%03d" % (101 + n // 1000, n % 1000)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11]


def worker():
    status, body = api("POST", "/v1/auth/wechat", body={"code": "%s%d.1" % (RUN, next_n())})
    assert status == 200, body
    return body["access_token"]


def submit(name="张三", **overrides):
    """A courier's application in 净坛社区 (the README's walkthrough form); its id."""
    n = next_n()
    form = {
        "name": name, "resident_id": resident_id(n), "phone": "1390%07d" % n,
        "ethnicity": "han", "education": "senior_high", "political_status": "masses",
        "household_type": "agricultural", "employment_status": "flexible",
        "occupation": "courier", "employer_name": "巫山县某快递网点", "platform": "某快递",
        "work_region": "500237001009", "work_address": "高唐街道净坛社区广东中路1号",
        "consent": {"privacy_notice_version": "2026-01", "sensitive_data": True},
    }
    form.update(overrides)
    token = worker()
    status, body = api("POST", "/v1/applications", token, form)
    assert status == 201, (status, body)
    LAST_WORKER[0] = token
    return body["id"]


def admin_token(username):
    status, body = api("POST", "/v1/admin/auth/login",
                       body={"username": username, "password": PASSWORD})
    assert status == 200, body
    if body.get("challenge"):
        status, body = api("POST", "/v1/admin/auth/second-factor",
                           body={"challenge": body["challenge"], "code": fresh_totp(username)})
        assert status == 200, body
    return body["access_token"]


# ---------------------------------------------------------------- the browser

def sign_in(page, username, password=None):
    page.goto(BASE + "/console/login")
    page.fill("#username", username)
    page.fill("#password", password or PASSWORD)
    page.click("button[type=submit]")
    if page.locator("#code").count():
        page.fill("#code", fresh_totp(username))
        page.click("button[type=submit]")
    assert "/console/login" not in page.url, "signed in as %s: %s" % (username, page.inner_text("main"))


def queue_ids(page):
    return [href.rsplit("/", 1)[-1] for href in
            page.eval_on_selector_all("table.queue a.open", "els => els.map(e => e.getAttribute('href'))")]


def check_axe(page, label):
    if not AXE.exists():
        raise AssertionError("axe-core is not vendored at %s" % AXE)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], v["help"], len(v["nodes"])) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, "%s: accessibility violations %s" % (label, bad)


def shoot(page, name, full_page=False):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / ("%s.png" % name)), full_page=full_page)


class Browser:
    def __init__(self, pw):
        self.browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])

    def context(self, viewport=DESKTOP, js=True, bypass_csp=False):
        """A new browser profile. `bypass_csp`: the page's Content-Security-Policy is ignored —
        for injecting axe-core (an inline script the console's policy rightly refuses), and for
        the hostile-text test, which must show that escaping alone keeps the text inert."""
        ctx = self.browser.new_context(viewport=viewport, locale="zh-CN", java_script_enabled=js,
                                       bypass_csp=bypass_csp)
        ctx.set_default_timeout(15000)
        return ctx

    def close(self):
        self.browser.close()


# ---------------------------------------------------------------- the tests

def test_reviewer_approves_the_top_of_the_queue_and_it_leaves(b):
    first = submit()
    ctx = b.context(bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, REVIEWER)
    assert page.url.endswith("/console/queue"), page.url
    ids = queue_ids(page)
    assert ids and ids[0] == first, "the walkthrough's application heads the queue: %s" % ids[:3]
    check_axe(page, "queue")
    shoot(page, "queue")
    page.click("a.open >> nth=0")
    assert "/console/applications/" + first in page.url
    assert "****" in page.inner_text("#phone"), "masked until shown"
    check_axe(page, "application")
    shoot(page, "application")
    page.click("#reveal")
    assert "****" not in page.inner_text("#phone"), "shown after 显示"
    page.click("#approve")
    assert page.url.endswith("/console/queue?notice=approved"), page.url
    assert first not in queue_ids(page), "it left the queue"
    ctx.close()


def test_a_second_browser_approving_the_same_sees_the_conflict(b):
    target = submit()
    pages = []
    for _ in range(2):
        ctx = b.context()
        page = ctx.new_page()
        sign_in(page, REVIEWER)
        page.goto(BASE + "/console/applications/" + target)
        pages.append((ctx, page))
    pages[0][1].click("#approve")
    assert "notice=approved" in pages[0][1].url
    response = None
    with pages[1][1].expect_navigation() as nav:
        pages[1][1].click("#approve")
    response = nav.value
    assert response.status == 409, response.status
    text = pages[1][1].inner_text("main")
    assert "已被他人处理" in text, text
    assert pages[1][1].locator("a", has_text="重新载入").count() == 1
    shoot(pages[1][1], "conflict")
    for ctx, _ in pages:
        ctx.close()


def test_a_form_without_its_csrf_token_is_refused(b):
    target = submit()
    ctx = b.context()
    page = ctx.new_page()
    sign_in(page, REVIEWER)
    page.goto(BASE + "/console/applications/" + target)
    page.evaluate("() => document.querySelector('form[action$=\"/approve\"] input[name=csrf]').remove()")
    with page.expect_navigation() as nav:
        page.click("#approve")
    assert nav.value.status == 403, nav.value.status
    # a forged form with a wrong token, from the session's own cookies
    version = 1
    answer = page.request.post(BASE + "/console/applications/%s/approve" % target,
                               form={"version": str(version), "csrf": "x" * 43})
    assert answer.status == 403, answer.status
    page.goto(BASE + "/console/applications/" + target)
    assert page.inner_text("#status") == "待审核", "nothing was approved"
    ctx.close()


def test_a_viewer_sees_no_approve_button_and_a_forged_post_is_refused(b):
    target = submit()
    ctx = b.context()
    page = ctx.new_page()
    sign_in(page, VIEWER)
    page.goto(BASE + "/console/applications/" + target)
    assert page.locator("#approve").count() == 0
    assert page.locator("#batch-approve").count() == 0
    csrf = page.get_attribute("form[action='/console/logout'] input[name=csrf]", "value")
    answer = page.request.post(BASE + "/console/applications/%s/approve" % target,
                               form={"version": "1", "csrf": csrf})
    assert answer.status == 403, answer.status
    answer = page.request.post(BASE + "/console/applications/batch-approve",
                               form={"item": "%s:1" % target, "confirm": "1", "csrf": csrf})
    assert answer.status == 403, answer.status
    page.goto(BASE + "/console/applications/" + target)
    assert page.inner_text("#status") == "待审核"
    ctx.close()


def test_hostile_text_renders_inert(b):
    script, img = "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>'
    target = submit(employer_name=script, work_address=img, platform=script)
    ctx = b.context(bypass_csp=True)
    page = ctx.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, REVIEWER)
    page.goto(BASE + "/console/applications/" + target)
    text = page.inner_text("main")
    assert script in text and img in text, "shown as text"
    assert page.locator("main img").count() == 0, "no image element was made"
    assert page.locator("main script").count() == 0
    page.wait_for_timeout(300)
    assert not dialogs, dialogs
    shoot(page, "hostile-text")
    ctx.close()


def test_sign_out_ends_the_session(b):
    ctx = b.context()
    page = ctx.new_page()
    sign_in(page, REVIEWER)
    cookies = {c["name"]: c for c in ctx.cookies()}
    session = cookies["zj_console"]
    assert session["httpOnly"] and session["sameSite"] == "Strict", session
    page.click("text=退出登录")
    assert page.url.endswith("/console/login"), page.url
    page.goto(BASE + "/console/queue")
    assert page.url.endswith("/console/login"), "signed out"
    # the old cookie, replayed, opens nothing
    ctx2 = b.context()
    ctx2.add_cookies([{"name": "zj_console", "value": session["value"], "url": BASE + "/console"}])
    p2 = ctx2.new_page()
    p2.goto(BASE + "/console/queue")
    assert p2.url.endswith("/console/login"), p2.url
    ctx.close()
    ctx2.close()


def test_headers_forbid_inline_code_and_framing(b):
    ctx = b.context(bypass_csp=True)
    page = ctx.new_page()
    response = page.goto(BASE + "/console/login")
    h = response.headers
    csp = h["content-security-policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, csp
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-content-type-options"] == "nosniff"
    check_axe(page, "login")
    shoot(page, "login")
    ctx.close()


def test_a_one_time_password_is_changed_at_first_sign_in(b):
    manager = admin_token(MANAGER)
    status, unions = api("GET", "/v1/admin/me", manager)
    assert status == 200, unions
    username = "console-new-%s" % RUN
    status, created = api("POST", "/v1/admin/admins", manager, {
        "username": username, "display_name": "新审核员", "role": "reviewer",
        "union_id": unions["union"]["id"]})
    assert status == 201, created
    one_time = created["one_time_password"]
    ctx = b.context()
    page = ctx.new_page()
    sign_in(page, username, one_time)
    assert page.url.endswith("/console/password"), page.url
    page.goto(BASE + "/console/queue")
    assert page.url.endswith("/console/password"), "held at the password change"
    shoot(page, "password")
    page.fill("#current_password", one_time)
    page.fill("#new_password", "Console-test-passphrase-" + RUN)
    page.fill("#new_password_again", "Console-test-passphrase-" + RUN)
    page.click("button.primary")
    assert page.url.endswith("/console/queue"), page.url
    ctx.close()


def test_keyboard_and_batch_approval_and_the_timed_reviewer(b):
    submit()
    ctx = b.context()
    page = ctx.new_page()
    sign_in(page, REVIEWER)
    # keyboard: j moves to the first row, a approves it after the confirmation page
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_url("**/applications/batch-approve")
    page.click("#confirm-batch")
    assert "已通过 1 件" in page.inner_text("main")
    # the timed reviewer: 20 routine applications, ticked, then one confirmation
    ids = [submit() for _ in range(20)]
    page.goto(BASE + "/console/queue")
    start = time.monotonic()
    for id_ in ids:
        page.check("#pick-" + id_)
    page.click("#batch-approve")
    shoot(page, "batch-confirm")
    page.click("#confirm-batch")
    took = time.monotonic() - start
    text = page.inner_text("main")
    assert "已通过 20 件" in text, text
    page.goto(BASE + "/console/queue")
    assert not set(ids) & set(queue_ids(page)), "all approved"
    print("TIMING: 20 routine applications approved in %.2f s of browser time (%.2f s each)"
          % (took, took / 20), flush=True)
    ctx.close()


def test_the_queue_works_with_javascript_off_and_at_phone_width(b):
    submit()
    ctx = b.context(viewport=PHONE, js=False)
    page = ctx.new_page()
    sign_in(page, REVIEWER)
    assert page.url.endswith("/console/queue"), page.url
    shoot(page, "queue-phone")
    page.click("a.open >> nth=0")
    shoot(page, "application-phone")
    page.click("#approve")
    assert "notice=approved" in page.url
    ctx.close()


def test_a_transfer_is_released_by_the_source_and_accepted_by_the_target(b):
    application = submit()
    member = LAST_WORKER[0]
    status, body = api("POST", "/v1/admin/applications/%s/approve" % application,
                       admin_token(REVIEWER), {"version": 1})
    assert status == 200, body
    status, me = api("GET", "/v1/admin/me", admin_token("jingtan-reviewer"))
    assert status == 200, me
    status, transfer = api("POST", "/v1/transfers", member, {"to_union_id": me["union"]["id"]})
    assert status == 201, transfer
    ctx = b.context(bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, REVIEWER)
    page.goto(BASE + "/console/transfers?direction=out")
    check_axe(page, "transfers")
    shoot(page, "transfers")
    page.click("button:has-text('同意转出')")
    assert "notice=done" in page.url, page.url
    ctx.close()
    ctx = b.context()
    page = ctx.new_page()
    sign_in(page, "jingtan-reviewer")
    page.goto(BASE + "/console/transfers?direction=in")
    page.click("button:has-text('接收')")
    assert "notice=done" in page.url, page.url
    assert "已完成" in page.inner_text("main")
    ctx.close()


def test_the_other_pages_answer_and_pass_the_accessibility_check(b):
    ctx = b.context(bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, MANAGER)
    for path, name in [("/console/pool", "pool"), ("/console/transfers?direction=in", "transfers-in"),
                       ("/console/members", "members"), ("/console/figures", "figures"),
                       ("/console/audit", "audit")]:
        response = page.goto(BASE + path)
        assert response.status == 200 and page.url == BASE + path, (path, response.status, page.url)
        check_axe(page, path)
        shoot(page, name, full_page=name == "figures")
    ctx.close()


def main():
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_")]
    only = sys.argv[1:]
    failed = []
    with sync_playwright() as pw:
        b = Browser(pw)
        try:
            for name, fn in tests:
                if only and not any(o in name for o in only):
                    continue
                started = time.monotonic()
                try:
                    fn(b)
                    print("PASS %s (%.1f s)" % (name, time.monotonic() - started), flush=True)
                except Exception:  # noqa: BLE001 — every failure is reported, then the next test runs
                    failed.append(name)
                    print("FAIL %s\n%s" % (name, traceback.format_exc()), flush=True)
        finally:
            b.close()
    print("%d passed, %d failed" % (len([t for t in tests if not only or any(o in t[0] for o in only)]) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
