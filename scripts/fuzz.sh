#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets under tests/fuzz/ with clang
# (ASan + UBSan + libFuzzer) and run each for a bounded time.
#
# Usage: scripts/fuzz.sh [--build-only] [TARGET...]
#   TARGET: snapshot kube_list prom configmap yaml kubeconfig duration
#           quantity values plan (default: all)
# Environment:
#   FUZZ_SECONDS    run time per target (default 20)
#   FUZZ_BUILD_DIR  build and corpus directory (default <top>/build-fuzz)
#   CC              the clang to use (default clang)
#   FUZZ_WERROR     1: compile with -Werror (scripts/test.sh sets it)
#
# Needs clang with compiler-rt's libFuzzer (Debian: clang and
# libclang-rt-14-dev) plus the project's build dependencies.  The corpus
# grows in $FUZZ_BUILD_DIR/corpus/<target> across runs; seeds come from
# tests/fixtures (tests/fuzz/make_seeds.py) and tests/fuzz/seeds/<target>.
# Crash, leak, timeout and OOM inputs land in
# $FUZZ_BUILD_DIR/artifacts/<target>/.  Exit status: 0 when no target
# failed, 1 when one did, 2 on a build or usage problem.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$TOP/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-20}
CC=${CC:-clang}
ALL_TARGETS="snapshot kube_list prom configmap yaml kubeconfig duration quantity values plan"

build_only=0
targets=()
for arg in "$@"; do
    case $arg in
    --build-only) build_only=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *)
        if [[ " $ALL_TARGETS " != *" $arg "* ]]; then
            echo "fuzz.sh: unknown target '$arg' (known: $ALL_TARGETS)" >&2
            exit 2
        fi
        targets+=("$arg") ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || read -r -a targets <<<"$ALL_TARGETS"
if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]] || [[ $SECONDS_EACH -lt 1 ]]; then
    echo "fuzz.sh: FUZZ_SECONDS must be a positive whole number, got '$SECONDS_EACH'" >&2
    exit 2
fi

dict_for() {
    case $1 in
    snapshot|kube_list) echo json ;;
    prom|yaml|configmap|kubeconfig|duration|quantity|values) echo "$1" ;;
    *) echo "" ;;
    esac
}

mkdir -p "$BUILD/obj" "$BUILD/bin"

# ---- toolchain check -------------------------------------------------------
probe=$BUILD/probe.c
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe" -o "$BUILD/probe" 2>"$BUILD/probe.log"; then
    echo "fuzz.sh: $CC cannot build libFuzzer targets (install clang and libclang-rt-14-dev):" >&2
    cat "$BUILD/probe.log" >&2
    exit 2
fi

# ---- config.h from the project's own configure -----------------------------
if [[ ! -f $BUILD/config.h ]]; then
    echo "fuzz.sh: configuring in $BUILD (CC=$CC)"
    (cd "$BUILD" && "$TOP/configure" -q CC="$CC" >configure.log 2>&1) || {
        echo "fuzz.sh: configure failed; see $BUILD/config.log" >&2
        exit 2
    }
fi

PKGS="libcurl json-c yaml-0.1 sqlite3"
read -r -a PKG_CFLAGS <<<"$(pkg-config --cflags $PKGS)"
read -r -a PKG_LIBS <<<"$(pkg-config --libs $PKGS)"
# UBSan findings abort like ASan ones, so libFuzzer keeps the input.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS_FUZZ=(-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter
             -I"$TOP/include" -I"$BUILD" -I"$TOP/tests/fuzz" "${PKG_CFLAGS[@]}")
# FUZZ_WERROR=1 (scripts/test.sh): warnings are errors, as configure's
# --enable-werror makes them for the other test builds.
[[ ${FUZZ_WERROR:-0} == 1 ]] && CFLAGS_FUZZ+=(-Werror)

# ---- the project's sources (not main.c), instrumented for coverage ---------
newest_header=$(ls -t "$TOP"/include/wva/*.h "$BUILD/config.h" | head -n1)
objs=()
to_build=()
for src in "$TOP"/src/*.c; do
    base=$(basename "$src" .c)
    [[ $base == main ]] && continue
    obj=$BUILD/obj/$base.o
    objs+=("$obj")
    if [[ ! -f $obj || $src -nt $obj || $newest_header -nt $obj ]]; then
        to_build+=("$src")
    fi
done
if [[ ${#to_build[@]} -gt 0 ]]; then
    echo "fuzz.sh: compiling ${#to_build[@]} source file(s)"
    printf '%s\n' "${to_build[@]}" |
        xargs -P "$(nproc)" -I{} sh -c \
            'f={}; b=$(basename "$f" .c); exec "$0" "$@" -c "$f" -o "'"$BUILD"'/obj/$b.o"' \
            "$CC" "${CFLAGS_FUZZ[@]}" $SAN -fsanitize=fuzzer-no-link ||
        { echo "fuzz.sh: compiling the sources failed" >&2; exit 2; }
    rm -f "$BUILD/libwva-fuzz.a"
fi
[[ -f $BUILD/libwva-fuzz.a ]] || ar rcs "$BUILD/libwva-fuzz.a" "${objs[@]}"

for t in "${targets[@]}"; do
    src=$TOP/tests/fuzz/fuzz_$t.c
    bin=$BUILD/bin/fuzz_$t
    if [[ ! -f $bin || $src -nt $bin || $TOP/tests/fuzz/fuzz.h -nt $bin ||
          $BUILD/libwva-fuzz.a -nt $bin ]]; then
        "$CC" "${CFLAGS_FUZZ[@]}" $SAN -fsanitize=fuzzer "$src" "$BUILD/libwva-fuzz.a" \
            "${PKG_LIBS[@]}" -lglpk -lm -o "$bin" ||
            { echo "fuzz.sh: building fuzz_$t failed" >&2; exit 2; }
    fi
done
echo "fuzz.sh: built ${#targets[@]} target(s) in $BUILD/bin"
[[ $build_only -eq 1 ]] && exit 0

# ---- seeds -------------------------------------------------------------------
# per invocation, so that two runs on different targets can share $BUILD
seeds=$(mktemp -d "$BUILD/seeds.XXXXXX")
trap 'rm -rf "$seeds"' EXIT
python3 "$TOP/tests/fuzz/make_seeds.py" "$TOP" "$seeds"

# ---- run ---------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=0
report=$seeds/report.txt
printf '%-11s %12s %9s %7s %8s %7s  %s\n' target executions exec/s cov ft corpus result >"$report"
for t in "${targets[@]}"; do
    corpus=$BUILD/corpus/$t
    art=$BUILD/artifacts/$t
    log=$BUILD/logs/$t.log
    mkdir -p "$corpus" "$art" "$BUILD/logs" "$seeds/$t"
    hand=()
    [[ -d $TOP/tests/fuzz/seeds/$t ]] && hand=("$TOP/tests/fuzz/seeds/$t")
    before=$(find "$art" -type f | wc -l)
    dict=$(dict_for "$t")
    args=(-max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=5
          -print_final_stats=1 -artifact_prefix="$art/")
    [[ -n $dict ]] && args+=(-dict="$TOP/tests/fuzz/dict/$dict.dict")
    echo "fuzz.sh: running fuzz_$t for ${SECONDS_EACH}s"
    rc=0
    # stdin from /dev/null: a kubeconfig may name /dev/stdin as a file.
    timeout $((SECONDS_EACH + 120)) "$BUILD/bin/fuzz_$t" "${args[@]}" "$corpus" \
        "${hand[@]}" "$seeds/$t" </dev/null >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    units=$(find "$corpus" -type f | wc -l)
    found=$(( $(find "$art" -type f | wc -l) - before ))
    if [[ $rc -ne 0 || $found -gt 0 ]]; then
        failed=1
        result="FAILED (exit $rc, $found new artifact(s); see $log)"
        grep -E 'ERROR: |SUMMARY: |fuzz oracle failed|runtime error' "$log" | head -n 5 >&2 || true
    else
        result=ok
    fi
    printf '%-11s %12s %9s %7s %8s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${ft:-?}" "$units" "$result" >>"$report"
done
echo
cat "$report"
cp "$report" "$BUILD/logs/last-report.txt"
if [[ $failed -ne 0 ]]; then
    echo "fuzz.sh: a target failed; inputs are in $BUILD/artifacts/<target>/" >&2
    exit 1
fi
echo "fuzz.sh: no findings"
