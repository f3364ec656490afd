/* settings.c - the command line, the environment and the main ConfigMap,
 * folded into one struct wva_settings (SPEC sections 2 and 3).
 *
 * Two steps, because the main ConfigMap lives in the cluster (or in the
 * snapshot) and can only be read once the command line is known:
 * settings_parse_args() records what was passed explicitly, then
 * settings_resolve() fills every other setting from the environment (or, in
 * a replay, the snapshot's "settings"), the main ConfigMap and the built-in
 * defaults, in that order.  POD_NAMESPACE and CONFIG_MAP_NAME say where the
 * main ConfigMap is, so settings_resolve_bootstrap() resolves them without
 * it.
 *
 * The section 3 table is data (setting_defs below): one code path applies,
 * validates and explains every value, whatever its source, so each setting
 * gets the same precedence and the same error sentence.
 *
 * This module must not know about Kubernetes or Prometheus clients, nor do
 * any I/O: the environment comes in through getenv_fn and the ConfigMap as a
 * key/value list, and errors go back as values for main() to report.
 */
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wva/settings.h"
#include "wva/strbuf.h"
#include "wva/values.h"

/* Longest value accepted for any string setting or argument.  Paths, URLs
 * and DSNs are far shorter; the bound keeps hostile input out of every
 * later buffer and message. */
#define SETTING_VALUE_MAX 4096
/* How much of a bad value an error message repeats. */
#define SHOWN_VALUE_MAX 200
/* Room for the end of an error sentence, which may quote a values.c error. */
#define WHY_MAX (WVA_ERROR_MAX + 64)

static const char default_system_namespace[] = "workload-variant-autoscaler-system";
static const char default_config_map_name[] = "wva-variantautoscaling-config";

/* ---- values: how each kind of setting is checked ---------------------- */

enum value_kind {
    KIND_STRING,        /* free text (paths, server name, DSN) */
    KIND_URL,           /* http:// or https:// */
    KIND_NAMESPACE,     /* DNS-1123 label */
    KIND_OBJECT_NAME,   /* DNS-1123 subdomain */
    KIND_LABEL_VALUE,   /* Kubernetes label value */
    KIND_BOOL,
    KIND_DURATION,      /* Go syntax, > 0 */
};

/* A copy of untrusted text that is safe to put inside an error message:
 * bounded, control characters shown as '?'. */
static const char *shown(const char *text, char *buf, size_t size)
{
    size_t i, n = 0;

    for (i = 0; text[i] && n + 4 < size && i < SHOWN_VALUE_MAX; i++) {
        unsigned char c = (unsigned char)text[i];
        buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (text[i]) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static bool has_control_char(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
static bool is_dns_subdomain(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 253)
        return false;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!values_is_dns_label(s, n))
            return false;
        s += n;
        if (*s == '.' && !*++s)
            return false;
    }
    return true;
}

/* Label value: empty, or [A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?, <= 63. */
static bool is_label_value(const char *s)
{
    size_t len = strlen(s);

    if (len == 0)
        return true;
    if (len > 63 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

static bool is_http_url(const char *s)
{
    size_t n;

    if (strncasecmp(s, "https://", 8) == 0)
        n = 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        n = 7;
    else
        return false;
    return s[n] != '\0' && s[n] != '/' && !strpbrk(s, " \t");
}

/* values.c words its errors as "\"VALUE\" is not a ..." (or "empty value is
 * not a ...") so that callers can prefix a setting name.  We quote the value
 * ourselves (sanitised, see shown()), so keep only the words after it; NULL
 * when the message does not have that shape. */
static const char *values_reason(const char *text, const char *msg)
{
    const size_t quote_max = 64;     /* what values.c repeats of a value */
    size_t len = strlen(text);
    size_t n = len <= quote_max ? len : quote_max;

    if (!text[0] && strncmp(msg, "empty value ", 12) == 0)
        return msg + 12;
    if (msg[0] != '"' || strncmp(msg + 1, text, n) != 0)
        return NULL;
    msg += 1 + n;
    if (len > quote_max && strncmp(msg, "...", 3) == 0)
        msg += 3;
    if (strncmp(msg, "\" ", 2) != 0)
        return NULL;
    return msg + 2;
}

/* A checked value, ready to be stored. */
struct parsed_value {
    bool b;
    double seconds;
};

/* Check text against kind.  On failure writes the end of the error sentence
 * ("is not a boolean (true/false/1/0)") into why and returns -1. */
static int check_value(enum value_kind kind, bool allow_empty, const char *text,
                       struct parsed_value *pv, char *why, size_t why_size)
{
    struct wva_error verr;

    wva_error_clear(&verr);
    if (strlen(text) > SETTING_VALUE_MAX) {
        snprintf(why, why_size, "is longer than %d bytes", SETTING_VALUE_MAX);
        return -1;
    }
    if (!text[0] && allow_empty)
        return 0;
    if (has_control_char(text)) {
        snprintf(why, why_size, "contains a control character");
        return -1;
    }
    switch (kind) {
    case KIND_STRING:
        if (!text[0]) {
            snprintf(why, why_size, "is empty");
            return -1;
        }
        return 0;
    case KIND_URL:
        if (!is_http_url(text)) {
            snprintf(why, why_size, "is not an http:// or https:// URL");
            return -1;
        }
        return 0;
    case KIND_NAMESPACE:
        if (!values_is_dns_label(text, strlen(text))) {
            snprintf(why, why_size, "is not a valid namespace name (lowercase letters, "
                     "digits and '-', starting and ending with a letter or digit, "
                     "at most 63 characters)");
            return -1;
        }
        return 0;
    case KIND_OBJECT_NAME:
        if (!is_dns_subdomain(text)) {
            snprintf(why, why_size, "is not a valid object name (lowercase letters, "
                     "digits, '-' and '.', at most 253 characters)");
            return -1;
        }
        return 0;
    case KIND_LABEL_VALUE:
        if (!is_label_value(text)) {
            snprintf(why, why_size, "is not a valid label value (letters, digits, "
                     "'-', '_' and '.', starting and ending with a letter or digit, "
                     "at most 63 characters)");
            return -1;
        }
        return 0;
    case KIND_BOOL:
        if (values_parse_bool(text, &pv->b, &verr) < 0) {
            snprintf(why, why_size, "is not a boolean (true/false/1/0)");
            return -1;
        }
        return 0;
    case KIND_DURATION:
        if (values_parse_duration(text, &pv->seconds, &verr) < 0) {
            const char *reason = values_reason(text, verr.msg);
            if (reason)
                snprintf(why, why_size, "%s", reason);
            else
                snprintf(why, why_size, "is not a duration (%s)", verr.msg);
            return -1;
        }
        if (!(pv->seconds > 0)) {
            snprintf(why, why_size, "is not a positive duration (it must be greater than 0)");
            return -1;
        }
        return 0;
    }
    return 0;
}

/* ---- the SPEC section 3 table ----------------------------------------- */

/* Never read from a ConfigMap or snapshot, never exported. */
#define DEF_SECRET      0x1u
/* Decides where the main ConfigMap is: never read from it. */
#define DEF_BOOTSTRAP   0x2u
/* An empty value means "none" (NULL) rather than an invalid value. */
#define DEF_EMPTY_NONE  0x4u
/* An empty value is a valid value (kept as ""). */
#define DEF_EMPTY_OK    0x8u

struct setting_def {
    const char *key;            /* environment variable and ConfigMap key */
    enum value_kind kind;
    size_t offset;              /* of the char * / bool / double field */
    const char *default_text;   /* NULL: none */
    unsigned flags;
};

#define FIELD(f) offsetof(struct wva_settings, f)

static const struct setting_def setting_defs[WVA_SET_COUNT] = {
    [WVA_SET_PROMETHEUS_BASE_URL] =
        {"PROMETHEUS_BASE_URL", KIND_URL, FIELD(prometheus_url), NULL, DEF_EMPTY_NONE},
    [WVA_SET_PROMETHEUS_BEARER_TOKEN] =
        {"PROMETHEUS_BEARER_TOKEN", KIND_STRING, FIELD(prometheus_bearer_token), NULL,
         DEF_SECRET | DEF_EMPTY_NONE},
    [WVA_SET_PROMETHEUS_TOKEN_PATH] =
        {"PROMETHEUS_TOKEN_PATH", KIND_STRING, FIELD(prometheus_token_path), NULL,
         DEF_EMPTY_NONE},
    [WVA_SET_PROMETHEUS_CA_CERT_PATH] =
        {"PROMETHEUS_CA_CERT_PATH", KIND_STRING, FIELD(prometheus_ca_cert_path), NULL,
         DEF_EMPTY_NONE},
    [WVA_SET_PROMETHEUS_CLIENT_CERT_PATH] =
        {"PROMETHEUS_CLIENT_CERT_PATH", KIND_STRING, FIELD(prometheus_client_cert_path),
         NULL, DEF_EMPTY_NONE},
    [WVA_SET_PROMETHEUS_CLIENT_KEY_PATH] =
        {"PROMETHEUS_CLIENT_KEY_PATH", KIND_STRING, FIELD(prometheus_client_key_path),
         NULL, DEF_EMPTY_NONE},
    [WVA_SET_PROMETHEUS_SERVER_NAME] =
        {"PROMETHEUS_SERVER_NAME", KIND_STRING, FIELD(prometheus_server_name), NULL,
         DEF_EMPTY_NONE},
    [WVA_SET_PROMETHEUS_TLS_INSECURE_SKIP_VERIFY] =
        {"PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", KIND_BOOL,
         FIELD(prometheus_tls_insecure_skip_verify), "false", 0},
    [WVA_SET_WATCH_NAMESPACE] =
        {"WATCH_NAMESPACE", KIND_NAMESPACE, FIELD(watch_namespace), "", DEF_EMPTY_OK},
    [WVA_SET_CONTROLLER_INSTANCE] =
        {"CONTROLLER_INSTANCE", KIND_LABEL_VALUE, FIELD(controller_instance), "",
         DEF_EMPTY_OK},
    [WVA_SET_POD_NAMESPACE] =
        {"POD_NAMESPACE", KIND_NAMESPACE, FIELD(system_namespace),
         default_system_namespace, DEF_BOOTSTRAP},
    [WVA_SET_CONFIG_MAP_NAME] =
        {"CONFIG_MAP_NAME", KIND_OBJECT_NAME, FIELD(config_map_name),
         default_config_map_name, DEF_BOOTSTRAP},
    [WVA_SET_GLOBAL_OPT_ENABLE] =
        {"GLOBAL_OPT_ENABLE", KIND_BOOL, FIELD(global_opt_enable), "true", 0},
    [WVA_SET_GLOBAL_OPT_INTERVAL] =
        {"GLOBAL_OPT_INTERVAL", KIND_DURATION, FIELD(global_opt_interval), "60s", 0},
    [WVA_SET_WVA_SCALE_TO_ZERO] =
        {"WVA_SCALE_TO_ZERO", KIND_BOOL, FIELD(scale_to_zero), "false", 0},
    [WVA_SET_WVA_LIMITED_MODE] =
        {"WVA_LIMITED_MODE", KIND_BOOL, FIELD(limited_mode), "false", 0},
    [WVA_SET_WVA_HISTORY] =
        {"WVA_HISTORY", KIND_STRING, FIELD(history), NULL, DEF_EMPTY_NONE},
    [WVA_SET_WVA_PUSHGATEWAY_URL] =
        {"WVA_PUSHGATEWAY_URL", KIND_URL, FIELD(pushgateway), NULL, DEF_EMPTY_NONE},
    /* Below the CronJob's activeDeadlineSeconds (50s in cronjob/), so a run
     * ends on its own terms instead of being killed mid-write. */
    [WVA_SET_WVA_RUN_DEADLINE] =
        {"WVA_RUN_DEADLINE", KIND_DURATION, FIELD(run_deadline), "45s", 0},
};

const char *settings_key(enum wva_setting id)
{
    if ((int)id < 0 || id >= WVA_SET_COUNT)
        return NULL;
    return setting_defs[id].key;
}

const char *settings_getenv(const char *name)
{
    return getenv(name);
}

const char *settings_source_name(enum wva_source src)
{
    switch (src) {
    case WVA_SRC_DEFAULT: return "default";
    case WVA_SRC_FLAG: return "flag";
    case WVA_SRC_ENV: return "environment";
    case WVA_SRC_SNAPSHOT: return "snapshot settings";
    case WVA_SRC_CONFIGMAP: return "ConfigMap";
    }
    return "unknown";
}

static void describe_source(const struct wva_settings *s, enum wva_source src,
                            char *buf, size_t size)
{
    if (src == WVA_SRC_CONFIGMAP)
        snprintf(buf, size, "ConfigMap %s/%s",
                 s->system_namespace ? s->system_namespace : default_system_namespace,
                 s->config_map_name ? s->config_map_name : default_config_map_name);
    else
        snprintf(buf, size, "%s", settings_source_name(src));
}

void settings_describe_source(const struct wva_settings *s, enum wva_setting id,
                              char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    if (!s || (int)id < 0 || id >= WVA_SET_COUNT) {
        snprintf(buf, size, "unknown");
        return;
    }
    describe_source(s, s->source[id], buf, size);
}

static char **string_field(struct wva_settings *s, const struct setting_def *def)
{
    return (char **)((char *)s + def->offset);
}

/* Check text for setting id and store it with its source.  On failure
 * writes the end of the error sentence into why and changes nothing. */
static int store_setting(struct wva_settings *s, enum wva_setting id, const char *text,
                         enum wva_source src, char *why, size_t why_size)
{
    const struct setting_def *def = &setting_defs[id];
    struct parsed_value pv = {false, 0};
    bool allow_empty = (def->flags & (DEF_EMPTY_NONE | DEF_EMPTY_OK)) != 0;

    if (check_value(def->kind, allow_empty, text, &pv, why, why_size) < 0)
        return -1;
    switch (def->kind) {
    case KIND_BOOL:
        *(bool *)((char *)s + def->offset) = pv.b;
        break;
    case KIND_DURATION:
        *(double *)((char *)s + def->offset) = pv.seconds;
        break;
    default: {
        char **field = string_field(s, def);
        free(*field);
        *field = (!text[0] && (def->flags & DEF_EMPTY_NONE)) ? NULL : wva_xstrdup(text);
        break;
    }
    }
    s->source[id] = src;
    if (id == WVA_SET_GLOBAL_OPT_ENABLE)
        s->global_opt_enable_source = src;
    return 0;
}

static void store_default(struct wva_settings *s, enum wva_setting id)
{
    const struct setting_def *def = &setting_defs[id];
    char why[64];

    if (def->default_text) {
        /* Built-in defaults are valid by construction. */
        (void)store_setting(s, id, def->default_text, WVA_SRC_DEFAULT, why, sizeof(why));
        return;
    }
    free(*string_field(s, def));
    *string_field(s, def) = NULL;
    s->source[id] = WVA_SRC_DEFAULT;
}

/* Resolve one setting not given by flag: environment > snapshot settings >
 * main ConfigMap > default. */
static int resolve_one(struct wva_settings *s, enum wva_setting id,
                       const char *(*getenv_fn)(const char *name),
                       const struct wva_kvlist *snapshot_settings,
                       const struct wva_kvlist *main_configmap, struct wva_error *err)
{
    const struct setting_def *def = &setting_defs[id];
    const char *text = NULL;
    enum wva_source src = WVA_SRC_DEFAULT;
    char why[WHY_MAX], where[600], value[SHOWN_VALUE_MAX + 8];

    if (s->source[id] == WVA_SRC_FLAG)
        return 0;
    if (getenv_fn) {
        text = getenv_fn(def->key);
        /* Kubernetes manifests cannot tell an empty variable from an unset
         * one (and neither can the Go controller), so empty means unset. */
        if (text && !text[0])
            text = NULL;
        if (text)
            src = WVA_SRC_ENV;
    }
    if (!text && snapshot_settings && !(def->flags & DEF_SECRET)) {
        text = wva_kvlist_get(snapshot_settings, def->key);
        if (text)
            src = WVA_SRC_SNAPSHOT;
    }
    if (!text && main_configmap && !(def->flags & (DEF_SECRET | DEF_BOOTSTRAP))) {
        text = wva_kvlist_get(main_configmap, def->key);
        if (text)
            src = WVA_SRC_CONFIGMAP;
    }
    if (!text) {
        store_default(s, id);
        return 0;
    }
    if (store_setting(s, id, text, src, why, sizeof(why)) < 0) {
        describe_source(s, src, where, sizeof(where));
        wva_error_set(err, "%s from %s: \"%s\" %s", def->key, where,
                      shown(text, value, sizeof(value)), why);
        return -1;
    }
    return 0;
}

int settings_resolve_bootstrap(struct wva_settings *s,
                               const char *(*getenv_fn)(const char *name),
                               const struct wva_kvlist *snapshot_settings,
                               struct wva_error *err)
{
    if (resolve_one(s, WVA_SET_POD_NAMESPACE, getenv_fn, snapshot_settings, NULL, err) < 0)
        return -1;
    return resolve_one(s, WVA_SET_CONFIG_MAP_NAME, getenv_fn, snapshot_settings, NULL, err);
}

int settings_resolve(struct wva_settings *s,
                     const char *(*getenv_fn)(const char *name),
                     const struct wva_kvlist *snapshot_settings,
                     const struct wva_kvlist *main_configmap,
                     struct wva_error *err)
{
    if (settings_resolve_bootstrap(s, getenv_fn, snapshot_settings, err) < 0)
        return -1;
    for (int id = 0; id < WVA_SET_COUNT; id++) {
        if (setting_defs[id].flags & DEF_BOOTSTRAP)
            continue;
        if (resolve_one(s, (enum wva_setting)id, getenv_fn, snapshot_settings,
                        main_configmap, err) < 0)
            return -1;
    }
    if (s->command == WVA_CMD_HISTORY && !s->history) {
        wva_error_set(err, "history %s: no history store configured "
                      "(pass --history DSN or set WVA_HISTORY)",
                      s->history_subcommand ? s->history_subcommand : "");
        return -1;
    }
    return 0;
}

/* ---- export ------------------------------------------------------------ */

/* Go's time.Duration.String(): "0s", "1.5µs", "300ms", "1m0s", "2h0m0s". */
void settings_format_duration(double seconds, char *buf, size_t size)
{
    const double max_seconds = 9223372036.0;   /* int64 nanoseconds */
    char frac[16];
    uint64_t ns, whole, part;
    const char *sign = seconds < 0 ? "-" : "";
    int digits;

    if (!buf || size == 0)
        return;
    if (isnan(seconds)) {
        snprintf(buf, size, "0s");
        return;
    }
    seconds = fabs(seconds);
    if (seconds > max_seconds)
        seconds = max_seconds;
    ns = (uint64_t)llround(seconds * 1e9);
    if (ns == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    if (ns < 1000) {
        snprintf(buf, size, "%s%lluns", sign, (unsigned long long)ns);
        return;
    }

    const char *unit;
    uint64_t scale;
    if (ns < 1000000ull) {
        unit = "\xc2\xb5s";     /* U+00B5, as Go prints it */
        scale = 1000ull;
        digits = 3;
    } else if (ns < 1000000000ull) {
        unit = "ms";
        scale = 1000000ull;
        digits = 6;
    } else {
        unit = "s";
        scale = 1000000000ull;
        digits = 9;
    }
    whole = ns / scale;
    part = ns % scale;
    frac[0] = '\0';
    if (part) {
        snprintf(frac, sizeof(frac), ".%0*llu", digits, (unsigned long long)part);
        size_t n = strlen(frac);
        while (frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    if (scale < 1000000000ull) {
        snprintf(buf, size, "%s%llu%s%s", sign, (unsigned long long)whole, frac, unit);
        return;
    }
    uint64_t secs = whole % 60, mins = (whole / 60) % 60, hours = whole / 3600;
    if (hours)
        snprintf(buf, size, "%s%lluh%llum%llu%ss", sign, (unsigned long long)hours,
                 (unsigned long long)mins, (unsigned long long)secs, frac);
    else if (mins)
        snprintf(buf, size, "%s%llum%llu%ss", sign, (unsigned long long)mins,
                 (unsigned long long)secs, frac);
    else
        snprintf(buf, size, "%s%llu%ss", sign, (unsigned long long)secs, frac);
}

void settings_export(const struct wva_settings *s, struct wva_kvlist *out)
{
    char interval[64];

    if (!s || !out)
        return;
    settings_format_duration(s->global_opt_interval, interval, sizeof(interval));
    /* Sorted by key, so exported snapshots diff cleanly. */
    wva_kvlist_set(out, "CONFIG_MAP_NAME",
                   s->config_map_name ? s->config_map_name : default_config_map_name);
    wva_kvlist_set(out, "CONTROLLER_INSTANCE",
                   s->controller_instance ? s->controller_instance : "");
    wva_kvlist_set(out, "GLOBAL_OPT_ENABLE", s->global_opt_enable ? "true" : "false");
    wva_kvlist_set(out, "GLOBAL_OPT_INTERVAL", interval);
    wva_kvlist_set(out, "POD_NAMESPACE",
                   s->system_namespace ? s->system_namespace : default_system_namespace);
    if (s->prometheus_url)
        wva_kvlist_set(out, "PROMETHEUS_BASE_URL", s->prometheus_url);
    wva_kvlist_set(out, "WATCH_NAMESPACE", s->watch_namespace ? s->watch_namespace : "");
    wva_kvlist_set(out, "WVA_LIMITED_MODE", s->limited_mode ? "true" : "false");
    wva_kvlist_set(out, "WVA_SCALE_TO_ZERO", s->scale_to_zero ? "true" : "false");
}

/* ---- command line ------------------------------------------------------ */

enum opt_id {
    OPT_HELP = 'h',
    OPT_VERBOSITY = 'v',
    OPT_ONCE = 256,
    OPT_DRY_RUN,
    OPT_FROM_FILE,
    OPT_SNAPSHOT_OUT,
    OPT_OUTPUT,
    OPT_HISTORY,
    OPT_PUSHGATEWAY,
    OPT_ACTUATION,
    OPT_LOG_FORMAT,
    OPT_KUBECONFIG,
    OPT_PROMETHEUS_URL,
    OPT_WATCH_NAMESPACE,
    OPT_CONTROLLER_INSTANCE,
    OPT_TIMINGS,
    OPT_NAMESPACE,
    OPT_VA,
    OPT_VERSION,
    OPT_LAST
};

static const struct option long_options[] = {
    {"once", no_argument, NULL, OPT_ONCE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"from-file", required_argument, NULL, OPT_FROM_FILE},
    {"snapshot-out", required_argument, NULL, OPT_SNAPSHOT_OUT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"pushgateway", required_argument, NULL, OPT_PUSHGATEWAY},
    {"actuation", required_argument, NULL, OPT_ACTUATION},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"verbosity", required_argument, NULL, OPT_VERBOSITY},
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"prometheus-url", required_argument, NULL, OPT_PROMETHEUS_URL},
    {"watch-namespace", required_argument, NULL, OPT_WATCH_NAMESPACE},
    {"controller-instance", required_argument, NULL, OPT_CONTROLLER_INSTANCE},
    {"timings", no_argument, NULL, OPT_TIMINGS},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"va", required_argument, NULL, OPT_VA},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Leading '-': non-options come back in order as option 1, so the command
 * and its arguments may sit anywhere and argv is never permuted (even under
 * POSIXLY_CORRECT).  Then ':': a missing argument returns ':'. */
static const char short_options[] = "-:hv:";

#define CMD_RUN_BIT     0x1u
#define CMD_DOCTOR_BIT  0x2u
#define CMD_HISTORY_BIT 0x4u
#define CMD_ALL_BITS    (CMD_RUN_BIT | CMD_DOCTOR_BIT | CMD_HISTORY_BIT)

/* The commands an option is meaningful for.  Options shared by all
 * commands are accepted everywhere, so a shell alias with --kubeconfig or
 * -v works for every command. */
static unsigned option_commands(int id)
{
    switch (id) {
    case OPT_ONCE:
    case OPT_DRY_RUN:
    case OPT_SNAPSHOT_OUT:
    case OPT_PUSHGATEWAY:
    case OPT_ACTUATION:
        return CMD_RUN_BIT;
    case OPT_FROM_FILE:
        return CMD_RUN_BIT | CMD_DOCTOR_BIT;
    case OPT_NAMESPACE:
    case OPT_VA:
        return CMD_DOCTOR_BIT;
    default:
        return CMD_ALL_BITS;
    }
}

static const char *option_name(int id)
{
    if (id == OPT_VERBOSITY)
        return "-v";
    for (const struct option *o = long_options; o->name; o++)
        if (o->val == id)
            return o->name;
    return NULL;
}

/* The name to quote in a message: "--output", or "-v" when typed short. */
static void typed_name(int id, int longindex, char *buf, size_t size)
{
    if (longindex >= 0)
        snprintf(buf, size, "--%s", long_options[longindex].name);
    else if (id == OPT_VERBOSITY || id == OPT_HELP)
        snprintf(buf, size, "-%c", id);
    else
        snprintf(buf, size, "--%s", option_name(id));
}

/* One of a fixed set of words ("table", "json"); returns the index or -1
 * with a usage error listing the choices. */
static int parse_choice(const char *opt, const char *text, const char *const *choices,
                        size_t count, struct wva_error *err)
{
    struct wva_strbuf list = WVA_STRBUF_INIT;
    char value[SHOWN_VALUE_MAX + 8];

    for (size_t i = 0; i < count; i++)
        if (strcmp(text, choices[i]) == 0)
            return (int)i;
    for (size_t i = 0; i < count; i++)
        wva_strbuf_addf(&list, "%s%s", i ? ", " : "", choices[i]);
    wva_error_set(err, "%s: \"%s\" is not one of %s", opt,
                  shown(text, value, sizeof(value)), wva_strbuf_str(&list));
    wva_strbuf_release(&list);
    return -1;
}

/* An option value that is not one of the section 3 settings. */
static int store_argument(const char *opt, const char *text, enum value_kind kind,
                          char **field, struct wva_error *err)
{
    struct parsed_value pv;
    char why[WHY_MAX], value[SHOWN_VALUE_MAX + 8];

    if (check_value(kind, false, text, &pv, why, sizeof(why)) < 0) {
        wva_error_set(err, "%s: \"%s\" %s", opt, shown(text, value, sizeof(value)), why);
        return -1;
    }
    free(*field);
    *field = wva_xstrdup(text);
    return 0;
}

static int store_flag_setting(struct wva_settings *s, const char *opt, enum wva_setting id,
                              const char *text, struct wva_error *err)
{
    char why[WHY_MAX], value[SHOWN_VALUE_MAX + 8];

    if (store_setting(s, id, text, WVA_SRC_FLAG, why, sizeof(why)) < 0) {
        wva_error_set(err, "%s: \"%s\" %s", opt, shown(text, value, sizeof(value)), why);
        return -1;
    }
    return 0;
}

static void init_settings(struct wva_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->command = WVA_CMD_RUN;
    s->output = WVA_OUTPUT_TABLE;
    s->actuation = WVA_ACTUATION_SCALE;
    s->log_format = WVA_LOG_TEXT;
    for (int id = 0; id < WVA_SET_COUNT; id++)
        store_default(s, (enum wva_setting)id);
}

static int apply_option(struct wva_settings *s, int id, const char *opt, const char *arg,
                        struct wva_error *err)
{
    static const char *const outputs[] = {"table", "json"};
    static const char *const actuations[] = {"scale", "metrics"};
    static const char *const log_formats[] = {"text", "json"};
    struct wva_error verr;
    char value[SHOWN_VALUE_MAX + 8];
    long level;
    int choice;

    switch (id) {
    case OPT_ONCE: s->once = true; return 0;
    case OPT_DRY_RUN: s->dry_run = true; return 0;
    case OPT_TIMINGS: s->timings = true; return 0;
    case OPT_FROM_FILE:
        return store_argument(opt, arg, KIND_STRING, &s->from_file, err);
    case OPT_SNAPSHOT_OUT:
        return store_argument(opt, arg, KIND_STRING, &s->snapshot_out, err);
    case OPT_KUBECONFIG:
        return store_argument(opt, arg, KIND_STRING, &s->kubeconfig, err);
    case OPT_NAMESPACE:
        return store_argument(opt, arg, KIND_NAMESPACE, &s->doctor_namespace, err);
    case OPT_VA:
        return store_argument(opt, arg, KIND_OBJECT_NAME, &s->doctor_va, err);
    case OPT_OUTPUT:
        if ((choice = parse_choice(opt, arg, outputs, 2, err)) < 0)
            return -1;
        s->output = choice ? WVA_OUTPUT_JSON : WVA_OUTPUT_TABLE;
        return 0;
    case OPT_ACTUATION:
        if ((choice = parse_choice(opt, arg, actuations, 2, err)) < 0)
            return -1;
        s->actuation = choice ? WVA_ACTUATION_METRICS : WVA_ACTUATION_SCALE;
        return 0;
    case OPT_LOG_FORMAT:
        if ((choice = parse_choice(opt, arg, log_formats, 2, err)) < 0)
            return -1;
        s->log_format = choice ? WVA_LOG_JSON : WVA_LOG_TEXT;
        return 0;
    case OPT_VERBOSITY:
        if (values_parse_int(arg, 0, 10, &level, &verr) < 0) {
            wva_error_set(err, "%s: \"%s\" is not an integer from 0 to 10", opt,
                          shown(arg, value, sizeof(value)));
            return -1;
        }
        s->verbosity = (int)level;
        return 0;
    case OPT_HISTORY:
        return store_flag_setting(s, opt, WVA_SET_WVA_HISTORY, arg, err);
    case OPT_PUSHGATEWAY:
        return store_flag_setting(s, opt, WVA_SET_WVA_PUSHGATEWAY_URL, arg, err);
    case OPT_PROMETHEUS_URL:
        return store_flag_setting(s, opt, WVA_SET_PROMETHEUS_BASE_URL, arg, err);
    case OPT_WATCH_NAMESPACE:
        return store_flag_setting(s, opt, WVA_SET_WATCH_NAMESPACE, arg, err);
    case OPT_CONTROLLER_INSTANCE:
        return store_flag_setting(s, opt, WVA_SET_CONTROLLER_INSTANCE, arg, err);
    }
    return 0;
}

/* Report getopt's '?' (unknown option, ambiguous abbreviation, or a value
 * given to an option that takes none) and ':' (missing value). */
static void getopt_error(int c, int argc, char **argv, struct wva_error *err)
{
    char value[SHOWN_VALUE_MAX + 8];
    const char *arg = (optind > 0 && optind <= argc) ? argv[optind - 1] : "";
    char name[SHOWN_VALUE_MAX + 8];
    size_t n;

    if (c == ':') {
        if (optopt == OPT_VERBOSITY)
            snprintf(name, sizeof(name), "%s", strncmp(arg, "--", 2) == 0 ? "--verbosity" : "-v");
        else
            snprintf(name, sizeof(name), "--%s", option_name(optopt));
        wva_error_set(err, "%s: missing value (see --help)", name);
        return;
    }
    if (optopt >= OPT_ONCE && optopt < OPT_LAST) {
        wva_error_set(err, "--%s: takes no value", option_name(optopt));
        return;
    }
    if (optopt == OPT_HELP && strncmp(arg, "--", 2) == 0) {
        wva_error_set(err, "--help: takes no value");
        return;
    }
    if (optopt) {
        wva_error_set(err, "unknown option \"-%c\" (see --help)",
                      (optopt > 0x20 && optopt < 0x7f) ? optopt : '?');
        return;
    }
    shown(arg, value, sizeof(value));
    n = strcspn(value, "=");
    value[n] = '\0';
    wva_error_set(err, "unknown or ambiguous option \"%s\" (see --help)", value);
}

/* Turn the positional arguments into the command. */
static int parse_command(struct wva_settings *s, char **pos, int npos, struct wva_error *err)
{
    char value[SHOWN_VALUE_MAX + 8];
    int used;

    if (npos == 0)
        return 0;
    if (strcmp(pos[0], "doctor") == 0) {
        s->command = WVA_CMD_DOCTOR;
        used = 1;
    } else if (strcmp(pos[0], "history") == 0) {
        s->command = WVA_CMD_HISTORY;
        if (npos < 2) {
            wva_error_set(err, "history: missing subcommand (runs, show RUN or export RUN)");
            return -1;
        }
        if (strcmp(pos[1], "runs") == 0) {
            used = 2;
        } else if (strcmp(pos[1], "show") == 0 || strcmp(pos[1], "export") == 0) {
            if (npos < 3) {
                wva_error_set(err, "history %s: missing RUN argument", pos[1]);
                return -1;
            }
            if (!pos[2][0] || strlen(pos[2]) > 256 || has_control_char(pos[2])) {
                wva_error_set(err, "history %s: \"%s\" is not a run id", pos[1],
                              shown(pos[2], value, sizeof(value)));
                return -1;
            }
            s->history_run = wva_xstrdup(pos[2]);
            used = 3;
        } else {
            wva_error_set(err, "history: unknown subcommand \"%s\" "
                          "(runs, show RUN or export RUN)",
                          shown(pos[1], value, sizeof(value)));
            return -1;
        }
        s->history_subcommand = wva_xstrdup(pos[1]);
    } else {
        wva_error_set(err, "unknown command \"%s\" (commands: doctor, history; see --help)",
                      shown(pos[0], value, sizeof(value)));
        return -1;
    }
    if (npos > used) {
        wva_error_set(err, "unexpected argument \"%s\"", shown(pos[used], value, sizeof(value)));
        return -1;
    }
    return 0;
}

int settings_parse_args(int argc, char **argv, struct wva_settings *s,
                        struct wva_error *err)
{
    char **pos = NULL;
    int npos = 0, c, longindex, rc = -1;
    bool seen[OPT_LAST] = {false};
    bool help = false, version = false;
    char opt[64];

    init_settings(s);
    if (argc < 1 || !argv)
        return 0;
    pos = wva_xcalloc((size_t)argc, sizeof(*pos));
    optind = 0;     /* full re-initialisation of GNU getopt: parse may run again */
    opterr = 0;     /* errors are returned, not printed */
    for (;;) {
        longindex = -1;
        c = getopt_long(argc, argv, short_options, long_options, &longindex);
        if (c == -1)
            break;
        if (c == 1) {
            pos[npos++] = optarg;
            continue;
        }
        if (c == '?' || c == ':') {
            getopt_error(c, argc, argv, err);
            goto out;
        }
        if (c < 0 || c >= OPT_LAST)
            continue;       /* getopt returns only the values above */
        seen[c] = true;
        if (c == OPT_HELP) {
            help = true;
            continue;
        }
        if (c == OPT_VERSION) {
            version = true;
            continue;
        }
        typed_name(c, longindex, opt, sizeof(opt));
        if (apply_option(s, c, opt, optarg, err) < 0)
            goto out;
    }
    /* Whatever follows "--" is positional. */
    while (optind < argc)
        pos[npos++] = argv[optind++];

    if (help || version) {
        s->command = help ? WVA_CMD_HELP : WVA_CMD_VERSION;
        rc = 0;
        goto out;
    }
    if (parse_command(s, pos, npos, err) < 0)
        goto out;

    unsigned bit = s->command == WVA_CMD_DOCTOR ? CMD_DOCTOR_BIT
                 : s->command == WVA_CMD_HISTORY ? CMD_HISTORY_BIT : CMD_RUN_BIT;
    for (int id = 0; id < OPT_LAST; id++) {
        if (seen[id] && !(option_commands(id) & bit)) {
            wva_error_set(err, "--%s cannot be used with %s", option_name(id),
                          s->command == WVA_CMD_DOCTOR ? "the doctor command"
                          : s->command == WVA_CMD_HISTORY ? "the history command"
                          : "a run (it belongs to the doctor command)");
            goto out;
        }
    }
    if (s->from_file && s->snapshot_out) {
        wva_error_set(err, "--from-file and --snapshot-out cannot be used together "
                      "(a replay records no new snapshot)");
        goto out;
    }
    rc = 0;
out:
    free(pos);
    if (rc < 0)
        settings_free(s);
    return rc;
}

/* ---- help and cleanup ---------------------------------------------------- */

const char *settings_usage(void)
{
    return
        "Usage:\n"
        "  wva-optimizer [OPTIONS]                 scheduled run: honours GLOBAL_OPT_ENABLE\n"
        "                                          and GLOBAL_OPT_INTERVAL\n"
        "  wva-optimizer --once [OPTIONS]          exactly one cycle now, ignoring the interval\n"
        "  wva-optimizer --from-file SNAP [OPTS]   replay a snapshot offline (never contacts a\n"
        "                                          cluster)\n"
        "  wva-optimizer doctor [--namespace NS] [--va NAME] [--from-file SNAP] [OPTS]\n"
        "                                          diagnose why VAs are (not) optimized\n"
        "  wva-optimizer history runs|show RUN|export RUN [--history DSN]\n"
        "                                          list recorded runs, show or export one\n"
        "  wva-optimizer --help | --version\n"
        "\n"
        "Run options:\n"
        "  --once                    run one cycle now, ignoring the interval gate\n"
        "  --dry-run                 compute and print the plan, write nothing to the cluster\n"
        "  --from-file FILE          replay the snapshot FILE ('-' = stdin); the environment\n"
        "                            is not read\n"
        "  --snapshot-out FILE       record the snapshot this run used (not with --from-file)\n"
        "  --actuation scale|metrics scale Deployments (default), or only publish\n"
        "                            wva_desired_replicas for HPA/KEDA\n"
        "  --pushgateway URL         Pushgateway to push run metrics to\n"
        "\n"
        "Doctor options:\n"
        "  --namespace NS            check only VAs in namespace NS\n"
        "  --va NAME                 check only the VA named NAME\n"
        "  --from-file SNAP          diagnose a recorded snapshot instead of the cluster\n"
        "\n"
        "Common options:\n"
        "  --kubeconfig FILE         kubeconfig to use outside a cluster (else KUBECONFIG,\n"
        "                            then ~/.kube/config)\n"
        "  --prometheus-url URL      Prometheus base URL (https:// recommended)\n"
        "  --watch-namespace NS      optimize only VAs in namespace NS (\"\" = all)\n"
        "  --controller-instance ID  manage only VAs labelled\n"
        "                            wva.llmd.ai/controller-instance=ID (\"\" = all)\n"
        "  --history DSN             record every run in the history store DSN\n"
        "  --output table|json       plan or report format on stdout (default table)\n"
        "  --log-format text|json    log line format on stderr (default text)\n"
        "  -v, --verbosity N         log verbosity 0..10 (default 0; 1 adds debug lines)\n"
        "  --timings                 print the time each stage took on stderr\n"
        "  -h, --help                show this help\n"
        "  --version                 show the version\n"
        "Options take their value as --opt VALUE or --opt=VALUE.\n"
        "\n"
        "Settings (precedence: flag > environment > main ConfigMap > default; in a replay:\n"
        "flag > snapshot settings > main ConfigMap in the snapshot > default).\n"
        "Each variable below is also read as a key of the main ConfigMap, except\n"
        "POD_NAMESPACE and CONFIG_MAP_NAME (which locate it) and PROMETHEUS_BEARER_TOKEN\n"
        "(a secret: environment only):\n"
        "  PROMETHEUS_BASE_URL                  Prometheus URL (required for live runs)\n"
        "  PROMETHEUS_BEARER_TOKEN              bearer token for Prometheus\n"
        "  PROMETHEUS_TOKEN_PATH                file holding the bearer token\n"
        "  PROMETHEUS_CA_CERT_PATH              CA bundle for Prometheus TLS\n"
        "  PROMETHEUS_CLIENT_CERT_PATH          client certificate for Prometheus\n"
        "  PROMETHEUS_CLIENT_KEY_PATH           client key for Prometheus\n"
        "  PROMETHEUS_SERVER_NAME               TLS server name for Prometheus\n"
        "  PROMETHEUS_TLS_INSECURE_SKIP_VERIFY  skip TLS verification (default false)\n"
        "  WATCH_NAMESPACE                      namespace to watch (default \"\" = all)\n"
        "  CONTROLLER_INSTANCE                  controller instance (default \"\" = all VAs)\n"
        "  POD_NAMESPACE                        system namespace\n"
        "                                       (default workload-variant-autoscaler-system)\n"
        "  CONFIG_MAP_NAME                      main ConfigMap name\n"
        "                                       (default wva-variantautoscaling-config)\n"
        "  GLOBAL_OPT_ENABLE                    global optimization on/off (default true)\n"
        "  GLOBAL_OPT_INTERVAL                  optimization interval (default 60s)\n"
        "  WVA_SCALE_TO_ZERO                    scale-to-zero default (default false)\n"
        "  WVA_LIMITED_MODE                     respect GPU inventory limits (default false)\n"
        "  WVA_HISTORY                          history store DSN (default none)\n"
        "  WVA_PUSHGATEWAY_URL                  Pushgateway URL (default none)\n"
        "  WVA_RUN_DEADLINE                     time a live run may take (default 45s)\n"
        "Booleans accept true/false/1/0 (any case); durations use Go syntax (90s, 1m30s, 2h).\n"
        "An empty environment variable counts as unset.\n"
        "\n"
        "Exit codes:\n"
        "  0  success (skipped VAs are not failures)\n"
        "  1  runtime failure (cluster or Prometheus unreachable, nothing applied)\n"
        "  2  usage or configuration error\n"
        "  3  partial failure (some patches failed, the rest applied)\n"
        "  4  doctor found a failing check\n"
        "Logs go to stderr, the plan to stdout.\n";
}

void settings_free(struct wva_settings *s)
{
    if (!s)
        return;
    free(s->history_subcommand);
    free(s->history_run);
    free(s->from_file);
    free(s->snapshot_out);
    free(s->doctor_namespace);
    free(s->doctor_va);
    free(s->kubeconfig);
    for (int id = 0; id < WVA_SET_COUNT; id++) {
        const struct setting_def *def = &setting_defs[id];
        if (def->kind != KIND_BOOL && def->kind != KIND_DURATION)
            free(*string_field(s, def));
    }
    memset(s, 0, sizeof(*s));
}
