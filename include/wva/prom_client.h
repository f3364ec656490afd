/* prom_client.h - the Prometheus client of live runs (SPEC sections 3 and 6).
 *
 * Three layers, each usable on its own:
 *   - query building: the fixed PromQL strings of one run, scoped by an
 *     optional watch-namespace matcher (pure functions);
 *   - response parsing: an instant-query response envelope to a struct
 *     wva_series (pure functions, used on fixture strings by the tests);
 *   - the client: instant queries over the shared HTTP helper (POST
 *     /api/v1/query, form body), and prom_fetch_metrics(), which runs the
 *     fixed batch of queries of one run and fills struct wva_metrics.
 *
 * Queries per run: 5 + the number of distinct spec.metrics names, whatever
 * the number of VAs; +1 when vllm:kv_cache_usage_perc has no usable sample
 * and vllm:gpu_cache_usage_perc is asked instead; -1 when no model has
 * scale-to-zero enabled (the request-count query is skipped).
 *
 * Secrets: the bearer token (given or read from the token file) is handed
 * to the HTTP helper only; it never appears in messages or logs.
 */
#ifndef WVA_PROM_CLIENT_H
#define WVA_PROM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

struct json_object;

/* Responses larger than this are refused (by the HTTP helper while
 * receiving, and again by the parser). */
#define PROM_DEFAULT_MAX_RESPONSE (32u * 1024u * 1024u)

/* How much of a non-JSON body (an HTML page from a proxy...) is quoted. */
#define PROM_BODY_EXCERPT 200

/* ---- query building --------------------------------------------------- */

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

/* The queries of one run (see the file-top comment for which are sent).
 * Each returns a malloc'd PromQL string; watch_ns may be NULL or "". */
char *prom_query_kv_cache_usage(const char *watch_ns);
/* The fallback for older vLLM versions: same shape, vllm:gpu_cache_usage_perc. */
char *prom_query_gpu_cache_usage(const char *watch_ns);
char *prom_query_queue_length(const char *watch_ns);
char *prom_query_cache_config(const char *watch_ns);
/* Successful requests over the retention period (seconds, > 0). */
char *prom_query_request_count(const char *watch_ns, double retention_seconds);
char *prom_query_gateway_queue(const char *watch_ns);
/* A spec.metrics series: NULL + err when metric is not a valid metric name. */
char *prom_query_custom(const char *watch_ns, const char *metric, struct wva_error *err);

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

/* Release everything a struct wva_metrics owns and zero it (the struct
 * itself is the caller's).  NULL is a no-op. */
void prom_metrics_free(struct wva_metrics *metrics);

/* ---- the client -------------------------------------------------------- */

struct prom_options {
    const char *base_url;           /* http(s)://host[:port][/prefix], required */
    const char *bearer_token;       /* secret; wins over token_path when both set */
    const char *token_path;         /* file read once by prom_client_new, trimmed */
    const char *ca_cert_path;
    const char *client_cert_path;
    const char *client_key_path;
    const char *server_name;
    bool insecure_skip_verify;      /* logged as a warning */
    const char *user_agent;         /* NULL = "wva-optimizer/VERSION" */
    long connect_timeout_ms;        /* 0 = HTTP helper default */
    long timeout_ms;                /* whole request; 0 = HTTP helper default */
    int max_retries;                /* < 0 = HTTP helper default; 0 = no retry */
    size_t max_response_bytes;      /* 0 = PROM_DEFAULT_MAX_RESPONSE */
};

/* Fill opts from the resolved settings (pointers into s, which must
 * outlive opts); the remaining fields get their defaults. */
void prom_options_from_settings(const struct wva_settings *s, struct prom_options *opts);

/* Counters for the benchmark and the run log, cumulative per client. */
struct prom_stats {
    unsigned queries;               /* instant queries sent (retries not counted) */
    unsigned failed;                /* of which failed (transport or envelope) */
    unsigned http_attempts;         /* HTTP requests including retries */
    unsigned samples;               /* usable samples received */
    unsigned dropped;               /* NaN/Inf samples left out */
    unsigned fallbacks;             /* gpu_cache_usage fallback queries */
    double seconds;                 /* wall time spent in queries */
};

struct prom_client;

/* Create a client: validates base_url (http:// or https://, no query or
 * fragment; http:// logs a warning), reads the token file when no token is
 * given (at most 64 KiB, surrounding whitespace trimmed, must not be empty),
 * and sets up TLS.  NULL + err naming the setting on failure. */
struct prom_client *prom_client_new(const struct prom_options *opts, struct wva_error *err);
void prom_client_free(struct prom_client *client);

/* One instant query: POST {base}/api/v1/query with the form body
 * query=PROMQL[&time=EVAL_TIME].  eval_time <= 0 omits time (Prometheus
 * evaluates at "now").  name labels the query in messages.  0 and *out
 * (which must be empty) filled, or -1 + err. */
int prom_query(struct prom_client *client, const char *name, const char *promql,
               double eval_time, struct wva_series *out, struct wva_error *err);

/* What one run asks for. */
struct prom_run_params {
    const char *watch_namespace;    /* NULL or "" = all namespaces */
    /* Largest retention period (seconds) among models with scale-to-zero
     * enabled; <= 0 when none is enabled: request_count is not queried. */
    double retention_seconds;
    /* spec.metrics names of the optimized VAs; duplicates allowed (one
     * query per distinct name, results sorted by name). */
    const char *const *custom_metrics;
    size_t custom_metrics_count;
    double eval_time;               /* <= 0 = now */
};

/* Run the fixed batch of queries and fill *metrics (which must be zeroed).
 * Returns 0 when every query succeeded.  On the first failure stops (the
 * engine holds replicas anyway, so further queries would only add
 * latency), sets metrics->prometheus_error to the message, keeps the
 * series already read, and returns -1 with err set to the same message.
 * Custom metric names are all validated before anything is sent. */
int prom_fetch_metrics(struct prom_client *client, const struct prom_run_params *params,
                       struct wva_metrics *metrics, struct wva_error *err);

/* Copy the counters. */
void prom_client_stats(const struct prom_client *client, struct prom_stats *out);

#endif
