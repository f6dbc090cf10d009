#!/usr/bin/env bash
# The four SLRT services, built and started in the background against the local
# infrastructure (deploy/local/infra.sh up), with the paying-bank simulator that
# disbursement sends released payments to.
#
#   services.sh up [--release]   build, start what is not running, wait until ready
#   services.sh down             stop them
#   services.sh status           which run, and whether they are ready
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Not SLRT_-prefixed: the services read their settings from SLRT_* variables.
READY_TIMEOUT="${SERVICES_READY_TIMEOUT:-60}"

# The local stack's own identity provider: a development key set, the NIK token key, and
# tokens for the people of the README's walk-through. A deployment mounts its provider's key
# set and its managed NIK key instead (README, "Keys and certificates").
AUTH="$STATE/auth"
DEV_ISSUER="https://sso.slrt.local/realms/slrt"

# dev_identity BINDIR: the key set (kept across runs) and fresh tokens, valid for a week.
dev_identity() {
    local token="$1/slrt-token"
    [[ -x "$token" ]] || die "$token was not built"
    "$token" keygen --dir "$AUTH" >/dev/null
    mkdir -p "$AUTH/tokens"
    chmod 700 "$AUTH" "$AUTH/tokens"
    mint() {
        local file="$AUTH/tokens/$1.token"
        shift
        ( umask 077 && "$token" mint --dir "$AUTH" --issuer "$DEV_ISSUER" --ttl-minutes 10080 "$@" >"$file" )
    }
    mint dinsos-officer --subject petugas.dinsos --name "Petugas Dinas Sosial" --role opd_officer --opd DINSOS
    mint dinkes-officer --subject petugas.dinkes --name "Petugas Dinas Kesehatan" --role opd_officer --opd DINKES
    mint supervisor --subject manajer.slrt --name "Manajer SLRT" --role supervisor --region 33.75
    mint auditor --subject inspektorat.1 --name "Auditor Inspektorat" --role auditor
    mint administrator --subject admin.slrt --role administrator
    mint desk-operator --subject petugas.meja.1 --name "Petugas Meja SLRT Kota Pekalongan" --role desk_operator --region 33.75
    mint back-office --subject verifikator.1 --name "Verifikator SLRT" --role back_office --region 33.75
    mint coordinator --subject koordinator.1 --name "Koordinator Puskesos" --role coordinator --region 33.75
    mint civil-registry-feed --subject feed.dukcapil --role data_feed --opd DUKCAPIL
    mint dinsos-system --subject sistem.dinsos --role opd_system --opd DINSOS
    # The services' own token for calls to each other (client credentials in a deployment).
    mint service --subject service:slrt-local --role service
    info "development tokens in $AUTH/tokens (valid 7 days; renewed by every 'up')"
    # A development certificate authority with a certificate for each service and for the
    # walk-through's agency system and feed (kept across runs), for MTLS=1.
    "$token" certs --dir "$TLS" --name intake --name eligibility --name referral \
        --name disbursement --name dinsos-system --name civil-registry-feed >/dev/null
}

# With MTLS=1 every gRPC port speaks TLS only and admits only clients with a certificate of
# the development authority in $TLS; the services call eligibility over https. The paying
# bank's simulator stays in plain text, as an outside system of its own.
TLS="$STATE/tls"
MTLS="${MTLS:-0}"

# tls_env NAME: the settings of service NAME (intake, ...) for MTLS=1, one per line.
tls_env() {
    [[ "$MTLS" == 1 ]] || return 0
    printf '%s\n' \
        "SLRT_GRPC_TLS_CERT_FILE=$TLS/$1.pem" \
        "SLRT_GRPC_TLS_KEY_FILE=$TLS/$1-key.pem" \
        "SLRT_GRPC_TLS_CLIENT_CA_FILE=$TLS/ca.pem" \
        "SLRT_GRPC_TLS_CA_FILE=$TLS/ca.pem" \
        "SLRT_ELIGIBILITY_GRPC_URL=https://127.0.0.1:50052"
}

# slrt-intake -> SLRT_INTAKE_DATABASE_URL
database_url_var() {
    local name="${1#slrt-}"
    echo "SLRT_${name^^}_DATABASE_URL"
}

ready() {
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
        "http://127.0.0.1:$1/readyz" 2>/dev/null)" == 200 ]]
}

up() {
    local profile=debug cargo_flags=() entry name port grpc pid bin log failed=0
    local -a started=()
    if [[ "${1:-}" == --release ]]; then
        profile=release
        cargo_flags=(--release)
    elif [[ -n "${1:-}" ]]; then
        die "unknown option '$1' (only --release)"
    fi

    if ! port_open "$PG_PORT" || ! port_open "$KAFKA_PORT"; then
        die "PostgreSQL (127.0.0.1:$PG_PORT) or the broker (127.0.0.1:$KAFKA_PORT) is down; run deploy/local/infra.sh up (or make run)"
    fi

    local packages=(-p "$BANK" -p slrt-auth)
    for entry in "${SERVICES[@]}"; do
        read -r name _ <<<"$entry"
        packages+=(-p "$name")
    done
    info "building the services ($profile)"
    (cd "$ROOT" && cargo build --bins "${cargo_flags[@]}" "${packages[@]}")

    local bindir="${CARGO_TARGET_DIR:-$ROOT/target}/$profile"
    [[ "$bindir" == /* ]] || bindir="$ROOT/$bindir"
    mkdir -p "$LOGS" "$PIDS"
    dev_identity "$bindir"
    start_bank "$bindir"

    for entry in "${SERVICES[@]}"; do
        read -r name port grpc <<<"$entry"
        bin="$bindir/$name"
        log="$LOGS/$name.log"
        if pid="$(pid_alive "$PIDS/$name.pid" "$name")"; then
            info "$name: already running (pid $pid); 'services.sh down' first to run a new build"
            continue
        fi
        [[ -x "$bin" ]] || die "$bin was not built; is the binary named after its package?"
        port_open "$port" && die "$name: port $port is taken by another program"
        port_open "$grpc" && die "$name: port $grpc is taken by another program"

        info "$name: starting (log $log)"
        # In the log's own JSON-lines shape, so that one restart is easy to find and the file
        # still parses.
        printf '{"timestamp":"%s","level":"INFO","message":"started by deploy/local/services.sh","build":"%s"}\n' \
            "$(date -u +%FT%TZ)" "$profile" >>"$log"
        # The child records its own pid before exec so the file names the service itself,
        # whatever setsid does. setsid keeps a later Ctrl-C in this terminal away from it.
        local tls=()
        mapfile -t tls < <(tls_env "${name#slrt-}")
        # shellcheck disable=SC2016  # expanded by the child shell
        env \
            "${tls[@]}" \
            SLRT_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
            "$(database_url_var "$name")=postgres://$PG_SUPERUSER@127.0.0.1:$PG_PORT/${name//-/_}" \
            SLRT_LOG_FORMAT=json \
            SLRT_AUTH_JWKS_FILE="$AUTH/jwks.json" \
            SLRT_AUTH_ISSUER="$DEV_ISSUER" \
            SLRT_PII_KEY_FILE="$AUTH/pii-key.hex" \
            SLRT_SERVICE_TOKEN_FILE="$AUTH/tokens/service.token" \
            SLRT_RATE_LIMIT_PER_MINUTE="${SLRT_RATE_LIMIT_PER_MINUTE:-60000}" \
            SLRT_RATE_LIMIT_BURST="${SLRT_RATE_LIMIT_BURST:-2000}" \
            setsid nohup bash -c 'echo $$ >"$1"; shift; cd "$1"; shift; exec "$@"' _ \
            "$PIDS/$name.pid" "$ROOT" "$bin" </dev/null >>"$log" 2>&1 &
        started+=("$name")
    done

    # Started together, waited for in turn against one deadline: they come up independently
    # of each other, so one slow service should not stretch the wait for the others.
    local deadline=$((SECONDS + READY_TIMEOUT))
    for entry in "${SERVICES[@]}"; do
        read -r name port _ <<<"$entry"
        [[ " ${started[*]} " == *" $name "* ]] || continue
        if wait_ready "$name" "$port" "$deadline"; then
            info "$name: ready on http://127.0.0.1:$port"
        else
            failed=1
        fi
    done
    ((failed == 0)) || die "some services did not become ready; their logs are in $LOGS"

    table
}

# The paying bank's stand-in: a gRPC server with no HTTP side, ready once its port answers.
BANK=slrt-bank-simulator
BANK_PORT=50060

start_bank() {
    local bin="$1/$BANK" log="$LOGS/$BANK.log" pid deadline
    if pid="$(pid_alive "$PIDS/$BANK.pid" "$BANK")"; then
        info "$BANK: already running (pid $pid)"
        return
    fi
    [[ -x "$bin" ]] || die "$bin was not built"
    port_open "$BANK_PORT" && die "$BANK: port $BANK_PORT is taken by another program"
    info "$BANK: starting on 127.0.0.1:$BANK_PORT (log $log)"
    # shellcheck disable=SC2016  # expanded by the child shell
    env SLRT_BANK_GRPC_ADDR="127.0.0.1:$BANK_PORT" SLRT_LOG_FORMAT=json \
        setsid nohup bash -c 'echo $$ >"$1"; shift; cd "$1"; shift; exec "$@"' _ \
        "$PIDS/$BANK.pid" "$ROOT" "$bin" </dev/null >>"$log" 2>&1 &
    deadline=$((SECONDS + 20))
    until port_open "$BANK_PORT"; do
        ((SECONDS < deadline)) || die "$BANK did not open 127.0.0.1:$BANK_PORT; see $log"
        sleep 0.2
    done
}

# wait_ready NAME HTTP_PORT DEADLINE: until /readyz answers 200, the process dies, or
# $SECONDS passes DEADLINE.
wait_ready() {
    local name="$1" port="$2" deadline="$3" log="$LOGS/$1.log"
    sleep 0.5
    until ready "$port"; do
        if ! pid_alive "$PIDS/$name.pid" "$name" >/dev/null; then
            printf '\n%s exited during start-up; the end of %s:\n' "$name" "$log" >&2
            tail -n 40 "$log" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            printf '\n%s: http://127.0.0.1:%s/readyz not 200 after %s s; the end of %s:\n' \
                "$name" "$port" "$READY_TIMEOUT" "$log" >&2
            tail -n 40 "$log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
}

table() {
    local entry name port grpc
    echo
    printf '%-18s %-24s %-18s %-36s %s\n' SERVICE HTTP gRPC DOCS LOG
    for entry in "${SERVICES[@]}"; do
        read -r name port grpc <<<"$entry"
        printf '%-18s %-24s %-18s %-36s %s\n' "$name" "http://127.0.0.1:$port" \
            "127.0.0.1:$grpc" "http://127.0.0.1:$port/docs/" ".state/logs/$name.log"
    done
    echo
    printf '%-18s postgres://%s@127.0.0.1:%s/<database>   databases: %s   log .state/logs/postgres.log\n' \
        PostgreSQL "$PG_SUPERUSER" "$PG_PORT" "${DATABASES[*]}"
    printf '%-18s 127.0.0.1:%s (Kafka protocol, tansu)   log .state/logs/tansu.log\n' \
        broker "$KAFKA_PORT"
    printf '%-18s 127.0.0.1:%s (gRPC slrt.bank.v1, a simulator)   log .state/logs/%s.log\n' \
        bank "$BANK_PORT" "$BANK"
    printf '%-18s %s\n' logs "$LOGS  (make logs follows the services' logs)"
}

down() {
    local entry name pid
    for entry in "${SERVICES[@]}"; do
        read -r name _ <<<"$entry"
        if pid="$(pid_alive "$PIDS/$name.pid" "$name")"; then
            info "$name: stopping (pid $pid)"
            # Graceful shutdown drains in-flight requests and consumer batches first.
            stop_pid "$pid" "$name" 30
        fi
        rm -f "$PIDS/$name.pid"
    done
    if pid="$(pid_alive "$PIDS/$BANK.pid" "$BANK")"; then
        info "$BANK: stopping (pid $pid)"
        stop_pid "$pid" "$BANK" 10
    fi
    rm -f "$PIDS/$BANK.pid"
}

status() {
    local entry name port pid
    for entry in "${SERVICES[@]}"; do
        read -r name port _ <<<"$entry"
        if pid="$(pid_alive "$PIDS/$name.pid" "$name")"; then
            if ready "$port"; then
                printf '%-18s ready      http://127.0.0.1:%s  pid %s\n' "$name" "$port" "$pid"
            else
                printf '%-18s NOT READY  http://127.0.0.1:%s/readyz  pid %s  log .state/logs/%s.log\n' \
                    "$name" "$port" "$pid" "$name"
            fi
        else
            printf '%-18s stopped\n' "$name"
        fi
    done
}

case "${1:-}" in
    up) up "${2:-}" ;;
    down) down ;;
    status) status ;;
    *)
        echo "usage: $0 up [--release] | down | status" >&2
        exit 2
        ;;
esac
