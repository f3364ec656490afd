/* solver.h - the global replica allocation (SPEC section 6).
 *
 * One linear program over every optimized model, solved with GLPK's
 * simplex, then rounded to integers with a repair pass.  Inputs are plain
 * numbers: this module knows nothing of Kubernetes, Prometheus or
 * ConfigMaps; the engine translates the analysis into bounds and demands.
 *
 * LP (x_v = replicas of variant v, continuous in the LP):
 *   minimise   sum_v cost_v x_v  +  eps_change * sum_v dir_v (x_v - cur_v)
 *            + sum_m penalty_m (sk_m + sr_m)            (shortage slack)
 *   s.t. for each model m:
 *            sum_{v in m} cap_v x_v + sk_m >= kv_demand_m   (capacity cover)
 *            sum_{v in m} x_v       + sr_m >= replica_demand_m
 *        for each accelerator a (limited mode only):
 *            sum_{v on a} gpus_v x_v <= gpus_available_a
 *        lower_v <= x_v <= upper_v
 * The direction rule is expressed by the caller through the bounds (a
 * model that may only grow has lower_v = current_v, one that may only
 * shrink has upper_v = current_v, a held variant has lower = upper), so
 * "least change" is linear: dir_v = +1 when x_v >= cur_v is forced, -1 when
 * x_v <= cur_v is forced.  penalty_m grows with the model's priority, so
 * under a GPU shortage higher priorities are served first.
 *
 * penalty_m = BIG * F^(rank of the model's priority among the distinct
 * priorities of models with demand), F chosen above the spread of
 * "shortage removed per GPU" across variants so one GPU is always worth
 * more to a higher priority (flattened, order kept, when thousands of
 * distinct priorities would overflow the ladder).  The change and
 * tie-break weights (variants of a model in input order) are 1e-4 and
 * below of the smallest non-zero cost: cost always comes first.
 *
 * Solving: models interact only through the inventory rows.  Runs of a
 * few models are solved as small LPs without them; if their union
 * respects the inventory it is optimal.  Otherwise a large LP (>= 800
 * rows) is solved by price decomposition on the inventory rows (GPU
 * prices, one tiny LP per block of models, a small master; see
 * solver.c) whose answer is checked against the LP's optimality
 * conditions, and a small one (or one the decomposition gives up on) by
 * GLPK's dual simplex on the full LP warm-started from the blocks.  Both
 * reach the LP optimum; when it is not unique (common under a shortage:
 * many models of one priority value a GPU the same) they may pick
 * different optimal points, so the plans can differ at equal objective.
 * Models whose variants are all held (lower == upper) are left out of
 * the LP (their GPUs come off the inventory rows).
 *
 * Rounding: floor every x_v (which keeps every inventory row), then give
 * replicas back in priority order, cheapest capacity first, while a model
 * is short and its accelerator has GPUs left.
 *
 * Limits (validated): counts <= 10,000,000; cost, gpus, demands and
 * gpus_available <= 1e15; capacity in [1e-6, 1e15].
 */
#ifndef WVA_SOLVER_H
#define WVA_SOLVER_H

#include <stddef.h>

#include "wva/error.h"

#define WVA_SOLVER_UNBOUNDED (-1)

struct solver_variant {
    size_t model;           /* index into problem.models */
    int accelerator;        /* index into problem.accelerators, -1 = none */
    double cost;            /* variantCost per replica, >= 0 */
    double capacity;        /* capacity per replica, > 0 (model's units) */
    double gpus;            /* GPUs per replica, >= 0 */
    int current;            /* current replicas, >= 0 */
    int lower;              /* >= 0 */
    int upper;              /* >= lower, or WVA_SOLVER_UNBOUNDED */
};

struct solver_model {
    int priority;           /* higher wins under shortage */
    double kv_demand;       /* required sum cap_v x_v (0 = none) */
    double replica_demand;  /* required sum x_v (0 = none) */
};

struct solver_accelerator {
    double gpus_available;  /* only used when problem.limited */
};

struct solver_problem {
    struct solver_variant *variants;         size_t variants_count;
    struct solver_model *models;             size_t models_count;
    struct solver_accelerator *accelerators; size_t accelerators_count;
    int limited;            /* nonzero: enforce accelerator inventory rows */
};

struct solver_result {
    char status[32];        /* "optimal", "empty", "infeasible", ... */
    int *replicas;          /* variants_count integers, owned */
    double lp_objective;    /* sum cost*x of the LP solution (no penalties) */
    double lp_penalized;    /* the LP's own objective at its solution: costs
                             * with change/tie weights plus shortage
                             * penalties, over the models in the LP; equal
                             * (within 1e-7 relative) for any optimal point */
    double int_cost;        /* sum cost*replicas after rounding */
    double *kv_shortage;    /* per model, after rounding, >= 0, owned */
    double *replica_shortage; /* per model, after rounding, >= 0, owned */
    double *inventory_overcommit; /* per accelerator, owned (NULL when the
                             * problem has no accelerators): GPUs by which
                             * the variants' lower bounds alone exceed
                             * gpus_available in limited mode.  Lower bounds
                             * are hard, so that row's limit is raised to the
                             * lower-bound usage instead of failing; 0 when
                             * the inventory suffices or not limited. */
    size_t lp_columns;      /* LP variables (x + slack), held models excluded */
    size_t lp_rows;         /* demand rows of the other models + inventory rows */
    double seconds;         /* wall time of build + solve + rounding */
    char method[16];        /* how the LP was solved: "blocks" (inventory
                             * not binding), "prices" (decomposition),
                             * "full" (warm full LP), "reference", or ""
                             * when there was no LP */
};

/* Solve.  Returns 0 and fills result (free with solver_result_free) even
 * when demand cannot be met (the shortage says by how much); -1 only for
 * an invalid problem (err names the variant/model and value) or a GLPK
 * failure.  GLPK never prints to stdout and never aborts the process. */
int solver_run(const struct solver_problem *problem, struct solver_result *result,
               struct wva_error *err);

/* The same LP solved the plain way, for tests only: GLPK's presolved dual
 * simplex on the full LP from a cold start, no blocks, no prices.  Same
 * result contract as solver_run (the rounding is shared); its LP optimum
 * must equal solver_run's within tolerance, though a degenerate LP may
 * reach it at another vertex. */
int solver_run_reference(const struct solver_problem *problem, struct solver_result *result,
                         struct wva_error *err);

void solver_result_free(struct solver_result *result);

#endif
