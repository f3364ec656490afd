/* configmaps.h - the WVA ConfigMaps (SPEC section 5): saturation thresholds
 * and scale-to-zero settings, resolved per VA namespace and model.
 *
 * Global ConfigMaps live in the system namespace; namespace-local ones with
 * the same well-known name override them field by field, but only in
 * tracked namespaces.  Each data key holds a YAML document (parsed with
 * libyaml).  An invalid entry is reported as a warning and ignored; the next
 * level applies.  This module knows nothing of Prometheus or the solver.
 */
#ifndef WVA_CONFIGMAPS_H
#define WVA_CONFIGMAPS_H

#include <stdbool.h>

#include "wva/error.h"
#include "wva/snapshot.h"

#define WVA_SATURATION_CONFIG "wva-saturation-config"
#define WVA_SATURATION_CONFIG_ALIAS "wva-saturation-scaling-config"
#define WVA_SCALE_TO_ZERO_CONFIG "wva-scale-to-zero-config"
#define WVA_SCALE_TO_ZERO_CONFIG_ALIAS "wva-model-scale-to-zero-config"

struct wva_thresholds {
    double kv_cache_threshold;          /* 0.80 */
    double queue_length_threshold;      /* 5 */
    double kv_spare_trigger;            /* 0.10 */
    double queue_spare_trigger;         /* 3 */
    double scale_down_stabilization;    /* seconds, 300 */
    int max_scale_up_per_run;           /* 0 = unlimited */
    /* Capacity kept free beyond the measured demand, in replicas of the
     * model's mean per-replica capacity (spareReplicas, an extension of
     * upstream's fields): what absorbs a burst while new replicas load. */
    double spare_replicas;              /* WVA_DEFAULT_SPARE_REPLICAS */
};

#define WVA_DEFAULT_SPARE_REPLICAS 0.5

struct wva_scale_to_zero {
    bool enabled;
    double retention_period;            /* seconds, 600 */
};

/* Warnings collected while resolving (ignored entries and the like), in the
 * order found.  Owned strings. */
struct wva_warnings {
    char **items;
    size_t count;
};
void wva_warnings_add(struct wva_warnings *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wva_warnings_free(struct wva_warnings *w);

struct wva_config;   /* opaque: every ConfigMap parsed once */

/* Parse the WVA ConfigMaps of the snapshot.  system_namespace holds the
 * global ones; tracked(ns) says whether a namespace's local ones count
 * (the filter knows; see filter_namespace_tracked()); tracked NULL counts
 * every namespace.  default_scale_to_zero is WVA_SCALE_TO_ZERO.  Invalid
 * entries become warnings, never errors; the function fails only on
 * allocation-free impossibilities and so returns the config directly.
 *
 * Each ConfigMap is parsed here, once; the lookups below never parse YAML.
 * Warnings appended to `warnings`: entries invalid on their own (YAML
 * syntax, not a map, bad value or range, override without model_id, local
 * override for another namespace, duplicate override), unknown fields
 * (ignored, entry kept), both a name and its alias present, and the
 * cross-level conflicts found by resolving the combinations the ConfigMaps
 * themselves name (each default, each override's model and namespace).
 * Entry warnings start "ConfigMap ns/name key K: "; the both-names one
 * starts "ConfigMaps ns/name and ns/alias both exist". */
struct wva_config *config_load(const struct wva_snapshot *snap,
                               const char *system_namespace,
                               bool (*tracked)(const char *ns, void *ctx),
                               void *tracked_ctx,
                               bool default_scale_to_zero,
                               struct wva_warnings *warnings);

/* Thresholds for a model in a namespace: local override for the model >
 * local default > global override > global default > built-in, field by
 * field.  The global override without namespace applies first, then the
 * global override naming ns.  Cheap: a few binary searches.
 *
 * An entry whose fields would make the merged result break
 * kvCacheThreshold > kvSpareTrigger or queueLengthThreshold >
 * queueSpareTrigger is skipped for this resolution; the warning is kept
 * inside cfg (identical warnings once) for config_take_warnings().  So cfg
 * is logically const but not safe to share between threads. */
void config_thresholds(const struct wva_config *cfg, const char *ns,
                       const char *model_id, struct wva_thresholds *out);

/* Scale-to-zero settings with the same resolution order. */
void config_scale_to_zero(const struct wva_config *cfg, const char *ns,
                          const char *model_id, struct wva_scale_to_zero *out);

/* Move the warnings produced by config_thresholds()/config_scale_to_zero()
 * since the last call (or since config_load(), which already takes its own)
 * to the end of `warnings`.  Call after resolving all models. */
void config_take_warnings(struct wva_config *cfg, struct wva_warnings *warnings);

/* Built-in defaults. */
void config_default_thresholds(struct wva_thresholds *out);

void config_free(struct wva_config *cfg);

#endif
