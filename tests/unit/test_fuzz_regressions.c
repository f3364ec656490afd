/* test_fuzz_regressions.c - what the fuzzers found, kept found.
 *
 * Every input under tests/fuzz/regressions/<target>/ once crashed a fuzz
 * target or broke one of its properties (tests/fuzz/README.md lists them).
 * They are replayed here through the same per-input bodies the fuzzers run
 * (tests/fuzz/fuzz_<target>.c, built into this program with
 * WVA_FUZZ_NO_MAIN, so without libFuzzer or clang), and the hand-written
 * seeds are replayed with them, so the targets' properties are checked on
 * every `make check`.  Each finding also has a test of its own asserting
 * the fixed behaviour directly.
 */
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fuzz/fuzz.h"
#include "wva/kubeconfig.h"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static const struct {
    const char *name;
    fuzz_fn fn;
} targets[] = {
    {"snapshot", fuzz_snapshot_one},     {"kube_list", fuzz_kube_list_one},
    {"prom", fuzz_prom_one},             {"configmap", fuzz_configmap_one},
    {"yaml", fuzz_yaml_one},             {"kubeconfig", fuzz_kubeconfig_one},
    {"duration", fuzz_duration_one},     {"quantity", fuzz_quantity_one},
    {"values", fuzz_values_one},         {"plan", fuzz_plan_one},
};
#define TARGETS (sizeof(targets) / sizeof(targets[0]))

/* tests/fuzz/<kind>/<target>, honouring $top_srcdir. */
static void fuzz_dir(const char *kind, const char *target, char *buf, size_t size)
{
    const char *top = getenv("top_srcdir");

    snprintf(buf, size, "%s/tests/fuzz/%s/%s", top ? top : ".", kind, target);
}

/* Run fn on every regular file of dir; returns how many (0 when the
 * directory does not exist). */
static size_t replay_dir(const char *dir, fuzz_fn fn)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        size_t len = 0;
        char *data;

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        data = read_whole_file(path, &len);
        assert_non_null(data);
        print_message("replay %s\n", path);
        assert_int_equal(fn((const uint8_t *)data, len), 0);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

/* Every crash input still passes its target (a failure aborts). */
static void test_regression_inputs_replay(void **state)
{
    size_t total = 0;
    char dir[4096];

    (void)state;
    for (size_t i = 0; i < TARGETS; i++) {
        fuzz_dir("regressions", targets[i].name, dir, sizeof(dir));
        total += replay_dir(dir, targets[i].fn);
    }
    assert_true(total >= 1);
}

/* The hand-written seeds hold the targets' properties too: each target
 * has some, so a property broken by a later change shows up here. */
static void test_seed_inputs_replay(void **state)
{
    char dir[4096];

    (void)state;
    for (size_t i = 0; i < TARGETS; i++) {
        fuzz_dir("seeds", targets[i].name, dir, sizeof(dir));
        if (replay_dir(dir, targets[i].fn) == 0)
            fail_msg("no seeds in %s", dir);
    }
}

/* ---- kubeconfig: a server URL without a host ------------------------------ */

/* Write text to a fresh kubeconfig file in a new temporary directory. */
static void write_kubeconfig(const char *text, char *dir, size_t dir_size, char *path,
                             size_t path_size)
{
    FILE *f;

    snprintf(dir, dir_size, "%s/wva-fuzzreg-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, path_size, "%s/config", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int load_server(const char *server, struct kube_config *cfg, struct wva_error *err)
{
    char text[1024], dir[512], path[600];
    int rc;

    snprintf(text, sizeof(text),
             "current-context: c\n"
             "clusters: [{name: k, cluster: {server: \"%s\"}}]\n"
             "contexts: [{name: c, context: {cluster: k}}]\n",
             server);
    write_kubeconfig(text, dir, sizeof(dir), path, sizeof(path));
    rc = kube_config_load_file(path, NULL, cfg, err);
    unlink(path);
    rmdir(dir);
    return rc;
}

/* Found by fuzz_kubeconfig: "http://" passed the scheme check, then lost
 * its slashes to the trailing-slash trim and became the server "http:". */
static void test_kubeconfig_server_without_host_refused(void **state)
{
    static const char *const bad[] = {"http://", "https://", "https:///", "http:////x"};
    struct kube_config cfg;
    struct wva_error err;
    char dir[4096], path[4200];
    size_t len;
    char *text;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[128];

        assert_int_equal(load_server(bad[i], &cfg, &err), -1);
        snprintf(want, sizeof(want), "cluster \"k\": server \"%s\" is not an http(s) URL",
                 bad[i]);
        if (!strstr(err.msg, want))
            fail_msg("server %s: got \"%s\"", bad[i], err.msg);
        assert_null(cfg.server);
    }

    /* the fuzzer's own input: refused at the cluster, before the user's
     * tokenFile is looked for */
    fuzz_dir("regressions", "kubeconfig", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/server-without-host.yaml", dir);
    text = read_whole_file(path, &len);
    assert_non_null(text);
    assert_int_equal(kube_config_load_file(path, NULL, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "server \"http://\" is not an http(s) URL"));
    free(text);
}

/* The fix keeps what was valid: a trailing slash is still trimmed. */
static void test_kubeconfig_server_with_host_kept(void **state)
{
    struct kube_config cfg;
    struct wva_error err;

    (void)state;
    assert_int_equal(load_server("https://h:6443//", &cfg, &err), 0);
    assert_string_equal(cfg.server, "https://h:6443");
    kube_config_free(&cfg);
    assert_int_equal(load_server("http://127.0.0.1", &cfg, &err), 0);
    assert_string_equal(cfg.server, "http://127.0.0.1");
    kube_config_free(&cfg);
    assert_int_equal(load_server("ftp://h", &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "server \"ftp://h\" is not an http(s) URL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_inputs_replay),
        cmocka_unit_test(test_seed_inputs_replay),
        cmocka_unit_test(test_kubeconfig_server_without_host_refused),
        cmocka_unit_test(test_kubeconfig_server_with_host_kept),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
