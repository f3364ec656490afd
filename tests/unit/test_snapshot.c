/* test_snapshot.c - the snapshot document (SPEC section 8): loading with
 * exact values, path-named errors, lenient VA specs, lookups, round trip,
 * and robustness against truncated and hostile input. */
#include "test_util.h"

#include <math.h>

#include <json-c/json.h>

#include "wva/snapshot.h"
#include "wva/strbuf.h"

/* A minimal document whose lists hold the given items (JSON text of the
 * array contents) plus extra top-level members (",\"nodes\":..."). */
static char *make_doc(const char *ns, const char *vas, const char *deps, const char *pods,
                      const char *cms, const char *extra)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    wva_strbuf_addf(&sb,
                    "{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
                    "\"namespaces\":{\"items\":[%s]},\"variantAutoscalings\":{\"items\":[%s]},"
                    "\"deployments\":{\"items\":[%s]},\"pods\":{\"items\":[%s]},"
                    "\"configMaps\":{\"items\":[%s]}%s}",
                    ns ? ns : "", vas ? vas : "", deps ? deps : "", pods ? pods : "",
                    cms ? cms : "", extra ? extra : "");
    return wva_strbuf_detach(&sb);
}

/* The same document with an escaped top-level key, which the loader's
 * array splitter declines: json-c then parses the whole tree.  Both ways
 * must agree on everything. */
static char *whole_variant(const char *text)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    const char *brace = strchr(text, '{');
    const char *next;

    if (!brace)
        return wva_xstrdup(text);
    next = brace + 1 + strspn(brace + 1, " \t\r\n");
    wva_strbuf_add(&sb, text, (size_t)(brace - text) + 1);
    wva_strbuf_adds(&sb, *next == '}' ? "\"\\u005fwhole\":0" : "\"\\u005fwhole\":0,");
    wva_strbuf_adds(&sb, brace + 1);
    return wva_strbuf_detach(&sb);
}

/* Parse both ways; they must give the same result and message.  Returns
 * the snapshot of the normal way (NULL on error, message in err). */
static struct wva_snapshot *parse_both(const char *text, struct wva_error *err)
{
    struct wva_snapshot *a = NULL, *b = NULL;
    struct wva_error err_b;
    char *whole = whole_variant(text);
    int rc_a = snapshot_parse(text, strlen(text), &a, err);
    int rc_b = snapshot_parse(whole, strlen(whole), &b, &err_b);

    assert_int_equal(rc_a, rc_b);
    if (rc_a == 0) {
        char *ja = snapshot_to_json(a);
        char *jb = snapshot_to_json(b);

        assert_string_equal(ja, jb);
        free(ja);
        free(jb);
    } else if (strncmp(err->msg, "not valid JSON: ", 16) == 0) {
        /* positions differ by the inserted key */
        assert_null(a);
        assert_memory_equal(err->msg, err_b.msg, 16);
    } else {
        assert_null(a);
        assert_string_equal(err->msg, err_b.msg);
    }
    snapshot_free(b);
    free(whole);
    return a;
}

static void expect_error(const char *text, const char *msg)
{
    struct wva_error err;
    struct wva_snapshot *snap = parse_both(text, &err);

    assert_null(snap);
    assert_string_equal(err.msg, msg);
}

static struct wva_snapshot *load_fixture(const char *name)
{
    struct wva_snapshot *snap = NULL;
    struct wva_error err;

    if (snapshot_load_file(fixture_path(name), &snap, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    return snap;
}

static void test_minimal(void **state)
{
    struct wva_snapshot *snap = load_fixture("snapshot/minimal.json");

    (void)state;
    assert_string_equal(snap->captured_at, "2026-11-27T10:00:00Z");
    assert_true(snap->captured_at_epoch == 1795773600.0);
    assert_int_equal(snap->settings.count, 0);
    assert_false(snap->has_nodes);
    assert_int_equal(snap->namespaces_count + snap->vas_count + snap->deployments_count +
                         snap->pods_count + snap->configmaps_count + snap->nodes_count,
                     0);
    assert_int_equal(snap->metrics.kv_cache_usage.count, 0);
    assert_int_equal(snap->metrics.custom_count, 0);
    assert_null(snap->metrics.prometheus_error);
    assert_null(snapshot_find_deployment(snap, "a", "b"));
    snapshot_free(snap);
}

static void test_rich(void **state)
{
    struct wva_snapshot *snap = load_fixture("snapshot/rich.json");
    const struct wva_va *va;
    const struct wva_deployment *d;
    const struct wva_pod *pod;
    const struct wva_metrics *m;

    (void)state;
    assert_true(snap->captured_at_epoch == 1795770000.5);
    assert_int_equal(snap->settings.count, 3);
    assert_string_equal(wva_kvlist_get(&snap->settings, "GLOBAL_OPT_INTERVAL"), "90s");
    assert_string_equal(wva_kvlist_get(&snap->settings, "WVA_LIMITED_MODE"), "true");
    assert_string_equal(wva_kvlist_get(&snap->settings, "MAX_RUNS"), "3");

    assert_int_equal(snap->namespaces_count, 2);
    assert_string_equal(snap->namespaces[0].name, "team-a");
    assert_int_equal(snap->namespaces[0].labels.count, 2);
    assert_string_equal(wva_kvlist_get(&snap->namespaces[0].labels, "wva.llmd.ai/config-enabled"),
                        "true");
    assert_string_equal(wva_kvlist_get(&snap->namespaces[0].annotations, "wva.llmd.ai/exclude"),
                        "false");
    assert_false(snap->namespaces[0].deleting);
    assert_true(snap->namespaces[1].deleting);
    assert_int_equal(snap->namespaces[1].labels.count, 0);

    assert_int_equal(snap->vas_count, 2);
    va = &snap->vas[0];
    assert_string_equal(va->namespace_name, "team-a");
    assert_string_equal(va->name, "llama-a100");
    assert_string_equal(va->resource_version, "4711");
    assert_string_equal(wva_kvlist_get(&va->labels, "wva.llmd.ai/controller-instance"), "a");
    assert_null(va->spec_problem);
    assert_null(va->raw_spec_json);
    assert_string_equal(va->target_kind, "Deployment");
    assert_string_equal(va->target_name, "llama-a100");
    assert_string_equal(va->model_id, "meta/llama-3-8b");
    assert_true(va->variant_cost == 12.5);
    assert_int_equal(va->min_replicas, 1);
    assert_int_equal(va->max_replicas, 8);
    assert_int_equal(va->priority, 5);
    assert_int_equal(va->metrics_count, 2);
    assert_string_equal(va->metrics[0].name, "vllm:num_requests_running");
    assert_true(va->metrics[0].target == 20.0);
    assert_string_equal(va->metrics[1].name, "tokens_per_second");
    assert_true(va->metrics[1].target == 1500.5);
    assert_int_equal(va->status_desired_replicas, 3);
    assert_string_equal(va->status_accelerator, "A100");
    assert_true(va->status_last_run_time == 1795773540.0);
    assert_int_equal(va->conditions_count, 2);
    assert_string_equal(va->conditions[0].type, "TargetResolved");
    assert_string_equal(va->conditions[0].status, "True");
    assert_string_equal(va->conditions[0].reason, "TargetFound");
    assert_string_equal(va->conditions[0].message, "Deployment llama-a100 found");
    assert_string_equal(va->conditions[0].last_transition_time, "2026-11-27T08:00:00Z");
    assert_string_equal(va->conditions[1].reason, "MetricsMissing");
    assert_null(va->conditions[1].message);
    assert_null(va->conditions[1].last_transition_time);

    /* invalid spec: recorded, fields that read fine kept; bad status: absent */
    va = &snap->vas[1];
    assert_string_equal(va->spec_problem, "spec.scaleTargetRef.kind: \"StatefulSet\" is not Deployment");
    assert_string_equal(va->target_kind, "StatefulSet");
    assert_string_equal(va->target_name, "llama-sts");
    assert_string_equal(va->model_id, "meta/llama-3-8b");
    assert_true(va->variant_cost == 10.0);
    assert_non_null(va->raw_spec_json);
    assert_null(va->resource_version);
    assert_int_equal(va->status_desired_replicas, -1);
    assert_null(va->status_accelerator);
    assert_true(va->status_last_run_time == -1);
    assert_int_equal(va->conditions_count, 1);
    assert_null(va->conditions[0].type);
    assert_string_equal(va->conditions[0].status, "True");

    assert_int_equal(snap->deployments_count, 2);
    d = &snap->deployments[0];
    assert_string_equal(d->resource_version, "99");
    assert_int_equal(d->replicas, 3);
    assert_int_equal(d->ready_replicas, 2);
    assert_false(d->deleting);
    assert_int_equal(d->selector.count, 2);
    assert_string_equal(wva_kvlist_get(&d->selector, "variant"), "a100");
    assert_string_equal(d->node_selector_accelerator, "NVIDIA-A100-PCIE-80GB");
    assert_true(d->gpu_request == 2.0);     /* first GPU container, from limits */
    d = &snap->deployments[1];
    assert_string_equal(d->namespace_name, "team-b");
    assert_true(d->deleting);
    assert_int_equal(d->replicas, 1);
    assert_int_equal(d->ready_replicas, 0);
    assert_string_equal(d->node_selector_accelerator, "AMD-MI300X-192G");
    assert_true(d->gpu_request == 1.0);     /* requests win over limits */

    assert_int_equal(snap->pods_count, 2);
    pod = &snap->pods[0];
    assert_string_equal(pod->owner_replicaset, "llama-a100-6c9f");
    assert_string_equal(pod->pod_template_hash, "6c9f");
    assert_string_equal(pod->node_name, "gpu-node-1");
    assert_string_equal(pod->phase, "Running");
    assert_false(pod->terminating);
    assert_true(pod->gpu_request == 3.0);
    pod = &snap->pods[1];
    assert_null(pod->owner_replicaset);
    assert_null(pod->pod_template_hash);
    assert_null(pod->node_name);
    assert_string_equal(pod->phase, "Pending");
    assert_true(pod->terminating);
    assert_true(pod->gpu_request == 0.0);

    assert_int_equal(snap->configmaps_count, 2);
    assert_string_equal(snap->configmaps[0].namespace_name, "workload-variant-autoscaler-system");
    assert_string_equal(wva_kvlist_get(&snap->configmaps[0].data, "default"),
                        "kvCacheThreshold: 0.8\nqueueLengthThreshold: 5\n");
    assert_int_equal(snap->configmaps[1].data.count, 0);

    assert_true(snap->has_nodes);
    assert_int_equal(snap->nodes_count, 2);
    assert_string_equal(snap->nodes[0].accelerator, "NVIDIA-A100-PCIE-80GB");
    assert_true(snap->nodes[0].allocatable_gpus == 8.0);
    assert_true(snap->nodes[0].unschedulable);
    assert_null(snap->nodes[1].accelerator);
    assert_true(snap->nodes[1].allocatable_gpus == 0.0);
    assert_false(snap->nodes[1].unschedulable);

    m = &snap->metrics;
    assert_int_equal(m->kv_cache_usage.count, 1);
    assert_true(m->kv_cache_usage.items[0].value == 0.42);
    assert_string_equal(wva_kvlist_get(&m->kv_cache_usage.items[0].labels, "pod"),
                        "llama-a100-6c9f-x1");
    assert_int_equal(m->queue_length.count, 1);
    assert_true(m->queue_length.items[0].value == 3.0);
    assert_int_equal(m->nonfinite_dropped, 4);
    assert_string_equal(wva_kvlist_get(&m->cache_config.items[0].labels, "num_gpu_blocks"), "4096");
    assert_true(m->request_count.items[0].value == 12345.0);
    assert_int_equal(m->gateway_queue.count, 0);
    assert_int_equal(m->running_requests.count, 1);
    assert_true(m->running_requests.items[0].value == 17.25);
    assert_string_equal(wva_kvlist_get(&m->running_requests.items[0].labels, "pod"),
                        "llama-a100-6c9f-x1");
    assert_int_equal(m->request_rate.count, 1);     /* the NaN sample is dropped */
    assert_true(m->request_rate.items[0].value == 1.5);
    assert_int_equal(m->custom_count, 2);
    assert_string_equal(m->custom[0].metric, "tokens_per_second");
    assert_int_equal(m->custom[0].series.count, 1);
    assert_true(m->custom[0].series.items[0].value == 900.0);
    assert_string_equal(m->custom[1].metric, "vllm:num_requests_running");
    assert_int_equal(m->custom[1].series.count, 0);
    snapshot_free(snap);
}

/* Both loading paths (split arrays / whole tree) agree on a rich document. */
static void test_split_and_whole_agree(void **state)
{
    struct wva_error err;
    char *text = read_whole_file(fixture_path("snapshot/rich.json"), NULL);
    struct wva_snapshot *snap;

    (void)state;
    assert_non_null(text);
    snap = parse_both(text, &err);
    assert_non_null(snap);
    snapshot_free(snap);
    free(text);
}

static void test_file_errors(void **state)
{
    struct wva_snapshot *snap = NULL;
    struct wva_error err;
    char expect[8192];

    (void)state;
    assert_int_equal(snapshot_load_file("/nonexistent/snap.json", &snap, &err), -1);
    assert_null(snap);
    assert_string_equal(err.msg, "snapshot /nonexistent/snap.json: cannot open: No such file or directory");

    assert_int_equal(snapshot_load_file(fixture_path("snapshot/not-json.json"), &snap, &err), -1);
    snprintf(expect, sizeof(expect), "snapshot %s: not valid JSON: ", fixture_path("snapshot/not-json.json"));
    assert_memory_equal(err.msg, expect, strlen(expect));
    assert_non_null(strstr(err.msg, "at line 4, column "));

    assert_int_equal(snapshot_load_file(fixture_path("snapshot/top-level-array.json"), &snap, &err), -1);
    snprintf(expect, sizeof(expect), "snapshot %s: snapshot: expected object, got array",
             fixture_path("snapshot/top-level-array.json"));
    assert_string_equal(err.msg, expect);

    assert_int_equal(snapshot_load_file(fixture_path("snapshot/wrong-kind.json"), &snap, &err), -1);
    snprintf(expect, sizeof(expect), "snapshot %s: kind: expected \"WVASnapshot\", got \"DeploymentList\"",
             fixture_path("snapshot/wrong-kind.json"));
    assert_string_equal(err.msg, expect);

    assert_int_equal(snapshot_load_file(fixture_path("snapshot/bad-replicas.json"), &snap, &err), -1);
    snprintf(expect, sizeof(expect),
             "snapshot %s: deployments.items[3].spec.replicas: expected integer, got \"abc\"",
             fixture_path("snapshot/bad-replicas.json"));
    assert_string_equal(err.msg, expect);
    assert_null(snap);
}

static void test_not_json(void **state)
{
    static const char *const docs[] = {
        "", "   ", "{", "{\"kind\":", "{} x", "{}{}", "nul", "{\"kind\":'x'}",
        "{\"a\":1,}", "{\"a\":01}", "{/*c*/}", "{\"a\":\"\xff\"}", "[1,2",
    };
    struct wva_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct wva_snapshot *snap = parse_both(docs[i], &err);

        assert_null(snap);
        if (strncmp(err.msg, "not valid JSON: ", 16) != 0)
            fail_msg("doc %zu: %s", i, err.msg);
    }
    expect_error("{\n  \"kind\": x\n}", "not valid JSON: unexpected character at line 2, column 11 (byte 12)");
    /* an embedded NUL is not the end of the document */
    {
        static const char text[] = "{\"kind\":\"WVASnapshot\"}\0{";
        struct wva_snapshot *snap = NULL;

        assert_int_equal(snapshot_parse(text, sizeof(text) - 1, &snap, &err), -1);
        assert_null(snap);
    }
}

static void test_top_level(void **state)
{
    (void)state;
    expect_error("[]", "snapshot: expected object, got array");
    expect_error("\"WVASnapshot\"", "snapshot: expected object, got \"WVASnapshot\"");
    expect_error("{}", "kind: missing");
    expect_error("{\"kind\":\"Foo\"}", "kind: expected \"WVASnapshot\", got \"Foo\"");
    expect_error("{\"kind\":\"WVASnapshot\"}", "version: missing");
    expect_error("{\"kind\":\"WVASnapshot\",\"version\":2}", "version: expected 1, got 2");
    expect_error("{\"kind\":\"WVASnapshot\",\"version\":\"1\"}", "version: expected integer, got \"1\"");
    expect_error("{\"kind\":\"WVASnapshot\",\"version\":1.0}", "version: expected integer, got 1.0");
    expect_error("{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"yesterday\"}",
                 "capturedAt: expected RFC 3339 timestamp, got \"yesterday\"");
    expect_error("{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
                 "\"namespaces\":{\"items\":[]}}",
                 "variantAutoscalings: missing");
}

struct path_case {
    const char *ns, *vas, *deps, *pods, *cms, *extra;
    const char *msg;
};

static void test_path_errors(void **state)
{
    static const struct path_case cases[] = {
        {NULL, NULL, NULL, "{\"metadata\":[]}", NULL, NULL,
         "pods.items[0].metadata: expected object, got array"},
        {NULL, NULL, NULL, NULL, NULL,
         ",\"metrics\":{\"kvCacheUsage\":[{\"value\":[1,\"1\"]},{\"value\":[1,\"2\"]},{\"metric\":{},\"value\":[1,\"x\"]}]}",
         "metrics.kvCacheUsage[2].value[1]: expected numeric string, got \"x\""},
        {"{\"metadata\":{\"labels\":{}}}", NULL, NULL, NULL, NULL, NULL,
         "namespaces.items[0].metadata.name: missing"},
        {"{\"metadata\":{\"name\":\"\"}}", NULL, NULL, NULL, NULL, NULL,
         "namespaces.items[0].metadata.name: expected non-empty string, got \"\""},
        {"{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":true}}}", NULL, NULL, NULL, NULL, NULL,
         "namespaces.items[0].metadata.annotations.x: expected string, got true"},
        {NULL, "{\"metadata\":{\"name\":\"v\"}}", NULL, NULL, NULL, NULL,
         "variantAutoscalings.items[0].metadata.namespace: missing"},
        {NULL, "{\"metadata\":{\"name\":\"v\",\"namespace\":\"n\",\"labels\":{\"team\":3}},\"spec\":{}}",
         NULL, NULL, NULL, NULL,
         "variantAutoscalings.items[0].metadata.labels.team: expected string, got 3"},
        {NULL, NULL, NULL, NULL, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"},\"data\":{\"key\":5}}", NULL,
         "configMaps.items[0].data.key: expected string, got 5"},
        {NULL, NULL, NULL, NULL, NULL, ",\"settings\":{\"X\":[1]}",
         "settings.X: expected string, got array"},
        {NULL, NULL,
         "{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},\"spec\":{\"template\":{\"spec\":{\"containers\":"
         "[{\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"lots\"}}}]}}}}",
         NULL, NULL, NULL,
         "deployments.items[0].spec.template.spec.containers[0].resources.requests[\"nvidia.com/gpu\"]: "
         "expected quantity, got \"lots\""},
        {NULL, NULL, "{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},\"status\":{\"readyReplicas\":-1}}",
         NULL, NULL, NULL, "deployments.items[0].status.readyReplicas: expected integer >= 0, got -1"},
        {NULL, NULL, "{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},\"spec\":{\"replicas\":NaN}}",
         NULL, NULL, NULL, "deployments.items[0].spec.replicas: expected integer, got NaN"},
        {NULL, NULL,
         "{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},\"spec\":{\"template\":{\"spec\":{\"containers\":"
         "[{\"resources\":{\"limits\":{\"intel.com/gpu\":-Infinity}}}]}}}}",
         NULL, NULL, NULL,
         "deployments.items[0].spec.template.spec.containers[0].resources.limits[\"intel.com/gpu\"]: "
         "expected quantity, got -Infinity"},
        {NULL, NULL, "{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},\"spec\":{\"replicas\":3000000000}}",
         NULL, NULL, NULL,
         "deployments.items[0].spec.replicas: expected integer <= 2147483647, got 3000000000"},
        {NULL, NULL, "{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},\"spec\":{\"selector\":{\"matchLabels\":[]}}}",
         NULL, NULL, NULL, "deployments.items[0].spec.selector.matchLabels: expected object, got array"},
        {NULL, NULL, NULL,
         "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"ownerReferences\":[{\"kind\":\"ReplicaSet\"}]}}",
         NULL, NULL, "pods.items[0].metadata.ownerReferences[0].name: missing"},
        {NULL, NULL, NULL,
         "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"labels\":{\"pod-template-hash\":1}}}",
         NULL, NULL, "pods.items[0].metadata.labels.pod-template-hash: expected string, got 1"},
        {NULL, NULL, NULL, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"status\":{\"phase\":null,\"x\":1},\"spec\":[]}",
         NULL, NULL, "pods.items[0].spec: expected object, got array"},
        {NULL, NULL, NULL, "1", NULL, NULL, "pods.items[0]: expected object, got 1"},
        {NULL, NULL, NULL, NULL, NULL, ",\"nodes\":{\"items\":[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"unschedulable\":\"yes\"}}]}",
         "nodes.items[0].spec.unschedulable: expected boolean, got \"yes\""},
        {NULL, NULL, NULL, NULL, NULL,
         ",\"nodes\":{\"items\":[{\"metadata\":{\"name\":\"x\",\"labels\":{\"amd.com/gpu.product\":\"MI300X\"}},"
         "\"status\":{\"allocatable\":{\"amd.com/gpu\":\"-2\"}}}]}",
         "nodes.items[0].status.allocatable[\"amd.com/gpu\"]: expected quantity, got \"-2\""},
        {NULL, NULL, NULL, NULL, NULL, ",\"nodes\":[]", "nodes: expected object, got array"},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"queueLength\":[{\"value\":[1]}]}",
         "metrics.queueLength[0].value: expected [timestamp, \"value\"], got array of 1"},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"queueLength\":[{\"value\":[\"1\",\"1\"]}]}",
         "metrics.queueLength[0].value[0]: expected number, got \"1\""},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"queueLength\":[{\"value\":[1,\" 1\"]}]}",
         "metrics.queueLength[0].value[1]: expected numeric string, got \" 1\""},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"requestCount\":[{\"metric\":{\"pod\":null},\"value\":[1,\"1\"]}]}",
         "metrics.requestCount[0].metric.pod: expected string, got null"},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"custom\":{\"vllm:x\":{}}}",
         "metrics.custom[\"vllm:x\"]: expected array, got object"},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"custom\":{\"m\":[{\"value\":[1,\"5%\"]}]}}",
         "metrics.custom.m[0].value[1]: expected numeric string, got \"5%\""},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"gatewayQueue\":{}}",
         "metrics.gatewayQueue: expected array, got object"},
        {NULL, NULL, NULL, NULL, NULL, ",\"metrics\":{\"prometheusError\":5}",
         "metrics.prometheusError: expected string, got 5"},
    };
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct path_case *c = &cases[i];
        char *doc = make_doc(c->ns, c->vas, c->deps, c->pods, c->cms, c->extra);

        expect_error(doc, c->msg);
        free(doc);
    }
    /* lists themselves */
    expect_error("{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
                 "\"namespaces\":{\"items\":[]},\"variantAutoscalings\":{\"items\":[]},"
                 "\"deployments\":{\"items\":[]},\"pods\":{\"items\":{}},\"configMaps\":{\"items\":[]}}",
                 "pods.items: expected array, got object");
    expect_error("{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
                 "\"namespaces\":{\"items\":[]},\"variantAutoscalings\":{\"items\":[]},"
                 "\"deployments\":{\"kind\":\"DeploymentList\"},\"pods\":{\"items\":[]},\"configMaps\":{\"items\":[]}}",
                 "deployments.items: missing");
    /* the error is in the 201st item: paths count right in long lists */
    for (int i = 0; i < 200; i++)
        wva_strbuf_addf(&sb, "{\"metadata\":{\"name\":\"p%d\",\"namespace\":\"n\"}},", i);
    wva_strbuf_adds(&sb, "{\"metadata\":{\"name\":\"bad\",\"namespace\":7}}");
    {
        char *doc = make_doc(NULL, NULL, NULL, wva_strbuf_str(&sb), NULL, NULL);

        expect_error(doc, "pods.items[200].metadata.namespace: expected string, got 7");
        free(doc);
    }
    wva_strbuf_release(&sb);
}

static void test_nonfinite_dropped(void **state)
{
    struct wva_error err;
    char *doc = make_doc(NULL, NULL, NULL, NULL, NULL,
                         ",\"metrics\":{\"kvCacheUsage\":["
                         "{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"NaN\"]},"
                         "{\"metric\":{\"pod\":\"b\"},\"value\":[1,\"0.5\"]},"
                         "{\"metric\":{\"pod\":\"c\"},\"value\":[1,\"+Inf\"]},"
                         "{\"metric\":{\"pod\":\"d\"},\"value\":[1,\"-Inf\"]},"
                         "{\"metric\":{\"pod\":\"e\"},\"value\":[1.5,\"-0.25\"]}],"
                         "\"custom\":{\"x\":[{\"value\":[1,\"NaN\"]}]}}");
    struct wva_snapshot *snap = parse_both(doc, &err);
    const struct wva_series *s;

    (void)state;
    assert_non_null(snap);
    s = &snap->metrics.kv_cache_usage;
    assert_int_equal(s->count, 2);
    assert_string_equal(wva_kvlist_get(&s->items[0].labels, "pod"), "b");
    assert_true(s->items[0].value == 0.5);
    assert_string_equal(wva_kvlist_get(&s->items[1].labels, "pod"), "e");
    assert_true(s->items[1].value == -0.25);
    assert_int_equal(snap->metrics.custom[0].series.count, 0);
    assert_int_equal(snap->metrics.nonfinite_dropped, 4);
    snapshot_free(snap);
    free(doc);
}

/* The spec problem of a one-VA snapshot whose spec is given (NULL: no
 * spec member).  The snapshot must load.  Returns a copy or NULL. */
static char *spec_problem_of(const char *spec, struct wva_snapshot **keep)
{
    struct wva_strbuf va = WVA_STRBUF_INIT;
    struct wva_snapshot *snap;
    struct wva_error err;
    char *doc, *problem;

    wva_strbuf_adds(&va, "{\"metadata\":{\"name\":\"v\",\"namespace\":\"n\"}");
    if (spec)
        wva_strbuf_addf(&va, ",\"spec\":%s", spec);
    wva_strbuf_adds(&va, "}");
    doc = make_doc(NULL, wva_strbuf_str(&va), NULL, NULL, NULL, NULL);
    snap = parse_both(doc, &err);
    if (!snap)
        fail_msg("spec %s: load failed: %s", spec ? spec : "(none)", err.msg);
    assert_int_equal(snap->vas_count, 1);
    problem = wva_xstrdup(snap->vas[0].spec_problem);
    if (keep)
        *keep = snap;
    else
        snapshot_free(snap);
    free(doc);
    wva_strbuf_release(&va);
    return problem;
}

#define REF "\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"d\"}"
#define GOOD REF ",\"modelID\":\"m\""

static void test_va_spec_problems(void **state)
{
    static const struct {
        const char *spec;
        const char *problem;
    } cases[] = {
        {NULL, "spec: missing"},
        {"[]", "spec: expected object, got array"},
        {"null", "spec: expected object, got null"},
        {"{\"modelID\":\"m\"}", "spec.scaleTargetRef: missing"},
        {"{\"scaleTargetRef\":\"d\",\"modelID\":\"m\"}", "spec.scaleTargetRef: expected object, got \"d\""},
        {"{\"scaleTargetRef\":{\"kind\":\"Deployment\"},\"modelID\":\"m\"}", "spec.scaleTargetRef.name: missing"},
        {"{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"\"},\"modelID\":\"m\"}",
         "spec.scaleTargetRef.name: missing"},
        {"{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":5},\"modelID\":\"m\"}",
         "spec.scaleTargetRef.name: expected string, got 5"},
        {"{\"scaleTargetRef\":{\"name\":\"d\"},\"modelID\":\"m\"}", "spec.scaleTargetRef.kind: missing"},
        {"{\"scaleTargetRef\":{\"name\":\"d\",\"kind\":\"StatefulSet\"},\"modelID\":\"m\"}",
         "spec.scaleTargetRef.kind: \"StatefulSet\" is not Deployment"},
        {"{" REF "}", "spec.modelID: missing"},
        {"{" REF ",\"modelID\":\"\"}", "spec.modelID: missing"},
        {"{" GOOD ",\"variantCost\":\"abc\"}", "spec.variantCost: \"abc\" does not match ^\\d+(\\.\\d+)?$"},
        {"{" GOOD ",\"variantCost\":\"1e3\"}", "spec.variantCost: \"1e3\" does not match ^\\d+(\\.\\d+)?$"},
        {"{" GOOD ",\"variantCost\":\"-1\"}", "spec.variantCost: \"-1\" does not match ^\\d+(\\.\\d+)?$"},
        {"{" GOOD ",\"variantCost\":12}", "spec.variantCost: expected string, got 12"},
        {"{" GOOD ",\"minReplicas\":-1}", "spec.minReplicas: expected integer >= 0, got -1"},
        {"{" GOOD ",\"minReplicas\":\"2\"}", "spec.minReplicas: expected integer, got \"2\""},
        {"{" GOOD ",\"maxReplicas\":1.5}", "spec.maxReplicas: expected integer, got 1.5"},
        {"{" GOOD ",\"maxReplicas\":-3}", "spec.maxReplicas: expected integer >= 0, got -3"},
        {"{" GOOD ",\"minReplicas\":5,\"maxReplicas\":2}", "spec.minReplicas 5 > spec.maxReplicas 2"},
        {"{" GOOD ",\"priority\":\"high\"}", "spec.priority: expected integer, got \"high\""},
        {"{" GOOD ",\"metrics\":{}}", "spec.metrics: expected array, got object"},
        {"{" GOOD ",\"metrics\":[\"x\"]}", "spec.metrics[0]: expected object, got \"x\""},
        {"{" GOOD ",\"metrics\":[{\"name\":\"a\",\"target\":1,\"foo\":2}]}", "spec.metrics[0]: unknown key \"foo\""},
        {"{" GOOD ",\"metrics\":[{\"target\":1}]}", "spec.metrics[0].name: missing"},
        {"{" GOOD ",\"metrics\":[{\"name\":\"ok\",\"target\":1},{\"name\":\"1abc\",\"target\":1}]}",
         "spec.metrics[1].name: \"1abc\" is not a Prometheus metric name"},
        {"{" GOOD ",\"metrics\":[{\"name\":\"a-b\",\"target\":1}]}",
         "spec.metrics[0].name: \"a-b\" is not a Prometheus metric name"},
        {"{" GOOD ",\"metrics\":[{\"name\":\"a\"}]}", "spec.metrics[0].target: missing"},
        {"{" GOOD ",\"metrics\":[{\"name\":\"a\",\"target\":0}]}", "spec.metrics[0].target: expected number > 0, got 0"},
        {"{" GOOD ",\"metrics\":[{\"name\":\"a\",\"target\":-2.5}]}",
         "spec.metrics[0].target: expected number > 0, got -2.5"},
        /* json-c reads the NaN literal even in strict mode */
        {"{" GOOD ",\"metrics\":[{\"name\":\"a\",\"target\":NaN}]}",
         "spec.metrics[0].target: expected number > 0, got NaN"},
        {"{" GOOD ",\"metrics\":[{\"name\":\"a\",\"target\":Infinity}]}",
         "spec.metrics[0].target: expected number > 0, got Infinity"},
        {"{" GOOD ",\"metrics\":[{\"name\":\"a\",\"target\":\"5\"}]}",
         "spec.metrics[0].target: expected number, got \"5\""},
        /* checks are ordered: the first problem is the one reported */
        {"{\"scaleTargetRef\":{\"name\":\"d\",\"kind\":\"StatefulSet\"},\"variantCost\":\"x\"}",
         "spec.scaleTargetRef.kind: \"StatefulSet\" is not Deployment"},
        {"{\"scaleTargetRef\":{\"kind\":\"Job\"}}", "spec.scaleTargetRef.name: missing"},
        {"{" GOOD ",\"variantCost\":\"x\",\"minReplicas\":-1}", "spec.variantCost: \"x\" does not match ^\\d+(\\.\\d+)?$"},
        {"{" GOOD ",\"minReplicas\":3,\"maxReplicas\":1,\"priority\":\"x\",\"metrics\":5}",
         "spec.minReplicas 3 > spec.maxReplicas 1"},
        /* valid corner cases */
        {"{" GOOD ",\"minReplicas\":2,\"maxReplicas\":2,\"variantCost\":\"0\",\"metrics\":[],\"priority\":-4}", NULL},
        {"{" GOOD ",\"maxReplicas\":0,\"variantCost\":null}", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *problem = spec_problem_of(cases[i].spec, NULL);

        if (!cases[i].problem && problem)
            fail_msg("case %zu: unexpected problem: %s", i, problem);
        if (cases[i].problem && (!problem || strcmp(problem, cases[i].problem) != 0))
            fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].problem,
                     problem ? problem : "(none)");
        free(problem);
    }
}

/* Fields read fine before (and after) a problem are still filled. */
static void test_va_partial_fields(void **state)
{
    struct wva_snapshot *snap;
    char *problem;
    const struct wva_va *va;

    (void)state;
    problem = spec_problem_of("{" GOOD ",\"variantCost\":\"7.25\",\"minReplicas\":4,\"maxReplicas\":3,"
                              "\"metrics\":[{\"name\":\"good\",\"target\":2},{\"name\":\"bad\"}]}",
                              &snap);
    assert_string_equal(problem, "spec.minReplicas 4 > spec.maxReplicas 3");
    va = &snap->vas[0];
    assert_string_equal(va->target_name, "d");
    assert_string_equal(va->target_kind, "Deployment");
    assert_string_equal(va->model_id, "m");
    assert_true(va->variant_cost == 7.25);
    assert_int_equal(va->min_replicas, 4);
    assert_int_equal(va->max_replicas, 3);
    assert_int_equal(va->metrics_count, 1);
    assert_string_equal(va->metrics[0].name, "good");
    assert_non_null(va->raw_spec_json);
    free(problem);
    snapshot_free(snap);
}

static void test_defaults(void **state)
{
    struct wva_error err;
    char *doc = make_doc("{\"metadata\":{\"name\":\"n\"}}",
                         "{\"metadata\":{\"name\":\"v\",\"namespace\":\"n\",\"labels\":null},\"spec\":{" GOOD "},"
                         "\"status\":{\"desiredOptimizedAlloc\":{\"numReplicas\":\"3\",\"lastRunTime\":\"soon\"}}}",
                         "{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\",\"resourceVersion\":null},"
                         "\"spec\":{\"replicas\":null}}",
                         "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"}}",
                         "{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"},\"data\":null}",
                         ",\"settings\":null,\"nodes\":{\"items\":null}");
    struct wva_snapshot *snap = parse_both(doc, &err);
    const struct wva_va *va;

    (void)state;
    if (!snap)
        fail_msg("%s", err.msg);
    va = &snap->vas[0];
    assert_null(va->spec_problem);
    assert_true(va->variant_cost == 10.0);
    assert_int_equal(va->min_replicas, 0);
    assert_int_equal(va->max_replicas, -1);
    assert_int_equal(va->priority, 0);
    assert_int_equal(va->metrics_count, 0);
    assert_int_equal(va->labels.count, 0);
    assert_int_equal(va->status_desired_replicas, -1);
    assert_true(va->status_last_run_time == -1);
    assert_int_equal(va->conditions_count, 0);
    assert_int_equal(snap->deployments[0].replicas, 1);
    assert_int_equal(snap->deployments[0].ready_replicas, 0);
    assert_null(snap->deployments[0].resource_version);
    assert_null(snap->deployments[0].node_selector_accelerator);
    assert_true(snap->deployments[0].gpu_request == 0.0);
    assert_false(snap->pods[0].terminating);
    assert_null(snap->pods[0].phase);
    assert_int_equal(snap->configmaps[0].data.count, 0);
    assert_int_equal(snap->settings.count, 0);
    assert_true(snap->has_nodes);
    assert_int_equal(snap->nodes_count, 0);
    snapshot_free(snap);
    free(doc);
}

static void test_lookups(void **state)
{
    struct wva_snapshot *snap = load_fixture("snapshot/rich.json");
    struct wva_snapshot_index *index;
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    struct wva_error err;
    char *doc;

    (void)state;
    assert_ptr_equal(snapshot_find_namespace(snap, "team-b"), &snap->namespaces[1]);
    assert_null(snapshot_find_namespace(snap, "team-c"));
    assert_ptr_equal(snapshot_find_deployment(snap, "team-b", "mi300"), &snap->deployments[1]);
    assert_null(snapshot_find_deployment(snap, "team-a", "mi300"));
    assert_null(snapshot_find_deployment(snap, "team-b", NULL));
    assert_ptr_equal(snapshot_find_configmap(snap, "workload-variant-autoscaler-system",
                                             "wva-saturation-config"),
                     &snap->configmaps[0]);
    assert_null(snapshot_find_configmap(snap, "team-a", "wva-saturation-config"));

    /* without an index (a hand-built snapshot) the answers are the same */
    index = snap->index;
    snap->index = NULL;
    assert_ptr_equal(snapshot_find_deployment(snap, "team-b", "mi300"), &snap->deployments[1]);
    assert_ptr_equal(snapshot_find_namespace(snap, "team-a"), &snap->namespaces[0]);
    assert_null(snapshot_find_configmap(snap, "team-a", "nope"));
    snap->index = index;

    /* a change followed by snapshot_finish is seen */
    free(snap->deployments[1].name);
    snap->deployments[1].name = wva_xstrdup("renamed");
    snapshot_finish(snap);
    assert_null(snapshot_find_deployment(snap, "team-b", "mi300"));
    assert_ptr_equal(snapshot_find_deployment(snap, "team-b", "renamed"), &snap->deployments[1]);
    snapshot_free(snap);

    /* many items in reverse order, and a duplicate: the first one wins */
    for (int i = 2999; i >= 0; i--)
        wva_strbuf_addf(&sb, "{\"metadata\":{\"name\":\"d%d\",\"namespace\":\"ns%d\"}},", i, i % 7);
    wva_strbuf_adds(&sb, "{\"metadata\":{\"name\":\"d5\",\"namespace\":\"ns5\"}}");
    doc = make_doc(NULL, NULL, wva_strbuf_str(&sb), NULL, NULL, NULL);
    assert_int_equal(snapshot_parse(doc, strlen(doc), &snap, &err), 0);
    for (int i = 0; i < 3000; i++) {
        char ns[16], name[16];
        const struct wva_deployment *d;

        snprintf(ns, sizeof(ns), "ns%d", i % 7);
        snprintf(name, sizeof(name), "d%d", i);
        d = snapshot_find_deployment(snap, ns, name);
        assert_non_null(d);
        assert_ptr_equal(d, &snap->deployments[2999 - i]);
        snprintf(ns, sizeof(ns), "ns%d", (i + 1) % 7);
        assert_null(snapshot_find_deployment(snap, ns, name));
    }
    snapshot_free(snap);
    free(doc);
    wva_strbuf_release(&sb);
}

static void test_round_trip(void **state)
{
    struct wva_snapshot *snap = load_fixture("snapshot/rich.json");
    struct wva_snapshot *again = NULL;
    struct wva_error err;
    char *json = snapshot_to_json(snap);
    char *json2;

    (void)state;
    if (snapshot_parse(json, strlen(json), &again, &err) != 0)
        fail_msg("%s\n%s", err.msg, json);
    /* equal snapshots serialise equally; spot-check the values too */
    json2 = snapshot_to_json(again);
    assert_string_equal(json, json2);
    assert_string_equal(again->captured_at, snap->captured_at);
    assert_true(again->captured_at_epoch == snap->captured_at_epoch);
    assert_int_equal(again->vas_count, 2);
    assert_string_equal(again->vas[1].spec_problem, snap->vas[1].spec_problem);
    assert_string_equal(again->vas[1].target_name, "llama-sts");
    assert_true(again->vas[0].variant_cost == 12.5);
    assert_true(again->vas[0].metrics[1].target == 1500.5);
    assert_true(again->vas[0].status_last_run_time == snap->vas[0].status_last_run_time);
    assert_string_equal(again->vas[0].conditions[0].message, "Deployment llama-a100 found");
    assert_true(again->deployments[0].gpu_request == 2.0);
    assert_string_equal(again->deployments[1].node_selector_accelerator, "AMD-MI300X-192G");
    assert_true(again->deployments[1].deleting);
    assert_int_equal(again->deployments[1].replicas, 1);
    assert_true(again->pods[0].gpu_request == 3.0);
    assert_string_equal(again->pods[0].owner_replicaset, "llama-a100-6c9f");
    assert_true(again->pods[1].terminating);
    assert_true(again->nodes[0].unschedulable);
    assert_true(again->nodes[0].allocatable_gpus == 8.0);
    assert_true(again->metrics.kv_cache_usage.items[0].value == 0.42);
    assert_true(again->metrics.request_count.items[0].value == 12345.0);
    assert_true(again->metrics.running_requests.items[0].value == 17.25);
    assert_true(again->metrics.request_rate.items[0].value == 1.5);
    assert_int_equal(again->metrics.custom_count, 2);
    assert_string_equal(wva_kvlist_get(&again->settings, "WVA_LIMITED_MODE"), "true");
    assert_int_equal(again->namespaces[0].annotations.count, 1);
    free(json);
    free(json2);
    snapshot_free(again);

    /* odd values survive too: a cost needing many digits, a Prometheus
     * error, fractional GPUs, no nodes */
    free(snap->vas[0].spec_problem);
    snap->vas[0].variant_cost = 0.1;
    snap->metrics.prometheus_error = wva_xstrdup("connection refused \"x\"");
    snap->pods[0].gpu_request = 0.5;
    snap->has_nodes = false;
    snap->vas[0].spec_problem = NULL;
    json = snapshot_to_json(snap);
    assert_int_equal(snapshot_parse(json, strlen(json), &again, &err), 0);
    assert_true(again->vas[0].variant_cost == 0.1);
    assert_string_equal(again->metrics.prometheus_error, "connection refused \"x\"");
    assert_true(again->pods[0].gpu_request == 0.5);
    assert_false(again->has_nodes);
    assert_int_equal(again->nodes_count, 0);
    free(json);
    snapshot_free(again);
    snapshot_free(snap);
}

/* Every prefix of a valid document is refused cleanly (and every prefix
 * that ends before the closing brace must be refused).  All prefixes of
 * the minimal fixture, every third of the rich one (time under ASan). */
static void test_truncated(void **state)
{
    static const char *const names[] = {"snapshot/minimal.json", "snapshot/rich.json"};
    static const size_t steps[] = {1, 3};

    (void)state;
    for (size_t f = 0; f < 2; f++) {
        size_t len = 0;
        char *text = read_whole_file(fixture_path(names[f]), &len);
        size_t last = len;

        assert_non_null(text);
        while (last > 0 && text[last - 1] != '}')
            last--;
        for (size_t n = 0; n < len; n += steps[f]) {
            /* not NUL-terminated at n: a copy of exactly n bytes */
            char *prefix = wva_xmalloc(n ? n : 1);
            struct wva_snapshot *snap = NULL;
            struct wva_error err;
            int rc;

            memcpy(prefix, text, n);
            err.msg[0] = '\0';
            rc = snapshot_parse(prefix, n, &snap, &err);
            if (n < last) {
                if (rc != -1 || snap || strncmp(err.msg, "not valid JSON: ", 16) != 0)
                    fail_msg("%s prefix %zu: rc %d, '%s'", names[f], n, rc, err.msg);
            } else {
                assert_int_equal(rc, 0);
                snapshot_free(snap);
            }
            free(prefix);
        }
        free(text);
    }
}

static char *nested(int depth)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    for (int i = 0; i < depth; i++)
        wva_strbuf_adds(&sb, "[");
    for (int i = 0; i < depth; i++)
        wva_strbuf_adds(&sb, "]");
    return wva_strbuf_detach(&sb);
}

static void test_depth_limit(void **state)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    struct wva_snapshot *snap;
    struct wva_error err;
    char *deep, *doc;

    (void)state;
    /* at top level: document object + 63 arrays = 64 levels is fine */
    deep = nested(63);
    wva_strbuf_addf(&sb, ",\"extra\":%s", deep);
    doc = make_doc(NULL, NULL, NULL, NULL, NULL, wva_strbuf_str(&sb));
    snap = parse_both(doc, &err);
    assert_non_null(snap);
    snapshot_free(snap);
    free(doc);
    free(deep);
    wva_strbuf_reset(&sb);

    deep = nested(64);
    wva_strbuf_addf(&sb, ",\"extra\":%s", deep);
    doc = make_doc(NULL, NULL, NULL, NULL, NULL, wva_strbuf_str(&sb));
    snap = parse_both(doc, &err);
    assert_null(snap);
    assert_memory_equal(err.msg, "not valid JSON: nesting too deep at line 1", 42);
    free(doc);
    free(deep);
    wva_strbuf_reset(&sb);

    /* inside a list item: document, list, items and item are 4 levels */
    deep = nested(60);
    wva_strbuf_addf(&sb, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"extra\":%s}", deep);
    doc = make_doc(NULL, NULL, NULL, wva_strbuf_str(&sb), NULL, NULL);
    snap = parse_both(doc, &err);
    if (!snap)
        fail_msg("%s", err.msg);
    snapshot_free(snap);
    free(doc);
    free(deep);
    wva_strbuf_reset(&sb);

    deep = nested(61);
    wva_strbuf_addf(&sb, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"extra\":%s}", deep);
    doc = make_doc(NULL, NULL, NULL, wva_strbuf_str(&sb), NULL, NULL);
    snap = parse_both(doc, &err);
    assert_null(snap);
    assert_non_null(strstr(err.msg, "nesting too deep"));
    free(doc);
    free(deep);

    /* far beyond: still a clean error, not a crash */
    deep = nested(100000);
    assert_int_equal(snapshot_parse(deep, strlen(deep), &snap, &err), -1);
    assert_non_null(strstr(err.msg, "nesting too deep"));
    free(deep);
    wva_strbuf_release(&sb);
}

/* Escapes, odd spacing and duplicate keys read the same either way. */
static void test_odd_but_valid(void **state)
{
    struct wva_error err;
    struct wva_snapshot *snap;
    char *doc = make_doc(" ", "\n", NULL, "{\"metadata\":{\"name\":\"p\\\"]}\",\"namespace\":\"n\"}} ,\t{\"metadata\":"
                         "{\"name\":\"q\\\\\",\"namespace\":\"n\"}}",
                         NULL, ",\"pods\":{\"items\":[{\"metadata\":{\"name\":\"last\",\"namespace\":\"n\"}}]}");

    (void)state;
    /* the later "pods" wins, as in json-c */
    snap = parse_both(doc, &err);
    if (!snap)
        fail_msg("%s", err.msg);
    assert_int_equal(snap->pods_count, 1);
    assert_string_equal(snap->pods[0].name, "last");
    snapshot_free(snap);
    free(doc);

    doc = make_doc(NULL, NULL, NULL, "{\"metadata\":{\"name\":\"p\\\"]}\",\"namespace\":\"n\"}} ,\t{\"metadata\":"
                   "{\"name\":\"q\\\\\",\"namespace\":\"n\"}}", NULL, NULL);
    snap = parse_both(doc, &err);
    if (!snap)
        fail_msg("%s", err.msg);
    assert_int_equal(snap->pods_count, 2);
    assert_string_equal(snap->pods[0].name, "p\"]}");
    assert_string_equal(snap->pods[1].name, "q\\");
    snapshot_free(snap);
    free(doc);
}

static void test_kvlist(void **state)
{
    struct wva_kvlist list = {NULL, 0};

    (void)state;
    assert_null(wva_kvlist_get(&list, "a"));
    assert_null(wva_kvlist_get(NULL, "a"));
    wva_kvlist_set(&list, "a", "1");
    wva_kvlist_set(&list, "b", "2");
    wva_kvlist_set(&list, "c", "3");
    wva_kvlist_set(&list, "a", "10");
    assert_int_equal(list.count, 3);
    assert_string_equal(list.items[0].key, "a");
    assert_string_equal(wva_kvlist_get(&list, "a"), "10");
    wva_kvlist_set(&list, "b", NULL);
    assert_int_equal(list.count, 2);
    assert_null(wva_kvlist_get(&list, "b"));
    assert_string_equal(list.items[1].key, "c");
    wva_kvlist_set(&list, "zz", NULL);
    assert_int_equal(list.count, 2);
    wva_kvlist_free(&list);
    assert_int_equal(list.count, 0);
    assert_null(list.items);
    wva_kvlist_free(NULL);
    snapshot_free(NULL);
}

/* Resource bounds: a list too long, a name longer than Kubernetes allows, a
 * string beyond 1 MiB are clean errors naming where. */
static void test_resource_bounds(void **state)
{
    static const char *head =
        "{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","
        "\"namespaces\":{\"items\":[]},\"variantAutoscalings\":{\"items\":[]},"
        "\"pods\":{\"items\":[]},\"configMaps\":{\"items\":[]},";
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    struct wva_snapshot *snap = NULL;
    struct wva_error err;
    char name[300];

    (void)state;
    wva_strbuf_addf(&sb, "%s\"deployments\":{\"items\":[", head);
    for (size_t i = 0; i <= 1000000; i++)
        wva_strbuf_adds(&sb, i ? ",{}" : "{}");
    wva_strbuf_adds(&sb, "]}}");
    assert_int_equal(snapshot_parse(sb.buf, sb.len, &snap, &err), -1);
    assert_string_equal(err.msg, "deployments.items: 1000001 items exceed the limit of 1000000");

    memset(name, 'a', 254);
    name[254] = '\0';
    wva_strbuf_reset(&sb);
    wva_strbuf_addf(&sb, "%s\"deployments\":{\"items\":[{\"metadata\":{\"name\":\"%s\","
                    "\"namespace\":\"ns\"}}]}}", head, name);
    assert_int_equal(snapshot_parse(sb.buf, sb.len, &snap, &err), -1);
    assert_string_equal(err.msg, "deployments.items[0].metadata.name: name of 254 characters "
                                 "exceeds the Kubernetes limit of 253");

    wva_strbuf_reset(&sb);
    wva_strbuf_addf(&sb, "%s\"deployments\":{\"items\":[{\"metadata\":{\"name\":\"d\","
                    "\"namespace\":\"ns\",\"resourceVersion\":\"", head);
    for (size_t i = 0; i <= 1024 * 1024; i++)
        wva_strbuf_add(&sb, "7", 1);
    wva_strbuf_adds(&sb, "\"}}]}}");
    assert_int_equal(snapshot_parse(sb.buf, sb.len, &snap, &err), -1);
    assert_string_equal(err.msg, "deployments.items[0].metadata.resourceVersion: string of "
                                 "1048577 bytes exceeds the limit of 1048576");
    wva_strbuf_release(&sb);
}

/* snapshot_to_json writes each double in the shortest form that reads
 * back exactly: sample values, metric targets, fractional quantities. */
static void test_doubles_shortest(void **state)
{
    static const double values[] = {0.65, 0.1 + 0.2, 1e-300, 123456789.123};
    static const char *const texts[] = {"\"0.65\"", "\"0.30000000000000004\"", "\"1e-300\"",
                                        "\"123456789.123\""};
    char *doc = make_doc(NULL,
                         "{\"metadata\":{\"name\":\"v\",\"namespace\":\"a\"},\"spec\":"
                         "{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"d\"},"
                         "\"modelID\":\"m\",\"metrics\":[{\"name\":\"x\",\"target\":0.65},"
                         "{\"name\":\"y\",\"target\":2}]}}",
                         NULL, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"a\"}}", NULL, NULL);
    struct wva_snapshot *snap = NULL, *again = NULL;
    struct wva_series *series;
    struct wva_error err;
    char *json, *json2;

    (void)state;
    if (snapshot_parse(doc, strlen(doc), &snap, &err) != 0)
        fail_msg("%s", err.msg);
    series = &snap->metrics.kv_cache_usage;
    series->items = wva_xcalloc(4, sizeof(series->items[0]));
    series->count = 4;
    for (size_t i = 0; i < 4; i++) {
        wva_kvlist_set(&series->items[i].labels, "pod", i % 2 ? "p1" : "p0");
        series->items[i].value = values[i];
    }
    snap->pods[0].gpu_request = 0.1 + 0.2;

    json = snapshot_to_json(snap);
    for (size_t i = 0; i < 4; i++)
        if (!strstr(json, texts[i]))
            fail_msg("%s not in %s", texts[i], json);
    assert_null(strstr(json, "0.65000000000000002"));
    assert_non_null(strstr(json, "\"target\":0.65}"));
    assert_non_null(strstr(json, "\"target\":2.0}"));   /* still a JSON double */
    assert_non_null(strstr(json, "\"nvidia.com/gpu\":0.30000000000000004}"));
    assert_non_null(strstr(json, "[1795773600.0,\"0.65\"]"));     /* the timestamp */

    if (snapshot_parse(json, strlen(json), &again, &err) != 0)
        fail_msg("%s\n%s", err.msg, json);
    assert_int_equal(again->metrics.kv_cache_usage.count, 4);
    for (size_t i = 0; i < 4; i++)
        assert_memory_equal(&again->metrics.kv_cache_usage.items[i].value, &values[i],
                            sizeof(double));
    assert_true(again->vas[0].metrics[0].target == 0.65);
    assert_true(again->vas[0].metrics[1].target == 2.0);
    assert_true(again->pods[0].gpu_request == 0.1 + 0.2);
    json2 = snapshot_to_json(again);
    assert_string_equal(json, json2);
    free(json);
    free(json2);
    free(doc);
    snapshot_free(again);
    snapshot_free(snap);
}

/* ---- item at a time (live snapshots) ---- */

static const char *const list_keys[] = {
    [SNAPSHOT_NAMESPACES] = "namespaces", [SNAPSHOT_VAS] = "variantAutoscalings",
    [SNAPSHOT_DEPLOYMENTS] = "deployments", [SNAPSHOT_PODS] = "pods",
    [SNAPSHOT_CONFIGMAPS] = "configMaps", [SNAPSHOT_NODES] = "nodes",
};

/* Converting the items of a document one by one into a snapshot parsed
 * from the same document with empty lists gives exactly what
 * snapshot_parse of the whole document gives. */
static void expect_items_equal_parse(const char *fixture)
{
    struct wva_snapshot *whole = NULL, *built = NULL;
    struct wva_error err;
    size_t len = 0, appended = 0;
    char *text = read_whole_file(fixture_path(fixture), &len);
    json_object *tree, *items[6] = {NULL};
    char *a, *b;

    assert_non_null(text);
    if (snapshot_parse(text, len, &whole, &err) != 0)
        fail_msg("%s: %s", fixture, err.msg);
    tree = json_tokener_parse(text);
    assert_non_null(tree);
    for (int k = 0; k < 6; k++) {
        json_object *list;

        if (!json_object_object_get_ex(tree, list_keys[k], &list))
            continue;
        items[k] = json_object_get(json_object_object_get(list, "items"));
        json_object_object_add(list, "items", json_object_new_array());
    }
    const char *skeleton = json_object_to_json_string(tree);
    if (snapshot_parse(skeleton, strlen(skeleton), &built, &err) != 0)
        fail_msg("%s skeleton: %s", fixture, err.msg);
    for (int k = 0; k < 6; k++) {
        for (size_t i = 0; items[k] && i < json_object_array_length(items[k]); i++) {
            if (snapshot_append_item(built, (enum snapshot_list)k,
                                     json_object_array_get_idx(items[k], i), &err) != 0)
                fail_msg("%s %s[%zu]: %s", fixture, list_keys[k], i, err.msg);
            assert_int_equal(snapshot_list_count(built, (enum snapshot_list)k), i + 1);
            appended++;
        }
        json_object_put(items[k]);
    }
    assert_true(appended >= 6);
    snapshot_finish(built);
    a = snapshot_to_json(whole);
    b = snapshot_to_json(built);
    assert_string_equal(a, b);
    /* the indexes work on the grown arrays */
    for (size_t i = 0; i < whole->deployments_count; i++) {
        const struct wva_deployment *d = &whole->deployments[i];

        assert_ptr_equal(snapshot_find_deployment(built, d->namespace_name, d->name),
                         &built->deployments[i]);
    }
    for (size_t i = 0; i < whole->configmaps_count; i++)
        assert_ptr_equal(snapshot_find_configmap(built, whole->configmaps[i].namespace_name,
                                                 whole->configmaps[i].name),
                         &built->configmaps[i]);
    free(a);
    free(b);
    json_object_put(tree);
    snapshot_free(whole);
    snapshot_free(built);
    free(text);
}

static void test_append_items_equal_parse(void **state)
{
    (void)state;
    expect_items_equal_parse("snapshot/rich.json");
    expect_items_equal_parse("scenarios/skip-invalid-spec.json");
    expect_items_equal_parse("scenarios/lp-inventory-priority.json");
}

static int append_text(struct wva_snapshot *snap, enum snapshot_list list, const char *json,
                       struct wva_error *err)
{
    json_object *item = json_tokener_parse(json);
    int rc = snapshot_append_item(snap, list, item, err);

    json_object_put(item);
    return rc;
}

static void test_append_item_errors(void **state)
{
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct wva_error err;

    (void)state;
    assert_int_equal(append_text(snap, SNAPSHOT_PODS, "{\"metadata\":{\"namespace\":\"a\"}}",
                                 &err), -1);
    assert_string_equal(err.msg, "pods.items[0].metadata.name: missing");
    assert_int_equal(snap->pods_count, 0);
    assert_int_equal(append_text(snap, SNAPSHOT_PODS, "{\"metadata\":{\"name\":\"p0\","
                                 "\"namespace\":\"a\"}}", &err), 0);
    assert_int_equal(append_text(snap, SNAPSHOT_PODS, "{\"metadata\":{\"name\":\"p1\","
                                 "\"namespace\":\"a\"}}", &err), 0);
    /* the running index names the position in the list; a part-read item
     * (labels already copied) is released and not counted */
    assert_int_equal(append_text(snap, SNAPSHOT_PODS, "{\"metadata\":{\"name\":\"p2\","
                                 "\"namespace\":\"a\",\"labels\":{\"x\":\"y\"}},"
                                 "\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
                                 "{\"nvidia.com/gpu\":\"lots\"}}}]}}", &err), -1);
    assert_string_equal(err.msg, "pods.items[2].spec.containers[0].resources.requests"
                                 "[\"nvidia.com/gpu\"]: expected quantity, got \"lots\"");
    assert_int_equal(append_text(snap, SNAPSHOT_NAMESPACES, "{\"metadata\":{\"name\":\"n\","
                                 "\"labels\":{\"a\":\"b\",\"c\":1}}}", &err), -1);
    assert_string_equal(err.msg, "namespaces.items[0].metadata.labels.c: expected string, "
                                 "got 1");
    assert_int_equal(snap->pods_count, 2);
    assert_int_equal(snap->namespaces_count, 0);
    assert_string_equal(snap->pods[1].name, "p1");

    assert_int_equal(append_text(snap, SNAPSHOT_NODES, "[1]", &err), -1);
    assert_string_equal(err.msg, "nodes.items[0]: expected object, got array");
    assert_int_equal(snapshot_append_item(snap, SNAPSHOT_NODES, NULL, &err), -1);
    assert_string_equal(err.msg, "nodes.items[0]: expected object, got null");
    assert_int_equal(append_text(snap, (enum snapshot_list)6, "{}", &err), -1);
    assert_string_equal(err.msg, "snapshot: unknown list 6");
    assert_int_equal(snapshot_list_count(snap, (enum snapshot_list)6), 0);
    snapshot_truncate_list(snap, (enum snapshot_list)6, 0);

    /* a VA's spec is lenient: a problem is recorded, the VA kept */
    assert_int_equal(append_text(snap, SNAPSHOT_VAS, "{\"metadata\":{\"name\":\"v\","
                                 "\"namespace\":\"a\"},\"spec\":{\"scaleTargetRef\":"
                                 "{\"kind\":\"Deployment\",\"name\":\"d\"},\"minReplicas\":-1}}",
                                 &err), 0);
    assert_int_equal(snap->vas_count, 1);
    assert_string_equal(snap->vas[0].spec_problem, "spec.modelID: missing");
    assert_string_equal(snap->vas[0].target_name, "d");
    assert_non_null(snap->vas[0].raw_spec_json);
    snapshot_free(snap);
}

static void test_append_growth_and_truncate(void **state)
{
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct wva_error err;
    char item[128];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        snprintf(item, sizeof(item), "{\"metadata\":{\"name\":\"d%d\",\"namespace\":\"ns\"},"
                 "\"spec\":{\"replicas\":%d}}", i, i);
        assert_int_equal(append_text(snap, SNAPSHOT_DEPLOYMENTS, item, &err), 0);
    }
    assert_int_equal(snap->deployments_count, 1000);
    assert_int_equal(snap->deployments[999].replicas, 999);
    snapshot_finish(snap);
    assert_ptr_equal(snapshot_find_deployment(snap, "ns", "d500"), &snap->deployments[500]);

    /* a restarted list: drop what it appended, the rest stays */
    snapshot_truncate_list(snap, SNAPSHOT_DEPLOYMENTS, 10);
    assert_int_equal(snapshot_list_count(snap, SNAPSHOT_DEPLOYMENTS), 10);
    assert_null(snapshot_find_deployment(snap, "ns", "d500"));
    snapshot_truncate_list(snap, SNAPSHOT_DEPLOYMENTS, 20);        /* nothing to drop */
    assert_int_equal(snap->deployments_count, 10);
    assert_int_equal(append_text(snap, SNAPSHOT_DEPLOYMENTS, "{\"metadata\":{\"name\":\"x\","
                                 "\"namespace\":\"ns\"},\"spec\":{\"replicas\":7}}", &err), 0);
    /* appending drops the stale index: the new item is found */
    assert_ptr_equal(snapshot_find_deployment(snap, "ns", "x"), &snap->deployments[10]);
    assert_ptr_equal(snapshot_find_deployment(snap, "ns", "d9"), &snap->deployments[9]);
    assert_int_equal(append_text(snap, SNAPSHOT_DEPLOYMENTS, "{\"metadata\":{\"name\":\"y\"}}",
                                 &err), -1);
    assert_string_equal(err.msg, "deployments.items[11].metadata.namespace: missing");

    /* an array someone else allocated (capacity 0: exactly its count) or
     * replaced (setting its capacity) is never overrun (ASan) */
    snap->configmaps = wva_xcalloc(1, sizeof(snap->configmaps[0]));
    snap->configmaps[0].name = wva_xstrdup("by-hand");
    snap->configmaps_count = 1;
    assert_int_equal(append_text(snap, SNAPSHOT_CONFIGMAPS, "{\"metadata\":{\"name\":\"c1\","
                                 "\"namespace\":\"ns\"},\"data\":{\"k\":\"v\"}}", &err), 0);
    assert_true(snap->configmaps_cap >= 2);
    snap->configmaps = wva_xrealloc(snap->configmaps, 3 * sizeof(snap->configmaps[0]));
    memset(&snap->configmaps[2], 0, sizeof(snap->configmaps[0]));
    snap->configmaps[2].name = wva_xstrdup("by-hand-2");
    snap->configmaps_count = 3;
    snap->configmaps_cap = 3;
    for (int i = 0; i < 40; i++) {
        snprintf(item, sizeof(item), "{\"metadata\":{\"name\":\"c%d\",\"namespace\":\"ns\"}}",
                 i + 3);
        assert_int_equal(append_text(snap, SNAPSHOT_CONFIGMAPS, item, &err), 0);
    }
    assert_int_equal(snap->configmaps_count, 43);
    assert_string_equal(snap->configmaps[1].name, "c1");
    assert_string_equal(wva_kvlist_get(&snap->configmaps[1].data, "k"), "v");
    assert_string_equal(snap->configmaps[2].name, "by-hand-2");
    assert_string_equal(snap->configmaps[42].name, "c42");
    snapshot_truncate_list(snap, SNAPSHOT_CONFIGMAPS, 0);
    assert_int_equal(snap->configmaps_count, 0);
    /* room made ahead is used: appending within it does not move the array */
    snapshot_reserve_list(snap, SNAPSHOT_PODS, 100);
    assert_int_equal(snap->pods_cap, 100);
    {
        const struct wva_pod *before;

        assert_int_equal(append_text(snap, SNAPSHOT_PODS, "{\"metadata\":{\"name\":\"p0\","
                                     "\"namespace\":\"ns\"}}", &err), 0);
        before = snap->pods;
        for (int i = 1; i < 100; i++) {
            snprintf(item, sizeof(item), "{\"metadata\":{\"name\":\"p%d\",\"namespace\":"
                     "\"ns\"}}", i);
            assert_int_equal(append_text(snap, SNAPSHOT_PODS, item, &err), 0);
        }
        assert_ptr_equal(snap->pods, before);
        assert_int_equal(snap->pods_cap, 100);
    }
    snapshot_reserve_list(snap, (enum snapshot_list)6, 10);        /* unknown: nothing */
    assert_int_equal(append_text(snap, SNAPSHOT_CONFIGMAPS, "{\"metadata\":{\"name\":\"z\","
                                 "\"namespace\":\"ns\"}}", &err), 0);
    assert_string_equal(snap->configmaps[0].name, "z");
    snapshot_free(snap);
}

/* The per-list bound of snapshot_parse holds item by item too. */
static void test_append_item_limit(void **state)
{
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    json_object *item = json_tokener_parse("{\"metadata\":{\"name\":\"n\"}}");
    struct wva_error err;

    (void)state;
    for (unsigned i = 0; i < 1000000u; i++)
        if (snapshot_append_item(snap, SNAPSHOT_NODES, item, &err) != 0)
            fail_msg("item %u: %s", i, err.msg);
    assert_int_equal(snapshot_append_item(snap, SNAPSHOT_NODES, item, &err), -1);
    assert_string_equal(err.msg, "nodes.items: 1000001 items exceed the limit of 1000000");
    assert_int_equal(snap->nodes_count, 1000000);
    json_object_put(item);
    snapshot_free(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_resource_bounds),
        cmocka_unit_test(test_rich),
        cmocka_unit_test(test_split_and_whole_agree),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_path_errors),
        cmocka_unit_test(test_nonfinite_dropped),
        cmocka_unit_test(test_va_spec_problems),
        cmocka_unit_test(test_va_partial_fields),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_odd_but_valid),
        cmocka_unit_test(test_kvlist),
        cmocka_unit_test(test_append_items_equal_parse),
        cmocka_unit_test(test_append_item_errors),
        cmocka_unit_test(test_append_growth_and_truncate),
        cmocka_unit_test(test_append_item_limit),
        cmocka_unit_test(test_doubles_shortest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
