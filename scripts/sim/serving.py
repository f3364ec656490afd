"""The fluid serving model: vLLM replicas, their pods, GPUs, and requests.

Each model has one FIFO backlog in front of all its ready replicas (the
gateway balances perfectly).  At every step of dt seconds (<= 5):

  arrivals   Poisson(rate * dt) requests join the backlog (seeded RNG);
  service    a variant's R requests in service complete at R / T per second
             (T = its service time for the current mean tokens: output
             tokens x decode time per token + input tokens x prefill time);
  admission  the backlog moves into free slots of ready replicas; a
             replica holds min(maxNumSeqs, kvTokens / resident tokens)
             requests, resident = input + output/2 tokens;
  KV usage   per pod = requests in service x resident / kvTokens;
  queue      the backlog, spread over ready pods in proportion to their
             slots (vLLM's waiting queue); with no ready pod it waits at
             the gateway (the gateway queue metric).

So throughput is capacity-limited, a backlog carries over, and waiting
time follows from the backlog (FIFO: computed afterwards from cumulative
arrivals and admissions).  Pods: a new replica is Pending until its
accelerator has free GPUs (only with a GPU inventory), then starting for
its variant's cold start, then Ready; a removed replica stops taking
requests at once (pending, then starting, then the newest ready pods go
first, as a ReplicaSet picks) and its requests in service drain.

Left out, on purpose: batch-size dependent latency (service time is taken
at full batch), prefill/decode interference and chunked prefill,
preemption and recomputation, prefix caching, per-pod imbalance and
routing mistakes, request timeouts, retries and drops, node provisioning
time, image caches, failures.
"""
import math
import random

SCRAPE_INTERVAL = 15.0  # seconds between Prometheus scrapes of a pod


class Pod:
    __slots__ = ("name", "created", "scheduled", "ready_at", "node")

    def __init__(self, name, created):
        self.name = name
        self.created = created
        self.scheduled = None       # time it got its GPUs, None = Pending
        self.ready_at = None
        self.node = None

    def ready(self, t):
        return self.ready_at is not None and t >= self.ready_at


class VariantState:
    def __init__(self, spec, pod_hash):
        self.spec = spec
        self.hash = pod_hash
        self.replicas = 0           # Deployment spec.replicas
        self.pods = []
        self.running = 0.0          # requests in service (fluid)
        self.counter = 0
        self.n_ready = 0
        # per-step history, for the Prometheus-like windows
        self.h_kv, self.h_queue, self.h_running, self.h_done, self.h_ready = [], [], [], [], []
        self.h_replicas = []

    def new_pod(self, t):
        self.counter += 1
        return Pod(f"{self.spec.name}-{self.hash}-{self.counter:05x}", t)


class ModelState:
    def __init__(self, key):
        self.key = key
        self.variants = []
        self.backlog = 0.0
        self.arrived = [0.0]        # cumulative, one entry per step boundary
        self.admitted = [0.0]
        self.done_total = 0.0
        self.h_rate, self.h_backlog, self.h_done = [], [], []
        self.priority = 0


class Cluster:
    """The simulated cluster under one policy."""

    def __init__(self, catalogue, trace, dt, seed, gpus=None, start_replicas=None):
        if not 0 < dt <= 5:
            raise ValueError("dt must be in (0, 5] seconds")
        self.dt = dt
        self.trace = trace
        self.rng = random.Random(seed)
        self.gpus = dict(gpus) if gpus else None       # accelerator -> GPUs, None = unlimited
        self.t = 0.0
        self.step_index = 0
        self.variants = []
        self.models = {}
        for i, spec in enumerate(catalogue):
            vs = VariantState(spec, "%x" % (0x6c000 + i * 0x111))
            self.variants.append(vs)
            m = self.models.setdefault(spec.key, ModelState(spec.key))
            m.variants.append(vs)
            m.priority = max(m.priority, spec.priority)
        for key in trace.models:
            self.models.setdefault(key, ModelState(key))
        self.gpu_hours = {}         # accelerator -> GPU-hours
        self.cost = 0.0
        self.actions = 0            # Deployment scale changes
        self.capacity_changes = {k: [] for k in self.models}   # per model: signs
        for vs in self.variants:
            n = vs.spec.initial if start_replicas is None else start_replicas.get(vs.spec.name, 0)
            self.scale(vs, n, warm=True)

    # ---- replicas and pods ----

    def scale(self, vs, n, warm=False):
        """Set a Deployment's replicas (warm: the pods are Ready at once)."""
        n = max(0, int(n))
        if n == vs.replicas and not warm:
            return
        if not warm:
            self.actions += 1
        while len(vs.pods) < n:
            pod = vs.new_pod(self.t)
            if warm and (self.gpus is None or
                         self.gpus_in_use(vs.spec.accelerator) + vs.spec.gpus
                         <= self.gpus.get(vs.spec.accelerator, 0) + 1e-9):
                pod.scheduled = self.t
                pod.ready_at = self.t
                pod.node = self._node_for(vs.spec)
            vs.pods.append(pod)
        if len(vs.pods) > n:
            # A ReplicaSet deletes unscheduled, then not-ready, then the
            # youngest pods first.
            def rank(p):
                return (0 if p.scheduled is None else 1 if not p.ready(self.t) else 2, -p.created)
            vs.pods.sort(key=rank)
            del vs.pods[:len(vs.pods) - n]
            vs.pods.sort(key=lambda p: p.created)
        vs.replicas = n
        self._schedule()

    def apply(self, targets):
        """Apply one decision {variant name: replicas}.  A model's capacity
        change is recorded once per decision (its KV tokens over all
        variants), so moving load between accelerators is no reversal."""
        by_name = {vs.spec.name: vs for vs in self.variants}
        keys = {by_name[n].spec.key for n in targets if n in by_name}
        before = {k: self.capacity_tokens(k) for k in keys}
        for name, n in sorted(targets.items()):
            if name in by_name:
                self.scale(by_name[name], n)
        for k in keys:
            after = self.capacity_tokens(k)
            if after != before[k]:
                self.capacity_changes[k].append((self.t, 1 if after > before[k] else -1))

    def capacity_tokens(self, key):
        return sum(v.replicas * v.spec.kv_tokens for v in self.models[key].variants)

    def _node_for(self, spec):
        return "node-%s-0" % spec.accelerator.lower()

    def gpus_in_use(self, accelerator):
        return sum(p.scheduled is not None and v.spec.gpus or 0
                   for v in self.variants if v.spec.accelerator == accelerator for p in v.pods)

    def _schedule(self):
        """Give Pending pods GPUs, oldest first, while the inventory lasts."""
        pending = sorted(((p.created, v, p) for v in self.variants for p in v.pods
                          if p.scheduled is None), key=lambda x: (x[0], x[2].name))
        if not pending:
            return
        used = {}
        if self.gpus is not None:
            for v in self.variants:
                for p in v.pods:
                    if p.scheduled is not None:
                        used[v.spec.accelerator] = used.get(v.spec.accelerator, 0) + v.spec.gpus
        for _, v, p in pending:
            acc = v.spec.accelerator
            if self.gpus is not None:
                if used.get(acc, 0) + v.spec.gpus > self.gpus.get(acc, 0) + 1e-9:
                    continue
                used[acc] = used.get(acc, 0) + v.spec.gpus
            p.scheduled = self.t
            p.ready_at = self.t + v.spec.cold_start
            p.node = self._node_for(v.spec)

    # ---- one step of serving ----

    def step(self):
        dt, t = self.dt, self.t
        self._schedule()
        for vs in self.variants:
            vs.n_ready = sum(1 for p in vs.pods if p.ready(t))
            scheduled = sum(1 for p in vs.pods if p.scheduled is not None)
            self.cost += scheduled * vs.spec.cost * dt / 3600.0
            self.gpu_hours[vs.spec.accelerator] = (self.gpu_hours.get(vs.spec.accelerator, 0.0)
                                                   + scheduled * vs.spec.gpus * dt / 3600.0)
        for m in self.models.values():
            rate, tin, tout = self.trace.at(m.key, t + dt / 2)
            lam = rate * dt
            arrivals = _poisson(self.rng, lam) if lam > 0 else 0
            m.backlog += arrivals
            m.arrived.append(m.arrived[-1] + arrivals)
            done_model = 0.0
            free = []
            for vs in m.variants:
                spec = vs.spec
                T = spec.service_time(tin, tout)
                # Little's law: R requests each in service for T seconds
                # complete at R / T per second.
                done = min(vs.running, vs.running * dt / T)
                vs.running -= done
                done_model += done
                vs.h_done.append(done)
                cap = vs.n_ready * spec.slots(tin, tout)
                free.append(max(0.0, cap - vs.running))
            total_free = sum(free)
            admit = min(m.backlog, total_free)
            if admit > 0:
                for vs, f in zip(m.variants, free):
                    vs.running += admit * f / total_free
            m.backlog -= admit
            if m.backlog < 1e-9:
                m.backlog = 0.0
            m.admitted.append(m.admitted[-1] + admit)
            m.done_total += done_model
            m.h_rate.append(rate)
            m.h_backlog.append(m.backlog)
            m.h_done.append(done_model)
            slots_total = sum(vs.n_ready * vs.spec.slots(tin, tout) for vs in m.variants)
            for vs in m.variants:
                spec = vs.spec
                if vs.n_ready > 0:
                    res = spec.resident_tokens(tin, tout)
                    per_pod = vs.running / vs.n_ready
                    vs.h_kv.append(min(1.0, per_pod * res / spec.kv_tokens))
                    vs.h_running.append(per_pod)
                    share = vs.n_ready * spec.slots(tin, tout) / slots_total
                    vs.h_queue.append(m.backlog * share / vs.n_ready)
                else:
                    vs.h_kv.append(None)
                    vs.h_running.append(None)
                    vs.h_queue.append(None)
                vs.h_ready.append(vs.n_ready)
                vs.h_replicas.append(vs.replicas)
        self.step_index += 1
        self.t = self.step_index * dt

    # ---- what Prometheus would answer (windows over the last seconds) ----

    def window(self, seconds):
        n = max(1, int(round(seconds / self.dt)))
        return slice(max(0, self.step_index - n), self.step_index)

    def pod_view(self, vs, seconds=60.0, since=None):
        """Per-pod series of a variant's ready pods over the last window
        (from `since` on, when the pod became Ready later): peak KV, peak
        queue, mean running, completions per second per pod.  None when no
        pod of the variant was ready in it."""
        w = self.window(seconds)
        start = w.start
        if since is not None:
            start = max(start, min(w.stop - 1, int(since / self.dt + 1e-9)))
        w = slice(start, w.stop)
        # Gauges are seen as Prometheus scrapes them: one sample every
        # SCRAPE_INTERVAL seconds; the peak is max_over_time of those.
        every = max(1, int(round(SCRAPE_INTERVAL / self.dt)))
        first = -(-w.start // every) * every
        kv = [x for x in vs.h_kv[first:w.stop:every] if x is not None]
        q = [x for x in vs.h_queue[first:w.stop:every] if x is not None]
        if not kv:
            kv = [x for x in vs.h_kv[w] if x is not None][-1:]
            q = [x for x in vs.h_queue[w] if x is not None][-1:]
        if not kv:
            return None
        run = [x for x in vs.h_running[w] if x is not None]
        ready = vs.h_ready[w]
        done = vs.h_done[w]
        pod_seconds = sum(ready) * self.dt
        return {
            "kv": max(kv), "queue": max(q), "running": sum(run) / len(run),
            "rate": sum(done) / pod_seconds if pod_seconds > 0 else 0.0,
            "kv_now": self.scraped(vs.h_kv),
        }

    def scraped(self, series):
        """The latest scraped sample of a per-step series (None = none)."""
        every = max(1, int(round(SCRAPE_INTERVAL / self.dt)))
        i = (self.step_index - 1) // every * every
        return series[i] if 0 <= i < len(series) else None

    def gateway_queue(self, m):
        """Requests held at the gateway: the backlog while no replica is ready."""
        return m.backlog if all(vs.n_ready == 0 for vs in m.variants) else 0.0

    def completions(self, m, seconds):
        w = self.window(seconds)
        return sum(m.h_done[w])


def _poisson(rng, lam):
    """A Poisson sample (Knuth for small means, a rounded normal above 30)."""
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
