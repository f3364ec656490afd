#!/usr/bin/env bash
# Command-line tests of the real binary: exit codes, error messages,
# plan output on the bundled example.  Run by `make check` (WVA_BIN and
# top_srcdir are set there).
set -u
bin=${WVA_BIN:-./wva-optimizer}
top=${top_srcdir:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() {  # check NAME EXPECTED_EXIT CMD... ; output in $tmp/out, $tmp/err
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: exit $got, expected $want" >&2
        sed 's/^/  stderr: /' "$tmp/err" | head -5 >&2
    fi
}

contains() {  # contains NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1: $2 does not contain: $3" >&2
        head -5 "$2" | sed 's/^/  /' >&2
    fi
}

check help 0 "$bin" --help
contains help "$tmp/out" "--from-file"
check version 0 "$bin" --version
contains version "$tmp/out" "wva-optimizer"
check unknown-option 2 "$bin" --frobnicate
contains unknown-option "$tmp/err" "frobnicate"
check bad-output 2 "$bin" --from-file x.json --output xml
contains bad-output "$tmp/err" "xml"

check missing-file 2 "$bin" --from-file "$tmp/nope.json"
contains missing-file "$tmp/err" "nope.json"
printf 'not json' >"$tmp/bad.json"
check not-json 2 "$bin" --from-file "$tmp/bad.json"
printf '[1,2]' >"$tmp/arr.json"
check top-level-array 2 "$bin" --from-file "$tmp/arr.json"
python3 - "$top/examples/demo-snapshot.json" "$tmp/typo.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["deployments"]["items"][0]["spec"]["replicas"] = "abc"
json.dump(doc, open(sys.argv[2], "w"))
PY
check bad-replicas 2 "$bin" --from-file "$tmp/typo.json"
contains bad-replicas "$tmp/err" 'deployments.items[0].spec.replicas: expected integer, got \"abc\"'

check demo-table 0 "$bin" --from-file "$top/examples/demo-snapshot.json"
contains demo-table "$tmp/out" "NAMESPACE"
check demo-json 0 "$bin" --from-file "$top/examples/demo-snapshot.json" --output json --timings
contains demo-timings "$tmp/err" "timings: parse="
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["kind"]=="WVAPlan" and d["version"]==1 and d["mode"]=="replay"; v=d["variants"]; assert v==sorted(v,key=lambda x:(x["namespace"],x["name"]))' "$tmp/out"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL demo-json: plan is not a sorted WVAPlan" >&2
fi
# Replays ignore the environment: the same plan whatever WATCH_NAMESPACE says.
cp "$tmp/out" "$tmp/plan1"
check env-ignored 0 env WATCH_NAMESPACE=nowhere "$bin" --from-file "$top/examples/demo-snapshot.json" --output json
if diff <(grep -v '"seconds"' "$tmp/plan1") <(grep -v '"seconds"' "$tmp/out") >/dev/null; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL env-ignored: plan changed with WATCH_NAMESPACE in the environment" >&2
fi
# A flag does apply in a replay.
check flag-watch 0 "$bin" --from-file "$top/examples/demo-snapshot.json" --output json --watch-namespace nowhere
contains flag-watch "$tmp/out" "OutsideWatchNamespace"

# History: a replay is recorded; its export replays to the same plan.
check history-record 0 "$bin" --from-file "$top/examples/demo-snapshot.json" --output json --history "sqlite:$tmp/h.db"
cp "$tmp/out" "$tmp/recorded"
check history-runs 0 "$bin" history runs --history "$tmp/h.db" --output json
contains history-runs "$tmp/out" '"replay"'
check history-export 0 "$bin" history export last --history "$tmp/h.db"
cp "$tmp/out" "$tmp/exported.json"
check history-replay 0 "$bin" --from-file "$tmp/exported.json" --output json
if diff <(grep -v '"seconds"' "$tmp/recorded") <(grep -v '"seconds"' "$tmp/out") >/dev/null; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL history-replay: the exported snapshot does not replay to the recorded plan" >&2
fi
check history-unknown-run 2 "$bin" history show 99 --history "$tmp/h.db"
contains history-unknown-run "$tmp/err" "no run 99"
check history-bad-dsn 2 "$bin" --from-file "$top/examples/demo-snapshot.json" --history "postgres://u:secret@db/wva"
if grep -q secret "$tmp/err"; then
    failed=$((failed + 1)); echo "FAIL history-bad-dsn: the DSN's password was printed" >&2
else
    passed=$((passed + 1))
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
