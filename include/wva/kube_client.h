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
 * and an error kind: WVA_ERR_FORBIDDEN (401, 403), WVA_ERR_NOT_FOUND (404),
 * WVA_ERR_CONFLICT (409), WVA_ERR_SERVER (any other status, or an answer
 * that is not JSON), or the HTTP helper's WVA_ERR_UNREACHABLE when no answer
 * came.  Every call retries 429 (Retry-After) and 5xx/connection failures
 * with bounded backoff (http.h).  Response "Warning:" headers are logged.
 *
 * It knows nothing about autoscaling: which objects a run reads is
 * collect.h's business.
 */
#ifndef WVA_KUBE_CLIENT_H
#define WVA_KUBE_CLIENT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "wva/error.h"
#include "wva/kubeconfig.h"

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

#endif
