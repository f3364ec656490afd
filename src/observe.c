/* observe.c - joins Prometheus samples to variants through their pods.
 *
 * Per pod we keep the peak KV usage, peak queue, KV capacity, requests in
 * service, completions per second and custom series values; per variant,
 * the list of its live pods.  Unknown values are NaN internally and never
 * leak out as zeros.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wva/observe.h"
#include "wva/strbuf.h"
#include "wva/strmap.h"

struct pod_values {
    size_t variant;             /* index into variants */
    double kv, queue, capacity; /* NaN = unknown */
    double running, rate;       /* NaN = unknown */
};

struct custom_metric {
    const struct wva_custom_series *series;
    struct wva_strmap *pod_samples;  /* "ns/pod" -> sample index */
};

struct wva_observer {
    const struct wva_snapshot *snap;
    size_t variants_count;
    struct wva_variant_metrics *metrics;
    size_t **variant_pods;          /* per variant: pod indexes */
    size_t *variant_pods_count;
    struct pod_values *pods;        /* parallel to snap->pods */
    struct wva_strmap *pod_index;   /* "ns/pod" -> snap->pods index (joined pods) */
    struct wva_strmap *requests;    /* "ns/model" -> request sample index */
    struct wva_strmap *gateway;     /* "ns/model" and "/model" -> accumulated index */
    double *gateway_totals;
    struct custom_metric *custom;
};

/* The Deployment a pod belongs to: its ReplicaSet owner minus the
 * "-<pod-template-hash>" suffix.  Writes into buf; NULL when unknown.  A
 * prefix that does not fit buf is unknown, not cut: buf holds more than a
 * Deployment name can be (253 bytes, enforced when the snapshot is read),
 * so such a prefix names no Deployment anyway. */
static const char *pod_deployment(const struct wva_pod *pod, char *buf, size_t size)
{
    const char *rs = pod->owner_replicaset;
    size_t len, cut;

    if (!rs)
        return NULL;
    len = strlen(rs);
    if (pod->pod_template_hash) {
        size_t hl = strlen(pod->pod_template_hash);
        if (len <= hl + 1 || rs[len - hl - 1] != '-' ||
            strcmp(rs + len - hl, pod->pod_template_hash) != 0)
            return NULL;
        cut = len - hl - 1;
    } else {
        const char *dash = strrchr(rs, '-');
        if (!dash || dash == rs)
            return NULL;
        cut = (size_t)(dash - rs);
    }
    if (cut + 1 > size)
        return NULL;
    memcpy(buf, rs, cut);
    buf[cut] = '\0';
    return buf;
}

static bool sample_pod(const struct wva_observer *obs, const struct wva_sample *s, size_t *pod)
{
    const char *ns = wva_kvlist_get(&s->labels, "namespace");
    const char *name = wva_kvlist_get(&s->labels, "pod");

    if (!ns || !name)
        return false;
    return strmap_get2(obs->pod_index, ns, name, pod);
}

static void join_pods(struct wva_observer *obs, const struct wva_variant *variants)
{
    const struct wva_snapshot *snap = obs->snap;
    struct wva_strmap *by_deployment = strmap_new(obs->variants_count);
    char dep[SNAPSHOT_MAX_NAME + 2];
    size_t v;

    for (size_t i = 0; i < obs->variants_count; i++) {
        if (variants[i].skip == WVA_SKIP_NONE && variants[i].deployment)
            strmap_put2(by_deployment, variants[i].va->namespace_name,
                        variants[i].deployment->name, i);
    }
    for (size_t p = 0; p < snap->pods_count; p++) {
        const struct wva_pod *pod = &snap->pods[p];
        const char *name;

        obs->pods[p] = (struct pod_values){(size_t)-1, NAN, NAN, NAN, NAN, NAN};
        if (pod->terminating)
            continue;
        name = pod_deployment(pod, dep, sizeof(dep));
        if (!name || !strmap_get2(by_deployment, pod->namespace_name, name, &v))
            continue;
        obs->pods[p].variant = v;
        strmap_put2(obs->pod_index, pod->namespace_name, pod->name, p);
        obs->variant_pods[v] = wva_xrealloc(obs->variant_pods[v],
                                            (obs->variant_pods_count[v] + 1) * sizeof(size_t));
        obs->variant_pods[v][obs->variant_pods_count[v]++] = p;
    }
    strmap_free(by_deployment);
}

enum pod_field { POD_KV, POD_QUEUE, POD_RUNNING, POD_RATE };

static double *pod_slot(struct pod_values *pv, enum pod_field field)
{
    switch (field) {
    case POD_KV: return &pv->kv;
    case POD_QUEUE: return &pv->queue;
    case POD_RUNNING: return &pv->running;
    default: return &pv->rate;
    }
}

/* Peak of a per-pod series into one field (a pod has one sample per
 * series; duplicates keep the largest, the conservative reading).
 * A negative count or rate is not a measurement: it stays unknown. */
static void join_peak(struct wva_observer *obs, const struct wva_series *series,
                      enum pod_field field)
{
    size_t p;

    for (size_t i = 0; i < series->count; i++) {
        if (!sample_pod(obs, &series->items[i], &p))
            continue;
        double *slot = pod_slot(&obs->pods[p], field);
        double value = series->items[i].value;
        if (value < 0 && (field == POD_RUNNING || field == POD_RATE))
            continue;
        if (isnan(*slot) || value > *slot)
            *slot = value;
    }
}

static void join_capacity(struct wva_observer *obs)
{
    const struct wva_series *series = &obs->snap->metrics.cache_config;
    size_t p;

    for (size_t i = 0; i < series->count; i++) {
        const struct wva_sample *s = &series->items[i];
        const char *blocks = wva_kvlist_get(&s->labels, "num_gpu_blocks");
        const char *size = wva_kvlist_get(&s->labels, "block_size");
        char *end1, *end2;

        if (!blocks || !size || !sample_pod(obs, s, &p))
            continue;
        double b = strtod(blocks, &end1), z = strtod(size, &end2);
        if (*end1 || *end2 || !(b > 0) || !(z > 0) || !isfinite(b * z))
            continue;
        obs->pods[p].capacity = b * z;
    }
}

static void summarise_variants(struct wva_observer *obs)
{
    for (size_t v = 0; v < obs->variants_count; v++) {
        struct wva_variant_metrics *m = &obs->metrics[v];
        size_t n = obs->variant_pods_count[v];

        m->pods_count = n;
        m->loads = n ? wva_xcalloc(n, sizeof(*m->loads)) : NULL;
        m->running = m->completion_rate = 0;
        for (size_t k = 0; k < n; k++) {
            const struct pod_values *pv = &obs->pods[obs->variant_pods[v][k]];
            if (!isnan(pv->kv) && !isnan(pv->queue)) {
                m->loads[m->loads_count++] = (struct wva_replica_load){pv->kv, pv->queue};
                /* Any measured pod without them makes the sums unknown:
                 * a partial sum would read as less load than there is. */
                m->running += pv->running;
                m->completion_rate += pv->rate;
            }
            if (!isnan(pv->capacity) && m->capacity_tokens == 0)
                m->capacity_tokens = pv->capacity;
        }
    }
}

static void index_model_series(struct wva_observer *obs)
{
    const struct wva_metrics *mx = &obs->snap->metrics;

    for (size_t i = 0; i < mx->request_count.count; i++) {
        const struct wva_sample *s = &mx->request_count.items[i];
        const char *ns = wva_kvlist_get(&s->labels, "namespace");
        const char *model = wva_kvlist_get(&s->labels, "model_name");
        if (ns && model)
            strmap_put2(obs->requests, ns, model, i);
    }
    /* Gateway queues may or may not carry a namespace: accumulate per
     * (namespace, model) and per model alone. */
    obs->gateway_totals = wva_xcalloc(2 * mx->gateway_queue.count + 1, sizeof(double));
    size_t next = 0, slot;
    for (size_t i = 0; i < mx->gateway_queue.count; i++) {
        const struct wva_sample *s = &mx->gateway_queue.items[i];
        const char *ns = wva_kvlist_get(&s->labels, "namespace");
        const char *model = wva_kvlist_get(&s->labels, "target_model_name");
        if (!model)
            continue;
        if (!strmap_get2(obs->gateway, ns ? ns : "", model, &slot)) {
            slot = next++;
            strmap_put2(obs->gateway, ns ? ns : "", model, slot);
        }
        obs->gateway_totals[slot] += s->value;
    }
}

static void index_custom(struct wva_observer *obs)
{
    const struct wva_metrics *mx = &obs->snap->metrics;
    size_t p;

    obs->custom = wva_xcalloc(mx->custom_count + 1, sizeof(*obs->custom));
    for (size_t c = 0; c < mx->custom_count; c++) {
        const struct wva_series *series = &mx->custom[c].series;
        obs->custom[c].series = &mx->custom[c];
        obs->custom[c].pod_samples = strmap_new(series->count);
        for (size_t i = 0; i < series->count; i++) {
            if (!sample_pod(obs, &series->items[i], &p))
                continue;
            const struct wva_pod *pod = &obs->snap->pods[p];
            strmap_put2(obs->custom[c].pod_samples, pod->namespace_name, pod->name, i);
        }
    }
}

struct wva_observer *observe_new(const struct wva_snapshot *snap,
                                 const struct wva_variant *variants, size_t count)
{
    struct wva_observer *obs = wva_xcalloc(1, sizeof(*obs));

    obs->snap = snap;
    obs->variants_count = count;
    obs->metrics = wva_xcalloc(count + 1, sizeof(*obs->metrics));
    obs->variant_pods = wva_xcalloc(count + 1, sizeof(*obs->variant_pods));
    obs->variant_pods_count = wva_xcalloc(count + 1, sizeof(*obs->variant_pods_count));
    obs->pods = wva_xcalloc(snap->pods_count + 1, sizeof(*obs->pods));
    obs->pod_index = strmap_new(snap->pods_count);
    obs->requests = strmap_new(snap->metrics.request_count.count);
    obs->gateway = strmap_new(snap->metrics.gateway_queue.count);

    join_pods(obs, variants);
    join_peak(obs, &snap->metrics.kv_cache_usage, POD_KV);
    join_peak(obs, &snap->metrics.queue_length, POD_QUEUE);
    join_peak(obs, &snap->metrics.running_requests, POD_RUNNING);
    join_peak(obs, &snap->metrics.request_rate, POD_RATE);
    join_capacity(obs);
    summarise_variants(obs);
    index_model_series(obs);
    index_custom(obs);
    return obs;
}

void observe_free(struct wva_observer *obs)
{
    if (!obs)
        return;
    for (size_t v = 0; v < obs->variants_count; v++) {
        free(obs->metrics[v].loads);
        free(obs->variant_pods[v]);
    }
    for (size_t c = 0; c < obs->snap->metrics.custom_count; c++)
        strmap_free(obs->custom[c].pod_samples);
    free(obs->custom);
    free(obs->metrics);
    free(obs->variant_pods);
    free(obs->variant_pods_count);
    free(obs->pods);
    free(obs->gateway_totals);
    strmap_free(obs->pod_index);
    strmap_free(obs->requests);
    strmap_free(obs->gateway);
    free(obs);
}

const struct wva_variant_metrics *observe_variant(const struct wva_observer *obs, size_t i)
{
    return &obs->metrics[i];
}

bool observe_pod_variant(const struct wva_observer *obs, size_t p, size_t *variant)
{
    if (p >= obs->snap->pods_count || obs->pods[p].variant == (size_t)-1)
        return false;
    *variant = obs->pods[p].variant;
    return true;
}

bool observe_custom_total(const struct wva_observer *obs, size_t i, const char *metric,
                          double *total)
{
    const struct custom_metric *cm = NULL;
    size_t sample;
    bool known = false;

    for (size_t c = 0; c < obs->snap->metrics.custom_count; c++) {
        if (strcmp(obs->custom[c].series->metric, metric) == 0) {
            cm = &obs->custom[c];
            break;
        }
    }
    *total = 0;
    if (!cm)
        return false;
    for (size_t k = 0; k < obs->variant_pods_count[i]; k++) {
        const struct wva_pod *pod = &obs->snap->pods[obs->variant_pods[i][k]];
        if (strmap_get2(cm->pod_samples, pod->namespace_name, pod->name, &sample)) {
            *total += cm->series->series.items[sample].value;
            known = true;
        }
    }
    return known;
}

bool observe_request_count(const struct wva_observer *obs, const char *ns, const char *model_id,
                           double *count)
{
    size_t i;

    if (!strmap_get2(obs->requests, ns, model_id, &i))
        return false;
    *count = obs->snap->metrics.request_count.items[i].value;
    return true;
}

bool observe_gateway_queue(const struct wva_observer *obs, const char *ns, const char *model_id,
                           double *queue)
{
    size_t slot;
    bool known = false;

    *queue = 0;
    if (strmap_get2(obs->gateway, ns, model_id, &slot)) {
        *queue += obs->gateway_totals[slot];
        known = true;
    }
    if (strmap_get2(obs->gateway, "", model_id, &slot)) {
        *queue += obs->gateway_totals[slot];
        known = true;
    }
    return known;
}
