/* test_plan.c - plan rendering (SPEC section 9): JSON shape, number
 * formatting, null skip reasons, table rows and warnings. */
#include "test_util.h"

#include <math.h>

#include <json-c/json.h>

#include "wva/plan.h"
#include "wva/strbuf.h"

static struct wva_plan *make_plan(void)
{
    struct wva_plan *p = wva_xcalloc(1, sizeof(*p));

    p->mode = wva_xstrdup("replay");
    p->captured_at = wva_xstrdup("2026-11-27T10:00:00Z");
    snprintf(p->solver_status, sizeof(p->solver_status), "optimal");
    p->solver_objective = 50;
    p->solver_lp_bound = 47.5;
    p->solver_variables = 4;
    p->models_count = 1;
    p->models = wva_xcalloc(1, sizeof(*p->models));
    p->models[0] = (struct wva_plan_model){
        .namespace_name = wva_xstrdup("team-a"), .model_id = wva_xstrdup("llama"),
        .should_scale_up = true, .non_saturated = 2, .avg_spare_kv = 0.09 / 2,
        .avg_spare_queue = 3, .demand = 3, .capacity = 2,
        .thresholds = {0.8, 5, 0.1, 3, 300, 0}};
    p->variants_count = 2;
    p->variants = wva_xcalloc(2, sizeof(*p->variants));
    p->variants[0] = (struct wva_plan_variant){
        .namespace_name = wva_xstrdup("team-a"), .name = wva_xstrdup("llama-l4"),
        .model_id = wva_xstrdup("llama"), .accelerator = wva_xstrdup("L4"),
        .current_replicas = 3, .ready_replicas = 1, .target_replicas = 3,
        .action = WVA_ACTION_SCALE_UP, .reason = wva_xstrdup("saturated")};
    p->variants[1] = (struct wva_plan_variant){
        .namespace_name = wva_xstrdup("team-b"), .name = wva_xstrdup("ghost"),
        .current_replicas = 0, .target_replicas = 0, .action = WVA_ACTION_SKIPPED,
        .skip = WVA_SKIP_TARGET_NOT_FOUND, .reason = wva_xstrdup("Deployment team-b/ghost not found")};
    wva_warnings_add(&p->warnings, "ConfigMap x/y key default: ignored");
    return p;
}

static void test_json_shape(void **state)
{
    struct wva_plan *p = make_plan();
    char *text = plan_render_json(p);
    json_object *doc = json_tokener_parse(text), *o, *v, *m;

    (void)state;
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "kind", &o));
    assert_string_equal(json_object_get_string(o), "WVAPlan");
    assert_true(json_object_object_get_ex(doc, "version", &o));
    assert_int_equal(json_object_get_int(o), 1);
    assert_true(json_object_object_get_ex(doc, "solver", &o));
    assert_true(json_object_object_get_ex(o, "status", &v));
    assert_string_equal(json_object_get_string(v), "optimal");
    assert_true(json_object_object_get_ex(o, "variables", &v));
    assert_int_equal(json_object_get_int(v), 4);
    assert_true(json_object_object_get_ex(doc, "models", &o));
    m = json_object_array_get_idx(o, 0);
    assert_true(json_object_object_get_ex(m, "thresholds", &v));
    assert_true(json_object_object_get_ex(v, "kvCacheThreshold", &v));
    assert_float_equal(json_object_get_double(v), 0.8, 1e-12);
    /* 0.045 prints as 0.045, not 0.04499999... */
    assert_non_null(strstr(text, "\"avgSpareKv\": 0.045,"));
    assert_true(json_object_object_get_ex(doc, "variants", &o));
    assert_int_equal(json_object_array_length(o), 2);
    v = json_object_array_get_idx(o, 0);
    assert_true(json_object_object_get_ex(v, "action", &m));
    assert_string_equal(json_object_get_string(m), "scale-up");
    assert_true(json_object_object_get_ex(v, "skipReason", &m));
    assert_null(m);
    /* Deployment replicas - readyReplicas (SPEC section 9) */
    assert_true(json_object_object_get_ex(v, "startingReplicas", &m));
    assert_int_equal(json_object_get_int(m), 2);
    v = json_object_array_get_idx(o, 1);
    assert_true(json_object_object_get_ex(v, "startingReplicas", &m));
    assert_int_equal(json_object_get_int(m), 0);
    assert_true(json_object_object_get_ex(v, "skipReason", &m));
    assert_string_equal(json_object_get_string(m), "TargetNotFound");
    assert_true(json_object_object_get_ex(v, "modelID", &m));
    assert_null(m);
    assert_true(json_object_object_get_ex(doc, "warnings", &o));
    assert_int_equal(json_object_array_length(o), 1);
    json_object_put(doc);
    free(text);
    plan_free(p);
}

/* plan_to_json() is the tree plan_render_json() prints; non-finite
 * numbers are 0 in it (JSON has no text for them). */
static void test_tree_and_nonfinite(void **state)
{
    struct wva_plan *p = make_plan();
    json_object *tree, *o, *v;
    char *text;

    (void)state;
    p->models[0].demand = NAN;
    p->models[0].capacity = INFINITY;
    p->solver_seconds = -INFINITY;
    tree = plan_to_json(p);
    text = plan_render_json(p);
    assert_string_equal(json_object_to_json_string_ext(tree, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_SPACED |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE),
                        text);
    assert_non_null(strstr(text, "\"demand\": 0,"));
    assert_non_null(strstr(text, "\"capacity\": 0,"));
    assert_non_null(strstr(text, "\"seconds\": 0\n"));
    assert_null(strstr(text, "nan"));
    assert_null(strstr(text, "inf"));
    json_object_put(tree);
    tree = json_tokener_parse(text);
    assert_non_null(tree);
    assert_true(json_object_object_get_ex(tree, "models", &o));
    assert_true(json_object_object_get_ex(json_object_array_get_idx(o, 0), "demand", &v));
    assert_true(json_object_get_double(v) == 0);
    json_object_put(tree);
    free(text);
    plan_free(p);
}

static void test_table(void **state)
{
    struct wva_plan *p = make_plan();
    char *text = plan_render_table(p);

    (void)state;
    assert_non_null(strstr(text, "NAMESPACE"));
    assert_non_null(strstr(text, "llama-l4"));
    assert_non_null(strstr(text, "scale-up"));
    assert_non_null(strstr(text, "TargetNotFound"));
    assert_non_null(strstr(text, "warning: ConfigMap x/y key default: ignored"));
    /* Rows keep plan order: team-a before team-b. */
    assert_true(strstr(text, "llama-l4") < strstr(text, "ghost"));
    free(text);
    plan_free(p);
    plan_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_tree_and_nonfinite),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
