#!/usr/bin/env python3
"""gen_snapshot.py - synthetic wva-optimizer snapshots (SPEC section 8).

Writes one WVASnapshot JSON document whose Kubernetes parts look exactly like
`kubectl get ... -o json` list output and whose metrics look exactly like a
Prometheus instant query's data.result items.  Used for benchmarks, scale
tests and the demo in examples/.  Python 3 standard library only; the output
is a pure function of the options (same seed, same bytes).

Scenario semantics (default thresholds kv 0.80 / queue 5 / spare 0.10 / 3):
  overloaded  every replica kv in [T - spare/2, T + 0.15], queue Q-2..Q+5:
              the analysis must say shouldScaleUp.
  idle        kv 0.10-0.30, queue 0-1: scaleDownSafe when the model has at
              least two replicas with metrics.
  steady      kv just below T - spare, queue 0-1: neither (hold).
  missing-metrics  Deployments and pods exist, no series at all.
  invalid     one VA whose variantCost does not match ^\\d+(\\.\\d+)?$.
  target-missing   one VA whose Deployment does not exist.
  excluded    one model in a namespace annotated wva.llmd.ai/exclude=true.
The generator evaluates the SPEC section 6 formulas itself on the values it
writes (with the thresholds it configured) and can record the result with
--expect FILE, so tests need not trust these words.

Usage: gen_snapshot.py --vas 1000 --seed 1 [--limited] -o snap.json
       gen_snapshot.py --demo -o examples/demo-snapshot.json
"""

import argparse
import hashlib
import json
import math
import random
import sys
import time

CAPTURED_EPOCH = 1732700000            # 2024-11-27T09:33:20Z
SYSTEM_NS = "workload-variant-autoscaler-system"
MAIN_CM = "wva-variantautoscaling-config"
SAT_CM = "wva-saturation-config"
ACC_LABEL = "inference.optimization/acceleratorName"
EXCLUDE_ANN = "wva.llmd.ai/exclude"

# token, vendor product name, vendor resource prefix, cost per GPU,
# KV blocks per unit of cost (cheaper GPUs are slightly more cost-efficient,
# so the variant cheapest per replica is usually cheapest per KV block too).
ACCELERATORS = [
    ("A100", "NVIDIA-A100-SXM4-80GB", "nvidia.com", 40.0, 1.05),
    ("H100", "NVIDIA-H100-80GB-HBM3", "nvidia.com", 60.0, 0.95),
    ("L4", "NVIDIA-L4", "nvidia.com", 8.0, 1.25),
    ("L40S", "NVIDIA-L40S", "nvidia.com", 18.0, 1.15),
    ("T4", "Tesla-T4", "nvidia.com", 5.0, 1.30),
    ("A10G", "NVIDIA-A10G", "nvidia.com", 10.0, 1.20),
    ("MI300X", "AMD-MI300X-192G", "amd.com", 50.0, 1.00),
    ("Gaudi-2", "Intel-Gaudi-2-96GB", "intel.com", 35.0, 1.10),
]
ACC = {a[0]: a for a in ACCELERATORS}

# GPUs per replica by model size class; a missing entry = does not fit.
GPUS_FOR_SIZE = {
    "small": {"T4": [2], "L4": [1], "A10G": [1], "L40S": [1], "A100": [1],
              "H100": [1], "MI300X": [1], "Gaudi-2": [1]},
    "medium": {"L4": [4], "A10G": [4], "L40S": [2], "A100": [1, 2],
               "H100": [1], "MI300X": [1], "Gaudi-2": [1]},
    "large": {"L40S": [4], "A100": [4], "H100": [2, 4], "MI300X": [1, 2],
              "Gaudi-2": [2, 4]},
}
# KV blocks per cost unit shrink with model size (bigger KV per token).
SIZE_BLOCK_FACTOR = {"small": 500.0, "medium": 260.0, "large": 90.0}

MODELS = [
    ("meta-llama/Llama-3.1-8B-Instruct", "small"),
    ("ibm-granite/granite-3.1-8b-instruct", "small"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "small"),
    ("Qwen/Qwen2.5-7B-Instruct", "small"),
    ("google/gemma-2-9b-it", "small"),
    ("Qwen/Qwen2.5-14B-Instruct", "medium"),
    ("microsoft/phi-4", "medium"),
    ("mistralai/Mistral-Small-24B-Instruct-2501", "medium"),
    ("google/gemma-2-27b-it", "medium"),
    ("Qwen/Qwen2.5-32B-Instruct", "medium"),
    ("meta-llama/Llama-3.1-70B-Instruct", "large"),
    ("meta-llama/Llama-3.3-70B-Instruct", "large"),
    ("Qwen/Qwen2.5-72B-Instruct", "large"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "large"),
]

BUILTIN_THRESHOLDS = {"kvCacheThreshold": 0.80, "queueLengthThreshold": 5.0,
                      "kvSpareTrigger": 0.10, "queueSpareTrigger": 3.0}
BAD_COSTS = ["cheap", "-40.0", "4e1", "40,0", "$12", "12.5.1", " 10", ""]
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"   # Kubernetes' SafeEncodeString
NODE_GPUS = 8
MARGIN = 1e-3   # keep every analysed comparison this far from its boundary
# The demo keeps only the fields a reader (and the engine) needs, as
# --snapshot-out would: still a valid snapshot, small enough to read.
LEAN = False


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def prom_value(v):
    """Format like Prometheus does for sample values: shortest plain form."""
    if v == int(v):
        return str(int(v))
    return ("%.4f" % v).rstrip("0").rstrip(".")


_SHORT = {}


def short_name(model_id):
    if model_id in _SHORT:
        return _SHORT[model_id]
    s = model_id.split("/")[-1].lower()
    out = []
    for ch in s:
        out.append(ch if ch.isalnum() else "-")
    s = "".join(out).strip("-")
    while "--" in s:
        s = s.replace("--", "-")
    _SHORT[model_id] = s[:40].strip("-")
    return _SHORT[model_id]


def gpu_resource(token):
    return ACC[token][2] + "/gpu"


def gpu_product_key(token):
    return ACC[token][2] + "/gpu.product"


class Ids:
    """Deterministic uids, resourceVersions, hashes and timestamps."""

    def __init__(self, rng):
        self.rng = rng
        self.rv = 4000000

    def uid(self):
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:])

    def resource_version(self):
        self.rv += self.rng.randint(1, 97)
        return str(self.rv)

    def token(self, n):
        x = self.rng.getrandbits(5 * n + 8)
        out = []
        for _ in range(n):
            x, d = divmod(x, len(SAFE_ALPHABET))
            out.append(SAFE_ALPHABET[d])
        return "".join(out)

    def created(self, max_days=60):
        return rfc3339(CAPTURED_EPOCH - self.rng.randint(3600, max_days * 86400))


# ---------------------------------------------------------------------------
# Kubernetes object builders: shapes as `kubectl get -o json` prints them.

def k8s_list(api_version, kind, items, ids):
    return {"apiVersion": api_version, "items": items, "kind": kind,
            "metadata": {"resourceVersion": ids.resource_version()}}


def meta(ids, name, namespace=None, labels=None, annotations=None, extra=None):
    m = {"name": name} if LEAN else {"creationTimestamp": ids.created(), "name": name}
    if namespace is not None:
        m["namespace"] = namespace
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    m["resourceVersion"] = ids.resource_version()
    if not LEAN:
        m["uid"] = ids.uid()
    if extra:
        m.update(extra)
    return m


def namespace_obj(ids, name, labels=None, annotations=None):
    lab = {"kubernetes.io/metadata.name": name}
    lab.update(labels or {})
    if LEAN:
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": meta(ids, name, labels=labels, annotations=annotations)}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(ids, name, labels=lab, annotations=annotations),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}}


def configmap_obj(ids, namespace, name, data, labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
            "metadata": meta(ids, name, namespace, labels=labels)}


def va_obj(ids, v):
    labels = {}
    if v["acc_label"]:
        labels[ACC_LABEL] = v["acc_label"]
    spec = {"modelID": v["model_id"],
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                               "name": v["deploy"]},
            "variantCost": v["cost"]}
    if v["min"] is not None:
        spec["minReplicas"] = v["min"]
    if v["max"] is not None:
        spec["maxReplicas"] = v["max"]
    if v["priority"] is not None:
        spec["priority"] = v["priority"]
    obj = {"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
           "metadata": meta(ids, v["name"], v["ns"], labels=labels,
                            extra=None if LEAN else {"generation": 1}),
           "spec": spec}
    if v["status"]:
        last = rfc3339(CAPTURED_EPOCH - 900)
        obj["status"] = {
            "actuation": {"applied": True},
            "conditions": [
                {"lastTransitionTime": rfc3339(CAPTURED_EPOCH - 86400),
                 "message": "Deployment %s found" % v["deploy"],
                 "reason": "TargetFound", "status": "True",
                 "type": "TargetResolved"},
                {"lastTransitionTime": rfc3339(CAPTURED_EPOCH - 86400),
                 "message": "vLLM metrics found for %s" % v["model_id"],
                 "reason": "MetricsFound", "status": "True",
                 "type": "MetricsAvailable"},
                {"lastTransitionTime": rfc3339(CAPTURED_EPOCH - 86400),
                 "message": "optimization succeeded",
                 "reason": "OptimizationSucceeded", "status": "True",
                 "type": "OptimizationReady"}],
            "desiredOptimizedAlloc": {"accelerator": v["acc"],
                                      "lastRunTime": last,
                                      "numReplicas": v["replicas"]}}
    return obj


def selector_labels(v):
    return {"app.kubernetes.io/name": v["deploy"],
            "llm-d.ai/model": short_name(v["model_id"])}


def container(v, gpus_str):
    res = gpu_resource(v["acc"])
    if LEAN:
        return {"image": "ghcr.io/llm-d/llm-d:v0.2.0", "name": "vllm",
                "resources": {"limits": {res: gpus_str},
                              "requests": {res: gpus_str}}}
    return {"args": ["--model", v["model_id"], "--port", "8000",
                     "--tensor-parallel-size", gpus_str],
            "image": "ghcr.io/llm-d/llm-d:v0.2.0",
            "imagePullPolicy": "IfNotPresent",
            "name": "vllm",
            "ports": [{"containerPort": 8000, "name": "http",
                       "protocol": "TCP"}],
            "resources": {"limits": {res: gpus_str},
                          "requests": {"cpu": "8", "memory": "64Gi",
                                       res: gpus_str}}}


def node_affinity(v):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{
            "key": gpu_product_key(v["acc"]), "operator": "In",
            "values": [ACC[v["acc"]][1]]}]}]}}}


def pod_spec(v):
    # One spec per variant, shared (read-only) by its Deployment template
    # and pods: the JSON encoder does not care and 10,000 VAs stay fast.
    if "_spec" in v:
        return v["_spec"]
    gpus_str = str(v["gpus"])
    spec = {"containers": [container(v, gpus_str)]}
    if not LEAN:
        spec.update({"restartPolicy": "Always",
                     "schedulerName": "default-scheduler",
                     "terminationGracePeriodSeconds": 30})
    if v["node_selector"]:
        spec["nodeSelector"] = {gpu_product_key(v["acc"]): ACC[v["acc"]][1]}
    else:
        spec["affinity"] = node_affinity(v)
    v["_spec"] = spec
    return spec


def deployment_obj(ids, v):
    sel = selector_labels(v)
    tmpl_labels = dict(sel)
    tmpl_labels["llm-d.ai/inferenceServing"] = "true"
    ready = v["ready"]
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": meta(ids, v["deploy"], v["ns"], labels=dict(sel),
                            annotations={"deployment.kubernetes.io/revision": "1"},
                            extra=None if LEAN else {"generation": 1}),
           "spec": {"progressDeadlineSeconds": 600,
                    "replicas": v["replicas"],
                    "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": sel},
                    "strategy": {"rollingUpdate": {"maxSurge": "25%",
                                                   "maxUnavailable": "25%"},
                                 "type": "RollingUpdate"},
                    "template": {"metadata": {"labels": tmpl_labels},
                                 "spec": pod_spec(v)}},
           "status": {"availableReplicas": ready,
                      "observedGeneration": 1,
                      "readyReplicas": ready,
                      "replicas": v["replicas"],
                      "updatedReplicas": v["replicas"]}}
    if ready == 0:
        del obj["status"]["availableReplicas"]
        del obj["status"]["readyReplicas"]
    if v["replicas"] == 0:
        del obj["status"]["updatedReplicas"]
    if LEAN:
        del obj["metadata"]["annotations"]
        for k in ("progressDeadlineSeconds", "revisionHistoryLimit", "strategy"):
            del obj["spec"][k]
        for k in ("availableReplicas", "observedGeneration", "updatedReplicas"):
            obj["status"].pop(k, None)
    return obj


def pod_obj(ids, v, pod_name, node, running, ip):
    labels = selector_labels(v)
    labels["llm-d.ai/inferenceServing"] = "true"
    labels["pod-template-hash"] = v["hash"]
    spec = dict(pod_spec(v))
    if running:
        spec["nodeName"] = node
    status = {"phase": "Running" if running else "Pending",
              "qosClass": "Burstable"}
    if LEAN:
        status = {"phase": status["phase"]}
    elif running:
        status["hostIP"] = "10.0.%d.%d" % (ip // 250 % 250, ip % 250 + 1)
        status["podIP"] = "10.128.%d.%d" % (ip // 250 % 250, ip % 250 + 1)
        status["startTime"] = rfc3339(CAPTURED_EPOCH - 3 * 86400)
    else:
        status["conditions"] = [{"lastTransitionTime": rfc3339(CAPTURED_EPOCH - 120),
                                 "message": "0/%d nodes are available: insufficient %s."
                                            % (NODE_GPUS, gpu_resource(v["acc"])),
                                 "reason": "Unschedulable", "status": "False",
                                 "type": "PodScheduled"}]
    owner = {"apiVersion": "apps/v1", "blockOwnerDeletion": True,
             "controller": True, "kind": "ReplicaSet",
             "name": "%s-%s" % (v["deploy"], v["hash"]), "uid": v["rs_uid"]}
    extra = {"generateName": "%s-%s-" % (v["deploy"], v["hash"]),
             "ownerReferences": [owner]}
    if LEAN:
        del owner["blockOwnerDeletion"], owner["uid"], extra["generateName"]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(ids, pod_name, v["ns"], labels=labels, extra=extra),
            "spec": spec, "status": status}


def job_pod_obj(ids, ns, name, job, token, gpus, node):
    res = gpu_resource(token)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(ids, name, ns,
                             labels={"batch.kubernetes.io/job-name": job,
                                     "job-name": job},
                             extra={"ownerReferences": [{
                                 "apiVersion": "batch/v1",
                                 "blockOwnerDeletion": True,
                                 "controller": True, "kind": "Job",
                                 "name": job, "uid": ids.uid()}]}),
            "spec": {"containers": [{"image": "registry.example.com/train:2024.11",
                                     "name": "trainer",
                                     "resources": {"limits": {res: str(gpus)},
                                                   "requests": {res: str(gpus)}}}],
                     "nodeName": node,
                     "nodeSelector": {gpu_product_key(token): ACC[token][1]},
                     "restartPolicy": "Never"},
            "status": {"phase": "Running", "qosClass": "BestEffort"}}


def node_obj(ids, name, token):
    res = gpu_resource(token)
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": meta(ids, name, labels={
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                gpu_product_key(token): ACC[token][1],
                ACC[token][2] + "/gpu.count": str(NODE_GPUS)}),
            "spec": {},
            "status": {"allocatable": {"cpu": "190", "memory": "1900Gi",
                                       "pods": "110", res: str(NODE_GPUS)},
                       "capacity": {"cpu": "192", "memory": "2000Gi",
                                    "pods": "110", res: str(NODE_GPUS)},
                       "conditions": [{"reason": "KubeletReady",
                                       "status": "True", "type": "Ready"}]}}


def sample(labels, value):
    return {"metric": labels, "value": [float(CAPTURED_EPOCH), prom_value(value)]}


# ---------------------------------------------------------------------------
# Saturation thresholds: the resolution SPEC section 5 describes, so the
# generator can predict the analysis it asks the engine to do.

def parse_flat_yaml(text):
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, val = line.split(":", 1)
            out[k.strip()] = val.strip()
    return out


def entry_valid(e):
    kv = float(e.get("kvCacheThreshold", "0.5"))
    ks = float(e.get("kvSpareTrigger", "0"))
    if not (0 <= kv <= 1 and 0 <= ks <= 1):
        return False
    for f in ("queueLengthThreshold", "queueSpareTrigger"):
        if f in e and float(e[f]) < 0:
            return False
    return True


def resolve_thresholds(cms, ns, model_id):
    """cms: {(namespace, name): data}; returns the four analysed fields."""
    levels = []
    for where in (ns, SYSTEM_NS):
        data = cms.get((where, SAT_CM), {})
        overrides = [parse_flat_yaml(t) for k, t in sorted(data.items())
                     if k != "default"]
        for o in overrides:
            if o.get("model_id") == model_id and o.get("namespace", ns) == ns:
                levels.append(o)
        if "default" in data:
            levels.append(parse_flat_yaml(data["default"]))
    th = {}
    for field, builtin in BUILTIN_THRESHOLDS.items():
        th[field] = builtin
        for lvl in levels:
            if field in lvl and entry_valid(lvl):
                th[field] = float(lvl[field])
                break
    return th


def analyse(samples, th):
    """SPEC section 6 analysis.  Returns (direction, details, margin) where
    margin is the smallest distance of any comparison from its boundary."""
    t, q_t = th["kvCacheThreshold"], th["queueLengthThreshold"]
    ks, qs = th["kvSpareTrigger"], th["queueSpareTrigger"]
    margin = float("inf")
    free = []
    for kv, q in samples:
        margin = min(margin, abs(kv - t), abs(q - q_t))
        if not (kv >= t or q >= q_t):
            free.append((kv, q))
    if free:
        spare_kv = sum(t - kv for kv, _ in free) / len(free)
        spare_q = sum(q_t - q for _, q in free) / len(free)
    else:
        spare_kv = spare_q = 0.0
    margin = min(margin, abs(spare_kv - ks), abs(spare_q - qs))
    up = spare_kv < ks or spare_q < qs
    safe = False
    if len(free) >= 2:
        load_kv = sum(kv for kv, _ in free) / (len(free) - 1)
        load_q = sum(q for _, q in free) / (len(free) - 1)
        margin = min(margin, abs(t - load_kv - ks), abs(q_t - load_q - qs))
        safe = t - load_kv >= ks and q_t - load_q >= qs
    direction = "up" if up else ("down" if safe else "hold")
    return direction, {"shouldScaleUp": up, "scaleDownSafe": safe,
                       "nonSaturated": len(free),
                       "avgSpareKv": round(spare_kv, 6),
                       "avgSpareQueue": round(spare_q, 6)}, margin


def draw_samples(rng, scenario, n, th):
    t, q_t = th["kvCacheThreshold"], th["queueLengthThreshold"]
    ks, qs = th["kvSpareTrigger"], th["queueSpareTrigger"]
    qmax_free = max(0, int(math.floor(q_t - qs - 1)))
    # Steady: the mean KV must stay below t - ks (no scale-up) yet the load
    # of n replicas on n - 1 must exceed it (no scale-down): draw from a band
    # whose mean clears (t - ks) (n - 1) / n.
    hi = t - ks - 0.01
    need = (t - ks) * (n - 1) / n + 0.01 if n >= 2 else 0.0
    steady_lo = max(0.05, t - ks - 0.25, 2 * need - hi)
    steady_lo = min(steady_lo, hi - 0.005)
    out = []
    for _ in range(n):
        if scenario == "overloaded":
            kv = rng.uniform(t - ks / 2, min(0.99, t + 0.15))
            q = rng.randint(max(0, int(q_t) - 2), int(q_t) + 5)
        elif scenario == "idle":
            kv = rng.uniform(0.10, min(0.30, t - ks - 0.1))
            q = rng.randint(0, min(1, qmax_free))
        else:   # steady: busy, but too busy to lose a replica
            kv = rng.uniform(steady_lo, t - ks - 0.01)
            q = rng.randint(0, min(1, qmax_free))
        out.append((float(prom_value(kv)), float(q)))
    return out


WANTED = {"overloaded": "up", "idle": "down", "steady": "hold"}


def model_samples(rng, scenario, n, th):
    """Values whose analysed direction is the scenario's and not borderline,
    when one can be found within a few draws (else the last draw)."""
    best = None
    for attempt in range(60):
        s = draw_samples(rng, scenario, n, th)
        if scenario == "steady" and attempt >= 30:
            # Narrow band right below the spare trigger: hold for n < ~17.
            hi = th["kvCacheThreshold"] - th["kvSpareTrigger"]
            s = [(float(prom_value(rng.uniform(hi - 0.04, hi - 0.01))), q)
                 for _, q in s]
        direction, _, margin = analyse(s, th)
        best = s
        if margin >= MARGIN and (direction == WANTED[scenario] or
                                 (scenario == "idle" and n < 2)):
            break
    return best


# ---------------------------------------------------------------------------
# The scenario plan.

def variant_choices(rng, size, accs, want):
    feasible = [a for a in accs if a in GPUS_FOR_SIZE[size]]
    if not feasible:
        return None
    chosen = rng.sample(feasible, min(want, len(feasible)))
    out = []
    for tok in chosen:
        gpus = rng.choice(GPUS_FOR_SIZE[size][tok])
        out.append((tok, gpus, ACC[tok][3] * gpus))
    out.sort(key=lambda x: (x[2], x[0]))
    return out


class Builder:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.ids = Ids(random.Random(args.seed * 7919 + 17))
        self.namespaces = []       # namespace objects
        self.configmaps = {}       # (ns, name) -> data
        self.cm_labels = {}
        self.variants = []         # dicts, one per VA
        self.models = []           # dicts, one per model (ns, modelID)
        self.ns_model_uses = {}    # ns -> {base model id: count}

    # -- namespaces and ConfigMaps -------------------------------------------------
    def main_configmap(self):
        limited = "true" if self.args.limited else "false"
        self.configmaps[(SYSTEM_NS, MAIN_CM)] = {
            "GLOBAL_OPT_ENABLE": "true",
            "GLOBAL_OPT_INTERVAL": "60s",
            "PROMETHEUS_BASE_URL": "https://prometheus-k8s.monitoring.svc:9091",
            "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "false",
            "WVA_LIMITED_MODE": limited,
            "WVA_SCALE_TO_ZERO": "false"}
        self.configmaps[(SYSTEM_NS, SAT_CM)] = {
            "default": "kvCacheThreshold: 0.8\nqueueLengthThreshold: 5\n"
                       "kvSpareTrigger: 0.1\nqueueSpareTrigger: 3\n"
                       "scaleDownStabilizationWindow: 5m\nmaxScaleUpPerRun: 0\n",
            "llama-70b": "model_id: meta-llama/Llama-3.1-70B-Instruct\n"
                         "kvCacheThreshold: 0.85\nkvSpareTrigger: 0.1\n"}

    def settings(self):
        return {"GLOBAL_OPT_ENABLE": "true", "GLOBAL_OPT_INTERVAL": "60s",
                "WVA_LIMITED_MODE": "true" if self.args.limited else "false",
                "WVA_SCALE_TO_ZERO": "false"}

    def base_namespaces(self):
        self.namespaces.append(namespace_obj(self.ids, "default"))
        self.namespaces.append(namespace_obj(self.ids, "kube-system"))
        self.namespaces.append(namespace_obj(
            self.ids, SYSTEM_NS,
            labels={"app.kubernetes.io/name": "workload-variant-autoscaler"}))

    def local_overrides(self, team_ns):
        """A few namespace-local saturation ConfigMaps (one with an invalid
        entry, which the engine must report and ignore)."""
        picks = sorted(self.rng.sample(team_ns, min(3, len(team_ns))))
        docs = [
            {"default": "kvCacheThreshold: 0.85\nkvSpareTrigger: 0.1\n",
             "@model": "queueLengthThreshold: 8\nqueueSpareTrigger: 4\n"},
            {"default": "queueLengthThreshold: 6\n",
             "@broken": "kvCacheThreshold: 1.4\n"},
            {"default": "kvCacheThreshold: 0.75\nkvSpareTrigger: 0.15\n"
                        "scaleDownStabilizationWindow: 10m\n"},
        ]
        self.pending_overrides = {}
        for ns, doc in zip(picks, docs):
            data = {"default": doc["default"]}
            self.configmaps[(ns, SAT_CM)] = data
            # Model-specific keys are filled in once the namespace's first
            # model is known (see add_model).
            self.pending_overrides[ns] = {k[1:]: v for k, v in doc.items()
                                          if k.startswith("@")}

    # -- models and variants ----------------------------------------------------
    def next_model_id(self, ns, size_pref=None):
        uses = self.ns_model_uses.setdefault(ns, {})
        pool = [m for m in MODELS if size_pref is None or m[1] == size_pref]
        base, size = self.rng.choice(pool)
        k = uses.get(base, 0)
        uses[base] = k + 1
        if k == 0:
            return base, size
        return "%s/%s-ft%02d" % (ns, base.split("/")[-1], k), size

    def add_model(self, ns, scenario, n_variants, accs, size_pref=None):
        for _ in range(20):
            model_id, size = self.next_model_id(ns, size_pref)
            choices = variant_choices(self.rng, size, accs, n_variants)
            if choices:
                break
        else:
            raise SystemExit("gen_snapshot: no accelerator fits any model size")
        pend = getattr(self, "pending_overrides", {}).pop(ns, None)
        if pend:
            data = self.configmaps[(ns, SAT_CM)]
            for key, body in pend.items():
                data["%s-%s" % (key, short_name(model_id))] = (
                    "model_id: %s\nnamespace: %s\n" % (model_id, ns) + body)
        model = {"namespace": ns, "modelID": model_id, "scenario": scenario,
                 "size": size, "variants": []}
        self.models.append(model)
        for tok, gpus, cost in choices:
            self.add_variant(model, tok, gpus, cost)
        return model

    def add_variant(self, model, tok, gpus, cost):
        rng = self.rng
        ns, model_id, scenario = model["namespace"], model["modelID"], model["scenario"]
        deploy = "%s-%s" % (short_name(model_id), tok.lower())
        replicas = rng.randint(1, 4)
        r = rng.random()
        if r < 0.4:
            acc_label, node_sel = ACC[tok][1], rng.random() < 0.7
        elif r < 0.6:
            acc_label, node_sel = tok, rng.random() < 0.7
        else:
            acc_label, node_sel = None, True
        pending = 0
        if scenario == "steady" and replicas >= 2 and rng.random() < 0.1:
            pending = 1
        v = {"ns": ns, "name": deploy, "deploy": deploy, "model_id": model_id,
             "acc": tok, "gpus": gpus, "cost": "%.1f" % cost,
             "acc_label": acc_label, "node_selector": node_sel,
             "replicas": replicas, "ready": replicas - pending,
             "min": rng.choice([0, 0, 1]) if rng.random() < 0.6 else None,
             "max": replicas + rng.randint(2, 6) if rng.random() < 0.2 else None,
             "priority": rng.choice([1, 5, 10, 100]) if rng.random() < 0.25 else None,
             "status": rng.random() < 0.8,
             "hash": self.ids.token(10), "rs_uid": self.ids.uid(),
             "has_deployment": True, "skip": None,
             "blocks": int(round(cost * SIZE_BLOCK_FACTOR[model["size"]] *
                                 ACC[tok][4] * rng.uniform(0.97, 1.03))),
             "pods": []}
        if scenario == "invalid":
            v["cost"] = rng.choice(BAD_COSTS)
            v["status"] = False
            v["skip"] = "InvalidSpec"
        elif scenario == "target-missing":
            v["has_deployment"] = False
            v["deploy"] = deploy + "-old"
            v["status"] = False
            v["skip"] = "TargetNotFound"
        elif scenario == "excluded":
            v["skip"] = "NamespaceExcluded"
        elif scenario == "missing-metrics":
            v["skip"] = "MetricsUnavailable"
        model["variants"].append(v)
        self.variants.append(v)
        return v

    def plan(self):
        a = self.args
        n = a.vas
        width = max(3, len(str(a.namespaces - 1)))
        team_ns = ["team-%0*d" % (width, i) for i in range(a.namespaces)]
        accs = [x[0] for x in ACCELERATORS[:a.accelerators]]
        vpm = a.variants_per_model
        self.base_namespaces()
        self.main_configmap()
        self.local_overrides(team_ns)
        for ns in team_ns:
            labels = {"wva.llmd.ai/config-enabled": "true"} \
                if (ns, SAT_CM) in self.configmaps else None
            self.namespaces.append(namespace_obj(self.ids, ns, labels=labels))

        specials = []
        if n >= 20:
            few = max(1, n // 500)
            excluded_ns = "team-archive"
            self.namespaces.append(namespace_obj(
                self.ids, excluded_ns, annotations={EXCLUDE_ANN: "true"}))
            specials.append((excluded_ns, "excluded", min(vpm, 2)))
            for i in range(few):
                specials.append((team_ns[(3 * i + 1) % len(team_ns)], "invalid", 1))
                specials.append((team_ns[(3 * i + 2) % len(team_ns)], "target-missing", 1))
                specials.append((team_ns[(7 * i + 3) % len(team_ns)],
                                 "missing-metrics", vpm))
        made = 0
        for ns, scen, k in specials:
            model = self.add_model(ns, scen, k, accs)
            made += len(model["variants"])
        i = 0
        order = list(team_ns)
        while made < n:
            ns = order[i % len(order)]
            i += 1
            scen = self.rng.choices(["overloaded", "idle", "steady"],
                                    weights=[3, 3, 4])[0]
            k = min(vpm, n - made)
            model = self.add_model(ns, scen, k, accs)
            made += len(model["variants"])
        # Trim in the (rare) case a model got fewer variants than asked and
        # a later one overshot: never happens with k <= n - made, kept exact.
        assert made == n, (made, n)

    # -- pods, nodes, metrics ---------------------------------------------------------
    def place_pods(self):
        """Pods for every replica, packed first-fit onto per-accelerator
        8-GPU nodes (names only unless --limited emits the NodeList)."""
        self.nodes = {tok: [] for tok, *_ in ACCELERATORS}   # tok -> [free]
        self.open_nodes = {tok: [] for tok, *_ in ACCELERATORS}  # not full
        ip = 0
        for v in self.variants:
            if not v["has_deployment"]:
                continue
            for r in range(v["replicas"]):
                running = r < v["ready"]
                name = "%s-%s-%s" % (v["deploy"], v["hash"], self.ids.token(5))
                node = self.fit(v["acc"], v["gpus"]) if running else None
                v["pods"].append((name, node, running, ip))
                ip += 1

    def node_name(self, tok, idx):
        return "gpu-%s-%04d" % (tok.lower(), idx)

    def fit(self, tok, gpus):
        nodes, open_nodes = self.nodes[tok], self.open_nodes[tok]
        for pos, idx in enumerate(open_nodes):
            if nodes[idx] >= gpus:
                nodes[idx] -= gpus
                if nodes[idx] == 0:
                    del open_nodes[pos]
                return self.node_name(tok, idx)
        nodes.append(NODE_GPUS - gpus)
        if nodes[-1] > 0:
            open_nodes.append(len(nodes) - 1)
        return self.node_name(tok, len(nodes) - 1)

    def metrics_and_expectations(self):
        cms = self.configmaps
        self.kv, self.queue, self.cache, self.requests = [], [], [], []
        for model in self.models:
            ns, mid = model["namespace"], model["modelID"]
            th = resolve_thresholds(cms, ns, mid)
            model["thresholds"] = th
            running = [(v, p) for v in model["variants"] for p in v["pods"] if p[2]]
            scen = model["scenario"]
            if scen in ("missing-metrics", "target-missing") or not running:
                model["samples"] = []
                continue
            flavour = scen if scen in WANTED else self.rng.choice(list(WANTED))
            model["load"] = flavour
            samples = model_samples(self.rng, flavour, len(running), th)
            model["samples"] = samples
            for (v, pod), (kv, q) in zip(running, samples):
                base = {"model_name": mid, "namespace": ns, "pod": pod[0]}
                self.kv.append(sample(dict(base), kv))
                self.queue.append(sample(dict(base), q))
                lab = dict(base)
                lab["block_size"] = "16"
                lab["num_gpu_blocks"] = str(v["blocks"])
                self.cache.append(sample(lab, 1))
            rate = {"overloaded": (2000, 20000), "idle": (0, 40),
                    "steady": (300, 3000)}[flavour]
            self.requests.append(sample({"model_name": mid, "namespace": ns},
                                        self.rng.randint(*rate)))

    def scale_up_demand(self):
        """Rough GPUs each accelerator would need for the overloaded models
        to reach their spare targets, filling the cheapest variant first."""
        demand = {tok: 0 for tok, *_ in ACCELERATORS}
        for model in self.models:
            if model.get("expect") != "up":
                continue
            th = model["thresholds"]
            vs = model["variants"]
            running = [(v, p) for v in vs for p in v["pods"] if p[2]]
            load = sum(kv * v["blocks"] for (v, _), (kv, _) in
                       zip(running, model["samples"]))
            qsum = sum(q for _, q in model["samples"])
            cap_kv = load / max(1e-9, th["kvCacheThreshold"] - th["kvSpareTrigger"])
            need_rep = qsum / max(1e-9, th["queueLengthThreshold"] - th["queueSpareTrigger"])
            cap = sum(v["blocks"] * v["replicas"] for v in vs)
            reps = sum(v["replicas"] for v in vs)
            for v in sorted(vs, key=lambda x: (float(x["cost"]), x["name"])):
                room = (v["max"] - v["replicas"]) if v["max"] is not None else 10 ** 6
                while room > 0 and (cap < cap_kv or reps < need_rep):
                    cap += v["blocks"]
                    reps += 1
                    room -= 1
                    demand[v["acc"]] += v["gpus"]
        return demand

    def limit_inventory(self, ids):
        """--limited: spare GPUs per type = 60 % of the estimated scale-up
        demand on it; node fragments beyond that are taken by training Jobs
        WVA does not manage."""
        demand = self.scale_up_demand()
        nodes, job_pods, inventory = [], [], {}
        jobs_ns = "batch-jobs"
        job_no = 0
        for tok, *_ in ACCELERATORS:
            free = self.nodes[tok]
            spare = int(demand[tok] * 0.6)
            if not free and spare == 0:
                continue
            while sum(free) < spare:
                free.append(NODE_GPUS)
            keep = spare
            used_by_jobs = 0
            for idx in range(len(free) - 1, -1, -1):
                reserve = min(free[idx], keep)
                keep -= reserve
                fill = free[idx] - reserve
                while fill > 0:
                    g = 4 if fill >= 4 else (2 if fill >= 2 else 1)
                    job = "finetune-%s-%04d" % (tok.lower(), job_no)
                    job_no += 1
                    job_pods.append(job_pod_obj(ids, jobs_ns, "%s-%s" % (job, ids.token(5)),
                                                job, tok, g, self.node_name(tok, idx)))
                    fill -= g
                    used_by_jobs += g
                free[idx] = reserve
            for idx in range(len(free)):
                nodes.append(node_obj(ids, self.node_name(tok, idx), tok))
            total = NODE_GPUS * len(free)
            inventory[tok] = {"product": ACC[tok][1], "nodes": len(free),
                              "allocatable": total,
                              "usedByOtherPods": used_by_jobs,
                              "usedByVariants": total - used_by_jobs - sum(free),
                              "spare": sum(free),
                              "estimatedScaleUpDemand": demand[tok]}
        if job_pods:
            self.namespaces.append(namespace_obj(ids, jobs_ns))
        return nodes, job_pods, inventory

    def expectations(self):
        for model in self.models:
            scen = model["scenario"]
            skip = {"excluded": "NamespaceExcluded", "invalid": "InvalidSpec",
                    "target-missing": "TargetNotFound",
                    "missing-metrics": "MetricsUnavailable"}.get(scen)
            if skip:
                model["expect"] = "skipped"
                model["skipReason"] = skip
                if model["samples"]:
                    d, info, _ = analyse(model["samples"], model["thresholds"])
                    model["analysisIfIncluded"] = d
                continue
            d, info, margin = analyse(model["samples"], model["thresholds"])
            model["expect"] = d
            model["analysis"] = info
            model["margin"] = round(margin, 6)

    def build(self):
        self.plan()
        self.place_pods()
        self.metrics_and_expectations()
        self.expectations()
        ids = self.ids
        nodes, job_pods, inventory = ([], [], {})
        if self.args.limited:
            nodes, job_pods, inventory = self.limit_inventory(ids)
        self.inventory = inventory
        return self.assemble(nodes, job_pods)

    def assemble(self, nodes, job_pods):
        ids = self.ids
        vas, deps, pods = [], [], []
        for v in self.variants:
            vas.append(va_obj(ids, v))
            if v["has_deployment"]:
                deps.append(deployment_obj(ids, v))
                for name, node, running, ip in v["pods"]:
                    pods.append(pod_obj(ids, v, name, node, running, ip))
        pods.extend(job_pods)
        cms = [configmap_obj(ids, ns, name, data,
                             labels={"app.kubernetes.io/part-of": "workload-variant-autoscaler"})
               for (ns, name), data in sorted(self.configmaps.items())]
        snap = {"kind": "WVASnapshot", "version": 1,
                "capturedAt": rfc3339(CAPTURED_EPOCH),
                "settings": self.settings(),
                "namespaces": k8s_list("v1", "NamespaceList", self.namespaces, ids),
                "variantAutoscalings": k8s_list("llmd.ai/v1alpha1",
                                                "VariantAutoscalingList", vas, ids),
                "deployments": k8s_list("apps/v1", "DeploymentList", deps, ids),
                "pods": k8s_list("v1", "PodList", pods, ids),
                "configMaps": k8s_list("v1", "ConfigMapList", cms, ids)}
        if self.args.limited:
            snap["nodes"] = k8s_list("v1", "NodeList", nodes, ids)
        snap["metrics"] = {"kvCacheUsage": self.kv, "queueLength": self.queue,
                           "cacheConfig": self.cache,
                           "requestCount": self.requests,
                           "gatewayQueue": [], "custom": {}}
        return snap

    def expect_doc(self):
        models = []
        for m in self.models:
            e = {"namespace": m["namespace"], "modelID": m["modelID"],
                 "scenario": m["scenario"], "expect": m["expect"],
                 "thresholds": m["thresholds"],
                 "variants": [{"name": v["name"], "accelerator": v["acc"],
                               "gpusPerReplica": v["gpus"],
                               "variantCost": v["cost"],
                               "currentReplicas": v["replicas"],
                               "readyReplicas": v["ready"],
                               "minReplicas": v["min"], "maxReplicas": v["max"],
                               "priority": v["priority"],
                               "skipReason": v["skip"]}
                              for v in m["variants"]]}
            for k in ("skipReason", "analysis", "analysisIfIncluded", "margin", "load"):
                if k in m:
                    e[k] = m[k]
            models.append(e)
        counts = {}
        for m in self.models:
            counts[m["expect"]] = counts.get(m["expect"], 0) + 1
        return {"kind": "WVASnapshotExpectations", "seed": self.args.seed,
                "vas": len(self.variants), "models": len(self.models),
                "directionCounts": counts, "inventory": self.inventory,
                "modelsDetail": models}


# ---------------------------------------------------------------------------
# The demo: small enough to read, every case SPEC section 4 names once.

def build_demo(args):
    global LEAN
    LEAN = True
    args.limited = False
    b = Builder(args)
    b.rng = random.Random(4242)
    b.ids = Ids(random.Random(4243))
    b.namespaces.append(namespace_obj(b.ids, SYSTEM_NS))
    b.main_configmap()
    del b.configmaps[(SYSTEM_NS, SAT_CM)]["llama-70b"]
    for ns in ("team-chat", "team-search"):
        b.namespaces.append(namespace_obj(b.ids, ns))
    b.namespaces.append(namespace_obj(b.ids, "team-sandbox",
                                      annotations={EXCLUDE_ANN: "true"}))

    def variant(model, tok, cost, replicas, blocks, name=None, bad_cost=None):
        v = b.add_variant(model, tok, 1, cost)
        v.update({"replicas": replicas, "ready": replicas, "min": None,
                  "max": None, "priority": None, "status": False,
                  "blocks": blocks, "acc_label": ACC[tok][1] if tok == "H100" else None,
                  "node_selector": True})
        if name:
            v["name"] = v["deploy"] = name
        if bad_cost is not None:
            v["cost"] = bad_cost
            v["skip"] = "InvalidSpec"
        return v

    def model(ns, mid, scen):
        m = {"namespace": ns, "modelID": mid, "scenario": scen, "size": "small",
             "variants": []}
        b.models.append(m)
        return m

    chat = model("team-chat", "meta-llama/Llama-3.1-8B-Instruct", "overloaded")
    variant(chat, "L4", 8.0, 2, 4000)
    variant(chat, "H100", 60.0, 1, 24000)
    search = model("team-search", "ibm-granite/granite-3.1-8b-instruct", "idle")
    # minReplicas 1 on the L4 variant makes "H100 2 -> 1" the only cheapest
    # integer answer (else 0 x L4 + 1 x H100 would tie the LP's intent).
    variant(search, "L4", 8.0, 1, 4000)["min"] = 1
    variant(search, "H100", 60.0, 2, 24000)
    # Invalid: its own Deployment exists (scaled to 0, so no pods and no
    # metrics blur the model's analysis); the VA is skipped as InvalidSpec.
    trial = variant(search, "A100", 40.0, 0, 20000,
                    name="granite-3-1-8b-instruct-a100-trial", bad_cost="forty")
    trial["acc_label"] = "A100"
    sandbox = model("team-sandbox", "meta-llama/Llama-3.1-8B-Instruct", "excluded")
    variant(sandbox, "L4", 8.0, 1, 4000)
    b.variants[-1]["skip"] = "NamespaceExcluded"
    b.place_pods()

    # Hand-picked values (default thresholds 0.8 / 5 / 0.1 / 3):
    #  chat:   L4 pods saturated (kv 0.91, 0.86), H100 at kv 0.78 / queue 1,
    #          so the only non-saturated replica has 0.02 spare KV < 0.10.
    #  search: kv 0.12-0.18, queue <= 1 on 3 replicas; the load on 2 would
    #          still leave 0.575 KV and 4.5 queue spare: scale-down safe.
    #  sandbox: overloaded too, but the namespace is excluded.
    values = {"team-chat": [(0.91, 4), (0.86, 3), (0.78, 1)],
              "team-search": [(0.12, 0), (0.18, 1), (0.15, 0)],
              "team-sandbox": [(0.93, 6)]}
    b.kv, b.queue, b.cache, b.requests = [], [], [], []
    for m in b.models:
        th = resolve_thresholds(b.configmaps, m["namespace"], m["modelID"])
        m["thresholds"] = th
        running = [(v, p) for v in m["variants"] for p in v["pods"] if p[2]]
        m["samples"] = values[m["namespace"]]
        assert len(running) == len(m["samples"])
        for (v, pod), (kv, q) in zip(running, m["samples"]):
            base = {"model_name": m["modelID"], "namespace": m["namespace"],
                    "pod": pod[0]}
            b.kv.append(sample(dict(base), kv))
            b.queue.append(sample(dict(base), q))
            lab = dict(base, block_size="16", num_gpu_blocks=str(v["blocks"]))
            b.cache.append(sample(lab, 1))
        b.requests.append(sample({"model_name": m["modelID"],
                                  "namespace": m["namespace"]},
                                 {"overloaded": 5120, "idle": 14,
                                  "excluded": 830}[m["scenario"]]))
    b.expectations()
    b.inventory = {}
    return b, b.assemble([], [])


# ---------------------------------------------------------------------------
# --check: the shape rules every snapshot this script writes must follow.

LISTS = {"namespaces": ("v1", "Namespace", False),
         "variantAutoscalings": ("llmd.ai/v1alpha1", "VariantAutoscaling", True),
         "deployments": ("apps/v1", "Deployment", True),
         "pods": ("v1", "Pod", True),
         "configMaps": ("v1", "ConfigMap", True),
         "nodes": ("v1", "Node", False)}
POD_SERIES_LABELS = {"namespace", "pod", "model_name"}


def check_snapshot(doc):
    """Returns a list of problems (empty = the document has the shape)."""
    bad = []

    def need(cond, path, what):
        if not cond:
            bad.append("%s: %s" % (path, what))
        return cond

    if not need(isinstance(doc, dict), "$", "not an object"):
        return bad
    need(doc.get("kind") == "WVASnapshot", "kind", "not WVASnapshot")
    need(doc.get("version") == 1, "version", "not 1")
    need(isinstance(doc.get("capturedAt"), str) and
         len(doc["capturedAt"]) == 20 and doc["capturedAt"].endswith("Z"),
         "capturedAt", "not RFC 3339 UTC")
    need(all(isinstance(k, str) and isinstance(v, str)
             for k, v in doc.get("settings", {}).items()),
         "settings", "values must be strings")
    objs = {}
    for key, (api, kind, namespaced) in LISTS.items():
        lst = doc.get(key)
        if key == "nodes" and lst is None:
            continue
        if not need(isinstance(lst, dict), key, "missing or not an object"):
            continue
        need(set(lst) == {"apiVersion", "kind", "metadata", "items"}, key,
             "keys %s" % sorted(lst))
        need(lst.get("apiVersion") == api, key + ".apiVersion", "not " + api)
        need(lst.get("kind") == kind + "List", key + ".kind", "not %sList" % kind)
        seen = set()
        for i, it in enumerate(lst.get("items", [])):
            p = "%s.items[%d]" % (key, i)
            need(it.get("apiVersion") == api and it.get("kind") == kind, p,
                 "apiVersion/kind")
            md = it.get("metadata", {})
            need(isinstance(md.get("name"), str) and md["name"], p + ".metadata.name", "missing")
            need(namespaced == ("namespace" in md), p + ".metadata.namespace",
                 "presence")
            ident = (md.get("namespace"), md.get("name"))
            need(ident not in seen, p, "duplicate %s/%s" % ident)
            seen.add(ident)
            for lk in ("labels", "annotations"):
                need(all(isinstance(v, str) for v in md.get(lk, {}).values()),
                     p + ".metadata." + lk, "values must be strings")
        objs[key] = {(it["metadata"].get("namespace"), it["metadata"]["name"]): it
                     for it in lst.get("items", [])}
    if bad:
        return bad

    for (ns, name), va in objs["variantAutoscalings"].items():
        p = "variantAutoscalings %s/%s" % (ns, name)
        sp = va.get("spec", {})
        ref = sp.get("scaleTargetRef", {})
        need(ref.get("kind") == "Deployment" and ref.get("name"), p, "scaleTargetRef")
        need(isinstance(sp.get("modelID"), str), p, "modelID")
        need(isinstance(sp.get("variantCost"), str), p, "variantCost not a string")
        for f in ("minReplicas", "maxReplicas", "priority"):
            need(f not in sp or isinstance(sp[f], int), p, f + " not an integer")
    pods_by_deploy = {}     # a ReplicaSet is named <deployment>-<10-char hash>
    for (ns, name), pod in objs["pods"].items():
        for ref in pod["metadata"].get("ownerReferences", []):
            if ref.get("kind") == "ReplicaSet":
                pods_by_deploy.setdefault((ns, ref["name"][:-11]), []).append(pod)
    for (ns, name), dep in objs["deployments"].items():
        p = "deployments %s/%s" % (ns, name)
        sp = dep.get("spec", {})
        sel = sp.get("selector", {}).get("matchLabels", {})
        need(isinstance(sp.get("replicas"), int), p, "spec.replicas")
        tl = sp.get("template", {}).get("metadata", {}).get("labels", {})
        need(all(tl.get(k) == v for k, v in sel.items()), p, "template labels vs selector")
        mine = pods_by_deploy.get((ns, name), [])
        need(len(mine) == sp.get("replicas"), p,
             "%d pods for %s replicas" % (len(mine), sp.get("replicas")))
        running = sum(1 for pod in mine if pod["status"].get("phase") == "Running")
        need(running == dep.get("status", {}).get("readyReplicas", 0), p,
             "readyReplicas %s vs %d running pods" %
             (dep.get("status", {}).get("readyReplicas"), running))
        for pod in mine:
            lab = pod["metadata"].get("labels", {})
            rs = pod["metadata"]["ownerReferences"][0]["name"]
            need(all(lab.get(k) == v for k, v in sel.items()) and
                 rs == "%s-%s" % (name, lab.get("pod-template-hash")),
                 "pods %s/%s" % (ns, pod["metadata"]["name"]), "labels/owner")

    metrics = doc.get("metrics")
    if not need(isinstance(metrics, dict), "metrics", "missing"):
        return bad
    for key in ("kvCacheUsage", "queueLength", "cacheConfig", "requestCount",
                "gatewayQueue"):
        series = metrics.get(key)
        if not need(isinstance(series, list), "metrics." + key, "not an array"):
            continue
        for i, smp in enumerate(series):
            p = "metrics.%s[%d]" % (key, i)
            if not need(isinstance(smp, dict) and set(smp) == {"metric", "value"}, p,
                        "not {metric, value}"):
                continue
            lab, val = smp["metric"], smp["value"]
            need(isinstance(val, list) and len(val) == 2 and
                 isinstance(val[0], float) and isinstance(val[1], str), p,
                 "value must be [float, \"string\"]")
            try:
                float(val[1])
            except (ValueError, TypeError):
                bad.append(p + ": value is not a number")
            need(all(isinstance(v, str) for v in lab.values()), p, "label values")
            if key == "requestCount":
                need(set(lab) == {"namespace", "model_name"}, p, "labels %s" % sorted(lab))
            elif key == "cacheConfig":
                need(set(lab) == POD_SERIES_LABELS | {"num_gpu_blocks", "block_size"},
                     p, "labels %s" % sorted(lab))
            elif key != "gatewayQueue":
                need(set(lab) == POD_SERIES_LABELS, p, "labels %s" % sorted(lab))
            if "pod" in lab:
                pod = objs["pods"].get((lab["namespace"], lab["pod"]))
                need(pod is not None and pod["status"].get("phase") == "Running",
                     p, "pod %s/%s not a running pod" % (lab["namespace"], lab["pod"]))
    need(isinstance(metrics.get("custom"), dict), "metrics.custom", "not an object")

    if "nodes" in objs:
        used = {}
        for pod in objs["pods"].values():
            node = pod["spec"].get("nodeName")
            for c in pod["spec"].get("containers", []):
                for res, q in c.get("resources", {}).get("requests", {}).items():
                    if res.endswith("/gpu") and node:
                        used[(node, res)] = used.get((node, res), 0) + int(q)
        for (_, name), node in objs["nodes"].items():
            for res, q in node["status"].get("allocatable", {}).items():
                if res.endswith("/gpu"):
                    need(used.get((name, res), 0) <= int(q), "nodes " + name,
                         "%s over-committed" % res)
                    need(res.replace("/gpu", "/gpu.product") in
                         node["metadata"].get("labels", {}), "nodes " + name,
                         "no product label")
    return bad


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Generate a synthetic wva-optimizer snapshot (SPEC section 8).")
    p.add_argument("--vas", type=int, default=100,
                   help="number of VariantAutoscalings (e.g. 100, 1000, 10000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--namespaces", type=int, default=None,
                   help="team namespaces (default max(1, VAS/100))")
    p.add_argument("--variants-per-model", type=int, default=3)
    p.add_argument("--accelerators", type=int, default=8,
                   help="how many accelerator types to use, 1-8 "
                        "(A100, H100, L4, L40S, T4, A10G, MI300X, Gaudi-2)")
    p.add_argument("--limited", action="store_true",
                   help="WVA_LIMITED_MODE=true and a GPU NodeList with "
                        "less spare than the scale-up demand")
    p.add_argument("--demo", action="store_true",
                   help="the small hand-made scenario of examples/")
    p.add_argument("--pretty", action="store_true", help="indented JSON")
    p.add_argument("--expect", metavar="FILE",
                   help="also write the generator's expected analysis per model")
    p.add_argument("--check", metavar="FILE",
                   help="validate an existing snapshot's shape and exit")
    p.add_argument("-o", "--output", metavar="FILE", default="-")
    a = p.parse_args(argv)
    if a.vas < 1 or a.vas > 1000000:
        p.error("--vas must be in 1..1000000")
    if a.namespaces is None:
        a.namespaces = max(1, a.vas // 100)
    if a.namespaces < 1:
        p.error("--namespaces must be >= 1")
    if not 1 <= a.variants_per_model <= 8:
        p.error("--variants-per-model must be in 1..8")
    if not 1 <= a.accelerators <= len(ACCELERATORS):
        p.error("--accelerators must be in 1..%d" % len(ACCELERATORS))
    return a


def pretty_json(obj, indent=0, width=120):
    """Indented JSON whose small objects and arrays stay on one line, so a
    person can read a snapshot (json.dumps(indent=2) puts every sample
    value on four lines)."""
    flat = json.dumps(obj, separators=(", ", ": "))
    if len(flat) + indent <= width or not isinstance(obj, (dict, list)) or not obj:
        return flat
    pad = " " * (indent + 2)
    if isinstance(obj, dict):
        parts = ["%s%s: %s" % (pad, json.dumps(k), pretty_json(v, indent + 2, width))
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(parts) + "\n" + " " * indent + "}"
    parts = [pad + pretty_json(v, indent + 2, width) for v in obj]
    return "[\n" + ",\n".join(parts) + "\n" + " " * indent + "]"


def write_json(doc, path, pretty):
    if pretty:
        text = pretty_json(doc) + "\n"
    else:
        text = json.dumps(doc, separators=(",", ":")) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def main(argv):
    args = parse_args(argv)
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            doc = json.load(f)
        problems = check_snapshot(doc)
        for p in problems[:50]:
            print("%s: %s" % (args.check, p), file=sys.stderr)
        if problems:
            print("%s: %d problem(s)" % (args.check, len(problems)), file=sys.stderr)
            return 1
        print("%s: ok (%d VAs, %d deployments, %d pods, %d nodes, %d samples)" % (
            args.check, len(doc["variantAutoscalings"]["items"]),
            len(doc["deployments"]["items"]), len(doc["pods"]["items"]),
            len(doc.get("nodes", {}).get("items", [])),
            sum(len(v) for k, v in doc["metrics"].items() if isinstance(v, list))))
        return 0
    if args.demo:
        b, snap = build_demo(args)
        pretty = True
    else:
        b = Builder(args)
        snap = b.build()
        pretty = args.pretty
    write_json(snap, args.output, pretty)
    if args.expect:
        write_json(b.expect_doc(), args.expect, True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
