#!/usr/bin/env python3
"""bench_live.py - the live-path half of `scripts/bench.sh --live` (run that).

For each size N: a Kubernetes API test server (tests/servers/kubeapi.py)
holding N VAs over 100 namespaces, each with its Deployment, ReplicaSet and
3 pods (kubeapi.py's own synthetic cluster, spread over the namespaces),
vLLM exporters (tests/servers/vllm_exporter.py, sharded so each renders
quickly) serving a steady load for every pod, and a real Prometheus
(tests/servers/prometheus.sh) scraping them.  Then

  1. one first run `wva-optimizer --once` (it may write: VA status),
  2. R steady-state runs, each measured: wall time, CPU time and peak RSS
     from the child's own rusage (os.wait4 in bench.py's launcher, so the
     driver's size does not leak into ru_maxrss), a breakdown of the wall
     time by phase (request log times), requests by verb from the API server's
     request log (admin DELETE /log before, GET /log after), Prometheus
     queries from Prometheus's own prometheus_http_requests_total,
  3. one run with --snapshot-out, whose file is compared in size with the
     API server's full dump (admin GET /dump) and replayed with --from-file:
     the replay must give every variant the same target as the live run,
  4. (informational, --no-refresh-run skips it) one run made once every VA
     status is 5 intervals old, with GLOBAL_OPT_INTERVAL=2s: SPEC section 7
     has it rewrite every status although nothing changed.

The load (kv 0.65, queue 1 on every pod, default thresholds) makes every
model "hold": not shouldScaleUp (spare kv 0.15 >= 0.10) and not
scaleDownSafe (the load of 3 or 6 replicas over one fewer leaves < 0.10
spare kv), so after the first run there is nothing to change.

Checks (exit 1 when one fails): no write requests in steady state other than
the run Lease (SPEC section 3: every writing run takes and releases it);
at 10,000 VAs and above, peak RSS < 200 MB and median wall < 10 s; GETs and
lists the same at every size with the same namespace count (reads grow with
namespaces, not VAs or pods); the replay agrees with the live plan.
Python 3 standard library only.
"""

import argparse
import calendar
import collections
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
SERVERS = os.path.join(TOP, "tests", "servers")
sys.path.insert(0, HERE)
sys.path.insert(0, SERVERS)
import bench  # noqa: E402  (machine_lines, fmt_row)
import kubeapi  # noqa: E402  (synthetic_state)

KV_LOAD = 0.65          # see the module comment: every model holds
QUEUE_LOAD = 1
GPU_BLOCKS = 4096
BLOCK_SIZE = 16
PODS_PER_SHARD = 2500   # one exporter renders ~2,500 pods in ~40 ms
RSS_BUDGET_MB = 200.0
WALL_BUDGET_S = 10.0
BUDGET_FROM_VAS = 10000
REFRESH_INTERVAL_S = 2
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
HANDLER_RE = re.compile(r'handler="([^"]*)"')
VERBS = ("get", "list", "patch", "create", "update", "delete")


class BenchError(Exception):
    pass


def log(msg):
    print("bench-live: " + msg, file=sys.stderr, flush=True)


def http(method, url, body=None, timeout=120, raw=False):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
    except (urllib.error.URLError, OSError) as e:
        raise BenchError("%s %s: %s" % (method, url, e))
    if raw:
        return text
    return json.loads(text) if text else None


def wait_ready_file(path, procs, what, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            try:
                with open(path) as f:
                    return json.load(f)
            except ValueError:
                pass
        for p in procs:
            if p.poll() is not None:
                raise BenchError("%s exited early with %d" % (what, p.returncode))
        time.sleep(0.05)
    raise BenchError("%s not ready after %d s" % (what, timeout))


def cpu_seconds(pid):
    """utime + stime of a process, from /proc (0 when unreadable)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


# --------------------------------------------------------------------------
# The cluster and its metrics
# --------------------------------------------------------------------------

def make_cluster(vas, namespaces):
    """kubeapi.py's synthetic cluster with `vas` VAs spread over `namespaces`
    namespaces, and the exporter pod entries for its pods."""
    per_ns = max(1, math.ceil(vas / namespaces))
    state = kubeapi.synthetic_state(vas, per_ns=per_ns)
    model_of = {va["metadata"]["name"]: va["spec"]["modelID"]
                for va in state["variantAutoscalings"]}
    pods = []
    for pod in state["pods"]:
        md = pod["metadata"]
        # synthetic pods carry app=<Deployment name> = the VA's name.
        model = model_of[md["labels"]["app"]]
        pods.append({"namespace": md["namespace"], "pod": md["name"], "model_name": model,
                     "kv": KV_LOAD, "queue": QUEUE_LOAD, "num_gpu_blocks": GPU_BLOCKS,
                     "block_size": BLOCK_SIZE})
    nns = len({va["metadata"]["namespace"] for va in state["variantAutoscalings"]})
    return state, pods, nns


class Servers:
    """kubeapi.py, sharded vllm_exporter.py and a real Prometheus for one size."""

    def __init__(self, workdir, state, pods, scrape_interval):
        self.dir = workdir
        self.scrape_interval = scrape_interval
        self.procs = []
        self.files = []
        self.prom_dir = os.path.join(workdir, "prom")
        self.prom_started = False
        try:
            self._start(state, pods)
        except BaseException:
            self.stop()
            raise

    def _errlog(self, directory):
        f = open(os.path.join(directory, "stderr.log"), "w")
        self.files.append(f)
        return f

    def _start(self, state, pods):
        kdir = os.path.join(self.dir, "kube")
        os.makedirs(kdir)
        init = os.path.join(kdir, "init.json")
        with open(init, "w") as f:
            json.dump(state, f, separators=(",", ":"))
        ready = os.path.join(kdir, "ready.json")
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, os.path.join(SERVERS, "kubeapi.py"),
                              "--state-dir", kdir, "--ready-file", ready, "--init", init],
                             stdout=subprocess.DEVNULL, stderr=self._errlog(kdir),
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        self.kube_proc = p
        self.kube = wait_ready_file(ready, [p], "kubeapi.py (see %s)" % kdir)
        log("kubeapi.py ready in %.1f s" % (time.perf_counter() - t0))

        self.exporters = []
        nshards = max(1, math.ceil(len(pods) / PODS_PER_SHARD))
        for k in range(nshards):
            edir = os.path.join(self.dir, "exporter-%d" % k)
            os.makedirs(edir)
            control = os.path.join(edir, "control.json")
            with open(control, "w") as f:
                json.dump({"pods": pods[k::nshards]}, f, separators=(",", ":"))
            eready = os.path.join(edir, "ready.json")
            ep = subprocess.Popen([sys.executable, os.path.join(SERVERS, "vllm_exporter.py"),
                                   "--state-dir", edir, "--ready-file", eready,
                                   "--init", control],
                                  stdout=subprocess.DEVNULL, stderr=self._errlog(edir),
                                  stdin=subprocess.DEVNULL)
            self.procs.append(ep)
            self.exporters.append((ep, eready))
        self.exporters = [(ep, wait_ready_file(er, [ep], "vllm_exporter.py"))
                          for ep, er in self.exporters]
        ports = ",".join(str(info["port"]) for _, info in self.exporters)
        self.prom_started = True
        out = subprocess.run(["bash", os.path.join(SERVERS, "prometheus.sh"), "start",
                              self.prom_dir, ports],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=180)
        if out.returncode != 0:
            raise BenchError("prometheus did not start: " + out.stderr[-2000:])
        self.prom_url = "http://127.0.0.1:%s" % out.stdout.strip().splitlines()[-1]
        with open(os.path.join(self.prom_dir, "prometheus.pid")) as f:
            self.prom_pid = int(f.read().strip())
        if self.scrape_interval != 1:
            self.set_scrape_interval(self.scrape_interval)
        log("Prometheus %s scraping %d exporter(s), %d pods, every %g s" % (
            self.prom_url, len(self.exporters), len(pods), self.scrape_interval))
        self.wait_scrapes(2)
        self.wait_fresh(len(pods))

    def set_scrape_interval(self, seconds):
        """prometheus.sh scrapes every second; at 30,000 pods that keeps most
        of a CPU busy (exporters rendering, Prometheus ingesting) beside the
        runs being measured.  Its config is rewritten and reloaded through
        the lifecycle API it enables (/-/reload)."""
        path = os.path.join(self.prom_dir, "prometheus.yml")
        with open(path) as f:
            text = f.read()
        for key in ("scrape_interval", "evaluation_interval", "scrape_timeout"):
            val = min(seconds, 10) if key == "scrape_timeout" else seconds
            text = re.sub(r"(\b%s: )1s\b" % key, r"\g<1>%gs" % val, text)
        with open(path, "w") as f:
            f.write(text)
        http("POST", self.prom_url + "/-/reload")
        # The reload swaps the scrape loops asynchronously, and the old loops
        # write staleness markers a couple of intervals later that hide every
        # series until the new loops scrape again (seen 5-7 s after a reload
        # to 5 s).  Queries that keep only fresh series would then find no
        # metrics at all: wait that out before anything is measured.
        time.sleep(2 * seconds + 2)

    def wait_fresh(self, npods, timeout=60):
        """Every target up and every pod's KV series fresh, as the runs need."""
        want = {"count(up == 1)": len(self.exporters),
                "count(vllm:kv_cache_usage_perc)": npods}
        deadline = time.time() + timeout
        while True:
            got = {}
            for q in want:
                r = http("GET", self.prom_url + "/api/v1/query?query="
                         + urllib.parse.quote(q))["data"]["result"]
                got[q] = int(float(r[0]["value"][1])) if r else 0
            if got == want:
                return
            if time.time() > deadline:
                raise BenchError("Prometheus series not all fresh: want %s, got %s"
                                 % (want, got))
            time.sleep(0.5)

    def wait_scrapes(self, n):
        """Every exporter scraped n more times: Prometheus has the values."""
        timeout = 30 + 3 * n * self.scrape_interval
        start = [http("GET", info["url"] + "/scrapes")["count"] for _, info in self.exporters]
        deadline = time.time() + timeout
        for (_, info), c0 in zip(self.exporters, start):
            while http("GET", info["url"] + "/scrapes")["count"] < c0 + n:
                if time.time() > deadline:
                    raise BenchError("Prometheus stopped scraping %s" % info["url"])
                time.sleep(0.2)
        time.sleep(0.3)     # ingestion follows the scrape closely

    def admin(self, method, path, body=None, raw=False):
        return http(method, self.kube["admin_url"] + path, body, raw=raw)

    def prom_requests(self):
        """Prometheus's own prometheus_http_requests_total (summed over codes)
        and prometheus_http_request_duration_seconds_sum, by /api/v1 handler."""
        text = http("GET", self.prom_url + "/metrics", raw=True).decode("utf-8", "replace")
        count, seconds = collections.Counter(), collections.Counter()
        for line in text.splitlines():
            if line.startswith("prometheus_http_requests_total{"):
                into = count
            elif line.startswith("prometheus_http_request_duration_seconds_sum{"):
                into = seconds
            else:
                continue
            m = HANDLER_RE.search(line)
            if m and m.group(1).startswith("/api/v1/"):
                into[m.group(1)] += float(line.rpartition(" ")[2])
        return count, seconds

    def background_pids(self):
        return [ep.pid for ep, _ in self.exporters] + [self.prom_pid]

    def stop(self):
        if self.prom_started:
            subprocess.run(["bash", os.path.join(SERVERS, "prometheus.sh"), "stop",
                            self.prom_dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self.files:
            f.close()


# --------------------------------------------------------------------------
# Running wva-optimizer
# --------------------------------------------------------------------------

def run_wva(args, srv, extra, out_path, timeout, env_extra=None):
    """Run wva-optimizer against the servers through the launcher (its own
    rusage: see bench.py); stdout goes to out_path."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": srv.dir,
           "KUBECONFIG": srv.kube["kubeconfig"],
           "PROMETHEUS_BASE_URL": srv.prom_url}
    if args.limited:
        env["WVA_LIMITED_MODE"] = "true"
    env.update(env_extra or {})
    cmd = [args.bin] + extra
    err_path = out_path + ".stderr"
    r = args.launcher.run(cmd, out_path, err_path, timeout, env)
    with open(err_path, "rb") as f:
        stderr_text = f.read().decode("utf-8", "replace")
    if r["timed_out"]:
        raise BenchError("%s timed out after %d s" % (" ".join(cmd), timeout))
    if r["rc"] != 0:
        tail = "\n".join(stderr_text.splitlines()[-15:])
        raise BenchError("%s exited with %d:\n%s" % (" ".join(cmd), r["rc"], tail))
    return r, stderr_text


def read_plan(path):
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except (OSError, ValueError) as e:
        raise BenchError("stdout is not a JSON plan: %s" % e)
    if not isinstance(plan, dict) or plan.get("kind") != "WVAPlan":
        raise BenchError("stdout JSON is not a WVAPlan")
    return plan


def plan_actions(plan):
    return collections.Counter(v.get("action", "?") for v in plan.get("variants") or [])


def plan_skips(plan):
    return collections.Counter(v.get("skipReason") for v in plan.get("variants") or []
                               if v.get("skipReason"))


def plan_targets(plan):
    return {(v.get("namespace"), v.get("name")): v.get("targetReplicas")
            for v in plan.get("variants") or []}


def log_time(entry):
    """An entry's RFC 3339 (ms) time as epoch seconds."""
    t = entry["time"]
    base, _, frac = t.rstrip("Z").partition(".")
    return (calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
            + (float("0." + frac) if frac else 0.0))


def run_phases(entries, started):
    """Where a run's wall time went, from the request log's times: start-up
    (process start to its first request), cluster read (to the end of the
    last non-Lease read), then metrics + plan + apply (to the end of the
    last request, the Lease release)."""
    if not entries:
        return None
    first = log_time(entries[0])
    reads = [e for e in entries if e.get("verb") in ("get", "list")
             and e.get("resource") != "leases"]
    read_end = max(log_time(e) + (e.get("duration_ms") or 0) / 1000.0 for e in reads) \
        if reads else first
    last = entries[-1]
    end = log_time(last) + (last.get("duration_ms") or 0) / 1000.0
    return {"startup": first - started, "cluster_read": read_end - first,
            "after_read": end - read_end}


def summarize_log(entries):
    """Request counts of one run from the API server's request log."""
    s = {"verbs": collections.Counter(), "lists": 0, "writes": collections.Counter(),
         "lease_writes": 0, "status": collections.Counter(), "total": len(entries),
         "server_ms": 0.0}
    for e in entries:
        verb = e.get("verb") or "?"
        s["verbs"][verb] += 1
        s["status"][e.get("status")] += 1
        s["server_ms"] += e.get("duration_ms") or 0.0
        if verb == "list" and "continue=" not in (e.get("query") or ""):
            s["lists"] += 1
        if verb in WRITE_VERBS:
            res = e.get("resource") or "?"
            if e.get("subresource"):
                res += "/" + e["subresource"]
            if res == "leases":
                s["lease_writes"] += 1
            else:
                s["writes"]["%s %s" % (verb, res)] += 1
    return s


def k8s_part_sizes(snap_path, dump):
    """Compact JSON bytes of the Kubernetes lists (SPEC section 8 keys) in the
    --snapshot-out file and in the API server's dump: like for like, since
    the dump has no metrics but extra kinds (ReplicaSets, Leases, Events)."""
    keys = ("namespaces", "variantAutoscalings", "deployments", "pods", "configMaps", "nodes")

    def size(doc):
        return sum(len(json.dumps(doc[k], separators=(",", ":")))
                   for k in keys if isinstance(doc, dict) and k in doc)
    with open(snap_path, encoding="utf-8") as f:
        snap = json.load(f)
    return size(snap), size(json.loads(dump))


def measured_run(args, srv, extra, out_path, timeout, env_extra=None):
    srv.admin("DELETE", "/log")
    prom0, promsec0 = srv.prom_requests()
    bg = srv.background_pids()
    cpu0 = [cpu_seconds(p) for p in bg]
    kcpu0 = cpu_seconds(srv.kube_proc.pid)
    started = time.time()
    r, stderr_text = run_wva(args, srv, extra, out_path, timeout, env_extra)
    kcpu = cpu_seconds(srv.kube_proc.pid) - kcpu0
    bgcpu = sum(cpu_seconds(p) for p in bg) - sum(cpu0)
    prom1, promsec1 = srv.prom_requests()
    entries = srv.admin("GET", "/log")["entries"]
    s = summarize_log(entries)
    s["phases"] = run_phases(entries, started)
    delta = {h: prom1[h] - prom0.get(h, 0) for h in prom1 if prom1[h] - prom0.get(h, 0) > 0}
    s.update(wall=r["wall"], rss_mb=r["rss_mb"], cpu=r["cpu"], prom=delta,
             prom_queries=int(sum(delta.values())),
             prom_seconds=sum(promsec1.values()) - sum(promsec0.values()),
             kube_cpu=kcpu, background_cpu=bgcpu, stderr=stderr_text)
    return s


def bench_size(args, vas, workroot):
    workdir = os.path.join(workroot, "vas-%d" % vas)
    os.makedirs(workdir)
    t0 = time.perf_counter()
    state, pods, nns = make_cluster(vas, args.namespaces)
    log("%d VAs over %d namespaces: %d Deployments, %d pods (built in %.1f s)" % (
        vas, nns, len(state["deployments"]), len(state["pods"]),
        time.perf_counter() - t0))
    srv = Servers(workdir, state, pods, args.scrape_interval)
    del state
    try:
        return measure(args, vas, nns, len(pods), srv, workdir)
    finally:
        srv.stop()


def measure(args, vas, nns, npods, srv, workdir):
    res = {"vas": vas, "namespaces": nns, "pods": npods, "load_before": os.getloadavg()}
    plan_path = os.path.join(workdir, "plan.json")

    first = measured_run(args, srv, ["--once", "--output", "json"], plan_path,
                         args.first_timeout)
    res["first"] = first
    log("%d VAs first run: wall=%.2f s cpu=%.2f s rss=%.1f MB requests=%d writes: %s%s" % (
        vas, first["wall"], first["cpu"], first["rss_mb"], first["total"],
        ", ".join("%s=%d" % kv for kv in sorted(first["writes"].items())) or "none",
        " (+%d Lease)" % first["lease_writes"]))
    res["first_actions"] = plan_actions(read_plan(plan_path))
    first_end = time.time()

    samples = []
    for i in range(args.runs):
        s = measured_run(args, srv, ["--once", "--output", "json"], plan_path, args.timeout)
        plan = read_plan(plan_path)
        s["actions"], s["skips"] = plan_actions(plan), plan_skips(plan)
        del plan
        log("%d VAs steady run %d/%d: wall=%.3f s cpu=%.2f s rss=%.1f MB %s lease-writes=%d "
            "other-writes=%d prom=%d actions=%s" % (
                vas, i + 1, args.runs, s["wall"], s["cpu"], s["rss_mb"],
                " ".join("%s=%d" % (v, s["verbs"][v]) for v in VERBS if s["verbs"][v]),
                s["lease_writes"], sum(s["writes"].values()), s["prom_queries"],
                dict(s["actions"])))
        samples.append(s)
    res["samples"] = samples

    # --snapshot-out: size against the full dump, replay against the plan.
    snap_path = os.path.join(workdir, "snapshot-out.json")
    live_plan = os.path.join(workdir, "plan-snapshot-run.json")
    sr = measured_run(args, srv, ["--once", "--output", "json", "--snapshot-out", snap_path],
                      live_plan, args.timeout)
    res["snapshot_run"] = sr
    res["snapshot_bytes"] = os.path.getsize(snap_path)
    dump = srv.admin("GET", "/dump", raw=True)
    res["dump_bytes"] = len(dump)
    res["snapshot_k8s_bytes"], res["dump_k8s_bytes"] = k8s_part_sizes(snap_path, dump)
    replay_plan = os.path.join(workdir, "plan-replay.json")
    rr, _ = run_wva(args, srv, ["--from-file", snap_path, "--output", "json"],
                    replay_plan, args.timeout)
    rwall, rrss = rr["wall"], rr["rss_mb"]
    live_t, replay_t = plan_targets(read_plan(live_plan)), plan_targets(read_plan(replay_plan))
    diff = sorted(k for k in set(live_t) | set(replay_t) if live_t.get(k) != replay_t.get(k))
    res.update(replay_wall=rwall, replay_rss_mb=rrss, replay_variants=len(replay_t),
               replay_diff=diff)
    log("%d VAs --snapshot-out %.1f MB vs dump %.1f MB; replay %.2f s, %d/%d variants agree"
        % (vas, res["snapshot_bytes"] / 1e6, res["dump_bytes"] / 1e6, rwall,
           len(live_t) - len(diff), len(live_t)))
    if args.refresh_run:
        # SPEC section 7: a status whose lastRunTime is 5 intervals old is
        # rewritten even when nothing else changed.  With a 2 s interval that
        # is 10 s after the first run; every status is that old by then.
        time.sleep(max(0.0, first_end + 5 * REFRESH_INTERVAL_S + 1.5 - time.time()))
        rf = measured_run(args, srv, ["--once", "--output", "json"],
                          os.path.join(workdir, "plan-refresh.json"), args.first_timeout,
                          {"GLOBAL_OPT_INTERVAL": "%ds" % REFRESH_INTERVAL_S})
        res["refresh"] = rf
        log("%d VAs refresh run (lastRunTime 5 intervals old): wall=%.2f s writes: %s" % (
            vas, rf["wall"], ", ".join("%s=%d" % kv for kv in sorted(rf["writes"].items()))
            or "none"))
    res["load_after"] = os.getloadavg()
    if args.keep:
        res["workdir"] = workdir
    return res


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def med(samples, key):
    return statistics.median(s[key] for s in samples)


def med_verb(samples, verb):
    return statistics.median(s["verbs"][verb] for s in samples)


def fmt_num(x):
    return "%d" % x if x == int(x) else "%.1f" % x


def report(args, results):
    failures = []
    header = ["VAs", "ns", "pods", "wall s", "cpu s", "RSS MB", "get", "list pages", "lists",
              "patch", "create", "update", "delete", "lease w", "other w", "prom q",
              "snap-out MB", "dump MB"]
    widths = [6, 4, 6, 7, 6, 7, 5, 10, 5, 5, 6, 6, 6, 7, 7, 6, 11, 7]
    rows = []
    for r in results:
        ss = r["samples"]
        other_w = max(sum(s["writes"].values()) for s in ss)
        rows.append([r["vas"], r["namespaces"], r["pods"], "%.3f" % med(ss, "wall"),
                     "%.2f" % med(ss, "cpu"),
                     "%.1f" % max(s["rss_mb"] for s in ss),
                     fmt_num(med_verb(ss, "get")), fmt_num(med_verb(ss, "list")),
                     fmt_num(med(ss, "lists")), fmt_num(med_verb(ss, "patch")),
                     fmt_num(med_verb(ss, "create")), fmt_num(med_verb(ss, "update")),
                     fmt_num(med_verb(ss, "delete")),
                     fmt_num(med(ss, "lease_writes")), other_w,
                     fmt_num(med(ss, "prom_queries")),
                     "%.2f" % (r["snapshot_bytes"] / 1e6), "%.1f" % (r["dump_bytes"] / 1e6)])
    print()
    print(bench.fmt_row(header, widths))
    print(bench.fmt_row(["-" * w for w in widths], widths))
    for row in rows:
        print(bench.fmt_row(row, widths))
    print("(steady-state runs: wall = median, cpu = median user+system time of"
          " wva-optimizer, RSS = peak ru_maxrss of wva-optimizer, request"
          " columns = median per run from the API server's request log; list pages = list"
          " requests, lists = first pages; lease w = writes to the run Lease; other w = every"
          " other write, max over runs; prom q = Prometheus /api/v1 requests per run)")
    print()

    for r in results:
        ss, vas = r["samples"], r["vas"]
        first = r["first"]
        print("%d VAs, %d namespaces, %d pods:" % (vas, r["namespaces"], r["pods"]))
        print("  first run: wall %.2f s, RSS %.1f MB, %d requests (%s); writes: %s; "
              "plan actions %s" % (
                  first["wall"], first["rss_mb"], first["total"],
                  " ".join("%s=%d" % (v, first["verbs"][v]) for v in VERBS
                           if first["verbs"][v]),
                  ", ".join("%s=%d" % kv for kv in sorted(first["writes"].items())) or "none",
                  dict(r["first_actions"])))
        walls = " ".join("%.3f" % s["wall"] for s in ss)
        print("  steady runs: wall %s s; RSS %s MB; plan actions %s" % (
            walls, " ".join("%.1f" % s["rss_mb"] for s in ss), dict(ss[-1]["actions"])))
        statuses = collections.Counter()
        for s in ss:
            statuses.update(s["status"])
        print("  per run (medians): API server time %.2f s (sum of request durations),"
              " kubeapi CPU %.2f s, Prometheus query time %.2f s; exporters+Prometheus CPU"
              " %.2f s (background scraping)" % (
                  med(ss, "server_ms") / 1000.0, med(ss, "kube_cpu"), med(ss, "prom_seconds"),
                  med(ss, "background_cpu")))
        phases = [s["phases"] for s in ss if s.get("phases")]
        if phases:
            print("  wall time by phase (medians, from the request log): start-up to first"
                  " request %.2f s, cluster read %.2f s, then Prometheus + plan + apply"
                  " %.2f s" % tuple(statistics.median(ph[k] for ph in phases)
                                    for k in ("startup", "cluster_read", "after_read")))
        print("  load average: %s before, %s after (nproc %d)" % (
            " ".join("%.2f" % x for x in r["load_before"]),
            " ".join("%.2f" % x for x in r["load_after"]), os.cpu_count() or 0))
        print("  HTTP status of steady-state requests (all runs): %s" % ", ".join(
            "%s=%d" % kv for kv in sorted(statuses.items(), key=lambda kv: str(kv[0]))))
        prom = collections.Counter()
        for s in ss:
            prom.update(s["prom"])
        print("  Prometheus requests per run by handler: %s" % (", ".join(
            "%s=%s" % (h, fmt_num(n / len(ss))) for h, n in sorted(prom.items())) or "none"))
        print("  --snapshot-out: %.2f MB (Kubernetes lists %.2f MB, the rest metrics and"
              " settings) vs API dump %.1f MB (same lists %.2f MB: the snapshot keeps %.0f%%)"
              % (r["snapshot_bytes"] / 1e6, r["snapshot_k8s_bytes"] / 1e6,
                 r["dump_bytes"] / 1e6, r["dump_k8s_bytes"] / 1e6,
                 100.0 * r["snapshot_k8s_bytes"] / max(1, r["dump_k8s_bytes"])))
        print("  replay of it (--from-file): %.2f s, %.1f MB, %d variants, %d targets differ"
              " from the live plan" % (r["replay_wall"], r["replay_rss_mb"],
                                        r["replay_variants"], len(r["replay_diff"])))
        if r.get("refresh"):
            rf = r["refresh"]
            print("  status refresh (a run once lastRunTime is 5 intervals old, here with"
                  " GLOBAL_OPT_INTERVAL=%ds): wall %.2f s, %d requests, writes: %s" % (
                      REFRESH_INTERVAL_S, rf["wall"], rf["total"],
                      ", ".join("%s=%d" % kv for kv in sorted(rf["writes"].items())) or "none"))
        if args.keep:
            print("  files: %s" % r["workdir"])

        bad = collections.Counter()
        for s in ss:
            bad.update(s["writes"])
        if bad:
            failures.append("%d VAs: steady-state runs wrote %s" % (
                vas, ", ".join("%s=%d" % kv for kv in sorted(bad.items()))))
        if r["snapshot_run"]["writes"]:
            failures.append("%d VAs: the --snapshot-out run wrote %s" % (
                vas, dict(r["snapshot_run"]["writes"])))
        if vas >= BUDGET_FROM_VAS:
            peak = max(s["rss_mb"] for s in ss)
            if peak >= RSS_BUDGET_MB:
                failures.append("%d VAs: peak RSS %.1f MB >= %.0f MB" % (
                    vas, peak, RSS_BUDGET_MB))
            if med(ss, "wall") >= WALL_BUDGET_S:
                failures.append("%d VAs: median wall %.2f s >= %.0f s (load average %.1f on"
                                " %d CPUs; see the phases above)" % (
                                    vas, med(ss, "wall"), WALL_BUDGET_S, r["load_before"][0],
                                    os.cpu_count() or 0))
        if r["replay_diff"]:
            k = r["replay_diff"][0]
            failures.append("%d VAs: replaying --snapshot-out changes %d targets (first %s/%s)"
                            % (vas, len(r["replay_diff"]), k[0], k[1]))
        for i, s in enumerate(ss):
            if s["actions"].get("scale-up") or s["actions"].get("scale-down") or s["skips"]:
                failures.append("%d VAs: steady run %d planned %s%s" % (
                    vas, i + 1, dict(s["actions"]),
                    "; skip reasons %s" % dict(s["skips"]) if s["skips"] else ""))

    # Reads grow with namespaces, not VAs or pods.
    by_ns = collections.defaultdict(list)
    for r in results:
        by_ns[r["namespaces"]].append(r)
    for nns, rs in sorted(by_ns.items()):
        if len(rs) < 2:
            continue
        print()
        print("reads at %d namespaces (median per steady run):" % nns)
        print("  %-28s %s" % ("", "  ".join("%10s" % ("%d VAs" % r["vas"]) for r in rs)))
        for label, key, is_verb in (("GET requests", "get", True),
                                    ("lists (first pages)", "lists", False),
                                    ("list pages", "list", True)):
            vals = [med_verb(r["samples"], key) if is_verb else med(r["samples"], key)
                    for r in rs]
            print("  %-28s %s" % (label, "  ".join("%10s" % fmt_num(v) for v in vals)))
        for key, is_verb in (("get", True), ("lists", False)):
            vals = {med_verb(r["samples"], key) if is_verb else med(r["samples"], key)
                    for r in rs}
            if len(vals) > 1:
                failures.append("%d namespaces: %s per run differ between sizes (%s)"
                                % (nns, key, sorted(vals)))
        print("  (a list takes ceil(items / 500) pages, at least one: the VA list grows by"
              " a page per 500 VAs, a namespace's Deployments or pods by a page per 500 of"
              " them; every other request is per namespace or per run)")

    print()
    if failures:
        for f in failures:
            print("FAIL: " + f)
    else:
        print("all checks passed: no steady-state writes besides the run Lease; replay"
              " agrees with the live plan; reads depend on namespaces, not VAs%s" % (
                  "; 10,000-VA budget (< %.0f MB, < %.0f s) met" % (RSS_BUDGET_MB, WALL_BUDGET_S)
                  if any(r["vas"] >= BUDGET_FROM_VAS for r in results) else ""))
    return failures


def main(argv):
    p = argparse.ArgumentParser(description="wva-optimizer live-path benchmark")
    p.add_argument("--bin", required=True)
    p.add_argument("--quick", action="store_true", help="1,000 VAs only")
    p.add_argument("--sizes", help='VA counts, e.g. "1000 10000" (the default)')
    p.add_argument("--namespaces", type=int, default=100)
    p.add_argument("--runs", type=int, default=3, help="steady-state runs per size")
    p.add_argument("--scrape-interval", type=float, default=5.0, metavar="S",
                   help="Prometheus scrape interval in seconds (prometheus.sh's own is 1;"
                   " default 5 keeps the scraping of 30,000 pods from competing with"
                   " the runs being measured)")
    p.add_argument("--limited", action="store_true",
                   help="WVA_LIMITED_MODE=true (all pods and nodes are read)")
    p.add_argument("--no-refresh-run", dest="refresh_run", action="store_false",
                   help="skip the last run, made once every status is 5 intervals old"
                   " (SPEC section 7 refresh; informational)")
    p.add_argument("--timeout", type=int, default=300, help="seconds per steady run")
    p.add_argument("--first-timeout", type=int, default=1800,
                   help="seconds for the first (writing) run")
    p.add_argument("--workdir", help="where the servers keep their files (default: a"
                   " temporary directory, removed afterwards)")
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.replace(",", " ").split()] if args.sizes \
            else ([1000] if args.quick else [1000, 10000])
    except ValueError:
        p.error("--sizes takes whole numbers")
    if not sizes or any(s < 1 for s in sizes) or args.runs < 1 or args.namespaces < 1:
        p.error("sizes, --runs and --namespaces must be positive")
    if not 1 <= args.scrape_interval <= 15:
        p.error("--scrape-interval must be within 1..15 s (queries look back 1m)")
    if not shutil.which("prometheus") and not os.path.exists(
            os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")):
        log("prometheus not found (Debian package prometheus)")
        return 1

    for line in bench.machine_lines():
        print(line)
    print("binary: %s" % os.path.abspath(args.bin))
    print("cluster: kubeapi.py synthetic (3 pods per VA) over %d namespaces%s; load kv=%.2f"
          " queue=%d on every pod; Prometheus scrapes every %g s" % (
              args.namespaces, ", WVA_LIMITED_MODE=true" if args.limited else "",
              KV_LOAD, QUEUE_LOAD, args.scrape_interval))
    sys.stdout.flush()

    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        workroot = tempfile.mkdtemp(prefix="wva-bench-live-", dir=args.workdir)
    else:
        workroot = tempfile.mkdtemp(prefix="wva-bench-live-")
    results = []
    failed = False
    failures = []
    args.launcher = bench.Launcher()
    try:
        for vas in sizes:
            try:
                results.append(bench_size(args, vas, workroot))
            except BenchError as e:
                log("FAILED at %d VAs: %s" % (vas, e))
                failed = True
                break
        failures = report(args, results) if results else []
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                slim = []
                for r in results:
                    r = dict(r)
                    for k in ("first", "snapshot_run"):
                        r[k] = {x: y for x, y in r[k].items() if x != "stderr"}
                    r["samples"] = [{x: y for x, y in s.items() if x != "stderr"}
                                    for s in r["samples"]]
                    slim.append(r)
                json.dump({"machine": bench.machine_lines(), "binary": os.path.abspath(args.bin),
                           "results": slim, "failures": failures, "failed": failed},
                          f, indent=2, default=str)
                f.write("\n")
    finally:
        args.launcher.close()
        if args.keep:
            log("kept %s" % workroot)
        else:
            shutil.rmtree(workroot, ignore_errors=True)
    return 1 if failed or failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
