/* test_http.c - the HTTP helper against a local canned server (plain and
 * TLS with a test CA): retries, bounds, headers, connection reuse, TLS
 * blobs and the server-name override. */
#include "test_util.h"

#include <sys/time.h>

#include <json-c/json.h>

#include "wva/http.h"
#include "../fixtures/kube/canned_server.h"

static struct canned_server plain, secure;

static int group_setup(void **state)
{
    static char cert[4096], key[4096], ca[4096];
    const char *args[8];

    (void)state;
    if (canned_server_start(&plain, "kube/http_script.json", NULL, 0) < 0)
        return -1;
    snprintf(cert, sizeof(cert), "%s", fixture_path("kube/server.crt"));
    snprintf(key, sizeof(key), "%s", fixture_path("kube/server.key"));
    snprintf(ca, sizeof(ca), "%s", fixture_path("kube/ca.crt"));
    args[0] = "--tls";
    args[1] = cert;
    args[2] = key;
    args[3] = "--client-ca";
    args[4] = ca;
    args[5] = NULL;
    if (canned_server_start(&secure, "kube/http_script.json", args, 1) < 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    canned_server_stop(&plain);
    canned_server_stop(&secure);
    return 0;
}

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static char *url_of(const struct canned_server *s, const char *path)
{
    static char url[256];

    snprintf(url, sizeof(url), "%s%s", s->base_url, path);
    return url;
}

/* GET path on the plain server with the given options. */
static int get(const struct http_options *opts, const char *path, bool retry,
               struct http_response *resp, struct wva_error *err)
{
    struct http_client *c = http_client_new(opts, err);
    struct http_request req = { .method = "GET", .url = url_of(&plain, path),
                                .retry = retry };
    int rc;

    assert_non_null(c);
    rc = http_do(c, &req, resp, err);
    http_client_free(c);
    return rc;
}

static void test_get_ok_sends_agent_and_token(void **state)
{
    struct http_options opts = { .user_agent = "wva-optimizer/0.1.0",
                                 .bearer_token = "s3cr3t-token" };
    struct http_response resp;
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(get(&opts, "/ok", true, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 1);
    assert_string_equal(resp.content_type, "application/json");
    assert_string_equal(wva_strbuf_str(&resp.body), "{\"hello\": \"world\"}");
    assert_int_equal(resp.retry_after_seconds, -1);
    http_response_free(&resp);

    assert_int_equal(get(&opts, "/__echo", true, &resp, &err), 0);
    json_object *echo = json_tokener_parse(wva_strbuf_str(&resp.body));
    json_object *headers = json_object_object_get(echo, "headers");
    assert_string_equal(json_object_get_string(json_object_object_get(headers, "user-agent")),
                        "wva-optimizer/0.1.0");
    assert_string_equal(
        json_object_get_string(json_object_object_get(headers, "authorization")),
        "Bearer s3cr3t-token");
    json_object_put(echo);
    http_response_free(&resp);
}

static void test_connection_is_reused(void **state)
{
    struct wva_error err = {0};
    struct http_client *c = http_client_new(NULL, &err);
    struct http_request req = { .method = "GET", .url = url_of(&plain, "/__peer") };
    struct http_response r1, r2;

    (void)state;
    assert_non_null(c);
    assert_int_equal(http_do(c, &req, &r1, &err), 0);
    assert_int_equal(http_do(c, &req, &r2, &err), 0);
    /* Same client port = same TCP connection. */
    assert_string_equal(wva_strbuf_str(&r1.body), wva_strbuf_str(&r2.body));
    http_response_free(&r1);
    http_response_free(&r2);
    http_client_free(c);
}

static void test_429_honours_retry_after(void **state)
{
    struct http_response resp;
    struct wva_error err = {0};
    double t0 = now_s();

    (void)state;
    assert_int_equal(get(NULL, "/retry-after", true, &resp, &err), 0);
    double elapsed = now_s() - t0;
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    assert_string_equal(wva_strbuf_str(&resp.body), "done");
    assert_true(elapsed >= 0.95);
    http_response_free(&resp);
}

static void test_retry_after_is_capped(void **state)
{
    struct http_options opts = { .max_retry_wait_ms = 200 };
    struct http_response resp;
    struct wva_error err = {0};
    double t0 = now_s();

    (void)state;
    assert_int_equal(get(&opts, "/retry-after-capped", true, &resp, &err), 0);
    double elapsed = now_s() - t0;
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    assert_true(elapsed >= 0.19);
    assert_true(elapsed < 2.0);
    http_response_free(&resp);
}

static void test_5xx_backs_off_then_succeeds(void **state)
{
    struct http_response resp;
    struct wva_error err = {0};
    double t0 = now_s();

    (void)state;
    assert_int_equal(get(NULL, "/flaky", true, &resp, &err), 0);
    double elapsed = now_s() - t0;
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 3);
    assert_string_equal(wva_strbuf_str(&resp.body), "recovered");
    assert_true(elapsed >= 0.29);   /* 100 ms + 200 ms */
    http_response_free(&resp);
}

static void test_retries_are_bounded(void **state)
{
    struct http_options opts = { .max_retries = 2 };
    struct http_response resp;
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(get(&opts, "/always-500", true, &resp, &err), 0);
    assert_int_equal(resp.status, 500);
    assert_int_equal(resp.attempts, 3);
    assert_string_equal(wva_strbuf_str(&resp.body), "broken");
    http_response_free(&resp);
}

static void test_no_retry_when_not_asked(void **state)
{
    struct http_response resp;
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(get(NULL, "/no-retry-500", false, &resp, &err), 0);
    assert_int_equal(resp.status, 500);
    assert_int_equal(resp.attempts, 1);
    assert_string_equal(wva_strbuf_str(&resp.body), "first");
    http_response_free(&resp);

    assert_int_equal(get(NULL, "/not-found", true, &resp, &err), 0);
    assert_int_equal(resp.status, 404);
    assert_int_equal(resp.attempts, 1);
    http_response_free(&resp);
}

static void test_timeout_is_an_error(void **state)
{
    struct http_options opts = { .timeout_ms = 300 };
    struct http_response resp;
    struct wva_error err = {0};
    double t0 = now_s();

    (void)state;
    assert_int_equal(get(&opts, "/slow", true, &resp, &err), -1);
    assert_true(now_s() - t0 < 1.5);
    assert_int_equal(resp.status, 0);
    assert_non_null(strstr(err.msg, "/slow"));
    assert_non_null(strstr(err.msg, "Timeout"));
    http_response_free(&resp);
}

static void test_oversized_response_is_refused(void **state)
{
    struct http_options opts = { .max_response_bytes = 1000 };
    struct http_response resp;
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(get(&opts, "/big", true, &resp, &err), -1);
    assert_non_null(strstr(err.msg, "larger than 1000 bytes"));
    assert_int_equal(resp.body.len, 0);
    http_response_free(&resp);

    opts.max_response_bytes = 200000;   /* exactly the body size is fine */
    assert_int_equal(get(&opts, "/big", true, &resp, &err), 0);
    assert_int_equal(resp.body.len, 200000);
    http_response_free(&resp);
}

static void test_warning_headers_collected(void **state)
{
    struct http_response resp;
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(get(NULL, "/warning", true, &resp, &err), 0);
    assert_int_equal(resp.warnings_count, 2);
    assert_string_equal(resp.warnings[0], "299 - \"v1beta1 is deprecated\"");
    assert_string_equal(resp.warnings[1], "299 - \"second warning\"");
    assert_string_equal(resp.content_type, "application/json; charset=utf-8");
    http_response_free(&resp);
}

static void test_patch_sends_body_and_type(void **state)
{
    struct wva_error err = {0};
    struct http_client *c = http_client_new(NULL, &err);
    const char *body = "{\"spec\":{\"replicas\":3}}";
    struct http_request req = { .method = "PATCH", .url = url_of(&plain, "/__echo"),
                                .content_type = "application/merge-patch+json",
                                .accept = "application/json",
                                .body = body, .body_len = strlen(body) };
    struct http_response resp;

    (void)state;
    assert_non_null(c);
    assert_int_equal(http_do(c, &req, &resp, &err), 0);
    json_object *echo = json_tokener_parse(wva_strbuf_str(&resp.body));
    json_object *headers = json_object_object_get(echo, "headers");
    assert_string_equal(json_object_get_string(json_object_object_get(echo, "method")), "PATCH");
    assert_string_equal(json_object_get_string(json_object_object_get(echo, "body")), body);
    assert_string_equal(
        json_object_get_string(json_object_object_get(headers, "content-type")),
        "application/merge-patch+json");
    assert_null(json_object_object_get(headers, "authorization"));
    json_object_put(echo);
    http_response_free(&resp);

    /* The next GET on the same handle carries no body or method left over. */
    struct http_request get_req = { .method = "GET", .url = url_of(&plain, "/__echo") };
    assert_int_equal(http_do(c, &get_req, &resp, &err), 0);
    echo = json_tokener_parse(wva_strbuf_str(&resp.body));
    assert_string_equal(json_object_get_string(json_object_object_get(echo, "method")), "GET");
    assert_string_equal(json_object_get_string(json_object_object_get(echo, "body")), "");
    json_object_put(echo);
    http_response_free(&resp);
    http_client_free(c);
}

static void test_connection_refused_retried_then_error(void **state)
{
    struct http_options opts = { .max_retries = 2 };
    struct wva_error err = {0};
    struct http_client *c = http_client_new(&opts, &err);
    struct http_request req = { .method = "GET", .url = "http://127.0.0.1:1/x",
                                .retry = true };
    struct http_response resp;

    (void)state;
    assert_int_equal(http_do(c, &req, &resp, &err), -1);
    assert_int_equal(resp.attempts, 3);
    assert_non_null(strstr(err.msg, "http://127.0.0.1:1/x"));
    assert_non_null(strstr(err.msg, "connect"));
    http_response_free(&resp);
    http_client_free(c);
}

static void test_unreadable_ca_file(void **state)
{
    struct http_options opts = { .tls.ca_file = "/nonexistent/ca.crt" };
    struct wva_error err = {0};

    (void)state;
    assert_null(http_client_new(&opts, &err));
    assert_non_null(strstr(err.msg, "CA file /nonexistent/ca.crt"));

    struct http_options half = { .tls.client_cert_data = "x" };
    assert_null(http_client_new(&half, &err));
    assert_non_null(strstr(err.msg, "both a certificate and a key"));
}

static void test_http_escape(void **state)
{
    char *e = http_escape("app=a b,tier in (x/y)");

    (void)state;
    assert_string_equal(e, "app%3Da%20b%2Ctier%20in%20%28x%2Fy%29");
    free(e);
    assert_null(http_escape(NULL));
}

/* TLS: the server presents a certificate for kube.test/localhost signed by
 * the test CA and requires a client certificate from the same CA. */
static int tls_get(struct http_options *opts, const char *base, struct wva_error *err)
{
    struct http_client *c = http_client_new(opts, err);
    char url[256];
    struct http_response resp;
    int rc;

    if (!c)
        return -2;
    snprintf(url, sizeof(url), "%s/ok", base);
    struct http_request req = { .method = "GET", .url = url };
    rc = http_do(c, &req, &resp, err);
    if (rc == 0)
        rc = (int)resp.status;
    http_response_free(&resp);
    http_client_free(c);
    return rc;
}

static void test_tls_blobs_and_server_name(void **state)
{
    char *ca = read_whole_file(fixture_path("kube/ca.crt"), NULL);
    char *cert = read_whole_file(fixture_path("kube/client.crt"), NULL);
    char *key = read_whole_file(fixture_path("kube/client.key"), NULL);
    char localhost[64];
    struct wva_error err = {0};

    (void)state;
    assert_non_null(ca);
    snprintf(localhost, sizeof(localhost), "https://localhost:%d", secure.port);

    /* CA, cert and key as in-memory blobs; URL host matches the cert. */
    struct http_options opts = { .tls = { .ca_data = ca, .client_cert_data = cert,
                                          .client_key_data = key } };
    assert_int_equal(tls_get(&opts, localhost, &err), 200);

    /* 127.0.0.1 is not in the certificate: verification fails... */
    assert_int_equal(tls_get(&opts, secure.base_url, &err), -1);
    assert_non_null(strstr(err.msg, "127.0.0.1"));

    /* ...unless the server name overrides the name verified. */
    opts.tls.server_name = "kube.test";
    assert_int_equal(tls_get(&opts, secure.base_url, &err), 200);

    /* Files work as well as blobs. */
    char ca_path[4096], cert_path[4096], key_path[4096];
    snprintf(ca_path, sizeof(ca_path), "%s", fixture_path("kube/ca.crt"));
    snprintf(cert_path, sizeof(cert_path), "%s", fixture_path("kube/client.crt"));
    snprintf(key_path, sizeof(key_path), "%s", fixture_path("kube/client.key"));
    struct http_options files = { .tls = { .ca_file = ca_path, .client_cert_file = cert_path,
                                           .client_key_file = key_path,
                                           .server_name = "kube.test" } };
    assert_int_equal(tls_get(&files, secure.base_url, &err), 200);

    /* Without the CA, the server is not trusted... */
    struct http_options no_ca = { .tls = { .client_cert_data = cert,
                                           .client_key_data = key } };
    assert_int_equal(tls_get(&no_ca, localhost, &err), -1);
    /* ...unless verification is explicitly skipped. */
    no_ca.tls.insecure_skip_verify = true;
    assert_int_equal(tls_get(&no_ca, secure.base_url, &err), 200);

    /* The server requires a client certificate. */
    struct http_options no_cert = { .tls = { .ca_data = ca } };
    assert_int_equal(tls_get(&no_cert, localhost, &err), -1);

    free(ca);
    free(cert);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_ok_sends_agent_and_token),
        cmocka_unit_test(test_connection_is_reused),
        cmocka_unit_test(test_429_honours_retry_after),
        cmocka_unit_test(test_retry_after_is_capped),
        cmocka_unit_test(test_5xx_backs_off_then_succeeds),
        cmocka_unit_test(test_retries_are_bounded),
        cmocka_unit_test(test_no_retry_when_not_asked),
        cmocka_unit_test(test_timeout_is_an_error),
        cmocka_unit_test(test_oversized_response_is_refused),
        cmocka_unit_test(test_warning_headers_collected),
        cmocka_unit_test(test_patch_sends_body_and_type),
        cmocka_unit_test(test_connection_refused_retried_then_error),
        cmocka_unit_test(test_unreadable_ca_file),
        cmocka_unit_test(test_http_escape),
        cmocka_unit_test(test_tls_blobs_and_server_name),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
