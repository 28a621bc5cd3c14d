#!/usr/bin/env bash
# Fixtures for the contract run, made through the HTTP API only (curl): workers signed in through
# the provider stub, the demo admins, applications in every state an admin action needs, members
# for the member actions, transfers for the transfer actions, SMS codes read from the stub. Prints
# `NAME=value` lines that scripts/contract.sh exports for the ${NAME} placeholders of
# schemathesis.toml (tokens, single-use codes), and writes every object id, plus fresh resident
# IDs, as a schemathesis dictionary to .zhijian/contract/fixtures/<name>.dict, which
# schemathesis.toml binds the path parameters to: generated requests reach real objects, and the
# stateful phase's links still choose their own ids. Run it before `st` reads schemathesis.toml.
#   ZHIJIAN_BASE_URL=http://127.0.0.1:PORT [ZHIJIAN_STUB_URL=http://127.0.0.1:STUB] scripts/contract-tokens.sh
# Without ZHIJIAN_STUB_URL (or APP__WECHAT__BASE_URL, which is the stub in scripts/contract.sh),
# no SMS code is read: the phone sign-in and the SMS phone binding then get no fixture.
#
# Every fixture is a different person (one open application per person; one open transfer per
# member), so an action of the run never consumes the object another one needs. The resident IDs
# are 500237 1988 MMDD NNN C: the `fresh_resident_ids` written here for schemathesis.toml (1992)
# and the example of openapi.yaml (1995) never collide with them.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

base="${ZHIJIAN_BASE_URL:?ZHIJIAN_BASE_URL is not set}"
stub="${ZHIJIAN_STUB_URL:-${APP__WECHAT__BASE_URL:-}}"
run="c$(date +%s)$RANDOM"
# A counter that survives the subshells of $(...): every worker and every person is new
counter="$(mktemp)"
trap 'rm -f "$counter"' EXIT
echo 100 >"$counter"
next() {
    local v
    v=$(($(cat "$counter") + 1))
    echo "$v" >"$counter"
    echo "$v"
}

# json KEY...: one value out of the JSON on stdin (numbers index arrays)
json() {
    python3 -c 'import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1:]: d = d[int(k)] if k.isdigit() else d[k]
print(d)' "$@"
}

# call METHOD PATH TOKEN [BODY]: the JSON answer; fails (with the answer on stderr) unless 2xx
call() {
    local method="$1" path="$2" token="$3" body="${4:-}" out status
    local args=(-sS -X "$method" "$base$path" -w '\n%{http_code}')
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'content-type: application/json' -d "$body")
    out="$(curl "${args[@]}")"
    status="${out##*$'\n'}"
    out="${out%$'\n'*}"
    if [ "${status:0:1}" != 2 ]; then
        printf 'contract-tokens: %s %s answered %s: %s\n' "$method" "$path" "$status" "$out" >&2
        return 1
    fi
    printf '%s\n' "$out"
}

# A valid GB 11643 resident ID of 巫山县 born 1988-MM-DD, sequence NNN: resident_id MMDD NNN
resident_id() {
    python3 -c 'import sys
body = "5002371988" + sys.argv[1] + sys.argv[2]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(body + "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11])' "$1" "$2"
}

form() { # form RESIDENT_ID PHONE: the README's courier in 净坛社区
    printf '{"name":"张三","resident_id":"%s","phone":"%s","ethnicity":"han","education":"senior_high","political_status":"masses","household_type":"agricultural","employment_status":"flexible","occupation":"courier","employer_name":"巫山县某快递网点","platform":"某快递","work_region":"500237001009","work_address":"高唐街道净坛社区广东中路1号","consent":{"privacy_notice_version":"2026-01","sensitive_data":true}}' "$1" "$2"
}

worker_pair() { # a new WeChat user: "access refresh"
    call POST /v1/auth/wechat "" "{\"code\":\"$run$(next).1\"}" | python3 -c 'import json, sys
d = json.load(sys.stdin); print(d["access_token"], d["refresh_token"])'
}
worker() { worker_pair | cut -d' ' -f1; }

# challenge_of: the sign-in challenge of a password-step answer on stdin, or nothing (no factor)
challenge_of() {
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("challenge", ""))'
}

# admin_login USERNAME: an access token; a demo manager (second factor) completes the second step
# with the code of its derived demo secret (scripts/totp.py --demo)
admin_login() {
    local answer challenge
    answer="$(call POST /v1/admin/auth/login "" "{\"username\":\"$1\",\"password\":\"$password\"}")" || return 1
    challenge="$(challenge_of <<<"$answer")"
    if [ -n "$challenge" ]; then
        answer="$(call POST /v1/admin/auth/second-factor "" \
            "{\"challenge\":\"$challenge\",\"code\":\"$("$ZJ_ROOT/scripts/totp.py" --demo "$1")\"}")" || return 1
    fi
    json access_token <<<"$answer"
}

# Second-factor fixtures, each on a demo reviewer of its own (reviewers have no factor in the
# demo). Codes are pinned for the next 30-second window, which the server accepts (one step of
# skew) for 60 to 90 seconds after this script: confirm and remove reach their 2xx when schemathesis
# gets to them within that time, and answer a documented 400 otherwise.
second_factor_fixtures() {
    local token secret answer next now
    next=$(($(date +%s) + 30))
    # POST /v1/admin/me/second-factor: a reviewer without a factor (each start replaces the pending one)
    emit ZJ_ENROL_TOKEN admin_login jingtan-reviewer
    # POST /v1/admin/me/second-factor/confirm: a pending enrolment and its code
    token="$(admin_login delivery-reviewer)"
    secret="$(call POST /v1/admin/me/second-factor "$token" | json secret)"
    echo "ZJ_CONFIRM_TOKEN=$token"
    echo "ZJ_CONFIRM_CODE=$("$ZJ_ROOT/scripts/totp.py" "$secret" "$next")"
    # DELETE /v1/admin/me/second-factor: a confirmed factor and a code of a later window
    # (the window after the confirming code's: a code works once per window)
    token="$(admin_login courier-reviewer)"
    secret="$(call POST /v1/admin/me/second-factor "$token" | json secret)"
    now="$(date +%s)"
    call POST /v1/admin/me/second-factor/confirm "$token" "{\"code\":\"$("$ZJ_ROOT/scripts/totp.py" "$secret" "$now")\"}" >/dev/null
    echo "ZJ_REMOVE_TOKEN=$token"
    echo "ZJ_REMOVE_CODE=$("$ZJ_ROOT/scripts/totp.py" "$secret" "$((now + 30))")"
    # POST /v1/admin/auth/second-factor: a sign-in challenge and a recovery code of its admin
    token="$(admin_login ridehailing-reviewer)"
    secret="$(call POST /v1/admin/me/second-factor "$token" | json secret)"
    answer="$(call POST /v1/admin/me/second-factor/confirm "$token" "{\"code\":\"$("$ZJ_ROOT/scripts/totp.py" "$secret")\"}")"
    echo "ZJ_SECOND_FACTOR_RECOVERY_CODE=$(json recovery_codes 0 <<<"$answer")"
    answer="$(call POST /v1/admin/auth/login "" "{\"username\":\"ridehailing-reviewer\",\"password\":\"$password\"}")"
    emit ZJ_SECOND_FACTOR_CHALLENGE challenge_of <<<"$answer"
}

# Federation fixtures (issue 13): admins and the calendar, each action on an object of its own
# (the unions are the demo's: schemathesis.toml); the county manager acts ($admin). A root union's manager (the calendar is national)
# comes from the command line, as a federation's first admin does (ZHIJIAN_BIN, set by
# scripts/contract.sh): its one-time password changed and its second factor enrolled here.
federation_fixtures() {
    local created id token otp new secret
    for action in VIEW UPDATE DISABLE RESET ENABLE; do
        created="$(call POST /v1/admin/admins "$admin" \
            "{\"username\":\"ct-${action,,}-$run\",\"display_name\":\"合同测试账号\",\"role\":\"viewer\",\"union_id\":2}")"
        id="$(json admin id <<<"$created")"
        [ "$action" = ENABLE ] && call POST "/v1/admin/admins/$id/disable" "$admin" '{"version":1}' >/dev/null
        echo "ZJ_ACCOUNT_$action=$id"
    done
    # an admin with a one-time password, for POST /v1/admin/me/password
    created="$(call POST /v1/admin/admins "$admin" \
        "{\"username\":\"ct-pw-$run\",\"display_name\":\"合同测试审核员\",\"role\":\"reviewer\",\"union_id\":2}")"
    otp="$(json one_time_password <<<"$created")"
    echo "ZJ_PWCHANGE_TOKEN=$(call POST /v1/admin/auth/login "" "{\"username\":\"ct-pw-$run\",\"password\":\"$otp\"}" | json access_token)"
    echo "ZJ_PWCHANGE_PASSWORD=$otp"
    if [ -n "${ZHIJIAN_BIN:-}" ]; then
        otp="$("$ZHIJIAN_BIN" admin create --union 1 --role manager --username "ct-root-$run" |
            sed -n 's/^one-time password.*: //p')"
        token="$(call POST /v1/admin/auth/login "" "{\"username\":\"ct-root-$run\",\"password\":\"$otp\"}" | json access_token)"
        new="zj-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
        call POST /v1/admin/me/password "$token" "{\"current_password\":\"$otp\",\"new_password\":\"$new\"}" >/dev/null
        secret="$(call POST /v1/admin/me/second-factor "$token" | json secret)"
        call POST /v1/admin/me/second-factor/confirm "$token" "{\"code\":\"$("$ZJ_ROOT/scripts/totp.py" "$secret")\"}" >/dev/null
        echo "ZJ_ROOT_TOKEN=$token"
    else
        log "contract-tokens: no ZHIJIAN_BIN: no root manager, the calendar replacement answers 403"
        echo "ZJ_ROOT_TOKEN=$admin"
    fi
}

# Stations and benefits fixtures (issue 17): stations to read, edit and close; the demo's station
# staff (jingtan-station) with a member's card and a welcome benefit to redeem.
station_fixtures() {
    local body member card benefit
    body='{"union_id":2,"name":"合同测试驿站","kind":"service_post","lat":31.0752,"lng":109.8781,"address":"重庆市巫山县高唐街道广东中路1号","hours":[{"weekday":1,"open":"08:00","close":"20:00"}],"amenities":["drinking_water"]}'
    for action in VIEW EDIT CLOSE; do
        echo "ZJ_STATION_$action=$(call POST /v1/admin/stations "$admin" "$body" | json id)"
    done
    echo "ZJ_STAFF_TOKEN=$(call POST /v1/admin/auth/login "" "{\"username\":\"jingtan-station\",\"password\":\"$password\"}" | json access_token)"
    echo "ZJ_STAFF_STATION=$(call GET "/v1/stations/nearby?lat=31.0752&lng=109.8781&radius_m=2000" "" |
        python3 -c 'import json, sys; print(next(s["id"] for s in json.load(sys.stdin)["items"] if "净坛" in s["name"]))')"
    member="$(new_member)"
    card="$(call GET /v1/membership/card "$member" | json payload)"
    benefit="$(call GET /v1/membership/benefits "$member" |
        python3 -c 'import json, sys; print(next(b["benefit_id"] for b in json.load(sys.stdin)["items"] if b.get("collect_at_station_id")))')"
    echo "ZJ_REDEEM_PAYLOAD=$card"
    echo "ZJ_REDEEM_BENEFIT_ID=$benefit"
}

submit() { # submit TOKEN: a new person's application id (the person's number is in $counter)
    local seq_no
    seq_no="$(next)"
    call POST /v1/applications "$1" "$(form "$(resident_id 0101 "$seq_no")" "1380000$((1000 + seq_no))")" | json id
}

member_id() { # member_id MEMBERSHIP_NUMBER: the member's id, from the admin's member list
    local cursor="" page
    while :; do
        page="$(call GET "/v1/admin/members?limit=100${cursor:+&cursor=$cursor}" "$admin")"
        python3 -c 'import json, sys
d = json.loads(sys.argv[2])
for m in d["items"]:
    if m["membership_number"] == sys.argv[1]:
        print(m["id"]); sys.exit(0)
sys.exit(1)' "$1" "$page" && return 0
        cursor="$(json next_cursor <<<"$page")"
        [ "$cursor" != None ] || return 1
    done
}

member() { # member TOKEN: approve a new application of the worker; prints the member id
    local app number
    app="$(submit "$1")"
    number="$(call POST "/v1/admin/applications/$app/approve" "$admin" '{"version":1}' | json membership_number)"
    member_id "$number"
}

sms_code() { # sms_code PHONE: the digits of the newest SMS the stub accepted for the phone
    curl -fsS "$stub/__stub/sms?phone=$1" | python3 -c 'import json, re, sys
sms = json.load(sys.stdin)
print(next(p for p in reversed(sms[-1]["params"]) if re.fullmatch(r"[0-9]{4,8}", p)))'
}

# emit NAME COMMAND...: NAME=<output of the command>; the run stops when the command fails
emit() {
    local name="$1" value
    shift
    value="$("$@")" || exit 1
    [ -n "$value" ] || exit 1
    echo "$name=$value"
}
# no_code PREFIX PHONE: a phone with no code sent (schemathesis.toml needs the variables; the
# phone sign-in and binding then answer the documented 400 sms_code_expired)
no_code() {
    echo "${1}_PHONE=$2"
    echo "${1}_CODE=000000"
}
worker_refresh() { worker_pair | cut -d' ' -f2; }
new_member() { # a new worker who is a member: prints the worker's token
    local token
    token="$(worker)" || return 1
    member "$token" >/dev/null || return 1
    echo "$token"
}

# A partner client (issue 15) with every scope, made with `zhijian partner create` (or by the
# root manager over HTTP), its token (client credentials), and a consenting worker the partner
# knows as ZJ_PARTNER_USER_ID: the partner operations then reach a real consent.
partner_fixtures() {
    local id secret out token worker code user
    if [ -n "${ZHIJIAN_BIN:-}" ]; then
        out="$("$ZHIJIAN_BIN" partner create --name "契约测试平台" --contact ops \
            --scopes applications:write,applications:read,members:verify,webhooks:manage)"
        id="$(printf '%s\n' "$out" | sed -n 's/^client_id: //p')"
        secret="$(printf '%s\n' "$out" | sed -n 's/^client_secret (shown once): //p')"
    else
        out="$(call POST /v1/admin/partners "$1" '{"name":"契约测试平台","contact":"ops","scopes":["applications:write","applications:read","members:verify","webhooks:manage"]}')" || {
            log "contract-tokens: no partner client (no root manager): partner routes answer 401"
            echo "ZJ_PARTNER_TOKEN=none"
            echo "ZJ_PARTNER_USER_ID=none"
            return 0
        }
        id="$(printf '%s' "$out" | json client_id)"
        secret="$(printf '%s' "$out" | json client_secret)"
    fi
    token="$(curl -sS -u "$id:$secret" -d grant_type=client_credentials "$base/v1/oauth/token" | json access_token)"
    echo "ZJ_PARTNER_TOKEN=$token"
    user="ct-user-$run"
    code="$(call POST /v1/partner/consent-requests "$token" "{\"partner_user_id\":\"$user\",\"purposes\":[\"application\",\"membership_verification\"]}" | json code)"
    worker="$(worker)"
    call POST /v1/me/consents "$worker" "{\"request_code\":\"$code\",\"notice_version\":\"partner-2026-01\"}" >/dev/null
    echo "ZJ_PARTNER_USER_ID=$user"
    # Three more clients for the operations that change a client (so the one above stays
    # enabled): one to rotate and one to disable (each at version 1), one disabled already (at
    # version 2) to enable.
    local which made
    for which in ROTATE DISABLE ENABLE; do
        if [ -n "${ZHIJIAN_BIN:-}" ]; then
            made="$("$ZHIJIAN_BIN" partner create --name "契约测试平台-$which" --contact ops \
                --scopes applications:read | sed -n 's/^client_id: //p')"
            if [ "$which" = ENABLE ]; then
                "$ZHIJIAN_BIN" partner disable --id "$made" >/dev/null
            fi
        else
            made="$(call POST /v1/admin/partners "$1" "{\"name\":\"契约测试平台-$which\",\"contact\":\"ops\",\"scopes\":[\"applications:read\"]}" | json client_id)" || made=""
            if [ -n "$made" ] && [ "$which" = ENABLE ]; then
                call POST "/v1/admin/partners/$made/disable" "$1" '{"version":1}' >/dev/null || true
            fi
        fi
        [ -z "$made" ] || echo "ZJ_PCLIENT_$which=$made"
    done
}

fixtures() {
    password="$(demo_password)"
    admin="$(admin_login wushan-manager)"
    echo "ZJ_CONTRACT_ADMIN_TOKEN=$admin"
    echo "ZJ_CONTRACT_ADMIN_PASSWORD=$password"
    # a second admin session, for POST /v1/admin/auth/logout to end
    emit ZJ_ADMIN_LOGOUT_TOKEN admin_login wushan-viewer
    second_factor_fixtures
    federation_fixtures
    partner_fixtures "$(sed -n 's/^ZJ_ROOT_TOKEN=//p' "$dir/fixtures.env" 2>/dev/null | tail -1)"

    # The worker of every read: a member, with an approved application
    main="$(worker)"
    echo "ZJ_CONTRACT_WORKER_TOKEN=$main"
    main_app="$(submit "$main")"
    echo "ZJ_APP_MINE=$main_app"
    main_number="$(call POST "/v1/admin/applications/$main_app/approve" "$admin" '{"version":1}' | json membership_number)"
    emit ZJ_MEMBER_MINE member_id "$main_number"

    # Workers whose session one operation ends or whose single-use token it spends
    emit ZJ_LOGOUT_TOKEN worker
    emit ZJ_REFRESH_TOKEN worker_refresh

    # Applications waiting for an admin decision, one per action
    applicant="$(worker)"
    for action in APPROVE REJECT RETURN FORWARD; do
        emit "ZJ_APP_$action" submit "$applicant"
    done
    # Pending applications a reviewer opens in the stateful phase, whose links decide them
    for i in 1 2 3 4 5 6; do
        emit "ZJ_APP_REVIEW_$i" submit "$applicant"
    done
    # No fixture for POST /v1/admin/applications/{id}/assign: in the demo county a joint union covers
    # every township, so routing never pools an application, and forwarding to the pool is refused.

    # The worker's own open application (another person's: one open application per person), to withdraw
    emit ZJ_APP_WITHDRAW submit "$main"

    # A returned application of its worker, to correct (PUT) with the same person's form
    corrector="$(worker)"
    echo "ZJ_CORRECT_TOKEN=$corrector"
    correct_app="$(submit "$corrector")"
    echo "ZJ_APP_CORRECT=$correct_app"
    echo "ZJ_CORRECT_RESIDENT_ID=$(resident_id 0101 "$(cat "$counter")")"
    call POST "/v1/admin/applications/$correct_app/return" "$admin" \
        '{"version":1,"fields":["work_address"],"note":"合同测试：请补全门牌号"}' >/dev/null

    # Members for the member actions
    for action in RETAIN EXPEL DECEASED; do
        token="$(worker)"
        emit "ZJ_MEMBER_$action" member "$token"
    done
    token="$(worker)"
    reactivate="$(member "$token")"
    echo "ZJ_MEMBER_REACTIVATE=$reactivate"
    call POST "/v1/admin/members/$reactivate/retain" "$admin" '{"version":1,"reason":"unemployed"}' >/dev/null

    # Members who move or leave: each asks for one transfer (one open transfer per member)
    transfer_body='{"work_region":"500237001009","occupation":"cleaner","reason":"改做保洁"}'
    for action in RELEASE ACCEPT REJECT CANCEL; do
        token="$(new_member)"
        t="$(call POST /v1/transfers "$token" "$transfer_body" | json id)"
        echo "ZJ_TRANSFER_$action=$t"
        case "$action" in
            ACCEPT) call POST "/v1/admin/transfers/$t/release" "$admin" '{"version":1}' >/dev/null ;;
            CANCEL) echo "ZJ_CANCEL_TOKEN=$token" ;;
        esac
    done
    # Active members and requested transfers an admin opens in the stateful phase, whose links
    # act on them (retain → reactivate, expel, deceased; release → accept, reject)
    for i in 1 2 3; do
        token="$(worker)"
        emit "ZJ_MEMBER_VIEW_$i" member "$token"
        token="$(new_member)"
        t="$(call POST /v1/transfers "$token" "$transfer_body" | json id)"
        echo "ZJ_TRANSFER_VIEW_$i=$t"
    done
    mover="$(new_member)"
    echo "ZJ_TRANSFER_TOKEN=$mover"
    leaver="$(new_member)"
    echo "ZJ_LEAVE_TOKEN=$leaver"

    station_fixtures

    # SMS codes, read from the stub: one to sign in with, one to bind a phone with. Phones new
    # to each run (per-phone caps); a send refused by a cap (429: several runs within the hour
    # against the same Redis, per client IP) only costs these two fixtures, not the run.
    if [ -n "$stub" ]; then
        login_phone="137$(printf '%08d' $(((RANDOM * 32768 + RANDOM) % 100000000)))"
        if call POST /v1/auth/sms-codes "" "{\"phone\":\"$login_phone\",\"purpose\":\"login\"}" >/dev/null; then
            echo "ZJ_LOGIN_PHONE=$login_phone"
            emit ZJ_LOGIN_CODE sms_code "$login_phone"
        else
            log "contract-tokens: no SMS code to sign in with"
            no_code ZJ_LOGIN "$login_phone"
        fi
        binder="$(worker)"
        bind_phone="136$(printf '%08d' $(((RANDOM * 32768 + RANDOM) % 100000000)))"
        if call POST /v1/auth/sms-codes "$binder" "{\"phone\":\"$bind_phone\",\"purpose\":\"bind_phone\"}" >/dev/null; then
            echo "ZJ_BIND_TOKEN=$binder"
            echo "ZJ_BIND_PHONE=$bind_phone"
            emit ZJ_BIND_CODE sms_code "$bind_phone"
        else
            log "contract-tokens: no SMS code to bind a phone with"
            echo "ZJ_BIND_TOKEN=$binder"
            no_code ZJ_BIND "$bind_phone"
        fi
    else
        log "contract-tokens: no stub URL: no SMS code fixtures"
        no_code ZJ_LOGIN 13700000000
        echo "ZJ_BIND_TOKEN=$(worker)"
        no_code ZJ_BIND 13600000000
    fi
}

# Every id also goes to .zhijian/contract/fixtures/<name>.dict (ZJ_APP_APPROVE -> app_approve.dict),
# the dictionaries schemathesis.toml binds path parameters to.
dir="$ZJ_STATE/contract/fixtures"
mkdir -p "$dir"
rm -f "$dir"/*.dict
fixtures >"$dir/fixtures.env"
while IFS='=' read -r name value; do
    case "$name" in
        *_TOKEN | *_CODE | *_PASSWORD | *_PHONE | *_ID | *_VERSION | *_CHALLENGE | *_PAYLOAD) ;;
        ZJ_APP_* | ZJ_MEMBER_* | ZJ_TRANSFER_* | ZJ_ACCOUNT_* | ZJ_STATION_* | ZJ_STAFF_STATION | ZJ_PCLIENT_*)
            # ZJ_APP_REVIEW_1, ZJ_APP_REVIEW_2 … -> app_review.dict, one entry each
            lower="${name#ZJ_}"
            lower="${lower%_[0-9]*}"
            printf '"%s"\n' "$value" >>"$dir/${lower,,}.dict"
            ;;
    esac
done <"$dir/fixtures.env"
# Fresh people for the generated submissions (born 1992-03-15; the fixtures are born in 1988)
python3 -c 'w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
for n in range(1, 1000):
    body = "50023719920315%03d" % n
    print("\"%s%s\"" % (body, "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11]))' \
    >"$dir/fresh_resident_ids.dict"
# Fresh wx.login codes (single use; the stub signs in a new WeChat user for each), so that
# generated sign-ins succeed and the stateful phase goes on from them (submit the form …)
for i in $(seq 1 500); do printf '"%sst%d.1"\n' "$run" "$i"; done >"$dir/wechat_codes.dict"
cat "$dir/fixtures.env"
