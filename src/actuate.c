/* actuate.c - apply a plan to the cluster: scale patches, VA status and
 * Events (SPEC section 7; see include/wva/actuate.h).
 *
 * This module turns decisions into requests and nothing more: it must not
 * know how targets were computed (engine, solver, metrics) nor how HTTP is
 * spoken (kube_client).  What it owns is the write discipline: optimistic
 * concurrency on /scale, "whole conditions array, lastTransitionTime kept
 * unless the status flips", "no write when nothing changed", "one Event per
 * change".
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "wva/actuate.h"
#include "wva/filter.h"
#include "wva/http.h"
#include "wva/log.h"
#include "wva/strbuf.h"
#include "wva/strmap.h"
#include "wva/values.h"

/* Compact, and "/" unescaped (paths and messages stay readable). */
#define JSON_TEXT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define MERGE_PATCH "application/merge-patch+json"
#define VA_API_VERSION "llmd.ai/v1alpha1"
#define VA_KIND "VariantAutoscaling"

/* The three conditions this program owns, in the order they are appended
 * when a VA has none yet. */
enum cond_id { COND_TARGET, COND_METRICS, COND_READY, COND_COUNT };
static const char *const cond_type[COND_COUNT] = {
    "TargetResolved", "MetricsAvailable", "OptimizationReady",
};

struct new_condition {
    bool set;                   /* false: keep the previous entry untouched */
    const char *status;
    const char *reason;
    char *message;              /* owned */
};

/* One entry of the conditions array to write (pointers borrowed from the
 * snapshot or from struct new_condition). */
struct out_condition {
    const char *type;
    const char *status;
    const char *reason;
    const char *message;
    const char *last_transition_time;
};

/* The status one variant should have after this run. */
struct desired_status {
    bool write_alloc;           /* actuation.applied + desiredOptimizedAlloc (see
                                 * alloc_to_write) */
    bool write_replicas;        /* desiredOptimizedAlloc.numReplicas (+ accelerator) */
    int num_replicas;
    const char *accelerator;    /* NULL: not written */
    bool applied;
    struct new_condition cond[COND_COUNT];
};

struct run {
    struct kube_client *kc;
    const struct wva_snapshot *snap;
    const struct actuate_options *opts;
    struct actuate_report *report;
    const char *component;
    double now;
    char now_text[32];          /* RFC 3339 of now */
    const struct wva_va **vas;  /* sorted by namespace, name */
    size_t refreshes;           /* refresh-only status writes so far */
};

const char *actuate_scale_name(enum actuate_scale s)
{
    switch (s) {
    case ACTUATE_SCALE_NONE: return "none";
    case ACTUATE_SCALE_APPLIED: return "applied";
    case ACTUATE_SCALE_FAILED: return "failed";
    case ACTUATE_SCALE_HELD: return "held";
    case ACTUATE_SCALE_GONE: return "gone";
    }
    return "unknown";
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int cmp_va(const void *a, const void *b)
{
    const struct wva_va *x = *(const struct wva_va *const *)a;
    const struct wva_va *y = *(const struct wva_va *const *)b;
    int c = strcmp(x->namespace_name ? x->namespace_name : "",
                   y->namespace_name ? y->namespace_name : "");

    return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static const struct wva_va *find_va(const struct run *r, const char *ns, const char *name)
{
    struct wva_va key = { .namespace_name = (char *)ns, .name = (char *)name };
    const struct wva_va *kp = &key;
    const struct wva_va **hit;

    if (!r->snap->vas_count)
        return NULL;
    hit = bsearch(&kp, r->vas, r->snap->vas_count, sizeof(r->vas[0]), cmp_va);
    return hit ? *hit : NULL;
}

/* "/apis/GROUP/namespaces/NS/PLURAL/NAME" + suffix, segments escaped (the
 * names come from the cluster and are not trusted to be path-safe). */
static char *object_path(const char *prefix, const char *ns, const char *plural,
                         const char *name, const char *suffix)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *ens = http_escape(ns), *ename = http_escape(name);

    wva_strbuf_addf(&sb, "%s/namespaces/%s/%s", prefix, ens, plural);
    if (ename)
        wva_strbuf_addf(&sb, "/%s", ename);
    if (suffix)
        wva_strbuf_adds(&sb, suffix);
    free(ens);
    free(ename);
    return wva_strbuf_detach(&sb);
}

static void int_text(long v, char *buf, size_t size)
{
    snprintf(buf, size, "%ld", v);
}

/* ------------------------------------------------------------------ */
/* Scale                                                                */
/* ------------------------------------------------------------------ */

static char *scale_body(const char *rv, int replicas)
{
    json_object *doc = json_object_new_object();
    json_object *md = json_object_new_object();
    json_object *spec = json_object_new_object();
    char *text;

    if (rv)
        json_object_object_add(md, "resourceVersion", json_object_new_string(rv));
    json_object_object_add(doc, "metadata", md);
    json_object_object_add(spec, "replicas", json_object_new_int(replicas));
    json_object_object_add(doc, "spec", spec);
    text = wva_xstrdup(json_object_to_json_string_ext(doc, JSON_TEXT));
    json_object_put(doc);
    return text;
}

/* Re-read /scale: its spec.replicas (absent = 0: autoscaling/v1 omits a
 * zero) and resourceVersion (the Deployment's).  *rv is replaced. */
static int read_scale(struct kube_client *kc, const char *path, int *replicas, char **rv,
                      struct kube_status *st, struct wva_error *err)
{
    json_object *obj = NULL, *md, *spec, *v;
    int rc = -1;

    if (kube_get(kc, path, &obj, st, err) < 0)
        return -1;
    *replicas = 0;
    if (json_object_object_get_ex(obj, "spec", &spec) &&
        json_object_object_get_ex(spec, "replicas", &v)) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
            json_object_get_int64(v) > 1000000000) {
            wva_error_setk(err, WVA_ERR_SERVER,
                           "GET %s: spec.replicas is not a replica count: %.64s", path,
                           json_object_to_json_string(v));
            goto out;
        }
        *replicas = (int)json_object_get_int64(v);
    }
    if (!json_object_object_get_ex(obj, "metadata", &md) ||
        !json_object_object_get_ex(md, "resourceVersion", &v) ||
        !json_object_is_type(v, json_type_string)) {
        wva_error_setk(err, WVA_ERR_SERVER,
                       "GET %s: response has no metadata.resourceVersion", path);
        goto out;
    }
    free(*rv);
    *rv = wva_xstrdup(json_object_get_string(v));
    rc = 0;
out:
    json_object_put(obj);
    return rc;
}

/* Patch one Deployment's /scale to pv->target_replicas.  On 409 the
 * decision is re-checked once: if the replicas are still those the plan was
 * based on, the same patch is re-sent with the fresh resourceVersion;
 * otherwise someone else scaled and we hold (the next run decides on fresh
 * data).  A second conflict holds too. */
static enum actuate_scale scale_one(struct run *r, const struct wva_plan_variant *pv,
                                    const struct wva_deployment *dep)
{
    char *path = object_path("/apis/apps/v1", dep->namespace_name, "deployments", dep->name,
                             "/scale");
    char *rv = wva_xstrdup(dep->resource_version);
    char from[24], to[24], seen[24];
    struct wva_error err = {0};
    struct kube_status st = {0};
    enum actuate_scale result;
    const char *held = NULL;
    bool rechecked = false;

    int_text(pv->current_replicas, from, sizeof(from));
    int_text(pv->target_replicas, to, sizeof(to));
    memcpy(seen, from, sizeof(seen));      /* replaced when a re-read differs */
    r->report->scale_attempted++;
    for (;;) {
        if (!rv) {
            /* After a conflict, or when the snapshot had no resourceVersion
             * (never patch without a precondition): re-read the scale. */
            int replicas;

            rechecked = true;
            if (read_scale(r->kc, path, &replicas, &rv, &st, &err) < 0) {
                result = st.code == 404 ? ACTUATE_SCALE_GONE : ACTUATE_SCALE_FAILED;
                break;
            }
            if (replicas != pv->current_replicas) {
                int_text(replicas, seen, sizeof(seen));
                held = "scale not applied: the replicas were changed by someone else since "
                       "the snapshot; holding until the next run";
                result = ACTUATE_SCALE_HELD;
                break;
            }
        }
        char *body = scale_body(rv, pv->target_replicas);
        int rc = kube_patch(r->kc, path, MERGE_PATCH, body, NULL, &st, &err);
        free(body);
        if (rc == 0) {
            result = ACTUATE_SCALE_APPLIED;
            break;
        }
        /* Deleted since the snapshot (a real API server answers 404 on
         * /scale): nothing to scale, and not a failed run; the status
         * says TargetNotFound, as the next run's snapshot would. */
        if (st.code == 404) {
            result = ACTUATE_SCALE_GONE;
            break;
        }
        if (st.code != 409) {
            result = ACTUATE_SCALE_FAILED;
            break;
        }
        if (rechecked) {
            held = "scale not applied: conflict again after re-reading; holding until the "
                   "next run";
            result = ACTUATE_SCALE_HELD;
            break;
        }
        free(rv);
        rv = NULL;
    }

    switch (result) {
    case ACTUATE_SCALE_APPLIED:
        r->report->scale_applied++;
        log_event(WVA_LOG_INFO, "scaled deployment", "namespace", dep->namespace_name,
                  "deployment", dep->name, "variant", pv->name, "from", from, "to", to, NULL);
        break;
    case ACTUATE_SCALE_GONE:
        r->report->scale_gone++;
        log_event(WVA_LOG_WARN, "scale target Deployment deleted since the snapshot; not "
                  "scaled", "namespace", dep->namespace_name, "deployment", dep->name,
                  "variant", pv->name, NULL);
        break;
    case ACTUATE_SCALE_HELD:
        r->report->scale_held++;
        log_event(WVA_LOG_WARN, held, "namespace", dep->namespace_name, "deployment",
                  dep->name, "variant", pv->name, "planned_from", from, "now", seen, "to", to,
                  NULL);
        break;
    default:
        r->report->scale_failed++;
        log_event(WVA_LOG_ERROR, "scale patch failed", "namespace", dep->namespace_name,
                  "deployment", dep->name, "variant", pv->name, "from", from, "to", to,
                  "error", err.msg, NULL);
        break;
    }
    free(rv);
    free(path);
    return result;
}

/* The run must end before the CronJob's activeDeadlineSeconds kills it:
 * past the deadline no new write starts.  Scale-ups went first, so what is
 * left undone is never capacity the plan relied on. */
static bool past_deadline(const struct run *r)
{
    return r->opts->deadline > 0 && (double)time(NULL) >= r->opts->deadline;
}

static bool wants_scale(const struct wva_plan_variant *pv)
{
    return pv->skip == WVA_SKIP_NONE && pv->target_replicas != pv->current_replicas &&
           (pv->action == WVA_ACTION_SCALE_UP || pv->action == WVA_ACTION_SCALE_DOWN);
}

/* Scale-ups first: a run interrupted half-way (or failing part of its
 * patches) under a GPU shortage must not leave less capacity than before. */
static void scale_all(struct run *r, const struct wva_plan *plan)
{
    for (int pass = 0; pass < 2; pass++) {
        enum wva_action want = pass == 0 ? WVA_ACTION_SCALE_UP : WVA_ACTION_SCALE_DOWN;

        for (size_t i = 0; i < plan->variants_count; i++) {
            const struct wva_plan_variant *pv = &plan->variants[i];
            struct actuate_variant_result *res = &r->report->variants[i];
            const struct wva_va *va;
            const struct wva_deployment *dep;

            if (!res->written_to || pv->action != want || !wants_scale(pv))
                continue;
            va = find_va(r, pv->namespace_name, pv->name);
            dep = va && va->target_name
                      ? snapshot_find_deployment(r->snap, va->namespace_name, va->target_name)
                      : NULL;
            if (past_deadline(r)) {
                r->report->scale_attempted++;
                r->report->scale_failed++;
                res->scale = ACTUATE_SCALE_FAILED;
                log_event(WVA_LOG_ERROR, "scale patch not sent: the run deadline has passed",
                          "namespace", pv->namespace_name, "variant", pv->name, NULL);
                continue;
            }
            if (!dep) {
                r->report->scale_attempted++;
                r->report->scale_failed++;
                res->scale = ACTUATE_SCALE_FAILED;
                log_event(WVA_LOG_ERROR, "scale patch not sent: the target Deployment is not "
                          "in the snapshot", "namespace", pv->namespace_name, "variant",
                          pv->name, NULL);
                continue;
            }
            res->scale = scale_one(r, pv, dep);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Status                                                               */
/* ------------------------------------------------------------------ */

static void set_cond(struct desired_status *d, enum cond_id id, const char *status,
                     const char *reason, char *message)
{
    d->cond[id].set = true;
    d->cond[id].status = status;
    d->cond[id].reason = reason;
    free(d->cond[id].message);
    d->cond[id].message = message;
}

static char *text_or(const char *s, const char *fallback)
{
    return wva_xstrdup(s && s[0] ? s : fallback);
}

/* prefix + s + suffix, for condition messages. */
static char *text_around(const char *prefix, const char *s, const char *suffix)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    wva_strbuf_addf(&sb, "%s%s%s", prefix, s ? s : "", suffix);
    return wva_strbuf_detach(&sb);
}

/* MetricsAvailable=False reason from the engine's sentence. */
static const char *metrics_reason(const char *why)
{
    if (why && strncmp(why, "Prometheus error", 16) == 0)
        return "PrometheusError";
    if (why && strcasestr(why, "stale"))
        return "MetricsStale";
    return "MetricsMissing";
}

/* Whether the Deployment runs what the plan wants after the scale phase. */
static bool is_applied(const struct actuate_variant_result *res,
                       const struct wva_deployment *dep, int desired)
{
    if (res->scale == ACTUATE_SCALE_APPLIED)
        return true;
    if (res->scale != ACTUATE_SCALE_NONE || !dep)
        return false;
    return dep->replicas == desired;
}

static void desired_status_for(const struct run *r, const struct wva_plan_variant *pv,
                               const struct actuate_variant_result *res,
                               const struct wva_va *va, struct desired_status *d)
{
    const struct wva_deployment *dep =
        va->target_name ? snapshot_find_deployment(r->snap, va->namespace_name, va->target_name)
                        : NULL;
    char *target = text_around("scale target Deployment ", va->target_name, " found");
    /* A target deleted during this run: recorded as the next run's
     * snapshot will see it (the same words, so that run rewrites nothing). */
    enum wva_skip skip = res->scale == ACTUATE_SCALE_GONE ? WVA_SKIP_TARGET_NOT_FOUND : pv->skip;
    struct wva_strbuf gone = WVA_STRBUF_INIT;
    const char *why = pv->reason;

    if (res->scale == ACTUATE_SCALE_GONE) {
        wva_strbuf_addf(&gone, "Deployment %s/%s not found", va->namespace_name,
                        va->target_name ? va->target_name : "");
        why = wva_strbuf_str(&gone);
    }
    memset(d, 0, sizeof(*d));
    switch (skip) {
    case WVA_SKIP_INVALID_SPEC:
        /* Only the verdict on the spec: the other conditions describe the
         * last valid evaluation and stay as they were. */
        set_cond(d, COND_READY, "False", "InvalidConfiguration",
                 text_or(pv->reason, "invalid VariantAutoscaling spec"));
        free(target);
        return;
    case WVA_SKIP_TARGET_NOT_FOUND:
        d->write_alloc = true;
        d->applied = false;
        set_cond(d, COND_TARGET, "False", "TargetNotFound",
                 text_or(why, "scale target Deployment not found"));
        set_cond(d, COND_READY, "False", "OptimizationFailed",
                 text_or(why, "scale target Deployment not found"));
        free(target);
        wva_strbuf_release(&gone);
        return;
    case WVA_SKIP_METRICS_UNAVAILABLE:
        /* Hold: desired = current, never scaled down on missing data. */
        d->write_alloc = d->write_replicas = true;
        d->num_replicas = pv->current_replicas;
        d->accelerator = pv->accelerator;
        d->applied = is_applied(res, dep, d->num_replicas);
        set_cond(d, COND_TARGET, "True", "TargetFound", target);
        set_cond(d, COND_METRICS, "False", metrics_reason(pv->reason),
                 text_or(pv->reason, "no usable metrics; holding replicas"));
        set_cond(d, COND_READY, "False", "OptimizationFailed",
                 text_or(pv->reason, "no usable metrics; holding replicas"));
        return;
    default:
        break;
    }
    d->write_alloc = d->write_replicas = true;
    d->num_replicas = pv->target_replicas;
    d->accelerator = pv->accelerator;
    d->applied = is_applied(res, dep, d->num_replicas);
    set_cond(d, COND_TARGET, "True", "TargetFound", target);
    set_cond(d, COND_METRICS, "True", "MetricsFound",
             text_around("metrics available for model ",
                         pv->model_id ? pv->model_id : va->model_id, ""));
    set_cond(d, COND_READY, "True", "OptimizationSucceeded",
             text_or(pv->reason, "optimization succeeded"));
}

static void desired_status_free(struct desired_status *d)
{
    for (int i = 0; i < COND_COUNT; i++)
        free(d->cond[i].message);
}

static int cond_id_of(const char *type)
{
    for (int i = 0; i < COND_COUNT; i++)
        if (type && strcmp(type, cond_type[i]) == 0)
            return i;
    return -1;
}

static const struct wva_condition *previous_condition(const struct wva_va *va, enum cond_id id)
{
    for (size_t i = 0; i < va->conditions_count; i++)
        if (str_eq(va->conditions[i].type, cond_type[id]))
            return &va->conditions[i];
    return NULL;
}

/* The whole conditions array to write: the previous array in its order,
 * with ours replaced (lastTransitionTime kept unless the status flips),
 * conditions of other types kept as they were, ours not yet present
 * appended.  out has room for va->conditions_count + COND_COUNT. */
static size_t merge_conditions(const struct run *r, const struct wva_va *va,
                               const struct desired_status *d, struct out_condition *out)
{
    bool placed[COND_COUNT] = {false};
    size_t n = 0;

    for (size_t i = 0; i < va->conditions_count; i++) {
        const struct wva_condition *pc = &va->conditions[i];
        int id = cond_id_of(pc->type);

        if (id >= 0 && placed[id])
            continue;               /* a duplicate entry: ours appears once */
        if (id >= 0 && d->cond[id].set) {
            const struct new_condition *nc = &d->cond[id];
            out[n++] = (struct out_condition){
                .type = cond_type[id], .status = nc->status, .reason = nc->reason,
                .message = nc->message,
                .last_transition_time = str_eq(pc->status, nc->status) && pc->last_transition_time
                                            ? pc->last_transition_time : r->now_text,
            };
        } else {
            out[n++] = (struct out_condition){
                .type = pc->type, .status = pc->status, .reason = pc->reason,
                .message = pc->message, .last_transition_time = pc->last_transition_time,
            };
        }
        if (id >= 0)
            placed[id] = true;
    }
    for (int id = 0; id < COND_COUNT; id++) {
        const struct new_condition *nc = &d->cond[id];
        if (placed[id] || !nc->set)
            continue;
        out[n++] = (struct out_condition){
            .type = cond_type[id], .status = nc->status, .reason = nc->reason,
            .message = nc->message, .last_transition_time = r->now_text,
        };
    }
    return n;
}

static bool conditions_unchanged(const struct wva_va *va, const struct out_condition *c, size_t n)
{
    if (n != va->conditions_count)
        return false;
    for (size_t i = 0; i < n; i++) {
        const struct wva_condition *p = &va->conditions[i];
        if (!str_eq(p->type, c[i].type) || !str_eq(p->status, c[i].status) ||
            !str_eq(p->reason, c[i].reason) || !str_eq(p->message, c[i].message))
            return false;
    }
    return true;
}

/* The desiredOptimizedAlloc a status patch carries.  SPEC section 1: every
 * status write is valid under upstream's CRD too, which requires
 * numReplicas and accelerator (at least 2 characters) whenever
 * desiredOptimizedAlloc is present.  So the object is always written whole:
 * what this run decided, completed from the previous status where this run
 * decides nothing (a missing target has no replica count; an accelerator
 * may be unknown), which is what a merge patch of the parts alone would
 * leave on the server anyway.  When even the previous status cannot
 * complete it (a VA never optimized), desiredOptimizedAlloc is left out:
 * inventing a replica count or an accelerator would be a false record, and
 * lastRunTime alone is not a valid object. */
struct alloc_out {
    bool write;                 /* false: no desiredOptimizedAlloc in the patch */
    int num_replicas;
    const char *accelerator;    /* borrowed */
};

static bool valid_accelerator(const char *s)
{
    return s && strlen(s) >= 2;
}

static struct alloc_out alloc_to_write(const struct wva_va *va, const struct desired_status *d)
{
    struct alloc_out a = {0};

    if (!d->write_alloc)
        return a;
    a.num_replicas = d->write_replicas ? d->num_replicas : va->status_desired_replicas;
    a.accelerator = d->write_replicas && valid_accelerator(d->accelerator)
                        ? d->accelerator : va->status_accelerator;
    a.write = a.num_replicas >= 0 && valid_accelerator(a.accelerator);
    return a;
}

/* SPEC section 7: no write when nothing but lastRunTime would change and
 * lastRunTime is younger than ACTUATE_STATUS_REFRESH_INTERVALS intervals.
 * The snapshot does not carry status.actuation.applied; it is inferred as
 * the previous run would have written it: the Deployment ran the desired
 * replicas (nobody else scaling in between). */
enum status_need {
    STATUS_UNCHANGED,           /* nothing to write */
    STATUS_REFRESH,             /* unchanged, but lastRunTime is 5 intervals old */
    STATUS_CHANGED,
};

/* Whether the status must be written (SPEC section 7): not when nothing
 * but lastRunTime would change and lastRunTime is younger than
 * ACTUATE_STATUS_REFRESH_INTERVALS intervals.  "applied" is unchanged when
 * the previous run would have written it: the Deployment ran the desired
 * replicas (nobody else scaling in between). */
static enum status_need status_need(const struct run *r, const struct wva_va *va,
                                    const struct desired_status *d,
                                    const struct out_condition *c, size_t n)
{
    struct alloc_out a = alloc_to_write(va, d);

    if (!conditions_unchanged(va, c, n))
        return STATUS_CHANGED;
    if (!d->write_alloc)
        return STATUS_UNCHANGED;
    if (a.write) {
        if (va->status_last_run_time < 0 || a.num_replicas != va->status_desired_replicas ||
            !str_eq(a.accelerator, va->status_accelerator))
            return STATUS_CHANGED;
    }
    const struct wva_deployment *dep =
        va->target_name ? snapshot_find_deployment(r->snap, va->namespace_name, va->target_name)
                        : NULL;
    /* The replicas the previous run wanted: the recorded allocation (equal
     * to this run's, or it changed above); without one, this run's own
     * decision (the conditions, which carry the verdict, are unchanged). */
    int prev_desired = a.write ? a.num_replicas : d->write_replicas ? d->num_replicas : -1;
    bool prev_applied = dep && prev_desired >= 0 && dep->replicas == prev_desired;
    if (prev_applied != d->applied)
        return STATUS_CHANGED;
    /* Without a desiredOptimizedAlloc there is no lastRunTime to refresh. */
    if (!a.write)
        return STATUS_UNCHANGED;
    if (r->now - va->status_last_run_time >=
        ACTUATE_STATUS_REFRESH_INTERVALS * r->opts->interval_seconds)
        return STATUS_REFRESH;
    return STATUS_UNCHANGED;
}

static char *status_body(const struct run *r, const struct wva_va *va,
                         const struct desired_status *d, const struct out_condition *c,
                         size_t n)
{
    json_object *doc = json_object_new_object();
    json_object *status = json_object_new_object();
    json_object *conds = json_object_new_array();
    struct alloc_out a = alloc_to_write(va, d);
    char *text;

    if (a.write) {
        json_object *alloc = json_object_new_object();

        json_object_object_add(alloc, "numReplicas", json_object_new_int(a.num_replicas));
        json_object_object_add(alloc, "accelerator", json_object_new_string(a.accelerator));
        json_object_object_add(alloc, "lastRunTime", json_object_new_string(r->now_text));
        json_object_object_add(status, "desiredOptimizedAlloc", alloc);
    }
    if (d->write_alloc) {
        json_object *act = json_object_new_object();

        json_object_object_add(act, "applied", json_object_new_boolean(d->applied));
        json_object_object_add(status, "actuation", act);
    }
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        const char *keys[] = {"type", "status", "reason", "message", "lastTransitionTime"};
        const char *vals[] = {c[i].type, c[i].status, c[i].reason, c[i].message,
                              c[i].last_transition_time};
        for (size_t k = 0; k < 5; k++)
            if (vals[k])
                json_object_object_add(o, keys[k], json_object_new_string(vals[k]));
        json_object_array_add(conds, o);
    }
    json_object_object_add(status, "conditions", conds);
    json_object_object_add(doc, "status", status);
    text = wva_xstrdup(json_object_to_json_string_ext(doc, JSON_TEXT));
    json_object_put(doc);
    return text;
}

/* PATCH the VA's /status.  *uid receives metadata.uid of the response (for
 * the Events' involvedObject).  Returns 0, 1 when the VA is gone (404: it
 * was deleted since the snapshot, nothing to record), -1 on failure. */
static int write_status(struct run *r, const struct wva_va *va, const char *body, char **uid)
{
    char *path = object_path("/apis/llmd.ai/v1alpha1", va->namespace_name,
                             "variantautoscalings", va->name, "/status");
    struct wva_error err = {0};
    struct kube_status st;
    json_object *resp = NULL, *md, *v;
    int rc;

    rc = kube_patch(r->kc, path, MERGE_PATCH, body, &resp, &st, &err);
    if (rc == 0) {
        if (json_object_object_get_ex(resp, "metadata", &md) &&
            json_object_object_get_ex(md, "uid", &v) && json_object_is_type(v, json_type_string))
            *uid = wva_xstrdup(json_object_get_string(v));
        log_event(WVA_LOG_INFO, "wrote VariantAutoscaling status", "namespace",
                  va->namespace_name, "variant", va->name, NULL);
    } else if (st.code == 404) {
        rc = 1;
        log_event(WVA_LOG_INFO, "VariantAutoscaling deleted since the snapshot; status not "
                  "written", "namespace", va->namespace_name, "variant", va->name, NULL);
    } else {
        log_event(WVA_LOG_ERROR, "VariantAutoscaling status write failed", "namespace",
                  va->namespace_name, "variant", va->name, "error", err.msg, NULL);
    }
    json_object_put(resp);
    free(path);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Events                                                               */
/* ------------------------------------------------------------------ */

/* What an Event is about. */
struct event_target {
    const char *kind;
    const char *api_version;
    const char *namespace_name;
    const char *name;
    const char *uid;                /* may be NULL */
};

/* POST one core/v1 Event.  fixed_name NULL lets the server generate a name
 * ("NAME.xxxxx"); a fixed name makes the Event idempotent: a second POST of
 * the same name is 409 AlreadyExists, which counts as already reported. */
static int post_event(struct run *r, const struct event_target *t, const char *fixed_name,
                      const char *type, const char *reason, const char *message)
{
    char *path = object_path("/api/v1", t->namespace_name, "events", NULL, NULL);
    json_object *ev = json_object_new_object();
    json_object *md = json_object_new_object();
    json_object *inv = json_object_new_object();
    json_object *src = json_object_new_object();
    struct wva_strbuf gen = WVA_STRBUF_INIT;
    struct wva_error err = {0};
    struct kube_status st = {0};
    int rc;

    json_object_object_add(ev, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(ev, "kind", json_object_new_string("Event"));
    if (fixed_name) {
        json_object_object_add(md, "name", json_object_new_string(fixed_name));
    } else {
        wva_strbuf_addf(&gen, "%s.", t->name);
        json_object_object_add(md, "generateName", json_object_new_string(wva_strbuf_str(&gen)));
    }
    json_object_object_add(md, "namespace", json_object_new_string(t->namespace_name));
    json_object_object_add(ev, "metadata", md);
    json_object_object_add(inv, "kind", json_object_new_string(t->kind));
    json_object_object_add(inv, "apiVersion", json_object_new_string(t->api_version));
    json_object_object_add(inv, "name", json_object_new_string(t->name));
    json_object_object_add(inv, "namespace", json_object_new_string(t->namespace_name));
    if (t->uid)
        json_object_object_add(inv, "uid", json_object_new_string(t->uid));
    json_object_object_add(ev, "involvedObject", inv);
    json_object_object_add(ev, "reason", json_object_new_string(reason));
    json_object_object_add(ev, "message", json_object_new_string(message));
    json_object_object_add(ev, "type", json_object_new_string(type));
    json_object_object_add(src, "component", json_object_new_string(r->component));
    json_object_object_add(ev, "source", src);
    json_object_object_add(ev, "firstTimestamp", json_object_new_string(r->now_text));
    json_object_object_add(ev, "lastTimestamp", json_object_new_string(r->now_text));
    json_object_object_add(ev, "count", json_object_new_int(1));

    rc = kube_create(r->kc, path, json_object_to_json_string_ext(ev, JSON_TEXT), NULL, &st,
                     &err);
    if (rc == 0) {
        r->report->events_created++;
        log_event(WVA_LOG_INFO, "created Event", "namespace", t->namespace_name, "object",
                  t->name, "kind", t->kind, "reason", reason, "type", type, NULL);
    } else if (fixed_name && st.code == 409) {
        rc = 0;     /* this very finding was reported by an earlier run */
    } else {
        r->report->events_failed++;
        log_event(WVA_LOG_WARN, "Event not created", "namespace", t->namespace_name, "object",
                  t->name, "kind", t->kind, "reason", reason, "error", err.msg, NULL);
    }
    json_object_put(ev);
    wva_strbuf_release(&gen);
    free(path);
    return rc;
}

static int create_event(struct run *r, const struct wva_va *va, const char *uid,
                        const char *type, const char *reason, const char *message)
{
    const struct event_target t = {VA_KIND, VA_API_VERSION, va->namespace_name, va->name, uid};

    return post_event(r, &t, NULL, type, reason, message);
}

/* SPEC section 5: an ignored ConfigMap entry is also reported as a Warning
 * Event on the ConfigMap.  The warnings come from configmaps.c, which starts
 * each of them with "ConfigMap NS/NAME key ...".  The Event's name is derived
 * from the message, so the same finding is reported once, not every run. */
static void configmap_events(struct run *r, const struct wva_warnings *warnings)
{
    static const char prefix[] = "ConfigMap ";

    for (size_t i = 0; i < warnings->count; i++) {
        const char *w = warnings->items[i];
        char ns[254], name[254], event_name[300];
        if (strncmp(w, prefix, sizeof(prefix) - 1) != 0 ||
            sscanf(w + sizeof(prefix) - 1, "%253[^/ ]/%253[^ :]", ns, name) != 2)
            continue;
        snprintf(event_name, sizeof(event_name), "%.240s.wva-%08x", name,
                 (unsigned)strmap_hash(w));
        const struct event_target t = {"ConfigMap", "v1", ns, name, NULL};
        post_event(r, &t, event_name, "Warning", "InvalidConfiguration", w);
    }
}

/* Whether condition id goes into (status, reason) with this run: one Event
 * per change, so a state the previous status already recorded is silent. */
static bool flipped_into(const struct wva_va *va, const struct desired_status *d,
                         enum cond_id id, const char *status, const char *reason)
{
    const struct wva_condition *prev = previous_condition(va, id);
    const struct new_condition *nc = &d->cond[id];

    if (!nc->set || !str_eq(nc->status, status) || (reason && !str_eq(nc->reason, reason)))
        return false;
    return !prev || !str_eq(prev->status, nc->status) || !str_eq(prev->reason, nc->reason);
}

static void flip_events(struct run *r, const struct wva_va *va, const char *uid,
                        const struct desired_status *d, struct actuate_variant_result *res)
{
    if (flipped_into(va, d, COND_TARGET, "False", "TargetNotFound") &&
        create_event(r, va, uid, "Warning", "TargetNotFound", d->cond[COND_TARGET].message) == 0)
        res->events++;
    if (flipped_into(va, d, COND_READY, "False", "InvalidConfiguration") &&
        create_event(r, va, uid, "Warning", "InvalidConfiguration",
                     d->cond[COND_READY].message) == 0)
        res->events++;
    if (flipped_into(va, d, COND_METRICS, "False", NULL) &&
        create_event(r, va, uid, "Warning", "MetricsUnavailable",
                     d->cond[COND_METRICS].message) == 0)
        res->events++;
}

static void scale_event(struct run *r, const struct wva_va *va, const char *uid,
                        const struct wva_plan_variant *pv, struct actuate_variant_result *res)
{
    struct wva_strbuf msg = WVA_STRBUF_INIT;
    bool up = pv->target_replicas > pv->current_replicas;

    wva_strbuf_addf(&msg, "scaled Deployment %s/%s from %d to %d replicas",
                    va->namespace_name, va->target_name ? va->target_name : "",
                    pv->current_replicas, pv->target_replicas);
    if (pv->reason && pv->reason[0])
        wva_strbuf_addf(&msg, ": %s", pv->reason);
    if (create_event(r, va, uid, "Normal", up ? "ScaledUp" : "ScaledDown",
                     wva_strbuf_str(&msg)) == 0)
        res->events++;
    wva_strbuf_release(&msg);
}

/* Status and Events of one variant (after the scale phase). */
static void record_variant(struct run *r, const struct wva_plan_variant *pv,
                           struct actuate_variant_result *res)
{
    const struct wva_va *va = find_va(r, pv->namespace_name, pv->name);
    struct desired_status d;
    struct out_condition *conds;
    size_t n;
    char *uid = NULL;
    bool gone = false;

    if (!va) {
        log_event(WVA_LOG_WARN, "plan variant not in the snapshot; nothing written",
                  "namespace", pv->namespace_name, "variant", pv->name, NULL);
        return;
    }
    desired_status_for(r, pv, res, va, &d);
    res->applied = d.write_alloc && d.applied;
    conds = wva_xcalloc(va->conditions_count + COND_COUNT, sizeof(*conds));
    n = merge_conditions(r, va, &d, conds);

    enum status_need need = status_need(r, va, &d, conds, n);
    /* Statuses written in one run all come due together five intervals
     * later; refreshing them in bounded batches (each run takes the next
     * due ones, as those refreshed stop being due) keeps a steady-state run
     * short on large clusters.  Real changes are never deferred. */
    if (need == STATUS_REFRESH && r->refreshes >= ACTUATE_MAX_REFRESHES_PER_RUN)
        need = STATUS_UNCHANGED;
    if (need == STATUS_REFRESH)
        r->refreshes++;
    if (need == STATUS_UNCHANGED) {
        res->status_skipped = true;
        r->report->status_skipped++;
    } else {
        char *body = status_body(r, va, &d, conds, n);
        int rc = write_status(r, va, body, &uid);
        free(body);
        if (rc == 0) {
            res->status_written = true;
            r->report->status_written++;
            flip_events(r, va, uid, &d, res);
        } else if (rc < 0) {
            res->status_failed = true;
            r->report->status_failed++;
        } else {
            gone = true;
        }
    }
    /* No Event about a VA known to be deleted since the snapshot: it would
     * outlive the object it describes. */
    if (res->scale == ACTUATE_SCALE_APPLIED && !gone)
        scale_event(r, va, uid, pv, res);
    free(uid);
    free(conds);
    desired_status_free(&d);
}

/* ------------------------------------------------------------------ */

int actuate_plan(struct kube_client *kc, const struct wva_snapshot *snap,
                 const struct wva_plan *plan, const struct actuate_options *opts,
                 struct actuate_report *report, struct wva_error *err)
{
    struct run r = {0};

    if (report)
        memset(report, 0, sizeof(*report));
    if (!snap || !plan || !opts || !report || (!kc && !opts->dry_run)) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "actuate: missing %s",
                       !snap ? "snapshot" : !plan ? "plan" : !opts ? "options"
                       : !report ? "report" : "client");
        return -1;
    }
    if (!(opts->interval_seconds > 0)) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "actuate: interval %g s must be > 0",
                       opts->interval_seconds);
        return -1;
    }
    report->variants_count = plan->variants_count;
    report->variants = plan->variants_count
                           ? wva_xcalloc(plan->variants_count, sizeof(*report->variants))
                           : NULL;
    if (opts->dry_run) {
        log_event(WVA_LOG_DEBUG, "dry run: nothing written to the cluster", NULL);
        return 0;
    }

    r.kc = kc;
    r.snap = snap;
    r.opts = opts;
    r.report = report;
    r.component = opts->component && opts->component[0] ? opts->component
                                                        : ACTUATE_DEFAULT_COMPONENT;
    r.now = opts->now > 0 ? opts->now : (double)time(NULL);
    values_format_rfc3339(r.now, r.now_text, sizeof(r.now_text));
    r.vas = wva_xcalloc(snap->vas_count + 1, sizeof(*r.vas));
    for (size_t i = 0; i < snap->vas_count; i++)
        r.vas[i] = &snap->vas[i];
    qsort(r.vas, snap->vas_count, sizeof(*r.vas), cmp_va);

    for (size_t i = 0; i < plan->variants_count; i++) {
        const struct wva_plan_variant *pv = &plan->variants[i];
        /* Foreign VAs belong to another controller or were excluded by the
         * operator: not a single request touches them. */
        report->variants[i].written_to = pv->namespace_name && pv->name &&
                                         !filter_skip_is_foreign(pv->skip);
    }
    if (opts->actuation == WVA_ACTUATION_SCALE)
        scale_all(&r, plan);
    for (size_t i = 0; i < plan->variants_count; i++) {
        if (!report->variants[i].written_to)
            continue;
        if (past_deadline(&r)) {
            log_event(WVA_LOG_WARN, "run deadline passed: remaining status writes left to the "
                      "next run", NULL);
            break;
        }
        record_variant(&r, &plan->variants[i], &report->variants[i]);
    }
    if (!past_deadline(&r))
        configmap_events(&r, &plan->warnings);

    free(r.vas);
    return 0;
}

size_t actuate_report_failures(const struct actuate_report *report)
{
    return report ? report->scale_failed + report->status_failed : 0;
}

void actuate_report_free(struct actuate_report *report)
{
    if (!report)
        return;
    free(report->variants);
    memset(report, 0, sizeof(*report));
}
