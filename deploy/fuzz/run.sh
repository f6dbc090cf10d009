#!/usr/bin/env bash
# `make fuzz`: schemathesis against the running intake service, driven by its own OpenAPI
# document. Every operation gets generated requests, valid and deliberately malformed; the run
# fails on any 5xx answer and on any answer that contradicts the document, and prints the
# request that reproduces each failure.
#
#   deploy/fuzz/run.sh
#
# FUZZ_MAX_EXAMPLES (default 40) cases per operation and phase; FUZZ_MAX_SECONDS (default 240)
# bounds the whole run (schemathesis spends what is left of it on further fuzzing rounds).
# FUZZ_SEED replays a run. Everything it writes is under .state/fuzz/: the virtualenv, the
# examples schemathesis keeps between runs, and one report folder per run. What the fuzzer
# manages to create (cases, household changes) stays in the local stack's databases, under
# an applicant of its own (FUZZ_APPLICANT below) and the subject fuzz.schemathesis.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../local/common.sh"

# Pinned: a new schemathesis generates other cases and adds checks, so an upgrade is a change
# to review, not something that happens to a run. 4.x runs on Python 3.9 and later.
SCHEMATHESIS_VERSION=4.32.5
FUZZ_DIR="$STATE/fuzz"
VENV="$FUZZ_DIR/venv"
CONFIG="$ROOT/deploy/fuzz/schemathesis.toml"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-40}"
MAX_SECONDS="${FUZZ_MAX_SECONDS:-240}"
# The issuer deploy/local/services.sh gives the local stack's tokens.
DEV_ISSUER="https://sso.slrt.local/realms/slrt"
# A made-up person of Kota Pekalongan (NIK: district 33.75.01, born 21 July 1990, female), so
# that what the fuzzer does to her case and household touches nobody of the walk-through.
FUZZ_APPLICANT='{"nik": "3375016107900009", "full_name": "Uji Fuzz", "birth_date": "1990-07-21",
    "sex": "F", "region_code": "33.75.01.1002", "kk_number": "3375011907200099"}'

intake_port() {
    local entry name port
    for entry in "${SERVICES[@]}"; do
        read -r name port _ <<<"$entry"
        if [[ "$name" == slrt-intake ]]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

ensure_schemathesis() {
    local installed=""
    if [[ -x "$VENV/bin/schemathesis" ]]; then
        installed="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)"
    fi
    [[ "$installed" == "$SCHEMATHESIS_VERSION" ]] && return 0
    command -v python3 >/dev/null 2>&1 || die "python3 is needed for schemathesis; install it (3.9 or later)"
    info "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV" || die "cannot create a virtualenv in $VENV (Debian: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

# A token of its own, valid for an hour, with every role the intake API serves (the auditor's
# too, for the audit routes) and the regency as its area, so that what the fuzzer reaches is
# the handlers, not the refusals.
mint_token() {
    local token="${CARGO_TARGET_DIR:-$ROOT/target}/debug/slrt-token"
    [[ "$token" == /* ]] || token="$ROOT/$token"
    [[ -x "$token" ]] || die "$token was not built (deploy/local/services.sh up builds it)"
    "$token" mint --dir "$STATE/auth" --issuer "$DEV_ISSUER" --ttl-minutes 60 \
        --subject fuzz.schemathesis --name "make fuzz" \
        --role desk_operator --role back_office --role coordinator --role supervisor --role auditor \
        --region 33.75
}

# open_case PORT: opens a case for FUZZ_APPLICANT and exports its case, person and household
# ids for schemathesis.toml. Python (the virtualenv's) reads the token from the environment,
# where curl would want it on its command line.
open_case() {
    local ids
    ids="$(FUZZ_APPLICANT="$FUZZ_APPLICANT" "$VENV/bin/python" - "http://127.0.0.1:$1/v1/cases" <<'PY'
import json, os, sys, urllib.request

body = {
    "applicant": json.loads(os.environ["FUZZ_APPLICANT"]),
    "needs": [{"category": "civil_documents", "description": "make fuzz"}],
    "desk_region_code": "33.75.01.1002",
}
request = urllib.request.Request(
    sys.argv[1],
    data=json.dumps(body).encode(),
    headers={"Authorization": "Bearer " + os.environ["FUZZ_BEARER_TOKEN"], "Content-Type": "application/json"},
)
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        case = json.load(response)
except urllib.error.HTTPError as error:
    sys.exit(f"opening the fuzzer's case: {error.code} {error.read().decode(errors='replace')}")
person = case.get("person") or {}
print(case["case_id"], person.get("person_id", ""), person.get("household_id", ""))
PY
)" || die "could not open the fuzzer's case on intake"
    read -r FUZZ_CASE_ID FUZZ_PERSON_ID FUZZ_HOUSEHOLD_ID <<<"$ids"
    # An id intake did not give gets a fresh one: schemathesis then hears 404s, not a config error.
    : "${FUZZ_PERSON_ID:=$(cat /proc/sys/kernel/random/uuid)}" "${FUZZ_HOUSEHOLD_ID:=$(cat /proc/sys/kernel/random/uuid)}"
    export FUZZ_CASE_ID FUZZ_PERSON_ID FUZZ_HOUSEHOLD_ID
    info "fuzz: case $FUZZ_CASE_ID (person $FUZZ_PERSON_ID, household $FUZZ_HOUSEHOLD_ID) for the steps on a case and a household"
}

main() {
    local port run_dir started status=0
    port="$(intake_port)" || die "slrt-intake is missing from the SERVICES table in deploy/local/common.sh"
    mkdir -p "$FUZZ_DIR"
    ensure_schemathesis

    bash "$ROOT/deploy/local/infra.sh" up
    bash "$ROOT/deploy/local/services.sh" up

    FUZZ_BEARER_TOKEN="$(mint_token)"
    export FUZZ_BEARER_TOKEN
    open_case "$port"

    run_dir="$FUZZ_DIR/reports/$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$run_dir"
    info "fuzz: schemathesis $SCHEMATHESIS_VERSION against http://127.0.0.1:$port/openapi.json" \
        "($MAX_EXAMPLES examples per operation, at most $MAX_SECONDS s); reports in $run_dir"
    started=$SECONDS
    # From .state/fuzz, so that whatever schemathesis keeps in its working directory (the
    # examples database) stays there. `timeout` backs --max-time up: a request the service
    # never answers must not hold `make fuzz` for ever.
    (
        cd "$FUZZ_DIR"
        timeout --kill-after=30 $((MAX_SECONDS + 120)) \
            "$VENV/bin/schemathesis" --config-file "$CONFIG" run \
            "http://127.0.0.1:$port/openapi.json" \
            --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
            --max-examples "$MAX_EXAMPLES" \
            --max-time "$MAX_SECONDS" \
            --request-timeout 30 \
            --workers 2 \
            ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
            --report junit,ndjson,har \
            --report-dir "$run_dir" \
            --no-color
    ) 2>&1 | tee "$run_dir/output.txt" || status=$?
    info "fuzz: finished in $((SECONDS - started)) s with status $status; output and reports in $run_dir"
    return "$status"
}

main "$@"
