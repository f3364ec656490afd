/* test_settings.c - command line parsing, settings precedence (live and
 * replay), validation messages and export (SPEC sections 2 and 3). */
#include <stdbool.h>

#include "test_util.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

#define CM_DEFAULT "ConfigMap workload-variant-autoscaler-system/wva-variantautoscaling-config"

/* ---- a fake environment -------------------------------------------------- */

struct fake_var {
    const char *name;
    const char *value;
};
static struct fake_var fake_env[32];
static size_t fake_env_count;
static int fake_env_calls;

static void env_reset(void)
{
    fake_env_count = 0;
    fake_env_calls = 0;
}

static void env_set(const char *name, const char *value)
{
    assert_true(fake_env_count < sizeof(fake_env) / sizeof(fake_env[0]));
    fake_env[fake_env_count].name = name;
    fake_env[fake_env_count].value = value;
    fake_env_count++;
}

static const char *fake_getenv(const char *name)
{
    fake_env_calls++;
    for (size_t i = 0; i < fake_env_count; i++)
        if (strcmp(fake_env[i].name, name) == 0)
            return fake_env[i].value;
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    env_reset();
    return 0;
}

/* ---- helpers ----------------------------------------------------------- */

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Parse a NULL-terminated list of arguments (after the program name). */
static int parse_list(struct wva_settings *s, struct wva_error *err, const char *const *args)
{
    char *argv[64];
    int argc = 0;

    argv[argc++] = (char *)"wva-optimizer";
    for (; *args; args++) {
        assert_true(argc < 63);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    wva_error_clear(err);
    return settings_parse_args(argc, argv, s, err);
}

#define PARSE(s, err, ...) parse_list((s), (err), (const char *const[]){__VA_ARGS__, NULL})

static void expect_usage_error(const char *expected, const char *const *args)
{
    struct wva_settings s;
    struct wva_error err;

    assert_int_equal(parse_list(&s, &err, args), -1);
    assert_string_equal(err.msg, expected);
    /* After an error the struct is empty and freeing it is harmless. */
    assert_null(s.from_file);
    assert_null(s.config_map_name);
    settings_free(&s);
}

#define EXPECT_USAGE(msg, ...) expect_usage_error((msg), (const char *const[]){__VA_ARGS__, NULL})

/* ---- parsing ----------------------------------------------------------- */

static void test_defaults_without_arguments(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    char *argv[] = {(char *)"wva-optimizer", NULL};

    (void)state;
    assert_int_equal(settings_parse_args(1, argv, &s, &err), 0);
    assert_int_equal(s.command, WVA_CMD_RUN);
    assert_false(s.once);
    assert_false(s.dry_run);
    assert_null(s.from_file);
    assert_null(s.snapshot_out);
    assert_int_equal(s.output, WVA_OUTPUT_TABLE);
    assert_int_equal(s.actuation, WVA_ACTUATION_SCALE);
    assert_int_equal(s.log_format, WVA_LOG_TEXT);
    assert_int_equal(s.verbosity, 0);
    assert_false(s.timings);
    assert_null(s.prometheus_url);
    assert_string_equal(s.watch_namespace, "");
    assert_string_equal(s.controller_instance, "");
    assert_string_equal(s.system_namespace, "workload-variant-autoscaler-system");
    assert_string_equal(s.config_map_name, "wva-variantautoscaling-config");
    assert_true(s.global_opt_enable);
    assert_true(s.global_opt_interval == 60.0);
    assert_false(s.scale_to_zero);
    assert_false(s.limited_mode);
    for (int id = 0; id < WVA_SET_COUNT; id++)
        assert_int_equal(s.source[id], WVA_SRC_DEFAULT);
    settings_free(&s);
}

static void check_all_options(const struct wva_settings *s)
{
    assert_int_equal(s->command, WVA_CMD_RUN);
    assert_true(s->once);
    assert_true(s->dry_run);
    assert_string_equal(s->snapshot_out, "/tmp/snap.json");
    assert_int_equal(s->output, WVA_OUTPUT_JSON);
    assert_string_equal(s->history, "sqlite:///var/lib/wva/history.db");
    assert_string_equal(s->pushgateway, "http://pushgateway:9091");
    assert_int_equal(s->actuation, WVA_ACTUATION_METRICS);
    assert_int_equal(s->log_format, WVA_LOG_JSON);
    assert_int_equal(s->verbosity, 4);
    assert_string_equal(s->kubeconfig, "/home/me/.kube/config");
    assert_string_equal(s->prometheus_url, "https://prometheus.monitoring:9090");
    assert_string_equal(s->watch_namespace, "team-a");
    assert_string_equal(s->controller_instance, "instance-1");
    assert_true(s->timings);
    assert_int_equal(s->source[WVA_SET_PROMETHEUS_BASE_URL], WVA_SRC_FLAG);
    assert_int_equal(s->source[WVA_SET_WATCH_NAMESPACE], WVA_SRC_FLAG);
    assert_int_equal(s->source[WVA_SET_CONTROLLER_INSTANCE], WVA_SRC_FLAG);
    assert_int_equal(s->source[WVA_SET_WVA_HISTORY], WVA_SRC_FLAG);
    assert_int_equal(s->source[WVA_SET_WVA_PUSHGATEWAY_URL], WVA_SRC_FLAG);
    assert_int_equal(s->source[WVA_SET_GLOBAL_OPT_INTERVAL], WVA_SRC_DEFAULT);
    assert_int_equal(s->source[WVA_SET_POD_NAMESPACE], WVA_SRC_DEFAULT);
}

static void test_every_option_space_form(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "--once", "--dry-run", "--snapshot-out", "/tmp/snap.json",
                           "--output", "json", "--history", "sqlite:///var/lib/wva/history.db",
                           "--pushgateway", "http://pushgateway:9091", "--actuation", "metrics",
                           "--log-format", "json", "-v", "4", "--kubeconfig",
                           "/home/me/.kube/config", "--prometheus-url",
                           "https://prometheus.monitoring:9090", "--watch-namespace", "team-a",
                           "--controller-instance", "instance-1", "--timings"), 0);
    check_all_options(&s);
    settings_free(&s);
}

static void test_every_option_equals_form(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "--once", "--dry-run", "--snapshot-out=/tmp/snap.json",
                           "--output=json", "--history=sqlite:///var/lib/wva/history.db",
                           "--pushgateway=http://pushgateway:9091", "--actuation=metrics",
                           "--log-format=json", "--verbosity=4",
                           "--kubeconfig=/home/me/.kube/config",
                           "--prometheus-url=https://prometheus.monitoring:9090",
                           "--watch-namespace=team-a", "--controller-instance=instance-1",
                           "--timings"), 0);
    check_all_options(&s);
    settings_free(&s);
}

static void test_verbosity_forms_and_choices(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "-v3"), 0);
    assert_int_equal(s.verbosity, 3);
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "--verbosity", "10"), 0);
    assert_int_equal(s.verbosity, 10);
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "-v", "0"), 0);
    assert_int_equal(s.verbosity, 0);
    settings_free(&s);
    /* The other values of each choice, and the last occurrence wins. */
    assert_int_equal(PARSE(&s, &err, "--output=json", "--output", "table", "--actuation", "scale",
                           "--log-format", "text"), 0);
    assert_int_equal(s.output, WVA_OUTPUT_TABLE);
    assert_int_equal(s.actuation, WVA_ACTUATION_SCALE);
    assert_int_equal(s.log_format, WVA_LOG_TEXT);
    settings_free(&s);
    /* Unambiguous abbreviations are getopt_long's usual courtesy; errors
     * name the full option. */
    assert_int_equal(PARSE(&s, &err, "--out=json", "--dry"), 0);
    assert_int_equal(s.output, WVA_OUTPUT_JSON);
    assert_true(s.dry_run);
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "--out", "csv"), -1);
    assert_string_equal(err.msg, "--output: \"csv\" is not one of table, json");
    settings_free(&s);
    /* An explicit empty watch namespace is a flag value: "all namespaces". */
    assert_int_equal(PARSE(&s, &err, "--watch-namespace="), 0);
    assert_string_equal(s.watch_namespace, "");
    assert_int_equal(s.source[WVA_SET_WATCH_NAMESPACE], WVA_SRC_FLAG);
    settings_free(&s);
}

static void test_from_file_with_once_and_dry_run(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "--from-file", "snap.json", "--once", "--dry-run"), 0);
    assert_int_equal(s.command, WVA_CMD_RUN);
    assert_string_equal(s.from_file, "snap.json");
    assert_true(s.once);
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "--from-file=-"), 0);
    assert_string_equal(s.from_file, "-");
    settings_free(&s);
}

static void test_usage_errors(void **state)
{
    (void)state;
    EXPECT_USAGE("--output: \"xml\" is not one of table, json", "--output", "xml");
    EXPECT_USAGE("--output: \"xml\" is not one of table, json", "--output=xml");
    EXPECT_USAGE("--actuation: \"hpa\" is not one of scale, metrics", "--actuation=hpa");
    EXPECT_USAGE("--log-format: \"yaml\" is not one of text, json", "--log-format", "yaml");
    EXPECT_USAGE("-v: \"11\" is not an integer from 0 to 10", "-v", "11");
    EXPECT_USAGE("-v: \"-1\" is not an integer from 0 to 10", "-v", "-1");
    EXPECT_USAGE("--verbosity: \"loud\" is not an integer from 0 to 10", "--verbosity=loud");
    EXPECT_USAGE("--prometheus-url: \"prometheus:9090\" is not an http:// or https:// URL",
                 "--prometheus-url", "prometheus:9090");
    EXPECT_USAGE("--pushgateway: \"ftp://pg\" is not an http:// or https:// URL",
                 "--pushgateway=ftp://pg");
    EXPECT_USAGE("--watch-namespace: \"Team_A\" is not a valid namespace name (lowercase "
                 "letters, digits and '-', starting and ending with a letter or digit, "
                 "at most 63 characters)", "--watch-namespace", "Team_A");
    EXPECT_USAGE("--controller-instance: \"-a\" is not a valid label value (letters, digits, "
                 "'-', '_' and '.', starting and ending with a letter or digit, at most 63 "
                 "characters)", "--controller-instance=-a");
    EXPECT_USAGE("--from-file: \"\" is empty", "--from-file=");
    EXPECT_USAGE("--history: \"a?b\" contains a control character", "--history", "a\tb");
    EXPECT_USAGE("unknown or ambiguous option \"--bogus\" (see --help)", "--bogus=1");
    EXPECT_USAGE("unknown or ambiguous option \"--bogus\" (see --help)", "--bogus");
    EXPECT_USAGE("unknown option \"-x\" (see --help)", "-x");
    EXPECT_USAGE("--once: takes no value", "--once=yes");
    EXPECT_USAGE("--help: takes no value", "--help=me");
    EXPECT_USAGE("--output: missing value (see --help)", "--output");
    EXPECT_USAGE("-v: missing value (see --help)", "-v");
    EXPECT_USAGE("--verbosity: missing value (see --help)", "--verbosity");
    EXPECT_USAGE("--from-file and --snapshot-out cannot be used together "
                 "(a replay records no new snapshot)",
                 "--from-file", "a.json", "--snapshot-out", "b.json");
    EXPECT_USAGE("unknown command \"frobnicate\" (commands: doctor, history; see --help)",
                 "frobnicate");
    EXPECT_USAGE("unexpected argument \"extra\"", "doctor", "extra");
    EXPECT_USAGE("history: missing subcommand (runs, show RUN or export RUN)", "history");
    EXPECT_USAGE("history: unknown subcommand \"list\" (runs, show RUN or export RUN)",
                 "history", "list");
    EXPECT_USAGE("history show: missing RUN argument", "history", "show");
    EXPECT_USAGE("history export: missing RUN argument", "history", "export");
    EXPECT_USAGE("unexpected argument \"x\"", "history", "runs", "x");
    EXPECT_USAGE("unexpected argument \"r2\"", "history", "show", "r1", "r2");
    EXPECT_USAGE("--once cannot be used with the doctor command", "--once", "doctor");
    EXPECT_USAGE("--snapshot-out cannot be used with the doctor command", "doctor",
                 "--snapshot-out", "x.json");
    EXPECT_USAGE("--from-file cannot be used with the history command", "history", "runs",
                 "--from-file", "x.json");
    EXPECT_USAGE("--namespace cannot be used with a run (it belongs to the doctor command)",
                 "--namespace", "team-a");
    EXPECT_USAGE("--va cannot be used with a run (it belongs to the doctor command)",
                 "--va=my-va");
    EXPECT_USAGE("--namespace: \"Team\" is not a valid namespace name (lowercase letters, "
                 "digits and '-', starting and ending with a letter or digit, at most 63 "
                 "characters)", "doctor", "--namespace", "Team");
}

static void test_long_bad_value_is_cut_in_message(void **state)
{
    char big[5000];
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(PARSE(&s, &err, "--output", big), -1);
    assert_true(strlen(err.msg) < 300);
    assert_non_null(strstr(err.msg, "...\" is not one of table, json"));
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "--kubeconfig", big), -1);
    assert_non_null(strstr(err.msg, "is longer than 4096 bytes"));
    settings_free(&s);
}

static void test_doctor_command(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "doctor"), 0);
    assert_int_equal(s.command, WVA_CMD_DOCTOR);
    assert_null(s.doctor_namespace);
    assert_null(s.doctor_va);
    settings_free(&s);

    /* Options before and after the command, both forms. */
    assert_int_equal(PARSE(&s, &err, "-v", "2", "doctor", "--namespace", "team-a",
                           "--va=llama-8b-a100", "--from-file", "snap.json", "--output=json",
                           "--prometheus-url", "http://prom:9090", "--kubeconfig", "kc"), 0);
    assert_int_equal(s.command, WVA_CMD_DOCTOR);
    assert_string_equal(s.doctor_namespace, "team-a");
    assert_string_equal(s.doctor_va, "llama-8b-a100");
    assert_string_equal(s.from_file, "snap.json");
    assert_int_equal(s.output, WVA_OUTPUT_JSON);
    assert_int_equal(s.verbosity, 2);
    assert_string_equal(s.prometheus_url, "http://prom:9090");
    assert_string_equal(s.kubeconfig, "kc");
    settings_free(&s);
}

static void test_history_command(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "history", "runs", "--history", "sqlite:h.db"), 0);
    assert_int_equal(s.command, WVA_CMD_HISTORY);
    assert_string_equal(s.history_subcommand, "runs");
    assert_null(s.history_run);
    assert_string_equal(s.history, "sqlite:h.db");
    settings_free(&s);

    assert_int_equal(PARSE(&s, &err, "--history=h.db", "history", "show", "42"), 0);
    assert_string_equal(s.history_subcommand, "show");
    assert_string_equal(s.history_run, "42");
    settings_free(&s);

    assert_int_equal(PARSE(&s, &err, "history", "export", "run-7", "--output", "json"), 0);
    assert_string_equal(s.history_subcommand, "export");
    assert_string_equal(s.history_run, "run-7");
    assert_int_equal(s.output, WVA_OUTPUT_JSON);
    settings_free(&s);

    /* "--" ends the options: a run id may then start with '-'. */
    assert_int_equal(PARSE(&s, &err, "history", "show", "--", "-5"), 0);
    assert_string_equal(s.history_run, "-5");
    settings_free(&s);
}

static void test_help_and_version(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "--help"), 0);
    assert_int_equal(s.command, WVA_CMD_HELP);
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "-h"), 0);
    assert_int_equal(s.command, WVA_CMD_HELP);
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "doctor", "--help"), 0);
    assert_int_equal(s.command, WVA_CMD_HELP);
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "--version"), 0);
    assert_int_equal(s.command, WVA_CMD_VERSION);
    settings_free(&s);
}

static void test_repeated_parse_and_argv_untouched(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    char *argv[] = {(char *)"wva-optimizer", (char *)"--output", (char *)"json",
                    (char *)"doctor", (char *)"--va", (char *)"x", NULL};
    char *copy[ARGC(argv)];

    (void)state;
    memcpy(copy, argv, sizeof(argv));
    for (int round = 0; round < 3; round++) {
        assert_int_equal(settings_parse_args(ARGC(argv) - 1, argv, &s, &err), 0);
        assert_int_equal(s.command, WVA_CMD_DOCTOR);
        assert_int_equal(s.output, WVA_OUTPUT_JSON);
        assert_string_equal(s.doctor_va, "x");
        settings_free(&s);
        assert_memory_equal(copy, argv, sizeof(argv));
    }
    /* A parse after an error starts from scratch. */
    assert_int_equal(PARSE(&s, &err, "--output"), -1);
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_true(s.once);
    assert_int_equal(s.output, WVA_OUTPUT_TABLE);
    settings_free(&s);
}

/* ---- resolution -------------------------------------------------------- */

static void test_live_precedence(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist cm = {NULL, 0};

    (void)state;
    wva_kvlist_set(&cm, "WATCH_NAMESPACE", "from-cm");
    wva_kvlist_set(&cm, "PROMETHEUS_BASE_URL", "http://cm-prom:9090");
    wva_kvlist_set(&cm, "GLOBAL_OPT_INTERVAL", "5m");
    wva_kvlist_set(&cm, "GLOBAL_OPT_ENABLE", "false");
    wva_kvlist_set(&cm, "WVA_SCALE_TO_ZERO", "TRUE");
    wva_kvlist_set(&cm, "CONTROLLER_INSTANCE", "cm-inst");
    env_set("WATCH_NAMESPACE", "from-env");
    env_set("PROMETHEUS_BASE_URL", "https://env-prom:9090");
    env_set("GLOBAL_OPT_INTERVAL", "90s");

    /* flag > env > ConfigMap > default */
    assert_int_equal(PARSE(&s, &err, "--watch-namespace", "from-flag"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, &cm, &err), 0);
    assert_true(fake_env_calls > 0);
    assert_string_equal(s.watch_namespace, "from-flag");
    assert_int_equal(s.source[WVA_SET_WATCH_NAMESPACE], WVA_SRC_FLAG);
    assert_string_equal(s.prometheus_url, "https://env-prom:9090");
    assert_int_equal(s.source[WVA_SET_PROMETHEUS_BASE_URL], WVA_SRC_ENV);
    assert_true(s.global_opt_interval == 90.0);
    assert_int_equal(s.source[WVA_SET_GLOBAL_OPT_INTERVAL], WVA_SRC_ENV);
    assert_false(s.global_opt_enable);
    assert_int_equal(s.source[WVA_SET_GLOBAL_OPT_ENABLE], WVA_SRC_CONFIGMAP);
    assert_int_equal(s.global_opt_enable_source, WVA_SRC_CONFIGMAP);
    assert_true(s.scale_to_zero);
    assert_string_equal(s.controller_instance, "cm-inst");
    assert_false(s.limited_mode);
    assert_int_equal(s.source[WVA_SET_WVA_LIMITED_MODE], WVA_SRC_DEFAULT);
    assert_null(s.history);
    assert_false(s.prometheus_tls_insecure_skip_verify);

    /* Without the flag the environment wins; without env, the ConfigMap. */
    settings_free(&s);
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, &cm, &err), 0);
    assert_string_equal(s.watch_namespace, "from-env");
    assert_int_equal(s.source[WVA_SET_WATCH_NAMESPACE], WVA_SRC_ENV);
    env_reset();
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, &cm, &err), 0);
    assert_string_equal(s.watch_namespace, "from-cm");
    assert_string_equal(s.prometheus_url, "http://cm-prom:9090");
    assert_true(s.global_opt_interval == 300.0);
    assert_int_equal(s.source[WVA_SET_GLOBAL_OPT_INTERVAL], WVA_SRC_CONFIGMAP);
    /* Without the ConfigMap, the defaults. */
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, NULL, &err), 0);
    assert_string_equal(s.watch_namespace, "");
    assert_null(s.prometheus_url);
    assert_true(s.global_opt_interval == 60.0);
    assert_true(s.global_opt_enable);
    assert_int_equal(s.global_opt_enable_source, WVA_SRC_DEFAULT);
    settings_free(&s);
    wva_kvlist_free(&cm);
}

static void test_replay_precedence_ignores_environment(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist snap = {NULL, 0}, cm = {NULL, 0};

    (void)state;
    /* An environment that would change everything if it were read. */
    env_set("WATCH_NAMESPACE", "from-env");
    env_set("GLOBAL_OPT_INTERVAL", "1s");
    env_set("WVA_LIMITED_MODE", "true");
    env_set("CONTROLLER_INSTANCE", "env-inst");
    env_set("PROMETHEUS_BEARER_TOKEN", "s3cret");
    env_set("POD_NAMESPACE", "env-system");

    wva_kvlist_set(&snap, "WATCH_NAMESPACE", "from-snap");
    wva_kvlist_set(&snap, "GLOBAL_OPT_INTERVAL", "2m");
    wva_kvlist_set(&cm, "WATCH_NAMESPACE", "from-cm");
    wva_kvlist_set(&cm, "GLOBAL_OPT_INTERVAL", "10m");
    wva_kvlist_set(&cm, "CONTROLLER_INSTANCE", "cm-inst");

    assert_int_equal(PARSE(&s, &err, "--from-file", "snap.json"), 0);
    assert_int_equal(settings_resolve(&s, NULL, &snap, &cm, &err), 0);
    assert_int_equal(fake_env_calls, 0);
    assert_string_equal(s.watch_namespace, "from-snap");
    assert_int_equal(s.source[WVA_SET_WATCH_NAMESPACE], WVA_SRC_SNAPSHOT);
    assert_true(s.global_opt_interval == 120.0);
    assert_string_equal(s.controller_instance, "cm-inst");
    assert_int_equal(s.source[WVA_SET_CONTROLLER_INSTANCE], WVA_SRC_CONFIGMAP);
    assert_false(s.limited_mode);
    assert_int_equal(s.source[WVA_SET_WVA_LIMITED_MODE], WVA_SRC_DEFAULT);
    assert_null(s.prometheus_bearer_token);
    assert_string_equal(s.system_namespace, "workload-variant-autoscaler-system");
    settings_free(&s);

    /* A flag still beats the snapshot. */
    assert_int_equal(PARSE(&s, &err, "--from-file", "snap.json", "--watch-namespace", "flag-ns"),
                     0);
    assert_int_equal(settings_resolve(&s, NULL, &snap, &cm, &err), 0);
    assert_string_equal(s.watch_namespace, "flag-ns");
    settings_free(&s);

    /* The same inputs with the environment passed: it is read and wins. */
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, &snap, &cm, &err), 0);
    assert_true(fake_env_calls > 0);
    assert_string_equal(s.watch_namespace, "from-env");
    assert_true(s.global_opt_interval == 1.0);
    assert_true(s.limited_mode);
    assert_string_equal(s.controller_instance, "env-inst");
    assert_string_equal(s.prometheus_bearer_token, "s3cret");
    assert_string_equal(s.system_namespace, "env-system");
    settings_free(&s);
    wva_kvlist_free(&snap);
    wva_kvlist_free(&cm);
}

static void test_empty_environment_variable_is_unset(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist cm = {NULL, 0};

    (void)state;
    env_set("WATCH_NAMESPACE", "");
    env_set("GLOBAL_OPT_ENABLE", "");
    wva_kvlist_set(&cm, "WATCH_NAMESPACE", "team-b");
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, &cm, &err), 0);
    assert_string_equal(s.watch_namespace, "team-b");
    assert_true(s.global_opt_enable);
    assert_int_equal(s.global_opt_enable_source, WVA_SRC_DEFAULT);
    settings_free(&s);
    wva_kvlist_free(&cm);
}

/* Resolve with one bad value and compare the whole message. */
static void expect_config_error(const char *(*getenv_fn)(const char *),
                                const struct wva_kvlist *snap, const struct wva_kvlist *cm,
                                const char *expected, bool prefix_only)
{
    struct wva_settings s;
    struct wva_error err;

    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, getenv_fn, snap, cm, &err), -1);
    if (prefix_only)
        assert_int_equal(strncmp(err.msg, expected, strlen(expected)), 0);
    else
        assert_string_equal(err.msg, expected);
    settings_free(&s);
}

static void test_bad_values_name_setting_source_and_value(void **state)
{
    struct wva_kvlist cm = {NULL, 0}, snap = {NULL, 0};

    (void)state;
    /* environment */
    env_set("WVA_LIMITED_MODE", "yes");
    expect_config_error(fake_getenv, NULL, NULL,
                        "WVA_LIMITED_MODE from environment: \"yes\" is not a boolean "
                        "(true/false/1/0)", false);
    env_reset();
    env_set("PROMETHEUS_BASE_URL", "prometheus:9090");
    expect_config_error(fake_getenv, NULL, NULL,
                        "PROMETHEUS_BASE_URL from environment: \"prometheus:9090\" is not an "
                        "http:// or https:// URL", false);
    env_reset();
    env_set("GLOBAL_OPT_INTERVAL", "0s");
    expect_config_error(fake_getenv, NULL, NULL,
                        "GLOBAL_OPT_INTERVAL from environment: \"0s\" is not a positive "
                        "duration (it must be greater than 0)", false);
    env_reset();

    /* ConfigMap: the message names it as namespace/name. */
    wva_kvlist_set(&cm, "GLOBAL_OPT_INTERVAL", "ten");
    expect_config_error(fake_getenv, NULL, &cm,
                        "GLOBAL_OPT_INTERVAL from " CM_DEFAULT ": \"ten\" is not a duration (",
                        true);
    wva_kvlist_free(&cm);
    wva_kvlist_set(&cm, "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", "maybe");
    env_set("POD_NAMESPACE", "wva");
    env_set("CONFIG_MAP_NAME", "my-config");
    expect_config_error(fake_getenv, NULL, &cm,
                        "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY from ConfigMap wva/my-config: "
                        "\"maybe\" is not a boolean (true/false/1/0)", false);
    env_reset();
    wva_kvlist_free(&cm);
    wva_kvlist_set(&cm, "WVA_PUSHGATEWAY_URL", "pushgateway:9091");
    expect_config_error(NULL, NULL, &cm,
                        "WVA_PUSHGATEWAY_URL from " CM_DEFAULT ": \"pushgateway:9091\" is not "
                        "an http:// or https:// URL", false);
    wva_kvlist_free(&cm);

    /* snapshot settings */
    wva_kvlist_set(&snap, "GLOBAL_OPT_ENABLE", "on");
    expect_config_error(NULL, &snap, NULL,
                        "GLOBAL_OPT_ENABLE from snapshot settings: \"on\" is not a boolean "
                        "(true/false/1/0)", false);
    wva_kvlist_free(&snap);
    wva_kvlist_set(&snap, "WATCH_NAMESPACE", "Team A");
    expect_config_error(NULL, &snap, NULL,
                        "WATCH_NAMESPACE from snapshot settings: \"Team A\" is not a valid "
                        "namespace name (lowercase letters, digits and '-', starting and ending "
                        "with a letter or digit, at most 63 characters)", false);
    wva_kvlist_free(&snap);
    /* Unlike an empty environment variable, an empty key is a value. */
    wva_kvlist_set(&snap, "GLOBAL_OPT_INTERVAL", "");
    expect_config_error(NULL, &snap, NULL,
                        "GLOBAL_OPT_INTERVAL from snapshot settings: \"\" is not a duration (",
                        true);
    wva_kvlist_free(&snap);
}

static void test_valid_boolean_and_duration_spellings(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    env_set("WVA_LIMITED_MODE", "1");
    env_set("WVA_SCALE_TO_ZERO", "True");
    env_set("GLOBAL_OPT_ENABLE", "0");
    env_set("GLOBAL_OPT_INTERVAL", "1m30s");
    env_set("PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", "TRUE");
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, NULL, &err), 0);
    assert_true(s.limited_mode);
    assert_true(s.scale_to_zero);
    assert_false(s.global_opt_enable);
    assert_int_equal(s.global_opt_enable_source, WVA_SRC_ENV);
    assert_true(s.global_opt_interval == 90.0);
    assert_true(s.prometheus_tls_insecure_skip_verify);
    settings_free(&s);
}

static void test_prometheus_tls_settings(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist cm = {NULL, 0};

    (void)state;
    env_set("PROMETHEUS_TOKEN_PATH", "/var/run/secrets/token");
    env_set("PROMETHEUS_SERVER_NAME", "prometheus.monitoring.svc");
    wva_kvlist_set(&cm, "PROMETHEUS_CA_CERT_PATH", "/etc/ssl/ca.pem");
    wva_kvlist_set(&cm, "PROMETHEUS_CLIENT_CERT_PATH", "/etc/ssl/client.pem");
    wva_kvlist_set(&cm, "PROMETHEUS_CLIENT_KEY_PATH", "/etc/ssl/client-key.pem");
    wva_kvlist_set(&cm, "PROMETHEUS_SERVER_NAME", "ignored.because.env");
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, &cm, &err), 0);
    assert_string_equal(s.prometheus_token_path, "/var/run/secrets/token");
    assert_string_equal(s.prometheus_server_name, "prometheus.monitoring.svc");
    assert_string_equal(s.prometheus_ca_cert_path, "/etc/ssl/ca.pem");
    assert_string_equal(s.prometheus_client_cert_path, "/etc/ssl/client.pem");
    assert_string_equal(s.prometheus_client_key_path, "/etc/ssl/client-key.pem");
    assert_int_equal(s.source[WVA_SET_PROMETHEUS_CA_CERT_PATH], WVA_SRC_CONFIGMAP);
    settings_free(&s);
    wva_kvlist_free(&cm);
}

static void test_token_is_environment_only_and_never_exported(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist cm = {NULL, 0}, snap = {NULL, 0}, out = {NULL, 0};

    (void)state;
    wva_kvlist_set(&cm, "PROMETHEUS_BEARER_TOKEN", "cm-token");
    wva_kvlist_set(&snap, "PROMETHEUS_BEARER_TOKEN", "snap-token");
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, &snap, &cm, &err), 0);
    assert_null(s.prometheus_bearer_token);
    assert_int_equal(s.source[WVA_SET_PROMETHEUS_BEARER_TOKEN], WVA_SRC_DEFAULT);

    env_set("PROMETHEUS_BEARER_TOKEN", "env-token");
    assert_int_equal(settings_resolve(&s, fake_getenv, &snap, &cm, &err), 0);
    assert_string_equal(s.prometheus_bearer_token, "env-token");
    assert_int_equal(s.source[WVA_SET_PROMETHEUS_BEARER_TOKEN], WVA_SRC_ENV);

    settings_export(&s, &out);
    assert_true(out.count > 0);
    for (size_t i = 0; i < out.count; i++) {
        assert_null(strstr(out.items[i].key, "TOKEN"));
        assert_null(strstr(out.items[i].value, "env-token"));
    }
    wva_kvlist_free(&out);
    settings_free(&s);
    wva_kvlist_free(&cm);
    wva_kvlist_free(&snap);
}

static void test_bootstrap_resolution(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist snap = {NULL, 0}, cm = {NULL, 0};

    (void)state;
    assert_int_equal(PARSE(&s, &err, "--once"), 0);

    /* defaults */
    assert_int_equal(settings_resolve_bootstrap(&s, fake_getenv, NULL, &err), 0);
    assert_string_equal(s.system_namespace, "workload-variant-autoscaler-system");
    assert_string_equal(s.config_map_name, "wva-variantautoscaling-config");
    assert_int_equal(s.source[WVA_SET_POD_NAMESPACE], WVA_SRC_DEFAULT);

    /* environment, and idempotent */
    env_set("POD_NAMESPACE", "wva-system");
    env_set("CONFIG_MAP_NAME", "my.config");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(settings_resolve_bootstrap(&s, fake_getenv, NULL, &err), 0);
        assert_string_equal(s.system_namespace, "wva-system");
        assert_string_equal(s.config_map_name, "my.config");
        assert_int_equal(s.source[WVA_SET_POD_NAMESPACE], WVA_SRC_ENV);
        assert_int_equal(s.source[WVA_SET_CONFIG_MAP_NAME], WVA_SRC_ENV);
    }
    /* Bootstrap touches nothing else. */
    assert_int_equal(s.source[WVA_SET_GLOBAL_OPT_INTERVAL], WVA_SRC_DEFAULT);

    /* snapshot settings in a replay; the ConfigMap never decides */
    env_reset();
    wva_kvlist_set(&snap, "POD_NAMESPACE", "snap-system");
    wva_kvlist_set(&cm, "POD_NAMESPACE", "cm-system");
    wva_kvlist_set(&cm, "CONFIG_MAP_NAME", "cm-name");
    assert_int_equal(settings_resolve(&s, NULL, &snap, &cm, &err), 0);
    assert_string_equal(s.system_namespace, "snap-system");
    assert_int_equal(s.source[WVA_SET_POD_NAMESPACE], WVA_SRC_SNAPSHOT);
    assert_string_equal(s.config_map_name, "wva-variantautoscaling-config");
    assert_int_equal(s.source[WVA_SET_CONFIG_MAP_NAME], WVA_SRC_DEFAULT);
    settings_free(&s);

    /* invalid names */
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    env_set("POD_NAMESPACE", "WVA_System");
    assert_int_equal(settings_resolve_bootstrap(&s, fake_getenv, NULL, &err), -1);
    assert_string_equal(err.msg, "POD_NAMESPACE from environment: \"WVA_System\" is not a valid "
                        "namespace name (lowercase letters, digits and '-', starting and "
                        "ending with a letter or digit, at most 63 characters)");
    env_reset();
    wva_kvlist_free(&snap);
    wva_kvlist_set(&snap, "CONFIG_MAP_NAME", "bad..name");
    assert_int_equal(settings_resolve(&s, NULL, &snap, NULL, &err), -1);
    assert_string_equal(err.msg, "CONFIG_MAP_NAME from snapshot settings: \"bad..name\" is not a "
                        "valid object name (lowercase letters, digits, '-' and '.', at most "
                        "253 characters)");
    settings_free(&s);
    wva_kvlist_free(&snap);
    wva_kvlist_free(&cm);
}

static void test_history_command_needs_a_store(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    assert_int_equal(PARSE(&s, &err, "history", "runs"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "history runs: no history store configured "
                        "(pass --history DSN or set WVA_HISTORY)");
    env_set("WVA_HISTORY", "sqlite:/data/h.db");
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, NULL, &err), 0);
    assert_string_equal(s.history, "sqlite:/data/h.db");
    assert_int_equal(s.source[WVA_SET_WVA_HISTORY], WVA_SRC_ENV);
    settings_free(&s);
}

/* ---- export and formatting --------------------------------------------- */

static void test_export_sorted_effective_settings(void **state)
{
    static const char *const expected[][2] = {
        {"CONFIG_MAP_NAME", "wva-variantautoscaling-config"},
        {"CONTROLLER_INSTANCE", "inst-a"},
        {"GLOBAL_OPT_ENABLE", "false"},
        {"GLOBAL_OPT_INTERVAL", "1m30s"},
        {"POD_NAMESPACE", "wva-system"},
        {"PROMETHEUS_BASE_URL", "https://prom:9090"},
        {"WATCH_NAMESPACE", "team-a"},
        {"WVA_LIMITED_MODE", "true"},
        {"WVA_SCALE_TO_ZERO", "false"},
    };
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist cm = {NULL, 0}, out = {NULL, 0};

    (void)state;
    env_set("POD_NAMESPACE", "wva-system");
    env_set("WVA_HISTORY", "postgres://user:pw@db/wva");
    env_set("PROMETHEUS_CA_CERT_PATH", "/etc/ca.pem");
    wva_kvlist_set(&cm, "GLOBAL_OPT_INTERVAL", "90s");
    wva_kvlist_set(&cm, "GLOBAL_OPT_ENABLE", "false");
    wva_kvlist_set(&cm, "WVA_LIMITED_MODE", "1");
    assert_int_equal(PARSE(&s, &err, "--watch-namespace", "team-a", "--controller-instance",
                           "inst-a", "--prometheus-url=https://prom:9090"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, &cm, &err), 0);
    settings_export(&s, &out);
    assert_int_equal(out.count, ARGC(expected));
    for (size_t i = 0; i < out.count; i++) {
        assert_string_equal(out.items[i].key, expected[i][0]);
        assert_string_equal(out.items[i].value, expected[i][1]);
    }
    wva_kvlist_free(&out);
    settings_free(&s);
    wva_kvlist_free(&cm);

    /* Defaults: no Prometheus URL key; the interval in Go syntax. */
    env_reset();
    assert_int_equal(PARSE(&s, &err, "--once"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, NULL, &err), 0);
    settings_export(&s, &out);
    assert_int_equal(out.count, ARGC(expected) - 1);
    assert_null(wva_kvlist_get(&out, "PROMETHEUS_BASE_URL"));
    assert_string_equal(wva_kvlist_get(&out, "GLOBAL_OPT_INTERVAL"), "1m0s");
    assert_string_equal(wva_kvlist_get(&out, "GLOBAL_OPT_ENABLE"), "true");
    assert_string_equal(wva_kvlist_get(&out, "WATCH_NAMESPACE"), "");
    assert_string_equal(wva_kvlist_get(&out, "POD_NAMESPACE"),
                        "workload-variant-autoscaler-system");
    wva_kvlist_free(&out);

    /* What was exported replays to the same settings. */
    struct wva_settings replay;
    settings_export(&s, &out);
    assert_int_equal(PARSE(&replay, &err, "--from-file", "x.json"), 0);
    assert_int_equal(settings_resolve(&replay, NULL, &out, NULL, &err), 0);
    assert_true(replay.global_opt_interval == s.global_opt_interval);
    assert_true(replay.global_opt_enable == s.global_opt_enable);
    assert_string_equal(replay.watch_namespace, s.watch_namespace);
    assert_string_equal(replay.system_namespace, s.system_namespace);
    settings_free(&replay);
    wva_kvlist_free(&out);
    settings_free(&s);
}

static void test_format_duration_go_syntax(void **state)
{
    static const struct {
        double seconds;
        const char *text;
    } cases[] = {
        {0, "0s"}, {1, "1s"}, {30, "30s"}, {60, "1m0s"}, {90, "1m30s"},
        {3600, "1h0m0s"}, {7322, "2h2m2s"}, {1.5, "1.5s"}, {0.3, "300ms"},
        {0.0015, "1.5ms"}, {0.000002, "2\xc2\xb5s"}, {0.0000005, "500ns"},
        {61.25, "1m1.25s"}, {-90, "-1m30s"},
    };
    char buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        settings_format_duration(cases[i].seconds, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
    }
}

static void test_sources_keys_and_descriptions(void **state)
{
    struct wva_settings s;
    struct wva_error err;
    struct wva_kvlist cm = {NULL, 0};
    char buf[128];

    (void)state;
    assert_string_equal(settings_source_name(WVA_SRC_DEFAULT), "default");
    assert_string_equal(settings_source_name(WVA_SRC_FLAG), "flag");
    assert_string_equal(settings_source_name(WVA_SRC_ENV), "environment");
    assert_string_equal(settings_source_name(WVA_SRC_SNAPSHOT), "snapshot settings");
    assert_string_equal(settings_source_name(WVA_SRC_CONFIGMAP), "ConfigMap");
    assert_string_equal(settings_key(WVA_SET_GLOBAL_OPT_INTERVAL), "GLOBAL_OPT_INTERVAL");
    assert_string_equal(settings_key(WVA_SET_POD_NAMESPACE), "POD_NAMESPACE");
    assert_string_equal(settings_key(WVA_SET_WVA_PUSHGATEWAY_URL), "WVA_PUSHGATEWAY_URL");
    assert_null(settings_key(WVA_SET_COUNT));

    env_set("CONFIG_MAP_NAME", "cfg");
    wva_kvlist_set(&cm, "GLOBAL_OPT_ENABLE", "false");
    assert_int_equal(PARSE(&s, &err, "--pushgateway", "http://pg:9091"), 0);
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, &cm, &err), 0);
    settings_describe_source(&s, WVA_SET_GLOBAL_OPT_ENABLE, buf, sizeof(buf));
    assert_string_equal(buf, "ConfigMap workload-variant-autoscaler-system/cfg");
    settings_describe_source(&s, WVA_SET_CONFIG_MAP_NAME, buf, sizeof(buf));
    assert_string_equal(buf, "environment");
    settings_describe_source(&s, WVA_SET_WVA_PUSHGATEWAY_URL, buf, sizeof(buf));
    assert_string_equal(buf, "flag");
    settings_describe_source(&s, WVA_SET_WVA_LIMITED_MODE, buf, sizeof(buf));
    assert_string_equal(buf, "default");
    settings_free(&s);
    wva_kvlist_free(&cm);
}

static void test_usage_text(void **state)
{
    static const char *const needles[] = {
        "doctor", "history runs|show RUN|export RUN", "--once", "--dry-run", "--from-file",
        "--snapshot-out", "--output table|json", "--history DSN", "--pushgateway",
        "--actuation scale|metrics", "--log-format text|json", "-v, --verbosity N",
        "--kubeconfig", "--prometheus-url", "--watch-namespace", "--controller-instance",
        "--namespace NS", "--va NAME", "--timings", "--help", "--version",
        "PROMETHEUS_BASE_URL", "PROMETHEUS_BEARER_TOKEN", "PROMETHEUS_TOKEN_PATH",
        "PROMETHEUS_CA_CERT_PATH", "PROMETHEUS_CLIENT_CERT_PATH", "PROMETHEUS_CLIENT_KEY_PATH",
        "PROMETHEUS_SERVER_NAME", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", "WATCH_NAMESPACE",
        "CONTROLLER_INSTANCE", "POD_NAMESPACE", "CONFIG_MAP_NAME", "GLOBAL_OPT_ENABLE",
        "GLOBAL_OPT_INTERVAL", "WVA_SCALE_TO_ZERO", "WVA_LIMITED_MODE", "WVA_HISTORY",
        "WVA_PUSHGATEWAY_URL", "Exit codes", "  0  success", "  1  runtime failure",
        "  2  usage or configuration error", "  3  partial failure", "  4  doctor",
    };
    const char *text = settings_usage();

    (void)state;
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
        if (!strstr(text, needles[i]))
            fail_msg("usage text lacks \"%s\"", needles[i]);
    }
}

static void test_free_is_safe_and_struct_reusable(void **state)
{
    struct wva_settings s;
    struct wva_error err;

    (void)state;
    settings_free(NULL);
    assert_int_equal(PARSE(&s, &err, "history", "show", "r1", "--history", "h.db"), 0);
    env_set("PROMETHEUS_BEARER_TOKEN", "t");
    assert_int_equal(settings_resolve(&s, fake_getenv, NULL, NULL, &err), 0);
    settings_free(&s);
    assert_null(s.history);
    assert_null(s.history_run);
    assert_null(s.prometheus_bearer_token);
    assert_null(s.system_namespace);
    settings_free(&s);     /* twice is harmless */
    assert_int_equal(PARSE(&s, &err, "doctor"), 0);
    assert_int_equal(s.command, WVA_CMD_DOCTOR);
    settings_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_without_arguments, setup),
        cmocka_unit_test_setup(test_every_option_space_form, setup),
        cmocka_unit_test_setup(test_every_option_equals_form, setup),
        cmocka_unit_test_setup(test_verbosity_forms_and_choices, setup),
        cmocka_unit_test_setup(test_from_file_with_once_and_dry_run, setup),
        cmocka_unit_test_setup(test_usage_errors, setup),
        cmocka_unit_test_setup(test_long_bad_value_is_cut_in_message, setup),
        cmocka_unit_test_setup(test_doctor_command, setup),
        cmocka_unit_test_setup(test_history_command, setup),
        cmocka_unit_test_setup(test_help_and_version, setup),
        cmocka_unit_test_setup(test_repeated_parse_and_argv_untouched, setup),
        cmocka_unit_test_setup(test_live_precedence, setup),
        cmocka_unit_test_setup(test_replay_precedence_ignores_environment, setup),
        cmocka_unit_test_setup(test_empty_environment_variable_is_unset, setup),
        cmocka_unit_test_setup(test_bad_values_name_setting_source_and_value, setup),
        cmocka_unit_test_setup(test_valid_boolean_and_duration_spellings, setup),
        cmocka_unit_test_setup(test_prometheus_tls_settings, setup),
        cmocka_unit_test_setup(test_token_is_environment_only_and_never_exported, setup),
        cmocka_unit_test_setup(test_bootstrap_resolution, setup),
        cmocka_unit_test_setup(test_history_command_needs_a_store, setup),
        cmocka_unit_test_setup(test_export_sorted_effective_settings, setup),
        cmocka_unit_test_setup(test_format_duration_go_syntax, setup),
        cmocka_unit_test_setup(test_sources_keys_and_descriptions, setup),
        cmocka_unit_test_setup(test_usage_text, setup),
        cmocka_unit_test_setup(test_free_is_safe_and_struct_reusable, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
