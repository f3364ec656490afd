#!/usr/bin/env python3
"""Integration tests against a REAL Kubernetes control plane: etcd,
kube-apiserver and kube-controller-manager built from Kubernetes' released
Go modules by scripts/realkube.sh (tests/servers/realkube.py drives it), a
real Prometheus scraping the vLLM-format exporter, all on 127.0.0.1.

What the Python API test server (tests/servers/kubeapi.py) only imitates is
checked here on the real thing:

- Manifests: `kubectl apply -k cronjob/` (every manifest validated by the
  server, the CRD Established), the examples accepted, bad VAs rejected by
  the real CRD schema, the limited-mode overlay accepted.
- Live: the binary (WVA_BIN) runs as the CronJob's ServiceAccount with a
  TokenRequest token and only the RBAC of cronjob/ (the real authorizer):
  scale-up, scale-down after the stabilization window (in a watch
  namespace), TargetNotFound, InvalidSpec, a namespace excluded by
  annotation, a controller instance, a GPU-limited run (the limited-mode
  component applied; GPU nodes created through the API), a dry run (no
  write, resourceVersions unchanged), doctor.  A Deployment really gets a
  ReplicaSet and pods from the controllers; a kubelet's part (pods bound,
  Running and Ready) is played through the pod binding and status
  subresources.
- Semantics: a /scale patch with a stale resourceVersion (409, re-read,
  decided once), two runs racing for the Lease, pod lists of more than 500
  items in pages with real continue tokens, Events accepted and written once
  per change, a Deployment deleted mid-run and one being deleted.
- Upstream's CRD installed instead of the project's ($WVA_UPSTREAM_CRD, else
  the stand-in tests/fixtures/upstream-compat-crd.yaml): every status write
  is accepted (SPEC section 1).
- Least privilege, confirmed by the real server: every request of every run
  (from the API server's audit log) was allowed, and every permission the
  manifests grant was used.

The control plane starts once (the first start builds it: about 30 minutes
on 2 cores; later starts take seconds).  Needs go, openssl, curl,
prometheus, python3-yaml.

Run: WVA_BIN=build-test/wva-optimizer python3 tests/integration/test_realkube.py -v
"""
import atexit
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "servers"))
sys.path.insert(0, os.path.join(TOP, "tests", "manifests"))
from realkube import ApiError, RealKube, request_of, utc_now  # noqa: E402
import test_manifests as tm  # noqa: E402

BIN = tm.BIN
SERVERS = os.path.join(TOP, "tests", "servers")
CRONJOB = tm.CRONJOB
SYSTEM_NS = tm.SYSTEM_NS
SA_USER = "system:serviceaccount:%s:wva-optimizer" % SYSTEM_NS
VA_API = "/apis/llmd.ai/v1alpha1"
CRD_NAME = "variantautoscalings.llmd.ai"
UPSTREAM_FIXTURE = os.path.join(TOP, "tests", "fixtures", "upstream-compat-crd.yaml")
L4, H100 = "NVIDIA-L4", "NVIDIA-H100-80GB-HBM3"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")

KUBE = None          # RealKube
MON = None           # Monitoring
RUNS = []            # every binary run: dict(name, objs, events), for least privilege
APPLY = {}           # the result of `kubectl apply -k cronjob/`


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
    return json.loads(text) if text else None


class Monitoring:
    """vllm_exporter.py and a real Prometheus scraping it every second."""

    def __init__(self, directory):
        self.dir = directory
        edir = os.path.join(directory, "exporter")
        os.makedirs(edir)
        ready = os.path.join(edir, "ready.json")
        self.err = open(os.path.join(edir, "err"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SERVERS, "vllm_exporter.py"), "--state-dir", edir,
             "--ready-file", ready], stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 60
        while not (os.path.exists(ready) and os.path.getsize(ready) > 0):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("vllm_exporter.py did not start")
            time.sleep(0.05)
        time.sleep(0.05)
        with open(ready) as f:
            self.exporter = json.load(f)
        self.prom_dir = os.path.join(directory, "prom")
        out = subprocess.run(["bash", os.path.join(SERVERS, "prometheus.sh"), "start",
                              self.prom_dir, str(self.exporter["port"])],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            self.stop()
            raise RuntimeError("prometheus did not start: " + out.stderr[-2000:])
        self.prom_url = "http://127.0.0.1:%s" % out.stdout.strip().splitlines()[-1]

    def stop(self):
        subprocess.run(["bash", os.path.join(SERVERS, "prometheus.sh"), "stop", self.prom_dir],
                       capture_output=True, timeout=30)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def set_metrics(self, pods):
        """Replaces every exported series; returns once Prometheus has them."""
        url = self.exporter["url"]
        before = http("GET", url + "/scrapes")["count"]
        http("PUT", url + "/control", {"pods": pods, "gateway": []})
        deadline = time.time() + 20
        while http("GET", url + "/scrapes")["count"] < before + 2:
            if time.time() > deadline:
                raise RuntimeError("Prometheus stopped scraping the exporter")
            time.sleep(0.2)
        time.sleep(0.3)


class PromGate:
    """A pass-through proxy to Prometheus that can hold a run's first query.

    The binary reads the cluster, then queries Prometheus, then writes: a
    run held at its first query has its snapshot and holds the Lease, so a
    test can change the cluster between the snapshot and the writes."""

    def __init__(self, target):
        self.target = target
        self.entered = threading.Event()
        self.release = threading.Event()
        self.armed = False
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if gate.armed:
                    gate.armed = False
                    gate.entered.set()
                    gate.release.wait(30)
                req = urllib.request.Request(gate.target + self.path, data=body,
                                             method=self.command)
                for h in ("Content-Type", "Accept"):
                    if self.headers.get(h):
                        req.add_header(h, self.headers[h])
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        code, text, ctype = r.status, r.read(), r.headers.get("Content-Type")
                except urllib.error.HTTPError as e:
                    code, text, ctype = e.code, e.read(), e.headers.get("Content-Type")
                self.send_response(code)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            do_GET = do_POST = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def arm(self):
        self.entered.clear()
        self.release.clear()
        self.armed = True

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# Module set-up: one control plane, the manifests applied, one Prometheus
# ---------------------------------------------------------------------------

def setUpModule():
    global KUBE, MON
    KUBE = RealKube.start()
    sys.stderr.write("realkube: control plane ready in %.1fs (%s)\n"
                     % (KUBE.start_seconds, KUBE.dir))
    try:
        MON = Monitoring(tempfile.mkdtemp(prefix="wva-rk-mon-"))
        p = KUBE.kubectl("apply", "-k", CRONJOB, check=False)
        APPLY.update(returncode=p.returncode, stdout=p.stdout, stderr=p.stderr)
        if p.returncode == 0:
            KUBE.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                         "crd/" + CRD_NAME)
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    global KUBE, MON
    if MON:
        MON.stop()
        MON = None
    if KUBE:
        KUBE.stop()
        if os.environ.get("WVA_REALKUBE_KEEP") != "1":
            shutil.rmtree(KUBE.dir, ignore_errors=True)
        KUBE = None


# Whatever happens to the test runner, nothing is left running.
atexit.register(tearDownModule)


def ensure_project_crd():
    """The project's CRD installed (a test class may have swapped it)."""
    crd = KUBE.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + CRD_NAME)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    if "minReplicas" not in spec["properties"]:
        install_crd(None)


def install_crd(path):
    """Replaces the VariantAutoscaling CRD (and so every VA) with the one in
    path, or the project's (kubectl apply -k cronjob/) when path is None."""
    KUBE.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true",
                 timeout=120)
    if path:
        KUBE.kubectl("create", "-f", path)
    else:
        KUBE.kubectl("apply", "-k", CRONJOB)
    KUBE.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/" + CRD_NAME)
    # Discovery of the new CRD by every API server cache: a VA list answers.
    deadline = time.time() + 30
    while True:
        try:
            KUBE.get(VA_API + "/variantautoscalings?limit=1")
            return
        except ApiError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

class Scenario:
    """What one test namespace needs: objects, metrics, the binary's runs."""

    counter = 0

    def __init__(self, prefix):
        Scenario.counter += 1
        self.ns = "%s-%d-%d" % (prefix, os.getpid() % 1000, Scenario.counter)
        self.namespaces = [self.ns]
        self.metrics = []
        KUBE.namespace(self.ns)

    def extra_namespace(self, suffix, **kw):
        name = self.ns + "-" + suffix
        KUBE.namespace(name, **kw)
        self.namespaces.append(name)
        return name

    def variant(self, name, model, accelerator=L4, cost="10.0", replicas=1, loads=None,
                ns=None, node=None, va_labels=None, spec=None, gpus=1):
        """A Deployment whose pods are Ready and a VA for it; loads is one
        (kv, queue) per pod (None: pods without metrics)."""
        ns = ns or self.ns
        pods = KUBE.running_deployment(ns, name, replicas, node=node, accelerator=accelerator,
                                       gpus=gpus) if replicas else []
        if not replicas:
            KUBE.deployment(ns, name, replicas=0, accelerator=accelerator, gpus=gpus)
        KUBE.va(ns, name, model, cost=cost, accelerator=accelerator, labels=va_labels,
                spec=spec)
        for pod, load in zip(pods, loads or []):
            self.metrics.append({"namespace": ns, "pod": pod, "model_name": model,
                                 "kv": load[0], "queue": load[1]})
        return pods

    def publish(self):
        MON.set_metrics(self.metrics)

    def cleanup(self):
        """VAs deleted at once (later runs must not see them); the
        namespaces go in the background."""
        for ns in self.namespaces:
            try:
                KUBE.api("DELETE", "%s/namespaces/%s/variantautoscalings" % (VA_API, ns),
                         ok=(200, 404))
                KUBE.delete("/api/v1/namespaces/" + ns)
            except (ApiError, OSError):
                pass


class Run:
    def __init__(self, name, proc, events, objs):
        self.name, self.proc, self.events, self.objs = name, proc, events, objs

    def requests(self):
        """Counter of (verb, resource[/subresource]) of the run's requests."""
        return collections.Counter(request_of(e) for e in self.events)

    def writes(self):
        return [e for e in self.events if e["verb"] in WRITE_VERBS]

    def codes(self, verb, resource):
        return [e["responseStatus"]["code"] for e in self.events
                if request_of(e) == (verb, resource)]


class Binary:
    """Runs the binary as the CronJob's ServiceAccount (a TokenRequest
    token, a kubeconfig without exec plugin) with the CronJob's args and
    env, PROMETHEUS_BASE_URL pointed at the test Prometheus."""

    token_kubeconfig = None

    @classmethod
    def setup_identity(cls, workdir):
        """One token for the whole module (kept with the control plane)."""
        del workdir
        if not cls.token_kubeconfig:
            token = KUBE.token(SYSTEM_NS, "wva-optimizer", 3600)
            cls.token_kubeconfig = KUBE.token_kubeconfig(
                os.path.join(KUBE.dir, "wva-optimizer.kubeconfig"), token)

    @classmethod
    def env_args(cls, name, objs, workdir, extra_env=None, prom_url=None):
        wd = os.path.join(workdir, name)
        os.makedirs(wd, exist_ok=True)
        args, env = tm.cronjob_invocation(objs, wd)
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": wd,
                "KUBECONFIG": cls.token_kubeconfig,
                "PROMETHEUS_BASE_URL": prom_url or MON.prom_url}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                full[k] = os.environ[k]
        full.update(env)
        full.update(extra_env or {})
        return [BIN] + args, full

    @classmethod
    def run(cls, name, workdir, extra_args=(), extra_env=None, objs=None, prom_url=None,
            timeout=90):
        objs = objs or tm.BASE
        argv, env = cls.env_args(name, objs, workdir, extra_env, prom_url)
        mark = KUBE.audit_mark()
        p = subprocess.run(argv + list(extra_args), env=env, capture_output=True, text=True,
                           timeout=timeout)
        return cls.finish(name, p, mark, objs)

    @classmethod
    def start(cls, name, workdir, extra_args=(), extra_env=None, prom_url=None):
        argv, env = cls.env_args(name, tm.BASE, workdir, extra_env, prom_url)
        return subprocess.Popen(argv + list(extra_args), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    @classmethod
    def finish(cls, name, proc, mark, objs=None):
        events = settled_audit(mark)
        run = Run(name, proc, events, objs or tm.BASE)
        RUNS.append(run)
        return run


def settled_audit(mark):
    """The ServiceAccount's audit events since mark, once the log stops
    growing (an event is written when its response completes)."""
    size, stable = -1, 0
    while stable < 3:
        s = KUBE.audit_mark()
        stable = stable + 1 if s == size else 0
        size = s
        time.sleep(0.1)
    return KUBE.audit(since=mark, user=SA_USER)


def condition(va, ctype):
    for c in va.get("status", {}).get("conditions", []):
        if c["type"] == ctype:
            return c
    return None


def va_events(ns, name=None):
    items = KUBE.get("/api/v1/namespaces/%s/events" % ns)["items"]
    return sorted((e for e in items if e["involvedObject"].get("kind") == "VariantAutoscaling"
                   and (name is None or e["involvedObject"]["name"] == name)),
                  key=lambda e: e["metadata"]["creationTimestamp"])


def replicas(ns, name):
    return KUBE.get_deployment(ns, name)["spec"]["replicas"]


class RealKubeCase(unittest.TestCase):
    def assertExit(self, run, code):
        p = run.proc
        self.assertEqual(p.returncode, code, "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s"
                         % (run.name, p.returncode, code, p.stdout[-2000:], p.stderr[-4000:]))

    def assertAllowed(self, run):
        denied = ["%s %s -> %d" % (e["verb"], e["requestURI"], e["responseStatus"]["code"])
                  for e in run.events if e["responseStatus"]["code"] in (401, 403)]
        self.assertEqual(denied, [], "%s: requests the real authorizer refused" % run.name)


# ---------------------------------------------------------------------------
# The manifests on a real API server
# ---------------------------------------------------------------------------

class Manifests(RealKubeCase):
    def test_apply_kustomization(self):
        """`kubectl apply -k cronjob/`: every object accepted and stored,
        the CRD Established."""
        self.assertEqual(APPLY["returncode"], 0, APPLY["stderr"])
        for o in tm.BASE:
            md = o["metadata"]
            args = ["get", o["kind"].lower() + "." + o["apiVersion"].split("/")[0]
                    if "/" in o["apiVersion"] else o["kind"].lower(), md["name"], "-o", "json"]
            if md.get("namespace"):
                args += ["-n", md["namespace"]]
            got = json.loads(KUBE.kubectl(*args).stdout)
            self.assertEqual(got["kind"], o["kind"])
        crd = KUBE.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + CRD_NAME)
        est = [c for c in crd["status"]["conditions"] if c["type"] == "Established"]
        self.assertEqual(est[0]["status"], "True")
        # The short name and printer columns are served.
        out = KUBE.kubectl("get", "va", "-A").stdout + KUBE.kubectl("get", "va", "-A").stderr
        self.assertTrue("No resources found" in out or "MODEL" in out, out)

    def test_examples_accepted(self):
        ensure_project_crd()
        examples = os.path.join(CRONJOB, "examples")
        docs = [d for f in sorted(os.listdir(examples))
                for d in tm.load_docs(os.path.join(examples, f))]
        nss = sorted({d["metadata"]["namespace"] for d in docs})
        for ns in nss:
            KUBE.namespace(ns)
        try:
            p = KUBE.kubectl("apply", "-f", examples)
            self.assertIn("created", p.stdout)
            for d in docs:
                got = KUBE.get_va(d["metadata"]["namespace"], d["metadata"]["name"])
                # Defaults of the schema applied by the server.
                self.assertEqual(got["spec"]["variantCost"], d["spec"].get("variantCost", "10.0"))
        finally:
            KUBE.kubectl("delete", "-f", examples, "--ignore-not-found", "--wait=true")
            for ns in nss:
                KUBE.delete("/api/v1/namespaces/" + ns)

    def test_bad_vas_rejected_by_the_crd_schema(self):
        ensure_project_crd()
        ns = "rk-bad-%d" % (os.getpid() % 1000)
        KUBE.namespace(ns)
        path = "%s/namespaces/%s/variantautoscalings?dryRun=All&fieldValidation=Strict" % (
            VA_API, ns)

        def va(mutate=None):
            v = {"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
                 "metadata": {"name": "v", "namespace": ns},
                 "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"},
                          "modelID": "m", "variantCost": "12.5"}}
            if mutate:
                mutate(v["spec"])
            return v

        KUBE.api("POST", path, va())                      # the good one (dry run)
        cases = [
            ("variantCost ten", lambda s: s.update(variantCost="ten"), "spec.variantCost"),
            ("variantCost 1.", lambda s: s.update(variantCost="1."), "spec.variantCost"),
            ("number cost", lambda s: s.update(variantCost=10), "spec.variantCost"),
            ("no modelID", lambda s: s.pop("modelID"), "spec.modelID"),
            ("empty modelID", lambda s: s.update(modelID=""), "spec.modelID"),
            ("no target name", lambda s: s["scaleTargetRef"].pop("name"),
             "spec.scaleTargetRef.name"),
            ("negative minReplicas", lambda s: s.update(minReplicas=-1), "spec.minReplicas"),
            ("string maxReplicas", lambda s: s.update(maxReplicas="3"), "spec.maxReplicas"),
            ("PromQL in a metric name",
             lambda s: s.update(metrics=[{"name": 'x{a="b"}', "target": 1}]),
             "spec.metrics[0].name"),
            ("zero metric target", lambda s: s.update(metrics=[{"name": "vllm:x", "target": 0}]),
             "spec.metrics[0].target"),
            ("unknown field", lambda s: s.update(maxReplica=3), "maxReplica"),
        ]
        for label, mutate, field in cases:
            with self.subTest(label):
                with self.assertRaises(ApiError) as cm:
                    KUBE.api("POST", path, va(mutate))
                self.assertIn(cm.exception.code, (400, 422))
                self.assertIn(field, cm.exception.body["message"])
        KUBE.delete("/api/v1/namespaces/" + ns)

    def test_limited_mode_overlay_accepted(self):
        overlay = tempfile.mkdtemp(prefix="wva-rk-overlay-")
        try:
            write_limited_overlay(overlay)
            p = KUBE.kubectl("apply", "-k", overlay, "--dry-run=server")
            self.assertIn("clusterrole.rbac.authorization.k8s.io/wva-optimizer-nodes", p.stdout)
        finally:
            shutil.rmtree(overlay, ignore_errors=True)


def write_limited_overlay(directory):
    with open(os.path.join(directory, "kustomization.yaml"), "w") as f:
        f.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                "resources: [%s]\ncomponents: [%s]\n"
                % (os.path.relpath(CRONJOB, directory),
                   os.path.relpath(tm.LIMITED_COMPONENT, directory)))


# ---------------------------------------------------------------------------
# Live runs as the CronJob's ServiceAccount
# ---------------------------------------------------------------------------

class Live(RealKubeCase):
    """Every scenario runs once (setUpClass); the tests check the results."""

    results = {}
    errors = {}

    @classmethod
    def setUpClass(cls):
        ensure_project_crd()
        cls.workdir = tempfile.mkdtemp(prefix="wva-rk-live-")
        Binary.setup_identity(cls.workdir)
        for name in ("scale_up", "steady", "scale_down", "target_not_found", "invalid_spec",
                     "excluded_namespace", "instance", "limited_mode", "dry_run", "doctor"):
            try:
                cls.results[name] = getattr(cls, "scenario_" + name)()
            except Exception as e:  # reported by the test that needs it
                cls.errors[name] = "%s: %s" % (type(e).__name__, e)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def need(self, name):
        if name in self.errors:
            self.fail("scenario %s could not run: %s" % (name, self.errors[name]))
        return self.results[name]

    @classmethod
    def run_wva(cls, name, *args, **kw):
        return Binary.run(name, cls.workdir, args, **kw)

    # -- scenarios -----------------------------------------------------------
    @classmethod
    def scenario_scale_up(cls):
        s = Scenario("rk-up")
        s.variant("m-l4", "m", L4, "10.0", 1, [(0.76, 2)])
        s.variant("m-h100", "m", H100, "40.0", 1, [(0.75, 2)])
        s.publish()
        r = {"first": cls.run_wva("scale_up", "--once", "--output", "json")}
        r["l4"], r["h100"] = replicas(s.ns, "m-l4"), replicas(s.ns, "m-h100")
        r["pods"] = KUBE.wait_pods(s.ns, "m-l4", r["l4"])    # the controllers' work
        r["va"] = KUBE.get_va(s.ns, "m-l4")
        r["events"] = va_events(s.ns)
        s.cleanup()
        return r

    @classmethod
    def scenario_steady(cls):
        """Load within the thresholds: the first run writes statuses, the
        next one only takes and releases the Lease."""
        s = Scenario("rk-steady")
        s.variant("m-l4", "m", L4, "10.0", 2, [(0.5, 1), (0.5, 1)])
        s.publish()
        r = {"first": cls.run_wva("steady_first", "--once"), "second": cls.run_wva("steady", "--once")}
        s.cleanup()
        return r

    @classmethod
    def scenario_scale_down(cls):
        s = Scenario("rk-down")
        KUBE.configmap(s.ns, "wva-saturation-config",
                       {"default": "scaleDownStabilizationWindow: 4s\n"})
        s.variant("m-l4", "m", L4, "10.0", 3, [(0.20, 1), (0.30, 1), (0.25, 1)])
        # A scale-up to 4 was recommended just now: inside the 4 s window.
        KUBE.merge_patch("%s/namespaces/%s/variantautoscalings/m-l4/status" % (VA_API, s.ns),
                         {"status": {"desiredOptimizedAlloc": {
                             "numReplicas": 4, "accelerator": L4, "lastRunTime": utc_now()}}})
        s.publish()
        env = {"WATCH_NAMESPACE": s.ns}
        r = {"held": cls.run_wva("scale_down_held", "--once", extra_env=env)}
        r["held_replicas"] = replicas(s.ns, "m-l4")
        time.sleep(4.5)
        r["down"] = cls.run_wva("scale_down", "--once", extra_env=env)
        r["replicas"] = replicas(s.ns, "m-l4")
        r["pods"] = KUBE.wait_pods(s.ns, "m-l4", r["replicas"])
        s.cleanup()
        return r

    @classmethod
    def scenario_target_not_found(cls):
        s = Scenario("rk-ghost")
        KUBE.va(s.ns, "ghost", "g", accelerator=L4)
        r = {"runs": [cls.run_wva("target_not_found", "--once"),
                      cls.run_wva("target_not_found_again", "--once")]}
        r["va"] = KUBE.get_va(s.ns, "ghost")
        r["events"] = va_events(s.ns, "ghost")
        r["ns"] = s.ns
        s.cleanup()
        return r

    @classmethod
    def scenario_invalid_spec(cls):
        s = Scenario("rk-invalid")
        KUBE.va(s.ns, "sts", "m", accelerator=L4, spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "sts"}})
        s.variant("bounds", "b", L4, replicas=1, loads=[(0.5, 1)],
                  spec={"minReplicas": 3, "maxReplicas": 1})
        s.publish()
        r = {"run": cls.run_wva("invalid_spec", "--once")}
        r["vas"] = {n: KUBE.get_va(s.ns, n) for n in ("sts", "bounds")}
        r["events"] = va_events(s.ns)
        r["bounds_replicas"] = replicas(s.ns, "bounds")
        s.cleanup()
        return r

    @classmethod
    def scenario_excluded_namespace(cls):
        s = Scenario("rk-excl")
        excluded = s.extra_namespace("x", annotations={"wva.llmd.ai/exclude": "true"})
        s.variant("ex-l4", "ex", L4, replicas=1, loads=[(0.9, 9)], ns=excluded)
        s.variant("in-l4", "in", L4, replicas=1, loads=[(0.9, 9)])
        s.publish()
        r = {"run": cls.run_wva("excluded_namespace", "--once"), "excluded": excluded, "ns": s.ns}
        r["ex_replicas"] = replicas(excluded, "ex-l4")
        r["in_replicas"] = replicas(s.ns, "in-l4")
        r["ex_va"] = KUBE.get_va(excluded, "ex-l4")
        s.cleanup()
        return r

    @classmethod
    def scenario_instance(cls):
        s = Scenario("rk-inst")
        lab = "wva.llmd.ai/controller-instance"
        s.variant("mine", "mine", L4, replicas=1, loads=[(0.9, 9)], va_labels={lab: "a"})
        s.variant("theirs", "theirs", L4, replicas=1, loads=[(0.9, 9)], va_labels={lab: "b"})
        s.variant("nobody", "nobody", L4, replicas=1, loads=[(0.9, 9)])
        s.publish()
        r = {"run": cls.run_wva("instance", "--once", extra_env={"CONTROLLER_INSTANCE": "a"}),
             "ns": s.ns}
        r["replicas"] = {n: replicas(s.ns, n) for n in ("mine", "theirs", "nobody")}
        r["leases"] = [lease["metadata"]["name"] for lease in KUBE.get(
            "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % SYSTEM_NS)["items"]]
        s.cleanup()
        return r

    @classmethod
    def scenario_limited_mode(cls):
        overlay = tempfile.mkdtemp(prefix="wva-rk-overlay-", dir=cls.workdir)
        write_limited_overlay(overlay)
        KUBE.kubectl("apply", "-k", overlay)
        s = Scenario("rk-gpu")
        try:
            KUBE.node("rk-gpu-l4-0", L4, 2)
            KUBE.node("rk-gpu-h100-0", H100, 8)
            s.variant("m-l4", "m", L4, "10.0", 1, [(0.9, 9)], node="rk-gpu-l4-0")
            s.variant("m-h100", "m", H100, "40.0", 1, [(0.9, 9)], node="rk-gpu-h100-0")
            s.publish()
            r = {"run": cls.run_wva("limited_mode", "--once", "--output", "json",
                                objs=tm.LIMITED)}
            r["l4"] = replicas(s.ns, "m-l4")
            r["configmap"] = KUBE.get("/api/v1/namespaces/%s/configmaps/"
                                      "wva-variantautoscaling-config" % SYSTEM_NS)["data"]
            return r
        finally:
            s.cleanup()
            for n in ("rk-gpu-l4-0", "rk-gpu-h100-0"):
                KUBE.delete("/api/v1/nodes/" + n)
            # Back to the base install: limited mode off, no nodes permission.
            KUBE.kubectl("apply", "-k", CRONJOB)
            KUBE.kubectl("delete", "-f", os.path.join(tm.LIMITED_COMPONENT, "rbac-nodes.yaml"),
                         "--ignore-not-found")

    @classmethod
    def scenario_dry_run(cls):
        s = Scenario("rk-dry")
        s.variant("m-l4", "m", L4, "10.0", 1, [(0.9, 9)])
        s.variant("m-h100", "m", H100, "40.0", 1, [(0.9, 9)])
        s.publish()

        def versions():
            out = []
            for kind, path in (("va", "%s/namespaces/%s/variantautoscalings" % (VA_API, s.ns)),
                               ("deployment", "/apis/apps/v1/namespaces/%s/deployments" % s.ns),
                               ("lease", "/apis/coordination.k8s.io/v1/namespaces/%s/leases"
                                % SYSTEM_NS)):
                out += [(kind, o["metadata"]["name"], o["metadata"]["resourceVersion"])
                        for o in KUBE.get(path)["items"]]
            return sorted(out)

        before = versions()
        r = {"run": cls.run_wva("dry_run", "--once", "--dry-run", "--output", "json")}
        r["before"], r["after"] = before, versions()
        r["events"] = va_events(s.ns)
        s.cleanup()
        return r

    @classmethod
    def scenario_doctor(cls):
        s = Scenario("rk-doc")
        s.variant("m-l4", "m", L4, replicas=1, loads=[(0.5, 1)])
        KUBE.va(s.ns, "ghost", "g", accelerator=L4)
        s.publish()
        r = {"run": cls.run_wva("doctor", "doctor", "--output", "json"), "ns": s.ns}
        s.cleanup()
        return r

    # -- checks ----------------------------------------------------------------
    def test_scale_up(self):
        r = self.need("scale_up")
        self.assertExit(r["first"], 0)
        self.assertAllowed(r["first"])
        plan = json.loads(r["first"].proc.stdout)
        self.assertEqual(plan["mode"], "live")
        self.assertEqual((r["l4"], r["h100"]), (2, 1))
        self.assertEqual(len(r["pods"]), 2, "the ReplicaSet controller made the new pod")
        self.assertEqual(r["first"].codes("patch", "deployments/scale"), [200])
        va = r["va"]
        self.assertEqual(va["status"]["desiredOptimizedAlloc"]["numReplicas"], 2)
        self.assertEqual(condition(va, "OptimizationReady")["status"], "True")
        self.assertEqual([(e["reason"], e["involvedObject"]["name"]) for e in r["events"]],
                         [("ScaledUp", "m-l4")])
        self.assertEqual(r["events"][0]["source"]["component"], "wva-optimizer")

    def test_steady_state_writes_only_the_lease(self):
        r = self.need("steady")
        self.assertExit(r["first"], 0)
        self.assertEqual(r["first"].codes("patch", "variantautoscalings/status"), [200])
        self.assertExit(r["second"], 0)
        writes = sorted(request_of(e) for e in r["second"].writes())
        self.assertEqual(writes, [("update", "leases")] * 2, "acquire and release only")

    def test_scale_down_after_window_in_watch_namespace(self):
        r = self.need("scale_down")
        for run in (r["held"], r["down"]):
            self.assertExit(run, 0)
            self.assertAllowed(run)
        self.assertEqual(r["held_replicas"], 3, "inside the stabilization window")
        self.assertEqual(r["replicas"], 2)
        self.assertEqual(len(r["pods"]), 2, "the ReplicaSet controller removed a pod")
        # With a watch namespace the namespace is read with get, not list.
        self.assertIn(("get", "namespaces"), r["down"].requests())
        self.assertNotIn(("list", "namespaces"), r["down"].requests())

    def test_target_not_found(self):
        r = self.need("target_not_found")
        for run in r["runs"]:
            self.assertExit(run, 0)
            self.assertAllowed(run)
        cond = condition(r["va"], "TargetResolved")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "TargetNotFound"))
        self.assertEqual([e["reason"] for e in r["events"]], ["TargetNotFound"])
        self.assertEqual(r["events"][0]["count"], 1)
        self.assertEqual(r["runs"][0].codes("patch", "variantautoscalings/status"), [200])
        self.assertEqual(r["runs"][1].codes("patch", "variantautoscalings/status"), [],
                         "nothing changed: no status write")

    def test_invalid_spec(self):
        r = self.need("invalid_spec")
        self.assertExit(r["run"], 0)
        self.assertAllowed(r["run"])
        for name, va in r["vas"].items():
            cond = condition(va, "OptimizationReady")
            self.assertEqual((cond["status"], cond["reason"]), ("False", "InvalidConfiguration"),
                             name)
        self.assertEqual(sorted((e["reason"], e["involvedObject"]["name"]) for e in r["events"]),
                         [("InvalidConfiguration", "bounds"), ("InvalidConfiguration", "sts")])
        self.assertEqual(r["bounds_replicas"], 1)

    def test_excluded_namespace_untouched(self):
        r = self.need("excluded_namespace")
        self.assertExit(r["run"], 0)
        self.assertAllowed(r["run"])
        touched = [e["requestURI"] for e in r["run"].writes()
                   if (e.get("objectRef") or {}).get("namespace") == r["excluded"]]
        self.assertEqual(touched, [])
        self.assertEqual(r["ex_replicas"], 1)
        self.assertNotIn("status", r["ex_va"])
        self.assertGreater(r["in_replicas"], 1, "the namespace next door is optimized")

    def test_controller_instance(self):
        r = self.need("instance")
        self.assertExit(r["run"], 0)
        self.assertAllowed(r["run"])
        self.assertGreater(r["replicas"]["mine"], 1)
        self.assertEqual((r["replicas"]["theirs"], r["replicas"]["nobody"]), (1, 1))
        names = {(e.get("objectRef") or {}).get("name") for e in r["run"].writes()
                 if (e.get("objectRef") or {}).get("namespace") == r["ns"]}
        self.assertEqual(names - {None}, {"mine"})
        self.assertTrue([n for n in r["leases"] if n.startswith("wva-optimizer-")],
                        "the instance has a Lease of its own: %s" % r["leases"])

    def test_limited_mode(self):
        r = self.need("limited_mode")
        self.assertExit(r["run"], 0)
        self.assertAllowed(r["run"])
        self.assertEqual(r["configmap"]["WVA_LIMITED_MODE"], "true")
        # The cheap L4 variant grows up to its node's 2 GPUs, no further
        # (demand alone asks for 3).
        self.assertEqual(r["l4"], 2)
        self.assertEqual(r["run"].codes("list", "nodes"), [200])

    def test_dry_run_writes_nothing(self):
        r = self.need("dry_run")
        self.assertExit(r["run"], 0)
        self.assertAllowed(r["run"])
        self.assertEqual(json.loads(r["run"].proc.stdout)["mode"], "dry-run")
        self.assertEqual(r["run"].writes(), [])
        self.assertEqual(r["before"], r["after"], "no object changed")
        self.assertEqual(r["events"], [])

    def test_doctor(self):
        r = self.need("doctor")
        p = r["run"].proc
        self.assertIn(p.returncode, (0, 4), p.stderr[-3000:])
        self.assertAllowed(r["run"])
        report = json.loads(p.stdout)
        perms = [c for c in report["checks"] if c["check"] == "Permissions"]
        self.assertTrue(perms, "doctor checks its permissions")
        for c in perms:
            self.assertTrue(c["ok"], "the real authorizer grants what doctor asks: %s" % c)
        reviews = r["run"].codes("create", "selfsubjectaccessreviews")
        self.assertTrue(reviews and set(reviews) == {201}, reviews)
        ghost = [c for c in report["checks"] if c.get("name") == "ghost"
                 and c["check"] == "TargetNotFound"]
        self.assertEqual([c["ok"] for c in ghost], [False])


# ---------------------------------------------------------------------------
# What the API test server only imitates
# ---------------------------------------------------------------------------

class Semantics(RealKubeCase):
    @classmethod
    def setUpClass(cls):
        ensure_project_crd()
        cls.workdir = tempfile.mkdtemp(prefix="wva-rk-sem-")
        Binary.setup_identity(cls.workdir)
        cls.gate = PromGate(MON.prom_url)

    @classmethod
    def tearDownClass(cls):
        cls.gate.close()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        self.s = None

    def tearDown(self):
        if self.s:
            self.s.cleanup()

    def gated_run(self, name, action, extra_env=None):
        """A run held after its snapshot while action() changes the cluster."""
        self.gate.arm()
        mark = KUBE.audit_mark()
        proc = Binary.start(name, self.workdir, ["--once"], extra_env, prom_url=self.gate.url)
        try:
            self.assertTrue(self.gate.entered.wait(60), "the run never queried Prometheus")
            action()
        finally:
            self.gate.release.set()
        out, err = proc.communicate(timeout=90)
        return Binary.finish(name, subprocess.CompletedProcess(proc.args, proc.returncode,
                                                               out, err), mark)

    def busy_variant(self, replicas_=1):
        self.s = Scenario("rk-sem")
        self.s.variant("m-l4", "m", L4, "10.0", replicas_, [(0.9, 9)] * replicas_)
        self.s.publish()
        return self.s.ns

    def test_stale_resource_version_reapplied_once(self):
        """Someone changes the Deployment (not its replicas) after the
        snapshot: the real 409 on /scale, a re-read, the same decision
        applied once."""
        ns = self.busy_variant()
        run = self.gated_run("conflict", lambda: KUBE.merge_patch(
            "/apis/apps/v1/namespaces/%s/deployments/m-l4" % ns,
            {"metadata": {"labels": {"touched": "yes"}}}))
        self.assertExit(run, 0)
        self.assertAllowed(run)
        scale = [(e["verb"], e["responseStatus"]["code"]) for e in run.events
                 if request_of(e)[1] == "deployments/scale"]
        self.assertEqual(scale, [("patch", 409), ("get", 200), ("patch", 200)])
        self.assertGreater(replicas(ns, "m-l4"), 1)
        self.assertEqual([e["reason"] for e in va_events(ns)], ["ScaledUp"])

    def test_stale_resource_version_someone_scaled_holds(self):
        """Someone scales the Deployment after the snapshot: 409, re-read,
        the replicas differ from the plan's premise, so the run holds."""
        ns = self.busy_variant()
        run = self.gated_run("conflict_scaled", lambda: KUBE.merge_patch(
            "/apis/apps/v1/namespaces/%s/deployments/m-l4/scale" % ns,
            {"spec": {"replicas": 5}}))
        self.assertAllowed(run)
        scale = [(e["verb"], e["responseStatus"]["code"]) for e in run.events
                 if request_of(e)[1] == "deployments/scale"]
        self.assertEqual(scale, [("patch", 409), ("get", 200)])
        self.assertEqual(replicas(ns, "m-l4"), 5, "the other actor's choice stands")
        self.assertIn("changed by someone else", run.proc.stderr)
        self.assertEqual([e["reason"] for e in va_events(ns)], [])
        self.assertExit(run, 0)

    def test_lease_held_by_a_running_run(self):
        """A run that starts while another holds the Lease skips."""
        self.busy_variant()
        second = {}

        def start_second():
            second["run"] = Binary.run("lease_second", self.workdir, ["--once"])

        first = self.gated_run("lease_first", start_second)
        self.assertExit(first, 0)
        self.assertExit(second["run"], 0)
        self.assertIn("another run holds the lock", second["run"].proc.stderr)
        self.assertEqual(second["run"].writes(), [])
        self.assertEqual(second["run"].requests()[("get", "leases")], 1)
        self.assertNotIn(("list", "variantautoscalings"), second["run"].requests())
        lease = KUBE.get("/apis/coordination.k8s.io/v1/namespaces/%s/leases/wva-optimizer"
                         % SYSTEM_NS)
        self.assertFalse(lease["spec"].get("holderIdentity"), "released at the end")

    def test_two_runs_race_for_the_lease(self):
        """Two runs started together: the real server's optimistic
        concurrency lets exactly one act."""
        self.busy_variant()
        mark = KUBE.audit_mark()
        procs = [Binary.start("race", self.workdir, ["--once"]) for _ in range(2)]
        outs = [p.communicate(timeout=90) for p in procs]
        for p in procs:
            self.assertEqual(p.returncode, 0, outs)
        skipped = sum("another run holds the lock" in err for _, err in outs)
        self.assertEqual(skipped, 1, [err[-1500:] for _, err in outs])
        events = settled_audit(mark)
        RUNS.append(Run("race", None, events, tm.BASE))
        scale = [e for e in events if request_of(e) == ("patch", "deployments/scale")]
        self.assertEqual([e["responseStatus"]["code"] for e in scale], [200], "one run scaled")
        lease = [(e["verb"], e["responseStatus"]["code"]) for e in events
                 if request_of(e)[1] == "leases" and e["verb"] != "get"]
        sys.stderr.write("lease race, writes as the server saw them: %s\n" % lease)

    def test_pod_list_pages_with_continue_tokens(self):
        """More than 500 pods in a namespace with a VA: the list comes in
        pages of 500 with the server's continue token."""
        self.s = Scenario("rk-pages")
        self.s.variant("m-l4", "m", L4, "10.0", 1, [(0.5, 1)])
        KUBE.deployment(self.s.ns, "filler", replicas=520, accelerator="none")
        KUBE.wait_pods(self.s.ns, "filler", 520, timeout=180)
        self.s.publish()
        snap = os.path.join(self.workdir, "pages-snapshot.json")
        run = Binary.run("pages", self.workdir, ["--once", "--output", "json",
                                                  "--snapshot-out", snap])
        self.assertExit(run, 0)
        lists = [e for e in run.events if request_of(e) == ("list", "pods")
                 and "/namespaces/%s/" % self.s.ns in e["requestURI"]]
        self.assertEqual(len(lists), 2, [e["requestURI"] for e in lists])
        self.assertIn("limit=500", lists[0]["requestURI"])
        self.assertNotIn("continue=", lists[0]["requestURI"])
        self.assertIn("continue=", lists[1]["requestURI"])
        self.assertEqual({e["responseStatus"]["code"] for e in lists}, {200})
        plan = json.loads(run.proc.stdout)
        mine = [v for v in plan["variants"] if v["namespace"] == self.s.ns]
        self.assertEqual([(v["name"], v["currentReplicas"], v["readyReplicas"]) for v in mine],
                         [("m-l4", 1, 1)])

    def test_events_once_per_change(self):
        """TargetNotFound is reported once, not every run; when the target
        comes and goes again, once more."""
        self.s = Scenario("rk-ev")
        ns = self.s.ns
        KUBE.va(ns, "ghost", "g", accelerator=L4)
        runs = [Binary.run("events_%d" % i, self.workdir, ["--once"]) for i in range(2)]
        self.assertEqual([e["reason"] for e in va_events(ns, "ghost")], ["TargetNotFound"])
        pods = KUBE.running_deployment(ns, "ghost", 1, accelerator=L4)
        self.s.metrics = [{"namespace": ns, "pod": pods[0], "model_name": "g", "kv": 0.5,
                           "queue": 1}]
        self.s.publish()
        runs.append(Binary.run("events_found", self.workdir, ["--once"]))
        cond = condition(KUBE.get_va(ns, "ghost"), "TargetResolved")
        self.assertEqual((cond["status"], cond["reason"]), ("True", "TargetFound"))
        KUBE.delete("/apis/apps/v1/namespaces/%s/deployments/ghost" % ns)
        runs.append(Binary.run("events_lost", self.workdir, ["--once"]))
        for run in runs:
            self.assertExit(run, 0)
            self.assertAllowed(run)
        events = va_events(ns, "ghost")
        self.assertEqual([e["reason"] for e in events], ["TargetNotFound", "TargetNotFound"])
        self.assertEqual([e["count"] for e in events], [1, 1])
        self.assertEqual([e["type"] for e in events], ["Warning", "Warning"])
        created = [e["responseStatus"]["code"] for run in runs for e in run.events
                   if request_of(e) == ("create", "events")]
        self.assertEqual(created, [201, 201])

    def test_deployment_deleted_mid_run(self):
        """The target disappears between the snapshot and the scale patch:
        the real 404 is not a failed run; the VA says TargetNotFound at once
        (one Event), no ScaledUp, and the next run has nothing to add."""
        ns = self.busy_variant()
        run = self.gated_run("deleted_mid_run", lambda: KUBE.delete(
            "/apis/apps/v1/namespaces/%s/deployments/m-l4" % ns))
        self.assertAllowed(run)
        self.assertEqual(run.codes("patch", "deployments/scale"), [404])
        self.assertIn("deleted since the snapshot", run.proc.stderr)
        self.assertExit(run, 0)
        cond = condition(KUBE.get_va(ns, "m-l4"), "TargetResolved")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "TargetNotFound"))
        self.assertEqual([e["reason"] for e in va_events(ns)], ["TargetNotFound"])
        after = Binary.run("deleted_next", self.workdir, ["--once"])
        self.assertExit(after, 0)
        self.assertEqual(after.codes("patch", "variantautoscalings/status"), [])
        self.assertEqual([e["reason"] for e in va_events(ns)], ["TargetNotFound"])

    def test_deployment_being_deleted_is_not_a_target(self):
        """A Deployment with a deletionTimestamp (held by a finalizer) is
        TargetNotFound: never scaled."""
        ns = self.busy_variant()
        path = "/apis/apps/v1/namespaces/%s/deployments/m-l4" % ns
        KUBE.merge_patch(path, {"metadata": {"finalizers": ["wva.test/hold"]}})
        KUBE.delete(path)
        try:
            self.assertTrue(KUBE.get(path)["metadata"].get("deletionTimestamp"))
            run = Binary.run("being_deleted", self.workdir, ["--once"])
            self.assertExit(run, 0)
            self.assertEqual(run.codes("patch", "deployments/scale"), [])
            cond = condition(KUBE.get_va(ns, "m-l4"), "TargetResolved")
            self.assertEqual((cond["status"], cond["reason"]), ("False", "TargetNotFound"))
        finally:
            KUBE.merge_patch(path, {"metadata": {"finalizers": None}})


# ---------------------------------------------------------------------------
# Upstream's CRD installed instead of the project's
# ---------------------------------------------------------------------------

class UpstreamCrd(RealKubeCase):
    """SPEC section 1: with upstream's llmd.ai/v1alpha1 CRD installed, every
    status write is accepted and the extra spec fields are pruned."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="wva-rk-up-")
        Binary.setup_identity(cls.workdir)
        cls.crd = os.environ.get("WVA_UPSTREAM_CRD") or UPSTREAM_FIXTURE
        sys.stderr.write("upstream CRD test uses %s\n" % cls.crd)
        install_crd(cls.crd)
        cls.s = s = Scenario("rk-upcrd")
        try:
            s.variant("m-l4", "m", L4, "10.0", 1, [(0.76, 2)])
            s.variant("m-h100", "m", H100, "40.0", 1, [(0.75, 2)])
            # A field upstream's schema does not have: pruned by the server.
            s.variant("capped", "c", L4, "10.0", 1, [(0.9, 9)], spec={"maxReplicas": 1})
            s.variant("quiet", "q", L4, "10.0", 1, None)      # no metrics
            KUBE.va(s.ns, "ghost", "g", accelerator=L4)       # no Deployment, no status
            KUBE.va(s.ns, "noacc", "n")                       # no accelerator known
            KUBE.deployment(s.ns, "noacc", replicas=0, accelerator="")
            KUBE.va(s.ns, "sts", "x", accelerator=L4, spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                   "name": "sts"}})
            s.publish()
            cls.runs = [Binary.run("upstream_crd_0", cls.workdir, ["--once"])]
            cls.l4 = replicas(s.ns, "m-l4")
            cls.l4_alloc = KUBE.get_va(s.ns, "m-l4")["status"]["desiredOptimizedAlloc"]
            cls.runs.append(Binary.run("upstream_crd_1", cls.workdir, ["--once"]))
            cls.vas = {v["metadata"]["name"]: v for v in KUBE.get(
                "%s/namespaces/%s/variantautoscalings" % (VA_API, s.ns))["items"]}
            cls.events = va_events(s.ns)
            cls.capped = replicas(s.ns, "capped")
        finally:
            s.cleanup()
            install_crd(None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_every_status_write_accepted(self):
        for run in self.runs:
            self.assertExit(run, 0)
            self.assertAllowed(run)
            codes = run.codes("patch", "variantautoscalings/status")
            self.assertEqual([c for c in codes if c != 200], [], run.name)
        self.assertEqual(len(self.runs[0].codes("patch", "variantautoscalings/status")), 7)

    def test_target_not_found_recorded(self):
        ghost = self.vas["ghost"]
        cond = condition(ghost, "TargetResolved")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "TargetNotFound"))
        self.assertNotIn("desiredOptimizedAlloc", ghost["status"])
        self.assertEqual(ghost["status"]["actuation"], {"applied": False})
        self.assertEqual([e["reason"] for e in self.events
                          if e["involvedObject"]["name"] == "ghost"], ["TargetNotFound"])
        # The next run has nothing to change for it: no write.
        second = [e for e in self.runs[1].events
                  if request_of(e) == ("patch", "variantautoscalings/status")
                  and e["objectRef"]["name"] == "ghost"]
        self.assertEqual(second, [])

    def test_scale_up_and_status(self):
        self.assertEqual(self.l4, 2)
        self.assertEqual(self.l4_alloc["numReplicas"], 2)
        self.assertGreaterEqual(len(self.l4_alloc["accelerator"]), 2)

    def test_extra_spec_fields_pruned(self):
        self.assertNotIn("maxReplicas", self.vas["capped"]["spec"])
        self.assertGreater(self.capped, 1, "maxReplicas was pruned: it reads as unlimited")

    def test_invalid_and_unknown_accelerator(self):
        cond = condition(self.vas["sts"], "OptimizationReady")
        self.assertEqual(cond["reason"], "InvalidConfiguration")
        self.assertIn("conditions", self.vas["noacc"]["status"])


# ---------------------------------------------------------------------------
# Least privilege, from the real server's audit log
# ---------------------------------------------------------------------------

class LeastPrivilege(RealKubeCase):
    """Over every run above (the real binary as the ServiceAccount): the
    real authorizer allowed every request, the project's RBAC emulation
    (tests/manifests) agrees, and every permission granted was used."""

    def attributes(self, e):
        ref = e.get("objectRef") or {}
        if not ref.get("resource"):
            return {"nonresource": True, "path": e["requestURI"].split("?")[0],
                    "verb": e["verb"]}
        return {"nonresource": False, "verb": e["verb"], "group": ref.get("apiGroup", ""),
                "resource": ref["resource"], "subresource": ref.get("subresource", ""),
                "namespace": ref.get("namespace", ""), "name": ref.get("name", "")}

    def test_runs_happened(self):
        self.assertGreater(len(RUNS), 10)

    def test_every_request_allowed(self):
        for run in RUNS:
            self.assertAllowed(run)
            rbac = tm.Rbac(run.objs)
            for e in run.events:
                self.assertTrue(rbac.allowed(self.attributes(e)),
                                "%s: the RBAC emulation disagrees with the real server on %s %s"
                                % (run.name, e["verb"], e["requestURI"]))

    def test_every_granted_permission_used(self):
        used = {"base": set(), "limited": set()}
        for run in RUNS:
            rbac = tm.Rbac(run.objs)
            kind = "limited" if run.objs is tm.LIMITED else "base"
            for e in run.events:
                a = self.attributes(e)
                if a["nonresource"]:
                    continue
                for g in rbac.matching(a):
                    used[kind].add(tm.permission_of(g, a))
        granted = tm.Rbac(tm.BASE).permissions()
        self.assertEqual(sorted(granted - used["base"] - used["limited"], key=str), [],
                         "granted but never used by a run against the real server")
        extra = tm.Rbac(tm.LIMITED).permissions() - granted
        self.assertTrue(extra and extra <= used["limited"], extra)

    def test_requests_per_run(self):
        """Prints what a run asks of the real API server (for the README)."""
        for name in ("scale_up", "steady_first", "steady", "upstream_crd_0", "upstream_crd_1"):
            runs = [r for r in RUNS if r.name == name]
            self.assertEqual(len(runs), 1, name)
            counts = runs[0].requests()
            sys.stderr.write("requests of run %s: %s\n" % (name, ", ".join(
                "%s %s %d" % (v, r, n) for (v, r), n in sorted(counts.items()))))
            self.assertIn(("list", "variantautoscalings"), counts)


def load_tests(loader, tests, pattern):
    """Classes in this order: the least-privilege check reads every run."""
    suite = unittest.TestSuite()
    for cls in (Manifests, Live, Semantics, UpstreamCrd, LeastPrivilege):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


if __name__ == "__main__":
    unittest.main()
