/* test_collect.c - reading a live snapshot (collect.c): which objects the
 * cluster part reads, in which order, and what the one tracked-namespace
 * rule makes it read (against the canned Kubernetes server,
 * tests/fixtures/kube/); the PromQL of a run and the batch of queries
 * against tests/fixtures/prom/fake_prometheus.py. */
#include "fake_prom_server.h"

#include <fcntl.h>
#include <math.h>
#include <unistd.h>

#include "wva/collect.h"
#include "wva/configmaps.h"
#include "wva/kube_client.h"
#include "wva/snapshot.h"
#include "../fixtures/kube/canned_server.h"

/* ---- the cluster part, against the canned Kubernetes server ------------ */

#define MAIN_CM "wva-variantautoscaling-config"

static struct canned_server server;

static int kube_group_setup(void **state)
{
    (void)state;
    return canned_server_start(&server, "kube/kube_script.json", NULL, 0);
}

static int kube_group_teardown(void **state)
{
    (void)state;
    canned_server_stop(&server);
    return 0;
}

static struct kube_client *client(void)
{
    return canned_kube_client(server.base_url);
}

static char *requests_log(const char *prefix)
{
    return canned_requests_log(server.base_url, prefix);
}

static void test_fetch_snapshot_cluster_wide(void **state)
{
    struct kube_client *c = client();
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct collect_options opts = { .system_namespace = "wva-system",
                                   .config_map_name = MAIN_CM, .limited_mode = true };
    struct wva_error err = {0};

    (void)state;
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    assert_int_equal(snap->namespaces_count, 5);
    assert_int_equal(snap->vas_count, 3);       /* two pages */
    assert_string_equal(snap->vas[2].name, "llama-h100");
    assert_string_equal(snap->vas[0].model_id, "llama");
    assert_int_equal(snap->deployments_count, 3);
    const struct wva_deployment *d = snapshot_find_deployment(snap, "team-a", "llama-l4");
    assert_non_null(d);
    assert_int_equal(d->replicas, 2);
    /* limited mode: pods cluster-wide (the training job counts for GPUs). */
    assert_int_equal(snap->pods_count, 2);
    assert_string_equal(snap->pods[1].name, "training-job");
    assert_true(snap->has_nodes);
    assert_int_equal(snap->nodes_count, 2);
    assert_int_equal(snap->configmaps_count, 4);
    const struct wva_configmap *cm =
        snapshot_find_configmap(snap, "team-a", "wva-saturation-config");
    assert_non_null(cm);
    assert_string_equal(wva_kvlist_get(&cm->data, "default"), "kvCacheThreshold: 0.7\n");
    assert_non_null(snapshot_find_configmap(snap, "wva-system", "wva-variantautoscaling-config"));
    assert_non_null(snapshot_find_configmap(snap, "team-b", "wva-scale-to-zero-config"));
    assert_non_null(snap->captured_at);
    assert_true(snap->captured_at_epoch > 1.7e9);

    struct kube_client_stats s = kube_client_stats(c);
    /* namespaces 1 + VAs 2 + deployments 2 + pods 1 + nodes 1 */
    assert_int_equal(s.list, 7);
    /* 5 global names + 4 local names in team-a and team-b (team-x is
     * excluded, "quiet" has neither VAs nor the label). */
    assert_int_equal(s.get, 13);
    assert_int_equal(s.patch + s.create + s.update, 0);
    snapshot_free(snap);
    kube_client_free(c);

    char *log = requests_log("/api/v1/namespaces/team-x/configmaps");
    assert_string_equal(log, "");
    free(log);
    log = requests_log("/api/v1/namespaces/team-b/");
    assert_string_equal(log,
                        "GET /api/v1/namespaces/team-b/configmaps/wva-saturation-config\n"
                        "GET /api/v1/namespaces/team-b/configmaps/wva-saturation-scaling-config\n"
                        "GET /api/v1/namespaces/team-b/configmaps/wva-scale-to-zero-config\n"
                        "GET /api/v1/namespaces/team-b/configmaps/wva-model-scale-to-zero-config\n");
    free(log);
}

static void test_fetch_snapshot_watch_namespace(void **state)
{
    struct kube_client *c = client();
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct collect_options opts = { .watch_namespace = "team-a",
                                   .system_namespace = "wva-system", .config_map_name = MAIN_CM };
    struct wva_error err = {0};

    (void)state;
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    assert_int_equal(snap->namespaces_count, 1);
    assert_string_equal(snap->namespaces[0].name, "team-a");
    assert_int_equal(snap->vas_count, 1);
    assert_int_equal(snap->deployments_count, 2);
    assert_int_equal(snap->pods_count, 2);          /* only team-a's */
    assert_false(snap->has_nodes);
    assert_int_equal(snap->nodes_count, 0);
    assert_int_equal(snap->configmaps_count, 3);
    struct kube_client_stats s = kube_client_stats(c);
    assert_int_equal(s.list, 3);
    assert_int_equal(s.get, 1 + 5 + 4);
    snapshot_free(snap);

    /* A bad namespace name never reaches a URL. */
    struct wva_snapshot *snap2 = wva_xcalloc(1, sizeof(*snap2));
    struct collect_options bad = { .watch_namespace = "a/../b", .system_namespace = "sys",
                                  .config_map_name = MAIN_CM };
    assert_int_equal(collect_cluster(c, &bad, snap2, &err), -1);
    assert_non_null(strstr(err.msg, "watch namespace \"a/../b\""));
    snapshot_free(snap2);
    kube_client_free(c);
}

/* A canned server of its own for the fetch tests below, running
 * fetch_routes (the shared script's responses are consumed in order by the
 * other tests).  Started and stopped by setup/teardown, so that a failed
 * assertion does not leave it running. */
static struct canned_server own_srv;
static char own_script[64];

static int own_server_teardown(void **state)
{
    (void)state;
    canned_server_stop(&own_srv);
    if (own_script[0])
        unlink(own_script);
    own_script[0] = '\0';
    return 0;
}

#define VA_ITEM(name, ns)                                                                  \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"spec\":"            \
    "{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"d\"},\"modelID\":\"m\"}}"
#define EXPIRED                                                                            \
    "{\"status\":410,\"body\":{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":"   \
    "\"Expired\",\"message\":\"too old\",\"code\":410}}"

static const char fetch_routes[] =
    "{\"routes\":["
    "{\"method\":\"GET\",\"path\":\"/api/v1/namespaces/ns1\",\"responses\":[{\"status\":200,"
    "\"body\":{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ns1\"}}}]},"
    /* VAs in two pages; the continue token expires once */
    "{\"method\":\"GET\",\"path\":\"/apis/llmd.ai/v1alpha1/namespaces/ns1/variantautoscalings\","
    "\"query\":{\"continue\":null},\"responses\":[{\"status\":200,\"body\":{\"metadata\":"
    "{\"continue\":\"c1\"},\"items\":[" VA_ITEM("v1", "ns1") "]}}]},"
    "{\"method\":\"GET\",\"path\":\"/apis/llmd.ai/v1alpha1/namespaces/ns1/variantautoscalings\","
    "\"query\":{\"continue\":\"c1\"},\"responses\":[" EXPIRED ",{\"status\":200,\"body\":"
    "{\"metadata\":{},\"items\":[" VA_ITEM("v2", "ns1") "]}}]},"
    "{\"method\":\"GET\",\"path\":\"/apis/apps/v1/namespaces/ns1/deployments\",\"responses\":"
    "[{\"status\":200,\"body\":{\"items\":[{\"metadata\":{\"name\":\"d\",\"namespace\":\"ns1\"},"
    "\"spec\":{\"replicas\":4}}]}}]},"
    "{\"method\":\"GET\",\"path\":\"/api/v1/namespaces/ns1/pods\",\"responses\":[{\"status\":200,"
    "\"body\":{\"items\":null}}]},"
    "{\"method\":\"GET\",\"path\":\"/api/v1/namespaces/sys/configmaps/wva-saturation-config\","
    "\"responses\":[{\"status\":200,\"body\":{\"metadata\":{\"name\":\"wva-saturation-config\","
    "\"namespace\":\"sys\"},\"data\":{\"default\":\"kvCacheThreshold: 0.8\"}}}]},"
    /* ns2: a bad Deployment on the second page */
    "{\"method\":\"GET\",\"path\":\"/apis/llmd.ai/v1alpha1/namespaces/ns2/variantautoscalings\","
    "\"responses\":[{\"status\":200,\"body\":{\"items\":[" VA_ITEM("v3", "ns2") "]}}]},"
    "{\"method\":\"GET\",\"path\":\"/apis/apps/v1/namespaces/ns2/deployments\",\"query\":"
    "{\"continue\":null},\"responses\":[{\"status\":200,\"body\":{\"metadata\":{\"continue\":"
    "\"p2\"},\"items\":[{\"metadata\":{\"name\":\"d0\",\"namespace\":\"ns2\"}}]}}]},"
    "{\"method\":\"GET\",\"path\":\"/apis/apps/v1/namespaces/ns2/deployments\",\"query\":"
    "{\"continue\":\"p2\"},\"responses\":[{\"status\":200,\"body\":{\"items\":[{\"metadata\":"
    "{\"name\":\"d1\",\"namespace\":\"ns2\"},\"spec\":{\"replicas\":\"abc\"}}]}}]}"
    "]}";

/* Start own_srv with routes (a canned_server.py script). */
static int own_server_start(const char *routes)
{
    char server_py[4096], line[32];
    int fd;

    memset(&own_srv, 0, sizeof(own_srv));
    snprintf(own_script, sizeof(own_script), "/tmp/wva-kube-script-XXXXXX");
    fd = mkstemp(own_script);
    if (fd < 0)
        return -1;
    if (write(fd, routes, strlen(routes)) != (ssize_t)strlen(routes)) {
        close(fd);
        return -1;
    }
    close(fd);
    snprintf(server_py, sizeof(server_py), "%s", fixture_path("kube/canned_server.py"));
    const char *argv[] = { "python3", server_py, own_script, NULL };
    own_srv.pid = test_spawn_server(argv, line, sizeof(line));
    own_srv.port = own_srv.pid > 0 ? atoi(line) : 0;
    if (own_srv.port <= 0)
        return -1;
    snprintf(own_srv.base_url, sizeof(own_srv.base_url), "http://127.0.0.1:%d", own_srv.port);
    return 0;
}

static int own_server_setup(void **state)
{
    (void)state;
    return own_server_start(fetch_routes);
}

static void test_fetch_snapshot_restart_and_bad_item(void **state)
{
    struct wva_error err = {0};

    (void)state;
    struct kube_config cfg = { .server = own_srv.base_url, .source = "test" };
    struct kube_client *c = kube_client_new(&cfg, &err);
    assert_non_null(c);

    /* The VA list restarts after 410: v1 is dropped and read again. */
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct collect_options opts = { .watch_namespace = "ns1", .system_namespace = "sys",
                                   .config_map_name = MAIN_CM };
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    assert_int_equal(kube_client_stats(c).list_restarts, 1);
    assert_int_equal(snap->vas_count, 2);
    assert_string_equal(snap->vas[0].name, "v1");
    assert_string_equal(snap->vas[1].name, "v2");
    assert_null(snap->vas[1].spec_problem);
    assert_string_equal(snap->vas[1].model_id, "m");
    assert_int_equal(snap->namespaces_count, 1);
    assert_int_equal(snap->deployments_count, 1);
    assert_int_equal(snapshot_find_deployment(snap, "ns1", "d")->replicas, 4);
    assert_int_equal(snap->pods_count, 0);
    assert_int_equal(snap->configmaps_count, 1);
    assert_string_equal(wva_kvlist_get(&snapshot_find_configmap(snap, "sys",
                                                                "wva-saturation-config")->data,
                                       "default"), "kvCacheThreshold: 0.8");
    snapshot_free(snap);

    /* A bad object fails the read, naming the request and the item's
     * place in the list (counted across pages); nothing of that list is
     * kept. */
    snap = wva_xcalloc(1, sizeof(*snap));
    opts.watch_namespace = "ns2";
    assert_int_equal(collect_cluster(c, &opts, snap, &err), -1);
    assert_string_equal(err.msg, "LIST /apis/apps/v1/namespaces/ns2/deployments: "
                                 "deployments.items[1].spec.replicas: expected integer, "
                                 "got \"abc\"");
    assert_int_equal(snap->deployments_count, 0);
    assert_int_equal(snap->vas_count, 1);
    snapshot_free(snap);
    kube_client_free(c);
}

/* The main ConfigMap handed over by the caller is not fetched again. */
static void test_fetch_snapshot_main_configmap_given(void **state)
{
    struct wva_error err = {0};
    struct wva_kvlist data = {0};
    unsigned long gets;

    (void)state;
    struct kube_config cfg = { .server = own_srv.base_url, .source = "test" };
    struct kube_client *c = kube_client_new(&cfg, &err);
    assert_non_null(c);
    struct collect_options opts = { .watch_namespace = "ns1", .system_namespace = "sys",
                                   .config_map_name = MAIN_CM };

    /* Fetched: 404 on this server, so absent; namespace + 5 + 4 GETs. */
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    assert_int_equal(kube_client_stats(c).get, 10);
    assert_null(snapshot_find_configmap(snap, "sys", "wva-variantautoscaling-config"));
    snapshot_free(snap);

    /* Given and found: in the snapshot, first, with a copy of the data. */
    wva_kvlist_set(&data, "GLOBAL_OPT_INTERVAL", "30s");
    wva_kvlist_set(&data, "WVA_SCALE_TO_ZERO", "true");
    opts.main_configmap_data = &data;
    opts.main_configmap_found = true;
    gets = kube_client_stats(c).get;
    snap = wva_xcalloc(1, sizeof(*snap));
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    assert_int_equal(kube_client_stats(c).get - gets, 9);
    assert_int_equal(snap->configmaps_count, 2);
    assert_ptr_equal(snapshot_find_configmap(snap, "sys", "wva-variantautoscaling-config"),
                     &snap->configmaps[0]);
    assert_int_equal(snap->configmaps[0].data.count, 2);
    assert_string_equal(snap->configmaps[0].data.items[0].key, "GLOBAL_OPT_INTERVAL");
    assert_string_equal(snap->configmaps[0].data.items[0].value, "30s");
    assert_string_equal(wva_kvlist_get(&snap->configmaps[0].data, "WVA_SCALE_TO_ZERO"), "true");
    assert_ptr_not_equal(snap->configmaps[0].data.items, data.items);
    assert_string_equal(snap->configmaps[1].name, "wva-saturation-config");
    snapshot_free(snap);

    /* Given as absent: none, and still no GET. */
    opts.main_configmap_found = false;
    gets = kube_client_stats(c).get;
    snap = wva_xcalloc(1, sizeof(*snap));
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    assert_int_equal(kube_client_stats(c).get - gets, 9);
    assert_int_equal(snap->configmaps_count, 1);
    assert_null(snapshot_find_configmap(snap, "sys", "wva-variantautoscaling-config"));
    snapshot_free(snap);

    wva_kvlist_free(&data);
    kube_client_free(c);
}

/* SPEC section 5 through filter_namespace_tracked(): a namespace without
 * VAs is tracked when its config-enabled label is a true boolean ("1",
 * "True" count, as they do for the engine) and it is not excluded; the
 * watch namespace is never excluded, also when every namespace is read. */
#define NS_ITEM(name, labels, annotations)                                                 \
    "{\"metadata\":{\"name\":\"" name "\",\"labels\":{" labels "},"                        \
    "\"annotations\":{" annotations "}}}"
#define ENABLED(v) "\"wva.llmd.ai/config-enabled\":\"" v "\""
#define EXCLUDED "\"wva.llmd.ai/exclude\":\"true\""
#define EMPTY_LIST "[{\"status\":200,\"body\":{\"items\":[]}}]"

static const char tracked_routes[] =
    "{\"routes\":["
    "{\"method\":\"GET\",\"path\":\"/api/v1/namespaces\",\"responses\":[{\"status\":200,"
    "\"body\":{\"items\":["
    NS_ITEM("lab-one", ENABLED("1"), "") ","
    NS_ITEM("lab-true", ENABLED("True"), "") ","
    NS_ITEM("lab-off", ENABLED("false"), "") ","
    NS_ITEM("lab-yes", ENABLED("yes"), "") ","
    NS_ITEM("lab-excluded", ENABLED("1"), EXCLUDED) ","
    NS_ITEM("team-w", "", EXCLUDED) ","
    NS_ITEM("team-x", "", EXCLUDED) "]}}]},"
    "{\"method\":\"GET\",\"path\":\"/apis/llmd.ai/v1alpha1/variantautoscalings\","
    "\"responses\":[{\"status\":200,\"body\":{\"items\":[" VA_ITEM("w", "team-w") ","
    VA_ITEM("x", "team-x") "]}}]},"
    "{\"method\":\"GET\",\"path\":\"/apis/apps/v1/namespaces/team-w/deployments\","
    "\"responses\":" EMPTY_LIST "},"
    "{\"method\":\"GET\",\"path\":\"/apis/apps/v1/namespaces/team-x/deployments\","
    "\"responses\":" EMPTY_LIST "},"
    "{\"method\":\"GET\",\"path\":\"/api/v1/namespaces/team-w/pods\","
    "\"responses\":" EMPTY_LIST "},"
    "{\"method\":\"GET\",\"path\":\"/api/v1/namespaces/team-x/pods\","
    "\"responses\":" EMPTY_LIST "},"
    "{\"method\":\"GET\",\"path\":\"/api/v1/namespaces/lab-one/configmaps/"
    "wva-saturation-config\",\"responses\":[{\"status\":200,\"body\":{\"metadata\":"
    "{\"name\":\"wva-saturation-config\",\"namespace\":\"lab-one\"},\"data\":"
    "{\"default\":\"kvCacheThreshold: 0.6\"}}}]}"
    "]}";

static int tracked_server_setup(void **state)
{
    (void)state;
    return own_server_start(tracked_routes);
}

/* The namespaces whose ConfigMaps were asked for, in order, one GET of the
 * first well-known name each. */
static char *configmap_namespaces(void)
{
    char *log = canned_requests_log(own_srv.base_url, "/api/v1/namespaces/");
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *save = NULL;

    for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *tail = "/configmaps/" WVA_SATURATION_CONFIG;
        size_t n = strlen(line), t = strlen(tail);
        if (n > t && strcmp(line + n - t, tail) == 0 && strncmp(line, "GET ", 4) == 0) {
            const char *ns = line + strlen("GET /api/v1/namespaces/");
            wva_strbuf_add(&sb, ns, strcspn(ns, "/"));
            wva_strbuf_adds(&sb, " ");
        }
    }
    free(log);
    return wva_strbuf_detach(&sb);
}

static void test_tracked_namespaces(void **state)
{
    struct wva_error err = {0};
    struct kube_config cfg = { .server = own_srv.base_url, .source = "test" };
    struct kube_client *c = kube_client_new(&cfg, &err);
    struct collect_options opts = { .system_namespace = "sys", .config_map_name = MAIN_CM };
    struct wva_snapshot *snap;
    const struct wva_configmap *cm;
    char *asked;

    (void)state;
    assert_non_null(c);
    snap = wva_xcalloc(1, sizeof(*snap));
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    /* The system namespace first, then the tracked ones by name: "1" and
     * "True" count, "false" and "yes" do not, excluded namespaces neither
     * (with or without VAs). */
    asked = configmap_namespaces();
    assert_string_equal(asked, "sys lab-one lab-true ");
    free(asked);
    cm = snapshot_find_configmap(snap, "lab-one", WVA_SATURATION_CONFIG);
    assert_non_null(cm);
    assert_string_equal(wva_kvlist_get(&cm->data, "default"), "kvCacheThreshold: 0.6");
    snapshot_free(snap);

    /* doctor reads every namespace with a watch namespace set: the watch
     * namespace's own ConfigMaps are read although it carries the exclude
     * annotation, as the engine counts them. */
    canned_server_stop(&own_srv);
    unlink(own_script);
    assert_int_equal(own_server_start(tracked_routes), 0);
    kube_client_free(c);
    cfg.server = own_srv.base_url;
    c = kube_client_new(&cfg, &err);
    assert_non_null(c);
    opts.watch_namespace = "team-w";
    opts.every_namespace = true;
    snap = wva_xcalloc(1, sizeof(*snap));
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
    assert_int_equal(snap->vas_count, 2);
    asked = configmap_namespaces();
    assert_string_equal(asked, "sys lab-one lab-true team-w ");
    free(asked);
    snapshot_free(snap);
    kube_client_free(c);
}

/* ---- the PromQL of a run ------------------------------------------------ */

static void test_queries_all_namespaces(void **state)
{
    char *q;
    struct wva_error err;

    (void)state;
    q = collect_query_kv_cache_usage(NULL);
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:kv_cache_usage_perc{}[1m]) "
                           "and on (namespace, pod, model_name) vllm:kv_cache_usage_perc{})");
    free(q);
    q = collect_query_gpu_cache_usage("");
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:gpu_cache_usage_perc{}[1m]) "
                           "and on (namespace, pod, model_name) vllm:gpu_cache_usage_perc{})");
    free(q);
    q = collect_query_queue_length(NULL);
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:num_requests_waiting{}[1m]) "
                           "and on (namespace, pod, model_name) vllm:num_requests_waiting{})");
    free(q);
    q = collect_query_cache_config(NULL);
    assert_string_equal(q, "max by (namespace, pod, model_name, num_gpu_blocks, block_size) "
                           "(vllm:cache_config_info{})");
    free(q);
    q = collect_query_request_count(NULL, 600);
    assert_string_equal(q, "sum by (namespace, model_name) "
                           "(increase(vllm:request_success_total{}[600s]))");
    free(q);
    q = collect_query_gateway_queue(NULL);
    assert_string_equal(q, "sum by (namespace, target_model_name) "
                           "(inference_extension_flow_control_queue_size{})");
    free(q);
    q = collect_query_custom(NULL, "vllm:num_requests_running", &err);
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:num_requests_running{}[1m]) "
                           "and on (namespace, pod, model_name) vllm:num_requests_running{})");
    free(q);
}

static void test_queries_watch_namespace(void **state)
{
    char *q;
    struct wva_error err;

    (void)state;
    q = collect_query_kv_cache_usage("team-a");
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:kv_cache_usage_perc{namespace=\"team-a\"}[1m]) "
                           "and on (namespace, pod, model_name) vllm:kv_cache_usage_perc{namespace=\"team-a\"})");
    free(q);
    q = collect_query_queue_length("team-a");
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:num_requests_waiting{namespace=\"team-a\"}[1m]) "
                           "and on (namespace, pod, model_name) vllm:num_requests_waiting{namespace=\"team-a\"})");
    free(q);
    q = collect_query_cache_config("team-a");
    assert_string_equal(q, "max by (namespace, pod, model_name, num_gpu_blocks, block_size) "
                           "(vllm:cache_config_info{namespace=\"team-a\"})");
    free(q);
    q = collect_query_request_count("team-a", 90.5);
    assert_string_equal(q, "sum by (namespace, model_name) "
                           "(increase(vllm:request_success_total{namespace=\"team-a\"}[90500ms]))");
    free(q);
    q = collect_query_gateway_queue("team-a");
    assert_string_equal(q, "sum by (namespace, target_model_name) "
                           "(inference_extension_flow_control_queue_size{namespace=\"team-a\"})");
    free(q);
    q = collect_query_custom("team-a", "my_metric", &err);
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(my_metric{namespace=\"team-a\"}[1m]) "
                           "and on (namespace, pod, model_name) my_metric{namespace=\"team-a\"})");
    free(q);
}

static void test_query_injection_and_names(void **state)
{
    struct wva_error err;
    char *q;

    (void)state;
    /* A quote cannot close the matcher and inject another selector. */
    q = collect_query_gateway_queue("a\"} or vector(1) or x{y=\"");
    assert_string_equal(q, "sum by (namespace, target_model_name) "
                           "(inference_extension_flow_control_queue_size"
                           "{namespace=\"a\\\"} or vector(1) or x{y=\\\"\"})");
    free(q);
    wva_error_clear(&err);
    assert_null(collect_query_custom("ns", "up) or vector(1", &err));
    assert_string_equal(err.msg, "spec.metrics name \"up) or vector(1\" is not a valid "
                                 "Prometheus metric name");
    assert_int_equal(err.kind, WVA_ERR_INTERNAL);
}

static void test_options_from_settings(void **state)
{
    struct wva_settings s;
    struct prom_options o;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.prometheus_url = "https://prom.example:9091";
    s.prometheus_token_path = "/var/run/secrets/prom/token";
    s.prometheus_ca_cert_path = "/ca.pem";
    s.prometheus_server_name = "prom.internal";
    s.prometheus_tls_insecure_skip_verify = true;
    collect_prom_options(&s, &o);
    assert_string_equal(o.base_url, "https://prom.example:9091");
    assert_null(o.bearer_token);
    assert_string_equal(o.token_path, "/var/run/secrets/prom/token");
    assert_string_equal(o.ca_cert_path, "/ca.pem");
    assert_string_equal(o.server_name, "prom.internal");
    assert_true(o.insecure_skip_verify);
    assert_int_equal(o.max_retries, 0);     /* the HTTP helper's default */
    assert_int_equal(o.max_response_bytes, 0);
}

/* ---- the batch, against fake_prometheus.py --------------------------------- */

static const struct wva_custom_series *find_custom(const struct wva_metrics *m,
                                                   const char *name)
{
    for (size_t i = 0; i < m->custom_count; i++)
        if (strcmp(m->custom[i].metric, name) == 0)
            return &m->custom[i];
    return NULL;
}

static void test_fetch_all_namespaces(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, TOKEN, NULL);
    const char *custom[] = {"vllm:num_requests_running", "vllm:num_requests_running"};
    struct collect_metric_params p = {NULL, 600, custom, 2, 0};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(collect_prom_metrics(c, &p, &m, &err), 0);
    assert_null(m.prometheus_error);
    assert_int_equal(m.kv_cache_usage.count, 2);
    assert_true(find_pod(&m.kv_cache_usage, "llama-h100-5c8b-fghij")->value == 0.875);
    /* The NaN queue sample is dropped: that pod's queue is unknown. */
    assert_int_equal(m.queue_length.count, 1);
    assert_true(find_pod(&m.queue_length, "llama-a100-7d9f-abcde")->value == 2.0);
    assert_int_equal(m.cache_config.count, 1);
    assert_string_equal(wva_kvlist_get(&m.cache_config.items[0].labels, "num_gpu_blocks"),
                        "8192");
    assert_string_equal(wva_kvlist_get(&m.cache_config.items[0].labels, "block_size"), "16");
    assert_int_equal(m.request_count.count, 1);
    assert_true(m.request_count.items[0].value == 57.5);
    assert_int_equal(m.gateway_queue.count, 1);
    assert_string_equal(wva_kvlist_get(&m.gateway_queue.items[0].labels, "target_model_name"),
                        "meta-llama/Llama-3.1-8B");
    assert_true(m.gateway_queue.items[0].value == 4.0);
    assert_int_equal(m.custom_count, 1);
    const struct wva_custom_series *cs = find_custom(&m, "vllm:num_requests_running");
    assert_non_null(cs);
    assert_int_equal(cs->series.count, 1);
    assert_true(cs->series.items[0].value == 7.0);
    /* The per-pod series that size the arrival rate and the backlog. */
    assert_int_equal(m.running_requests.count, 2);
    assert_true(find_pod(&m.running_requests, "llama-h100-5c8b-fghij")->value == 12.25);
    assert_int_equal(m.request_rate.count, 2);
    assert_true(find_pod(&m.request_rate, "llama-a100-7d9f-abcde")->value == 1.75);

    /* 7 fixed queries + 1 distinct custom name, whatever the number of VAs. */
    prom_client_stats(c, &st);
    assert_int_equal(st.queries, 8);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.http_attempts, 8);
    assert_int_equal(st.samples, 11);
    assert_int_equal(st.dropped, 1);

    /* The exact form body on the wire, no time parameter. */
    json_object *reqs = server_requests(srv);
    assert_int_equal(json_object_array_length(reqs), 8);
    assert_string_equal(request_field(reqs, 0, "body"),
                        "query=max%20by%20%28namespace%2C%20pod%2C%20model_name%29%20%28max_ove"
                        "r_time%28vllm%3Akv_cache_usage_perc%7B%7D%5B1m%5D%29%20and%20on%20%28n"
                        "amespace%2C%20pod%2C%20model_name%29%20vllm%3Akv_cache_usage_perc%7B%7"
                        "D%29");
    assert_null(request_field(reqs, 0, "time"));
    assert_string_equal(request_field(reqs, 3, "query"),
                        "sum by (namespace, model_name) "
                        "(increase(vllm:request_success_total{}[600s]))");
    assert_string_equal(request_field(reqs, 5, "query"),
                        "max by (namespace, pod, model_name) "
                        "(avg_over_time(vllm:num_requests_running{}[1m]) "
                        "and on (namespace, pod, model_name) vllm:num_requests_running{})");
    assert_string_equal(request_field(reqs, 6, "query"),
                        "sum by (namespace, pod, model_name) "
                        "(rate(vllm:request_success_total{}[1m]) "
                        "and on (namespace, pod, model_name) vllm:request_success_total{})");
    json_object_put(reqs);

    collect_metrics_free(&m);
    assert_int_equal(m.custom_count, 0);
    collect_metrics_free(NULL);
    prom_client_free(c);
}

static void test_fetch_fallback_then_proxy_error(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, TOKEN, NULL);
    const char *custom[] = {"vllm:num_requests_running"};
    struct collect_metric_params p = {"team-b", 600, custom, 1, 0};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(collect_prom_metrics(c, &p, &m, &err), -1);
    assert_non_null(m.prometheus_error);
    assert_string_equal(m.prometheus_error, err.msg);
    const char *prefix = "Prometheus query queue_length: HTTP 502 with a non-JSON body: "
                         "<html> <head><title>502 Bad Gateway</title>";
    assert_memory_equal(err.msg, prefix, strlen(prefix));
    /* What was read before the failure is kept: the fallback KV usage. */
    assert_int_equal(m.kv_cache_usage.count, 1);
    assert_string_equal(wva_kvlist_get(&m.kv_cache_usage.items[0].labels, "pod"), "old-0");
    assert_true(m.kv_cache_usage.items[0].value == 0.25);
    assert_int_equal(m.queue_length.count, 0);
    assert_int_equal(m.custom_count, 0);

    prom_client_stats(c, &st);
    assert_int_equal(st.queries, 3);      /* kv, fallback, queue: then stop */
    assert_int_equal(st.failed, 1);
    json_object *reqs = server_requests(srv);
    assert_int_equal(json_object_array_length(reqs), 3);
    char *fallback = collect_query_gpu_cache_usage("team-b");
    assert_string_equal(request_field(reqs, 1, "query"), fallback);
    free(fallback);
    json_object_put(reqs);
    collect_metrics_free(&m);
    prom_client_free(c);
}

static void test_fetch_without_scale_to_zero(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, TOKEN, NULL);
    struct collect_metric_params p = {"team-c", 0, NULL, 0, 1764237600.5};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(collect_prom_metrics(c, &p, &m, &err), 0);
    assert_int_equal(m.kv_cache_usage.count, 2);
    assert_int_equal(m.request_count.count, 0);
    assert_null(m.request_count.items);
    assert_int_equal(m.gateway_queue.count, 1);
    /* Empty answers: unknown, not zero. */
    assert_int_equal(m.running_requests.count, 0);
    assert_int_equal(m.request_rate.count, 0);
    prom_client_stats(c, &st);
    assert_int_equal(st.queries, 6);

    json_object *reqs = server_requests(srv);
    assert_int_equal(json_object_array_length(reqs), 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(request_field(reqs, i, "time"), "1764237600.500");
    const char *body = request_field(reqs, 1, "body");
    const char *tail = "num_requests_waiting%7Bnamespace%3D%22team-c%22%7D%29"
                       "&time=1764237600.500";
    assert_true(strlen(body) > strlen(tail));
    assert_string_equal(body + strlen(body) - strlen(tail), tail);
    json_object_put(reqs);
    collect_metrics_free(&m);
    prom_client_free(c);
}

static void test_fetch_invalid_custom_name_sends_nothing(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, TOKEN, NULL);
    const char *custom[] = {"ok_metric", "bad name"};
    struct collect_metric_params p = {NULL, 600, custom, 2, 0};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(collect_prom_metrics(c, &p, &m, &err), -1);
    assert_string_equal(err.msg, "Prometheus query custom: spec.metrics name \"bad name\" is "
                                 "not a valid Prometheus metric name");
    assert_string_equal(m.prometheus_error, err.msg);
    prom_client_stats(c, &st);
    assert_int_equal(st.queries, 0);
    json_object *reqs = server_requests(srv);
    assert_int_equal(json_object_array_length(reqs), 0);
    json_object_put(reqs);
    collect_metrics_free(&m);
    prom_client_free(c);
}

int main(void)
{
    const struct CMUnitTest kube[] = {
        cmocka_unit_test(test_fetch_snapshot_cluster_wide),
        cmocka_unit_test(test_fetch_snapshot_watch_namespace),
        cmocka_unit_test_setup_teardown(test_fetch_snapshot_restart_and_bad_item,
                                        own_server_setup, own_server_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_snapshot_main_configmap_given,
                                        own_server_setup, own_server_teardown),
        cmocka_unit_test_setup_teardown(test_tracked_namespaces, tracked_server_setup,
                                        own_server_teardown),
    };
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_queries_all_namespaces),
        cmocka_unit_test(test_queries_watch_namespace),
        cmocka_unit_test(test_query_injection_and_names),
        cmocka_unit_test(test_options_from_settings),
    };
    const struct CMUnitTest prom[] = {
        cmocka_unit_test_setup(test_fetch_all_namespaces, server_reset_log),
        cmocka_unit_test_setup(test_fetch_fallback_then_proxy_error, server_reset_log),
        cmocka_unit_test_setup(test_fetch_without_scale_to_zero, server_reset_log),
        cmocka_unit_test_setup(test_fetch_invalid_custom_name_sends_nothing, server_reset_log),
    };
    int failed = cmocka_run_group_tests_name("collect_cluster", kube, kube_group_setup,
                                             kube_group_teardown);

    failed += cmocka_run_group_tests_name("collect_pure", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("collect_prom", prom, server_start, server_stop);
    return failed;
}
