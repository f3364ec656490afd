/* plan.h - the decisions of one run and their rendering (SPEC section 9).
 *
 * The engine fills a struct wva_plan; this module renders it as JSON
 * (json-c) or as a table for people.  It knows nothing about how the
 * decisions were made.
 */
#ifndef WVA_PLAN_H
#define WVA_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/filter.h"
#include "wva/thresholds.h"
#include "wva/warnings.h"

enum wva_action {
    WVA_ACTION_NO_CHANGE,
    WVA_ACTION_SCALE_UP,
    WVA_ACTION_SCALE_DOWN,
    WVA_ACTION_SKIPPED,
};

/* "no-change", "scale-up", "scale-down", "skipped". */
const char *plan_action_name(enum wva_action action);

struct wva_plan_model {
    char *namespace_name;
    char *model_id;
    bool analyzed;              /* false: no analysis (zero replicas, no metrics) */
    bool should_scale_up;
    bool scale_down_safe;
    size_t non_saturated;
    double avg_spare_kv;
    double avg_spare_queue;
    double demand;              /* required capacity, in replicas of the model's mean capacity */
    double capacity;            /* current capacity, same unit */
    struct wva_thresholds thresholds;
};

struct wva_plan_variant {
    char *namespace_name;
    char *name;
    char *model_id;             /* may be NULL for an invalid VA */
    char *accelerator;          /* may be NULL when unknown */
    int current_replicas;
    int ready_replicas;
    int target_replicas;
    enum wva_action action;
    enum wva_skip skip;
    char *reason;               /* one human sentence */
};

struct wva_plan {
    char *mode;                 /* "replay", "live", "dry-run" */
    char *captured_at;
    char solver_status[32];
    double solver_objective;    /* integer cost of the plan (sum variantCost x replicas) */
    double solver_lp_bound;     /* LP objective before rounding */
    size_t solver_variables;
    double solver_seconds;
    struct wva_plan_model *models;     size_t models_count;
    struct wva_plan_variant *variants; size_t variants_count;
    struct wva_warnings warnings;
};

struct json_object;

/* The plan document of SPEC section 9 as a json-c tree, for callers that
 * add to it (the history's `show`).  Numbers go through values_json_number()
 * with 6 significant digits; a non-finite one is written as 0.  Caller
 * releases it with json_object_put(). */
struct json_object *plan_to_json(const struct wva_plan *plan);

/* plan_to_json() as text (pretty-printed, spaced, "/" unescaped).  Caller
 * frees. */
char *plan_render_json(const struct wva_plan *plan);
/* Table for people: one row per variant, then warnings.  Caller frees. */
char *plan_render_table(const struct wva_plan *plan);
/* The plan as a command prints it: JSON (json true) or the table, ending
 * with a newline.  Caller frees. */
char *plan_render(const struct wva_plan *plan, bool json);

void plan_free(struct wva_plan *plan);

#endif
