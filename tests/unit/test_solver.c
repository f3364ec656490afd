/* test_solver.c - the allocation LP and its rounding (src/solver.c). */
#include <math.h>
#include <unistd.h>

#include "test_util.h"
#include "wva/solver.h"

#define UNB WVA_SOLVER_UNBOUNDED

/* A variant on model m, accelerator a (-1 = none). */
static struct solver_variant var(size_t m, int a, double cost, double cap, double gpus,
                                 int current, int lower, int upper)
{
    struct solver_variant v = {m, a, cost, cap, gpus, current, lower, upper};

    return v;
}

static struct solver_problem problem(struct solver_variant *v, size_t nv,
                                     struct solver_model *m, size_t nm,
                                     struct solver_accelerator *a, size_t na, int limited)
{
    struct solver_problem p = {v, nv, m, nm, a, na, limited};

    return p;
}

/* Run a problem that must succeed. */
static void run_ok(const struct solver_problem *p, struct solver_result *r)
{
    struct wva_error err = {0};
    int rc = solver_run(p, r, &err);

    if (rc != 0)
        fail_msg("solver_run failed: %s", err.msg);
}

/* ---- validation --------------------------------------------------------- */

static void expect_invalid(const struct solver_problem *p, const char *needle)
{
    struct solver_result r;
    struct wva_error err = {0};

    assert_int_equal(solver_run(p, &r, &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    assert_null(r.replicas);        /* nothing to free after a failure */
    solver_result_free(&r);
}

static void test_validation_errors(void **state)
{
    struct solver_model m[1] = {{0, 100, 1}};
    struct solver_accelerator a[1] = {{4}};
    struct solver_variant v[1];
    struct solver_problem p = problem(v, 1, m, 1, a, 1, 1);
    (void)state;

    v[0] = var(0, 0, -1, 10, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: cost -1 must be a finite number >= 0");
    v[0] = var(0, 0, INFINITY, 10, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: cost inf");
    v[0] = var(0, 0, 1e16, 10, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: cost 1e+16 must be a finite number >= 0 (at most 1e+15)");
    v[0] = var(0, 0, 1, 0, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: capacity 0 must be a finite number > 0");
    v[0] = var(0, 0, 1, NAN, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: capacity nan");
    v[0] = var(0, 0, 1, 10, -2, 1, 0, UNB);
    expect_invalid(&p, "variant 0: gpus -2");
    v[0] = var(0, 0, 1, 10, 1, -1, 0, UNB);
    expect_invalid(&p, "variant 0: current -1 must be >= 0");
    v[0] = var(0, 0, 1, 10, 1, 1, -3, UNB);
    expect_invalid(&p, "variant 0: lower -3 must be >= 0");
    v[0] = var(0, 0, 1, 10, 1, 1, 4, 2);
    expect_invalid(&p, "variant 0: upper 2 must be >= lower 4");
    v[0] = var(0, 0, 1, 10, 1, 1, 0, -5);
    expect_invalid(&p, "variant 0: upper -5");
    v[0] = var(3, 0, 1, 10, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: model index 3 out of range (1 models)");
    v[0] = var(0, 1, 1, 10, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: accelerator index 1 out of range");
    v[0] = var(0, -2, 1, 10, 1, 1, 0, UNB);
    expect_invalid(&p, "variant 0: accelerator index -2 out of range");

    v[0] = var(0, 0, 1, 10, 1, 1, 0, UNB);
    m[0].kv_demand = NAN;
    expect_invalid(&p, "model 0: kv_demand nan");
    m[0].kv_demand = 5;
    m[0].replica_demand = -1;
    expect_invalid(&p, "model 0: replica_demand -1");
    m[0].replica_demand = 1;
    a[0].gpus_available = -1;
    expect_invalid(&p, "accelerator 0: gpus_available -1");
    a[0].gpus_available = 4;

    struct solver_problem broken = problem(NULL, 2, m, 1, a, 1, 0);
    expect_invalid(&broken, "count without its array");
}

static void test_empty_problem(void **state)
{
    struct solver_model m[1] = {{0, 300, 2}};
    struct solver_problem p = problem(NULL, 0, m, 1, NULL, 0, 0);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_string_equal(r.status, "empty");
    assert_true(r.lp_objective == 0);
    assert_true(r.int_cost == 0);
    assert_int_equal(r.lp_columns, 0);
    /* no variant can serve the model: all of its demand is shortage */
    assert_true(r.kv_shortage[0] == 300);
    assert_true(r.replica_shortage[0] == 2);
    solver_result_free(&r);
    solver_result_free(&r);     /* freeing twice is harmless */
    solver_result_free(NULL);
}

/* ---- one model ---------------------------------------------------------- */

static void test_scale_up_cheapest_grows(void **state)
{
    /* may only grow (lower = current); one more replica is needed */
    struct solver_variant v[2] = {
        var(0, -1, 30, 100, 1, 1, 1, UNB),
        var(0, -1, 10, 100, 1, 1, 1, UNB),
    };
    struct solver_model m[1] = {{0, 300, 3}};
    struct solver_problem p = problem(v, 2, m, 1, NULL, 0, 0);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_string_equal(r.status, "optimal");
    assert_int_equal(r.replicas[0], 1);
    assert_int_equal(r.replicas[1], 2);
    assert_true(fabs(r.lp_objective - 50) < 1e-6);
    assert_true(fabs(r.int_cost - 50) < 1e-9);
    assert_true(r.kv_shortage[0] == 0 && r.replica_shortage[0] == 0);
    /* 2 variants + kv and replica slack; kv and replica rows */
    assert_int_equal(r.lp_columns, 4);
    assert_int_equal(r.lp_rows, 2);
    assert_true(r.seconds >= 0 && r.seconds < 5);
    solver_result_free(&r);
}

static void test_scale_down_most_expensive_first(void **state)
{
    /* may only shrink (upper = current); 4 of the 6 replicas are needed */
    struct solver_variant v[2] = {
        var(0, -1, 10, 100, 1, 3, 0, 3),
        var(0, -1, 30, 100, 1, 3, 0, 3),
    };
    struct solver_model m[1] = {{0, 400, 4}};
    struct solver_problem p = problem(v, 2, m, 1, NULL, 0, 0);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[0], 3);
    assert_int_equal(r.replicas[1], 1);
    assert_true(fabs(r.int_cost - 60) < 1e-9);
    solver_result_free(&r);
}

static void test_held_variants_unchanged(void **state)
{
    /* held at 2 and 1 although the demand asks for 5 replicas */
    struct solver_variant v[2] = {
        var(0, -1, 10, 100, 1, 2, 2, 2),
        var(0, -1, 10, 100, 1, 1, 1, 1),
    };
    struct solver_model m[1] = {{0, 500, 5}};
    struct solver_problem p = problem(v, 2, m, 1, NULL, 0, 0);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[0], 2);
    assert_int_equal(r.replicas[1], 1);
    assert_true(fabs(r.kv_shortage[0] - 200) < 1e-9);
    assert_true(fabs(r.replica_shortage[0] - 2) < 1e-9);
    /* a model with only held variants has nothing to decide */
    assert_int_equal(r.lp_columns, 0);
    solver_result_free(&r);
}

static void test_unbounded_upper(void **state)
{
    struct solver_variant v[1] = {var(0, -1, 2, 1000, 1, 0, 0, UNB)};
    struct solver_model m[1] = {{0, 49500, 0}};
    struct solver_problem p = problem(v, 1, m, 1, NULL, 0, 0);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[0], 50);     /* ceil(49.5) */
    assert_true(fabs(r.lp_objective - 99) < 1e-6);
    assert_true(fabs(r.int_cost - 100) < 1e-9);
    assert_true(r.kv_shortage[0] == 0);
    solver_result_free(&r);
}

static void test_kv_cheapest_per_capacity_wins(void **state)
{
    /* cheap small replica (0.1 per unit) vs dear big one (0.0625 per unit) */
    struct solver_variant v[2] = {
        var(0, -1, 10, 100, 1, 0, 0, UNB),
        var(0, -1, 25, 400, 1, 0, 0, UNB),
    };
    struct solver_model m[1] = {{0, 800, 0}};
    struct solver_problem p = problem(v, 2, m, 1, NULL, 0, 0);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[0], 0);
    assert_int_equal(r.replicas[1], 2);
    assert_true(fabs(r.int_cost - 50) < 1e-9);
    solver_result_free(&r);
}

static void test_least_change_for_free_variants(void **state)
{
    /* zero cost: only the change weight decides, so nothing moves */
    struct solver_variant v[2] = {
        var(0, -1, 0, 100, 1, 4, 0, 4),     /* may only shrink */
        var(1, -1, 0, 100, 1, 2, 2, UNB),   /* may only grow */
    };
    struct solver_model m[2] = {{0, 0, 0}, {0, 0, 0}};
    struct solver_problem p = problem(v, 2, m, 2, NULL, 0, 0);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[0], 4);
    assert_int_equal(r.replicas[1], 2);
    solver_result_free(&r);
}

/* ---- inventory ---------------------------------------------------------- */

static void test_inventory_priority(void **state)
{
    /* 4 GPUs, both models want 3 one-GPU replicas; model 1 ranks higher */
    struct solver_variant v[2] = {
        var(0, 0, 10, 100, 1, 0, 0, UNB),
        var(1, 0, 10, 100, 1, 0, 0, UNB),
    };
    struct solver_model m[2] = {{0, 0, 3}, {5, 0, 3}};
    struct solver_accelerator a[1] = {{4}};
    struct solver_problem p = problem(v, 2, m, 2, a, 1, 1);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[1], 3);
    assert_int_equal(r.replicas[0], 1);
    assert_true(fabs(r.replica_shortage[0] - 2) < 1e-9);
    assert_true(r.replica_shortage[1] == 0);
    assert_true(r.inventory_overcommit[0] == 0);
    assert_int_equal(r.lp_rows, 3);
    solver_result_free(&r);

    /* without limited mode the inventory does not bind */
    p.limited = 0;
    run_ok(&p, &r);
    assert_int_equal(r.replicas[0], 3);
    assert_int_equal(r.replicas[1], 3);
    assert_int_equal(r.lp_rows, 2);
    solver_result_free(&r);
}

static void test_inventory_priority_wide_replicas(void **state)
{
    /* The high-priority model needs 4 GPUs per replica, the low one 1: a
     * GPU removes 4x more low-priority shortage, yet priority must win. */
    struct solver_variant v[2] = {
        var(0, 0, 10, 100, 1, 0, 0, UNB),
        var(1, 0, 40, 100, 4, 0, 0, UNB),
    };
    struct solver_model m[2] = {{1, 800, 8}, {2, 200, 2}};
    struct solver_accelerator a[1] = {{8}};
    struct solver_problem p = problem(v, 2, m, 2, a, 1, 1);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[1], 2);
    assert_int_equal(r.replicas[0], 0);
    assert_true(fabs(r.replica_shortage[0] - 8) < 1e-9);
    assert_true(fabs(r.kv_shortage[0] - 800) < 1e-9);
    solver_result_free(&r);
}

static void test_many_priorities(void **state)
{
    /* 50 distinct priorities flatten the penalty ladder; order still holds */
    struct solver_variant v[50];
    struct solver_model m[50];
    struct solver_accelerator a[1] = {{10}};
    struct solver_problem p = problem(v, 50, m, 50, a, 1, 1);
    struct solver_result r;
    (void)state;

    for (size_t j = 0; j < 50; j++) {
        m[j].priority = (int)(j * 7 % 50);      /* a permutation of 0..49 */
        m[j].kv_demand = 0;
        m[j].replica_demand = 1;
        v[j] = var(j, 0, 10, 100, 1, 0, 0, UNB);
    }
    run_ok(&p, &r);
    for (size_t j = 0; j < 50; j++) {
        if (r.replicas[j] != (m[j].priority >= 40))
            fail_msg("model %zu priority %d got %d replicas", j, m[j].priority,
                     r.replicas[j]);
    }
    assert_true(isfinite(r.lp_objective));
    solver_result_free(&r);
}

static void test_infeasible_demand_is_shortage(void **state)
{
    struct solver_variant v[1] = {var(0, -1, 10, 100, 1, 1, 0, 2)};
    struct solver_model m[1] = {{0, 450, 5}};
    struct solver_problem p = problem(v, 1, m, 1, NULL, 0, 0);
    struct solver_result r;
    struct wva_error err = {0};
    (void)state;

    assert_int_equal(solver_run(&p, &r, &err), 0);
    assert_string_equal(r.status, "optimal");
    assert_int_equal(r.replicas[0], 2);
    assert_true(fabs(r.kv_shortage[0] - 250) < 1e-9);
    assert_true(fabs(r.replica_shortage[0] - 3) < 1e-9);
    solver_result_free(&r);
}

static void test_overcommitted_lower_bounds(void **state)
{
    /* held at 3 one-GPU replicas on an accelerator with 2 GPUs */
    struct solver_variant v[2] = {
        var(0, 0, 10, 100, 1, 3, 3, 3),
        var(1, 0, 10, 100, 1, 1, 1, UNB),
    };
    struct solver_model m[2] = {{0, 300, 3}, {9, 500, 5}};
    struct solver_accelerator a[1] = {{2}};
    struct solver_problem p = problem(v, 2, m, 2, a, 1, 1);
    struct solver_result r;
    (void)state;

    run_ok(&p, &r);
    assert_int_equal(r.replicas[0], 3);
    assert_int_equal(r.replicas[1], 1);     /* lower bound kept, no growth */
    assert_true(fabs(r.inventory_overcommit[0] - 2) < 1e-9);
    assert_true(fabs(r.replica_shortage[1] - 4) < 1e-9);
    solver_result_free(&r);
}

/* ---- properties --------------------------------------------------------- */

static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng_state >> 33) % n);
}

static void check_random_problem(void)
{
    struct solver_variant v[12];
    struct solver_model m[4];
    struct solver_accelerator a[3];
    size_t nv = 1 + rnd(12), nm = 1 + rnd(4), na = 1 + rnd(3);
    struct solver_problem p = problem(v, nv, m, nm, a, na, (int)rnd(4) != 0);
    struct solver_result r;
    double c_min = 0;

    for (size_t j = 0; j < nm; j++) {
        m[j].priority = (int)rnd(3);
        m[j].kv_demand = rnd(3) ? rnd(2000) + 0.5 * rnd(2) : 0;
        m[j].replica_demand = rnd(2) ? rnd(8) : 0;
    }
    for (size_t k = 0; k < na; k++)
        a[k].gpus_available = rnd(16) + 0.5 * rnd(2);
    for (size_t i = 0; i < nv; i++) {
        int cur = (int)rnd(5), kind = (int)rnd(4);

        v[i] = var(rnd(nm), (int)rnd(na + 1) - 1, rnd(50) + 0.25 * rnd(4),
                   50 + rnd(400), rnd(4) + 0.5 * rnd(2), cur, 0, UNB);
        if (kind == 0) {                        /* grow */
            v[i].lower = cur;
            v[i].upper = rnd(2) ? UNB : cur + (int)rnd(5);
        } else if (kind == 1) {                 /* shrink */
            v[i].lower = (int)rnd((unsigned)cur + 1);
            v[i].upper = cur;
        } else if (kind == 2) {                 /* hold */
            v[i].lower = v[i].upper = cur;
        } else {                                /* free */
            v[i].upper = rnd(2) ? UNB : (int)rnd(6);
        }
        if (v[i].cost > 0 && (c_min == 0 || v[i].cost < c_min))
            c_min = v[i].cost;
    }

    run_ok(&p, &r);
    double use[3] = {0}, low[3] = {0}, kv[4] = {0}, reps[4] = {0}, cost = 0;
    int short_any = 0;
    for (size_t i = 0; i < nv; i++) {
        assert_true(r.replicas[i] >= v[i].lower);
        if (v[i].upper != UNB)
            assert_true(r.replicas[i] <= v[i].upper);
        if (v[i].accelerator >= 0) {
            use[v[i].accelerator] += v[i].gpus * r.replicas[i];
            low[v[i].accelerator] += v[i].gpus * v[i].lower;
        }
        kv[v[i].model] += v[i].capacity * r.replicas[i];
        reps[v[i].model] += r.replicas[i];
        cost += v[i].cost * r.replicas[i];
    }
    for (size_t k = 0; k < na; k++) {
        double limit = fmax(a[k].gpus_available, low[k]);

        if (p.limited) {
            assert_true(use[k] <= limit + 1e-9);
            assert_true(fabs(r.inventory_overcommit[k] - (limit - a[k].gpus_available)) < 1e-9);
        } else {
            assert_true(r.inventory_overcommit[k] == 0);
        }
    }
    for (size_t j = 0; j < nm; j++) {
        assert_true(fabs(r.kv_shortage[j] - fmax(0, m[j].kv_demand - kv[j])) < 1e-6);
        assert_true(fabs(r.replica_shortage[j] - fmax(0, m[j].replica_demand - reps[j])) < 1e-6);
        short_any |= r.kv_shortage[j] > 0 || r.replica_shortage[j] > 0;
    }
    assert_true(fabs(r.int_cost - cost) < 1e-9);
    /* With every demand met, the integer plan is feasible for the LP and
     * so costs at least its optimum, up to the tiny change and tie-break
     * weights (1e-4 of the smallest cost per replica moved).  With
     * shortage left, a fractional LP can use GPUs rounding cannot. */
    if (!short_any)
        assert_true(r.int_cost >= r.lp_objective - 1e-6 - 1e-3 * c_min * (double)nv);

    /* same LP optimum as the plain cold solve */
    struct solver_result ref;
    struct wva_error err = {0};
    assert_int_equal(solver_run_reference(&p, &ref, &err), 0);
    assert_string_equal(ref.method, "reference");
    if (fabs(r.lp_penalized - ref.lp_penalized) > 1e-7 * fmax(1.0, fabs(ref.lp_penalized)))
        fail_msg("%s objective %.10g, reference %.10g", r.method, r.lp_penalized,
                 ref.lp_penalized);
    solver_result_free(&ref);
    solver_result_free(&r);
}

static void test_random_rounding_properties(void **state)
{
    (void)state;
    rng_state = 12345;
    for (int k = 0; k < 200; k++)
        check_random_problem();
}

/* A large limited problem with heavy shortage, like a busy cluster: nm
 * models of 1-4 variants on na accelerators; half the models want to grow
 * and the spare GPUs are about half of what growing would take. */
static void make_shortage_problem(struct solver_problem *p, size_t nm, size_t na)
{
    static const int prios[] = {0, 0, 0, 0, 0, 0, 1, 5, 10, 100};
    double *want = calloc(na, sizeof(*want)), *low = calloc(na, sizeof(*low));
    size_t nv = 0;

    assert_non_null(want);
    assert_non_null(low);
    p->models = calloc(nm, sizeof(*p->models));
    p->variants = calloc(4 * nm, sizeof(*p->variants));
    p->accelerators = calloc(na, sizeof(*p->accelerators));
    assert_non_null(p->models);
    assert_non_null(p->variants);
    assert_non_null(p->accelerators);
    p->models_count = nm;
    p->accelerators_count = na;
    p->limited = 1;
    for (size_t j = 0; j < nm; j++) {
        size_t n = 1 + rnd(4);
        int kind = (int)rnd(10);    /* 0-4 grow, 5-7 shrink, 8 hold, 9 free */
        double cap_total = 0;
        int cur_total = 0;

        p->models[j].priority = prios[rnd(10)];
        for (size_t k = 0; k < n; k++) {
            struct solver_variant *v = &p->variants[nv++];
            int cur = 1 + (int)rnd(4);
            double gpus = (double)(1u << rnd(3));

            /* distinct accelerators within a model, like real variants */
            *v = var(j, (int)((j + 3 * k) % na), gpus * (5 + rnd(56)) + 0.01 * rnd(100),
                     100 + rnd(900) + 0.1 * rnd(10), gpus, cur, 0, UNB);
            if (kind <= 4) {
                v->lower = cur;
                v->upper = rnd(4) ? UNB : cur + 2 + (int)rnd(5);
            } else if (kind <= 7) {
                v->lower = (int)rnd(2);
                v->upper = cur;
            } else if (kind == 8) {
                v->lower = v->upper = cur;
            } else {
                v->upper = 2 + (int)rnd(6);
            }
            cap_total += v->capacity * cur;
            cur_total += cur;
            low[v->accelerator] += v->gpus * v->lower;
            if (kind <= 4)
                want[v->accelerator] += v->gpus * (2 + rnd(4));
        }
        if (kind <= 4) {            /* overloaded: needs 1.3-2.5x */
            p->models[j].kv_demand = cap_total * (1.3 + 0.01 * rnd(120));
            p->models[j].replica_demand = cur_total + 1 + rnd(4);
        } else if (kind <= 7) {     /* idle: one replica fewer */
            p->models[j].kv_demand = cap_total * (0.3 + 0.01 * rnd(40));
            p->models[j].replica_demand = cur_total > 1 ? cur_total - 1 : 1;
        } else {
            p->models[j].kv_demand = cap_total * 0.9;
            p->models[j].replica_demand = cur_total;
        }
    }
    p->variants_count = nv;
    for (size_t a = 0; a < na; a++)
        p->accelerators[a].gpus_available = low[a] + floor(0.5 * want[a]);
    free(want);
    free(low);
}

static void free_problem(struct solver_problem *p)
{
    free(p->models);
    free(p->variants);
    free(p->accelerators);
}

/* The price decomposition reaches the same LP optimum as GLPK's plain
 * cold solve of the full LP, and its plan keeps the rounding guarantees. */
static void test_prices_match_reference(void **state)
{
    (void)state;
    rng_state = 777;
    for (int k = 0; k < 6; k++) {
        struct solver_problem p = {0};
        struct solver_result r, ref;
        struct wva_error err = {0};

        make_shortage_problem(&p, 520 + rnd(150), 3 + rnd(6));
        run_ok(&p, &r);
        assert_int_equal(solver_run_reference(&p, &ref, &err), 0);
        assert_true(r.lp_rows >= 800);     /* else the full LP is used */
        assert_string_equal(r.method, "prices");
        assert_string_equal(r.status, "optimal");
        assert_true(r.lp_columns == ref.lp_columns && r.lp_rows == ref.lp_rows);
        if (fabs(r.lp_penalized - ref.lp_penalized) > 1e-7 * fabs(ref.lp_penalized))
            fail_msg("problem %d: objective %.12g, reference %.12g", k, r.lp_penalized,
                     ref.lp_penalized);
        /* heavy shortage: the inventory binds and demand is left unmet */
        double unmet = 0, *use = calloc(p.accelerators_count, sizeof(*use));
        assert_non_null(use);
        for (size_t j = 0; j < p.models_count; j++)
            unmet += r.replica_shortage[j];
        assert_true(unmet > 10);
        for (size_t i = 0; i < p.variants_count; i++) {
            const struct solver_variant *v = &p.variants[i];

            assert_true(r.replicas[i] >= v->lower);
            if (v->upper != UNB)
                assert_true(r.replicas[i] <= v->upper);
            use[v->accelerator] += v->gpus * r.replicas[i];
        }
        for (size_t a = 0; a < p.accelerators_count; a++)
            assert_true(use[a] <= p.accelerators[a].gpus_available + 1e-9);
        /* deterministic */
        struct solver_result again;
        run_ok(&p, &again);
        assert_memory_equal(r.replicas, again.replicas, p.variants_count * sizeof(int));
        free(use);
        solver_result_free(&again);
        solver_result_free(&ref);
        solver_result_free(&r);
        free_problem(&p);
    }
}

static void test_deterministic_ties(void **state)
{
    /* identical variants: the first one takes the extra replica */
    struct solver_variant v[3] = {
        var(0, 0, 10, 100, 1, 1, 1, UNB),
        var(0, 0, 10, 100, 1, 1, 1, UNB),
        var(0, 0, 10, 100, 1, 1, 1, UNB),
    };
    struct solver_model m[1] = {{0, 450, 5}};
    struct solver_accelerator a[1] = {{100}};
    struct solver_problem p = problem(v, 3, m, 1, a, 1, 1);
    struct solver_result r1, r2;
    (void)state;

    run_ok(&p, &r1);
    run_ok(&p, &r2);
    assert_int_equal(r1.replicas[0], 3);
    assert_int_equal(r1.replicas[1], 1);
    assert_int_equal(r1.replicas[2], 1);
    assert_memory_equal(r1.replicas, r2.replicas, 3 * sizeof(int));
    assert_true(r1.lp_objective == r2.lp_objective);
    solver_result_free(&r1);
    solver_result_free(&r2);
}

static void test_glpk_prints_nothing(void **state)
{
    struct solver_variant v[40];
    struct solver_model m[10];
    struct solver_accelerator a[2] = {{6}, {3}};
    struct solver_problem p = problem(v, 40, m, 10, a, 2, 1);
    struct solver_result r;
    FILE *tmp = tmpfile();
    int saved;
    (void)state;

    for (size_t j = 0; j < 10; j++) {
        m[j].priority = (int)(j % 3);
        m[j].kv_demand = 900;
        m[j].replica_demand = 3;
    }
    for (size_t i = 0; i < 40; i++)
        v[i] = var(i % 10, (int)(i % 2), 5 + (double)(i % 7), 100 + 10 * (double)i, 1, 1, 1, UNB);

    assert_non_null(tmp);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
    struct wva_error err = {0};
    int rc = solver_run(&p, &r, &err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    assert_int_equal(rc, 0);
    assert_true(r.inventory_overcommit[0] > 0);  /* 20 held replicas on 6 GPUs */
    assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
    assert_int_equal(ftell(tmp), 0);
    fclose(tmp);
    solver_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_empty_problem),
        cmocka_unit_test(test_scale_up_cheapest_grows),
        cmocka_unit_test(test_scale_down_most_expensive_first),
        cmocka_unit_test(test_held_variants_unchanged),
        cmocka_unit_test(test_unbounded_upper),
        cmocka_unit_test(test_kv_cheapest_per_capacity_wins),
        cmocka_unit_test(test_least_change_for_free_variants),
        cmocka_unit_test(test_inventory_priority),
        cmocka_unit_test(test_inventory_priority_wide_replicas),
        cmocka_unit_test(test_many_priorities),
        cmocka_unit_test(test_infeasible_demand_is_shortage),
        cmocka_unit_test(test_overcommitted_lower_bounds),
        cmocka_unit_test(test_random_rounding_properties),
        cmocka_unit_test(test_prices_match_reference),
        cmocka_unit_test(test_deterministic_ties),
        cmocka_unit_test(test_glpk_prints_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
