"""The policies in the loop: wva-optimizer itself and three baselines.

Each policy has a period (seconds between decisions) and decide(cluster),
which returns {variant name: replicas} for the Deployments it changes.

- WvaOptimizer: the real binary.  Every interval it gets a SPEC section 8
  snapshot of the simulated cluster (VA status as the previous run left
  it), runs `wva-optimizer --from-file SNAP --output json`, and the plan's
  targetReplicas are applied.
- Hpa: a Kubernetes HPA per Deployment on the pods' KV-cache usage
  (averageValue target), as pkg/controller/podautoscaler computes it: sync
  every 15 s, desired = ceil(current x usage / target), no change within
  the 10% tolerance; on a scale-up, pods without metrics (still starting)
  count as 0%, on a scale-down as the target, and a direction that those
  assumptions would flip keeps the current replicas; scale-up at most
  max(100%, 4 pods) per sync; scale-down stabilization 300 s (the highest
  recommendation of the window wins); minReplicas 1.
- WvaV1: upstream WVA's V1 saturation analyzer with direct actuation:
  every 30 s per model, +1 replica on the cheapest variant when the model
  should scale up, -1 on the most expensive variant when scale-down is safe
  (same saturation rules and thresholds as SPEC section 6); starting
  replicas are not counted.
- Static: fixed replicas covering the trace's peak on the variant with the
  lowest cost per request served, at the KV target (never changes).
"""
import json
import math
import os
import subprocess

from .snapshot import SnapshotWriter, rfc3339


class Policy:
    name = "?"
    period = 60.0

    def start(self, cluster):
        pass

    def decide(self, cluster):
        return {}


class Static(Policy):
    name = "static-peak"
    period = float("inf")

    def __init__(self, trace, catalogue, target):
        self.trace, self.catalogue, self.target = trace, catalogue, target

    def replicas(self):
        out = {v.name: 0 for v in self.catalogue}
        for key in self.trace.models:
            vs = [v for v in self.catalogue if v.key == key]
            if not vs:
                continue
            pts = self.trace.models[key]
            peak_t = max(pts, key=lambda p: p[1])
            rate, tin, tout = peak_t[1], peak_t[2], peak_t[3]
            best = min(vs, key=lambda v: v.cost / v.throughput(tin, tout))
            need = rate / (best.throughput(tin, tout) * self.target)
            n = max(1, math.ceil(need - 1e-9))
            if best.max_replicas is not None:
                n = min(n, best.max_replicas)
            out[best.name] = n
        return out


class Hpa(Policy):
    name = "hpa-kv"
    period = 15.0

    def __init__(self, target, tolerance=0.1, window=300.0, min_replicas=1):
        self.target, self.tolerance, self.window = target, tolerance, window
        self.min_replicas = min_replicas
        self.recs = {}              # variant -> [(t, recommendation)]

    def decide(self, cluster):
        out = {}
        for vs in cluster.variants:
            cur = vs.replicas
            desired = self._desired(cluster, vs, cur)
            if vs.spec.max_replicas is not None:
                desired = min(desired, vs.spec.max_replicas)
            desired = max(desired, self.min_replicas)
            recs = self.recs.setdefault(vs.spec.name, [])
            recs.append((cluster.t, desired))
            while recs and recs[0][0] < cluster.t - self.window:
                recs.pop(0)
            if desired < cur:
                # scale-down stabilization: the highest recommendation wins
                desired = min(cur, max(r for _, r in recs))
            elif desired > cur:
                desired = min(desired, max(2 * cur, cur + 4))
            if desired != cur:
                out[vs.spec.name] = desired
        return out

    def _desired(self, cluster, vs, cur):
        if cur == 0:
            return self.min_replicas
        kv = cluster.scraped(vs.h_kv)
        values = [kv] * vs.n_ready if kv is not None else []
        missing = len(vs.pods) - len(values)
        if not values:
            return cur          # no metrics at all: the HPA cannot compute, holds
        ratio = sum(values) / (self.target * len(values))
        if missing == 0:
            if abs(ratio - 1.0) <= self.tolerance:
                return cur
            return math.ceil(ratio * len(values))
        if ratio > 1.0:
            new_ratio = sum(values) / (self.target * (len(values) + missing))
        else:
            new_ratio = (sum(values) + missing * self.target) / (self.target * (len(values) + missing))
        if abs(new_ratio - 1.0) <= self.tolerance or (ratio > 1.0) != (new_ratio > 1.0):
            return cur
        n = math.ceil(new_ratio * (len(values) + missing))
        if (ratio > 1.0 and n < cur) or (ratio < 1.0 and n > cur):
            return cur
        return n


class WvaV1(Policy):
    name = "wva-v1"
    period = 30.0

    def __init__(self, thresholds):
        self.th = thresholds

    def decide(self, cluster):
        th = self.th
        out = {}
        for m in cluster.models.values():
            if not m.variants:
                continue
            loads = []
            for vs in m.variants:
                view = cluster.pod_view(vs)
                if view is not None:
                    loads += [(view["kv"], view["queue"])] * vs.n_ready
            if not loads:
                continue
            ns = [(kv, q) for kv, q in loads
                  if kv < th["kvCacheThreshold"] and q < th["queueLengthThreshold"]]
            n = len(ns)
            spare_kv = sum(th["kvCacheThreshold"] - kv for kv, _ in ns) / n if n else 0.0
            spare_q = sum(th["queueLengthThreshold"] - q for _, q in ns) / n if n else 0.0
            up = spare_kv < th["kvSpareTrigger"] or spare_q < th["queueSpareTrigger"]
            down = False
            if n >= 2:
                kv_after = sum(kv for kv, _ in ns) / (n - 1)
                q_after = sum(q for _, q in ns) / (n - 1)
                down = (th["kvCacheThreshold"] - kv_after >= th["kvSpareTrigger"] and
                        th["queueLengthThreshold"] - q_after >= th["queueSpareTrigger"])
            by_cost = sorted(m.variants, key=lambda v: (v.spec.cost, v.spec.name))
            if up:
                for vs in by_cost:
                    if vs.spec.max_replicas is None or vs.replicas < vs.spec.max_replicas:
                        out[vs.spec.name] = vs.replicas + 1
                        break
            elif down:
                total = sum(v.replicas for v in m.variants)
                for vs in reversed(by_cost):
                    keep = 1 if vs is by_cost[0] and total <= 1 else vs.spec.min_replicas
                    if vs.replicas > keep:
                        out[vs.spec.name] = vs.replicas - 1
                        break
        return out


class WvaOptimizer(Policy):
    name = "wva-optimizer"

    def __init__(self, binary, interval, settings, configmaps, workdir, epoch0, keep=False):
        self.binary = binary
        self.period = interval
        self.va_status = {}
        self.status_t = {}
        self.writer = SnapshotWriter(epoch0, interval, settings, configmaps, self.va_status)
        self.workdir = workdir
        self.epoch0 = epoch0
        self.keep = keep
        self.runs = 0
        self.failures = 0
        self.last_error = None

    def decide(self, cluster):
        doc = self.writer.build(cluster)
        path = os.path.join(self.workdir, "snap-%05d.json" % self.runs if self.keep else "snap.json")
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        self.runs += 1
        proc = subprocess.run([self.binary, "--from-file", path, "--output", "json"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            self.failures += 1
            self.last_error = (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
            return {}
        plan = json.loads(proc.stdout)
        if self.keep:
            with open(path[:-5] + ".plan.json", "w") as f:
                f.write(proc.stdout)
        out = {}
        now = rfc3339(self.epoch0 + cluster.t)
        for pv in plan.get("variants", []):
            if pv.get("skipReason"):
                continue
            name, target = pv["name"], pv["targetReplicas"]
            out[name] = target
            self._status(pv["namespace"], name, target, pv.get("accelerator") or "unknown",
                         cluster.t, now)
        return out

    def _status(self, ns, name, target, accelerator, t, now):
        """VA status as actuate.c writes it: only when the desired replicas
        change, or when lastRunTime is 5 intervals old."""
        old = self.va_status.get((ns, name))
        alloc = old and old.get("desiredOptimizedAlloc")
        if alloc and alloc.get("numReplicas") == target and \
                t - self.status_t.get((ns, name), -1e18) < 5 * self.period:
            return
        self.status_t[(ns, name)] = t
        self.va_status[(ns, name)] = {
            "desiredOptimizedAlloc": {"numReplicas": target,
                                      "accelerator": accelerator if len(accelerator) >= 2 else "unknown",
                                      "lastRunTime": now},
            "actuation": {"applied": True}}
