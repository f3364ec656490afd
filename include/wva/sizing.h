/* sizing.h - how much capacity a model needs (SPEC section 6), as a pure
 * function of what its replicas measured.
 *
 * Capacity is in the model's capacity units (replicas of its mean
 * per-replica KV capacity, see engine.c); demand comes back in the same
 * units.  No I/O, no knowledge of Kubernetes, Prometheus or the LP: the
 * engine gathers the measurements and turns the demand into LP rows.
 */
#ifndef WVA_SIZING_H
#define WVA_SIZING_H

#include <stdbool.h>

/* A backlog is charged over this many optimization intervals.  A snapshot
 * shows the queue's level, not its growth: a queue that kept growing while
 * earlier replicas loaded reads, at every run, as fresh arrivals again.
 * Measured with scripts/simulate (README, "Simulate before you deploy"):
 * over one interval a 4-minute burst ordered 14 H100s for a load that
 * needs 4, and the bursty trace cost 1.4x HPA's; over three it costs
 * 1.04x at a better SLO, and the 5x step still recovers in about 7.5
 * minutes (HPA: 11). */
#define WVA_SIZING_DRAIN_INTERVALS 3

/* What a model's measured replicas (Ready pods with KV and queue series)
 * report, summed over them. */
struct sizing_load {
    double kv_used;         /* peak KV usage x capacity, in capacity units */
    double queue;           /* peak waiting requests */
    double running;         /* requests in service; NaN = unknown */
    double completion_rate; /* completions per second; NaN = unknown */
};

struct sizing_params {
    double cover;           /* mean KV usage to size for, in (0, 1]:
                             * kvCacheThreshold - kvSpareTrigger */
    double drain_seconds;   /* a backlog is to be served within this, > 0
                             * (the optimization interval) */
    double spare;           /* capacity units kept free beyond demand, >= 0 */
};

struct sizing_demand {
    bool rate_known;        /* running and completion_rate usable */
    double arrival_rate;    /* completions + backlog / drain_seconds, req/s;
                             * NaN when not rate_known */
    double backlog;         /* capacity units the waiting requests occupy
                             * over the drain time; 0 when not rate_known */
    double capacity;        /* capacity that covers the demand at the cover
                             * target, plus the spare: what a scale-up
                             * grows to and a scale-down keeps */
};

/* The model's demand.  Assumptions, each where it is made in sizing.c:
 * the KV in use measures the requests in service; a waiting request will
 * hold what a request in service holds for as long (so the queue is a
 * stock served over drain_seconds, never a flow); without running and
 * completion figures the queue adds nothing here (the caller's minimum
 * step still grows a saturated model).  Never fails; negative or NaN
 * inputs read as 0 except where NaN means unknown. */
void sizing_model_demand(const struct sizing_load *load, const struct sizing_params *params,
                         struct sizing_demand *out);

/* Replicas a scale-down may remove from a variant of `total` replicas in
 * one run: half of them, at least one (like an HPA scale-down policy of
 * 50% per period), so a model far above its demand is back in a few runs
 * (log2) without dropping everything on one reading. */
int sizing_scale_down_step(int total);

/* Most replicas a model of `total` replicas may gain in one run: as many
 * as it has, at least 4 (HPA's default scale-up policy).  What a backlog
 * says is an estimate; doubling per run reaches any size in a few runs
 * while new replicas report what they really serve. */
int sizing_max_growth(int total);

/* Least replicas a model that should scale up must reach: one more than it
 * runs when no replica is starting; none forced while some are starting
 * (their capacity counts; only demand beyond it grows the model). */
int sizing_min_growth_target(int total, int starting);

#endif
