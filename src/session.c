/* session.c - the start-up every command shares (see
 * include/wva/session.h).
 *
 * Owns the order of start-up and the one reading of the main ConfigMap.
 * It decides nothing about VAs and prints nothing: failures are returned
 * with their kind, and the command says what it does about them.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wva/history.h"
#include "wva/http.h"
#include "wva/log.h"
#include "wva/session.h"
#include "wva/strbuf.h"

/* Modules below that do not classify their errors yet (settings, the
 * snapshot reader, the history DSN check) leave WVA_ERR_INTERNAL; here the
 * step that failed says what kind of failure it was. */
static void classify(struct wva_error *err, enum wva_error_kind kind)
{
    if (err && (err->kind == WVA_ERR_NONE || err->kind == WVA_ERR_INTERNAL))
        err->kind = kind;
}

/* The settings and the history DSN, once the main ConfigMap (or none) is
 * known.  getenv_fn NULL in a replay. */
static int resolve(struct wva_settings *s, const char *(*getenv_fn)(const char *),
                   const struct wva_kvlist *snapshot_settings,
                   const struct wva_kvlist *main_configmap, unsigned flags,
                   struct wva_error *err)
{
    if (settings_resolve(s, getenv_fn, snapshot_settings, main_configmap, err) != 0) {
        classify(err, WVA_ERR_CONFIG);
        return -1;
    }
    if ((flags & SESSION_RECORDS) && s->history && history_check_dsn(s->history, err) != 0) {
        classify(err, WVA_ERR_CONFIG);
        return -1;
    }
    return 0;
}

/* A replay's settings: flags > the snapshot's settings > its main
 * ConfigMap (found once the bootstrap settings say where it is) >
 * defaults. */
static int resolve_from_snapshot(struct wva_settings *s, const struct wva_snapshot *snap,
                                 unsigned flags, struct wva_error *err)
{
    const struct wva_configmap *cm;

    if (settings_resolve_bootstrap(s, NULL, &snap->settings, err) != 0) {
        classify(err, WVA_ERR_CONFIG);
        return -1;
    }
    cm = snapshot_find_configmap(snap, s->system_namespace, s->config_map_name);
    return resolve(s, NULL, &snap->settings, cm ? &cm->data : NULL, flags, err);
}

int session_resolve_snapshot(struct wva_settings *s, const struct wva_snapshot *snap,
                             struct wva_error *err)
{
    return resolve_from_snapshot(s, snap, 0, err);
}

int session_open_replay(struct wva_session *ss, struct wva_settings *s, unsigned flags,
                        struct wva_error *err)
{
    if (snapshot_load_file(s->from_file, &ss->snap, err) != 0) {
        classify(err, WVA_ERR_INPUT);
        return -1;
    }
    return resolve_from_snapshot(s, ss->snap, flags, err);
}

/* GET the main ConfigMap and keep its string data.  Absent (404) is fine;
 * see session.h for the rest. */
static int read_main_configmap(struct wva_session *ss, const struct wva_settings *s,
                               unsigned flags, struct wva_error *err)
{
    struct wva_strbuf path = WVA_STRBUF_INIT;
    struct kube_status status = {0};
    char *ns = http_escape(s->system_namespace), *name = http_escape(s->config_map_name);
    json_object *cm = NULL, *data;
    int rc = -1;

    wva_strbuf_addf(&path, "/api/v1/namespaces/%s/configmaps/%s", ns, name);
    if (kube_get(ss->kube, wva_strbuf_str(&path), &cm, &status, err) != 0) {
        if (status.code == 404) {
            wva_error_clear(err);
            rc = 0;
        } else if (status.code == 403 && (flags & SESSION_DIAGNOSE)) {
            log_event(WVA_LOG_WARN, "main ConfigMap cannot be read", "error", err->msg, NULL);
            ss->main_configmap_refused = wva_xstrdup(err->msg);
            wva_error_clear(err);
            rc = 0;
        } else {
            wva_error_prefix(err, "cannot read the main ConfigMap: ");
        }
        goto out;
    }
    if (json_object_object_get_ex(cm, "data", &data) &&
        json_object_is_type(data, json_type_object)) {
        json_object_object_foreach(data, key, value) {
            if (json_object_is_type(value, json_type_string))
                wva_kvlist_set(&ss->main_configmap, key, json_object_get_string(value));
        }
    }
    ss->main_configmap_found = true;
    rc = 0;
out:
    json_object_put(cm);
    free(ns);
    free(name);
    wva_strbuf_release(&path);
    return rc;
}

int session_open_live(struct wva_session *ss, struct wva_settings *s, unsigned flags,
                      struct wva_error *err)
{
    if (settings_resolve_bootstrap(s, settings_getenv, NULL, err) != 0) {
        classify(err, WVA_ERR_CONFIG);
        return -1;
    }
    /* The in-cluster service-account directory is the standard one. */
    if (kube_config_load(s->kubeconfig, NULL, &ss->kube_cfg, err) != 0) {
        classify(err, WVA_ERR_CONFIG);
        return -1;
    }
    ss->kube = kube_client_new(&ss->kube_cfg, err);
    if (!ss->kube) {
        classify(err, WVA_ERR_CONFIG);
        return -1;
    }
    if (read_main_configmap(ss, s, flags, err) != 0)
        return -1;
    return resolve(s, settings_getenv, NULL, &ss->main_configmap, flags, err);
}

int session_resolve_environment(struct wva_settings *s, struct wva_error *err)
{
    if (settings_resolve_bootstrap(s, settings_getenv, NULL, err) != 0) {
        classify(err, WVA_ERR_CONFIG);
        return -1;
    }
    return resolve(s, settings_getenv, NULL, NULL, 0, err);
}

void session_close(struct wva_session *ss)
{
    if (!ss)
        return;
    snapshot_free(ss->snap);
    kube_client_free(ss->kube);
    kube_config_free(&ss->kube_cfg);
    wva_kvlist_free(&ss->main_configmap);
    free(ss->main_configmap_refused);
    memset(ss, 0, sizeof(*ss));
}
