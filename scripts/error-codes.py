#!/usr/bin/env python3
"""Writes the error codes into openapi.yaml.

    scripts/error-codes.py RECORDED...   (files written by the tests with
                                          ZHIJIAN_RECORD_ERROR_CODES=FILE)

- `components.schemas.Error.properties.code.enum` becomes the catalogue
  (`domain/src/error_code.rs`), in its order;
- each operation's `x-error-codes` becomes the union of what it lists today, what the tests
  recorded it answering, and `EXTRA` below (codes the code can answer that no test reaches),
  minus the codes every operation may answer (`x-common-error-codes`).

The file is edited line by line so its layout and comments stay as they are. The test
`api::error::catalogue` checks the result both ways; the integration tests check that every
error the server answers is listed for its operation.
"""
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CATALOGUE = ROOT / "domain/src/error_code.rs"

# Codes an operation can answer that the tests do not reach, by operationId.
# Lost races answer stale_version (the version moved under the caller) on every versioned write.
STALE = ['correctApplication', 'withdrawApplication', 'approveApplication', 'rejectApplication', 'returnApplication', 'forwardApplication', 'assignApplication', 'retainMembership', 'reactivateMembership', 'expelMember', 'recordMemberDeceased', 'withdrawMembership', 'requestTransfer', 'releaseTransfer', 'acceptTransfer', 'rejectTransfer', 'cancelTransfer']

EXTRA = {
    "submitApplication": ['credit_code_invalid_character', 'credit_code_wrong_length', 'invalid_education', 'invalid_employment_status', 'invalid_household_type', 'invalid_political_status', 'invalid_text', 'region_invalid_character', 'region_unknown_province', 'region_wrong_length', 'resident_id_future_birth_date', 'resident_id_invalid_character', 'resident_id_unknown_province', 'no_union', 'invalid_idempotency_key'],
    "correctApplication": ['credit_code_invalid_character', 'credit_code_wrong_length', 'invalid_education', 'invalid_employment_status', 'invalid_household_type', 'invalid_political_status', 'invalid_text', 'region_invalid_character', 'region_unknown_province', 'region_wrong_length', 'resident_id_future_birth_date', 'resident_id_invalid_character', 'resident_id_unknown_province', 'no_union', 'invalid_application_id'],
    "getMyApplication": ['invalid_application_id'],
    "withdrawApplication": ['invalid_application_id'],
    "getApplicationForReview": ['invalid_application_id'],
    "approveApplication": ['invalid_application_id', 'conflict'],
    "rejectApplication": ['invalid_application_id', 'reason_control_character', 'reason_too_long', 'invalid_reject_code'],
    "returnApplication": ['invalid_application_id', 'no_fields_to_fix', 'blank_field_to_fix', 'reason_control_character', 'reason_too_long'],
    "forwardApplication": ['invalid_application_id', 'reason_control_character', 'reason_too_long'],
    "assignApplication": ['invalid_application_id', 'application_not_pooled', 'assign_to_same_union'],
    "requestTransfer": ['no_union', 'invalid_idempotency_key', 'reason_control_character', 'reason_too_long', 'credit_code_invalid_character', 'credit_code_wrong_length', 'region_invalid_character', 'region_unknown_province', 'region_wrong_length'],
    "releaseTransfer": ['member_not_transferring'],
    "acceptTransfer": ['member_not_transferring'],
    "getMember": ['invalid_member_id'],
    "reactivateMembership": ['invalid_member_id', 'reason_control_character', 'reason_too_long'],
    "expelMember": ['invalid_member_id', 'reason_control_character', 'reason_too_long'],
    "recordMemberDeceased": ['invalid_member_id', 'reason_control_character', 'reason_too_long'],
    "sendSmsCode": ['phone_unreachable'],
    "bindSmsPhone": ['phone_unreachable'],
    "getUnion": ['invalid_id'],
    "listQueue": ['invalid_application_status', 'invalid_occupation_group'],
    "listTransfers": ['invalid_transfer_status'],
    "listMembers": ['invalid_member_status'],
    "retainMembership": ['invalid_member_id', 'invalid_retain_reason'],
    # Stations, benefits and redemption (issue 17).
    "findNearbyStations": ['invalid_limit'],
    "getStation": ['not_found'],
    "createStation": ['invalid_longitude', 'invalid_amenity', 'invalid_text', 'required', 'missing_field', 'invalid_field'],
    "editStation": ['forbidden', 'invalid_latitude', 'invalid_longitude', 'invalid_amenity', 'invalid_station_hours', 'invalid_station_kind', 'invalid_station_phone', 'invalid_text', 'required', 'missing_field', 'invalid_field', 'station_hours_end_before_start', 'station_closed'],
    "closeStation": ['forbidden', 'not_found', 'stale_version'],
    "listStationRedemptions": ['invalid_cursor', 'invalid_limit'],
    "createBenefit": ['invalid_cover_period', 'invalid_text', 'required'],
    "redeemBenefit": ['benefit_expired', 'benefit_other_station', 'station_closed'],
}


# The admin extractor's gate (`api/src/auth.rs` `gate`) answers these on every admin route but
# the self routes below (sign-in, sign-out, the admin's own profile and password).
GATED_CODES = ["password_change_required", "second_factor_required"]
SELF_OPERATIONS = ["adminSignIn", "adminSignInSecondFactor", "adminSignOut", "getAdminMe", "changeAdminPassword", "startSecondFactorEnrolment", "confirmSecondFactor", "removeSecondFactor"]

# Codes of the catalogue no operation answers today: domain errors raised only by background
# jobs or when reading stored values, and rules of features not exposed yet. Kept in
# `x-unanswered-error-codes` so the catalogue and the contract still agree both ways.
UNANSWERED = [
    "application_missing_returned_at", "application_not_yet_expired", "invalid_admin_role",
    "invalid_application_event", "invalid_day_kind",
    "invalid_gender", "invalid_member_event", "invalid_region_level", "invalid_routing_rule",
    "invalid_transfer_event", "invalid_union_kind",
    "invalid_union_path", "membership_number_bad_check_character",
    "membership_number_invalid_character", "membership_number_not_county",
    "membership_number_sequence_out_of_range", "membership_number_wrong_length",
    "membership_number_year_out_of_range", "review_cutoff_after_closing",
    "review_cutoff_not_after_opening", "transfer_auto_release_too_early",
]


def catalogue():
    return re.findall(r'^\s+\w+ => "([a-z0-9_]+)",$', CATALOGUE.read_text(), re.M)


def main(recorded_files):
    codes = catalogue()
    text = SPEC.read_text()
    lines = text.split("\n")
    common = set()
    m = re.search(r"^x-common-error-codes: \[(.*)\]$", text, re.M)
    if m:
        common = {c.strip() for c in m.group(1).split(",") if c.strip()}
    recorded = collections.defaultdict(set)
    for name in recorded_files:
        for line in pathlib.Path(name).read_text().splitlines():
            method, template, _status, code = line.split()
            recorded[(method.lower(), template)].add(code)

    out = []
    path = method = None
    i = 0
    while i < len(lines):
        line = lines[i]
        pm = re.match(r"^  (/\S*):$", line)
        if pm:
            path = pm.group(1)
        mm = re.match(r"^    (get|put|post|delete|patch):$", line)
        if mm:
            method = mm.group(1)
        om = re.match(r"^      operationId: (\w+)$", line)
        if om and path and method:
            op = om.group(1)
            existing = set()
            if i + 1 < len(lines):
                xm = re.match(r"^      x-error-codes: \[(.*)\]$", lines[i + 1])
                if xm:
                    existing = {c.strip() for c in xm.group(1).split(",") if c.strip()}
                    i += 1  # replaced below
            extra = set(EXTRA.get(op, ())) | ({"stale_version"} if op in STALE else set())
            if path.startswith("/v1/admin/") and op not in SELF_OPERATIONS:
                extra |= set(GATED_CODES)
            listed = (existing | recorded[(method, path)] | extra) - common
            unknown = listed - set(codes)
            if unknown:
                sys.exit(f"{op}: codes not in the catalogue: {sorted(unknown)}")
            out.append(line)
            ordered = [c for c in codes if c in listed]
            out.append(f"      x-error-codes: [{', '.join(ordered)}]")
            i += 1
            continue
        out.append(line)
        i += 1
    text = "\n".join(out)
    answered = set()
    for line in out:
        m = re.match(r"^      x-error-codes: \[(.*)\]$", line)
        if m:
            answered |= {c.strip() for c in m.group(1).split(",") if c.strip()}
    unanswered = [c for c in codes if c in UNANSWERED and c not in answered and c not in common]
    text = re.sub(
        r"^x-unanswered-error-codes: \[.*\]\n", "", text, flags=re.M
    )
    text = re.sub(
        r"^(x-common-error-codes: \[.*\]\n)",
        lambda m: m.group(1) + f"x-unanswered-error-codes: [{', '.join(unanswered)}]\n",
        text,
        count=1,
        flags=re.M,
    )

    # The Error schema's code: the catalogue as an enum.
    enum = "          enum:\n" + "".join(f"            - {c}\n" for c in codes)
    text, n = re.subn(
        r"(    Error:\n(?:.*\n)*?        code:\n          type: string\n          pattern: \"[^\"]*\"\n)(          enum:\n(?:            - .*\n)*)?",
        lambda m: m.group(1) + enum,
        text,
        count=1,
    )
    if n != 1:
        sys.exit("could not find components.schemas.Error.properties.code")
    SPEC.write_text(text)


if __name__ == "__main__":
    main(sys.argv[1:])
