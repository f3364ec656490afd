/* test_session.c - the start-up every command shares (session.c): a
 * replay's settings from the snapshot, a live command's from the
 * environment and the main ConfigMap read once (against
 * tests/servers/kubeapi.py), the 403 rule (a run fails, doctor is told),
 * and the error kind of each failing step. */
#include "kubeapi_server.h"

#include <sys/stat.h>

#include "wva/log.h"
#include "wva/session.h"
#include "wva/settings.h"

#define SYS_NS "workload-variant-autoscaler-system"
#define MAIN_CM "wva-variantautoscaling-config"

static struct kubeapi_server server;
static struct kube_client *kc;
static bool server_up;

/* Parse "wva-optimizer ARGS..." (NULL-terminated) into s. */
static void parse(struct wva_settings *s, const char *const *args)
{
    char *argv[16];
    int argc = 0;
    struct wva_error err = {0};

    argv[argc++] = (char *)"wva-optimizer";
    for (; *args && argc < 15; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    if (settings_parse_args(argc, argv, s, &err) != 0)
        fail_msg("settings_parse_args: %s", err.msg);
}

/* A snapshot file holding text; path (64 bytes) receives its name. */
static void write_snapshot(char *path, const char *text)
{
    int fd;

    snprintf(path, 64, "/tmp/wva-session-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

#define SNAPSHOT(settings, main_data)                                                         \
    "{\"kind\":\"WVASnapshot\",\"version\":1,\"capturedAt\":\"2026-11-27T10:00:00Z\","          \
    "\"settings\":{" settings "},"                                                          \
    "\"namespaces\":{\"items\":[]},\"variantAutoscalings\":{\"items\":[]},"                     \
    "\"deployments\":{\"items\":[]},\"pods\":{\"items\":[]},\"configMaps\":{\"items\":["       \
    "{\"metadata\":{\"name\":\"" MAIN_CM "\",\"namespace\":\"" SYS_NS "\"},"                   \
    "\"data\":{" main_data "}}]}}"

/* ---- replay ------------------------------------------------------------ */

static void test_replay_precedence_and_kinds(void **state)
{
    char path[64];
    const char *args[6] = {"--from-file", path, NULL};
    struct wva_session ss = {0};
    struct wva_settings s;
    struct wva_error err = {0};

    (void)state;
    /* flag > snapshot settings > main ConfigMap in the snapshot > default;
     * the environment is not read. */
    setenv("GLOBAL_OPT_INTERVAL", "7m", 1);
    write_snapshot(path, SNAPSHOT("\"WATCH_NAMESPACE\":\"team-s\"",
                                  "\"WATCH_NAMESPACE\":\"team-c\",\"GLOBAL_OPT_INTERVAL\":\"2m\","
                                  "\"CONTROLLER_INSTANCE\":\"c\""));
    args[2] = "--controller-instance";
    args[3] = "flag";
    args[4] = NULL;
    parse(&s, args);
    assert_int_equal(session_open_replay(&ss, &s, 0, &err), 0);
    assert_non_null(ss.snap);
    assert_string_equal(s.watch_namespace, "team-s");
    assert_string_equal(s.controller_instance, "flag");
    assert_true(s.global_opt_interval == 120);
    session_close(&ss);
    session_close(&ss);
    session_close(NULL);
    settings_free(&s);
    unsetenv("GLOBAL_OPT_INTERVAL");

    /* A bad value in the snapshot: a configuration error. */
    unlink(path);
    write_snapshot(path, SNAPSHOT("\"GLOBAL_OPT_INTERVAL\":\"soon\"", ""));
    args[2] = NULL;
    parse(&s, args);
    assert_int_equal(session_open_replay(&ss, &s, 0, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "GLOBAL_OPT_INTERVAL"));
    session_close(&ss);
    settings_free(&s);

    /* The history DSN is checked only for a command that records. */
    unlink(path);
    write_snapshot(path, SNAPSHOT("", ""));
    args[2] = "--history";
    args[3] = "postgres://u:pw@db/wva";
    args[4] = NULL;
    parse(&s, args);
    assert_int_equal(session_open_replay(&ss, &s, 0, &err), 0);
    session_close(&ss);
    assert_int_equal(session_open_replay(&ss, &s, SESSION_RECORDS, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_CONFIG);
    assert_null(strstr(err.msg, "pw@"));
    session_close(&ss);
    settings_free(&s);

    /* No snapshot: malformed input. */
    unlink(path);
    args[2] = NULL;
    parse(&s, args);
    assert_int_equal(session_open_replay(&ss, &s, 0, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_INPUT);
    assert_non_null(strstr(err.msg, path));
    session_close(&ss);
    settings_free(&s);
}

static void test_environment_only(void **state)
{
    static const char *const args[] = {"history", "runs", "--history", "/tmp/h.db", NULL};
    struct wva_settings s;
    struct wva_error err = {0};

    (void)state;
    setenv("WATCH_NAMESPACE", "team-e", 1);
    parse(&s, args);
    assert_int_equal(session_resolve_environment(&s, &err), 0);
    assert_string_equal(s.watch_namespace, "team-e");
    settings_free(&s);
    setenv("WATCH_NAMESPACE", "Not_A_Namespace", 1);
    parse(&s, args);
    assert_int_equal(session_resolve_environment(&s, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_CONFIG);
    settings_free(&s);
    unsetenv("WATCH_NAMESPACE");
}

/* ---- live, against kubeapi.py ----------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    kubeapi_clear_settings_env();
    if (kubeapi_group_start(&server, &kc) != 0)
        return -1;
    server_up = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (server_up)
        kubeapi_group_stop(&server, &kc);
    return 0;
}

/* session_open_live with --kubeconfig of the server; returns its result. */
static int open_live(struct wva_session *ss, struct wva_settings *s, unsigned flags,
                     struct wva_error *err)
{
    char kubeconfig[256];
    const char *args[] = {"--once", "--kubeconfig", kubeconfig, NULL};

    snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", server.dir);
    parse(s, args);
    memset(ss, 0, sizeof(*ss));
    return session_open_live(ss, s, flags, err);
}

static size_t main_configmap_reads(size_t mark)
{
    json_object *entries = kubeapi_requests(&server, mark);
    size_t n = 0;

    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *e = json_object_array_get_idx(entries, i);
        const char *name = json_at(e, "name");
        n += name && strcmp(name, MAIN_CM) == 0;
    }
    json_object_put(entries);
    return n;
}

static void test_live_main_configmap(void **state)
{
    struct wva_session ss;
    struct wva_settings s;
    struct wva_error err = {0};
    size_t mark;

    (void)state;
    /* Found: read once; the environment beats it, it beats the default. */
    kubeapi_reset(&server, NULL);
    kubeapi_admin_do(&server, "POST", "/objects",
                     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\""
                     MAIN_CM "\",\"namespace\":\"" SYS_NS "\"},\"data\":{\"GLOBAL_OPT_INTERVAL\":"
                     "\"3m\",\"WATCH_NAMESPACE\":\"team-m\"}}");
    setenv("WATCH_NAMESPACE", "team-env", 1);
    mark = kubeapi_log_mark(&server);
    assert_int_equal(open_live(&ss, &s, 0, &err), 0);
    assert_non_null(ss.kube);
    assert_true(ss.main_configmap_found);
    assert_string_equal(wva_kvlist_get(&ss.main_configmap, "GLOBAL_OPT_INTERVAL"), "3m");
    assert_true(s.global_opt_interval == 180);
    assert_string_equal(s.watch_namespace, "team-env");
    assert_int_equal(main_configmap_reads(mark), 1);
    session_close(&ss);
    settings_free(&s);
    unsetenv("WATCH_NAMESPACE");

    /* Absent: the defaults. */
    kubeapi_reset(&server, NULL);
    assert_int_equal(open_live(&ss, &s, 0, &err), 0);
    assert_false(ss.main_configmap_found);
    assert_int_equal(ss.main_configmap.count, 0);
    assert_true(s.global_opt_interval == 60);
    session_close(&ss);
    settings_free(&s);

    /* Forbidden: a run fails (its settings are unknown); doctor is told. */
    kubeapi_admin_do(&server, "PUT", "/rbac",
                     "{\"deny\":[{\"verb\":\"get\",\"resource\":\"configmaps\",\"name\":\""
                     MAIN_CM "\"}]}");
    assert_int_equal(open_live(&ss, &s, SESSION_RECORDS, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_FORBIDDEN);
    assert_non_null(strstr(err.msg, "cannot read the main ConfigMap: GET configmaps "
                                    SYS_NS "/" MAIN_CM ": 403 Forbidden"));
    assert_null(ss.main_configmap_refused);
    session_close(&ss);
    settings_free(&s);
    assert_int_equal(open_live(&ss, &s, SESSION_DIAGNOSE, &err), 0);
    assert_false(ss.main_configmap_found);
    assert_non_null(ss.main_configmap_refused);
    assert_non_null(strstr(ss.main_configmap_refused, "403 Forbidden"));
    session_close(&ss);
    settings_free(&s);
    kubeapi_admin_do(&server, "DELETE", "/rbac", NULL);

    /* Any other failure fails doctor too. */
    kubeapi_admin_do(&server, "PUT", "/faults",
                     "{\"kind\":\"status\",\"status\":500,\"method\":\"GET\",\"path\":\""
                     "/configmaps/" MAIN_CM "$\",\"count\":-1}");
    assert_int_equal(open_live(&ss, &s, SESSION_DIAGNOSE, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_SERVER);
    session_close(&ss);
    settings_free(&s);
    kubeapi_admin_do(&server, "DELETE", "/faults", NULL);
}

static void test_live_configuration_errors(void **state)
{
    static const char *const args[] = {"--once", "--kubeconfig", "/nonexistent/kubeconfig",
                                       NULL};
    struct wva_session ss = {0};
    struct wva_settings s;
    struct wva_error err = {0};

    (void)state;
    parse(&s, args);
    assert_int_equal(session_open_live(&ss, &s, 0, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/kubeconfig: cannot open"));
    session_close(&ss);
    settings_free(&s);

    /* A bad setting in the main ConfigMap is a configuration error. */
    kubeapi_reset(&server, NULL);
    kubeapi_admin_do(&server, "POST", "/objects",
                     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\""
                     MAIN_CM "\",\"namespace\":\"" SYS_NS "\"},\"data\":{\"GLOBAL_OPT_ENABLE\":"
                     "\"perhaps\"}}");
    assert_int_equal(open_live(&ss, &s, 0, &err), -1);
    assert_int_equal(err.kind, WVA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "GLOBAL_OPT_ENABLE"));
    session_close(&ss);
    settings_free(&s);
}

int main(void)
{
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_replay_precedence_and_kinds),
        cmocka_unit_test(test_environment_only),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_live_main_configmap),
        cmocka_unit_test(test_live_configuration_errors),
    };
    int failed;

    log_configure(0, 0);
    failed = cmocka_run_group_tests_name("session offline", offline, NULL, NULL);
    failed += cmocka_run_group_tests_name("session live", live, group_setup, group_teardown);
    return failed ? 1 : 0;
}
