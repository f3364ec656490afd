#!/usr/bin/env python3
"""Tests of the Kubernetes manifests under cronjob/ and their Containerfile.

- Every YAML document parses and names itself; kustomization.yaml lists every
  manifest; the kustomize build (emulated here, and compared with
  `kubectl kustomize` when kubectl is installed) gives the expected objects.
- The CRD: names, printer columns, status subresource, a structural OpenAPI
  schema that accepts the examples under cronjob/examples/ and rejects bad
  VAs (a small OpenAPI v3 validator below, for exactly the keywords the CRD
  uses: the test fails if the CRD starts using another one).
- The CronJob: schedule, deadlines, history, security context, resources,
  volumes; its env names are settings of SPEC section 3 and of `--help`.
- RBAC, derived from the program's real requests: the real binary (WVA_BIN)
  runs with the CronJob's args and env against the Kubernetes API test server
  (tests/servers/kubeapi.py) and a real Prometheus: a scale-up (with a 409 on
  the first scale patch), a scale-down in a watch namespace, limited mode,
  TargetNotFound, the scheduled run of the CronJob itself (Lease create and
  update), and `doctor`.  Every request in the server's log must be allowed
  by the manifests' RBAC rules (Kubernetes RBAC matching implemented below);
  every granted verb must be used by some run (least privilege); nodes are
  listed in the limited-mode run only.  The VAs the program wrote must still
  validate against the CRD schema (a real API server would refuse the write).
  The permissions `doctor` asks about (SelfSubjectAccessReviews) must be the
  ones granted.
- The Containerfile: its runtime packages are exactly the Debian packages of
  the built binary's shared libraries (readelf + ldd + dpkg -S); its build
  stage installs the build packages of scripts/install-deps.sh.

YAML is parsed with PyYAML (Debian package python3-yaml).

Run: WVA_BIN=build-test/wva-optimizer python3 tests/manifests/test_manifests.py [-v]
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CRONJOB = os.path.join(TOP, "cronjob")
LIMITED_COMPONENT = os.path.join(CRONJOB, "components", "limited-mode")
SYSTEM_NS = "workload-variant-autoscaler-system"
SERVICE_ACCOUNT = (SYSTEM_NS, "wva-optimizer")


def default_bin():
    for cand in (os.path.join(TOP, "build-test", "wva-optimizer"),
                 os.path.join(TOP, "wva-optimizer")):
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(TOP, "wva-optimizer")


BIN = os.environ.get("WVA_BIN") or default_bin()

# SPEC section 3: the settings read from the environment (and, except the
# first two and the secret token, from the main ConfigMap).
SPEC_ENV = {
    "PROMETHEUS_BASE_URL", "PROMETHEUS_BEARER_TOKEN", "PROMETHEUS_TOKEN_PATH",
    "PROMETHEUS_CA_CERT_PATH", "PROMETHEUS_CLIENT_CERT_PATH", "PROMETHEUS_CLIENT_KEY_PATH",
    "PROMETHEUS_SERVER_NAME", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", "WATCH_NAMESPACE",
    "CONTROLLER_INSTANCE", "POD_NAMESPACE", "CONFIG_MAP_NAME", "GLOBAL_OPT_ENABLE",
    "GLOBAL_OPT_INTERVAL", "WVA_SCALE_TO_ZERO", "WVA_LIMITED_MODE", "WVA_HISTORY",
    "WVA_PUSHGATEWAY_URL",
}
NOT_IN_CONFIGMAP = {"POD_NAMESPACE", "CONFIG_MAP_NAME", "PROMETHEUS_BEARER_TOKEN"}


# ---------------------------------------------------------------------------
# YAML and kustomize
# ---------------------------------------------------------------------------

def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def manifest_files():
    """Every YAML file under cronjob/ except kustomization files."""
    out = []
    for root, _, files in os.walk(CRONJOB):
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml":
                out.append(os.path.join(root, f))
    return sorted(out)


CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole",
                  "ClusterRoleBinding", "Node", "PersistentVolume", "StorageClass"}
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "resources", "components", "patches"}


def obj_key(o):
    md = o.get("metadata", {})
    return (o.get("kind"), md.get("namespace") or "", md.get("name"))


def deep_merge(base, patch):
    """Strategic merge as far as these manifests need it: maps merge, the
    rest (scalars, lists) replaces."""
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def kustomize(directory, extra_components=()):
    """Emulate `kustomize build` for the features used by cronjob/ (the test
    fails on any other kustomization field rather than ignore it)."""
    kfile = os.path.join(directory, "kustomization.yaml")
    with open(kfile) as f:
        k = yaml.safe_load(f)
    unknown = set(k) - KUSTOMIZATION_KEYS
    if unknown:
        raise AssertionError("%s: fields the test's kustomize emulation does not know: %s"
                             % (kfile, sorted(unknown)))
    objs = []
    for res in k.get("resources", []):
        p = os.path.join(directory, res)
        objs.extend(kustomize(p) if os.path.isdir(p) else load_docs(p))
    for comp in list(k.get("components", [])) + list(extra_components):
        cdir = os.path.join(directory, comp)
        with open(os.path.join(cdir, "kustomization.yaml")) as f:
            ck = yaml.safe_load(f)
        if ck.get("kind") != "Component" or set(ck) - KUSTOMIZATION_KEYS:
            raise AssertionError("%s: not a Component the emulation handles" % cdir)
        for res in ck.get("resources", []):
            objs.extend(load_docs(os.path.join(cdir, res)))
        for patch in ck.get("patches", []):
            for pdoc in load_docs(os.path.join(cdir, patch["path"])):
                target = [o for o in objs if o["kind"] == pdoc["kind"]
                          and o["metadata"]["name"] == pdoc["metadata"]["name"]]
                if len(target) != 1:
                    raise AssertionError("patch %s matches %d objects"
                                         % (patch["path"], len(target)))
                deep_merge(target[0], pdoc)
    if "namespace" in k:
        for o in objs:
            if o["kind"] not in CLUSTER_SCOPED:
                o.setdefault("metadata", {})["namespace"] = k["namespace"]
    return objs


def find(objs, kind, name=None):
    out = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    return out


BASE = kustomize(CRONJOB)
LIMITED = kustomize(CRONJOB, [os.path.relpath(LIMITED_COMPONENT, CRONJOB)])


# ---------------------------------------------------------------------------
# A minimal OpenAPI v3 (structural schema) validator
# ---------------------------------------------------------------------------

SCHEMA_KEYWORDS = {"type", "description", "properties", "required", "items", "pattern",
                   "minimum", "exclusiveMinimum", "maxLength", "minLength", "maxItems",
                   "enum", "default", "format", "x-kubernetes-list-type",
                   "x-kubernetes-list-map-keys"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def schema_validate(schema, value, path="", errors=None):
    """Returns the list of validation errors (empty = valid).  Unknown object
    fields are errors too (the API server would prune them silently, which
    hides typos)."""
    errors = [] if errors is None else errors
    t = schema.get("type")
    if not TYPES[t](value):
        errors.append("%s: %r is not of type %s" % (path or ".", value, t))
        return errors
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (path, value, schema["enum"]))
    if t == "string":
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append("%s: %r does not match %s" % (path, value, schema["pattern"]))
        if len(value) < schema.get("minLength", 0):
            errors.append("%s: %r is shorter than %d" % (path, value, schema["minLength"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append("%s: longer than %d" % (path, schema["maxLength"]))
        if schema.get("format") == "date-time" and not RFC3339.match(value):
            errors.append("%s: %r is not an RFC 3339 date-time" % (path, value))
    if t in ("integer", "number"):
        if "minimum" in schema:
            if schema.get("exclusiveMinimum") and value <= schema["minimum"]:
                errors.append("%s: %r is not > %r" % (path, value, schema["minimum"]))
            elif value < schema["minimum"]:
                errors.append("%s: %r is < %r" % (path, value, schema["minimum"]))
        fmt = schema.get("format")
        if fmt == "int32" and not -2**31 <= value < 2**31:
            errors.append("%s: %r does not fit int32" % (path, value))
    if t == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append("%s: more than %d items" % (path, schema["maxItems"]))
        for i, item in enumerate(value):
            schema_validate(schema["items"], item, "%s[%d]" % (path, i), errors)
        if schema.get("x-kubernetes-list-type") == "map":
            keys = [tuple(item.get(k) for k in schema["x-kubernetes-list-map-keys"])
                    for item in value if isinstance(item, dict)]
            if len(keys) != len(set(keys)):
                errors.append("%s: duplicate list-map keys %s" % (path, keys))
    if t == "object" and "properties" in schema:
        for req in schema.get("required", []):
            if req not in value:
                errors.append("%s: required field %s is missing" % (path, req))
        for k, v in value.items():
            if k not in schema["properties"]:
                errors.append("%s.%s: unknown field" % (path, k))
            else:
                schema_validate(schema["properties"][k], v, "%s.%s" % (path, k), errors)
    return errors


def schema_default(schema, value):
    """Apply defaults as the API server does on create."""
    if schema.get("type") == "object" and isinstance(value, dict):
        for k, sub in schema.get("properties", {}).items():
            if k not in value and "default" in sub:
                value[k] = copy.deepcopy(sub["default"])
            if k in value:
                schema_default(sub, value[k])
    elif schema.get("type") == "array" and isinstance(value, list):
        for item in value:
            schema_default(schema["items"], item)
    return value


def schema_nodes(schema, path="."):
    yield path, schema
    for k, sub in schema.get("properties", {}).items():
        yield from schema_nodes(sub, path + "." + k)
    if "items" in schema:
        yield from schema_nodes(schema["items"], path + "[]")


def crd_version(objs=BASE):
    crd = find(objs, "CustomResourceDefinition", "variantautoscalings.llmd.ai")[0]
    return crd, crd["spec"]["versions"][0]


def va_schema():
    return crd_version()[1]["schema"]["openAPIV3Schema"]


def validate_va(va):
    """Default then validate a VA as the API server would on create."""
    schema = va_schema()
    obj = schema_default(schema, copy.deepcopy(va))
    return schema_validate(schema, obj), obj


def json_path(obj, expr):
    """kubectl's printer-column JSONPath, for the two forms the CRD uses:
    .a.b.c and .a.list[?(@.k=="v")].f"""
    cur = [obj]
    for part in re.findall(r'\.([A-Za-z0-9_]+)(\[\?\(@\.(\w+)=="([^"]*)"\)\])?', expr):
        field, flt, fk, fv = part
        nxt = []
        for c in cur:
            if isinstance(c, dict) and field in c:
                v = c[field]
                if flt:
                    nxt.extend(i for i in v if isinstance(i, dict) and i.get(fk) == fv)
                else:
                    nxt.append(v)
        cur = nxt
    return cur[0] if cur else None


# ---------------------------------------------------------------------------
# Kubernetes RBAC
# ---------------------------------------------------------------------------

# Default ClusterRoles every authenticated user has (system:basic-user,
# system:discovery, system:public-info-viewer).
BOOTSTRAP_RULES = [
    {"apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
    {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                         "/readyz", "/version", "/version/", "/openapi", "/openapi/*"],
     "verbs": ["get"]},
]


def request_attributes(method, path, query=""):
    """Kubernetes RequestInfo for an API path: verb, group, resource,
    subresource, namespace, name; nonresource for other paths."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        rest = None
    if rest is None or not rest:
        return {"nonresource": True, "path": path, "verb": method.lower()}
    a = {"nonresource": False, "group": group, "namespace": "", "name": "",
         "subresource": ""}
    if rest[0] == "namespaces" and len(rest) >= 3:
        a["namespace"], rest = rest[1], rest[2:]
    a["resource"] = rest[0]
    if len(rest) > 1:
        a["name"] = rest[1]
        if rest[0] == "namespaces":
            a["namespace"] = rest[1]   # GET /api/v1/namespaces/NS is in NS
    if len(rest) > 2:
        a["subresource"] = rest[2]
    if method in ("GET", "HEAD"):
        a["verb"] = "get" if a["name"] else (
            "watch" if re.search(r"(^|&)watch=(true|1)", query or "") else "list")
    else:
        a["verb"] = {"POST": "create", "PUT": "update", "PATCH": "patch",
                     "DELETE": "delete" if a["name"] else "deletecollection"}[method]
    return a


def rule_allows(rule, a):
    verbs = rule.get("verbs", [])
    if "*" not in verbs and a["verb"] not in verbs:
        return False
    if a["nonresource"]:
        for u in rule.get("nonResourceURLs", []):
            if u == a["path"] or (u.endswith("*") and a["path"].startswith(u[:-1])):
                return True
        return False
    if "nonResourceURLs" in rule:
        return False
    groups = rule.get("apiGroups", [])
    if "*" not in groups and a["group"] not in groups:
        return False
    res = a["resource"] + ("/" + a["subresource"] if a["subresource"] else "")
    resources = rule.get("resources", [])
    if not ("*" in resources or res in resources
            or (a["subresource"] and "*/" + a["subresource"] in resources)):
        return False
    names = rule.get("resourceNames")
    if names and a["name"] not in names:
        return False
    return True


class Rbac:
    """The grants of the manifests' Roles and ClusterRoles bound to one
    ServiceAccount: [(namespace or None for cluster-wide, rule, origin)]."""

    def __init__(self, objs, sa=SERVICE_ACCOUNT):
        roles = {}
        for o in objs:
            if o["kind"] in ("Role", "ClusterRole"):
                roles[(o["kind"], o["metadata"].get("namespace") if o["kind"] == "Role" else None,
                       o["metadata"]["name"])] = o.get("rules", [])
        self.grants = []
        self.problems = []
        for o in objs:
            if o["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            subjects = [(s.get("namespace"), s["name"]) for s in o.get("subjects", [])
                        if s.get("kind") == "ServiceAccount"]
            if sa not in subjects:
                continue
            ref = o["roleRef"]
            bns = o["metadata"].get("namespace") if o["kind"] == "RoleBinding" else None
            key = (ref["kind"], bns if ref["kind"] == "Role" else None, ref["name"])
            if ref.get("apiGroup") != "rbac.authorization.k8s.io" or key not in roles:
                self.problems.append("%s %s: roleRef %s not found" % (o["kind"],
                                     o["metadata"]["name"], key))
                continue
            origin = "%s %s" % (ref["kind"], ref["name"])
            for rule in roles[key]:
                self.grants.append((bns, rule, origin))

    def matching(self, a):
        """Grants allowing request a (a list; empty = forbidden)."""
        out = []
        for ns, rule, origin in self.grants:
            if ns is not None and (a["nonresource"] or a["namespace"] != ns):
                continue
            if rule_allows(rule, a):
                out.append((ns, rule, origin))
        return out

    def allowed(self, a):
        return bool(self.matching(a)) or any(rule_allows(r, a) for r in BOOTSTRAP_RULES)

    def permissions(self):
        """Every (origin, group, resource, verb, resourceName) granted."""
        out = set()
        for ns, rule, origin in self.grants:
            for g in rule.get("apiGroups", []):
                for r in rule.get("resources", []):
                    for v in rule["verbs"]:
                        for n in rule.get("resourceNames") or [None]:
                            out.add((origin, g, r, v, n))
        return out




def permission_of(grant, a):
    _, rule, origin = grant
    res = a["resource"] + ("/" + a["subresource"] if a["subresource"] else "")
    return (origin, a["group"], res, a["verb"], a["name"] if rule.get("resourceNames") else None)


# ---------------------------------------------------------------------------
# Static tests
# ---------------------------------------------------------------------------

class ManifestsParse(unittest.TestCase):
    def test_every_document_parses_and_names_itself(self):
        files = manifest_files()
        self.assertGreaterEqual(len(files), 8)
        for path in files:
            docs = load_docs(path)
            self.assertTrue(docs, path)
            for d in docs:
                rel = os.path.relpath(path, TOP)
                self.assertIsInstance(d, dict, rel)
                for field in ("apiVersion", "kind"):
                    self.assertIsInstance(d.get(field), str, "%s: %s" % (rel, field))
                self.assertIsInstance(d.get("metadata", {}).get("name"), str, rel)

    def test_kustomization_lists_every_manifest(self):
        with open(os.path.join(CRONJOB, "kustomization.yaml")) as f:
            k = yaml.safe_load(f)
        self.assertEqual(k["namespace"], SYSTEM_NS)
        listed = {os.path.join(CRONJOB, r) for r in k["resources"]}
        for path in manifest_files():
            if os.sep + "examples" + os.sep in path or os.sep + "components" + os.sep in path:
                continue
            self.assertIn(path, listed, "not in kustomization.yaml")
        self.assertNotIn("components", k, "limited mode is opt-in")

    def test_build_objects(self):
        keys = [obj_key(o) for o in BASE]
        self.assertEqual(len(keys), len(set(keys)), "duplicate objects")
        kinds = sorted(k for k, _, _ in keys)
        self.assertEqual(kinds, sorted([
            "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
            "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "ConfigMap", "ConfigMap",
            "PersistentVolumeClaim", "CronJob"]))
        for o in BASE:
            # Written in every file, so kustomize's namespace field is a no-op
            # and `kubectl apply -f` of one file works as well.
            if o["kind"] not in CLUSTER_SCOPED:
                self.assertEqual(o["metadata"]["namespace"], SYSTEM_NS, obj_key(o))
        self.assertEqual(find(BASE, "Namespace")[0]["metadata"]["name"], SYSTEM_NS)
        extra = sorted(obj_key(o) for o in LIMITED if obj_key(o) not in set(keys))
        self.assertEqual(extra, [("ClusterRole", "", "wva-optimizer-nodes"),
                                 ("ClusterRoleBinding", "", "wva-optimizer-nodes")])
        main = find(LIMITED, "ConfigMap", "wva-variantautoscaling-config")[0]
        self.assertEqual(main["data"]["WVA_LIMITED_MODE"], "true")
        self.assertEqual(find(BASE, "ConfigMap", "wva-variantautoscaling-config")[0]
                         ["data"]["WVA_LIMITED_MODE"], "false")

    def test_emulation_matches_kubectl_kustomize(self):
        """The test's kustomize emulation against the real one, when kubectl
        is installed (it is not a Debian build dependency)."""
        kubectl = shutil.which("kubectl")
        if not kubectl:
            print("note: kubectl not installed; kustomize emulation not cross-checked",
                  file=sys.stderr)
            return
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                yaml.safe_dump({"resources": [os.path.relpath(CRONJOB, d)],
                                "components": [os.path.relpath(LIMITED_COMPONENT, d)]}, f)
            for directory, expect in ((CRONJOB, BASE), (d, LIMITED)):
                p = subprocess.run([kubectl, "kustomize", directory], capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
                real = sorted((d for d in yaml.safe_load_all(p.stdout) if d), key=obj_key)
                self.assertEqual(real, sorted(expect, key=obj_key))

    def test_labels(self):
        for o in BASE:
            labels = o["metadata"].get("labels", {})
            self.assertEqual(labels.get("app.kubernetes.io/part-of"),
                             "workload-variant-autoscaler", obj_key(o))


class Crd(unittest.TestCase):
    def test_names_and_version(self):
        crd, ver = crd_version()
        spec = crd["spec"]
        self.assertEqual(spec["group"], "llmd.ai")
        self.assertEqual(spec["scope"], "Namespaced")
        self.assertEqual(spec["names"]["plural"], "variantautoscalings")
        self.assertEqual(spec["names"]["kind"], "VariantAutoscaling")
        self.assertEqual(spec["names"]["shortNames"], ["va"])
        self.assertEqual(crd["metadata"]["name"], "variantautoscalings.llmd.ai")
        self.assertEqual(len(spec["versions"]), 1)
        self.assertEqual((ver["name"], ver["served"], ver["storage"]), ("v1alpha1", True, True))
        self.assertEqual(ver["subresources"], {"status": {}})

    def test_printer_columns(self):
        cols = [(c["name"], c["type"], c["jsonPath"])
                for c in crd_version()[1]["additionalPrinterColumns"]]
        self.assertEqual(cols, [
            ("Target", "string", ".spec.scaleTargetRef.name"),
            ("Model", "string", ".spec.modelID"),
            ("Optimized", "integer", ".status.desiredOptimizedAlloc.numReplicas"),
            ("MetricsReady", "string", '.status.conditions[?(@.type=="MetricsAvailable")].status'),
            ("Age", "date", ".metadata.creationTimestamp")])

    def test_schema_is_structural_and_uses_known_keywords(self):
        schema = va_schema()
        for path, node in schema_nodes(schema):
            self.assertIn(node.get("type"), TYPES, "%s has no type" % path)
            unknown = set(node) - SCHEMA_KEYWORDS
            self.assertFalse(unknown, "%s: keywords this test does not validate: %s"
                             % (path, unknown))
            for req in node.get("required", []):
                self.assertIn(req, node.get("properties", {}), path)
            if "default" in node:
                self.assertEqual(schema_validate(node, node["default"], path), [], path)
            if node.get("type") == "array":
                self.assertIn("items", node, path)
        self.assertEqual(schema["properties"]["metadata"], {"type": "object"})
        spec = schema["properties"]["spec"]["properties"]
        self.assertEqual(set(spec), {"scaleTargetRef", "modelID", "variantCost", "minReplicas",
                                     "maxReplicas", "priority", "metrics"})
        self.assertEqual(spec["variantCost"]["default"], "10.0")
        self.assertEqual(spec["variantCost"]["pattern"], r"^\d+(\.\d+)?$")
        status = schema["properties"]["status"]["properties"]
        self.assertEqual(set(status), {"desiredOptimizedAlloc", "actuation", "conditions"})
        self.assertEqual(set(status["desiredOptimizedAlloc"]["properties"]),
                         {"numReplicas", "accelerator", "lastRunTime"})

    def test_examples_validate(self):
        examples = [d for p in sorted(os.listdir(os.path.join(CRONJOB, "examples")))
                    for d in load_docs(os.path.join(CRONJOB, "examples", p))]
        self.assertGreaterEqual(len(examples), 3)
        for va in examples:
            self.assertEqual((va["apiVersion"], va["kind"]), ("llmd.ai/v1alpha1",
                                                             "VariantAutoscaling"))
            errors, obj = validate_va(va)
            self.assertEqual(errors, [], va["metadata"]["name"])
            self.assertRegex(obj["spec"]["variantCost"], r"^\d+(\.\d+)?$")
        minimal = [v for v in examples if "variantCost" not in v["spec"]]
        self.assertTrue(minimal, "an example relies on the variantCost default")
        self.assertEqual(validate_va(minimal[0])[1]["spec"]["variantCost"], "10.0")

    def bad(self, mutate, expect):
        va = {"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
              "metadata": {"name": "v", "namespace": "n"},
              "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "modelID": "m",
                       "variantCost": "12.5"}}
        self.assertEqual(validate_va(va)[0], [])
        mutate(va["spec"])
        errors = validate_va(va)[0]
        self.assertTrue(any(expect in e for e in errors), errors)

    def test_rejects_bad_vas(self):
        for cost in ("ten", "1.", "-1", ".5", "1.5e3", " 10"):
            with self.subTest(variantCost=cost):
                self.bad(lambda s, c=cost: s.update(variantCost=c), "does not match")
        with self.subTest("number, not a string"):
            self.bad(lambda s: s.update(variantCost=10), "not of type string")
        with self.subTest("no modelID"):
            self.bad(lambda s: s.pop("modelID"), "required field modelID")
        with self.subTest("empty modelID"):
            self.bad(lambda s: s.update(modelID=""), "shorter than")
        with self.subTest("no target name"):
            self.bad(lambda s: s["scaleTargetRef"].pop("name"), "required field name")
        with self.subTest("negative minReplicas"):
            self.bad(lambda s: s.update(minReplicas=-1), "is < 0")
        with self.subTest("string maxReplicas"):
            self.bad(lambda s: s.update(maxReplicas="3"), "not of type integer")
        with self.subTest("metric name with PromQL in it"):
            self.bad(lambda s: s.update(metrics=[{"name": 'x{a="b"}', "target": 1}]),
                     "does not match")
        with self.subTest("zero metric target"):
            self.bad(lambda s: s.update(metrics=[{"name": "vllm:x", "target": 0}]), "is not > 0")
        with self.subTest("typo"):
            self.bad(lambda s: s.update(maxReplica=3), "unknown field")

    def test_status_shape(self):
        va = {"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
              "metadata": {"name": "v", "creationTimestamp": "2026-01-01T00:00:00Z"},
              "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "modelID": "m"},
              "status": {"desiredOptimizedAlloc": {"numReplicas": 3, "accelerator": "L4",
                                                   "lastRunTime": "2026-11-27T10:00:00Z"},
                         "actuation": {"applied": True},
                         "conditions": [{"type": "MetricsAvailable", "status": "True",
                                         "reason": "MetricsFound", "message": "",
                                         "lastTransitionTime": "2026-11-27T10:00:00Z"}]}}
        self.assertEqual(validate_va(va)[0], [])
        cols = {c["name"]: json_path(va, c["jsonPath"])
                for c in crd_version()[1]["additionalPrinterColumns"]}
        self.assertEqual(cols, {"Target": "d", "Model": "m", "Optimized": 3,
                                "MetricsReady": "True", "Age": "2026-01-01T00:00:00Z"})
        broken = copy.deepcopy(va)
        broken["status"]["conditions"][0]["status"] = "true"
        broken["status"]["conditions"].append(dict(va["status"]["conditions"][0]))
        del broken["status"]["conditions"][1]["reason"]
        errors = validate_va(broken)[0]
        self.assertTrue(any("is not one of" in e for e in errors), errors)
        self.assertTrue(any("required field reason" in e for e in errors), errors)
        self.assertTrue(any("duplicate list-map keys" in e for e in errors), errors)
        broken = copy.deepcopy(va)
        broken["status"]["desiredOptimizedAlloc"]["lastRunTime"] = "yesterday"
        self.assertIn("RFC 3339", " ".join(validate_va(broken)[0]))


def cronjob_container(objs=BASE):
    cj = find(objs, "CronJob", "wva-optimizer")[0]
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return cj, pod, pod["containers"][0]


def help_settings():
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return set(re.findall(r"^  ([A-Z][A-Z0-9_]+) ", p.stdout, re.M))


class CronJobSpec(unittest.TestCase):
    def test_schedule_and_job_policy(self):
        cj, pod, _ = cronjob_container()
        spec, job = cj["spec"], cj["spec"]["jobTemplate"]["spec"]
        self.assertEqual(cj["apiVersion"], "batch/v1")
        self.assertEqual(spec["schedule"], "*/1 * * * *")
        self.assertEqual(spec["concurrencyPolicy"], "Forbid")
        self.assertEqual(spec["startingDeadlineSeconds"], 30)
        self.assertEqual((spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]),
                         (3, 3))
        self.assertEqual(job["backoffLimit"], 0)
        self.assertLess(job["activeDeadlineSeconds"], 60, "below the one-minute period")
        self.assertEqual(job["activeDeadlineSeconds"], 50)
        self.assertGreater(job["ttlSecondsAfterFinished"], 0)
        self.assertEqual(pod["restartPolicy"], "Never")
        self.assertEqual(pod["serviceAccountName"], "wva-optimizer")
        self.assertTrue(find(BASE, "ServiceAccount", "wva-optimizer"))

    def test_run_deadline_below_active_deadline(self):
        """The program stops starting writes at WVA_RUN_DEADLINE; the Job
        kills the pod at activeDeadlineSeconds, which must come later."""
        cj, _, c = cronjob_container()
        env = {e["name"]: e.get("value") for e in c["env"]}
        p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
        m = re.search(r"^  WVA_RUN_DEADLINE .*\(default (\d+)s\)", p.stdout, re.M)
        self.assertTrue(m, "--help documents WVA_RUN_DEADLINE with its default")
        deadline = int(m.group(1))
        if "WVA_RUN_DEADLINE" in env:
            deadline = int(re.fullmatch(r"(\d+)s", env["WVA_RUN_DEADLINE"]).group(1))
        self.assertLess(deadline, cj["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"])

    def test_security_context_and_resources(self):
        _, pod, c = cronjob_container()
        psc, csc = pod["securityContext"], c["securityContext"]
        self.assertIs(psc["runAsNonRoot"], True)
        self.assertEqual((psc["runAsUser"], psc["fsGroup"]), (65532, 65532))
        self.assertEqual(psc["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertIs(csc["readOnlyRootFilesystem"], True)
        self.assertIs(csc["allowPrivilegeEscalation"], False)
        self.assertEqual(csc["capabilities"], {"drop": ["ALL"]})
        self.assertNotIn("privileged", csc)
        self.assertEqual(c["resources"], {"requests": {"cpu": "100m", "memory": "128Mi"},
                                          "limits": {"cpu": "1", "memory": "512Mi"}})

    def test_volumes(self):
        _, pod, c = cronjob_container()
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        self.assertEqual(set(mounts.values()), set(volumes))
        self.assertIn("emptyDir", volumes[mounts["/tmp"]], "/tmp on a read-only root")
        env = {e["name"]: e for e in c["env"]}
        dsn = env["WVA_HISTORY"]["value"]
        self.assertEqual(dsn, "sqlite:/var/lib/wva-optimizer/history.db")
        path = dsn.split(":", 1)[1]
        mount = [m for m in mounts if path.startswith(m.rstrip("/") + "/")]
        self.assertEqual(mount, ["/var/lib/wva-optimizer"], "history on a mounted volume")
        claim = volumes[mounts[mount[0]]]["persistentVolumeClaim"]["claimName"]
        pvc = find(BASE, "PersistentVolumeClaim", claim)
        self.assertTrue(pvc, "history survives the pod: a PVC")
        self.assertEqual(pvc[0]["spec"]["accessModes"], ["ReadWriteOnce"])

    def test_env_names_are_settings(self):
        _, _, c = cronjob_container()
        names = [e["name"] for e in c["env"]]
        self.assertEqual(len(names), len(set(names)))
        known = help_settings()
        self.assertTrue(SPEC_ENV <= known, "--help lists every SPEC section 3 variable: %s"
                        % sorted(SPEC_ENV - known))
        for n in names:
            self.assertIn(n, SPEC_ENV, "not a SPEC section 3 setting")
        pod_ns = [e for e in c["env"] if e["name"] == "POD_NAMESPACE"][0]
        self.assertEqual(pod_ns["valueFrom"], {"fieldRef": {"fieldPath": "metadata.namespace"}})

    def test_configmap_keys_are_settings(self):
        main = find(BASE, "ConfigMap", "wva-variantautoscaling-config")[0]
        for k, v in main["data"].items():
            self.assertIn(k, SPEC_ENV - NOT_IN_CONFIGMAP)
            self.assertIsInstance(v, str, k)
        self.assertEqual(main["data"]["GLOBAL_OPT_INTERVAL"], "60s")
        self.assertEqual(main["data"]["GLOBAL_OPT_ENABLE"], "true")
        self.assertRegex(main["data"]["PROMETHEUS_BASE_URL"], r"^https://")
        sat = yaml.safe_load(find(BASE, "ConfigMap", "wva-saturation-config")[0]["data"]["default"])
        self.assertEqual(sat, {"kvCacheThreshold": 0.80, "queueLengthThreshold": 5,
                               "kvSpareTrigger": 0.10, "queueSpareTrigger": 3,
                               "scaleDownStabilizationWindow": "5m", "maxScaleUpPerRun": 0})
        stz = yaml.safe_load(find(BASE, "ConfigMap", "wva-scale-to-zero-config")[0]
                             ["data"]["default"])
        self.assertNotIn("enable_scale_to_zero", stz, "WVA_SCALE_TO_ZERO stays the switch")

    def test_image_tag_is_the_package_version(self):
        _, _, c = cronjob_container()
        with open(os.path.join(TOP, "configure.ac")) as f:
            version = re.search(r"AC_INIT\(\[[^]]*\],\s*\[([^]]*)\]", f.read()).group(1)
        self.assertEqual(c["image"], "wva-optimizer:" + version)
        self.assertNotIn("command", c, "the image's ENTRYPOINT runs the program")


# ---------------------------------------------------------------------------
# Containerfile
# ---------------------------------------------------------------------------

def containerfile_stages():
    with open(os.path.join(CRONJOB, "Containerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        if instr.upper() == "FROM":
            stages.append({"from": rest.strip(), "packages": [], "lines": []})
            continue
        stages[-1]["lines"].append((instr.upper(), rest.strip()))
        if instr.upper() == "RUN":
            for cmd in re.split(r"&&|;", rest):
                words = cmd.split()
                if "apt-get" in words and "install" in words:
                    stages[-1]["packages"] += [w for w in words[words.index("install") + 1:]
                                               if not w.startswith("-")]
    return stages


# Packages present in every Debian image, and the sanitizer runtimes of a
# test build (not linked by a release build).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1"}
SANITIZER_PACKAGES = re.compile(r"^lib(asan|ubsan|lsan|tsan)\d+$")


def binary_packages(path):
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]",
                        subprocess.run(["readelf", "-d", path], capture_output=True, text=True,
                                       check=True).stdout)
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    where = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    pkgs = {}
    for so in needed:
        lib = where[so]
        candidates = [lib, os.path.realpath(lib)]
        candidates += ["/usr" + c for c in candidates if not c.startswith("/usr/")]
        for cand in candidates:
            p = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if p.returncode == 0:
                pkgs[so] = p.stdout.split(":")[0].strip()
                break
        else:
            raise AssertionError("no Debian package owns %s (%s)" % (so, lib))
    return pkgs


class Containerfile(unittest.TestCase):
    def test_two_debian_stages(self):
        stages = containerfile_stages()
        self.assertEqual([s["from"] for s in stages],
                         ["debian:bookworm-slim AS build", "debian:bookworm-slim"])
        final = dict(stages[1]["lines"])
        self.assertEqual(final["USER"], "65532:65532")
        uid = cronjob_container()[1]["securityContext"]["runAsUser"]
        self.assertEqual(int(final["USER"].split(":")[0]), uid)
        self.assertEqual(json.loads(final["ENTRYPOINT"]), ["/usr/local/bin/wva-optimizer"])
        self.assertIn("--from=build /out/usr/local/bin/wva-optimizer /usr/local/bin/wva-optimizer",
                      final["COPY"])

    def test_build_stage_has_the_build_packages(self):
        with open(os.path.join(TOP, "scripts", "install-deps.sh")) as f:
            m = re.search(r"build_packages=\(([^)]*)\)", f.read())
        self.assertEqual(sorted(containerfile_stages()[0]["packages"]), sorted(m.group(1).split()))

    def test_runtime_packages_cover_the_binary(self):
        needed = binary_packages(BIN)
        self.assertIn("libglpk.so.40", needed)
        required = {p for p in needed.values()
                    if p not in BASE_IMAGE_PACKAGES and not SANITIZER_PACKAGES.match(p)}
        runtime = set(containerfile_stages()[1]["packages"])
        self.assertEqual(sorted(required - runtime), [], "libraries missing from the image")
        # Every runtime package is needed (ca-certificates: https to Prometheus).
        unused = runtime - required - {"ca-certificates"}
        self.assertEqual(sorted(unused), [], "runtime packages the binary does not link")


# ---------------------------------------------------------------------------
# Live: the real binary against the test servers
# ---------------------------------------------------------------------------

sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
import make_scenarios as ms  # noqa: E402
from test_live import Servers  # noqa: E402


def cronjob_invocation(objs, workdir):
    """The container's args and env as the kubelet would give them: fieldRef
    values resolved, paths under volume mounts moved to directories of the
    test (one per volume)."""
    cj, pod, c = cronjob_container(objs)
    mounts = {}
    for m in c.get("volumeMounts", []):
        d = os.path.join(workdir, "vol-" + m["name"])
        os.makedirs(d, exist_ok=True)
        mounts[m["mountPath"]] = d
    env = {}
    for e in c.get("env", []):
        if "value" in e:
            v = e["value"]
            # One pass, longest mount first: a replaced path (under /tmp)
            # must not be rewritten again by another mount's prefix.
            prefixes = {mp.rstrip("/") + "/": d + "/" for mp, d in mounts.items()}
            if prefixes:
                pattern = re.compile("|".join(re.escape(p) for p in
                                              sorted(prefixes, key=len, reverse=True)))
                v = pattern.sub(lambda m: prefixes[m.group(0)], v)
            env[e["name"]] = v
        else:
            ref = e["valueFrom"].get("fieldRef", {}).get("fieldPath")
            values = {"metadata.namespace": cj["metadata"]["namespace"],
                      "metadata.name": "wva-optimizer-28977000-abcde"}
            if ref not in values:
                raise AssertionError("env %s: valueFrom the test cannot resolve: %s"
                                     % (e["name"], e["valueFrom"]))
            env[e["name"]] = values[ref]
    return list(c.get("command", [])) + list(c.get("args", [])), env


class Live(unittest.TestCase):
    """All scenarios run once (setUpClass); the tests check their results."""

    servers = None
    runs = {}            # name -> dict(proc, entries, objs, ...)
    errors = {}          # name -> exception text of a scenario that could not run

    @classmethod
    def setUpClass(cls):
        cls.servers = Servers()
        cls.workdir = tempfile.mkdtemp(prefix="wva-manifests-")
        cls.counter = 0
        try:
            for name in ("scale_up", "scale_down_watch_namespace", "limited_mode",
                         "target_not_found", "cronjob_scheduled", "doctor"):
                try:
                    getattr(cls, "scenario_" + name)()
                except Exception as e:  # reported by the test that needs it
                    cls.errors[name] = "%s: %s" % (type(e).__name__, e)
        except BaseException:
            cls.servers.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.servers:
            cls.servers.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------
    @classmethod
    def fresh(cls, objs):
        """Reset the server; load the manifests' ConfigMaps (Prometheus URL
        pointed at the test Prometheus).  Returns a new namespace name."""
        s = cls.servers
        s.admin("POST", "/reset")
        s.admin("DELETE", "/log")
        s.admin("PUT", "/settings", {"sync_deployment_status": True})
        for cm in find(objs, "ConfigMap"):
            cm = copy.deepcopy(cm)
            if cm["metadata"]["name"] == "wva-variantautoscaling-config":
                cm["data"]["PROMETHEUS_BASE_URL"] = s.prom_url
            s.admin("POST", "/objects", cm)
        cls.counter += 1
        return "mf-%d-%d" % (os.getpid() % 1000, cls.counter)

    @classmethod
    def run_binary(cls, name, objs, extra_args=(), extra_env=None, timeout=60):
        s = cls.servers
        wd = os.path.join(cls.workdir, name)
        os.makedirs(wd, exist_ok=True)
        args, env = cronjob_invocation(objs, wd)
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": wd,
                    "KUBECONFIG": s.kube["kubeconfig"]}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                full_env[k] = os.environ[k]
        full_env.update(env)
        full_env.update(extra_env or {})
        argv = [BIN] + args + list(extra_args)
        p = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout)
        run = {"argv": argv, "env": env, "proc": p, "entries": s.log(), "objs": objs,
               "vas": s.admin("GET", "/objects/variantautoscalings")["items"], "workdir": wd}
        cls.runs[name] = run
        return run

    @classmethod
    def deployment_replicas(cls, ns, name):
        dep = cls.servers.admin("GET", "/objects/deployments/%s/%s" % (ns, name))
        return dep["spec"]["replicas"]

    def need(self, name):
        if name in self.errors:
            self.fail("scenario %s could not run: %s" % (name, self.errors[name]))
        return self.runs[name]

    def assertExit(self, run, code):
        p = run["proc"]
        self.assertEqual(p.returncode, code, "%s\nstdout:\n%s\nstderr:\n%s"
                         % (run["argv"], p.stdout[-2000:], p.stderr[-3000:]))

    # -- scenarios (each in a namespace of its own: Prometheus remembers) ---
    @classmethod
    def scenario_scale_up(cls):
        ns = cls.fresh(BASE)
        c = ms.Cluster()
        c.variant(ns, "m-l4", "m", accel="L4", cost="10.0", loads=[(0.76, 2)], replicas=1)
        c.variant(ns, "m-h100", "m", accel="H100", cost="40.0", loads=[(0.75, 2)], replicas=1)
        # A namespace-local ConfigMap: read with the well-known name.
        c.configmap(ns, "wva-saturation-config", {"default": "kvCacheThreshold: 0.8\n"})
        cls.servers.load(c)
        cls.servers.set_metrics(c.exporter_pods)
        # A 409 on the first scale patch: the program re-reads /scale.
        cls.servers.admin("PUT", "/faults", {"faults": [
            {"kind": "status", "status": 409, "method": "PATCH", "path": "/scale$", "count": 1}]})
        run = cls.run_binary("scale_up", BASE, ["--once"])
        run["replicas"] = cls.deployment_replicas(ns, "m-l4")

    @classmethod
    def scenario_scale_down_watch_namespace(cls):
        ns = cls.fresh(BASE)
        c = ms.Cluster()
        c.variant(ns, "m-l4", "m", loads=ms.IDLE3, replicas=3)
        c.variant(ns + "-other", "o-l4", "o", loads=ms.IDLE3, replicas=3)
        cls.servers.load(c)
        cls.servers.set_metrics(c.exporter_pods)
        run = cls.run_binary("scale_down_watch_namespace", BASE, ["--once"],
                             {"WATCH_NAMESPACE": ns})
        run["replicas"] = cls.deployment_replicas(ns, "m-l4")
        run["other_replicas"] = cls.deployment_replicas(ns + "-other", "o-l4")

    @classmethod
    def scenario_limited_mode(cls):
        ns = cls.fresh(LIMITED)
        c = ms.Cluster()
        # Two L4 GPUs: the demand (2 x 0.9 KV at the 0.7 target, plus the
        # spare) asks for two more replicas, one more than the node holds.
        c.node("gpu-l4-0", "L4", 2)
        c.node("gpu-h100-0", "H100", 8)
        c.variant(ns, "m-l4", "m", accel="L4", loads=[(0.9, 9)], replicas=1,
                  node="gpu-l4-0")
        c.variant(ns, "m-h100", "m", accel="H100", cost="40.0", loads=[(0.9, 9)], replicas=1,
                  node="gpu-h100-0")
        cls.servers.load(c)
        cls.servers.set_metrics(c.exporter_pods)
        run = cls.run_binary("limited_mode", LIMITED, ["--once", "--output", "json"])
        run["replicas"] = cls.deployment_replicas(ns, "m-l4")

    @classmethod
    def scenario_target_not_found(cls):
        ns = cls.fresh(BASE)
        c = ms.Cluster()
        c.variant(ns, "ghost", "g", loads=None, replicas=1, deployment=False)
        cls.servers.load(c)
        run = cls.run_binary("target_not_found", BASE, ["--once"])
        run["events"] = cls.servers.admin("GET", "/objects/events?namespace=" + ns)["items"]

    @classmethod
    def scenario_cronjob_scheduled(cls):
        """Exactly the CronJob's args and env: a scheduled run, then one a
        minute too early."""
        ns = cls.fresh(BASE)
        c = ms.Cluster()
        c.variant(ns, "m-l4", "m", loads=[(0.5, 1), (0.5, 1)], replicas=2)
        cls.servers.load(c)
        cls.servers.set_metrics(c.exporter_pods)
        first = cls.run_binary("cronjob_scheduled", BASE)
        cls.servers.admin("DELETE", "/log")
        second = cls.run_binary("cronjob_too_early", BASE)
        first["lease"] = cls.servers.admin("GET", "/objects/leases/%s/wva-optimizer" % SYSTEM_NS)
        del second

    @classmethod
    def scenario_doctor(cls):
        ns = cls.fresh(BASE)
        c = ms.Cluster()
        c.variant(ns, "m-l4", "m", loads=[(0.5, 1)], replicas=1)
        c.variant(ns, "ghost", "g", loads=None, replicas=1, deployment=False)
        cls.servers.load(c)
        cls.servers.set_metrics(c.exporter_pods)
        cls.run_binary("doctor", BASE, ["doctor", "--output", "json"])

    def scenario_runs(self):
        """The optimizer runs (not doctor), with the RBAC each is deployed with."""
        names = ["scale_up", "scale_down_watch_namespace", "limited_mode", "target_not_found",
                 "cronjob_scheduled", "cronjob_too_early"]
        for n in names:
            self.need("cronjob_scheduled" if n == "cronjob_too_early" else n)
        return [(n, self.runs[n]) for n in names]

    # -- effects: the scenarios did what they were meant to ----------------
    def test_scale_up(self):
        run = self.need("scale_up")
        self.assertExit(run, 0)
        self.assertEqual(run["replicas"], 2)
        scale = [(e["verb"], e["status"]) for e in run["entries"] if e["subresource"] == "scale"]
        self.assertEqual(scale, [("patch", 409), ("get", 200), ("patch", 200)])

    def test_scale_down_in_watch_namespace(self):
        run = self.need("scale_down_watch_namespace")
        self.assertExit(run, 0)
        self.assertEqual((run["replicas"], run["other_replicas"]), (2, 3))

    def test_limited_mode(self):
        run = self.need("limited_mode")
        self.assertExit(run, 0)
        # The cheap L4 variant grows up to its node's 2 GPUs, no further.
        self.assertEqual(run["replicas"], 2)
        self.assertTrue([e for e in run["entries"] if e["path"] == "/api/v1/nodes"])

    def test_target_not_found_event(self):
        run = self.need("target_not_found")
        self.assertExit(run, 0)
        self.assertEqual([e["reason"] for e in run["events"]], ["TargetNotFound"])

    def test_cronjob_args_and_env_accepted(self):
        """The CronJob's container, as the kubelet would start it: exit 0,
        a scheduled run (Lease created, then released with an update), and
        the next minute's too-early run changes nothing."""
        run = self.need("cronjob_scheduled")
        self.assertExit(run, 0)
        self.assertEqual(run["env"]["POD_NAMESPACE"], SYSTEM_NS)
        for line in run["proc"].stderr.splitlines():
            rec = json.loads(line)          # --log-format=json: every line is JSON
            if rec.get("level") in ("warn", "warning", "error"):
                self.assertRegex(rec.get("msg", ""), r"^Prometheus URL uses plain http",
                                 "only the plain-http Prometheus warning: %s" % line)
        leases = [(e["verb"], e["status"]) for e in run["entries"] if e["resource"] == "leases"]
        self.assertIn(("create", 201), leases)
        self.assertIn(("update", 200), leases)
        self.assertIn("wva.llmd.ai/last-completed-run",
                      run["lease"]["metadata"].get("annotations", {}))
        early = self.runs["cronjob_too_early"]
        self.assertExit(early, 0)
        self.assertIn("interval", early["proc"].stderr)
        self.assertEqual([e for e in early["entries"] if e["verb"] != "get"], [])

    def test_history_written_to_the_volume(self):
        run = self.need("cronjob_scheduled")
        dsn = run["env"]["WVA_HISTORY"]
        self.assertTrue(dsn.startswith("sqlite:" + run["workdir"]), dsn)
        p = subprocess.run([BIN, "history", "runs", "--history", dsn], capture_output=True,
                           text=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(dsn.split(":", 1)[1]))

    # -- RBAC --------------------------------------------------------------
    def check_allowed(self, name, run, rbac):
        denied = []
        for e in run["entries"]:
            a = request_attributes(e["method"], e["path"], e.get("query", ""))
            if not a["nonresource"]:
                # The test server's own reading of the request agrees.
                self.assertEqual((a["verb"], a["resource"], a["subresource"] or None),
                                 (e["verb"], e["resource"], e["subresource"]), e["path"])
            if not rbac.allowed(a):
                denied.append("%s %s%s" % (e["method"], e["path"],
                                           "?" + e["query"] if e.get("query") else ""))
        self.assertEqual(denied, [], "%s: requests the RBAC manifests forbid" % name)

    def test_every_request_is_allowed(self):
        base, limited = Rbac(BASE), Rbac(LIMITED)
        self.assertEqual(base.problems + limited.problems, [])
        for name, run in self.scenario_runs():
            self.assertTrue(run["entries"], name)
            self.check_allowed(name, run, limited if run["objs"] is LIMITED else base)

    def test_every_granted_verb_is_used(self):
        """Least privilege: each (rule, verb, resource, resourceName) is
        needed by some run, `doctor` included."""
        used = {"base": set(), "limited": set()}
        runs = self.scenario_runs() + [("doctor", self.need("doctor"))]
        for name, run in runs:
            rbac = Rbac(run["objs"])
            for e in run["entries"]:
                a = request_attributes(e["method"], e["path"], e.get("query", ""))
                if a["nonresource"]:
                    continue
                for g in rbac.matching(a):
                    used["limited" if run["objs"] is LIMITED else "base"].add(permission_of(g, a))
        granted_base = Rbac(BASE).permissions()
        unused = granted_base - used["base"]
        self.assertEqual(sorted(unused, key=str), [], "granted but never used by a run")
        extra = Rbac(LIMITED).permissions() - granted_base
        self.assertEqual(extra, {("ClusterRole wva-optimizer-nodes", "", "nodes", "list", None)})
        self.assertTrue(extra <= used["limited"])

    def test_nodes_listed_only_in_limited_mode(self):
        for name, run in self.scenario_runs():
            nodes = [e for e in run["entries"] if e["resource"] == "nodes"]
            if run["objs"] is LIMITED:
                self.assertEqual([(e["verb"], e["status"]) for e in nodes], [("list", 200)])
            else:
                self.assertEqual(nodes, [], name)
                self.assertFalse(Rbac(BASE).allowed(request_attributes("GET", "/api/v1/nodes")))

    def test_written_vas_match_the_crd(self):
        """What the program writes passes the CRD's validation (a real API
        server would refuse the status patch otherwise) and shows in the
        printer columns."""
        run = self.need("scale_up")
        written = [v for v in run["vas"] if v.get("status")]
        self.assertEqual(len(written), 2)
        for name, r in self.scenario_runs():
            for va in r["vas"]:
                self.assertEqual(validate_va(va)[0], [], "%s: %s" % (name, va["metadata"]["name"]))
        l4 = [v for v in written if v["metadata"]["name"] == "m-l4"][0]
        cols = {c["name"]: json_path(l4, c["jsonPath"])
                for c in crd_version()[1]["additionalPrinterColumns"]}
        self.assertEqual((cols["Target"], cols["Model"], cols["Optimized"], cols["MetricsReady"]),
                         ("m-l4", "m", 2, "True"))

    def test_doctor_requests_are_allowed(self):
        run = self.need("doctor")
        p = run["proc"]
        self.assertIn(p.returncode, (0, 4), p.stderr[-3000:])
        base = Rbac(BASE)
        self.check_allowed("doctor", run, base)
        # The permissions doctor asks about are the ones the manifests grant
        # (else its Permissions check fails on a correct install).
        reviews = [e for e in run["entries"] if e["resource"] == "selfsubjectaccessreviews"]
        self.assertTrue(reviews, "doctor checks its permissions")
        not_granted = []
        for e in reviews:
            ra = e["body"]["spec"]["resourceAttributes"]
            a = {"nonresource": False, "verb": ra.get("verb", ""), "group": ra.get("group", ""),
                 "resource": ra.get("resource", ""), "subresource": ra.get("subresource", ""),
                 "namespace": ra.get("namespace", ""), "name": ra.get("name", "")}
            if not base.matching(a):
                not_granted.append(ra)
        self.assertEqual(not_granted, [], "doctor's Permissions check asks about permissions "
                         "the manifests do not grant (and no run uses)")


class RbacMatcher(unittest.TestCase):
    """The matcher itself: these are the denials the live checks rely on."""

    def test_scope_names_and_subresources(self):
        base = Rbac(BASE)
        ok = lambda m, p: base.allowed(request_attributes(m, p))  # noqa: E731
        self.assertTrue(ok("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale"))
        self.assertFalse(ok("PATCH", "/apis/apps/v1/namespaces/a/deployments/d"))
        self.assertFalse(ok("GET", "/apis/apps/v1/namespaces/a/deployments/d"))
        va = "/apis/llmd.ai/v1alpha1/namespaces/a/variantautoscalings/v"
        self.assertTrue(ok("PATCH", va + "/status"))
        self.assertFalse(ok("PATCH", va))
        self.assertTrue(ok("GET", "/api/v1/namespaces/a/configmaps/wva-saturation-config"))
        self.assertTrue(ok("GET", "/api/v1/configmaps"))
        self.assertFalse(ok("PUT", "/api/v1/namespaces/a/configmaps/wva-saturation-config"))
        self.assertTrue(ok("GET", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/x"
                           % SYSTEM_NS))
        self.assertFalse(ok("GET", "/apis/coordination.k8s.io/v1/namespaces/a/leases/x"))
        self.assertFalse(ok("GET", "/apis/coordination.k8s.io/v1/leases"))
        self.assertTrue(ok("POST", "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % SYSTEM_NS))
        self.assertFalse(ok("POST", "/apis/coordination.k8s.io/v1/namespaces/a/leases"))
        self.assertFalse(ok("DELETE", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/x"
                            % SYSTEM_NS))
        self.assertTrue(ok("GET", "/api/v1/namespaces/team-a"))
        self.assertFalse(ok("GET", "/api/v1/namespaces/a/secrets/s"))
        self.assertFalse(ok("GET", "/api/v1/nodes"))
        self.assertTrue(Rbac(LIMITED).allowed(request_attributes("GET", "/api/v1/nodes")))
        self.assertTrue(ok("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"))
        self.assertTrue(ok("GET", "/version"))
        self.assertFalse(ok("GET", "/metrics"))

    def test_rule_fields(self):
        a = request_attributes("GET", "/api/v1/namespaces/a/configmaps/x")
        self.assertTrue(rule_allows({"apiGroups": [""], "resources": ["configmaps"],
                                     "resourceNames": ["x"], "verbs": ["get"]}, a))
        self.assertFalse(rule_allows({"apiGroups": [""], "resources": ["configmaps"],
                                      "resourceNames": ["y"], "verbs": ["get"]}, a))
        self.assertFalse(rule_allows({"apiGroups": [""], "resources": ["configmaps"],
                                      "resourceNames": ["x"], "verbs": ["list"]},
                                     request_attributes("GET", "/api/v1/namespaces/a/configmaps")))
        self.assertFalse(rule_allows({"apiGroups": ["apps"], "resources": ["configmaps"],
                                      "verbs": ["get"]}, a))
        self.assertTrue(rule_allows({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, a))
        scale = request_attributes("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale")
        self.assertTrue(rule_allows({"apiGroups": ["apps"], "resources": ["*/scale"],
                                     "verbs": ["patch"]}, scale))
        self.assertFalse(rule_allows({"apiGroups": ["apps"], "resources": ["deployments"],
                                      "verbs": ["patch"]}, scale))
        ns = request_attributes("GET", "/api/v1/namespaces/team-a")
        self.assertEqual((ns["resource"], ns["namespace"], ns["name"], ns["verb"]),
                         ("namespaces", "team-a", "team-a", "get"))
        self.assertEqual(request_attributes("GET", "/api/v1/pods", "watch=true")["verb"], "watch")

    def test_bindings_name_the_service_account(self):
        other = Rbac(BASE, sa=("default", "wva-optimizer"))
        self.assertEqual(other.grants, [])
        self.assertEqual({o for _, _, o in Rbac(BASE).grants},
                         {"ClusterRole wva-optimizer", "Role wva-optimizer"})


if __name__ == "__main__":
    if not os.access(BIN, os.X_OK):
        sys.exit("WVA_BIN %s is not an executable" % BIN)
    start = time.time()
    prog = unittest.main(exit=False, verbosity=2 if "-v" in sys.argv else 1)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    print("manifest tests took %.1f s" % (time.time() - start))
    print("manifests: %d passed, %d failed, %d skipped"
          % (r.testsRun - failed - len(r.skipped), failed, len(r.skipped)))
    sys.exit(0 if r.wasSuccessful() else 1)
