/* http.c - the one HTTP request helper (see include/wva/http.h).
 *
 * One CURL easy handle per client: libcurl keeps the connection of the
 * previous request alive in the handle, so a run that makes hundreds of
 * Kubernetes calls opens one TLS connection.  Per request the handle is
 * reset (curl_easy_reset keeps live connections) and every option is set
 * again, so nothing from a previous request (a body, a method) can leak into
 * the next one.
 *
 * This module knows TLS, headers, bounds and the retry policy.  It must not
 * know what the bytes mean (no JSON, no Kubernetes, no Prometheus) and it
 * never logs: the bearer token passes through here and must not leak.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "wva/http.h"
#include "wva/secret.h"

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define HTTP_DEFAULT_TIMEOUT_MS 30000L
#define HTTP_DEFAULT_MAX_RETRIES 3
#define HTTP_DEFAULT_MAX_RETRY_WAIT_MS 10000L
#define HTTP_FIRST_BACKOFF_MS 100L
/* A hostile server must not make us keep unbounded header data. */
#define HTTP_MAX_WARNINGS 32
#define HTTP_MAX_HEADER_VALUE 4096

struct http_client {
    CURL *curl;
    /* Copies of the options' strings (owned). */
    char *ca_file, *ca_data;
    char *client_cert_file, *client_cert_data;
    char *client_key_file, *client_key_data;
    char *server_name;
    bool insecure_skip_verify;
    char *bearer_token;
    char *user_agent;
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response_bytes;
    int max_retries;
    long max_retry_wait_ms;
};

/* State of one attempt, shared with the libcurl callbacks. */
struct attempt {
    struct http_response *resp;
    size_t max_bytes;
    bool too_large;
    long retry_after_ms;            /* -1 when absent */
};

void http_client_free(struct http_client *client)
{
    if (!client)
        return;
    if (client->curl)
        curl_easy_cleanup(client->curl);
    free(client->ca_file);
    free(client->ca_data);
    free(client->client_cert_file);
    free(client->client_cert_data);
    free(client->client_key_file);
    wva_secret_free(client->client_key_data);
    free(client->server_name);
    wva_secret_free(client->bearer_token);
    free(client->user_agent);
    free(client);
}

/* Files named in the options are checked now so that a typo is reported
 * when the client is built, naming the file, rather than as an obscure TLS
 * failure on the first request. */
static int check_readable(const char *what, const char *path, struct wva_error *err)
{
    if (!path)
        return 0;
    if (access(path, R_OK) != 0) {
        wva_error_setk(err, WVA_ERR_CONFIG, "%s %s is not readable: %s", what, path,
                       strerror(errno));
        return -1;
    }
    return 0;
}

struct http_client *http_client_new(const struct http_options *opts, struct wva_error *err)
{
    static const struct http_options no_options;
    struct http_client *c;

    if (!opts)
        opts = &no_options;
    if (check_readable("CA file", opts->tls.ca_file, err) < 0 ||
        check_readable("client certificate file", opts->tls.client_cert_file, err) < 0 ||
        check_readable("client key file", opts->tls.client_key_file, err) < 0)
        return NULL;
    if ((opts->tls.client_cert_file || opts->tls.client_cert_data) !=
        (opts->tls.client_key_file || opts->tls.client_key_data)) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "a client certificate needs both a certificate and a key");
        return NULL;
    }

    c = wva_xcalloc(1, sizeof(*c));
    c->curl = curl_easy_init();
    if (!c->curl) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "cannot initialise libcurl");
        free(c);
        return NULL;
    }
    c->ca_file = wva_xstrdup(opts->tls.ca_file);
    c->ca_data = wva_xstrdup(opts->tls.ca_data);
    c->client_cert_file = wva_xstrdup(opts->tls.client_cert_file);
    c->client_cert_data = wva_xstrdup(opts->tls.client_cert_data);
    c->client_key_file = wva_xstrdup(opts->tls.client_key_file);
    c->client_key_data = wva_xstrdup(opts->tls.client_key_data);
    c->server_name = opts->tls.server_name && opts->tls.server_name[0]
                         ? wva_xstrdup(opts->tls.server_name) : NULL;
    c->insecure_skip_verify = opts->tls.insecure_skip_verify;
    c->bearer_token = opts->bearer_token && opts->bearer_token[0]
                          ? wva_xstrdup(opts->bearer_token) : NULL;
    c->user_agent = wva_xstrdup(opts->user_agent);
    c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                         : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    c->max_response_bytes = opts->max_response_bytes ? opts->max_response_bytes
                                                     : HTTP_DEFAULT_MAX_RESPONSE;
    if (opts->max_retries > 0)
        c->max_retries = opts->max_retries;
    else
        c->max_retries = opts->max_retries < 0 ? 0 : HTTP_DEFAULT_MAX_RETRIES;
    c->max_retry_wait_ms = opts->max_retry_wait_ms > 0 ? opts->max_retry_wait_ms
                                                       : HTTP_DEFAULT_MAX_RETRY_WAIT_MS;
    return c;
}

void http_response_free(struct http_response *resp)
{
    if (!resp)
        return;
    wva_strbuf_release(&resp->body);
    free(resp->content_type);
    for (size_t i = 0; i < resp->warnings_count; i++)
        free(resp->warnings[i]);
    free(resp->warnings);
    memset(resp, 0, sizeof(*resp));
}

/* Forget what a previous attempt collected (a retried request reports only
 * its last response). */
static void response_clear(struct http_response *resp)
{
    int attempts = resp->attempts;

    http_response_free(resp);
    resp->attempts = attempts;
    resp->retry_after_seconds = -1;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct attempt *a = userdata;
    size_t n = size * nmemb;

    if (n > a->max_bytes || a->resp->body.len > a->max_bytes - n) {
        a->too_large = true;
        return 0;                   /* makes libcurl abort with CURLE_WRITE_ERROR */
    }
    wva_strbuf_add(&a->resp->body, data, n);
    return n;
}

/* Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3). */
static long parse_retry_after_ms(const char *v)
{
    char *end;

    if (isdigit((unsigned char)v[0])) {
        errno = 0;
        long s = strtol(v, &end, 10);
        if (errno || *end != '\0' || s < 0)
            return -1;
        return s > LONG_MAX / 1000 ? LONG_MAX : s * 1000;
    }
    time_t when = curl_getdate(v, NULL);
    if (when < 0)
        return -1;
    time_t now = time(NULL);
    return when <= now ? 0 : (long)(when - now) * 1000;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct attempt *a = userdata;
    struct http_response *resp = a->resp;
    size_t n = size * nmemb;
    size_t len = n;
    char value[HTTP_MAX_HEADER_VALUE];
    const char *colon;

    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    /* A status line starts a new response (after a 100 Continue, say):
     * only the headers of the final one count. */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        free(resp->content_type);
        resp->content_type = NULL;
        for (size_t i = 0; i < resp->warnings_count; i++)
            free(resp->warnings[i]);
        resp->warnings_count = 0;
        a->retry_after_ms = -1;
        resp->retry_after_seconds = -1;
        return n;
    }
    colon = memchr(data, ':', len);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vlen = len - name_len - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    if (vlen >= sizeof(value))
        vlen = sizeof(value) - 1;
    memcpy(value, v, vlen);
    value[vlen] = '\0';

    if (name_len == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
        free(resp->content_type);
        resp->content_type = wva_xstrdup(value);
    } else if (name_len == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
        a->retry_after_ms = parse_retry_after_ms(value);
        if (a->retry_after_ms >= 0)
            resp->retry_after_seconds = a->retry_after_ms / 1000;
    } else if (name_len == 7 && strncasecmp(data, "Warning", 7) == 0 &&
               resp->warnings_count < HTTP_MAX_WARNINGS) {
        resp->warnings = wva_xrealloc(resp->warnings,
                                      (resp->warnings_count + 1) * sizeof(char *));
        resp->warnings[resp->warnings_count++] = wva_xstrdup(value);
    }
    return n;
}

/* Kubernetes' tls-server-name: libcurl has no option to verify against a
 * name other than the URL host, so the URL host is rewritten to the server
 * name (used for SNI and verification) and CURLOPT_CONNECT_TO sends the TCP
 * connection to the original host and port.  Fills *url_out (owned) and
 * *connect_to. */
static int apply_server_name(const char *server_name, const char *url, char **url_out,
                             struct curl_slist **connect_to, struct wva_error *err)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *rewritten = NULL;
    int rc = -1;

    if (!u)
        goto oom;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        wva_error_setk(err, WVA_ERR_CONFIG, "cannot parse URL %s", url);
        goto out;
    }
    if (curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &rewritten, 0) != CURLUE_OK) {
        wva_error_setk(err, WVA_ERR_CONFIG, "TLS server name \"%s\" is not a valid host name",
                       server_name);
        goto out;
    }
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    wva_strbuf_addf(&sb, "%s:%s:%s:%s", server_name, port, host, port);
    struct curl_slist *list = curl_slist_append(NULL, wva_strbuf_str(&sb));
    wva_strbuf_release(&sb);
    if (!list)
        goto oom;
    *connect_to = list;
    *url_out = wva_xstrdup(rewritten);
    rc = 0;
    goto out;
oom:
    wva_error_setk(err, WVA_ERR_INTERNAL, "out of memory preparing a request to %s", url);
out:
    curl_free(host);
    curl_free(port);
    curl_free(rewritten);
    curl_url_cleanup(u);
    return rc;
}

static void set_blob(CURL *curl, CURLoption opt, const char *data)
{
    struct curl_blob blob = {
        .data = (void *)data,
        .len = strlen(data),
        .flags = CURL_BLOB_COPY,
    };
    curl_easy_setopt(curl, opt, &blob);
}

static void set_tls(struct http_client *c)
{
    CURL *curl = c->curl;

    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, c->insecure_skip_verify ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, c->insecure_skip_verify ? 0L : 2L);
    /* Secrets in memory go to libcurl as blobs, never through temp files. */
    if (c->ca_data)
        set_blob(curl, CURLOPT_CAINFO_BLOB, c->ca_data);
    else if (c->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
    if (c->client_cert_data)
        set_blob(curl, CURLOPT_SSLCERT_BLOB, c->client_cert_data);
    else if (c->client_cert_file)
        curl_easy_setopt(curl, CURLOPT_SSLCERT, c->client_cert_file);
    if (c->client_cert_data || c->client_cert_file)
        curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    if (c->client_key_data)
        set_blob(curl, CURLOPT_SSLKEY_BLOB, c->client_key_data);
    else if (c->client_key_file)
        curl_easy_setopt(curl, CURLOPT_SSLKEY, c->client_key_file);
    if (c->client_key_data || c->client_key_file)
        curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
}

/* Zero header strings before freeing: one of them carries the token. */
static void free_headers(struct curl_slist *headers)
{
    for (struct curl_slist *h = headers; h; h = h->next)
        wva_secret_wipe(h->data, strlen(h->data));
    curl_slist_free_all(headers);
}

static struct curl_slist *add_header(struct curl_slist *headers, const char *name,
                                     const char *value)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    wva_strbuf_addf(&sb, "%s: %s", name, value);
    headers = curl_slist_append(headers, wva_strbuf_str(&sb));
    wva_secret_strbuf_release(&sb);
    return headers;
}

static struct curl_slist *build_headers(const struct http_client *c,
                                        const struct http_request *req)
{
    struct curl_slist *headers = NULL;

    if (c->bearer_token) {
        char *auth = wva_xmalloc(strlen(c->bearer_token) + 8);
        sprintf(auth, "Bearer %s", c->bearer_token);
        headers = add_header(headers, "Authorization", auth);
        wva_secret_free(auth);
    }
    if (req->content_type)
        headers = add_header(headers, "Content-Type", req->content_type);
    if (req->accept)
        headers = add_header(headers, "Accept", req->accept);
    /* No "Expect: 100-continue" round trip for large bodies. */
    return curl_slist_append(headers, "Expect:");
}

/* One attempt: returns the libcurl result; resp is filled. */
static CURLcode perform_once(struct http_client *c, const struct http_request *req,
                             const char *url, struct curl_slist *headers,
                             struct curl_slist *connect_to, struct attempt *a)
{
    CURL *curl = c->curl;
    const char *method = req->method ? req->method : "GET";

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* Redirects are not followed: the bearer token must only ever go to the
     * configured server. */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
    /* Compressed transfer (large lists); the size bound applies to the
     * decoded bytes in write_cb. */
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    if (c->user_agent)
        curl_easy_setopt(curl, CURLOPT_USERAGENT, c->user_agent);
    set_tls(c);
    if (connect_to)
        curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);

    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (req->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->resp->status);
    else
        a->resp->status = 0;
    return rc;
}

/* Failures worth another try: the server was not reached or dropped the
 * connection.  A whole-request timeout is not retried (the timeout already
 * bounds the run's time; retrying would multiply it), nor are TLS errors. */
static bool transient_curl_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long backoff_ms(const struct http_client *c, int attempt)
{
    long ms = HTTP_FIRST_BACKOFF_MS;

    for (int i = 1; i < attempt && ms < c->max_retry_wait_ms; i++)
        ms *= 2;
    return ms < c->max_retry_wait_ms ? ms : c->max_retry_wait_ms;
}

int http_do(struct http_client *client, const struct http_request *req,
            struct http_response *resp, struct wva_error *err)
{
    struct curl_slist *headers = NULL, *connect_to = NULL;
    char *rewritten_url = NULL;
    const char *url;
    int rc = -1;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after_seconds = -1;
    if (!client || !req || !req->url) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "http_do: no client or URL");
        return -1;
    }
    url = req->url;
    if (client->server_name) {
        if (apply_server_name(client->server_name, req->url, &rewritten_url, &connect_to,
                              err) < 0)
            goto out;
        url = rewritten_url;
    }
    headers = build_headers(client, req);

    for (;;) {
        struct attempt a = { .resp = resp, .max_bytes = client->max_response_bytes,
                             .retry_after_ms = -1 };
        long wait_ms;

        response_clear(resp);
        resp->attempts++;
        CURLcode cc = perform_once(client, req, url, headers, connect_to, &a);
        bool retries_left = req->retry && resp->attempts <= client->max_retries;

        if (cc != CURLE_OK) {
            if (a.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
                wva_error_setk(err, WVA_ERR_SERVER, "%s %s: response larger than %zu bytes",
                               req->method ? req->method : "GET", req->url,
                               client->max_response_bytes);
                goto out;
            }
            if (!retries_left || !transient_curl_error(cc)) {
                wva_error_setk(err, WVA_ERR_UNREACHABLE, "%s %s: %s%s",
                               req->method ? req->method : "GET", req->url,
                               curl_easy_strerror(cc),
                               resp->attempts > 1 ? " (after retries)" : "");
                goto out;
            }
            wait_ms = backoff_ms(client, resp->attempts);
        } else if (resp->status == 429 || resp->status >= 500) {
            if (!retries_left)
                break;
            if (a.retry_after_ms >= 0 && (resp->status == 429 || resp->status == 503))
                wait_ms = a.retry_after_ms < client->max_retry_wait_ms
                              ? a.retry_after_ms : client->max_retry_wait_ms;
            else
                wait_ms = backoff_ms(client, resp->attempts);
        } else {
            break;
        }
        sleep_ms(wait_ms);
    }
    rc = 0;
out:
    if (rc < 0) {
        int attempts = resp->attempts;
        http_response_free(resp);
        resp->attempts = attempts;
        resp->retry_after_seconds = -1;
    }
    free_headers(headers);
    curl_slist_free_all(connect_to);
    free(rewritten_url);
    return rc;
}

char *http_escape(const char *s)
{
    char *escaped, *copy;

    if (!s)
        return NULL;
#if LIBCURL_VERSION_NUM >= 0x075200
    /* Since 7.82 the handle argument is ignored. */
    escaped = curl_easy_escape(NULL, s, 0);
#else
    CURL *curl = curl_easy_init();
    escaped = curl ? curl_easy_escape(curl, s, 0) : NULL;
    curl_easy_cleanup(curl);
#endif
    if (!escaped) {
        fprintf(stderr, "wva-optimizer: out of memory escaping a URL part\n");
        abort();
    }
    copy = wva_xstrdup(escaped);
    curl_free(escaped);
    return copy;
}
