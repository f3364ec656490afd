#!/usr/bin/env python3
"""Integration tests: the Pushgateway push of a live run (SPEC section 7).

The real wva-optimizer binary runs live against the Kubernetes API test
server and a real Prometheus (as in test_live.py), with a REAL Pushgateway
(Debian prometheus-pushgateway) that the same Prometheus scrapes with
honor_labels.  Checks go through Prometheus's query API, as an HPA's
metrics adapter would see the values, or the Pushgateway's own API.

Each test uses a controller instance of its own (so a Pushgateway group of
its own) and a namespace of its own.  A missing Pushgateway binary is a
failure, not a skip: scripts/install-deps.sh installs it.

Run: WVA_BIN=path/to/wva-optimizer python3 tests/integration/test_pushgw.py -v
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_live as tl  # noqa: E402  (servers, scenario builder, binary path)

ms = tl.ms
PUSHGATEWAY_BIN = os.environ.get("PUSHGATEWAY_BIN", "/usr/bin/prometheus-pushgateway")
INSTANCE_LABEL = "wva.llmd.ai/controller-instance"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


class PushServers(tl.Servers):
    """test_live's servers plus a Pushgateway, which Prometheus scrapes as a
    second target of its honor_labels job."""

    def __init__(self):
        if not os.access(PUSHGATEWAY_BIN, os.X_OK):
            raise RuntimeError("%s is missing: install the Debian package "
                               "prometheus-pushgateway (scripts/install-deps.sh)"
                               % PUSHGATEWAY_BIN)
        self.dir = tempfile.mkdtemp(prefix="wva-pgw-it-")
        self.procs, self.files = [], []
        self.prom_dir = os.path.join(self.dir, "prom")
        try:
            self._start_all()
        except Exception:
            self.stop()
            raise

    def _start_pushgateway(self):
        pdir = os.path.join(self.dir, "pushgateway")
        os.makedirs(pdir)
        for _ in range(3):
            port = free_port()
            proc = subprocess.Popen(
                [PUSHGATEWAY_BIN, "--web.listen-address=127.0.0.1:%d" % port,
                 "--persistence.file=", "--log.level=warn"],
                stdout=subprocess.DEVNULL, stderr=self._log(pdir))
            url = "http://127.0.0.1:%d" % port
            deadline = time.time() + 15
            while time.time() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(url + "/-/ready", timeout=1) as r:
                        if r.status == 200:
                            self.procs.append(proc)
                            return port, url
                except OSError:
                    time.sleep(0.1)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                break
        raise RuntimeError("the Pushgateway did not start (see %s)" % pdir)

    def _start_all(self):
        self.pgw_port, self.pgw_url = self._start_pushgateway()
        kdir = os.path.join(self.dir, "kube")
        os.makedirs(kdir)
        ready = os.path.join(kdir, "ready.json")
        self.procs.append(subprocess.Popen(
            [sys.executable, os.path.join(tl.SERVERS, "kubeapi.py"), "--state-dir", kdir,
             "--ready-file", ready, "--sync-deployment-status"],
            stdout=subprocess.DEVNULL, stderr=self._log(kdir)))
        self.kube = self._wait_ready(ready)
        edir = os.path.join(self.dir, "exporter")
        os.makedirs(edir)
        eready = os.path.join(edir, "ready.json")
        self.procs.append(subprocess.Popen(
            [sys.executable, os.path.join(tl.SERVERS, "vllm_exporter.py"), "--state-dir", edir,
             "--ready-file", eready],
            stdout=subprocess.DEVNULL, stderr=self._log(edir)))
        self.exporter = self._wait_ready(eready)
        out = subprocess.run(["bash", os.path.join(tl.SERVERS, "prometheus.sh"), "start",
                              self.prom_dir, "%s,%s" % (self.exporter["port"], self.pgw_port)],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError("prometheus did not start: " + out.stderr[-2000:])
        self.prom_url = "http://127.0.0.1:%s" % out.stdout.strip().splitlines()[-1]

    def stop(self):
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, promql):
        """The series of an instant query: [(labels, value)]."""
        doc = get_json(self.prom_url + "/api/v1/query?" +
                       urllib.parse.urlencode({"query": promql}))
        return [(r["metric"], float(r["value"][1])) for r in doc["data"]["result"]]

    def pushgateway_groups(self):
        """The Pushgateway's groups as a list of label dicts."""
        doc = get_json(self.pgw_url + "/api/v1/metrics")
        return [g["labels"] for g in doc["data"]]


SERVERS_ = None


def setUpModule():
    global SERVERS_
    SERVERS_ = PushServers()


def tearDownModule():
    if SERVERS_:
        SERVERS_.stop()


class PushgatewayTest(unittest.TestCase):
    """Borrows test_live's helpers (not its tests)."""
    counter = 0
    run_wva = tl.LiveTest.run_wva
    deployment = tl.LiveTest.deployment
    two_variant_model = tl.LiveTest.two_variant_model

    def setUp(self):
        self.s = SERVERS_
        self.s.admin("POST", "/reset")
        self.s.admin("DELETE", "/log")
        self.s.admin("PUT", "/settings", {"sync_deployment_status": True})
        PushgatewayTest.counter += 1
        # Prometheus remembers a minute: a namespace and instance per test.
        self.ns = "pgw-%d-%d" % (os.getpid() % 1000, PushgatewayTest.counter)
        self.instance = "pgw%d-%d" % (os.getpid() % 1000, PushgatewayTest.counter)

    def cluster(self, loads_l4, loads_h100):
        labels = {INSTANCE_LABEL: self.instance}
        return self.two_variant_model(loads_l4, loads_h100, labels=labels)

    def run_push(self, *args, expect, env=None):
        e = {"CONTROLLER_INSTANCE": self.instance, "WVA_PUSHGATEWAY_URL": self.s.pgw_url}
        e.update(env or {})
        return self.run_wva("--once", *args, env=e, expect=expect)

    def wait_series(self, promql, want, timeout=20):
        """Poll Prometheus until promql has one series with value want."""
        deadline = time.time() + timeout
        got = None
        while time.time() < deadline:
            got = self.s.query(promql)
            if len(got) == 1 and abs(got[0][1] - want) < 1e-9:
                return got[0][0]
            time.sleep(0.2)
        self.fail("%s: %r after %ds, expected one series of value %r"
                  % (promql, got, timeout, want))

    def sel(self, name, **labels):
        labels.setdefault("instance", self.instance)
        return "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in sorted(labels.items())))

    # ------------------------------------------------------------------
    def test_live_run_publishes_plan_metrics(self):
        c = self.cluster([(0.76, 2)], [(0.75, 2)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        start = time.time()
        self.run_push(expect=0)
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 2)
        labels = self.wait_series(self.sel("wva_desired_replicas", variant_name="m-l4"), 2)
        self.assertEqual(labels, {
            "__name__": "wva_desired_replicas", "job": "wva-optimizer",
            "instance": self.instance, "controller_instance": self.instance,
            "namespace": self.ns, "variant_name": "m-l4", "accelerator_type": "L4"})
        self.wait_series(self.sel("wva_current_replicas", variant_name="m-l4"), 1)
        self.wait_series(self.sel("wva_desired_ratio", variant_name="m-l4"), 2)
        self.wait_series(self.sel("wva_desired_replicas", variant_name="m-h100"), 1)
        self.wait_series(self.sel("wva_optimizer_variants", state="scaled_up"), 1)
        self.wait_series(self.sel("wva_optimizer_variants", state="optimized"), 2)
        (_, ts), = self.s.query(self.sel("wva_optimizer_last_success_timestamp_seconds",
                                         kind="success"))
        self.assertGreaterEqual(ts, start - 1)
        self.assertLessEqual(ts, time.time() + 1)
        (_, seconds), = self.s.query(self.sel("wva_optimizer_run_duration_seconds"))
        self.assertGreater(seconds, 0)

    def test_actuation_metrics_publishes_without_scaling(self):
        c = self.cluster([(0.76, 2)], [(0.75, 2)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        self.run_push("--actuation", "metrics", expect=0)
        self.assertEqual(self.deployment("m-l4")["spec"]["replicas"], 1)
        self.assertFalse([e for e in self.s.writes() if e["subresource"] == "scale"])
        self.wait_series(self.sel("wva_desired_replicas", variant_name="m-l4",
                                  namespace=self.ns), 2)

    def test_failed_run_keeps_last_success(self):
        c = self.cluster([(0.5, 1)], [(0.5, 1)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        self.run_push(expect=0)
        success_q = self.sel("wva_optimizer_last_success_timestamp_seconds", kind="success")
        push_q = 'push_time_seconds{instance="%s",kind=""}' % self.instance
        self.wait_series(self.sel("wva_desired_replicas", variant_name="m-l4"), 1)
        (_, first), = self.s.query(success_q)
        (_, pushed), = self.s.query(push_q)
        # Prometheus unreachable: exit 1, replicas held, still pushed.
        self.run_push(env={"PROMETHEUS_BASE_URL": "http://127.0.0.1:9"}, expect=1)
        deadline = time.time() + 20
        while self.s.query(push_q)[0][1] <= pushed:
            if time.time() > deadline:
                self.fail("the failed run did not push to the main group")
            time.sleep(0.2)
        # That scrape would have dropped the success series had the push
        # replaced it.
        (_, now), = self.s.query(success_q)
        self.assertEqual(now, first)
        self.wait_series(self.sel("wva_desired_replicas", variant_name="m-l4"), 1)

    def test_dry_run_and_replay_push_nothing(self):
        c = self.cluster([(0.9, 9)], [(0.9, 9)])
        self.s.load(c)
        self.s.set_metrics(c.exporter_pods)
        snap = os.path.join(self.s.dir, "snap-%s.json" % self.ns)
        self.run_push("--dry-run", "--snapshot-out", snap, "--pushgateway", self.s.pgw_url,
                      expect=0)
        self.run_wva("--from-file", snap, "--pushgateway", self.s.pgw_url, expect=0)
        self.assertNotIn(self.instance,
                         [g.get("instance") for g in self.s.pushgateway_groups()])


if __name__ == "__main__":
    if not os.access(tl.BIN, os.X_OK):
        sys.exit("WVA_BIN %s is not an executable" % tl.BIN)
    unittest.main()
