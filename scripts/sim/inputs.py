"""Inputs of a simulation: the variant catalogue (YAML) and the trace (CSV).

Catalogue: one entry per variant (one Deployment serving one model on one
accelerator type), with what the serving model needs:

    variants:
      - name: llama-8b-h100          # Deployment and VA name
        namespace: team-a
        model: meta/llama-3.1-8b     # modelID
        accelerator: H100            # node label value nvidia.com/gpu.product
        cost: 5.0                    # variantCost per replica (per hour)
        gpus: 1                      # GPUs per replica
        kvTokens: 467264             # KV-cache tokens per replica
        maxNumSeqs: 512              # vLLM --max-num-seqs (concurrency cap)
        secondsPerOutputToken: 0.035 # decode time per output token, full batch
        secondsPerInputToken: 0.00007  # prefill time per input token
        coldStart: 180s              # pod created -> Ready (pull, load, warm up)
        initialReplicas: 1
        minReplicas: 0               # optional VA spec fields
        maxReplicas: 20
        priority: 0

Trace: CSV with header `time,namespace,model,rate,input_tokens,output_tokens`
(time in seconds from the start, rate in requests per second).  Rows of one
model are breakpoints; the rate and token means are interpolated linearly
between them (two rows at the same time make a step).  The trace ends at
its last row.
"""
import csv
import math

import yaml

PRODUCTS = {
    "L4": "NVIDIA-L4",
    "A100": "NVIDIA-A100-SXM4-80GB",
    "H100": "NVIDIA-H100-80GB-HBM3",
    "H200": "NVIDIA-H200",
    "MI300X": "AMD-MI300X-192G",
}


class InputError(Exception):
    pass


def parse_duration(value, where):
    """Seconds from a number or a Go-like duration ("90s", "3m", "1h30m")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0 or not math.isfinite(value):
            raise InputError(f"{where}: {value!r} is not a duration >= 0")
        return float(value)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: {value!r} is not a duration")
    total, num = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for ch in value.strip():
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total += float(num) * units[ch]
            num = ""
        else:
            raise InputError(f"{where}: {value!r} is not a duration (like 90s, 3m, 1h)")
    if num:
        raise InputError(f"{where}: {value!r} lacks a unit (s, m or h)")
    return total


class VariantSpec:
    FIELDS = {
        "name": str, "namespace": str, "model": str, "accelerator": str,
        "cost": float, "gpus": float, "kvTokens": float, "maxNumSeqs": float,
        "secondsPerOutputToken": float, "secondsPerInputToken": float,
        "coldStart": "duration", "initialReplicas": int, "minReplicas": int,
        "maxReplicas": int, "priority": int,
    }
    REQUIRED = ("name", "namespace", "model", "accelerator", "cost", "kvTokens",
                "secondsPerOutputToken", "coldStart")

    def __init__(self, entry, where):
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected a mapping")
        for key in entry:
            if key not in self.FIELDS:
                raise InputError(f"{where}: unknown field {key!r}")
        for key in self.REQUIRED:
            if key not in entry:
                raise InputError(f"{where}: missing {key}")
        get = lambda k, d=None: entry.get(k, d)  # noqa: E731
        self.name = self._str(get("name"), f"{where}.name")
        self.namespace = self._str(get("namespace"), f"{where}.namespace")
        self.model = self._str(get("model"), f"{where}.model")
        self.accelerator = self._str(get("accelerator"), f"{where}.accelerator")
        self.product = PRODUCTS.get(self.accelerator, self.accelerator)
        self.cost = self._num(get("cost"), f"{where}.cost", 0)
        self.gpus = self._num(get("gpus", 1), f"{where}.gpus", 0)
        self.kv_tokens = self._num(get("kvTokens"), f"{where}.kvTokens", 1)
        self.max_num_seqs = self._num(get("maxNumSeqs", 256), f"{where}.maxNumSeqs", 1)
        self.s_out = self._num(get("secondsPerOutputToken"), f"{where}.secondsPerOutputToken", 0)
        self.s_in = self._num(get("secondsPerInputToken", 0), f"{where}.secondsPerInputToken", 0)
        self.cold_start = parse_duration(get("coldStart"), f"{where}.coldStart")
        self.initial = int(self._num(get("initialReplicas", 1), f"{where}.initialReplicas", 0))
        self.min_replicas = int(self._num(get("minReplicas", 0), f"{where}.minReplicas", 0))
        mx = get("maxReplicas")
        self.max_replicas = None if mx is None else int(self._num(mx, f"{where}.maxReplicas", 0))
        self.priority = int(self._num(get("priority", 0), f"{where}.priority", -10**6))
        if self.max_replicas is not None and self.max_replicas < self.min_replicas:
            raise InputError(f"{where}: maxReplicas < minReplicas")

    @staticmethod
    def _str(v, where):
        if not isinstance(v, str) or not v:
            raise InputError(f"{where}: expected a non-empty string, got {v!r}")
        return v

    @staticmethod
    def _num(v, where, lo):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < lo:
            raise InputError(f"{where}: expected a number >= {lo}, got {v!r}")
        return float(v)

    @property
    def key(self):
        return (self.namespace, self.model)

    def resident_tokens(self, tin, tout):
        """KV tokens a request holds on average while in service: its prompt
        plus half its output (the cache grows from in to in + out)."""
        return tin + tout / 2.0

    def service_time(self, tin, tout):
        return max(1e-3, tout * self.s_out + tin * self.s_in)

    def slots(self, tin, tout):
        """Requests one replica serves at once: the KV cache or max-num-seqs."""
        return max(1.0, min(self.max_num_seqs,
                            math.floor(self.kv_tokens / max(1.0, self.resident_tokens(tin, tout)))))

    def throughput(self, tin, tout):
        """Requests per second one replica completes when full."""
        return self.slots(tin, tout) / self.service_time(tin, tout)


def load_catalogue(path):
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise InputError(f"catalogue {path}: {e.strerror}")
    except yaml.YAMLError as e:
        raise InputError(f"catalogue {path}: not YAML: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("variants"), list) or not doc["variants"]:
        raise InputError(f"catalogue {path}: expected a mapping with a non-empty 'variants' list")
    variants = [VariantSpec(e, f"catalogue {path}: variants[{i}]")
                for i, e in enumerate(doc["variants"])]
    seen = set()
    for v in variants:
        if (v.namespace, v.name) in seen:
            raise InputError(f"catalogue {path}: variant {v.namespace}/{v.name} appears twice")
        seen.add((v.namespace, v.name))
    return variants


class Trace:
    """Arrival rate and mean tokens of each model over time (piecewise linear)."""

    def __init__(self, rows):
        self.models = {}
        for t, ns, model, rate, tin, tout in rows:
            self.models.setdefault((ns, model), []).append((t, rate, tin, tout))
        for pts in self.models.values():
            pts.sort(key=lambda p: p[0])
        self.end = max(p[-1][0] for p in self.models.values())
        self._cursor = {k: 0 for k in self.models}

    def at(self, key, t):
        """(rate, input tokens, output tokens) of a model at time t (rate 0
        outside the model's rows).  Fastest for increasing t."""
        pts = self.models.get(key)
        if not pts or t < pts[0][0] or t > pts[-1][0]:
            return (0.0, pts[0][2] if pts else 1.0, pts[0][3] if pts else 1.0)
        i = self._cursor[key]
        if i >= len(pts) - 1 or pts[i][0] > t:
            i = 0
        while i + 1 < len(pts) and pts[i + 1][0] <= t:
            i += 1
        self._cursor[key] = i
        t0, r0, a0, b0 = pts[i]
        if i + 1 >= len(pts):
            return (r0, a0, b0)
        t1, r1, a1, b1 = pts[i + 1]
        if t1 <= t0:
            return (r1, a1, b1)
        w = (t - t0) / (t1 - t0)
        return (r0 + w * (r1 - r0), a0 + w * (a1 - a0), b0 + w * (b1 - b0))

    def peak(self, key):
        return max(p[1] for p in self.models[key])

    def steps(self, key, factor=2.0):
        """Times where the model's rate jumps by >= factor at once (two rows
        at most 1 s apart), with the time its plateau ends."""
        pts = self.models[key]
        out = []
        for i in range(1, len(pts)):
            (t0, r0, _, _), (t1, r1, _, _) = pts[i - 1], pts[i]
            if t1 - t0 <= 1.0 and r0 > 0 and r1 >= factor * r0:
                end = pts[i + 1][0] if i + 1 < len(pts) else self.end
                out.append((t1, end))
        return out


def load_trace(path):
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            need = ["time", "namespace", "model", "rate", "input_tokens", "output_tokens"]
            if reader.fieldnames is None or any(k not in reader.fieldnames for k in need):
                raise InputError(f"trace {path}: header must name {','.join(need)}")
            rows = []
            for n, row in enumerate(reader, start=2):
                try:
                    t, rate = float(row["time"]), float(row["rate"])
                    tin, tout = float(row["input_tokens"]), float(row["output_tokens"])
                except (TypeError, ValueError):
                    raise InputError(f"trace {path}: line {n}: time, rate and tokens must be numbers")
                if not all(math.isfinite(x) for x in (t, rate, tin, tout)) or t < 0 or rate < 0 \
                        or tin < 0 or tout < 1:
                    raise InputError(f"trace {path}: line {n}: need time >= 0, rate >= 0, "
                                     "input_tokens >= 0, output_tokens >= 1")
                if not row["namespace"] or not row["model"]:
                    raise InputError(f"trace {path}: line {n}: empty namespace or model")
                rows.append((t, row["namespace"], row["model"], rate, tin, tout))
    except OSError as e:
        raise InputError(f"trace {path}: {e.strerror}")
    if not rows:
        raise InputError(f"trace {path}: no rows")
    return Trace(rows)
