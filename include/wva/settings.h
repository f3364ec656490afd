/* settings.h - command line, environment and main-ConfigMap settings
 * (SPEC sections 2 and 3).
 *
 * Precedence: explicit flag > environment variable > key in the main
 * ConfigMap > built-in default.  In a replay (--from-file) the environment is
 * not read: flag > snapshot "settings" > main ConfigMap in the snapshot >
 * default, so a replay is reproducible anywhere.
 *
 * Parsing is split in two so that the main ConfigMap, which lives in the
 * cluster, can be consulted after the command line is known:
 * settings_parse_args() reads argv; settings_resolve() fills in the rest.
 */
#ifndef WVA_SETTINGS_H
#define WVA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/kvlist.h"

enum wva_command {
    WVA_CMD_RUN,        /* scheduled, --once, or --from-file */
    WVA_CMD_DOCTOR,
    WVA_CMD_HISTORY,
    WVA_CMD_HELP,
    WVA_CMD_VERSION,
};

enum wva_output { WVA_OUTPUT_TABLE, WVA_OUTPUT_JSON };
enum wva_actuation { WVA_ACTUATION_SCALE, WVA_ACTUATION_METRICS };
enum wva_log_format { WVA_LOG_TEXT, WVA_LOG_JSON };

/* Where a setting's value came from; used in error messages. */
enum wva_source {
    WVA_SRC_DEFAULT,
    WVA_SRC_FLAG,
    WVA_SRC_ENV,
    WVA_SRC_SNAPSHOT,    /* the snapshot's "settings" object */
    WVA_SRC_CONFIGMAP,   /* the main ConfigMap */
};
const char *settings_source_name(enum wva_source src);

/* The settings of the SPEC section 3 table, as indexes into
 * struct wva_settings.source[].  Each has an environment variable / main
 * ConfigMap key of the same name (settings_key()). */
enum wva_setting {
    WVA_SET_PROMETHEUS_BASE_URL,
    WVA_SET_PROMETHEUS_BEARER_TOKEN,        /* environment only: a secret */
    WVA_SET_PROMETHEUS_TOKEN_PATH,
    WVA_SET_PROMETHEUS_CA_CERT_PATH,
    WVA_SET_PROMETHEUS_CLIENT_CERT_PATH,
    WVA_SET_PROMETHEUS_CLIENT_KEY_PATH,
    WVA_SET_PROMETHEUS_SERVER_NAME,
    WVA_SET_PROMETHEUS_TLS_INSECURE_SKIP_VERIFY,
    WVA_SET_WATCH_NAMESPACE,
    WVA_SET_CONTROLLER_INSTANCE,
    WVA_SET_POD_NAMESPACE,                  /* -> system_namespace */
    WVA_SET_CONFIG_MAP_NAME,
    WVA_SET_GLOBAL_OPT_ENABLE,
    WVA_SET_GLOBAL_OPT_INTERVAL,
    WVA_SET_WVA_SCALE_TO_ZERO,
    WVA_SET_WVA_LIMITED_MODE,
    WVA_SET_WVA_HISTORY,
    WVA_SET_WVA_PUSHGATEWAY_URL,
    WVA_SET_WVA_RUN_DEADLINE,               /* not in the SPEC table: see README */
    WVA_SET_COUNT
};

/* The environment variable / ConfigMap key of a setting
 * ("GLOBAL_OPT_INTERVAL"); a static string, NULL for an unknown id. */
const char *settings_key(enum wva_setting id);

struct wva_settings {
    enum wva_command command;
    char *history_subcommand;       /* "runs", "show", "export" */
    char *history_run;              /* RUN argument */

    /* mode */
    bool once;
    bool dry_run;
    char *from_file;                /* NULL = live */
    char *snapshot_out;
    enum wva_output output;
    enum wva_actuation actuation;
    enum wva_log_format log_format;
    int verbosity;
    bool timings;                   /* --timings: stage times on stderr */
    char *doctor_namespace;
    char *doctor_va;

    /* cluster access */
    char *kubeconfig;

    /* SPEC section 3 table */
    char *prometheus_url;
    char *prometheus_bearer_token;          /* secret: never logged */
    char *prometheus_token_path;
    char *prometheus_ca_cert_path;
    char *prometheus_client_cert_path;
    char *prometheus_client_key_path;
    char *prometheus_server_name;
    bool prometheus_tls_insecure_skip_verify;
    char *watch_namespace;          /* "" = all */
    char *controller_instance;      /* "" = manage all */
    char *system_namespace;
    char *config_map_name;
    bool global_opt_enable;
    enum wva_source global_opt_enable_source;
    double global_opt_interval;     /* seconds */
    bool scale_to_zero;
    bool limited_mode;
    char *history;
    char *pushgateway;
    double run_deadline;            /* seconds a live run may take, from its start */

    /* Where each setting of the section 3 table came from, indexed by
     * enum wva_setting.  settings_parse_args() sets WVA_SRC_FLAG for the
     * flags given (and WVA_SRC_DEFAULT for the rest); settings_resolve()
     * fills in the others.  global_opt_enable_source mirrors
     * source[WVA_SET_GLOBAL_OPT_ENABLE]. */
    enum wva_source source[WVA_SET_COUNT];
};

/* Parse argv into s (which the function initialises: free a previously
 * used s with settings_free() first).  Unknown options, missing arguments,
 * bad values, conflicting options and extra arguments are usage errors:
 * -1, err names the option and value, and s is left empty (settings_free()
 * is still safe).  Uses getopt_long (re-initialised on every call, so it
 * may be called repeatedly); argv is not modified.  Only explicitly passed
 * flags are recorded (source[] == WVA_SRC_FLAG); the other settings hold
 * their built-in defaults until settings_resolve(). */
int settings_parse_args(int argc, char **argv, struct wva_settings *s,
                        struct wva_error *err);

/* Resolve only POD_NAMESPACE (system_namespace) and CONFIG_MAP_NAME, which
 * say where the main ConfigMap is and therefore can never come from it:
 * environment (when getenv_fn is not NULL) > snapshot_settings (when not
 * NULL) > default.  Idempotent; settings_resolve() calls it too.  Returns
 * -1 with err naming the setting, source and value on an invalid name. */
int settings_resolve_bootstrap(struct wva_settings *s,
                               const char *(*getenv_fn)(const char *name),
                               const struct wva_kvlist *snapshot_settings,
                               struct wva_error *err);

/* Fill every setting not given as a flag: environment (via getenv_fn) >
 * snapshot_settings > main_configmap (its data) > built-in default.
 * getenv_fn is NULL in a replay (the environment is not read);
 * snapshot_settings and main_configmap may be NULL.  An empty environment
 * variable counts as unset.  PROMETHEUS_BEARER_TOKEN is read from the
 * environment only.  Idempotent: values not given by flag are recomputed
 * on every call.  Returns -1 with err naming the setting, its source and
 * the value when a value is invalid, or when the history command has no
 * history store. */
int settings_resolve(struct wva_settings *s,
                     const char *(*getenv_fn)(const char *name),
                     const struct wva_kvlist *snapshot_settings,
                     const struct wva_kvlist *main_configmap,
                     struct wva_error *err);

/* Where setting id came from, for messages: "flag", "environment",
 * "snapshot settings", "default" or "ConfigMap NS/NAME" (the main
 * ConfigMap's namespace and name).  Writes into buf (always terminated). */
void settings_describe_source(const struct wva_settings *s, enum wva_setting id,
                              char *buf, size_t size);

/* Format a duration in seconds the way Go's time.Duration.String() does
 * ("1m0s", "1m30s", "2h0m0s", "500ms", "0s") into buf (>= 32 bytes). */
void settings_format_duration(double seconds, char *buf, size_t size);

/* getenv() with the signature settings_resolve() takes: the environment
 * lookup of live runs. */
const char *settings_getenv(const char *name);

/* The effective non-secret settings, for a snapshot's "settings" object:
 * CONFIG_MAP_NAME, CONTROLLER_INSTANCE, GLOBAL_OPT_ENABLE,
 * GLOBAL_OPT_INTERVAL (Go syntax), POD_NAMESPACE, PROMETHEUS_BASE_URL (when
 * set), WATCH_NAMESPACE, WVA_LIMITED_MODE, WVA_SCALE_TO_ZERO, set into out
 * in that (sorted) order.  Never a token, key path or history DSN. */
void settings_export(const struct wva_settings *s, struct wva_kvlist *out);

/* --help text (static). */
const char *settings_usage(void);

/* Free every owned string and reset s to the empty state (reusable).
 * NULL is a no-op. */
void settings_free(struct wva_settings *s);

#endif
