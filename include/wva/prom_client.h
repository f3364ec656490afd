/* prom_client.h - a small Prometheus HTTP API client (SPEC sections 3 and
 * 6): instant queries and their answers.
 *
 * Three layers, each usable on its own:
 *   - PromQL syntax: label matchers with escaped values, metric names,
 *     range durations (pure functions);
 *   - response parsing: an instant-query response envelope to a struct
 *     wva_series (pure functions, used on fixture strings by the tests);
 *   - the client: instant queries over the shared HTTP helper (POST
 *     /api/v1/query, form body).
 * Which queries a run sends is not known here (collect.h has them), nor
 * anything else about autoscaling.
 *
 * Errors: kind WVA_ERR_CONFIG for bad options (URL, token), the HTTP
 * helper's kind when no answer came, WVA_ERR_FORBIDDEN for an HTTP 401 or
 * 403, WVA_ERR_SERVER for any other error envelope or an answer that is
 * not one.
 *
 * Secrets: the bearer token (given or read from the token file) is handed
 * to the HTTP helper only; it never appears in messages or logs.
 */
#ifndef WVA_PROM_CLIENT_H
#define WVA_PROM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/snapshot.h"

struct json_object;

/* Responses larger than this are refused (by the HTTP helper while
 * receiving, and again by the parser). */
#define PROM_DEFAULT_MAX_RESPONSE (32u * 1024u * 1024u)

/* How much of a non-JSON body (an HTML page from a proxy...) is quoted. */
#define PROM_BODY_EXCERPT 200

/* The longest metric name accepted (prom_is_metric_name). */
#define PROM_METRIC_NAME_MAX 256

/* ---- PromQL syntax ------------------------------------------------------ */

/* The label matcher that scopes a query to the watch namespace:
 * `namespace="NS"` with NS escaped for a PromQL double-quoted string
 * (backslash, double quote, control characters), or "" when watch_ns is
 * NULL or empty.  Caller frees. */
char *prom_namespace_matcher(const char *watch_ns);

/* Whether name is a valid Prometheus metric name
 * ([a-zA-Z_:][a-zA-Z0-9_:]*, at most 256 bytes). */
bool prom_is_metric_name(const char *name);

/* A duration in PromQL syntax for a range selector: whole seconds as
 * "600s", otherwise milliseconds rounded up ("1500ms"); at least "1ms".
 * buf should hold >= 32 bytes. */
void prom_format_range(double seconds, char *buf, size_t size);

/* ---- response parsing ------------------------------------------------- */

/* Parse one instant-query response (len bytes, need not be NUL-terminated)
 * received with HTTP status http_status for the query called name (used in
 * messages, e.g. "kv_cache_usage").  max_bytes 0 means
 * PROM_DEFAULT_MAX_RESPONSE.
 *
 * On success returns 0, *out (which must be empty) owns the usable samples
 * and *dropped (may be NULL) counts the NaN/+Inf/-Inf samples left out.
 * On failure returns -1, *out stays empty, and err says, for example:
 *   "Prometheus query kv_cache_usage: bad_data: parse error at char 5: ..."
 *   "Prometheus query queue_length: HTTP 502 with a non-JSON body: <html>..."
 *   "Prometheus query cache_config: resultType \"matrix\", expected \"vector\""
 *   "Prometheus query gateway_queue: data.result[3].value[1]: \"abc\" is not a number" */
int prom_parse_response(const char *name, long http_status, const char *body, size_t len,
                        size_t max_bytes, struct wva_series *out, size_t *dropped,
                        struct wva_error *err);

/* Parse a data.result array of an instant vector (also the shape of the
 * snapshot file's metrics arrays, SPEC section 8): items
 * {"metric": {label: string...}, "value": [time, "number"]}.  The value may
 * also be a JSON number.  Non-finite values are dropped and counted in
 * *dropped (may be NULL).  Errors name "<path>[i]..." where path is the
 * caller's JSON path of the array (e.g. "data.result").  *out must be empty;
 * it stays empty on failure. */
int prom_parse_result(struct json_object *result, const char *path, struct wva_series *out,
                      size_t *dropped, struct wva_error *err);

/* Release the samples of a series and empty it.  NULL is a no-op. */
void prom_series_free(struct wva_series *series);

/* ---- the client -------------------------------------------------------- */

struct prom_options {
    const char *base_url;           /* http(s)://host[:port][/prefix], required */
    const char *bearer_token;       /* secret; wins over token_path when both set */
    const char *token_path;         /* file read once by prom_client_new
                                     * (wva_secret_read_token) */
    const char *ca_cert_path;
    const char *client_cert_path;
    const char *client_key_path;
    const char *server_name;
    bool insecure_skip_verify;      /* logged as a warning */
    const char *user_agent;         /* NULL = "wva-optimizer/VERSION" */
    long connect_timeout_ms;        /* 0 = HTTP helper default */
    long timeout_ms;                /* whole request; 0 = HTTP helper default */
    int max_retries;                /* as in http_options: 0 = the HTTP helper's
                                     * default, HTTP_NO_RETRY = none */
    size_t max_response_bytes;      /* 0 = PROM_DEFAULT_MAX_RESPONSE */
};

/* Counters for the benchmark and the run log, cumulative per client. */
struct prom_stats {
    unsigned queries;               /* instant queries sent (retries not counted) */
    unsigned failed;                /* of which failed (transport or envelope) */
    unsigned http_attempts;         /* HTTP requests including retries */
    unsigned samples;               /* usable samples received */
    unsigned dropped;               /* NaN/Inf samples left out */
    double seconds;                 /* wall time spent in queries */
};

struct prom_client;

/* Create a client: validates base_url (http:// or https://, no query or
 * fragment; http:// logs a warning), reads the token file when no token is
 * given (wva_secret_read_token: at most 64 KiB, surrounding whitespace
 * trimmed, must not be empty), and sets up TLS.  NULL + err (kind
 * WVA_ERR_CONFIG) naming the setting on failure. */
struct prom_client *prom_client_new(const struct prom_options *opts, struct wva_error *err);
void prom_client_free(struct prom_client *client);

/* One instant query: POST {base}/api/v1/query with the form body
 * query=PROMQL[&time=EVAL_TIME].  eval_time <= 0 omits time (Prometheus
 * evaluates at "now").  name labels the query in messages.  0 and *out
 * (which must be empty) filled, or -1 + err. */
int prom_query(struct prom_client *client, const char *name, const char *promql,
               double eval_time, struct wva_series *out, struct wva_error *err);

/* Copy the counters. */
void prom_client_stats(const struct prom_client *client, struct prom_stats *out);

#endif
