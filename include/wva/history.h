/* history.h - the history of runs (SPEC section 2, `--history DSN`), and
 * the `wva-optimizer history` command: the store's runs and plans rendered
 * for people (a table) or tools (JSON).
 *
 * The store itself (SQLite: recording, retention, the engine's
 * stabilization-window hook, the reads) is history_store.h's; this header
 * includes it, so that the history's users include one header.  The
 * command reads through the store's API only.
 */
#ifndef WVA_HISTORY_H
#define WVA_HISTORY_H

#include <stdint.h>

#include "wva/error.h"
#include "wva/history_store.h"
#include "wva/settings.h"

/* The text `history runs` prints (the newest HISTORY_RUNS_LIMIT runs,
 * oldest first) and the text `history show RUN` prints for a run found
 * with history_find_run(): a table for people or a JSON document, by
 * output.  show's JSON is the plan of SPEC section 9 (plan_to_json) plus
 * "run" and, per variant, "actuation".  Numbers as in the plan (6
 * significant digits, a non-finite one as 0).  Caller frees.  NULL with
 * err when the store cannot be read. */
char *history_render_runs(struct history *h, enum wva_output output, struct wva_error *err);
char *history_render_run(struct history *h, int64_t run_id, enum wva_output output,
                         struct wva_error *err);

/* The whole `wva-optimizer history ...` command for resolved settings
 * (s->history, s->history_subcommand, s->history_run, s->output): prints to
 * stdout, logs errors.  Returns the exit code: 0, 2 for a usage or
 * configuration error (bad DSN, missing store, not a history store, unknown
 * RUN), 1 for a runtime error (unreadable store). */
int history_command(const struct wva_settings *s);

#endif
