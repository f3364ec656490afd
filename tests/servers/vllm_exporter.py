#!/usr/bin/env python3
"""A fake vLLM/gateway metrics exporter for wva-optimizer integration tests.

Serves /metrics in the Prometheus text exposition format (0.0.4) with the
series wva-optimizer reads (vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc,
vllm:num_requests_waiting, vllm:num_requests_running, vllm:cache_config_info,
vllm:request_success_total, inference_extension_flow_control_queue_size) plus any
custom series. Each sample carries namespace/pod/model_name labels itself, so a
Prometheus scraping with honor_labels: true stores them as if they came from many
pods. The values are whatever the test sets through /control; nothing is invented.
Python 3 standard library only.

Start:  python3 vllm_exporter.py [--port 0] [--state-dir DIR] [--ready-file F]
                                 [--init control.json]
Control (JSON):
  PUT   /control   replace the whole state {"pods":[...],"gateway":[...],"custom":[...]}
  PATCH /control   replace only the top-level keys given
  GET   /control   the state, the scrape count and the last scrape time
  GET   /scrapes   {"count": N, "last": unix_time}
A pod entry: {"namespace","pod","model_name", "kv", "gpu_cache", "queue", "running",
  "num_gpu_blocks", "block_size", "success_total", "labels": {...extra}}; a series is
  only exported when its field is present (absent = no series, as in a missing metric).
A gateway entry: {"target_model_name", "value", "namespace"?, "labels"?}.
A custom entry: {"name", "value", "labels": {...}, "type": "gauge|counter", "help"?}.
Values are numbers or the strings "NaN", "+Inf", "-Inf".
"""

import argparse
import json
import math
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

POD_SERIES = [
    # field, metric, type, help
    ("kv", "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage."),
    ("gpu_cache", "vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage (older vLLM)."),
    ("queue", "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed."),
    ("running", "vllm:num_requests_running", "gauge", "Number of requests in model execution."),
    ("success_total", "vllm:request_success_total", "counter",
     "Count of successfully processed requests."),
]


def parse_value(v, where):
    if isinstance(v, bool) or v is None:
        raise ValueError("%s: value must be a number or NaN/+Inf/-Inf, got %r" % (where, v))
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        if s in ("NaN", "nan"):
            return math.nan
        if s in ("+Inf", "Inf", "inf", "+inf"):
            return math.inf
        if s in ("-Inf", "-inf"):
            return -math.inf
        return float(s)
    raise ValueError("%s: value must be a number, got %r" % (where, v))


def fmt_value(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def esc(v):
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def fmt_labels(labels):
    if not labels:
        return ""
    return "{" + ",".join('%s="%s"' % (k, esc(v)) for k, v in labels.items()) + "}"


def check_labels(labels, where):
    if not isinstance(labels, dict):
        raise ValueError("%s: labels must be an object" % where)
    for k in labels:
        if not LABEL_RE.match(k) or k.startswith("__"):
            raise ValueError("%s: invalid label name %r" % (where, k))
    return {k: str(v) for k, v in labels.items()}


def validate(state):
    """Checks a control document; returns it normalised (raises ValueError)."""
    if not isinstance(state, dict):
        raise ValueError("control body must be a JSON object")
    out = {}
    for key in ("pods", "gateway", "custom"):
        if key not in state:
            continue
        if not isinstance(state[key], list):
            raise ValueError("%s must be a list" % key)
        out[key] = []
        for i, e in enumerate(state[key]):
            where = "%s[%d]" % (key, i)
            if not isinstance(e, dict):
                raise ValueError("%s must be an object" % where)
            e = dict(e)
            if "labels" in e:
                e["labels"] = check_labels(e["labels"], where)
            if key == "pods":
                for f in ("namespace", "pod", "model_name"):
                    if not isinstance(e.get(f), str) or not e[f]:
                        raise ValueError("%s.%s must be a non-empty string" % (where, f))
                for f, _, _, _ in POD_SERIES:
                    if e.get(f) is not None:
                        e[f] = parse_value(e[f], "%s.%s" % (where, f))
                for f in ("num_gpu_blocks", "block_size"):
                    if e.get(f) is not None and not isinstance(e[f], (int, str)):
                        raise ValueError("%s.%s must be an integer" % (where, f))
            elif key == "gateway":
                if not isinstance(e.get("target_model_name"), str):
                    raise ValueError("%s.target_model_name must be a string" % where)
                e["value"] = parse_value(e.get("value"), where + ".value")
            else:
                if not isinstance(e.get("name"), str) or not NAME_RE.match(e["name"]):
                    raise ValueError("%s.name must be a metric name" % where)
                e["value"] = parse_value(e.get("value"), where + ".value")
                if e.get("type", "gauge") not in ("gauge", "counter", "untyped"):
                    raise ValueError("%s.type must be gauge, counter or untyped" % where)
            out[key].append(e)
    unknown = set(state) - {"pods", "gateway", "custom"}
    if unknown:
        raise ValueError("unknown control keys: %s" % ", ".join(sorted(unknown)))
    return out


def render(state):
    families = {}   # name -> (type, help, [lines])

    def add(name, typ, hlp, labels, value):
        fam = families.setdefault(name, (typ, hlp, []))
        fam[2].append("%s%s %s" % (name, fmt_labels(labels), fmt_value(value)))

    for p in state.get("pods", []):
        base = {"namespace": p["namespace"], "pod": p["pod"], "model_name": p["model_name"]}
        base.update(p.get("labels") or {})
        for field, metric, typ, hlp in POD_SERIES:
            if p.get(field) is not None:
                labels = dict(base)
                if field == "success_total":
                    labels.setdefault("finished_reason", "stop")
                add(metric, typ, hlp, labels, p[field])
        if p.get("num_gpu_blocks") is not None or p.get("block_size") is not None:
            labels = dict(base)
            if p.get("num_gpu_blocks") is not None:
                labels["num_gpu_blocks"] = str(p["num_gpu_blocks"])
            if p.get("block_size") is not None:
                labels["block_size"] = str(p["block_size"])
            labels.setdefault("cache_dtype", "auto")
            add("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig",
                labels, 1)
    for g in state.get("gateway", []):
        labels = {"target_model_name": g["target_model_name"]}
        for f in ("namespace", "pod", "model_name"):
            if isinstance(g.get(f), str):
                labels[f] = g[f]
        labels.update(g.get("labels") or {})
        add("inference_extension_flow_control_queue_size", "gauge",
            "Current number of requests in the flow control queue", labels, g["value"])
    for c in state.get("custom", []):
        add(c["name"], c.get("type", "gauge"), c.get("help") or "custom test series",
            c.get("labels") or {}, c["value"])
    out = []
    for name, (typ, hlp, lines) in families.items():
        out.append("# HELP %s %s" % (name, hlp))
        out.append("# TYPE %s %s" % (name, typ))
        out.extend(lines)
    return "\n".join(out) + "\n"


def to_json_state(state):
    """The state with NaN/Inf as strings so the control answer stays strict JSON."""
    def conv(v):
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return fmt_value(v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return conv(state)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vllm-exporter-test/1.0"
    timeout = 60
    disable_nagle_algorithm = True   # no 40 ms delayed-ACK stalls on keep-alive

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("exporter %s\n" % (fmt % args))

    def reply(self, code, body, ctype="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        path = self.path.split("?")[0]
        if path == "/metrics":
            with srv.lock:
                text = render(srv.state)
                srv.scrapes += 1
                srv.last_scrape = time.time()
            self.reply(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/control":
            with srv.lock:
                self.reply(200, {"state": to_json_state(srv.state), "scrapes": srv.scrapes,
                                 "last_scrape": srv.last_scrape})
        elif path == "/scrapes":
            with srv.lock:
                self.reply(200, {"count": srv.scrapes, "last": srv.last_scrape})
        elif path in ("/", "/healthz"):
            self.reply(200, {"ok": True})
        else:
            self.reply(404, {"error": "not found: " + path})

    do_HEAD = do_GET

    def do_PUT(self):
        srv = self.server
        path = self.path.split("?")[0]
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if path != "/control":
            self.reply(404, {"error": "not found: " + path})
            return
        try:
            new = validate(json.loads(raw.decode("utf-8") or "null"))
        except (ValueError, UnicodeDecodeError) as e:
            self.reply(400, {"error": str(e)})
            return
        with srv.lock:
            if self.command == "PUT":
                srv.state = {"pods": [], "gateway": [], "custom": []}
            srv.state.update(new)
            state = to_json_state(srv.state)
        self.reply(200, {"state": state})

    do_PATCH = do_POST = do_PUT


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, verbose):
        self.lock = threading.Lock()
        self.state = {"pods": [], "gateway": [], "custom": []}
        self.scrapes = 0
        self.last_scrape = None
        self.verbose = verbose
        super().__init__(addr, Handler)


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake vLLM metrics exporter")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state-dir", default=None)
    ap.add_argument("--ready-file", default=None)
    ap.add_argument("--init", default=None, help="JSON control document to start with")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    srv = Server(("127.0.0.1", args.port), args.verbose)
    if args.init:
        with open(args.init) as f:
            srv.state.update(validate(json.load(f)))
    port = srv.server_address[1]
    ready_file = args.ready_file
    if ready_file is None and args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
        ready_file = os.path.join(args.state_dir, "exporter.ready.json")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda s, f: stop.set())
    signal.signal(signal.SIGINT, lambda s, f: stop.set())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    info = {"pid": os.getpid(), "port": port, "url": "http://127.0.0.1:%d" % port,
            "metrics_url": "http://127.0.0.1:%d/metrics" % port,
            "control_url": "http://127.0.0.1:%d/control" % port}
    if ready_file:
        tmp = ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, ready_file)
    print(json.dumps({"port": port, "ready_file": ready_file}), flush=True)
    while not stop.wait(0.5):
        pass
    srv.shutdown()
    srv.server_close()
    if ready_file:
        try:
            os.unlink(ready_file)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
