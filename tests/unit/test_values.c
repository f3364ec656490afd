/* test_values.c - the value parsers of src/values.c. */
#include <math.h>
#include <stdbool.h>

#include "test_util.h"
#include <json-c/json.h>

#include "wva/values.h"

/* cmocka's assert_float_equal works in float; these values need double. */
#define assert_near(a, b, eps) near_check((a), (b), (eps), #a, __FILE__, __LINE__)

static void near_check(double a, double b, double eps, const char *expr,
                       const char *file, int line)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("%s:%d: %s = %.17g, want %.17g (+-%g)", file, line, expr, a, b, eps);
}

static double dur_ok(const char *text)
{
    struct wva_error err = {0};
    double s = -1;

    if (values_parse_duration(text, &s, &err) != 0)
        fail_msg("duration \"%s\" rejected: %s", text, err.msg);
    return s;
}

static const char *dur_bad(const char *text)
{
    static struct wva_error err;
    double s = 12345;

    wva_error_clear(&err);
    assert_int_equal(values_parse_duration(text, &s, &err), -1);
    assert_true(s == 12345);    /* output untouched on error */
    return err.msg;
}

static void test_bool(void **state)
{
    static const char *yes[] = {"true", "TRUE", "True", "tRuE", "1"};
    static const char *no[] = {"false", "FALSE", "False", "0"};
    static const char *bad[] = {"", "yes", "no", "on", "2", " true", "true ", "01", "t"};
    struct wva_error err;
    bool b;

    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
        b = false;
        assert_int_equal(values_parse_bool(yes[i], &b, &err), 0);
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
        b = true;
        assert_int_equal(values_parse_bool(no[i], &b, &err), 0);
        assert_false(b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(values_parse_bool(bad[i], &b, &err), -1);
    values_parse_bool("yes", &b, &err);
    assert_string_equal(err.msg, "\"yes\" is not a boolean (true, false, 1 or 0)");
    assert_int_equal(values_parse_bool(NULL, &b, &err), -1);
}

static void test_duration_simple(void **state)
{
    (void)state;
    assert_true(dur_ok("90s") == 90);
    assert_true(dur_ok("2h") == 7200);
    assert_true(dur_ok("5m") == 300);
    assert_true(dur_ok("0") == 0);
    assert_true(dur_ok("0s") == 0);
    assert_true(dur_ok("+5s") == 5);
    assert_near(dur_ok("300ms"), 0.3, 1e-12);
    assert_near(dur_ok("1500us"), 0.0015, 1e-12);
    assert_near(dur_ok("1500\xc2\xb5s"), 0.0015, 1e-12);   /* U+00B5 */
    assert_near(dur_ok("1500\xce\xbcs"), 0.0015, 1e-12);   /* U+03BC */
    assert_near(dur_ok("20ns"), 2e-8, 1e-18);
}

static void test_duration_fraction_and_compound(void **state)
{
    (void)state;
    assert_near(dur_ok("1.5h"), 5400, 1e-9);
    assert_near(dur_ok(".5s"), 0.5, 1e-12);
    assert_near(dur_ok("5.s"), 5, 1e-12);
    assert_near(dur_ok("1m30s"), 90, 1e-9);
    assert_near(dur_ok("1h2m3.5s"), 3723.5, 1e-9);
    assert_near(dur_ok("1h1h"), 7200, 1e-9);    /* Go allows repeats */
    assert_near(dur_ok("2m500ms"), 120.5, 1e-9);
}

static void test_duration_errors(void **state)
{
    (void)state;
    assert_string_equal(dur_bad("5x"),
                        "\"5x\" is not a duration (Go syntax such as 90s, 1m30s, 2h)");
    assert_string_equal(dur_bad("90"),
                        "\"90\" is not a duration: missing unit (Go syntax such as 90s, 1m30s, 2h)");
    assert_string_equal(dur_bad("-5s"),
                        "\"-5s\" is not a valid duration: negative durations are not allowed");
    assert_non_null(strstr(dur_bad(""), "empty value is not a duration"));
    assert_non_null(strstr(dur_bad("1m30"), "missing unit"));
    assert_non_null(strstr(dur_bad("s"), "is not a duration"));
    assert_non_null(strstr(dur_bad("."), "is not a duration"));
    assert_non_null(strstr(dur_bad(".s"), "is not a duration"));
    assert_non_null(strstr(dur_bad("+"), "is not a duration"));
    assert_non_null(strstr(dur_bad("1S"), "is not a duration"));
    assert_non_null(strstr(dur_bad(" 1s"), "is not a duration"));
    assert_non_null(strstr(dur_bad("1s "), "is not a duration"));
    assert_non_null(strstr(dur_bad("1d"), "is not a duration"));
    assert_non_null(strstr(dur_bad("1e3s"), "is not a duration"));
    assert_non_null(strstr(dur_bad("1.2.3s"), "is not a duration"));
    assert_null(strstr(dur_bad(NULL), "(null)"));
}

static void test_duration_bounds(void **state)
{
    char big[400];

    (void)state;
    assert_near(dur_ok("87600h"), 315360000.0, 1e-3);   /* 10 years */
    assert_string_equal(dur_bad("87601h"),
                        "\"87601h\" is out of range for a duration (at most 10 years)");
    memset(big, '9', sizeof(big) - 2);
    big[sizeof(big) - 2] = 'h';
    big[sizeof(big) - 1] = '\0';
    /* 398 digits: no overflow, no crash, and the message is truncated. */
    const char *msg = dur_bad(big);
    assert_non_null(strstr(msg, "out of range"));
    assert_true(strlen(msg) < 200);
}

static void test_number(void **state)
{
    struct wva_error err;
    double v;

    (void)state;
    assert_int_equal(values_parse_number("0.80", &v, &err), 0);
    assert_near(v, 0.8, 1e-15);
    assert_int_equal(values_parse_number("-3", &v, &err), 0);
    assert_true(v == -3);
    assert_int_equal(values_parse_number("1e-3", &v, &err), 0);
    assert_near(v, 0.001, 1e-15);
    assert_int_equal(values_parse_number(".5", &v, &err), 0);
    assert_true(v == 0.5);
    static const char *bad[] = {"", "abc", "0x10", "inf", "nan", " 1", "1 ", "1e",
                                "1e+", "--1", "1,5", "1e999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        v = 42;
        assert_int_equal(values_parse_number(bad[i], &v, &err), -1);
        assert_true(v == 42);
    }
    values_parse_number("abc", &v, &err);
    assert_string_equal(err.msg, "\"abc\" is not a number");
    values_parse_number("1e999", &v, &err);
    assert_string_equal(err.msg, "\"1e999\" is out of range for a number");
}

static void test_quantity(void **state)
{
    static const struct {
        const char *text;
        double value;
    } ok[] = {
        {"1", 1}, {"2.5", 2.5}, {"500m", 0.5}, {"1k", 1000}, {"1Ki", 1024},
        {"1Mi", 1048576}, {"1Gi", 1073741824.0}, {"2Ti", 2199023255552.0},
        {"1Pi", 1125899906842624.0}, {"1Ei", 1152921504606846976.0},
        {"100n", 1e-7}, {"5u", 5e-6}, {"3M", 3e6}, {"4G", 4e9}, {"1T", 1e12},
        {"1P", 1e15}, {"2E", 2e18}, {"1e3", 1000}, {"1E3", 1000}, {"5e-1", 0.5},
        {"1.5e+2", 150}, {"-1", -1}, {"+2", 2}, {"0", 0}, {".5", 0.5}, {"1.5Gi", 1610612736.0},
    };
    static const char *bad[] = {"", "Gi", "1g", "1Kb", "1 Gi", "1e", "1ee3", "abc",
                                "1.2.3", "0x1", "1Gii", "1e3Gi", "-", "1e400"};
    struct wva_error err;
    double v;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        if (values_parse_quantity(ok[i].text, &v, &err) != 0)
            fail_msg("quantity %s rejected: %s", ok[i].text, err.msg);
        assert_near(v, ok[i].value, fabs(ok[i].value) * 1e-12 + 1e-18);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (values_parse_quantity(bad[i], &v, &err) == 0)
            fail_msg("quantity \"%s\" accepted as %g", bad[i], v);
    }
    values_parse_quantity("1Kb", &v, &err);
    assert_string_equal(err.msg, "\"1Kb\" is not a quantity (such as 2, 500m, 1.5Gi, 1e3)");
}

static void test_int(void **state)
{
    struct wva_error err;
    long v;

    (void)state;
    assert_int_equal(values_parse_int("42", 0, 100, &v, &err), 0);
    assert_int_equal(v, 42);
    assert_int_equal(values_parse_int("-7", -10, 10, &v, &err), 0);
    assert_int_equal(v, -7);
    assert_int_equal(values_parse_int("+7", 0, 10, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(values_parse_int("0", 0, 0, &v, &err), 0);
    v = 99;
    assert_int_equal(values_parse_int("11", 0, 10, &v, &err), -1);
    assert_string_equal(err.msg, "11 is not in [0,10]");
    assert_int_equal(v, 99);
    assert_int_equal(values_parse_int("-1", 0, 10, &v, &err), -1);
    assert_int_equal(values_parse_int("99999999999999999999999", 0, 10, &v, &err), -1);
    assert_non_null(strstr(err.msg, "is not in [0,10]"));
    assert_int_equal(values_parse_int("1.5", 0, 10, &v, &err), -1);
    assert_string_equal(err.msg, "\"1.5\" is not an integer");
    assert_int_equal(values_parse_int(" 1", 0, 10, &v, &err), -1);
    assert_int_equal(values_parse_int("1 ", 0, 10, &v, &err), -1);
    assert_int_equal(values_parse_int("", 0, 10, &v, &err), -1);
    assert_int_equal(values_parse_int("-", 0, 10, &v, &err), -1);
    assert_int_equal(values_parse_int("abc", 0, 10, &v, &err), -1);
    assert_int_equal(values_parse_int(NULL, 0, 10, &v, &err), -1);
}

static void test_is_decimal(void **state)
{
    (void)state;
    assert_true(values_is_decimal("10"));
    assert_true(values_is_decimal("10.0"));
    assert_true(values_is_decimal("0.25"));
    assert_true(values_is_decimal("0"));
    assert_false(values_is_decimal(""));
    assert_false(values_is_decimal(NULL));
    assert_false(values_is_decimal("10."));
    assert_false(values_is_decimal(".5"));
    assert_false(values_is_decimal("-1"));
    assert_false(values_is_decimal("+1"));
    assert_false(values_is_decimal("1e3"));
    assert_false(values_is_decimal("1.2.3"));
    assert_false(values_is_decimal(" 1"));
    assert_false(values_is_decimal("1 "));
    assert_false(values_is_decimal("abc"));
}

static void expect_accel(const char *in, const char *want)
{
    char *got = values_normalize_accelerator(in);

    assert_non_null(got);
    if (strcmp(got, want) != 0) {
        fail_msg("normalize(%s) = %s, want %s", in, got, want);
    }
    free(got);
}

static void test_accelerator(void **state)
{
    (void)state;
    expect_accel("NVIDIA-A100-PCIE-80GB", "A100");
    expect_accel("NVIDIA-A100-SXM4-80GB", "A100");
    expect_accel("NVIDIA-H100-80GB-HBM3", "H100");
    expect_accel("nvidia-L4", "L4");
    expect_accel("NVIDIA-T4", "T4");
    expect_accel("AMD-MI300X-192G", "MI300X");
    expect_accel("amd-MI250", "MI250");
    expect_accel("Intel-Gaudi-2-96GB", "Gaudi-2");
    expect_accel("Intel-Gaudi-3", "Gaudi-3");
    expect_accel("INTEL-Gaudi-3-128GB", "Gaudi-3");
    expect_accel("Intel-Gaudi-HL225", "Gaudi");
    expect_accel("Intel-Max-1550", "Max");
    expect_accel("A100", "A100");
    expect_accel("H100", "H100");
    expect_accel("Tesla-T4", "Tesla-T4");           /* no known vendor prefix */
    expect_accel("custom-accel-x", "custom-accel-x");
    expect_accel("NVIDIA-", "NVIDIA-");             /* no model token */
    expect_accel("", "");
    assert_null(values_normalize_accelerator(NULL));
}

static void test_rfc3339(void **state)
{
    struct wva_error err;
    double t;
    char buf[32];

    (void)state;
    assert_int_equal(values_parse_rfc3339("1970-01-01T00:00:00Z", &t, &err), 0);
    assert_true(t == 0);
    assert_int_equal(values_parse_rfc3339("2026-11-27T10:00:00Z", &t, &err), 0);
    assert_true(t == 1795773600.0);
    assert_int_equal(values_parse_rfc3339("2026-11-27T10:00:00.25Z", &t, &err), 0);
    assert_near(t, 1795773600.25, 1e-6);
    assert_int_equal(values_parse_rfc3339("2026-11-27T12:30:00+02:30", &t, &err), 0);
    assert_true(t == 1795773600.0);
    assert_int_equal(values_parse_rfc3339("2026-11-27T07:00:00-03:00", &t, &err), 0);
    assert_true(t == 1795773600.0);
    assert_int_equal(values_parse_rfc3339("2024-02-29t00:00:00z", &t, &err), 0);
    assert_true(t == 1709164800.0);

    static const char *bad[] = {"", "2026-11-27", "2026-11-27T10:00:00", "2026-13-01T00:00:00Z",
                                "2026-02-29T00:00:00Z", "2026-11-27T24:00:00Z",
                                "2026-11-27T10:60:00Z", "2026-11-27T10:00:00+2:00",
                                "2026-11-27T10:00:00.Z", "2026-11-27T10:00:00Zjunk",
                                "26-11-27T10:00:00Z", "2026-00-10T00:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (values_parse_rfc3339(bad[i], &t, &err) == 0)
            fail_msg("timestamp \"%s\" accepted", bad[i]);
        assert_non_null(strstr(err.msg, bad[i][0] ? bad[i] : "empty"));
    }

    values_format_rfc3339(1795773600.75, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-27T10:00:00Z");
    values_format_rfc3339(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    values_format_rfc3339(1e300, buf, 21);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    /* round trip */
    assert_int_equal(values_parse_rfc3339("2031-05-06T07:08:09Z", &t, &err), 0);
    values_format_rfc3339(t, buf, sizeof(buf));
    assert_string_equal(buf, "2031-05-06T07:08:09Z");
}

static void test_dns_label(void **state)
{
    char long_label[70];

    (void)state;
    assert_true(values_is_dns_label("team-a", 6));
    assert_true(values_is_dns_label("a", 1));
    assert_true(values_is_dns_label("0x9", 3));
    assert_false(values_is_dns_label("", 0));
    assert_false(values_is_dns_label(NULL, 0));
    assert_false(values_is_dns_label("-a", 2));
    assert_false(values_is_dns_label("a-", 2));
    assert_false(values_is_dns_label("Team", 4));
    assert_false(values_is_dns_label("a.b", 3));
    assert_false(values_is_dns_label("a_b", 3));
    assert_true(values_is_dns_label("ab.c", 2));        /* only len bytes count */
    memset(long_label, 'a', sizeof(long_label));
    assert_true(values_is_dns_label(long_label, 63));
    assert_false(values_is_dns_label(long_label, 64));
}

static void test_monotonic(void **state)
{
    double a, b;

    (void)state;
    a = values_monotonic_seconds();
    b = values_monotonic_seconds();
    assert_true(a > 0 && b >= a);
}

/* The one JSON number writer: 6 digits for people, shortest round trip for
 * documents, and 0 for what JSON cannot write. */
static void test_json_number(void **state)
{
    static const struct {
        double value;
        int digits;
        const char *text;
    } cases[] = {
        {0.045, 6, "0.045"}, {2, 6, "2"}, {1234567, 6, "1.23457e+06"},
        {0.65, 0, "0.65"}, {20, 0, "20.0"}, {1e300, 0, "1e+300"}, {-0.5, 0, "-0.5"},
        {0.1 + 0.2, 0, "0.30000000000000004"},
        {NAN, 6, "0"}, {INFINITY, 6, "0"}, {-INFINITY, 0, "0.0"}, {NAN, 0, "0.0"},
    };
    char buf[40];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_object *o = values_json_number(cases[i].value, cases[i].digits);
        const char *text = json_object_to_json_string(o);
        double back = strtod(text, NULL);

        if (strcmp(text, cases[i].text) != 0)
            fail_msg("case %zu: %s, expected %s", i, text, cases[i].text);
        if (cases[i].digits == 0 && isfinite(cases[i].value) && back != cases[i].value)
            fail_msg("case %zu: %s does not read back", i, text);
        json_object_put(o);
    }
    values_format_double(0.65, buf, sizeof(buf));
    assert_string_equal(buf, "0.65");
    values_format_double(1.0 / 3, buf, sizeof(buf));
    assert_true(strtod(buf, NULL) == 1.0 / 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_duration_simple),
        cmocka_unit_test(test_duration_fraction_and_compound),
        cmocka_unit_test(test_duration_errors),
        cmocka_unit_test(test_duration_bounds),
        cmocka_unit_test(test_number),
        cmocka_unit_test(test_quantity),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_is_decimal),
        cmocka_unit_test(test_accelerator),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_dns_label),
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_json_number),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
