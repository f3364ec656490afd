/* test_prom_client.c - the Prometheus client: PromQL building, response
 * envelope parsing on fixture strings, and the batched queries of one run
 * against tests/fixtures/prom/fake_prometheus.py on 127.0.0.1. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "test_util.h"
#include "wva/prom_client.h"

#define TOKEN "s3cr3t-token-for-tests"

/* ---- helpers ------------------------------------------------------------ */

static char *load_fixture(const char *name, size_t *len)
{
    char rel[256];
    char *text;

    snprintf(rel, sizeof(rel), "prom/%s", name);
    text = read_whole_file(fixture_path(rel), len);
    assert_non_null(text);
    return text;
}

/* Parse a fixture file as if it came with the given HTTP status. */
static int parse_fixture(const char *file, long status, struct wva_series *out,
                         size_t *dropped, struct wva_error *err)
{
    size_t len;
    char *text = load_fixture(file, &len);
    int rc = prom_parse_response("kv_cache_usage", status, text, len, 0, out, dropped, err);

    free(text);
    return rc;
}

static const struct wva_sample *find_pod(const struct wva_series *s, const char *pod)
{
    for (size_t i = 0; i < s->count; i++) {
        const char *p = wva_kvlist_get(&s->items[i].labels, "pod");
        if (p && strcmp(p, pod) == 0)
            return &s->items[i];
    }
    return NULL;
}

/* ---- query building ------------------------------------------------------ */

static void test_queries_all_namespaces(void **state)
{
    char *q;
    struct wva_error err;

    (void)state;
    q = prom_namespace_matcher(NULL);
    assert_string_equal(q, "");
    free(q);
    q = prom_namespace_matcher("");
    assert_string_equal(q, "");
    free(q);

    q = prom_query_kv_cache_usage(NULL);
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:kv_cache_usage_perc{}[1m]) "
                           "and on (namespace, pod, model_name) vllm:kv_cache_usage_perc{})");
    free(q);
    q = prom_query_gpu_cache_usage("");
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:gpu_cache_usage_perc{}[1m]) "
                           "and on (namespace, pod, model_name) vllm:gpu_cache_usage_perc{})");
    free(q);
    q = prom_query_queue_length(NULL);
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:num_requests_waiting{}[1m]) "
                           "and on (namespace, pod, model_name) vllm:num_requests_waiting{})");
    free(q);
    q = prom_query_cache_config(NULL);
    assert_string_equal(q, "max by (namespace, pod, model_name, num_gpu_blocks, block_size) "
                           "(vllm:cache_config_info{})");
    free(q);
    q = prom_query_request_count(NULL, 600);
    assert_string_equal(q, "sum by (namespace, model_name) "
                           "(increase(vllm:request_success_total{}[600s]))");
    free(q);
    q = prom_query_gateway_queue(NULL);
    assert_string_equal(q, "sum by (namespace, target_model_name) "
                           "(inference_extension_flow_control_queue_size{})");
    free(q);
    q = prom_query_custom(NULL, "vllm:num_requests_running", &err);
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
    q = prom_query_kv_cache_usage("team-a");
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:kv_cache_usage_perc{namespace=\"team-a\"}[1m]) "
                           "and on (namespace, pod, model_name) vllm:kv_cache_usage_perc{namespace=\"team-a\"})");
    free(q);
    q = prom_query_queue_length("team-a");
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(vllm:num_requests_waiting{namespace=\"team-a\"}[1m]) "
                           "and on (namespace, pod, model_name) vllm:num_requests_waiting{namespace=\"team-a\"})");
    free(q);
    q = prom_query_cache_config("team-a");
    assert_string_equal(q, "max by (namespace, pod, model_name, num_gpu_blocks, block_size) "
                           "(vllm:cache_config_info{namespace=\"team-a\"})");
    free(q);
    q = prom_query_request_count("team-a", 90.5);
    assert_string_equal(q, "sum by (namespace, model_name) "
                           "(increase(vllm:request_success_total{namespace=\"team-a\"}[90500ms]))");
    free(q);
    q = prom_query_gateway_queue("team-a");
    assert_string_equal(q, "sum by (namespace, target_model_name) "
                           "(inference_extension_flow_control_queue_size{namespace=\"team-a\"})");
    free(q);
    q = prom_query_custom("team-a", "my_metric", &err);
    assert_string_equal(q, "max by (namespace, pod, model_name) "
                           "(max_over_time(my_metric{namespace=\"team-a\"}[1m]) "
                           "and on (namespace, pod, model_name) my_metric{namespace=\"team-a\"})");
    free(q);
}

static void test_namespace_escaping(void **state)
{
    char *q;

    (void)state;
    q = prom_namespace_matcher("a\"b\\c");
    assert_string_equal(q, "namespace=\"a\\\"b\\\\c\"");
    free(q);
    q = prom_namespace_matcher("x\ny\x01");
    assert_string_equal(q, "namespace=\"x\\ny\\x01\"");
    free(q);
    /* A quote cannot close the matcher and inject another selector. */
    q = prom_query_gateway_queue("a\"} or vector(1) or x{y=\"");
    assert_string_equal(q, "sum by (namespace, target_model_name) "
                           "(inference_extension_flow_control_queue_size"
                           "{namespace=\"a\\\"} or vector(1) or x{y=\\\"\"})");
    free(q);
}

static void test_metric_names_and_ranges(void **state)
{
    struct wva_error err;
    char buf[32];
    char longname[300];

    (void)state;
    assert_true(prom_is_metric_name("vllm:kv_cache_usage_perc"));
    assert_true(prom_is_metric_name("_x9"));
    assert_false(prom_is_metric_name("9x"));
    assert_false(prom_is_metric_name(""));
    assert_false(prom_is_metric_name(NULL));
    assert_false(prom_is_metric_name("a-b"));
    assert_false(prom_is_metric_name("up{job=\"x\"}"));
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(prom_is_metric_name(longname));

    wva_error_clear(&err);
    assert_null(prom_query_custom("ns", "up) or vector(1", &err));
    assert_string_equal(err.msg, "spec.metrics name \"up) or vector(1\" is not a valid "
                                 "Prometheus metric name");

    prom_format_range(600, buf, sizeof(buf));
    assert_string_equal(buf, "600s");
    prom_format_range(1.0005, buf, sizeof(buf));
    assert_string_equal(buf, "1001ms");
    prom_format_range(0, buf, sizeof(buf));
    assert_string_equal(buf, "1ms");
    prom_format_range(NAN, buf, sizeof(buf));
    assert_string_equal(buf, "1ms");
    prom_format_range(1e30, buf, sizeof(buf));
    assert_string_equal(buf, "315360000s");
}

/* ---- response parsing ---------------------------------------------------- */

static void test_parse_success(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;
    size_t dropped = 99;
    const struct wva_sample *a;

    (void)state;
    assert_int_equal(parse_fixture("kv_cache_usage.json", 200, &s, &dropped, &err), 0);
    assert_int_equal(s.count, 2);
    assert_int_equal(dropped, 0);
    a = find_pod(&s, "llama-h100-5c8b-fghij");
    assert_non_null(a);
    assert_true(a->value == 0.875);
    assert_string_equal(wva_kvlist_get(&a->labels, "namespace"), "team-a");
    assert_string_equal(wva_kvlist_get(&a->labels, "model_name"), "meta-llama/Llama-3.1-8B");
    assert_int_equal(a->labels.count, 3);
    a = find_pod(&s, "llama-a100-7d9f-abcde");
    assert_non_null(a);
    assert_true(a->value == 0.42);
    prom_series_free(&s);
    assert_null(s.items);
    assert_int_equal(s.count, 0);
    prom_series_free(NULL);

    assert_int_equal(parse_fixture("empty_vector.json", 200, &s, &dropped, &err), 0);
    assert_int_equal(s.count, 0);
    prom_series_free(&s);
}

static void test_parse_error_envelope(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;

    (void)state;
    assert_int_equal(parse_fixture("error_bad_data.json", 400, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query kv_cache_usage: bad_data: invalid parameter "
                                 "\"query\": 1:6: parse error: unexpected character: '!'");
    assert_null(s.items);
    assert_int_equal(s.count, 0);

    /* An error envelope with a 2xx status and no text is still an error. */
    const char *odd = "{\"status\":\"error\"}";
    assert_int_equal(prom_parse_response("q", 200, odd, strlen(odd), 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: unknown: (no error text)");
}

static void test_parse_non_json(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;
    size_t len;
    char *html = load_fixture("proxy_502.html", &len);

    (void)state;
    assert_true(len > PROM_BODY_EXCERPT);
    assert_int_equal(prom_parse_response("queue_length", 502, html, len, 0, &s, NULL, &err), -1);
    free(html);
    const char *prefix = "Prometheus query queue_length: HTTP 502 with a non-JSON body: "
                         "<html> <head><title>502 Bad Gateway</title></head> <body> ";
    assert_memory_equal(err.msg, prefix, strlen(prefix));
    assert_null(strchr(err.msg, '\n'));
    /* At most the first PROM_BODY_EXCERPT bytes are quoted, then "...". */
    assert_true(strlen(err.msg) < 62 + PROM_BODY_EXCERPT + 3 + 1);
    assert_string_equal(err.msg + strlen(err.msg) - 3, "...");
    assert_null(strstr(err.msg, "padding"));

    /* An empty body, binary junk, trailing garbage, JSON that is no envelope. */
    assert_int_equal(prom_parse_response("q", 503, "", 0, 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: HTTP 503 with a non-JSON body: (empty)");
    assert_int_equal(prom_parse_response("q", 200, "ok\x01\xff\n", 5, 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: HTTP 200 with a non-JSON body: ok ?");
    const char *trail = "{\"status\":\"success\",\"data\":{}} <html>";
    assert_int_equal(prom_parse_response("q", 200, trail, strlen(trail), 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: HTTP 200 with a non-JSON body: "
                                 "{\"status\":\"success\",\"data\":{}} <html>");
    const char *nul = "{\"status\":\"success\"}\0x";
    assert_int_equal(prom_parse_response("q", 200, nul, 22, 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: HTTP 200 with a non-JSON body: "
                                 "{\"status\":\"success\"} x");
    const char *other = "{\"message\":\"forbidden\"}";
    assert_int_equal(prom_parse_response("q", 403, other, strlen(other), 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: HTTP 403 with a non-Prometheus JSON body: "
                                 "{\"message\":\"forbidden\"}");
    assert_null(s.items);
}

static void test_parse_wrong_shape(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;

    (void)state;
    assert_int_equal(parse_fixture("matrix.json", 200, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query kv_cache_usage: resultType \"matrix\", "
                                 "expected \"vector\"");

    const char *scalar = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                         "\"result\":[1,\"1\"]}}";
    assert_int_equal(prom_parse_response("q", 200, scalar, strlen(scalar), 0, &s, NULL, &err),
                     -1);
    assert_string_equal(err.msg, "Prometheus query q: resultType \"scalar\", expected \"vector\"");

    const char *nodata = "{\"status\":\"success\"}";
    assert_int_equal(prom_parse_response("q", 200, nodata, strlen(nodata), 0, &s, NULL, &err),
                     -1);
    assert_string_equal(err.msg, "Prometheus query q: data: expected an object");

    const char *noresult = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\"}}";
    assert_int_equal(prom_parse_response("q", 200, noresult, strlen(noresult), 0, &s, NULL,
                                         &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: data.result: missing");

    const char *objresult = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                            "\"result\":{}}}";
    assert_int_equal(prom_parse_response("q", 200, objresult, strlen(objresult), 0, &s, NULL,
                                         &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: data.result: expected an array, got object");

    const char *weird = "{\"status\":\"we\\nird\"}";
    assert_int_equal(prom_parse_response("q", 200, weird, strlen(weird), 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: HTTP 200 with status \"we ird\"");

    /* A success envelope behind an error status is not trusted. */
    const char *ok = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
    assert_int_equal(prom_parse_response("q", 500, ok, strlen(ok), 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query q: HTTP 500 with a success envelope");
    assert_null(s.items);
}

static void test_parse_nonfinite_dropped(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;
    size_t dropped = 0;

    (void)state;
    assert_int_equal(parse_fixture("nonfinite.json", 200, &s, &dropped, &err), 0);
    assert_int_equal(dropped, 3);
    assert_int_equal(s.count, 1);
    assert_string_equal(wva_kvlist_get(&s.items[0].labels, "pod"), "p-ok");
    assert_true(s.items[0].value == 3.0);
    prom_series_free(&s);

    /* An overflowing value is infinite too. */
    const char *big = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                      "{\"metric\":{},\"value\":[1,\"1e999\"]},{\"metric\":{},\"value\":[1,2.5]}]}}";
    assert_int_equal(prom_parse_response("q", 200, big, strlen(big), 0, &s, &dropped, &err), 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(s.count, 1);
    assert_true(s.items[0].value == 2.5);
    prom_series_free(&s);
}

static void expect_sample_error(const char *result_items, const char *message)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;
    char doc[1024];

    snprintf(doc, sizeof(doc),
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[%s]}}",
             result_items);
    assert_int_equal(prom_parse_response("q", 200, doc, strlen(doc), 0, &s, NULL, &err), -1);
    assert_string_equal(err.msg, message);
    assert_null(s.items);
    assert_int_equal(s.count, 0);
}

static void test_parse_malformed_sample(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;

    (void)state;
    assert_int_equal(parse_fixture("malformed_sample.json", 200, &s, NULL, &err), -1);
    assert_string_equal(err.msg, "Prometheus query kv_cache_usage: data.result[2].value[1]: "
                                 "\"two\" is not a number");
    assert_null(s.items);

    const char *ok = "{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"1\"]}";
    char items[512];
    expect_sample_error("7", "Prometheus query q: data.result[0]: expected an object, got int");
    snprintf(items, sizeof(items), "%s,{\"value\":[1,\"1\"]}", ok);
    expect_sample_error(items, "Prometheus query q: data.result[1].metric: expected an object "
                               "of labels");
    snprintf(items, sizeof(items), "%s,%s,{\"metric\":{\"pod\":3},\"value\":[1,\"1\"]}", ok, ok);
    expect_sample_error(items, "Prometheus query q: data.result[2].metric.pod: expected a "
                               "string label value");
    /* Even a NaN sample must be well-formed. */
    expect_sample_error("{\"metric\":{\"pod\":null},\"value\":[1,\"NaN\"]}",
                        "Prometheus query q: data.result[0].metric.pod: expected a string "
                        "label value");
    expect_sample_error("{\"metric\":{},\"value\":[1]}",
                        "Prometheus query q: data.result[0].value: expected a [timestamp, "
                        "\"value\"] pair");
    expect_sample_error("{\"metric\":{},\"values\":[[1,\"1\"]]}",
                        "Prometheus query q: data.result[0].value: expected a [timestamp, "
                        "\"value\"] pair");
    expect_sample_error("{\"metric\":{},\"value\":[\"1\",\"1\"]}",
                        "Prometheus query q: data.result[0].value[0]: expected a timestamp "
                        "number");
    expect_sample_error("{\"metric\":{},\"value\":[1,\" 1\"]}",
                        "Prometheus query q: data.result[0].value[1]: \" 1\" is not a number");
    expect_sample_error("{\"metric\":{},\"value\":[1,\"\"]}",
                        "Prometheus query q: data.result[0].value[1]: \"\" is not a number");
    expect_sample_error("{\"metric\":{},\"value\":[1,null]}",
                        "Prometheus query q: data.result[0].value[1]: null is not a number");
}

static void test_parse_oversized(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;
    size_t len;
    char *text = load_fixture("kv_cache_usage.json", &len);

    (void)state;
    assert_int_equal(prom_parse_response("kv_cache_usage", 200, text, len, len, &s, NULL, &err),
                     0);
    prom_series_free(&s);
    assert_int_equal(prom_parse_response("kv_cache_usage", 200, text, len, len - 1, &s, NULL,
                                         &err), -1);
    char want[200];
    snprintf(want, sizeof(want), "Prometheus query kv_cache_usage: response of %zu bytes "
             "exceeds the %zu-byte bound", len, len - 1);
    assert_string_equal(err.msg, want);
    free(text);

    /* Deep nesting is refused without recursion trouble. */
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    assert_int_equal(prom_parse_response("q", 200, deep, n, 0, &s, NULL, &err), -1);
    assert_memory_equal(err.msg, "Prometheus query q: HTTP 200 with a non-JSON body: [[[[", 55);
}

static void test_parse_result_for_snapshots(void **state)
{
    struct wva_series s = {NULL, 0};
    struct wva_error err;
    size_t dropped = 0;
    json_object *arr = json_tokener_parse(
        "[{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"0.5\"]},"
        " {\"metric\":{\"pod\":\"b\"},\"value\":[1,\"NaN\"]},"
        " {\"metric\":{\"pod\":\"c\"},\"value\":[1,\"x\"]}]");

    (void)state;
    assert_int_equal(prom_parse_result(arr, "metrics.kvCacheUsage", &s, &dropped, &err), -1);
    assert_string_equal(err.msg, "metrics.kvCacheUsage[2].value[1]: \"x\" is not a number");
    json_object_array_del_idx(arr, 2, 1);
    assert_int_equal(prom_parse_result(arr, "metrics.kvCacheUsage", &s, &dropped, &err), 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(dropped, 1);
    assert_true(s.items[0].value == 0.5);
    prom_series_free(&s);
    json_object_put(arr);
}

/* ---- the client against fake_prometheus.py -------------------------------- */

struct server {
    pid_t pid;
    int port;
    char dir[64];
    char log[128];
    char base_url[64];
};

static int server_start(void **state)
{
    struct server *srv = calloc(1, sizeof(*srv));
    char script[4096], canned[4096];
    int fds[2];
    char line[32];
    FILE *out;

    if (!srv)
        return -1;
    snprintf(script, sizeof(script), "%s", fixture_path("prom/fake_prometheus.py"));
    snprintf(canned, sizeof(canned), "%s", fixture_path("prom/canned.json"));
    snprintf(srv->dir, sizeof(srv->dir), "/tmp/wva-prom-test-XXXXXX");
    if (!mkdtemp(srv->dir) || pipe(fds) < 0)
        return -1;
    snprintf(srv->log, sizeof(srv->log), "%s/requests.log", srv->dir);
    srv->pid = fork();
    if (srv->pid < 0)
        return -1;
    if (srv->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", script, "--canned", canned, "--token", TOKEN,
               "--log", srv->log, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    if (!out || !fgets(line, sizeof(line), out)) {
        fprintf(stderr, "fake_prometheus.py did not start\n");
        if (out)
            fclose(out);
        return -1;
    }
    fclose(out);
    srv->port = atoi(line);
    snprintf(srv->base_url, sizeof(srv->base_url), "http://127.0.0.1:%d/", srv->port);
    *state = srv;
    return srv->port > 0 ? 0 : -1;
}

static int server_stop(void **state)
{
    struct server *srv = *state;
    char path[160];

    if (!srv)
        return 0;
    if (srv->pid > 0) {
        kill(srv->pid, SIGTERM);
        waitpid(srv->pid, NULL, 0);
    }
    unlink(srv->log);
    snprintf(path, sizeof(path), "%s/token", srv->dir);
    unlink(path);
    rmdir(srv->dir);
    free(srv);
    return 0;
}

/* Each test reads only the requests it made. */
static int server_reset_log(void **state)
{
    struct server *srv = *state;

    unlink(srv->log);
    return 0;
}

/* The logged requests as a JSON array of {"body","query","time"}. */
static json_object *server_requests(const struct server *srv)
{
    size_t len;
    char *text = read_whole_file(srv->log, &len);
    json_object *arr = json_object_new_array();
    char *save = NULL;

    if (!text)
        return arr;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        json_object_array_add(arr, json_tokener_parse(line));
    free(text);
    return arr;
}

static const char *request_field(json_object *arr, size_t i, const char *key)
{
    json_object *item = json_object_array_get_idx(arr, i), *v;

    if (!item || !json_object_object_get_ex(item, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return json_object_get_string(v);
}

static struct prom_client *make_client(const struct server *srv, const char *token,
                                       const char *token_path)
{
    struct prom_options opts;
    struct wva_error err;
    struct prom_client *c;

    memset(&opts, 0, sizeof(opts));
    opts.base_url = srv->base_url;
    opts.bearer_token = token;
    opts.token_path = token_path;
    opts.max_retries = 0;        /* the 502 case must not wait for backoff */
    opts.timeout_ms = 5000;
    c = prom_client_new(&opts, &err);
    if (!c)
        fail_msg("prom_client_new: %s", err.msg);
    return c;
}

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
    struct prom_run_params p = {NULL, 600, custom, 2, 0};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(prom_fetch_metrics(c, &p, &m, &err), 0);
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

    /* 5 fixed queries + 1 distinct custom name, whatever the number of VAs. */
    prom_client_stats(c, &st);
    assert_int_equal(st.queries, 6);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.http_attempts, 6);
    assert_int_equal(st.fallbacks, 0);
    assert_int_equal(st.samples, 7);
    assert_int_equal(st.dropped, 1);

    /* The exact form body on the wire, no time parameter. */
    json_object *reqs = server_requests(srv);
    assert_int_equal(json_object_array_length(reqs), 6);
    assert_string_equal(request_field(reqs, 0, "body"),
                        "query=max%20by%20%28namespace%2C%20pod%2C%20model_name%29%20%28max_ove"
                        "r_time%28vllm%3Akv_cache_usage_perc%7B%7D%5B1m%5D%29%20and%20on%20%28n"
                        "amespace%2C%20pod%2C%20model_name%29%20vllm%3Akv_cache_usage_perc%7B%7"
                        "D%29");
    assert_null(request_field(reqs, 0, "time"));
    assert_string_equal(request_field(reqs, 3, "query"),
                        "sum by (namespace, model_name) "
                        "(increase(vllm:request_success_total{}[600s]))");
    json_object_put(reqs);

    prom_metrics_free(&m);
    assert_int_equal(m.custom_count, 0);
    prom_metrics_free(NULL);
    prom_client_free(c);
}

static void test_fetch_fallback_then_proxy_error(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, TOKEN, NULL);
    const char *custom[] = {"vllm:num_requests_running"};
    struct prom_run_params p = {"team-b", 600, custom, 1, 0};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(prom_fetch_metrics(c, &p, &m, &err), -1);
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
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(st.failed, 1);
    prom_metrics_free(&m);
    prom_client_free(c);
}

static void test_fetch_without_scale_to_zero(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, TOKEN, NULL);
    struct prom_run_params p = {"team-c", 0, NULL, 0, 1764237600.5};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(prom_fetch_metrics(c, &p, &m, &err), 0);
    assert_int_equal(m.kv_cache_usage.count, 2);
    assert_int_equal(m.request_count.count, 0);
    assert_null(m.request_count.items);
    assert_int_equal(m.gateway_queue.count, 1);
    prom_client_stats(c, &st);
    assert_int_equal(st.queries, 4);

    json_object *reqs = server_requests(srv);
    assert_int_equal(json_object_array_length(reqs), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(request_field(reqs, i, "time"), "1764237600.500");
    const char *body = request_field(reqs, 1, "body");
    const char *tail = "num_requests_waiting%7Bnamespace%3D%22team-c%22%7D%29"
                       "&time=1764237600.500";
    assert_true(strlen(body) > strlen(tail));
    assert_string_equal(body + strlen(body) - strlen(tail), tail);
    json_object_put(reqs);
    prom_metrics_free(&m);
    prom_client_free(c);
}

static void test_fetch_invalid_custom_name_sends_nothing(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, TOKEN, NULL);
    const char *custom[] = {"ok_metric", "bad name"};
    struct prom_run_params p = {NULL, 600, custom, 2, 0};
    struct wva_metrics m;
    struct wva_error err;
    struct prom_stats st;

    memset(&m, 0, sizeof(m));
    assert_int_equal(prom_fetch_metrics(c, &p, &m, &err), -1);
    assert_string_equal(err.msg, "Prometheus query custom: spec.metrics name \"bad name\" is "
                                 "not a valid Prometheus metric name");
    assert_string_equal(m.prometheus_error, err.msg);
    prom_client_stats(c, &st);
    assert_int_equal(st.queries, 0);
    json_object *reqs = server_requests(srv);
    assert_int_equal(json_object_array_length(reqs), 0);
    json_object_put(reqs);
    prom_metrics_free(&m);
    prom_client_free(c);
}

static void test_wrong_token_rejected_and_not_leaked(void **state)
{
    struct server *srv = *state;
    struct prom_client *c = make_client(srv, "wrong-token-value", NULL);
    struct wva_series s = {NULL, 0};
    struct wva_error err;

    assert_int_equal(prom_query(c, "kv_cache_usage", "up", 0, &s, &err), -1);
    assert_string_equal(err.msg, "Prometheus query kv_cache_usage: HTTP 401 with a non-JSON "
                                 "body: Unauthorized");
    assert_null(strstr(err.msg, "wrong-token-value"));
    assert_null(s.items);
    prom_client_free(c);
}

static void test_token_file_trimmed(void **state)
{
    struct server *srv = *state;
    char path[160];
    struct prom_client *c;
    struct wva_series s = {NULL, 0};
    struct wva_error err;
    FILE *f;

    snprintf(path, sizeof(path), "%s/token", srv->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "  %s\n\n", TOKEN);
    fclose(f);
    c = make_client(srv, NULL, path);
    char *q = prom_query_cache_config("team-c");
    assert_int_equal(prom_query(c, "cache_config", q, 0, &s, &err), 0);
    free(q);
    assert_int_equal(s.count, 1);
    prom_series_free(&s);
    prom_client_free(c);

    /* A given token wins over the file. */
    c = make_client(srv, "wrong-token-value", path);
    q = prom_query_cache_config("team-c");
    assert_int_equal(prom_query(c, "cache_config", q, 0, &s, &err), -1);
    free(q);
    assert_memory_equal(err.msg, "Prometheus query cache_config: HTTP 401", 39);
    prom_client_free(c);
}

static void test_response_bound_while_receiving(void **state)
{
    struct server *srv = *state;
    struct prom_options opts;
    struct wva_error err;
    struct wva_series s = {NULL, 0};
    struct prom_client *c;

    memset(&opts, 0, sizeof(opts));
    opts.base_url = srv->base_url;
    opts.bearer_token = TOKEN;
    opts.max_response_bytes = 64;   /* the canned answer is ~400 bytes */
    c = prom_client_new(&opts, &err);
    assert_non_null(c);
    char *q = prom_query_kv_cache_usage("team-c");
    assert_int_equal(prom_query(c, "kv_cache_usage", q, 0, &s, &err), -1);
    free(q);
    const char *prefix = "Prometheus query kv_cache_usage: POST http://127.0.0.1:";
    assert_memory_equal(err.msg, prefix, strlen(prefix));
    assert_non_null(strstr(err.msg, "/api/v1/query: response larger than 64 bytes"));
    assert_null(s.items);
    prom_client_free(c);
}

static void test_client_options_rejected(void **state)
{
    struct server *srv = *state;
    struct prom_options opts;
    struct wva_error err;
    char path[160];
    FILE *f;

    memset(&opts, 0, sizeof(opts));
    assert_null(prom_client_new(&opts, &err));
    assert_string_equal(err.msg, "PROMETHEUS_BASE_URL: required for live runs "
                                 "(--prometheus-url or PROMETHEUS_BASE_URL)");
    opts.base_url = "prometheus:9090";
    assert_null(prom_client_new(&opts, &err));
    assert_string_equal(err.msg, "PROMETHEUS_BASE_URL \"prometheus:9090\": expected "
                                 "http(s)://host[:port][/path] without query, fragment or "
                                 "whitespace");
    opts.base_url = "https://prom/?x=1";
    assert_null(prom_client_new(&opts, &err));
    assert_memory_equal(err.msg, "PROMETHEUS_BASE_URL \"https://prom/?x=1\"", 38);

    opts.base_url = srv->base_url;
    snprintf(path, sizeof(path), "%s/token", srv->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(" \n\t", f);
    fclose(f);
    opts.token_path = path;
    assert_null(prom_client_new(&opts, &err));
    char want[300];
    snprintf(want, sizeof(want), "%s: PROMETHEUS_TOKEN_PATH: the bearer token is empty", path);
    assert_string_equal(err.msg, want);

    opts.token_path = "/nonexistent/wva/token";
    assert_null(prom_client_new(&opts, &err));
    assert_string_equal(err.msg, "PROMETHEUS_TOKEN_PATH /nonexistent/wva/token: cannot open: "
                                 "No such file or directory");

    opts.token_path = NULL;
    opts.bearer_token = "abc\r\nX-Injected: 1";
    assert_null(prom_client_new(&opts, &err));
    assert_string_equal(err.msg, "PROMETHEUS_BEARER_TOKEN: the bearer token contains "
                                 "whitespace or a control character at offset 3");
    assert_null(strstr(err.msg, "abc"));
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
    prom_options_from_settings(&s, &o);
    assert_string_equal(o.base_url, "https://prom.example:9091");
    assert_null(o.bearer_token);
    assert_string_equal(o.token_path, "/var/run/secrets/prom/token");
    assert_string_equal(o.ca_cert_path, "/ca.pem");
    assert_string_equal(o.server_name, "prom.internal");
    assert_true(o.insecure_skip_verify);
    assert_int_equal(o.max_retries, -1);
    assert_int_equal(o.max_response_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_queries_all_namespaces),
        cmocka_unit_test(test_queries_watch_namespace),
        cmocka_unit_test(test_namespace_escaping),
        cmocka_unit_test(test_metric_names_and_ranges),
        cmocka_unit_test(test_parse_success),
        cmocka_unit_test(test_parse_error_envelope),
        cmocka_unit_test(test_parse_non_json),
        cmocka_unit_test(test_parse_wrong_shape),
        cmocka_unit_test(test_parse_nonfinite_dropped),
        cmocka_unit_test(test_parse_malformed_sample),
        cmocka_unit_test(test_parse_oversized),
        cmocka_unit_test(test_parse_result_for_snapshots),
        cmocka_unit_test(test_options_from_settings),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test_setup(test_fetch_all_namespaces, server_reset_log),
        cmocka_unit_test_setup(test_fetch_fallback_then_proxy_error, server_reset_log),
        cmocka_unit_test_setup(test_fetch_without_scale_to_zero, server_reset_log),
        cmocka_unit_test_setup(test_fetch_invalid_custom_name_sends_nothing, server_reset_log),
        cmocka_unit_test_setup(test_wrong_token_rejected_and_not_leaked, server_reset_log),
        cmocka_unit_test_setup(test_token_file_trimmed, server_reset_log),
        cmocka_unit_test_setup(test_response_bound_while_receiving, server_reset_log),
        cmocka_unit_test_setup(test_client_options_rejected, server_reset_log),
    };
    int failed = cmocka_run_group_tests_name("prom_client_pure", pure, NULL, NULL);

    failed += cmocka_run_group_tests_name("prom_client_live", live, server_start, server_stop);
    return failed;
}
