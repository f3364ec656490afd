/* test_sizing.c - the sizing policy (src/sizing.c): demand from the KV in
 * use, the backlog as a stock, the spare, the step rules. */
#include "test_util.h"

#include <math.h>

#include "wva/sizing.h"

static const struct sizing_params params = {.cover = 0.7, .drain_seconds = 120, .spare = 0};

/* Steady load: completions equal arrivals, no queue: the KV in use at the
 * cover target, nothing for the queue. */
static void test_steady_load(void **state)
{
    struct sizing_load load = {.kv_used = 1.4, .queue = 0, .running = 200, .completion_rate = 20};
    struct sizing_demand d;

    (void)state;
    sizing_model_demand(&load, &params, &d);
    assert_true(d.rate_known);
    assert_float_equal(d.backlog, 0, 1e-12);
    assert_float_equal(d.arrival_rate, 20, 1e-12);
    assert_float_equal(d.capacity, 2.0, 1e-12);
}

/* A backlog is a stock: charged once over the drain time, in the capacity
 * its requests will hold (kv per request x time in service). */
static void test_backlog_is_a_stock(void **state)
{
    /* one replica full (kv 1.0 of capacity 1), 20 req/s served, 2,400
     * waiting: over 120 s that is 20 req/s more, i.e. one more replica's
     * worth of KV (1.0). */
    struct sizing_load load = {.kv_used = 1.0, .queue = 2400, .running = 200,
                               .completion_rate = 20};
    struct sizing_demand d;

    (void)state;
    sizing_model_demand(&load, &params, &d);
    assert_float_equal(d.backlog, 1.0, 1e-12);
    assert_float_equal(d.arrival_rate, 40, 1e-12);
    assert_float_equal(d.capacity, 2.0 / 0.7, 1e-12);
    /* Linear in the queue: twice the backlog is twice the extra, never one
     * replica per few requests (the old row gave 2,400 / 2 = 1,200). */
    load.queue = 4800;
    sizing_model_demand(&load, &params, &d);
    assert_float_equal(d.capacity, 3.0 / 0.7, 1e-12);
    /* The result does not depend on requests running, only on KV and
     * completions (resident tokens x service time cancel). */
    load.running = 50;
    sizing_model_demand(&load, &params, &d);
    assert_float_equal(d.capacity, 3.0 / 0.7, 1e-12);
}

/* Without running or completion figures the queue is not turned into
 * capacity (unknown stays unknown); the KV in use still counts. */
static void test_unknown_rates(void **state)
{
    struct sizing_load load = {.kv_used = 0.7, .queue = 500, .running = NAN,
                               .completion_rate = 20};
    struct sizing_demand d;

    (void)state;
    sizing_model_demand(&load, &params, &d);
    assert_false(d.rate_known);
    assert_true(isnan(d.arrival_rate));
    assert_float_equal(d.backlog, 0, 1e-12);
    assert_float_equal(d.capacity, 1.0, 1e-12);
    load.running = 10;
    load.completion_rate = NAN;
    sizing_model_demand(&load, &params, &d);
    assert_false(d.rate_known);
    /* nothing completes: no service time to reason with */
    load.completion_rate = 0;
    sizing_model_demand(&load, &params, &d);
    assert_false(d.rate_known);
    assert_float_equal(d.capacity, 1.0, 1e-12);
}

static void test_spare_and_bad_inputs(void **state)
{
    struct sizing_params p = {.cover = 0.7, .drain_seconds = 120, .spare = 0.5};
    struct sizing_load load = {.kv_used = 0, .queue = 0, .running = 0, .completion_rate = 0};
    struct sizing_demand d;

    (void)state;
    sizing_model_demand(&load, &p, &d);
    assert_float_equal(d.capacity, 0.5, 1e-12);   /* idle: only the spare */
    load.kv_used = -3;
    load.queue = NAN;
    p.spare = -1;
    p.cover = 0;
    p.drain_seconds = -5;
    sizing_model_demand(&load, &p, &d);
    assert_float_equal(d.capacity, 0, 1e-12);
    assert_true(isfinite(d.capacity));
    /* a cover above 1 is read as 1 */
    load.kv_used = 2;
    p.cover = 3;
    p.spare = 0;
    sizing_model_demand(&load, &p, &d);
    assert_float_equal(d.capacity, 2, 1e-12);
}

static void test_scale_down_step(void **state)
{
    (void)state;
    assert_int_equal(sizing_scale_down_step(0), 1);
    assert_int_equal(sizing_scale_down_step(1), 1);
    assert_int_equal(sizing_scale_down_step(2), 1);
    assert_int_equal(sizing_scale_down_step(3), 1);
    assert_int_equal(sizing_scale_down_step(10), 5);
    assert_int_equal(sizing_scale_down_step(101), 50);
}

/* The minimum growth step of one applies only when nothing is starting. */
static void test_min_growth(void **state)
{
    (void)state;
    assert_int_equal(sizing_min_growth_target(4, 0), 5);
    assert_int_equal(sizing_min_growth_target(4, 2), 0);
    assert_int_equal(sizing_min_growth_target(0, 0), 1);
}

/* At most double per run, at least 4 (HPA's default scale-up policy). */
static void test_max_growth(void **state)
{
    (void)state;
    assert_int_equal(sizing_max_growth(0), 4);
    assert_int_equal(sizing_max_growth(3), 4);
    assert_int_equal(sizing_max_growth(5), 5);
    assert_int_equal(sizing_max_growth(40), 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_load),
        cmocka_unit_test(test_backlog_is_a_stock),
        cmocka_unit_test(test_unknown_rates),
        cmocka_unit_test(test_spare_and_bad_inputs),
        cmocka_unit_test(test_scale_down_step),
        cmocka_unit_test(test_min_growth),
        cmocka_unit_test(test_max_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
