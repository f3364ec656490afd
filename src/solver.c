/* solver.c - the global replica allocation: one GLPK LP, then rounding.
 *
 * Solves the LP described in include/wva/solver.h, always with GLPK's
 * simplex, in the cheapest of three ways (see run_glpk):
 *  - runs of a few models as small LPs without the inventory rows; when
 *    their union fits the inventory (always outside limited mode) it is
 *    the optimum;
 *  - otherwise, for a large LP, price decomposition on the inventory rows
 *    (see price_decompose): GPU prices are found by column generation over
 *    per-model candidate points, a small master LP picks the vertex, and
 *    the result is checked against the LP's optimality conditions (a
 *    feasible point, each model optimal for its own LP at the prices,
 *    prices only on full rows).  At 10,000 VAs under heavy shortage this
 *    takes about 0.1 s where the full LP took 0.6-0.8 s;
 *  - for a small LP, or when the decomposition gives up, the dual simplex
 *    on the full LP warm-started from the block bases.
 * solver_run_reference solves the full LP cold, for tests to compare.
 * The solution is then floored and shortfalls repaired greedily in
 * priority order.  Mixed-integer search is deliberately avoided: with
 * thousands of variants branch-and-bound is far too slow for a CronJob,
 * while floor-then-repair lands within about one replica per model of the
 * LP optimum.
 *
 * This module sees numbers only: it knows nothing of Kubernetes,
 * Prometheus, ConfigMaps or the saturation analysis.  It is the program's
 * only GLPK user and frees the GLPK environment at the end of every run,
 * so no hook pointing into a finished call survives it.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glpk.h>

#include "wva/solver.h"
#include "wva/strbuf.h"
#include "wva/values.h"

/* Objective weights, all relative to the smallest non-zero variant cost
 * (c_min, 1 when every cost is 0) so they scale with the user's units:
 * - change weight eps_change = 1e-4 c_min per replica: far below any
 *   realistic cost difference (costs are prices like "10.0"), so cost
 *   stays the first criterion, but above GLPK's relative reduced-cost
 *   tolerance (1e-7), so it is actually honoured;
 * - tie-break eps_tie * (rank of the variant within its model + 1), with
 *   eps_tie = 1e-2 eps_change / (largest variant count of a model + 1):
 *   the whole spread stays below one change weight.  The rank is taken
 *   within the model (in input order) rather than globally, because only
 *   variants of one model substitute for each other and a global rank
 *   over 10,000 variants would push the step below GLPK's tolerances. */
#define EPS_CHANGE_REL 1e-4
#define EPS_TIE_REL 1e-2
/* Shortage penalty base: this many times the dearest way of covering one
 * slack unit, so slack is used only when demand cannot be met. */
#define BIG_FACTOR 1e3
/* Penalty ceiling: beyond this the costs vanish in the LP's rounding. */
#define PENALTY_CAP 1e10
/* Tolerance of the rounding and of demand comparisons. */
#define ROUND_EPS 1e-9
/* Sanity bounds: counts keep GLPK's int indexes far from overflow, and
 * magnitudes keep every product below double overflow and the LP
 * reasonably conditioned (capacities are tokens, costs are prices). */
#define MAX_VALUE 1e15
#define MIN_CAPACITY 1e-6
#define MAX_ITEMS ((size_t)10000000)
/* A CronJob must finish: give up on the simplex after this long. */
#define GLPK_TIME_LIMIT_MS 30000
/* Keep at most this much of GLPK's own text for the error message. */
#define GLPK_MSG_MAX 400
/* Rows per block of models solved on its own (see run_glpk); 25-50 measured
 * fastest at 10,000 variants (8 ms), 200 took 20 ms, 1000 took 80 ms. */
#define BLOCK_ROWS 32
/* Below this many LP rows the warm-started full LP is faster than the
 * price decomposition (measured: 400 rows 7-10 ms full vs 13 ms priced;
 * 4,000 rows 550-800 ms full vs about 100 ms priced). */
#define DECOMPOSE_MIN_ROWS 800
/* Price decomposition limits; beyond them it gives up and the full LP is
 * solved instead.  Measured on the 10,000-VA benchmark: 4 pricing rounds,
 * 100-300 cuts per Kelley call, 2 vertex rounds. */
#define MAX_PRICE_ROUNDS 30
#define MAX_VERTEX_ROUNDS 20
#define MAX_KELLEY_CUTS 500
/* A model's new point must beat its current one by this much (relative)
 * to count: GLPK's own optimality tolerances are 1e-7 on scaled reduced
 * costs, so smaller gains are noise. */
#define PRICE_TOL 1e-9
/* Kelley stops when its bounds meet this closely (relative), or when its
 * upper bound has not moved for KELLEY_STALL cuts: GLPK's duals on these
 * magnitudes (objective about 1e11) are exact to about 1e-8, below which
 * new cuts stop helping. */
#define KELLEY_TOL 1e-10
#define KELLEY_STALL 5
/* Columns offered to the vertex master: value at Kelley's prices within
 * TIE_TOL (relative) of the model's best, plus TIE_PRICE_REL times how
 * much that difference moves with the prices: Kelley's prices are only
 * exact to about 1e-5 per accelerator (its dual is flat near the top). */
#define TIE_TOL 1e-9
#define TIE_PRICE_REL 1e-5

/* Lives in solver_run's frame (not in the frame that calls setjmp), so
 * its contents are well defined after the longjmp. */
struct glpk_guard {
    jmp_buf jump;
    struct wva_strbuf msg;
};

/* A run of consecutive models solved on its own, without the inventory
 * rows; kept alive so that the price loop can re-solve it warm. */
struct block {
    glp_prob *lp;
    size_t m0, m1;
    int priced;             /* some model in it is priced */
};

/* A candidate point of one model's own LP (variants and least slack). */
struct column {
    size_t model;
    size_t x_at;            /* offset of its variant values in col_x */
    size_t use_at, use_n;   /* its GPUs per accelerator in use_acc/use_gpus */
    size_t next;            /* the model's previous column, SIZE_MAX = none */
    double cost;            /* objective with penalties, without prices */
    int forced;             /* vertex_master must offer it */
};

/* State of the price decomposition (see price_decompose). */
struct pricing {
    struct block *blocks;   size_t blocks_count;
    char *priced;           /* per model: active and uses a limited inventory */
    double *lambda;         /* per accelerator: GPU price (inventory row dual) */
    double *rhs;            /* per accelerator: GPUs for the priced models */
    size_t *base;           /* per model: its base column (lower bounds) */
    size_t *head;           /* per model: its newest other column */
    double *cur_value;      /* per model: value of its point at lambda */
    size_t *vbase;          /* per model: start of vertex_master */
    size_t *vfirst;         /* models_count + 1: offsets into vlist */
    size_t *vlist;          size_t v_cap; /* extra columns of vertex_master */
    int *conv_row;          /* per model: convexity row, 0 = none */
    int *master_row;        /* per accelerator: inventory row in a master */
    double *acc_delta;      /* per accelerator: scratch */
    char *acc_mark;
    size_t *acc_touched;
    double *k_use, *k_best; /* per accelerator: scratch of kelley_prices */
    int *k_ind;             double *k_val;
    glp_prob *klp;          /* kelley_prices' master, kept between calls */
    double *xs;             /* one model's variant values */
    struct column *cols;    size_t ncols, cols_cap;
    double *col_x;          size_t nx, x_cap;
    size_t *use_acc;        double *use_gpus; size_t nuse, use_cap;
    int *ia, *ja;           double *ar; size_t nz_cap; /* master triplets */
};

struct work {
    const struct solver_problem *p;
    size_t *model_first;    /* models_count + 1: CSR offsets into model_vars */
    size_t *model_vars;     /* variant indexes grouped by model, input order */
    double *mean_cap;       /* per model: kv rows are scaled by it */
    double *penalty;        /* per model: cost of one unit of slack */
    double *obj;            /* per variant: LP objective coefficient */
    double *inv_limit;      /* per accelerator: row rhs, raised if overcommitted */
    int *inv_used_by;       /* per accelerator: nonzero when a free variant uses it */
    double *inv_fixed;      /* per accelerator: GPUs of the held models */
    char *active;           /* per model: some variant is not held */
    double *x;              /* per variant: LP solution (or fallback) */
    int *kv_row, *rep_row;  /* per model: row in the full LP, 0 = none */
    int *inv_row;           /* per accelerator: row in the full LP, 0 = none */
    int *row_first;         /* models_count + 1: rows before model m */
    int *col_first;         /* models_count + 1: columns before model m */
    int *col_of;            /* per variant: column in the full LP */
    int rows, cols;         /* size of the full LP */
    int *row_stat, *col_stat; /* basis gathered from the block solves */
    int *ia, *ja;           /* matrix triplets for glp_load_matrix (1-based) */
    double *ar;
    size_t nz_max;          /* entries ia/ja/ar hold after their unused [0] */
    struct pricing dw;
    int reference;          /* solver_run_reference: plain cold full solve */
    struct glpk_guard *guard;
};

static int inventory_applies(const struct solver_problem *p, const struct solver_variant *v)
{
    return p->limited && v->accelerator >= 0 && v->gpus > 0;
}

/* ---- validation --------------------------------------------------------- */

static int validate_variant(const struct solver_problem *p, size_t i, struct wva_error *err)
{
    const struct solver_variant *v = &p->variants[i];

    if (v->model >= p->models_count) {
        wva_error_set(err, "solver: variant %zu: model index %zu out of range (%zu models)",
                      i, v->model, p->models_count);
        return -1;
    }
    if (v->accelerator < -1 || (v->accelerator >= 0 &&
                                (size_t)v->accelerator >= p->accelerators_count)) {
        wva_error_set(err, "solver: variant %zu: accelerator index %d out of range "
                      "(%zu accelerators, -1 = none)", i, v->accelerator,
                      p->accelerators_count);
        return -1;
    }
    if (!(v->cost >= 0 && v->cost <= MAX_VALUE)) {
        wva_error_set(err, "solver: variant %zu: cost %g must be a finite number >= 0 "
                      "(at most %g)", i, v->cost, MAX_VALUE);
        return -1;
    }
    if (!(v->capacity >= MIN_CAPACITY && v->capacity <= MAX_VALUE)) {
        wva_error_set(err, "solver: variant %zu: capacity %g must be a finite number > 0 "
                      "(in [%g, %g])", i, v->capacity, MIN_CAPACITY, MAX_VALUE);
        return -1;
    }
    if (!(v->gpus >= 0 && v->gpus <= MAX_VALUE)) {
        wva_error_set(err, "solver: variant %zu: gpus %g must be a finite number >= 0 "
                      "(at most %g)", i, v->gpus, MAX_VALUE);
        return -1;
    }
    if (v->current < 0) {
        wva_error_set(err, "solver: variant %zu: current %d must be >= 0", i, v->current);
        return -1;
    }
    if (v->lower < 0) {
        wva_error_set(err, "solver: variant %zu: lower %d must be >= 0", i, v->lower);
        return -1;
    }
    if (v->upper != WVA_SOLVER_UNBOUNDED && v->upper < v->lower) {
        wva_error_set(err, "solver: variant %zu: upper %d must be >= lower %d "
                      "or unbounded (%d)", i, v->upper, v->lower, WVA_SOLVER_UNBOUNDED);
        return -1;
    }
    return 0;
}

static int validate(const struct solver_problem *p, struct wva_error *err)
{
    if ((p->variants_count && !p->variants) || (p->models_count && !p->models) ||
        (p->accelerators_count && !p->accelerators)) {
        wva_error_set(err, "solver: problem has a count without its array");
        return -1;
    }
    if (p->variants_count > MAX_ITEMS || p->models_count > MAX_ITEMS ||
        p->accelerators_count > MAX_ITEMS) {
        wva_error_set(err, "solver: problem too large (%zu variants, %zu models, "
                      "%zu accelerators; at most %zu each)", p->variants_count,
                      p->models_count, p->accelerators_count, MAX_ITEMS);
        return -1;
    }
    for (size_t m = 0; m < p->models_count; m++) {
        const struct solver_model *md = &p->models[m];

        if (!(md->kv_demand >= 0 && md->kv_demand <= MAX_VALUE)) {
            wva_error_set(err, "solver: model %zu: kv_demand %g must be a finite number "
                          ">= 0 (at most %g)", m, md->kv_demand, MAX_VALUE);
            return -1;
        }
        if (!(md->replica_demand >= 0 && md->replica_demand <= MAX_VALUE)) {
            wva_error_set(err, "solver: model %zu: replica_demand %g must be a finite "
                          "number >= 0 (at most %g)", m, md->replica_demand, MAX_VALUE);
            return -1;
        }
    }
    if (p->limited) {
        for (size_t a = 0; a < p->accelerators_count; a++) {
            double g = p->accelerators[a].gpus_available;

            if (!(g >= 0 && g <= MAX_VALUE)) {
                wva_error_set(err, "solver: accelerator %zu: gpus_available %g must be a "
                              "finite number >= 0 (at most %g)", a, g, MAX_VALUE);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < p->variants_count; i++)
        if (validate_variant(p, i, err))
            return -1;
    return 0;
}

/* ---- preparation -------------------------------------------------------- */

/* Group variants by model (counting sort keeps input order inside a model)
 * and compute each model's mean capacity. */
static void group_by_model(struct work *w)
{
    const struct solver_problem *p = w->p;
    size_t *fill = wva_xcalloc(p->models_count + 1, sizeof(*fill));

    for (size_t i = 0; i < p->variants_count; i++)
        w->model_first[p->variants[i].model + 1]++;
    for (size_t m = 0; m < p->models_count; m++)
        w->model_first[m + 1] += w->model_first[m];
    for (size_t i = 0; i < p->variants_count; i++) {
        size_t m = p->variants[i].model;

        w->model_vars[w->model_first[m] + fill[m]++] = i;
        w->mean_cap[m] += p->variants[i].capacity;
    }
    for (size_t m = 0; m < p->models_count; m++) {
        size_t n = w->model_first[m + 1] - w->model_first[m];

        w->mean_cap[m] = n ? w->mean_cap[m] / (double)n : 1.0;
    }
    free(fill);
}

/* Lower bounds are hard: where they alone exceed an accelerator's
 * inventory, raise that row to the lower-bound usage (so the LP stays
 * feasible) and record by how much. */
static void prepare_inventory(struct work *w, double *overcommit)
{
    const struct solver_problem *p = w->p;

    for (size_t a = 0; a < p->accelerators_count; a++)
        w->inv_limit[a] = p->accelerators[a].gpus_available;
    if (!p->limited)
        return;
    double *low_use = wva_xcalloc(p->accelerators_count + 1, sizeof(*low_use));
    for (size_t i = 0; i < p->variants_count; i++) {
        const struct solver_variant *v = &p->variants[i];

        if (!inventory_applies(p, v))
            continue;
        low_use[v->accelerator] += v->gpus * v->lower;
    }
    for (size_t a = 0; a < p->accelerators_count; a++) {
        if (low_use[a] > w->inv_limit[a]) {
            overcommit[a] = low_use[a] - w->inv_limit[a];
            w->inv_limit[a] = low_use[a];
        }
    }
    free(low_use);
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* Objective coefficients of the x columns and the per-model penalties. */
static void prepare_objective(struct work *w)
{
    const struct solver_problem *p = w->p;
    double c_min = 0, most_per_unit = 0;
    size_t widest = 0;

    for (size_t i = 0; i < p->variants_count; i++) {
        const struct solver_variant *v = &p->variants[i];
        double ratio = w->mean_cap[v->model] / v->capacity;

        if (v->cost > 0 && (c_min == 0 || v->cost < c_min))
            c_min = v->cost;
        /* dearest way to cover one slack unit (kv slack is in units of
         * the model's mean capacity, replica slack in replicas) */
        if (v->cost * fmax(ratio, 1.0) > most_per_unit)
            most_per_unit = v->cost * fmax(ratio, 1.0);
    }
    if (c_min == 0)
        c_min = 1.0;
    for (size_t m = 0; m < p->models_count; m++)
        if (w->model_first[m + 1] - w->model_first[m] > widest)
            widest = w->model_first[m + 1] - w->model_first[m];

    double eps_change = EPS_CHANGE_REL * c_min;
    double eps_tie = EPS_TIE_REL * eps_change / (double)(widest + 1);

    for (size_t m = 0; m < p->models_count; m++) {
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
            size_t i = w->model_vars[k];
            const struct solver_variant *v = &p->variants[i];
            double dir = 0;

            if (v->lower >= v->current)
                dir = 1;    /* may only grow: growth costs a little */
            else if (v->upper != WVA_SOLVER_UNBOUNDED && v->upper <= v->current)
                dir = -1;   /* may only shrink: shrinking costs a little */
            w->obj[i] = v->cost + eps_change * dir +
                        eps_tie * (double)(k - w->model_first[m] + 1);
        }
    }

    /* Priorities: rank of the model's priority among the distinct ones of
     * models with demand.  The penalty grows geometrically by a factor F
     * larger than the spread of "slack units removed per GPU" across
     * variants, so one GPU always buys more penalty for a higher priority
     * than for a lower one (a linear ladder would let an 8-GPU variant of
     * a high priority lose against a 1-GPU variant of a low one). */
    int *prios = wva_xmalloc((p->models_count + 1) * sizeof(*prios));
    size_t nprio = 0;
    for (size_t m = 0; m < p->models_count; m++)
        if (p->models[m].kv_demand > 0 || p->models[m].replica_demand > 0)
            prios[nprio++] = p->models[m].priority;
    qsort(prios, nprio, sizeof(*prios), compare_int);
    size_t distinct = 0;
    for (size_t k = 0; k < nprio; k++)
        if (distinct == 0 || prios[distinct - 1] != prios[k])
            prios[distinct++] = prios[k];

    double best_gain = 0, worst_gain = 0;
    for (size_t i = 0; i < p->variants_count; i++) {
        const struct solver_variant *v = &p->variants[i];
        double rel = v->capacity / w->mean_cap[v->model];

        if (!inventory_applies(p, v))
            continue;
        double hi = (rel + 1.0) / v->gpus, lo = fmin(rel, 1.0) / v->gpus;
        if (hi > best_gain)
            best_gain = hi;
        if (worst_gain == 0 || lo < worst_gain)
            worst_gain = lo;
    }
    double big = fmin(BIG_FACTOR * (1.0 + most_per_unit), PENALTY_CAP);
    double factor = 2.0;
    if (worst_gain > 0 && 2.0 * best_gain / worst_gain > factor)
        factor = 2.0 * best_gain / worst_gain;
    /* Too many levels for the ladder to fit under PENALTY_CAP (a dozen is
     * usual; thousands of distinct priorities are not): flatten it.  The
     * order is kept, strictness per GPU may then be lost. */
    double room = fmax(PENALTY_CAP / big, 2.0);
    if (distinct > 1 && pow(factor, (double)(distinct - 1)) > room)
        factor = fmax(pow(room, 1.0 / (double)(distinct - 1)), 1.0 + 1e-6);

    for (size_t m = 0; m < p->models_count; m++) {
        int *hit = bsearch(&p->models[m].priority, prios, distinct, sizeof(*prios),
                           compare_int);
        double rank = hit ? (double)(hit - prios) : 0;

        w->penalty[m] = big * pow(factor, rank);
    }
    free(prios);
}

/* ---- the LP ------------------------------------------------------------- */

static int glpk_term_hook(void *info, const char *s)
{
    struct glpk_guard *g = info;

    if (g->msg.len < GLPK_MSG_MAX)
        wva_strbuf_add(&g->msg, s, strnlen(s, GLPK_MSG_MAX - g->msg.len));
    return 1;   /* nonzero: GLPK must not write to stdout itself */
}

static void glpk_error_hook(void *info)
{
    struct glpk_guard *g = info;

    longjmp(g->jump, 1);   /* glp_error would abort() if we returned */
}

static const char *glpk_status_name(int status)
{
    switch (status) {
    case GLP_OPT: return "optimal";
    case GLP_FEAS: return "feasible";
    case GLP_INFEAS: return "infeasible";
    case GLP_NOFEAS: return "no-feasible";
    case GLP_UNBND: return "unbounded";
    default: return "undefined";
    }
}

/* Layout shared by the full LP and the block LPs: models in index order,
 * each contributing its kv row, its replica row, its variant columns (in
 * input order) and then its slack columns; inventory rows come last.  A
 * run of consecutive models is thus one contiguous block of rows and
 * columns of the full LP, and a block's basis maps over by an offset.
 * A model whose variants are all held (lower == upper) has nothing to
 * decide: it gets no rows or columns, and its GPUs are taken off the
 * inventory rows' limits (about a third fewer rows and columns on a
 * typical cluster, which matters because the simplex is superlinear). */
static void plan_layout(struct work *w, struct solver_result *res)
{
    const struct solver_problem *p = w->p;
    int rows = 0, cols = 0;

    for (size_t m = 0; m < p->models_count; m++) {
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
            const struct solver_variant *v = &p->variants[w->model_vars[k]];

            if (v->upper != v->lower)
                w->active[m] = 1;
        }
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
            const struct solver_variant *v = &p->variants[w->model_vars[k]];

            if (!inventory_applies(p, v))
                continue;
            if (w->active[m])
                w->inv_used_by[v->accelerator] = 1;
            else
                w->inv_fixed[v->accelerator] += v->gpus * v->lower;
        }
    }
    for (size_t m = 0; m < p->models_count; m++) {
        w->row_first[m] = rows;
        w->col_first[m] = cols;
        if (!w->active[m])
            continue;
        w->kv_row[m] = p->models[m].kv_demand > 0 ? ++rows : 0;
        w->rep_row[m] = p->models[m].replica_demand > 0 ? ++rows : 0;
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++)
            w->col_of[w->model_vars[k]] = ++cols;
        cols += (w->kv_row[m] != 0) + (w->rep_row[m] != 0);
    }
    w->row_first[p->models_count] = rows;
    w->col_first[p->models_count] = cols;
    for (size_t a = 0; a < p->accelerators_count; a++)
        w->inv_row[a] = w->inv_used_by[a] ? ++rows : 0;
    w->rows = rows;
    w->cols = cols;
    res->lp_rows = (size_t)rows;
    res->lp_columns = (size_t)cols;
}

/* One matrix entry.  The arrays are sized from the layout (three entries
 * per variant, one per slack column), so an entry beyond them or outside
 * the LP is a bug in that count or in the layout, never bad input: assert
 * rather than write out of bounds. */
static void add_entry(struct work *w, int *nnz, int row, int col, double value)
{
    assert(*nnz >= 0 && (size_t)*nnz < w->nz_max);
    assert(row >= 1 && row <= w->rows && col >= 1 && col <= w->cols);
    ++*nnz;
    w->ia[*nnz] = row;
    w->ja[*nnz] = col;
    w->ar[*nnz] = value;
}

/* Load models [m0, m1) into the empty problem lp, with the inventory rows
 * when with_inventory (only ever for the full LP, m0 = 0, m1 = all). */
static void build_block(struct work *w, glp_prob *lp, size_t m0, size_t m1, int with_inventory)
{
    const struct solver_problem *p = w->p;
    int ro = w->row_first[m0], co = w->col_first[m0];
    int rows = with_inventory ? w->rows : w->row_first[m1] - ro;
    int cols = w->col_first[m1] - co;
    int nnz = 0;

    glp_set_obj_dir(lp, GLP_MIN);
    if (rows)
        glp_add_rows(lp, rows);
    if (cols)
        glp_add_cols(lp, cols);
    for (size_t m = m0; m < m1; m++) {
        const struct solver_model *md = &p->models[m];
        int col = w->col_first[m] - co;

        if (!w->active[m])
            continue;
        if (w->kv_row[m])
            glp_set_row_bnds(lp, w->kv_row[m] - ro, GLP_LO, md->kv_demand / w->mean_cap[m], 0);
        if (w->rep_row[m])
            glp_set_row_bnds(lp, w->rep_row[m] - ro, GLP_LO, md->replica_demand, 0);
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
            size_t i = w->model_vars[k];
            const struct solver_variant *v = &p->variants[i];

            col++;
            if (v->upper == WVA_SOLVER_UNBOUNDED)
                glp_set_col_bnds(lp, col, GLP_LO, v->lower, 0);
            else if (v->upper == v->lower)
                glp_set_col_bnds(lp, col, GLP_FX, v->lower, v->lower);
            else
                glp_set_col_bnds(lp, col, GLP_DB, v->lower, v->upper);
            glp_set_obj_coef(lp, col, w->obj[i]);
            if (w->kv_row[m])
                add_entry(w, &nnz, w->kv_row[m] - ro, col, v->capacity / w->mean_cap[m]);
            if (w->rep_row[m])
                add_entry(w, &nnz, w->rep_row[m] - ro, col, 1.0);
            if (with_inventory && inventory_applies(p, v))
                add_entry(w, &nnz, w->inv_row[v->accelerator], col, v->gpus);
        }
        int slack_rows[2] = {w->kv_row[m], w->rep_row[m]};
        for (int k = 0; k < 2; k++) {
            if (!slack_rows[k])
                continue;
            col++;
            glp_set_col_bnds(lp, col, GLP_LO, 0, 0);
            glp_set_obj_coef(lp, col, w->penalty[m]);
            add_entry(w, &nnz, slack_rows[k] - ro, col, 1.0);
        }
    }
    if (with_inventory)
        for (size_t a = 0; a < p->accelerators_count; a++)
            if (w->inv_row[a])
                glp_set_row_bnds(lp, w->inv_row[a], GLP_UP, 0,
                                 w->inv_limit[a] - w->inv_fixed[a]);
    glp_load_matrix(lp, nnz, w->ia, w->ja, w->ar);
}

static void init_simplex(glp_smcp *parm, int presolve)
{
    glp_init_smcp(parm);
    parm->msg_lev = GLP_MSG_OFF;
    /* dual simplex with the long-step ratio test: measured fastest here
     * (the primal simplex took about 3x longer cold; the long step halves
     * the warm solve under heavy shortage, where many slacks enter) */
    parm->meth = GLP_DUALP;
    parm->r_test = GLP_RT_FLIP;
    parm->presolve = presolve;
    parm->tm_lim = GLPK_TIME_LIMIT_MS;
}

static int solved(glp_prob *lp, int ret)
{
    return ret == 0 && (glp_get_status(lp) == GLP_OPT || glp_get_status(lp) == GLP_FEAS);
}

/* Solve the block's models without the inventory rows and keep the
 * problem (the price loop re-solves it warm), the solution and the basis.
 * Returns nonzero when GLPK found no solution. */
static int solve_block(struct work *w, struct block *b)
{
    int ro = w->row_first[b->m0], co = w->col_first[b->m0];
    glp_smcp parm;
    int ok;

    b->lp = glp_create_prob();
    build_block(w, b->lp, b->m0, b->m1, 0);
    init_simplex(&parm, GLP_OFF);
    ok = solved(b->lp, glp_simplex(b->lp, &parm)) && glp_get_status(b->lp) == GLP_OPT;
    if (ok) {
        for (int r = 1; r <= w->row_first[b->m1] - ro; r++)
            w->row_stat[ro + r] = glp_get_row_stat(b->lp, r);
        for (int c = 1; c <= w->col_first[b->m1] - co; c++)
            w->col_stat[co + c] = glp_get_col_stat(b->lp, c);
        for (size_t k = w->model_first[b->m0]; k < w->model_first[b->m1]; k++) {
            size_t i = w->model_vars[k];

            if (w->col_of[i])
                w->x[i] = glp_get_col_prim(b->lp, w->col_of[i] - co);
        }
    }
    return !ok;
}

static int inventory_holds(const struct work *w)
{
    const struct solver_problem *p = w->p;
    double *use;
    int ok = 1;

    if (!p->limited)
        return 1;
    use = wva_xcalloc(p->accelerators_count + 1, sizeof(*use));
    for (size_t i = 0; i < p->variants_count; i++)
        if (inventory_applies(p, &p->variants[i]))
            use[p->variants[i].accelerator] += p->variants[i].gpus * w->x[i];
    for (size_t a = 0; a < p->accelerators_count; a++)
        if (use[a] > w->inv_limit[a] + ROUND_EPS * fmax(1.0, w->inv_limit[a]))
            ok = 0;
    free(use);
    return ok;
}

/* ---- price decomposition ------------------------------------------------ */

/* Model m's objective at the variant values xs (model order): objective
 * coefficients plus the penalty of the least slack that covers the
 * model's rows (slack costs more than nothing, so an optimal point never
 * has more).  GPU prices are not included. */
static double model_cost(const struct work *w, size_t m, const double *xs)
{
    const struct solver_problem *p = w->p;
    const struct solver_model *md = &p->models[m];
    double val = 0, kv = 0, rep = 0;

    for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
        size_t i = w->model_vars[k];
        double xv = xs[k - w->model_first[m]];

        val += w->obj[i] * xv;
        kv += p->variants[i].capacity / w->mean_cap[m] * xv;
        rep += xv;
    }
    if (w->kv_row[m])
        val += w->penalty[m] * fmax(0, md->kv_demand / w->mean_cap[m] - kv);
    if (w->rep_row[m])
        val += w->penalty[m] * fmax(0, md->replica_demand - rep);
    return val;
}

/* Column c's objective at the current GPU prices. */
static double column_value(const struct work *w, size_t c)
{
    const struct pricing *d = &w->dw;
    const struct column *col = &d->cols[c];
    double val = col->cost;

    for (size_t u = col->use_at; u < col->use_at + col->use_n; u++)
        val += d->lambda[d->use_acc[u]] * d->use_gpus[u];
    return val;
}

static const double *column_x(const struct work *w, size_t c)
{
    return w->dw.col_x + w->dw.cols[c].x_at;
}

static int same_point(const struct work *w, size_t m, size_t c, const double *xs)
{
    const double *cx = column_x(w, c);
    size_t n = w->model_first[m + 1] - w->model_first[m];

    for (size_t j = 0; j < n; j++)
        if (fabs(cx[j] - xs[j]) > ROUND_EPS * fmax(1.0, fabs(xs[j])))
            return 0;
    return 1;
}

/* The stored column of model m at the point xs, SIZE_MAX = none. */
static size_t stored_column(const struct work *w, size_t m, const double *xs)
{
    const struct pricing *d = &w->dw;

    if (same_point(w, m, d->base[m], xs))
        return d->base[m];
    for (size_t c = d->head[m]; c != SIZE_MAX; c = d->cols[c].next)
        if (same_point(w, m, c, xs))
            return c;
    return SIZE_MAX;
}

/* Store a point of model m (variant values xs, model order) as its base
 * or as one more column, unless the model already has it; its GPU use
 * is kept per accelerator.  Returns nonzero when added. */
static int add_column(struct work *w, size_t m, const double *xs, int as_base)
{
    const struct solver_problem *p = w->p;
    struct pricing *d = &w->dw;
    size_t n = w->model_first[m + 1] - w->model_first[m], touched = 0;
    struct column *col;

    if (d->base[m] != SIZE_MAX && same_point(w, m, d->base[m], xs))
        return 0;
    for (size_t c = d->head[m]; c != SIZE_MAX; c = d->cols[c].next)
        if (same_point(w, m, c, xs))
            return 0;
    if (d->ncols == d->cols_cap) {
        d->cols_cap = d->cols_cap ? 2 * d->cols_cap : 1024;
        d->cols = wva_xrealloc(d->cols, d->cols_cap * sizeof(*d->cols));
    }
    while (d->nx + n > d->x_cap) {
        d->x_cap = d->x_cap ? 2 * d->x_cap : 4096;
        d->col_x = wva_xrealloc(d->col_x, d->x_cap * sizeof(*d->col_x));
    }
    while (d->nuse + n > d->use_cap) {
        d->use_cap = d->use_cap ? 2 * d->use_cap : 4096;
        d->use_acc = wva_xrealloc(d->use_acc, d->use_cap * sizeof(*d->use_acc));
        d->use_gpus = wva_xrealloc(d->use_gpus, d->use_cap * sizeof(*d->use_gpus));
    }
    col = &d->cols[d->ncols];
    *col = (struct column){.model = m, .x_at = d->nx, .use_at = d->nuse, .next = SIZE_MAX,
                           .cost = model_cost(w, m, xs)};
    memcpy(d->col_x + d->nx, xs, n * sizeof(*xs));
    d->nx += n;
    for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
        const struct solver_variant *v = &p->variants[w->model_vars[k]];
        size_t a = (size_t)v->accelerator;

        if (!inventory_applies(p, v))
            continue;
        if (!d->acc_mark[a]) {
            d->acc_mark[a] = 1;
            d->acc_touched[touched++] = a;
        }
        d->acc_delta[a] += v->gpus * xs[k - w->model_first[m]];
    }
    for (size_t t = 0; t < touched; t++) {
        size_t a = d->acc_touched[t];

        d->use_acc[d->nuse] = a;
        d->use_gpus[d->nuse++] = d->acc_delta[a];
        d->acc_delta[a] = 0;
        d->acc_mark[a] = 0;
    }
    col->use_n = d->nuse - col->use_at;
    if (as_base) {
        d->base[m] = d->ncols++;
    } else {
        col->next = d->head[m];
        d->head[m] = d->ncols++;
    }
    return 1;
}

/* The stored column of model m with the least value at the current
 * prices (the base on ties, then the newest). */
static size_t best_column(const struct work *w, size_t m, double *value)
{
    const struct pricing *d = &w->dw;
    size_t best = d->base[m];
    double bv = column_value(w, best);

    for (size_t c = d->head[m]; c != SIZE_MAX; c = d->cols[c].next) {
        double v = column_value(w, c);

        if (v < bv) {
            best = c;
            bv = v;
        }
    }
    *value = bv;
    return best;
}

static void add_use(const struct work *w, size_t c, double scale, double *use);

/* sum_a lambda_a |use_c,a - use_b,a|: how much the value of column c
 * against column b moves when every price moves by its own size. */
static double price_gap(struct work *w, size_t c, size_t b)
{
    const struct solver_problem *p = w->p;
    struct pricing *d = &w->dw;
    double gap = 0;

    add_use(w, c, 1.0, d->acc_delta);
    add_use(w, b, -1.0, d->acc_delta);
    for (size_t a = 0; a < p->accelerators_count; a++) {
        gap += d->lambda[a] * fabs(d->acc_delta[a]);
        d->acc_delta[a] = 0;
    }
    return gap;
}

/* Add column c's GPU use, times scale, to use[]. */
static void add_use(const struct work *w, size_t c, double scale, double *use)
{
    const struct pricing *d = &w->dw;
    const struct column *col = &d->cols[c];

    for (size_t u = col->use_at; u < col->use_at + col->use_n; u++)
        use[d->use_acc[u]] += scale * d->use_gpus[u];
}

/* GPU prices that are optimal for the LP restricted to the stored
 * columns, by Kelley's cutting planes on its dual
 *   q(lambda) = sum_m min_c value_c(lambda) - lambda . gpus_left,
 * whose pieces are the stored columns, so evaluating q costs a pass over
 * them and no GLPK call.  The cuts live in a master with one row per
 * inventory row and a convexity row: each of its columns is the sum, over
 * the priced models, of their best columns at one trial price vector.
 * (Solving the restricted LP directly needs a convexity row per model
 * with several columns, about 1,700 rows at 10,000 VAs: 0.2 s a solve;
 * keeping one column per model instead made the prices oscillate.)
 * Kelley needs 100-300 cuts here, about 10 ms.  The master is kept
 * between calls, scratch lives in d (a GLPK failure longjmps out).
 * Leaves the best prices found in d->lambda. */
static int kelley_prices(struct work *w)
{
    const struct solver_problem *p = w->p;
    struct pricing *d = &w->dw;
    size_t na = p->accelerators_count;
    glp_prob *lp = d->klp;
    glp_smcp parm;
    int rows = 0, ok = 0, first = lp == NULL, stall = 0;
    double best_q = -INFINITY, last_ub = INFINITY;
    int *ind = d->k_ind;
    double *val = d->k_val;

    for (size_t a = 0; a < na; a++)
        d->master_row[a] = w->inv_row[a] ? ++rows : 0;
    if (first) {
        lp = d->klp = glp_create_prob();
        glp_set_obj_dir(lp, GLP_MIN);
        glp_add_rows(lp, rows + 1);
        for (size_t a = 0; a < na; a++)
            if (d->master_row[a])
                glp_set_row_bnds(lp, d->master_row[a], GLP_UP, 0, d->rhs[a]);
        glp_set_row_bnds(lp, rows + 1, GLP_FX, 1, 1);
        for (size_t a = 0; a < na; a++)
            d->lambda[a] = 0;
    }
    init_simplex(&parm, GLP_OFF);
    parm.meth = GLP_PRIMAL;

    /* The cuts of earlier calls stay valid (their columns are still
     * stored), so a later call goes on from the last prices; the first
     * call's first cut puts every model at its base, which fits. */
    for (int it = 0; it < MAX_KELLEY_CUTS; it++) {
        double cost = 0, q = 0;
        int n = 0;

        for (size_t a = 0; a < na; a++)
            d->k_use[a] = 0;
        for (size_t m = 0; m < p->models_count; m++) {
            double v;
            size_t c;

            if (!d->priced[m])
                continue;
            c = first && it == 0 ? d->base[m] : best_column(w, m, &v);
            cost += d->cols[c].cost;
            add_use(w, c, 1.0, d->k_use);
        }
        q = cost;
        for (size_t a = 0; a < na; a++)
            q += d->lambda[a] * (d->k_use[a] - d->rhs[a]);
        if (!(first && it == 0) && q > best_q) {
            best_q = q;
            memcpy(d->k_best, d->lambda, na * sizeof(*d->lambda));
        }
        /* stop once the cuts meet the best lower bound */
        if (it > 1) {
            double ub = glp_get_obj_val(lp);

            if (ub - best_q <= KELLEY_TOL * fmax(1.0, fabs(best_q)))
                ok = 1;
            /* GLPK's duals are exact to about 1e-9 relative, below which
             * the cuts stop moving the bound: accept what we have */
            stall = ub < last_ub - KELLEY_TOL * fmax(1.0, fabs(ub)) ? 0 : stall + 1;
            last_ub = ub;
            if (stall >= KELLEY_STALL)
                ok = 1;
            if (ok)
                break;
        }
        int col = glp_add_cols(lp, 1);
        /* ind/val hold na + 2 entries (1-based): one per row, plus this one */
        for (size_t a = 0; a < na; a++) {
            if (d->master_row[a] && d->k_use[a] != 0) {
                assert(n >= 0 && (size_t)n < na);
                ind[++n] = d->master_row[a];
                val[n] = d->k_use[a];
            }
        }
        assert(n >= 0 && (size_t)n <= na);
        ind[++n] = rows + 1;
        val[n] = 1;
        glp_set_mat_col(lp, col, n, ind, val);
        glp_set_col_bnds(lp, col, GLP_LO, 0, 0);
        glp_set_obj_coef(lp, col, cost);
        if (!solved(lp, glp_simplex(lp, &parm)) || glp_get_status(lp) != GLP_OPT)
            break;
        for (size_t a = 0; a < na; a++)
            d->lambda[a] = d->master_row[a]
                           ? fmax(0, -glp_get_row_dual(lp, d->master_row[a])) : 0;
    }
    if (ok)
        memcpy(d->lambda, d->k_best, na * sizeof(*d->lambda));
    return ok ? 0 : -1;
}

/* The LP over the stored columns, restricted to what can matter at the
 * prices kelley_prices found: each priced model starts at its best column
 * there and may move towards the columns tied with it, towards columns
 * price_blocks offered (forced), and, when all_bases, towards its base
 * (lower bounds: then the restricted LP always has a solution).  One
 * weight mu in [0, 1] per such column, the inventory rows, and
 * sum mu <= 1 only for models with two or more (a model with one needs
 * no row: its bounds say it).  Under those prices the LP is massively
 * degenerate (hundreds of models of one priority value a GPU the same),
 * which is why only ties are offered: the simplex then picks a vertex
 * among them in a few hundred pivots on a few hundred rows.  Leaves its
 * prices in d->lambda, each priced model's x, and in d->cur_value the
 * value of that point at the new prices. */
static int vertex_master(struct work *w, int all_bases)
{
    const struct solver_problem *p = w->p;
    struct pricing *d = &w->dw;
    size_t na = p->accelerators_count, nv = 0;
    glp_prob *lp = glp_create_prob();
    glp_smcp parm;
    int rows = 0, cols = 0, nnz = 0, ok;

    /* choose each model's start and extra columns at the Kelley prices */
    memcpy(d->lambda, d->k_best, na * sizeof(*d->lambda));
    for (size_t a = 0; a < na; a++)
        d->k_use[a] = 0;
    for (size_t m = 0; m < p->models_count; m++) {
        double bv;

        d->vfirst[m] = nv;
        if (!d->priced[m])
            continue;
        d->vbase[m] = best_column(w, m, &bv);
        add_use(w, d->vbase[m], 1.0, d->k_use);
        double tie = TIE_TOL * fmax(1.0, fabs(bv));
        for (size_t c = d->base[m]; c != SIZE_MAX;
             c = c == d->base[m] ? d->head[m] : d->cols[c].next) {
            if (c == d->vbase[m] ||
                ((!all_bases || c != d->base[m]) && !d->cols[c].forced &&
                 column_value(w, c) > bv + tie + TIE_PRICE_REL * price_gap(w, c, d->vbase[m])))
                continue;
            if (nv == d->v_cap) {
                d->v_cap = d->v_cap ? 2 * d->v_cap : 1024;
                d->vlist = wva_xrealloc(d->vlist, d->v_cap * sizeof(*d->vlist));
            }
            d->vlist[nv++] = c;
        }
    }
    d->vfirst[p->models_count] = nv;

    glp_set_obj_dir(lp, GLP_MIN);
    for (size_t a = 0; a < na; a++)
        d->master_row[a] = w->inv_row[a] ? ++rows : 0;
    for (size_t m = 0; m < p->models_count; m++)
        d->conv_row[m] = d->priced[m] && d->vfirst[m + 1] - d->vfirst[m] >= 2 ? ++rows : 0;
    if (nv + 1 > d->nz_cap / (na + 2)) {
        d->nz_cap = (nv + 1) * (na + 2);
        d->ia = wva_xrealloc(d->ia, d->nz_cap * sizeof(*d->ia));
        d->ja = wva_xrealloc(d->ja, d->nz_cap * sizeof(*d->ja));
        d->ar = wva_xrealloc(d->ar, d->nz_cap * sizeof(*d->ar));
    }
    if (rows)
        glp_add_rows(lp, rows);
    if (nv)
        glp_add_cols(lp, (int)nv);
    /* the starting points may overfill a row: the simplex then needs a
     * phase 1, which the base columns make feasible */
    for (size_t a = 0; a < na; a++)
        if (d->master_row[a])
            glp_set_row_bnds(lp, d->master_row[a], GLP_UP, 0, d->rhs[a] - d->k_use[a]);
    for (size_t m = 0; m < p->models_count; m++) {
        if (d->conv_row[m])
            glp_set_row_bnds(lp, d->conv_row[m], GLP_UP, 0, 1);
        for (size_t j = d->vfirst[m]; j < d->vfirst[m + 1]; j++) {
            size_t c = d->vlist[j];

            cols++;
            glp_set_col_bnds(lp, cols, GLP_DB, 0, 1);
            glp_set_obj_coef(lp, cols, d->cols[c].cost - d->cols[d->vbase[m]].cost);
            add_use(w, c, 1.0, d->acc_delta);
            add_use(w, d->vbase[m], -1.0, d->acc_delta);
            for (size_t a = 0; a < na; a++) {
                if (d->master_row[a] && d->acc_delta[a] != 0) {
                    /* at most na + 1 entries per column, nv + 1 columns */
                    assert((size_t)nnz + 1 < d->nz_cap);
                    nnz++;
                    d->ia[nnz] = d->master_row[a];
                    d->ja[nnz] = cols;
                    d->ar[nnz] = d->acc_delta[a];
                }
                d->acc_delta[a] = 0;
            }
            if (d->conv_row[m]) {
                assert((size_t)nnz + 1 < d->nz_cap);
                nnz++;
                d->ia[nnz] = d->conv_row[m];
                d->ja[nnz] = cols;
                d->ar[nnz] = 1;
            }
        }
    }
    glp_load_matrix(lp, nnz, d->ia, d->ja, d->ar);
    init_simplex(&parm, GLP_OFF);
    parm.meth = GLP_PRIMAL;
    ok = solved(lp, glp_simplex(lp, &parm)) && glp_get_status(lp) == GLP_OPT;
    if (ok) {
        for (size_t a = 0; a < na; a++)
            d->lambda[a] = d->master_row[a]
                           ? fmax(0, -glp_get_row_dual(lp, d->master_row[a])) : 0;
        cols = 0;
        for (size_t m = 0; m < p->models_count; m++) {
            if (!d->priced[m])
                continue;
            const double *bx = column_x(w, d->vbase[m]);
            double base_value = column_value(w, d->vbase[m]);

            for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++)
                w->x[w->model_vars[k]] = bx[k - w->model_first[m]];
            d->cur_value[m] = base_value;
            for (size_t j = d->vfirst[m]; j < d->vfirst[m + 1]; j++) {
                size_t c = d->vlist[j];
                double mu = fmin(fmax(glp_get_col_prim(lp, ++cols), 0), 1);
                const double *cx = column_x(w, c);

                if (mu == 0)
                    continue;
                for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
                    size_t i = k - w->model_first[m];

                    w->x[w->model_vars[k]] += mu * (cx[i] - bx[i]);
                }
                d->cur_value[m] += mu * (column_value(w, c) - base_value);
            }
        }
    }
    glp_delete_prob(lp);
    return !ok;
}

/* Re-solve every block with priced models at the current GPU prices (warm:
 * only objective coefficients change, so the last basis stays primal
 * feasible) and store, as a column, each model's answer that beats the
 * value of its current point.  *added counts the new columns. */
static int price_blocks(struct work *w, int vertex, size_t *added)
{
    const struct solver_problem *p = w->p;
    struct pricing *d = &w->dw;
    glp_smcp parm;

    init_simplex(&parm, GLP_OFF);
    parm.meth = GLP_PRIMAL;
    for (size_t b = 0; b < d->blocks_count; b++) {
        struct block *bl = &d->blocks[b];
        int co = w->col_first[bl->m0];

        if (!bl->priced)
            continue;
        for (size_t k = w->model_first[bl->m0]; k < w->model_first[bl->m1]; k++) {
            size_t i = w->model_vars[k];
            const struct solver_variant *v = &p->variants[i];

            if (w->col_of[i] && inventory_applies(p, v))
                glp_set_obj_coef(bl->lp, w->col_of[i] - co,
                                 w->obj[i] + d->lambda[v->accelerator] * v->gpus);
        }
        if (!solved(bl->lp, glp_simplex(bl->lp, &parm)) || glp_get_status(bl->lp) != GLP_OPT)
            return -1;
        for (size_t m = bl->m0; m < bl->m1; m++) {
            double value;

            if (!d->priced[m])
                continue;
            value = 0;
            for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
                size_t i = w->model_vars[k];
                const struct solver_variant *v = &p->variants[i];
                double xv = glp_get_col_prim(bl->lp, w->col_of[i] - co);

                d->xs[k - w->model_first[m]] = xv;
                if (inventory_applies(p, v))
                    value += d->lambda[v->accelerator] * v->gpus * xv;
            }
            value += model_cost(w, m, d->xs);
            if (value < d->cur_value[m] - PRICE_TOL * fmax(1.0, fabs(d->cur_value[m]))) {
                size_t c = stored_column(w, m, d->xs);

                if (c == SIZE_MAX) {
                    add_column(w, m, d->xs, 0);
                    c = d->head[m];
                } else if (!vertex) {
                    continue;
                }
                if (!d->cols[c].forced && (vertex || c == d->head[m])) {
                    d->cols[c].forced = vertex;
                    ++*added;
                }
            }
        }
    }
    return 0;
}

/* Price decomposition of the full LP on its inventory rows (Dantzig-
 * Wolfe), used when the blocks overfill the inventory and the LP is large.
 *
 * Why: the dual simplex on the full LP pays one pivot per model that has
 * to move (about 1,400 at 10,000 VAs under shortage) and O(rows) per
 * pivot (0.5 ms at 4,000 rows).  But the models share only the few
 * inventory rows: for GPU prices lambda (one per accelerator) each model
 * is an independent tiny LP, which the kept block LPs re-solve warm in a
 * few ms for all models together.
 *
 * How: every priced model (one using a limited inventory) stores
 * candidate points ("columns"): its lower bounds (the base, which always
 * fits), its block answer, and its answers at later prices.
 *  1. kelley_prices: prices optimal for the LP restricted to the stored
 *     columns (cutting planes over them; no GLPK block solve).
 *  2. price_blocks at those prices: a model whose own LP beats its best
 *     stored column gets a new column; if any did, back to 1.  (This is
 *     column generation; it needed 4 rounds at 10,000 VAs.)
 *  3. vertex_master: the restricted LP over the columns that tie at those
 *     prices, solved by GLPK's simplex for a vertex and exact prices;
 *     price_blocks at those checks every model again; a model that can
 *     still improve gets that column offered and 3 repeats.
 * When step 3 finds nothing, the answer meets the LP's optimality
 * conditions: it fits the inventory (the master's rows), each model's
 * point is optimal for its own LP at the master's prices (the check, to
 * PRICE_TOL), and a price is non-zero only on a full row (the master's
 * complementary slackness); hence the full LP's objective is reached.
 * Returns 0 with the optimum in w->x, or -1 when it gave up (the caller
 * then solves the full LP). */
static int price_decompose(struct work *w)
{
    const struct solver_problem *p = w->p;
    struct pricing *d = &w->dw;
    size_t widest = 0;

    for (size_t a = 0; a < p->accelerators_count; a++)
        d->rhs[a] = w->inv_limit[a] - w->inv_fixed[a];
    for (size_t m = 0; m < p->models_count; m++) {
        size_t n = w->model_first[m + 1] - w->model_first[m];

        if (n > widest)
            widest = n;
    }
    d->xs = wva_xcalloc(widest + 1, sizeof(*d->xs));
    d->k_ind = wva_xcalloc(p->accelerators_count + 2, sizeof(*d->k_ind));
    d->k_val = wva_xcalloc(p->accelerators_count + 2, sizeof(*d->k_val));
    for (size_t m = 0; m < p->models_count; m++) {
        if (!d->priced[m])
            continue;
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++)
            d->xs[k - w->model_first[m]] = p->variants[w->model_vars[k]].lower;
        add_column(w, m, d->xs, 1);
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++)
            d->xs[k - w->model_first[m]] = w->x[w->model_vars[k]];
        add_column(w, m, d->xs, 0);
    }
    for (int round = 0; round < MAX_PRICE_ROUNDS; round++) {
        size_t added = 0;

        if (kelley_prices(w))
            return -1;
        for (size_t m = 0; m < p->models_count; m++)
            if (d->priced[m])
                best_column(w, m, &d->cur_value[m]);
        if (price_blocks(w, 0, &added))
            return -1;
        if (added)
            continue;
        for (int v = 0; v < MAX_VERTEX_ROUNDS; v++) {
            /* offering every base too makes the master feasible whatever
             * the ties, at the cost of a larger master */
            if (vertex_master(w, 0) && vertex_master(w, 1))
                return -1;
            if (price_blocks(w, 1, &added))
                return -1;
            if (!added)
                return 0;
            added = 0;
        }
    }
    return -1;
}

/* Solve the full LP, warm-started from the block bases when they are
 * complete: they are optimal without the inventory rows, hence dual
 * feasible with those rows' slacks basic, and the dual simplex only has
 * to repair the over-used rows.  Falls back to a cold presolved solve. */
static void solve_full(struct work *w, struct solver_result *res, int warm)
{
    const struct solver_problem *p = w->p;
    glp_prob *lp = glp_create_prob();
    glp_smcp parm;
    int ret, status;

    build_block(w, lp, 0, p->models_count, 1);
    ret = -1;
    if (warm) {
        for (int r = 1; r <= w->row_first[p->models_count]; r++)
            glp_set_row_stat(lp, r, w->row_stat[r]);
        for (int c = 1; c <= w->cols; c++)
            glp_set_col_stat(lp, c, w->col_stat[c]);
        init_simplex(&parm, GLP_OFF);
        ret = glp_simplex(lp, &parm);
    }
    if (!solved(lp, ret)) {
        glp_std_basis(lp);
        init_simplex(&parm, GLP_ON);
        ret = glp_simplex(lp, &parm);
    }
    if (ret == GLP_ENOPFS || ret == GLP_ENODFS) {
        /* cannot happen by construction (slack, raised inventory), but the
         * presolver's verdict leaves no basis to ask about */
        snprintf(res->status, sizeof(res->status), "infeasible");
        status = GLP_UNDEF;
    } else {
        status = glp_get_status(lp);
        snprintf(res->status, sizeof(res->status), "%s", glpk_status_name(status));
    }
    for (size_t i = 0; i < p->variants_count; i++)
        w->x[i] = (status == GLP_OPT || status == GLP_FEAS) && w->col_of[i]
                  ? glp_get_col_prim(lp, w->col_of[i]) : p->variants[i].lower;
    glp_delete_prob(lp);
}

/* The simplex costs about (rows)^2 on this LP (one pivot per model that
 * moves, O(rows) work per pivot), far too slow at 10,000 variants.  Models
 * only interact through the few inventory rows, so solve runs of models of
 * about BLOCK_ROWS rows on their own; if their union respects the
 * inventory it is optimal for the full LP.  Else large LPs go to the price
 * decomposition, small ones (and any case the decomposition gives up on)
 * to the full LP warm-started from the blocks. */
static void run_glpk(struct work *w, struct solver_result *res)
{
    const struct solver_problem *p = w->p;
    struct pricing *d = &w->dw;
    int complete = 1, done = 0;

    for (size_t i = 0; i < p->variants_count; i++)
        w->x[i] = p->variants[i].lower;     /* held variants stay there */
    if (w->reference) {
        solve_full(w, res, 0);
        snprintf(res->method, sizeof(res->method), "reference");
        return;
    }
    for (size_t m = 0; m < p->models_count; m++)
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++)
            if (w->active[m] && inventory_applies(p, &p->variants[w->model_vars[k]]))
                d->priced[m] = 1;
    for (size_t m0 = 0, m1; m0 < p->models_count; m0 = m1) {
        m1 = m0 + 1;
        while (m1 < p->models_count && w->row_first[m1 + 1] - w->row_first[m0] <= BLOCK_ROWS)
            m1++;
        if (w->col_first[m1] == w->col_first[m0])
            continue;   /* only held models: nothing to decide */
        struct block *b = &d->blocks[d->blocks_count++];
        b->m0 = m0;
        b->m1 = m1;
        for (size_t m = m0; m < m1; m++)
            b->priced |= d->priced[m];
        if (solve_block(w, b)) {
            complete = 0;
            break;
        }
    }
    if (complete && inventory_holds(w)) {
        snprintf(res->status, sizeof(res->status), "optimal");
        snprintf(res->method, sizeof(res->method), "blocks");
        done = 1;
    } else if (complete && w->rows >= DECOMPOSE_MIN_ROWS && price_decompose(w) == 0) {
        snprintf(res->status, sizeof(res->status), "optimal");
        snprintf(res->method, sizeof(res->method), "prices");
        done = 1;
    }
    for (size_t b = 0; b < d->blocks_count; b++)
        glp_delete_prob(d->blocks[b].lp);
    d->blocks_count = 0;
    if (d->klp)
        glp_delete_prob(d->klp);
    d->klp = NULL;
    if (!done) {
        solve_full(w, res, complete);
        snprintf(res->method, sizeof(res->method), "full");
    }
}

/* GLPK reports a fatal error by calling the error hook and then abort();
 * the hook longjmps back here instead, and the only safe recovery is to
 * drop the whole GLPK environment (the problem objects die with it).  The
 * environment is also freed on success, so the hooks, which point at this
 * call's guard, never outlive it. */
static int solve_lp(struct work *w, struct solver_result *res, struct wva_error *err)
{
    glp_term_out(GLP_OFF);
    glp_term_hook(glpk_term_hook, w->guard);
    glp_error_hook(glpk_error_hook, w->guard);
    if (setjmp(w->guard->jump)) {
        glp_free_env();
        wva_error_set(err, "solver: GLPK failed: %.*s", GLPK_MSG_MAX,
                      wva_strbuf_str(&w->guard->msg));
        return -1;
    }
    run_glpk(w, res);
    glp_free_env();
    return 0;
}

/* ---- rounding with repair ----------------------------------------------- */

static int to_replicas(double x)
{
    if (!(x > 0))
        return 0;
    if (x >= (double)INT_MAX)
        return INT_MAX;
    return (int)x;
}

struct model_order {
    int priority;
    size_t index;
};

static int compare_model_order(const void *a, const void *b)
{
    const struct model_order *x = a, *y = b;

    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Replicas variant v can still take: its upper bound and its
 * accelerator's remaining GPUs. */
static double room_for(const struct work *w, const int *r, const double *used, size_t i)
{
    const struct solver_variant *v = &w->p->variants[i];
    double room = v->upper == WVA_SOLVER_UNBOUNDED ? (double)INT_MAX - r[i]
                                                   : (double)v->upper - r[i];

    if (inventory_applies(w->p, v)) {
        double left = w->inv_limit[v->accelerator] - used[v->accelerator];
        room = fmin(room, floor((left + ROUND_EPS) / v->gpus));
    }
    return room > 0 ? room : 0;
}

static int is_short(double have, double demand)
{
    return demand - have > ROUND_EPS * fmax(1.0, demand);
}

/* Serve model m's remaining shortfall, a cheapest variant at a time.  Each
 * step adds exactly what the chosen variant needs (or all it can take), so
 * the loop runs at most twice per variant whatever the demand. */
static void repair_model(struct work *w, size_t m, int *r, double *used,
                         double *kv_have, double *rep_have)
{
    const struct solver_problem *p = w->p;
    const struct solver_model *md = &p->models[m];

    for (;;) {
        int kv_short = is_short(kv_have[m], md->kv_demand);
        int rep_short = is_short(rep_have[m], md->replica_demand);
        size_t best = SIZE_MAX;
        double best_price = 0, best_room = 0;

        if (!kv_short && !rep_short)
            return;
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
            size_t i = w->model_vars[k];
            const struct solver_variant *v = &p->variants[i];
            double room = room_for(w, r, used, i);
            double price = kv_short ? v->cost / v->capacity : v->cost;

            if (room < 1)
                continue;
            if (best == SIZE_MAX || price < best_price) {
                best = i;
                best_price = price;
                best_room = room;
            }
        }
        if (best == SIZE_MAX)
            return;

        const struct solver_variant *v = &p->variants[best];
        double need = kv_short ? ceil((md->kv_demand - kv_have[m]) / v->capacity - ROUND_EPS)
                               : ceil(md->replica_demand - rep_have[m] - ROUND_EPS);
        int add = to_replicas(fmax(1.0, fmin(need, best_room)));

        r[best] += add;
        kv_have[m] += v->capacity * add;
        rep_have[m] += add;
        if (inventory_applies(p, v))
            used[v->accelerator] += v->gpus * add;
    }
}

/* The objective the LP minimised, at w->x: weighted costs of the models
 * in the LP and the penalties of their least covering slack. */
static double lp_value(const struct work *w)
{
    const struct solver_problem *p = w->p;
    double val = 0;

    for (size_t m = 0; m < p->models_count; m++) {
        double kv = 0, rep = 0;

        if (!w->active[m])
            continue;
        for (size_t k = w->model_first[m]; k < w->model_first[m + 1]; k++) {
            size_t i = w->model_vars[k];

            val += w->obj[i] * w->x[i];
            kv += p->variants[i].capacity / w->mean_cap[m] * w->x[i];
            rep += w->x[i];
        }
        if (w->kv_row[m])
            val += w->penalty[m] * fmax(0, p->models[m].kv_demand / w->mean_cap[m] - kv);
        if (w->rep_row[m])
            val += w->penalty[m] * fmax(0, p->models[m].replica_demand - rep);
    }
    return val;
}

static void round_and_repair(struct work *w, struct solver_result *res)
{
    const struct solver_problem *p = w->p;
    int *r = res->replicas;
    double *used = wva_xcalloc(p->accelerators_count + 1, sizeof(*used));
    double *kv_have = wva_xcalloc(p->models_count + 1, sizeof(*kv_have));
    double *rep_have = wva_xcalloc(p->models_count + 1, sizeof(*rep_have));
    struct model_order *order = wva_xcalloc(p->models_count + 1, sizeof(*order));

    /* floor keeps every inventory row (gpus >= 0) and every lower bound
     * (they are integers) */
    for (size_t i = 0; i < p->variants_count; i++) {
        const struct solver_variant *v = &p->variants[i];
        int ri = to_replicas(floor(w->x[i] + ROUND_EPS));

        if (ri < v->lower)
            ri = v->lower;
        if (v->upper != WVA_SOLVER_UNBOUNDED && ri > v->upper)
            ri = v->upper;
        r[i] = ri;
        if (inventory_applies(p, v))
            used[v->accelerator] += v->gpus * ri;
    }
    /* ROUND_EPS may have lifted an x just below an integer over a row that
     * was tight; give such replicas back, last variants first */
    for (size_t k = p->variants_count; k-- > 0;) {
        const struct solver_variant *v = &p->variants[k];

        if (!inventory_applies(p, v))
            continue;
        while (r[k] > v->lower && used[v->accelerator] > w->inv_limit[v->accelerator] + ROUND_EPS) {
            r[k]--;
            used[v->accelerator] -= v->gpus;
        }
    }
    for (size_t i = 0; i < p->variants_count; i++) {
        kv_have[p->variants[i].model] += p->variants[i].capacity * r[i];
        rep_have[p->variants[i].model] += r[i];
    }

    for (size_t m = 0; m < p->models_count; m++) {
        order[m].priority = p->models[m].priority;
        order[m].index = m;
    }
    qsort(order, p->models_count, sizeof(*order), compare_model_order);
    for (size_t k = 0; k < p->models_count; k++)
        repair_model(w, order[k].index, r, used, kv_have, rep_have);

    for (size_t m = 0; m < p->models_count; m++) {
        const struct solver_model *md = &p->models[m];

        res->kv_shortage[m] = is_short(kv_have[m], md->kv_demand) ? md->kv_demand - kv_have[m] : 0;
        res->replica_shortage[m] = is_short(rep_have[m], md->replica_demand)
                                   ? md->replica_demand - rep_have[m] : 0;
    }
    res->lp_penalized = lp_value(w);
    res->lp_objective = 0;
    res->int_cost = 0;
    for (size_t i = 0; i < p->variants_count; i++) {
        res->lp_objective += p->variants[i].cost * w->x[i];
        res->int_cost += p->variants[i].cost * r[i];
    }
    free(order);
    free(rep_have);
    free(kv_have);
    free(used);
}

/* ---- entry points ------------------------------------------------------- */

static int run(const struct solver_problem *problem, struct solver_result *result,
               int reference, struct wva_error *err)
{
    double start = values_monotonic_seconds();
    struct glpk_guard guard = {.msg = WVA_STRBUF_INIT};
    struct work w = {.p = problem, .reference = reference, .guard = &guard};
    size_t nv, nm, na, nnz_max;
    int rc = -1;

    memset(result, 0, sizeof(*result));
    if (validate(problem, err))
        return -1;
    nv = problem->variants_count;
    nm = problem->models_count;
    na = problem->accelerators_count;

    /* +1 everywhere: never ask for zero bytes, and GLPK arrays are 1-based */
    result->replicas = wva_xcalloc(nv + 1, sizeof(*result->replicas));
    result->kv_shortage = wva_xcalloc(nm + 1, sizeof(*result->kv_shortage));
    result->replica_shortage = wva_xcalloc(nm + 1, sizeof(*result->replica_shortage));
    if (na)
        result->inventory_overcommit = wva_xcalloc(na, sizeof(*result->inventory_overcommit));

    if (nv == 0) {
        /* nothing can be allocated; any demand is plain shortage */
        snprintf(result->status, sizeof(result->status), "empty");
        for (size_t m = 0; m < nm; m++) {
            result->kv_shortage[m] = problem->models[m].kv_demand;
            result->replica_shortage[m] = problem->models[m].replica_demand;
        }
        rc = 0;
        goto out;
    }

    nnz_max = 3 * nv + 2 * nm + 1;
    w.model_first = wva_xcalloc(nm + 2, sizeof(*w.model_first));
    w.model_vars = wva_xcalloc(nv, sizeof(*w.model_vars));
    w.mean_cap = wva_xcalloc(nm + 1, sizeof(*w.mean_cap));
    w.penalty = wva_xcalloc(nm + 1, sizeof(*w.penalty));
    w.obj = wva_xcalloc(nv, sizeof(*w.obj));
    w.inv_limit = wva_xcalloc(na + 1, sizeof(*w.inv_limit));
    w.inv_used_by = wva_xcalloc(na + 1, sizeof(*w.inv_used_by));
    w.inv_fixed = wva_xcalloc(na + 1, sizeof(*w.inv_fixed));
    w.active = wva_xcalloc(nm + 1, sizeof(*w.active));
    w.x = wva_xcalloc(nv, sizeof(*w.x));
    w.kv_row = wva_xcalloc(nm + 1, sizeof(*w.kv_row));
    w.rep_row = wva_xcalloc(nm + 1, sizeof(*w.rep_row));
    w.inv_row = wva_xcalloc(na + 1, sizeof(*w.inv_row));
    w.row_first = wva_xcalloc(nm + 1, sizeof(*w.row_first));
    w.col_first = wva_xcalloc(nm + 1, sizeof(*w.col_first));
    w.col_of = wva_xcalloc(nv, sizeof(*w.col_of));
    w.nz_max = nnz_max;
    w.ia = wva_xcalloc(nnz_max + 1, sizeof(*w.ia));
    w.ja = wva_xcalloc(nnz_max + 1, sizeof(*w.ja));
    w.ar = wva_xcalloc(nnz_max + 1, sizeof(*w.ar));

    group_by_model(&w);
    prepare_inventory(&w, result->inventory_overcommit);
    prepare_objective(&w);
    plan_layout(&w, result);
    w.dw.blocks = wva_xcalloc(nm + 1, sizeof(*w.dw.blocks));
    w.dw.priced = wva_xcalloc(nm + 1, sizeof(*w.dw.priced));
    w.dw.lambda = wva_xcalloc(na + 1, sizeof(*w.dw.lambda));
    w.dw.rhs = wva_xcalloc(na + 1, sizeof(*w.dw.rhs));
    w.dw.base = wva_xmalloc((nm + 1) * sizeof(*w.dw.base));
    w.dw.head = wva_xmalloc((nm + 1) * sizeof(*w.dw.head));
    for (size_t m = 0; m <= nm; m++)
        w.dw.base[m] = w.dw.head[m] = SIZE_MAX;
    w.dw.vbase = wva_xcalloc(nm + 1, sizeof(*w.dw.vbase));
    w.dw.vfirst = wva_xcalloc(nm + 2, sizeof(*w.dw.vfirst));
    w.dw.k_use = wva_xcalloc(na + 1, sizeof(*w.dw.k_use));
    w.dw.k_best = wva_xcalloc(na + 1, sizeof(*w.dw.k_best));
    w.dw.cur_value = wva_xcalloc(nm + 1, sizeof(*w.dw.cur_value));
    w.dw.conv_row = wva_xcalloc(nm + 1, sizeof(*w.dw.conv_row));
    w.dw.master_row = wva_xcalloc(na + 1, sizeof(*w.dw.master_row));
    w.dw.acc_delta = wva_xcalloc(na + 1, sizeof(*w.dw.acc_delta));
    w.dw.acc_mark = wva_xcalloc(na + 1, sizeof(*w.dw.acc_mark));
    w.dw.acc_touched = wva_xcalloc(na + 1, sizeof(*w.dw.acc_touched));
    w.row_stat = wva_xcalloc((size_t)w.rows + 1, sizeof(*w.row_stat));
    w.col_stat = wva_xcalloc((size_t)w.cols + 1, sizeof(*w.col_stat));
    if (solve_lp(&w, result, err))
        goto out;
    round_and_repair(&w, result);
    rc = 0;

out:
    free(w.dw.ar);
    free(w.dw.ja);
    free(w.dw.ia);
    free(w.dw.col_x);
    free(w.dw.cols);
    free(w.dw.xs);
    free(w.dw.acc_touched);
    free(w.dw.acc_mark);
    free(w.dw.acc_delta);
    free(w.dw.master_row);
    free(w.dw.conv_row);
    free(w.dw.cur_value);
    free(w.dw.vbase);
    free(w.dw.vfirst);
    free(w.dw.vlist);
    free(w.dw.k_use);
    free(w.dw.k_best);
    free(w.dw.k_ind);
    free(w.dw.k_val);
    free(w.dw.use_acc);
    free(w.dw.use_gpus);
    free(w.dw.head);
    free(w.dw.base);
    free(w.dw.rhs);
    free(w.dw.lambda);
    free(w.dw.priced);
    free(w.dw.blocks);
    free(w.col_stat);
    free(w.row_stat);
    free(w.col_of);
    free(w.col_first);
    free(w.row_first);
    free(w.ar);
    free(w.ja);
    free(w.ia);
    free(w.inv_row);
    free(w.rep_row);
    free(w.kv_row);
    free(w.x);
    free(w.active);
    free(w.inv_fixed);
    free(w.inv_used_by);
    free(w.inv_limit);
    free(w.obj);
    free(w.penalty);
    free(w.mean_cap);
    free(w.model_vars);
    free(w.model_first);
    wva_strbuf_release(&guard.msg);
    if (rc) {
        solver_result_free(result);
    } else {
        result->seconds = values_monotonic_seconds() - start;
    }
    return rc;
}

int solver_run(const struct solver_problem *problem, struct solver_result *result,
               struct wva_error *err)
{
    return run(problem, result, 0, err);
}

int solver_run_reference(const struct solver_problem *problem, struct solver_result *result,
                         struct wva_error *err)
{
    return run(problem, result, 1, err);
}

void solver_result_free(struct solver_result *result)
{
    if (!result)
        return;
    free(result->replicas);
    free(result->kv_shortage);
    free(result->replica_shortage);
    free(result->inventory_overcommit);
    memset(result, 0, sizeof(*result));
}
