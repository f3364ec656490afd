/* pushgw.h - the run's metrics, pushed to a Prometheus Pushgateway at the
 * end of each live cycle (SPEC section 7, --pushgateway / WVA_PUSHGATEWAY_URL).
 *
 * Two groups per controller instance, job "wva-optimizer":
 *
 *   {URL}/metrics/job/wva-optimizer/instance/<INSTANCE>
 *       wva_desired_replicas, wva_current_replicas, wva_desired_ratio (one
 *       series per optimized variant: labels variant_name, namespace,
 *       accelerator_type, and controller_instance when one is set),
 *       wva_optimizer_variants{state}, wva_optimizer_run_duration_seconds.
 *       A successful run replaces the group whole (PUT), so variants that
 *       left the plan disappear.  A failed run POSTs, which replaces only
 *       the metric names it sends, and sends only what it knows (no plan:
 *       the duration; no optimized variant, e.g. Prometheus down: no
 *       per-variant family), so an HPA keeps reading the last desired
 *       replicas instead of seeing them vanish.
 *   {URL}/metrics/job/wva-optimizer/instance/<INSTANCE>/kind/success
 *       wva_optimizer_last_success_timestamp_seconds, PUT only by a
 *       successful run: a failed run never touches it, so it keeps the time
 *       of the last success (a PUT replaces a whole group, which is why it
 *       cannot live in the first one).
 *
 * INSTANCE is the controller instance, or "default" when none is set.
 * Values containing '/' (or empty) use the Pushgateway's "@base64" path
 * form; others are URL-escaped.  This module knows the exposition text
 * format and the Pushgateway API; it knows nothing of how the plan was made.
 */
#ifndef WVA_PUSHGW_H
#define WVA_PUSHGW_H

#include <stdbool.h>

#include "wva/error.h"
#include "wva/plan.h"
#include "wva/settings.h"

#define PUSHGW_JOB "wva-optimizer"
#define PUSHGW_DEFAULT_INSTANCE "default"
#define PUSHGW_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Push the metrics of one finished live cycle to the Pushgateway at url
 * (the base URL, e.g. "http://pushgateway:9091"; NULL or "" = no
 * Pushgateway: returns 0 and does nothing).  s gives the controller
 * instance (may be NULL: none).  plan may be NULL when the cycle failed
 * before planning; success says whether the cycle succeeded (exit code 0).
 * Uses the shared HTTP helper with its default TLS verification and a few
 * bounded retries.  Both groups are attempted; returns -1 with err naming
 * the URL and the HTTP status or transport error of the first failure. */
int pushgw_push(const char *url, const struct wva_settings *s, const struct wva_plan *plan,
                bool success, double duration_seconds, struct wva_error *err);

/* The body of the main group in text exposition format 0.0.4 (pure: no
 * I/O).  controller_instance NULL or "" = no controller_instance label.
 * Only optimized variants (not skipped) get per-variant series, and a
 * family without samples is left out entirely (no HELP/TYPE lines).  With
 * plan NULL only wva_optimizer_run_duration_seconds is rendered.
 * wva_desired_ratio is desired/current, and desired itself when current is
 * 0 (so 0 when both are 0).  Caller frees. */
char *pushgw_render(const struct wva_plan *plan, const char *controller_instance,
                    double duration_seconds);

/* The body of the success group: wva_optimizer_last_success_timestamp_seconds
 * (epoch seconds).  Caller frees. */
char *pushgw_render_success(double timestamp_seconds);

/* The URL of a group: base_url (http:// or https://, a host, an optional
 * path prefix; no credentials, query or fragment) + "/metrics/job/" PUSHGW_JOB
 * "/instance/<instance>" [+ "/kind/<kind>"].  instance NULL or "" =
 * PUSHGW_DEFAULT_INSTANCE; kind NULL = the main group.  Returns a malloc'd
 * string, or NULL with err naming the URL and what is wrong with it. */
char *pushgw_group_url(const char *base_url, const char *instance, const char *kind,
                       struct wva_error *err);

#endif
