#!/bin/sh
# Installs the Debian packages that build, tests, demo and benchmarks need.
# Idempotent and quiet when everything is present. Run as root (or with sudo).
set -e
PKGS="build-essential pkg-config libpq-dev postgresql postgresql-contrib libcurl4-openssl-dev
libxxhash-dev libjson-c-dev check libmicrohttpd-dev curl clang-format cppcheck clang
libclang-rt-dev valgrind chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
