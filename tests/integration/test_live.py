#!/usr/bin/env python3
"""Integration tests: the real wva-optimizer binary against the Kubernetes API
test server (tests/servers/kubeapi.py, HTTPS + token or client certificate) and
a real Prometheus scraping the vLLM-format exporter, all on 127.0.0.1.

Each test builds its cluster with the scenario builder of
tests/fixtures/make_scenarios.py in a namespace of its own (Prometheus keeps a
minute of history, so tests never reuse a pod name), runs the binary, and
checks what it wrote through the API server's request log.

Run: WVA_BIN=path/to/wva-optimizer python3 tests/integration/test_live.py -v
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
import make_scenarios as ms  # noqa: E402

BIN = os.environ.get("WVA_BIN", os.path.join(TOP, "wva-optimizer"))
SERVERS = os.path.join(TOP, "tests", "servers")
SYSTEM_NS = ms.SYSTEM_NS


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
    return json.loads(text) if text else None


class Servers:
    """kubeapi.py, vllm_exporter.py and a real Prometheus, started once."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wva-it-")
        self.procs = []
        self.files = []
        kdir = os.path.join(self.dir, "kube")
        os.makedirs(kdir)
        ready = os.path.join(kdir, "ready.json")
        self.procs.append(subprocess.Popen(
            [sys.executable, os.path.join(SERVERS, "kubeapi.py"), "--state-dir", kdir,
             "--ready-file", ready, "--sync-deployment-status"],
            stdout=subprocess.DEVNULL, stderr=self._log(kdir)))
        self.kube = self._wait_ready(ready)
        edir = os.path.join(self.dir, "exporter")
        os.makedirs(edir)
        eready = os.path.join(edir, "ready.json")
        self.procs.append(subprocess.Popen(
            [sys.executable, os.path.join(SERVERS, "vllm_exporter.py"), "--state-dir", edir,
             "--ready-file", eready],
            stdout=subprocess.DEVNULL, stderr=self._log(edir)))
        self.exporter = self._wait_ready(eready)
        self.prom_dir = os.path.join(self.dir, "prom")
        out = subprocess.run(["bash", os.path.join(SERVERS, "prometheus.sh"), "start",
                              self.prom_dir, str(self.exporter["port"])],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            self.stop()
            raise RuntimeError("prometheus did not start: " + out.stderr[-2000:])
        self.prom_url = "http://127.0.0.1:%s" % out.stdout.strip().splitlines()[-1]

    def _log(self, directory):
        f = open(os.path.join(directory, "err"), "w")
        self.files.append(f)
        return f

    def _wait_ready(self, path):
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                try:
                    with open(path) as f:
                        return json.load(f)
                except ValueError:
                    pass
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("a test server exited early (see %s)" % self.dir)
            time.sleep(0.05)
        raise RuntimeError("test server not ready: " + path)

    def stop(self):
        subprocess.run(["bash", os.path.join(SERVERS, "prometheus.sh"), "stop", self.prom_dir],
                       capture_output=True, timeout=30)
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in self.files:
            f.close()

    # -- kube admin ------------------------------------------------------
    def admin(self, method, path, body=None):
        return http(method, self.kube["admin_url"] + path, body)

    def load(self, cluster):
        doc = cluster.document()
        doc.pop("metrics", None)
        self.admin("POST", "/objects", doc)

    def log(self):
        return self.admin("GET", "/log")["entries"]

    def writes(self):
        return [e for e in self.log() if e["verb"] in ("create", "update", "patch", "delete")]

    # -- metrics ---------------------------------------------------------
    def set_metrics(self, pods, gateway=None):
        before = http("GET", self.exporter["url"] + "/scrapes")["count"]
        http("PUT", self.exporter["url"] + "/control", {"pods": pods, "gateway": gateway or []})
        deadline = time.time() + 20
        while http("GET", self.exporter["url"] + "/scrapes")["count"] < before + 2:
            if time.time() > deadline:
                raise RuntimeError("Prometheus stopped scraping the exporter")
            time.sleep(0.2)
        # Prometheus ingests a scrape shortly after it happens.
        time.sleep(0.3)


SERVERS_ = None


def setUpModule():
    global SERVERS_
    SERVERS_ = Servers()


def tearDownModule():
    if SERVERS_:
        SERVERS_.stop()


class LiveTest(unittest.TestCase):
    counter = 0

    def setUp(self):
        self.s = SERVERS_
        self.s.admin("POST", "/reset")
        self.s.admin("DELETE", "/log")
        self.s.admin("PUT", "/settings", {"sync_deployment_status": True})
        LiveTest.counter += 1
        # A namespace of its own per test: Prometheus remembers a minute.
        self.ns = "it-%d-%d" % (os.getpid() % 1000, LiveTest.counter)

    def run_wva(self, *args, env=None, kubeconfig=None, expect=None, timeout=60):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "PROMETHEUS_BASE_URL": self.s.prom_url,
             "KUBECONFIG": kubeconfig or self.s.kube["kubeconfig"],
             "HOME": self.s.dir}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        e.update(env or {})
        p = subprocess.run([BIN] + list(args), env=e, capture_output=True, text=True,
                           timeout=timeout)
        if expect is not None and p.returncode != expect:
            self.fail("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s"
                      % (p.returncode, expect, p.stdout[-3000:], p.stderr[-3000:]))
        return p

    def deployment(self, name, ns=None):
        return self.s.admin("GET", "/objects/deployments/%s/%s" % (ns or self.ns, name))

    def va(self, name, ns=None):
        return self.s.admin("GET", "/objects/variantautoscalings/%s/%s" % (ns or self.ns, name))

    def condition(self, va, ctype):
        for c in va.get("status", {}).get("conditions", []):
            if c["type"] == ctype:
                return c
        return None

    def two_variant_model(self, loads_l4, loads_h100, cluster=None, **kw):
        c = cluster or ms.Cluster()
        c.variant(self.ns, "m-l4", "m", accel="L4", cost="10.0", loads=loads_l4,
                  replicas=len(loads_l4), **kw)
        c.variant(self.ns, "m-h100", "m", accel="H100", cost="40.0", loads=loads_h100,
                  replicas=len(loads_h100), **kw)
        return c

    # ------------------------------------------------------------------
    def test_scale_up_cheapest_variant(self):
        c = self.two_variant_model([(0.76, 2)], [(0.75, 2)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        p = self.run_wva("--once", "--output", "json", expect=0)
        plan = json.loads(p.stdout)
        self.assertEqual(plan["mode"], "live")
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 2)
        self.assertEqual(self.deployment("m-h100")["spec"]["replicas"], 1)
        patches = [e for e in self.s.writes() if e["subresource"] == "scale"]
        self.assertEqual(len(patches), 1)
        self.assertEqual(patches[0]["content_type"], "application/merge-patch+json")
        self.assertIn("resourceVersion", patches[0]["body"]["metadata"])
        va = self.va("m-l4")
        self.assertEqual(va["status"]["desiredOptimizedAlloc"]["numReplicas"], 2)
        self.assertEqual(self.condition(va, "OptimizationReady")["status"], "True")
        events = self.s.admin("GET", "/objects/events?namespace=" + self.ns)["items"]
        self.assertEqual([e["reason"] for e in events], ["ScaledUp"])

    def test_scale_down_after_stabilization_window(self):
        c = ms.Cluster()
        c.configmap(self.ns, "wva-saturation-config",
                    {"default": "scaleDownStabilizationWindow: 4s\n"})
        last = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        c.variant(self.ns, "m-l4", "m", loads=ms.IDLE3, replicas=3,
                  status={"desiredOptimizedAlloc": {"numReplicas": 3, "accelerator": "L4",
                                                    "lastRunTime": last}})
        # A scale-up to 4 was recommended just now: inside the 4s window.
        c.vas[-1]["status"]["desiredOptimizedAlloc"]["numReplicas"] = 4
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        self.run_wva("--once", expect=0)
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 3)
        time.sleep(4.5)
        self.run_wva("--once", expect=0)
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 2)

    def test_prometheus_down_holds(self):
        c = self.two_variant_model(ms.IDLE3, [(0.1, 0)])
        self.s.load(c)
        p = self.run_wva("--once", env={"PROMETHEUS_BASE_URL": "http://127.0.0.1:9"}, expect=1)
        self.assertIn("Prometheus", p.stderr)
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 3)
        self.assertFalse([e for e in self.s.writes() if e["subresource"] == "scale"])
        cond = self.condition(self.va("m-l4"), "MetricsAvailable")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "PrometheusError"))

    def test_foreign_vas_untouched(self):
        c = ms.Cluster({})
        excluded = self.ns + "-x"
        c.namespace(excluded, annotations={"wva.llmd.ai/exclude": "true"})
        c.variant(excluded, "ex-l4", "ex", loads=[(0.9, 9)], replicas=1)
        c.variant(self.ns, "other-l4", "other", loads=[(0.9, 9)], replicas=1,
                  labels={"wva.llmd.ai/controller-instance": "b"})
        c.variant(self.ns, "mine-l4", "mine", loads=[(0.9, 9)], replicas=1,
                  labels={"wva.llmd.ai/controller-instance": "a"})
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        self.run_wva("--once", env={"CONTROLLER_INSTANCE": "a"}, expect=0)
        touched = {(e["namespace"], e["name"]) for e in self.s.writes()}
        self.assertNotIn((excluded, "ex-l4"), touched)
        self.assertNotIn((self.ns, "other-l4"), touched)
        self.assertIn((self.ns, "mine-l4"), touched)
        for e in self.s.writes():
            if e["resource"] == "events":
                self.assertEqual(e["body"]["involvedObject"]["name"], "mine-l4")

    def test_target_not_found_then_recovery(self):
        c = ms.Cluster()
        c.variant(self.ns, "ghost", "g", loads=None, replicas=1, deployment=False)
        self.s.load(c)
        self.run_wva("--once", expect=0)
        self.run_wva("--once", expect=0)
        cond = self.condition(self.va("ghost"), "TargetResolved")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "TargetNotFound"))
        events = [e for e in self.s.admin("GET", "/objects/events?namespace=" + self.ns)["items"]
                  if e["reason"] == "TargetNotFound"]
        self.assertEqual(len(events), 1, "one Event per change, not per run")
        # The Deployment appears: the VA recovers.
        c2 = ms.Cluster()
        c2.variant(self.ns, "ghost", "g", loads=[(0.5, 1)], replicas=1)
        self.s.load(c2)
        self.s.set_metrics(c2.exporter_pods)
        self.run_wva("--once", expect=0)
        cond = self.condition(self.va("ghost"), "TargetResolved")
        self.assertEqual((cond["status"], cond["reason"]), ("True", "TargetFound"))

    def test_conflict_and_throttle(self):
        c = self.two_variant_model([(0.76, 2)], [(0.75, 2)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        self.s.admin("PUT", "/faults", {"faults": [
            {"kind": "status", "status": 409, "method": "PATCH", "path": "/scale$", "count": 1},
            {"kind": "throttle", "retry_after": 1, "method": "PATCH", "path": "/status$",
             "count": 1}]})
        start = time.time()
        self.run_wva("--once", expect=0)
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 2)
        entries = self.s.log()
        scale = [e for e in entries if e["subresource"] == "scale"]
        self.assertEqual([e["status"] for e in scale if e["verb"] == "patch"], [409, 200])
        self.assertTrue(any(e["verb"] == "get" for e in scale), "re-read after 409")
        throttled = [e for e in entries if e["status"] == 429]
        self.assertEqual(len(throttled), 1)
        self.assertGreaterEqual(time.time() - start, 1.0, "Retry-After honoured")

    def test_config_enabled_label_any_boolean(self):
        """A namespace without VAs labelled wva.llmd.ai/config-enabled="1" is
        tracked (SPEC section 5: booleans accept 1/0, any case): its local
        ConfigMap is read and applied (an invalid entry in it is reported in
        the plan); one labelled "yes" is not a boolean and is not read."""
        c = self.two_variant_model([(0.5, 1)], [(0.5, 1)])
        labelled, junk = self.ns + "-one", self.ns + "-yes"
        c.namespace(labelled, labels={"wva.llmd.ai/config-enabled": "1"})
        c.namespace(junk, labels={"wva.llmd.ai/config-enabled": "yes"})
        for ns in (labelled, junk):
            c.configmap(ns, "wva-saturation-config", {"default": "kvCacheThreshold: 1.4\n"})
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        p = self.run_wva("--once", "--dry-run", "--output", "json", expect=0)
        gets = {e["namespace"] for e in self.s.log() if e["resource"] == "configmaps"
                and e["verb"] == "get" and e["name"] == "wva-saturation-config"}
        self.assertIn(labelled, gets)
        self.assertNotIn(junk, gets)
        warnings = json.loads(p.stdout)["warnings"]
        self.assertTrue(any(w.startswith("ConfigMap %s/wva-saturation-config key default: "
                                         % labelled) for w in warnings), warnings)
        self.assertFalse(any(junk in w for w in warnings), warnings)

    def test_global_opt_disabled(self):
        c = self.two_variant_model([(0.9, 9)], [(0.9, 9)])
        c.configmap(SYSTEM_NS, "wva-variantautoscaling-config", {"GLOBAL_OPT_ENABLE": "false"})
        self.s.load(c)
        p = self.run_wva(expect=0)
        self.assertIn("disabled", p.stderr)
        self.assertIn("ConfigMap", p.stderr)
        self.assertEqual(self.s.writes(), [])

    def test_interval_gate_and_lock(self):
        c = self.two_variant_model([(0.5, 1)], [(0.5, 1)])
        c.configmap(SYSTEM_NS, "wva-variantautoscaling-config", {"GLOBAL_OPT_INTERVAL": "10m"})
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        self.run_wva(expect=0)
        first = len(self.s.writes())
        self.assertGreater(first, 0)
        p = self.run_wva(expect=0)
        self.assertIn("interval", p.stderr)
        self.assertEqual(len(self.s.writes()), first, "a too-early run writes nothing")
        # Two concurrent --once runs: the Lease lets exactly one act.
        self.s.admin("DELETE", "/log")
        self.s.admin("PUT", "/faults", {"faults": [
            {"kind": "delay", "delay": 2, "method": "GET", "path": "/deployments$", "count": 1}]})
        env = {"PATH": os.environ.get("PATH", ""), "PROMETHEUS_BASE_URL": self.s.prom_url,
               "KUBECONFIG": self.s.kube["kubeconfig"], "HOME": self.s.dir}
        procs = [subprocess.Popen([BIN, "--once"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in procs]
        skipped = sum("another run" in err for _, err in outs)
        self.assertEqual(skipped, 1, [err for _, err in outs])
        lease_writes = [e for e in self.s.writes() if e["resource"] == "leases"
                        and e["status"] in (200, 201)]
        self.assertTrue(lease_writes)

    def test_sub_minute_interval_runs_several_cycles(self):
        c = self.two_variant_model([(0.5, 1)], [(0.5, 1)])
        c.configmap(SYSTEM_NS, "wva-variantautoscaling-config", {"GLOBAL_OPT_INTERVAL": "25s"})
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        start = time.time()
        self.run_wva(expect=0, timeout=90)
        elapsed = time.time() - start
        va_lists = [e for e in self.s.log() if e["verb"] == "list"
                    and e["resource"] == "variantautoscalings"]
        self.assertEqual(len(va_lists), 2, "floor(60s / 25s) = 2 cycles")
        self.assertGreaterEqual(elapsed, 25)
        self.assertLess(elapsed, 60)

    def test_run_deadline_stops_before_writing(self):
        c = self.two_variant_model([(0.9, 9)], [(0.9, 9)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        self.s.admin("PUT", "/faults", {"faults": [
            {"kind": "delay", "delay": 3, "method": "GET", "path": "/deployments$", "count": 1}]})
        p = self.run_wva("--once", env={"WVA_RUN_DEADLINE": "2s"}, expect=1)
        self.assertIn("deadline", p.stderr)
        self.assertEqual([e for e in self.s.writes() if e["resource"] != "leases"], [])
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 1)

    def test_metrics_actuation_needs_a_pushgateway(self):
        c = self.two_variant_model([(0.9, 9)], [(0.9, 9)])
        self.s.load(c)
        p = self.run_wva("--once", "--actuation", "metrics", expect=2)
        self.assertIn("Pushgateway", p.stderr)
        self.assertEqual(self.s.writes(), [])

    def test_dry_run_writes_nothing(self):
        c = self.two_variant_model([(0.9, 9)], [(0.9, 9)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        p = self.run_wva("--once", "--dry-run", "--output", "json", expect=0)
        self.assertEqual(json.loads(p.stdout)["mode"], "dry-run")
        self.assertEqual(self.s.writes(), [])

    def test_client_certificate_kubeconfig_and_no_token_in_logs(self):
        c = self.two_variant_model([(0.9, 9)], [(0.5, 1)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        snap = os.path.join(self.s.dir, "snap-%s.json" % self.ns)
        p = self.run_wva("--once", "--dry-run", "--output", "json", "--snapshot-out", snap,
                         "-v", "2", kubeconfig=self.s.kube["kubeconfig_cert"], expect=0)
        auths = {e["auth"] for e in self.s.log() if e["path"].startswith(("/api", "/apis"))}
        self.assertEqual(auths, {"cert"})
        token = self.s.kube["token"]
        p2 = self.run_wva("--once", "--dry-run", "-v", "2", "--log-format", "json", expect=0)
        with open(snap) as f:
            recorded = f.read()
        for text in (p.stdout, p.stderr, p2.stdout, p2.stderr, recorded):
            self.assertNotIn(token, text)
        # The recorded snapshot replays to the same plan.
        replay = self.run_wva("--from-file", snap, "--output", "json", expect=0)
        live_plan, replay_plan = json.loads(p.stdout), json.loads(replay.stdout)
        strip = lambda plan: [(v["namespace"], v["name"], v["targetReplicas"], v["action"],
                               v["skipReason"]) for v in plan["variants"]]
        self.assertEqual(strip(live_plan), strip(replay_plan))

    def test_insecure_tls_is_logged_loudly(self):
        c = self.two_variant_model([(0.5, 1)], [(0.5, 1)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        path = os.path.join(self.s.dir, "kubeconfig-insecure")
        with open(self.s.kube["kubeconfig"]) as f:
            text = f.read()
        lines = [l for l in text.splitlines() if "certificate-authority" not in l]
        text = "\n".join(lines).replace("    server:", "    insecure-skip-tls-verify: true\n    server:")
        with open(path, "w") as f:
            f.write(text + "\n")
        p = self.run_wva("--once", "--dry-run", kubeconfig=path, expect=0)
        self.assertRegex(p.stderr, r"level=warning[^\n]*(TLS|tls)[^\n]*(verif|insecure)")
        # Verification is on by default: the same kubeconfig without the CA and
        # without the insecure flag fails the TLS handshake.
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = self.run_wva("--once", "--dry-run", kubeconfig=path, expect=1)
        self.assertRegex(p.stderr, r"(?i)certificate|SSL|TLS")

    def test_no_core_dump_holds_secrets(self):
        """A crash never writes the token into a core dump (the process makes
        itself non-dumpable)."""
        c = self.two_variant_model([(0.5, 1)], [(0.5, 1)])
        self.s.load(c)
        self.s.admin("PUT", "/faults", {"faults": [
            {"kind": "delay", "delay": 3, "method": "GET", "path": "variantautoscalings",
             "count": 1}]})
        work = tempfile.mkdtemp(prefix="wva-core-", dir=self.s.dir)
        limit = "ulimit -c unlimited; "
        env = dict(os.environ, KUBECONFIG=self.s.kube["kubeconfig"],
                   PROMETHEUS_BASE_URL=self.s.prom_url,
                   ASAN_OPTIONS="disable_coredump=0:abort_on_error=1:detect_leaks=0")
        # Positive control: in this directory a crashing process does dump core.
        subprocess.run(["bash", "-c", limit + "exec python3 -c 'import os; os.abort()'"],
                       cwd=work, env=env, capture_output=True)
        cores = [f for f in os.listdir(work) if f.startswith("core")]
        self.assertTrue(cores, "this machine writes no core files to the working directory "
                        "(see /proc/sys/kernel/core_pattern); the check below needs them")
        for f in cores:
            os.unlink(os.path.join(work, f))
        p = subprocess.Popen(["bash", "-c", limit + 'exec "$0" --once --dry-run', BIN],
                             cwd=work, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(1.5)  # inside the delayed list: the token is in memory
        p.send_signal(6)
        p.wait(timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual([f for f in os.listdir(work) if f.startswith("core")], [])


if __name__ == "__main__":
    if not os.access(BIN, os.X_OK):
        sys.exit("WVA_BIN %s is not an executable" % BIN)
    unittest.main()
