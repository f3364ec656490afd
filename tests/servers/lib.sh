# shellcheck shell=bash
# Helpers for wva-optimizer integration tests: start the fake Kubernetes API server,
# the fake vLLM exporter and a real Prometheus on 127.0.0.1, and stop them all.
# Source it from a bash test script:
#
#   . "$top_srcdir/tests/servers/lib.sh"
#   trap stop_all EXIT
#   dir=$(mktemp -d)
#   start_kubeapi "$dir/kube" --init "$top_srcdir/tests/fixtures/x.json" --sync-deployment-status
#   start_exporter "$dir/exporter"
#   start_prometheus "$dir/prom" "$EXPORTER_PORT"
#   exporter_set '{"pods":[{"namespace":"ns","pod":"p","model_name":"m","kv":0.5,"queue":1}]}'
#   wait_for_scrape 2
#   wva-optimizer --once --kubeconfig "$KUBEAPI_KUBECONFIG" --prometheus-url "$PROMETHEUS_URL"
#   kubeapi_admin GET /log | jq '.entries[] | select(.verb=="patch")'
#
# Variables set: KUBEAPI_URL KUBEAPI_PORT KUBEAPI_ADMIN_URL KUBEAPI_ADMIN_PORT KUBEAPI_TOKEN
# KUBEAPI_CA KUBEAPI_KUBECONFIG KUBEAPI_KUBECONFIG_CERT KUBEAPI_KUBECONFIG_TOKENFILE
# KUBEAPI_READY (ready file), EXPORTER_PORT EXPORTER_URL, PROMETHEUS_PORT PROMETHEUS_URL.
# Nothing here ever binds anything but 127.0.0.1.

WVA_SERVERS_DIR=${WVA_SERVERS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
WVA_SERVER_PIDS=()
WVA_PROMETHEUS_DIRS=()

# free_port: prints a TCP port that was free on 127.0.0.1 a moment ago.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT [TIMEOUT_SECONDS=10]: returns 0 once 127.0.0.1:PORT accepts connections.
wait_for_port() {
    local port=$1 timeout=${2:-10} deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS <= deadline)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "wait_for_port: 127.0.0.1:$port not open after ${timeout}s" >&2
    return 1
}

# wait_for_file FILE [TIMEOUT_SECONDS=20] [PID]: waits for FILE; fails early if PID died.
wait_for_file() {
    local file=$1 timeout=${2:-20} pid=${3:-} deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS <= deadline)); do
        [[ -s $file ]] && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            echo "wait_for_file: process $pid exited before writing $file" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "wait_for_file: $file not written after ${timeout}s" >&2
    return 1
}

# json_field FILE KEY: prints one top-level field of a JSON file.
json_field() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# start_kubeapi STATE_DIR [kubeapi.py options...]: starts the fake API server.
start_kubeapi() {
    local dir=$1 pid ready
    shift
    mkdir -p "$dir"
    ready="$dir/kubeapi.ready.json"
    rm -f "$ready"
    python3 "$WVA_SERVERS_DIR/kubeapi.py" --state-dir "$dir" --ready-file "$ready" "$@" \
        >"$dir/kubeapi.out" 2>"$dir/kubeapi.err" </dev/null &
    pid=$!
    WVA_SERVER_PIDS+=("$pid")
    if ! wait_for_file "$ready" 60 "$pid"; then
        cat "$dir/kubeapi.err" >&2
        return 1
    fi
    KUBEAPI_READY=$ready
    KUBEAPI_PID=$pid
    KUBEAPI_PORT=$(json_field "$ready" port)
    KUBEAPI_URL=$(json_field "$ready" url)
    KUBEAPI_ADMIN_PORT=$(json_field "$ready" admin_port)
    KUBEAPI_ADMIN_URL=$(json_field "$ready" admin_url)
    KUBEAPI_TOKEN=$(json_field "$ready" token)
    KUBEAPI_CA=$(json_field "$ready" ca)
    KUBEAPI_KUBECONFIG=$(json_field "$ready" kubeconfig)
    KUBEAPI_KUBECONFIG_CERT=$(json_field "$ready" kubeconfig_cert)
    KUBEAPI_KUBECONFIG_TOKENFILE=$(json_field "$ready" kubeconfig_tokenfile)
    export KUBEAPI_READY KUBEAPI_PID KUBEAPI_PORT KUBEAPI_URL KUBEAPI_ADMIN_PORT \
        KUBEAPI_ADMIN_URL KUBEAPI_TOKEN KUBEAPI_CA KUBEAPI_KUBECONFIG \
        KUBEAPI_KUBECONFIG_CERT KUBEAPI_KUBECONFIG_TOKENFILE
}

# kubeapi_admin METHOD PATH [JSON | @FILE]: calls the admin port, prints the JSON answer;
# fails on a non-2xx answer. E.g. kubeapi_admin PUT /faults '[{"kind":"drop","path":"/scale$"}]'
kubeapi_admin() {
    local method=$1 path=$2 data=${3:-}
    if [[ -n $data ]]; then
        curl -fsS -X "$method" -H 'Content-Type: application/json' --data-binary "$data" \
            "$KUBEAPI_ADMIN_URL$path"
    else
        curl -fsS -X "$method" "$KUBEAPI_ADMIN_URL$path"
    fi
}

# start_exporter STATE_DIR [vllm_exporter.py options...]: starts the fake vLLM exporter.
start_exporter() {
    local dir=$1 pid ready
    shift
    mkdir -p "$dir"
    ready="$dir/exporter.ready.json"
    rm -f "$ready"
    python3 "$WVA_SERVERS_DIR/vllm_exporter.py" --ready-file "$ready" "$@" \
        >"$dir/exporter.out" 2>"$dir/exporter.err" </dev/null &
    pid=$!
    WVA_SERVER_PIDS+=("$pid")
    if ! wait_for_file "$ready" 20 "$pid"; then
        cat "$dir/exporter.err" >&2
        return 1
    fi
    EXPORTER_PID=$pid
    EXPORTER_PORT=$(json_field "$ready" port)
    EXPORTER_URL=$(json_field "$ready" url)
    export EXPORTER_PID EXPORTER_PORT EXPORTER_URL
}

# exporter_set JSON [PUT|PATCH]: sets the exporter's values (PUT replaces everything).
exporter_set() {
    curl -fsS -X "${2:-PUT}" -H 'Content-Type: application/json' --data-binary "$1" \
        "$EXPORTER_URL/control" >/dev/null
}

# wait_for_scrape [N=2] [TIMEOUT=15]: waits until the exporter was scraped N more times,
# so values set before the call are in Prometheus.
wait_for_scrape() {
    local n=${1:-2} timeout=${2:-15} start now deadline
    start=$(curl -fsS "$EXPORTER_URL/scrapes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
    deadline=$((SECONDS + timeout))
    while ((SECONDS <= deadline)); do
        now=$(curl -fsS "$EXPORTER_URL/scrapes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
        ((now - start >= n)) && return 0
        sleep 0.1
    done
    echo "wait_for_scrape: fewer than $n scrapes in ${timeout}s" >&2
    return 1
}

# start_prometheus STATE_DIR EXPORTER_PORT[,PORT...]: starts a real Prometheus.
start_prometheus() {
    local dir=$1
    WVA_PROMETHEUS_DIRS+=("$dir")
    PROMETHEUS_PORT=$("$WVA_SERVERS_DIR/prometheus.sh" start "$dir" "$2") || return 1
    PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT"
    export PROMETHEUS_PORT PROMETHEUS_URL
}

# prom_query PROMQL: prints the JSON answer of an instant query.
prom_query() {
    curl -fsS --get --data-urlencode "query=$1" "$PROMETHEUS_URL/api/v1/query"
}

# stop_all: stops everything started above (SIGTERM, then SIGKILL after 5 s). Safe to call
# twice and from an EXIT trap; keeps the caller's exit status.
stop_all() {
    local rc=$? pid dir
    for dir in "${WVA_PROMETHEUS_DIRS[@]}"; do
        "$WVA_SERVERS_DIR/prometheus.sh" stop "$dir" || true
    done
    WVA_PROMETHEUS_DIRS=()
    for pid in "${WVA_SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${WVA_SERVER_PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    WVA_SERVER_PIDS=()
    return "$rc"
}
