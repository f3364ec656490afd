/* prom_client.c - Prometheus instant queries (see
 * include/wva/prom_client.h).
 *
 * Sends a query as POST /api/v1/query (form body, so long queries never hit
 * URL-length limits in proxies) through the shared HTTP helper, and turns
 * the response envelope into struct wva_series.  It knows the Prometheus
 * HTTP API and PromQL syntax; which series a run wants is collect.c's
 * business, and it knows nothing of variants, pods or thresholds.  It never
 * talks HTTP itself (timeouts, TLS and retries are the HTTP helper's).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "wva/http.h"
#include "wva/log.h"
#include "wva/prom_client.h"
#include "wva/secret.h"
#include "wva/strbuf.h"
#include "wva/values.h"

/* Prometheus envelopes are shallow; a deep document is not one of them. */
#define PROM_JSON_DEPTH 32
/* Prometheus' own error texts are short; a longer one is someone else's. */
#define PROM_ERROR_TEXT_MAX 300

/* ---- query building --------------------------------------------------- */

/* A PromQL double-quoted string literal (Go escaping rules). */
static void add_promql_string(struct wva_strbuf *sb, const char *s)
{
    wva_strbuf_adds(sb, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\': wva_strbuf_adds(sb, "\\\\"); break;
        case '"': wva_strbuf_adds(sb, "\\\""); break;
        case '\n': wva_strbuf_adds(sb, "\\n"); break;
        case '\r': wva_strbuf_adds(sb, "\\r"); break;
        case '\t': wva_strbuf_adds(sb, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                wva_strbuf_addf(sb, "\\x%02x", *p);
            else
                wva_strbuf_add(sb, (const char *)p, 1);
        }
    }
    wva_strbuf_adds(sb, "\"");
}

char *prom_namespace_matcher(const char *watch_ns)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    if (watch_ns && *watch_ns) {
        wva_strbuf_adds(&sb, "namespace=");
        add_promql_string(&sb, watch_ns);
    }
    return wva_strbuf_detach(&sb);
}

bool prom_is_metric_name(const char *name)
{
    size_t n;

    if (!name || !*name)
        return false;
    n = strlen(name);
    if (n > PROM_METRIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  c == ':' || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

void prom_format_range(double seconds, char *buf, size_t size)
{
    long long ms;

    /* Ten years bounds the conversion; NaN and non-positive values become
     * the smallest range PromQL accepts. */
    if (!(seconds > 0))
        seconds = 0;
    if (seconds > 315360000.0)
        seconds = 315360000.0;
    ms = (long long)ceil(seconds * 1000.0);
    if (ms < 1)
        ms = 1;
    if (ms % 1000 == 0)
        snprintf(buf, size, "%llds", ms / 1000);
    else
        snprintf(buf, size, "%lldms", ms);
}

/* ---- response parsing ------------------------------------------------- */

void prom_series_free(struct wva_series *series)
{
    if (!series)
        return;
    for (size_t i = 0; i < series->count; i++)
        wva_kvlist_free(&series->items[i].labels);
    free(series->items);
    series->items = NULL;
    series->count = 0;
}

/* Printable excerpt of untrusted text for a message: whitespace and
 * control characters collapse to one space, non-ASCII bytes become '?'
 * (no broken UTF-8 in logs), at most max bytes of input are quoted. */
static void add_excerpt(struct wva_strbuf *sb, const char *text, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    size_t start = sb->len;
    bool space = true;      /* drops leading whitespace */

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c == 0x7f) {
            if (!space)
                wva_strbuf_add(sb, " ", 1);
            space = true;
            continue;
        }
        wva_strbuf_add(sb, c < 0x80 ? (const char *)&c : "?", 1);
        space = false;
    }
    while (sb->len > start && sb->buf[sb->len - 1] == ' ')
        sb->buf[--sb->len] = '\0';
    if (sb->len == start)
        wva_strbuf_adds(sb, "(empty)");
    else if (len > max)
        wva_strbuf_adds(sb, "...");
}

/* A string field of an object, or NULL when absent or not a string. */
static const char *get_string(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool is_number(json_object *v)
{
    return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

/* Prometheus sends sample values as strings ("0.5", "NaN", "+Inf"). */
static int parse_value(json_object *v, double *out)
{
    const char *s;
    char *end;

    if (is_number(v)) {
        *out = json_object_get_double(v);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return -1;
    s = json_object_get_string(v);
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    *out = strtod(s, &end);
    /* Overflow gives +-HUGE_VAL, i.e. infinite: dropped like "+Inf". */
    if (*end != '\0')
        return -1;
    return 0;
}

/* One item of data.result.  *keep is false for a non-finite value. */
static int parse_sample(json_object *item, const char *path, size_t i,
                        struct wva_sample *sample, bool *keep, struct wva_error *err)
{
    json_object *metric, *value, *ts, *val;

    if (!json_object_is_type(item, json_type_object)) {
        wva_error_setk(err, WVA_ERR_SERVER, "%s[%zu]: expected an object, got %s", path, i,
                       json_type_to_name(json_object_get_type(item)));
        return -1;
    }
    if (!json_object_object_get_ex(item, "metric", &metric) ||
        !json_object_is_type(metric, json_type_object)) {
        wva_error_setk(err, WVA_ERR_SERVER,
                       "%s[%zu].metric: expected an object of labels", path, i);
        return -1;
    }
    if (!json_object_object_get_ex(item, "value", &value) ||
        !json_object_is_type(value, json_type_array) || json_object_array_length(value) != 2) {
        wva_error_setk(err, WVA_ERR_SERVER,
                       "%s[%zu].value: expected a [timestamp, \"value\"] pair", path, i);
        return -1;
    }
    ts = json_object_array_get_idx(value, 0);
    val = json_object_array_get_idx(value, 1);
    if (!is_number(ts)) {
        wva_error_setk(err, WVA_ERR_SERVER,
                       "%s[%zu].value[0]: expected a timestamp number", path, i);
        return -1;
    }
    if (parse_value(val, &sample->value) < 0) {
        struct wva_strbuf sb = WVA_STRBUF_INIT;
        const char *text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
        add_excerpt(&sb, text, strlen(text), 40);
        wva_error_setk(err, WVA_ERR_SERVER,
                       "%s[%zu].value[1]: %s is not a number", path, i, wva_strbuf_str(&sb));
        wva_strbuf_release(&sb);
        return -1;
    }
    json_object_object_foreach(metric, key, lv) {
        if (!json_object_is_type(lv, json_type_string)) {
            wva_error_setk(err, WVA_ERR_SERVER,
                           "%s[%zu].metric.%.64s: expected a string label value",
                           path, i, key);
            wva_kvlist_free(&sample->labels);
            return -1;
        }
        wva_kvlist_set(&sample->labels, key, json_object_get_string(lv));
    }
    /* Checked after the labels so that a malformed sample is an error
     * whatever its value. */
    *keep = isfinite(sample->value);
    if (!*keep) {
        /* The slot is reused for the next sample. */
        wva_kvlist_free(&sample->labels);
        memset(&sample->labels, 0, sizeof(sample->labels));
    }
    return 0;
}

int prom_parse_result(struct json_object *result, const char *path, struct wva_series *out,
                      size_t *dropped, struct wva_error *err)
{
    struct wva_series series = {NULL, 0};
    size_t n, lost = 0;

    if (!json_object_is_type(result, json_type_array)) {
        wva_error_setk(err, WVA_ERR_SERVER, "%s: expected an array, got %s", path,
                       json_type_to_name(json_object_get_type(result)));
        return -1;
    }
    n = json_object_array_length(result);
    series.items = wva_xcalloc(n, sizeof(*series.items));
    for (size_t i = 0; i < n; i++) {
        struct wva_sample *sample = &series.items[series.count];
        bool keep = false;

        if (parse_sample(json_object_array_get_idx(result, i), path, i, sample, &keep,
                         err) < 0) {
            prom_series_free(&series);
            return -1;
        }
        if (keep)
            series.count++;
        else
            lost++;
    }
    *out = series;
    if (dropped)
        *dropped = lost;
    return 0;
}

/* Parse exactly len bytes as one JSON document; NULL when they are not. */
static json_object *parse_json(const char *body, size_t len)
{
    json_tokener *tok;
    json_object *obj;
    size_t end;

    if (len > INT_MAX || memchr(body, '\0', len))
        return NULL;
    tok = json_tokener_new_ex(PROM_JSON_DEPTH);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, body, (int)len);
    if (obj && json_tokener_get_error(tok) == json_tokener_success) {
        end = json_tokener_get_parse_end(tok);
        while (end < len && isspace((unsigned char)body[end]))
            end++;
        if (end != len) {
            json_object_put(obj);
            obj = NULL;
        }
    } else {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    return obj;
}

int prom_parse_response(const char *name, long http_status, const char *body, size_t len,
                        size_t max_bytes, struct wva_series *out, size_t *dropped,
                        struct wva_error *err)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    json_object *root = NULL, *data, *result;
    const char *status, *type;
    int rc = -1;

    if (!body)
        len = 0;
    if (!max_bytes)
        max_bytes = PROM_DEFAULT_MAX_RESPONSE;
    if (len > max_bytes) {
        wva_error_setk(err, WVA_ERR_SERVER,
                       "Prometheus query %s: response of %zu bytes exceeds the %zu-byte bound",
                       name, len, max_bytes);
        goto out;
    }
    root = len ? parse_json(body, len) : NULL;
    status = root && json_object_is_type(root, json_type_object) ? get_string(root, "status")
                                                                 : NULL;
    if (!status) {
        /* A proxy's HTML page, an empty 502, a JSON body that is not an
         * envelope: quote the start so the operator sees who answered. */
        add_excerpt(&sb, body ? body : "", len, PROM_BODY_EXCERPT);
        wva_error_setk(err, WVA_ERR_SERVER,
                       "Prometheus query %s: HTTP %ld with a %s body: %s", name,
                       http_status, root ? "non-Prometheus JSON" : "non-JSON",
                       wva_strbuf_str(&sb));
        goto out;
    }
    if (strcmp(status, "error") == 0) {
        const char *etype = get_string(root, "errorType");
        const char *etext = get_string(root, "error");

        etype = etype ? etype : "unknown";
        etext = etext ? etext : "(no error text)";
        add_excerpt(&sb, etype, strlen(etype), 64);
        wva_strbuf_adds(&sb, ": ");
        add_excerpt(&sb, etext, strlen(etext), PROM_ERROR_TEXT_MAX);
        wva_error_setk(err, WVA_ERR_SERVER, "Prometheus query %s: %s", name, wva_strbuf_str(&sb));
        goto out;
    }
    if (strcmp(status, "success") != 0) {
        add_excerpt(&sb, status, strlen(status), 32);
        wva_error_setk(err, WVA_ERR_SERVER,
                       "Prometheus query %s: HTTP %ld with status \"%s\"", name,
                       http_status, wva_strbuf_str(&sb));
        goto out;
    }
    if (http_status < 200 || http_status > 299) {
        wva_error_setk(err, WVA_ERR_SERVER,
                       "Prometheus query %s: HTTP %ld with a success envelope", name,
                       http_status);
        goto out;
    }
    if (!json_object_object_get_ex(root, "data", &data) ||
        !json_object_is_type(data, json_type_object)) {
        wva_error_setk(err, WVA_ERR_SERVER, "Prometheus query %s: data: expected an object", name);
        goto out;
    }
    type = get_string(data, "resultType");
    if (!type || strcmp(type, "vector") != 0) {
        add_excerpt(&sb, type ? type : "", type ? strlen(type) : 0, 32);
        wva_error_setk(err, WVA_ERR_SERVER,
                       "Prometheus query %s: resultType \"%s\", expected \"vector\"",
                       name, type ? wva_strbuf_str(&sb) : "");
        goto out;
    }
    if (!json_object_object_get_ex(data, "result", &result)) {
        wva_error_setk(err, WVA_ERR_SERVER, "Prometheus query %s: data.result: missing", name);
        goto out;
    }
    if (prom_parse_result(result, "data.result", out, dropped, err) < 0) {
        wva_error_prefix(err, "Prometheus query %s: ", name);
        goto out;
    }
    rc = 0;
out:
    /* A proxy or Prometheus refusing the credentials, whatever the body. */
    if (rc < 0 && err && (http_status == 401 || http_status == 403))
        err->kind = WVA_ERR_FORBIDDEN;
    json_object_put(root);
    wva_strbuf_release(&sb);
    return rc;
}

/* ---- the client -------------------------------------------------------- */

struct prom_client {
    struct http_client *http;
    char *query_url;                /* {base}/api/v1/query */
    size_t max_response_bytes;
    struct prom_stats stats;
};

static bool nonempty(const char *s)
{
    return s && *s;
}

/* Trim surrounding whitespace in place; a token with a control character
 * or inner whitespace left would corrupt the Authorization header. */
static int check_token(char *token, const char *setting, struct wva_error *err)
{
    size_t len = strlen(token), start = 0;

    while (len > 0 && isspace((unsigned char)token[len - 1]))
        token[--len] = '\0';
    while (start < len && isspace((unsigned char)token[start]))
        start++;
    memmove(token, token + start, len - start + 1);
    len -= start;
    if (len == 0) {
        wva_error_setk(err, WVA_ERR_CONFIG, "%s: the bearer token is empty", setting);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c <= 0x20 || c == 0x7f) {
            /* Say where, never what: the token is a secret. */
            wva_error_setk(err, WVA_ERR_CONFIG,
                           "%s: the bearer token contains whitespace or a control "
                           "character at offset %zu", setting, i);
            return -1;
        }
    }
    return 0;
}

/* Strip trailing slashes and check the scheme; returns the query URL. */
static char *make_query_url(const char *base, struct wva_error *err)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    size_t len, scheme;

    if (!nonempty(base)) {
        wva_error_setk(err, WVA_ERR_CONFIG, "PROMETHEUS_BASE_URL: required for live runs "
                       "(--prometheus-url or PROMETHEUS_BASE_URL)");
        return NULL;
    }
    if (strncasecmp(base, "https://", 8) == 0)
        scheme = 8;
    else if (strncasecmp(base, "http://", 7) == 0)
        scheme = 7;
    else
        scheme = 0;
    if (!scheme || base[scheme] == '\0' || base[scheme] == '/' ||
        strpbrk(base, "?# \t\r\n")) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "PROMETHEUS_BASE_URL \"%.200s\": expected http(s)://host[:port][/path] "
                       "without query, fragment or whitespace", base);
        return NULL;
    }
    len = strlen(base);
    while (len > scheme && base[len - 1] == '/')
        len--;
    wva_strbuf_add(&sb, base, len);
    wva_strbuf_adds(&sb, "/api/v1/query");
    return wva_strbuf_detach(&sb);
}

struct prom_client *prom_client_new(const struct prom_options *opts, struct wva_error *err)
{
    struct prom_client *client = NULL;
    struct http_options hopts;
    char *token = NULL, *url = NULL;

    url = make_query_url(opts->base_url, err);
    if (!url)
        goto out;
    if (nonempty(opts->bearer_token)) {
        token = wva_xstrdup(opts->bearer_token);
        if (check_token(token, "PROMETHEUS_BEARER_TOKEN", err) < 0)
            goto out;
    } else if (nonempty(opts->token_path)) {
        token = wva_secret_read_token("PROMETHEUS_TOKEN_PATH", opts->token_path, err);
        if (!token)
            goto out;
        if (check_token(token, "PROMETHEUS_TOKEN_PATH", err) < 0) {
            wva_error_prefix(err, "%s: ", opts->token_path);
            goto out;
        }
    }

    memset(&hopts, 0, sizeof(hopts));
    hopts.tls.ca_file = opts->ca_cert_path;
    hopts.tls.client_cert_file = opts->client_cert_path;
    hopts.tls.client_key_file = opts->client_key_path;
    hopts.tls.server_name = opts->server_name;
    hopts.tls.insecure_skip_verify = opts->insecure_skip_verify;
    hopts.bearer_token = token;
    hopts.user_agent = opts->user_agent ? opts->user_agent : "wva-optimizer/" PACKAGE_VERSION;
    hopts.connect_timeout_ms = opts->connect_timeout_ms;
    hopts.timeout_ms = opts->timeout_ms;
    hopts.max_response_bytes = opts->max_response_bytes ? opts->max_response_bytes
                                                        : PROM_DEFAULT_MAX_RESPONSE;
    hopts.max_retries = opts->max_retries;

    client = wva_xcalloc(1, sizeof(*client));
    client->http = http_client_new(&hopts, err);
    if (!client->http) {
        wva_error_prefix(err, "Prometheus client: ");
        free(client);
        client = NULL;
        goto out;
    }
    client->query_url = url;
    url = NULL;
    client->max_response_bytes = hopts.max_response_bytes;

    if (strncasecmp(opts->base_url, "http://", 7) == 0)
        log_event(WVA_LOG_WARN, "Prometheus URL uses plain http: metrics and the bearer "
                  "token travel unencrypted; use https", NULL);
    if (opts->insecure_skip_verify)
        log_event(WVA_LOG_WARN, "TLS certificate verification of Prometheus is disabled",
                  "setting", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", NULL);
out:
    wva_secret_free(token);
    free(url);
    return client;
}

void prom_client_free(struct prom_client *client)
{
    if (!client)
        return;
    http_client_free(client->http);
    free(client->query_url);
    free(client);
}

void prom_client_stats(const struct prom_client *client, struct prom_stats *out)
{
    *out = client->stats;
}

int prom_query(struct prom_client *client, const char *name, const char *promql,
               double eval_time, struct wva_series *out, struct wva_error *err)
{
    struct wva_strbuf body = WVA_STRBUF_INIT;
    struct http_response resp;
    struct http_request req;
    char *escaped = promql ? http_escape(promql) : NULL;
    double start = values_monotonic_seconds();
    size_t dropped = 0;
    int rc = -1;

    memset(&resp, 0, sizeof(resp));
    client->stats.queries++;
    if (!promql || !escaped) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "Prometheus query %s: cannot URL-escape the query",
                       name);
        goto out;
    }
    wva_strbuf_adds(&body, "query=");
    wva_strbuf_adds(&body, escaped);
    if (eval_time > 0)
        wva_strbuf_addf(&body, "&time=%.3f", eval_time);

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = client->query_url;
    req.content_type = "application/x-www-form-urlencoded";
    req.accept = "application/json";
    req.body = wva_strbuf_str(&body);
    req.body_len = body.len;
    req.retry = true;   /* an instant query is a read: safe to repeat */

    if (http_do(client->http, &req, &resp, err) < 0) {
        client->stats.http_attempts += resp.attempts > 0 ? (unsigned)resp.attempts : 1;
        wva_error_prefix(err, "Prometheus query %s: ", name);
        goto out;
    }
    client->stats.http_attempts += resp.attempts > 0 ? (unsigned)resp.attempts : 1;
    if (prom_parse_response(name, resp.status, resp.body.buf, resp.body.len,
                            client->max_response_bytes, out, &dropped, err) < 0)
        goto out;
    client->stats.samples += (unsigned)out->count;
    client->stats.dropped += (unsigned)dropped;
    if (dropped) {
        char n[32];
        snprintf(n, sizeof(n), "%zu", dropped);
        log_event(WVA_LOG_DEBUG, "dropped non-finite Prometheus samples", "query", name,
                  "dropped", n, NULL);
    }
    rc = 0;
out:
    if (rc < 0)
        client->stats.failed++;
    client->stats.seconds += values_monotonic_seconds() - start;
    http_response_free(&resp);
    wva_strbuf_release(&body);
    free(escaped);
    return rc;
}
