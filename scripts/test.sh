#!/usr/bin/env bash
# Build and run every test: the unit tests, scenario replays, command line
# tests and live-run integration tests under AddressSanitizer +
# UndefinedBehaviorSanitizer (live runs also against a real kube-apiserver,
# see scripts/realkube.sh); the unit tests under valgrind; a short fuzzing
# run; then `make distcheck`.  Installs missing Debian packages first.  Any
# failing stage stops the script with a non-zero exit; the last line counts
# the stages.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/install-deps.sh
autoreconf -fi >/dev/null 2>&1

build="$top/build-test"
mkdir -p "$build"
cd "$build"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
../configure -q --enable-werror CFLAGS="-O1 -g $san" LDFLAGS="$san"
make -s -j2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if ! make -s -j2 check; then
    cat test-suite.log >&2 || true
    exit 1
fi
stages=1

# `make check-integration`, five suites against the real (sanitized)
# binary: the test servers themselves behave like the real ones (TLS, auth,
# paging, conflicts, faults; the exporter scraped by a real Prometheus);
# live runs against the Kubernetes API test server and a real Prometheus
# on 127.0.0.1; the Pushgateway; the fault matrix (API server and
# Prometheus failures, malformed input, changes behind the program's
# back); the manifests (CRD schema, CronJob args/env, least-privilege RBAC
# derived from the real binary's requests); the simulator's own checks and
# short closed-loop runs of the real binary (no growth while starting
# replicas cover demand, no explosion under a backlog, no flapping).
make -s check-integration
stages=$((stages + 6))

# A real control plane: etcd, kube-apiserver and kube-controller-manager
# built from Kubernetes' Go modules by scripts/realkube.sh (the first time
# only: cached outside the tree), the manifests applied, live runs as the
# CronJob's ServiceAccount, upstream's CRD, real API semantics.
t=$SECONDS
"$top/scripts/realkube.sh" build >/dev/null
echo "realkube: control plane binaries ready in $((SECONDS - t))s"
t=$SECONDS
WVA_BIN="$build/wva-optimizer" python3 "$top/tests/integration/test_realkube.py"
echo "realkube: tests against the real kube-apiserver took $((SECONDS - t))s"
stages=$((stages + 1))

# Unit tests once more under valgrind memcheck, without the sanitizers
# (they cannot be combined): no invalid access, no leak.
if [ "${WVA_SKIP_VALGRIND:-0}" != 1 ]; then
    vg="$top/build-valgrind"
    mkdir -p "$vg"
    (cd "$vg" && ../configure -q --enable-werror CFLAGS="-O1 -g" && make -s -j2 &&
        make -s -j2 check TESTS= >/dev/null)
    failed=0
    for t in "$vg"/tests/unit/test_*; do
        [ -x "$t" ] || continue
        case "$t" in *.o|*.log|*.trs) continue ;; esac
        if ! (cd "$vg" && top_srcdir="$top" WVA_BIN="$vg/wva-optimizer" \
                valgrind -q --error-exitcode=99 --leak-check=full \
                --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
                --trace-children=no "$t" >"$t.valgrind.log" 2>&1); then
            echo "valgrind: $(basename "$t") FAILED" >&2
            tail -40 "$t.valgrind.log" >&2
            failed=$((failed + 1))
        fi
    done
    [ "$failed" -eq 0 ] || { echo "valgrind: $failed unit test program(s) failed" >&2; exit 1; }
    echo "valgrind: every unit test program clean"
    stages=$((stages + 1))
fi

# A short fuzzing smoke run of every parser of outside input (the long
# runs are `scripts/fuzz.sh` with a larger FUZZ_SECONDS; see the README).
if [ "${WVA_SKIP_FUZZ:-0}" != 1 ]; then
    FUZZ_SECONDS=${WVA_FUZZ_SECONDS:-3} FUZZ_WERROR=1 FUZZ_BUILD_DIR="$top/build-fuzz-ci" \
        "$top/scripts/fuzz.sh"
    stages=$((stages + 1))
fi

# The distribution tarball builds and passes its tests on its own.
if [ "${WVA_SKIP_DISTCHECK:-0}" != 1 ]; then
    make -s distcheck >distcheck.log 2>&1 || { tail -50 distcheck.log >&2; exit 1; }
    echo "distcheck: ok"
    stages=$((stages + 1))
fi
echo "stages: $stages passed, 0 failed"
