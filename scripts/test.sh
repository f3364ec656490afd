#!/usr/bin/env bash
# Build and run every test: the unit tests, scenario replays, command line
# tests and live-run integration tests under AddressSanitizer +
# UndefinedBehaviorSanitizer, then `make distcheck`.  Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/install-deps.sh
autoreconf -fi >/dev/null 2>&1

build="$top/build-test"
mkdir -p "$build"
cd "$build"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
../configure -q CFLAGS="-O1 -g $san" LDFLAGS="$san"
make -s -j2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if ! make -s -j2 check; then
    cat test-suite.log >&2 || true
    exit 1
fi

# Live runs: the real (sanitized) binary against the Kubernetes API test
# server and a real Prometheus on 127.0.0.1.
WVA_BIN="$build/wva-optimizer" python3 "$top/tests/integration/test_live.py"

# The distribution tarball builds and passes its tests on its own.
if [ "${WVA_SKIP_DISTCHECK:-0}" != 1 ]; then
    make -s distcheck >distcheck.log 2>&1 || { tail -50 distcheck.log >&2; exit 1; }
    echo "distcheck: ok"
fi
