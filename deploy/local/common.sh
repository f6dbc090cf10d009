# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this
# Shared by the deploy/local scripts (sourced, never run). Everything the local stack owns lives
# under .state/ at the repository root, so one `rm -rf .state` forgets it all.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STATE="$ROOT/.state"
LOGS="$STATE/logs"
PIDS="$STATE/pids"

PG_PORT="${SLRT_PG_PORT:-55432}"
KAFKA_PORT="${SLRT_KAFKA_PORT:-19092}"
PGDATA_DIR="$STATE/pg"
# Kept short: a Unix socket path may not exceed 107 bytes.
PG_SOCKET_DIR="$STATE/run"
PG_SUPERUSER=slrt
DATABASES=(slrt_intake slrt_eligibility slrt_referral slrt_disbursement)

TANSU_VERSION=0.6.0
TANSU_DIR="$STATE/tansu"

# Service name, HTTP port, gRPC port: the services' own defaults, listed here only for the
# readiness checks and the summary table.
SERVICES=(
    "slrt-intake 8081 50051"
    "slrt-eligibility 8082 50052"
    "slrt-referral 8083 50053"
    "slrt-disbursement 8084 50054"
)

# A fresh rustup install puts cargo and `cargo install`ed tools here without touching the
# PATH of non-login shells.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
    *":$CARGO_BIN:"*) ;;
    *) [[ -d "$CARGO_BIN" ]] && PATH="$CARGO_BIN:$PATH" ;;
esac

info() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The directory holding initdb, pg_ctl and postgres. Debian keeps them out of PATH under
# /usr/lib/postgresql/<major>/bin; prefer the newest major found there.
pg_bindir() {
    local dir
    dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null |
        sort -V | tail -n 1)"
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
        return 0
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    return 1
}

tansu_bin() {
    if command -v tansu >/dev/null 2>&1; then
        command -v tansu
    elif [[ -x "$CARGO_BIN/tansu" ]]; then
        echo "$CARGO_BIN/tansu"
    else
        return 1
    fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# wait_for_port PORT SECONDS
wait_for_port() {
    local port="$1" deadline=$((SECONDS + $2))
    until port_open "$port"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# pid_alive PIDFILE WORD: prints the pid and succeeds when the pid in PIDFILE runs a command
# line containing WORD. The word check keeps a recycled pid from being mistaken for ours.
pid_alive() {
    local file="$1" word="$2" pid
    [[ -s "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$word" || return 1
    echo "$pid"
}

# stop_pid PID NAME SECONDS: SIGTERM, then SIGKILL if it outlives the grace period.
stop_pid() {
    local pid="$1" name="$2" deadline=$((SECONDS + $3))
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            warn "$name (pid $pid) ignored SIGTERM for $3 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
}
