#!/usr/bin/env bash
# test.sh: installs what the tests need on Debian, then runs every test, plainly and under sanitizers.
# SPDX-License-Identifier: MIT
set -euo pipefail
cd "$(dirname "$0")/.."

# CI and fresh machines start without Criterion; install only what is missing. The
# runtimes and daemons are there so that their tests run instead of skipping;
# musl-tools (musl-gcc) for the musl build and its tests; busybox for its
# applets' names; zsh to parse its completion; dpkg-dev, debhelper and lintian
# for make deb; systemd for systemd-analyze verify of the example units.
need=()
for pkg in make gcc g++ libc6-dev libcriterion-dev man-db cppcheck clang-tidy valgrind python3 openjdk-17-jdk-headless golang-go \
           nginx-light dnsmasq-base musl-tools zsh busybox dpkg-dev debhelper lintian systemd; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# Serial make: the test programs already run two tests at a time (Criterion --jobs 2),
# and more than that on a 2-core CI machine only adds noise.
make lint
make check CFLAGS="-O2 -g -Werror"
make check-musl CFLAGS="-O2 -g -Werror"
# The Debian package: built, lintian-clean, installed, the demo run against it, purged.
make deb
./scripts/check-deb.sh
make check-sanitize CFLAGS="-Werror"
echo "test.sh: all tests passed"
