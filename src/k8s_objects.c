/* k8s_objects.c - the Kubernetes objects of a snapshot (see
 * include/wva/k8s_objects.h): one reader per kind, from a json-c tree to
 * the compact structs of snapshot_model.h.
 *
 * Three levels of strictness, because the parts have different owners:
 * an object's shape (metadata, everything outside a VA's spec and status)
 * is the recorder's, and a problem there fails the load; a VA's spec is
 * the user's, so its first problem is only recorded (spec_problem) and
 * becomes that VA's InvalidSpec skip; a VA's status is ours, so a wrong
 * type there reads as absent.  Fields nobody reads are never checked:
 * kubectl output carries many.
 *
 * This module knows nothing of the snapshot document around the objects,
 * the filter rules, or how a live run talks to the API server.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wva/k8s_objects.h"
#include "wva/strbuf.h"
#include "wva/values.h"

const char *const k8s_gpu_resource_keys[K8S_GPU_VENDORS] = {
    "nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu",
};
const char *const k8s_gpu_product_keys[K8S_GPU_VENDORS] = {
    "nvidia.com/gpu.product", "amd.com/gpu.product", "intel.com/gpu.product",
};

size_t k8s_product_vendor(const char *product)
{
    if (product && strncasecmp(product, "AMD", 3) == 0)
        return 1;
    if (product && strncasecmp(product, "Intel", 5) == 0)
        return 2;
    return 0;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static bool is_metric_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ':'))
            return false;
    return true;
}


struct meta {
    const char *name;
    const char *ns;
    const char *resource_version;
    bool deleting;
    struct json_object *obj;        /* for kind-specific fields */
};

/* metadata of a list item: name (and namespace when namespaced) required;
 * labels/annotations copied when a destination is given. */
static int read_metadata(struct jpath *p, struct json_object *item, bool namespaced,
                         struct meta *m, struct wva_kvlist *labels,
                         struct wva_kvlist *annotations, struct wva_error *err)
{
    const char *deletion = NULL;
    size_t mark;

    memset(m, 0, sizeof(*m));
    if (jp_get(p, item, "metadata", JK_OBJECT, true, &m->obj, err) < 0)
        return -1;
    mark = jp_key(p, "metadata");
    if (jp_get_string(p, m->obj, "name", true, &m->name, err) < 0 ||
        (namespaced && jp_get_string(p, m->obj, "namespace", true, &m->ns, err) < 0) ||
        jp_get_string(p, m->obj, "resourceVersion", false, &m->resource_version, err) < 0 ||
        jp_get_string(p, m->obj, "deletionTimestamp", false, &deletion, err) < 0 ||
        (labels && jp_get_map(p, m->obj, "labels", false, labels, err) < 0) ||
        (annotations && jp_get_map(p, m->obj, "annotations", false, annotations, err) < 0))
        return -1;
    if (!m->name[0])
        return jp_fail_at(p, "name", err, "expected non-empty string, got \"\"");
    if (namespaced && !m->ns[0])
        return jp_fail_at(p, "namespace", err, "expected non-empty string, got \"\"");
    if (strlen(m->name) > SNAPSHOT_MAX_NAME)
        return jp_fail_at(p, "name", err, "name of %zu characters exceeds the Kubernetes "
                          "limit of %u", strlen(m->name), SNAPSHOT_MAX_NAME);
    if (namespaced && strlen(m->ns) > SNAPSHOT_MAX_NAME)
        return jp_fail_at(p, "namespace", err, "name of %zu characters exceeds the Kubernetes "
                          "limit of %u", strlen(m->ns), SNAPSHOT_MAX_NAME);
    m->deleting = deletion != NULL;
    jp_pop(p, mark);
    return 0;
}

/* The first present of several labels; *which is its position in keys. */
static int read_label(struct jpath *p, const struct meta *m, const char *const *keys,
                      size_t nkeys, const char **value, size_t *which, struct wva_error *err)
{
    struct json_object *labels;
    size_t mark = jp_key(p, "metadata");
    int rc = jp_get(p, m->obj, "labels", JK_OBJECT, false, &labels, err);

    *value = NULL;
    if (rc > 0) {
        jp_key(p, "labels");
        for (size_t i = 0; i < nkeys && !*value; i++) {
            if (jp_get_string(p, labels, keys[i], false, value, err) < 0)
                return -1;
            *which = i;
        }
    }
    jp_pop(p, mark);
    return rc < 0 ? -1 : 0;
}

/* GPUs one container asks for: resources.requests, else limits; *found is
 * false when neither names a GPU resource. */
static int container_gpus(struct jpath *p, struct json_object *container, double *gpus,
                          bool *found, struct wva_error *err)
{
    static const char *const sections[] = {"requests", "limits"};
    struct json_object *res, *list;
    size_t mark;
    int rc;

    *found = false;
    *gpus = 0;
    rc = jp_get(p, container, "resources", JK_OBJECT, false, &res, err);
    if (rc <= 0)
        return rc;
    mark = jp_key(p, "resources");
    for (size_t s = 0; s < 2 && !*found; s++) {
        size_t mark2;

        if (jp_get(p, res, sections[s], JK_OBJECT, false, &list, err) < 0)
            return -1;
        if (!list)
            continue;
        mark2 = jp_key(p, sections[s]);
        for (size_t v = 0; v < K8S_GPU_VENDORS && !*found; v++) {
            rc = jp_get_quantity(p, list, k8s_gpu_resource_keys[v], gpus, err);
            if (rc < 0)
                return -1;
            *found = rc > 0;
        }
        jp_pop(p, mark2);
    }
    jp_pop(p, mark);
    return 0;
}

/* GPUs of a pod spec: with first_only, those of the first container that
 * asks for any (a Deployment's per-replica need, as the SPEC defines it);
 * else the sum over containers (what a running pod holds). */
static int pod_spec_gpus(struct jpath *p, struct json_object *pod_spec, bool first_only,
                         double *gpus, struct wva_error *err)
{
    struct json_object *containers;
    size_t mark, n;

    *gpus = 0;
    if (jp_get(p, pod_spec, "containers", JK_ARRAY, false, &containers, err) < 0)
        return -1;
    if (!containers)
        return 0;
    mark = jp_key(p, "containers");
    n = json_object_array_length(containers);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(containers, i);
        size_t mark2 = jp_index(p, i);
        double g;
        bool found;

        if (jp_check(p, c, JK_OBJECT, err) < 0 || container_gpus(p, c, &g, &found, err) < 0)
            return -1;
        jp_pop(p, mark2);
        *gpus += g;
        if (found && first_only)
            break;
    }
    jp_pop(p, mark);
    return 0;
}

static int read_namespace(struct jpath *p, struct json_object *item, void *dst,
                          struct wva_error *err)
{
    struct wva_namespace *ns = dst;
    struct meta m;

    if (read_metadata(p, item, false, &m, &ns->labels, &ns->annotations, err) < 0)
        return -1;
    ns->name = wva_xstrdup(m.name);
    ns->deleting = m.deleting;
    return 0;
}

static int read_deployment(struct jpath *p, struct json_object *item, void *dst,
                           struct wva_error *err)
{
    struct wva_deployment *d = dst;
    struct json_object *spec, *status, *sel, *tmpl, *pod_spec, *node_sel;
    struct meta m;
    size_t mark;

    if (read_metadata(p, item, true, &m, NULL, NULL, err) < 0)
        return -1;
    d->namespace_name = wva_xstrdup(m.ns);
    d->name = wva_xstrdup(m.name);
    d->resource_version = wva_xstrdup(m.resource_version);
    d->deleting = m.deleting;
    d->replicas = 1;
    d->ready_replicas = 0;

    if (jp_get(p, item, "spec", JK_OBJECT, false, &spec, err) < 0)
        return -1;
    if (spec) {
        mark = jp_key(p, "spec");
        if (jp_get_int(p, spec, "replicas", 0, false, &d->replicas, err) < 0 ||
            jp_get(p, spec, "selector", JK_OBJECT, false, &sel, err) < 0)
            return -1;
        if (sel) {
            size_t mark2 = jp_key(p, "selector");

            if (jp_get_map(p, sel, "matchLabels", false, &d->selector, err) < 0)
                return -1;
            jp_pop(p, mark2);
        }
        if (jp_get(p, spec, "template", JK_OBJECT, false, &tmpl, err) < 0)
            return -1;
        if (tmpl) {
            jp_key(p, "template");
            if (jp_get(p, tmpl, "spec", JK_OBJECT, false, &pod_spec, err) < 0)
                return -1;
            if (pod_spec) {
                jp_key(p, "spec");
                if (jp_get(p, pod_spec, "nodeSelector", JK_OBJECT, false, &node_sel, err) < 0)
                    return -1;
                if (node_sel) {
                    size_t mark2 = jp_key(p, "nodeSelector");
                    const char *product = NULL;

                    for (size_t v = 0; v < K8S_GPU_VENDORS && !product; v++)
                        if (jp_get_string(p, node_sel, k8s_gpu_product_keys[v], false, &product,
                                          err) < 0)
                            return -1;
                    d->node_selector_accelerator = wva_xstrdup(product);
                    jp_pop(p, mark2);
                }
                if (pod_spec_gpus(p, pod_spec, true, &d->gpu_request, err) < 0)
                    return -1;
            }
        }
        jp_pop(p, mark);
    }

    if (jp_get(p, item, "status", JK_OBJECT, false, &status, err) < 0)
        return -1;
    if (status) {
        mark = jp_key(p, "status");
        if (jp_get_int(p, status, "readyReplicas", 0, false, &d->ready_replicas, err) < 0)
            return -1;
        jp_pop(p, mark);
    }
    return 0;
}

static int read_owner_replicaset(struct jpath *p, const struct meta *m, const char **owner,
                                 struct wva_error *err)
{
    struct json_object *refs;
    size_t mark = jp_key(p, "metadata"), n;

    *owner = NULL;
    if (jp_get(p, m->obj, "ownerReferences", JK_ARRAY, false, &refs, err) < 0)
        return -1;
    if (refs) {
        jp_key(p, "ownerReferences");
        n = json_object_array_length(refs);
        for (size_t i = 0; i < n && !*owner; i++) {
            struct json_object *ref = json_object_array_get_idx(refs, i);
            size_t mark2 = jp_index(p, i);
            const char *kind;

            if (jp_check(p, ref, JK_OBJECT, err) < 0 ||
                jp_get_string(p, ref, "kind", false, &kind, err) < 0)
                return -1;
            if (kind && strcmp(kind, "ReplicaSet") == 0 &&
                jp_get_string(p, ref, "name", true, owner, err) < 0)
                return -1;
            jp_pop(p, mark2);
        }
    }
    jp_pop(p, mark);
    return 0;
}

static int read_pod(struct jpath *p, struct json_object *item, void *dst, struct wva_error *err)
{
    static const char *const hash_key[] = {"pod-template-hash"};
    struct wva_pod *pod = dst;
    struct json_object *spec, *status;
    const char *s;
    size_t which, mark;
    struct meta m;

    if (read_metadata(p, item, true, &m, NULL, NULL, err) < 0)
        return -1;
    pod->namespace_name = wva_xstrdup(m.ns);
    pod->name = wva_xstrdup(m.name);
    pod->terminating = m.deleting;
    if (read_owner_replicaset(p, &m, &s, err) < 0)
        return -1;
    pod->owner_replicaset = wva_xstrdup(s);
    if (read_label(p, &m, hash_key, 1, &s, &which, err) < 0)
        return -1;
    pod->pod_template_hash = wva_xstrdup(s);

    if (jp_get(p, item, "spec", JK_OBJECT, false, &spec, err) < 0)
        return -1;
    if (spec) {
        mark = jp_key(p, "spec");
        if (jp_get_string(p, spec, "nodeName", false, &s, err) < 0)
            return -1;
        pod->node_name = wva_xstrdup(s);
        if (pod_spec_gpus(p, spec, false, &pod->gpu_request, err) < 0)
            return -1;
        jp_pop(p, mark);
    }
    if (jp_get(p, item, "status", JK_OBJECT, false, &status, err) < 0)
        return -1;
    if (status) {
        mark = jp_key(p, "status");
        if (jp_get_string(p, status, "phase", false, &s, err) < 0)
            return -1;
        pod->phase = wva_xstrdup(s);
        jp_pop(p, mark);
    }
    return 0;
}

static int read_node(struct jpath *p, struct json_object *item, void *dst, struct wva_error *err)
{
    struct wva_node *node = dst;
    struct json_object *spec, *status, *alloc;
    const char *product;
    size_t vendor = 0, mark;
    bool unschedulable = false;
    struct meta m;
    struct json_object *flag;

    if (read_metadata(p, item, false, &m, NULL, NULL, err) < 0)
        return -1;
    node->name = wva_xstrdup(m.name);
    if (read_label(p, &m, k8s_gpu_product_keys, K8S_GPU_VENDORS, &product, &vendor, err) < 0)
        return -1;
    node->accelerator = wva_xstrdup(product);

    if (jp_get(p, item, "spec", JK_OBJECT, false, &spec, err) < 0)
        return -1;
    if (spec) {
        mark = jp_key(p, "spec");
        if (jp_get(p, spec, "unschedulable", JK_BOOL, false, &flag, err) < 0)
            return -1;
        unschedulable = flag && json_object_get_boolean(flag);
        jp_pop(p, mark);
    }
    node->unschedulable = unschedulable;

    if (jp_get(p, item, "status", JK_OBJECT, false, &status, err) < 0)
        return -1;
    if (status) {
        mark = jp_key(p, "status");
        if (jp_get(p, status, "allocatable", JK_OBJECT, false, &alloc, err) < 0)
            return -1;
        if (alloc) {
            /* The labelled vendor's GPUs; without a product label, the first
             * vendor present (such a node is not in any inventory anyway). */
            size_t first = product ? vendor : 0, last = product ? vendor + 1 : K8S_GPU_VENDORS;
            int rc = 0;

            jp_key(p, "allocatable");
            for (size_t v = first; v < last && rc == 0; v++)
                if ((rc = jp_get_quantity(p, alloc, k8s_gpu_resource_keys[v],
                                          &node->allocatable_gpus, err)) < 0)
                    return -1;
        }
        jp_pop(p, mark);
    }
    return 0;
}

static int read_configmap(struct jpath *p, struct json_object *item, void *dst,
                          struct wva_error *err)
{
    struct wva_configmap *cm = dst;
    struct meta m;

    if (read_metadata(p, item, true, &m, NULL, NULL, err) < 0)
        return -1;
    cm->namespace_name = wva_xstrdup(m.ns);
    cm->name = wva_xstrdup(m.name);
    return jp_get_map(p, item, "data", false, &cm->data, err) < 0 ? -1 : 0;
}

/* ---- VariantAutoscalings: strict metadata, lenient spec and status ---- */

/* Only the first problem is kept: the SPEC's checks are ordered and the
 * first failing one is what the user is told to fix. */
static void spec_problem(struct wva_va *va, const struct wva_error *e)
{
    if (!va->spec_problem)
        va->spec_problem = wva_xstrdup(e->msg);
}

/* A required non-empty string of the spec; empty counts as missing. */
static struct json_object *spec_string(struct jpath *p, struct json_object *obj,
                                       const char *key, char **dst, struct wva_va *va)
{
    struct json_object *v;
    struct wva_error e;

    if (jp_get(p, obj, key, JK_STRING, true, &v, &e) < 0) {
        spec_problem(va, &e);
        return NULL;
    }
    if (!json_object_get_string_len(v)) {
        jp_fail_at(p, key, &e, "missing");
        spec_problem(va, &e);
        return NULL;
    }
    *dst = wva_xstrdup(json_object_get_string(v));
    return v;
}

/* One spec.metrics entry: exactly {name, target}. */
static int read_metric_target(struct jpath *p, struct json_object *entry,
                              struct wva_metric_target *out, struct wva_error *err)
{
    struct json_object_iterator it, end;
    struct json_object *target;
    const char *name;
    char buf[JPATH_DESCRIBE_MAX];

    if (jp_check(p, entry, JK_OBJECT, err) < 0)
        return -1;
    it = json_object_iter_begin(entry);
    end = json_object_iter_end(entry);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);

        if (strcmp(key, "name") != 0 && strcmp(key, "target") != 0)
            return jp_fail(p, err, "unknown key \"%.64s\"", key);
    }
    if (jp_get_string(p, entry, "name", true, &name, err) < 0)
        return -1;
    if (!is_metric_name(name))
        return jp_fail_at(p, "name", err, "%s is not a Prometheus metric name",
                          jp_describe(json_object_object_get(entry, "name"), buf, sizeof(buf)));
    if (jp_get(p, entry, "target", JK_NUMBER, true, &target, err) < 0)
        return -1;
    out->target = json_object_get_double(target);
    if (!(out->target > 0) || !isfinite(out->target))
        return jp_fail_at(p, "target", err, "expected number > 0, got %s",
                          jp_describe(target, buf, sizeof(buf)));
    out->name = wva_xstrdup(name);
    return 0;
}

/* Read the spec leniently (SPEC section 4 check InvalidSpec, in order).
 * Everything that reads fine is kept, even after a problem, so the plan
 * can still show the target and model of a skipped VA. */
static void read_va_spec(struct json_object *item, struct wva_va *va)
{
    struct jpath path;
    struct jpath *p = &path;
    struct json_object *spec = NULL, *ref = NULL, *kind, *v, *metrics;
    struct wva_error e;
    int max = -1;
    bool have_min_max = true;

    jp_init(p);
    va->variant_cost = 10.0;
    va->min_replicas = 0;
    va->max_replicas = -1;
    va->priority = 0;

    if (jp_get(p, item, "spec", JK_OBJECT, true, &spec, &e) < 0) {
        spec_problem(va, &e);
        goto out;
    }
    jp_key(p, "spec");
    if (jp_get(p, spec, "scaleTargetRef", JK_OBJECT, true, &ref, &e) < 0)
        spec_problem(va, &e);
    if (ref) {
        size_t mark = jp_key(p, "scaleTargetRef");

        spec_string(p, ref, "name", &va->target_name, va);
        kind = spec_string(p, ref, "kind", &va->target_kind, va);
        if (kind && strcmp(va->target_kind, "Deployment") != 0) {
            char buf[JPATH_DESCRIBE_MAX];

            jp_fail_at(p, "kind", &e, "%s is not Deployment", jp_describe(kind, buf, sizeof(buf)));
            spec_problem(va, &e);
        }
        jp_pop(p, mark);
    }
    spec_string(p, spec, "modelID", &va->model_id, va);

    if (jp_get(p, spec, "variantCost", JK_STRING, false, &v, &e) < 0) {
        spec_problem(va, &e);
    } else if (v) {
        const char *text = json_object_get_string(v);
        char buf[JPATH_DESCRIBE_MAX];
        double cost;

        if (!values_is_decimal(text)) {
            jp_fail_at(p, "variantCost", &e, "%s does not match ^\\d+(\\.\\d+)?$",
                       jp_describe(v, buf, sizeof(buf)));
            spec_problem(va, &e);
        } else if (!isfinite(cost = strtod(text, NULL))) {
            jp_fail_at(p, "variantCost", &e, "%s is out of range", jp_describe(v, buf, sizeof(buf)));
            spec_problem(va, &e);
        } else {
            va->variant_cost = cost;
        }
    }

    if (jp_get_int(p, spec, "minReplicas", 0, false, &va->min_replicas, &e) < 0) {
        spec_problem(va, &e);
        have_min_max = false;
    }
    if (jp_get_int(p, spec, "maxReplicas", 0, false, &max, &e) < 0) {
        spec_problem(va, &e);
        have_min_max = false;
    }
    va->max_replicas = max;
    if (have_min_max && max >= 0 && va->min_replicas > max) {
        wva_error_set(&e, "spec.minReplicas %d > spec.maxReplicas %d", va->min_replicas, max);
        spec_problem(va, &e);
    }
    if (jp_get_int(p, spec, "priority", INT_MIN, false, &va->priority, &e) < 0)
        spec_problem(va, &e);

    if (jp_get(p, spec, "metrics", JK_ARRAY, false, &metrics, &e) < 0)
        spec_problem(va, &e);
    if (metrics) {
        size_t n = json_object_array_length(metrics);
        size_t mark = jp_key(p, "metrics");

        va->metrics = n ? wva_xcalloc(n, sizeof(va->metrics[0])) : NULL;
        for (size_t i = 0; i < n; i++) {
            size_t mark2 = jp_index(p, i);

            if (read_metric_target(p, json_object_array_get_idx(metrics, i),
                                   &va->metrics[va->metrics_count], &e) < 0)
                spec_problem(va, &e);
            else
                va->metrics_count++;
            jp_pop(p, mark2);
        }
        jp_pop(p, mark);
    }

out:
    if (va->spec_problem && json_object_object_get_ex(item, "spec", &spec))
        va->raw_spec_json = wva_xstrdup(json_object_to_json_string_ext(
            spec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A string of the status, or NULL when absent or of another type. */
static char *status_string(struct jpath *p, struct json_object *obj, const char *key)
{
    struct wva_error ignored;
    const char *s;

    return jp_get_string(p, obj, key, false, &s, &ignored) > 0 ? wva_xstrdup(s) : NULL;
}

/* The status is ours (written by a previous run): anything unexpected there
 * is read as absent rather than failing the run. */
static void read_va_status(struct json_object *item, struct wva_va *va)
{
    struct jpath path;
    struct jpath *p = &path;
    struct json_object *status, *alloc, *conds;
    struct wva_error ignored;
    const char *text;
    size_t n;

    jp_init(p);
    va->status_desired_replicas = -1;
    va->status_last_run_time = -1;
    if (jp_get(p, item, "status", JK_OBJECT, false, &status, &ignored) <= 0)
        return;
    if (jp_get(p, status, "desiredOptimizedAlloc", JK_OBJECT, false, &alloc, &ignored) > 0) {
        double t;

        jp_get_int(p, alloc, "numReplicas", 0, false, &va->status_desired_replicas, &ignored);
        va->status_accelerator = status_string(p, alloc, "accelerator");
        if (jp_get_string(p, alloc, "lastRunTime", false, &text, &ignored) > 0 &&
            values_parse_rfc3339(text, &t, NULL) == 0)
            va->status_last_run_time = t;
    }
    if (jp_get(p, status, "conditions", JK_ARRAY, false, &conds, &ignored) <= 0)
        return;
    n = json_object_array_length(conds);
    va->conditions = n ? wva_xcalloc(n, sizeof(va->conditions[0])) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(conds, i);
        struct wva_condition *cond = &va->conditions[va->conditions_count];

        if (jp_check(p, c, JK_OBJECT, &ignored) < 0)
            continue;
        cond->type = status_string(p, c, "type");
        cond->status = status_string(p, c, "status");
        cond->reason = status_string(p, c, "reason");
        cond->message = status_string(p, c, "message");
        cond->last_transition_time = status_string(p, c, "lastTransitionTime");
        va->conditions_count++;
    }
}

static int read_va(struct jpath *p, struct json_object *item, void *dst, struct wva_error *err)
{
    struct wva_va *va = dst;
    struct meta m;

    if (read_metadata(p, item, true, &m, &va->labels, NULL, err) < 0)
        return -1;
    va->namespace_name = wva_xstrdup(m.ns);
    va->name = wva_xstrdup(m.name);
    va->resource_version = wva_xstrdup(m.resource_version);
    read_va_spec(item, va);
    read_va_status(item, va);
    return 0;
}

int k8s_read_item(enum snapshot_list kind, struct jpath *p, struct json_object *item, void *dst,
                  struct wva_error *err)
{
    switch (kind) {
    case SNAPSHOT_NAMESPACES: return read_namespace(p, item, dst, err);
    case SNAPSHOT_VAS: return read_va(p, item, dst, err);
    case SNAPSHOT_DEPLOYMENTS: return read_deployment(p, item, dst, err);
    case SNAPSHOT_PODS: return read_pod(p, item, dst, err);
    case SNAPSHOT_CONFIGMAPS: return read_configmap(p, item, dst, err);
    case SNAPSHOT_NODES: return read_node(p, item, dst, err);
    }
    wva_error_set(err, "snapshot: unknown list %d", (int)kind);
    return -1;
}
