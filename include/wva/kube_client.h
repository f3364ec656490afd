/* kube_client.h - a small Kubernetes API client over the HTTP helper.
 *
 * Generic verbs on API paths ("/apis/apps/v1/namespaces/NS/deployments"),
 * JSON in and out (json-c).  One client = one reused connection.  Lists are
 * read in pages of KUBE_LIST_PAGE_SIZE with limit/continue and handed over
 * item by item, one page in memory at a time.  Failed calls fill a struct
 * kube_status (HTTP code and the Status reason) so that callers can react
 * to 404/409/403/429, and an error message in the form
 *   PATCH deployments/scale team-a/llama-l4: 409 Conflict: the object has
 *   been modified; please apply your changes to the latest version
 * Every call retries 429 (Retry-After) and 5xx/connection failures with
 * bounded backoff (http.h).  Response "Warning:" headers are logged.
 *
 * kube_fetch_snapshot() reads everything a live run needs into a struct
 * wva_snapshot (SPEC section 1).
 */
#ifndef WVA_KUBE_CLIENT_H
#define WVA_KUBE_CLIENT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "wva/error.h"
#include "wva/kubeconfig.h"
#include "wva/snapshot.h"

#define KUBE_LIST_PAGE_SIZE 500
/* How often a list restarts from the beginning after 410 Gone (expired
 * continue token) before giving up. */
#define KUBE_LIST_MAX_RESTARTS 3
/* A list of more pages than this is refused (a server looping on continue
 * tokens must not keep us forever). */
#define KUBE_LIST_MAX_PAGES 10000

/* Outcome of the last HTTP exchange of a call.  code: the HTTP status (0 when
 * no response was received); reason: the Status object's reason
 * ("NotFound", "Conflict", "Forbidden", "TooManyRequests", "Expired", ...),
 * "" when the body was not a Status. */
struct kube_status {
    long code;
    char reason[64];
};

/* Requests made, by verb (one per HTTP call, list pages and retries of the
 * HTTP layer not counted separately: see attempts). */
struct kube_client_stats {
    unsigned long get;              /* single-object GETs */
    unsigned long list;             /* list pages fetched */
    unsigned long patch;
    unsigned long create;           /* POST */
    unsigned long update;           /* PUT */
    unsigned long list_restarts;    /* 410 Gone restarts */
    unsigned long attempts;         /* HTTP attempts including retries */
};

struct kube_client;

/* Create a client for cfg (copied; cfg can be freed afterwards).  Logs a
 * warning when TLS verification is off.  NULL + err on failure. */
struct kube_client *kube_client_new(const struct kube_config *cfg, struct wva_error *err);
void kube_client_free(struct kube_client *c);

/* The request counters so far. */
struct kube_client_stats kube_client_stats(const struct kube_client *c);

/* GET path (absolute API path, optionally with a query).  On success *out is
 * the parsed object (caller json_object_put()s it).  status may be NULL; it
 * is filled on success and failure. */
int kube_get(struct kube_client *c, const char *path, json_object **out,
             struct kube_status *status, struct wva_error *err);

/* Called for each item of a list.  item is borrowed: valid during the call
 * only (json_object_get() it to keep it).  item == NULL means the list was
 * restarted from the beginning (410 Gone): forget the items seen so far.
 * Return 0 to continue, -1 (with err set) to stop the list. */
typedef int (*kube_item_fn)(json_object *item, void *ctx, struct wva_error *err);

/* List a collection path page by page (limit=KUBE_LIST_PAGE_SIZE, continue),
 * calling fn for each item.  label_selector may be NULL (it is escaped
 * here).  An expired continue token (410) restarts the list from the
 * beginning, at most KUBE_LIST_MAX_RESTARTS times. */
int kube_list(struct kube_client *c, const char *path, const char *label_selector,
              kube_item_fn fn, void *ctx, struct kube_status *status, struct wva_error *err);

/* PATCH with the given content type ("application/merge-patch+json",
 * "application/strategic-merge-patch+json", "application/json-patch+json").
 * body is JSON text.  out may be NULL (the response is then dropped). */
int kube_patch(struct kube_client *c, const char *path, const char *content_type,
               const char *body, json_object **out, struct kube_status *status,
               struct wva_error *err);

/* POST (create) body to a collection path. */
int kube_create(struct kube_client *c, const char *path, const char *body, json_object **out,
                struct kube_status *status, struct wva_error *err);

/* PUT (replace) body at an object path. */
int kube_update(struct kube_client *c, const char *path, const char *body, json_object **out,
                struct kube_status *status, struct wva_error *err);

/* GET one ConfigMap and copy its string data into *data (appended).
 * Returns 0, or -1 with status (404 = absent, 403 = forbidden, ...) and
 * err; callers decide which failures they tolerate. */
int kube_get_configmap_data(struct kube_client *c, const char *ns, const char *name,
                            struct wva_kvlist *data, struct kube_status *status,
                            struct wva_error *err);

/* What kube_fetch_snapshot reads. */
struct kube_fetch_options {
    const char *watch_namespace;    /* NULL or "" = all namespaces */
    const char *system_namespace;   /* global ConfigMaps; NULL = workload-variant-autoscaler-system */
    const char *config_map_name;    /* main ConfigMap; NULL = wva-variantautoscaling-config */
    bool limited_mode;              /* also GPU nodes and pods cluster-wide */
    /* The main ConfigMap as the caller already read it (the data that
     * kube_get_configmap_data returned), so that it is not fetched a second
     * time.  NULL: kube_fetch_snapshot GETs it.  Otherwise
     * main_configmap_found says whether it exists: when true it goes into
     * the snapshot (system namespace, config_map_name, a copy of the data,
     * where the GET would have put it); when false the snapshot has none,
     * as after a 404.  The data is only read during the call. */
    const struct wva_kvlist *main_configmap_data;
    bool main_configmap_found;
};

/* Read the cluster part of a live snapshot into snap, a zeroed struct the
 * caller allocated (wva_xcalloc) and frees with snapshot_free() whatever
 * the outcome (after a failure it may hold part of the objects):
 *   - namespaces: all (a list), or only the watch namespace (a GET; absent
 *     or forbidden is tolerated);
 *   - VariantAutoscalings: cluster-wide, or in the watch namespace;
 *   - Deployments and Pods: one list per namespace that has VAs (with
 *     limited_mode, Pods are listed cluster-wide for GPU accounting);
 *   - ConfigMaps with the well-known names (the main one, wva-saturation-
 *     config, wva-saturation-scaling-config, wva-scale-to-zero-config,
 *     wva-model-scale-to-zero-config): GETs in the system namespace and in
 *     each tracked namespace (has VAs or label wva.llmd.ai/config-enabled=
 *     "true", and not excluded unless it is the watch namespace); 404 = absent;
 *     the main one comes from opts->main_configmap_data when that is set;
 *   - Nodes when limited_mode (snap->has_nodes set).
 * Objects are converted by the snapshot module's readers (the same as for
 * --from-file) straight from each page's tree, item by item
 * (snapshot_append_item); a list restarted after 410, or one that fails,
 * drops what it had converted.  A bad object fails the read with err naming
 * the request and the object's place in the snapshot document ("LIST
 * /api/v1/pods: pods.items[7].metadata.name: missing", 7 counting the pods
 * already in snap).  Sets captured_at to now when unset and calls
 * snapshot_finish().  Metrics are not read here.  Returns -1 with err
 * (naming the request) when a required read fails. */
int kube_fetch_snapshot(struct kube_client *c, const struct kube_fetch_options *opts,
                        struct wva_snapshot *snap, struct wva_error *err);

#endif
