#!/bin/sh
# bench.sh - how fast is one optimization cycle at 100, 1,000 and 10,000 VAs?
# With --live: how fast, how big and how chatty is one live run?
#
# Builds an optimized wva-optimizer out of tree in build-bench/ (unless
# WVA_BIN names a binary to measure), generates --limited snapshots with
# scripts/gen_snapshot.py (cached in build-bench/snapshots, keyed by size,
# seed and the generator's checksum), replays each several times with
#   wva-optimizer --from-file SNAP --output json --timings
# and prints one table of medians (scripts/bench.py does the measuring).
#
# Usage: scripts/bench.sh [--quick] [--sizes "100 1000"] [--runs N]
#                         [--seed S] [--json FILE] [--keep-plans DIR]
#   --quick   100 and 1,000 VAs only (CI smoke)
#
# Live path: scripts/bench.sh --live [--quick] [--sizes "1000 10000"] [--runs N]
#              [--namespaces 100] [--scrape-interval S] [--limited]
#              [--no-refresh-run] [--keep]
#              [--workdir DIR] [--json FILE]
#   Runs the binary against tests/servers/kubeapi.py (N VAs over 100
#   namespaces, 3 pods each) and a real Prometheus scraping
#   tests/servers/vllm_exporter.py, with a steady load: one first run, then
#   --runs steady-state `wva-optimizer --once` runs (default 3) measured for
#   wall, CPU, peak RSS, API requests by verb and Prometheus queries, then a
#   --snapshot-out run whose file is sized against the API's dump and
#   replayed, and last one run made when every VA status is 5 intervals old
#   (GLOBAL_OPT_INTERVAL=2s), which SPEC section 7 makes rewrite them all
#   (scripts/bench_live.py does the work).  Default sizes 1,000 and 10,000;
#   --quick 1,000 only.  Needs Debian's prometheus and openssl.
#
# Simulation: scripts/bench.sh --sim [--seed S] [--out DIR]
#   Issue 8's goals: the step, diurnal and bursty standard traces of
#   scripts/simulate with wva-optimizer and an HPA on KV usage in the same
#   closed loop, then one table of the goals (each against that HPA run)
#   and whether each is reached.  A benchmark: it prints, it does not fail
#   on a missed goal.  Plots go to --out (default build-bench/sim).
# Environment: WVA_BIN (skip the build), BENCH_CACHE (snapshot cache dir),
#   JOBS (make -j), PYTHON (default python3).
# Exit status: 0 all runs succeeded; 1 a build, generation or run failed
# (with --live also: a steady-state run wrote something other than the run
# Lease, 10,000 VAs took >= 200 MB or >= 10 s, reads grew with VAs, or the
# replay of --snapshot-out disagreed with the live plan); 2 usage error.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
PYTHON=${PYTHON:-python3}

live=0
sim=0
for arg in "$@"; do
    case $arg in
    -h|--help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        exit 0 ;;
    --live) live=1 ;;
    --sim) sim=1 ;;
    esac
done

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "bench.sh: $PYTHON not found (needed for the generator and the driver)" >&2
    exit 1
fi

if [ -z "${WVA_BIN:-}" ]; then
    build="$top_srcdir/build-bench"
    jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
    mkdir -p "$build"
    if [ ! -x "$top_srcdir/configure" ]; then
        echo "bench.sh: no configure script, running autoreconf -fi" >&2
        (cd "$top_srcdir" && autoreconf -fi) || { echo "bench.sh: autoreconf failed" >&2; exit 1; }
    fi
    # Reconfigure when configure changed or the directory was never configured.
    if [ ! -f "$build/Makefile" ] || [ "$top_srcdir/configure" -nt "$build/config.status" ]; then
        echo "bench.sh: configuring $build (CFLAGS=-O2)" >&2
        (cd "$build" && "$top_srcdir/configure" -q CFLAGS="-O2") \
            || { echo "bench.sh: configure failed (see $build/config.log)" >&2; exit 1; }
    fi
    echo "bench.sh: building $build/wva-optimizer" >&2
    (cd "$build" && make -s -j"$jobs" wva-optimizer >&2) \
        || { echo "bench.sh: build failed" >&2; exit 1; }
    WVA_BIN="$build/wva-optimizer"
    : "${BENCH_CACHE:=$build/snapshots}"
fi

if [ ! -x "$WVA_BIN" ]; then
    echo "bench.sh: WVA_BIN=$WVA_BIN is not an executable file" >&2
    exit 1
fi

: "${BENCH_CACHE:=$top_srcdir/build-bench/snapshots}"
if [ "$sim" = 1 ]; then
    # Drop --sim itself; --seed and --out are scripts/simulate's.
    for arg in "$@"; do
        shift
        [ "$arg" = --sim ] || set -- "$@" "$arg"
    done
    exec "$PYTHON" "$here/simulate" --standard step --standard diurnal --standard bursty \
        --policies wva,hpa --goals --binary "$WVA_BIN" --out "$top_srcdir/build-bench/sim" "$@"
fi
if [ "$live" = 1 ]; then
    # Drop --live itself; everything else is bench_live.py's.
    for arg in "$@"; do
        shift
        [ "$arg" = --live ] || set -- "$@" "$arg"
    done
    exec "$PYTHON" "$here/bench_live.py" --bin "$WVA_BIN" "$@"
fi
exec "$PYTHON" "$here/bench.py" --bin "$WVA_BIN" --cache "$BENCH_CACHE" \
    --generator "$here/gen_snapshot.py" "$@"
