/* pushgw.c - the run's metrics to a Prometheus Pushgateway (see
 * include/wva/pushgw.h for the groups and why there are two).
 *
 * Rendering is pure (plan in, exposition text out) so that unit tests pin
 * the exact bytes; pushing goes through the shared HTTP helper.  The module
 * knows the text exposition format 0.0.4 and the Pushgateway's URL scheme;
 * it must not know how the plan was computed or anything about Kubernetes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "wva/http.h"
#include "wva/pushgw.h"
#include "wva/strbuf.h"

/* The push happens after the cluster was written: a slow or dead
 * Pushgateway must not hold the run (and the Lease) for long. */
#define PUSHGW_TIMEOUT_MS 5000L
#define PUSHGW_CONNECT_TIMEOUT_MS 3000L
#define PUSHGW_MAX_RETRIES 2
#define PUSHGW_MAX_RETRY_WAIT_MS 2000L
/* The answer is a short message at most; a large one is not a Pushgateway. */
#define PUSHGW_MAX_RESPONSE (64u * 1024u)
/* How much of an error answer to quote in a message. */
#define PUSHGW_QUOTED_BODY 200

/* ---- URL ----------------------------------------------------------------- */

/* RFC 4648 section 5 (URL and filename safe alphabet), with padding: the
 * Pushgateway accepts padding and needs it ("=") for an empty value. */
static void add_base64url(struct wva_strbuf *sb, const char *s)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    if (n == 0) {
        wva_strbuf_adds(sb, "=");
        return;
    }
    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16;
        size_t rest = n - i;
        char out[4];

        if (rest > 1)
            v |= (unsigned long)p[i + 1] << 8;
        if (rest > 2)
            v |= p[i + 2];
        out[0] = alphabet[(v >> 18) & 63];
        out[1] = alphabet[(v >> 12) & 63];
        out[2] = rest > 1 ? alphabet[(v >> 6) & 63] : '=';
        out[3] = rest > 2 ? alphabet[v & 63] : '=';
        wva_strbuf_add(sb, out, 4);
    }
}

/* "/name/value" of one grouping label.  A '/' in a value would split the
 * path, and an empty value would vanish when the path is cleaned, so those
 * take the "name@base64/..." form; anything else is plainly URL-escaped. */
static void add_grouping_label(struct wva_strbuf *sb, const char *name, const char *value)
{
    if (!value[0] || strchr(value, '/')) {
        wva_strbuf_addf(sb, "/%s@base64/", name);
        add_base64url(sb, value);
        return;
    }
    char *escaped = http_escape(value);
    wva_strbuf_addf(sb, "/%s/%s", name, escaped);
    free(escaped);
}

char *pushgw_group_url(const char *base_url, const char *instance, const char *kind,
                       struct wva_error *err)
{
    struct wva_strbuf path = WVA_STRBUF_INIT;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *part = NULL, *old_path = NULL, *full = NULL;
    char *result = NULL;

    if (!u) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "out of memory parsing the Pushgateway URL");
        goto out;
    }
    if (!base_url || !base_url[0]) {
        wva_error_setk(err, WVA_ERR_CONFIG, "Pushgateway URL is empty");
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "Pushgateway URL \"%s\" is not a valid http:// or https:// URL",
                       base_url);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "Pushgateway URL \"%s\": scheme %s is not http or https", base_url,
                       scheme);
        goto out;
    }
    /* Credentials in the URL would end up in error messages and logs. */
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "Pushgateway URL has credentials in it (user@host); they are "
                       "not supported");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "Pushgateway URL \"%s\" has a query or fragment; give only the "
                       "base URL (scheme, host, port, optional path prefix)", base_url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PATH, &old_path, 0) != CURLUE_OK) {
        wva_error_setk(err, WVA_ERR_CONFIG, "Pushgateway URL \"%s\" has no usable path",
                       base_url);
        goto out;
    }

    /* A path prefix (a Pushgateway behind a proxy) is kept; a trailing '/'
     * must not make "//metrics". */
    size_t len = strlen(old_path);
    while (len > 0 && old_path[len - 1] == '/')
        len--;
    wva_strbuf_add(&path, old_path, len);
    wva_strbuf_adds(&path, "/metrics");
    add_grouping_label(&path, "job", PUSHGW_JOB);
    add_grouping_label(&path, "instance",
                       instance && instance[0] ? instance : PUSHGW_DEFAULT_INSTANCE);
    if (kind)
        add_grouping_label(&path, "kind", kind);
    if (curl_url_set(u, CURLUPART_PATH, wva_strbuf_str(&path), 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "Pushgateway URL \"%s\": cannot build the group path", base_url);
        goto out;
    }
    result = wva_xstrdup(full);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(part);
    curl_free(old_path);
    curl_free(full);
    curl_url_cleanup(u);
    wva_strbuf_release(&path);
    return result;
}

/* ---- exposition text ------------------------------------------------------ */

/* Label values escape backslash, double quote and newline (text format
 * 0.0.4); everything else is written as it is. */
static void add_label(struct wva_strbuf *sb, bool first, const char *name, const char *value)
{
    wva_strbuf_addf(sb, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\')
            wva_strbuf_adds(sb, "\\\\");
        else if (*p == '"')
            wva_strbuf_adds(sb, "\\\"");
        else if (*p == '\n')
            wva_strbuf_adds(sb, "\\n");
        else
            wva_strbuf_add(sb, p, 1);
    }
    wva_strbuf_adds(sb, "\"");
}

/* Sample values as Go's strconv would read them back: NaN, +Inf, -Inf, else
 * up to 15 significant digits (integers stay integers: "3"). */
static void add_value(struct wva_strbuf *sb, double v)
{
    if (isnan(v))
        wva_strbuf_adds(sb, " NaN\n");
    else if (isinf(v))
        wva_strbuf_adds(sb, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        wva_strbuf_addf(sb, " %.15g\n", v == 0 ? 0.0 : v);   /* no "-0" */
}

static void add_family(struct wva_strbuf *sb, const char *name, const char *help)
{
    wva_strbuf_addf(sb, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static bool variant_optimized(const struct wva_plan_variant *v)
{
    return v->action != WVA_ACTION_SKIPPED && v->skip == WVA_SKIP_NONE;
}

static size_t count_optimized(const struct wva_plan *plan)
{
    size_t n = 0;

    for (size_t i = 0; i < plan->variants_count; i++)
        n += variant_optimized(&plan->variants[i]);
    return n;
}

static double desired_ratio(const struct wva_plan_variant *v)
{
    /* At 0 replicas a ratio is undefined; the desired count itself keeps
     * the "> 1 means grow" reading (0 = stay at zero). */
    if (v->current_replicas <= 0)
        return v->target_replicas;
    return (double)v->target_replicas / v->current_replicas;
}

enum variant_gauge { GAUGE_DESIRED, GAUGE_CURRENT, GAUGE_RATIO };

static void add_variant_family(struct wva_strbuf *sb, const struct wva_plan *plan,
                               const char *controller_instance, enum variant_gauge which)
{
    static const char *const names[] = {
        "wva_desired_replicas", "wva_current_replicas", "wva_desired_ratio",
    };
    static const char *const helps[] = {
        "Replicas wva-optimizer wants for the variant (target of the last plan).",
        "Replicas of the variant's Deployment when the plan was made.",
        "Desired over current replicas of the variant (the desired count when current is 0).",
    };

    /* No family without samples: a failed run POSTs, and an empty family
     * must not wipe the values of the last run that had some. */
    if (count_optimized(plan) == 0)
        return;
    add_family(sb, names[which], helps[which]);
    for (size_t i = 0; i < plan->variants_count; i++) {
        const struct wva_plan_variant *v = &plan->variants[i];
        double value;

        if (!variant_optimized(v))
            continue;
        value = which == GAUGE_DESIRED ? v->target_replicas
              : which == GAUGE_CURRENT ? v->current_replicas
                                       : desired_ratio(v);
        wva_strbuf_addf(sb, "%s{", names[which]);
        add_label(sb, true, "variant_name", v->name);
        add_label(sb, false, "namespace", v->namespace_name);
        add_label(sb, false, "accelerator_type", v->accelerator);
        if (controller_instance && controller_instance[0])
            add_label(sb, false, "controller_instance", controller_instance);
        wva_strbuf_adds(sb, "}");
        add_value(sb, value);
    }
}

static void add_variant_counts(struct wva_strbuf *sb, const struct wva_plan *plan)
{
    size_t optimized = 0, skipped = 0, up = 0, down = 0;

    for (size_t i = 0; i < plan->variants_count; i++) {
        const struct wva_plan_variant *v = &plan->variants[i];
        if (!variant_optimized(v)) {
            skipped++;
            continue;
        }
        optimized++;
        up += v->action == WVA_ACTION_SCALE_UP;
        down += v->action == WVA_ACTION_SCALE_DOWN;
    }
    add_family(sb, "wva_optimizer_variants",
               "Variants of the last plan by state (optimized, skipped, scaled_up, "
               "scaled_down).");
    wva_strbuf_addf(sb, "wva_optimizer_variants{state=\"optimized\"} %zu\n", optimized);
    wva_strbuf_addf(sb, "wva_optimizer_variants{state=\"skipped\"} %zu\n", skipped);
    wva_strbuf_addf(sb, "wva_optimizer_variants{state=\"scaled_up\"} %zu\n", up);
    wva_strbuf_addf(sb, "wva_optimizer_variants{state=\"scaled_down\"} %zu\n", down);
}

char *pushgw_render(const struct wva_plan *plan, const char *controller_instance,
                    double duration_seconds)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    if (plan) {
        add_variant_family(&sb, plan, controller_instance, GAUGE_DESIRED);
        add_variant_family(&sb, plan, controller_instance, GAUGE_CURRENT);
        add_variant_family(&sb, plan, controller_instance, GAUGE_RATIO);
        add_variant_counts(&sb, plan);
    }
    add_family(&sb, "wva_optimizer_run_duration_seconds",
               "Wall-clock duration of the last wva-optimizer cycle.");
    wva_strbuf_adds(&sb, "wva_optimizer_run_duration_seconds");
    add_value(&sb, duration_seconds);
    return wva_strbuf_detach(&sb);
}

char *pushgw_render_success(double timestamp_seconds)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    add_family(&sb, "wva_optimizer_last_success_timestamp_seconds",
               "Unix time of the last successful wva-optimizer cycle.");
    wva_strbuf_adds(&sb, "wva_optimizer_last_success_timestamp_seconds");
    add_value(&sb, timestamp_seconds);
    return wva_strbuf_detach(&sb);
}

/* ---- push ------------------------------------------------------------------ */

/* The start of an error answer, on one line, for a message. */
static void quote_body(const struct http_response *resp, char *buf, size_t size)
{
    const char *body = wva_strbuf_str(&resp->body);
    size_t n = 0;

    for (size_t i = 0; body[i] && n + 1 < size && i < PUSHGW_QUOTED_BODY; i++)
        buf[n++] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
}

static int send_group(struct http_client *client, const char *method, const char *url,
                      const char *body, struct wva_error *err)
{
    struct http_request req = {
        .method = method,
        .url = url,
        .content_type = PUSHGW_CONTENT_TYPE,
        .body = body,
        .body_len = strlen(body),
        .retry = true,
    };
    struct http_response resp;
    char quoted[PUSHGW_QUOTED_BODY + 1];
    int rc = -1;

    if (http_do(client, &req, &resp, err) != 0) {
        wva_error_prefix(err, "Pushgateway: ");
        goto out;
    }
    /* 200 since Pushgateway 1.0, 202 before. */
    if (resp.status < 200 || resp.status > 299) {
        quote_body(&resp, quoted, sizeof(quoted));
        wva_error_setk(err, resp.status == 401 || resp.status == 403 ? WVA_ERR_FORBIDDEN
                                                                     : WVA_ERR_SERVER,
                       "Pushgateway %s %s: HTTP %ld%s%s", method, url, resp.status,
                       quoted[0] ? ": " : "", quoted);
        goto out;
    }
    rc = 0;
out:
    http_response_free(&resp);
    return rc;
}

static double wall_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pushgw_push(const char *url, const struct wva_settings *s, const struct wva_plan *plan,
                bool success, double duration_seconds, struct wva_error *err)
{
    const char *instance = s ? s->controller_instance : NULL;
    struct http_options opts = {
        .user_agent = PACKAGE_NAME "/" PACKAGE_VERSION,
        .connect_timeout_ms = PUSHGW_CONNECT_TIMEOUT_MS,
        .timeout_ms = PUSHGW_TIMEOUT_MS,
        .max_response_bytes = PUSHGW_MAX_RESPONSE,
        .max_retries = PUSHGW_MAX_RETRIES,
        .max_retry_wait_ms = PUSHGW_MAX_RETRY_WAIT_MS,
    };
    struct http_client *client = NULL;
    struct wva_error second = {0};
    char *main_url = NULL, *success_url = NULL, *body = NULL, *success_body = NULL;
    int rc = -1;

    if (!url || !url[0])
        return 0;
    main_url = pushgw_group_url(url, instance, NULL, err);
    if (!main_url)
        goto out;
    success_url = pushgw_group_url(url, instance, "success", err);
    if (!success_url)
        goto out;
    client = http_client_new(&opts, err);
    if (!client)
        goto out;

    /* A successful run replaces the group whole, so variants that are gone
     * (VA deleted, now skipped) stop being published.  A failed one POSTs:
     * the Pushgateway then replaces only the metric names in the body, and
     * the body names only what this run knows (no plan: just the duration;
     * Prometheus down: no optimized variant, so no per-variant family).
     * The last desired replicas stay for an HPA or KEDA reading them,
     * which then holds instead of seeing its metric vanish. */
    body = pushgw_render(plan, instance, duration_seconds);
    rc = send_group(client, success ? "PUT" : "POST", main_url, body, err);
    if (success) {
        success_body = pushgw_render_success(wall_clock());
        if (send_group(client, "PUT", success_url, success_body,
                       rc == 0 ? err : &second) != 0)
            rc = -1;
    }
out:
    http_client_free(client);
    free(main_url);
    free(success_url);
    free(body);
    free(success_body);
    return rc;
}
