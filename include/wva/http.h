/* http.h - the one HTTP request helper (libcurl), shared by the Kubernetes
 * client, the Prometheus client and the Pushgateway push.
 *
 * A struct http_client owns one CURL easy handle so that consecutive
 * requests reuse one connection.  It knows TLS, auth headers, timeouts,
 * response-size bounds and the retry policy (429 with Retry-After, 5xx and
 * connection errors with bounded exponential backoff); it knows nothing of
 * what the bytes mean.
 */
#ifndef WVA_HTTP_H
#define WVA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"
#include "wva/strbuf.h"

#define HTTP_DEFAULT_MAX_RESPONSE (256u * 1024u * 1024u)

struct http_tls {
    const char *ca_file;            /* PEM file, or NULL */
    const char *ca_data;            /* PEM in memory, or NULL */
    const char *client_cert_file;
    const char *client_cert_data;
    const char *client_key_file;
    const char *client_key_data;
    const char *server_name;        /* SNI / verification name override */
    bool insecure_skip_verify;      /* loudly logged by the caller */
};

/* max_retries for "no retries at all" (0 is the default, like every other
 * zero-initialised field).  Every options struct that carries a retry count
 * down to this helper (prom_options, ...) uses the same meaning. */
#define HTTP_NO_RETRY (-1)

/* Zero-initialised numeric fields take the defaults below. */
struct http_options {
    struct http_tls tls;
    const char *bearer_token;       /* secret: never logged */
    const char *user_agent;         /* "wva-optimizer/VERSION" */
    long connect_timeout_ms;        /* default 5000 */
    long timeout_ms;                /* whole request, default 30000 */
    size_t max_response_bytes;      /* default HTTP_DEFAULT_MAX_RESPONSE */
    int max_retries;                /* for 429/5xx/connection errors: 0 = default 3,
                                     * HTTP_NO_RETRY = none */
    long max_retry_wait_ms;         /* cap on one wait (Retry-After), default 10000 */
};

struct http_request {
    const char *method;             /* "GET", "POST", "PATCH", "PUT" */
    const char *url;                /* absolute */
    const char *content_type;       /* for the body, or NULL */
    const char *accept;             /* or NULL */
    const char *body;               /* or NULL */
    size_t body_len;
    bool retry;                     /* apply the retry policy */
};

struct http_response {
    long status;                    /* 0 when no response was received */
    struct wva_strbuf body;
    char *content_type;             /* owned, or NULL */
    char **warnings;                /* "Warning:" header values, owned */
    size_t warnings_count;
    int attempts;                   /* how many tries were made */
    long retry_after_seconds;       /* Retry-After of the last response, -1 if none */
};

struct http_client;

/* Create a client (opts NULL = all defaults).  The options' strings are
 * copied (secrets are wiped when the client is freed).  NULL + err (kind
 * WVA_ERR_CONFIG) on failure: unreadable CA, certificate or key file; a
 * certificate without a key. */
struct http_client *http_client_new(const struct http_options *opts, struct wva_error *err);
void http_client_free(struct http_client *client);

/* Perform a request.  Returns 0 when an HTTP response was received
 * (whatever its status: the caller interprets 4xx/5xx bodies), -1 with err
 * when none was: kind WVA_ERR_UNREACHABLE for connection refused, timeout
 * or a TLS failure, WVA_ERR_SERVER for a response larger than the bound,
 * WVA_ERR_CONFIG for a TLS server name that is not a host name.  resp is
 * initialised here (any previous contents are not freed) and must be freed
 * with http_response_free(), also after -1.
 *
 * Retry policy (req->retry): 429 waits for Retry-After (seconds or HTTP
 * date; 503 too), capped at max_retry_wait_ms; other 5xx and transport
 * failures (refused, reset, resolve errors; not a whole-request timeout, not
 * TLS errors) back off 100 ms, 200 ms, 400 ms... capped likewise; at most
 * max_retries extra tries, after which the last response is returned.
 * Redirects are never followed (the token goes to the configured server
 * only).  With tls.server_name the URL host is verified as server_name
 * while the connection goes to the URL's host and port. */
int http_do(struct http_client *client, const struct http_request *req,
            struct http_response *resp, struct wva_error *err);
/* Free the contents (not resp itself) and zero it; NULL is a no-op. */
void http_response_free(struct http_response *resp);

/* URL-escape one path segment or query value (libcurl).  Caller frees with
 * free(); NULL in, NULL out. */
char *http_escape(const char *s);

#endif
