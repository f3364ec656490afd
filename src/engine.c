/* engine.c - one optimization cycle over a snapshot.
 *
 * The pipeline: filter VAs (filter.c), resolve ConfigMaps (configmaps.c),
 * join metrics (observe.c), analyse each model (analyze.c), translate the
 * analysis into LP bounds and demands, solve (solver.c), and describe every
 * decision in the plan (plan.c).  This file holds the policy that links
 * them: the direction rule, scale-to/from-zero, the stabilization window,
 * GPU inventory, and the reasons people read; how much capacity a model
 * needs is sizing.c's.  It performs no I/O.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wva/analyze.h"
#include "wva/configmaps.h"
#include "wva/engine.h"
#include "wva/filter.h"
#include "wva/observe.h"
#include "wva/sizing.h"
#include "wva/solver.h"
#include "wva/strbuf.h"
#include "wva/strmap.h"
#include "wva/values.h"

/* Fewer than this many successful requests in the retention period counts
 * as "no successful request" (increase() may return tiny non-zero values
 * through extrapolation). */
#define IDLE_REQUEST_COUNT 0.5
/* A variant whose KV capacity nobody measured is assumed to cost this much
 * more per token than the model's dearest measured variant, so the LP
 * never prefers it on a guess (see assign_capacities). */
#define UNMEASURED_COST_FACTOR 1.1

enum direction {
    DIR_HOLD,
    DIR_UP,
    DIR_DOWN,
    DIR_TO_ZERO,
    DIR_FROM_ZERO,
    DIR_NO_METRICS,
};

struct model_work {
    const char *ns;
    const char *model_id;
    size_t *members;            /* indexes into variants */
    size_t members_count;
    struct wva_thresholds thresholds;
    struct wva_scale_to_zero scale_to_zero;
    struct wva_analysis analysis;
    bool analyzed;
    enum direction dir;
    char why[320];              /* the model-level part of every reason */
    int priority;
    double capacity_unit;       /* mean capacity per replica of known members */
    double kv_demand;           /* in capacity units */
    double replica_demand;
    double capacity_now;        /* in capacity units */
    int starting;               /* replicas not Ready, over all members */
    size_t solver_model;
};

struct variant_work {
    size_t model;               /* index into models, (size_t)-1 when skipped */
    bool known;                 /* takes part in the model's rows */
    double capacity;            /* per replica, in the model's capacity unit */
    int lower, upper;
    int target;
    int accelerator;            /* index into accelerators, -1 = none */
    char note[160];             /* variant-level part of the reason */
};

struct cycle {
    const struct wva_snapshot *snap;
    const struct wva_settings *settings;
    const struct engine_history *history;
    struct wva_filter_params params;
    struct wva_variant *variants;
    size_t variants_count;
    struct variant_work *vw;
    struct model_work *models;
    size_t models_count;
    struct wva_strmap *tracked;
    struct wva_config *config;
    struct wva_observer *obs;
    char **accelerators;
    size_t accelerators_count;
    double *gpus_available;
    struct solver_result result;
    struct wva_plan *plan;
};

double engine_now(void)
{
    return values_monotonic_seconds();
}

/* ---- namespaces whose local ConfigMaps count (SPEC section 5) ---- */

static bool namespace_tracked(const char *ns, void *ctx)
{
    const struct cycle *c = ctx;

    return strmap_get(c->tracked, ns, NULL);
}

static void find_tracked_namespaces(struct cycle *c)
{
    const struct wva_snapshot *snap = c->snap;

    c->tracked = strmap_new(snap->namespaces_count + 16);
    for (size_t i = 0; i < snap->vas_count; i++) {
        const char *ns = snap->vas[i].namespace_name;
        if (filter_namespace_tracked(snap, &c->params, ns, true))
            strmap_put(c->tracked, ns, 0);
    }
    /* The namespaces with VAs are in already; these may add labelled ones. */
    for (size_t i = 0; i < snap->namespaces_count; i++) {
        const char *ns = snap->namespaces[i].name;
        if (filter_namespace_tracked(snap, &c->params, ns, false))
            strmap_put(c->tracked, ns, 0);
    }
}

/* ---- grouping variants into models ---- */

static int compare_models(const void *a, const void *b)
{
    const struct model_work *x = a, *y = b;
    int r = strcmp(x->ns, y->ns);

    return r ? r : strcmp(x->model_id, y->model_id);
}

static void group_models(struct cycle *c)
{
    struct wva_strmap *index = strmap_new(c->variants_count);
    size_t m;

    c->models = wva_xcalloc(c->variants_count + 1, sizeof(*c->models));
    for (size_t i = 0; i < c->variants_count; i++) {
        const struct wva_variant *v = &c->variants[i];
        c->vw[i].model = (size_t)-1;
        c->vw[i].accelerator = -1;
        if (v->skip != WVA_SKIP_NONE)
            continue;
        /* the whole model ID is the key: IDs may be long and differ only at the end */
        if (!strmap_get2(index, v->va->namespace_name, v->va->model_id, &m)) {
            m = c->models_count++;
            strmap_put2(index, v->va->namespace_name, v->va->model_id, m);
            c->models[m].ns = v->va->namespace_name;
            c->models[m].model_id = v->va->model_id;
            c->models[m].priority = v->va->priority;
        }
        struct model_work *mw = &c->models[m];
        mw->members = wva_xrealloc(mw->members, (mw->members_count + 1) * sizeof(size_t));
        mw->members[mw->members_count++] = i;
        if (v->va->priority > mw->priority)
            mw->priority = v->va->priority;
    }
    strmap_free(index);
    qsort(c->models, c->models_count, sizeof(*c->models), compare_models);
    for (m = 0; m < c->models_count; m++)
        for (size_t k = 0; k < c->models[m].members_count; k++)
            c->vw[c->models[m].members[k]].model = m;
}

/* ---- per-model policy ---- */

static int clamp_replicas(const struct wva_va *va, int replicas)
{
    if (replicas < va->min_replicas)
        replicas = va->min_replicas;
    if (va->max_replicas >= 0 && replicas > va->max_replicas)
        replicas = va->max_replicas;
    return replicas;
}

/* A scale-up recommendation newer than the stabilization window forbids a
 * scale-down.  From the history store when there is one; otherwise from
 * the VA status: a desired count above the current one, written within the
 * window, is such a recommendation. */
static bool recent_scale_up(const struct cycle *c, const struct model_work *mw, double *age)
{
    double now = c->snap->captured_at_epoch;
    double window = mw->thresholds.scale_down_stabilization;
    double newest = -1;

    if (c->history && c->history->last_scale_up)
        newest = c->history->last_scale_up(mw->ns, mw->model_id, c->history->ctx);
    for (size_t k = 0; k < mw->members_count; k++) {
        const struct wva_variant *v = &c->variants[mw->members[k]];
        if (v->va->status_desired_replicas > v->current_replicas &&
            v->va->status_last_run_time > newest)
            newest = v->va->status_last_run_time;
    }
    if (newest < 0 || now - newest >= window)
        return false;
    *age = now - newest;
    return true;
}

/* Per-replica demand from each spec.metrics target of the model's VAs:
 * the summed series over the model's pods divided by the target.  Returns
 * false when a declared series is missing (then the model must not shrink). */
static bool custom_demand(const struct cycle *c, const struct model_work *mw, double *demand)
{
    bool all_known = true;

    *demand = 0;
    for (size_t k = 0; k < mw->members_count; k++) {
        const struct wva_va *va = c->variants[mw->members[k]].va;
        for (size_t t = 0; t < va->metrics_count; t++) {
            double total = 0, part;
            bool known = false;
            for (size_t j = 0; j < mw->members_count; j++) {
                if (!c->vw[mw->members[j]].known)
                    continue;
                if (observe_custom_total(c->obs, mw->members[j], va->metrics[t].name, &part)) {
                    total += part;
                    known = true;
                }
            }
            if (!known) {
                all_known = false;
                continue;
            }
            if (total / va->metrics[t].target > *demand)
                *demand = total / va->metrics[t].target;
        }
    }
    return all_known;
}

static void mark_metrics_unavailable(struct cycle *c, struct model_work *mw, const char *why)
{
    mw->dir = DIR_NO_METRICS;
    snprintf(mw->why, sizeof(mw->why), "%s", why);
    for (size_t k = 0; k < mw->members_count; k++) {
        struct wva_variant *v = &c->variants[mw->members[k]];
        v->skip = WVA_SKIP_METRICS_UNAVAILABLE;
        free(v->skip_message);
        v->skip_message = wva_xstrdup(why);
        c->vw[mw->members[k]].known = false;
    }
}

/* Capacity per replica in KV tokens (num_gpu_blocks x block_size), then
 * expressed in the model's capacity unit (the mean of its known members).
 * A member whose pods do not report it (none running, or all starting) is
 * assumed to hold the mean of the measured ones, but never to be cheaper
 * per token than the dearest measured one: a guess must not win the LP
 * (its starting replicas still count).  With no measurement at all, every
 * member counts the same (SPEC section 6). */
static void assign_capacities(struct cycle *c, struct model_work *mw)
{
    double sum_tokens = 0, dearest = 0, sum = 0;
    size_t measured = 0, n = 0;
    bool priced = true;

    for (size_t k = 0; k < mw->members_count; k++) {
        size_t i = mw->members[k];
        double tokens = observe_variant(c->obs, i)->capacity_tokens;
        double cost = c->variants[i].va->variant_cost;
        if (tokens <= 0)
            continue;
        sum_tokens += tokens;
        measured++;
        if (cost > 0 && cost / tokens > dearest)
            dearest = cost / tokens;
        if (!(cost > 0))
            priced = false;
    }
    for (size_t k = 0; k < mw->members_count; k++) {
        size_t i = mw->members[k];
        double tokens = observe_variant(c->obs, i)->capacity_tokens;
        double cost = c->variants[i].va->variant_cost;
        if (measured == 0) {
            c->vw[i].capacity = 1;
        } else if (tokens > 0) {
            c->vw[i].capacity = tokens;
        } else {
            double guess = sum_tokens / (double)measured;
            if (priced && dearest > 0 && cost > 0)
                guess = fmin(guess, cost / (dearest * UNMEASURED_COST_FACTOR));
            c->vw[i].capacity = guess;
        }
        if (c->vw[i].known) {
            sum += c->vw[i].capacity;
            n++;
        }
    }
    mw->capacity_unit = n ? sum / (double)n : 1;
    for (size_t k = 0; k < mw->members_count; k++)
        c->vw[mw->members[k]].capacity /= mw->capacity_unit;
}

static void set_bounds(struct cycle *c, struct model_work *mw)
{
    int limit = mw->thresholds.max_scale_up_per_run;

    for (size_t k = 0; k < mw->members_count; k++) {
        size_t i = mw->members[k];
        const struct wva_variant *v = &c->variants[i];
        struct variant_work *w = &c->vw[i];
        int cur = v->current_replicas;
        int clamped = clamp_replicas(v->va, cur);

        if (!w->known || mw->dir == DIR_NO_METRICS) {
            /* Missing information: keep exactly what runs now. */
            w->lower = w->upper = cur;
            continue;
        }
        switch (mw->dir) {
        case DIR_UP:
        case DIR_FROM_ZERO:
            w->lower = clamped;
            w->upper = v->va->max_replicas >= 0 ? v->va->max_replicas : WVA_SOLVER_UNBOUNDED;
            if (limit > 0 && (w->upper == WVA_SOLVER_UNBOUNDED || w->upper > w->lower + limit))
                w->upper = w->lower + limit;
            break;
        case DIR_DOWN:
            /* The step limit is per variant, not a count row over the
             * model: a count row would keep many small replicas instead of
             * a few large ones. */
            w->lower = clamped - sizing_scale_down_step(clamped);
            if (w->lower < v->va->min_replicas)
                w->lower = v->va->min_replicas;
            w->upper = clamped;
            break;
        case DIR_TO_ZERO:
            w->lower = v->va->min_replicas;
            w->upper = clamped;
            break;
        default:
            w->lower = w->upper = clamped;
            break;
        }
    }
}

/* A variant takes part in its model's rows when its pods report load, when
 * it has no replica, or when every replica is still starting (not Ready:
 * vLLM is not serving yet, so there is nothing to report, and their
 * capacity is on its way).  A variant with Ready pods that report nothing
 * is unknown: it holds. */
static bool variant_known(const struct wva_variant *v, const struct wva_variant_metrics *vm)
{
    int cur = v->current_replicas;

    return vm->loads_count > 0 || cur == 0 || (v->ready_replicas <= 0 && cur > 0);
}

static void decide_model(struct cycle *c, struct model_work *mw)
{
    const struct wva_thresholds *t = &mw->thresholds;
    struct wva_replica_load *loads = NULL;
    size_t loads_count = 0;
    int total = 0, known_total = 0;
    size_t silent_pods = 0;     /* running pods of measured variants without metrics */
    bool any_measured = false;
    double kv_load = 0, queue_load = 0, requests = 0, gateway = 0, age = 0;
    double running = 0, completions = 0;

    config_thresholds(c->config, mw->ns, mw->model_id, &mw->thresholds);
    config_scale_to_zero(c->config, mw->ns, mw->model_id, &mw->scale_to_zero);

    for (size_t k = 0; k < mw->members_count; k++) {
        size_t i = mw->members[k];
        const struct wva_variant *v = &c->variants[i];
        const struct wva_variant_metrics *vm = observe_variant(c->obs, i);
        int cur = v->current_replicas;
        total += cur;
        if (cur > v->ready_replicas)
            mw->starting += cur - (v->ready_replicas > 0 ? v->ready_replicas : 0);
        c->vw[i].known = variant_known(v, vm);
        if (vm->loads_count > 0) {
            any_measured = true;
            silent_pods += vm->pods_count - vm->loads_count;
        } else if (c->vw[i].known) {
            /* All starting: their capacity counts, and like any pod
             * without metrics they forbid a scale-down (a readyReplicas
             * that lags must not let the model shrink on unknown load). */
            silent_pods += vm->pods_count;
        }
    }

    if (c->snap->metrics.prometheus_error) {
        char why[300];
        snprintf(why, sizeof(why), "Prometheus error: %.200s; holding replicas",
                 c->snap->metrics.prometheus_error);
        mark_metrics_unavailable(c, mw, why);
        return;
    }
    if (total > 0 && !any_measured) {
        char why[300];
        if (mw->starting >= total)
            snprintf(why, sizeof(why), "no usable metrics for model %.200s: all %d replica(s) "
                     "still starting; holding replicas", mw->model_id, total);
        else
            snprintf(why, sizeof(why), "no usable metrics for model %.200s; holding replicas",
                     mw->model_id);
        mark_metrics_unavailable(c, mw, why);
        return;
    }
    assign_capacities(c, mw);

    /* Gather the measured load in capacity units. */
    for (size_t k = 0; k < mw->members_count; k++) {
        size_t i = mw->members[k];
        const struct wva_variant_metrics *vm = observe_variant(c->obs, i);
        if (!c->vw[i].known)
            continue;
        known_total += c->variants[i].current_replicas;
        /* Starting replicas count as capacity (SPEC section 6). */
        mw->capacity_now += c->vw[i].capacity * c->variants[i].current_replicas;
        loads = wva_xrealloc(loads, (loads_count + vm->loads_count + 1) * sizeof(*loads));
        for (size_t r = 0; r < vm->loads_count; r++) {
            loads[loads_count++] = vm->loads[r];
            kv_load += vm->loads[r].kv * c->vw[i].capacity;
            queue_load += vm->loads[r].queue;
        }
        running += vm->running;
        completions += vm->completion_rate;
    }

    if (total == 0) {
        bool queued = observe_gateway_queue(c->obs, mw->ns, mw->model_id, &gateway) &&
                      gateway > 0;
        if (!mw->scale_to_zero.enabled) {
            mw->dir = DIR_FROM_ZERO;
            snprintf(mw->why, sizeof(mw->why),
                     "model has no replica and scale-to-zero is off: model minimum of 1");
        } else if (queued) {
            mw->dir = DIR_FROM_ZERO;
            snprintf(mw->why, sizeof(mw->why), "scale from zero: gateway queue %.6g", gateway);
        } else {
            mw->dir = DIR_HOLD;
            snprintf(mw->why, sizeof(mw->why), "scaled to zero; gateway queue %s",
                     gateway > 0 ? "unknown" : "empty");
        }
        mw->replica_demand = mw->dir == DIR_FROM_ZERO ? 1 : 0;
        goto bounds;
    }

    analyze_model(loads, loads_count, t, &mw->analysis);
    mw->analyzed = true;

    if (mw->scale_to_zero.enabled &&
        observe_request_count(c->obs, mw->ns, mw->model_id, &requests) &&
        requests < IDLE_REQUEST_COUNT) {
        char period[32];
        snprintf(period, sizeof(period), "%.0fs", mw->scale_to_zero.retention_period);
        mw->dir = DIR_TO_ZERO;
        snprintf(mw->why, sizeof(mw->why),
                 "scale to zero: no successful request in the retention period (%s)", period);
        goto bounds;
    }

    double custom = 0;
    bool custom_known = custom_demand(c, mw, &custom);
    struct sizing_load load = {kv_load, queue_load, running, completions};
    struct sizing_params params = {t->kv_cache_threshold - t->kv_spare_trigger,
                                   WVA_SIZING_DRAIN_INTERVALS * c->settings->global_opt_interval,
                                   t->spare_replicas};
    struct sizing_demand demand;
    sizing_model_demand(&load, &params, &demand);

    if (mw->analysis.should_scale_up) {
        mw->dir = DIR_UP;
        mw->kv_demand = demand.capacity;
        mw->replica_demand = fmax(sizing_min_growth_target(known_total, mw->starting), custom);
        int n = snprintf(mw->why, sizeof(mw->why), "saturated: avgSpareKv %.3g %s kvSpareTrigger "
                         "%.3g, avgSpareQueue %.3g %s queueSpareTrigger %.3g",
                         mw->analysis.avg_spare_kv,
                         mw->analysis.avg_spare_kv < t->kv_spare_trigger ? "<" : ">=",
                         t->kv_spare_trigger, mw->analysis.avg_spare_queue,
                         mw->analysis.avg_spare_queue < t->queue_spare_trigger ? "<" : ">=",
                         t->queue_spare_trigger);
        if (mw->starting > 0 && n > 0 && (size_t)n < sizeof(mw->why))
            snprintf(mw->why + n, sizeof(mw->why) - (size_t)n, "; %d replica(s) starting count "
                     "as capacity", mw->starting);
    } else if (mw->analysis.scale_down_safe && recent_scale_up(c, mw, &age)) {
        mw->dir = DIR_HOLD;
        snprintf(mw->why, sizeof(mw->why), "scale-down held: a scale-up was recommended %.0fs ago, "
                 "inside the %.0fs stabilization window", age, t->scale_down_stabilization);
    } else if (mw->analysis.scale_down_safe && silent_pods > 0) {
        /* The load of a pod without metrics is unknown, not zero. */
        mw->dir = DIR_HOLD;
        snprintf(mw->why, sizeof(mw->why),
                 "scale-down held: %zu pod(s) of the model report no usable metrics",
                 silent_pods);
    } else if (mw->analysis.scale_down_safe && !custom_known) {
        mw->dir = DIR_HOLD;
        snprintf(mw->why, sizeof(mw->why),
                 "scale-down held: a spec.metrics series is missing");
    } else if (mw->analysis.scale_down_safe) {
        mw->dir = DIR_DOWN;
        mw->kv_demand = demand.capacity;
        mw->replica_demand = fmax(1, custom);
        snprintf(mw->why, sizeof(mw->why),
                 "underused: demand %.3g of capacity %.3g (a variant gives back at most half "
                 "its replicas per run)", demand.capacity, mw->capacity_now);
    } else {
        mw->dir = DIR_HOLD;
        snprintf(mw->why, sizeof(mw->why), "within thresholds: no scale-up needed, scale-down "
                 "not safe");
    }

bounds:
    if (mw->dir != DIR_UP && mw->dir != DIR_DOWN)
        mw->kv_demand = 0;
    set_bounds(c, mw);
    free(loads);
}

/* ---- GPU inventory (WVA_LIMITED_MODE) ---- */

static int accelerator_index(struct cycle *c, struct wva_strmap *index, const char *name)
{
    size_t a;

    if (!name)
        return -1;
    if (!strmap_get(index, name, &a)) {
        a = c->accelerators_count++;
        c->accelerators = wva_xrealloc(c->accelerators, c->accelerators_count * sizeof(char *));
        c->gpus_available = wva_xrealloc(c->gpus_available,
                                         c->accelerators_count * sizeof(double));
        c->accelerators[a] = wva_xstrdup(name);
        c->gpus_available[a] = 0;
        strmap_put(index, name, a);
    }
    return (int)a;
}

/* Allocatable GPUs of schedulable nodes per accelerator type, minus GPUs
 * requested by pods that no LP variable accounts for. */
static void count_inventory(struct cycle *c)
{
    const struct wva_snapshot *snap = c->snap;
    struct wva_strmap *index = strmap_new(16);
    struct wva_strmap *node_accel = strmap_new(snap->nodes_count);
    size_t a, v;

    for (size_t n = 0; n < snap->nodes_count; n++) {
        const struct wva_node *node = &snap->nodes[n];
        if (!node->accelerator)
            continue;
        char *name = values_normalize_accelerator(node->accelerator);
        int idx = accelerator_index(c, index, name);
        free(name);
        strmap_put(node_accel, node->name, (size_t)idx);
        if (!node->unschedulable)
            c->gpus_available[idx] += node->allocatable_gpus;
    }
    for (size_t p = 0; p < snap->pods_count; p++) {
        const struct wva_pod *pod = &snap->pods[p];
        if (pod->terminating || !pod->node_name || pod->gpu_request <= 0)
            continue;
        if (pod->phase && (strcmp(pod->phase, "Succeeded") == 0 ||
                           strcmp(pod->phase, "Failed") == 0))
            continue;
        if (observe_pod_variant(c->obs, p, &v) && c->vw[v].model != (size_t)-1)
            continue;
        if (strmap_get(node_accel, pod->node_name, &a))
            c->gpus_available[a] -= pod->gpu_request;
    }
    for (size_t i = 0; i < c->variants_count; i++) {
        if (c->vw[i].model == (size_t)-1)
            continue;
        c->vw[i].accelerator = accelerator_index(c, index, c->variants[i].accelerator);
        if (c->vw[i].accelerator < 0)
            wva_warnings_add(&c->plan->warnings, "VA %s/%s: accelerator unknown, not limited by "
                             "GPU inventory", c->variants[i].va->namespace_name,
                             c->variants[i].va->name);
    }
    for (a = 0; a < c->accelerators_count; a++)
        if (c->gpus_available[a] < 0)
            c->gpus_available[a] = 0;
    strmap_free(node_accel);
    strmap_free(index);
}

/* ---- the LP ---- */

static int solve(struct cycle *c, struct wva_error *err)
{
    struct solver_problem problem = {0};
    size_t nv = 0;
    size_t *column_of = wva_xcalloc(c->variants_count + 1, sizeof(size_t));
    int rc;

    problem.limited = c->settings->limited_mode;
    problem.models = wva_xcalloc(c->models_count + 1, sizeof(*problem.models));
    problem.models_count = c->models_count;
    for (size_t m = 0; m < c->models_count; m++) {
        struct model_work *mw = &c->models[m];
        problem.models[m].priority = mw->priority;
        problem.models[m].kv_demand = mw->kv_demand;
        problem.models[m].replica_demand = mw->replica_demand;
    }
    problem.variants = wva_xcalloc(c->variants_count + 1, sizeof(*problem.variants));
    for (size_t i = 0; i < c->variants_count; i++) {
        struct variant_work *w = &c->vw[i];
        if (w->model == (size_t)-1)
            continue;
        column_of[i] = nv;
        struct solver_variant *sv = &problem.variants[nv++];
        sv->model = w->model;
        sv->accelerator = problem.limited ? w->accelerator : -1;
        sv->cost = c->variants[i].va->variant_cost;
        /* Unknown variants do not cover the model's measured load. */
        sv->capacity = w->known && w->capacity > 0 ? w->capacity : 1e-6;
        sv->gpus = c->variants[i].gpus_per_replica;
        sv->current = c->variants[i].current_replicas;
        sv->lower = w->lower;
        sv->upper = w->upper;
    }
    problem.variants_count = nv;
    if (problem.limited) {
        problem.accelerators = wva_xcalloc(c->accelerators_count + 1,
                                           sizeof(*problem.accelerators));
        problem.accelerators_count = c->accelerators_count;
        for (size_t a = 0; a < c->accelerators_count; a++)
            problem.accelerators[a].gpus_available = c->gpus_available[a];
    }

    rc = solver_run(&problem, &c->result, err);
    if (rc == 0) {
        for (size_t i = 0; i < c->variants_count; i++)
            if (c->vw[i].model != (size_t)-1)
                c->vw[i].target = c->result.replicas[column_of[i]];
    }
    free(problem.models);
    free(problem.variants);
    free(problem.accelerators);
    free(column_of);
    return rc;
}

/* maxScaleUpPerRun caps a model's growth in one run; the most expensive
 * growth is taken back first. */
static void limit_growth(struct cycle *c, struct model_work *mw)
{
    int limit = mw->thresholds.max_scale_up_per_run;
    int growth = 0, total = 0;

    for (size_t k = 0; k < mw->members_count; k++) {
        size_t i = mw->members[k];
        total += c->variants[i].current_replicas;
        if (c->vw[i].target > c->variants[i].current_replicas)
            growth += c->vw[i].target - c->variants[i].current_replicas;
    }
    if (mw->dir == DIR_UP) {
        int step = sizing_max_growth(total);
        if (limit <= 0 || step < limit)
            limit = step;
    }
    if (limit <= 0)
        return;
    while (growth > limit) {
        size_t worst = (size_t)-1;
        for (size_t k = 0; k < mw->members_count; k++) {
            size_t i = mw->members[k];
            if (c->vw[i].target <= c->variants[i].current_replicas ||
                c->vw[i].target <= c->vw[i].lower)
                continue;
            if (worst == (size_t)-1 ||
                c->variants[i].va->variant_cost > c->variants[worst].va->variant_cost)
                worst = i;
        }
        if (worst == (size_t)-1)
            break;
        c->vw[worst].target--;
        growth--;
    }
}

/* ---- the plan ---- */

static void fill_model(const struct cycle *c, const struct model_work *mw,
                       struct wva_plan_model *pm)
{
    (void)c;
    pm->namespace_name = wva_xstrdup(mw->ns);
    pm->model_id = wva_xstrdup(mw->model_id);
    pm->analyzed = mw->analyzed;
    pm->should_scale_up = mw->analysis.should_scale_up;
    pm->scale_down_safe = mw->analysis.scale_down_safe;
    pm->non_saturated = mw->analysis.non_saturated;
    pm->avg_spare_kv = mw->analysis.avg_spare_kv;
    pm->avg_spare_queue = mw->analysis.avg_spare_queue;
    pm->demand = fmax(mw->kv_demand, mw->replica_demand);
    pm->capacity = mw->capacity_now;
    pm->thresholds = mw->thresholds;
}

static char *variant_reason(const struct cycle *c, size_t i)
{
    const struct wva_variant *v = &c->variants[i];
    const struct variant_work *w = &c->vw[i];
    const struct model_work *mw = &c->models[w->model];
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    int cur = v->current_replicas;

    wva_strbuf_adds(&sb, mw->why);
    if (!w->known && mw->dir != DIR_NO_METRICS)
        wva_strbuf_adds(&sb, "; no metrics for this variant's pods: holding");
    else if (w->target > cur)
        wva_strbuf_addf(&sb, "; grows %d -> %d%s", cur, w->target,
                        mw->dir == DIR_UP ? " (cheapest capacity)" : "");
    else if (w->target < cur)
        wva_strbuf_addf(&sb, "; shrinks %d -> %d%s", cur, w->target,
                        mw->dir == DIR_DOWN ? " (most expensive first)" : "");
    if (w->note[0])
        wva_strbuf_addf(&sb, "; %s", w->note);
    return wva_strbuf_detach(&sb);
}

static void fill_plan(struct cycle *c)
{
    struct wva_plan *plan = c->plan;

    plan->models = wva_xcalloc(c->models_count + 1, sizeof(*plan->models));
    plan->models_count = c->models_count;
    for (size_t m = 0; m < c->models_count; m++) {
        fill_model(c, &c->models[m], &plan->models[m]);
        struct model_work *mw = &c->models[m];
        if ((mw->dir == DIR_UP || mw->dir == DIR_FROM_ZERO) && c->result.replicas) {
            double short_kv = c->result.kv_shortage ? c->result.kv_shortage[m] : 0;
            double short_rep = c->result.replica_shortage ? c->result.replica_shortage[m] : 0;
            double missing = fmax(short_kv, short_rep);
            if (missing > 1e-6)
                wva_warnings_add(&plan->warnings, "model %s/%s: demand exceeds what can be "
                                 "allocated by %.3g replica(s) (priority %d, GPU inventory or "
                                 "maxReplicas)", mw->ns, mw->model_id, missing, mw->priority);
        }
    }

    plan->variants = wva_xcalloc(c->variants_count + 1, sizeof(*plan->variants));
    plan->variants_count = c->variants_count;
    for (size_t i = 0; i < c->variants_count; i++) {
        const struct wva_variant *v = &c->variants[i];
        struct wva_plan_variant *pv = &plan->variants[i];

        pv->namespace_name = wva_xstrdup(v->va->namespace_name);
        pv->name = wva_xstrdup(v->va->name);
        pv->model_id = v->va->model_id && v->va->model_id[0] ? wva_xstrdup(v->va->model_id)
                                                             : NULL;
        pv->accelerator = wva_xstrdup(v->accelerator);
        pv->current_replicas = v->current_replicas;
        pv->ready_replicas = v->ready_replicas;
        pv->skip = v->skip;
        if (v->skip != WVA_SKIP_NONE) {
            pv->target_replicas = v->current_replicas;
            pv->action = WVA_ACTION_SKIPPED;
            pv->reason = wva_xstrdup(v->skip_message);
            continue;
        }
        pv->target_replicas = c->vw[i].target;
        pv->action = pv->target_replicas > pv->current_replicas   ? WVA_ACTION_SCALE_UP
                     : pv->target_replicas < pv->current_replicas ? WVA_ACTION_SCALE_DOWN
                                                                  : WVA_ACTION_NO_CHANGE;
        pv->reason = variant_reason(c, i);
    }
}

static void cycle_free(struct cycle *c)
{
    for (size_t m = 0; m < c->models_count; m++)
        free(c->models[m].members);
    free(c->models);
    free(c->vw);
    filter_variants_free(c->variants, c->variants_count);
    strmap_free(c->tracked);
    config_free(c->config);
    observe_free(c->obs);
    for (size_t a = 0; a < c->accelerators_count; a++)
        free(c->accelerators[a]);
    free(c->accelerators);
    free(c->gpus_available);
    solver_result_free(&c->result);
}

struct wva_plan *engine_plan(const struct wva_snapshot *snap, const struct wva_settings *settings,
                             const char *mode, const struct engine_history *history,
                             struct engine_timings *timings, struct wva_error *err)
{
    struct cycle c = {0};
    struct engine_timings t = {0};
    double t0 = engine_now(), t1;
    struct wva_plan *plan = wva_xcalloc(1, sizeof(*plan));

    c.snap = snap;
    c.settings = settings;
    c.history = history;
    c.params.watch_namespace = settings->watch_namespace;
    c.params.controller_instance = settings->controller_instance;
    c.plan = plan;
    plan->mode = wva_xstrdup(mode);
    plan->captured_at = wva_xstrdup(snap->captured_at);

    filter_select(snap, &c.params, &c.variants, &c.variants_count);
    c.vw = wva_xcalloc(c.variants_count + 1, sizeof(*c.vw));
    t1 = engine_now();
    t.filter = t1 - t0;

    find_tracked_namespaces(&c);
    c.config = config_load(snap, settings->system_namespace, namespace_tracked, &c,
                           settings->scale_to_zero, &plan->warnings);
    c.obs = observe_new(snap, c.variants, c.variants_count);
    group_models(&c);
    for (size_t m = 0; m < c.models_count; m++)
        decide_model(&c, &c.models[m]);
    config_take_warnings(c.config, &plan->warnings);
    if (settings->limited_mode)
        count_inventory(&c);
    t0 = engine_now();
    t.analyze = t0 - t1;

    if (solve(&c, err) != 0) {
        wva_error_prefix(err, "allocation: ");
        cycle_free(&c);
        plan_free(plan);
        return NULL;
    }
    for (size_t m = 0; m < c.models_count; m++)
        limit_growth(&c, &c.models[m]);
    snprintf(plan->solver_status, sizeof(plan->solver_status), "%s", c.result.status);
    plan->solver_lp_bound = c.result.lp_objective;
    plan->solver_variables = c.result.lp_columns;
    plan->solver_seconds = c.result.seconds;
    plan->solver_objective = 0;
    for (size_t i = 0; i < c.variants_count; i++)
        if (c.vw[i].model != (size_t)-1)
            plan->solver_objective += c.variants[i].va->variant_cost * c.vw[i].target;
    t1 = engine_now();
    t.solve = t1 - t0;

    fill_plan(&c);
    t.plan = engine_now() - t1;
    cycle_free(&c);
    if (timings)
        *timings = t;
    return plan;
}

void engine_metric_needs(const struct wva_snapshot *snap, const struct wva_settings *settings,
                         struct engine_metric_needs *out)
{
    struct cycle c = {0};
    struct wva_warnings ignored = {0};
    struct wva_strmap *seen = strmap_new(8);

    *out = (struct engine_metric_needs){0};
    c.snap = snap;
    c.settings = settings;
    c.params.watch_namespace = settings->watch_namespace;
    c.params.controller_instance = settings->controller_instance;
    filter_select(snap, &c.params, &c.variants, &c.variants_count);
    find_tracked_namespaces(&c);
    c.config = config_load(snap, settings->system_namespace, namespace_tracked, &c,
                           settings->scale_to_zero, &ignored);
    for (size_t i = 0; i < c.variants_count; i++) {
        const struct wva_va *va = c.variants[i].va;
        struct wva_scale_to_zero stz;

        if (c.variants[i].skip != WVA_SKIP_NONE)
            continue;
        config_scale_to_zero(c.config, va->namespace_name, va->model_id, &stz);
        if (stz.enabled && stz.retention_period > out->retention_seconds)
            out->retention_seconds = stz.retention_period;
        for (size_t t = 0; t < va->metrics_count; t++) {
            if (!strmap_put(seen, va->metrics[t].name, 0))
                continue;
            out->custom_metrics = wva_xrealloc(out->custom_metrics,
                                               (out->custom_metrics_count + 1) * sizeof(char *));
            out->custom_metrics[out->custom_metrics_count++] = wva_xstrdup(va->metrics[t].name);
        }
    }
    strmap_free(seen);
    wva_warnings_free(&ignored);
    cycle_free(&c);
}

void engine_metric_needs_free(struct engine_metric_needs *needs)
{
    for (size_t i = 0; i < needs->custom_metrics_count; i++)
        free(needs->custom_metrics[i]);
    free(needs->custom_metrics);
    *needs = (struct engine_metric_needs){0};
}
