/* test_prom_client.c - the Prometheus client: PromQL syntax helpers,
 * response envelope parsing on fixture strings, and the client (token,
 * bounds, errors and their kinds) against
 * tests/fixtures/prom/fake_prometheus.py on 127.0.0.1.  The queries of a
 * run are collect's (test_collect.c). */
#include "fake_prom_server.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

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

/* ---- PromQL syntax ------------------------------------------------------ */

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
    q = prom_namespace_matcher(NULL);
    assert_string_equal(q, "");
    free(q);
    q = prom_namespace_matcher("");
    assert_string_equal(q, "");
    free(q);
}

static void test_metric_names_and_ranges(void **state)
{
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

/* Queries fake_prometheus.py has canned answers for. */
#define CACHE_CONFIG_TEAM_C                                                           \
    "max by (namespace, pod, model_name, num_gpu_blocks, block_size) "               \
    "(vllm:cache_config_info{namespace=\"team-c\"})"
#define KV_CACHE_USAGE_TEAM_C                                                         \
    "max by (namespace, pod, model_name) "                                            \
    "(max_over_time(vllm:kv_cache_usage_perc{namespace=\"team-c\"}[1m]) "             \
    "and on (namespace, pod, model_name) vllm:kv_cache_usage_perc{namespace=\"team-c\"})"

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
    assert_int_equal(prom_query(c, "cache_config", CACHE_CONFIG_TEAM_C, 0, &s, &err), 0);
    assert_int_equal(s.count, 1);
    prom_series_free(&s);
    prom_client_free(c);

    /* A given token wins over the file. */
    c = make_client(srv, "wrong-token-value", path);
    assert_int_equal(prom_query(c, "cache_config", CACHE_CONFIG_TEAM_C, 0, &s, &err), -1);
    assert_memory_equal(err.msg, "Prometheus query cache_config: HTTP 401", 39);
    assert_int_equal(err.kind, WVA_ERR_FORBIDDEN);
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
    assert_int_equal(prom_query(c, "kv_cache_usage", KV_CACHE_USAGE_TEAM_C, 0, &s, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_SERVER);
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
    snprintf(want, sizeof(want), "PROMETHEUS_TOKEN_PATH %s: empty", path);
    assert_string_equal(err.msg, want);
    assert_int_equal(err.kind, WVA_ERR_CONFIG);

    opts.token_path = "/nonexistent/wva/token";
    assert_null(prom_client_new(&opts, &err));
    assert_string_equal(err.msg, "PROMETHEUS_TOKEN_PATH /nonexistent/wva/token: cannot open: "
                                 "No such file or directory");
    assert_int_equal(err.kind, WVA_ERR_CONFIG);

    opts.token_path = NULL;
    opts.bearer_token = "abc\r\nX-Injected: 1";
    assert_null(prom_client_new(&opts, &err));
    assert_string_equal(err.msg, "PROMETHEUS_BEARER_TOKEN: the bearer token contains "
                                 "whitespace or a control character at offset 3");
    assert_null(strstr(err.msg, "abc"));
}

int main(void)
{
    const struct CMUnitTest pure[] = {
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
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test_setup(test_wrong_token_rejected_and_not_leaked, server_reset_log),
        cmocka_unit_test_setup(test_token_file_trimmed, server_reset_log),
        cmocka_unit_test_setup(test_response_bound_while_receiving, server_reset_log),
        cmocka_unit_test_setup(test_client_options_rejected, server_reset_log),
    };
    int failed = cmocka_run_group_tests_name("prom_client_pure", pure, NULL, NULL);

    failed += cmocka_run_group_tests_name("prom_client_live", live, server_start, server_stop);
    return failed;
}
