/* test_analyze.c - saturation analysis facts from SPEC section 6 and the
 * engine issue: thresholds 0.80 / 5 / 0.10 / 3. */
#include "test_util.h"

#include "wva/analyze.h"

static const struct wva_thresholds defaults = {
    .kv_cache_threshold = 0.80,
    .queue_length_threshold = 5,
    .kv_spare_trigger = 0.10,
    .queue_spare_trigger = 3,
    .scale_down_stabilization = 300,
};

static void test_two_busy_replicas_scale_up(void **state)
{
    struct wva_replica_load r[] = {{0.75, 2}, {0.76, 2}};
    struct wva_analysis a;

    (void)state;
    analyze_model(r, 2, &defaults, &a);
    assert_int_equal(a.non_saturated, 2);
    assert_float_equal(a.avg_spare_kv, 0.045, 1e-9);
    assert_float_equal(a.avg_spare_queue, 3.0, 1e-9);
    assert_true(a.should_scale_up);
    assert_false(a.scale_down_safe);
}

static void test_three_idle_replicas_scale_down_safe(void **state)
{
    struct wva_replica_load r[] = {{0.20, 1}, {0.30, 1}, {0.25, 1}};
    struct wva_analysis a;

    (void)state;
    analyze_model(r, 3, &defaults, &a);
    assert_false(a.should_scale_up);
    assert_true(a.scale_down_safe);
    assert_float_equal(a.avg_spare_kv, 0.55, 1e-9);
    assert_float_equal(a.avg_spare_queue, 4.0, 1e-9);
}

static void test_single_replica_never_scale_down_safe(void **state)
{
    struct wva_replica_load r[] = {{0.01, 0}};
    struct wva_analysis a;

    (void)state;
    analyze_model(r, 1, &defaults, &a);
    assert_int_equal(a.non_saturated, 1);
    assert_false(a.should_scale_up);
    assert_false(a.scale_down_safe);
}

static void test_saturation_thresholds(void **state)
{
    struct wva_replica_load kv_hot = {0.85, 0}, queue_hot = {0.1, 6};
    struct wva_replica_load kv_edge = {0.80, 0}, queue_edge = {0.1, 5};
    struct wva_replica_load cool = {0.79, 4.9};

    (void)state;
    assert_true(analyze_replica_saturated(&kv_hot, &defaults));
    assert_true(analyze_replica_saturated(&queue_hot, &defaults));
    assert_true(analyze_replica_saturated(&kv_edge, &defaults));
    assert_true(analyze_replica_saturated(&queue_edge, &defaults));
    assert_false(analyze_replica_saturated(&cool, &defaults));
}

static void test_all_saturated(void **state)
{
    struct wva_replica_load r[] = {{0.85, 0}, {0.3, 6}};
    struct wva_analysis a;

    (void)state;
    analyze_model(r, 2, &defaults, &a);
    assert_int_equal(a.non_saturated, 0);
    assert_float_equal(a.avg_spare_kv, 0, 0);
    assert_float_equal(a.avg_spare_queue, 0, 0);
    assert_true(a.should_scale_up);
    assert_false(a.scale_down_safe);
}

static void test_saturated_replicas_excluded_from_averages(void **state)
{
    /* One saturated replica; the other two have plenty of room. */
    struct wva_replica_load r[] = {{0.95, 9}, {0.2, 0}, {0.4, 2}};
    struct wva_analysis a;

    (void)state;
    analyze_model(r, 3, &defaults, &a);
    assert_int_equal(a.non_saturated, 2);
    assert_float_equal(a.avg_spare_kv, 0.5, 1e-9);
    assert_float_equal(a.avg_spare_queue, 4.0, 1e-9);
    assert_false(a.should_scale_up);
    /* Load 0.6 kv on one replica leaves 0.2 >= 0.1; queue 2 leaves 3 >= 3. */
    assert_true(a.scale_down_safe);
}

static void test_strict_trigger_comparison(void **state)
{
    /* avgSpareKv exactly at the trigger is not a scale-up. */
    struct wva_replica_load r[] = {{0.70, 2}, {0.70, 2}};
    struct wva_analysis a;

    (void)state;
    analyze_model(r, 2, &defaults, &a);
    assert_float_equal(a.avg_spare_kv, 0.10, 1e-9);
    assert_false(a.avg_spare_kv < defaults.kv_spare_trigger - 1e-9);
    assert_false(a.scale_down_safe);
}

static void test_scale_down_blocked_by_queue(void **state)
{
    /* KV says fine, but two replicas' queues (1.5 each) on one replica make 3,
     * leaving 2 < queueSpareTrigger 3. */
    struct wva_replica_load r[] = {{0.1, 1.5}, {0.1, 1.5}};
    struct wva_analysis a;

    (void)state;
    analyze_model(r, 2, &defaults, &a);
    assert_false(a.should_scale_up);
    assert_false(a.scale_down_safe);
}

static void test_no_replicas(void **state)
{
    struct wva_analysis a;

    (void)state;
    analyze_model(NULL, 0, &defaults, &a);
    assert_int_equal(a.replicas, 0);
    assert_false(a.should_scale_up);
    assert_false(a.scale_down_safe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_busy_replicas_scale_up),
        cmocka_unit_test(test_three_idle_replicas_scale_down_safe),
        cmocka_unit_test(test_single_replica_never_scale_down_safe),
        cmocka_unit_test(test_saturation_thresholds),
        cmocka_unit_test(test_all_saturated),
        cmocka_unit_test(test_saturated_replicas_excluded_from_averages),
        cmocka_unit_test(test_strict_trigger_comparison),
        cmocka_unit_test(test_scale_down_blocked_by_queue),
        cmocka_unit_test(test_no_replicas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
