/* filter.h - which VAs are optimized (SPEC section 4), and what each VA
 * variant is: its Deployment, accelerator and GPUs per replica.
 *
 * The first failing check of section 4 is the VA's skip reason.  Checks 1-5
 * are decided here from the snapshot alone; MetricsUnavailable (check 6)
 * is set later by the engine once metrics are joined.  This module knows
 * nothing of metrics, ConfigMaps or the solver.
 */
#ifndef WVA_FILTER_H
#define WVA_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/snapshot.h"

/* In SPEC order: a lower value is checked first. */
enum wva_skip {
    WVA_SKIP_NONE = 0,
    WVA_SKIP_OUTSIDE_WATCH_NAMESPACE,
    WVA_SKIP_NAMESPACE_EXCLUDED,
    WVA_SKIP_INSTANCE_MISMATCH,
    WVA_SKIP_INVALID_SPEC,
    WVA_SKIP_TARGET_NOT_FOUND,
    WVA_SKIP_METRICS_UNAVAILABLE,
};

/* "OutsideWatchNamespace", ...; NULL for WVA_SKIP_NONE. */
const char *filter_skip_name(enum wva_skip skip);

/* Skips 1-3 mean the VA belongs to someone else: never written to. */
bool filter_skip_is_foreign(enum wva_skip skip);

#define WVA_LABEL_INSTANCE "wva.llmd.ai/controller-instance"
#define WVA_ANNOTATION_EXCLUDE "wva.llmd.ai/exclude"
#define WVA_LABEL_CONFIG_ENABLED "wva.llmd.ai/config-enabled"
#define WVA_LABEL_ACCELERATOR "inference.optimization/acceleratorName"

struct wva_filter_params {
    const char *watch_namespace;        /* "" or NULL = all */
    const char *controller_instance;    /* "" or NULL = manage all */
};

struct wva_variant {
    const struct wva_va *va;                /* borrowed from the snapshot */
    const struct wva_deployment *deployment; /* NULL when not found */
    enum wva_skip skip;
    char *skip_message;         /* why, naming the field/value; owned */
    char *accelerator;          /* normalised, NULL when unknown; owned */
    double gpus_per_replica;    /* from the pod template, 1 when none */
    int current_replicas;       /* Deployment spec.replicas (0 if none) */
    int ready_replicas;
};

/* Evaluate every VA of the snapshot.  *out is an array of snap->vas_count
 * variants sorted by namespace, then name (caller frees with
 * filter_variants_free).  Never fails on bad VAs (they are skipped). */
void filter_select(const struct wva_snapshot *snap, const struct wva_filter_params *params,
                   struct wva_variant **out, size_t *count);

void filter_variants_free(struct wva_variant *variants, size_t count);

/* Whether a namespace is excluded by annotation (the watch namespace never
 * is). */
bool filter_namespace_excluded(const struct wva_snapshot *snap,
                               const struct wva_filter_params *params, const char *ns);

/* Whether namespace ns of the snapshot has the label
 * wva.llmd.ai/config-enabled with a true value (values_parse_bool: "true",
 * "1", any case).  False when the namespace is not in the snapshot. */
bool filter_namespace_config_enabled(const struct wva_snapshot *snap, const char *ns);

/* SPEC section 5, the one place the rule is written: whether ns is tracked,
 * i.e. its local ConfigMaps are read.  It is when it has at least one VA
 * (has_va: the caller knows from its own index, so that asking for every
 * namespace stays linear) or filter_namespace_config_enabled(), and it is
 * not excluded (filter_namespace_excluded(): the watch namespace never
 * is).  Used by the engine (which ConfigMaps count), collect (which are
 * read) and doctor (what it reports). */
bool filter_namespace_tracked(const struct wva_snapshot *snap,
                              const struct wva_filter_params *params, const char *ns,
                              bool has_va);

#endif
