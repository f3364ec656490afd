/* plan.c - rendering of a run's decisions (SPEC section 9): a json-c tree
 * (and its text) for tools, a table for people.
 *
 * It knows nothing about how the decisions were made. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/plan.h"
#include "wva/strbuf.h"
#include "wva/values.h"

const char *plan_action_name(enum wva_action action)
{
    switch (action) {
    case WVA_ACTION_SCALE_UP: return "scale-up";
    case WVA_ACTION_SCALE_DOWN: return "scale-down";
    case WVA_ACTION_SKIPPED: return "skipped";
    case WVA_ACTION_NO_CHANGE: break;
    }
    return "no-change";
}

/* Numbers are printed with 6 significant digits so that 0.045 reads as
 * 0.045, not 0.044999999999999998; an unknown (non-finite) one as 0. */
#define PLAN_DIGITS 6

static json_object *json_number(double value)
{
    return values_json_number(value, PLAN_DIGITS);
}

static json_object *json_string_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *render_model(const struct wva_plan_model *m)
{
    json_object *o = json_object_new_object();
    json_object *t = json_object_new_object();

    json_object_object_add(o, "namespace", json_object_new_string(m->namespace_name));
    json_object_object_add(o, "modelID", json_object_new_string(m->model_id));
    json_object_object_add(o, "shouldScaleUp", json_object_new_boolean(m->should_scale_up));
    json_object_object_add(o, "scaleDownSafe", json_object_new_boolean(m->scale_down_safe));
    json_object_object_add(o, "nonSaturated", json_object_new_int64((int64_t)m->non_saturated));
    json_object_object_add(o, "avgSpareKv", json_number(m->avg_spare_kv));
    json_object_object_add(o, "avgSpareQueue", json_number(m->avg_spare_queue));
    json_object_object_add(o, "demand", json_number(m->demand));
    json_object_object_add(o, "capacity", json_number(m->capacity));
    json_object_object_add(t, "kvCacheThreshold", json_number(m->thresholds.kv_cache_threshold));
    json_object_object_add(t, "queueLengthThreshold",
                           json_number(m->thresholds.queue_length_threshold));
    json_object_object_add(t, "kvSpareTrigger", json_number(m->thresholds.kv_spare_trigger));
    json_object_object_add(t, "queueSpareTrigger", json_number(m->thresholds.queue_spare_trigger));
    json_object_object_add(o, "thresholds", t);
    return o;
}

static json_object *render_variant(const struct wva_plan_variant *v)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "namespace", json_object_new_string(v->namespace_name));
    json_object_object_add(o, "name", json_object_new_string(v->name));
    json_object_object_add(o, "modelID", json_string_or_null(v->model_id));
    json_object_object_add(o, "accelerator", json_string_or_null(v->accelerator));
    json_object_object_add(o, "currentReplicas", json_object_new_int(v->current_replicas));
    json_object_object_add(o, "readyReplicas", json_object_new_int(v->ready_replicas));
    /* SPEC section 6: Deployment replicas - readyReplicas, still loading. */
    json_object_object_add(o, "startingReplicas",
                           json_object_new_int(v->current_replicas > v->ready_replicas
                                                   ? v->current_replicas - v->ready_replicas : 0));
    json_object_object_add(o, "targetReplicas", json_object_new_int(v->target_replicas));
    json_object_object_add(o, "action", json_object_new_string(plan_action_name(v->action)));
    json_object_object_add(o, "skipReason", json_string_or_null(filter_skip_name(v->skip)));
    json_object_object_add(o, "reason", json_object_new_string(v->reason ? v->reason : ""));
    return o;
}

json_object *plan_to_json(const struct wva_plan *plan)
{
    json_object *root = json_object_new_object();
    json_object *solver = json_object_new_object();
    json_object *models = json_object_new_array();
    json_object *variants = json_object_new_array();
    json_object *warnings = json_object_new_array();

    json_object_object_add(root, "kind", json_object_new_string("WVAPlan"));
    json_object_object_add(root, "version", json_object_new_int(1));
    json_object_object_add(root, "mode", json_object_new_string(plan->mode));
    json_object_object_add(root, "capturedAt", json_string_or_null(plan->captured_at));
    json_object_object_add(solver, "status", json_object_new_string(plan->solver_status));
    json_object_object_add(solver, "objective", json_number(plan->solver_objective));
    json_object_object_add(solver, "lpBound", json_number(plan->solver_lp_bound));
    json_object_object_add(solver, "variables",
                           json_object_new_int64((int64_t)plan->solver_variables));
    json_object_object_add(solver, "seconds", json_number(plan->solver_seconds));
    json_object_object_add(root, "solver", solver);
    for (size_t i = 0; i < plan->models_count; i++)
        json_object_array_add(models, render_model(&plan->models[i]));
    json_object_object_add(root, "models", models);
    for (size_t i = 0; i < plan->variants_count; i++)
        json_object_array_add(variants, render_variant(&plan->variants[i]));
    json_object_object_add(root, "variants", variants);
    for (size_t i = 0; i < plan->warnings.count; i++)
        json_object_array_add(warnings, json_object_new_string(plan->warnings.items[i]));
    json_object_object_add(root, "warnings", warnings);
    return root;
}

char *plan_render_json(const struct wva_plan *plan)
{
    json_object *root = plan_to_json(plan);
    char *text = wva_xstrdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return text;
}

/* Column widths fit the longest value so rows stay aligned. */
static int column_width(const struct wva_plan *plan, size_t offset, int min)
{
    int width = min;

    for (size_t i = 0; i < plan->variants_count; i++) {
        const char *s = *(char *const *)((const char *)&plan->variants[i] + offset);
        int len = s ? (int)strlen(s) : 1;
        if (len > width)
            width = len;
    }
    return width;
}

char *plan_render_table(const struct wva_plan *plan)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    int ns_w = column_width(plan, offsetof(struct wva_plan_variant, namespace_name), 9);
    int name_w = column_width(plan, offsetof(struct wva_plan_variant, name), 7);
    int acc_w = column_width(plan, offsetof(struct wva_plan_variant, accelerator), 11);

    wva_strbuf_addf(&sb, "%-*s  %-*s  %-*s  %7s  %5s  %6s  %-21s  %s\n", ns_w, "NAMESPACE", name_w,
                    "VARIANT", acc_w, "ACCELERATOR", "CURRENT", "READY", "TARGET", "ACTION",
                    "REASON");
    for (size_t i = 0; i < plan->variants_count; i++) {
        const struct wva_plan_variant *v = &plan->variants[i];
        const char *action = v->skip ? filter_skip_name(v->skip) : plan_action_name(v->action);

        wva_strbuf_addf(&sb, "%-*s  %-*s  %-*s  %7d  %5d  %6d  %-21s  %s\n", ns_w,
                        v->namespace_name, name_w, v->name, acc_w,
                        v->accelerator ? v->accelerator : "-", v->current_replicas,
                        v->ready_replicas, v->target_replicas, action, v->reason ? v->reason : "");
    }
    wva_strbuf_addf(&sb, "\nsolver: %s, cost %.6g (LP bound %.6g), %zu variables, %.3f s\n",
                    plan->solver_status, plan->solver_objective, plan->solver_lp_bound,
                    plan->solver_variables, plan->solver_seconds);
    for (size_t i = 0; i < plan->warnings.count; i++)
        wva_strbuf_addf(&sb, "warning: %s\n", plan->warnings.items[i]);
    return wva_strbuf_detach(&sb);
}

char *plan_render(const struct wva_plan *plan, bool json)
{
    char *text = json ? plan_render_json(plan) : plan_render_table(plan);
    size_t len = strlen(text);

    if (len == 0 || text[len - 1] != '\n') {
        text = wva_xrealloc(text, len + 2);
        memcpy(text + len, "\n", 2);
    }
    return text;
}

void plan_free(struct wva_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->models_count; i++) {
        free(plan->models[i].namespace_name);
        free(plan->models[i].model_id);
    }
    for (size_t i = 0; i < plan->variants_count; i++) {
        free(plan->variants[i].namespace_name);
        free(plan->variants[i].name);
        free(plan->variants[i].model_id);
        free(plan->variants[i].accelerator);
        free(plan->variants[i].reason);
    }
    free(plan->models);
    free(plan->variants);
    free(plan->mode);
    free(plan->captured_at);
    wva_warnings_free(&plan->warnings);
    free(plan);
}
