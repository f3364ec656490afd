#!/usr/bin/env python3
"""The fault matrix of live runs: the real wva-optimizer binary against the
Kubernetes API test server and a real Prometheus (tests/integration/
test_live.py starts them; its Servers class and helpers are reused here),
with one fault injected per test.

Every test asserts the exit code (SPEC section 2), the exact set of write
requests the API server saw, what was held, and that nothing outside the
program's scope was written: only /scale of the optimized VAs' Deployments,
VA /status, Events on those VAs, and the run Lease in the system namespace.
Above all: never a scale-down on missing information.

The cluster of most tests (`base()`) holds two models in a namespace of the
test's own (Prometheus remembers a minute, so pod names are never reused):
  busy-l4  1 replica, saturated          -> scale-up to 2 when all is well
  idle-l4  3 replicas, nearly idle       -> scale-down to 2 when all is well
so "held" is visible on both sides.

Prometheus faults other than "down" go through FakePrometheus, a small HTTP
server in this file in front of the real Prometheus that can delay, answer
with an error envelope or an empty result, or run a hook (to change the
cluster while a run is in flight: the run has read the cluster and is
reading metrics).

Run: WVA_BIN=path/to/wva-optimizer python3 tests/integration/test_faults.py -v
"""
import json
import os
import re
import shutil
import socket
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_live  # noqa: E402

ms = test_live.ms
BIN = test_live.BIN
SYSTEM_NS = test_live.SYSTEM_NS
http = test_live.http

BUSY = [(0.76, 2)]
IDLE3 = ms.IDLE3
IDLE2 = [(0.20, 1), (0.30, 1)]
WVA_CONFIGMAPS = ("wva-variantautoscaling-config", "wva-saturation-config",
                  "wva-saturation-scaling-config", "wva-scale-to-zero-config",
                  "wva-model-scale-to-zero-config")


class FakePrometheus:
    """An HTTP server on 127.0.0.1 in front of the real Prometheus.

    Per query (the PromQL of POST /api/v1/query) whose text matches
    `match` (None = every query), the fault `mode` applies:
      forward  pass the query on (default)
      delay    sleep `delay` seconds, then forward
      error    answer `status` with a {"status":"error"} envelope
      empty    answer a success envelope with an empty vector
    `hook`, when set, runs once, on the first query, before the answer.
    `queries` records every PromQL received."""

    def __init__(self, upstream):
        self.upstream = upstream.rstrip("/")
        self.lock = threading.Lock()
        self.reset()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.answer(urllib.parse.urlsplit(self.path).query.encode())

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.answer(self.rfile.read(n))

            def answer(self, form):
                code, ctype, body = fake.handle(self.path, form)
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self, mode="forward", match=None, delay=0.0, status=422, hook=None,
              count=-1):
        with self.lock:
            self.mode, self.match, self.delay, self.status = mode, match, delay, status
            self.hook, self.count = hook, count
            self.queries = []

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path, form):
        query = urllib.parse.parse_qs(form.decode()).get("query", [""])[0]
        with self.lock:
            self.queries.append(query)
            hook, self.hook = self.hook, None
            hit = self.mode != "forward" and self.count != 0 and (
                self.match is None or re.search(self.match, query))
            if hit and self.count > 0:
                self.count -= 1
            mode, delay, status = self.mode, self.delay, self.status
        if hook:
            hook()
        if hit and mode == "delay":
            time.sleep(delay)
        elif hit and mode == "error":
            body = {"status": "error", "errorType": "execution",
                    "error": "query processing would load too many samples into memory"}
            return status, "application/json", json.dumps(body).encode()
        elif hit and mode == "empty":
            body = {"status": "success", "data": {"resultType": "vector", "result": []}}
            return 200, "application/json", json.dumps(body).encode()
        req = urllib.request.Request(self.upstream + path.split("?")[0], data=form,
                                     method="POST", headers={
                                         "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()


SERVERS = None
PROM = None


def setUpModule():
    global SERVERS, PROM
    SERVERS = test_live.Servers()
    try:
        PROM = FakePrometheus(SERVERS.prom_url)
    except Exception:
        SERVERS.stop()      # tearDownModule does not run after a failed setUpModule
        raise


def tearDownModule():
    if PROM:
        PROM.stop()
    if SERVERS:
        SERVERS.stop()
        shutil.rmtree(SERVERS.dir, ignore_errors=True)


def closed_port():
    """A port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FaultTest(unittest.TestCase):
    counter = 0
    # The helpers of the live tests, reused as they are.
    deployment = test_live.LiveTest.deployment
    va = test_live.LiveTest.va
    condition = test_live.LiveTest.condition

    def setUp(self):
        self.s = SERVERS
        self.prom = PROM
        self.prom.reset()
        self.s.admin("POST", "/reset")
        self.s.admin("DELETE", "/log")
        self.s.admin("PUT", "/settings", {"sync_deployment_status": True})
        FaultTest.counter += 1
        self.ns = "ft-%d-%d" % (os.getpid() % 1000, FaultTest.counter)

    # -- running -----------------------------------------------------------
    def run_wva(self, *args, env=None, expect=None, **kw):
        """test_live's runner, with Prometheus behind the fake by default."""
        e = {"PROMETHEUS_BASE_URL": self.prom.url}
        e.update(env or {})
        return test_live.LiveTest.run_wva(self, *args, env=e, expect=expect, **kw)

    def run_plan(self, *args, expect, env=None):
        p = self.run_wva("--once", "--output", "json", *args, env=env, expect=expect)
        return json.loads(p.stdout) if p.stdout.strip() else None, p

    def base(self, metrics=True, cluster=None, busy=None, idle=None):
        """busy-l4 (1 saturated replica) and idle-l4 (3 idle replicas)."""
        c = cluster or ms.Cluster()
        c.variant(self.ns, "busy-l4", "busy", loads=busy or BUSY, replicas=len(busy or BUSY))
        c.variant(self.ns, "idle-l4", "idle", loads=idle or IDLE3, replicas=len(idle or IDLE3))
        self.s.load(c)
        if metrics:
            self.s.set_metrics(c.exporter_pods)
        return c

    # -- what was written ------------------------------------------------------
    def writes(self):
        return self.s.writes()

    def write_set(self, ok_only=False):
        """{(verb, resource[/sub], namespace, name)} of the writes, Lease
        writes left out (checked by assert_in_scope)."""
        out = set()
        for e in self.writes():
            if e["resource"] == "leases":
                continue
            if ok_only and not 200 <= e["status"] < 300:
                continue
            res = e["resource"] + ("/" + e["subresource"] if e["subresource"] else "")
            out.add((e["verb"], res, e["namespace"], e["name"]))
        return out

    def expected(self, scale=(), status=(), events=False):
        s = {("patch", "deployments/scale", self.ns, n) for n in scale}
        s |= {("patch", "variantautoscalings/status", self.ns, n) for n in status}
        if events:
            s.add(("create", "events", self.ns, None))
        return s

    def assert_in_scope(self, vas=("busy-l4", "idle-l4")):
        """Only /scale of the optimized VAs' Deployments, their /status,
        Events about them, and the Lease in the system namespace."""
        for e in self.writes():
            where = (e["method"], e["path"])
            if e["resource"] == "leases":
                self.assertEqual(e["namespace"], SYSTEM_NS, where)
                self.assertIn(e["verb"], ("create", "update", "patch"), where)
                name = e["name"] or (e.get("body") or {}).get("metadata", {}).get("name")
                self.assertEqual(name, "wva-optimizer", where)
            elif e["resource"] == "events":
                self.assertEqual(e["verb"], "create", where)
                inv = e["body"]["involvedObject"]
                if inv["kind"] == "ConfigMap":
                    # SPEC section 5: an invalid entry gets an Event on its ConfigMap.
                    self.assertIn(e["namespace"], (self.ns, SYSTEM_NS), where)
                    self.assertIn(inv["name"], WVA_CONFIGMAPS, where)
                else:
                    self.assertEqual(e["namespace"], self.ns, where)
                    self.assertEqual(inv["kind"], "VariantAutoscaling", where)
                    self.assertIn(inv["name"], vas, where)
            elif (e["resource"], e["subresource"]) == ("deployments", "scale"):
                self.assertEqual((e["verb"], e["namespace"]), ("patch", self.ns), where)
                self.assertIn(e["name"], vas, where)
            elif (e["resource"], e["subresource"]) == ("variantautoscalings", "status"):
                self.assertEqual((e["verb"], e["namespace"]), ("patch", self.ns), where)
                self.assertIn(e["name"], vas, where)
            else:
                self.fail("write outside the program's scope: %s %s" % where)

    def replicas(self, name):
        return self.deployment(name)["spec"]["replicas"]

    def assert_replicas(self, **want):
        got = {k.replace("_", "-"): self.replicas(k.replace("_", "-")) for k in want}
        self.assertEqual(got, {k.replace("_", "-"): v for k, v in want.items()})

    def assert_as_without_fault(self):
        """The outcome of the control row: both scaled, both statuses, Events."""
        self.assert_replicas(busy_l4=2, idle_l4=2)
        self.assertEqual(self.write_set(ok_only=True), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4"), events=True))
        self.assertEqual(self.event_reasons(), ["ScaledDown", "ScaledUp"])
        self.assert_in_scope()

    def assert_held(self):
        """Nothing scaled: both Deployments run what they ran."""
        self.assert_replicas(busy_l4=1, idle_l4=3)
        self.assertFalse([e for e in self.writes() if e["subresource"] == "scale"
                          and 200 <= e["status"] < 300])

    def event_reasons(self, kind="VariantAutoscaling"):
        """Reasons of the Events about objects of one kind in the test's namespace."""
        return sorted(e["reason"] for e in
                      self.s.admin("GET", "/objects/events?namespace=" + self.ns)["items"]
                      if e["involvedObject"]["kind"] == kind)

    def faults(self, *rules):
        self.s.admin("PUT", "/faults", {"faults": list(rules)})

    def ns_path(self, tail):
        return "^/apis?/.*namespaces/%s/%s" % (self.ns, tail)

    def metrics_condition(self, name):
        c = self.condition(self.va(name), "MetricsAvailable")
        return (c["status"], c["reason"]) if c else None

    def applied(self, name):
        return self.va(name)["status"]["actuation"]["applied"]

    # ======================================================================
    # Control row: no fault.
    def test_00_no_fault(self):
        self.base()
        plan, _ = self.run_plan(expect=0)
        self.assertEqual({v["name"]: v["action"] for v in plan["variants"]},
                         {"busy-l4": "scale-up", "idle-l4": "scale-down"})
        self.assertEqual(self.write_set(), self.write_set(ok_only=True), "no failed write")
        self.assert_as_without_fault()

    # ======================================================================
    # Kubernetes API server faults.
    def test_api_down(self):
        """Connection refused from the first request: exit 1, nothing written."""
        self.base(metrics=False)
        with open(self.s.kube["kubeconfig"]) as f:
            text = f.read()
        dead = os.path.join(self.s.dir, "kubeconfig-dead")
        with open(dead, "w") as f:
            f.write(text.replace(self.s.kube["url"], "https://127.0.0.1:%d" % closed_port()))
        start = time.time()
        p = self.run_wva("--once", env={"KUBECONFIG": dead}, expect=1)
        self.assertLess(time.time() - start, 20, "bounded retries, not a hang")
        self.assertIn("Couldn't connect", p.stderr)
        self.assertEqual(self.s.log(), [], "the API server was never reached")
        self.assert_held()

    def test_api_slow(self):
        """Every request 0.3 s late (well within the 30 s timeout): the run succeeds."""
        self.base()
        self.faults({"kind": "delay", "delay": 0.3, "method": "*", "path": "^/api",
                     "count": -1})
        start = time.time()
        self.run_plan(expect=0)
        slow = [e for e in self.s.log() if e.get("fault") == "delay"]
        self.assertGreaterEqual(len(slow), 10)
        self.assertGreaterEqual(time.time() - start, 0.3 * len(slow))
        self.assert_as_without_fault()

    def test_api_500_transient(self):
        """Two 500s on the VA list: retried with backoff, then the run succeeds."""
        self.base()
        self.faults({"kind": "status", "status": 500, "method": "GET",
                     "path": "/variantautoscalings$", "count": 2})
        self.run_plan(expect=0)
        lists = [e["status"] for e in self.s.log() if e["verb"] == "list"
                 and e["resource"] == "variantautoscalings"]
        self.assertEqual(lists, [500, 500, 200])
        self.assert_as_without_fault()

    def test_api_500_on_read(self):
        """The pod list keeps failing: the cluster cannot be read; exit 1,
        nothing written but the Lease."""
        self.base()
        self.faults({"kind": "status", "status": 500, "method": "GET",
                     "path": self.ns_path("pods$"), "count": -1})
        p = self.run_wva("--once", expect=1)
        self.assertIn("cannot read the cluster", p.stderr)
        self.assertEqual(len([e for e in self.s.log() if e["resource"] == "pods"]), 4,
                         "1 try + 3 retries")
        self.assertEqual(self.write_set(), set())
        self.assert_held()
        self.assert_in_scope()

    def test_api_500_on_one_scale_patch(self):
        """busy-l4's /scale keeps failing: exit 3; idle-l4 is still scaled,
        busy-l4's status says not applied, no ScaledUp Event."""
        self.base()
        self.faults({"kind": "status", "status": 500, "method": "PATCH",
                     "path": self.ns_path("deployments/busy-l4/scale$"), "count": -1})
        p = self.run_wva("--once", expect=3)
        self.assertIn("scale patch failed", p.stderr)
        self.assert_replicas(busy_l4=1, idle_l4=2)
        patches = [e["status"] for e in self.s.log() if e["subresource"] == "scale"
                   and e["name"] == "busy-l4"]
        self.assertEqual(patches, [500] * 4, "1 try + 3 retries")
        self.assertFalse(self.applied("busy-l4"))
        self.assertTrue(self.applied("idle-l4"))
        self.assertEqual(self.event_reasons(), ["ScaledDown"])
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4"), events=True))
        self.assert_in_scope()

    def test_api_429_transient(self):
        """Two 429s with Retry-After: 1 on the Deployment list: honoured, then success."""
        self.base()
        self.faults({"kind": "throttle", "retry_after": 1, "method": "GET",
                     "path": self.ns_path("deployments$"), "count": 2})
        start = time.time()
        self.run_plan(expect=0)
        self.assertGreaterEqual(time.time() - start, 2.0, "Retry-After honoured twice")
        lists = [e["status"] for e in self.s.log() if e["verb"] == "list"
                 and e["resource"] == "deployments"]
        self.assertEqual(lists, [429, 429, 200])
        self.assert_as_without_fault()

    def test_api_403_on_scale(self):
        """RBAC forbids patching deployments/scale: no retry, exit 3 (status
        and Events still written), nothing scaled."""
        self.base()
        self.s.admin("PUT", "/rbac", {"deny": [{"verb": "patch",
                                                "resource": "deployments/scale"}]})
        p = self.run_wva("--once", expect=3)
        self.assertIn("403", p.stderr)
        self.assert_held()
        scale = [e["status"] for e in self.s.log() if e["subresource"] == "scale"]
        self.assertEqual(scale, [403, 403], "one try per Deployment, no retry")
        self.assertFalse(self.applied("busy-l4"))
        self.assertFalse(self.applied("idle-l4"))
        self.assertNotIn("ScaledUp", self.event_reasons())
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4")))
        self.assert_in_scope()

    def test_api_403_on_main_configmap(self):
        """RBAC forbids reading the main ConfigMap: the settings it holds
        (watch namespace, instance, GLOBAL_OPT_ENABLE...) are unknown, so the
        run acts on nothing, not even the Lease: exit 1, read once, no retry.
        doctor, which must always report, says so in a failing row (exit 4)."""
        self.base()
        self.s.admin("PUT", "/rbac", {"deny": [{"verb": "get", "resource": "configmaps",
                                                "name": "wva-variantautoscaling-config"}]})
        p = self.run_wva("--once", expect=1)
        self.assertIn("cannot read the main ConfigMap", p.stderr)
        self.assertIn("403", p.stderr)
        self.assertEqual(self.writes(), [])
        self.assert_held()
        reads = [e["status"] for e in self.s.log() if e["resource"] == "configmaps"]
        self.assertEqual(reads, [403])
        self.s.admin("DELETE", "/log")
        d = self.run_wva("doctor", "--output", "json", expect=4)
        rows = [r for r in json.loads(d.stdout)["checks"] if r["check"] == "Permissions"
                and r["name"] == "wva-variantautoscaling-config"]
        self.assertEqual(len(rows), 1, d.stdout)
        self.assertFalse(rows[0]["ok"])
        self.assertEqual(rows[0]["namespace"], SYSTEM_NS)
        self.assertIn("403", rows[0]["finding"])
        self.assertIn("verbs [\"get\"]", rows[0]["fix"])
        main_reads = [e for e in self.s.log() if e["resource"] == "configmaps"
                      and e["name"] == "wva-variantautoscaling-config"]
        self.assertEqual(len(main_reads), 1, "read once, at start-up")
        self.assertEqual([e for e in self.writes() if e["resource"] != "selfsubjectaccessreviews"],
                         [])

    def test_api_403_on_events(self):
        """RBAC forbids creating Events: they are best effort; exit 0."""
        self.base()
        self.s.admin("PUT", "/rbac", {"deny": ["create events"]})
        p = self.run_wva("--once", expect=0)
        self.assertIn("Event not created", p.stderr)
        self.assert_replicas(busy_l4=2, idle_l4=2)
        self.assertEqual(self.write_set(ok_only=True), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4")))
        self.assert_in_scope()

    def test_api_403_on_status(self):
        """RBAC forbids patching VA /status: the scale patches are applied,
        the status writes fail: a partial failure (exit 3)."""
        self.base()
        self.s.admin("PUT", "/rbac", {"deny": ["patch variantautoscalings/status"]})
        p = self.run_wva("--once", expect=3)
        self.assertIn("status write failed", p.stderr)
        self.assert_replicas(busy_l4=2, idle_l4=2)
        status = [e["status"] for e in self.s.log() if e["subresource"] == "status"]
        self.assertEqual(status, [403, 403])
        self.assertEqual(self.write_set(ok_only=True), self.expected(
            scale=("busy-l4", "idle-l4"), events=True))
        self.assert_in_scope()

    def test_api_409_storm(self):
        """Every /scale patch conflicts: one re-read and one retry per
        Deployment, then held; not a failure (exit 0), nothing scaled."""
        self.base()
        self.faults({"kind": "status", "status": 409, "method": "PATCH", "path": "/scale$",
                     "count": -1})
        p = self.run_wva("--once", expect=0)
        self.assertIn("conflict again", p.stderr)
        self.assert_held()
        for name in ("busy-l4", "idle-l4"):
            calls = [(e["verb"], e["status"]) for e in self.s.log()
                     if e["subresource"] == "scale" and e["name"] == name]
            self.assertEqual(calls, [("patch", 409), ("get", 200), ("patch", 409)], name)
            self.assertFalse(self.applied(name))
        self.assertEqual(self.event_reasons(), [])
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4")))
        self.assert_in_scope()

    def test_api_truncated_json(self):
        """The VA list answers half a JSON document: exit 1, nothing written."""
        self.base(metrics=False)
        self.faults({"kind": "truncate", "mode": "json", "method": "GET",
                     "path": "/variantautoscalings$", "count": 1})
        p = self.run_wva("--once", expect=1)
        self.assertIn("not a JSON object", p.stderr)
        self.assertEqual(self.write_set(), set())
        self.assert_held()
        self.assert_in_scope()

    def test_api_truncated_connection(self):
        """The pod list is cut off mid-body once: a transport error, retried; success."""
        self.base()
        self.faults({"kind": "truncate", "mode": "short", "method": "GET",
                     "path": self.ns_path("pods$"), "count": 1})
        self.run_plan(expect=0)
        pods = [e.get("truncated", False) for e in self.s.log() if e["resource"] == "pods"]
        self.assertEqual(pods, [True, False])
        self.assert_as_without_fault()

    def test_api_wrong_content_type_on_read(self):
        """An HTML page (200, text/html) instead of the Deployment list: exit 1."""
        self.base(metrics=False)
        self.faults({"kind": "content-type", "method": "GET",
                     "path": self.ns_path("deployments$"), "count": 1})
        p = self.run_wva("--once", expect=1)
        self.assertIn("not a JSON object", p.stderr)
        self.assertEqual(self.write_set(), set())
        self.assert_held()

    def test_api_wrong_content_type_on_write(self):
        """A proxy answers busy-l4's /scale patch with a 200 HTML page (the
        patch never reached the API server): a failed patch, exit 3, no
        ScaledUp Event, status not applied."""
        self.base()
        self.faults({"kind": "content-type", "method": "PATCH",
                     "path": self.ns_path("deployments/busy-l4/scale$"), "count": 1})
        p = self.run_wva("--once", expect=3)
        self.assertIn("not a JSON object", p.stderr)
        self.assert_replicas(busy_l4=1, idle_l4=2)
        self.assertFalse(self.applied("busy-l4"))
        self.assertEqual(self.event_reasons(), ["ScaledDown"])
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4"), events=True))
        self.assert_in_scope()

    def test_api_gone_after_snapshot(self):
        """Every write in the namespace loses its connection (the API server
        went away after the snapshot was read): nothing applied, so a
        runtime failure (exit 1), not a partial one."""
        self.base()
        self.faults({"kind": "drop", "method": "PATCH", "path": self.ns_path(""), "count": -1},
                    {"kind": "drop", "method": "POST", "path": self.ns_path(""), "count": -1})
        self.run_wva("--once", expect=1)
        self.assertEqual(self.write_set(ok_only=True), set())
        self.assert_held()
        self.assert_in_scope()

    # ======================================================================
    # Prometheus faults.
    def assert_prometheus_error_recorded(self):
        for name in ("busy-l4", "idle-l4"):
            self.assertEqual(self.metrics_condition(name), ("False", "PrometheusError"), name)
        self.assertEqual(self.event_reasons(), ["MetricsUnavailable"] * 2)
        self.assertEqual(self.write_set(), self.expected(
            status=("busy-l4", "idle-l4"), events=True))

    def test_prometheus_down(self):
        """Connection refused: exit 1, replicas held, PrometheusError recorded."""
        self.base(metrics=False)
        p = self.run_wva("--once", env={
            "PROMETHEUS_BASE_URL": "http://127.0.0.1:%d" % closed_port()}, expect=1)
        self.assertIn("cannot read metrics from Prometheus", p.stderr)
        self.assert_held()
        self.assert_prometheus_error_recorded()
        self.assert_in_scope()

    def test_prometheus_slow(self):
        """Every query 0.5 s late (within the timeout): the run succeeds."""
        self.base()
        self.prom.reset(mode="delay", delay=0.5)
        start = time.time()
        self.run_plan(expect=0)
        self.assertGreaterEqual(time.time() - start, 0.5 * len(self.prom.queries))
        self.assert_as_without_fault()

    def test_prometheus_error_envelope(self):
        """The queue query answers 422 {"status":"error"}: exit 1, both held."""
        self.base()
        self.prom.reset(mode="error", status=422, match="num_requests_waiting")
        plan, p = self.run_plan(expect=1)
        self.assertIn("execution: query processing would load too many samples", p.stderr)
        self.assertEqual({v["name"]: v["skipReason"] for v in plan["variants"]},
                         {"busy-l4": "MetricsUnavailable", "idle-l4": "MetricsUnavailable"})
        self.assert_held()
        self.assert_prometheus_error_recorded()
        self.assert_in_scope()

    def test_prometheus_503_transient(self):
        """One 503 error envelope: retried by the HTTP layer; the run succeeds."""
        self.base()
        self.prom.reset(mode="error", status=503, count=1)
        self.run_plan(expect=0)
        self.assertEqual(self.prom.queries[0], self.prom.queries[1], "the same query again")
        self.assert_as_without_fault()

    def test_prometheus_nan_inf(self):
        """NaN KV usage on idle-l4's pods, +Inf queue on busy-l4's: the samples
        are dropped, the pods are unknown, both models held (exit 0)."""
        self.base(busy=[(0.9, "+Inf")], idle=[("NaN", 1), ("NaN", 1), ("NaN", 1)])
        plan, _ = self.run_plan(expect=0)
        self.assertEqual({v["name"]: v["skipReason"] for v in plan["variants"]},
                         {"busy-l4": "MetricsUnavailable", "idle-l4": "MetricsUnavailable"})
        self.assert_held()
        for name in ("busy-l4", "idle-l4"):
            self.assertEqual(self.metrics_condition(name), ("False", "MetricsMissing"), name)
        self.assertEqual(self.write_set(), self.expected(
            status=("busy-l4", "idle-l4"), events=True))
        self.assert_in_scope()

    def test_prometheus_empty_result(self):
        """Every query answers an empty vector: no usable metrics, held, exit 0."""
        self.base(metrics=False)
        self.prom.reset(mode="empty")
        plan, _ = self.run_plan(expect=0)
        self.assertTrue(any("gpu_cache_usage_perc" in q for q in self.prom.queries),
                        "the old KV metric is tried when the new one is empty")
        self.assertEqual({v["name"]: v["skipReason"] for v in plan["variants"]},
                         {"busy-l4": "MetricsUnavailable", "idle-l4": "MetricsUnavailable"})
        self.assert_held()
        for name in ("busy-l4", "idle-l4"):
            self.assertEqual(self.metrics_condition(name), ("False", "MetricsMissing"), name)
        self.assertEqual(self.write_set(), self.expected(
            status=("busy-l4", "idle-l4"), events=True))
        self.assert_in_scope()

    def test_prometheus_partial_data(self):
        """idle-l4 runs 3 pods but only 2 export metrics (both idle): the
        third pod's load is unknown, not 0, so no scale-down.  busy-l4 runs 2
        pods, one saturated and one silent: a scale-up is safe."""
        c = ms.Cluster()
        c.variant(self.ns, "busy-l4", "busy", loads=BUSY, replicas=2, extra_pods=1)
        c.variant(self.ns, "idle-l4", "idle", loads=IDLE2, replicas=3, extra_pods=1)
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        plan, _ = self.run_plan(expect=0)
        actions = {v["name"]: v["action"] for v in plan["variants"]}
        self.assertEqual(self.replicas("idle-l4"), 3, "no scale-down on missing information")
        self.assertNotEqual(actions["idle-l4"], "scale-down")
        self.assertGreaterEqual(self.replicas("busy-l4"), 3)
        self.assertEqual(actions["busy-l4"], "scale-up")
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4",), status=("busy-l4", "idle-l4"), events=True))
        self.assertEqual(self.event_reasons(), ["ScaledUp"])
        self.assert_in_scope()

    def test_prometheus_stale_series(self):
        """idle-l4's pod p1 stops exporting (its series go stale in
        Prometheus) while the pod still runs.  max_over_time(...[1m]) keeps
        returning p1's last values for a minute, but they describe a pod
        that no longer reports: its load is unknown, so no scale-down (the
        single fresh pod alone cannot show that one fewer replica is enough)."""
        c = ms.Cluster()
        c.variant(self.ns, "idle-l4", "idle", loads=IDLE2, replicas=2)
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        # p1 vanishes from the exporter; wait for two scrapes (stale marker).
        self.s.set_metrics(c.exporter_pods[:1])
        promql = urllib.parse.quote('vllm:kv_cache_usage_perc{namespace="%s"}' % self.ns)
        fresh = http("GET", self.s.prom_url + "/api/v1/query?query=" + promql)
        self.assertEqual(len(fresh["data"]["result"]), 1, "p1 is stale in Prometheus")
        plan, _ = self.run_plan(expect=0)
        self.assertEqual(self.replicas("idle-l4"), 2, "no scale-down on a stale series")
        self.assertNotEqual(plan["variants"][0]["action"], "scale-down")
        self.assertEqual(self.write_set(), self.expected(status=("idle-l4",)))
        self.assert_in_scope(vas=("idle-l4",))

    # ======================================================================
    # Malformed ConfigMaps.
    def test_configmap_malformed_saturation(self):
        """A local saturation ConfigMap with a YAML syntax error, an
        out-of-range value and a non-map entry: each entry is reported and
        ignored (built-in thresholds apply), the run succeeds normally, and
        no ConfigMap is written."""
        c = ms.Cluster()
        c.configmap(self.ns, "wva-saturation-config", {
            "default": "kvCacheThreshold: [0.5\n",
            "bad-range": "model_id: idle\nkvCacheThreshold: 1.5\n",
            "not-a-map": "- model_id\n- idle\n"})
        self.base(cluster=c)
        plan, _ = self.run_plan(expect=0)
        text = "\n".join(plan["warnings"])
        for key in ("default", "bad-range", "not-a-map"):
            self.assertRegex(text, "%s/wva-saturation-config key %s" % (self.ns, key))
        self.assertIn("1.5", text)
        thresholds = {m["modelID"]: m["thresholds"]["kvCacheThreshold"] for m in plan["models"]}
        self.assertEqual(thresholds, {"busy": 0.8, "idle": 0.8})
        self.assert_as_without_fault()

    def test_configmap_malformed_reported(self):
        """SPEC section 5: an invalid entry is reported in the log (stderr),
        as a plan warning, and as a Warning Event on the ConfigMap."""
        c = ms.Cluster()
        c.configmap(self.ns, "wva-saturation-config",
                    {"default": "kvCacheThreshold: 1.5\n"})
        self.base(cluster=c)
        plan, p = self.run_plan(expect=0)
        self.assertRegex("\n".join(plan["warnings"]),
                         "%s/wva-saturation-config key default" % self.ns)
        self.assertRegex(p.stderr, "level=warn.*wva-saturation-config.*1.5")
        events = [e for e in self.s.admin("GET", "/objects/events?namespace=" + self.ns)["items"]
                  if e["involvedObject"]["kind"] == "ConfigMap"]
        self.assertEqual([(e["type"], e["involvedObject"]["name"]) for e in events],
                         [("Warning", "wva-saturation-config")])
        self.assertIn("1.5", events[0]["message"])
        self.assert_in_scope()
        # Once per finding, not once per run.
        self.run_plan(expect=0)
        self.assertEqual(self.event_reasons("ConfigMap"), ["InvalidConfiguration"])

    def test_configmap_malformed_scale_to_zero(self):
        """enable_scale_to_zero: maybe -> the entry is ignored; scale-to-zero
        stays off (an unknown setting never scales to zero)."""
        c = ms.Cluster()
        c.configmap(self.ns, "wva-scale-to-zero-config", {
            "default": "enable_scale_to_zero: maybe\nretention_period: 1s\n"})
        self.base(cluster=c)
        plan, _ = self.run_plan(expect=0)
        self.assertRegex("\n".join(plan["warnings"]),
                         "%s/wva-scale-to-zero-config key default" % self.ns)
        self.assertEqual(self.event_reasons("ConfigMap"), ["InvalidConfiguration"])
        self.assert_as_without_fault()

    def test_configmap_malformed_main(self):
        """GLOBAL_OPT_INTERVAL: often in the main ConfigMap: a configuration
        error naming the setting, its source and the value (exit 2); not a
        single write, not even the Lease."""
        c = ms.Cluster()
        c.configmap(SYSTEM_NS, "wva-variantautoscaling-config", {"GLOBAL_OPT_INTERVAL": "often"})
        self.base(cluster=c, metrics=False)
        p = self.run_wva(expect=2)
        for word in ("GLOBAL_OPT_INTERVAL", "often", "ConfigMap"):
            self.assertIn(word, p.stderr)
        self.assertEqual(self.writes(), [])
        self.assert_held()

    # ======================================================================
    # The cluster changes while a run is in flight (after the cluster was
    # read, while metrics are read).
    def test_va_deleted_mid_run(self):
        """steady-l4's VA is deleted after the snapshot: its status patch
        gets 404, which is logged, not a failure; the run goes on (exit 0)."""
        c = ms.Cluster()
        c.variant(self.ns, "steady-l4", "steady", loads=ms.STEADY, replicas=2)
        self.base(cluster=c)
        path = "/objects/variantautoscalings/%s/steady-l4" % self.ns
        self.prom.reset(hook=lambda: self.s.admin("DELETE", path))
        p = self.run_wva("--once", expect=0)
        self.assertIn("deleted since the snapshot", p.stderr)
        status = [e["status"] for e in self.s.log()
                  if e["subresource"] == "status" and e["name"] == "steady-l4"]
        self.assertEqual(status, [404])
        self.assert_replicas(busy_l4=2, idle_l4=2, steady_l4=2)
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4", "steady-l4"),
            events=True))
        events = [e["body"]["involvedObject"]["name"] for e in self.writes()
                  if e["resource"] == "events"]
        self.assertNotIn("steady-l4", events)
        self.assert_in_scope(vas=("busy-l4", "idle-l4", "steady-l4"))

    def test_va_deleted_mid_run_with_planned_scale(self):
        """idle-l4's VA (planned 3 -> 2) is deleted after the snapshot.  The
        scale phase comes before the status writes, so the deletion is seen
        only at the status patch (404): the Deployment gets that one last
        patch (the same race as any controller acting on a list; the next
        run no longer sees the VA), but no status and no Event about the
        deleted VA are written.  Exit 0."""
        self.base()
        path = "/objects/variantautoscalings/%s/idle-l4" % self.ns
        self.prom.reset(hook=lambda: self.s.admin("DELETE", path))
        p = self.run_wva("--once", expect=0)
        self.assertIn("deleted since the snapshot", p.stderr)
        self.assert_replicas(busy_l4=2, idle_l4=2)
        events = [e["body"]["involvedObject"]["name"] for e in self.writes()
                  if e["resource"] == "events"]
        self.assertEqual(events, ["busy-l4"], "no Event about a deleted VA")
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4"), events=True))
        self.assert_in_scope()
        # The next run: the VA is gone, its Deployment is no longer touched.
        self.s.admin("DELETE", "/log")
        self.run_wva("--once", expect=0)
        self.assertNotIn("idle-l4", {e["name"] for e in self.writes()})

    def test_deployment_scaled_by_someone_else_mid_run(self):
        """Someone scales busy-l4 to 5 after the snapshot: our patch gets 409,
        the re-read shows other replicas, we hold (exit 0, 5 stays)."""
        self.base()
        self.prom.reset(hook=lambda: self.s.admin(
            "PATCH", "/objects/deployments/%s/busy-l4" % self.ns, {"spec": {"replicas": 5}}))
        p = self.run_wva("--once", expect=0)
        self.assertIn("changed by someone else", p.stderr)
        self.assert_replicas(busy_l4=5, idle_l4=2)
        calls = [(e["verb"], e["status"]) for e in self.s.log()
                 if e["subresource"] == "scale" and e["name"] == "busy-l4"]
        self.assertEqual(calls, [("patch", 409), ("get", 200)])
        self.assertFalse(self.applied("busy-l4"))
        self.assertEqual(self.event_reasons(), ["ScaledDown"])
        self.assertEqual(self.write_set(), self.expected(
            scale=("busy-l4", "idle-l4"), status=("busy-l4", "idle-l4"), events=True))
        self.assert_in_scope()


if __name__ == "__main__":
    if not os.access(BIN, os.X_OK):
        sys.exit("WVA_BIN %s is not an executable" % BIN)
    unittest.main()
