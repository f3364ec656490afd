/* kube_client.c - Kubernetes API verbs over the HTTP helper (see
 * include/wva/kube_client.h).
 *
 * The client speaks HTTP and JSON to the API server: paths, pagination,
 * Status errors (and their error kinds), Warning headers.  It knows nothing
 * about autoscaling: which objects a run reads is collect.c's decision,
 * what an object means is the snapshot module's.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wva/http.h"
#include "wva/kube_client.h"
#include "wva/log.h"
#include "wva/strbuf.h"

#define KUBE_JSON_MAX_DEPTH 128
#define KUBE_BODY_SNIPPET 200

struct kube_client {
    struct http_client *http;
    char *server;
    struct kube_client_stats stats;
};

struct kube_client *kube_client_new(const struct kube_config *cfg, struct wva_error *err)
{
    struct http_options opts = {
        .tls = {
            .ca_file = cfg->ca_file,
            .ca_data = cfg->ca_data,
            .client_cert_file = cfg->client_cert_file,
            .client_cert_data = cfg->client_cert_data,
            .client_key_file = cfg->client_key_file,
            .client_key_data = cfg->client_key_data,
            .server_name = cfg->server_name,
            .insecure_skip_verify = cfg->insecure_skip_verify,
        },
        .bearer_token = cfg->token,
        .user_agent = PACKAGE_NAME "/" PACKAGE_VERSION,
    };
    struct kube_client *c;

    if (!cfg->server || !cfg->server[0]) {
        wva_error_setk(err, WVA_ERR_CONFIG, "Kubernetes configuration %s has no server",
                       cfg->source ? cfg->source : "(unknown)");
        return NULL;
    }
    c = wva_xcalloc(1, sizeof(*c));
    c->http = http_client_new(&opts, err);
    if (!c->http) {
        wva_error_prefix(err, "Kubernetes client for %s: ", cfg->server);
        free(c);
        return NULL;
    }
    c->server = wva_xstrdup(cfg->server);
    if (cfg->insecure_skip_verify)
        log_event(WVA_LOG_WARN,
                  "TLS verification of the Kubernetes API server is DISABLED "
                  "(insecure-skip-tls-verify); anyone on the path can impersonate it",
                  "server", cfg->server, "source", cfg->source ? cfg->source : "", NULL);
    if (strncmp(cfg->server, "http://", 7) == 0)
        log_event(WVA_LOG_WARN, "the Kubernetes API server is reached over plain http",
                  "server", cfg->server, NULL);
    return c;
}

void kube_client_free(struct kube_client *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    free(c->server);
    free(c);
}

struct kube_client_stats kube_client_stats(const struct kube_client *c)
{
    return c->stats;
}

/* "deployments/scale team-a/llama-l4" from
 * "/apis/apps/v1/namespaces/team-a/deployments/llama-l4/scale", for
 * messages.  Collections read "pods in namespace team-a". */
static void describe_path(const char *path, struct wva_strbuf *out)
{
    char *copy = wva_xstrdup(path);
    char *seg[16];
    size_t n = 0, i = 0;
    char *save = NULL, *q = strchr(copy, '?');

    if (q)
        *q = '\0';
    for (char *s = strtok_r(copy, "/", &save); s && n < 16; s = strtok_r(NULL, "/", &save))
        seg[n++] = s;
    if (n >= 2 && strcmp(seg[0], "api") == 0)
        i = 2;
    else if (n >= 3 && strcmp(seg[0], "apis") == 0)
        i = 3;
    else {
        wva_strbuf_adds(out, path);
        free(copy);
        return;
    }
    const char *ns = NULL;
    if (n - i >= 3 && strcmp(seg[i], "namespaces") == 0) {
        ns = seg[i + 1];
        i += 2;
    }
    if (i >= n) {                   /* "/api/v1/namespaces/NS" itself */
        wva_strbuf_addf(out, "namespaces %s", ns ? ns : "");
    } else if (n - i == 1) {
        wva_strbuf_adds(out, seg[i]);
        if (ns)
            wva_strbuf_addf(out, " in namespace %s", ns);
    } else {
        wva_strbuf_adds(out, seg[i]);
        if (n - i >= 3)
            wva_strbuf_addf(out, "/%s", seg[i + 2]);
        wva_strbuf_addf(out, " %s%s%s", ns ? ns : "", ns ? "/" : "", seg[i + 1]);
    }
    free(copy);
}

static const char *http_reason_phrase(long code)
{
    switch (code) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "HTTP error";
    }
}

/* Server text in our messages: printable, bounded. */
static void add_sanitized(struct wva_strbuf *sb, const char *s, size_t max)
{
    size_t n = 0;

    for (; *s && n < max; s++, n++)
        wva_strbuf_add(sb, isprint((unsigned char)*s) ? s : " ", 1);
    if (*s)
        wva_strbuf_adds(sb, "...");
}

/* Valid UTF-8 only: the API server always sends it, and strings of an
 * answer end up in plans and --snapshot-out files, which must stay JSON. */
static json_object *parse_json(const char *text, size_t len)
{
    struct json_tokener *tok = json_tokener_new_ex(KUBE_JSON_MAX_DEPTH);
    json_object *obj;

    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len) {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    return obj;
}

static const char *obj_string(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The error kind of an HTTP status the API server answered with. */
static enum wva_error_kind kind_of_status(long code)
{
    switch (code) {
    case 401:
    case 403:
        return WVA_ERR_FORBIDDEN;
    case 404:
        return WVA_ERR_NOT_FOUND;
    case 409:
        return WVA_ERR_CONFLICT;
    default:
        return WVA_ERR_SERVER;
    }
}

/* Fill status and err from a non-2xx response, using the Status object the
 * API server sends ("reason", "message") when there is one. */
static void status_error(const char *what, const struct http_response *resp,
                         struct kube_status *status, struct wva_error *err)
{
    json_object *body = parse_json(resp->body.buf ? resp->body.buf : "", resp->body.len);
    const char *kind = obj_string(body, "kind");
    const char *reason = NULL, *message = NULL;
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    if (kind && strcmp(kind, "Status") == 0) {
        reason = obj_string(body, "reason");
        message = obj_string(body, "message");
    }
    if (status && reason)
        snprintf(status->reason, sizeof(status->reason), "%s", reason);
    wva_strbuf_addf(&sb, "%s: %ld ", what, resp->status);
    add_sanitized(&sb, reason && reason[0] ? reason : http_reason_phrase(resp->status), 63);
    if (message && message[0]) {
        wva_strbuf_adds(&sb, ": ");
        add_sanitized(&sb, message, WVA_ERROR_MAX / 2);
    } else if (resp->body.len > 0) {
        wva_strbuf_adds(&sb, ": ");
        add_sanitized(&sb, wva_strbuf_str(&resp->body), KUBE_BODY_SNIPPET);
    }
    wva_error_setk(err, kind_of_status(resp->status), "%s", wva_strbuf_str(&sb));
    wva_strbuf_release(&sb);
    json_object_put(body);
}

/* The text of a Warning header value (RFC 7234: code agent "text" [date]). */
static void log_warnings(const char *what, const struct http_response *resp)
{
    for (size_t i = 0; i < resp->warnings_count; i++) {
        const char *w = resp->warnings[i];
        const char *open = strchr(w, '"');
        const char *close = open ? strrchr(w, '"') : NULL;
        struct wva_strbuf text = WVA_STRBUF_INIT;

        if (open && close > open)
            wva_strbuf_add(&text, open + 1, (size_t)(close - open - 1));
        else
            wva_strbuf_adds(&text, w);
        log_event(WVA_LOG_WARN, "Kubernetes API warning", "request", what, "warning",
                  wva_strbuf_str(&text), NULL);
        wva_strbuf_release(&text);
    }
}

/* One API call.  label: the verb shown in messages ("GET", "LIST", ...).
 * On a 2xx response, *out (when out is not NULL) is the parsed body.
 * Returns 0, or -1 with status/err filled. */
static int kube_call(struct kube_client *c, const char *method, const char *label,
                     const char *path, const char *content_type, const char *body,
                     json_object **out, struct kube_status *status, struct wva_error *err)
{
    struct wva_strbuf url = WVA_STRBUF_INIT, what = WVA_STRBUF_INIT;
    struct http_response resp;
    struct http_request req = {
        .method = method,
        .content_type = content_type,
        .accept = "application/json",
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .retry = true,
    };
    int rc = -1;

    if (out)
        *out = NULL;
    if (status) {
        status->code = 0;
        status->reason[0] = '\0';
    }
    wva_strbuf_addf(&what, "%s ", label);
    describe_path(path, &what);
    if (path[0] != '/') {
        wva_error_setk(err, WVA_ERR_INTERNAL, "%s: API path must start with '/'",
                       wva_strbuf_str(&what));
        wva_strbuf_release(&what);
        return -1;
    }
    wva_strbuf_addf(&url, "%s%s", c->server, path);
    req.url = wva_strbuf_str(&url);

    if (strcmp(label, "LIST") == 0)
        c->stats.list++;
    else if (strcmp(method, "GET") == 0)
        c->stats.get++;
    else if (strcmp(method, "PATCH") == 0)
        c->stats.patch++;
    else if (strcmp(method, "POST") == 0)
        c->stats.create++;
    else if (strcmp(method, "PUT") == 0)
        c->stats.update++;

    int hrc = http_do(c->http, &req, &resp, err);
    c->stats.attempts += (unsigned long)resp.attempts;
    if (hrc < 0) {
        wva_error_prefix(err, "%s: ", wva_strbuf_str(&what));
        goto out;
    }
    log_warnings(wva_strbuf_str(&what), &resp);
    if (status)
        status->code = resp.status;
    if (resp.status < 200 || resp.status > 299) {
        status_error(wva_strbuf_str(&what), &resp, status, err);
        goto out;
    }
    /* Checked even when the caller drops the body: a 2xx that is not a JSON
     * object did not come from the API server (a proxy's HTML sign-in page,
     * a cut-off answer), so a write cannot be taken as applied.  A 204
     * without a body is fine when no body is wanted. */
    if (out || resp.status != 204 || resp.body.len > 0) {
        json_object *obj = parse_json(wva_strbuf_str(&resp.body), resp.body.len);
        if (!obj || !json_object_is_type(obj, json_type_object)) {
            struct wva_strbuf sb = WVA_STRBUF_INIT;
            add_sanitized(&sb, wva_strbuf_str(&resp.body), KUBE_BODY_SNIPPET);
            wva_error_setk(err, WVA_ERR_SERVER, "%s: %ld response is not a JSON object: %s",
                           wva_strbuf_str(&what), resp.status, wva_strbuf_str(&sb));
            wva_strbuf_release(&sb);
            json_object_put(obj);
            goto out;
        }
        if (out)
            *out = obj;
        else
            json_object_put(obj);
    }
    rc = 0;
out:
    http_response_free(&resp);
    wva_strbuf_release(&url);
    wva_strbuf_release(&what);
    return rc;
}

int kube_get(struct kube_client *c, const char *path, json_object **out,
             struct kube_status *status, struct wva_error *err)
{
    return kube_call(c, "GET", "GET", path, NULL, NULL, out, status, err);
}

int kube_patch(struct kube_client *c, const char *path, const char *content_type,
               const char *body, json_object **out, struct kube_status *status,
               struct wva_error *err)
{
    return kube_call(c, "PATCH", "PATCH", path,
                     content_type ? content_type : "application/merge-patch+json", body, out,
                     status, err);
}

int kube_create(struct kube_client *c, const char *path, const char *body, json_object **out,
                struct kube_status *status, struct wva_error *err)
{
    return kube_call(c, "POST", "POST", path, "application/json", body, out, status, err);
}

int kube_update(struct kube_client *c, const char *path, const char *body, json_object **out,
                struct kube_status *status, struct wva_error *err)
{
    return kube_call(c, "PUT", "PUT", path, "application/json", body, out, status, err);
}

static char *page_path(const char *path, const char *label_selector, const char *cont)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    wva_strbuf_addf(&sb, "%s%climit=%d", path, strchr(path, '?') ? '&' : '?',
                    KUBE_LIST_PAGE_SIZE);
    if (label_selector && label_selector[0]) {
        char *e = http_escape(label_selector);
        wva_strbuf_addf(&sb, "&labelSelector=%s", e);
        free(e);
    }
    if (cont) {
        char *e = http_escape(cont);
        wva_strbuf_addf(&sb, "&continue=%s", e);
        free(e);
    }
    return wva_strbuf_detach(&sb);
}

int kube_list(struct kube_client *c, const char *path, const char *label_selector,
              kube_item_fn fn, void *ctx, struct kube_status *status, struct wva_error *err)
{
    struct kube_status st_local;
    struct kube_status *st = status ? status : &st_local;
    char *cont = NULL;
    int restarts = 0, pages = 0, rc = -1;

    for (;;) {
        char *p = page_path(path, label_selector, cont);
        json_object *page = NULL, *items = NULL, *meta = NULL;
        int crc = kube_call(c, "GET", "LIST", p, NULL, NULL, &page, st, err);

        free(p);
        if (crc < 0) {
            /* An expired continue token: the consistent snapshot the pages
             * belonged to is gone; start over (the consumer is told). */
            if (st->code == 410 && cont && restarts < KUBE_LIST_MAX_RESTARTS) {
                restarts++;
                c->stats.list_restarts++;
                log_event(WVA_LOG_INFO, "list continue token expired; restarting the list",
                          "path", path, NULL);
                free(cont);
                cont = NULL;
                pages = 0;
                if (fn(NULL, ctx, err) < 0)
                    goto out;
                continue;
            }
            if (st->code == 410 && cont)
                wva_error_prefix(err, "gave up after %d list restarts: ", restarts);
            goto out;
        }
        free(cont);
        cont = NULL;
        if (json_object_object_get_ex(page, "items", &items) && items &&
            !json_object_is_type(items, json_type_array)) {
            wva_error_setk(err, WVA_ERR_SERVER, "LIST %s: \"items\" is not an array", path);
            json_object_put(page);
            goto out;
        }
        size_t n = items ? json_object_array_length(items) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(items, i);
            if (!json_object_is_type(item, json_type_object)) {
                wva_error_setk(err, WVA_ERR_SERVER, "LIST %s: items[%zu] is not an object", path,
                               i);
                json_object_put(page);
                goto out;
            }
            if (fn(item, ctx, err) < 0) {
                json_object_put(page);
                goto out;
            }
        }
        if (json_object_object_get_ex(page, "metadata", &meta)) {
            const char *next = obj_string(meta, "continue");
            if (next && next[0])
                cont = wva_xstrdup(next);
        }
        json_object_put(page);
        if (!cont)
            break;
        if (++pages >= KUBE_LIST_MAX_PAGES) {
            wva_error_setk(err, WVA_ERR_SERVER, "LIST %s: more than %d pages; refusing to continue",
                           path, KUBE_LIST_MAX_PAGES);
            goto out;
        }
    }
    rc = 0;
out:
    free(cont);
    return rc;
}
