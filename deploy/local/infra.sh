#!/usr/bin/env bash
# The local infrastructure: a private PostgreSQL cluster and a tansu (Kafka-compatible) broker,
# both kept under .state/ and on ports of their own so they never meet a system-wide install.
#
#   infra.sh up       start both (does nothing for what already runs)
#   infra.sh down     stop the services, then the broker, then PostgreSQL
#   infra.sh status   what runs where
#
# Ports: SLRT_PG_PORT (default 55432), SLRT_KAFKA_PORT (default 19092).
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SELF="$ROOT/deploy/local/infra.sh"
PG_LOG="$LOGS/postgres.log"
TANSU_LOG="$LOGS/tansu.log"
TANSU_PIDFILE="$PIDS/tansu.pid"
SUPERVISOR_PIDFILE="$PIDS/tansu-supervisor.pid"
BROKER_URL="tcp://127.0.0.1:$KAFKA_PORT"

# ---------------------------------------------------------------------------------------------
# PostgreSQL

# initdb, pg_ctl and postgres refuse to run as root; as root the cluster belongs to the
# distribution's `postgres` user instead.
as_pg_owner() {
    if ((EUID == 0)); then
        # From / because the caller's cwd (often /root) may be closed to that user.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_running() {
    [[ -f "$PGDATA_DIR/PG_VERSION" ]] || return 1
    as_pg_owner "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

# As root, the postgres user must reach .state/logs through every parent of the repository.
# Checked from / down, so that only the directories that actually block the way are opened.
make_traversable_for_postgres() {
    local part path="" parts
    IFS=/ read -ra parts <<<"${LOGS#/}"
    for part in "${parts[@]}"; do
        path+="/$part"
        if ! runuser -u postgres -- test -x "$path" 2>/dev/null; then
            info "giving others search permission on $path so that the postgres user can reach it"
            chmod o+x "$path"
        fi
    done
}

prepare_pg_dirs() {
    mkdir -p "$PGDATA_DIR" "$PG_SOCKET_DIR" "$LOGS"
    touch "$PG_LOG"
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 ||
            die "running as root but there is no 'postgres' user to own the cluster (deploy/local/install.sh installs PostgreSQL, which creates it)"
        chown postgres: "$PGDATA_DIR" "$PG_SOCKET_DIR" "$PG_LOG"
        make_traversable_for_postgres
    fi
    # initdb insists on a private data directory.
    chmod 700 "$PGDATA_DIR"
}

# Settings live in a file of their own, rewritten on every `up`, so a changed port or tuning
# takes effect without touching the generated postgresql.conf beyond one include line.
write_pg_settings() {
    local conf="$PGDATA_DIR/slrt.conf"
    cat >"$conf" <<EOF
# Written by deploy/local/infra.sh on every 'up'; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
# Tests open a fresh database and pool per test, many at once.
max_connections = 300
shared_buffers = 256MB
# Durability is under test (an acknowledged request must survive a crash): keep both on.
fsync = on
synchronous_commit = on
# The event store reads in commit order up to the cluster's oldest open transaction, so a
# transaction left open in any database (a hung test, a forgotten psql session) stalls every
# service's feeds. End such sessions rather than let them stall the stack.
idle_in_transaction_session_timeout = '60s'
EOF
    if ((EUID == 0)); then chown postgres: "$conf"; fi
}

pg_init() {
    info "PostgreSQL: creating cluster in $PGDATA_DIR"
    as_pg_owner "$PGBIN/initdb" -D "$PGDATA_DIR" -U "$PG_SUPERUSER" --auth=trust \
        --encoding=UTF8 --no-locale --no-instructions >>"$PG_LOG" 2>&1 ||
        die "initdb failed; see $PG_LOG"
    echo "include_if_exists = 'slrt.conf'" >>"$PGDATA_DIR/postgresql.conf"
}

psql_admin() {
    "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
        -v ON_ERROR_STOP=1 -X -q -t -A "$@"
}

pg_create_databases() {
    local db
    for db in "${DATABASES[@]}"; do
        if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
            psql_admin -c "CREATE DATABASE $db"
            info "PostgreSQL: created database $db"
        fi
    done
}

pg_up() {
    PGBIN="$(pg_bindir)" || die "PostgreSQL not found; run deploy/local/install.sh"
    if pg_running; then
        info "PostgreSQL: already running on 127.0.0.1:$PG_PORT"
    else
        port_open "$PG_PORT" &&
            die "port $PG_PORT is taken by another program; stop it or set SLRT_PG_PORT"
        prepare_pg_dirs
        [[ -f "$PGDATA_DIR/PG_VERSION" ]] || pg_init
        write_pg_settings
        info "PostgreSQL: starting on 127.0.0.1:$PG_PORT"
        if ! as_pg_owner "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start >/dev/null; then
            tail -n 30 "$PG_LOG" >&2 || true
            die "PostgreSQL did not start; the end of $PG_LOG is above"
        fi
    fi
    pg_create_databases
}

pg_down() {
    PGBIN="$(pg_bindir)" || return 0
    if pg_running; then
        info "PostgreSQL: stopping"
        as_pg_owner "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null
    else
        info "PostgreSQL: not running"
    fi
}

# ---------------------------------------------------------------------------------------------
# tansu, under a supervisor: the broker has been seen to exit without a word under load, and a
# dead broker must come back by itself (the services' readiness shows the gap meanwhile).

supervisor_log() { printf '%s slrt-supervisor: %s\n' "$(date -u +%FT%TZ)" "$*"; }

# Runs detached, stdout and stderr already appended to tansu.log.
# A broker can also stay up and stop answering: tansu 0.6.0 has been seen to panic inside
# its storage task under load and then fail every request while its process lives on. Every
# 10 s this asks the broker for its topics; three failures in a row and it is killed, which
# the supervisor then treats like any other exit.
watch_health() {
    local bin="$1" child="$2" failures=0
    sleep 15
    while kill -0 "$child" 2>/dev/null; do
        if timeout 5 "$bin" topic list --broker "$BROKER_URL" >/dev/null 2>&1; then
            failures=0
        else
            failures=$((failures + 1))
        fi
        if ((failures >= 3)); then
            supervisor_log "tansu (pid $child) stopped answering; killing it so that it restarts"
            kill -KILL "$child" 2>/dev/null || true
            return
        fi
        sleep 10
    done
}

supervise() {
    local bin="$1" child="" rc started delay=1 watchdog=""
    echo "$$" >"$SUPERVISOR_PIDFILE"

    stop_child() {
        local timer
        supervisor_log "stopping tansu"
        [[ -n "$watchdog" ]] && kill "$watchdog" 2>/dev/null
        if [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; then
            # kill -0 cannot tell a dead child from a live one until it is reaped, so the
            # grace period runs beside the wait instead.
            (sleep 20 && kill -KILL "$child" 2>/dev/null) &
            timer=$!
            wait "$child" 2>/dev/null || true
            kill "$timer" 2>/dev/null || true
        fi
        rm -f "$TANSU_PIDFILE" "$SUPERVISOR_PIDFILE"
        exit 0
    }
    trap stop_child TERM

    while true; do
        started=$SECONDS
        # tansu joins even an absolute sqlite:// path onto its working directory, so it runs
        # from / for the path to mean what it says (and to keep it from loading a .env file,
        # which it looks for from its working directory up).
        # NO_COLOR: its log lines would otherwise carry terminal colour codes into the file.
        (cd / && NO_COLOR=1 exec "$bin" broker \
            --listener-url "$BROKER_URL" \
            --advertised-listener-url "$BROKER_URL" \
            --storage-engine "sqlite://$TANSU_DIR/tansu.db") &
        child=$!
        echo "$child" >"$TANSU_PIDFILE"
        supervisor_log "tansu started (pid $child)"
        watch_health "$bin" "$child" &
        watchdog=$!
        rc=0
        wait "$child" || rc=$?
        kill "$watchdog" 2>/dev/null || true
        watchdog=""
        # A broker that dies straight after starting would otherwise spin; back off up to 30 s.
        if ((SECONDS - started < 10)); then
            delay=$((delay * 2 > 30 ? 30 : delay * 2))
        else
            delay=1
        fi
        supervisor_log "tansu (pid $child) exited with status $rc; restarting in $delay s"
        child=""
        # In the background so that a stop request is handled at once, not after the sleep.
        sleep "$delay" &
        wait $! || true
    done
}

broker_up() {
    local bin pid
    bin="$(tansu_bin)" || die "tansu not found; run deploy/local/install.sh"
    mkdir -p "$TANSU_DIR" "$LOGS" "$PIDS"

    if pid_alive "$SUPERVISOR_PIDFILE" __supervise >/dev/null; then
        info "broker: already running on 127.0.0.1:$KAFKA_PORT"
    else
        # A broker left behind by a supervisor that was killed outright would hold the port.
        if pid="$(pid_alive "$TANSU_PIDFILE" tansu)"; then
            info "broker: stopping unsupervised tansu (pid $pid)"
            stop_pid "$pid" tansu 20
        fi
        port_open "$KAFKA_PORT" &&
            die "port $KAFKA_PORT is taken by another program; stop it or set SLRT_KAFKA_PORT"
        info "broker: starting tansu on 127.0.0.1:$KAFKA_PORT (storage $TANSU_DIR/tansu.db)"
        # setsid: a Ctrl-C in the terminal that ran `make test` must not take the broker down.
        setsid nohup bash "$SELF" __supervise "$bin" </dev/null >>"$TANSU_LOG" 2>&1 &
    fi

    if ! wait_for_port "$KAFKA_PORT" 30; then
        tail -n 30 "$TANSU_LOG" >&2 || true
        die "broker not accepting connections on 127.0.0.1:$KAFKA_PORT after 30 s; the end of $TANSU_LOG is above"
    fi
}

broker_down() {
    local pid
    if pid="$(pid_alive "$SUPERVISOR_PIDFILE" __supervise)"; then
        info "broker: stopping"
        stop_pid "$pid" "tansu supervisor" 30
    fi
    # Only if the supervisor was gone already, or did not get to its child.
    if pid="$(pid_alive "$TANSU_PIDFILE" tansu)"; then
        info "broker: stopping tansu (pid $pid)"
        stop_pid "$pid" tansu 20
    fi
    rm -f "$SUPERVISOR_PIDFILE" "$TANSU_PIDFILE"
}

# ---------------------------------------------------------------------------------------------

status() {
    local ok=0 pid restarts
    PGBIN="$(pg_bindir)" || PGBIN=""
    if [[ -n "$PGBIN" ]] && pg_running; then
        printf '%-12s running    postgres://%s@127.0.0.1:%s/  data %s  log %s\n' \
            PostgreSQL "$PG_SUPERUSER" "$PG_PORT" "$PGDATA_DIR" "$PG_LOG"
    else
        printf '%-12s stopped\n' PostgreSQL
        ok=3
    fi

    if pid="$(pid_alive "$SUPERVISOR_PIDFILE" __supervise)"; then
        restarts="$(grep -c 'slrt-supervisor: .* exited' "$TANSU_LOG" 2>/dev/null || true)"
        if port_open "$KAFKA_PORT"; then
            printf '%-12s running    127.0.0.1:%s  tansu pid %s, supervisor pid %s, %s restart(s) logged  log %s\n' \
                broker "$KAFKA_PORT" "$(cat "$TANSU_PIDFILE" 2>/dev/null || echo '?')" "$pid" \
                "${restarts:-0}" "$TANSU_LOG"
        else
            printf '%-12s starting   127.0.0.1:%s not accepting yet (supervisor pid %s)  log %s\n' \
                broker "$KAFKA_PORT" "$pid" "$TANSU_LOG"
            ok=3
        fi
    else
        printf '%-12s stopped\n' broker
        ok=3
    fi

    bash "$ROOT/deploy/local/services.sh" status || true
    return "$ok"
}

case "${1:-}" in
    up)
        pg_up
        broker_up
        info "infrastructure up: PostgreSQL 127.0.0.1:$PG_PORT, broker 127.0.0.1:$KAFKA_PORT"
        ;;
    down)
        bash "$ROOT/deploy/local/services.sh" down
        broker_down
        pg_down
        ;;
    status)
        status
        ;;
    __supervise)
        supervise "$2"
        ;;
    *)
        echo "usage: $0 up|down|status" >&2
        exit 2
        ;;
esac
