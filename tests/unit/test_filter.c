/* test_filter.c - VA selection (SPEC section 4) on small in-memory
 * snapshots: skip reasons and their order, the watch-namespace override of
 * the exclusion annotation, instance rules, accelerator and GPU discovery;
 * and the join of samples to the selected variants (observe.c) by names of
 * any length. */
#include "test_util.h"

#include "wva/filter.h"
#include "wva/observe.h"
#include "wva/strbuf.h"
#include "wva/snapshot.h"

/* A snapshot with namespaces team-a (plain) and team-x (excluded), VAs
 * given as JSON item text, and Deployments d-l4 (nodeSelector L4, 2 GPUs)
 * and d-h100 (no selector, no GPU request) in team-a and team-x. */
static struct wva_snapshot *make_snapshot(const char *vas)
{
    static const char *fmt =
        "{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
        "\"namespaces\":{\"items\":["
        "{\"metadata\":{\"name\":\"team-a\"}},"
        "{\"metadata\":{\"name\":\"team-x\",\"annotations\":{\"wva.llmd.ai/exclude\":\"true\"}}}]},"
        "\"variantAutoscalings\":{\"items\":[%s]},"
        "\"deployments\":{\"items\":["
        "{\"metadata\":{\"name\":\"d-l4\",\"namespace\":\"team-a\"},\"spec\":{\"replicas\":3,"
        "\"template\":{\"spec\":{\"nodeSelector\":{\"nvidia.com/gpu.product\":\"NVIDIA-L4\"},"
        "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"2\"}}}]}}},"
        "\"status\":{\"readyReplicas\":2}},"
        "{\"metadata\":{\"name\":\"d-h100\",\"namespace\":\"team-a\"},\"spec\":{\"replicas\":1,"
        "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}}},"
        "{\"metadata\":{\"name\":\"d-l4\",\"namespace\":\"team-x\"},\"spec\":{\"replicas\":1}}]},"
        "\"pods\":{\"items\":[]},\"configMaps\":{\"items\":[]}}";
    char text[16384];
    struct wva_snapshot *snap = NULL;
    struct wva_error err = {0};

    snprintf(text, sizeof(text), fmt, vas);
    if (snapshot_parse(text, strlen(text), &snap, &err) != 0)
        fail_msg("fixture does not parse: %s", err.msg);
    return snap;
}

#define VA(ns, name, target, extra_labels, extra_spec)                                          \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"labels\":{" extra_labels \
    "}},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"" target "\"},"       \
    "\"modelID\":\"m\",\"variantCost\":\"10\"" extra_spec "}}"

static const struct wva_variant *find(const struct wva_variant *v, size_t n, const char *ns,
                                      const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].va->namespace_name, ns) && !strcmp(v[i].va->name, name))
            return &v[i];
    fail_msg("variant %s/%s not found", ns, name);
    return NULL;
}

static void test_plain_selection_and_discovery(void **state)
{
    struct wva_snapshot *snap = make_snapshot(VA("team-a", "va-l4", "d-l4", "", ""));
    struct wva_filter_params params = {"", ""};
    struct wva_variant *v;
    size_t n;

    (void)state;
    filter_select(snap, &params, &v, &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].skip, WVA_SKIP_NONE);
    assert_non_null(v[0].deployment);
    assert_string_equal(v[0].accelerator, "L4");
    assert_float_equal(v[0].gpus_per_replica, 2, 0);
    assert_int_equal(v[0].current_replicas, 3);
    assert_int_equal(v[0].ready_replicas, 2);
    filter_variants_free(v, n);
    snapshot_free(snap);
}

static void test_label_accelerator_wins_and_default_gpu(void **state)
{
    struct wva_snapshot *snap = make_snapshot(VA(
        "team-a", "va-h100", "d-h100",
        "\"inference.optimization/acceleratorName\":\"NVIDIA-H100-80GB-HBM3\"", ""));
    struct wva_filter_params params = {NULL, NULL};
    struct wva_variant *v;
    size_t n;

    (void)state;
    filter_select(snap, &params, &v, &n);
    assert_string_equal(v[0].accelerator, "H100");
    assert_float_equal(v[0].gpus_per_replica, 1, 0);
    filter_variants_free(v, n);
    snapshot_free(snap);
}

static void test_skip_reasons(void **state)
{
    struct wva_snapshot *snap = make_snapshot(
        VA("team-a", "ok", "d-l4", "\"wva.llmd.ai/controller-instance\":\"a\"", "") ","
        VA("team-a", "other", "d-h100", "\"wva.llmd.ai/controller-instance\":\"b\"", "") ","
        VA("team-a", "nolabel", "d-h100", "", "") ","
        VA("team-x", "excluded", "d-l4", "\"wva.llmd.ai/controller-instance\":\"a\"", "") ","
        VA("team-a", "ghost", "missing", "\"wva.llmd.ai/controller-instance\":\"a\"", "") ","
        VA("team-a", "badcost", "d-h100", "\"wva.llmd.ai/controller-instance\":\"a\"",
           ",\"variantCost\":\"x\""));
    struct wva_filter_params params = {"", "a"};
    struct wva_variant *v;
    size_t n;

    (void)state;
    filter_select(snap, &params, &v, &n);
    assert_int_equal(find(v, n, "team-a", "ok")->skip, WVA_SKIP_NONE);
    assert_int_equal(find(v, n, "team-a", "other")->skip, WVA_SKIP_INSTANCE_MISMATCH);
    assert_non_null(strstr(find(v, n, "team-a", "other")->skip_message, "=b differs"));
    assert_int_equal(find(v, n, "team-a", "nolabel")->skip, WVA_SKIP_INSTANCE_MISMATCH);
    assert_int_equal(find(v, n, "team-x", "excluded")->skip, WVA_SKIP_NAMESPACE_EXCLUDED);
    assert_int_equal(find(v, n, "team-a", "ghost")->skip, WVA_SKIP_TARGET_NOT_FOUND);
    assert_string_equal(find(v, n, "team-a", "ghost")->skip_message,
                        "Deployment team-a/missing not found");
    assert_int_equal(find(v, n, "team-a", "badcost")->skip, WVA_SKIP_INVALID_SPEC);
    assert_true(filter_skip_is_foreign(WVA_SKIP_INSTANCE_MISMATCH));
    assert_false(filter_skip_is_foreign(WVA_SKIP_TARGET_NOT_FOUND));
    assert_string_equal(filter_skip_name(WVA_SKIP_METRICS_UNAVAILABLE), "MetricsUnavailable");
    assert_null(filter_skip_name(WVA_SKIP_NONE));
    /* Sorted by namespace, then name. */
    for (size_t i = 1; i < n; i++) {
        int c = strcmp(v[i - 1].va->namespace_name, v[i].va->namespace_name);
        assert_true(c < 0 || (c == 0 && strcmp(v[i - 1].va->name, v[i].va->name) < 0));
    }
    filter_variants_free(v, n);
    snapshot_free(snap);
}

static void test_watch_namespace(void **state)
{
    struct wva_snapshot *snap = make_snapshot(VA("team-a", "a", "d-l4", "", "") ","
                                              VA("team-x", "x", "d-l4", "", ""));
    struct wva_filter_params params = {"team-x", ""};
    struct wva_variant *v;
    size_t n;

    (void)state;
    filter_select(snap, &params, &v, &n);
    assert_int_equal(find(v, n, "team-a", "a")->skip, WVA_SKIP_OUTSIDE_WATCH_NAMESPACE);
    /* The exclusion annotation is ignored on the watch namespace. */
    assert_int_equal(find(v, n, "team-x", "x")->skip, WVA_SKIP_NONE);
    assert_false(filter_namespace_excluded(snap, &params, "team-x"));
    params.watch_namespace = "";
    assert_true(filter_namespace_excluded(snap, &params, "team-x"));
    assert_false(filter_namespace_excluded(snap, &params, "unknown-namespace"));
    filter_variants_free(v, n);
    snapshot_free(snap);
}

static void test_shared_target_rejected(void **state)
{
    struct wva_snapshot *snap = make_snapshot(VA("team-a", "first", "d-l4", "", "") ","
                                              VA("team-a", "second", "d-l4", "", ""));
    struct wva_filter_params params = {"", ""};
    struct wva_variant *v;
    size_t n;

    (void)state;
    filter_select(snap, &params, &v, &n);
    assert_int_equal(find(v, n, "team-a", "first")->skip, WVA_SKIP_NONE);
    assert_int_equal(find(v, n, "team-a", "second")->skip, WVA_SKIP_INVALID_SPEC);
    assert_non_null(strstr(find(v, n, "team-a", "second")->skip_message, "VA first"));
    filter_variants_free(v, n);
    snapshot_free(snap);
}

/* Model names of 1,100 bytes that differ only in their last byte keep
 * their own request counts and gateway queues (512-byte keys once mixed
 * them up: the first sample answered for both). */
static void test_observe_long_model_names(void **state)
{
    struct wva_strbuf doc = WVA_STRBUF_INIT, a = WVA_STRBUF_INIT, b = WVA_STRBUF_INIT;
    struct wva_snapshot *snap = NULL;
    struct wva_error err = {0};
    struct wva_variant *variants = NULL;
    struct wva_filter_params params = {NULL, NULL};
    struct wva_observer *obs;
    size_t count = 0;
    double v = -1;

    (void)state;
    for (int i = 0; i < 1100; i++) {
        wva_strbuf_adds(&a, "x");
        wva_strbuf_adds(&b, "x");
    }
    wva_strbuf_adds(&a, "a");
    wva_strbuf_adds(&b, "b");
    wva_strbuf_addf(&doc,
        "{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
        "\"namespaces\":{\"items\":[{\"metadata\":{\"name\":\"team-a\"}}]},"
        "\"variantAutoscalings\":{\"items\":[]},\"deployments\":{\"items\":[]},"
        "\"pods\":{\"items\":[]},\"configMaps\":{\"items\":[]},\"metrics\":{"
        "\"requestCount\":["
        "{\"metric\":{\"namespace\":\"team-a\",\"model_name\":\"%s\"},\"value\":[0,\"7\"]},"
        "{\"metric\":{\"namespace\":\"team-a\",\"model_name\":\"%s\"},\"value\":[0,\"0\"]}],"
        "\"gatewayQueue\":["
        "{\"metric\":{\"target_model_name\":\"%s\"},\"value\":[0,\"3\"]},"
        "{\"metric\":{\"namespace\":\"team-a\",\"target_model_name\":\"%s\"},"
        "\"value\":[0,\"5\"]}]}}",
        wva_strbuf_str(&a), wva_strbuf_str(&b), wva_strbuf_str(&a), wva_strbuf_str(&b));
    if (snapshot_parse(wva_strbuf_str(&doc), doc.len, &snap, &err) != 0)
        fail_msg("fixture does not parse: %s", err.msg);
    filter_select(snap, &params, &variants, &count);
    obs = observe_new(snap, variants, count);

    assert_true(observe_request_count(obs, "team-a", wva_strbuf_str(&a), &v));
    assert_true(v == 7);
    assert_true(observe_request_count(obs, "team-a", wva_strbuf_str(&b), &v));
    assert_true(v == 0);
    assert_true(observe_gateway_queue(obs, "team-a", wva_strbuf_str(&a), &v));
    assert_true(v == 3);
    assert_true(observe_gateway_queue(obs, "team-a", wva_strbuf_str(&b), &v));
    assert_true(v == 5);
    /* a third name with the same start is unknown, not one of the two */
    wva_strbuf_adds(&b, "c");
    assert_false(observe_request_count(obs, "team-a", wva_strbuf_str(&b), &v));

    observe_free(obs);
    filter_variants_free(variants, count);
    snapshot_free(snap);
    wva_strbuf_release(&doc);
    wva_strbuf_release(&a);
    wva_strbuf_release(&b);
}

/* SPEC section 5, the one rule: VAs or a true config-enabled label (any
 * boolean spelling values_parse_bool accepts), and not excluded unless it
 * is the watch namespace. */
static void test_namespace_tracked(void **state)
{
    static const char text[] =
        "{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
        "\"namespaces\":{\"items\":["
        "{\"metadata\":{\"name\":\"one\",\"labels\":{\"wva.llmd.ai/config-enabled\":\"1\"}}},"
        "{\"metadata\":{\"name\":\"caps\",\"labels\":{\"wva.llmd.ai/config-enabled\":\"TRUE\"}}},"
        "{\"metadata\":{\"name\":\"off\",\"labels\":{\"wva.llmd.ai/config-enabled\":\"0\"}}},"
        "{\"metadata\":{\"name\":\"junk\",\"labels\":{\"wva.llmd.ai/config-enabled\":\"on\"}}},"
        "{\"metadata\":{\"name\":\"plain\"}},"
        "{\"metadata\":{\"name\":\"gone\",\"labels\":{\"wva.llmd.ai/config-enabled\":\"true\"},"
        "\"annotations\":{\"wva.llmd.ai/exclude\":\"true\"}}}]},"
        "\"variantAutoscalings\":{\"items\":[]},\"deployments\":{\"items\":[]},"
        "\"pods\":{\"items\":[]},\"configMaps\":{\"items\":[]}}";
    struct wva_snapshot *snap = NULL;
    struct wva_error err = {0};
    struct wva_filter_params all = {"", ""}, watch_gone = {"gone", ""};

    (void)state;
    if (snapshot_parse(text, strlen(text), &snap, &err) != 0)
        fail_msg("fixture does not parse: %s", err.msg);
    assert_true(filter_namespace_config_enabled(snap, "one"));
    assert_true(filter_namespace_config_enabled(snap, "caps"));
    assert_false(filter_namespace_config_enabled(snap, "off"));
    assert_false(filter_namespace_config_enabled(snap, "junk"));
    assert_false(filter_namespace_config_enabled(snap, "plain"));
    assert_false(filter_namespace_config_enabled(snap, "nowhere"));

    assert_true(filter_namespace_tracked(snap, &all, "one", false));
    assert_true(filter_namespace_tracked(snap, &all, "caps", false));
    assert_false(filter_namespace_tracked(snap, &all, "off", false));
    assert_false(filter_namespace_tracked(snap, &all, "plain", false));
    assert_true(filter_namespace_tracked(snap, &all, "plain", true));
    /* A namespace not in the snapshot (a namespaced role could not read
     * it) is tracked by its VAs alone. */
    assert_true(filter_namespace_tracked(snap, &all, "nowhere", true));
    assert_false(filter_namespace_tracked(snap, &all, "nowhere", false));
    /* Excluded, label or VAs: not tracked; unless it is the watch
     * namespace. */
    assert_false(filter_namespace_tracked(snap, &all, "gone", false));
    assert_false(filter_namespace_tracked(snap, &all, "gone", true));
    assert_true(filter_namespace_tracked(snap, &watch_gone, "gone", false));
    snapshot_free(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_selection_and_discovery),
        cmocka_unit_test(test_label_accelerator_wins_and_default_gpu),
        cmocka_unit_test(test_skip_reasons),
        cmocka_unit_test(test_watch_namespace),
        cmocka_unit_test(test_shared_target_rejected),
        cmocka_unit_test(test_observe_long_model_names),
        cmocka_unit_test(test_namespace_tracked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
