/* test_kube_client.c - the Kubernetes client against the canned server
 * (tests/fixtures/kube/kube_script.json): Status errors, pagination, 410
 * restarts, verbs and counters, Warning logging, the live snapshot read. */
#include "test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "wva/http.h"
#include "wva/kube_client.h"
#include "wva/snapshot.h"
#include "../fixtures/kube/canned_server.h"

static struct canned_server server;

static int group_setup(void **state)
{
    (void)state;
    return canned_server_start(&server, "kube/kube_script.json", NULL, 0);
}

static int group_teardown(void **state)
{
    (void)state;
    canned_server_stop(&server);
    return 0;
}

static struct kube_client *client(void)
{
    struct kube_config cfg = { .server = server.base_url, .token = "t0ken-secret",
                               .source = "test" };
    struct wva_error err = {0};
    struct kube_client *c = kube_client_new(&cfg, &err);

    assert_non_null(c);
    return c;
}

/* The requests the server saw whose path starts with prefix, one
 * "METHOD path?query" line each (query as the server decoded it, keys in the
 * order sent). */
static char *requests_log(const char *prefix)
{
    struct wva_error err = {0};
    struct http_client *h = http_client_new(NULL, &err);
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    struct http_response resp;
    char url[128];

    snprintf(url, sizeof(url), "%s/__log", server.base_url);
    struct http_request req = { .method = "GET", .url = url };
    assert_int_equal(http_do(h, &req, &resp, &err), 0);
    json_object *log = json_tokener_parse(wva_strbuf_str(&resp.body));
    assert_non_null(log);
    for (size_t i = 0; i < json_object_array_length(log); i++) {
        json_object *r = json_object_array_get_idx(log, i);
        const char *path = json_object_get_string(json_object_object_get(r, "path"));
        if (strncmp(path, prefix, strlen(prefix)) != 0)
            continue;
        wva_strbuf_addf(&sb, "%s %s", json_object_get_string(json_object_object_get(r, "method")),
                        path);
        char sep = '?';
        json_object_object_foreach(json_object_object_get(r, "query"), k, v) {
            wva_strbuf_addf(&sb, "%c%s=%s", sep, k, json_object_get_string(v));
            sep = '&';
        }
        wva_strbuf_adds(&sb, "\n");
    }
    json_object_put(log);
    http_response_free(&resp);
    http_client_free(h);
    return wva_strbuf_detach(&sb);
}

static void test_status_error_message(void **state)
{
    struct kube_client *c = client();
    struct kube_status st;
    struct wva_error err = {0};
    json_object *out = (json_object *)1;

    (void)state;
    assert_int_equal(kube_patch(c, "/apis/apps/v1/namespaces/team-a/deployments/llama-l4/scale",
                                "application/merge-patch+json",
                                "{\"spec\":{\"replicas\":3}}", &out, &st, &err), -1);
    assert_null(out);
    assert_int_equal(st.code, 409);
    assert_string_equal(st.reason, "Conflict");
    assert_string_equal(err.msg,
                        "PATCH deployments/scale team-a/llama-l4: 409 Conflict: Operation cannot "
                        "be fulfilled on deployments.apps \"llama-l4\": the object has been "
                        "modified; please apply your changes to the latest version");

    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/forbidden", &out, &st, &err),
                     -1);
    assert_int_equal(st.code, 403);
    assert_string_equal(st.reason, "Forbidden");
    assert_non_null(strstr(err.msg, "GET configmaps x/forbidden: 403 Forbidden: configmaps"));

    /* Not a Status body: HTTP reason phrase and a sanitised snippet. */
    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/html", &out, &st, &err), -1);
    assert_int_equal(st.code, 400);
    assert_string_equal(st.reason, "");
    assert_string_equal(err.msg,
                        "GET configmaps x/html: 400 Bad Request: <html> bad request</html>");

    /* A 200 that is not JSON. */
    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/notjson", &out, &st, &err),
                     -1);
    assert_int_equal(st.code, 200);
    assert_non_null(strstr(err.msg, "response is not a JSON object: not json at all"));
    assert_null(strstr(err.msg, "t0ken-secret"));

    /* Unknown object: the canned server's 404 Status. */
    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/missing", &out, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "GET configmaps x/missing: 404 NotFound"));

    /* No response at all: code 0. */
    struct kube_config dead = { .server = "http://127.0.0.1:1" };
    struct kube_client *d = kube_client_new(&dead, &err);
    assert_int_equal(kube_get(d, "/api/v1/namespaces", &out, &st, &err), -1);
    assert_int_equal(st.code, 0);
    assert_non_null(strstr(err.msg, "GET namespaces: "));
    kube_client_free(d);
    kube_client_free(c);
}

static void test_verbs_and_counters(void **state)
{
    struct kube_client *c = client();
    struct kube_status st;
    struct wva_error err = {0};
    json_object *out = NULL;

    (void)state;
    assert_int_equal(kube_patch(c, "/apis/apps/v1/namespaces/team-a/deployments/ok/scale",
                                "application/merge-patch+json", "{\"spec\":{\"replicas\":3}}",
                                &out, &st, &err), 0);
    assert_int_equal(st.code, 200);
    assert_int_equal(json_object_get_int(json_object_object_get(
                         json_object_object_get(out, "spec"), "replicas")), 3);
    json_object_put(out);

    assert_int_equal(kube_create(c, "/api/v1/namespaces/team-a/events", "{\"kind\":\"Event\"}",
                                 NULL, &st, &err), 0);
    assert_int_equal(st.code, 201);
    assert_int_equal(kube_update(c, "/apis/coordination.k8s.io/v1/namespaces/sys/leases/"
                                    "wva-optimizer", "{\"kind\":\"Lease\"}", &out, &st, &err), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_object_get(out, "metadata"), "resourceVersion")), "9");
    json_object_put(out);
    assert_int_equal(kube_get(c, "/apis/apps/v1/namespaces/team-a/deployments/none", NULL, &st,
                              &err), -1);

    struct kube_client_stats s = kube_client_stats(c);
    assert_int_equal(s.patch, 1);
    assert_int_equal(s.create, 1);
    assert_int_equal(s.update, 1);
    assert_int_equal(s.get, 1);
    assert_int_equal(s.list, 0);
    assert_int_equal(s.attempts, 4);
    kube_client_free(c);

    /* What went over the wire: merge-patch type, JSON, the token. */
    char *log = requests_log("/apis/apps/v1/namespaces/team-a/deployments/ok");
    assert_string_equal(log, "PATCH /apis/apps/v1/namespaces/team-a/deployments/ok/scale\n");
    free(log);
}

/* Collects item names; NULL (restart) is recorded as "RESTART". */
struct names {
    struct wva_strbuf sb;
    int stop_after;                 /* > 0: fail on that item */
    int seen;
};

static int collect(json_object *item, void *ctx, struct wva_error *err)
{
    struct names *n = ctx;

    if (!item) {
        wva_strbuf_adds(&n->sb, "RESTART ");
        return 0;
    }
    n->seen++;
    if (n->stop_after && n->seen == n->stop_after) {
        wva_error_set(err, "callback refused item %d", n->seen);
        return -1;
    }
    json_object *md = json_object_object_get(item, "metadata");
    wva_strbuf_addf(&n->sb, "%s ", json_object_get_string(json_object_object_get(md, "name")));
    return 0;
}

static void test_list_pages_with_continue(void **state)
{
    struct kube_client *c = client();
    struct names n = { WVA_STRBUF_INIT, 0, 0 };
    struct kube_status st;
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(kube_list(c, "/api/v1/namespaces/paged/pods", "app=x,tier in (a b)",
                               collect, &n, &st, &err), 0);
    assert_string_equal(wva_strbuf_str(&n.sb), "p1 p2 p3 p4 ");
    assert_int_equal(st.code, 200);
    assert_int_equal(kube_client_stats(c).list, 3);
    wva_strbuf_release(&n.sb);

    /* items: null is an empty list. */
    assert_int_equal(kube_list(c, "/api/v1/namespaces/empty/pods", NULL, collect, &n, NULL,
                               &err), 0);
    assert_int_equal(n.sb.len, 0);

    /* The callback can stop the list with its own error. */
    struct names stop = { WVA_STRBUF_INIT, 2, 0 };
    assert_int_equal(kube_list(c, "/api/v1/namespaces/paged/pods", NULL, collect, &stop, NULL,
                               &err), -1);
    assert_string_equal(err.msg, "callback refused item 2");
    assert_int_equal(kube_client_stats(c).list, 5);     /* stopped on page 1 */
    wva_strbuf_release(&stop.sb);
    kube_client_free(c);

    /* limit, escaped selector and continue tokens as the server decoded them. */
    char *log = requests_log("/api/v1/namespaces/paged/pods");
    assert_string_equal(log,
                        "GET /api/v1/namespaces/paged/pods?limit=500&labelSelector=app=x,tier in (a b)\n"
                        "GET /api/v1/namespaces/paged/pods?limit=500&labelSelector=app=x,tier in (a b)"
                        "&continue=tok/1+\n"
                        "GET /api/v1/namespaces/paged/pods?limit=500&labelSelector=app=x,tier in (a b)"
                        "&continue=tok2\n"
                        "GET /api/v1/namespaces/paged/pods?limit=500\n");
    free(log);
}

static void test_list_restarts_after_410(void **state)
{
    struct kube_client *c = client();
    struct names n = { WVA_STRBUF_INIT, 0, 0 };
    struct kube_status st;
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(kube_list(c, "/api/v1/namespaces/expire/pods", NULL, collect, &n, &st,
                               &err), 0);
    /* The consumer is told to forget a1 before it comes again. */
    assert_string_equal(wva_strbuf_str(&n.sb), "a1 RESTART a1 a2 ");
    assert_int_equal(kube_client_stats(c).list_restarts, 1);
    assert_int_equal(kube_client_stats(c).list, 4);
    wva_strbuf_release(&n.sb);

    /* Always 410: bounded restarts, then the Status error. */
    assert_int_equal(kube_list(c, "/api/v1/namespaces/gone/pods", NULL, collect, &n, &st, &err),
                     -1);
    assert_int_equal(st.code, 410);
    assert_string_equal(st.reason, "Expired");
    assert_non_null(strstr(err.msg, "gave up after 3 list restarts: LIST pods in namespace "
                                    "gone: 410 Expired: The provided continue parameter"));
    assert_string_equal(wva_strbuf_str(&n.sb),
                        "g1 RESTART g1 RESTART g1 RESTART g1 ");
    assert_int_equal(kube_client_stats(c).list_restarts, 4);
    wva_strbuf_release(&n.sb);
    kube_client_free(c);
}

static void test_warning_header_logged(void **state)
{
    struct kube_client *c = client();
    struct wva_error err = {0};
    json_object *out = NULL;
    char path[] = "/tmp/wva-kube-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);

    (void)state;
    assert_true(fd >= 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    int rc = kube_get(c, "/apis/llmd.ai/v1alpha1/namespaces/team-a/variantautoscalings/va1",
                      &out, NULL, &err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    assert_int_equal(rc, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_object_get(out, "spec"), "modelID")), "llama");
    json_object_put(out);

    char *logged = read_whole_file(path, NULL);
    unlink(path);
    assert_non_null(logged);
    assert_non_null(strstr(logged, "level=warning msg=\"Kubernetes API warning\""));
    assert_non_null(strstr(logged, "request=\"GET variantautoscalings team-a/va1\""));
    assert_non_null(strstr(logged,
                           "warning=\"llmd.ai/v1alpha1 VariantAutoscaling is deprecated\""));
    assert_null(strstr(logged, "t0ken-secret"));
    free(logged);
    kube_client_free(c);
}

static void test_fetch_snapshot_cluster_wide(void **state)
{
    struct kube_client *c = client();
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct kube_fetch_options opts = { .system_namespace = "wva-system", .limited_mode = true };
    struct wva_error err = {0};

    (void)state;
    if (kube_fetch_snapshot(c, &opts, snap, &err) != 0)
        fail_msg("kube_fetch_snapshot: %s", err.msg);
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
    struct kube_fetch_options opts = { .watch_namespace = "team-a",
                                       .system_namespace = "wva-system" };
    struct wva_error err = {0};

    (void)state;
    if (kube_fetch_snapshot(c, &opts, snap, &err) != 0)
        fail_msg("kube_fetch_snapshot: %s", err.msg);
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
    struct kube_fetch_options bad = { .watch_namespace = "a/../b" };
    assert_int_equal(kube_fetch_snapshot(c, &bad, snap2, &err), -1);
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

static int own_server_setup(void **state)
{
    char server_py[4096], line[32];
    int fd;

    (void)state;
    memset(&own_srv, 0, sizeof(own_srv));
    snprintf(own_script, sizeof(own_script), "/tmp/wva-kube-script-XXXXXX");
    fd = mkstemp(own_script);
    if (fd < 0)
        return -1;
    if (write(fd, fetch_routes, strlen(fetch_routes)) != (ssize_t)strlen(fetch_routes)) {
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

static void test_fetch_snapshot_restart_and_bad_item(void **state)
{
    struct wva_error err = {0};

    (void)state;
    struct kube_config cfg = { .server = own_srv.base_url, .source = "test" };
    struct kube_client *c = kube_client_new(&cfg, &err);
    assert_non_null(c);

    /* The VA list restarts after 410: v1 is dropped and read again. */
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct kube_fetch_options opts = { .watch_namespace = "ns1", .system_namespace = "sys" };
    if (kube_fetch_snapshot(c, &opts, snap, &err) != 0)
        fail_msg("kube_fetch_snapshot: %s", err.msg);
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
    assert_int_equal(kube_fetch_snapshot(c, &opts, snap, &err), -1);
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
    struct kube_fetch_options opts = { .watch_namespace = "ns1", .system_namespace = "sys" };

    /* Fetched: 404 on this server, so absent; namespace + 5 + 4 GETs. */
    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    if (kube_fetch_snapshot(c, &opts, snap, &err) != 0)
        fail_msg("kube_fetch_snapshot: %s", err.msg);
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
    if (kube_fetch_snapshot(c, &opts, snap, &err) != 0)
        fail_msg("kube_fetch_snapshot: %s", err.msg);
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
    if (kube_fetch_snapshot(c, &opts, snap, &err) != 0)
        fail_msg("kube_fetch_snapshot: %s", err.msg);
    assert_int_equal(kube_client_stats(c).get - gets, 9);
    assert_int_equal(snap->configmaps_count, 1);
    assert_null(snapshot_find_configmap(snap, "sys", "wva-variantautoscaling-config"));
    snapshot_free(snap);

    wva_kvlist_free(&data);
    kube_client_free(c);
}

/* End to end against tests/servers/kubeapi.py (HTTPS with a CA it makes,
 * token and client-certificate kubeconfigs it writes, real paging): 600
 * synthetic VAs in 6 namespaces, 3 pods each. */
static void test_against_kubeapi_server(void **state)
{
    char dir[] = "/tmp/wva-kubeapi-XXXXXX";
    char script[4096], line[512], kubeconfig[4096], path[256];
    struct kube_config cfg;
    struct wva_error err = {0};
    struct kube_status st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_true(snprintf(script, sizeof(script), "%s/tests/servers/kubeapi.py",
                         getenv("top_srcdir") ? getenv("top_srcdir") : ".") < (int)sizeof(script));
    const char *argv[] = { "python3", script, "--state-dir", dir, "--synthetic", "600", NULL };
    pid_t pid = test_spawn_server(argv, line, sizeof(line));
    assert_true(pid > 0);

    assert_true(snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", dir) <
                (int)sizeof(kubeconfig));
    if (kube_config_load_file(kubeconfig, NULL, &cfg, &err) != 0)
        fail_msg("kubeconfig: %s", err.msg);
    struct kube_client *c = kube_client_new(&cfg, &err);
    kube_config_free(&cfg);
    assert_non_null(c);

    struct wva_snapshot *snap = wva_xcalloc(1, sizeof(*snap));
    struct kube_fetch_options opts = { .limited_mode = true };
    if (kube_fetch_snapshot(c, &opts, snap, &err) != 0)
        fail_msg("kube_fetch_snapshot: %s", err.msg);
    assert_int_equal(snap->vas_count, 600);
    assert_int_equal(snap->deployments_count, 600);
    assert_int_equal(snap->pods_count, 1800);
    assert_true(snap->namespaces_count >= 7);
    const struct wva_deployment *d = snapshot_find_deployment(snap, "team-0005", "va-00599");
    assert_non_null(d);
    assert_int_equal(d->replicas, 3);
    struct kube_client_stats s = kube_client_stats(c);
    /* VAs 600 -> 2 pages, pods 1800 cluster-wide -> 4 pages; no GET per
     * VA or per pod: only the ConfigMap GETs (5 global + 4 per namespace). */
    assert_int_equal(s.list, 1 + 2 + 6 + 4 + 1);   /* ns, VAs, deployments, pods, nodes */
    assert_int_equal(s.get, 5 + 6 * 4);

    /* A stale resourceVersion on /scale: 409 with the Status reason. */
    assert_true(snprintf(path, sizeof(path), "%s",
                         "/apis/apps/v1/namespaces/team-0000/deployments/va-00001/scale") > 0);
    assert_int_equal(kube_patch(c, path, "application/merge-patch+json",
                                "{\"metadata\":{\"resourceVersion\":\"1\"},"
                                "\"spec\":{\"replicas\":4}}", NULL, &st, &err), -1);
    assert_int_equal(st.code, 409);
    assert_string_equal(st.reason, "Conflict");
    assert_non_null(strstr(err.msg, "PATCH deployments/scale team-0000/va-00001: 409 Conflict: "));
    snapshot_free(snap);
    kube_client_free(c);

    /* Client-certificate kubeconfig (inline data, TLS blobs). */
    assert_true(snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig-cert", dir) <
                (int)sizeof(kubeconfig));
    if (kube_config_load_file(kubeconfig, NULL, &cfg, &err) != 0)
        fail_msg("kubeconfig-cert: %s", err.msg);
    assert_null(cfg.token);
    c = kube_client_new(&cfg, &err);
    kube_config_free(&cfg);
    json_object *ns = NULL;
    if (kube_get(c, "/api/v1/namespaces/team-0000", &ns, &st, &err) != 0)
        fail_msg("GET with client certificate: %s", err.msg);
    json_object_put(ns);
    kube_client_free(c);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char cmd[256];
    assert_true(snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) < (int)sizeof(cmd));
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_error_message),
        cmocka_unit_test(test_verbs_and_counters),
        cmocka_unit_test(test_list_pages_with_continue),
        cmocka_unit_test(test_list_restarts_after_410),
        cmocka_unit_test(test_warning_header_logged),
        cmocka_unit_test(test_fetch_snapshot_cluster_wide),
        cmocka_unit_test(test_fetch_snapshot_watch_namespace),
        cmocka_unit_test_setup_teardown(test_fetch_snapshot_restart_and_bad_item,
                                        own_server_setup, own_server_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_snapshot_main_configmap_given,
                                        own_server_setup, own_server_teardown),
        cmocka_unit_test(test_against_kubeapi_server),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
