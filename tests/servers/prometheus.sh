#!/usr/bin/env bash
# Starts and stops a REAL Prometheus (Debian's /usr/bin/prometheus, run directly, never
# through systemd) for wva-optimizer integration tests: 127.0.0.1 only, its own data dir
# under STATE_DIR, a generated config scraping the fake exporter(s) every second with
# honor_labels, so the namespace/pod/model_name labels the exporter writes are kept.
#
#   prometheus.sh start STATE_DIR EXPORTER_PORT[,PORT...] [PORT]
#       prints the port once Prometheus is ready and has scraped every exporter once
#   prometheus.sh stop STATE_DIR
#
# Files in STATE_DIR: prometheus.yml, data/, prometheus.pid, prometheus.port,
# prometheus.log.
set -euo pipefail

PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}
START_TIMEOUT=${PROMETHEUS_START_TIMEOUT:-30}

die() { echo "prometheus.sh: $*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

http_get() { # URL -> body on stdout, non-zero on failure
    curl -fsS --max-time 2 "$1"
}

write_config() { # STATE_DIR EXPORTER_PORTS
    local targets="" p
    IFS=',' read -r -a ports <<<"$2"
    for p in "${ports[@]}"; do
        [[ $p =~ ^[0-9]+$ ]] || die "bad exporter port '$p'"
        targets+="'127.0.0.1:$p', "
    done
    cat >"$1/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vllm
    honor_labels: true
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: /metrics
    static_configs:
      - targets: [${targets%, }]
EOF
    echo "${#ports[@]}"
}

stop() {
    local dir=$1 pid
    [[ -f $dir/prometheus.pid ]] || return 0
    pid=$(cat "$dir/prometheus.pid")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$dir/prometheus.pid" "$dir/prometheus.port"
}

start() {
    local dir=$1 exporters=$2 want_port=${3:-} port pid ntargets deadline up
    [[ -x $PROMETHEUS_BIN ]] || die "$PROMETHEUS_BIN not found (Debian package prometheus)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    stop "$dir"
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    ntargets=$(write_config "$dir" "$exporters")
    for _ in 1 2 3; do
        port=${want_port:-$(free_port)}
        "$PROMETHEUS_BIN" \
            --config.file="$dir/prometheus.yml" \
            --storage.tsdb.path="$dir/data" \
            --storage.tsdb.retention.time=2h \
            --web.listen-address="127.0.0.1:$port" \
            --web.enable-lifecycle \
            --log.level=warn \
            >>"$dir/prometheus.log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$dir/prometheus.pid"
        echo "$port" >"$dir/prometheus.port"
        deadline=$((SECONDS + START_TIMEOUT))
        while ((SECONDS < deadline)); do
            kill -0 "$pid" 2>/dev/null || break
            if http_get "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
                break
            fi
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            break
        fi
        # Died (port taken by a racing process, most likely): try another port.
        [[ -z $want_port ]] || die "prometheus exited; see $dir/prometheus.log"
    done
    kill -0 "$pid" 2>/dev/null || die "prometheus did not start; see $dir/prometheus.log"
    http_get "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 ||
        { stop "$dir"; die "prometheus not ready after ${START_TIMEOUT}s; see $dir/prometheus.log"; }
    # Ready is not enough: wait until every exporter target has been scraped successfully.
    while ((SECONDS < deadline)); do
        up=$(http_get "http://127.0.0.1:$port/api/v1/query?query=sum(up%7Bjob%3D%22vllm%22%7D)" 2>/dev/null |
            python3 -c 'import json,sys
try:
    r=json.load(sys.stdin)["data"]["result"]
    print(int(float(r[0]["value"][1])) if r else 0)
except Exception:
    print(0)' || echo 0)
        if [[ $up == "$ntargets" ]]; then
            echo "$port"
            return 0
        fi
        sleep 0.2
    done
    stop "$dir"
    die "prometheus never scraped the exporter(s) $exporters; see $dir/prometheus.log"
}

case ${1:-} in
start)
    [[ $# -ge 3 ]] || die "usage: prometheus.sh start STATE_DIR EXPORTER_PORT[,PORT...] [PORT]"
    start "$2" "$3" "${4:-}"
    ;;
stop)
    [[ $# -ge 2 ]] || die "usage: prometheus.sh stop STATE_DIR"
    stop "$2"
    ;;
*)
    die "usage: prometheus.sh start STATE_DIR EXPORTER_PORT[,PORT...] [PORT] | stop STATE_DIR"
    ;;
esac
