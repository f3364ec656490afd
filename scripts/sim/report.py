"""What a simulated run measured, as a table and a plot.

Waiting time is computed from each model's cumulative arrivals A(t) and
admissions into service D(t): under FIFO, requests arriving at t start
service when D reaches A(t).  Requests still waiting at the end count with
the time they waited so far.
"""
import bisect
import math


def model_waits(m, dt, end):
    """[(arrival time, requests, wait seconds)] per step of a model."""
    A, D = m.arrived, m.admitted
    out = []
    for j in range(1, len(A)):
        a = A[j] - A[j - 1]
        if a <= 0:
            continue
        x = (A[j - 1] + A[j]) / 2.0
        arrival = (j - 0.5) * dt
        i = bisect.bisect_left(D, x - 1e-9)
        if i >= len(D):
            admit = end
        elif i == 0:
            admit = 0.0
        else:
            span = D[i] - D[i - 1]
            frac = (x - D[i - 1]) / span if span > 0 else 1.0
            admit = (i - 1 + frac) * dt
        out.append((arrival, a, max(0.0, admit - arrival)))
    return out


def weighted_quantile(pairs, q):
    """pairs: [(value, weight)]."""
    if not pairs:
        return 0.0
    pairs = sorted(pairs)
    total = sum(w for _, w in pairs)
    acc = 0.0
    for v, w in pairs:
        acc += w
        if acc >= q * total - 1e-9:
            return v
    return pairs[-1][0]


def reversals(signs):
    """Direction flips in a sequence of capacity changes [(t, +1|-1)]."""
    flips, last = 0, 0
    for _, s in signs:
        if last and s != last:
            flips += 1
        last = s
    return flips


def summarise(policy_name, cluster, slo_wait, step_factor=2.0):
    dt, end = cluster.dt, cluster.t
    served = violated = 0.0
    pairs = []
    recover = []
    flips = 0
    models = 0
    for key, m in cluster.models.items():
        waits = model_waits(m, dt, end)
        for _, a, w in waits:
            served += a
            if w > slo_wait:
                violated += a
            pairs.append((w, a))
        if m.variants:
            models += 1
            flips += reversals(cluster.capacity_changes[key])
        if key in cluster.trace.models:
            for t0, t1 in cluster.trace.steps(key, step_factor):
                bad = [t for t, _, w in waits if t0 <= t < t1 and w > slo_wait]
                recover.append(max(bad) + dt / 2 - t0 if bad else 0.0)
    hours = end / 3600.0
    return {
        "policy": policy_name,
        "cost": cluster.cost,
        "gpu_hours": sum(cluster.gpu_hours.values()),
        "requests": served,
        "slo": 100.0 * (1.0 - violated / served) if served else 100.0,
        "p99": weighted_quantile(pairs, 0.99),
        "actions": cluster.actions,
        "reversals": flips / (models * hours) if models and hours else 0.0,
        "recover": max(recover) if recover else None,
    }


COLUMNS = [("policy", "policy", "%s"), ("cost", "GPU cost", "%.1f"),
           ("gpu_hours", "GPU-h", "%.1f"), ("slo", "SLO %", "%.2f"),
           ("p99", "p99 wait s", "%.1f"), ("actions", "scale actions", "%d"),
           ("reversals", "reversals/model-h", "%.2f"), ("recover", "recover s", "%.0f")]


def table(rows, markdown=True):
    head = [c[1] for c in COLUMNS]
    body = [[("-" if r.get(k) is None else f % r[k]) for k, _, f in COLUMNS] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    return "\n".join([fmt % tuple(head)] + [fmt % tuple(b) for b in body])


def plot(path, title, clusters, trace):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True)
    any_cluster = next(iter(clusters.values()))
    dt = any_cluster.dt
    for key in trace.models:
        m = any_cluster.models[key]
        xs = [i * dt / 60.0 for i in range(len(m.h_rate))]
        axes[0].plot(xs, m.h_rate, label="%s/%s" % key, linewidth=1)
    axes[0].set_ylabel("arrivals (req/s)")
    axes[0].legend(loc="upper left", fontsize=8)
    for name, c in clusters.items():
        n = c.step_index
        total = [sum(vs.h_replicas[i] for vs in c.variants) for i in range(n)]
        backlog = [sum(m.h_backlog[i] for m in c.models.values()) for i in range(n)]
        xs = [i * dt / 60.0 for i in range(n)]
        axes[1].step(xs, total, where="post", label=name, linewidth=1.2)
        axes[2].plot(xs, [max(b, 0.1) for b in backlog], label=name, linewidth=1)
    axes[1].set_ylabel("replicas (all variants)")
    axes[1].legend(loc="upper left", fontsize=8)
    axes[2].set_ylabel("waiting requests")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("minutes")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def fmt_ratio(x):
    return "-" if x is None or math.isnan(x) else "%.2f" % x


def goals(results, scenarios):
    """Issue 8's goals, each against HPA on the same trace: rows of
    (goal, measured, target, reached).  results: {trace: [rows]}."""
    out = []

    def pick(trace, policy):
        for r in results.get(trace, []):
            if r["policy"] == policy:
                return r
        return None

    w, h = pick("step", "wva-optimizer"), pick("step", "hpa-kv")
    if w and h:
        out.append(("step: SLO at most 1 point below HPA's",
                    "%.2f%% vs HPA %.2f%%" % (w["slo"], h["slo"]),
                    ">= %.2f%%" % (h["slo"] - 1), w["slo"] >= h["slo"] - 1))
        out.append(("step: GPU cost at most HPA's", "%.1f vs HPA %.1f (%.2fx)"
                    % (w["cost"], h["cost"], w["cost"] / h["cost"]),
                    "<= %.1f" % h["cost"], w["cost"] <= h["cost"]))
    w, h = pick("diurnal", "wva-optimizer"), pick("diurnal", "hpa-kv")
    if w and h:
        out.append(("diurnal: SLO >= 99.5%", "%.2f%%" % w["slo"], ">= 99.50%", w["slo"] >= 99.5))
        out.append(("diurnal: GPU cost <= 0.85x HPA's", "%.1f vs HPA %.1f (%.2fx)"
                    % (w["cost"], h["cost"], w["cost"] / h["cost"]),
                    "<= %.1f" % (0.85 * h["cost"]), w["cost"] <= 0.85 * h["cost"]))
    w, h = pick("bursty", "wva-optimizer"), pick("bursty", "hpa-kv")
    if w and h:
        out.append(("bursty: SLO at least HPA's", "%.2f%% vs HPA %.2f%%" % (w["slo"], h["slo"]),
                    ">= %.2f%%" % h["slo"], w["slo"] >= h["slo"]))
        out.append(("bursty: GPU cost <= 1.1x HPA's", "%.1f vs HPA %.1f (%.2fx)"
                    % (w["cost"], h["cost"], w["cost"] / h["cost"]),
                    "<= %.1f" % (1.1 * h["cost"]), w["cost"] <= 1.1 * h["cost"]))
    for name in ("step", "diurnal"):
        w = pick(name, "wva-optimizer")
        if w:
            out.append(("%s: <= 1 capacity reversal per model-hour" % name,
                        "%.2f" % w["reversals"], "<= 1", w["reversals"] <= 1))
    w = pick("step", "wva-optimizer")
    sc = scenarios.get("step")
    if w and sc and w["recover"] is not None:
        cold = min(v.cold_start for v in sc.catalogue)
        limit = cold + 2 * sc.interval
        out.append(("step: SLO back within one cold start + two intervals",
                    "%.0f s (HPA %s s)" % (w["recover"], "%.0f" % pick("step", "hpa-kv")["recover"]
                                          if pick("step", "hpa-kv") else "-"),
                    "<= %.0f s (%.0f s + 2 x %.0f s)" % (limit, cold, sc.interval),
                    w["recover"] <= limit))
    return out


def goals_table(rows):
    lines = ["| goal | measured | target | reached |", "|---|---|---|---|"]
    for goal, measured, target, ok in rows:
        lines.append("| %s | %s | %s | %s |" % (goal, measured, target, "yes" if ok else "**no**"))
    return "\n".join(lines)
