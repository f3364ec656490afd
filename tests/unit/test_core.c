/* test_core.c - the shared building blocks: strbuf, strmap, errors. */
#include "test_util.h"

#include "wva/error.h"
#include "wva/exit_codes.h"
#include "wva/strbuf.h"
#include "wva/strmap.h"

static void test_strbuf(void **state)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *s;

    (void)state;
    assert_string_equal(wva_strbuf_str(&sb), "");
    wva_strbuf_adds(&sb, "abc");
    wva_strbuf_add(&sb, "defgh", 2);
    wva_strbuf_addf(&sb, "-%d-%s", 42, "x");
    assert_string_equal(wva_strbuf_str(&sb), "abcde-42-x");
    assert_int_equal(sb.len, 10);
    /* Longer than the formatting stack buffer. */
    wva_strbuf_reset(&sb);
    wva_strbuf_addf(&sb, "%0500d", 7);
    assert_int_equal(sb.len, 500);
    assert_int_equal(sb.buf[499], '7');
    s = wva_strbuf_detach(&sb);
    assert_null(sb.buf);
    assert_int_equal(strlen(s), 500);
    free(s);
    s = wva_strbuf_detach(&sb);
    assert_string_equal(s, "");
    free(s);
    wva_strbuf_release(&sb);
    assert_null(wva_xstrdup(NULL));
}

static void test_strmap(void **state)
{
    struct wva_strmap *map = strmap_new(2);
    char key[512], buf[32];
    size_t v = 0;

    (void)state;
    /* Enough keys to force several rehashes. */
    for (size_t i = 0; i < 5000; i++) {
        snprintf(buf, sizeof(buf), "k%zu", i);
        assert_true(strmap_put(map, buf, i));
    }
    assert_false(strmap_put(map, "k17", 99));
    assert_true(strmap_get(map, "k17", &v));
    assert_int_equal(v, 17);
    assert_true(strmap_get(map, "k4999", &v));
    assert_int_equal(v, 4999);
    assert_false(strmap_get(map, "k5000", &v));
    assert_false(strmap_get(map, "", NULL));
    assert_string_equal(strmap_key2(key, sizeof(key), "ns", "pod"), "ns/pod");
    assert_string_equal(strmap_key2(key, sizeof(key), NULL, "pod"), "/pod");
    strmap_free(map);
    strmap_free(NULL);
}

static void test_error(void **state)
{
    struct wva_error err = {0};

    (void)state;
    wva_error_set(&err, "bad %s", "value");
    wva_error_prefix(&err, "ConfigMap %s: ", "a/b");
    assert_string_equal(err.msg, "ConfigMap a/b: bad value");
    wva_error_clear(&err);
    assert_string_equal(err.msg, "");
    wva_error_set(NULL, "ignored");
    /* An overlong prefix truncates instead of overflowing. */
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    wva_error_set(&err, "tail");
    wva_error_prefix(&err, "%s", big);
    assert_int_equal(strlen(err.msg), WVA_ERROR_MAX - 1);
}

/* Kinds survive context and decide the exit code in one place. */
static void test_error_kinds(void **state)
{
    struct wva_error err = {0};

    (void)state;
    assert_int_equal(err.kind, WVA_ERR_NONE);
    wva_error_setk(&err, WVA_ERR_INPUT, "pods.items[0]: missing");
    wva_error_prefix(&err, "snapshot %s: ", "x.json");
    assert_int_equal(err.kind, WVA_ERR_INPUT);
    assert_string_equal(err.msg, "snapshot x.json: pods.items[0]: missing");
    wva_error_set(&err, "plain");
    assert_int_equal(err.kind, WVA_ERR_INTERNAL);
    wva_error_clear(&err);
    assert_int_equal(err.kind, WVA_ERR_NONE);
    wva_error_setk(NULL, WVA_ERR_CONFIG, "ignored");

    assert_int_equal(wva_exit_code_for(WVA_ERR_NONE), 0);
    assert_int_equal(wva_exit_code_for(WVA_ERR_USAGE), 2);
    assert_int_equal(wva_exit_code_for(WVA_ERR_CONFIG), 2);
    assert_int_equal(wva_exit_code_for(WVA_ERR_INPUT), 2);
    assert_int_equal(wva_exit_code_for(WVA_ERR_PARTIAL), 3);
    assert_int_equal(wva_exit_code_for(WVA_ERR_CHECK_FAILED), 4);
    assert_int_equal(wva_exit_code_for(WVA_ERR_UNREACHABLE), 1);
    assert_int_equal(wva_exit_code_for(WVA_ERR_FORBIDDEN), 1);
    assert_int_equal(wva_exit_code_for(WVA_ERR_SERVER), 1);
    assert_int_equal(wva_exit_code_for(WVA_ERR_STORE), 1);
    assert_int_equal(wva_exit_code_for(WVA_ERR_INTERNAL), 1);
    assert_string_equal(wva_error_kind_name(WVA_ERR_FORBIDDEN), "forbidden");
    assert_string_equal(wva_error_kind_name(WVA_ERR_CHECK_FAILED), "check-failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strbuf),
        cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_error_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
