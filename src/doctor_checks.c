/* doctor_checks.c - the checks of `wva-optimizer doctor` (see
 * include/wva/doctor_checks.h): rows of global, namespace and VA checks,
 * each failing row with the command that fixes it.
 *
 * Pure functions of the snapshot, the settings and the probe results.  The
 * VA verdicts come from filter_select() and engine_plan() only: this file
 * re-asks the filter with relaxed parameters to evaluate a later check when
 * an earlier one fails, but never decides a skip reason itself; whether a
 * namespace is tracked is filter_namespace_tracked()'s answer.  It reads
 * nothing, writes nothing and knows nothing of the LP.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wva/configmaps.h"
#include "wva/doctor_checks.h"
#include "wva/engine.h"
#include "wva/filter.h"
#include "wva/lease.h"
#include "wva/plan.h"
#include "wva/strbuf.h"
#include "wva/values.h"

#define CHECK_GLOBAL_OPT "GlobalOptimizationEnabled"
#define CHECK_INTERVAL "OptimizationInterval"
#define CHECK_PROMETHEUS "PrometheusReachable"
#define CHECK_PERMISSIONS "Permissions"
#define CHECK_LAST_RUN "LastRun"
#define CHECK_TRACKED "NamespaceTracked"
#define CHECK_CM_NAMES "ConfigMapNames"
#define CHECK_VA_FOUND "VAFound"

/* LastRun fails when the last completed run is older than this many
 * intervals: one or two missed CronJob runs happen, three in a row do not. */
#define LAST_RUN_MAX_INTERVALS 3
#define LAST_RUN_MAX_INTERVALS_TEXT "3"
/* A ConfigMap name this close (edits) to one of ours is a near miss. */
#define NEAR_MISS_DISTANCE 3
/* Kubernetes object names are at most 253 bytes. */
#define NAME_MAX_LEN 253


/* ---- what only a live cluster can tell -------------------------------- */

static const struct doctor_permission permissions[] = {
    {"get", "", "namespaces", NULL, DOCTOR_PERM_CLUSTER, false},
    {"list", "", "namespaces", NULL, DOCTOR_PERM_CLUSTER, false},
    {"list", "llmd.ai", "variantautoscalings", NULL, DOCTOR_PERM_WORKLOAD, false},
    {"patch", "llmd.ai", "variantautoscalings", "status", DOCTOR_PERM_WORKLOAD, false},
    {"list", "apps", "deployments", NULL, DOCTOR_PERM_WORKLOAD, false},
    {"get", "apps", "deployments", "scale", DOCTOR_PERM_WORKLOAD, false},
    {"patch", "apps", "deployments", "scale", DOCTOR_PERM_WORKLOAD, false},
    {"list", "", "pods", NULL, DOCTOR_PERM_WORKLOAD, false},
    {"get", "", "configmaps", NULL, DOCTOR_PERM_WORKLOAD, false},
    {"list", "", "configmaps", NULL, DOCTOR_PERM_WORKLOAD, false},
    {"get", "", "configmaps", NULL, DOCTOR_PERM_SYSTEM, false},
    {"create", "", "events", NULL, DOCTOR_PERM_WORKLOAD, false},
    {"get", "coordination.k8s.io", "leases", NULL, DOCTOR_PERM_SYSTEM, false},
    {"create", "coordination.k8s.io", "leases", NULL, DOCTOR_PERM_SYSTEM, false},
    {"update", "coordination.k8s.io", "leases", NULL, DOCTOR_PERM_SYSTEM, false},
    {"list", "", "nodes", NULL, DOCTOR_PERM_CLUSTER, true},
    {"list", "", "pods", NULL, DOCTOR_PERM_CLUSTER, true},
};

const struct doctor_permission *doctor_permissions(size_t *count)
{
    *count = sizeof(permissions) / sizeof(permissions[0]);
    return permissions;
}

void doctor_facts_free(struct doctor_facts *f)
{
    if (!f)
        return;
    free(f->prometheus_error);
    for (size_t i = 0; i < f->perms_count; i++) {
        free(f->perms[i].namespace_name);
        free(f->perms[i].reason);
    }
    free(f->perms);
    free(f->permissions_error);
    free(f->main_configmap_refused);
    free(f->lease_error);
    for (size_t i = 0; i < f->cms_count; i++) {
        free(f->cms[i].namespace_name);
        free(f->cms[i].name);
    }
    free(f->cms);
    free(f->cms_note);
    free(f->scope_note);
    memset(f, 0, sizeof(*f));
}

/* ---- the report ------------------------------------------------------ */

const char *doctor_scope_name(enum doctor_scope scope)
{
    switch (scope) {
    case DOCTOR_SCOPE_GLOBAL: return "global";
    case DOCTOR_SCOPE_NAMESPACE: return "namespace";
    case DOCTOR_SCOPE_VA: return "va";
    }
    return "global";
}

static void add_row(struct doctor_report *r, enum doctor_scope scope, const char *ns,
                    const char *name, const char *check, bool ok, const char *fix,
                    const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void add_row(struct doctor_report *r, enum doctor_scope scope, const char *ns,
                    const char *name, const char *check, bool ok, const char *fix,
                    const char *fmt, ...)
{
    struct wva_strbuf finding = WVA_STRBUF_INIT;
    char buf[2048];
    va_list ap;

    /* Grow at powers of two: the array is always at least that big. */
    if (r->count == 0 || (r->count & (r->count - 1)) == 0)
        r->checks = wva_xrealloc(r->checks, (r->count ? r->count * 2 : 16) * sizeof(*r->checks));
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    wva_strbuf_adds(&finding, buf);
    r->checks[r->count++] = (struct doctor_check){
        .scope = scope,
        .namespace_name = wva_xstrdup(ns ? ns : ""),
        .name = wva_xstrdup(name ? name : ""),
        .check = check,
        .ok = ok,
        .finding = wva_strbuf_detach(&finding),
        .fix = wva_xstrdup(fix ? fix : ""),
    };
}

size_t doctor_failed_count(const struct doctor_report *report)
{
    size_t n = 0;

    for (size_t i = 0; report && i < report->count; i++)
        n += !report->checks[i].ok;
    return n;
}

void doctor_report_free(struct doctor_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->count; i++) {
        free(report->checks[i].namespace_name);
        free(report->checks[i].name);
        free(report->checks[i].finding);
        free(report->checks[i].fix);
    }
    free(report->checks);
    report->checks = NULL;
    report->count = 0;
}


/* ---- fixes that change a setting where it is set now ------------------ */

static const char *setting_flag(enum wva_setting id)
{
    switch (id) {
    case WVA_SET_WATCH_NAMESPACE: return "watch-namespace";
    case WVA_SET_CONTROLLER_INSTANCE: return "controller-instance";
    case WVA_SET_PROMETHEUS_BASE_URL: return "prometheus-url";
    default: return NULL;
    }
}

/* A command setting id to value (NULL: removing it) in the place it comes
 * from now: the flag, the CronJob's environment, else the main ConfigMap
 * (also for defaults and snapshot settings: the ConfigMap is where an
 * operator sets things). */
static void setting_fix(struct wva_strbuf *sb, const struct wva_settings *s, enum wva_setting id,
                        const char *value)
{
    const char *key = settings_key(id);
    const char *flag = setting_flag(id);

    if (s->source[id] == WVA_SRC_FLAG && flag) {
        if (value)
            wva_strbuf_addf(sb, "run with --%s %s", flag, value);
        else
            wva_strbuf_addf(sb, "run without --%s", flag);
        return;
    }
    if (s->source[id] == WVA_SRC_ENV) {
        wva_strbuf_addf(sb, "kubectl -n %s set env cronjob/%s %s%s%s", s->system_namespace,
                        DOCTOR_CRONJOB_NAME, key, value ? "=" : "-", value ? value : "");
        return;
    }
    if (value)
        wva_strbuf_addf(sb, "kubectl -n %s patch configmap %s --type merge -p "
                        "'{\"data\":{\"%s\":\"%s\"}}'", s->system_namespace, s->config_map_name,
                        key, value);
    else
        wva_strbuf_addf(sb, "kubectl -n %s patch configmap %s --type json -p "
                        "'[{\"op\":\"remove\",\"path\":\"/data/%s\"}]'", s->system_namespace,
                        s->config_map_name, key);
}

static char *watch_fix(const struct wva_settings *s, const char *ns)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    wva_strbuf_addf(&sb, "watch namespace %s (--watch-namespace %s, or ", ns, ns);
    setting_fix(&sb, s, WVA_SET_WATCH_NAMESPACE, ns);
    wva_strbuf_adds(&sb, "), or watch all namespaces: ");
    setting_fix(&sb, s, WVA_SET_WATCH_NAMESPACE, NULL);
    return wva_strbuf_detach(&sb);
}

static bool is_set(const char *s)
{
    return s && s[0];
}

/* ---- global checks ---------------------------------------------------- */

struct doctor {
    const struct wva_snapshot *snap;
    const struct wva_settings *s;
    const struct doctor_facts *live;      /* NULL offline */
    struct doctor_report *report;
    struct wva_filter_params params;
    const struct doctor_cm_name *cms;          /* ConfigMap names to check */
    size_t cms_count;
};

static void check_global_enable(struct doctor *d)
{
    const struct wva_settings *s = d->s;
    struct wva_strbuf fix = WVA_STRBUF_INIT;
    char where[256];

    settings_describe_source(s, WVA_SET_GLOBAL_OPT_ENABLE, where, sizeof(where));
    if (s->global_opt_enable) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_GLOBAL_OPT, true, NULL,
                "GLOBAL_OPT_ENABLE is true (%s)", where);
        return;
    }
    setting_fix(&fix, s, WVA_SET_GLOBAL_OPT_ENABLE, "true");
    add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_GLOBAL_OPT, false, wva_strbuf_str(&fix),
            "GLOBAL_OPT_ENABLE is false (%s): scheduled runs change nothing", where);
    wva_strbuf_release(&fix);
}

static void check_interval(struct doctor *d)
{
    const struct wva_settings *s = d->s;
    struct wva_strbuf fix = WVA_STRBUF_INIT;
    char where[256], text[32];

    settings_describe_source(s, WVA_SET_GLOBAL_OPT_INTERVAL, where, sizeof(where));
    settings_format_duration(s->global_opt_interval, text, sizeof(text));
    if (!(s->global_opt_interval >= 1)) {
        setting_fix(&fix, s, WVA_SET_GLOBAL_OPT_INTERVAL, "60s");
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_INTERVAL, false,
                wva_strbuf_str(&fix), "GLOBAL_OPT_INTERVAL %s (%s) is below 1s", text, where);
    } else if (s->global_opt_interval < 60) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_INTERVAL, true, NULL,
                "GLOBAL_OPT_INTERVAL %s (%s): each scheduled run does %d cycles, %s apart", text,
                where, (int)floor(60.0 / s->global_opt_interval), text);
    } else {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_INTERVAL, true, NULL,
                "GLOBAL_OPT_INTERVAL %s (%s)", text, where);
    }
    wva_strbuf_release(&fix);
}

static const char *prometheus_url_text(const struct wva_settings *s)
{
    return is_set(s->prometheus_url) ? s->prometheus_url : "$PROMETHEUS_BASE_URL";
}

static void check_prometheus(struct doctor *d)
{
    const struct wva_settings *s = d->s;
    struct wva_strbuf fix = WVA_STRBUF_INIT;

    if (!d->live) {
        if (d->snap->metrics.prometheus_error)
            add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PROMETHEUS, true, NULL,
                    DOCTOR_SKIPPED_OFFLINE " (the snapshot records a Prometheus error: %.300s)",
                    d->snap->metrics.prometheus_error);
        else
            add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PROMETHEUS, true, NULL,
                    DOCTOR_SKIPPED_OFFLINE);
        return;
    }
    if (d->live->prometheus_unset) {
        setting_fix(&fix, s, WVA_SET_PROMETHEUS_BASE_URL, "https://<prometheus-host>:9090");
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PROMETHEUS, false,
                wva_strbuf_str(&fix), "PROMETHEUS_BASE_URL is not set (flag --prometheus-url, "
                "environment or main ConfigMap): no metrics can be read");
    } else if (d->live->prometheus_error) {
        char where[256];
        settings_describe_source(s, WVA_SET_PROMETHEUS_BASE_URL, where, sizeof(where));
        wva_strbuf_addf(&fix, "check that Prometheus answers: curl -s '%s/api/v1/query?query="
                        "vector(1)'; set the right URL: ", s->prometheus_url);
        setting_fix(&fix, s, WVA_SET_PROMETHEUS_BASE_URL, "https://<prometheus-host>:9090");
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PROMETHEUS, false,
                wva_strbuf_str(&fix), "Prometheus %s (%s) does not answer: %.600s",
                s->prometheus_url, where, d->live->prometheus_error);
    } else {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PROMETHEUS, true, NULL,
                "Prometheus %s answered an instant query (vector(1))", s->prometheus_url);
    }
    wva_strbuf_release(&fix);
}

static void permission_text(const struct doctor_permission *p, struct wva_strbuf *sb)
{
    wva_strbuf_addf(sb, "%s %s%s%s%s%s", p->verb, p->group[0] ? p->group : "",
                    p->group[0] ? "/" : "", p->resource, p->subresource ? "/" : "",
                    p->subresource ? p->subresource : "");
}

static void check_permissions(struct doctor *d)
{
    const struct doctor_facts *f = d->live;
    size_t denied = 0;

    if (!f) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PERMISSIONS, true, NULL,
                DOCTOR_SKIPPED_OFFLINE);
        return;
    }
    /* A refused main ConfigMap: its settings are unknown, so a run would
     * not act, and the rows above are what the rest of the settings say. */
    if (f->main_configmap_refused) {
        struct wva_strbuf fix = WVA_STRBUF_INIT;
        wva_strbuf_addf(&fix, "kubectl apply -k cronjob/ (the Role in %s must allow apiGroups "
                        "[\"\"], resources [\"configmaps\"], verbs [\"get\"] on %s)",
                        d->s->system_namespace, d->s->config_map_name);
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, d->s->system_namespace, d->s->config_map_name,
                CHECK_PERMISSIONS, false, wva_strbuf_str(&fix),
                "the main ConfigMap cannot be read, so runs change nothing; the rows above "
                "resolve the settings without it: %.600s", f->main_configmap_refused);
        wva_strbuf_release(&fix);
        denied++;
    }
    if (f->permissions_error) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PERMISSIONS, false,
                "kubectl apply -k cronjob/", "cannot check permissions "
                "(SelfSubjectAccessReview): %.600s", f->permissions_error);
        return;
    }
    for (size_t i = 0; i < f->perms_count; i++) {
        const struct doctor_permission_result *r = &f->perms[i];
        const struct doctor_permission *p = r->perm;
        struct wva_strbuf name = WVA_STRBUF_INIT, fix = WVA_STRBUF_INIT;

        if (r->allowed)
            continue;
        denied++;
        permission_text(p, &name);
        wva_strbuf_addf(&fix, "kubectl apply -k cronjob/ (the %s must allow apiGroups [\"%s\"], "
                        "resources [\"%s%s%s\"], verbs [\"%s\"])",
                        r->namespace_name && p->where == DOCTOR_PERM_SYSTEM ? "Role"
                                                                            : "ClusterRole",
                        p->group, p->resource, p->subresource ? "/" : "",
                        p->subresource ? p->subresource : "", p->verb);
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, r->namespace_name ? r->namespace_name : "",
                wva_strbuf_str(&name), CHECK_PERMISSIONS, false, wva_strbuf_str(&fix),
                "denied: %s %s%s%s (group \"%s\") %s%s%s%.300s", p->verb, p->resource,
                p->subresource ? "/" : "", p->subresource ? p->subresource : "", p->group,
                r->namespace_name ? "in namespace " : "in all namespaces",
                r->namespace_name ? r->namespace_name : "", r->reason ? ": " : "",
                r->reason ? r->reason : "");
        wva_strbuf_release(&name);
        wva_strbuf_release(&fix);
    }
    if (!denied)
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_PERMISSIONS, true, NULL,
                "all %zu permissions allowed for the credentials in use", f->perms_count);
}

static void check_last_run(struct doctor *d)
{
    const struct doctor_facts *f = d->live;
    const struct wva_settings *s = d->s;
    struct wva_strbuf fix = WVA_STRBUF_INIT;
    char when[32], interval[32], age_text[32];

    if (!f) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, "", "", CHECK_LAST_RUN, true, NULL,
                DOCTOR_SKIPPED_OFFLINE);
        return;
    }
    const char *sys = s->system_namespace;
    if (!s->global_opt_enable) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, sys, f->lease_name, CHECK_LAST_RUN, true, NULL,
                "not evaluated: " CHECK_GLOBAL_OPT " fails");
        return;
    }
    /* Starting a run by hand shows at once whether the CronJob's runs work. */
    wva_strbuf_addf(&fix, "kubectl -n %s get cronjob %s && kubectl -n %s create job "
                    "--from=cronjob/%s %s-manual && kubectl -n %s logs -f job/%s-manual",
                    sys, DOCTOR_CRONJOB_NAME, sys, DOCTOR_CRONJOB_NAME, DOCTOR_CRONJOB_NAME, sys,
                    DOCTOR_CRONJOB_NAME);
    settings_format_duration(s->global_opt_interval, interval, sizeof(interval));
    if (f->lease_error) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, sys, f->lease_name, CHECK_LAST_RUN, false,
                "kubectl apply -k cronjob/", "cannot read Lease %s/%s: %.600s", sys,
                f->lease_name, f->lease_error);
    } else if (!f->lease_found) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, sys, f->lease_name, CHECK_LAST_RUN, false,
                wva_strbuf_str(&fix), "Lease %s/%s not found: no run has completed yet", sys,
                f->lease_name);
    } else if (f->last_completed_run < 0) {
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, sys, f->lease_name, CHECK_LAST_RUN, false,
                wva_strbuf_str(&fix), "Lease %s/%s has no annotation %s: no run has completed",
                sys, f->lease_name, LEASE_ANNOTATION_LAST_RUN);
    } else {
        double age = f->now - f->last_completed_run;
        bool ok = age <= LAST_RUN_MAX_INTERVALS * s->global_opt_interval;
        values_format_rfc3339(f->last_completed_run, when, sizeof(when));
        settings_format_duration(age > 0 ? floor(age) : 0, age_text, sizeof(age_text));
        add_row(d->report, DOCTOR_SCOPE_GLOBAL, sys, f->lease_name, CHECK_LAST_RUN, ok,
                ok ? NULL : wva_strbuf_str(&fix),
                "last completed run started %s, %s ago (interval %s%s)", when, age_text,
                interval, ok ? "" : ", more than " LAST_RUN_MAX_INTERVALS_TEXT " intervals");
    }
    wva_strbuf_release(&fix);
}

/* ---- ConfigMap names -------------------------------------------------- */

enum cm_kind { CM_OTHER, CM_KNOWN, CM_ALIAS, CM_NEAR_MISS };

/* Edit distance, bounded by the name length limit. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[NAME_MAX_LEN + 2], prev_diag, tmp;

    if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        prev_diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev_diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            tmp = row[j];
            row[j] = best;
            prev_diag = tmp;
        }
    }
    return row[lb];
}

/* What a ConfigMap name is to WVA; *meant is the well-known name it stands
 * for (or resembles).  main_name is the main ConfigMap's name in the system
 * namespace, NULL elsewhere. */
static enum cm_kind classify_cm(const char *name, const char *main_name, const char **meant)
{
    static const char *const names[][2] = {
        {WVA_SATURATION_CONFIG, WVA_SATURATION_CONFIG},
        {WVA_SCALE_TO_ZERO_CONFIG, WVA_SCALE_TO_ZERO_CONFIG},
        {WVA_SATURATION_CONFIG_ALIAS, WVA_SATURATION_CONFIG},
        {WVA_SCALE_TO_ZERO_CONFIG_ALIAS, WVA_SCALE_TO_ZERO_CONFIG},
    };
    size_t best = (size_t)-1;

    *meant = NULL;
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(name, names[i][0]) == 0) {
            *meant = names[i][1];
            return i < 2 ? CM_KNOWN : CM_ALIAS;
        }
    }
    if (main_name && strcmp(name, main_name) == 0) {
        *meant = main_name;
        return CM_KNOWN;
    }
    for (size_t i = 0; i < 4; i++) {
        size_t dist = edit_distance(name, names[i][0]);
        if (dist <= NEAR_MISS_DISTANCE && dist < best) {
            best = dist;
            *meant = names[i][1];
        }
    }
    if (main_name && edit_distance(name, main_name) <= NEAR_MISS_DISTANCE &&
        edit_distance(name, main_name) < best) {
        best = 0;
        *meant = main_name;
    }
    if (*meant)
        return CM_NEAR_MISS;
    if (strstr(name, "saturation-config") || strstr(name, "saturation-scaling-config")) {
        *meant = WVA_SATURATION_CONFIG;
        return CM_NEAR_MISS;
    }
    if (strstr(name, "scale-to-zero-config")) {
        *meant = WVA_SCALE_TO_ZERO_CONFIG;
        return CM_NEAR_MISS;
    }
    return CM_OTHER;
}

static const char *alias_of(const char *known)
{
    if (strcmp(known, WVA_SATURATION_CONFIG) == 0)
        return WVA_SATURATION_CONFIG_ALIAS;
    if (strcmp(known, WVA_SCALE_TO_ZERO_CONFIG) == 0)
        return WVA_SCALE_TO_ZERO_CONFIG_ALIAS;
    return NULL;
}

static bool cm_present(const struct doctor *d, const char *ns, const char *name)
{
    for (size_t i = 0; i < d->cms_count; i++)
        if (strcmp(d->cms[i].namespace_name, ns) == 0 && strcmp(d->cms[i].name, name) == 0)
            return true;
    return false;
}

static int compare_cm_names(const void *a, const void *b)
{
    const struct doctor_cm_name *x = a, *y = b;
    int c = strcmp(x->namespace_name, y->namespace_name);

    return c ? c : strcmp(x->name, y->name);
}

struct ns_state {
    const char *name;
    size_t vas;
    bool label_true;
    const char *label;      /* the config-enabled label value, or NULL */
    bool excluded;
    bool tracked;           /* SPEC section 5: filter_namespace_tracked() */
};

static void ns_state_of(const struct doctor *d, const char *ns, struct ns_state *st)
{
    const struct wva_namespace *n = snapshot_find_namespace(d->snap, ns);

    memset(st, 0, sizeof(*st));
    st->name = ns;
    for (size_t i = 0; i < d->snap->vas_count; i++)
        st->vas += strcmp(d->snap->vas[i].namespace_name, ns) == 0;
    st->label = n ? wva_kvlist_get(&n->labels, WVA_LABEL_CONFIG_ENABLED) : NULL;
    st->label_true = filter_namespace_config_enabled(d->snap, ns);
    st->excluded = filter_namespace_excluded(d->snap, &d->params, ns);
    st->tracked = filter_namespace_tracked(d->snap, &d->params, ns, st->vas > 0);
}

static void untracked_fix(struct wva_strbuf *fix, const struct ns_state *st)
{
    if (st->excluded)
        wva_strbuf_addf(fix, "kubectl annotate namespace %s %s-", st->name,
                        WVA_ANNOTATION_EXCLUDE);
    else
        wva_strbuf_addf(fix, "kubectl label namespace %s %s=true%s", st->name,
                        WVA_LABEL_CONFIG_ENABLED, st->label ? " --overwrite" : "");
}

static void untracked_why(struct wva_strbuf *sb, const struct ns_state *st)
{
    if (st->excluded)
        wva_strbuf_addf(sb, "namespace %s has annotation %s=\"true\"", st->name,
                        WVA_ANNOTATION_EXCLUDE);
    else if (st->label)
        wva_strbuf_addf(sb, "namespace %s has no VA and label %s=\"%s\" is not true", st->name,
                        WVA_LABEL_CONFIG_ENABLED, st->label);
    else
        wva_strbuf_addf(sb, "namespace %s has no VA and no label %s=\"true\"", st->name,
                        WVA_LABEL_CONFIG_ENABLED);
}

/* ConfigMapNames rows of one namespace (the system namespace: global). */
static void check_cm_names(struct doctor *d, const struct ns_state *st, bool global,
                           const char *note)
{
    enum doctor_scope scope = global ? DOCTOR_SCOPE_GLOBAL : DOCTOR_SCOPE_NAMESPACE;
    const char *ns = st->name;
    size_t rows = 0;

    for (size_t i = 0; i < d->cms_count; i++) {
        const struct doctor_cm_name *cm = &d->cms[i];
        struct wva_strbuf fix = WVA_STRBUF_INIT, why = WVA_STRBUF_INIT;
        const char *meant, *alias;
        enum cm_kind kind;

        if (strcmp(cm->namespace_name, ns) != 0)
            continue;
        kind = classify_cm(cm->name, global ? d->s->config_map_name : NULL, &meant);
        if (kind == CM_OTHER)
            continue;
        rows++;
        if (kind == CM_NEAR_MISS) {
            if (cm_present(d, ns, meant) || (alias_of(meant) && cm_present(d, ns, alias_of(meant))))
                wva_strbuf_addf(&fix, "kubectl -n %s delete configmap %s", ns, cm->name);
            else
                wva_strbuf_addf(&fix, "kubectl -n %s get configmap %s -o json | jq "
                                "'.metadata = {name: \"%s\", namespace: \"%s\"}' | kubectl "
                                "create -f - && kubectl -n %s delete configmap %s", ns, cm->name,
                                meant, ns, ns, cm->name);
            if (alias_of(meant))
                wva_strbuf_addf(&why, " (or the alias %s)", alias_of(meant));
            add_row(d->report, scope, ns, cm->name, CHECK_CM_NAMES, false, wva_strbuf_str(&fix),
                    "ConfigMap %s/%s is not read: the name WVA reads is %s%s", ns, cm->name,
                    meant, wva_strbuf_str(&why));
        } else if (!st->tracked) {
            untracked_fix(&fix, st);
            untracked_why(&why, st);
            add_row(d->report, scope, ns, cm->name, CHECK_CM_NAMES, false, wva_strbuf_str(&fix),
                    "ConfigMap %s/%s is not read: %s, so its local ConfigMaps are not tracked",
                    ns, cm->name, wva_strbuf_str(&why));
        } else if (kind == CM_ALIAS && cm_present(d, ns, meant)) {
            wva_strbuf_addf(&fix, "kubectl -n %s delete configmap %s", ns, cm->name);
            add_row(d->report, scope, ns, cm->name, CHECK_CM_NAMES, false, wva_strbuf_str(&fix),
                    "ConfigMaps %s/%s and %s/%s both exist: %s wins and %s is ignored", ns,
                    meant, ns, cm->name, meant, cm->name);
        } else if (kind == CM_ALIAS) {
            add_row(d->report, scope, ns, cm->name, CHECK_CM_NAMES, true, NULL,
                    "ConfigMap %s/%s is read under the upstream alias name (the documented "
                    "name is %s)", ns, cm->name, meant);
        } else {
            alias = alias_of(cm->name);
            add_row(d->report, scope, ns, cm->name, CHECK_CM_NAMES, true, NULL,
                    "ConfigMap %s/%s is read%s", ns, cm->name,
                    alias && cm_present(d, ns, alias) ? " (it wins over the alias name)" : "");
        }
        wva_strbuf_release(&fix);
        wva_strbuf_release(&why);
    }
    if (rows == 0)
        add_row(d->report, scope, ns, "", CHECK_CM_NAMES, true, NULL,
                global ? "no global WVA ConfigMaps in %s: settings from the environment and "
                         "built-in defaults apply"
                       : "no WVA ConfigMaps in %s: the global ones apply", ns);
    if (note) {
        /* Only the well-known names could be read: say so on every row. */
        for (size_t i = d->report->count - (rows ? rows : 1); i < d->report->count; i++) {
            struct doctor_check *row = &d->report->checks[i];
            struct wva_strbuf sb = WVA_STRBUF_INIT;
            wva_strbuf_addf(&sb, "%s (ConfigMaps could not be listed, only the well-known names "
                            "were checked: %.300s)", row->finding, note);
            free(row->finding);
            row->finding = wva_strbuf_detach(&sb);
        }
    }
}

static void check_tracked(struct doctor *d, const struct ns_state *st)
{
    struct wva_strbuf fix = WVA_STRBUF_INIT, why = WVA_STRBUF_INIT;
    bool has_wva_cm = false;
    const char *meant;

    for (size_t i = 0; i < d->cms_count && !has_wva_cm; i++) {
        if (strcmp(d->cms[i].namespace_name, st->name) != 0)
            continue;
        enum cm_kind kind = classify_cm(d->cms[i].name, NULL, &meant);
        has_wva_cm = kind == CM_KNOWN || kind == CM_ALIAS;
    }
    if (st->tracked) {
        add_row(d->report, DOCTOR_SCOPE_NAMESPACE, st->name, "", CHECK_TRACKED, true, NULL,
                "tracked (%zu VA(s)%s): its local ConfigMaps are read", st->vas,
                st->label_true ? ", label " WVA_LABEL_CONFIG_ENABLED "=true" : "");
    } else if (st->excluded || has_wva_cm) {
        untracked_fix(&fix, st);
        untracked_why(&why, st);
        add_row(d->report, DOCTOR_SCOPE_NAMESPACE, st->name, "", CHECK_TRACKED, false,
                wva_strbuf_str(&fix), "not tracked: %s; %s", wva_strbuf_str(&why),
                st->excluded ? "its VAs are skipped and its local ConfigMaps are not read"
                             : "its WVA ConfigMaps are not read");
    } else {
        untracked_why(&why, st);
        add_row(d->report, DOCTOR_SCOPE_NAMESPACE, st->name, "", CHECK_TRACKED, true, NULL,
                "not tracked (%s); it has no WVA ConfigMap either", wva_strbuf_str(&why));
    }
    wva_strbuf_release(&fix);
    wva_strbuf_release(&why);
}

/* ---- VA checks -------------------------------------------------------- */

static bool va_selected(const struct wva_settings *s, const struct wva_va *va)
{
    if (is_set(s->doctor_namespace) && strcmp(s->doctor_namespace, va->namespace_name) != 0)
        return false;
    return !is_set(s->doctor_va) || strcmp(s->doctor_va, va->name) == 0;
}

static void invalid_spec_fix(struct wva_strbuf *fix, const struct wva_va *va, const char *problem)
{
    const char *ns = va->namespace_name, *name = va->name;

#define PATCH "kubectl -n %s patch va %s --type merge -p "
    if (strstr(problem, "is already the target of VA"))
        wva_strbuf_addf(fix, "point it at its own Deployment: " PATCH "'{\"spec\":{\"scaleTargetRef"
                        "\":{\"name\":\"<deployment>\"}}}', or delete it: kubectl -n %s delete va "
                        "%s", ns, name, ns, name);
    else if (strncmp(problem, "spec.variantCost", 16) == 0)
        wva_strbuf_addf(fix, PATCH "'{\"spec\":{\"variantCost\":\"10.0\"}}'", ns, name);
    else if (strncmp(problem, "spec.scaleTargetRef.kind", 24) == 0)
        wva_strbuf_addf(fix, PATCH "'{\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\"}}}'",
                        ns, name);
    else if (strncmp(problem, "spec.scaleTargetRef.name", 24) == 0)
        wva_strbuf_addf(fix, PATCH "'{\"spec\":{\"scaleTargetRef\":{\"name\":\"<deployment>\"}}}'",
                        ns, name);
    else if (strncmp(problem, "spec.scaleTargetRef", 19) == 0)
        wva_strbuf_addf(fix, PATCH "'{\"spec\":{\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\","
                        "\"kind\":\"Deployment\",\"name\":\"<deployment>\"}}}'", ns, name);
    else if (strncmp(problem, "spec.modelID", 12) == 0)
        wva_strbuf_addf(fix, PATCH "'{\"spec\":{\"modelID\":\"<model-id>\"}}'", ns, name);
    else if (strncmp(problem, "spec.minReplicas ", 17) == 0 && strstr(problem, "> spec.maxReplicas"))
        wva_strbuf_addf(fix, PATCH "'{\"spec\":{\"maxReplicas\":%d}}'", ns, name,
                        va->min_replicas);
    else
        wva_strbuf_addf(fix, "kubectl -n %s edit va %s   # fix: %.200s", ns, name, problem);
#undef PATCH
}

static void target_fix(struct wva_strbuf *fix, const struct wva_va *va)
{
    const char *ns = va->namespace_name;
    const char *target = va->target_name ? va->target_name : "<deployment>";

    wva_strbuf_addf(fix, "create Deployment %s/%s (kubectl -n %s create deployment %s "
                    "--image=<vllm-image>), or point the VA at an existing Deployment: "
                    "kubectl -n %s patch va %s --type merge -p "
                    "'{\"spec\":{\"scaleTargetRef\":{\"name\":\"<deployment>\"}}}'",
                    ns, target, ns, target, ns, va->name);
}

static void metrics_fix(struct wva_strbuf *fix, const struct doctor *d, const struct wva_va *va,
                        const char *reason)
{
    const char *url = prometheus_url_text(d->s);

    if (strncmp(reason, "Prometheus error", 16) == 0) {
        wva_strbuf_addf(fix, "fix Prometheus access (see " CHECK_PROMETHEUS "): curl -s "
                        "'%s/api/v1/query?query=vector(1)'", url);
        return;
    }
    wva_strbuf_addf(fix, "make Prometheus scrape the vLLM pods of Deployment %s/%s (PodMonitor "
                    "or ServiceMonitor) with label model_name=\"%s\"; check: curl -s '%s/api/v1/"
                    "query' --data-urlencode 'query=vllm:kv_cache_usage_perc{namespace=\"%s\","
                    "model_name=\"%s\"}'", va->namespace_name,
                    va->target_name ? va->target_name : "<deployment>",
                    va->model_id ? va->model_id : "", url, va->namespace_name,
                    va->model_id ? va->model_id : "");
}

/* The filter passes of one namespace: real parameters (a), and as if the
 * namespace were the watch namespace (which also lifts its exclusion), with
 * (r1) and without (r2) the controller instance. */
struct va_passes {
    const struct wva_variant *a, *r1, *r2;
    const struct wva_plan_variant *plan;
};

/* Row of one VA check; when the VA is outside the watch namespace, rows
 * that pass on their own still say so and carry the watch fix. */
static void va_row(struct doctor *d, const struct wva_va *va, enum wva_skip a_skip,
                   const char *check, bool ok, const char *fix, const char *finding)
{
    const char *fix_out = ok ? NULL : fix;
    struct wva_strbuf text = WVA_STRBUF_INIT;
    char *wfix = NULL;

    wva_strbuf_adds(&text, finding);
    if (a_skip == WVA_SKIP_OUTSIDE_WATCH_NAMESPACE && ok &&
        strcmp(check, filter_skip_name(WVA_SKIP_OUTSIDE_WATCH_NAMESPACE)) != 0) {
        wva_strbuf_addf(&text, "; but namespace %s is outside the watch namespace %s",
                        va->namespace_name, d->s->watch_namespace);
        wfix = watch_fix(d->s, va->namespace_name);
        fix_out = wfix;
    }
    add_row(d->report, DOCTOR_SCOPE_VA, va->namespace_name, va->name, check, ok, fix_out, "%s",
            wva_strbuf_str(&text));
    free(wfix);
    wva_strbuf_release(&text);
}

static void check_va(struct doctor *d, const struct va_passes *p)
{
    const struct wva_va *va = p->a->va;
    const struct wva_settings *s = d->s;
    enum wva_skip a = p->plan ? p->plan->skip : p->a->skip;
    const char *a_msg = p->plan ? p->plan->reason : p->a->skip_message;
    struct wva_strbuf fix = WVA_STRBUF_INIT, text = WVA_STRBUF_INIT;
    const char *ns = va->namespace_name;

    /* 1. OutsideWatchNamespace */
    if (a == WVA_SKIP_OUTSIDE_WATCH_NAMESPACE) {
        char *wfix = watch_fix(s, ns);
        va_row(d, va, a, "OutsideWatchNamespace", false, wfix, a_msg);
        free(wfix);
    } else {
        wva_strbuf_reset(&text);
        if (is_set(s->watch_namespace))
            wva_strbuf_addf(&text, "namespace %s is the watch namespace", ns);
        else
            wva_strbuf_adds(&text, "no watch namespace: all namespaces are watched");
        va_row(d, va, a, "OutsideWatchNamespace", true, NULL, wva_strbuf_str(&text));
    }

    /* 2. NamespaceExcluded: the filter's own exclusion test, on its own. */
    wva_strbuf_reset(&text);
    if (filter_namespace_excluded(d->snap, &d->params, ns)) {
        wva_strbuf_reset(&fix);
        wva_strbuf_addf(&fix, "kubectl annotate namespace %s %s-", ns, WVA_ANNOTATION_EXCLUDE);
        wva_strbuf_addf(&text, "namespace %s has annotation %s=\"true\"", ns,
                        WVA_ANNOTATION_EXCLUDE);
        va_row(d, va, a, "NamespaceExcluded", false, wva_strbuf_str(&fix), wva_strbuf_str(&text));
    } else {
        const struct wva_namespace *n = snapshot_find_namespace(d->snap, ns);
        const char *value = n ? wva_kvlist_get(&n->annotations, WVA_ANNOTATION_EXCLUDE) : NULL;
        if (value && strcasecmp(value, "true") == 0)
            wva_strbuf_addf(&text, "annotation %s is ignored: %s is the watch namespace",
                            WVA_ANNOTATION_EXCLUDE, ns);
        else
            wva_strbuf_addf(&text, "namespace %s is not excluded", ns);
        va_row(d, va, a, "NamespaceExcluded", true, NULL, wva_strbuf_str(&text));
    }

    /* 3. InstanceMismatch: from the real pass, or as if 1-2 passed. */
    const struct wva_variant *v3 = a <= WVA_SKIP_NAMESPACE_EXCLUDED && a != WVA_SKIP_NONE
                                       ? p->r1 : p->a;
    enum wva_skip s3 = v3 == p->a ? a : v3->skip;
    wva_strbuf_reset(&text);
    if (s3 == WVA_SKIP_INSTANCE_MISMATCH) {
        wva_strbuf_reset(&fix);
        wva_strbuf_addf(&fix, "kubectl label va %s -n %s %s=%s --overwrite", va->name, ns,
                        WVA_LABEL_INSTANCE, s->controller_instance);
        va_row(d, va, a, "InstanceMismatch", false, wva_strbuf_str(&fix),
               v3 == p->a ? a_msg : v3->skip_message);
    } else {
        if (is_set(s->controller_instance))
            wva_strbuf_addf(&text, "label %s=%s matches this instance", WVA_LABEL_INSTANCE,
                            s->controller_instance);
        else
            wva_strbuf_adds(&text, "no controller instance set: every VA is managed");
        va_row(d, va, a, "InstanceMismatch", true, NULL, wva_strbuf_str(&text));
    }

    /* 4-5: from the real pass, or as if 1-3 passed. */
    const struct wva_variant *v45 = a != WVA_SKIP_NONE && a <= WVA_SKIP_INSTANCE_MISMATCH
                                        ? p->r2 : p->a;
    enum wva_skip s45 = v45 == p->a ? a : v45->skip;
    const char *m45 = v45 == p->a ? a_msg : v45->skip_message;
    wva_strbuf_reset(&text);
    if (s45 == WVA_SKIP_INVALID_SPEC) {
        wva_strbuf_reset(&fix);
        invalid_spec_fix(&fix, va, m45);
        va_row(d, va, a, "InvalidSpec", false, wva_strbuf_str(&fix), m45);
        va_row(d, va, a, "TargetNotFound", true, NULL, "not evaluated: InvalidSpec fails");
    } else {
        wva_strbuf_addf(&text, "spec is valid (Deployment %s, modelID %s, variantCost %g)",
                        va->target_name, va->model_id, va->variant_cost);
        va_row(d, va, a, "InvalidSpec", true, NULL, wva_strbuf_str(&text));
        wva_strbuf_reset(&text);
        if (s45 == WVA_SKIP_TARGET_NOT_FOUND) {
            wva_strbuf_reset(&fix);
            target_fix(&fix, va);
            va_row(d, va, a, "TargetNotFound", false, wva_strbuf_str(&fix), m45);
        } else {
            const struct wva_deployment *dep =
                v45->deployment ? v45->deployment
                                : snapshot_find_deployment(d->snap, ns, va->target_name);
            wva_strbuf_addf(&text, "Deployment %s/%s found (%d replicas, %d ready)", ns,
                            va->target_name, dep ? dep->replicas : 0,
                            dep ? dep->ready_replicas : 0);
            va_row(d, va, a, "TargetNotFound", true, NULL, wva_strbuf_str(&text));
        }
    }

    /* 6. MetricsUnavailable: only the engine knows, and only for VAs it
     * analysed. */
    wva_strbuf_reset(&text);
    wva_strbuf_reset(&fix);
    if (a != WVA_SKIP_NONE && a != WVA_SKIP_METRICS_UNAVAILABLE) {
        wva_strbuf_addf(&text, "not evaluated: %s fails", filter_skip_name(a));
        va_row(d, va, a, "MetricsUnavailable", true, NULL, wva_strbuf_str(&text));
    } else if (a == WVA_SKIP_METRICS_UNAVAILABLE) {
        metrics_fix(&fix, d, va, a_msg ? a_msg : "");
        va_row(d, va, a, "MetricsUnavailable", false, wva_strbuf_str(&fix), a_msg ? a_msg : "");
    } else if (a_msg && strstr(a_msg, "no metrics for this variant's pods")) {
        /* The model has metrics, this variant's pods do not: it is held. */
        metrics_fix(&fix, d, va, a_msg);
        wva_strbuf_addf(&text, "model %s has metrics but not this variant's pods: %s",
                        va->model_id, a_msg);
        va_row(d, va, a, "MetricsUnavailable", false, wva_strbuf_str(&fix), wva_strbuf_str(&text));
    } else {
        wva_strbuf_addf(&text, "metrics found for model %s; plan: %s", va->model_id,
                        a_msg ? a_msg : "");
        va_row(d, va, a, "MetricsUnavailable", true, NULL, wva_strbuf_str(&text));
    }
    wva_strbuf_release(&fix);
    wva_strbuf_release(&text);
}

/* The plan row of a filter variant: both are sorted by namespace, name. */
static const struct wva_plan_variant *plan_variant(const struct wva_plan *plan, size_t i,
                                                   const struct wva_va *va)
{
    if (i < plan->variants_count && strcmp(plan->variants[i].name, va->name) == 0 &&
        strcmp(plan->variants[i].namespace_name, va->namespace_name) == 0)
        return &plan->variants[i];
    for (size_t k = 0; k < plan->variants_count; k++)
        if (strcmp(plan->variants[k].name, va->name) == 0 &&
            strcmp(plan->variants[k].namespace_name, va->namespace_name) == 0)
            return &plan->variants[k];
    return NULL;
}

static void check_vas(struct doctor *d, const struct wva_plan *plan)
{
    struct wva_variant *a = NULL;
    struct wva_va *sorted;
    size_t count = 0, shown = 0;

    filter_select(d->snap, &d->params, &a, &count);
    /* Shallow copies in filter order, so that the VAs of one namespace are
     * contiguous: the relaxed passes then look at one namespace only
     * (a view of the snapshot sharing everything else), which keeps a
     * cluster with many foreign namespaces linear. */
    sorted = wva_xcalloc(count + 1, sizeof(*sorted));
    for (size_t i = 0; i < count; i++)
        sorted[i] = *a[i].va;
    for (size_t b = 0; b < count;) {
        const char *ns = a[b].va->namespace_name;
        size_t e = b;
        bool need_relaxed = false;

        while (e < count && strcmp(a[e].va->namespace_name, ns) == 0)
            e++;
        for (size_t i = b; i < e; i++) {
            const struct wva_plan_variant *pv = plan_variant(plan, i, a[i].va);
            enum wva_skip skip = pv ? pv->skip : a[i].skip;
            if (va_selected(d->s, a[i].va) && skip != WVA_SKIP_NONE &&
                skip <= WVA_SKIP_INSTANCE_MISMATCH)
                need_relaxed = true;
        }
        /* The view holds the namespace's VAs in the same order, so
         * position i - b of a relaxed pass is VA i. */
        struct wva_variant *r1 = NULL, *r2 = NULL;
        size_t n1 = 0, n2 = 0;
        if (need_relaxed) {
            struct wva_snapshot view = *d->snap;
            struct wva_filter_params p1 = {.watch_namespace = ns,
                                           .controller_instance = d->s->controller_instance};
            struct wva_filter_params p2 = {.watch_namespace = ns, .controller_instance = NULL};
            view.vas = sorted + b;
            view.vas_count = e - b;
            filter_select(&view, &p1, &r1, &n1);
            filter_select(&view, &p2, &r2, &n2);
        }
        for (size_t i = b; i < e; i++) {
            if (!va_selected(d->s, a[i].va))
                continue;
            struct va_passes p = {
                .a = &a[i], .r1 = r1 && i - b < n1 ? &r1[i - b] : &a[i],
                .r2 = r2 && i - b < n2 ? &r2[i - b] : &a[i], .plan = plan_variant(plan, i, a[i].va),
            };
            check_va(d, &p);
            shown++;
        }
        filter_variants_free(r1, n1);
        filter_variants_free(r2, n2);
        b = e;
    }
    free(sorted);           /* shallow copies: the strings are the snapshot's */
    filter_variants_free(a, count);

    if (shown == 0 && is_set(d->s->doctor_va)) {
        struct wva_strbuf fix = WVA_STRBUF_INIT;
        wva_strbuf_addf(&fix, "kubectl get va -A | grep -w %s", d->s->doctor_va);
        add_row(d->report, DOCTOR_SCOPE_VA, d->s->doctor_namespace, d->s->doctor_va,
                CHECK_VA_FOUND, false, wva_strbuf_str(&fix),
                "no VariantAutoscaling %s%s%s %s%s%s", d->s->doctor_va,
                is_set(d->s->doctor_namespace) ? " in namespace " : "",
                is_set(d->s->doctor_namespace) ? d->s->doctor_namespace : "",
                d->live ? "in the cluster" : "in the snapshot",
                d->live && d->live->scope_note ? "; " : "",
                d->live && d->live->scope_note ? d->live->scope_note : "");
        wva_strbuf_release(&fix);
    }
}

/* ---- namespaces in scope ---------------------------------------------- */

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ns_has_va_named(const struct wva_snapshot *snap, const char *ns, const char *name)
{
    for (size_t i = 0; i < snap->vas_count; i++)
        if (strcmp(snap->vas[i].namespace_name, ns) == 0 && strcmp(snap->vas[i].name, name) == 0)
            return true;
    return false;
}

/* Namespaces that get rows: those with VAs, the config-enabled label or a
 * WVA-looking ConfigMap, minus the system namespace (global rows). */
static void check_namespaces(struct doctor *d)
{
    const struct wva_snapshot *snap = d->snap;
    const char **names = wva_xcalloc(snap->vas_count + snap->namespaces_count + d->cms_count + 1,
                                     sizeof(*names));
    size_t n = 0;
    const char *meant;

    for (size_t i = 0; i < snap->vas_count; i++)
        names[n++] = snap->vas[i].namespace_name;
    for (size_t i = 0; i < snap->namespaces_count; i++)
        if (wva_kvlist_get(&snap->namespaces[i].labels, WVA_LABEL_CONFIG_ENABLED))
            names[n++] = snap->namespaces[i].name;
    for (size_t i = 0; i < d->cms_count; i++)
        if (classify_cm(d->cms[i].name, NULL, &meant) != CM_OTHER)
            names[n++] = d->cms[i].namespace_name;
    qsort(names, n, sizeof(*names), compare_str);
    for (size_t i = 0; i < n; i++) {
        struct ns_state st;

        if ((i > 0 && strcmp(names[i], names[i - 1]) == 0) ||
            strcmp(names[i], d->s->system_namespace) == 0)
            continue;
        if (is_set(d->s->doctor_namespace) && strcmp(d->s->doctor_namespace, names[i]) != 0)
            continue;
        if (is_set(d->s->doctor_va) && !ns_has_va_named(snap, names[i], d->s->doctor_va))
            continue;
        ns_state_of(d, names[i], &st);
        check_tracked(d, &st);
        check_cm_names(d, &st, false, d->live ? d->live->cms_note : NULL);
    }
    free(names);
}

/* ---- evaluation ------------------------------------------------------- */

int doctor_evaluate(const struct wva_snapshot *snap, const struct wva_settings *s,
                    const struct doctor_facts *live, struct doctor_report *out,
                    struct wva_error *err)
{
    struct doctor d = {
        .snap = snap, .s = s, .live = live, .report = out,
        .params = {.watch_namespace = s->watch_namespace,
                   .controller_instance = s->controller_instance},
    };
    struct doctor_cm_name *own;
    size_t own_count = 0;
    struct wva_plan *plan;
    struct ns_state sys;

    plan = engine_plan(snap, s, live ? "live" : "replay", NULL, NULL, err);
    if (!plan)
        return -1;
    /* Every ConfigMap name when the cluster could list them (near misses
     * the snapshot cannot hold), else the snapshot's; sorted (borrowed
     * strings). */
    if (live && live->cms_listed) {
        own = wva_xcalloc(live->cms_count + 1, sizeof(*own));
        for (size_t i = 0; i < live->cms_count; i++)
            own[own_count++] = live->cms[i];
    } else {
        own = wva_xcalloc(snap->configmaps_count + 1, sizeof(*own));
        for (size_t i = 0; i < snap->configmaps_count; i++)
            own[own_count++] = (struct doctor_cm_name){snap->configmaps[i].namespace_name,
                                                       snap->configmaps[i].name};
    }
    qsort(own, own_count, sizeof(*own), compare_cm_names);
    d.cms = own;
    d.cms_count = own_count;

    check_global_enable(&d);
    check_interval(&d);
    check_prometheus(&d);
    check_permissions(&d);
    check_last_run(&d);
    memset(&sys, 0, sizeof(sys));
    sys.name = s->system_namespace;
    sys.tracked = true;
    check_cm_names(&d, &sys, true, live ? live->cms_note : NULL);
    check_namespaces(&d);
    check_vas(&d, plan);

    free(own);
    plan_free(plan);
    return 0;
}
