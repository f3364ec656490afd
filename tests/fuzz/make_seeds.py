#!/usr/bin/env python3
"""make_seeds.py - build the fuzzers' seed corpora from tests/fixtures.

Usage: make_seeds.py TOP_SRCDIR OUTDIR

Writes OUTDIR/<target>/<name> for each fuzz target: whole fixture files
where the target reads whole documents (snapshots, Prometheus responses,
kubeconfig files), and pieces cut out of them where it reads pieces (list
pages and single objects for kube_list, ConfigMap data values for
configmap and yaml, short strings for duration, quantity and values).
The hand-written seeds under tests/fuzz/seeds/<target>/ are passed to the
fuzzers separately.  Deterministic: the same fixtures give the same files.
"""
import glob
import hashlib
import json
import os
import re
import sys

LIST_KEYS = ["namespaces", "variantAutoscalings", "deployments", "pods",
             "configMaps", "nodes"]
CM_NAMES = {"wva-saturation-config", "wva-saturation-scaling-config",
            "wva-scale-to-zero-config", "wva-model-scale-to-zero-config"}
DURATION_RE = re.compile(r"^[+-]?([0-9.]+(ns|us|µs|ms|s|m|h))+$|^0$")
QUANTITY_RE = re.compile(r"^[+-]?[0-9.]+([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")


def write(outdir, target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def strings(node, out):
    """Every string (keys and values) of a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.add(k)
            strings(v, out)
    elif isinstance(node, list):
        for v in node:
            strings(v, out)
    elif isinstance(node, str):
        out.add(node)


def main():
    top, outdir = sys.argv[1], sys.argv[2]
    fx = os.path.join(top, "tests", "fixtures")
    snapshots = sorted(glob.glob(os.path.join(fx, "snapshot", "*.json")) +
                       glob.glob(os.path.join(fx, "scenarios", "*.json")) +
                       glob.glob(os.path.join(fx, "doctor", "*.json")) +
                       glob.glob(os.path.join(top, "examples", "*.json")))
    texts = set()
    for path in snapshots:
        raw = open(path, "rb").read()
        write(outdir, "snapshot", raw)
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        strings(doc, texts)
        for key in LIST_KEYS:
            lst = doc.get(key)
            if not isinstance(lst, dict) or not isinstance(lst.get("items"), list):
                continue
            write(outdir, "kube_list", json.dumps(lst))
            for item in lst["items"][:2]:
                write(outdir, "kube_list", json.dumps(item))
            if key != "configMaps":
                continue
            for cm in lst["items"]:
                name = (cm.get("metadata") or {}).get("name")
                data = cm.get("data") or {}
                if name not in CM_NAMES or not isinstance(data, dict):
                    continue
                parts = []
                for k, v in data.items():
                    if isinstance(v, str):
                        parts.append(k + "\n" + v)
                        write(outdir, "yaml", v)
                if parts:
                    write(outdir, "configmap", "\0".join(parts))
        metrics = doc.get("metrics")
        if isinstance(metrics, dict):
            for key, res in metrics.items():
                if isinstance(res, list):
                    write(outdir, "prom", json.dumps(
                        {"status": "success",
                         "data": {"resultType": "vector", "result": res}}))

    for path in sorted(glob.glob(os.path.join(fx, "prom", "*.json")) +
                       glob.glob(os.path.join(fx, "prom", "*.html"))):
        if os.path.basename(path) != "canned.json":
            write(outdir, "prom", open(path, "rb").read())

    script = os.path.join(fx, "kube", "kube_script.json")
    if os.path.exists(script):
        for route in json.load(open(script)).get("routes", []):
            for resp in route.get("responses", []):
                if isinstance(resp.get("body"), (dict, list)):
                    write(outdir, "kube_list", json.dumps(resp["body"]))

    for path in sorted(glob.glob(os.path.join(fx, "kube", "kubeconfig", "*.yaml"))):
        raw = open(path, "rb").read()
        write(outdir, "kubeconfig", raw)
        write(outdir, "yaml", raw)

    short = sorted(t for t in texts if 0 < len(t) <= 64)
    for t in short:
        if DURATION_RE.match(t):
            write(outdir, "duration", t)
        if QUANTITY_RE.match(t):
            write(outdir, "quantity", t)
    for t in short[:400]:
        write(outdir, "values", t)
    for t in short[:200]:
        write(outdir, "plan", t.replace("-", "\0"))


if __name__ == "__main__":
    main()
