"""SPEC section 8 snapshots of the simulated cluster, as a live run records.

Kubernetes parts have the shape `kubectl get -o json` gives; Prometheus
parts the shape of a query's data.result, with the same labels and the
same windows as the live queries: peak KV usage and peak waiting queue of
each Ready pod over the last minute, cache_config_info, requests running
(mean over the last minute), completions per second over the last minute,
and, where scale-to-zero is on, successful requests over the retention
period and the gateway queue.  Pods still starting export nothing (vLLM
is not up yet), as in a cluster.
"""
import time

SYSTEM_NS = "workload-variant-autoscaler-system"
SCRAPE_DELAY = 15.0     # seconds from Ready to the first scraped sample


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _list(kind, items, api="v1"):
    return {"apiVersion": api, "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items}


def _sample(labels, value, ts):
    return {"metric": labels, "value": [ts, repr(float(value))]}


class SnapshotWriter:
    def __init__(self, epoch0, interval, settings, configmaps, va_status):
        self.epoch0 = epoch0
        self.interval = interval
        self.settings = settings            # dict of SPEC section 3 keys
        self.configmaps = configmaps        # list of (namespace, name, data)
        self.va_status = va_status          # (ns, name) -> status dict, kept by the caller
        self.retention = 600.0

    def build(self, cluster):
        ts = self.epoch0 + cluster.t
        namespaces = {SYSTEM_NS}
        vas, deps, pods = [], [], []
        metrics = {"kvCacheUsage": [], "queueLength": [], "cacheConfig": [], "requestCount": [],
                   "gatewayQueue": [], "custom": {}, "runningRequests": [], "requestRate": []}
        for vs in cluster.variants:
            s = vs.spec
            namespaces.add(s.namespace)
            spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": s.name},
                    "modelID": s.model, "variantCost": "%g" % s.cost,
                    "minReplicas": s.min_replicas, "priority": s.priority}
            if s.max_replicas is not None:
                spec["maxReplicas"] = s.max_replicas
            va = {"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
                  "metadata": {"name": s.name, "namespace": s.namespace, "resourceVersion": "1",
                               "labels": {"inference.optimization/acceleratorName": s.product}},
                  "spec": spec}
            st = self.va_status.get((s.namespace, s.name))
            if st:
                va["status"] = st
            vas.append(va)
            selector = {"app": s.name}
            vendor = "amd.com" if s.product.startswith("AMD") else "nvidia.com"
            gpus = "%g" % s.gpus
            deps.append({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": s.name, "namespace": s.namespace, "resourceVersion": "1"},
                "spec": {"replicas": vs.replicas, "selector": {"matchLabels": selector},
                         "template": {"metadata": {"labels": selector}, "spec": {
                             "nodeSelector": {f"{vendor}/gpu.product": s.product},
                             "containers": [{"name": "vllm", "image": "vllm/vllm-openai",
                                             "resources": {"requests": {f"{vendor}/gpu": gpus},
                                                           "limits": {f"{vendor}/gpu": gpus}}}]}}},
                "status": {"replicas": vs.replicas, "readyReplicas": vs.n_ready}})
            views = {}
            for p in vs.pods:
                ready = p.ready(cluster.t)
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": p.name, "namespace": s.namespace,
                                    "labels": dict(selector, **{"pod-template-hash": vs.hash}),
                                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                         "name": f"{s.name}-{vs.hash}",
                                                         "controller": True}]},
                       "spec": {"containers": [{"name": "vllm", "resources": {
                           "requests": {f"{vendor}/gpu": gpus}}}]},
                       "status": {"phase": "Running" if p.scheduled is not None else "Pending",
                                  "conditions": [{"type": "Ready",
                                                  "status": "True" if ready else "False"}]}}
                if p.node:
                    pod["spec"]["nodeName"] = p.node
                pods.append(pod)
                # Prometheus scrapes a new pod some seconds after it is
                # Ready: until then it has no series.
                if not ready or cluster.t - p.ready_at < SCRAPE_DELAY:
                    continue
                if p.ready_at not in views:
                    views[p.ready_at] = cluster.pod_view(vs, since=p.ready_at)
                view = views[p.ready_at]
                if view is None:
                    continue
                labels = {"namespace": s.namespace, "pod": p.name, "model_name": s.model}
                metrics["kvCacheUsage"].append(_sample(labels, view["kv"], ts))
                metrics["queueLength"].append(_sample(labels, view["queue"], ts))
                metrics["runningRequests"].append(_sample(labels, view["running"], ts))
                metrics["requestRate"].append(_sample(labels, view["rate"], ts))
                blocks = int(s.kv_tokens // 16)
                metrics["cacheConfig"].append(_sample(
                    dict(labels, num_gpu_blocks=str(blocks), block_size="16"), 1, ts))
        stz = self.settings.get("WVA_SCALE_TO_ZERO") == "true"
        if stz:
            for m in cluster.models.values():
                ns, model = m.key
                metrics["requestCount"].append(_sample(
                    {"namespace": ns, "model_name": model},
                    cluster.completions(m, self.retention), ts))
                metrics["gatewayQueue"].append(_sample(
                    {"namespace": ns, "target_model_name": model}, cluster.gateway_queue(m), ts))
        doc = {
            "kind": "WVASnapshot", "version": 1, "capturedAt": rfc3339(ts),
            "settings": self.settings,
            "namespaces": _list("NamespaceList", [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                for n in sorted(namespaces)]),
            "variantAutoscalings": _list("VariantAutoscalingList", vas, "llmd.ai/v1alpha1"),
            "deployments": _list("DeploymentList", deps, "apps/v1"),
            "pods": _list("PodList", pods),
            "configMaps": _list("ConfigMapList", [
                {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": name, "namespace": ns}, "data": data}
                for ns, name, data in self.configmaps]),
            "metrics": metrics,
        }
        if cluster.gpus is not None:
            nodes = []
            for acc, n in sorted(cluster.gpus.items()):
                product = next((v.spec.product for v in cluster.variants
                                if v.spec.accelerator == acc), acc)
                nodes.append({"apiVersion": "v1", "kind": "Node",
                              "metadata": {"name": "node-%s-0" % acc.lower(),
                                           "labels": {"nvidia.com/gpu.product": product}},
                              "spec": {},
                              "status": {"allocatable": {"nvidia.com/gpu": "%g" % n}}})
            doc["nodes"] = _list("NodeList", nodes)
        return doc
