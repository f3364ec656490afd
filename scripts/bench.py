#!/usr/bin/env python3
"""bench.py - the measuring half of scripts/bench.sh (run that instead).

For each size: make (or reuse) a --limited snapshot with gen_snapshot.py,
replay it with `wva-optimizer --from-file SNAP --output json --timings`
several times, and report medians.  Stage times, LP objective and integer
cost come from the binary's stderr line
  timings: parse=S filter=S analyze=S solve=S plan=S total=S lp_objective=X
           int_cost=Y models=N variants=N
(one line, key=value pairs, seconds); wall time and peak RSS come from the
child's own rusage (os.wait4), so nothing beyond Python 3 is needed.

The children are started by a small launcher process (a bare interpreter,
LAUNCHER_CODE): Linux carries the RSS high-water mark of a forked process
across exec, so a child forked straight from a driver holding a parsed
10,000-VA plan would report the driver's RSS as its own ru_maxrss.  Through
the launcher the floor is ~6 MB (its own size).
Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REQUIRED = ("parse", "analyze", "solve", "total", "lp_objective", "int_cost",
            "models", "variants")


class BenchError(Exception):
    pass


def machine_lines():
    cpu = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model"):
                    cpu = val.strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = ", %.1f GiB RAM" % (int(line.split()[1]) / 1048576.0)
                    break
    except OSError:
        pass
    return ["machine: nproc=%s cpu=%s (%s, %s%s)" % (
                usable, cpu or platform.processor() or "unknown",
                platform.machine(), platform.system(), mem),
            "load average at start: %s" % (
                " ".join("%.2f" % x for x in os.getloadavg())
                if hasattr(os, "getloadavg") else "n/a")]


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def ensure_snapshot(args, size, gen_sha, log):
    """Cached snapshot path for this size, seed and generator version."""
    base = "snap-%d-seed%d-%s" % (size, args.seed, gen_sha)
    snap = os.path.join(args.cache, base + ".json")
    expect = os.path.join(args.cache, base + ".expect.json")
    if os.path.exists(snap) and os.path.exists(expect):
        return snap, expect, None, os.path.getsize(snap)
    tmp_snap, tmp_expect = snap + ".tmp%d" % os.getpid(), expect + ".tmp%d" % os.getpid()
    t0 = time.perf_counter()
    cmd = [sys.executable, args.generator, "--vas", str(size), "--seed",
           str(args.seed), "--limited", "-o", tmp_snap, "--expect", tmp_expect]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        gen_s = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError("generator failed for %d VAs: %s" % (size, r.stderr.strip()))
        r = subprocess.run([sys.executable, args.generator, "--check", tmp_snap],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if r.returncode != 0:
            raise BenchError("generated snapshot fails the shape check: %s"
                             % r.stderr.strip()[:2000])
    except BenchError:
        for tmp in (tmp_snap, tmp_expect):
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    os.replace(tmp_expect, expect)
    os.replace(tmp_snap, snap)
    log("generated %s (%.1f MB) in %.2f s" % (snap, os.path.getsize(snap) / 1e6, gen_s))
    return snap, expect, gen_s, os.path.getsize(snap)


def parse_timings(stderr_text):
    """The last stderr line starting with 'timings:' as {key: float}."""
    line = None
    for ln in stderr_text.splitlines():
        if ln.startswith("timings:"):
            line = ln
    if line is None:
        raise BenchError("no 'timings:' line on stderr")
    out = {}
    for tok in line[len("timings:"):].split():
        key, eq, val = tok.partition("=")
        if not eq:
            raise BenchError("malformed timings token %r in %r" % (tok, line))
        try:
            out[key] = float(val)
        except ValueError:
            raise BenchError("timings %s=%r is not a number" % (key, val))
    missing = [k for k in REQUIRED if k not in out]
    if missing:
        raise BenchError("timings line lacks %s: %r" % (", ".join(missing), line))
    return out


# The launcher: a bare interpreter (-S -I, four modules) that forks and execs
# each command itself, so a child's ru_maxrss starts from ~6 MB.
LAUNCHER_CODE = r"""
import json, os, signal, sys, time

def run(req):
    out = os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            env = req.get("env")
            if env is None:
                os.execvp(req["cmd"][0], req["cmd"])
            os.execvpe(req["cmd"][0], req["cmd"], env)
        except BaseException as e:
            os.write(2, ("cannot run %s: %s\n" % (req["cmd"][0], e)).encode())
        os._exit(127)
    os.close(out)
    os.close(err)
    expired = []

    def kill(signum, frame):
        expired.append(True)
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    signal.signal(signal.SIGALRM, kill)
    signal.setitimer(signal.ITIMER_REAL, req["timeout"])
    # wait4 gives this child's own rusage (ru_maxrss in KiB on Linux), which
    # RUSAGE_CHILDREN (a maximum over all children) cannot.
    _, status, ru = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.perf_counter() - t0
    kib = ru.ru_maxrss / 1024.0 if sys.platform == "darwin" else ru.ru_maxrss
    return {"rc": os.waitstatus_to_exitcode(status), "wall": wall, "rss_mb": kib / 1024.0,
            "cpu": ru.ru_utime + ru.ru_stime, "timed_out": bool(expired)}

for line in sys.stdin:
    try:
        res = run(json.loads(line))
    except OSError as e:
        res = {"error": str(e)}
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()
"""


class Launcher:
    """Runs commands from a small helper process (see the module comment)
    and reports each one's wall time and own rusage."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-S", "-I", "-c", LAUNCHER_CODE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     universal_newlines=True)

    def run(self, cmd, stdout_path, stderr_path, timeout, env=None):
        """{"rc", "wall", "rss_mb", "cpu", "timed_out"} of one run of cmd
        (stdout and stderr go to the files named)."""
        req = {"cmd": cmd, "stdout": stdout_path, "stderr": stderr_path,
               "timeout": timeout, "env": env}
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError as e:
            raise BenchError("launcher: %s" % e)
        if not line:
            raise BenchError("the launcher process exited")
        res = json.loads(line)
        if "error" in res:
            raise BenchError("cannot run %s: %s" % (" ".join(cmd), res["error"]))
        return res

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait()


def run_once(args, snap, plan_path):
    cmd = [args.bin, "--from-file", snap, "--output", "json", "--timings"]
    err_path = plan_path + ".stderr"
    r = args.launcher.run(cmd, plan_path, err_path, args.timeout)
    with open(err_path, "rb") as f:
        stderr_text = f.read().decode("utf-8", "replace")
    os.unlink(err_path)
    if r["timed_out"]:
        raise BenchError("%s timed out after %d s" % (" ".join(cmd), args.timeout))
    if r["rc"] != 0:
        tail = "\n".join(stderr_text.splitlines()[-15:])
        raise BenchError("%s exited with %d:\n%s" % (" ".join(cmd), r["rc"], tail))
    t = parse_timings(stderr_text)
    t["wall"] = r["wall"]
    t["rss_mb"] = r["rss_mb"]
    return t


def plan_summary(plan_path, expect_path):
    """Actions in the plan and agreement of its per-model analysis with the
    generator's own evaluation of the SPEC formulas (informational)."""
    try:
        with open(plan_path, encoding="utf-8") as f:
            plan = json.load(f)
    except (OSError, ValueError) as e:
        raise BenchError("stdout is not a JSON plan: %s" % e)
    if not isinstance(plan, dict) or plan.get("kind") != "WVAPlan":
        raise BenchError("stdout JSON is not a WVAPlan (kind=%r)"
                         % (plan.get("kind") if isinstance(plan, dict) else None))
    actions = {}
    for v in plan.get("variants") or []:
        a = v.get("action", "?") if isinstance(v, dict) else "?"
        actions[a] = actions.get(a, 0) + 1
    agree = total = 0
    mismatches = []
    try:
        with open(expect_path, encoding="utf-8") as f:
            expect = json.load(f)
        want = {(m["namespace"], m["modelID"]): m["expect"]
                for m in expect["modelsDetail"] if m["expect"] != "skipped"}
        for m in plan.get("models") or []:
            key = (m.get("namespace"), m.get("modelID"))
            if key not in want or "shouldScaleUp" not in m:
                continue
            got = "up" if m.get("shouldScaleUp") else (
                "down" if m.get("scaleDownSafe") else "hold")
            total += 1
            if got == want[key]:
                agree += 1
            elif len(mismatches) < 3:
                mismatches.append("%s/%s: plan %s, generator %s"
                                  % (key[0], key[1], got, want[key]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return actions, agree, total, mismatches


def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) for c, w in zip(cols, widths))


def main(argv):
    p = argparse.ArgumentParser(description="wva-optimizer replay benchmark")
    p.add_argument("--bin", required=True)
    p.add_argument("--generator", required=True)
    p.add_argument("--cache", required=True, help="snapshot cache directory")
    p.add_argument("--quick", action="store_true", help="100 and 1,000 VAs only")
    p.add_argument("--sizes", help='e.g. "100 1000 10000"')
    p.add_argument("--runs", type=int, help="runs per size (default 5, 3 at >= 10,000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=int, default=900, help="seconds per run")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--keep-plans", metavar="DIR", help="keep each size's last plan here")
    args = p.parse_args(argv)
    args.launcher = Launcher()
    # Plans go to --keep-plans, else to a temporary directory removed at the end.
    args.plan_dir = args.keep_plans or tempfile.mkdtemp(prefix="wva-bench-plans-")
    try:
        return run_sizes(p, args)
    finally:
        args.launcher.close()
        if not args.keep_plans:
            shutil.rmtree(args.plan_dir, ignore_errors=True)


def run_sizes(p, args):
    try:
        sizes = [int(s) for s in args.sizes.replace(",", " ").split()] if args.sizes \
            else ([100, 1000] if args.quick else [100, 1000, 10000])
    except ValueError:
        p.error("--sizes takes whole numbers")
    if not sizes or any(s < 1 for s in sizes) or (args.runs is not None and args.runs < 1):
        p.error("sizes and --runs must be positive")

    def log(msg):
        print("bench: " + msg, file=sys.stderr, flush=True)

    try:
        os.makedirs(args.cache, exist_ok=True)
        probe = os.path.join(args.cache, ".probe%d" % os.getpid())
        open(probe, "w").close()
        os.unlink(probe)
    except OSError:
        args.cache = tempfile.mkdtemp(prefix="wva-bench-")
        log("snapshot cache not writable, using %s" % args.cache)
    gen_sha = file_sha(args.generator)

    for line in machine_lines():
        print(line)
    print("binary: %s" % os.path.abspath(args.bin))
    print("snapshots: gen_snapshot.py --limited --seed %d (generator %s), cache %s"
          % (args.seed, gen_sha, args.cache))
    sys.stdout.flush()

    header = ["VAs", "models", "variants", "parse s", "analyze s", "solve s",
              "total s", "wall s", "RSS MB", "LP objective", "int cost",
              "gap/model", "runs"]
    widths = [6, 6, 8, 8, 9, 8, 8, 8, 8, 13, 13, 9, 4]
    rows, results, notes = [], [], []
    plan_dir = args.plan_dir
    os.makedirs(plan_dir, exist_ok=True)
    failed = False
    for size in sizes:
        runs = args.runs or (3 if size >= 10000 else 5)
        try:
            snap, expect, gen_s, snap_bytes = ensure_snapshot(args, size, gen_sha, log)
            plan_path = os.path.join(plan_dir, "plan-%d.json" % size)
            samples = []
            for i in range(runs):
                t = run_once(args, snap, plan_path)
                log("%d VAs run %d/%d: total=%.4f s wall=%.4f s rss=%.1f MB"
                    % (size, i + 1, runs, t["total"], t["wall"], t["rss_mb"]))
                samples.append(t)
            actions, agree, total, mism = plan_summary(plan_path, expect)
        except BenchError as e:
            log("FAILED at %d VAs: %s" % (size, e))
            failed = True
            break
        med = {k: statistics.median(s[k] for s in samples)
               for k in samples[0] if all(k in s for s in samples)}
        models = med["models"]
        gap = (med["int_cost"] - med["lp_objective"]) / models if models else 0.0
        rows.append([size, "%d" % models, "%d" % med["variants"],
                     "%.4f" % med["parse"], "%.4f" % med["analyze"],
                     "%.4f" % med["solve"], "%.4f" % med["total"],
                     "%.4f" % med["wall"], "%.1f" % med["rss_mb"],
                     "%.2f" % med["lp_objective"], "%.2f" % med["int_cost"],
                     "%.3f" % gap, runs])
        acts = " ".join("%s=%d" % kv for kv in sorted(actions.items()))
        note = "%d VAs: snapshot %.1f MB; plan actions: %s" % (
            size, snap_bytes / 1e6, acts or "none")
        if total:
            note += "; model analysis agrees with generator on %d/%d" % (agree, total)
        notes.append(note)
        for m in mism:
            notes.append("    mismatch: " + m)
        results.append({"vas": size, "runs": runs, "median": med, "gap_per_model": gap,
                        "snapshot_bytes": snap_bytes, "generate_seconds": gen_s,
                        "actions": actions, "analysis_agree": agree,
                        "analysis_compared": total})

    print()
    print(fmt_row(header, widths))
    print(fmt_row(["-" * w for w in widths], widths))
    for r in rows:
        print(fmt_row(r, widths))
    print()
    for n in notes:
        print(n)
    print("(medians per column over the runs; variants = variants optimized; stage times"
          " from the binary's timings line; wall and peak RSS (ru_maxrss) from the child's"
          " rusage; gap/model = (int cost - LP objective) / models)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_lines(), "binary": os.path.abspath(args.bin),
                       "seed": args.seed, "generator": gen_sha, "results": results,
                       "failed": failed}, f, indent=2)
            f.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
