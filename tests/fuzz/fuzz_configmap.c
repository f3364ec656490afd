/* fuzz_configmap.c - libFuzzer target: the YAML values of the WVA
 * ConfigMaps (SPEC section 5), through config_load() and the resolvers.
 *
 * Input: data entries separated by NUL bytes.  An entry whose text has a
 * newline is "KEY\nVALUE" (the data key, then its YAML document); one
 * without is the value of key "default" (first entry) or "e<i>".  The same
 * data is put in the global and a namespace-local saturation ConfigMap, the
 * upstream alias name, and both scale-to-zero ConfigMaps, so one input
 * reaches every level of the resolution.
 *
 * Properties checked (SPEC: "never a crash, never a silent zero"): every
 * resolved threshold set is finite and passes the validation rules
 * (0 <= kv values <= 1, queue values >= 0, kvCacheThreshold >
 * kvSpareTrigger, queueLengthThreshold > queueSpareTrigger, window >= 0,
 * maxScaleUpPerRun >= 0); retention periods are finite and > 0.
 */
#include <math.h>

#include "wva/configmaps.h"
#include "wva/snapshot.h"

#include "fuzz.h"

#define CM_SYSTEM_NS "wva-system"
#define CM_LOCAL_NS "team-a"
#define CM_MAX_ENTRIES 64

static void cm_add(struct wva_snapshot *snap, const char *ns, const char *name,
                   const struct wva_kvlist *data)
{
    struct wva_configmap *cm = &snap->configmaps[snap->configmaps_count++];

    cm->namespace_name = wva_xstrdup(ns);
    cm->name = wva_xstrdup(name);
    for (size_t i = 0; i < data->count; i++)
        wva_kvlist_set(&cm->data, data->items[i].key, data->items[i].value);
}

static void cm_check_thresholds(const struct wva_thresholds *t)
{
    FUZZ_CHECK(isfinite(t->kv_cache_threshold) && isfinite(t->kv_spare_trigger));
    FUZZ_CHECK(isfinite(t->queue_length_threshold) && isfinite(t->queue_spare_trigger));
    FUZZ_CHECK(t->kv_cache_threshold >= 0 && t->kv_cache_threshold <= 1);
    FUZZ_CHECK(t->kv_spare_trigger >= 0 && t->kv_spare_trigger <= 1);
    FUZZ_CHECK(t->queue_length_threshold >= 0 && t->queue_spare_trigger >= 0);
    FUZZ_CHECK(t->kv_cache_threshold > t->kv_spare_trigger);
    FUZZ_CHECK(t->queue_length_threshold > t->queue_spare_trigger);
    FUZZ_CHECK(isfinite(t->scale_down_stabilization) && t->scale_down_stabilization >= 0);
    FUZZ_CHECK(t->max_scale_up_per_run >= 0);
}

int fuzz_configmap_one(const uint8_t *data, size_t size)
{
    static const char *const namespaces[] = {CM_SYSTEM_NS, CM_LOCAL_NS, "other"};
    static const char *const models[] = {"m", "llama", "meta/llama-3", ""};
    const char *parts[CM_MAX_ENTRIES];
    struct wva_kvlist cm_data = {NULL, 0};
    struct wva_warnings warnings = {NULL, 0};
    struct wva_snapshot *snap;
    struct wva_config *cfg;
    char *buf, key[32];
    size_t n;

    if (size > (1u << 18))
        return 0;
    n = fuzz_split(data, size, &buf, parts, CM_MAX_ENTRIES);
    for (size_t i = 0; i < n; i++) {
        char *nl = strchr(parts[i], '\n');

        if (nl) {
            *nl = '\0';
            wva_kvlist_set(&cm_data, parts[i], nl + 1);
        } else {
            if (i == 0)
                snprintf(key, sizeof(key), "default");
            else
                snprintf(key, sizeof(key), "e%zu", i);
            wva_kvlist_set(&cm_data, key, parts[i]);
        }
    }

    snap = wva_xcalloc(1, sizeof(*snap));
    snap->configmaps = wva_xcalloc(5, sizeof(snap->configmaps[0]));
    cm_add(snap, CM_SYSTEM_NS, WVA_SATURATION_CONFIG, &cm_data);
    cm_add(snap, CM_LOCAL_NS, WVA_SATURATION_CONFIG, &cm_data);
    cm_add(snap, CM_LOCAL_NS, WVA_SATURATION_CONFIG_ALIAS, &cm_data);
    cm_add(snap, CM_SYSTEM_NS, WVA_SCALE_TO_ZERO_CONFIG, &cm_data);
    cm_add(snap, CM_LOCAL_NS, WVA_SCALE_TO_ZERO_CONFIG, &cm_data);
    snapshot_finish(snap);

    cfg = config_load(snap, CM_SYSTEM_NS, NULL, NULL, size % 2 == 0, &warnings);
    FUZZ_CHECK(cfg != NULL);
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
        for (size_t j = 0; j < sizeof(models) / sizeof(models[0]); j++) {
            struct wva_thresholds t;
            struct wva_scale_to_zero z;

            config_thresholds(cfg, namespaces[i], models[j], &t);
            cm_check_thresholds(&t);
            config_scale_to_zero(cfg, namespaces[i], models[j], &z);
            FUZZ_CHECK(isfinite(z.retention_period) && z.retention_period > 0);
        }
    }
    config_take_warnings(cfg, &warnings);
    for (size_t i = 0; i < warnings.count; i++)
        FUZZ_CHECK(warnings.items[i] && warnings.items[i][0]);

    config_free(cfg);
    wva_warnings_free(&warnings);
    snapshot_free(snap);
    wva_kvlist_free(&cm_data);
    free(buf);
    return 0;
}

FUZZ_TARGET(fuzz_configmap_one)
