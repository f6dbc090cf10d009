#!/usr/bin/env bash
# Installs what the local stack and the tests need on a Debian/Ubuntu machine that has a Rust
# toolchain, and nothing that is already there: PostgreSQL (the distribution's packages), the
# C toolchain, make and curl (the builds and scripts use them), and the tansu broker.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (not root and no sudo); install it by hand and rerun"
    fi
}

apt_packages=()
pg_bindir >/dev/null || apt_packages+=(postgresql)
command -v cc >/dev/null 2>&1 || apt_packages+=(build-essential)
command -v make >/dev/null 2>&1 || apt_packages+=(make)
command -v curl >/dev/null 2>&1 || apt_packages+=(curl ca-certificates)
# runuser comes with util-linux on Debian; pg_ctl and initdb refuse to run as root.
((EUID != 0)) || command -v runuser >/dev/null 2>&1 || apt_packages+=(util-linux)

if ((${#apt_packages[@]})); then
    command -v apt-get >/dev/null 2>&1 ||
        die "missing ${apt_packages[*]} and no apt-get here; install them by hand"
    info "installing ${apt_packages[*]} from the distribution's packages"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${apt_packages[@]}"
    pg_bindir >/dev/null || die "postgresql installed but initdb/pg_ctl not found"
    # The package starts a cluster of its own on 5432; ours runs apart from it and the
    # distribution's service is left as the package set it up.
fi
info "PostgreSQL: $(pg_bindir)"

installed_tansu_version() {
    local bin
    bin="$(tansu_bin)" || return 1
    "$bin" --version 2>/dev/null | awk '{print $2}'
}

if [[ "$(installed_tansu_version || true)" == "$TANSU_VERSION" ]]; then
    info "tansu $TANSU_VERSION: $(tansu_bin)"
else
    command -v cargo >/dev/null 2>&1 || die "cargo not found; install a Rust toolchain first"
    # The default features carry no storage engine at all; libsql brings the SQLite store.
    # --locked builds the dependency versions tansu was released with. Built from the
    # repository root so the pinned toolchain (known to build 0.6.0) is the one used.
    info "installing tansu $TANSU_VERSION with cargo (about 12 minutes on 2 cores)"
    (cd "$ROOT" && cargo install tansu --version "$TANSU_VERSION" --locked --features libsql)
    [[ "$(installed_tansu_version || true)" == "$TANSU_VERSION" ]] ||
        die "tansu $TANSU_VERSION was installed but '$(tansu_bin || echo tansu) --version' disagrees"
    info "tansu $TANSU_VERSION: $(tansu_bin)"
fi
