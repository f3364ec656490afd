/* test_kube_client.c - the Kubernetes client against the canned server
 * (tests/fixtures/kube/kube_script.json): Status errors and their kinds,
 * pagination, 410 restarts, verbs and counters, Warning logging; and end to
 * end against tests/servers/kubeapi.py.  What a run reads is collect's
 * (test_collect.c). */
#include "test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "wva/collect.h"
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
    return canned_kube_client(server.base_url);
}

static char *requests_log(const char *prefix)
{
    return canned_requests_log(server.base_url, prefix);
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
    assert_int_equal(err.kind, WVA_ERR_CONFLICT);

    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/forbidden", &out, &st, &err),
                     -1);
    assert_int_equal(st.code, 403);
    assert_string_equal(st.reason, "Forbidden");
    assert_non_null(strstr(err.msg, "GET configmaps x/forbidden: 403 Forbidden: configmaps"));
    assert_int_equal(err.kind, WVA_ERR_FORBIDDEN);

    /* Not a Status body: HTTP reason phrase and a sanitised snippet. */
    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/html", &out, &st, &err), -1);
    assert_int_equal(st.code, 400);
    assert_string_equal(st.reason, "");
    assert_string_equal(err.msg,
                        "GET configmaps x/html: 400 Bad Request: <html> bad request</html>");
    assert_int_equal(err.kind, WVA_ERR_SERVER);

    /* A 200 that is not JSON. */
    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/notjson", &out, &st, &err),
                     -1);
    assert_int_equal(st.code, 200);
    assert_non_null(strstr(err.msg, "response is not a JSON object: not json at all"));
    assert_null(strstr(err.msg, "t0ken-secret"));
    assert_int_equal(err.kind, WVA_ERR_SERVER);

    /* Unknown object: the canned server's 404 Status. */
    assert_int_equal(kube_get(c, "/api/v1/namespaces/x/configmaps/missing", &out, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "GET configmaps x/missing: 404 NotFound"));
    assert_int_equal(err.kind, WVA_ERR_NOT_FOUND);

    /* No response at all: code 0. */
    struct kube_config dead = { .server = "http://127.0.0.1:1" };
    struct kube_client *d = kube_client_new(&dead, &err);
    assert_int_equal(kube_get(d, "/api/v1/namespaces", &out, &st, &err), -1);
    assert_int_equal(st.code, 0);
    assert_non_null(strstr(err.msg, "GET namespaces: "));
    assert_int_equal(err.kind, WVA_ERR_UNREACHABLE);
    kube_client_free(d);

    /* A configuration without a server is a configuration error. */
    struct kube_config none = { .source = "test" };
    assert_null(kube_client_new(&none, &err));
    assert_int_equal(err.kind, WVA_ERR_CONFIG);
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
    struct collect_options opts = { .system_namespace = "workload-variant-autoscaler-system",
                                   .config_map_name = "wva-variantautoscaling-config",
                                   .limited_mode = true };
    if (collect_cluster(c, &opts, snap, &err) != 0)
        fail_msg("collect_cluster: %s", err.msg);
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
        cmocka_unit_test(test_against_kubeapi_server),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
