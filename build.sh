#!/usr/bin/env bash
# Burrow's one entry point. Run as root on Debian 12.
#
#   ./build.sh dev [--name N] [--network NET] [--profile caching]   one whole appliance in a sandbox
#   ./build.sh test [pytest args]               install what the tests need, run linters and every test
#   ./build.sh bench [names]                    run the benchmarks and print a table of figures
#   ./build.sh screenshots                      retake the console's screenshots in docs/
#   ./build.sh image [--profile P]              build dist/burrow.qcow2 and dist/burrow.raw (default);
#                                               --profile caching: dist/burrow-caching.qcow2 (Unbound)
#   ./build.sh run [--profile P] [--uefi] [--fresh]  boot the image under qemu, services on local ports
#   ./build.sh setup                            only install system and Python packages
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
VENV="$HERE/.venv"
PY="$VENV/bin/python"

# System packages, all from Debian 12, by what needs them.
PKGS_RUN=(bind9 bind9-utils bind9-dnsutils kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent
          kea-dhcp-ddns-server
          kea-admin iproute2 curl python3 python3-venv python3-dev gcc
          ldnsutils iputils-ping iputils-tracepath chrony rsyslog rsyslog-gnutls
          unbound dns-root-data)
PKGS_TEST=(isc-dhcp-client isc-dhcp-relay isc-dhcp-server openssh-client postgresql dnsperf
           ldnsutils iputils-ping iputils-tracepath chromium procps wrk
           snmp snmptrapd snmpd)
# Building the appliance image and booting it (./build.sh image|run, tests/system).
PKGS_IMAGE=(mmdebstrap e2fsprogs fdisk dosfstools mtools grub-common grub-pc-bin
            grub-efi-amd64-bin qemu-system-x86 qemu-utils ovmf)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "this needs root (network namespaces, named, Kea); run it as root."
}

install_system() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "apt-get is missing; Burrow needs Debian 12."
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed; check the package mirror."
    # No package may start its daemon on install (isc-dhcp-server and isc-dhcp-relay, for
    # the tests, would serve or relay DHCP on this machine): a policy that refuses every
    # start, for the length of the install, unless the machine has one of its own.
    local policy=/usr/sbin/policy-rc.d made_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || { [ -n "$made_policy" ] && rm -f "$policy"; die "installing ${missing[*]} failed."; }
    if [ -n "$made_policy" ]; then rm -f "$policy"; fi
    # Installing the packages must not leave Debian's own daemons running: supervisord runs them.
    local svc
    for svc in named kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent kea-dhcp-ddns-server \
               chrony rsyslog unbound \
               isc-dhcp-server isc-dhcp-relay snmpd; do
        if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
            systemctl disable --now "$svc" >/dev/null 2>&1 || true
        fi
    done
}

python_for_venv() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            command -v "$candidate"; return 0
        fi
    done
    die "Python 3.11 is missing (Debian 12's python3 is 3.11)."
}

install_python() {
    local extra="$1" stamp
    stamp="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$extra"
    if [ -x "$PY" ] && [ "$(cat "$VENV/.burrow-stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    say "installing Python packages into .venv (pinned by constraints.txt)"
    [ -x "$PY" ] || "$(python_for_venv)" -m venv "$VENV" || die "could not create .venv."
    "$PY" -m pip install -q --upgrade pip >/dev/null
    local target="."
    [ "$extra" = test ] && target=".[test]"
    "$PY" -m pip install -q -c constraints.txt -e "$target" || die "pip install failed."
    echo "$stamp" > "$VENV/.burrow-stamp"
}

# The console's JavaScript (htmx) from the npm registry, checked against its pinned sha512.
install_vendor() {
    "$PY" -m webui.vendor || die "could not fetch the web console's htmx (see above)."
}

cmd="${1:-image}"
[ $# -gt 0 ] && shift
case "$cmd" in
    setup)
        need_root
        install_system "${PKGS_RUN[@]}" "${PKGS_TEST[@]}" "${PKGS_IMAGE[@]}"
        install_python test
        install_vendor
        ;;
    dev)
        need_root
        install_system "${PKGS_RUN[@]}"
        install_python run
        install_vendor
        exec "$PY" -m services.sandbox.cli "$@"
        ;;
    test)
        need_root
        install_system "${PKGS_RUN[@]}" "${PKGS_TEST[@]}" "${PKGS_IMAGE[@]}"
        install_python test
        install_vendor
        say "ruff check"
        "$VENV/bin/ruff" check .
        say "ruff format --check"
        "$VENV/bin/ruff" format --check .
        say "mypy --strict"
        "$VENV/bin/mypy"
        say "pytest"
        exec "$PY" -m pytest "$@"
        ;;
    bench)
        need_root
        install_system "${PKGS_RUN[@]}" "${PKGS_TEST[@]}" "${PKGS_IMAGE[@]}"
        install_python test
        install_vendor
        exec "$PY" -m tests.bench "$@"
        ;;
    screenshots)
        need_root
        install_system "${PKGS_RUN[@]}" "${PKGS_TEST[@]}"
        install_python test
        install_vendor
        exec "$PY" -m tests.webui.screenshots "$@"
        ;;
    image|run)
        need_root
        if [ ! -f image/build.py ]; then
            die "the image recipe is not in this version yet (image/build.py); use ./build.sh dev."
        fi
        install_system "${PKGS_RUN[@]}" "${PKGS_IMAGE[@]}"
        install_python run
        install_vendor
        exec "$PY" -m image.build "$cmd" "$@"
        ;;
    -h|--help|help)
        sed -n '2,/build.sh setup/p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    *)
        die "unknown command '$cmd'; try ./build.sh help."
        ;;
esac
