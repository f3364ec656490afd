#!/usr/bin/env python3
"""A Kubernetes API test server for wva-optimizer integration tests.

It answers the calls wva-optimizer makes (lists with paging and selectors, gets,
merge patches of /scale and /status, Lease get/create/update, Event create,
SelfSubjectAccessReview) the way a real kube-apiserver does: same paths, same
Status error bodies, same resourceVersion/conflict rules, over HTTPS with a CA
made at test time by the openssl CLI. Tests steer it through a separate
plain-HTTP admin port: load objects, inject faults, deny verbs, read the
request log. It knows nothing about autoscaling; it stores whatever objects it
is given. Python 3 standard library only.

Start:  python3 kubeapi.py --state-dir DIR [--port 0] [--admin-port 0]
                           [--token T] [--init snapshot.json] [--ready-file F]
"""

import argparse
import base64
import bisect
import copy
import datetime
import gc
import gzip
import hmac
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, unquote

DEFAULT_USER = ("system:serviceaccount:workload-variant-autoscaler-system:"
                "workload-variant-autoscaler-controller-manager")
CLIENT_CERT_CN = "system:serviceaccount:wva-system:wva-optimizer"  # CN max 64 chars
MAX_BODY = 64 * 1024 * 1024
GZIP_MIN = 128 * 1024          # kube-apiserver compresses responses above 128 KiB
LOG_BODY_MAX = 64 * 1024


_ts_cache = [0, ""]


def now_rfc3339():
    sec = int(time.time())
    if _ts_cache[0] != sec:      # bulk loads stamp tens of thousands of objects
        _ts_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec))
        _ts_cache[0] = sec
    return _ts_cache[1]


def now_rfc3339_ms():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


# --------------------------------------------------------------------------
# Resource types
# --------------------------------------------------------------------------

class ResourceType:
    def __init__(self, group, version, plural, kind, namespaced, subresources=(),
                 custom=False, virtual=False, has_spec=True, short_names=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.subresources = tuple(subresources)
        self.custom = custom          # CRD: no strategic merge patch, PUT needs resourceVersion
        self.virtual = virtual        # create-only review type, never stored
        self.has_spec = has_spec      # spec changes bump metadata.generation
        self.short_names = tuple(short_names)
        self.api_version = "%s/%s" % (group, version) if group else version
        self.list_kind = kind + "List"
        self.qualified = plural + ("." + group if group else "")
        self.key = self.qualified

    def details(self, name=None):
        d = {}
        if name:
            d["name"] = name
        if self.group:
            d["group"] = self.group
        d["kind"] = self.plural
        return d


RESOURCE_TYPES = [
    ResourceType("", "v1", "namespaces", "Namespace", False, ("status",), has_spec=False),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, has_spec=False, short_names=("cm",)),
    ResourceType("", "v1", "pods", "Pod", True, ("status",), has_spec=False, short_names=("po",)),
    ResourceType("", "v1", "events", "Event", True, has_spec=False, short_names=("ev",)),
    ResourceType("", "v1", "nodes", "Node", False, ("status",), has_spec=False, short_names=("no",)),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("status", "scale"),
                 short_names=("deploy",)),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("status", "scale"),
                 short_names=("rs",)),
    ResourceType("llmd.ai", "v1alpha1", "variantautoscalings", "VariantAutoscaling", True,
                 ("status",), custom=True, short_names=("va",)),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True, has_spec=False),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                 "SelfSubjectAccessReview", False, virtual=True, has_spec=False),
]
BY_GVR = {(r.group, r.version, r.plural): r for r in RESOURCE_TYPES}
BY_PLURAL = {}
for _r in RESOURCE_TYPES:
    BY_PLURAL.setdefault(_r.plural, _r)
    BY_PLURAL[_r.qualified] = _r
BY_KIND = {}
for _r in RESOURCE_TYPES:
    BY_KIND[(_r.api_version, _r.kind)] = _r
    BY_KIND.setdefault(_r.kind, _r)

# Snapshot file keys (SPEC.md section 8) and the resource each holds.
SNAPSHOT_KEYS = {
    "namespaces": "namespaces", "variantAutoscalings": "variantautoscalings",
    "deployments": "deployments", "pods": "pods", "configMaps": "configmaps",
    "nodes": "nodes", "replicaSets": "replicasets", "leases": "leases", "events": "events",
}

# Field selectors each type supports (everything else is a 400, as in the real server).
FIELD_SELECTORS = {
    "pods": {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"},
    "events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion",
               "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
               "reportingComponent", "source", "type"},
    "namespaces": {"status.phase"},
    "nodes": {"spec.unschedulable"},
    "replicasets": {"status.replicas"},
}


# --------------------------------------------------------------------------
# Errors shaped like Kubernetes Status objects
# --------------------------------------------------------------------------

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
           429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
           504: "Timeout"}


class ApiError(Exception):
    def __init__(self, code, message, reason=None, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status(self):
        return status_body(self.code, self.message, self.reason, self.details)


def status_body(code, message, reason, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def not_found(rt, name):
    return ApiError(404, '%s "%s" not found' % (rt.qualified, name), "NotFound",
                    rt.details(name))


def conflict(rt, name):
    return ApiError(409, 'Operation cannot be fulfilled on %s "%s": the object has been '
                    'modified; please apply your changes to the latest version and try '
                    'again' % (rt.qualified, name), "Conflict", rt.details(name))


def invalid(rt, name, field, value, why):
    return ApiError(422, '%s "%s" is invalid: %s: Invalid value: %s: %s'
                    % (rt.kind, name, field, json.dumps(value), why), "Invalid",
                    dict(rt.details(name), kind=rt.kind,
                         causes=[{"reason": "FieldValueInvalid", "message":
                                  "Invalid value: %s: %s" % (json.dumps(value), why),
                                  "field": field}]))


# VariantAutoscaling status: the constraints upstream's llmd.ai/v1alpha1 CRD
# puts on it (SPEC section 1: every status write is valid under both CRDs, so
# the test server holds every status write to the stricter one).  Like the
# real API server's validation ratcheting, a subtree the write leaves as it
# was is not re-checked.
_COND_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
_COND_TYPE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def va_status_errors(new, old):
    """[(field, message)] for a VA status upstream's CRD would reject."""
    errs = []
    if not isinstance(new, dict):
        return [("status", "Invalid value: %s: status must be an object" % json.dumps(new))]
    old = old if isinstance(old, dict) else {}

    def changed(key):
        return key in new and new.get(key) != old.get(key)

    if changed("desiredOptimizedAlloc"):
        a, f = new["desiredOptimizedAlloc"], "status.desiredOptimizedAlloc"
        if not isinstance(a, dict):
            errs.append((f, 'Invalid value: "%s": %s must be of type object'
                         % (type(a).__name__, f)))
        else:
            for k in ("accelerator", "numReplicas"):
                if k not in a:
                    errs.append((f + "." + k, "Required value"))
            if "accelerator" in a:
                acc = a["accelerator"]
                if not isinstance(acc, str):
                    errs.append((f + ".accelerator", "Invalid value: %s: must be a string"
                                 % json.dumps(acc)))
                elif len(acc) < 2:
                    errs.append((f + ".accelerator", "Invalid value: %s: %s.accelerator in "
                                 "body should be at least 2 chars long" % (json.dumps(acc), f)))
            if "numReplicas" in a and (not _is_int(a["numReplicas"]) or a["numReplicas"] < 0):
                errs.append((f + ".numReplicas", "Invalid value: %s: must be an integer "
                             ">= 0" % json.dumps(a["numReplicas"])))
            lrt = a.get("lastRunTime")
            if "lastRunTime" in a and not (isinstance(lrt, str) and _DATE_TIME.match(lrt)):
                errs.append((f + ".lastRunTime", "Invalid value: %s: must be a date-time"
                             % json.dumps(lrt)))
    if changed("actuation"):
        a = new["actuation"]
        if not isinstance(a, dict) or "applied" not in a:
            errs.append(("status.actuation.applied", "Required value"))
        elif not isinstance(a["applied"], bool):
            errs.append(("status.actuation.applied", "Invalid value: %s: must be a boolean"
                         % json.dumps(a["applied"])))
    if changed("conditions"):
        conds = new["conditions"]
        if not isinstance(conds, list):
            errs.append(("status.conditions", "Invalid value: %s: must be an array"
                         % json.dumps(conds)))
            conds = []
        seen = set()
        for i, c in enumerate(conds):
            f = "status.conditions[%d]" % i
            if not isinstance(c, dict):
                errs.append((f, "Invalid value: %s: must be an object" % json.dumps(c)))
                continue
            for k in ("lastTransitionTime", "message", "reason", "status", "type"):
                if k not in c:
                    errs.append((f + "." + k, "Required value"))
            if "status" in c and c["status"] not in ("True", "False", "Unknown"):
                errs.append((f + ".status", 'Unsupported value: %s: supported values: '
                             '"True", "False", "Unknown"' % json.dumps(c["status"])))
            r = c.get("reason")
            if "reason" in c and not (isinstance(r, str) and _COND_REASON.match(r)
                                      and len(r) <= 1024):
                errs.append((f + ".reason", "Invalid value: %s: %s.reason in body should "
                             "match '%s'" % (json.dumps(r), f, _COND_REASON.pattern)))
            t = c.get("type")
            if "type" in c and not (isinstance(t, str) and _COND_TYPE.match(t)
                                    and len(t) <= 316):
                errs.append((f + ".type", "Invalid value: %s: %s.type in body should match "
                             "the condition type pattern" % (json.dumps(t), f)))
            m = c.get("message")
            if "message" in c and not (isinstance(m, str) and len(m) <= 32768):
                errs.append((f + ".message", "Invalid value: %s: must be a string of at most "
                             "32768 characters" % json.dumps(m)[:80]))
            ltt = c.get("lastTransitionTime")
            if "lastTransitionTime" in c and not (isinstance(ltt, str) and _DATE_TIME.match(ltt)):
                errs.append((f + ".lastTransitionTime", "Invalid value: %s: must be a date-time"
                             % json.dumps(ltt)))
            if isinstance(t, str):
                if t in seen:
                    errs.append((f, 'Duplicate value: {"type":%s}' % json.dumps(t)))
                seen.add(t)
    return errs


def invalid_status(rt, name, errs):
    """The 422 the real API server answers for a CRD validation failure."""
    text = ", ".join("%s: %s" % e for e in errs)
    if len(errs) > 1:
        text = "[" + text + "]"
    return ApiError(422, '%s.%s "%s" is invalid: %s' % (rt.kind, rt.group, name, text),
                    "Invalid",
                    dict(rt.details(name), kind=rt.kind,
                         causes=[{"reason": "FieldValueRequired" if m == "Required value"
                                  else "FieldValueInvalid", "message": m, "field": f}
                                 for f, m in errs]))


# --------------------------------------------------------------------------
# Patching
# --------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, null deletes, anything else (arrays too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, tokens):
    for t in tokens:
        if isinstance(doc, list):
            doc = doc[int(t)]
        elif isinstance(doc, dict):
            doc = doc[t]
        else:
            raise KeyError(t)
    return doc


def json_patch(doc, ops):
    """RFC 6902 on a deep copy of doc."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise ValueError("a JSON patch must be an array of operations")
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ValueError("invalid JSON patch operation %r" % (op,))
        kind = op["op"]
        toks = _pointer(op["path"])
        if kind == "test":
            if _walk(doc, toks) != op.get("value"):
                raise ValueError("testing value %s failed" % op["path"])
            continue
        if kind in ("move", "copy"):
            src = _pointer(op["from"])
            value = copy.deepcopy(_walk(doc, src))
            if kind == "move":
                parent = _walk(doc, src[:-1])
                if isinstance(parent, list):
                    parent.pop(int(src[-1]))
                else:
                    del parent[src[-1]]
            kind, op = "add", {"value": value}
        if not toks:
            if kind == "remove":
                raise ValueError("cannot remove the whole document")
            doc = copy.deepcopy(op["value"])
            continue
        parent = _walk(doc, toks[:-1])
        last = toks[-1]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if kind == "add":
                if idx > len(parent):
                    raise ValueError("index out of range %s" % last)
                parent.insert(idx, copy.deepcopy(op["value"]))
            elif kind == "remove":
                parent.pop(idx)
            elif kind == "replace":
                parent[idx] = copy.deepcopy(op["value"])
            else:
                raise ValueError("unknown op %r" % kind)
        elif isinstance(parent, dict):
            if kind == "add":
                parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[last]
            elif kind == "replace":
                if last not in parent:
                    raise ValueError("replace operation does not apply: doc is missing key: %s"
                                     % op["path"])
                parent[last] = copy.deepcopy(op["value"])
            else:
                raise ValueError("unknown op %r" % kind)
        else:
            raise ValueError("path %s does not exist" % op["path"])
    return doc


# --------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VAL = r"[-A-Za-z0-9_.]*"


def _split_terms(s):
    terms, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return terms


def parse_label_selector(s):
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    for term in _split_terms(s):
        t = term.strip()
        m = re.fullmatch(r"(%s)\s+(in|notin)\s+\(([^()]*)\)" % _KEY, t)
        if m:
            vals = [v.strip() for v in m.group(3).split(",")]
            if any(not re.fullmatch(_VAL, v) for v in vals):
                raise ValueError("invalid value in %r" % t)
            reqs.append((m.group(1), m.group(2), set(vals)))
            continue
        m = re.fullmatch(r"!\s*(%s)" % _KEY, t)
        if m:
            reqs.append((m.group(1), "!", None))
            continue
        m = re.fullmatch(r"(%s)\s*(==|!=|=)\s*(%s)" % (_KEY, _VAL), t)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, m.group(3)))
            continue
        m = re.fullmatch(_KEY, t)
        if m:
            reqs.append((t, "exists", None))
            continue
        raise ValueError("unable to parse requirement: %r" % t)
    return reqs


def labels_match(reqs, labels):
    for key, op, val in reqs:
        have = key in labels
        v = labels.get(key)
        if op == "=" and (not have or v != val):
            return False
        if op == "!=" and have and v == val:
            return False
        if op == "in" and (not have or v not in val):
            return False
        if op == "notin" and have and v in val:
            return False
        if op == "exists" and not have:
            return False
        if op == "!" and have:
            return False
    return True


def parse_field_selector(rt, s):
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    allowed = {"metadata.name", "metadata.namespace"} | FIELD_SELECTORS.get(rt.plural, set())
    for term in s.split(","):
        m = re.fullmatch(r"\s*([A-Za-z.]+)\s*(==|!=|=)\s*([^,]*?)\s*", term)
        if not m:
            raise ApiError(400, "invalid field selector: %r" % term, "BadRequest")
        field, op, val = m.group(1), m.group(2), m.group(3)
        if field not in allowed:
            raise ApiError(400, 'field label not supported: %s' % field, "BadRequest")
        reqs.append((field.split("."), op != "!=", val))
    return reqs


def fields_match(reqs, obj):
    for path, equal, val in reqs:
        cur = obj
        for p in path:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if isinstance(cur, bool):
            cur = "true" if cur else "false"
        cur = "" if cur is None else str(cur)
        if (cur == val) != equal:
            return False
    return True


# --------------------------------------------------------------------------
# The object store
# --------------------------------------------------------------------------

class Table:
    def __init__(self):
        self.objs = {}      # (namespace, name) -> object (never mutated once stored)
        self.keys = None    # sorted keys, rebuilt lazily after keys are added or removed
        self.raw = {}       # (namespace, name) -> serialized JSON, filled by lists

    def sorted_keys(self):
        if self.keys is None:
            self.keys = sorted(self.objs)
        return self.keys

    def put(self, key, obj):
        if key not in self.objs:
            self.keys = None
        self.objs[key] = obj
        self.raw.pop(key, None)

    def delete(self, key):
        self.raw.pop(key, None)
        if self.objs.pop(key, None) is not None:
            self.keys = None

    def clear(self):
        self.objs.clear()
        self.raw.clear()
        self.keys = None

    def raw_of(self, key):
        # Objects are replaced, never mutated, so their JSON can be cached: a 500-item
        # page is then a join of cached bytes, not a fresh serialization.
        b = self.raw.get(key)
        if b is None:
            b = self.raw[key] = dumps(self.objs[key])
        return b


class Store:
    def __init__(self, sync_deployment_status=False):
        self.lock = threading.RLock()
        self.rv = 1000
        self.compacted_rv = 0
        self.tables = {rt.key: Table() for rt in RESOURCE_TYPES if not rt.virtual}
        self.sync_deployment_status = sync_deployment_status

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def table(self, rt):
        return self.tables[rt.key]

    def get(self, rt, ns, name):
        return self.table(rt).objs.get((ns if rt.namespaced else "", name))

    # Objects are prepared for storage here: kind, apiVersion, uid, timestamps,
    # generation, resourceVersion. keep_identity keeps given uid/creationTimestamp
    # (admin loads of recorded state).
    def _prepare(self, rt, obj, ns, keep_identity):
        obj = with_type(rt, obj)
        md = obj.setdefault("metadata", {})
        if rt.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if not keep_identity or not md.get("uid"):
            md["uid"] = str(uuid.uuid4())
        if not keep_identity or not md.get("creationTimestamp"):
            md["creationTimestamp"] = now_rfc3339()
        if rt.has_spec and not md.get("generation"):
            md["generation"] = 1
        if rt.plural == "deployments":
            default_deployment(obj)
            self._sync_deployment(obj)
        md["resourceVersion"] = self.next_rv()
        return obj

    def _sync_deployment(self, dep):
        if not self.sync_deployment_status:
            return
        n = dep["spec"].get("replicas", 1)
        st = dep.get("status")
        if not isinstance(st, dict):
            st = dep["status"] = {}
        for f in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas"):
            st[f] = n
        st["observedGeneration"] = dep["metadata"].get("generation", 1)

    def load(self, rt, obj, ns=None):
        """Upsert bypassing every check (admin path)."""
        if rt.virtual:
            raise ValueError("%s cannot be stored" % rt.plural)
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict) \
                or not isinstance(obj["metadata"].get("name"), str) or not obj["metadata"]["name"]:
            raise ValueError("%s object without metadata.name" % rt.kind)
        md = obj["metadata"]
        ns = ns or md.get("namespace") or "default"
        with self.lock:
            old = self.get(rt, ns, md["name"])
            if old is not None:
                md.setdefault("uid", old["metadata"].get("uid"))
                md.setdefault("creationTimestamp", old["metadata"].get("creationTimestamp"))
            obj = self._prepare(rt, obj, ns, keep_identity=True)
            self.table(rt).put((ns if rt.namespaced else "", md["name"]), obj)
        return obj

    def delete(self, rt, ns, name):
        with self.lock:
            key = (ns if rt.namespaced else "", name)
            obj = self.table(rt).objs.get(key)
            self.table(rt).delete(key)
            if obj is not None:
                self.next_rv()
            return obj

    def prewarm(self):
        """Serializes every stored object now, so even the first list pages are fast."""
        with self.lock:
            for t in self.tables.values():
                for k in t.sorted_keys():
                    t.raw_of(k)

    def clear(self):
        with self.lock:
            for t in self.tables.values():
                t.clear()
            self.next_rv()

    # ----- API verbs -------------------------------------------------------

    def create(self, rt, ns, body, dry_run):
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request is not a JSON object", "BadRequest")
        obj = copy.deepcopy(body)
        md = obj.get("metadata")
        if not isinstance(md, dict):
            md = obj["metadata"] = {}
        if md.get("namespace") and rt.namespaced and md["namespace"] != ns:
            raise ApiError(400, "the namespace of the provided object does not match the "
                           "namespace sent on the request", "BadRequest")
        for f in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp",
                  "generation"):
            if f == "resourceVersion" and md.get(f):
                raise ApiError(500, "resourceVersion should not be set on objects to be "
                               "created", "InternalError")
            md.pop(f, None)
        with self.lock:
            if not md.get("name"):
                gen = md.get("generateName")
                if not gen:
                    raise invalid(rt, "", "metadata.name", "",
                                  "name or generateName is required")
                md["name"] = gen + secrets.token_hex(3)[:5]
            if not isinstance(md["name"], str):
                raise invalid(rt, "", "metadata.name", md["name"], "must be a string")
            name = md["name"]
            if rt.namespaced and self.get(BY_PLURAL["namespaces"], "", ns) is None:
                raise not_found(BY_PLURAL["namespaces"], ns)
            if self.get(rt, ns, name) is not None:
                raise ApiError(409, '%s "%s" already exists' % (rt.qualified, name),
                               "AlreadyExists", rt.details(name))
            obj = self._prepare(rt, obj, ns, keep_identity=False)
            if not dry_run:
                self.table(rt).put((ns if rt.namespaced else "", name), obj)
            return obj

    def update(self, rt, ns, name, sub, body=None, patch=None, patch_type=None,
               dry_run=False):
        """PUT (body) or PATCH (patch) on an object or its status/scale subresource."""
        with self.lock:
            old = self.get(rt, ns, name)
            if old is None:
                raise not_found(rt, name)
            cur = scale_of(old) if sub == "scale" else old
            if patch is not None:
                try:
                    if patch_type == "json":
                        new = json_patch(cur, patch)
                    else:
                        if not isinstance(patch, dict):
                            raise ValueError("a merge patch must be a JSON object")
                        new = merge_patch(cur, patch)
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    raise ApiError(422 if patch_type == "json" else 400,
                                   "error applying patch: %s" % e,
                                   "Invalid" if patch_type == "json" else "BadRequest")
                if not isinstance(new, dict):
                    raise ApiError(400, "the patched object is not a JSON object", "BadRequest")
                new = copy.deepcopy(new)
            else:
                if not isinstance(body, dict):
                    raise ApiError(400, "the body of the request is not a JSON object",
                                   "BadRequest")
                new = copy.deepcopy(body)
            md = new.get("metadata")
            if not isinstance(md, dict):
                md = new["metadata"] = {}
            if md.get("name") not in (None, name):
                raise ApiError(400, "the name of the object (%s) does not match the name on "
                               "the URL (%s)" % (md.get("name"), name), "BadRequest")
            cur_rv = old["metadata"]["resourceVersion"]
            want_rv = md.get("resourceVersion")
            if patch is None and not want_rv and rt.custom:
                raise invalid(rt, name, "metadata.resourceVersion", 0,
                              "must be specified for an update")
            if want_rv and str(want_rv) != cur_rv:
                raise conflict(rt, name)
            want_uid = md.get("uid")
            if want_uid and want_uid != old["metadata"].get("uid"):
                raise ApiError(409, "Precondition failed: UID in precondition: %s, UID in "
                               "object meta: %s" % (want_uid, old["metadata"].get("uid")),
                               "Conflict", rt.details(name))
            if sub == "scale":
                replicas = new.get("spec", {}).get("replicas", 0) \
                    if isinstance(new.get("spec"), dict) else None
                if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                    raise invalid(rt, name, "spec.replicas", replicas,
                                  "must be greater than or equal to 0")
                nd = copy.deepcopy(old)
                nd.setdefault("spec", {})["replicas"] = replicas
            elif sub == "status":
                nd = copy.deepcopy(old)
                if "status" in new:
                    nd["status"] = new["status"]
                    if rt.plural == "variantautoscalings":
                        errs = va_status_errors(new["status"], old.get("status"))
                        if errs:
                            raise invalid_status(rt, name, errs)
                else:
                    nd.pop("status", None)
            else:
                nd = with_type(rt, new)
                nmd = nd["metadata"]
                omd = old["metadata"]
                nmd["name"] = name
                if rt.namespaced:
                    nmd["namespace"] = ns
                for f in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                    if f in omd:
                        nmd[f] = omd[f]
                    else:
                        nmd.pop(f, None)
                if "status" in rt.subresources:
                    if "status" in old:
                        nd["status"] = copy.deepcopy(old["status"])
                    else:
                        nd.pop("status", None)
            if rt.has_spec and nd.get("spec") != old.get("spec"):
                nd["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            if rt.plural == "deployments":
                default_deployment(nd)
                self._sync_deployment(nd)
            if dry_run:
                nd["metadata"]["resourceVersion"] = cur_rv
            else:
                nd["metadata"]["resourceVersion"] = self.next_rv()
                self.table(rt).put((ns if rt.namespaced else "", name), nd)
            return scale_of(nd) if sub == "scale" else nd

    def list_page(self, rt, ns, label_reqs, field_reqs, limit, token):
        """Returns (serialized items, list_rv, continue_token)."""
        with self.lock:
            table = self.table(rt)
            keys = table.sorted_keys()
            if token:
                start_key, list_rv = decode_continue(token, rt, self.compacted_rv)
                lo = _bisect_right(keys, start_key)
            else:
                list_rv = self.rv
                lo = _bisect_left(keys, (ns, "")) if ns is not None and rt.namespaced else 0
            items = []
            i = lo
            n = len(keys)
            objs = table.objs
            last = None
            while i < n:
                k = keys[i]
                if ns is not None and rt.namespaced and k[0] != ns:
                    break
                o = objs[k]
                i += 1
                if label_reqs and not labels_match(label_reqs,
                                                   o["metadata"].get("labels") or {}):
                    continue
                if field_reqs and not fields_match(field_reqs, o):
                    continue
                items.append(table.raw_of(k))
                last = k
                if limit and len(items) >= limit:
                    break
            cont = ""
            if limit and len(items) >= limit and i < n and \
                    (ns is None or not rt.namespaced or keys[i][0] == ns):
                cont = encode_continue(last, list_rv, rt)
            return items, str(list_rv), cont


def with_type(rt, obj):
    """obj with kind and apiVersion set and first, as the API server writes them."""
    out = {"kind": rt.kind, "apiVersion": rt.api_version}
    for k, v in obj.items():
        if k not in out:
            out[k] = v
    return out


def default_deployment(dep):
    # The API server's defaulting: a Deployment without spec.replicas has 1.
    spec = dep.get("spec")
    if not isinstance(spec, dict):
        spec = dep["spec"] = {}
    if spec.get("replicas") is None:
        spec["replicas"] = 1


def _bisect_left(a, x):
    return bisect.bisect_left(a, x)


def _bisect_right(a, x):
    return bisect.bisect_right(a, x)


def encode_continue(key, rv, rt):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": "%s/%s\x00" % key,
                      "r": rt.key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token, rt, compacted_rv):
    expired = ApiError(410, "The provided continue parameter is too old to display a "
                       "consistent list result. You can start a new list without the "
                       "continue parameter.", "Expired")
    try:
        pad = "=" * (-len(token) % 4)
        doc = json.loads(base64.urlsafe_b64decode(token + pad).decode())
        rv = int(doc["rv"])
        start = doc["start"]
        if doc.get("v") != "meta.k8s.io/v1" or doc.get("r") != rt.key \
                or not start.endswith("\x00") or "/" not in start:
            raise ValueError("bad token")
        ns, name = start[:-1].split("/", 1)
    except Exception:
        raise expired
    if rv <= compacted_rv:
        raise expired
    return (ns, name), rv


def scale_of(dep):
    md = dep["metadata"]
    spec = dep.get("spec") or {}
    status = dep.get("status") or {}
    sel = ((spec.get("selector") or {}).get("matchLabels") or {})
    scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
             "metadata": {"name": md["name"], "namespace": md.get("namespace"),
                          "uid": md.get("uid"), "resourceVersion": md["resourceVersion"],
                          "creationTimestamp": md.get("creationTimestamp")},
             "spec": {}, "status": {"replicas": status.get("replicas", 0)}}
    # autoscaling/v1 ScaleSpec.replicas is omitempty in the real API: 0 is absent.
    if spec.get("replicas", 1):
        scale["spec"]["replicas"] = spec.get("replicas", 1)
    if sel:
        scale["status"]["selector"] = ",".join("%s=%s" % kv for kv in sorted(sel.items()))
    return scale


# --------------------------------------------------------------------------
# Loading documents (lists, snapshots, single objects)
# --------------------------------------------------------------------------

def resource_for(obj, default_rt=None):
    if isinstance(obj, dict):
        kind = obj.get("kind")
        api = obj.get("apiVersion")
        if kind:
            rt = BY_KIND.get((api, kind)) or BY_KIND.get(kind)
            if rt:
                return rt
    if default_rt:
        return default_rt
    raise ValueError("cannot tell the resource of object kind=%r apiVersion=%r"
                     % (obj.get("kind") if isinstance(obj, dict) else None,
                        obj.get("apiVersion") if isinstance(obj, dict) else None))


def load_document(store, doc, default_rt=None):
    """Loads an object, a List, a JSON array or a WVA snapshot. Returns the count."""
    enabled = gc.isenabled()
    gc.disable()    # a bulk load otherwise spends most of its time in GC passes
    try:
        return _load_document(store, doc, default_rt)
    finally:
        if enabled:
            gc.enable()


def _load_document(store, doc, default_rt=None):
    n = 0
    if isinstance(doc, list):
        for item in doc:
            n += _load_document(store, item, default_rt)
        return n
    if not isinstance(doc, dict):
        raise ValueError("expected a JSON object or array")
    if doc.get("kind") == "WVASnapshot" or (
            "kind" not in doc and any(k in doc for k in SNAPSHOT_KEYS)):
        for key, plural in SNAPSHOT_KEYS.items():
            if doc.get(key) is not None:
                n += _load_document(store, doc[key], BY_PLURAL[plural])
        return n
    kind = doc.get("kind") or ""
    if "items" in doc and (kind.endswith("List") or not kind):
        rt = default_rt
        if kind.endswith("List") and kind != "List":
            rt = BY_KIND.get((doc.get("apiVersion"), kind[:-4])) or BY_KIND.get(kind[:-4]) or rt
        for item in doc.get("items") or []:
            store.load(resource_for(item, rt), item)
            n += 1
        return n
    store.load(resource_for(doc, default_rt), doc)
    return 1


def synthetic_state(n_va, pods_per=3, per_ns=100):
    """A big, realistic cluster: n_va VAs, as many Deployments/ReplicaSets, pods_per pods each."""
    sysns = "workload-variant-autoscaler-system"
    out = {"namespaces": [], "variantAutoscalings": [], "deployments": [], "replicaSets": [],
           "pods": [], "configMaps": [], "nodes": []}
    out["namespaces"].append({"metadata": {"name": sysns}})
    nns = (n_va + per_ns - 1) // per_ns
    for j in range(nns):
        out["namespaces"].append({"metadata": {"name": "team-%04d" % j,
                                               "labels": {"team": "t%d" % (j % 10)}}})
    accels = ["NVIDIA-A100-PCIE-80GB", "NVIDIA-H100-80GB-HBM3", "AMD-MI300X-192G"]
    for i in range(n_va):
        ns = "team-%04d" % (i // per_ns)
        name = "va-%05d" % i
        acc = accels[i % len(accels)]
        model = "org/model-%d" % (i % 50)
        labels = {"app": name, "llm-d.ai/model": "model-%d" % (i % 50)}
        out["variantAutoscalings"].append({
            "apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"inference.optimization/acceleratorName": acc}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": name},
                     "modelID": model, "variantCost": "%d.0" % (10 + i % 7)}})
        tmpl = {"metadata": {"labels": dict(labels)},
                "spec": {"nodeSelector": {"nvidia.com/gpu.product": acc},
                         "containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.10.0",
                                         "args": ["--model", model, "--port", "8000"],
                                         "ports": [{"containerPort": 8000, "name": "http"}],
                                         "resources": {"limits": {"nvidia.com/gpu": "1"},
                                                       "requests": {"nvidia.com/gpu": "1",
                                                                    "cpu": "4",
                                                                    "memory": "32Gi"}}}]}}
        out["deployments"].append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"replicas": pods_per, "selector": {"matchLabels": {"app": name}},
                     "template": tmpl},
            "status": {"replicas": pods_per, "readyReplicas": pods_per,
                       "availableReplicas": pods_per, "updatedReplicas": pods_per,
                       "observedGeneration": 1}})
        h = "%010x" % (i * 2654435761 % (1 << 40))
        rsname = "%s-%s" % (name, h)
        out["replicaSets"].append({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rsname, "namespace": ns,
                         "labels": dict(labels, **{"pod-template-hash": h}),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": name, "uid": "dep-uid-%d" % i,
                                              "controller": True}]},
            "spec": {"replicas": pods_per, "selector": {"matchLabels": {"app": name}}},
            "status": {"replicas": pods_per}})
        for p in range(pods_per):
            pname = "%s-%05x" % (rsname, p)
            out["pods"].append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pname, "namespace": ns,
                             "labels": dict(labels, **{"pod-template-hash": h}),
                             "ownerReferences": [{"apiVersion": "apps/v1",
                                                  "kind": "ReplicaSet", "name": rsname,
                                                  "uid": "rs-uid-%d" % i,
                                                  "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "spec": copy.deepcopy(tmpl["spec"]) | {"nodeName": "gpu-node-%03d" % (i % 500)},
                "status": {"phase": "Running", "podIP": "10.%d.%d.%d" % (
                    (i >> 8) & 255, i & 255, p), "conditions": [
                        {"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "vllm", "ready": True,
                                           "restartCount": 0}]}})
    for k in range(min(500, max(1, n_va // 20))):
        acc = accels[k % len(accels)]
        vendor = "amd.com" if acc.startswith("AMD") else "nvidia.com"
        out["nodes"].append({"metadata": {"name": "gpu-node-%03d" % k,
                                          "labels": {vendor + "/gpu.product": acc}},
                             "status": {"allocatable": {vendor + "/gpu": "8"},
                                        "capacity": {vendor + "/gpu": "8"}}})
    return out


# --------------------------------------------------------------------------
# Certificates and kubeconfigs
# --------------------------------------------------------------------------

def _openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr.strip()))


def make_certs(d, key_type="ec"):
    """CA, server cert (SAN IP:127.0.0.1, DNS:localhost) and client cert, reused when present."""
    paths = {n: os.path.join(d, n) for n in ("ca.crt", "ca.key", "server.crt", "server.key",
                                             "client.crt", "client.key")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] \
        if key_type == "ec" else ["-newkey", "rsa:2048"]
    _openssl(["req", "-x509", "-nodes", "-days", "7"] + newkey +
             ["-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=wva-test-ca",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    for who, subj, ext in (
            ("server", "/CN=kube-apiserver-test",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
            ("client", "/O=wva-testers/CN=" + CLIENT_CERT_CN, "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(d, who + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,"
                    "keyEncipherment\nsubjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid,issuer\n" + ext)
        _openssl(["req", "-nodes"] + newkey + ["-keyout", who + ".key", "-out", who + ".csr",
                                                "-subj", subj], d)
        _openssl(["x509", "-req", "-in", who + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "7",
                  "-out", who + ".crt", "-extfile", who + ".ext"], d)
    for p in ("ca.key", "server.key", "client.key"):
        os.chmod(paths[p], 0o600)
    return paths


def _b64file(p):
    with open(p, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfigs(d, port, token, certs):
    server = "https://127.0.0.1:%d" % port
    head = ("apiVersion: v1\nkind: Config\npreferences: {}\n"
            "current-context: wva-test\n"
            "contexts:\n- name: wva-test\n  context:\n    cluster: wva-test\n"
            "    user: wva-test\n    namespace: default\n")
    files = {}
    files["kubeconfig"] = head + (
        "clusters:\n- name: wva-test\n  cluster:\n    server: \"%s\"\n"
        "    certificate-authority: \"%s\"\n"
        "users:\n- name: wva-test\n  user:\n    token: \"%s\"\n"
        % (server, certs["ca.crt"], token))
    files["kubeconfig-cert"] = head + (
        "clusters:\n- name: wva-test\n  cluster:\n    server: \"%s\"\n"
        "    certificate-authority-data: %s\n"
        "users:\n- name: wva-test\n  user:\n    client-certificate-data: %s\n"
        "    client-key-data: %s\n"
        % (server, _b64file(certs["ca.crt"]), _b64file(certs["client.crt"]),
           _b64file(certs["client.key"])))
    tokfile = os.path.join(d, "token")
    with open(tokfile, "w") as f:
        f.write(token + "\n")
    os.chmod(tokfile, 0o600)
    files["kubeconfig-tokenfile"] = head + (
        "clusters:\n- name: wva-test\n  cluster:\n    server: \"%s\"\n"
        "    certificate-authority: \"%s\"\n"
        "users:\n- name: wva-test\n  user:\n    tokenFile: \"%s\"\n"
        % (server, certs["ca.crt"], tokfile))
    out = {"token_file": tokfile}
    for name, text in files.items():
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o600)
        out[name] = p
    return out


# --------------------------------------------------------------------------
# Server state shared by the API and the admin port
# --------------------------------------------------------------------------

class Faults:
    KINDS = ("status", "throttle", "delay", "drop", "truncate", "content-type", "warning")

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    @staticmethod
    def validate(rule):
        if not isinstance(rule, dict):
            raise ValueError("a fault must be a JSON object")
        r = dict(rule)
        r.setdefault("method", "*")
        r.setdefault("path", ".*")
        r.setdefault("count", 1)
        if r.get("kind") not in Faults.KINDS:
            raise ValueError("fault kind must be one of %s" % ", ".join(Faults.KINDS))
        re.compile(r["path"])
        if r.get("query") is not None:
            re.compile(r["query"])
        if r["count"] is None:
            r["count"] = -1
        if not isinstance(r["count"], int):
            raise ValueError("count must be an integer (-1 = unlimited)")
        r.setdefault("hits", 0)
        return r

    def set(self, rules):
        rules = [self.validate(r) for r in rules]
        with self.lock:
            self.rules = rules

    def add(self, rules):
        rules = [self.validate(r) for r in rules]
        with self.lock:
            self.rules.extend(rules)

    def take(self, method, path, query):
        with self.lock:
            for r in self.rules:
                if r["count"] == 0:
                    continue
                if r["method"] not in ("*", method):
                    continue
                if not re.search(r["path"], path):
                    continue
                if r.get("query") is not None and not re.search(r["query"], query):
                    continue
                if r["count"] > 0:
                    r["count"] -= 1
                r["hits"] += 1
                return dict(r)
        return None

    def snapshot(self):
        with self.lock:
            return [dict(r) for r in self.rules]


class Rbac:
    def __init__(self):
        self.lock = threading.Lock()
        self.deny = []

    @staticmethod
    def validate(rule):
        if isinstance(rule, str):       # "patch deployments/scale"
            parts = rule.split()
            if len(parts) != 2:
                raise ValueError("deny rule string must be 'VERB RESOURCE[/SUB]'")
            rule = {"verb": parts[0], "resource": parts[1]}
        if not isinstance(rule, dict) or "verb" not in rule or "resource" not in rule:
            raise ValueError("deny rule needs verb and resource")
        return dict(rule)

    def set(self, rules):
        rules = [self.validate(r) for r in rules]
        with self.lock:
            self.deny = rules

    def denied(self, verb, group, resource, sub, ns, name):
        full = resource + ("/" + sub if sub else "")
        with self.lock:
            for r in self.deny:
                if r["verb"] not in ("*", verb):
                    continue
                if r["resource"] not in ("*", full, resource + "/*" if sub else full):
                    continue
                if r.get("group") is not None and r["group"] != group:
                    continue
                if r.get("namespace") is not None and r["namespace"] != (ns or ""):
                    continue
                if r.get("name") is not None and r["name"] != (name or ""):
                    continue
                return True
        return False


class RequestLog:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.entries = []
        self.f = open(path, "a", buffering=1)

    def add(self, entry):
        line = json.dumps(entry, separators=(",", ":"), default=str)
        with self.lock:
            self.entries.append(entry)
            self.f.write(line + "\n")

    def read(self, since=0):
        with self.lock:
            return self.entries[since:], len(self.entries)

    def reset(self):
        with self.lock:
            self.entries = []
            self.f.truncate(0)
            self.f.seek(0)


class State:
    def __init__(self, args):
        self.store = Store(sync_deployment_status=args.sync_deployment_status)
        self.faults = Faults()
        self.rbac = Rbac()
        self.tokens = [args.token]
        self.user = args.user
        self.gzip = not args.no_gzip
        self.disabled_groups = set()
        self.log = None
        self.ready = {}
        self.started = time.time()

    def settings(self):
        return {"sync_deployment_status": self.store.sync_deployment_status,
                "user": self.user, "gzip": self.gzip,
                "disabled_groups": sorted(self.disabled_groups),
                "token_count": len(self.tokens)}

    def apply_settings(self, s):
        if not isinstance(s, dict):
            raise ValueError("settings must be a JSON object")
        if "sync_deployment_status" in s:
            self.store.sync_deployment_status = bool(s["sync_deployment_status"])
        if "user" in s:
            self.user = str(s["user"])
        if "gzip" in s:
            self.gzip = bool(s["gzip"])
        if "disabled_groups" in s:
            self.disabled_groups = set(s["disabled_groups"])
        if "tokens" in s:
            if not isinstance(s["tokens"], list) or not all(isinstance(t, str) for t in
                                                             s["tokens"]):
                raise ValueError("tokens must be a list of strings")
            self.tokens = list(s["tokens"])


# --------------------------------------------------------------------------
# HTTP plumbing shared by both ports
# --------------------------------------------------------------------------

class DropConnection(Exception):
    pass


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK stalls every response by ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.__class__.__name__, fmt % args))

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "request entity too large", "RequestEntityTooLarge")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "request entity too large", "RequestEntityTooLarge")
        return self.rfile.read(n) if n > 0 else b""

    def send_bytes(self, code, body, ctype="application/json", headers=None, gzip_ok=False,
                   truncate=None):
        hdrs = dict(headers or {})
        if gzip_ok and len(body) > GZIP_MIN and \
                "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body, compresslevel=1)
            hdrs["Content-Encoding"] = "gzip"
        length = len(body)
        if truncate == "json":
            body = body[: max(1, len(body) // 2)]
            length = len(body)
        elif truncate == "short":
            body = body[: max(1, len(body) // 2)]
        self.last_status = code
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in hdrs.items():
            if isinstance(v, list):
                for one in v:
                    self.send_header(k, one)
            else:
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if truncate == "short":
            raise DropConnection()
        return code

    def drop(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class RawJson(bytes):
    """Already serialized JSON (list pages built from cached item bytes)."""


def dumps(obj):
    if isinstance(obj, RawJson):
        return obj
    return json.dumps(obj, separators=(",", ":")).encode()


# --------------------------------------------------------------------------
# The Kubernetes API handler
# --------------------------------------------------------------------------

def parse_api_path(path):
    """Returns dict(rt, group, version, namespace, name, sub, verb-less info) or None."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    info = {"group": group, "version": version, "namespace": None, "name": None,
            "sub": None, "resource": None, "rt": None}
    if not rest:
        return info
    if rest[0] == "namespaces" and len(rest) >= 3 and not (
            len(rest) == 3 and rest[2] in ("status", "finalize") and group == ""):
        info["namespace"] = rest[1]
        rest = rest[2:]
    info["resource"] = rest[0]
    if len(rest) > 1:
        info["name"] = rest[1]
    if len(rest) > 2:
        info["sub"] = rest[2]
    if len(rest) > 3:
        info["extra"] = True
    info["rt"] = BY_GVR.get((group, version, rest[0]))
    return info


def verb_guess(method, info, query):
    if method == "GET" or method == "HEAD":
        if info and info.get("name"):
            return "get"
        if query.get("watch", [""])[0] in ("true", "1"):
            return "watch"
        return "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if info and info.get("name") else "deletecollection"
            }.get(method, method.lower())


class ApiHandler(BaseHandler):
    server_version = "kube-apiserver-test/1.0"

    def do_GET(self):
        self.handle_api()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def handle_api(self):
        st = self.server.state
        t0 = time.monotonic()
        split = urlsplit(self.path)
        path, qs = split.path, split.query
        query = parse_qs(qs, keep_blank_values=True)
        info = parse_api_path(path)
        verb = verb_guess(self.command, info, query)
        auth_hdr = self.headers.get("Authorization")
        entry = {"time": now_rfc3339_ms(), "method": self.command, "path": path, "query": qs,
                 "status": 0, "verb": verb,
                 "resource": info.get("resource") if info else None,
                 "subresource": info.get("sub") if info else None,
                 "namespace": info.get("namespace") if info else None,
                 "name": info.get("name") if info else None,
                 "user_agent": self.headers.get("User-Agent"),
                 "authorization": auth_hdr is not None,
                 "content_type": self.headers.get("Content-Type"),
                 "accept": self.headers.get("Accept")}
        extra_headers = {"Audit-Id": str(uuid.uuid4()),
                         "Cache-Control": "no-cache, private"}
        fault = None
        truncate = None
        try:
            try:
                raw = self.read_body()
            except ApiError:
                raise
            except (ValueError, OSError) as e:
                raise ApiError(400, "cannot read request body: %s" % e, "BadRequest")
            if raw and self.command in ("POST", "PUT", "PATCH"):
                try:
                    txt = raw[:LOG_BODY_MAX].decode("utf-8", "replace")
                    entry["body"] = json.loads(txt) if len(raw) <= LOG_BODY_MAX else txt
                except ValueError:
                    entry["body"] = raw[:LOG_BODY_MAX].decode("utf-8", "replace")
            fault = st.faults.take(self.command, path, qs)
            if fault:
                entry["fault"] = fault["kind"]
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                k = fault["kind"]
                if k == "drop" and not fault.get("after"):
                    self.drop()
                    return
                if k == "status":
                    code = int(fault.get("status", 500))
                    h = {}
                    if fault.get("retry_after") is not None:
                        h["Retry-After"] = str(fault["retry_after"])
                    msg = fault.get("message") or ("Internal error occurred: injected fault"
                                                   if code == 500 else "injected fault")
                    raise ApiError(code, msg, REASONS.get(code, "Unknown"),
                                   {"causes": [{"reason": "UnexpectedServerResponse",
                                                "message": "injected fault"}]}
                                   if code >= 500 else None, h)
                if k == "throttle":
                    ra = fault.get("retry_after", 1)
                    raise ApiError(429, "Too many requests, please try again later.",
                                   "TooManyRequests", {"retryAfterSeconds": int(ra)},
                                   {"Retry-After": str(ra)})
                if k == "content-type":
                    code = int(fault.get("status", 200))
                    entry["status"] = self.send_bytes(
                        code, b"<html><head><title>Gateway</title></head><body>"
                        b"<h1>Sign in</h1></body></html>", "text/html; charset=utf-8")
                    return
                if k == "warning":
                    w = fault.get("warning", "injected warning")
                    ws = w if isinstance(w, list) else [w]
                    extra_headers["Warning"] = ['299 - "%s"' % x.replace('"', "'")
                                                for x in ws]
                if k == "truncate":
                    truncate = fault.get("mode", "json")
            user = self.authenticate(auth_hdr)
            entry["user"] = user
            entry["auth"] = self.auth_kind
            code, obj = self.route(info, path, query, raw, verb, user)
            if fault and fault["kind"] == "drop":   # "after": applied, answer lost
                entry["applied_status"] = code
                self.drop()
                return
            entry["status"] = self.send_bytes(code, dumps(obj), headers=extra_headers,
                                              gzip_ok=st.gzip, truncate=truncate)
        except ApiError as e:
            h = dict(extra_headers)
            h.update(e.headers)
            entry["status"] = e.code
            entry["reason"] = e.reason
            try:
                self.send_bytes(e.code, dumps(e.status()), headers=h, truncate=truncate)
            except DropConnection:
                entry["truncated"] = True
                self.drop()
            except OSError:
                pass
        except DropConnection:
            entry["status"] = getattr(self, "last_status", 0)
            entry["truncated"] = True
            self.drop()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as e:
            entry["error"] = str(e)
            self.close_connection = True
        except Exception as e:    # a bug here must still answer like a server would
            import traceback
            traceback.print_exc()
            entry["status"] = 500
            entry["error"] = repr(e)
            try:
                self.send_bytes(500, dumps(status_body(500, "Internal error occurred: %r" % e,
                                                       "InternalError")))
            except OSError:
                pass
        finally:
            entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
            st.log.add(entry)

    auth_kind = "none"

    def authenticate(self, auth_hdr):
        st = self.server.state
        self.auth_kind = "none"
        cn = None
        try:
            pc = self.connection.getpeercert()
            if pc:
                for rdn in pc.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
        except (AttributeError, ValueError):
            pc = None
        if cn:
            self.auth_kind = "cert"
            return cn
        if self.server.auth_mode != "cert" and auth_hdr and auth_hdr.startswith("Bearer "):
            tok = auth_hdr[7:].strip()
            for t in st.tokens:
                if hmac.compare_digest(tok.encode(), t.encode()):
                    self.auth_kind = "token"
                    return st.user
            self.auth_kind = "bad-token"
        elif auth_hdr:
            self.auth_kind = "unsupported"
        path = urlsplit(self.path).path
        if path in ("/healthz", "/livez", "/readyz", "/version"):
            return "system:anonymous"
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def route(self, info, path, query, raw, verb, user):
        st = self.server.state
        if path in ("/healthz", "/livez", "/readyz"):
            return 200, "ok"
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-wva-test",
                         "platform": "linux/amd64"}
        if info is None:
            if path in ("/api", "/api/"):
                return 200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": [
                                 {"clientCIDR": "0.0.0.0/0",
                                  "serverAddress": "127.0.0.1:%d" % self.server.server_address[1]}]}
            if path in ("/apis", "/apis/"):
                return 200, self.discovery_groups()
            raise ApiError(404, "the server could not find the requested resource",
                           "NotFound", {})
        if info["group"] in st.disabled_groups or \
                (info["group"], info["version"]) not in {(r.group, r.version)
                                                         for r in RESOURCE_TYPES}:
            raise ApiError(404, "the server could not find the requested resource",
                           "NotFound", {})
        if info["resource"] is None:
            return 200, self.discovery_resources(info["group"], info["version"])
        rt = info["rt"]
        if rt is None or info.get("extra") or (info["sub"] and info["sub"] not in
                                               rt.subresources):
            raise ApiError(404, "the server could not find the requested resource",
                           "NotFound", {})
        ns, name, sub = info["namespace"], info["name"], info["sub"]
        if not rt.namespaced and ns is not None:
            raise ApiError(404, "the server could not find the requested resource",
                           "NotFound", {})
        # RBAC
        if st.rbac.denied(verb, rt.group, rt.plural, sub, ns, name):
            res = rt.plural + ("/" + sub if sub else "")
            where = ('in the namespace "%s"' % ns) if ns else "at the cluster scope"
            subject = ('%s "%s"' % (rt.qualified, name)) if name else rt.qualified
            raise ApiError(403, '%s is forbidden: User "%s" cannot %s resource "%s" in API '
                           'group "%s" %s' % (subject, user, verb, res, rt.group, where),
                           "Forbidden", rt.details(name))
        dry_run = "All" in query.get("dryRun", [])
        store = st.store
        m = self.command
        if rt.virtual:
            if m != "POST" or name:
                raise ApiError(405, "the server does not allow this method on the requested "
                               "resource", "MethodNotAllowed", {})
            return 201, self.access_review(self.parse_json(raw), user)
        if m in ("GET", "HEAD"):
            if query.get("watch", [""])[0] in ("true", "1"):
                raise ApiError(405, "watch is not supported by this test server",
                               "MethodNotAllowed", {})
            if name:
                obj = store.get(rt, ns, name)
                if obj is None:
                    raise not_found(rt, name)
                if sub == "scale":
                    return 200, scale_of(obj)
                return 200, obj
            return 200, self.list(rt, ns, query)
        if m == "POST":
            if name:
                raise ApiError(405, "the server does not allow this method on the requested "
                               "resource", "MethodNotAllowed", {})
            if rt.namespaced and ns is None:
                raise ApiError(404, "the server could not find the requested resource",
                               "NotFound", {})
            return 201, store.create(rt, ns, self.parse_json(raw), dry_run)
        if not name:
            raise ApiError(405, "the server does not allow this method on the requested "
                           "resource", "MethodNotAllowed", {})
        if rt.namespaced and ns is None:
            raise ApiError(404, "the server could not find the requested resource",
                           "NotFound", {})
        if m == "PUT":
            return 200, store.update(rt, ns, name, sub, body=self.parse_json(raw),
                                     dry_run=dry_run)
        if m == "PATCH":
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ct == "application/merge-patch+json":
                ptype = "merge"
            elif ct == "application/json-patch+json":
                ptype = "json"
            elif ct == "application/strategic-merge-patch+json" and not rt.custom:
                ptype = "merge"    # close enough for the maps-only patches tests send
            else:
                raise ApiError(415, "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml",
                               "UnsupportedMediaType", {})
            return 200, store.update(rt, ns, name, sub, patch=self.parse_json(raw),
                                     patch_type=ptype, dry_run=dry_run)
        if m == "DELETE":
            if sub:
                raise ApiError(405, "the server does not allow this method on the requested "
                               "resource", "MethodNotAllowed", {})
            with store.lock:
                obj = store.get(rt, ns, name)
                if obj is None:
                    raise not_found(rt, name)
                body = self.parse_json(raw) if raw else {}
                pre = (body or {}).get("preconditions") or {}
                if pre.get("resourceVersion") and \
                        pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                    raise conflict(rt, name)
                if not dry_run:
                    store.delete(rt, ns, name)
            return 200, obj
        raise ApiError(405, "the server does not allow this method on the requested resource",
                       "MethodNotAllowed", {})

    def parse_json(self, raw):
        try:
            return json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, "the body of the request could not be decoded as JSON: %s"
                           % e, "BadRequest")

    def list(self, rt, ns, query):
        try:
            label_reqs = parse_label_selector(query.get("labelSelector", [""])[0])
        except ValueError as e:
            raise ApiError(400, "unable to parse requirement: %s" % e, "BadRequest")
        field_reqs = parse_field_selector(rt, query.get("fieldSelector", [""])[0])
        lim = query.get("limit", ["0"])[0] or "0"
        try:
            limit = int(lim)
        except ValueError:
            raise ApiError(400, 'invalid limit "%s"' % lim, "BadRequest")
        limit = max(0, limit)
        token = query.get("continue", [""])[0]
        items, rv, cont = self.server.state.store.list_page(
            rt, ns, label_reqs, field_reqs, limit, token)
        md = {"resourceVersion": rv}
        if cont:
            md["continue"] = cont
        head = dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": md})
        return RawJson(head[:-1] + b',"items":[' + b",".join(items) + b"]}")

    def access_review(self, body, user):
        st = self.server.state
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
            raise ApiError(400, "SelfSubjectAccessReview needs a spec", "BadRequest")
        ra = body["spec"].get("resourceAttributes")
        allowed = True
        if isinstance(ra, dict):
            allowed = not st.rbac.denied(ra.get("verb", ""), ra.get("group", ""),
                                         ra.get("resource", ""), ra.get("subresource") or None,
                                         ra.get("namespace") or None, ra.get("name") or None)
        status = {"allowed": allowed}
        if not allowed:
            status["reason"] = "denied by the test server's RBAC deny list"
        out = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
               "metadata": {"creationTimestamp": None}, "spec": body["spec"],
               "status": status}
        return out

    def discovery_groups(self):
        groups = {}
        for r in RESOURCE_TYPES:
            if r.group and r.group not in self.server.state.disabled_groups:
                gv = {"groupVersion": r.api_version, "version": r.version}
                groups[r.group] = {"name": r.group, "versions": [gv], "preferredVersion": gv}
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(groups.values())}

    def discovery_resources(self, group, version):
        res = []
        for r in RESOURCE_TYPES:
            if r.group == group and r.version == version:
                verbs = ["create"] if r.virtual else ["create", "delete", "get", "list",
                                                     "patch", "update"]
                res.append({"name": r.plural, "singularName": r.kind.lower(),
                            "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs,
                            "shortNames": list(r.short_names)})
                for s in r.subresources:
                    res.append({"name": r.plural + "/" + s, "singularName": "",
                                "namespaced": r.namespaced,
                                "kind": "Scale" if s == "scale" else r.kind,
                                "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "%s/%s" % (group, version) if group else version,
                "resources": res}


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, state, ssl_ctx, auth_mode, verbose):
        self.state = state
        self.ssl_ctx = ssl_ctx
        self.auth_mode = auth_mode
        self.verbose = verbose
        super().__init__(addr, ApiHandler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The TLS handshake runs in the connection's own thread (finish_request) so a
        # slow or broken client never blocks the accept loop.
        return self.ssl_ctx.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        request.settimeout(30)
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as e:
            self.state.log.add({"time": now_rfc3339_ms(), "method": None, "path": None,
                                "status": 0, "error": "tls handshake failed: %s" % e})
            return
        request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------
# Admin (control plane) handler: plain HTTP on 127.0.0.1, no auth, no faults
# --------------------------------------------------------------------------

class AdminHandler(BaseHandler):
    server_version = "kubeapi-admin/1.0"

    def do_GET(self):
        st = self.server.state
        try:
            raw = self.read_body()
            code, obj = self.route(st, raw)
        except ApiError as e:
            code, obj = e.code, {"error": e.message}
        except (ValueError, KeyError, TypeError) as e:
            code, obj = 400, {"error": str(e)}
        try:
            self.send_bytes(code, dumps(obj))
        except OSError:
            self.close_connection = True

    do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def body_json(self, raw):
        if not raw:
            raise ValueError("a JSON body is required")
        return json.loads(raw.decode("utf-8"))

    def route(self, st, raw):
        split = urlsplit(self.path)
        parts = [unquote(p) for p in split.path.strip("/").split("/") if p]
        q = parse_qs(split.query)
        m = self.command
        store = st.store
        if not parts or parts == ["healthz"]:
            return 200, {"ok": True}
        head = parts[0]
        if head == "ready" and m == "GET":
            return 200, st.ready
        if head == "objects":
            if len(parts) == 1:
                if m != "POST":
                    raise ApiError(405, "POST a JSON object, List or snapshot to /objects")
                n = load_document(store, self.body_json(raw))
                gc.freeze()
                return 200, {"loaded": n, "resourceVersion": str(store.rv)}
            rt = BY_PLURAL.get(parts[1])
            if rt is None or rt.virtual:
                raise ApiError(404, "unknown resource %r" % parts[1])
            if len(parts) == 2:
                if m == "GET":
                    ns = q.get("namespace", [None])[0]
                    with store.lock:
                        items = [o for k, o in sorted(store.table(rt).objs.items())
                                 if ns is None or k[0] == ns]
                    return 200, {"kind": rt.list_kind, "apiVersion": rt.api_version,
                                 "metadata": {"resourceVersion": str(store.rv)},
                                 "items": items}
                if m == "DELETE":
                    with store.lock:
                        n = len(store.table(rt).objs)
                        store.table(rt).clear()
                        store.next_rv()
                    return 200, {"deleted": n}
                if m == "POST":
                    n = load_document(store, self.body_json(raw), rt)
                    return 200, {"loaded": n, "resourceVersion": str(store.rv)}
                raise ApiError(405, "method not allowed")
            if rt.namespaced:
                if len(parts) != 4:
                    raise ApiError(404, "use /objects/%s/NAMESPACE/NAME" % rt.plural)
                ns, name = parts[2], parts[3]
            else:
                if len(parts) != 3:
                    raise ApiError(404, "use /objects/%s/NAME" % rt.plural)
                ns, name = "", parts[2]
            if m == "GET":
                obj = store.get(rt, ns, name)
                if obj is None:
                    raise ApiError(404, "%s %s/%s not found" % (rt.plural, ns, name))
                return 200, obj
            if m == "PUT":
                obj = self.body_json(raw)
                if not isinstance(obj, dict):
                    raise ValueError("object must be a JSON object")
                obj.setdefault("metadata", {})["name"] = name
                return 200, store.load(rt, obj, ns or None)
            if m == "PATCH":
                with store.lock:
                    old = store.get(rt, ns, name)
                    if old is None:
                        raise ApiError(404, "%s %s/%s not found" % (rt.plural, ns, name))
                    new = copy.deepcopy(merge_patch(old, self.body_json(raw)))
                    new["metadata"]["name"] = name
                    return 200, store.load(rt, new, ns or None)
            if m == "DELETE":
                obj = store.delete(rt, ns, name)
                if obj is None:
                    raise ApiError(404, "%s %s/%s not found" % (rt.plural, ns, name))
                return 200, obj
            raise ApiError(405, "method not allowed")
        if head == "faults":
            if m == "GET":
                return 200, {"faults": st.faults.snapshot()}
            if m == "DELETE":
                st.faults.set([])
                return 200, {"faults": []}
            body = self.body_json(raw)
            rules = body.get("faults", body) if isinstance(body, dict) and "kind" not in body \
                else body
            if isinstance(rules, dict):
                rules = [rules]
            if m == "PUT":
                st.faults.set(rules)
            elif m == "POST":
                st.faults.add(rules)
            else:
                raise ApiError(405, "method not allowed")
            return 200, {"faults": st.faults.snapshot()}
        if head == "rbac":
            if m == "GET":
                return 200, {"deny": st.rbac.deny}
            if m == "DELETE":
                st.rbac.set([])
                return 200, {"deny": []}
            if m in ("PUT", "POST"):
                body = self.body_json(raw)
                rules = body.get("deny", []) if isinstance(body, dict) else body
                st.rbac.set(rules)
                return 200, {"deny": st.rbac.deny}
            raise ApiError(405, "method not allowed")
        if head == "log":
            if m == "GET":
                since = int(q.get("since", ["0"])[0])
                entries, n = st.log.read(since)
                return 200, {"entries": entries, "next": n}
            if m == "DELETE":
                st.log.reset()
                return 200, {"entries": [], "next": 0}
            raise ApiError(405, "method not allowed")
        if head == "settings":
            if m in ("PUT", "PATCH", "POST"):
                st.apply_settings(self.body_json(raw))
            return 200, st.settings()
        if head == "compact" and m == "POST":
            with store.lock:
                store.compacted_rv = store.rv
                store.next_rv()
            return 200, {"compactedResourceVersion": str(store.compacted_rv)}
        if head == "reset" and m == "POST":
            store.clear()
            st.faults.set([])
            st.rbac.set([])
            return 200, {"ok": True}
        if head == "dump" and m == "GET":
            out = {"kind": "WVASnapshot", "version": 1, "capturedAt": now_rfc3339()}
            with store.lock:
                for key, plural in SNAPSHOT_KEYS.items():
                    rt = BY_PLURAL[plural]
                    out[key] = {"kind": rt.list_kind, "apiVersion": rt.api_version,
                                "metadata": {"resourceVersion": str(store.rv)},
                                "items": [o for _, o in sorted(store.table(rt).objs.items())]}
            return 200, out
        raise ApiError(404, "unknown admin path %s" % split.path)


class AdminServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, verbose):
        self.state = state
        self.verbose = verbose
        super().__init__(addr, AdminHandler)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--admin-port", type=int, default=0)
    ap.add_argument("--token", default=None, help="bearer token (random when absent)")
    ap.add_argument("--user", default=DEFAULT_USER, help="user name the token maps to")
    ap.add_argument("--auth", choices=("both", "token", "cert"), default="both",
                    help="both: token or client cert; token: no client certs asked; "
                         "cert: the TLS handshake requires a client cert")
    ap.add_argument("--init", default=None, help="JSON file: snapshot, List or object")
    ap.add_argument("--synthetic", type=int, default=0,
                    help="also load N synthetic VAs with Deployments, ReplicaSets, 3 pods each")
    ap.add_argument("--ready-file", default=None)
    ap.add_argument("--sync-deployment-status", action="store_true",
                    help="keep Deployment status replicas equal to spec.replicas")
    ap.add_argument("--no-gzip", action="store_true")
    ap.add_argument("--key-type", choices=("ec", "rsa"), default="ec")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.token is None:
        args.token = secrets.token_urlsafe(24)

    d = os.path.abspath(args.state_dir)
    os.makedirs(d, exist_ok=True)
    ready_file = os.path.abspath(args.ready_file or os.path.join(d, "kubeapi.ready.json"))
    try:
        os.unlink(ready_file)
    except FileNotFoundError:
        pass
    certs = make_certs(d, args.key_type)

    state = State(args)
    state.log = RequestLog(os.path.join(d, "requests.jsonl"))
    gc.disable()
    if args.init:
        with open(args.init) as f:
            load_document(state.store, json.load(f))
    if args.synthetic:
        load_document(state.store, synthetic_state(args.synthetic))
    # Stored objects live for the whole run; keeping them out of the cyclic GC's
    # scans avoids 40+ ms pauses on big states.
    state.store.prewarm()
    gc.collect()
    gc.freeze()
    gc.enable()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs["server.crt"], certs["server.key"])
    if args.auth != "token":
        ctx.load_verify_locations(certs["ca.crt"])
        ctx.verify_mode = ssl.CERT_REQUIRED if args.auth == "cert" else ssl.CERT_OPTIONAL
    api = ApiServer(("127.0.0.1", args.port), state, ctx, args.auth, args.verbose)
    admin = AdminServer(("127.0.0.1", args.admin_port), state, args.verbose)
    port = api.server_address[1]
    admin_port = admin.server_address[1]
    kc = write_kubeconfigs(d, port, args.token, certs)
    state.ready = {"pid": os.getpid(), "port": port, "admin_port": admin_port,
                   "url": "https://127.0.0.1:%d" % port,
                   "admin_url": "http://127.0.0.1:%d" % admin_port,
                   "ca": certs["ca.crt"], "client_cert": certs["client.crt"],
                   "client_key": certs["client.key"], "client_user": CLIENT_CERT_CN,
                   "token": args.token, "token_file": kc["token_file"], "user": args.user,
                   "kubeconfig": kc["kubeconfig"], "kubeconfig_cert": kc["kubeconfig-cert"],
                   "kubeconfig_tokenfile": kc["kubeconfig-tokenfile"],
                   "log": state.log.path, "state_dir": d, "auth": args.auth}

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                                daemon=True) for srv in (api, admin)]
    for t in threads:
        t.start()
    tmp = ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state.ready, f, indent=1)
    os.chmod(tmp, 0o600)
    os.replace(tmp, ready_file)
    print(json.dumps({"port": port, "admin_port": admin_port, "ready_file": ready_file}),
          flush=True)
    while not stop.wait(0.5):
        pass
    for srv in (api, admin):
        srv.shutdown()
        srv.server_close()
    try:
        os.unlink(ready_file)
    except FileNotFoundError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
