/* session.h - the start-up every command shares (SPEC sections 2, 3 and
 * 8): the settings resolved from where they live, and for a command that
 * talks to a cluster, the connection and the main ConfigMap the settings
 * were read from.  Written once here for live runs, doctor, replays, the
 * history command and the scenario tests.
 *
 * A replay (--from-file) loads the snapshot and resolves flags > the
 * snapshot's "settings" > the main ConfigMap inside the snapshot >
 * defaults; the environment is not read, so a replay is reproducible
 * anywhere.
 *
 * A live command first resolves POD_NAMESPACE and CONFIG_MAP_NAME (flag >
 * environment > default: they say where the main ConfigMap is, so they
 * cannot come from it), loads the Kubernetes configuration, connects, reads
 * the main ConfigMap once, then resolves the rest: flags > environment >
 * main ConfigMap > defaults.
 *
 * The main ConfigMap may be absent (404): the defaults apply.  When it
 * exists but cannot be read (403 included), the settings it holds are
 * unknown: a command that acts on them fails (WATCH_NAMESPACE,
 * CONTROLLER_INSTANCE or GLOBAL_OPT_ENABLE may be in it, and acting
 * without them could scale VAs that belong to someone else).  doctor, which
 * must always produce a report (SPEC section 10), is told instead
 * (SESSION_DIAGNOSE): a 403 is recorded, the rest resolved without it, and
 * the report says so.  Any other failure fails every command.
 *
 * Errors carry kinds: WVA_ERR_INPUT for a snapshot that cannot be loaded,
 * WVA_ERR_CONFIG for a setting, history DSN or Kubernetes configuration,
 * the Kubernetes client's kind when the main ConfigMap cannot be read.
 */
#ifndef WVA_SESSION_H
#define WVA_SESSION_H

#include <stdbool.h>

#include "wva/error.h"
#include "wva/kube_client.h"
#include "wva/kubeconfig.h"
#include "wva/settings.h"
#include "wva/snapshot.h"

/* The command records a history: its store's DSN is checked at start-up
 * (replays and runs record; doctor does not). */
#define SESSION_RECORDS 0x1u
/* doctor: a main ConfigMap the credentials may not read is a finding, not
 * a failure (see above). */
#define SESSION_DIAGNOSE 0x2u

/* What start-up produced; zero-initialise, release with session_close(). */
struct wva_session {
    struct wva_snapshot *snap;          /* replay: the loaded snapshot */
    struct kube_config kube_cfg;        /* live: where the API server is */
    struct kube_client *kube;           /* live: the one client of the run */
    struct wva_kvlist main_configmap;   /* live: its data; empty when absent */
    bool main_configmap_found;          /* live: it exists and was read */
    char *main_configmap_refused;       /* live, SESSION_DIAGNOSE: the 403, else NULL */
};

/* Replay start-up: load s->from_file into ss->snap and resolve s (parsed by
 * settings_parse_args, not yet resolved) as described above.  Returns 0, or
 * -1 with err; call session_close() either way. */
int session_open_replay(struct wva_session *ss, struct wva_settings *s, unsigned flags,
                        struct wva_error *err);

/* The settings part of a replay, for a snapshot already in memory: flags >
 * snap's settings > its main ConfigMap > defaults.  0 or -1 with err (kind
 * WVA_ERR_CONFIG). */
int session_resolve_snapshot(struct wva_settings *s, const struct wva_snapshot *snap,
                             struct wva_error *err);

/* Live start-up: resolve, connect and read the main ConfigMap as described
 * above; on success ss->kube is ready and s resolved.  Returns 0, or -1
 * with err; call session_close() either way. */
int session_open_live(struct wva_session *ss, struct wva_settings *s, unsigned flags,
                      struct wva_error *err);

/* Start-up of a command that reads neither a snapshot nor the cluster (the
 * history command): flags > environment > defaults.  0 or -1 with err
 * (kind WVA_ERR_CONFIG). */
int session_resolve_environment(struct wva_settings *s, struct wva_error *err);

/* Release what start-up produced and zero ss.  NULL is a no-op. */
void session_close(struct wva_session *ss);

#endif
