#!/usr/bin/env python3
"""Write the standard traces under scripts/sim/standard/traces/ (committed).

Run after changing a trace: python3 scripts/sim/make_traces.py
Each trace is a few lines here; the shapes are described in the README
("Simulate before you deploy").
"""
import math
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standard", "traces")
TOKENS = (2000, 300)    # mean input and output tokens (RAG-style chat)


def write(name, rows):
    with open(os.path.join(OUT, name + ".csv"), "w") as f:
        f.write("time,namespace,model,rate,input_tokens,output_tokens\n")
        for t, ns, model, rate in rows:
            f.write("%g,%s,%s,%.4g,%d,%d\n" % (t, ns, model, rate, TOKENS[0], TOKENS[1]))


def step():
    # 1 h at 10 req/s, then 5x at once for 2 h.
    m = ("team-a", "meta/llama-3.1-8b")
    return [(0, *m, 10), (3600, *m, 10), (3600, *m, 50), (10800, *m, 50)]


def diurnal():
    # 24 h, 4 req/s at night to 60 req/s in the afternoon, every 5 minutes.
    m = ("team-a", "meta/llama-3.1-8b")
    rows = []
    for k in range(0, 24 * 12 + 1):
        t = k * 300
        rows.append((t, *m, 4 + 56 * (1 - math.cos(2 * math.pi * t / 86400)) / 2))
    return rows


def bursty():
    # 3 h at 10 req/s with 4-minute bursts to 50 req/s every 20 minutes
    # (about six H100 cold starts apart), the first at minute 15.
    m = ("team-a", "meta/llama-3.1-8b")
    rows = [(0, *m, 10)]
    t = 900
    while t + 240 < 10800:
        rows += [(t, *m, 10), (t, *m, 50), (t + 240, *m, 50), (t + 240, *m, 10)]
        t += 1200
    rows.append((10800, *m, 10))
    return rows


def shortage():
    # Three models on 6 H100 and 8 L4 GPUs; together they want about 9 H100s
    # at their peaks (minutes 60-120).
    a, b, c = ("team-a", "chat-8b"), ("team-b", "code-8b"), ("team-c", "batch-8b")
    return [(0, *a, 20), (3600, *a, 20), (3600, *a, 60), (7200, *a, 60), (7200, *a, 20),
            (10800, *a, 20),
            (0, *b, 15), (2700, *b, 15), (2700, *b, 40), (8100, *b, 40), (8100, *b, 15),
            (10800, *b, 15),
            (0, *c, 30), (10800, *c, 30)]


def idle():
    # Active, idle past the 10-minute retention, active again, idle.
    m = ("team-a", "meta/llama-3.1-8b")
    return [(0, *m, 5), (2400, *m, 5), (2400, *m, 0), (5400, *m, 0), (5400, *m, 8),
            (7800, *m, 8), (7800, *m, 0), (10800, *m, 0)]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in (("step", step), ("diurnal", diurnal), ("bursty", bursty),
                     ("shortage", shortage), ("idle", idle)):
        write(name, fn())


if __name__ == "__main__":
    main()
