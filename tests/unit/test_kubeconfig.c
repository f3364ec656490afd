/* test_kubeconfig.c - kubeconfig files (fixtures under
 * tests/fixtures/kube/kubeconfig), the in-cluster service account, and the
 * one secret-file reader every token file goes through (secret.h). */
#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include "wva/kubeconfig.h"
#include "wva/secret.h"

static char kc_dir[4096];

/* snprintf that must not truncate (checking the result also tells GCC's
 * -Wformat-truncation that truncation is handled). */
#define FMT(buf, ...) assert_true(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

/* Path of a kubeconfig fixture (a few static buffers in rotation so that
 * two calls can appear in one expression). */
static const char *kc_path(const char *name)
{
    static char paths[4][4096];
    static int next;
    char *path = paths[next++ % 4];

    assert_true(snprintf(path, 4096, "%s/%s", kc_dir, name) < 4096);
    return path;
}

static int group_setup(void **state)
{
    (void)state;
    FMT(kc_dir, "%s", fixture_path("kube/kubeconfig"));
    return 0;
}

/* Load a context of a fixture; asserts success. */
static void load_ok(const char *file, const char *context, struct kube_config *cfg)
{
    struct wva_error err = {0};
    char path[4096];

    FMT(path, "%s", kc_path(file));
    if (kube_config_load_file(path, context, cfg, &err) != 0)
        fail_msg("unexpected error: %s", err.msg);
}

/* Load a context that must fail; returns the message in err. */
static void load_fails(const char *file, const char *context, struct wva_error *err)
{
    struct kube_config cfg;
    char path[4096];

    FMT(path, "%s", kc_path(file));
    assert_int_equal(kube_config_load_file(path, context, &cfg, err), -1);
    assert_null(cfg.server);        /* nothing half-filled is left behind */
}

static void test_current_context_files_and_token(void **state)
{
    struct kube_config cfg;
    char expect_ca[4096];

    (void)state;
    load_ok("config.yaml", NULL, &cfg);
    assert_string_equal(cfg.context, "dev");
    assert_string_equal(cfg.server, "https://dev.example.com:6443");  /* '/' dropped */
    assert_string_equal(cfg.namespace_name, "team-a");
    FMT(expect_ca, "%s/certs/ca.crt", kc_dir);
    assert_string_equal(cfg.ca_file, expect_ca);                     /* relative resolved */
    assert_null(cfg.ca_data);
    assert_string_equal(cfg.server_name, "kubernetes.default.svc");
    assert_false(cfg.insecure_skip_verify);
    assert_string_equal(cfg.token, "dev-token-abc");
    assert_null(cfg.client_cert_file);
    assert_string_equal(cfg.source, kc_path("config.yaml"));
    kube_config_free(&cfg);
    kube_config_free(&cfg);     /* freed struct is zeroed: harmless twice */
    kube_config_free(NULL);
}

static void test_inline_data_decoded(void **state)
{
    struct kube_config cfg;
    char *ca = read_whole_file(fixture_path("kube/ca.crt"), NULL);
    char *cert = read_whole_file(fixture_path("kube/client.crt"), NULL);
    char *key = read_whole_file(fixture_path("kube/client.key"), NULL);

    (void)state;
    load_ok("config.yaml", "prod", &cfg);
    assert_string_equal(cfg.context, "prod");
    assert_string_equal(cfg.server, "https://10.1.2.3:443");
    assert_string_equal(cfg.namespace_name, "default");
    /* Data wins over the file named beside it. */
    assert_null(cfg.ca_file);
    assert_string_equal(cfg.ca_data, ca);
    assert_string_equal(cfg.client_cert_data, cert);
    assert_string_equal(cfg.client_key_data, key);
    assert_null(cfg.token);
    kube_config_free(&cfg);
    free(ca);
    free(cert);
    free(key);
}

static void test_token_file_and_insecure(void **state)
{
    struct kube_config cfg;
    char expect[4096];

    (void)state;
    load_ok("config.yaml", "file-token", &cfg);
    assert_string_equal(cfg.token, "file-token-123");   /* newline trimmed */
    assert_true(cfg.insecure_skip_verify);
    assert_string_equal(cfg.server, "http://127.0.0.1:8080");
    FMT(expect, "%s/certs/client.crt", kc_dir);
    assert_string_equal(cfg.client_cert_file, expect);
    assert_string_equal(cfg.client_key_file, "/abs/client.key");  /* absolute kept */
    kube_config_free(&cfg);

    load_ok("config.yaml", "both-tokens", &cfg);
    assert_string_equal(cfg.token, "inline-wins");
    kube_config_free(&cfg);

    load_ok("config.yaml", "anonymous", &cfg);
    assert_null(cfg.token);
    assert_null(cfg.client_cert_data);
    kube_config_free(&cfg);
}

static void test_missing_context_and_references(void **state)
{
    struct wva_error err = {0};

    (void)state;
    load_fails("broken.yaml", NULL, &err);
    assert_non_null(strstr(err.msg, "context \"missing-ctx\" not found"));
    assert_non_null(strstr(err.msg, "broken.yaml"));

    load_fails("config.yaml", "nope", &err);
    assert_non_null(strstr(err.msg, "context \"nope\" not found"));

    load_fails("broken.yaml", "no-cluster", &err);
    assert_non_null(strstr(err.msg, "cluster \"nowhere\" (of context \"no-cluster\") not found"));

    load_fails("config.yaml", "dangling-user", &err);
    assert_non_null(strstr(err.msg, "user \"ghost\" (of context \"dangling-user\") not found"));
}

static void test_bad_fields_named(void **state)
{
    struct wva_error err = {0};

    (void)state;
    load_fails("broken.yaml", "bad-data", &err);
    assert_non_null(strstr(err.msg, "cluster \"c\": certificate-authority-data is not valid"));

    load_fails("broken.yaml", "bad-bool", &err);
    assert_non_null(strstr(err.msg, "insecure-skip-tls-verify \"maybe\" is not a boolean"));

    load_fails("broken.yaml", "no-server", &err);
    assert_non_null(strstr(err.msg, "cluster \"no-server\" has no server"));

    load_fails("broken.yaml", "ftp", &err);
    assert_non_null(strstr(err.msg, "server \"ftp://c.example.com\" is not an http(s) URL"));

    load_fails("broken.yaml", "missing-token-file", &err);
    assert_non_null(strstr(err.msg, "tokenFile"));
    assert_non_null(strstr(err.msg, "does-not-exist.txt"));
    assert_non_null(strstr(err.msg, "No such file"));

    load_fails("no-such-kubeconfig.yaml", NULL, &err);
    assert_non_null(strstr(err.msg, "no-such-kubeconfig.yaml: cannot open: No such file"));
    assert_int_equal(err.kind, WVA_ERR_CONFIG);
}

static void test_plugins_refused_clearly(void **state)
{
    struct wva_error err = {0};

    (void)state;
    load_fails("exec.yaml", NULL, &err);
    assert_non_null(strstr(err.msg, "user \"gke-user\" uses an exec credential plugin"));
    assert_non_null(strstr(err.msg, "gke-gcloud-auth-plugin"));

    load_fails("exec.yaml", "oidc", &err);
    assert_non_null(strstr(err.msg, "auth-provider \"oidc\""));

    load_fails("exec.yaml", "basic", &err);
    assert_non_null(strstr(err.msg, "username/password"));
    assert_null(strstr(err.msg, "hunter2"));    /* never echo secrets */
}

/* A temporary service-account directory. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    FILE *f;

    FMT(path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[4096];

    FMT(path, "%s/%s", dir, name);
    unlink(path);
}

static void test_in_cluster(void **state)
{
    char dir[] = "/tmp/wva-sa-XXXXXX";
    char expect_ca[4096];
    struct kube_config cfg;
    struct wva_error err = {0};

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_file(dir, "token", "sa-token-xyz\n");
    write_file(dir, "ca.crt", "-----BEGIN CERTIFICATE-----\n");
    write_file(dir, "namespace", "wva-system");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);

    assert_int_equal(kube_config_in_cluster(dir, &cfg, &err), 0);
    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    assert_string_equal(cfg.token, "sa-token-xyz");
    FMT(expect_ca, "%s/ca.crt", dir);
    assert_string_equal(cfg.ca_file, expect_ca);
    assert_string_equal(cfg.namespace_name, "wva-system");
    assert_string_equal(cfg.source, "in-cluster");
    kube_config_free(&cfg);

    /* IPv6 service address; no namespace file. */
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    remove_file(dir, "namespace");
    assert_int_equal(kube_config_in_cluster(dir, &cfg, &err), 0);
    assert_string_equal(cfg.server, "https://[fd00::1]:443");
    assert_string_equal(cfg.namespace_name, "default");
    kube_config_free(&cfg);

    /* kube_config_load picks in-cluster when nothing explicit is given. */
    unsetenv("KUBECONFIG");
    assert_int_equal(kube_config_load(NULL, dir, &cfg, &err), 0);
    assert_string_equal(cfg.source, "in-cluster");
    kube_config_free(&cfg);

    /* An explicit kubeconfig beats the in-cluster environment. */
    assert_int_equal(kube_config_load(kc_path("config.yaml"), dir, &cfg, &err), 0);
    assert_string_equal(cfg.context, "dev");
    kube_config_free(&cfg);

    /* Missing token: error naming the file. */
    remove_file(dir, "token");
    assert_int_equal(kube_config_in_cluster(dir, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "service-account token"));
    assert_non_null(strstr(err.msg, "/token: cannot open: No such file"));
    assert_int_equal(err.kind, WVA_ERR_CONFIG);

    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    write_file(dir, "token", "t");
    assert_int_equal(kube_config_in_cluster(dir, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_PORT \"https\""));

    unsetenv("KUBERNETES_SERVICE_PORT");
    assert_int_equal(kube_config_in_cluster(dir, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT"));

    unsetenv("KUBERNETES_SERVICE_HOST");
    remove_file(dir, "token");
    remove_file(dir, "ca.crt");
    rmdir(dir);
}

/* Every token file (service account, kubeconfig tokenFile,
 * PROMETHEUS_TOKEN_PATH) is read by wva_secret_read_token: trimmed,
 * bounded, no NUL byte, not empty; errors name the file, never the
 * contents. */
static void test_secret_token_files(void **state)
{
    char dir[] = "/tmp/wva-secret-XXXXXX";
    char path[4096], *tok, *big;
    struct wva_error err = {0};
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    FMT(path, "%s/token", dir);
    write_file(dir, "token", " \t tok-en.value \r\n\n");
    tok = wva_secret_read_token("T", path, &err);
    assert_non_null(tok);
    assert_string_equal(tok, "tok-en.value");
    wva_secret_free(tok);
    wva_secret_free(NULL);

    write_file(dir, "token", " \n\t ");
    assert_null(wva_secret_read_token("T", path, &err));
    assert_non_null(strstr(err.msg, "/token: empty"));
    assert_int_equal(err.kind, WVA_ERR_CONFIG);

    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("zq9\0x7w", 1, 7, f);
    fclose(f);
    assert_null(wva_secret_read_token("T", path, &err));
    assert_non_null(strstr(err.msg, "/token: contains a NUL byte"));
    assert_null(strstr(err.msg, "zq9"));

    /* One byte over the bound; exactly the bound is fine. */
    big = malloc(WVA_SECRET_TOKEN_MAX + 2);
    assert_non_null(big);
    memset(big, 'a', WVA_SECRET_TOKEN_MAX + 1);
    big[WVA_SECRET_TOKEN_MAX + 1] = '\0';
    write_file(dir, "token", big);
    assert_null(wva_secret_read_token("T", path, &err));
    assert_non_null(strstr(err.msg, "larger than 65536 bytes"));
    big[WVA_SECRET_TOKEN_MAX] = '\0';
    write_file(dir, "token", big);
    tok = wva_secret_read_token("T", path, &err);
    assert_non_null(tok);
    assert_int_equal(strlen(tok), WVA_SECRET_TOKEN_MAX);
    wva_secret_free(tok);
    free(big);

    /* Wiping really overwrites (the buffer stays ours to look at). */
    char buf[16] = "hunter2";
    wva_secret_wipe(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);

    remove_file(dir, "token");
    rmdir(dir);
}

static void test_load_precedence(void **state)
{
    char home[] = "/tmp/wva-home-XXXXXX";
    char kube_dir[4096], env[8192];
    struct kube_config cfg;
    struct wva_error err = {0};
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

    (void)state;
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_non_null(mkdtemp(home));
    FMT(kube_dir, "%s/.kube", home);
    assert_int_equal(mkdir(kube_dir, 0700), 0);
    setenv("HOME", home, 1);

    /* Nothing anywhere: one clear error. */
    unsetenv("KUBECONFIG");
    assert_int_equal(kube_config_load(NULL, NULL, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "no Kubernetes configuration found"));

    /* ~/.kube/config. */
    char *text = read_whole_file(kc_path("config.yaml"), NULL);
    assert_non_null(text);
    write_file(kube_dir, "config", text);
    free(text);
    assert_int_equal(kube_config_load("", NULL, &cfg, &err), 0);
    assert_string_equal(cfg.context, "dev");
    assert_string_equal(cfg.source + strlen(cfg.source) - 13, "/.kube/config");
    kube_config_free(&cfg);

    /* KUBECONFIG beats ~/.kube/config; only the first file of the list
     * is read. */
    FMT(env, "%s:%s", kc_path("exec.yaml"), kc_path("config.yaml"));
    setenv("KUBECONFIG", env, 1);
    assert_int_equal(kube_config_load(NULL, NULL, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "KUBECONFIG: kubeconfig "));
    assert_non_null(strstr(err.msg, "exec credential plugin"));

    FMT(env, ":%s:%s", kc_path("config.yaml"), kc_path("exec.yaml"));
    setenv("KUBECONFIG", env, 1);
    assert_int_equal(kube_config_load(NULL, NULL, &cfg, &err), 0);
    assert_string_equal(cfg.source, kc_path("config.yaml"));
    kube_config_free(&cfg);
    unsetenv("KUBECONFIG");

    char path[4096];
    FMT(path, "%s/config", kube_dir);
    unlink(path);
    rmdir(kube_dir);
    rmdir(home);
    if (old_home) {
        setenv("HOME", old_home, 1);
        free(old_home);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_context_files_and_token),
        cmocka_unit_test(test_inline_data_decoded),
        cmocka_unit_test(test_token_file_and_insecure),
        cmocka_unit_test(test_missing_context_and_references),
        cmocka_unit_test(test_bad_fields_named),
        cmocka_unit_test(test_plugins_refused_clearly),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_secret_token_files),
        cmocka_unit_test(test_load_precedence),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
