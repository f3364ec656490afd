#!/usr/bin/env python3
"""Tests of scripts/simulate: the serving model's own checks, then short
closed-loop runs with the real binary (WVA_BIN) asserting what issue 8 is
about: no growth while starting replicas cover the demand, no explosion
under a backlog, no flapping on a steady load.

    WVA_BIN=build/wva-optimizer python3 tests/sim/test_simulate.py
"""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "scripts"))

from sim import report  # noqa: E402
from sim.inputs import Trace, VariantSpec  # noqa: E402
from sim.policies import WvaOptimizer  # noqa: E402
from sim.run import EPOCH0, Scenario, simulate  # noqa: E402
from sim.serving import Cluster  # noqa: E402

H100 = {"name": "m-h100", "namespace": "team-a", "model": "m", "accelerator": "H100",
        "cost": 5.0, "gpus": 1, "kvTokens": 467264, "maxNumSeqs": 512,
        "secondsPerOutputToken": 0.035, "secondsPerInputToken": 0.00007, "coldStart": "3m",
        "initialReplicas": 1, "maxReplicas": 16}
L4 = {"name": "m-l4", "namespace": "team-a", "model": "m", "accelerator": "L4", "cost": 0.8,
      "gpus": 1, "kvTokens": 30000, "maxNumSeqs": 128, "secondsPerOutputToken": 0.05,
      "secondsPerInputToken": 0.0003, "coldStart": "4m", "initialReplicas": 1, "maxReplicas": 32}
TIN, TOUT = 2000, 300


def variant(base, **over):
    d = dict(base)
    d.update(over)
    return VariantSpec(d, "test")


def trace(points):
    """points: [(time, rate)] for team-a/m."""
    return Trace([(t, "team-a", "m", r, TIN, TOUT) for t, r in points])


class ServingModel(unittest.TestCase):
    def run_plain(self, cat, tr, seconds, actions=()):
        c = Cluster(cat, tr, 1.0, seed=3)
        todo = sorted(actions)
        while c.t < seconds:
            while todo and todo[0][0] <= c.t:
                _, name, n = todo.pop(0)
                c.apply({name: n})
            c.step()
        return c

    def test_no_load_no_queue(self):
        c = self.run_plain([variant(H100)], trace([(0, 0), (600, 0)]), 600)
        m = c.models[("team-a", "m")]
        self.assertEqual(max(m.h_backlog), 0.0)
        self.assertEqual(m.arrived[-1], 0.0)
        self.assertEqual(max(x for x in c.variants[0].h_kv if x is not None), 0.0)

    def test_overload_backlog_grows_at_the_excess_rate(self):
        spec = variant(H100)
        mu = spec.throughput(TIN, TOUT)
        lam = 2 * mu
        c = self.run_plain([spec], trace([(0, lam), (1200, lam)]), 1200)
        m = c.models[("team-a", "m")]
        # from t=300 (slots long full) to t=1200 the backlog grows by
        # (lam - mu) per second, Poisson noise aside
        grown = m.h_backlog[1199] - m.h_backlog[299]
        expect = (lam - mu) * 900
        self.assertLess(abs(grown - expect) / expect, 0.03, (grown, expect))
        # a full replica's KV usage is its slots' share of the cache
        kv = c.variants[0].h_kv[1199]
        self.assertAlmostEqual(kv, spec.slots(TIN, TOUT) * spec.resident_tokens(TIN, TOUT)
                               / spec.kv_tokens, places=6)

    def test_a_replica_serves_only_after_its_cold_start(self):
        spec = variant(H100, coldStart="120s")
        mu = spec.throughput(TIN, TOUT)
        c = self.run_plain([spec], trace([(0, 3 * mu), (600, 3 * mu)]), 600,
                           actions=[(10, "m-h100", 2)])
        vs = c.variants[0]
        self.assertEqual(max(vs.h_ready[:130]), 1)      # ready at 10 + 120
        self.assertEqual(vs.h_ready[135], 2)
        before = sum(vs.h_done[60:120]) / 60
        after = sum(vs.h_done[400:460]) / 60
        self.assertLess(before, 1.02 * mu)
        self.assertGreater(after, 1.9 * mu)
        # a removed replica stops taking requests at once (pending and
        # starting pods go first, then the youngest Ready one)
        c.apply({"m-h100": 1})
        self.assertEqual(len(vs.pods), 1)
        self.assertEqual(vs.pods[0].created, 0.0)

    def test_waits_follow_the_backlog(self):
        # FIFO: with a constant backlog B drained at mu, a request waits B / mu.
        spec = variant(H100)
        mu = spec.throughput(TIN, TOUT)
        c = self.run_plain([spec], trace([(0, 2 * mu), (300, 2 * mu), (300, mu * 0.5),
                                          (900, mu * 0.5)]), 900)
        m = c.models[("team-a", "m")]
        waits = report.model_waits(m, 1.0, c.t)
        peak_backlog = max(m.h_backlog)
        worst = max(w for _, _, w in waits)
        self.assertLess(abs(worst - peak_backlog / mu) / (peak_backlog / mu), 0.1)
        self.assertEqual(m.h_backlog[-1], 0.0)


@unittest.skipUnless(os.environ.get("WVA_BIN"), "WVA_BIN not set")
class ClosedLoop(unittest.TestCase):
    def loop(self, cat, tr, **kw):
        sc = Scenario("test", cat, tr, **kw)
        work = tempfile.mkdtemp(prefix="wva-simtest-")
        policy = WvaOptimizer(os.environ["WVA_BIN"], sc.interval, sc.settings(),
                              sc.configmaps(), work, EPOCH0)
        log = []
        decide = policy.decide

        def logged(cluster):
            out = decide(cluster)
            log.append((cluster.t, {vs.spec.name: (vs.replicas, vs.n_ready)
                                    for vs in cluster.variants}, out))
            return out
        policy.decide = logged
        cluster = simulate(sc, policy, 1)
        self.assertEqual(policy.failures, 0, policy.last_error)
        return cluster, log

    def test_no_growth_while_starting_replicas_cover_demand(self):
        # 10 -> 18 req/s on one H100 (20 req/s at most): saturated by the
        # KV rule, no queue.  One scale-up covers it; while that replica
        # loads (5 minutes, 5 runs) nothing more may be added.
        cat = [variant(H100, coldStart="5m")]
        cluster, log = self.loop(cat, trace([(0, 10), (600, 10), (600, 18), (1800, 18)]))
        ups = [(t, out) for t, cur, out in log if out.get("m-h100", 0) > cur["m-h100"][0]]
        self.assertTrue(ups, "the step was not answered")
        first = ups[0][0]
        for t, cur, out in log:
            if first < t and cur["m-h100"][1] < cur["m-h100"][0]:
                self.assertLessEqual(out.get("m-h100", cur["m-h100"][0]), cur["m-h100"][0],
                                     "grew at t=%d while replicas were starting" % t)

    def test_no_explosion_under_a_backlog(self):
        # 5x at once on L4 + H100: the backlog is a stock; at most a few
        # times the replicas the new load needs (4 H100), far below the caps
        # (the old queue row reached maxReplicas of both variants).
        cat = [variant(L4), variant(H100)]
        cluster, log = self.loop(cat, trace([(0, 10), (600, 10), (600, 50), (2400, 50)]))
        peak_gpus = max(sum(r for r, _ in cur.values()) for _, cur, _ in log)
        self.assertLessEqual(peak_gpus, 12, log)
        # and it does serve the step: the backlog is gone well before the end
        self.assertEqual(cluster.models[("team-a", "m")].h_backlog[-1], 0.0)

    def test_no_flapping_on_a_steady_load(self):
        cat = [variant(L4), variant(H100)]
        cluster, log = self.loop(cat, trace([(0, 25), (3600, 25)]))
        late = [(t, out) for t, cur, out in log
                if t >= 900 and any(out.get(n, r) != r for n, (r, _) in cur.items())]
        self.assertEqual(late, [], "scale actions on a steady load after 15 minutes")
        changes = cluster.capacity_changes[("team-a", "m")]
        self.assertLessEqual(report.reversals(changes), 1, changes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
