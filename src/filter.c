/* filter.c - VA selection (SPEC section 4) and variant discovery.
 *
 * Turns each VA of a snapshot into a struct wva_variant: the first failing
 * selection check becomes its skip reason, and for VAs that pass, the
 * target Deployment, the normalised accelerator and the GPUs per replica are
 * resolved.  Knows nothing of metrics, thresholds or the LP.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wva/filter.h"
#include "wva/strbuf.h"
#include "wva/strmap.h"
#include "wva/values.h"

static const char *const skip_names[] = {
    [WVA_SKIP_NONE] = NULL,
    [WVA_SKIP_OUTSIDE_WATCH_NAMESPACE] = "OutsideWatchNamespace",
    [WVA_SKIP_NAMESPACE_EXCLUDED] = "NamespaceExcluded",
    [WVA_SKIP_INSTANCE_MISMATCH] = "InstanceMismatch",
    [WVA_SKIP_INVALID_SPEC] = "InvalidSpec",
    [WVA_SKIP_TARGET_NOT_FOUND] = "TargetNotFound",
    [WVA_SKIP_METRICS_UNAVAILABLE] = "MetricsUnavailable",
};

const char *filter_skip_name(enum wva_skip skip)
{
    if ((size_t)skip >= sizeof(skip_names) / sizeof(skip_names[0]))
        return NULL;
    return skip_names[skip];
}

bool filter_skip_is_foreign(enum wva_skip skip)
{
    return skip == WVA_SKIP_OUTSIDE_WATCH_NAMESPACE || skip == WVA_SKIP_NAMESPACE_EXCLUDED ||
           skip == WVA_SKIP_INSTANCE_MISMATCH;
}

static bool is_set(const char *s)
{
    return s && s[0];
}

bool filter_namespace_excluded(const struct wva_snapshot *snap,
                               const struct wva_filter_params *params, const char *ns)
{
    const struct wva_namespace *n;
    const char *value;

    if (is_set(params->watch_namespace) && strcmp(params->watch_namespace, ns) == 0)
        return false;
    n = snapshot_find_namespace(snap, ns);
    if (!n)
        return false;
    value = wva_kvlist_get(&n->annotations, WVA_ANNOTATION_EXCLUDE);
    return value && strcasecmp(value, "true") == 0;
}

bool filter_namespace_config_enabled(const struct wva_snapshot *snap, const char *ns)
{
    const struct wva_namespace *n = snapshot_find_namespace(snap, ns);
    const char *label = n ? wva_kvlist_get(&n->labels, WVA_LABEL_CONFIG_ENABLED) : NULL;
    bool enabled = false;

    return label && values_parse_bool(label, &enabled, NULL) == 0 && enabled;
}

bool filter_namespace_tracked(const struct wva_snapshot *snap,
                              const struct wva_filter_params *params, const char *ns,
                              bool has_va)
{
    if (!has_va && !filter_namespace_config_enabled(snap, ns))
        return false;
    return !filter_namespace_excluded(snap, params, ns);
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    wva_strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    return wva_strbuf_detach(&sb);
}

/* Checks 1-5 of SPEC section 4, in order.  Sets skip and skip_message. */
static void check_selection(const struct wva_snapshot *snap, const struct wva_filter_params *params,
                            struct wva_variant *v)
{
    const struct wva_va *va = v->va;
    const char *ns = va->namespace_name;

    if (is_set(params->watch_namespace) && strcmp(params->watch_namespace, ns) != 0) {
        v->skip = WVA_SKIP_OUTSIDE_WATCH_NAMESPACE;
        v->skip_message = format("namespace %s is outside the watch namespace %s", ns,
                                 params->watch_namespace);
        return;
    }
    if (filter_namespace_excluded(snap, params, ns)) {
        v->skip = WVA_SKIP_NAMESPACE_EXCLUDED;
        v->skip_message = format("namespace %s has annotation %s=\"true\"", ns,
                                 WVA_ANNOTATION_EXCLUDE);
        return;
    }
    if (is_set(params->controller_instance)) {
        const char *label = wva_kvlist_get(&va->labels, WVA_LABEL_INSTANCE);
        if (!label || strcmp(label, params->controller_instance) != 0) {
            v->skip = WVA_SKIP_INSTANCE_MISMATCH;
            v->skip_message = label
                ? format("label %s=%s differs from this instance %s", WVA_LABEL_INSTANCE, label,
                         params->controller_instance)
                : format("label %s is missing (this instance is %s)", WVA_LABEL_INSTANCE,
                         params->controller_instance);
            return;
        }
    }
    if (va->spec_problem) {
        v->skip = WVA_SKIP_INVALID_SPEC;
        v->skip_message = wva_xstrdup(va->spec_problem);
        return;
    }
    v->deployment = snapshot_find_deployment(snap, ns, va->target_name);
    if (!v->deployment || v->deployment->deleting) {
        v->skip = WVA_SKIP_TARGET_NOT_FOUND;
        v->skip_message = v->deployment ? format("Deployment %s/%s is being deleted", ns, va->target_name)
                          : format("Deployment %s/%s not found", ns, va->target_name);
        v->deployment = NULL;
    }
}

static void discover_accelerator(struct wva_variant *v, const struct wva_deployment *d)
{
    const char *product = wva_kvlist_get(&v->va->labels, WVA_LABEL_ACCELERATOR);

    if (!is_set(product) && d)
        product = d->node_selector_accelerator;
    if (is_set(product))
        v->accelerator = values_normalize_accelerator(product);
}

static int compare_variants(const void *a, const void *b)
{
    const struct wva_variant *x = a, *y = b;
    int c = strcmp(x->va->namespace_name, y->va->namespace_name);

    return c ? c : strcmp(x->va->name, y->va->name);
}

/* Two VAs scaling one Deployment would fight each other every run: the
 * first (in name order) keeps it, the others are InvalidSpec. */
static void reject_shared_targets(struct wva_variant *variants, size_t count)
{
    struct wva_strmap *owners = strmap_new(count);
    size_t first;

    for (size_t i = 0; i < count; i++) {
        struct wva_variant *v = &variants[i];

        if (!v->deployment)
            continue;
        if (strmap_put2(owners, v->va->namespace_name, v->deployment->name, i))
            continue;
        strmap_get2(owners, v->va->namespace_name, v->deployment->name, &first);
        v->skip = WVA_SKIP_INVALID_SPEC;
        free(v->skip_message);
        v->skip_message = format("spec.scaleTargetRef.name: Deployment %s is already the target "
                                 "of VA %s", v->va->target_name, variants[first].va->name);
        v->deployment = NULL;
    }
    strmap_free(owners);
}

void filter_select(const struct wva_snapshot *snap, const struct wva_filter_params *params,
                   struct wva_variant **out, size_t *count)
{
    struct wva_variant *variants = wva_xcalloc(snap->vas_count, sizeof(*variants));

    for (size_t i = 0; i < snap->vas_count; i++) {
        struct wva_variant *v = &variants[i];

        v->va = &snap->vas[i];
        check_selection(snap, params, v);
        /* Skipped VAs still show what their Deployment runs. */
        const struct wva_deployment *d = v->deployment;
        if (!d && v->va->target_name && v->skip != WVA_SKIP_TARGET_NOT_FOUND)
            d = snapshot_find_deployment(snap, v->va->namespace_name, v->va->target_name);
        if (d) {
            v->current_replicas = d->replicas;
            v->ready_replicas = d->ready_replicas;
            v->gpus_per_replica = d->gpu_request > 0 ? d->gpu_request : 1;
        }
        discover_accelerator(v, d);
    }
    qsort(variants, snap->vas_count, sizeof(*variants), compare_variants);
    reject_shared_targets(variants, snap->vas_count);
    *out = variants;
    *count = snap->vas_count;
}

void filter_variants_free(struct wva_variant *variants, size_t count)
{
    if (!variants)
        return;
    for (size_t i = 0; i < count; i++) {
        free(variants[i].skip_message);
        free(variants[i].accelerator);
    }
    free(variants);
}
