/* doctor.c - `wva-optimizer doctor`: why is a VA (not) optimized?
 *
 * The command: collect the facts, evaluate the checks (doctor_checks.c),
 * print the report (table or JSON, SPEC section 10).  Collecting is either
 * a snapshot file resolved as a replay resolves it, or the cluster and
 * Prometheus read the way a live run reads them (session.c, collect.c),
 * plus what only a live cluster can tell: Prometheus reachability,
 * SelfSubjectAccessReviews, the Lease, every ConfigMap name.  It writes
 * nothing to the cluster (its only POSTs are access reviews) and decides
 * no verdict itself.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/collect.h"
#include "wva/doctor.h"
#include "wva/http.h"
#include "wva/kube_client.h"
#include "wva/lease.h"
#include "wva/log.h"
#include "wva/prom_client.h"
#include "wva/session.h"
#include "wva/strbuf.h"
#include "wva/values.h"

static bool is_set(const char *s)
{
    return s && s[0];
}

/* ---- live collection -------------------------------------------------- */

static int review_access(struct kube_client *kc, const struct doctor_permission *p,
                         const char *ns, bool *allowed, char **reason, struct wva_error *err)
{
    json_object *body = json_object_new_object(), *spec = json_object_new_object();
    json_object *attrs = json_object_new_object(), *resp = NULL, *st, *v;
    int rc = -1;

    json_object_object_add(body, "apiVersion", json_object_new_string("authorization.k8s.io/v1"));
    json_object_object_add(body, "kind", json_object_new_string("SelfSubjectAccessReview"));
    json_object_object_add(attrs, "verb", json_object_new_string(p->verb));
    json_object_object_add(attrs, "group", json_object_new_string(p->group));
    json_object_object_add(attrs, "resource", json_object_new_string(p->resource));
    if (p->subresource)
        json_object_object_add(attrs, "subresource", json_object_new_string(p->subresource));
    if (ns)
        json_object_object_add(attrs, "namespace", json_object_new_string(ns));
    json_object_object_add(spec, "resourceAttributes", attrs);
    json_object_object_add(body, "spec", spec);
    if (kube_create(kc, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE),
                    &resp, NULL, err) != 0)
        goto out;
    if (!json_object_object_get_ex(resp, "status", &st) ||
        !json_object_object_get_ex(st, "allowed", &v) || !json_object_is_type(v, json_type_boolean)) {
        wva_error_setk(err, WVA_ERR_SERVER,
                       "SelfSubjectAccessReview response has no boolean status.allowed");
        goto out;
    }
    *allowed = json_object_get_boolean(v);
    *reason = NULL;
    if (json_object_object_get_ex(st, "reason", &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        *reason = wva_xstrdup(json_object_get_string(v));
    rc = 0;
out:
    json_object_put(body);
    json_object_put(resp);
    return rc;
}

static void collect_permissions(struct kube_client *kc, const struct wva_settings *s,
                                struct doctor_facts *f)
{
    struct wva_error err = {0};
    size_t count;
    const struct doctor_permission *permissions = doctor_permissions(&count);

    f->perms = wva_xcalloc(count, sizeof(*f->perms));
    for (size_t i = 0; i < count; i++) {
        const struct doctor_permission *p = &permissions[i];
        const char *ns = p->where == DOCTOR_PERM_SYSTEM ? s->system_namespace
                         : p->where == DOCTOR_PERM_WORKLOAD && is_set(s->watch_namespace)
                             ? s->watch_namespace
                             : NULL;
        struct doctor_permission_result *r = &f->perms[f->perms_count];

        if (p->limited_only && !s->limited_mode)
            continue;
        /* The system namespace's ConfigMap read is the workload one when
         * every namespace is in scope. */
        if (p->where == DOCTOR_PERM_SYSTEM && strcmp(p->resource, "configmaps") == 0 &&
            (!is_set(s->watch_namespace) || strcmp(s->watch_namespace, s->system_namespace) == 0))
            continue;
        if (review_access(kc, p, ns, &r->allowed, &r->reason, &err) != 0) {
            f->permissions_error = wva_xstrdup(err.msg);
            return;
        }
        r->perm = p;
        r->namespace_name = wva_xstrdup(ns);
        f->perms_count++;
    }
}

static void collect_lease(struct kube_client *kc, const struct wva_settings *s,
                          struct doctor_facts *f)
{
    struct wva_strbuf path = WVA_STRBUF_INIT;
    struct kube_status status = {0};
    struct wva_error err = {0};
    json_object *lease = NULL, *md, *ann, *v;
    char *ns = http_escape(s->system_namespace), *name;

    lease_name(s->controller_instance, f->lease_name, sizeof(f->lease_name));
    name = http_escape(f->lease_name);
    f->last_completed_run = -1;
    wva_strbuf_addf(&path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", ns, name);
    if (kube_get(kc, wva_strbuf_str(&path), &lease, &status, &err) != 0) {
        if (status.code != 404)
            f->lease_error = wva_xstrdup(err.msg);
        goto out;
    }
    f->lease_found = true;
    if (json_object_object_get_ex(lease, "metadata", &md) &&
        json_object_object_get_ex(md, "annotations", &ann) &&
        json_object_object_get_ex(ann, LEASE_ANNOTATION_LAST_RUN, &v) &&
        json_object_is_type(v, json_type_string) &&
        values_parse_rfc3339(json_object_get_string(v), &f->last_completed_run, &err) != 0)
        f->last_completed_run = -1;
out:
    json_object_put(lease);
    free(ns);
    free(name);
    wva_strbuf_release(&path);
}

static int collect_cm_item(json_object *item, void *ctx, struct wva_error *err)
{
    struct doctor_facts *f = ctx;
    json_object *md, *ns, *name;

    (void)err;
    if (!item) {                /* the list restarted */
        for (size_t i = 0; i < f->cms_count; i++) {
            free(f->cms[i].namespace_name);
            free(f->cms[i].name);
        }
        f->cms_count = 0;
        return 0;
    }
    if (!json_object_object_get_ex(item, "metadata", &md) ||
        !json_object_object_get_ex(md, "namespace", &ns) ||
        !json_object_object_get_ex(md, "name", &name) ||
        !json_object_is_type(ns, json_type_string) || !json_object_is_type(name, json_type_string))
        return 0;
    f->cms = wva_xrealloc(f->cms, (f->cms_count + 1) * sizeof(*f->cms));
    f->cms[f->cms_count++] = (struct doctor_cm_name){wva_xstrdup(json_object_get_string(ns)),
                                              wva_xstrdup(json_object_get_string(name))};
    return 0;
}

/* Every ConfigMap name, to find near misses the snapshot cannot hold (it
 * only has the well-known names).  Cluster-wide, or the watch and system
 * namespaces when only those were readable. */
static void collect_cm_names(struct kube_client *kc, const struct wva_settings *s,
                             bool cluster_wide, struct doctor_facts *f)
{
    struct wva_error err = {0};
    char path[600];

    if (cluster_wide) {
        if (kube_list(kc, "/api/v1/configmaps", NULL, collect_cm_item, f, NULL, &err) != 0)
            goto failed;
    } else {
        const char *spaces[2] = {s->system_namespace, s->watch_namespace};
        for (size_t i = 0; i < 2; i++) {
            if (i == 1 && strcmp(spaces[0], spaces[1]) == 0)
                break;
            char *ns = http_escape(spaces[i]);
            snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
            free(ns);
            if (kube_list(kc, path, NULL, collect_cm_item, f, NULL, &err) != 0)
                goto failed;
        }
    }
    f->cms_listed = true;
    return;
failed:
    f->cms_note = wva_xstrdup(err.msg);
}

/* Reachability first (one query, no retries: a doctor answers quickly),
 * then the run's own queries, so that MetricsUnavailable is what the
 * optimizer would see. */
static void collect_prometheus(const struct wva_settings *s, struct wva_snapshot *snap,
                               struct doctor_facts *f)
{
    struct prom_options opts;
    struct prom_client *prom = NULL;
    struct wva_series probe = {0};
    struct wva_error err = {0};

    if (!is_set(s->prometheus_url)) {
        f->prometheus_unset = true;
        snap->metrics.prometheus_error = wva_xstrdup("PROMETHEUS_BASE_URL is not set");
        return;
    }
    collect_prom_options(s, &opts);
    opts.max_retries = HTTP_NO_RETRY;
    opts.connect_timeout_ms = 3000;
    opts.timeout_ms = 10000;
    prom = prom_client_new(&opts, &err);
    if (!prom || prom_query(prom, "reachability", "vector(1)", 0, &probe, &err) != 0) {
        f->prometheus_error = wva_xstrdup(err.msg);
        free(snap->metrics.prometheus_error);
        snap->metrics.prometheus_error = wva_xstrdup(err.msg);
        goto out;
    }
    if (collect_metrics(prom, snap, s, &err) != 0)
        log_event(WVA_LOG_WARN, "Prometheus queries failed", "error", err.msg, NULL);
out:
    prom_series_free(&probe);
    prom_client_free(prom);
}

/* The cluster part of the snapshot: every namespace when allowed, so that
 * VAs outside the watch namespace can be told why; else the watch
 * namespace only (a namespaced role), noted in the report.  The main
 * ConfigMap is the one start-up read (or could not read). */
static int fetch_cluster(const struct wva_session *ss, const struct wva_settings *s,
                         struct wva_snapshot **snap, struct doctor_facts *f, bool *cluster_wide,
                         struct wva_error *err)
{
    struct collect_options fetch;

    collect_options_from_settings(s, &fetch);
    fetch.every_namespace = true;
    fetch.main_configmap_data = &ss->main_configmap;
    fetch.main_configmap_found = ss->main_configmap_found;
    *snap = wva_xcalloc(1, sizeof(**snap));
    *cluster_wide = true;
    if (collect_cluster(ss->kube, &fetch, *snap, err) == 0)
        return 0;
    if (!is_set(s->watch_namespace))
        return -1;
    log_event(WVA_LOG_WARN, "cannot read all namespaces; reading the watch namespace only",
              "error", err->msg, NULL);
    f->scope_note = wva_xstrdup("VAs were read in the watch namespace only (reading all "
                                "namespaces failed)");
    snapshot_free(*snap);
    *snap = wva_xcalloc(1, sizeof(**snap));
    *cluster_wide = false;
    fetch.every_namespace = false;
    return collect_cluster(ss->kube, &fetch, *snap, err);
}

static int collect_live(struct wva_settings *s, struct doctor_report *out, struct wva_error *err)
{
    struct wva_session ss = {0};
    struct wva_snapshot *snap = NULL;
    struct doctor_facts facts = {0};
    bool cluster_wide = false;
    int rc = -1;

    if (session_open_live(&ss, s, SESSION_DIAGNOSE, err) != 0)
        goto out;
    facts.main_configmap_refused = wva_xstrdup(ss.main_configmap_refused);
    if (fetch_cluster(&ss, s, &snap, &facts, &cluster_wide, err) != 0)
        goto out;
    facts.now = values_epoch_now();
    if (!snap->captured_at_epoch)
        snap->captured_at_epoch = floor(facts.now);
    collect_prometheus(s, snap, &facts);
    collect_permissions(ss.kube, s, &facts);
    collect_lease(ss.kube, s, &facts);
    collect_cm_names(ss.kube, s, cluster_wide, &facts);
    rc = doctor_evaluate(snap, s, &facts, out, err);
out:
    doctor_facts_free(&facts);
    snapshot_free(snap);
    session_close(&ss);
    return rc;
}

static int collect_offline(struct wva_settings *s, struct doctor_report *out,
                           struct wva_error *err)
{
    struct wva_session ss = {0};
    int rc = -1;

    if (session_open_replay(&ss, s, 0, err) == 0)
        rc = doctor_evaluate(ss.snap, s, NULL, out, err);
    session_close(&ss);
    return rc;
}

int doctor_collect(struct wva_settings *s, struct doctor_report *out, struct wva_error *err)
{
    return s->from_file ? collect_offline(s, out, err) : collect_live(s, out, err);
}

/* ---- rendering -------------------------------------------------------- */

char *doctor_render_json(const struct doctor_report *report)
{
    json_object *root = json_object_new_object(), *checks = json_object_new_array();
    char *text;

    json_object_object_add(root, "kind", json_object_new_string("WVADoctorReport"));
    json_object_object_add(root, "version", json_object_new_int(1));
    for (size_t i = 0; i < report->count; i++) {
        const struct doctor_check *c = &report->checks[i];
        json_object *row = json_object_new_object();

        json_object_object_add(row, "scope", json_object_new_string(doctor_scope_name(c->scope)));
        json_object_object_add(row, "namespace", json_object_new_string(c->namespace_name));
        json_object_object_add(row, "name", json_object_new_string(c->name));
        json_object_object_add(row, "check", json_object_new_string(c->check));
        json_object_object_add(row, "ok", json_object_new_boolean(c->ok));
        json_object_object_add(row, "finding", json_object_new_string(c->finding));
        json_object_object_add(row, "fix", json_object_new_string(c->fix));
        json_object_array_add(checks, row);
    }
    json_object_object_add(root, "checks", checks);
    text = wva_xstrdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return text;
}

static int width_of(const struct doctor_report *r, size_t offset, int min)
{
    int w = min;

    for (size_t i = 0; i < r->count; i++) {
        const char *s = *(char *const *)((const char *)&r->checks[i] + offset);
        int len = (int)strlen(s && s[0] ? s : "-");
        if (len > w)
            w = len;
    }
    return w;
}

char *doctor_render_table(const struct doctor_report *report)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    int ns_w = width_of(report, offsetof(struct doctor_check, namespace_name), 9);
    int name_w = width_of(report, offsetof(struct doctor_check, name), 4);
    int check_w = width_of(report, offsetof(struct doctor_check, check), 5);
    size_t failed = doctor_failed_count(report);

    wva_strbuf_addf(&sb, "%-9s  %-*s  %-*s  %-*s  %-4s  %s\n", "SCOPE", ns_w, "NAMESPACE", name_w,
                    "NAME", check_w, "CHECK", "OK", "FINDING");
    for (size_t i = 0; i < report->count; i++) {
        const struct doctor_check *c = &report->checks[i];

        wva_strbuf_addf(&sb, "%-9s  %-*s  %-*s  %-*s  %-4s  %s\n", doctor_scope_name(c->scope),
                        ns_w, c->namespace_name[0] ? c->namespace_name : "-", name_w,
                        c->name[0] ? c->name : "-", check_w, c->check, c->ok ? "ok" : "FAIL",
                        c->finding);
        if (c->fix[0])
            wva_strbuf_addf(&sb, "    fix: %s\n", c->fix);
    }
    wva_strbuf_addf(&sb, "\n%zu checks, %zu failing\n", report->count, failed);
    return wva_strbuf_detach(&sb);
}

/* ---- the command ------------------------------------------------------ */

int doctor_command(struct wva_settings *s, struct wva_error *err)
{
    struct doctor_report report = {0};
    size_t failing;
    char *text;

    if (doctor_collect(s, &report, err) != 0) {
        /* No report: the settings, or the cluster, could not be read. */
        bool setup = err->kind == WVA_ERR_USAGE || err->kind == WVA_ERR_CONFIG ||
                     err->kind == WVA_ERR_INPUT;
        log_event(WVA_LOG_ERROR, setup ? "invalid configuration" : "cannot read the cluster",
                  "error", err->msg, NULL);
        doctor_report_free(&report);
        return -1;
    }
    text = s->output == WVA_OUTPUT_JSON ? doctor_render_json(&report)
                                        : doctor_render_table(&report);
    fputs(text, stdout);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', stdout);
    fflush(stdout);
    free(text);
    failing = doctor_failed_count(&report);
    doctor_report_free(&report);
    if (failing) {
        wva_error_setk(err, WVA_ERR_CHECK_FAILED, "%zu check(s) failing", failing);
        return -1;
    }
    return 0;
}
