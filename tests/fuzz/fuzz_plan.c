/* fuzz_plan.c - libFuzzer target: the plan renderers (SPEC section 9) with
 * fuzzed strings.  Names, model IDs, accelerators, reasons and warnings all
 * come from the cluster, so they may hold anything a string can.
 *
 * Input: NUL-separated strings, taken in turn as namespace, name, model,
 * accelerator, reason for each variant (up to 8 variants) and the rest as
 * warnings; the byte values of the input also pick actions, skip reasons,
 * replica counts and odd numbers (NaN, Inf) for the models.
 *
 * Properties checked: the JSON plan is valid JSON (json-c strict) and
 * gives back every string exactly as it went in; the table has one line
 * per variant plus header, blank line and solver line, plus one per
 * warning, whenever no string holds a newline.
 */
#include <math.h>

#include <json-c/json.h>

#include "wva/configmaps.h"
#include "wva/plan.h"

#include "fuzz.h"

#define PLAN_MAX_PARTS 64

static char *plan_take(const char *const *parts, size_t n, size_t *next, bool nullable)
{
    const char *s = *next < n ? parts[(*next)++] : "";

    if (nullable && s[0] == '\0')
        return NULL;
    return wva_xstrdup(s);
}

static const char *plan_json_string(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool plan_same(const char *want, const char *got)
{
    return want ? got && strcmp(want, got) == 0 : got == NULL;
}

int fuzz_plan_one(const uint8_t *data, size_t size)
{
    static const double odd[] = {0.5, NAN, INFINITY, -INFINITY, -0.0, 1e308, 1e-320, 3};
    const char *parts[PLAN_MAX_PARTS];
    struct wva_plan *plan = wva_xcalloc(1, sizeof(*plan));
    size_t n, next = 0, nv, lines = 0, warnings_lines;
    bool newline = false;
    char *buf, *json, *table;
    struct json_tokener *tok;
    json_object *root, *variants, *models, *warnings;

    if (size > (1u << 16)) {
        free(plan);
        return 0;
    }
    n = fuzz_split(data, size, &buf, parts, PLAN_MAX_PARTS);
    for (size_t i = 0; i < n; i++)
        newline = newline || strchr(parts[i], '\n');
    nv = n / 5 < 8 ? n / 5 : 8;
    plan->mode = wva_xstrdup(size % 3 == 0 ? "replay" : size % 3 == 1 ? "live" : "dry-run");
    plan->captured_at = size % 2 ? wva_xstrdup("2026-11-27T10:00:00Z") : NULL;
    snprintf(plan->solver_status, sizeof(plan->solver_status), "optimal");
    plan->solver_objective = odd[size % 8];
    plan->solver_lp_bound = odd[(size / 8) % 8];
    plan->variants = nv ? wva_xcalloc(nv, sizeof(plan->variants[0])) : NULL;
    plan->variants_count = nv;
    for (size_t i = 0; i < nv; i++) {
        struct wva_plan_variant *v = &plan->variants[i];
        uint8_t b = data[i % size];

        v->namespace_name = plan_take(parts, n, &next, false);
        v->name = plan_take(parts, n, &next, false);
        v->model_id = plan_take(parts, n, &next, true);
        v->accelerator = plan_take(parts, n, &next, true);
        v->reason = plan_take(parts, n, &next, true);
        v->action = (enum wva_action)(b % 4);
        v->skip = (enum wva_skip)((b / 4) % 7);
        v->current_replicas = (int)b - 128;
        v->ready_replicas = b % 7;
        v->target_replicas = b == 0xff ? 2147483647 : b;
    }
    /* one model per variant, sharing its strings */
    plan->models = nv ? wva_xcalloc(nv, sizeof(plan->models[0])) : NULL;
    plan->models_count = nv;
    for (size_t i = 0; i < nv; i++) {
        struct wva_plan_model *m = &plan->models[i];

        m->namespace_name = wva_xstrdup(plan->variants[i].namespace_name);
        m->model_id = wva_xstrdup(plan->variants[i].model_id ? plan->variants[i].model_id : "");
        m->avg_spare_kv = odd[(i + size) % 8];
        m->demand = odd[(i * 3 + size) % 8];
        config_default_thresholds(&m->thresholds);
    }
    while (next < n)
        wva_warnings_add(&plan->warnings, "%s", parts[next++]);

    json = plan_render_json(plan);
    table = plan_render_table(plan);

    tok = json_tokener_new_ex(16);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, json, (int)strlen(json));
    FUZZ_CHECK(json_tokener_get_error(tok) == json_tokener_success && root);
    json_tokener_free(tok);
    FUZZ_CHECK(json_object_object_get_ex(root, "variants", &variants));
    FUZZ_CHECK(json_object_object_get_ex(root, "models", &models));
    FUZZ_CHECK(json_object_object_get_ex(root, "warnings", &warnings));
    FUZZ_CHECK(json_object_array_length(variants) == nv);
    FUZZ_CHECK(json_object_array_length(models) == nv);
    FUZZ_CHECK(json_object_array_length(warnings) == plan->warnings.count);
    for (size_t i = 0; i < nv; i++) {
        json_object *jv = json_object_array_get_idx(variants, i);
        const struct wva_plan_variant *v = &plan->variants[i];

        FUZZ_CHECK(plan_same(v->namespace_name, plan_json_string(jv, "namespace")));
        FUZZ_CHECK(plan_same(v->name, plan_json_string(jv, "name")));
        FUZZ_CHECK(plan_same(v->model_id, plan_json_string(jv, "modelID")));
        FUZZ_CHECK(plan_same(v->accelerator, plan_json_string(jv, "accelerator")));
        FUZZ_CHECK(plan_same(v->reason ? v->reason : "", plan_json_string(jv, "reason")));
    }
    for (size_t i = 0; i < plan->warnings.count; i++)
        FUZZ_CHECK(plan_same(plan->warnings.items[i],
                             json_object_get_string(json_object_array_get_idx(warnings, i))));

    for (const char *p = table; *p; p++)
        lines += *p == '\n';
    warnings_lines = plan->warnings.count;
    if (!newline)
        FUZZ_CHECK(lines == 1 + nv + 2 + warnings_lines);

    json_object_put(root);
    free(json);
    free(table);
    plan_free(plan);
    free(buf);
    return 0;
}

FUZZ_TARGET(fuzz_plan_one)
