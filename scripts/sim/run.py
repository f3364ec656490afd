"""The closed loop and the command line of scripts/simulate."""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import yaml

from . import report
from .inputs import InputError, load_catalogue, load_trace, parse_duration
from .policies import Hpa, Static, WvaOptimizer, WvaV1
from .serving import Cluster

HERE = os.path.dirname(os.path.abspath(__file__))
STANDARD = os.path.join(HERE, "standard")
STANDARD_TRACES = ["step", "diurnal", "bursty", "shortage", "idle"]
EPOCH0 = 1796083200.0   # 2026-12-01T00:00:00Z: captured times of the snapshots
THRESHOLDS = {"kvCacheThreshold": 0.8, "queueLengthThreshold": 5, "kvSpareTrigger": 0.1,
              "queueSpareTrigger": 3}


class Scenario:
    """What one simulation needs: catalogue, trace and cluster settings."""

    def __init__(self, name, catalogue, trace, interval=60.0, dt=1.0, gpus=None,
                 scale_to_zero=False, retention=600.0, saturation=None, description=""):
        self.name = name
        self.catalogue = catalogue
        self.trace = trace
        self.interval = interval
        self.dt = dt
        self.gpus = gpus
        self.scale_to_zero = scale_to_zero
        self.retention = retention
        self.saturation = saturation or {}
        self.description = description

    def settings(self):
        s = {"GLOBAL_OPT_INTERVAL": "%ds" % int(self.interval),
             "WVA_LIMITED_MODE": "true" if self.gpus else "false",
             "WVA_SCALE_TO_ZERO": "true" if self.scale_to_zero else "false"}
        return s

    def configmaps(self):
        ns = "workload-variant-autoscaler-system"
        cms = []
        if self.saturation:
            cms.append((ns, "wva-saturation-config",
                        {"default": "".join("%s: %s\n" % kv for kv in self.saturation.items())}))
        if self.scale_to_zero:
            cms.append((ns, "wva-scale-to-zero-config",
                        {"default": "enable_scale_to_zero: true\nretention_period: %ds\n"
                         % int(self.retention)}))
        return cms

    def thresholds(self):
        th = dict(THRESHOLDS)
        for k in th:
            if k in self.saturation:
                th[k] = float(self.saturation[k])
        return th


def load_standard(name):
    path = os.path.join(STANDARD, name + ".yaml")
    if not os.path.exists(path):
        raise InputError("no standard trace %r (have: %s)" % (name, ", ".join(STANDARD_TRACES)))
    with open(path) as f:
        doc = yaml.safe_load(f)
    gpus = doc.get("gpus")
    return Scenario(
        name, load_catalogue(os.path.join(STANDARD, doc["catalogue"])),
        load_trace(os.path.join(STANDARD, doc["trace"])),
        interval=parse_duration(doc.get("interval", "60s"), path + ": interval"),
        dt=float(doc.get("dt", 1.0)), gpus={k: float(v) for k, v in gpus.items()} if gpus else None,
        scale_to_zero=bool(doc.get("scaleToZero", False)),
        retention=parse_duration(doc.get("retention", "10m"), path + ": retention"),
        saturation=doc.get("saturation") or {}, description=doc.get("description", ""))


def make_policy(kind, scenario, args, workdir):
    th = scenario.thresholds()
    target = args.hpa_target if args.hpa_target else th["kvCacheThreshold"] - th["kvSpareTrigger"]
    if kind == "wva":
        return WvaOptimizer(args.binary, scenario.interval, scenario.settings(),
                            scenario.configmaps(), workdir, EPOCH0, keep=args.keep_snapshots)
    if kind == "hpa":
        return Hpa(target)
    if kind == "v1":
        return WvaV1(th)
    if kind == "static":
        return Static(scenario.trace, scenario.catalogue, target)
    raise InputError("unknown policy %r (wva, hpa, v1, static)" % kind)


def simulate(scenario, policy, seed):
    """Run one policy over the scenario's trace; returns the cluster."""
    start = None
    if isinstance(policy, Static):
        start = policy.replicas()
    cluster = Cluster(scenario.catalogue, scenario.trace, scenario.dt, seed,
                      gpus=scenario.gpus, start_replicas=start)
    if scenario.retention and hasattr(policy, "writer"):
        policy.writer.retention = scenario.retention
    next_decision = policy.period
    steps = int(round(scenario.trace.end / scenario.dt))
    for _ in range(steps):
        if cluster.t + 1e-9 >= next_decision:
            cluster.apply(policy.decide(cluster))
            next_decision += policy.period
        cluster.step()
    return cluster


def run_scenario(scenario, args, out_dir):
    rows, clusters = [], {}
    for kind in args.policies:
        workdir = tempfile.mkdtemp(prefix="wva-sim-")
        if args.keep_snapshots:
            workdir = os.path.join(out_dir, "%s-%s" % (scenario.name, kind))
            os.makedirs(workdir, exist_ok=True)
        try:
            policy = make_policy(kind, scenario, args, workdir)
            t0 = time.monotonic()
            cluster = simulate(scenario, policy, args.seed)
            row = report.summarise(policy.name, cluster, args.slo_wait)
            row["wall"] = time.monotonic() - t0
            if isinstance(policy, WvaOptimizer):
                row["runs"] = policy.runs
                row["failures"] = policy.failures
                if policy.failures:
                    print("simulate: %s: %d of %d runs of %s failed; last: %s"
                          % (scenario.name, policy.failures, policy.runs, args.binary,
                             policy.last_error), file=sys.stderr)
            rows.append(row)
            clusters[policy.name] = cluster
        finally:
            if not args.keep_snapshots:
                shutil.rmtree(workdir, ignore_errors=True)
    return rows, clusters


def find_binary(given):
    if given:
        return given
    if os.environ.get("WVA_BIN"):
        return os.environ["WVA_BIN"]
    top = os.path.dirname(os.path.dirname(HERE))
    for cand in ("build-sim/wva-optimizer", "build-bench/wva-optimizer", "build/wva-optimizer"):
        if os.access(os.path.join(top, cand), os.X_OK):
            return os.path.join(top, cand)
    return shutil.which("wva-optimizer")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="simulate",
        description="Closed-loop simulation: wva-optimizer (the real binary) and baselines "
                    "serving a trace on a fluid model of vLLM replicas.")
    src = p.add_argument_group("what to simulate")
    src.add_argument("--standard", metavar="NAME", action="append",
                     help="a standard trace (%s) or 'all'; repeatable" % ", ".join(STANDARD_TRACES))
    src.add_argument("--catalogue", help="variant catalogue (YAML)")
    src.add_argument("--trace", help="trace (CSV: time,namespace,model,rate,input_tokens,output_tokens)")
    src.add_argument("--interval", default="60s", help="optimization interval (default 60s)")
    src.add_argument("--dt", type=float, default=1.0, help="serving step in seconds, <= 5 (default 1)")
    src.add_argument("--gpus", help="GPU inventory per accelerator, e.g. H100=8,L4=16 "
                     "(sets WVA_LIMITED_MODE; pods beyond it stay Pending)")
    src.add_argument("--scale-to-zero", action="store_true", help="enable scale-to-zero for every model")
    src.add_argument("--retention", default="10m", help="scale-to-zero retention (default 10m)")
    src.add_argument("--saturation-config", metavar="FILE",
                     help="YAML mapping for the default key of wva-saturation-config")
    run = p.add_argument_group("how")
    run.add_argument("--binary", help="wva-optimizer to put in the loop (default $WVA_BIN, "
                     "build-sim/, build-bench/, build/, then PATH)")
    run.add_argument("--policies", default="wva,hpa,v1,static",
                     help="comma list of wva, hpa, v1, static (default all)")
    run.add_argument("--seed", type=int, default=1, help="random seed for arrivals (default 1)")
    run.add_argument("--slo-wait", type=float, default=2.0,
                     help="SLO: a request waits at most this many seconds (default 2)")
    run.add_argument("--hpa-target", type=float, default=None,
                     help="HPA KV usage target (default kvCacheThreshold - kvSpareTrigger)")
    out = p.add_argument_group("output")
    out.add_argument("--out", default="sim-out", help="directory for plots and JSON (default sim-out)")
    out.add_argument("--no-plot", action="store_true", help="no PNG")
    out.add_argument("--json", help="write every row as JSON to this file")
    out.add_argument("--keep-snapshots", action="store_true",
                     help="keep each snapshot and plan under --out")
    out.add_argument("--goals", action="store_true",
                     help="also print issue 8's goals against HPA (needs the step, diurnal "
                          "and bursty standard traces with the wva and hpa policies)")
    args = p.parse_args(argv)
    args.policies = [x.strip() for x in args.policies.split(",") if x.strip()]
    if args.standard and (args.catalogue or args.trace):
        p.error("--standard or --catalogue/--trace, not both")
    if not args.standard and not (args.catalogue and args.trace):
        p.error("give --standard NAME, or --catalogue and --trace")
    if not 0 < args.dt <= 5:
        p.error("--dt must be in (0, 5]")
    return args


def scenarios_from_args(args):
    if args.standard:
        names = []
        for n in args.standard:
            names += STANDARD_TRACES if n == "all" else [n]
        return [load_standard(n) for n in names]
    gpus = None
    if args.gpus:
        gpus = {}
        for part in args.gpus.split(","):
            k, _, v = part.partition("=")
            try:
                gpus[k.strip()] = float(v)
            except ValueError:
                raise InputError("--gpus: %r is not ACCELERATOR=COUNT" % part)
    saturation = None
    if args.saturation_config:
        try:
            with open(args.saturation_config) as f:
                saturation = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as e:
            raise InputError("--saturation-config %s: %s" % (args.saturation_config, e))
        if not isinstance(saturation, dict):
            raise InputError("--saturation-config: expected a YAML mapping")
    name = os.path.splitext(os.path.basename(args.trace))[0]
    catalogue = load_catalogue(args.catalogue)
    trace = load_trace(args.trace)
    served = {v.key for v in catalogue}
    for key in trace.models:
        if key not in served:
            print("simulate: warning: the trace's model %s/%s has no variant in the catalogue: "
                  "its requests are never served" % key, file=sys.stderr)
    return [Scenario(name, catalogue, trace,
                     interval=parse_duration(args.interval, "--interval"), dt=args.dt, gpus=gpus,
                     scale_to_zero=args.scale_to_zero,
                     retention=parse_duration(args.retention, "--retention"),
                     saturation=saturation)]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        scenarios = scenarios_from_args(args)
    except InputError as e:
        print("simulate: %s" % e, file=sys.stderr)
        return 2
    if "wva" in args.policies:
        args.binary = find_binary(args.binary)
        if not args.binary or not os.access(args.binary, os.X_OK):
            print("simulate: no wva-optimizer binary: build one (see README, \"Simulate before "
                  "you deploy\") or pass --binary", file=sys.stderr)
            return 2
    os.makedirs(args.out, exist_ok=True)
    all_rows = {}
    by_name = {sc.name: sc for sc in scenarios}
    for sc in scenarios:
        try:
            rows, clusters = run_scenario(sc, args, args.out)
        except InputError as e:
            print("simulate: %s" % e, file=sys.stderr)
            return 2
        all_rows[sc.name] = rows
        hours = sc.trace.end / 3600.0
        print("\n### %s (%.1f h, seed %d, SLO: wait <= %gs)%s\n"
              % (sc.name, hours, args.seed, args.slo_wait,
                 ": " + sc.description if sc.description else ""))
        print(report.table(rows))
        if not args.no_plot:
            png = os.path.join(args.out, sc.name + ".png")
            report.plot(png, "%s: %s" % (sc.name, sc.description or ""), clusters, sc.trace)
            print("\nplot: %s" % png)
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(all_rows, f, indent=1)
    if args.goals:
        rows = report.goals(all_rows, by_name)
        print("\n### goals (against HPA on the same trace, seed %d)\n" % args.seed)
        print(report.goals_table(rows))
        print("\ngoals reached: %d of %d" % (sum(1 for r in rows if r[3]), len(rows)))
    return 0
