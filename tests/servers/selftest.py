#!/usr/bin/env python3
"""Self-test of the integration-test servers: kubeapi.py (over real TLS, with urllib/ssl
and http.client), vllm_exporter.py and a real Prometheus started by prometheus.sh.
Run: python3 tests/servers/selftest.py [-v]. Takes well under a minute; every process it
starts is stopped (SIGTERM, checked) and its temporary directory removed."""

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "selftest-token-7f3a9c"
PROCS = {}
TMP = None
READY = {}
BIG = {}


def start_server(name, args, ready_file, timeout=60):
    with open(os.path.join(TMP, name + ".err"), "w") as err:
        p = subprocess.Popen([sys.executable] + args, stdout=subprocess.DEVNULL, stderr=err,
                             stdin=subprocess.DEVNULL)
    PROCS[name] = p
    return p


def wait_ready(name, ready_file, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(ready_file):
            with open(ready_file) as f:
                return json.load(f)
        if PROCS[name].poll() is not None:
            raise RuntimeError("%s exited: %s" % (name, read(os.path.join(
                TMP, name + ".err"))))
        time.sleep(0.05)
    raise RuntimeError("%s not ready in %ss" % (name, timeout))


def setUpModule():
    global TMP
    TMP = tempfile.mkdtemp(prefix="wva-servers-selftest-")
    # The 10,000-VA server loads while the rest starts.
    start_server("big", [os.path.join(HERE, "kubeapi.py"), "--state-dir",
                         os.path.join(TMP, "big"), "--token", TOKEN, "--synthetic", "10000"],
                 None)
    start_server("kube", [os.path.join(HERE, "kubeapi.py"), "--state-dir",
                          os.path.join(TMP, "kube"), "--token", TOKEN], None)
    start_server("exporter", [os.path.join(HERE, "vllm_exporter.py"), "--state-dir",
                              os.path.join(TMP, "exporter")], None)
    READY["kube"] = wait_ready("kube", os.path.join(TMP, "kube", "kubeapi.ready.json"))
    READY["exporter"] = wait_ready("exporter",
                                   os.path.join(TMP, "exporter", "exporter.ready.json"))
    r = subprocess.run(["bash", os.path.join(HERE, "prometheus.sh"), "start",
                        os.path.join(TMP, "prom"), str(READY["exporter"]["port"])],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("prometheus.sh start failed: %s" % r.stderr)
    READY["prometheus"] = int(r.stdout.strip())


def tearDownModule():
    errors = []
    r = subprocess.run(["bash", os.path.join(HERE, "prometheus.sh"), "stop",
                        os.path.join(TMP, "prom")], capture_output=True, text=True)
    if r.returncode != 0:
        errors.append("prometheus.sh stop: " + r.stderr)
    for name, p in PROCS.items():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for name, p in PROCS.items():
        try:
            rc = p.wait(timeout=10)
            if rc != 0:
                errors.append("%s exited %d on SIGTERM" % (name, rc))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            errors.append("%s ignored SIGTERM" % name)
    pid_file = os.path.join(TMP, "prom", "prometheus.pid")
    if os.path.exists(pid_file):
        errors.append("prometheus.pid left behind")
    shutil.rmtree(TMP, ignore_errors=True)
    if errors:
        raise RuntimeError("; ".join(errors))


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def read(path):
    with open(path) as f:
        return f.read()


def ssl_ctx(ready, cert=False):
    ctx = ssl.create_default_context(cafile=ready["ca"])
    if cert:
        ctx.load_cert_chain(ready["client_cert"], ready["client_key"])
    return ctx


class Kube:
    """A keep-alive HTTPS client for the fake API server."""

    def __init__(self, ready, token=TOKEN, cert=False):
        self.ready = ready
        self.token = token
        self.conn = http.client.HTTPSConnection("127.0.0.1", ready["port"],
                                                context=ssl_ctx(ready, cert), timeout=10)

    def req(self, method, path, body=None, ctype="application/json", headers=None,
            parse=True):
        h = {"Accept": "application/json", "User-Agent": "wva-selftest/1"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            h["Content-Type"] = ctype
            body = json.dumps(body).encode() if not isinstance(body, bytes) else body
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        try:
            doc = json.loads(raw) if raw and parse else None
        except ValueError:
            doc = None
        return r.status, r, doc, raw

    def close(self):
        self.conn.close()


def admin(ready, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    rq = urllib.request.Request(ready["admin_url"] + path, data=data, method=method,
                                headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(rq, timeout=10) as r:
        return json.loads(r.read())


def ns_obj(name, labels=None):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels or {}}}


def deployment(ns, name, replicas=2, labels=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"replicas": replicas, "readyReplicas": replicas}}


def va(ns, name, model="m"):
    return {"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                     "modelID": model, "variantCost": "10.0"}}


def status_shape(test, doc, code, reason):
    test.assertIsInstance(doc, dict)
    test.assertEqual(doc["kind"], "Status")
    test.assertEqual(doc["apiVersion"], "v1")
    test.assertEqual(doc["metadata"], {})
    test.assertEqual(doc["status"], "Failure")
    test.assertEqual(doc["reason"], reason)
    test.assertEqual(doc["code"], code)
    test.assertIsInstance(doc["message"], str)


# --------------------------------------------------------------------------
# kubeapi.py
# --------------------------------------------------------------------------

class KubeApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ready = READY["kube"]

    def setUp(self):
        self.k = Kube(self.ready)

    def tearDown(self):
        self.k.close()
        admin(self.ready, "DELETE", "/faults")
        admin(self.ready, "DELETE", "/rbac")

    def load(self, *objs):
        return admin(self.ready, "POST", "/objects", {"kind": "List", "items": list(objs)})

    def test_ready_file_and_kubeconfigs(self):
        r = self.ready
        for key in ("port", "admin_port", "ca", "client_cert", "client_key", "token",
                    "kubeconfig", "kubeconfig_cert", "kubeconfig_tokenfile", "token_file",
                    "log", "url", "admin_url", "pid"):
            self.assertIn(key, r)
        self.assertEqual(r["token"], TOKEN)
        self.assertEqual(r["url"], "https://127.0.0.1:%d" % r["port"])
        kc = read(r["kubeconfig"])
        self.assertIn('server: "https://127.0.0.1:%d"' % r["port"], kc)
        self.assertIn('certificate-authority: "%s"' % r["ca"], kc)
        self.assertIn('token: "%s"' % TOKEN, kc)
        kc2 = read(r["kubeconfig_cert"])
        self.assertIn("client-certificate-data: ", kc2)
        self.assertIn("client-key-data: ", kc2)
        self.assertIn("certificate-authority-data: ", kc2)
        self.assertNotIn("token", kc2)
        self.assertEqual(read(r["token_file"]).strip(), TOKEN)
        self.assertIn('tokenFile: "%s"' % r["token_file"], read(r["kubeconfig_tokenfile"]))

    def test_tls_requires_the_test_ca(self):
        url = self.ready["url"] + "/version"
        with self.assertRaises(urllib.error.URLError) as cm:
            urllib.request.urlopen(url, context=ssl.create_default_context(), timeout=5)
        self.assertIsInstance(cm.exception.reason, ssl.SSLCertVerificationError)
        with urllib.request.urlopen(url, context=ssl_ctx(self.ready), timeout=5) as resp:
            self.assertEqual(json.loads(resp.read())["major"], "1")
        # The SAN also covers DNS:localhost.
        url2 = "https://localhost:%d/version" % self.ready["port"]
        with urllib.request.urlopen(url2, context=ssl_ctx(self.ready), timeout=5) as resp:
            self.assertEqual(resp.status, 200)

    def test_401_without_valid_token(self):
        for tok in (None, "wrong-token"):
            k = Kube(self.ready, token=tok)
            code, _, doc, _ = k.req("GET", "/api/v1/namespaces")
            k.close()
            self.assertEqual(code, 401)
            self.assertEqual(doc, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                   "status": "Failure", "message": "Unauthorized",
                                   "reason": "Unauthorized", "code": 401})

    def test_client_certificate_auth(self):
        k = Kube(self.ready, token=None, cert=True)
        code, _, doc, _ = k.req("GET", "/api/v1/namespaces?limit=1")
        k.close()
        self.assertEqual(code, 200)
        self.assertEqual(doc["kind"], "NamespaceList")
        log = admin(self.ready, "GET", "/log")["entries"]
        last = [e for e in log if e.get("path") == "/api/v1/namespaces"][-1]
        self.assertEqual(last["auth"], "cert")
        self.assertEqual(last["user"], self.ready["client_user"])

    def test_keep_alive(self):
        for _ in range(5):
            code, resp, _, _ = self.k.req("GET", "/version")
            self.assertEqual(code, 200)
        sock = self.k.conn.sock
        self.k.req("GET", "/api/v1/namespaces")
        self.assertIs(self.k.conn.sock, sock)   # same TCP connection

    def test_list_pagination(self):
        self.load(ns_obj("page"))
        items = [{"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "cm-%04d" % i, "namespace": "page",
                               "labels": {"i": str(i % 3)}}, "data": {"i": str(i)}}
                 for i in range(1234)]
        admin(self.ready, "POST", "/objects/configmaps", {"kind": "ConfigMapList",
                                                          "items": items})
        names, cont, pages, rvs = [], "", 0, set()
        while True:
            q = "limit=500" + ("&continue=" + urllib.parse.quote(cont) if cont else "")
            code, _, doc, _ = self.k.req("GET", "/api/v1/namespaces/page/configmaps?" + q)
            self.assertEqual(code, 200)
            self.assertEqual(doc["kind"], "ConfigMapList")
            self.assertEqual(doc["apiVersion"], "v1")
            rvs.add(doc["metadata"]["resourceVersion"])
            for it in doc["items"]:
                self.assertEqual(it["kind"], "ConfigMap")
                self.assertEqual(it["apiVersion"], "v1")
                names.append(it["metadata"]["name"])
            pages += 1
            cont = doc["metadata"].get("continue")
            if not cont:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(names, ["cm-%04d" % i for i in range(1234)])
        self.assertEqual(len(rvs), 1)   # pages report the list's resourceVersion
        # Cluster-wide list of the same type sees them too.
        code, _, doc, _ = self.k.req("GET", "/api/v1/configmaps?limit=10")
        self.assertEqual(len(doc["items"]), 10)
        # Garbage and compacted tokens: 410 Expired.
        code, _, doc, _ = self.k.req("GET", "/api/v1/namespaces/page/configmaps?limit=5"
                                     "&continue=garbage!!")
        self.assertEqual(code, 410)
        status_shape(self, doc, 410, "Expired")
        code, _, doc, _ = self.k.req("GET", "/api/v1/namespaces/page/configmaps?limit=5")
        tok = doc["metadata"]["continue"]
        admin(self.ready, "POST", "/compact")
        code, _, doc, _ = self.k.req("GET", "/api/v1/namespaces/page/configmaps?limit=5"
                                     "&continue=" + urllib.parse.quote(tok))
        self.assertEqual(code, 410)
        status_shape(self, doc, 410, "Expired")

    def test_selectors(self):
        self.load(ns_obj("sel"),
                  *[dict(deployment("sel", "d%d" % i, labels=lab))
                    for i, lab in enumerate([{"app": "a", "tier": "gpu"},
                                             {"app": "b", "tier": "cpu"},
                                             {"app": "c"},
                                             {"app": "a", "tier": "cpu"}])])

        def names(sel=None, field=None):
            q = []
            if sel is not None:
                q.append("labelSelector=" + urllib.parse.quote(sel))
            if field is not None:
                q.append("fieldSelector=" + urllib.parse.quote(field))
            code, _, doc, _ = self.k.req("GET", "/apis/apps/v1/namespaces/sel/deployments?"
                                         + "&".join(q))
            self.assertEqual(code, 200, doc)
            return [i["metadata"]["name"] for i in doc["items"]]

        self.assertEqual(names("app=a"), ["d0", "d3"])
        self.assertEqual(names("app==a,tier=cpu"), ["d3"])
        self.assertEqual(names("tier!=cpu"), ["d0", "d2"])
        self.assertEqual(names("tier"), ["d0", "d1", "d3"])
        self.assertEqual(names("!tier"), ["d2"])
        self.assertEqual(names("app in (b, c)"), ["d1", "d2"])
        self.assertEqual(names("app notin (a),tier"), ["d1"])
        self.assertEqual(names(field="metadata.name=d2"), ["d2"])
        self.assertEqual(names("app=a", "metadata.name!=d0"), ["d3"])
        code, _, doc, _ = self.k.req("GET", "/apis/apps/v1/deployments?labelSelector="
                                     + urllib.parse.quote("app in (a"))
        self.assertEqual(code, 400)
        status_shape(self, doc, 400, "BadRequest")
        code, _, doc, _ = self.k.req("GET", "/apis/apps/v1/deployments?fieldSelector=spec.x=1")
        self.assertEqual(code, 400)

    def test_scale_subresource(self):
        self.load(ns_obj("sc"), deployment("sc", "web", replicas=2))
        base = "/apis/apps/v1/namespaces/sc/deployments/web"
        code, _, dep, _ = self.k.req("GET", base)
        self.assertEqual(code, 200)
        self.assertEqual(dep["metadata"]["generation"], 1)
        code, _, sc, _ = self.k.req("GET", base + "/scale")
        self.assertEqual(code, 200)
        self.assertEqual(sc["kind"], "Scale")
        self.assertEqual(sc["apiVersion"], "autoscaling/v1")
        self.assertEqual(sc["spec"], {"replicas": 2})
        self.assertEqual(sc["status"]["replicas"], 2)
        self.assertEqual(sc["status"]["selector"], "app=web")
        rv = sc["metadata"]["resourceVersion"]
        self.assertEqual(rv, dep["metadata"]["resourceVersion"])
        patch = {"metadata": {"resourceVersion": rv}, "spec": {"replicas": 5}}
        code, _, out, _ = self.k.req("PATCH", base + "/scale", patch,
                                     "application/merge-patch+json")
        self.assertEqual(code, 200, out)
        self.assertEqual(out["spec"]["replicas"], 5)
        self.assertGreater(int(out["metadata"]["resourceVersion"]), int(rv))
        code, _, dep2, _ = self.k.req("GET", base)
        self.assertEqual(dep2["spec"]["replicas"], 5)
        self.assertEqual(dep2["metadata"]["generation"], 2)
        self.assertEqual(dep2["status"]["replicas"], 2)      # no controller, no sync
        self.assertEqual(dep2["metadata"]["resourceVersion"], out["metadata"]["resourceVersion"])
        # The same (now stale) resourceVersion: 409 Conflict, nothing changes.
        code, _, doc, _ = self.k.req("PATCH", base + "/scale",
                                     {"metadata": {"resourceVersion": rv},
                                      "spec": {"replicas": 7}},
                                     "application/merge-patch+json")
        self.assertEqual(code, 409)
        status_shape(self, doc, 409, "Conflict")
        self.assertEqual(doc["message"], 'Operation cannot be fulfilled on deployments.apps '
                         '"web": the object has been modified; please apply your changes to '
                         'the latest version and try again')
        self.assertEqual(doc["details"], {"name": "web", "group": "apps",
                                          "kind": "deployments"})
        self.assertEqual(self.k.req("GET", base)[2]["spec"]["replicas"], 5)
        # With status sync on, status follows spec at once; scale to 0 omits spec.replicas.
        admin(self.ready, "PUT", "/settings", {"sync_deployment_status": True})
        try:
            code, _, out, _ = self.k.req("PATCH", base + "/scale", {"spec": {"replicas": 0}},
                                         "application/merge-patch+json")
            self.assertEqual(code, 200)
            self.assertEqual(out["spec"], {})
            self.assertEqual(out["status"]["replicas"], 0)
            dep3 = self.k.req("GET", base)[2]
            self.assertEqual(dep3["spec"]["replicas"], 0)
            self.assertEqual(dep3["status"]["readyReplicas"], 0)
        finally:
            admin(self.ready, "PUT", "/settings", {"sync_deployment_status": False})
        code, _, doc, _ = self.k.req("PATCH", base + "/scale", {"spec": {"replicas": -1}},
                                     "application/merge-patch+json")
        self.assertEqual(code, 422)
        status_shape(self, doc, 422, "Invalid")
        code, _, doc, _ = self.k.req("GET", "/apis/apps/v1/namespaces/sc/deployments/nope/scale")
        self.assertEqual(code, 404)
        status_shape(self, doc, 404, "NotFound")
        self.assertEqual(doc["message"], 'deployments.apps "nope" not found')

    def test_va_status_merge_patch(self):
        self.load(ns_obj("st"), va("st", "v1"))
        base = "/apis/llmd.ai/v1alpha1/namespaces/st/variantautoscalings/v1"
        t = "2026-12-01T00:00:00Z"
        conds = [{"type": "TargetResolved", "status": "True", "reason": "TargetFound",
                  "message": "found", "lastTransitionTime": t},
                 {"type": "MetricsAvailable", "status": "True", "reason": "MetricsFound",
                  "message": "", "lastTransitionTime": t}]
        alloc = {"numReplicas": 3, "accelerator": "L4", "lastRunTime": t}
        code, _, out, _ = self.k.req("PATCH", base + "/status",
                                     {"status": {"conditions": conds,
                                                 "desiredOptimizedAlloc": alloc},
                                      "spec": {"modelID": "ignored"}},
                                     "application/merge-patch+json")
        self.assertEqual(code, 200, out)
        self.assertEqual(out["status"]["conditions"], conds)
        self.assertEqual(out["spec"]["modelID"], "m")          # /status ignores spec
        self.assertEqual(out["metadata"]["generation"], 1)
        one = [{"type": "OptimizationReady", "status": "False", "reason": "OptimizationFailed",
                "message": "m", "lastTransitionTime": t}]
        code, _, out, _ = self.k.req("PATCH", base + "/status",
                                     {"status": {"conditions": one,
                                                 "desiredOptimizedAlloc": {"lastRunTime": t}}},
                                     "application/merge-patch+json")
        self.assertEqual(out["status"]["conditions"], one)     # arrays replaced whole
        self.assertEqual(out["status"]["desiredOptimizedAlloc"], alloc)   # objects merged
        # Upstream's CRD constraints on status (SPEC section 1) are enforced:
        # desiredOptimizedAlloc whole, actuation.applied, conditions complete.
        other = "/apis/llmd.ai/v1alpha1/namespaces/st/variantautoscalings/v2"
        self.load(va("st", "v2"))
        for bad, field in (({"desiredOptimizedAlloc": {"lastRunTime": t}},
                            "status.desiredOptimizedAlloc.accelerator: Required value"),
                           ({"desiredOptimizedAlloc": {"numReplicas": 1, "accelerator": "X"}},
                            "should be at least 2 chars long"),
                           ({"actuation": {}}, "status.actuation.applied: Required value"),
                           ({"conditions": [{"type": "A", "status": "True", "reason": "R"}]},
                            "status.conditions[0].lastTransitionTime: Required value"),
                           ({"conditions": conds + conds[:1]}, "Duplicate value")):
            code, _, doc, _ = self.k.req("PATCH", other + "/status", {"status": bad},
                                         "application/merge-patch+json")
            self.assertEqual(code, 422, (bad, doc))
            status_shape(self, doc, 422, "Invalid")
            self.assertIn('VariantAutoscaling.llmd.ai "v2" is invalid: ', doc["message"])
            self.assertIn(field, doc["message"])
        code, _, doc, _ = self.k.req("GET", other)
        self.assertNotIn("status", doc)
        # Main resource patch: spec changes bump generation, status is not writable there.
        code, _, out, _ = self.k.req("PATCH", base, {"spec": {"minReplicas": 1},
                                                     "status": {"conditions": []}},
                                     "application/merge-patch+json")
        self.assertEqual(out["metadata"]["generation"], 2)
        self.assertEqual(out["status"]["conditions"], one)
        # Cluster-wide list.
        code, _, doc, _ = self.k.req("GET", "/apis/llmd.ai/v1alpha1/variantautoscalings")
        self.assertEqual(doc["kind"], "VariantAutoscalingList")
        self.assertIn("v1", [i["metadata"]["name"] for i in doc["items"]])
        # Stale RV on a status patch.
        code, _, doc, _ = self.k.req("PATCH", base + "/status",
                                     {"metadata": {"resourceVersion": "1"}, "status": {}},
                                     "application/merge-patch+json")
        self.assertEqual(code, 409)
        # CRDs take no strategic merge patch.
        code, _, doc, _ = self.k.req("PATCH", base, {"spec": {}},
                                     "application/strategic-merge-patch+json")
        self.assertEqual(code, 415)
        status_shape(self, doc, 415, "UnsupportedMediaType")
        # JSON patch works.
        code, _, out, _ = self.k.req("PATCH", base, [{"op": "replace", "path": "/spec/modelID",
                                                      "value": "m2"}],
                                     "application/json-patch+json")
        self.assertEqual((code, out["spec"]["modelID"]), (200, "m2"))

    def test_lease_create_update_conflict(self):
        base = "/apis/coordination.k8s.io/v1/namespaces/lease-ns/leases"
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "wva-optimizer"},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 60}}
        code, _, doc, _ = self.k.req("POST", base, lease)
        self.assertEqual(code, 404)                   # namespace does not exist yet
        self.assertEqual(doc["message"], 'namespaces "lease-ns" not found')
        self.load(ns_obj("lease-ns"))
        code, _, created, _ = self.k.req("POST", base, lease)
        self.assertEqual(code, 201)
        self.assertTrue(created["metadata"]["uid"])
        self.assertTrue(created["metadata"]["creationTimestamp"])
        code, _, doc, _ = self.k.req("POST", base, lease)
        self.assertEqual(code, 409)
        status_shape(self, doc, 409, "AlreadyExists")
        self.assertEqual(doc["message"],
                         'leases.coordination.k8s.io "wva-optimizer" already exists')
        upd = dict(created, spec={"holderIdentity": "b", "leaseDurationSeconds": 60,
                                  "renewTime": "2025-01-01T00:00:00.000000Z"})
        code, _, updated, _ = self.k.req("PUT", base + "/wva-optimizer", upd)
        self.assertEqual(code, 200)
        self.assertEqual(updated["spec"]["holderIdentity"], "b")
        self.assertNotEqual(updated["metadata"]["resourceVersion"],
                            created["metadata"]["resourceVersion"])
        code, _, doc, _ = self.k.req("PUT", base + "/wva-optimizer", upd)    # stale RV
        self.assertEqual(code, 409)
        status_shape(self, doc, 409, "Conflict")
        code, _, got, _ = self.k.req("GET", base + "/wva-optimizer")
        self.assertEqual(got["spec"]["holderIdentity"], "b")

    def test_events_and_access_review(self):
        self.load(ns_obj("ev"))
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"generateName": "v1.", "namespace": "ev"},
              "involvedObject": {"kind": "VariantAutoscaling", "name": "v1", "namespace": "ev"},
              "reason": "ScaledUp", "message": "1 -> 2", "type": "Normal"}
        code, _, out, _ = self.k.req("POST", "/api/v1/namespaces/ev/events", ev)
        self.assertEqual(code, 201)
        self.assertTrue(out["metadata"]["name"].startswith("v1."))
        code, _, doc, _ = self.k.req("GET", "/api/v1/namespaces/ev/events?fieldSelector="
                                     + urllib.parse.quote("reason=ScaledUp"))
        self.assertEqual(len(doc["items"]), 1)
        admin(self.ready, "PUT", "/rbac", {"deny": ["patch deployments/scale"]})
        ssar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"namespace": "ev", "verb": "patch",
                                                "group": "apps", "resource": "deployments",
                                                "subresource": "scale"}}}
        code, _, out, _ = self.k.req("POST", "/apis/authorization.k8s.io/v1/"
                                     "selfsubjectaccessreviews", ssar)
        self.assertEqual(code, 201)
        self.assertFalse(out["status"]["allowed"])
        ssar["spec"]["resourceAttributes"]["verb"] = "get"
        code, _, out, _ = self.k.req("POST", "/apis/authorization.k8s.io/v1/"
                                     "selfsubjectaccessreviews", ssar)
        self.assertTrue(out["status"]["allowed"])

    def test_rbac_forbidden(self):
        self.load(ns_obj("rb"), deployment("rb", "x"))
        admin(self.ready, "PUT", "/rbac",
              {"deny": [{"verb": "patch", "resource": "deployments/scale"},
                        {"verb": "list", "resource": "nodes"}]})
        code, _, doc, _ = self.k.req("PATCH", "/apis/apps/v1/namespaces/rb/deployments/x/scale",
                                     {"spec": {"replicas": 3}}, "application/merge-patch+json")
        self.assertEqual(code, 403)
        status_shape(self, doc, 403, "Forbidden")
        self.assertEqual(doc["message"],
                         'deployments.apps "x" is forbidden: User "%s" cannot patch resource '
                         '"deployments/scale" in API group "apps" in the namespace "rb"'
                         % self.ready["user"])
        self.assertEqual(doc["details"], {"name": "x", "group": "apps", "kind": "deployments"})
        code, _, doc, _ = self.k.req("GET", "/api/v1/nodes")
        self.assertEqual(code, 403)
        self.assertEqual(doc["message"], 'nodes is forbidden: User "%s" cannot list resource '
                         '"nodes" in API group "" at the cluster scope' % self.ready["user"])
        # Not denied: GET of the scale and patch of the deployment itself.
        self.assertEqual(self.k.req("GET", "/apis/apps/v1/namespaces/rb/deployments/x/scale")[0],
                         200)

    def test_faults(self):
        self.load(ns_obj("f"), deployment("f", "d"))
        path = "/apis/apps/v1/namespaces/f/deployments/d"
        admin(self.ready, "PUT", "/faults", [{"method": "GET", "path": "/deployments/d$",
                                              "kind": "status", "status": 500, "count": 2}])
        for _ in range(2):
            code, _, doc, _ = self.k.req("GET", path)
            self.assertEqual(code, 500)
            status_shape(self, doc, 500, "InternalError")
        self.assertEqual(self.k.req("GET", path)[0], 200)       # count used up
        faults = admin(self.ready, "GET", "/faults")["faults"]
        self.assertEqual((faults[0]["count"], faults[0]["hits"]), (0, 2))

        admin(self.ready, "PUT", "/faults", {"kind": "throttle", "path": "/deployments/d$",
                                             "retry_after": 3})
        code, resp, doc, _ = self.k.req("GET", path)
        self.assertEqual(code, 429)
        self.assertEqual(resp.getheader("Retry-After"), "3")
        status_shape(self, doc, 429, "TooManyRequests")
        self.assertEqual(doc["details"], {"retryAfterSeconds": 3})

        admin(self.ready, "PUT", "/faults", {"kind": "delay", "path": "/deployments/d$",
                                             "delay": 0.6})
        t = time.monotonic()
        code, _, _, _ = self.k.req("GET", path)
        self.assertEqual(code, 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.6)

        admin(self.ready, "PUT", "/faults", {"kind": "drop", "path": "/deployments/d$"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                ssl.SSLError)):
            self.k.req("GET", path)
        self.k.close()
        self.k = Kube(self.ready)

        admin(self.ready, "PUT", "/faults", {"kind": "truncate", "path": "/deployments/d$"})
        code, resp, doc, raw = self.k.req("GET", path)
        self.assertEqual(code, 200)
        self.assertIsNone(doc)                                  # not valid JSON
        self.assertTrue(raw.startswith(b'{"kind":"Deployment","apiVersion":"apps/v1"'))
        self.assertEqual(int(resp.getheader("Content-Length")), len(raw))

        admin(self.ready, "PUT", "/faults", {"kind": "content-type",
                                             "path": "/deployments/d$"})
        code, resp, doc, raw = self.k.req("GET", path)
        self.assertEqual(code, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/html"))
        self.assertIn(b"<html>", raw)

        admin(self.ready, "PUT", "/faults", {"kind": "warning", "path": "/deployments/d$",
                                             "warning": "apps/v1 is deprecated"})
        code, resp, doc, _ = self.k.req("GET", path)
        self.assertEqual(code, 200)
        self.assertEqual(resp.getheader("Warning"), '299 - "apps/v1 is deprecated"')
        self.assertEqual(doc["metadata"]["name"], "d")

        # Method filter: a PATCH-only fault does not touch GETs; the written patch is kept
        # when a "drop after" fault loses the answer.
        admin(self.ready, "PUT", "/faults", {"kind": "drop", "after": True, "method": "PATCH",
                                             "path": "/scale$"})
        self.assertEqual(self.k.req("GET", path + "/scale")[0], 200)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                ssl.SSLError)):
            self.k.req("PATCH", path + "/scale", {"spec": {"replicas": 9}},
                       "application/merge-patch+json")
        self.k.close()
        self.k = Kube(self.ready)
        self.assertEqual(self.k.req("GET", path)[2]["spec"]["replicas"], 9)

    def test_request_log(self):
        admin(self.ready, "DELETE", "/log")
        self.load(ns_obj("lg"), deployment("lg", "d"))
        self.k.req("GET", "/apis/apps/v1/namespaces/lg/deployments?limit=10")
        self.k.req("PATCH", "/apis/apps/v1/namespaces/lg/deployments/d/scale",
                   {"spec": {"replicas": 4}}, "application/merge-patch+json")
        self.k.req("GET", "/apis/llmd.ai/v1alpha1/variantautoscalings")
        bad = Kube(self.ready, token="secret-bad-token-123")
        bad.req("GET", "/api/v1/pods")
        bad.close()
        entries = admin(self.ready, "GET", "/log")["entries"]
        self.assertEqual(len(entries), 4)
        e0, e1, e2, e3 = entries
        self.assertEqual((e0["method"], e0["verb"], e0["resource"], e0["namespace"],
                          e0["query"], e0["status"]),
                         ("GET", "list", "deployments", "lg", "limit=10", 200))
        self.assertEqual((e1["verb"], e1["resource"], e1["subresource"], e1["name"],
                          e1["status"]), ("patch", "deployments", "scale", "d", 200))
        self.assertEqual(e1["body"], {"spec": {"replicas": 4}})
        self.assertEqual(e1["content_type"], "application/merge-patch+json")
        self.assertEqual((e2["verb"], e2["namespace"]), ("list", None))
        self.assertEqual(e3["status"], 401)
        for e in entries:
            self.assertTrue(e["authorization"])
            self.assertEqual(e["user_agent"], "wva-selftest/1")
            self.assertIn("time", e)
        text = read(self.ready["log"])
        self.assertEqual(len(text.splitlines()), 4)
        self.assertNotIn(TOKEN, text)
        self.assertNotIn("secret-bad-token-123", text)
        self.assertNotIn(TOKEN, json.dumps(entries))

    def test_admin_objects(self):
        self.load(ns_obj("adm"))
        out = admin(self.ready, "PUT", "/objects/deployments/adm/z", deployment("adm", "z"))
        rv = out["metadata"]["resourceVersion"]
        out = admin(self.ready, "PATCH", "/objects/deployments/adm/z",
                    {"spec": {"replicas": 6}})
        self.assertEqual(out["spec"]["replicas"], 6)
        self.assertGreater(int(out["metadata"]["resourceVersion"]), int(rv))
        got = admin(self.ready, "GET", "/objects/deployments/adm/z")
        self.assertEqual(got["spec"]["replicas"], 6)
        admin(self.ready, "DELETE", "/objects/deployments/adm/z")
        self.assertEqual(self.k.req("GET", "/apis/apps/v1/namespaces/adm/deployments/z")[0], 404)
        snap = {"kind": "WVASnapshot", "version": 1,
                "namespaces": {"kind": "NamespaceList", "items": [ns_obj("snap")]},
                "variantAutoscalings": {"kind": "VariantAutoscalingList",
                                        "items": [va("snap", "a"), va("snap", "b")]},
                "deployments": {"kind": "DeploymentList",
                                "items": [deployment("snap", "a"), deployment("snap", "b")]},
                "pods": {"kind": "PodList", "items": []},
                "configMaps": {"kind": "ConfigMapList", "items": []}}
        self.assertEqual(admin(self.ready, "POST", "/objects", snap)["loaded"], 5)
        code, _, doc, _ = self.k.req("GET", "/apis/llmd.ai/v1alpha1/namespaces/snap/"
                                     "variantautoscalings")
        self.assertEqual([i["metadata"]["name"] for i in doc["items"]], ["a", "b"])


class BigStateTest(unittest.TestCase):
    """10,000 VAs + 10,000 Deployments + 30,000 pods: a 500-item page in well under 100 ms."""

    def test_page_speed(self):
        ready = wait_ready("big", os.path.join(TMP, "big", "kubeapi.ready.json"))
        k = Kube(ready)
        admin(ready, "DELETE", "/log")
        timings = {}
        try:
            for name, path in (("pods", "/api/v1/pods?limit=500"),
                               ("vas", "/apis/llmd.ai/v1alpha1/variantautoscalings?limit=500"),
                               ("deployments", "/apis/apps/v1/deployments?limit=500")):
                ts = []
                for _ in range(4):
                    t = time.perf_counter()
                    code, _, _, raw = k.req("GET", path, parse=False)
                    ts.append((time.perf_counter() - t) * 1000)
                    self.assertEqual(code, 200)
                timings[name] = ts
                doc = json.loads(raw)
                self.assertEqual(len(doc["items"]), 500)
            # Paging through all 30,000 pods.
            t = time.perf_counter()
            n, cont, pages = 0, "", 0
            while True:
                code, _, doc, _ = k.req("GET", "/api/v1/pods?limit=500" +
                                        ("&continue=" + cont if cont else ""))
                n += len(doc["items"])
                pages += 1
                cont = doc["metadata"].get("continue")
                if not cont:
                    break
            all_pods = time.perf_counter() - t
            self.assertEqual((n, pages), (30000, 60))
            code, _, doc, _ = k.req("GET", "/apis/llmd.ai/v1alpha1/variantautoscalings?limit=1")
            self.assertEqual(code, 200)
        finally:
            k.close()
        server = [e["duration_ms"] for e in admin(ready, "GET", "/log")["entries"]]
        sys.stderr.write("\n[speed] client ms per 500-item page (the first includes the TLS "
                         "handshake): %s\n"
                         "[speed] server-side ms: max %.1f, mean %.1f over %d requests; "
                         "all 30,000 pods in %.2fs\n"
                         % ({k2: ["%.1f" % x for x in v] for k2, v in timings.items()},
                            max(server), sum(server) / len(server), len(server), all_pods))
        for name, ts in timings.items():
            self.assertLess(max(ts), 100, name)
        self.assertLess(max(server), 100)


# --------------------------------------------------------------------------
# vllm_exporter.py + real Prometheus
# --------------------------------------------------------------------------

def http_json(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    rq = urllib.request.Request(url, data=data, method=method,
                                headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(rq, timeout=10) as r:
        return json.loads(r.read())


class ExporterPrometheusTest(unittest.TestCase):
    def test_exporter_and_prometheus(self):
        ex = READY["exporter"]["url"]
        prom = "http://127.0.0.1:%d" % READY["prometheus"]
        state = {"pods": [
            {"namespace": "ns-a", "pod": "p1", "model_name": "m1", "kv": 0.42, "queue": 3,
             "running": 7, "num_gpu_blocks": 4096, "block_size": 16, "success_total": 120},
            {"namespace": "ns-a", "pod": "p2", "model_name": "m1", "kv": 0.91, "queue": 0},
            {"namespace": "ns-b", "pod": "q1", "model_name": "m2", "kv": "NaN",
             "gpu_cache": 0.3}],
            "gateway": [{"target_model_name": "m2", "namespace": "ns-b", "value": 4}],
            "custom": [{"name": "vllm:custom_latency", "labels": {"namespace": "ns-a",
                                                                 "pod": "p1",
                                                                 "model_name": "m1"},
                        "value": "+Inf"}]}
        http_json("PUT", ex + "/control", state)
        back = http_json("GET", ex + "/control")["state"]
        self.assertEqual(back["pods"][2]["kv"], "NaN")
        self.assertEqual(back["custom"][0]["value"], "+Inf")
        with urllib.request.urlopen(ex + "/metrics", timeout=5) as r:
            text = r.read().decode()
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertIn('vllm:kv_cache_usage_perc{namespace="ns-a",pod="p1",model_name="m1"} '
                      '0.42\n', text)
        self.assertIn('vllm:kv_cache_usage_perc{namespace="ns-b",pod="q1",model_name="m2"} '
                      'NaN\n', text)
        self.assertIn('vllm:cache_config_info{namespace="ns-a",pod="p1",model_name="m1",'
                      'num_gpu_blocks="4096",block_size="16",cache_dtype="auto"} 1\n', text)
        self.assertIn("# TYPE vllm:request_success_total counter\n", text)
        self.assertIn('inference_extension_flow_control_queue_size{target_model_name="m2",'
                      'namespace="ns-b"} 4\n', text)
        self.assertEqual(text.count("# TYPE vllm:kv_cache_usage_perc"), 1)
        self.assertNotIn("vllm:num_requests_waiting{namespace=\"ns-b\"", text)  # absent field
        with self.assertRaises(urllib.error.HTTPError) as cm:
            http_json("PUT", ex + "/control", {"pods": [{"pod": "x"}]})
        self.assertEqual(cm.exception.code, 400)

        def query(q):
            url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
            doc = http_json("GET", url)
            self.assertEqual(doc["status"], "success")
            return {(r["metric"].get("namespace"), r["metric"].get("pod"),
                     r["metric"].get("model_name")): r["value"][1]
                    for r in doc["data"]["result"]}

        q = "max by (namespace,pod,model_name)(max_over_time(vllm:kv_cache_usage_perc[1m]))"
        want = {("ns-a", "p1", "m1"): "0.42", ("ns-a", "p2", "m1"): "0.91",
                ("ns-b", "q1", "m2"): "NaN"}
        deadline = time.time() + 15
        got = None
        while time.time() < deadline:
            got = query(q)
            if got == want:
                break
            time.sleep(0.25)
        self.assertEqual(got, want)
        self.assertEqual(query("max by (namespace,pod,model_name)(vllm:num_requests_waiting)"),
                         {("ns-a", "p1", "m1"): "3", ("ns-a", "p2", "m1"): "0"})
        info = http_json("GET", prom + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": "vllm:cache_config_info"}))["data"]["result"]
        self.assertEqual([(r["metric"]["num_gpu_blocks"], r["metric"]["block_size"])
                          for r in info], [("4096", "16")])
        gw = http_json("GET", prom + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": "sum by (target_model_name)(inference_extension_flow_control_queue_size)"}
        ))["data"]["result"]
        self.assertEqual([(r["metric"]["target_model_name"], r["value"][1]) for r in gw],
                         [("m2", "4")])
        # honor_labels: the exporter's labels win over the target's.
        up = http_json("GET", prom + "/api/v1/query?query=up")["data"]["result"]
        self.assertEqual(up[0]["value"][1], "1")
        self.assertGreater(http_json("GET", ex + "/scrapes")["count"], 0)


# --------------------------------------------------------------------------
# lib.sh (and kubeapi.py --auth cert) from bash
# --------------------------------------------------------------------------

LIB_SCRIPT = r"""
set -euo pipefail
. "$1/lib.sh"
trap stop_all EXIT
d=$2
start_kubeapi "$d/k" --auth cert --token tok --sync-deployment-status
start_exporter "$d/e"
start_prometheus "$d/p" "$EXPORTER_PORT"
echo "PIDS ${WVA_SERVER_PIDS[*]} $(cat "$d/p/prometheus.pid")"
if curl -fsS --cacert "$KUBEAPI_CA" -H "Authorization: Bearer tok" \
        "$KUBEAPI_URL/api/v1/namespaces" >/dev/null 2>&1; then
    echo "cert mode accepted a bare token"; exit 1
fi
curl -fsS --cacert "$KUBEAPI_CA" --cert "$d/k/client.crt" --key "$d/k/client.key" \
    "$KUBEAPI_URL/api/v1/namespaces" | grep -q NamespaceList
kubeapi_admin POST /objects '{"kind":"NamespaceList","items":[{"metadata":{"name":"x"}}]}' \
    | grep -q '"loaded":1'
exporter_set '{"pods":[{"namespace":"x","pod":"p","model_name":"m","kv":0.25}]}'
wait_for_scrape 2
prom_query 'vllm:kv_cache_usage_perc' | grep -q '"0.25"'
wait_for_port "$KUBEAPI_ADMIN_PORT" 2
echo LIBOK
"""


class LibShTest(unittest.TestCase):
    def test_lib_sh_starts_and_stops_everything(self):
        d = os.path.join(TMP, "lib")
        r = subprocess.run(["bash", "-c", LIB_SCRIPT, "lib-test", HERE, d],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("LIBOK", r.stdout)
        pids = [int(p) for p in r.stdout.split("PIDS ")[1].split("\n")[0].split()]
        self.assertEqual(len(pids), 3)
        for pid in pids:        # stop_all (EXIT trap) ended every one of them
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)
        self.assertFalse(os.path.exists(os.path.join(d, "k", "kubeapi.ready.json")))


if __name__ == "__main__":
    unittest.main()
