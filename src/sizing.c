/* sizing.c - how much capacity a model needs, from what it measured.
 *
 * Written like Kubernetes' replica calculator: a pure function, each
 * conservative assumption named where it is made.  The engine decides the
 * direction (the saturation analysis and the safety rules) and turns the
 * demand into LP rows; this file only measures the load.  It must not know
 * about Kubernetes objects, Prometheus or the solver.
 */
#include <math.h>

#include "wva/sizing.h"

static double nonneg(double x)
{
    return isfinite(x) && x > 0 ? x : 0;
}

void sizing_model_demand(const struct sizing_load *load, const struct sizing_params *params,
                         struct sizing_demand *out)
{
    double kv_used = nonneg(load->kv_used);
    double queue = nonneg(load->queue);
    double cover = isfinite(params->cover) && params->cover > 0 ? fmin(params->cover, 1) : 1;
    double drain = isfinite(params->drain_seconds) && params->drain_seconds > 0
                       ? params->drain_seconds : 60;
    double spare = nonneg(params->spare);

    *out = (struct sizing_demand){0};
    out->arrival_rate = NAN;
    /* Requests in service and completions per second say how long a
     * request holds its KV (Little: running / completions) and how much it
     * holds (kv_used / running).  Both must be known and positive: a model
     * that completes nothing tells nothing about its service time. */
    out->rate_known = isfinite(load->running) && isfinite(load->completion_rate) &&
                      load->running > 0 && load->completion_rate > 0;
    if (out->rate_known) {
        /* Assumption: a waiting request will hold what a request in service
         * holds (kv_used / running) for as long (running / completions).
         * Served within drain_seconds, the backlog needs that much more
         * capacity: the product does not depend on running.  The queue is
         * a stock: it is charged once, spread over the drain time, and
         * does not grow with each run while new replicas load, because
         * their capacity is counted by the caller. */
        out->backlog = queue * kv_used / (load->completion_rate * drain);
        /* Completions plus what waits, per drain time: what arrives when
         * the backlog is fresh; an upper estimate when it is older. */
        out->arrival_rate = load->completion_rate + queue / drain;
    }
    /* Assumption: KV usage grows in proportion to the requests served, so
     * sizing the peak of the last minute for the cover target leaves
     * kvSpareTrigger of headroom on every replica.  No extra tolerance on
     * scale-down: the one-minute peak already reads high, and the spare
     * keeps the model off the edge between two sizes. */
    out->capacity = (kv_used + out->backlog) / cover + spare;
}

int sizing_scale_down_step(int total)
{
    return total / 2 > 1 ? total / 2 : 1;
}

int sizing_max_growth(int total)
{
    return total > 4 ? total : 4;
}

int sizing_min_growth_target(int total, int starting)
{
    return starting > 0 ? 0 : total + 1;
}
