/* lease.c - interval gate and mutual exclusion on a Lease (see
 * include/wva/lease.h).
 *
 * Everything here is optimistic concurrency on one object: read it, decide,
 * write it back with the resourceVersion read; the API server's 409 settles
 * races between runs.  This module must not know what a run does once it
 * holds the Lease.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wva/http.h"
#include "wva/lease.h"
#include "wva/log.h"
#include "wva/strbuf.h"
#include "wva/strmap.h"
#include "wva/values.h"

/* Compact, and "/" unescaped (paths and messages stay readable). */
#define JSON_TEXT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define LEASE_API "/apis/coordination.k8s.io/v1"
#define LEASE_NAME_MAX 64
/* Bound on leaseDurationSeconds we accept from the cluster or the caller
 * (a day): a corrupt value must not lock runs out for years. */
#define LEASE_MAX_DURATION_SECONDS 86400

const char *lease_outcome_name(int outcome)
{
    switch (outcome) {
    case LEASE_ACQUIRED: return "acquired";
    case LEASE_HELD_BY_OTHER: return "held-by-other";
    case LEASE_TOO_EARLY: return "too-early";
    default: return "error";
    }
}

void lease_name(const char *instance, char *buf, size_t size)
{
    char lower[LEASE_NAME_MAX];
    size_t n;

    if (!instance || !instance[0]) {
        snprintf(buf, size, "%s", LEASE_BASE_NAME);
        return;
    }
    n = strlen(instance);
    if (n < sizeof(lower)) {
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)tolower((unsigned char)instance[i]);
        if (values_is_dns_label(lower, n)) {
            snprintf(buf, size, "%s-%s", LEASE_BASE_NAME, lower);
            return;
        }
    }
    snprintf(buf, size, "%s-%08x", LEASE_BASE_NAME, (unsigned)strmap_hash(instance));
}

/* MicroTime, as the API server writes Lease times:
 * "2026-01-02T03:04:05.123456Z". */
static void format_micro_time(double epoch, char *buf, size_t size)
{
    char base[32];
    double whole = floor(epoch);
    long micros = lround((epoch - whole) * 1e6);

    if (micros >= 1000000) {
        whole += 1;
        micros = 0;
    }
    values_format_rfc3339(whole, base, sizeof(base));
    base[strlen(base) - 1] = '\0';      /* drop the 'Z' */
    snprintf(buf, size, "%s.%06ldZ", base, micros);
}

static double clock_now(double now)
{
    struct timespec ts;

    if (now > 0)
        return now;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *default_identity(void)
{
    char host[256] = "";
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "unknown-host");
    host[sizeof(host) - 1] = '\0';
    wva_strbuf_addf(&sb, "%s_%ld", host, (long)getpid());
    return wva_strbuf_detach(&sb);
}

static char *lease_path(const struct lease *l, bool object)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *ns = http_escape(l->namespace_name);

    wva_strbuf_addf(&sb, LEASE_API "/namespaces/%s/leases", ns);
    if (object)
        wva_strbuf_addf(&sb, "/%s", l->name);   /* lease_name() is path-safe */
    free(ns);
    return wva_strbuf_detach(&sb);
}

/* obj[key] as an object, created when absent or of another type. */
static json_object *child_object(json_object *obj, const char *key)
{
    json_object *v;

    if (json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_object))
        return v;
    v = json_object_new_object();
    json_object_object_add(obj, key, v);
    return v;
}

static const char *get_string(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static double get_time(json_object *obj, const char *key)
{
    const char *s = get_string(obj, key);
    struct wva_error ignored;
    double t;

    if (!s || values_parse_rfc3339(s, &t, &ignored) < 0)
        return -1;
    return t;
}

/* The holder's part of a Lease read from the cluster. */
struct lease_state {
    const char *holder;         /* NULL or "" = free */
    double renew;               /* -1 when absent */
    double duration;
    long transitions;
    double last_run;            /* annotation, -1 when absent */
};

static void read_state(json_object *obj, struct lease_state *s)
{
    json_object *spec = NULL, *md = NULL, *ann = NULL, *v;

    memset(s, 0, sizeof(*s));
    s->renew = s->last_run = -1;
    s->duration = LEASE_MIN_DURATION_SECONDS;
    if (json_object_object_get_ex(obj, "spec", &spec) &&
        json_object_is_type(spec, json_type_object)) {
        s->holder = get_string(spec, "holderIdentity");
        s->renew = get_time(spec, "renewTime");
        if (s->renew < 0)
            s->renew = get_time(spec, "acquireTime");
        if (json_object_object_get_ex(spec, "leaseDurationSeconds", &v) &&
            json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
            s->duration = fmin((double)json_object_get_int64(v), LEASE_MAX_DURATION_SECONDS);
        if (json_object_object_get_ex(spec, "leaseTransitions", &v) &&
            json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
            json_object_get_int64(v) < INT32_MAX)
            s->transitions = (long)json_object_get_int64(v);
    }
    if (json_object_object_get_ex(obj, "metadata", &md) &&
        json_object_object_get_ex(md, "annotations", &ann) &&
        json_object_is_type(ann, json_type_object))
        s->last_run = get_time(ann, LEASE_ANNOTATION_LAST_RUN);
}

/* Write the holder fields into spec (acquisition by l at l->acquired_at). */
static void set_holder(json_object *obj, const struct lease *l, long transitions)
{
    json_object *spec = child_object(obj, "spec");
    char t[48];

    format_micro_time(l->acquired_at, t, sizeof(t));
    json_object_object_add(spec, "holderIdentity", json_object_new_string(l->identity));
    json_object_object_add(spec, "leaseDurationSeconds",
                           json_object_new_int((int)l->duration_seconds));
    json_object_object_add(spec, "acquireTime", json_object_new_string(t));
    json_object_object_add(spec, "renewTime", json_object_new_string(t));
    json_object_object_add(spec, "leaseTransitions", json_object_new_int64(transitions));
}

static int create_lease(struct kube_client *kc, struct lease *l, struct wva_error *err)
{
    json_object *obj = json_object_new_object(), *md, *resp = NULL;
    char *path = lease_path(l, false);
    struct kube_status st;
    int rc;

    json_object_object_add(obj, "apiVersion", json_object_new_string("coordination.k8s.io/v1"));
    json_object_object_add(obj, "kind", json_object_new_string("Lease"));
    md = child_object(obj, "metadata");
    json_object_object_add(md, "name", json_object_new_string(l->name));
    json_object_object_add(md, "namespace", json_object_new_string(l->namespace_name));
    set_holder(obj, l, 0);
    rc = kube_create(kc, path, json_object_to_json_string_ext(obj, JSON_TEXT),
                     &resp, &st, err);
    json_object_put(obj);
    free(path);
    if (rc == 0) {
        l->object = resp;
        return LEASE_ACQUIRED;
    }
    if (st.code == 409) {           /* another run created it first */
        l->other_holder = wva_xstrdup("");
        return LEASE_HELD_BY_OTHER;
    }
    return LEASE_ERROR;
}

/* PUT obj (carrying the resourceVersion read).  On success l->object is the
 * stored Lease. */
static int update_lease(struct kube_client *kc, struct lease *l, json_object *obj,
                        struct kube_status *st, struct wva_error *err)
{
    char *path = lease_path(l, true);
    json_object *resp = NULL;
    int rc = kube_update(kc, path, json_object_to_json_string_ext(obj, JSON_TEXT),
                         &resp, st, err);

    free(path);
    if (rc == 0) {
        json_object_put(l->object);
        l->object = resp;
    }
    return rc;
}

int lease_acquire(struct kube_client *kc, const struct lease_options *opts, struct lease *out,
                  struct wva_error *err)
{
    char name[LEASE_NAME_MAX + 16];
    json_object *obj = NULL;
    struct kube_status st;
    struct lease_state s;
    double now, tolerance;
    int result = LEASE_ERROR;
    char *path = NULL;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!kc || !opts || !out || !opts->system_namespace || !opts->system_namespace[0]) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "lease: missing %s",
                       !kc ? "client" : !opts ? "options" : !out ? "output" : "namespace");
        return LEASE_ERROR;
    }
    if (opts->honour_interval && !(opts->interval_seconds > 0)) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "lease: interval %g s must be > 0",
                       opts->interval_seconds);
        return LEASE_ERROR;
    }
    now = clock_now(opts->now);
    lease_name(opts->instance, name, sizeof(name));
    out->namespace_name = wva_xstrdup(opts->system_namespace);
    out->name = wva_xstrdup(name);
    out->identity = opts->identity && opts->identity[0] ? wva_xstrdup(opts->identity)
                                                        : default_identity();
    out->acquired_at = now;
    out->last_completed_run = -1;
    out->other_expires_at = -1;
    out->duration_seconds = opts->duration_seconds > 0 ? opts->duration_seconds
                                                       : 2 * opts->interval_seconds;
    out->duration_seconds = ceil(fmin(fmax(out->duration_seconds, LEASE_MIN_DURATION_SECONDS),
                                      LEASE_MAX_DURATION_SECONDS));

    path = lease_path(out, true);
    if (kube_get(kc, path, &obj, &st, err) < 0) {
        if (st.code != 404)
            goto out;
        result = create_lease(kc, out, err);
        goto out;
    }

    read_state(obj, &s);
    out->last_completed_run = s.last_run;
    if (s.holder && s.holder[0] && strcmp(s.holder, out->identity) != 0) {
        double expires = s.renew >= 0 ? s.renew + s.duration : -1;

        /* A holder without a renew time cannot be shown to be alive: it is
         * treated as expired rather than locking every run out forever. */
        if (expires >= 0 && expires > now) {
            out->other_holder = wva_xstrdup(s.holder);
            out->other_expires_at = expires;
            result = LEASE_HELD_BY_OTHER;
            goto out;
        }
        char when[32] = "never renewed";
        if (expires >= 0)
            values_format_rfc3339(expires, when, sizeof(when));
        log_event(WVA_LOG_WARN, "taking over an expired lease", "namespace",
                  out->namespace_name, "lease", out->name, "holder", s.holder, "expired", when,
                  NULL);
    }
    if (opts->honour_interval && s.last_run >= 0) {
        tolerance = fmin(opts->interval_seconds / 4, LEASE_MAX_TOLERANCE_SECONDS);
        if (now - s.last_run < opts->interval_seconds - tolerance) {
            result = LEASE_TOO_EARLY;
            goto out;
        }
    }
    set_holder(obj, out, s.holder && strcmp(s.holder, out->identity) == 0 ? s.transitions
                                                                           : s.transitions + 1);
    if (update_lease(kc, out, obj, &st, err) < 0) {
        if (st.code == 409) {       /* another run updated it between our GET and PUT */
            out->other_holder = wva_xstrdup("");
            result = LEASE_HELD_BY_OTHER;
        }
        goto out;
    }
    result = LEASE_ACQUIRED;
out:
    if (result == LEASE_ACQUIRED) {
        out->held = true;
        wva_error_clear(err);
    } else if (result != LEASE_ERROR) {
        wva_error_clear(err);
    } else {
        wva_error_prefix(err, "lease %s/%s: ", out->namespace_name, out->name);
    }
    json_object_put(obj);
    free(path);
    return result;
}

int lease_release(struct kube_client *kc, struct lease *l, bool completed, double now,
                  struct wva_error *err)
{
    struct kube_status st;
    int rc = -1;

    if (!kc || !l || !l->held || !l->object) {
        wva_error_setk(err, WVA_ERR_INTERNAL, "lease: release of a lease that is not held");
        return -1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        json_object *spec = child_object(l->object, "spec");

        char renew[48];

        /* renewTime = when it was given up (the annotation, by contrast,
         * records the run's start: see lease.h). */
        format_micro_time(clock_now(now), renew, sizeof(renew));
        json_object_object_del(spec, "holderIdentity");
        json_object_object_add(spec, "renewTime", json_object_new_string(renew));
        if (completed) {
            char t[32];
            values_format_rfc3339(l->acquired_at, t, sizeof(t));
            json_object_object_add(child_object(child_object(l->object, "metadata"),
                                                "annotations"),
                                   LEASE_ANNOTATION_LAST_RUN, json_object_new_string(t));
        }
        if (update_lease(kc, l, l->object, &st, err) == 0) {
            rc = 0;
            break;
        }
        if (st.code != 409 || attempt > 0)
            break;
        /* Changed since we wrote it: still ours (someone edited a label or
         * annotation) => retry on the fresh object; someone else's => our
         * lease had expired and was taken over: write nothing. */
        char *path = lease_path(l, true);
        json_object *fresh = NULL;
        struct lease_state s;
        int grc = kube_get(kc, path, &fresh, &st, err);

        free(path);
        if (grc < 0)
            break;
        read_state(fresh, &s);
        if (!s.holder || strcmp(s.holder, l->identity) != 0) {
            wva_error_setk(err, WVA_ERR_CONFLICT, "the lease was taken over by %s (ours had "
                           "expired); the last completed run is not recorded",
                           s.holder && s.holder[0] ? s.holder : "another run");
            json_object_put(fresh);
            break;
        }
        json_object_put(l->object);
        l->object = fresh;
    }
    l->held = false;
    if (rc < 0)
        wva_error_prefix(err, "lease %s/%s: release: ", l->namespace_name, l->name);
    return rc;
}

void lease_free(struct lease *l)
{
    if (!l)
        return;
    free(l->namespace_name);
    free(l->name);
    free(l->identity);
    free(l->other_holder);
    json_object_put(l->object);
    memset(l, 0, sizeof(*l));
}
