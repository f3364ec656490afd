/* test_scenarios.c - replays every snapshot under tests/fixtures/scenarios
 * through the real pipeline (settings -> snapshot -> engine -> plan) and
 * checks the facts its "x-expect" section states.  The fixtures are made by
 * tests/fixtures/make_scenarios.py, which documents each scenario. */
#include "test_util.h"

#include <dirent.h>
#include <math.h>

#include <json-c/json.h>

#include "wva/engine.h"
#include "wva/plan.h"
#include "wva/session.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

struct scenario {
    char path[4096];
};

/* Whether key is "ns/name" (the namespace has no '/'; the name may),
 * compared whole: model IDs may be longer than any buffer. */
static bool key_is(const char *key, const char *ns, const char *name)
{
    size_t n = strlen(ns);

    return strncmp(key, ns, n) == 0 && key[n] == '/' && strcmp(key + n + 1, name) == 0;
}

static const struct wva_plan_variant *find_variant(const struct wva_plan *plan, const char *key)
{
    for (size_t i = 0; i < plan->variants_count; i++)
        if (key_is(key, plan->variants[i].namespace_name, plan->variants[i].name))
            return &plan->variants[i];
    return NULL;
}

static const struct wva_plan_model *find_model(const struct wva_plan *plan, const char *key)
{
    for (size_t i = 0; i < plan->models_count; i++)
        if (key_is(key, plan->models[i].namespace_name, plan->models[i].model_id))
            return &plan->models[i];
    return NULL;
}

static void expect_number(const char *what, json_object *want, double got)
{
    double w = json_object_get_double(want);

    if (fabs(w - got) > 1e-6)
        fail_msg("%s: expected %g, got %g", what, w, got);
}

static void expect_bool(const char *what, json_object *want, bool got)
{
    if (json_object_get_boolean(want) != got)
        fail_msg("%s: expected %s, got %s", what, got ? "false" : "true", got ? "true" : "false");
}

static void check_variants(const struct wva_plan *plan, json_object *expect)
{
    json_object_object_foreach(expect, key, fields) {
        const struct wva_plan_variant *v = find_variant(plan, key);
        if (!v)
            fail_msg("variant %s missing from the plan", key);
        json_object_object_foreach(fields, field, want) {
            char what[700];
            snprintf(what, sizeof(what), "variant %s %s (reason: %s)", key, field, v->reason);
            if (strcmp(field, "target") == 0) {
                expect_number(what, want, v->target_replicas);
            } else if (strcmp(field, "action") == 0) {
                if (strcmp(json_object_get_string(want), plan_action_name(v->action)) != 0)
                    fail_msg("%s: expected %s, got %s", what, json_object_get_string(want),
                             plan_action_name(v->action));
            } else if (strcmp(field, "skipReason") == 0) {
                const char *got = filter_skip_name(v->skip);
                const char *w = want ? json_object_get_string(want) : NULL;
                if ((w == NULL) != (got == NULL) || (w && strcmp(w, got) != 0))
                    fail_msg("%s: expected %s, got %s", what, w ? w : "null", got ? got : "null");
            } else if (strcmp(field, "reasonContains") == 0) {
                if (!v->reason || !strstr(v->reason, json_object_get_string(want)))
                    fail_msg("%s: expected to contain \"%s\"", what, json_object_get_string(want));
            } else {
                fail_msg("unknown expectation %s", field);
            }
        }
    }
}

static void check_models(const struct wva_plan *plan, json_object *expect)
{
    json_object_object_foreach(expect, key, fields) {
        const struct wva_plan_model *m = find_model(plan, key);
        if (!m)
            fail_msg("model %s missing from the plan", key);
        json_object_object_foreach(fields, field, want) {
            char what[700];
            snprintf(what, sizeof(what), "model %s %s", key, field);
            if (strcmp(field, "kvCacheThreshold") == 0)
                expect_number(what, want, m->thresholds.kv_cache_threshold);
            else if (strcmp(field, "queueLengthThreshold") == 0)
                expect_number(what, want, m->thresholds.queue_length_threshold);
            else if (strcmp(field, "kvSpareTrigger") == 0)
                expect_number(what, want, m->thresholds.kv_spare_trigger);
            else if (strcmp(field, "queueSpareTrigger") == 0)
                expect_number(what, want, m->thresholds.queue_spare_trigger);
            else if (strcmp(field, "avgSpareKv") == 0)
                expect_number(what, want, m->avg_spare_kv);
            else if (strcmp(field, "avgSpareQueue") == 0)
                expect_number(what, want, m->avg_spare_queue);
            else if (strcmp(field, "nonSaturated") == 0)
                expect_number(what, want, (double)m->non_saturated);
            else if (strcmp(field, "shouldScaleUp") == 0)
                expect_bool(what, want, m->should_scale_up);
            else if (strcmp(field, "scaleDownSafe") == 0)
                expect_bool(what, want, m->scale_down_safe);
            else
                fail_msg("unknown expectation %s", field);
        }
    }
}

/* Some warning must contain every listed fragment. */
static void check_warnings(const struct wva_plan *plan, json_object *fragments)
{
    size_t n = json_object_array_length(fragments);

    for (size_t w = 0; w < plan->warnings.count; w++) {
        size_t found = 0;
        for (size_t i = 0; i < n; i++)
            found += strstr(plan->warnings.items[w],
                            json_object_get_string(json_object_array_get_idx(fragments, i))) != NULL;
        if (found == n)
            return;
    }
    for (size_t w = 0; w < plan->warnings.count; w++)
        print_message("warning: %s\n", plan->warnings.items[w]);
    fail_msg("no warning contains all of %s", json_object_to_json_string(fragments));
}

static void run_scenario(void **state)
{
    const struct scenario *sc = *state;
    struct wva_snapshot *snap = NULL;
    struct wva_settings s;
    struct wva_error err = {0};
    char *argv[] = {"wva-optimizer", "--from-file", (char *)sc->path, NULL};
    json_object *doc, *expect, *part;

    assert_int_equal(settings_parse_args(3, argv, &s, &err), 0);
    if (snapshot_load_file(sc->path, &snap, &err) != 0)
        fail_msg("%s: %s", sc->path, err.msg);
    /* The replay's own start-up (main and doctor use it too). */
    if (session_resolve_snapshot(&s, snap, &err) != 0)
        fail_msg("settings: %s", err.msg);
    struct wva_plan *plan = engine_plan(snap, &s, "replay", NULL, NULL, &err);
    if (!plan)
        fail_msg("engine: %s", err.msg);

    doc = json_object_from_file(sc->path);
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "x-expect", &expect));
    if (json_object_object_get_ex(expect, "variants", &part))
        check_variants(plan, part);
    if (json_object_object_get_ex(expect, "models", &part))
        check_models(plan, part);
    if (json_object_object_get_ex(expect, "warningsContain", &part))
        check_warnings(plan, part);
    if (json_object_object_get_ex(expect, "solverStatus", &part))
        assert_string_equal(plan->solver_status, json_object_get_string(part));

    json_object_put(doc);
    plan_free(plan);
    snapshot_free(snap);
    settings_free(&s);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct CMUnitTest *)a)->name, ((const struct CMUnitTest *)b)->name);
}

int main(void)
{
    char dir_copy[2048];
    DIR *dir;
    struct dirent *de;
    struct CMUnitTest *tests = NULL;
    struct scenario *scenarios = NULL;
    size_t n = 0;
    int rc;

    const char *top = getenv("top_srcdir");
    snprintf(dir_copy, sizeof(dir_copy), "%.1000s/tests/fixtures/scenarios", top ? top : ".");
    dir = opendir(dir_copy);
    if (!dir) {
        fprintf(stderr, "cannot open %s\n", dir_copy);
        return 1;
    }
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        tests = realloc(tests, (n + 1) * sizeof(*tests));
        scenarios = realloc(scenarios, (n + 1) * sizeof(*scenarios));
        assert_non_null(tests);
        assert_non_null(scenarios);
        n++;
    }
    rewinddir(dir);
    size_t i = 0;
    while ((de = readdir(dir)) != NULL && i < n) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(scenarios[i].path, sizeof(scenarios[i].path), "%s/%s", dir_copy, de->d_name);
        tests[i] = (struct CMUnitTest){strdup(de->d_name), run_scenario, NULL, NULL, NULL};
        i++;
    }
    closedir(dir);
    if (n == 0) {
        fprintf(stderr, "no scenarios found in %s\n", dir_copy);
        return 1;
    }
    /* initial_state must point at the scenario; sort names for stable output. */
    for (i = 0; i < n; i++)
        tests[i].initial_state = &scenarios[i];
    qsort(tests, n, sizeof(*tests), by_name);
    rc = _cmocka_run_group_tests("scenarios", tests, n, NULL, NULL);
    for (i = 0; i < n; i++)
        free((char *)tests[i].name);
    free(tests);
    free(scenarios);
    return rc;
}
