/* test_doctor.c - `wva-optimizer doctor` (SPEC section 10): the rows of
 * the report from snapshot fixtures (tests/fixtures/doctor/ and the skip
 * scenarios), the JSON shape, --namespace/--va, exit codes, and the
 * live-only checks against tests/servers/kubeapi.py (RBAC deny, Lease,
 * unreachable Prometheus, VAs outside the watch namespace, ConfigMap names
 * only a list can see). */
#include "kubeapi_server.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "wva/doctor.h"
#include "wva/exit_codes.h"
#include "wva/log.h"
#include "wva/settings.h"
#include "wva/values.h"

#define SYS_NS "workload-variant-autoscaler-system"

static struct kubeapi_server server;
static struct kube_client *kc;
static bool server_up;

/* ---- helpers ----------------------------------------------------------- */

/* Parse "doctor ARGS..." (NULL-terminated) into s. */
static void parse(struct wva_settings *s, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    struct wva_error err = {0};

    argv[argc++] = (char *)"wva-optimizer";
    argv[argc++] = (char *)"doctor";
    for (; *args && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    if (settings_parse_args(argc, argv, s, &err) != 0)
        fail_msg("settings_parse_args: %s", err.msg);
}

/* doctor_collect on a fixture with extra arguments; asserts success. */
static void offline(struct doctor_report *r, const char *fixture, const char *const *extra)
{
    const char *args[24] = {"--from-file", NULL};
    struct wva_settings s;
    struct wva_error err = {0};
    char path[4096];
    size_t n = 2;

    snprintf(path, sizeof(path), "%s", fixture_path(fixture));
    args[1] = path;
    for (; extra && *extra && n < 22; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    parse(&s, args);
    memset(r, 0, sizeof(*r));
    int rc = doctor_collect(&s, r, &err);
    settings_free(&s);
    if (rc != 0)
        fail_msg("doctor_collect %s: rc %d: %s", fixture, rc, err.msg);
}

static void dump(const struct doctor_report *r)
{
    char *text = doctor_render_table(r);
    fprintf(stderr, "%s", text);
    free(text);
}

/* The row for (scope, ns, name, check); fails the test when absent. */
static const struct doctor_check *row(const struct doctor_report *r, enum doctor_scope scope,
                                      const char *ns, const char *name, const char *check)
{
    for (size_t i = 0; i < r->count; i++) {
        const struct doctor_check *c = &r->checks[i];
        if (c->scope == scope && strcmp(c->namespace_name, ns) == 0 &&
            strcmp(c->name, name) == 0 && strcmp(c->check, check) == 0)
            return c;
    }
    dump(r);
    fail_msg("no row %s %s/%s %s", doctor_scope_name(scope), ns, name, check);
    return NULL;
}

static size_t rows_named(const struct doctor_report *r, const char *check)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        n += strcmp(r->checks[i].check, check) == 0;
    return n;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

#define VA_ROW(r, ns, name, check) row(r, DOCTOR_SCOPE_VA, ns, name, check)
#define NS_ROW(r, ns, name, check) row(r, DOCTOR_SCOPE_NAMESPACE, ns, name, check)
#define GLOBAL_ROW(r, ns, name, check) row(r, DOCTOR_SCOPE_GLOBAL, ns, name, check)

/* Run the doctor command with stdout captured into a malloc'd string;
 * returns the exit code main would choose. */
static int run_main(const char *const *args, char **out)
{
    struct wva_settings s;
    struct wva_error err = {0};
    char path[] = "/tmp/wva-doctor-out-XXXXXX";
    int fd = mkstemp(path), saved;
    int rc;

    assert_true(fd >= 0);
    parse(&s, args);
    fflush(stdout);
    saved = dup(1);
    dup2(fd, 1);
    rc = (int)wva_exit_code_of(doctor_command(&s, &err), &err);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    settings_free(&s);
    *out = read_whole_file(path, NULL);
    unlink(path);
    assert_non_null(*out);
    return rc;
}

/* ---- offline: the VA checks ------------------------------------------- */

static void test_excluded_namespace(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/checks.json", NULL);
    c = VA_ROW(&r, "team-b", "excluded-va", "NamespaceExcluded");
    assert_false(c->ok);
    assert_string_equal(c->finding, "namespace team-b has annotation wva.llmd.ai/exclude=\"true\"");
    assert_string_equal(c->fix, "kubectl annotate namespace team-b wva.llmd.ai/exclude-");
    /* Checks after it are still evaluated on their own... */
    assert_true(VA_ROW(&r, "team-b", "excluded-va", "OutsideWatchNamespace")->ok);
    assert_true(VA_ROW(&r, "team-b", "excluded-va", "InstanceMismatch")->ok);
    c = VA_ROW(&r, "team-b", "excluded-va", "InvalidSpec");
    assert_false(c->ok);
    assert_string_equal(c->finding, "spec.variantCost: \"x\" does not match ^\\d+(\\.\\d+)?$");
    c = VA_ROW(&r, "team-b", "excluded-va", "TargetNotFound");
    assert_true(c->ok);
    assert_string_equal(c->finding, "not evaluated: InvalidSpec fails");
    /* ...but metrics only where the engine got that far. */
    c = VA_ROW(&r, "team-b", "excluded-va", "MetricsUnavailable");
    assert_true(c->ok);
    assert_string_equal(c->finding, "not evaluated: NamespaceExcluded fails");
    /* The namespace row says the same, with the same fix. */
    c = NS_ROW(&r, "team-b", "", "NamespaceTracked");
    assert_false(c->ok);
    assert_string_equal(c->fix, "kubectl annotate namespace team-b wva.llmd.ai/exclude-");
    doctor_report_free(&r);
}

static void test_instance_mismatch(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/checks.json", NULL);
    c = VA_ROW(&r, "team-a", "other-instance", "InstanceMismatch");
    assert_false(c->ok);
    assert_string_equal(c->finding,
                        "label wva.llmd.ai/controller-instance=b differs from this instance a");
    assert_string_equal(c->fix, "kubectl label va other-instance -n team-a "
                                "wva.llmd.ai/controller-instance=a --overwrite");
    /* Its Deployment is missing too: reported now, not after relabelling. */
    c = VA_ROW(&r, "team-a", "other-instance", "TargetNotFound");
    assert_false(c->ok);
    assert_string_equal(c->finding, "Deployment team-a/other-instance not found");
    assert_true(VA_ROW(&r, "team-a", "other-instance", "InvalidSpec")->ok);
    assert_string_equal(VA_ROW(&r, "team-a", "other-instance", "MetricsUnavailable")->finding,
                        "not evaluated: InstanceMismatch fails");
    /* A matching label passes with a finding saying so. */
    c = VA_ROW(&r, "team-a", "good", "InstanceMismatch");
    assert_true(c->ok);
    assert_string_equal(c->finding, "label wva.llmd.ai/controller-instance=a matches this instance");
    assert_string_equal(c->fix, "");
    doctor_report_free(&r);
}

static void test_invalid_spec(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/checks.json", NULL);
    c = VA_ROW(&r, "team-a", "bad-cost", "InvalidSpec");
    assert_false(c->ok);
    assert_string_equal(c->finding, "spec.variantCost: \"abc\" does not match ^\\d+(\\.\\d+)?$");
    assert_string_equal(c->fix, "kubectl -n team-a patch va bad-cost --type merge -p "
                                "'{\"spec\":{\"variantCost\":\"10.0\"}}'");
    assert_string_equal(VA_ROW(&r, "team-a", "bad-cost", "MetricsUnavailable")->finding,
                        "not evaluated: InvalidSpec fails");
    c = VA_ROW(&r, "team-a", "good", "InvalidSpec");
    assert_true(c->ok);
    assert_string_equal(c->finding, "spec is valid (Deployment good, modelID m1, variantCost 10)");
    doctor_report_free(&r);

    /* Every kind of problem of the skip-invalid-spec scenario fails. */
    offline(&r, "scenarios/skip-invalid-spec.json", NULL);
    size_t failing = 0;
    for (size_t i = 0; i < r.count; i++) {
        if (strcmp(r.checks[i].check, "InvalidSpec") == 0 && !r.checks[i].ok) {
            failing++;
            assert_true(strncmp(r.checks[i].finding, "spec", 4) == 0);
            assert_true(strncmp(r.checks[i].fix, "kubectl -n ", 11) == 0);
        }
    }
    assert_true(failing >= 3);
    doctor_report_free(&r);
}

static void test_target_not_found(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/checks.json", NULL);
    c = VA_ROW(&r, "team-a", "no-target", "TargetNotFound");
    assert_false(c->ok);
    assert_string_equal(c->finding, "Deployment team-a/missing-deploy not found");
    assert_string_equal(c->fix,
                        "create Deployment team-a/missing-deploy (kubectl -n team-a create "
                        "deployment missing-deploy --image=<vllm-image>), or point the VA at an "
                        "existing Deployment: kubectl -n team-a patch va no-target --type merge "
                        "-p '{\"spec\":{\"scaleTargetRef\":{\"name\":\"<deployment>\"}}}'");
    c = VA_ROW(&r, "team-a", "good", "TargetNotFound");
    assert_true(c->ok);
    assert_string_equal(c->finding, "Deployment team-a/good found (1 replicas, 1 ready)");
    doctor_report_free(&r);
}

static void test_metrics_unavailable(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/checks.json", NULL);
    c = VA_ROW(&r, "team-a", "no-metrics", "MetricsUnavailable");
    assert_false(c->ok);
    assert_string_equal(c->finding, "no usable metrics for model m2; holding replicas");
    assert_contains(c->fix, "make Prometheus scrape the vLLM pods of Deployment team-a/no-metrics");
    assert_contains(c->fix, "vllm:kv_cache_usage_perc{namespace=\"team-a\",model_name=\"m2\"}");
    c = VA_ROW(&r, "team-a", "good", "MetricsUnavailable");
    assert_true(c->ok);
    assert_contains(c->finding, "metrics found for model m1; plan: ");
    doctor_report_free(&r);

    offline(&r, "scenarios/skip-metrics-unavailable.json", NULL);
    assert_false(VA_ROW(&r, "team-a", "blind-l4", "MetricsUnavailable")->ok);
    assert_false(VA_ROW(&r, "team-a", "blind-h100", "MetricsUnavailable")->ok);
    doctor_report_free(&r);

    /* The model has metrics, this variant's pods do not: held, so failing. */
    offline(&r, "scenarios/lp-unknown-variant-holds.json", NULL);
    c = VA_ROW(&r, "team-a", "m-a100", "MetricsUnavailable");
    assert_false(c->ok);
    assert_contains(c->finding, "has metrics but not this variant's pods");
    assert_true(VA_ROW(&r, "team-a", "m-l4", "MetricsUnavailable")->ok);
    doctor_report_free(&r);
}

static void test_watch_namespace(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    const char *fix = "watch namespace team-b (--watch-namespace team-b, or kubectl -n "
                      SYS_NS " patch configmap wva-variantautoscaling-config --type merge -p "
                      "'{\"data\":{\"WATCH_NAMESPACE\":\"team-b\"}}'), or watch all namespaces: "
                      "kubectl -n " SYS_NS " patch configmap wva-variantautoscaling-config "
                      "--type json -p '[{\"op\":\"remove\",\"path\":\"/data/WATCH_NAMESPACE\"}]'";
    static const char *const checks[] = {"NamespaceExcluded", "InstanceMismatch", "InvalidSpec",
                                          "TargetNotFound", "MetricsUnavailable"};
    (void)state;

    offline(&r, "scenarios/skip-outside-watch-namespace.json", NULL);
    c = VA_ROW(&r, "team-b", "other-l4", "OutsideWatchNamespace");
    assert_false(c->ok);
    assert_string_equal(c->finding, "namespace team-b is outside the watch namespace team-a");
    assert_string_equal(c->fix, fix);
    /* Every other row of that VA says so and shows the fix. */
    for (size_t i = 0; i < 5; i++) {
        c = VA_ROW(&r, "team-b", "other-l4", checks[i]);
        assert_true(c->ok);
        assert_contains(c->finding, "but namespace team-b is outside the watch namespace team-a");
        assert_string_equal(c->fix, fix);
    }
    /* The VA in the watch namespace passes everything. */
    c = VA_ROW(&r, "team-a", "llama-l4", "OutsideWatchNamespace");
    assert_true(c->ok);
    assert_string_equal(c->finding, "namespace team-a is the watch namespace");
    assert_true(VA_ROW(&r, "team-a", "llama-l4", "MetricsUnavailable")->ok);
    doctor_report_free(&r);

    /* Given as a flag, the fix names the flag. */
    static const char *const flag[] = {"--watch-namespace", "team-a", NULL};
    offline(&r, "scenarios/skip-outside-watch-namespace.json", flag);
    c = VA_ROW(&r, "team-b", "other-l4", "OutsideWatchNamespace");
    assert_string_equal(c->fix, "watch namespace team-b (--watch-namespace team-b, or run with "
                                "--watch-namespace team-b), or watch all namespaces: run without "
                                "--watch-namespace");
    doctor_report_free(&r);

    /* The exclusion annotation of the watch namespace is ignored. */
    offline(&r, "scenarios/skip-exclusion-ignored-in-watch-namespace.json", NULL);
    c = VA_ROW(&r, "team-x", "llama-l4", "NamespaceExcluded");
    assert_true(c->ok);
    assert_string_equal(c->finding,
                        "annotation wva.llmd.ai/exclude is ignored: team-x is the watch namespace");
    assert_true(NS_ROW(&r, "team-x", "", "NamespaceTracked")->ok);
    assert_int_equal(doctor_failed_count(&r), 0);
    doctor_report_free(&r);
}

/* ---- offline: ConfigMaps and global settings --------------------------- */

static void test_configmap_names(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/checks.json", NULL);
    /* Both names in the system namespace: ambiguity, delete the alias. */
    c = GLOBAL_ROW(&r, SYS_NS, "wva-saturation-scaling-config", "ConfigMapNames");
    assert_false(c->ok);
    assert_string_equal(c->finding, "ConfigMaps " SYS_NS "/wva-saturation-config and " SYS_NS
                                    "/wva-saturation-scaling-config both exist: "
                                    "wva-saturation-config wins and "
                                    "wva-saturation-scaling-config is ignored");
    assert_string_equal(c->fix, "kubectl -n " SYS_NS " delete configmap "
                                "wva-saturation-scaling-config");
    c = GLOBAL_ROW(&r, SYS_NS, "wva-saturation-config", "ConfigMapNames");
    assert_true(c->ok);
    assert_contains(c->finding, "is read (it wins over the alias name)");
    assert_true(GLOBAL_ROW(&r, SYS_NS, "wva-variantautoscaling-config", "ConfigMapNames")->ok);
    /* A near miss: not read; renamed by the fix. */
    c = NS_ROW(&r, "team-a", "wva-saturation-configs", "ConfigMapNames");
    assert_false(c->ok);
    assert_string_equal(c->finding, "ConfigMap team-a/wva-saturation-configs is not read: the "
                                    "name WVA reads is wva-saturation-config (or the alias "
                                    "wva-saturation-scaling-config)");
    assert_string_equal(c->fix, "kubectl -n team-a get configmap wva-saturation-configs -o json "
                                "| jq '.metadata = {name: \"wva-saturation-config\", namespace: "
                                "\"team-a\"}' | kubectl create -f - && kubectl -n team-a delete "
                                "configmap wva-saturation-configs");
    /* Our name in a namespace without VAs or label: the label fixes it. */
    c = NS_ROW(&r, "team-c", "wva-scale-to-zero-config", "ConfigMapNames");
    assert_false(c->ok);
    assert_string_equal(c->finding, "ConfigMap team-c/wva-scale-to-zero-config is not read: "
                                    "namespace team-c has no VA and no label "
                                    "wva.llmd.ai/config-enabled=\"true\", so its local ConfigMaps "
                                    "are not tracked");
    assert_string_equal(c->fix, "kubectl label namespace team-c wva.llmd.ai/config-enabled=true");
    c = NS_ROW(&r, "team-c", "", "NamespaceTracked");
    assert_false(c->ok);
    assert_string_equal(c->fix, "kubectl label namespace team-c wva.llmd.ai/config-enabled=true");
    /* The alias alone, in a labelled namespace: accepted. */
    c = NS_ROW(&r, "team-d", "wva-model-scale-to-zero-config", "ConfigMapNames");
    assert_true(c->ok);
    assert_contains(c->finding, "read under the upstream alias name");
    c = NS_ROW(&r, "team-d", "", "NamespaceTracked");
    assert_true(c->ok);
    assert_string_equal(c->finding, "tracked (0 VA(s), label wva.llmd.ai/config-enabled=true): "
                                    "its local ConfigMaps are read");
    assert_true(NS_ROW(&r, "team-a", "", "NamespaceTracked")->ok);
    doctor_report_free(&r);

    /* The shared scenarios: alias read globally; excluded team-d untracked. */
    offline(&r, "scenarios/config-alias-and-untracked.json", NULL);
    assert_true(GLOBAL_ROW(&r, SYS_NS, "wva-saturation-scaling-config", "ConfigMapNames")->ok);
    c = NS_ROW(&r, "team-d", "wva-saturation-config", "ConfigMapNames");
    assert_false(c->ok);
    assert_string_equal(c->fix, "kubectl annotate namespace team-d wva.llmd.ai/exclude-");
    c = NS_ROW(&r, "team-c", "wva-saturation-config", "ConfigMapNames");
    assert_false(c->ok);
    assert_string_equal(c->fix, "kubectl label namespace team-c wva.llmd.ai/config-enabled=true");
    doctor_report_free(&r);

    offline(&r, "scenarios/config-both-names.json", NULL);
    assert_false(GLOBAL_ROW(&r, SYS_NS, "wva-saturation-scaling-config", "ConfigMapNames")->ok);
    assert_int_equal(doctor_failed_count(&r), 1);
    doctor_report_free(&r);
}

static void test_global_settings(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/checks.json", NULL);
    c = GLOBAL_ROW(&r, "", "", "GlobalOptimizationEnabled");
    assert_false(c->ok);
    assert_string_equal(c->finding, "GLOBAL_OPT_ENABLE is false (ConfigMap " SYS_NS
                                    "/wva-variantautoscaling-config): scheduled runs change "
                                    "nothing");
    assert_string_equal(c->fix, "kubectl -n workload-variant-autoscaler-system patch configmap "
                                "wva-variantautoscaling-config --type merge -p "
                                "'{\"data\":{\"GLOBAL_OPT_ENABLE\":\"true\"}}'");
    c = GLOBAL_ROW(&r, "", "", "OptimizationInterval");
    assert_true(c->ok);
    assert_string_equal(c->finding, "GLOBAL_OPT_INTERVAL 1m0s (default)");
    /* Live-only checks are skipped, and skipped is ok. */
    static const char *const live_only[] = {"PrometheusReachable", "Permissions", "LastRun"};
    for (size_t i = 0; i < 3; i++) {
        c = GLOBAL_ROW(&r, "", "", live_only[i]);
        assert_true(c->ok);
        assert_string_equal(c->finding, "skipped: needs a live cluster");
    }
    doctor_report_free(&r);

    offline(&r, "scenarios/analysis-scale-up.json", NULL);
    c = GLOBAL_ROW(&r, "", "", "GlobalOptimizationEnabled");
    assert_true(c->ok);
    assert_string_equal(c->finding, "GLOBAL_OPT_ENABLE is true (default)");
    doctor_report_free(&r);
}

static void test_interval_below_one_second(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    offline(&r, "doctor/short-interval.json", NULL);
    c = GLOBAL_ROW(&r, "", "", "OptimizationInterval");
    assert_false(c->ok);
    assert_string_equal(c->finding, "GLOBAL_OPT_INTERVAL 500ms (snapshot settings) is below 1s");
    assert_string_equal(c->fix, "kubectl -n " SYS_NS " patch configmap "
                                "wva-variantautoscaling-config --type merge -p "
                                "'{\"data\":{\"GLOBAL_OPT_INTERVAL\":\"60s\"}}'");
    doctor_report_free(&r);
}

/* ---- offline: filtering, rendering, exit codes ------------------------- */

static void test_filter_namespace_and_va(void **state)
{
    struct doctor_report r;
    static const char *const by_ns[] = {"--namespace", "team-b", NULL};
    static const char *const by_va[] = {"--va", "good", NULL};
    static const char *const none[] = {"--namespace", "team-b", "--va", "good", NULL};
    (void)state;

    offline(&r, "doctor/checks.json", by_ns);
    for (size_t i = 0; i < r.count; i++) {
        const struct doctor_check *c = &r.checks[i];
        if (c->scope != DOCTOR_SCOPE_GLOBAL)
            assert_string_equal(c->namespace_name, "team-b");
    }
    assert_int_equal(rows_named(&r, "MetricsUnavailable"), 1);
    assert_int_equal(rows_named(&r, "NamespaceTracked"), 1);
    assert_int_equal(rows_named(&r, "GlobalOptimizationEnabled"), 1);   /* always there */
    doctor_report_free(&r);

    offline(&r, "doctor/checks.json", by_va);
    size_t va_rows = 0;
    for (size_t i = 0; i < r.count; i++) {
        if (r.checks[i].scope == DOCTOR_SCOPE_VA) {
            va_rows++;
            assert_string_equal(r.checks[i].name, "good");
        } else if (r.checks[i].scope == DOCTOR_SCOPE_NAMESPACE) {
            assert_string_equal(r.checks[i].namespace_name, "team-a");
        }
    }
    assert_int_equal(va_rows, 6);   /* one row per check */
    doctor_report_free(&r);

    /* A VA that is not there is a failing row, not silence. */
    offline(&r, "doctor/checks.json", none);
    const struct doctor_check *c = row(&r, DOCTOR_SCOPE_VA, "team-b", "good", "VAFound");
    assert_false(c->ok);
    assert_string_equal(c->finding, "no VariantAutoscaling good in namespace team-b in the snapshot");
    assert_int_equal(rows_named(&r, "NamespaceTracked"), 0);
    doctor_report_free(&r);
}

static void test_json_shape(void **state)
{
    static const char *const args[] = {"--from-file", NULL, "--output", "json", NULL};
    const char *argv[5];
    char path[4096], *out = NULL;
    json_object *doc, *checks, *v;
    (void)state;

    snprintf(path, sizeof(path), "%s", fixture_path("doctor/checks.json"));
    memcpy(argv, args, sizeof(argv));
    argv[1] = path;
    assert_int_equal(run_main(argv, &out), 4);
    doc = json_tokener_parse(out);
    assert_non_null(doc);
    assert_int_equal(json_object_object_length(doc), 3);
    assert_string_equal(json_at(doc, "kind"), "WVADoctorReport");
    assert_true(json_object_object_get_ex(doc, "version", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int(v), 1);
    assert_true(json_object_object_get_ex(doc, "checks", &checks));
    assert_true(json_object_array_length(checks) > 40);
    static const char *const keys[] = {"scope", "namespace", "name", "check", "ok", "finding",
                                       "fix"};
    bool saw_fail = false;
    for (size_t i = 0; i < json_object_array_length(checks); i++) {
        json_object *c = json_object_array_get_idx(checks, i);
        assert_int_equal(json_object_object_length(c), 7);
        for (size_t k = 0; k < 7; k++) {
            assert_true(json_object_object_get_ex(c, keys[k], &v));
            assert_true(json_object_is_type(v, strcmp(keys[k], "ok") == 0 ? json_type_boolean
                                                                          : json_type_string));
        }
        const char *scope = json_at(c, "scope");
        assert_true(strcmp(scope, "global") == 0 || strcmp(scope, "namespace") == 0 ||
                    strcmp(scope, "va") == 0);
        if (strcmp(json_at(c, "check"), "NamespaceExcluded") == 0 &&
            strcmp(json_at(c, "name"), "excluded-va") == 0) {
            assert_string_equal(json_at(c, "ok"), "false");
            assert_string_equal(json_at(c, "fix"),
                                "kubectl annotate namespace team-b wva.llmd.ai/exclude-");
            saw_fail = true;
        }
    }
    assert_true(saw_fail);
    /* Slashes are not escaped: fixes stay copy-pasteable. */
    assert_non_null(strstr(out, "team-a/missing-deploy"));
    json_object_put(doc);
    free(out);
}

static void test_table_and_exit_codes(void **state)
{
    const char *argv[3] = {"--from-file", NULL, NULL};
    char path[4096], *out = NULL;
    (void)state;

    snprintf(path, sizeof(path), "%s", fixture_path("scenarios/analysis-scale-up.json"));
    argv[1] = path;
    assert_int_equal(run_main(argv, &out), 0);
    assert_true(strncmp(out, "SCOPE      NAMESPACE", 20) == 0);
    assert_non_null(strstr(out, " checks, 0 failing\n"));
    assert_null(strstr(out, "FAIL"));
    free(out);

    snprintf(path, sizeof(path), "%s", fixture_path("doctor/checks.json"));
    assert_int_equal(run_main(argv, &out), 4);
    /* A failing row is followed by its fix, indented. */
    assert_non_null(strstr(out, "  FAIL  namespace team-b has annotation wva.llmd.ai/exclude=\"true\"\n"
                                "    fix: kubectl annotate namespace team-b wva.llmd.ai/exclude-\n"));
    free(out);

    /* Usage and configuration errors: 2. */
    snprintf(path, sizeof(path), "%s", fixture_path("snapshot/not-json.json"));
    assert_int_equal(run_main(argv, &out), 2);
    assert_string_equal(out, "");
    free(out);
}

static void test_render_empty_and_free(void **state)
{
    struct doctor_report r = {0};
    char *text;
    (void)state;

    text = doctor_render_json(&r);
    assert_non_null(strstr(text, "\"kind\": \"WVADoctorReport\""));
    assert_non_null(strstr(text, "\"checks\": ["));
    free(text);
    text = doctor_render_table(&r);
    assert_non_null(strstr(text, "0 checks, 0 failing"));
    free(text);
    assert_int_equal(doctor_failed_count(&r), 0);
    doctor_report_free(&r);
    doctor_report_free(NULL);
    assert_string_equal(doctor_scope_name(DOCTOR_SCOPE_NAMESPACE), "namespace");
}

/* ---- live: kubeapi.py -------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    log_configure(0, 0);
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

/* A TCP port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* The cluster of doctor/live.json, plus a Lease whose last completed run
 * was `age` seconds ago (age < 0: no Lease). */
static void load_cluster(double age)
{
    char *text = read_whole_file(fixture_path("doctor/live.json"), NULL);
    char body[512], ts[32];

    assert_non_null(text);
    kubeapi_reset(&server, NULL);
    kubeapi_admin_do(&server, "POST", "/objects", text);
    free(text);
    if (age >= 0) {
        values_format_rfc3339((double)time(NULL) - age, ts, sizeof(ts));
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":"
                 "{\"name\":\"wva-optimizer\",\"namespace\":\"" SYS_NS "\",\"annotations\":"
                 "{\"wva.llmd.ai/last-completed-run\":\"%s\"}},\"spec\":{}}", ts);
        kubeapi_admin_do(&server, "POST", "/objects", body);
    }
}

static void live(struct doctor_report *r, const char *const *extra)
{
    char kubeconfig[256], url[64];
    const char *args[16] = {"--kubeconfig", kubeconfig, "--prometheus-url", url};
    struct wva_settings s;
    struct wva_error err = {0};
    size_t n = 4;

    snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", server.dir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    for (; extra && *extra && n < 15; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    parse(&s, args);
    memset(r, 0, sizeof(*r));
    int rc = doctor_collect(&s, r, &err);
    settings_free(&s);
    if (rc != 0)
        fail_msg("doctor_collect (live): rc %d: %s", rc, err.msg);
}

static void test_live_permissions(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    load_cluster(30);
    live(&r, NULL);
    c = GLOBAL_ROW(&r, "", "", "Permissions");
    assert_true(c->ok);
    assert_string_equal(c->finding, "all 14 permissions allowed for the credentials in use");
    doctor_report_free(&r);

    kubeapi_admin_do(&server, "PUT", "/rbac",
                     "{\"deny\":[{\"verb\":\"patch\",\"resource\":\"deployments/scale\"},"
                     "{\"verb\":\"update\",\"resource\":\"leases\"}]}");
    live(&r, NULL);
    c = GLOBAL_ROW(&r, "", "patch apps/deployments/scale", "Permissions");
    assert_false(c->ok);
    assert_string_equal(c->finding, "denied: patch deployments/scale (group \"apps\") in all "
                                    "namespaces: denied by the test server's RBAC deny list");
    assert_string_equal(c->fix, "kubectl apply -k cronjob/ (the ClusterRole must allow apiGroups "
                                "[\"apps\"], resources [\"deployments/scale\"], verbs "
                                "[\"patch\"])");
    c = GLOBAL_ROW(&r, SYS_NS, "update coordination.k8s.io/leases", "Permissions");
    assert_false(c->ok);
    assert_contains(c->finding, "denied: update leases (group \"coordination.k8s.io\") in "
                                "namespace " SYS_NS);
    assert_contains(c->fix, "the Role must allow apiGroups [\"coordination.k8s.io\"]");
    assert_int_equal(rows_named(&r, "Permissions"), 2);
    doctor_report_free(&r);
    kubeapi_admin_do(&server, "DELETE", "/rbac", NULL);
}

/* A main ConfigMap the credentials may not read: its settings are unknown
 * (a run changes nothing), so doctor reports it and goes on without it. */
static void test_live_main_configmap_refused(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    load_cluster(30);
    kubeapi_admin_do(&server, "PUT", "/rbac",
                     "{\"deny\":[{\"verb\":\"get\",\"resource\":\"configmaps\","
                     "\"name\":\"wva-variantautoscaling-config\"}]}");
    live(&r, NULL);
    c = GLOBAL_ROW(&r, SYS_NS, "wva-variantautoscaling-config", "Permissions");
    assert_false(c->ok);
    assert_contains(c->finding, "the main ConfigMap cannot be read, so runs change nothing");
    assert_contains(c->finding, "403 Forbidden");
    assert_contains(c->fix, "the Role in " SYS_NS " must allow apiGroups [\"\"], resources "
                            "[\"configmaps\"], verbs [\"get\"] on wva-variantautoscaling-config");
    /* No "all permissions allowed" row beside it. */
    assert_int_equal(rows_named(&r, "Permissions"), 1);
    doctor_report_free(&r);
    kubeapi_admin_do(&server, "DELETE", "/rbac", NULL);
}

static void test_live_last_run(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    (void)state;

    load_cluster(30);
    live(&r, NULL);
    c = GLOBAL_ROW(&r, SYS_NS, "wva-optimizer", "LastRun");
    assert_true(c->ok);
    assert_contains(c->finding, "ago (interval 1m0s)");
    doctor_report_free(&r);

    load_cluster(3600);
    live(&r, NULL);
    c = GLOBAL_ROW(&r, SYS_NS, "wva-optimizer", "LastRun");
    assert_false(c->ok);
    /* The age is measured at run time: a slow machine may add a second. */
    assert_contains(c->finding, ", 1h0m");
    assert_contains(c->finding, "s ago (interval 1m0s, more than 3 intervals)");
    assert_contains(c->fix, "kubectl -n " SYS_NS " create job --from=cronjob/wva-optimizer");
    doctor_report_free(&r);

    load_cluster(-1);
    live(&r, NULL);
    c = GLOBAL_ROW(&r, SYS_NS, "wva-optimizer", "LastRun");
    assert_false(c->ok);
    assert_string_equal(c->finding, "Lease " SYS_NS "/wva-optimizer not found: no run has "
                                    "completed yet");
    doctor_report_free(&r);

    /* An instance has its own Lease. */
    static const char *const inst[] = {"--controller-instance", "a", NULL};
    load_cluster(30);
    live(&r, inst);
    c = GLOBAL_ROW(&r, SYS_NS, "wva-optimizer-a", "LastRun");
    assert_false(c->ok);
    doctor_report_free(&r);
}

static void test_live_prometheus_and_scope(void **state)
{
    struct doctor_report r;
    const struct doctor_check *c;
    static const char *const watch[] = {"--watch-namespace", "team-a", NULL};
    (void)state;

    load_cluster(30);
    live(&r, watch);
    c = GLOBAL_ROW(&r, "", "", "PrometheusReachable");
    assert_false(c->ok);
    assert_contains(c->finding, "(flag) does not answer: ");
    assert_contains(c->fix, "/api/v1/query?query=vector(1)");
    /* The engine saw the same error: the VA holds, MetricsUnavailable. */
    c = VA_ROW(&r, "team-a", "good", "MetricsUnavailable");
    assert_false(c->ok);
    assert_contains(c->finding, "Prometheus error: ");
    assert_contains(c->fix, "fix Prometheus access (see PrometheusReachable)");
    /* VAs outside the watch namespace are read, and said to be outside. */
    c = VA_ROW(&r, "team-b", "elsewhere", "OutsideWatchNamespace");
    assert_false(c->ok);
    assert_string_equal(c->finding, "namespace team-b is outside the watch namespace team-a");
    /* A near-miss ConfigMap only a list shows. */
    c = NS_ROW(&r, "team-a", "saturation-config", "ConfigMapNames");
    assert_false(c->ok);
    assert_contains(c->finding, "is not read: the name WVA reads is wva-saturation-config");
    doctor_report_free(&r);
}

/* doctor reads; its only POSTs are the access reviews. */
static void test_live_writes_nothing(void **state)
{
    struct doctor_report r;
    size_t mark, reviews = 0;
    json_object *entries;
    (void)state;

    load_cluster(30);
    mark = kubeapi_log_mark(&server);
    live(&r, NULL);
    doctor_report_free(&r);
    entries = kubeapi_requests(&server, mark);
    assert_true(json_object_array_length(entries) > 10);
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *e = json_object_array_get_idx(entries, i);
        const char *method = json_at(e, "method");
        if (strcmp(method, "GET") == 0)
            continue;
        assert_string_equal(method, "POST");
        assert_string_equal(json_at(e, "resource"), "selfsubjectaccessreviews");
        reviews++;
    }
    assert_int_equal(reviews, 14);
    json_object_put(entries);
}

static void test_live_exit_codes(void **state)
{
    char kubeconfig[256], url[64], *out = NULL;
    const char *args[] = {"--kubeconfig", kubeconfig, "--prometheus-url", url, NULL};
    (void)state;

    load_cluster(30);
    snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", server.dir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    assert_int_equal(run_main(args, &out), 4);
    assert_contains(out, "PrometheusReachable");
    free(out);

    /* The cluster cannot be read: 1. */
    kubeapi_admin_do(&server, "PUT", "/faults",
                     "{\"kind\":\"status\",\"status\":500,\"method\":\"*\",\"path\":"
                     "\"/api/v1/namespaces$\",\"count\":-1}");
    assert_int_equal(run_main(args, &out), 1);
    assert_string_equal(out, "");
    free(out);
    kubeapi_admin_do(&server, "DELETE", "/faults", NULL);

    /* A kubeconfig that does not exist: configuration error, 2. */
    snprintf(kubeconfig, sizeof(kubeconfig), "%s/no-such-kubeconfig", server.dir);
    assert_int_equal(run_main(args, &out), 2);
    free(out);
}

int main(void)
{
    const struct CMUnitTest offline_tests[] = {
        cmocka_unit_test(test_excluded_namespace),
        cmocka_unit_test(test_instance_mismatch),
        cmocka_unit_test(test_invalid_spec),
        cmocka_unit_test(test_target_not_found),
        cmocka_unit_test(test_metrics_unavailable),
        cmocka_unit_test(test_watch_namespace),
        cmocka_unit_test(test_configmap_names),
        cmocka_unit_test(test_global_settings),
        cmocka_unit_test(test_interval_below_one_second),
        cmocka_unit_test(test_filter_namespace_and_va),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_table_and_exit_codes),
        cmocka_unit_test(test_render_empty_and_free),
    };
    const struct CMUnitTest live_tests[] = {
        cmocka_unit_test(test_live_permissions),
        cmocka_unit_test(test_live_main_configmap_refused),
        cmocka_unit_test(test_live_last_run),
        cmocka_unit_test(test_live_prometheus_and_scope),
        cmocka_unit_test(test_live_writes_nothing),
        cmocka_unit_test(test_live_exit_codes),
    };
    int failed;

    log_configure(0, 0);
    failed = cmocka_run_group_tests_name("doctor offline", offline_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("doctor live", live_tests, group_setup, group_teardown);
    return failed ? 1 : 0;
}
