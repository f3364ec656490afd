/* test_actuate.c - the write side of live runs (SPEC section 7) against
 * tests/servers/kubeapi.py: scale patches (body, content type, order,
 * conflicts, 429, 5xx), foreign VAs and dry runs untouched, VA status
 * conditions and "write only on change", Events once per change. */
#include "kubeapi_server.h"

#include "wva/actuate.h"
#include "wva/collect.h"
#include "wva/log.h"
#include "wva/plan.h"
#include "wva/snapshot.h"
#include "wva/strbuf.h"

#define NS "team-a"
#define T0 1798761600.0                 /* 2027-01-01T00:00:00Z */
#define T0_TEXT "2027-01-01T00:00:00Z"
#define OLD_TEXT "2026-12-31T00:00:00Z"
#define INTERVAL 60.0

static struct kubeapi_server server;
static struct kube_client *kc;

static int group_setup(void **state)
{
    (void)state;
    log_configure(0, 0);
    return kubeapi_group_start(&server, &kc);
}

static int group_teardown(void **state)
{
    (void)state;
    kubeapi_group_stop(&server, &kc);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    kubeapi_reset(&server, NS);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Fixture builders                                                     */
/* ------------------------------------------------------------------ */

static void add_deployment(const char *name, int replicas)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    wva_strbuf_addf(&sb,
                    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
                    "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" NS "\"},"
                    "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
                    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},"
                    "\"spec\":{\"containers\":[{\"name\":\"vllm\",\"image\":\"vllm\"}]}}},"
                    "\"status\":{\"replicas\":%d,\"readyReplicas\":%d}}",
                    name, replicas, name, name, replicas, replicas);
    kubeapi_admin_do(&server, "POST", "/objects", wva_strbuf_str(&sb));
    wva_strbuf_release(&sb);
}

/* A VA named name targeting Deployment dep; status is a JSON object text
 * or NULL. */
static void add_va(const char *name, const char *dep, const char *status)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    wva_strbuf_addf(&sb,
                    "{\"apiVersion\":\"llmd.ai/v1alpha1\",\"kind\":\"VariantAutoscaling\","
                    "\"metadata\":{\"name\":\"%s\",\"namespace\":\"" NS "\","
                    "\"labels\":{\"inference.optimization/acceleratorName\":\"L4\"}},"
                    "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"%s\"},"
                    "\"modelID\":\"m1\",\"variantCost\":\"10.0\"}%s%s}",
                    name, dep, status ? ",\"status\":" : "", status ? status : "");
    kubeapi_admin_do(&server, "POST", "/objects", wva_strbuf_str(&sb));
    wva_strbuf_release(&sb);
}

/* A VA with a Deployment of the same name + "-dep". */
static void add_variant(const char *name, int replicas, const char *status)
{
    char dep[128];

    snprintf(dep, sizeof(dep), "%s-dep", name);
    add_deployment(dep, replicas);
    add_va(name, dep, status);
}

static struct wva_snapshot *take_snapshot(void)
{
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct collect_options fo = { .system_namespace = "workload-variant-autoscaler-system",
                                 .config_map_name = "wva-variantautoscaling-config" };
    struct wva_error err = {0};

    if (collect_cluster(kc, &fo, snap, &err) < 0)
        fail_msg("collect_cluster: %s", err.msg);
    return snap;
}

static struct wva_plan *plan_new(void)
{
    struct wva_plan *p = wva_xcalloc(1, sizeof(*p));

    p->mode = wva_xstrdup("live");
    return p;
}

static void plan_add(struct wva_plan *p, const char *name, int current, int target,
                     enum wva_skip skip, const char *reason)
{
    struct wva_plan_variant *v;

    p->variants = wva_xrealloc(p->variants, (p->variants_count + 1) * sizeof(*v));
    v = &p->variants[p->variants_count++];
    memset(v, 0, sizeof(*v));
    v->namespace_name = wva_xstrdup(NS);
    v->name = wva_xstrdup(name);
    v->model_id = wva_xstrdup("m1");
    v->accelerator = wva_xstrdup("L4");
    v->current_replicas = v->ready_replicas = current;
    v->target_replicas = target;
    v->skip = skip;
    v->action = skip != WVA_SKIP_NONE ? WVA_ACTION_SKIPPED
                : target > current   ? WVA_ACTION_SCALE_UP
                : target < current   ? WVA_ACTION_SCALE_DOWN
                                     : WVA_ACTION_NO_CHANGE;
    v->reason = wva_xstrdup(reason);
}

static struct actuate_options options(double now)
{
    return (struct actuate_options){ .actuation = WVA_ACTUATION_SCALE,
                                     .interval_seconds = INTERVAL, .now = now };
}

static void run(const struct wva_snapshot *snap, const struct wva_plan *plan,
                const struct actuate_options *o, struct actuate_report *rep)
{
    struct wva_error err = {0};

    assert_int_equal(actuate_plan(kc, snap, plan, o, rep, &err), 0);
    assert_int_equal(rep->variants_count, plan->variants_count);
}

/* Requests since mark, one "METHOD path status" line each, writes only
 * (GET and list requests left out) when writes_only. */
static char *request_lines(size_t mark, bool writes_only)
{
    json_object *entries = kubeapi_requests(&server, mark);
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *e = json_object_array_get_idx(entries, i);
        const char *m = json_at(e, "method");
        if (writes_only && strcmp(m, "GET") == 0)
            continue;
        wva_strbuf_addf(&sb, "%s %s %s\n", m, json_at(e, "path"), json_at(e, "status"));
    }
    json_object_put(entries);
    return wva_strbuf_detach(&sb);
}

/* The idx-th request since mark whose method and path match (new
 * reference), or NULL. */
static json_object *request_find(size_t mark, const char *method, const char *path, int idx)
{
    json_object *entries = kubeapi_requests(&server, mark), *hit = NULL;

    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *e = json_object_array_get_idx(entries, i);
        if (strcmp(json_at(e, "method"), method) == 0 && strcmp(json_at(e, "path"), path) == 0 &&
            idx-- == 0) {
            hit = json_object_get(e);
            break;
        }
    }
    json_object_put(entries);
    return hit;
}

static json_object *get_object(const char *plural, const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "/objects/%s/" NS "/%s", plural, name);
    return kubeapi_admin(&server, "GET", path, NULL);
}

static int deployment_replicas(const char *name)
{
    json_object *d = get_object("deployments", name);
    int n = atoi(json_at(d, "spec.replicas"));

    json_object_put(d);
    return n;
}

/* Events in NS as "type reason involvedName" lines. */
static char *event_lines(void)
{
    json_object *list = kubeapi_admin(&server, "GET", "/objects/events?namespace=" NS, NULL);
    json_object *items = json_object_object_get(list, "items");
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *e = json_object_array_get_idx(items, i);
        wva_strbuf_addf(&sb, "%s %s %s\n", json_at(e, "type"), json_at(e, "reason"),
                        json_at(e, "involvedObject.name"));
    }
    json_object_put(list);
    return wva_strbuf_detach(&sb);
}

static const struct wva_deployment *snap_dep(const struct wva_snapshot *s, const char *name)
{
    const struct wva_deployment *d = snapshot_find_deployment(s, NS, name);

    assert_non_null(d);
    return d;
}

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Scale                                                                */
/* ------------------------------------------------------------------ */

static void test_scale_patch_body_order_and_events(void **state)
{
    (void)state;
    add_variant("aa-down", 3, NULL);
    add_variant("mm-same", 2, NULL);
    add_variant("zz-up", 2, NULL);
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "aa-down", 3, 1, WVA_SKIP_NONE, "spare capacity");
    plan_add(plan, "mm-same", 2, 2, WVA_SKIP_NONE, "balanced");
    plan_add(plan, "zz-up", 2, 4, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);

    /* Scale-up first although it sorts last; no patch for the unchanged
     * variant; then status per variant in plan order with its Events. */
    char *lines = request_lines(mark, true);
    assert_string_equal(lines,
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/zz-up-dep/scale 200\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/aa-down-dep/scale 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/aa-down/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/mm-same/status 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/zz-up/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n");
    free(lines);

    /* The exact merge patch, with the Deployment's resourceVersion. */
    json_object *e = request_find(mark, "PATCH",
                                  "/apis/apps/v1/namespaces/team-a/deployments/zz-up-dep/scale", 0);
    assert_non_null(e);
    assert_string_equal(json_at(e, "content_type"), "application/merge-patch+json");
    char want[256];
    snprintf(want, sizeof(want),
             "{\"metadata\":{\"resourceVersion\":\"%s\"},\"spec\":{\"replicas\":4}}",
             snap_dep(snap, "zz-up-dep")->resource_version);
    assert_string_equal(json_object_to_json_string_ext(json_object_object_get(e, "body"),
                                                       JSON_C_TO_STRING_PLAIN), want);
    json_object_put(e);

    assert_int_equal(deployment_replicas("zz-up-dep"), 4);
    assert_int_equal(deployment_replicas("aa-down-dep"), 1);
    assert_int_equal(deployment_replicas("mm-same-dep"), 2);
    assert_int_equal(rep.scale_attempted, 2);
    assert_int_equal(rep.scale_applied, 2);
    assert_int_equal(rep.scale_failed + rep.scale_held, 0);
    assert_int_equal(rep.status_written, 3);
    assert_int_equal(rep.events_created, 2);
    assert_int_equal(actuate_report_failures(&rep), 0);
    assert_int_equal(rep.variants[0].scale, ACTUATE_SCALE_APPLIED);
    assert_true(rep.variants[0].applied);
    assert_int_equal(rep.variants[1].scale, ACTUATE_SCALE_NONE);
    assert_true(rep.variants[1].applied);
    assert_true(rep.variants[2].applied);

    /* The ScaledUp Event on the VA. */
    char *ev = event_lines();
    assert_string_equal(ev, "Normal ScaledDown aa-down\nNormal ScaledUp zz-up\n");
    free(ev);
    e = request_find(mark, "POST", "/api/v1/namespaces/team-a/events", 1);
    assert_non_null(e);
    json_object *va = get_object("variantautoscalings", "zz-up");
    assert_string_equal(json_at(e, "body.involvedObject.kind"), "VariantAutoscaling");
    assert_string_equal(json_at(e, "body.involvedObject.apiVersion"), "llmd.ai/v1alpha1");
    assert_string_equal(json_at(e, "body.involvedObject.name"), "zz-up");
    assert_string_equal(json_at(e, "body.involvedObject.namespace"), NS);
    assert_string_equal(json_at(e, "body.involvedObject.uid"), json_at(va, "metadata.uid"));
    assert_string_equal(json_at(e, "body.metadata.generateName"), "zz-up.");
    assert_string_equal(json_at(e, "body.source.component"), "wva-optimizer");
    assert_string_equal(json_at(e, "body.type"), "Normal");
    assert_string_equal(json_at(e, "body.reason"), "ScaledUp");
    assert_string_equal(json_at(e, "body.message"),
                        "scaled Deployment team-a/zz-up-dep from 2 to 4 replicas: saturated");
    assert_string_equal(json_at(e, "body.firstTimestamp"), T0_TEXT);
    assert_string_equal(json_at(e, "body.lastTimestamp"), T0_TEXT);
    assert_string_equal(json_at(e, "body.count"), "1");

    /* Its status. */
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.numReplicas"), "4");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.accelerator"), "L4");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.lastRunTime"), T0_TEXT);
    assert_string_equal(json_at(va, "status.actuation.applied"), "true");
    json_object_put(va);
    json_object_put(e);

    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_foreign_skips_never_touched(void **state)
{
    (void)state;
    add_variant("outside", 2, NULL);
    add_variant("excluded", 2, NULL);
    add_variant("other-instance", 2, NULL);
    add_variant("ours", 1, NULL);
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    /* Even with targets that differ from current: a foreign VA is never
     * acted on. */
    plan_add(plan, "excluded", 2, 5, WVA_SKIP_NAMESPACE_EXCLUDED, "excluded");
    plan_add(plan, "other-instance", 2, 0, WVA_SKIP_INSTANCE_MISMATCH, "not ours");
    plan_add(plan, "ours", 1, 2, WVA_SKIP_NONE, "saturated");
    plan_add(plan, "outside", 2, 3, WVA_SKIP_OUTSIDE_WATCH_NAMESPACE, "outside");
    plan->variants[0].action = WVA_ACTION_SCALE_UP;
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines,
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/ours-dep/scale 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/ours/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n");
    free(lines);
    assert_false(rep.variants[0].written_to);
    assert_false(rep.variants[1].written_to);
    assert_true(rep.variants[2].written_to);
    assert_false(rep.variants[3].written_to);
    assert_int_equal(deployment_replicas("excluded-dep"), 2);
    assert_int_equal(rep.scale_attempted, 1);
    assert_int_equal(rep.status_written, 1);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_dry_run_writes_nothing(void **state)
{
    (void)state;
    add_variant("down", 3, NULL);
    add_variant("gone", 1, NULL);
    add_variant("up", 1, NULL);
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "down", 3, 1, WVA_SKIP_NONE, "spare");
    plan_add(plan, "gone", 1, 1, WVA_SKIP_TARGET_NOT_FOUND, "Deployment gone-x not found");
    plan_add(plan, "up", 1, 3, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    o.dry_run = true;
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines, "");
    free(lines);
    assert_int_equal(rep.scale_attempted + rep.status_written + rep.events_created, 0);
    assert_false(rep.variants[2].written_to);
    assert_int_equal(deployment_replicas("up-dep"), 1);
    actuate_report_free(&rep);

    /* A dry run needs no client at all. */
    struct wva_error err = {0};
    assert_int_equal(actuate_plan(NULL, snap, plan, &o, &rep, &err), 0);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_conflict_same_replicas_retried(void **state)
{
    (void)state;
    add_variant("va", 2, NULL);
    struct wva_snapshot *snap = take_snapshot();
    /* Someone touches the Deployment (a label) after the snapshot: new
     * resourceVersion, same replicas. */
    kubeapi_admin_do(&server, "PATCH", "/objects/deployments/" NS "/va-dep",
                     "{\"metadata\":{\"labels\":{\"touched\":\"yes\"}}}");
    json_object *dep = get_object("deployments", "va-dep");
    char fresh_rv[32];
    snprintf(fresh_rv, sizeof(fresh_rv), "%s", json_at(dep, "metadata.resourceVersion"));
    json_object_put(dep);
    assert_string_not_equal(fresh_rv, snap_dep(snap, "va-dep")->resource_version);

    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 2, 3, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines,
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/va-dep/scale 409\n"
        "GET /apis/apps/v1/namespaces/team-a/deployments/va-dep/scale 200\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/va-dep/scale 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n");
    free(lines);
    json_object *e = request_find(mark, "PATCH",
                                  "/apis/apps/v1/namespaces/team-a/deployments/va-dep/scale", 1);
    assert_string_equal(json_at(e, "body.metadata.resourceVersion"), fresh_rv);
    json_object_put(e);
    assert_int_equal(deployment_replicas("va-dep"), 3);
    assert_int_equal(rep.scale_applied, 1);
    assert_int_equal(rep.scale_held, 0);
    assert_true(rep.variants[0].applied);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_conflict_after_someone_scaled_holds(void **state)
{
    (void)state;
    add_variant("va", 2, NULL);
    struct wva_snapshot *snap = take_snapshot();
    kubeapi_admin_do(&server, "PATCH", "/objects/deployments/" NS "/va-dep",
                     "{\"spec\":{\"replicas\":5}}");
    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 2, 3, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines,
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/va-dep/scale 409\n"
        "GET /apis/apps/v1/namespaces/team-a/deployments/va-dep/scale 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status 200\n");
    free(lines);
    assert_int_equal(deployment_replicas("va-dep"), 5);
    assert_int_equal(rep.scale_attempted, 1);
    assert_int_equal(rep.scale_held, 1);
    assert_int_equal(rep.scale_applied + rep.scale_failed, 0);
    assert_int_equal(actuate_report_failures(&rep), 0);
    assert_int_equal(rep.variants[0].scale, ACTUATE_SCALE_HELD);
    assert_false(rep.variants[0].applied);
    assert_int_equal(rep.events_created, 0);
    json_object *va = get_object("variantautoscalings", "va");
    assert_string_equal(json_at(va, "status.actuation.applied"), "false");
    json_object_put(va);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_throttled_then_applied(void **state)
{
    (void)state;
    add_variant("va", 1, NULL);
    struct wva_snapshot *snap = take_snapshot();
    kubeapi_admin_do(&server, "POST", "/faults",
                     "{\"kind\":\"throttle\",\"method\":\"PATCH\",\"path\":\"/scale$\","
                     "\"retry_after\":1,\"count\":1}");
    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 1, 2, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);
    double t = now_mono();

    run(snap, plan, &o, &rep);
    t = now_mono() - t;
    assert_true(t >= 0.9);          /* Retry-After: 1 was honoured */
    char *lines = request_lines(mark, true);
    assert_string_equal(lines,
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/va-dep/scale 429\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/va-dep/scale 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n");
    free(lines);
    assert_int_equal(rep.scale_applied, 1);
    assert_int_equal(deployment_replicas("va-dep"), 2);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_server_errors_fail_one_others_applied(void **state)
{
    (void)state;
    add_variant("broken", 2, NULL);
    add_variant("fine-down", 3, NULL);
    add_variant("fine-up", 1, NULL);
    struct wva_snapshot *snap = take_snapshot();
    kubeapi_admin_do(&server, "POST", "/faults",
                     "{\"kind\":\"status\",\"status\":500,\"method\":\"PATCH\","
                     "\"path\":\"/deployments/broken-dep/scale$\",\"count\":-1}");
    struct wva_plan *plan = plan_new();
    plan_add(plan, "broken", 2, 4, WVA_SKIP_NONE, "saturated");
    plan_add(plan, "fine-down", 3, 2, WVA_SKIP_NONE, "spare");
    plan_add(plan, "fine-up", 1, 2, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, true);
    /* The HTTP layer retried the 500s (1 + 3 tries), then the other patches
     * went on. */
    assert_string_equal(lines,
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/broken-dep/scale 500\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/broken-dep/scale 500\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/broken-dep/scale 500\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/broken-dep/scale 500\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/fine-up-dep/scale 200\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/fine-down-dep/scale 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/broken/status 200\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/fine-down/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/fine-up/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n");
    free(lines);
    assert_int_equal(rep.scale_attempted, 3);
    assert_int_equal(rep.scale_failed, 1);
    assert_int_equal(rep.scale_applied, 2);
    assert_int_equal(actuate_report_failures(&rep), 1);
    assert_int_equal(rep.variants[0].scale, ACTUATE_SCALE_FAILED);
    assert_false(rep.variants[0].applied);
    assert_int_equal(deployment_replicas("broken-dep"), 2);
    assert_int_equal(deployment_replicas("fine-up-dep"), 2);
    json_object *va = get_object("variantautoscalings", "broken");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.numReplicas"), "4");
    assert_string_equal(json_at(va, "status.actuation.applied"), "false");
    json_object_put(va);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

/* A Deployment deleted between the snapshot and the scale patch (a real
 * API server answers 404 on /scale, also on the re-read after a 409): not a
 * failed run; the VA is recorded as TargetNotFound, with its Event, and no
 * ScaledUp Event.  Other variants are unaffected. */
static void test_target_deleted_during_the_run(void **state)
{
    (void)state;
    add_variant("gone", 1,
                "{\"desiredOptimizedAlloc\":{\"numReplicas\":1,\"accelerator\":\"L4\","
                "\"lastRunTime\":\"" OLD_TEXT "\"},\"actuation\":{\"applied\":true},"
                "\"conditions\":["
                "{\"type\":\"TargetResolved\",\"status\":\"True\",\"reason\":\"TargetFound\","
                "\"message\":\"found\",\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"}]}");
    add_variant("raced", 1, NULL);
    add_variant("fine", 1, NULL);
    struct wva_snapshot *snap = take_snapshot();
    kubeapi_admin_do(&server, "DELETE", "/objects/deployments/" NS "/gone-dep", NULL);
    /* raced: someone else writes first (409), then it is deleted before
     * the re-read. */
    kubeapi_admin_do(&server, "POST", "/faults",
                     "{\"kind\":\"status\",\"status\":409,\"method\":\"PATCH\","
                     "\"path\":\"/deployments/raced-dep/scale$\",\"count\":1}");
    kubeapi_admin_do(&server, "POST", "/faults",
                     "{\"kind\":\"status\",\"status\":404,\"method\":\"GET\","
                     "\"path\":\"/deployments/raced-dep/scale$\",\"count\":1}");
    struct wva_plan *plan = plan_new();
    plan_add(plan, "fine", 1, 2, WVA_SKIP_NONE, "saturated");
    plan_add(plan, "gone", 1, 2, WVA_SKIP_NONE, "saturated");
    plan_add(plan, "raced", 1, 2, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines,
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/fine-dep/scale 200\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/gone-dep/scale 404\n"
        "PATCH /apis/apps/v1/namespaces/team-a/deployments/raced-dep/scale 409\n"
        "GET /apis/apps/v1/namespaces/team-a/deployments/raced-dep/scale 404\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/fine/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/gone/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n"
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/raced/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n");
    free(lines);
    assert_int_equal(rep.scale_applied, 1);
    assert_int_equal(rep.scale_gone, 2);
    assert_int_equal(rep.scale_failed, 0);
    assert_int_equal(actuate_report_failures(&rep), 0);
    assert_int_equal(rep.variants[1].scale, ACTUATE_SCALE_GONE);
    assert_string_equal(actuate_scale_name(ACTUATE_SCALE_GONE), "gone");
    char *ev = event_lines();
    assert_string_equal(ev, "Normal ScaledUp fine\nWarning TargetNotFound gone\n"
                            "Warning TargetNotFound raced\n");
    free(ev);
    for (int i = 0; i < 2; i++) {
        json_object *va = get_object("variantautoscalings", i ? "raced" : "gone");
        assert_string_equal(json_at(va, "status.conditions.0.type"), "TargetResolved");
        assert_string_equal(json_at(va, "status.conditions.0.status"), "False");
        assert_string_equal(json_at(va, "status.conditions.0.reason"), "TargetNotFound");
        assert_string_equal(json_at(va, "status.actuation.applied"), "false");
        json_object_put(va);
    }
    /* The allocation recorded before is kept, not replaced by the plan's. */
    json_object *va = get_object("variantautoscalings", "gone");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.numReplicas"), "1");
    json_object_put(va);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_actuation_metrics_no_scale(void **state)
{
    (void)state;
    add_variant("va", 1, NULL);
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 1, 3, WVA_SKIP_NONE, "saturated");
    struct actuate_options o = options(T0);
    o.actuation = WVA_ACTUATION_METRICS;
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines,
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status 200\n");
    free(lines);
    assert_int_equal(rep.scale_attempted, 0);
    assert_int_equal(deployment_replicas("va-dep"), 1);
    json_object *va = get_object("variantautoscalings", "va");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.numReplicas"), "3");
    assert_string_equal(json_at(va, "status.actuation.applied"), "false");
    json_object_put(va);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

/* ------------------------------------------------------------------ */
/* Status and Events                                                    */
/* ------------------------------------------------------------------ */

static void test_conditions_keep_transition_time(void **state)
{
    (void)state;
    add_variant("va", 2,
        "{\"desiredOptimizedAlloc\":{\"numReplicas\":2,\"accelerator\":\"L4\","
        "\"lastRunTime\":\"" OLD_TEXT "\"},\"actuation\":{\"applied\":true},"
        "\"conditions\":["
        "{\"type\":\"TargetResolved\",\"status\":\"True\",\"reason\":\"TargetFound\","
        "\"message\":\"old text\",\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"},"
        "{\"type\":\"Custom\",\"status\":\"True\",\"reason\":\"Theirs\",\"message\":\"keep\","
        "\"lastTransitionTime\":\"2026-05-01T00:00:00Z\"},"
        "{\"type\":\"MetricsAvailable\",\"status\":\"False\",\"reason\":\"MetricsMissing\","
        "\"message\":\"none\",\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"}]}");
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 2, 2, WVA_SKIP_NONE, "within thresholds");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    json_object *e = request_find(mark, "PATCH",
        "/apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status", 0);
    assert_non_null(e);
    assert_string_equal(json_at(e, "content_type"), "application/merge-patch+json");
    assert_string_equal(
        json_object_to_json_string_ext(json_object_object_get(e, "body"), JSON_C_TO_STRING_PLAIN),
        "{\"status\":{\"desiredOptimizedAlloc\":{\"numReplicas\":2,\"accelerator\":\"L4\","
        "\"lastRunTime\":\"" T0_TEXT "\"},\"actuation\":{\"applied\":true},\"conditions\":["
        "{\"type\":\"TargetResolved\",\"status\":\"True\",\"reason\":\"TargetFound\","
        "\"message\":\"scale target Deployment va-dep found\","
        "\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"},"
        "{\"type\":\"Custom\",\"status\":\"True\",\"reason\":\"Theirs\",\"message\":\"keep\","
        "\"lastTransitionTime\":\"2026-05-01T00:00:00Z\"},"
        "{\"type\":\"MetricsAvailable\",\"status\":\"True\",\"reason\":\"MetricsFound\","
        "\"message\":\"metrics available for model m1\","
        "\"lastTransitionTime\":\"" T0_TEXT "\"},"
        "{\"type\":\"OptimizationReady\",\"status\":\"True\",\"reason\":\"OptimizationSucceeded\","
        "\"message\":\"within thresholds\",\"lastTransitionTime\":\"" T0_TEXT "\"}]}}");
    json_object_put(e);
    /* The stored status is what was sent (merge patch, whole array). */
    json_object *va = get_object("variantautoscalings", "va");
    assert_string_equal(json_at(va, "status.conditions.1.type"), "Custom");
    assert_string_equal(json_at(va, "status.conditions.3.type"), "OptimizationReady");
    assert_null(json_at(va, "status.conditions.4"));
    json_object_put(va);
    assert_int_equal(rep.events_created, 0);    /* flips to True are not Events */
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_status_written_only_on_change(void **state)
{
    (void)state;
    add_variant("va", 2, NULL);
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 2, 2, WVA_SKIP_NONE, "within thresholds");
    struct actuate_options o = options(T0);
    struct actuate_report rep;

    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, 1);
    actuate_report_free(&rep);
    snapshot_free(snap);

    /* Next run, one interval later, same decision: nothing to write. */
    snap = take_snapshot();
    o.now = T0 + INTERVAL;
    size_t mark = kubeapi_log_mark(&server);
    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines, "");
    free(lines);
    assert_int_equal(rep.status_written, 0);
    assert_int_equal(rep.status_skipped, 1);
    assert_true(rep.variants[0].status_skipped);
    actuate_report_free(&rep);

    /* Just under 5 intervals: still nothing. */
    o.now = T0 + 5 * INTERVAL - 1;
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_skipped, 1);
    actuate_report_free(&rep);

    /* 5 intervals old: rewritten (lastRunTime refreshed). */
    o.now = T0 + 5 * INTERVAL;
    mark = kubeapi_log_mark(&server);
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, 1);
    lines = request_lines(mark, false);
    assert_string_equal(lines,
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status 200\n");
    free(lines);
    actuate_report_free(&rep);

    /* A changed decision is written at once, and conditions that did not
     * flip keep their transition time. */
    plan->variants[0].target_replicas = 3;
    plan->variants[0].action = WVA_ACTION_SCALE_UP;
    o.now = T0 + 2 * INTERVAL;
    o.actuation = WVA_ACTUATION_METRICS;
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, 1);
    json_object *va = get_object("variantautoscalings", "va");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.numReplicas"), "3");
    assert_string_equal(json_at(va, "status.conditions.0.lastTransitionTime"), T0_TEXT);
    json_object_put(va);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_target_not_found_event_once(void **state)
{
    (void)state;
    add_va("va", "missing-dep",
           "{\"desiredOptimizedAlloc\":{\"numReplicas\":2,\"accelerator\":\"L4\","
           "\"lastRunTime\":\"" OLD_TEXT "\"},\"actuation\":{\"applied\":true},"
           "\"conditions\":["
           "{\"type\":\"TargetResolved\",\"status\":\"True\",\"reason\":\"TargetFound\","
           "\"message\":\"found\",\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"}]}");
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 0, 0, WVA_SKIP_TARGET_NOT_FOUND,
             "Deployment team-a/missing-dep not found");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines,
        "PATCH /apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status 200\n"
        "POST /api/v1/namespaces/team-a/events 201\n");
    free(lines);
    char *ev = event_lines();
    assert_string_equal(ev, "Warning TargetNotFound va\n");
    free(ev);
    json_object *va = get_object("variantautoscalings", "va");
    assert_string_equal(json_at(va, "status.conditions.0.type"), "TargetResolved");
    assert_string_equal(json_at(va, "status.conditions.0.status"), "False");
    assert_string_equal(json_at(va, "status.conditions.0.reason"), "TargetNotFound");
    assert_string_equal(json_at(va, "status.conditions.0.lastTransitionTime"), T0_TEXT);
    assert_string_equal(json_at(va, "status.conditions.1.type"), "OptimizationReady");
    assert_string_equal(json_at(va, "status.conditions.1.reason"), "OptimizationFailed");
    assert_string_equal(json_at(va, "status.actuation.applied"), "false");
    /* numReplicas is not invented for a missing target: the last one stays. */
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.numReplicas"), "2");
    json_object_put(va);
    assert_int_equal(rep.events_created, 1);
    assert_int_equal(rep.variants[0].events, 1);
    actuate_report_free(&rep);
    snapshot_free(snap);

    /* Next run, same state: no Event (and nothing else to write). */
    snap = take_snapshot();
    o.now = T0 + INTERVAL;
    mark = kubeapi_log_mark(&server);
    run(snap, plan, &o, &rep);
    lines = request_lines(mark, false);
    assert_string_equal(lines, "");
    free(lines);
    assert_int_equal(rep.events_created, 0);
    actuate_report_free(&rep);

    /* Much later the status is refreshed, still without an Event. */
    o.now = T0 + 10 * INTERVAL;
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, 1);
    assert_int_equal(rep.events_created, 0);
    ev = event_lines();
    assert_string_equal(ev, "Warning TargetNotFound va\n");
    free(ev);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

/* The body of the idx-th status PATCH of VA name since mark, as compact
 * JSON text (caller frees), or NULL when there was none. */
static char *status_patch_body(size_t mark, const char *name, int idx)
{
    char path[256];
    json_object *e;
    char *text;

    snprintf(path, sizeof(path),
             "/apis/llmd.ai/v1alpha1/namespaces/" NS "/variantautoscalings/%s/status", name);
    e = request_find(mark, "PATCH", path, idx);
    if (!e)
        return NULL;
    text = wva_xstrdup(json_object_to_json_string_ext(
        json_object_object_get(e, "body"),
        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(e);
    return text;
}

/* SPEC section 1: every status patch is valid under upstream's CRD too:
 * desiredOptimizedAlloc, when present, always has numReplicas and an
 * accelerator of at least 2 characters (completed from the previous status
 * where this run decides neither), and is left out when nothing can
 * complete it; never lastRunTime alone.  Leaving it out must not make
 * every later run write again. */
static void test_status_patch_valid_under_upstream_schema(void **state)
{
    (void)state;
    /* Never optimized, target missing: no replica count to record. */
    add_va("ghost", "missing-dep", NULL);
    /* Target gone after an earlier run: the last allocation is carried. */
    add_va("gone", "gone-dep",
           "{\"desiredOptimizedAlloc\":{\"numReplicas\":2,\"accelerator\":\"H100\","
           "\"lastRunTime\":\"" OLD_TEXT "\"},\"actuation\":{\"applied\":true}}");
    /* Accelerator unknown this run: the previous one is carried. */
    add_variant("carry", 3,
                "{\"desiredOptimizedAlloc\":{\"numReplicas\":3,\"accelerator\":\"A100\","
                "\"lastRunTime\":\"" OLD_TEXT "\"}}");
    /* Accelerator unknown (or too short for upstream) and nothing before. */
    add_variant("noacc", 1, NULL);
    add_variant("short", 1, NULL);
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "carry", 3, 3, WVA_SKIP_NONE, "within thresholds");
    free(plan->variants[0].accelerator);
    plan->variants[0].accelerator = NULL;
    plan_add(plan, "ghost", 0, 0, WVA_SKIP_TARGET_NOT_FOUND, "Deployment team-a/missing-dep not found");
    plan_add(plan, "gone", 0, 0, WVA_SKIP_TARGET_NOT_FOUND, "Deployment team-a/gone-dep not found");
    plan_add(plan, "noacc", 1, 1, WVA_SKIP_NONE, "within thresholds");
    free(plan->variants[3].accelerator);
    plan->variants[3].accelerator = NULL;
    plan_add(plan, "short", 1, 1, WVA_SKIP_NONE, "within thresholds");
    free(plan->variants[4].accelerator);
    plan->variants[4].accelerator = wva_xstrdup("X");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);
    char *body;

    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, 5);
    assert_int_equal(rep.status_failed, 0);
    body = status_patch_body(mark, "ghost", 0);
    assert_non_null(body);
    assert_string_equal(body,
        "{\"status\":{\"actuation\":{\"applied\":false},\"conditions\":["
        "{\"type\":\"TargetResolved\",\"status\":\"False\",\"reason\":\"TargetNotFound\","
        "\"message\":\"Deployment team-a/missing-dep not found\","
        "\"lastTransitionTime\":\"" T0_TEXT "\"},"
        "{\"type\":\"OptimizationReady\",\"status\":\"False\",\"reason\":\"OptimizationFailed\","
        "\"message\":\"Deployment team-a/missing-dep not found\","
        "\"lastTransitionTime\":\"" T0_TEXT "\"}]}}");
    free(body);
    body = status_patch_body(mark, "gone", 0);
    assert_non_null(body);
    assert_non_null(strstr(body, "\"desiredOptimizedAlloc\":{\"numReplicas\":2,"
                                 "\"accelerator\":\"H100\",\"lastRunTime\":\"" T0_TEXT "\"},"
                                 "\"actuation\":{\"applied\":false}"));
    free(body);
    body = status_patch_body(mark, "carry", 0);
    assert_non_null(body);
    assert_non_null(strstr(body, "\"desiredOptimizedAlloc\":{\"numReplicas\":3,"
                                 "\"accelerator\":\"A100\",\"lastRunTime\":\"" T0_TEXT "\"},"
                                 "\"actuation\":{\"applied\":true}"));
    free(body);
    for (int i = 0; i < 2; i++) {
        body = status_patch_body(mark, i ? "short" : "noacc", 0);
        assert_non_null(body);
        assert_null(strstr(body, "desiredOptimizedAlloc"));
        assert_non_null(strstr(body, "\"actuation\":{\"applied\":true}"));
        free(body);
    }
    /* The Event is there although no allocation was recorded. */
    char *ev = event_lines();
    assert_string_equal(ev, "Warning TargetNotFound ghost\nWarning TargetNotFound gone\n");
    free(ev);
    actuate_report_free(&rep);
    snapshot_free(snap);

    /* Same state on the next runs, however late: nothing to write for the
     * VAs without an allocation (there is no lastRunTime to refresh). */
    snap = take_snapshot();
    o.now = T0 + INTERVAL;
    mark = kubeapi_log_mark(&server);
    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines, "");
    free(lines);
    assert_int_equal(rep.status_skipped, 5);
    actuate_report_free(&rep);
    o.now = T0 + 10 * INTERVAL;
    mark = kubeapi_log_mark(&server);
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, 2);        /* gone and carry: refreshed */
    assert_null(status_patch_body(mark, "ghost", 0));
    assert_null(status_patch_body(mark, "noacc", 0));
    assert_null(status_patch_body(mark, "short", 0));
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_invalid_spec_only_ready_condition(void **state)
{
    (void)state;
    add_variant("va", 2,
        "{\"desiredOptimizedAlloc\":{\"numReplicas\":2,\"accelerator\":\"L4\","
        "\"lastRunTime\":\"" OLD_TEXT "\"},"
        "\"conditions\":["
        "{\"type\":\"TargetResolved\",\"status\":\"True\",\"reason\":\"TargetFound\","
        "\"message\":\"found\",\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"},"
        "{\"type\":\"OptimizationReady\",\"status\":\"True\",\"reason\":\"OptimizationSucceeded\","
        "\"message\":\"ok\",\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"}]}");
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "va", 2, 2, WVA_SKIP_INVALID_SPEC,
             "spec.variantCost \"ten\" does not match ^\\d+(\\.\\d+)?$");
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    size_t mark = kubeapi_log_mark(&server);

    run(snap, plan, &o, &rep);
    json_object *e = request_find(mark, "PATCH",
        "/apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va/status", 0);
    assert_non_null(e);
    assert_string_equal(
        json_object_to_json_string_ext(json_object_object_get(e, "body"), JSON_C_TO_STRING_PLAIN),
        "{\"status\":{\"conditions\":["
        "{\"type\":\"TargetResolved\",\"status\":\"True\",\"reason\":\"TargetFound\","
        "\"message\":\"found\",\"lastTransitionTime\":\"2026-06-01T00:00:00Z\"},"
        "{\"type\":\"OptimizationReady\",\"status\":\"False\",\"reason\":\"InvalidConfiguration\","
        "\"message\":\"spec.variantCost \\\"ten\\\" does not match ^\\\\d+(\\\\.\\\\d+)?$\","
        "\"lastTransitionTime\":\"" T0_TEXT "\"}]}}");
    json_object_put(e);
    char *ev = event_lines();
    assert_string_equal(ev, "Warning InvalidConfiguration va\n");
    free(ev);
    json_object *va = get_object("variantautoscalings", "va");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.lastRunTime"), OLD_TEXT);
    json_object_put(va);
    assert_int_equal(rep.scale_attempted, 0);
    actuate_report_free(&rep);
    snapshot_free(snap);

    /* Unchanged next run: no write, no Event. */
    snap = take_snapshot();
    o.now = T0 + INTERVAL;
    mark = kubeapi_log_mark(&server);
    run(snap, plan, &o, &rep);
    char *lines = request_lines(mark, false);
    assert_string_equal(lines, "");
    free(lines);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_metrics_unavailable_holds_and_warns(void **state)
{
    (void)state;
    add_variant("prom", 3, NULL);
    add_variant("quiet", 2, NULL);
    struct wva_snapshot *snap = take_snapshot();
    struct wva_plan *plan = plan_new();
    plan_add(plan, "prom", 3, 3, WVA_SKIP_METRICS_UNAVAILABLE,
             "Prometheus error: connection refused; holding replicas");
    plan_add(plan, "quiet", 2, 2, WVA_SKIP_METRICS_UNAVAILABLE,
             "no usable metrics for model m1; holding replicas");
    struct actuate_options o = options(T0);
    struct actuate_report rep;

    run(snap, plan, &o, &rep);
    json_object *va = get_object("variantautoscalings", "prom");
    assert_string_equal(json_at(va, "status.desiredOptimizedAlloc.numReplicas"), "3");
    assert_string_equal(json_at(va, "status.actuation.applied"), "true");
    assert_string_equal(json_at(va, "status.conditions.0.reason"), "TargetFound");
    assert_string_equal(json_at(va, "status.conditions.1.type"), "MetricsAvailable");
    assert_string_equal(json_at(va, "status.conditions.1.status"), "False");
    assert_string_equal(json_at(va, "status.conditions.1.reason"), "PrometheusError");
    assert_string_equal(json_at(va, "status.conditions.2.reason"), "OptimizationFailed");
    json_object_put(va);
    va = get_object("variantautoscalings", "quiet");
    assert_string_equal(json_at(va, "status.conditions.1.reason"), "MetricsMissing");
    json_object_put(va);
    char *ev = event_lines();
    assert_string_equal(ev, "Warning MetricsUnavailable prom\nWarning MetricsUnavailable quiet\n");
    free(ev);
    assert_int_equal(rep.scale_attempted, 0);
    actuate_report_free(&rep);
    plan_free(plan);
    snapshot_free(snap);
}

static void test_invalid_arguments(void **state)
{
    struct wva_error err = {0};
    struct actuate_report rep;
    struct wva_plan *plan = plan_new();
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct actuate_options o = options(T0);

    (void)state;
    assert_int_equal(actuate_plan(kc, NULL, plan, &o, &rep, &err), -1);
    assert_string_equal(err.msg, "actuate: missing snapshot");
    o.interval_seconds = 0;
    assert_int_equal(actuate_plan(kc, snap, plan, &o, &rep, &err), -1);
    assert_string_equal(err.msg, "actuate: interval 0 s must be > 0");
    actuate_report_free(&rep);
    actuate_report_free(NULL);
    assert_string_equal(actuate_scale_name(ACTUATE_SCALE_HELD), "held");
    plan_free(plan);
    snapshot_free(snap);
}

/* Statuses that are only due for a lastRunTime refresh are rewritten in
 * batches of ACTUATE_MAX_REFRESHES_PER_RUN; the rest follow next run. */
static void test_status_refresh_is_batched(void **state)
{
    enum { N = ACTUATE_MAX_REFRESHES_PER_RUN + 10 };
    char name[32];
    struct wva_plan *plan = plan_new();
    struct actuate_options o = options(T0);
    struct actuate_report rep;
    struct wva_snapshot *snap;

    (void)state;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "va-%04d", i);
        add_variant(name, 1, NULL);
        plan_add(plan, name, 1, 1, WVA_SKIP_NONE, "within thresholds");
    }
    snap = take_snapshot();
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, N);
    actuate_report_free(&rep);
    snapshot_free(snap);

    snap = take_snapshot();
    o.now = T0 + ACTUATE_STATUS_REFRESH_INTERVALS * INTERVAL;
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, ACTUATE_MAX_REFRESHES_PER_RUN);
    assert_int_equal(rep.status_skipped, 10);
    actuate_report_free(&rep);
    snapshot_free(snap);

    snap = take_snapshot();
    o.now += 1;
    run(snap, plan, &o, &rep);
    assert_int_equal(rep.status_written, 10);
    assert_int_equal(rep.status_skipped, ACTUATE_MAX_REFRESHES_PER_RUN);
    actuate_report_free(&rep);
    snapshot_free(snap);
    plan_free(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_scale_patch_body_order_and_events, setup),
        cmocka_unit_test_setup(test_foreign_skips_never_touched, setup),
        cmocka_unit_test_setup(test_status_refresh_is_batched, setup),
        cmocka_unit_test_setup(test_dry_run_writes_nothing, setup),
        cmocka_unit_test_setup(test_conflict_same_replicas_retried, setup),
        cmocka_unit_test_setup(test_conflict_after_someone_scaled_holds, setup),
        cmocka_unit_test_setup(test_throttled_then_applied, setup),
        cmocka_unit_test_setup(test_server_errors_fail_one_others_applied, setup),
        cmocka_unit_test_setup(test_target_deleted_during_the_run, setup),
        cmocka_unit_test_setup(test_actuation_metrics_no_scale, setup),
        cmocka_unit_test_setup(test_conditions_keep_transition_time, setup),
        cmocka_unit_test_setup(test_status_written_only_on_change, setup),
        cmocka_unit_test_setup(test_target_not_found_event_once, setup),
        cmocka_unit_test_setup(test_status_patch_valid_under_upstream_schema, setup),
        cmocka_unit_test_setup(test_invalid_spec_only_ready_condition, setup),
        cmocka_unit_test_setup(test_metrics_unavailable_holds_and_warns, setup),
        cmocka_unit_test(test_invalid_arguments),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
