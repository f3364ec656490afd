/* solver.c - the global replica allocation: one GLPK LP, then rounding.
 *
 * Solves the LP described in include/wva/solver.h with GLPK's dual
 * simplex (each LP built in one pass and one glp_load_matrix call): small
 * blocks of models first, the full LP warm-started from them only when
 * the inventory binds (see run_glpk).  It then floors the continuous
 * solution and repairs shortfalls greedily in priority order.  Mixed-
 * integer search is deliberately avoided: with thousands of variants
 * branch-and-bound is far too slow for a CronJob, while floor-then-repair
 * lands within about one replica per model of the LP optimum.
 *
 * This module sees numbers only: it knows nothing of Kubernetes,
 * Prometheus, ConfigMaps or the saturation analysis.  It is the program's
 * only GLPK user and frees the GLPK environment at the end of every run,
 * so no hook pointing into a finished call survives it.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glpk.h>

#include "wva/solver.h"
#include "wva/strbuf.h"

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

/* Lives in solver_run's frame (not in the frame that calls setjmp), so
 * its contents are well defined after the longjmp. */
struct glpk_guard {
    jmp_buf jump;
    struct wva_strbuf msg;
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
    struct glpk_guard *guard;
};

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static void add_entry(struct work *w, int *nnz, int row, int col, double value)
{
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

/* Solve models [m0, m1) without the inventory rows; keep the solution
 * and the basis.  Returns nonzero when GLPK found no solution. */
static int solve_block(struct work *w, size_t m0, size_t m1)
{
    int ro = w->row_first[m0], co = w->col_first[m0];
    glp_prob *lp;
    glp_smcp parm;
    int ok;

    if (w->col_first[m1] == co)
        return 0;   /* only held models: nothing to decide */
    lp = glp_create_prob();

    build_block(w, lp, m0, m1, 0);
    init_simplex(&parm, GLP_OFF);
    ok = solved(lp, glp_simplex(lp, &parm)) && glp_get_status(lp) == GLP_OPT;
    if (ok) {
        for (int r = 1; r <= w->row_first[m1] - ro; r++)
            w->row_stat[ro + r] = glp_get_row_stat(lp, r);
        for (int c = 1; c <= w->col_first[m1] - co; c++)
            w->col_stat[co + c] = glp_get_col_stat(lp, c);
        for (size_t k = w->model_first[m0]; k < w->model_first[m1]; k++) {
            size_t i = w->model_vars[k];

            if (w->col_of[i])
                w->x[i] = glp_get_col_prim(lp, w->col_of[i] - co);
        }
    }
    glp_delete_prob(lp);
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

/* The simplex costs about (rows)^2 on this LP (one pivot per demand row,
 * O(rows) work per pivot), far too slow at 10,000 variants.  Models only
 * interact through the few inventory rows, so solve runs of models of
 * about BLOCK_ROWS rows on their own; if their union respects the
 * inventory it is optimal for the full LP, else it warm-starts it. */
static void run_glpk(struct work *w, struct solver_result *res)
{
    const struct solver_problem *p = w->p;
    int complete = 1;

    for (size_t i = 0; i < p->variants_count; i++)
        w->x[i] = p->variants[i].lower;     /* held variants stay there */
    for (size_t m0 = 0, m1; m0 < p->models_count; m0 = m1) {
        m1 = m0 + 1;
        while (m1 < p->models_count && w->row_first[m1 + 1] - w->row_first[m0] <= BLOCK_ROWS)
            m1++;
        if (solve_block(w, m0, m1)) {
            complete = 0;
            break;
        }
    }
    if (complete && inventory_holds(w)) {
        snprintf(res->status, sizeof(res->status), "optimal");
        return;
    }
    solve_full(w, res, complete);
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

int solver_run(const struct solver_problem *problem, struct solver_result *result,
               struct wva_error *err)
{
    double start = now_seconds();
    struct glpk_guard guard = {.msg = WVA_STRBUF_INIT};
    struct work w = {.p = problem, .guard = &guard};
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
    w.ia = wva_xcalloc(nnz_max + 1, sizeof(*w.ia));
    w.ja = wva_xcalloc(nnz_max + 1, sizeof(*w.ja));
    w.ar = wva_xcalloc(nnz_max + 1, sizeof(*w.ar));

    group_by_model(&w);
    prepare_inventory(&w, result->inventory_overcommit);
    prepare_objective(&w);
    plan_layout(&w, result);
    w.row_stat = wva_xcalloc((size_t)w.rows + 1, sizeof(*w.row_stat));
    w.col_stat = wva_xcalloc((size_t)w.cols + 1, sizeof(*w.col_stat));
    if (solve_lp(&w, result, err))
        goto out;
    round_and_repair(&w, result);
    rc = 0;

out:
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
        result->seconds = now_seconds() - start;
    }
    return rc;
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
