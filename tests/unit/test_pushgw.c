/* test_pushgw.c - Pushgateway metrics (SPEC section 7).
 *
 * Two groups of tests:
 *  - pure ones: the exact exposition text of a small plan (labels with and
 *    without a controller instance, escaping, the desired ratio), group URL
 *    building and encoding, bad URLs;
 *  - end to end: a REAL Pushgateway (Debian prometheus-pushgateway) and a
 *    REAL Prometheus scraping it with honor_labels, both started here as
 *    child processes on 127.0.0.1; pushgw_push() pushes, Prometheus's HTTP
 *    API must then show the series, and a failed run must keep the last
 *    success timestamp.  Missing binaries are a failure (with a message),
 *    never a skip: scripts/install-deps.sh installs them.
 * Binaries may be overridden with PUSHGATEWAY_BIN and PROMETHEUS_BIN.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "wva/http.h"
#include "wva/plan.h"
#include "wva/pushgw.h"
#include "wva/settings.h"
#include "wva/strbuf.h"

extern char **environ;

/* ---- a small plan ------------------------------------------------------------ */

static void add_variant(struct wva_plan *plan, const char *ns, const char *name,
                        const char *accel, int current, int target, enum wva_action action,
                        enum wva_skip skip)
{
    struct wva_plan_variant *v;

    plan->variants = wva_xrealloc(plan->variants,
                                  (plan->variants_count + 1) * sizeof(*plan->variants));
    v = &plan->variants[plan->variants_count++];
    memset(v, 0, sizeof(*v));
    v->namespace_name = wva_xstrdup(ns);
    v->name = wva_xstrdup(name);
    v->model_id = wva_xstrdup("m");
    v->accelerator = wva_xstrdup(accel);
    v->current_replicas = current;
    v->ready_replicas = current;
    v->target_replicas = target;
    v->action = action;
    v->skip = skip;
    v->reason = wva_xstrdup("test");
}

/* Variants sorted by namespace, then name, as the engine makes them: a
 * scale-up, a scale-up from zero with a hostile accelerator label, a skip,
 * and a scale-down without an accelerator. */
static struct wva_plan *small_plan(void)
{
    struct wva_plan *plan = wva_xcalloc(1, sizeof(*plan));

    plan->mode = wva_xstrdup("live");
    add_variant(plan, "team-a", "m-h100", "H100", 2, 3, WVA_ACTION_SCALE_UP, WVA_SKIP_NONE);
    add_variant(plan, "team-a", "m-l4", "L4 \"x\"\\y\nz", 0, 2, WVA_ACTION_SCALE_UP,
                WVA_SKIP_NONE);
    add_variant(plan, "team-a", "m-old", "L4", 1, 1, WVA_ACTION_SKIPPED,
                WVA_SKIP_TARGET_NOT_FOUND);
    add_variant(plan, "team-b", "n-a100", NULL, 3, 1, WVA_ACTION_SCALE_DOWN, WVA_SKIP_NONE);
    return plan;
}

#define HELP_DESIRED "# HELP wva_desired_replicas Replicas wva-optimizer wants for the " \
                     "variant (target of the last plan).\n# TYPE wva_desired_replicas gauge\n"
#define HELP_CURRENT "# HELP wva_current_replicas Replicas of the variant's Deployment " \
                     "when the plan was made.\n# TYPE wva_current_replicas gauge\n"
#define HELP_RATIO "# HELP wva_desired_ratio Desired over current replicas of the variant " \
                   "(the desired count when current is 0).\n# TYPE wva_desired_ratio gauge\n"
#define HELP_VARIANTS "# HELP wva_optimizer_variants Variants of the last plan by state " \
                      "(optimized, skipped, scaled_up, scaled_down).\n" \
                      "# TYPE wva_optimizer_variants gauge\n"
#define HELP_DURATION "# HELP wva_optimizer_run_duration_seconds Wall-clock duration of " \
                      "the last wva-optimizer cycle.\n" \
                      "# TYPE wva_optimizer_run_duration_seconds gauge\n"

#define L_H100 "{variant_name=\"m-h100\",namespace=\"team-a\",accelerator_type=\"H100\""
#define L_L4 "{variant_name=\"m-l4\",namespace=\"team-a\"," \
             "accelerator_type=\"L4 \\\"x\\\"\\\\y\\nz\""
#define L_A100 "{variant_name=\"n-a100\",namespace=\"team-b\",accelerator_type=\"\""

static void test_render_without_instance(void **state)
{
    struct wva_plan *plan = small_plan();
    char *text = pushgw_render(plan, "", 0.25);
    const char *expected =
        HELP_DESIRED
        "wva_desired_replicas" L_H100 "} 3\n"
        "wva_desired_replicas" L_L4 "} 2\n"
        "wva_desired_replicas" L_A100 "} 1\n"
        HELP_CURRENT
        "wva_current_replicas" L_H100 "} 2\n"
        "wva_current_replicas" L_L4 "} 0\n"
        "wva_current_replicas" L_A100 "} 3\n"
        HELP_RATIO
        "wva_desired_ratio" L_H100 "} 1.5\n"
        "wva_desired_ratio" L_L4 "} 2\n"
        "wva_desired_ratio" L_A100 "} 0.333333333333333\n"
        HELP_VARIANTS
        "wva_optimizer_variants{state=\"optimized\"} 3\n"
        "wva_optimizer_variants{state=\"skipped\"} 1\n"
        "wva_optimizer_variants{state=\"scaled_up\"} 2\n"
        "wva_optimizer_variants{state=\"scaled_down\"} 1\n"
        HELP_DURATION
        "wva_optimizer_run_duration_seconds 0.25\n";

    (void)state;
    assert_string_equal(text, expected);
    free(text);
    /* NULL instance is the same as "". */
    text = pushgw_render(plan, NULL, 0.25);
    assert_string_equal(text, expected);
    free(text);
    plan_free(plan);
}

static void test_render_with_instance(void **state)
{
    struct wva_plan *plan = small_plan();
    char *text = pushgw_render(plan, "a", 1);
    size_t labelled = 0;

    (void)state;
    assert_non_null(strstr(text, "wva_desired_replicas" L_H100
                                 ",controller_instance=\"a\"} 3\n"));
    assert_non_null(strstr(text, "wva_desired_ratio" L_A100
                                 ",controller_instance=\"a\"} 0.333333333333333\n"));
    for (const char *p = text; (p = strstr(p, ",controller_instance=\"a\"}")); p++)
        labelled++;
    assert_int_equal(labelled, 9);     /* 3 gauges x 3 optimized variants */
    /* Run-level metrics carry only their own labels. */
    assert_non_null(strstr(text, "wva_optimizer_variants{state=\"skipped\"} 1\n"));
    assert_non_null(strstr(text, "\nwva_optimizer_run_duration_seconds 1\n"));
    assert_null(strstr(text, "m-old"));
    free(text);
    plan_free(plan);
}

static void test_render_without_plan_and_success(void **state)
{
    char *text = pushgw_render(NULL, "a", 12.5);

    (void)state;
    assert_string_equal(text, HELP_DURATION "wva_optimizer_run_duration_seconds 12.5\n");
    free(text);
    text = pushgw_render_success(1780000000.5);
    assert_string_equal(text,
                        "# HELP wva_optimizer_last_success_timestamp_seconds Unix time of the "
                        "last successful wva-optimizer cycle.\n"
                        "# TYPE wva_optimizer_last_success_timestamp_seconds gauge\n"
                        "wva_optimizer_last_success_timestamp_seconds 1780000000.5\n");
    free(text);
}

static void test_render_empty_plan_and_odd_values(void **state)
{
    struct wva_plan *plan = wva_xcalloc(1, sizeof(*plan));
    char *text;

    (void)state;
    text = pushgw_render(plan, NULL, NAN);
    /* No per-variant family without samples (a failed run's POST must not
     * wipe them); counts are 0; NaN is spelt as Prometheus reads it. */
    assert_string_equal(text, HELP_VARIANTS
                        "wva_optimizer_variants{state=\"optimized\"} 0\n"
                        "wva_optimizer_variants{state=\"skipped\"} 0\n"
                        "wva_optimizer_variants{state=\"scaled_up\"} 0\n"
                        "wva_optimizer_variants{state=\"scaled_down\"} 0\n"
                        HELP_DURATION "wva_optimizer_run_duration_seconds NaN\n");
    free(text);
    plan_free(plan);
}

static void check_url(const char *base, const char *instance, const char *kind,
                      const char *expected)
{
    struct wva_error err = {0};
    char *url = pushgw_group_url(base, instance, kind, &err);

    if (!url)
        fail_msg("%s: %s", base, err.msg);
    assert_string_equal(url, expected);
    free(url);
}

static void test_group_urls(void **state)
{
    (void)state;
    check_url("http://pgw:9091", NULL, NULL,
              "http://pgw:9091/metrics/job/wva-optimizer/instance/default");
    check_url("http://pgw:9091/", "", NULL,
              "http://pgw:9091/metrics/job/wva-optimizer/instance/default");
    check_url("https://pgw.example/prefix/", "a", "success",
              "https://pgw.example/prefix/metrics/job/wva-optimizer/instance/a/kind/success");
    /* '/' needs the base64url form; other characters are URL-escaped
     * (libcurl's URL API writes the hex digits in lower case). */
    check_url("http://pgw:9091", "team/a", NULL,
              "http://pgw:9091/metrics/job/wva-optimizer/instance@base64/dGVhbS9h");
    check_url("http://pgw:9091", "x/", "success",
              "http://pgw:9091/metrics/job/wva-optimizer/instance@base64/eC8=/kind/success");
    check_url("http://pgw:9091", "/?>", NULL,
              "http://pgw:9091/metrics/job/wva-optimizer/instance@base64/Lz8-");
    check_url("http://pgw:9091", "/??", NULL,
              "http://pgw:9091/metrics/job/wva-optimizer/instance@base64/Lz8_");
    check_url("http://[::1]:9091", "a b:c", NULL,
              "http://[::1]:9091/metrics/job/wva-optimizer/instance/a%20b%3ac");
}

static void check_bad_url(const char *base, const char *expected_part)
{
    struct wva_error err = {0};
    char *url = pushgw_group_url(base, "a", NULL, &err);

    assert_null(url);
    if (!strstr(err.msg, expected_part))
        fail_msg("URL \"%s\": message \"%s\" lacks \"%s\"", base, err.msg, expected_part);
}

static void test_bad_urls(void **state)
{
    (void)state;
    check_bad_url("", "Pushgateway URL is empty");
    check_bad_url(NULL, "Pushgateway URL is empty");
    check_bad_url("pgw:9091 x", "Pushgateway URL \"pgw:9091 x\" is not a valid");
    check_bad_url("ftp://pgw:9091", "scheme ftp is not http or https");
    check_bad_url("http://user:secret@pgw:9091", "credentials");
    check_bad_url("http://pgw:9091/?a=b", "has a query or fragment");
    check_bad_url("http://pgw:9091/#top", "has a query or fragment");
}

static void test_push_errors(void **state)
{
    struct wva_error err = {0};
    struct wva_plan *plan = small_plan();
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    char url[64];
    int fd;

    (void)state;
    /* No Pushgateway configured: nothing to do. */
    assert_int_equal(pushgw_push(NULL, NULL, plan, true, 1, &err), 0);
    assert_int_equal(pushgw_push("", NULL, plan, true, 1, &err), 0);
    /* A bad URL is reported before any request. */
    assert_int_equal(pushgw_push("ftp://x", NULL, plan, true, 1, &err), -1);
    assert_non_null(strstr(err.msg, "scheme ftp"));
    /* Nobody listening: a port that was just free. */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    /* A successful run PUTs, a failed one POSTs; the first failure is
     * reported, naming the method and URL. */
    assert_int_equal(pushgw_push(url, NULL, plan, true, 1, &err), -1);
    assert_non_null(strstr(err.msg, "Pushgateway: PUT http://127.0.0.1:"));
    assert_non_null(strstr(err.msg, "/metrics/job/wva-optimizer/instance/default:"));
    assert_int_equal(pushgw_push(url, NULL, plan, false, 1, &err), -1);
    assert_non_null(strstr(err.msg, "Pushgateway: POST http://127.0.0.1:"));
    assert_non_null(strstr(err.msg, "/metrics/job/wva-optimizer/instance/default:"));
    plan_free(plan);
}

/* ---- real Pushgateway + Prometheus ------------------------------------------ */

struct child {
    pid_t pid;
    int port;
    char url[64];
    char log[4096];
};

static struct {
    char dir[2048];
    struct child pgw, prom;
    struct http_client *http;
} e2e;

static const char *bin_path(const char *env, const char *fallback)
{
    const char *p = getenv(env);

    return p && p[0] ? p : fallback;
}

static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static long http_status(const char *url)
{
    struct http_request req = { .method = "GET", .url = url };
    struct http_response resp;
    struct wva_error err;
    long status = 0;

    if (http_do(e2e.http, &req, &resp, &err) == 0)
        status = resp.status;
    http_response_free(&resp);
    return status;
}

static void stop_child(struct child *c)
{
    if (c->pid <= 0)
        return;
    kill(c->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
            c->pid = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    c->pid = 0;
}

/* Start argv with stdout and stderr to c->log and wait until GET
 * {url}/-/ready answers 200.  A port taken by a racing process makes the
 * child exit: try another port, three times.  port_arg is the argv slot to
 * fill with "--web.listen-address=127.0.0.1:PORT". */
static int start_child(struct child *c, const char *name, char **argv, int port_arg)
{
    char listen[64], ready[96];

    for (int attempt = 0; attempt < 3; attempt++) {
        posix_spawn_file_actions_t fa;
        int status, rc;

        c->port = free_port();
        snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", c->port);
        argv[port_arg] = listen;
        snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d", c->port);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, c->log,
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        rc = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            fprintf(stderr, "test_pushgw: cannot start %s (%s): %s\n", name, argv[0],
                    strerror(rc));
            c->pid = 0;
            return -1;
        }
        snprintf(ready, sizeof(ready), "%s/-/ready", c->url);
        for (double deadline = mono_now() + 15; mono_now() < deadline; sleep_ms(100)) {
            if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
                c->pid = 0;
                break;
            }
            if (http_status(ready) == 200)
                return 0;
        }
        if (c->pid > 0) {
            stop_child(c);
            break;                  /* alive but never ready: no point retrying */
        }
    }
    fprintf(stderr, "test_pushgw: %s did not become ready; see %s\n", name, c->log);
    return -1;
}

static int write_prometheus_config(const char *path, int pgw_port)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    /* honor_labels: the job/instance grouping labels of the push win over
     * the scrape's own job/instance, as for any Pushgateway.  Half-second
     * scrapes keep the test short (each push waits for one). */
    fprintf(f,
            "global:\n"
            "  scrape_interval: 500ms\n"
            "  scrape_timeout: 500ms\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: pushgateway\n"
            "    honor_labels: true\n"
            "    scrape_interval: 500ms\n"
            "    scrape_timeout: 500ms\n"
            "    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n", pgw_port);
    return fclose(f) == 0 ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int e2e_teardown(void **state)
{
    (void)state;
    stop_child(&e2e.prom);
    stop_child(&e2e.pgw);
    http_client_free(e2e.http);
    e2e.http = NULL;
    if (e2e.dir[0] && getenv("TEST_PUSHGW_KEEP") == NULL)
        nftw(e2e.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int e2e_setup(void **state)
{
    const char *pgw_bin = bin_path("PUSHGATEWAY_BIN", "/usr/bin/prometheus-pushgateway");
    const char *prom_bin = bin_path("PROMETHEUS_BIN", "/usr/bin/prometheus");
    const char *tmp = getenv("TMPDIR");
    char config[2100], data[2100], config_arg[2200], data_arg[2200];
    struct http_options opts = { .timeout_ms = 2000, .max_retries = -1 };
    struct wva_error err;

    if (access(pgw_bin, X_OK) != 0) {
        fprintf(stderr, "test_pushgw: %s is missing: install the Debian package "
                "prometheus-pushgateway (scripts/install-deps.sh)\n", pgw_bin);
        return -1;
    }
    if (access(prom_bin, X_OK) != 0) {
        fprintf(stderr, "test_pushgw: %s is missing: install the Debian package "
                "prometheus (scripts/install-deps.sh)\n", prom_bin);
        return -1;
    }
    snprintf(e2e.dir, sizeof(e2e.dir), "%s/wva-pushgw-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(e2e.dir)) {
        fprintf(stderr, "test_pushgw: mkdtemp %s: %s\n", e2e.dir, strerror(errno));
        e2e.dir[0] = '\0';
        return -1;
    }
    e2e.http = http_client_new(&opts, &err);
    if (!e2e.http)
        goto fail;

    /* The Pushgateway keeps everything in memory (no persistence file). */
    snprintf(e2e.pgw.log, sizeof(e2e.pgw.log), "%s/pushgateway.log", e2e.dir);
    char *pgw_argv[] = { (char *)pgw_bin, NULL, (char *)"--persistence.file=",
                         (char *)"--log.level=warn", NULL };
    if (start_child(&e2e.pgw, "Pushgateway", pgw_argv, 1) != 0)
        goto fail;

    snprintf(config, sizeof(config), "%s/prometheus.yml", e2e.dir);
    snprintf(data, sizeof(data), "%s/data", e2e.dir);
    if (write_prometheus_config(config, e2e.pgw.port) != 0 || mkdir(data, 0700) != 0)
        goto fail;
    snprintf(config_arg, sizeof(config_arg), "--config.file=%s", config);
    snprintf(data_arg, sizeof(data_arg), "--storage.tsdb.path=%s", data);
    snprintf(e2e.prom.log, sizeof(e2e.prom.log), "%s/prometheus.log", e2e.dir);
    char *prom_argv[] = { (char *)prom_bin, config_arg, data_arg, NULL,
                          (char *)"--storage.tsdb.retention.time=1h",
                          (char *)"--log.level=warn", NULL };
    if (start_child(&e2e.prom, "Prometheus", prom_argv, 3) != 0)
        goto fail;
    (void)state;
    return 0;
fail:
    fprintf(stderr, "test_pushgw: end-to-end setup failed (files in %s)\n", e2e.dir);
    e2e_teardown(state);
    return -1;
}

/* The value and labels of the first series of an instant query, or -1 when
 * the result is empty (or on any error).  *labels (when not NULL) gets the
 * series' label set as JSON text (Prometheus sorts labels by name), owned
 * by the caller. */
static int prom_query(const char *promql, double *value, char **labels)
{
    struct http_request req = { .method = "GET" };
    struct http_response resp;
    struct wva_error err;
    struct wva_strbuf url = WVA_STRBUF_INIT;
    char *escaped = http_escape(promql);
    json_object *doc = NULL, *data, *result, *first, *val, *metric;
    int rc = -1;

    wva_strbuf_addf(&url, "%s/api/v1/query?query=%s", e2e.prom.url, escaped);
    req.url = wva_strbuf_str(&url);
    if (http_do(e2e.http, &req, &resp, &err) != 0 || resp.status != 200)
        goto out;
    doc = json_tokener_parse(wva_strbuf_str(&resp.body));
    if (!doc || !json_object_object_get_ex(doc, "data", &data) ||
        !json_object_object_get_ex(data, "result", &result) ||
        json_object_array_length(result) == 0)
        goto out;
    first = json_object_array_get_idx(result, 0);
    if (!json_object_object_get_ex(first, "value", &val) ||
        !json_object_object_get_ex(first, "metric", &metric))
        goto out;
    *value = strtod(json_object_get_string(json_object_array_get_idx(val, 1)), NULL);
    if (labels)
        *labels = wva_xstrdup(json_object_to_json_string_ext(metric, JSON_C_TO_STRING_SPACED |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    rc = 0;
out:
    json_object_put(doc);
    http_response_free(&resp);
    free(escaped);
    wva_strbuf_release(&url);
    return rc;
}

/* Poll until the query returns want (within 1e-6), up to 15 s. */
static void wait_for_value(const char *promql, double want)
{
    double got = NAN;

    for (double deadline = mono_now() + 15; mono_now() < deadline; sleep_ms(200)) {
        if (prom_query(promql, &got, NULL) == 0 && fabs(got - want) < 1e-6)
            return;
    }
    fail_msg("Prometheus: %s is %g after 15 s, expected %g", promql, got, want);
}

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_e2e_push_reaches_prometheus(void **state)
{
    struct wva_settings s = {0};
    struct wva_plan *plan = small_plan();
    struct wva_error err = {0};
    double before = wall_now(), ts = 0, v = 0;
    char *labels = NULL;

    (void)state;
    /* An instance with '/' exercises the @base64 grouping form against the
     * real Pushgateway (settings would refuse it, pushgw must not care). */
    s.controller_instance = (char *)"team/a";
    if (pushgw_push(e2e.pgw.url, &s, plan, true, 0.75, &err) != 0)
        fail_msg("push: %s", err.msg);
    wait_for_value("wva_desired_replicas{variant_name=\"m-h100\",instance=\"team/a\"}", 3);
    assert_int_equal(prom_query("wva_desired_replicas{variant_name=\"m-h100\","
                                "instance=\"team/a\"}", &v, &labels), 0);
    assert_string_equal(labels,
                        "{ \"__name__\": \"wva_desired_replicas\", \"accelerator_type\": \"H100\","
                        " \"controller_instance\": \"team/a\", \"instance\": \"team/a\","
                        " \"job\": \"wva-optimizer\", \"namespace\": \"team-a\","
                        " \"variant_name\": \"m-h100\" }");
    free(labels);
    /* Escaped label values arrive intact. */
    wait_for_value("wva_current_replicas{accelerator_type=\"L4 \\\"x\\\"\\\\y\\nz\"}", 0);
    wait_for_value("wva_desired_ratio{variant_name=\"n-a100\",instance=\"team/a\"}",
                   1.0 / 3.0);
    wait_for_value("wva_optimizer_variants{state=\"scaled_up\",instance=\"team/a\"}", 2);
    wait_for_value("wva_optimizer_run_duration_seconds{instance=\"team/a\"}", 0.75);
    assert_int_equal(prom_query("count(wva_desired_replicas{instance=\"team/a\"})", &v, NULL),
                     0);
    assert_true(v == 3);            /* the skipped variant is not published */
    assert_int_equal(prom_query("wva_optimizer_last_success_timestamp_seconds"
                                "{instance=\"team/a\",kind=\"success\",job=\"wva-optimizer\"}",
                                &ts, NULL), 0);
    assert_true(ts >= before - 1 && ts <= wall_now() + 1);

    /* An HTTP error answer is an error naming the URL and the status. */
    char bad[128];
    snprintf(bad, sizeof(bad), "%s/nope", e2e.pgw.url);
    assert_int_equal(pushgw_push(bad, &s, plan, true, 1, &err), -1);
    if (!strstr(err.msg, "/nope/metrics/job/wva-optimizer/instance@base64/dGVhbS9h: HTTP 404"))
        fail_msg("unexpected message: %s", err.msg);
    plan_free(plan);
}

static void test_e2e_failed_run_keeps_last_success(void **state)
{
    struct wva_settings s = {0};
    struct wva_plan *plan = small_plan();
    struct wva_error err = {0};
    const char *success_q = "wva_optimizer_last_success_timestamp_seconds{instance=\"b\"}";
    double first = 0, now = 0;

    (void)state;
    s.controller_instance = (char *)"b";
    if (pushgw_push(e2e.pgw.url, &s, plan, true, 1.5, &err) != 0)
        fail_msg("push: %s", err.msg);
    wait_for_value("wva_optimizer_run_duration_seconds{instance=\"b\"}", 1.5);
    assert_int_equal(prom_query(success_q, &first, NULL), 0);

    /* A failed run with a plan (a status write failed, say): updates the
     * variant gauges it has, leaves the success group alone.  Seeing
     * the new duration means Prometheus scraped after the push, so a
     * deleted success series would already be gone. */
    plan->variants[0].target_replicas = 5;
    if (pushgw_push(e2e.pgw.url, &s, plan, false, 2.5, &err) != 0)
        fail_msg("push: %s", err.msg);
    wait_for_value("wva_optimizer_run_duration_seconds{instance=\"b\"}", 2.5);
    wait_for_value("wva_desired_replicas{variant_name=\"m-h100\",instance=\"b\"}", 5);
    assert_int_equal(prom_query(success_q, &now, NULL), 0);
    assert_true(now == first);

    /* A failed run without a plan (cluster unreachable): only the duration
     * changes; the desired replicas an HPA reads stay. */
    if (pushgw_push(e2e.pgw.url, &s, NULL, false, 3.5, &err) != 0)
        fail_msg("push: %s", err.msg);
    wait_for_value("wva_optimizer_run_duration_seconds{instance=\"b\"}", 3.5);
    wait_for_value("wva_desired_replicas{variant_name=\"m-h100\",instance=\"b\"}", 5);
    wait_for_value("wva_optimizer_variants{state=\"optimized\",instance=\"b\"}", 3);
    assert_int_equal(prom_query(success_q, &now, NULL), 0);
    assert_true(now == first);

    /* A failed run whose variants were all skipped (no metrics): the
     * counts change, the desired replicas stay. */
    for (size_t i = 0; i < plan->variants_count; i++) {
        plan->variants[i].action = WVA_ACTION_SKIPPED;
        plan->variants[i].skip = WVA_SKIP_METRICS_UNAVAILABLE;
    }
    if (pushgw_push(e2e.pgw.url, &s, plan, false, 4, &err) != 0)
        fail_msg("push: %s", err.msg);
    wait_for_value("wva_optimizer_variants{state=\"optimized\",instance=\"b\"}", 0);
    wait_for_value("wva_desired_replicas{variant_name=\"m-h100\",instance=\"b\"}", 5);
    assert_int_equal(prom_query(success_q, &now, NULL), 0);
    assert_true(now == first);

    /* A later success with a smaller plan: the variant that left the plan
     * disappears, the success time moves on. */
    plan_free(plan);
    plan = wva_xcalloc(1, sizeof(*plan));
    add_variant(plan, "team-a", "m-h100", "H100", 5, 5, WVA_ACTION_NO_CHANGE, WVA_SKIP_NONE);
    if (pushgw_push(e2e.pgw.url, &s, plan, true, 4.5, &err) != 0)
        fail_msg("push: %s", err.msg);
    wait_for_value("wva_optimizer_run_duration_seconds{instance=\"b\"}", 4.5);
    wait_for_value("count(wva_desired_replicas{instance=\"b\"})", 1);
    assert_int_equal(prom_query(success_q, &now, NULL), 0);
    assert_true(now > first);
    plan_free(plan);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_render_without_instance),
        cmocka_unit_test(test_render_with_instance),
        cmocka_unit_test(test_render_without_plan_and_success),
        cmocka_unit_test(test_render_empty_plan_and_odd_values),
        cmocka_unit_test(test_group_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_push_errors),
    };
    const struct CMUnitTest end_to_end[] = {
        cmocka_unit_test(test_e2e_push_reaches_prometheus),
        cmocka_unit_test(test_e2e_failed_run_keeps_last_success),
    };
    int failed = cmocka_run_group_tests_name("pushgw", pure, NULL, NULL);

    failed += cmocka_run_group_tests_name("pushgw_end_to_end", end_to_end, e2e_setup,
                                          e2e_teardown);
    return failed ? 1 : 0;
}
