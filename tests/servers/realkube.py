#!/usr/bin/env python3
"""A real Kubernetes control plane for tests: scripts/realkube.sh (etcd,
kube-apiserver and kube-controller-manager built from Kubernetes' released
Go modules) driven from Python.

    kube = RealKube.start()                 # builds once (cached), starts
    kube.kubectl("apply", "-k", "cronjob/")
    kube.namespace("team-a")
    kube.deployment("team-a", "m-l4", replicas=2, accelerator="NVIDIA-L4")
    pods = kube.wait_pods("team-a", "m-l4", 2)
    kube.mark_ready("team-a", pods)         # what a kubelet would report
    token = kube.token("workload-variant-autoscaler-system", "wva-optimizer")
    kube.token_kubeconfig(path, token)      # the binary runs with this
    kube.audit(since=mark)                  # every request, Metadata level
    kube.stop()

There is no kubelet and no scheduler: pods stay Pending until a test binds
them to a node (the binding subresource, as the scheduler does) and marks
them Running and Ready through the pod status subresource (as the kubelet
does).  Deployment and ReplicaSet status are the real controllers' work.

Only 127.0.0.1 is used.  Standard library only (plus the script's needs:
go, openssl, curl).
"""
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(TOP, "scripts", "realkube.sh")


class ApiError(Exception):
    def __init__(self, code, body, method, path):
        self.code = code
        self.body = body
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__("%s %s: %d %s" % (method, path, code, message))


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RealKube:
    """One running control plane (start() makes one; stop() ends it)."""

    def __init__(self, directory):
        self.dir = directory
        self.kubeconfig = os.path.join(directory, "admin.kubeconfig")
        self.kubectl_bin = os.path.join(directory, "bin", "kubectl")
        self.pki = os.path.join(directory, "pki")
        self.ca = os.path.join(self.pki, "ca.crt")
        with open(os.path.join(directory, "apiserver.port")) as f:
            self.port = int(f.read().strip())
        self.url = "https://127.0.0.1:%d" % self.port
        self.audit_path = os.path.join(directory, "audit.log")
        self._ctx = ssl.create_default_context(cafile=self.ca)
        self._ctx.load_cert_chain(os.path.join(self.pki, "admin.crt"),
                                  os.path.join(self.pki, "admin.key"))
        self._conn = None
        self.start_seconds = None

    # -- life cycle ------------------------------------------------------
    @classmethod
    def start(cls, directory=None, timeout=3600):
        """Builds (first time only) and starts a control plane in directory
        (a new temporary one by default)."""
        directory = directory or tempfile.mkdtemp(prefix="wva-realkube-")
        t0 = time.time()
        p = subprocess.run(["bash", SCRIPT, "start", directory], capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError("realkube.sh start failed (exit %d):\n%s"
                               % (p.returncode, p.stderr[-4000:]))
        kube = cls(directory)
        kube.start_seconds = time.time() - t0
        kube.start_log = p.stderr
        return kube

    def stop(self, remove=False):
        if self._conn:
            self._conn.close()
            self._conn = None
        subprocess.run(["bash", SCRIPT, "stop", self.dir], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- kubectl ---------------------------------------------------------
    def kubectl(self, *args, input=None, check=True, kubeconfig=None, timeout=120):
        """Runs the kubectl of the same build; returns the CompletedProcess."""
        p = subprocess.run([self.kubectl_bin, "--kubeconfig", kubeconfig or self.kubeconfig]
                           + list(args), input=input, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("kubectl %s: exit %d\n%s" % (" ".join(args), p.returncode,
                                                            p.stderr[-3000:]))
        return p

    # -- direct API calls (admin) ------------------------------------------
    def api(self, method, path, body=None, content_type="application/json", ok=(200, 201)):
        """One request as the admin (system:masters) over a kept-alive
        connection; returns the decoded JSON body, raises ApiError."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                         context=self._ctx, timeout=60)
            try:
                self._conn.request(method, path, body=data, headers=headers)
                resp = self._conn.getresponse()
                text = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        doc = json.loads(text) if text else None
        if resp.status not in ok:
            raise ApiError(resp.status, doc, method, path)
        return doc

    def get(self, path):
        return self.api("GET", path)

    def exists(self, path):
        try:
            self.get(path)
            return True
        except ApiError as e:
            if e.code == 404:
                return False
            raise

    def create(self, path, obj):
        return self.api("POST", path, obj)

    def merge_patch(self, path, patch):
        return self.api("PATCH", path, patch, "application/merge-patch+json")

    def delete(self, path, ok=(200, 202, 404)):
        return self.api("DELETE", path, ok=ok)

    # -- objects -----------------------------------------------------------
    def namespace(self, name, labels=None, annotations=None):
        obj = {"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": labels or {},
                            "annotations": annotations or {}}}
        try:
            return self.create("/api/v1/namespaces", obj)
        except ApiError as e:
            if e.code != 409:
                raise
            return self.merge_patch("/api/v1/namespaces/" + name,
                                    {"metadata": {"labels": labels or {},
                                                  "annotations": annotations or {}}})

    def configmap(self, ns, name, data):
        obj = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": ns}, "data": data}
        try:
            return self.create("/api/v1/namespaces/%s/configmaps" % ns, obj)
        except ApiError as e:
            if e.code != 409:
                raise
            return self.api("PUT", "/api/v1/namespaces/%s/configmaps/%s" % (ns, name), obj)

    def deployment(self, ns, name, replicas=1, accelerator="NVIDIA-L4", gpus=1,
                   vendor="nvidia.com", labels=None):
        """A Deployment of a vLLM-like pod asking for GPUs on a given
        accelerator type (node selector <vendor>/gpu.product)."""
        selector = {"app": name}
        obj = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
               "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                        "template": {"metadata": {"labels": selector}, "spec": {
                            "nodeSelector": {vendor + "/gpu.product": accelerator},
                            "terminationGracePeriodSeconds": 0,
                            "containers": [{"name": "vllm", "image": "vllm/vllm-openai",
                                            "resources": {
                                                "requests": {vendor + "/gpu": str(gpus)},
                                                "limits": {vendor + "/gpu": str(gpus)}}}]}}}}
        return self.create("/apis/apps/v1/namespaces/%s/deployments" % ns, obj)

    def va(self, ns, name, model, target=None, cost="10.0", accelerator=None, labels=None,
           spec=None):
        """A VariantAutoscaling (created through the API: the CRD's schema
        applies)."""
        lab = dict(labels or {})
        if accelerator:
            lab["inference.optimization/acceleratorName"] = accelerator
        s = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                "name": target or name},
             "modelID": model, "variantCost": cost}
        s.update(spec or {})
        obj = {"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
               "metadata": {"name": name, "namespace": ns, "labels": lab}, "spec": s}
        return self.create("/apis/llmd.ai/v1alpha1/namespaces/%s/variantautoscalings" % ns,
                           obj)

    def get_va(self, ns, name):
        return self.get("/apis/llmd.ai/v1alpha1/namespaces/%s/variantautoscalings/%s"
                        % (ns, name))

    def get_deployment(self, ns, name):
        return self.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name))

    def node(self, name, product, gpus, vendor="nvidia.com"):
        """A GPU node (no kubelet): labelled <vendor>/gpu.product, with
        allocatable GPUs and a Ready condition written to its status."""
        obj = {"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": name, "labels": {vendor + "/gpu.product": product,
                                                     "kubernetes.io/hostname": name}}}
        try:
            self.create("/api/v1/nodes", obj)
        except ApiError as e:
            if e.code != 409:
                raise
        res = {"cpu": "64", "memory": "512Gi", "pods": "250", vendor + "/gpu": str(gpus)}
        now = utc_now()
        return self.merge_patch("/api/v1/nodes/%s/status" % name, {"status": {
            "capacity": res, "allocatable": res,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "test node", "lastHeartbeatTime": now,
                            "lastTransitionTime": now}]}})

    # -- pods: the scheduler's and the kubelet's part ----------------------
    def pods(self, ns, selector=None):
        q = "?labelSelector=" + urllib.parse.quote(selector) if selector else ""
        items = self.get("/api/v1/namespaces/%s/pods%s" % (ns, q))["items"]
        return sorted((p for p in items if not p["metadata"].get("deletionTimestamp")),
                      key=lambda p: p["metadata"]["name"])

    def wait_pods(self, ns, app, count, timeout=60):
        """Names of the count live pods of Deployment app once the
        controllers made exactly that many."""
        deadline = time.time() + timeout
        while True:
            names = [p["metadata"]["name"] for p in self.pods(ns, "app=" + app)]
            if len(names) == count:
                return names
            if time.time() > deadline:
                raise RuntimeError("%s/%s: %d pods, expected %d" % (ns, app, len(names), count))
            time.sleep(0.2)

    def bind(self, ns, pod, node):
        """Binds a pod to a node, as the scheduler does."""
        self.create("/api/v1/namespaces/%s/pods/%s/binding" % (ns, pod), {
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": pod, "namespace": ns},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}})

    def mark_ready(self, ns, pods, node=None, ready=True):
        """Reports pods Running (and Ready) through their status
        subresource, as a kubelet would; binds them to node first when
        given."""
        now = utc_now()
        for name in pods:
            if node:
                self.bind(ns, name, node)
            status = "True" if ready else "False"
            self.merge_patch("/api/v1/namespaces/%s/pods/%s/status" % (ns, name), {"status": {
                "phase": "Running", "startTime": now, "podIP": "10.244.0.10",
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": status, "lastTransitionTime": now},
                    {"type": "Ready", "status": status, "lastTransitionTime": now}],
                "containerStatuses": [{"name": "vllm", "ready": ready, "restartCount": 0,
                                       "image": "vllm/vllm-openai", "imageID": "",
                                       "started": True,
                                       "state": {"running": {"startedAt": now}}}]}})

    def wait_deployment(self, ns, name, replicas, ready=None, timeout=60):
        """Waits until the Deployment controller reports status.replicas ==
        replicas (and readyReplicas == ready, when given)."""
        deadline = time.time() + timeout
        while True:
            d = self.get_deployment(ns, name)
            st = d.get("status", {})
            if st.get("observedGeneration", 0) >= d["metadata"]["generation"] and \
                    st.get("replicas", 0) == replicas and \
                    (ready is None or st.get("readyReplicas", 0) == ready):
                return d
            if time.time() > deadline:
                raise RuntimeError("%s/%s: status %s, wanted replicas=%s ready=%s"
                                   % (ns, name, st, replicas, ready))
            time.sleep(0.2)

    def running_deployment(self, ns, name, replicas, node=None, **kw):
        """A Deployment whose pods the controllers made and a test kubelet
        reported Ready; returns the pod names."""
        self.deployment(ns, name, replicas=replicas, **kw)
        pods = self.wait_pods(ns, name, replicas)
        self.mark_ready(ns, pods, node=node)
        self.wait_deployment(ns, name, replicas, ready=replicas)
        return pods

    # -- identities --------------------------------------------------------
    def token(self, ns, sa, seconds=3600):
        """A token for ServiceAccount ns/sa from the TokenRequest API."""
        doc = self.create("/api/v1/namespaces/%s/serviceaccounts/%s/token" % (ns, sa),
                          {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                           "spec": {"expirationSeconds": seconds}})
        return doc["status"]["token"]

    def token_kubeconfig(self, path, token, user="wva-optimizer"):
        """A kubeconfig with the CA and a bearer token (no exec plugin)."""
        with open(path, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write("apiVersion: v1\nkind: Config\n"
                    "clusters:\n- name: realkube\n  cluster:\n"
                    "    server: %s\n    certificate-authority: %s\n"
                    "users:\n- name: %s\n  user:\n    token: %s\n"
                    "contexts:\n- name: realkube\n  context:\n    cluster: realkube\n"
                    "    user: %s\ncurrent-context: realkube\n"
                    % (self.url, self.ca, user, token, user))
        return path

    # -- the audit log -------------------------------------------------------
    def audit_mark(self):
        """A position in the audit log: audit(since=mark) returns later events."""
        try:
            return os.path.getsize(self.audit_path)
        except OSError:
            return 0

    def audit(self, since=0, user=None):
        """Audit events (Metadata level, one per completed request) written
        after position since, of one user when given."""
        out = []
        with open(self.audit_path, "rb") as f:
            f.seek(since)
            for line in f:
                if not line.endswith(b"\n"):
                    break
                ev = json.loads(line)
                if ev.get("stage") != "ResponseComplete":
                    continue
                if user and ev.get("user", {}).get("username") != user:
                    continue
                out.append(ev)
        return out


def request_of(ev):
    """(verb, resource[/subresource]) of an audit event, for counting."""
    ref = ev.get("objectRef") or {}
    res = ref.get("resource", ev.get("requestURI", "?"))
    if ref.get("subresource"):
        res += "/" + ref["subresource"]
    return ev["verb"], res


if __name__ == "__main__":
    import sys
    k = RealKube.start(sys.argv[1] if len(sys.argv) > 1 else None)
    print("up in %.1fs: %s (stop with: scripts/realkube.sh stop %s)"
          % (k.start_seconds, k.kubeconfig, k.dir))
