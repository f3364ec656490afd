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

#include "wva/error.h"
#include "wva/snapshot.h"

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
};

/* Parse argv into s (which the function initialises).  Unknown options,
 * missing arguments and bad values are usage errors (-1, err says which).
 * Only explicitly passed flags are recorded; call settings_resolve() next. */
int settings_parse_args(int argc, char **argv, struct wva_settings *s,
                        struct wva_error *err);

/* Fill every setting not given as a flag.  getenv_fn is NULL in a replay
 * (the environment is not read); snapshot_settings and main_configmap may
 * be NULL.  Returns -1 with err naming the setting, its source and the
 * value when a value is invalid. */
int settings_resolve(struct wva_settings *s,
                     const char *(*getenv_fn)(const char *name),
                     const struct wva_kvlist *snapshot_settings,
                     const struct wva_kvlist *main_configmap,
                     struct wva_error *err);

/* The effective non-secret settings, for a snapshot's "settings" object. */
void settings_export(const struct wva_settings *s, struct wva_kvlist *out);

/* --help text. */
const char *settings_usage(void);

void settings_free(struct wva_settings *s);

#endif
