/* test_core.c - the shared building blocks: strbuf, strmap, kvlist,
 * warnings, errors. */
#include "test_util.h"

#include "wva/error.h"
#include "wva/exit_codes.h"
#include "wva/strbuf.h"
#include "wva/kvlist.h"
#include "wva/strmap.h"
#include "wva/warnings.h"

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
    char buf[32];
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
    strmap_free(map);
    strmap_free(NULL);
}

/* Two-part keys stay apart from each other and from one-part keys. */
static void test_strmap_two_parts(void **state)
{
    struct wva_strmap *map = strmap_new(0);
    size_t v = 0;

    (void)state;
    assert_true(strmap_put2(map, "ns", "pod", 1));
    assert_false(strmap_put2(map, "ns", "pod", 2));
    assert_true(strmap_get2(map, "ns", "pod", &v));
    assert_int_equal(v, 1);
    /* the split point is part of the key */
    assert_true(strmap_put2(map, "a/b", "c", 3));
    assert_true(strmap_put2(map, "a", "b/c", 4));
    assert_true(strmap_get2(map, "a/b", "c", &v));
    assert_int_equal(v, 3);
    assert_true(strmap_get2(map, "a", "b/c", &v));
    assert_int_equal(v, 4);
    assert_false(strmap_get(map, "a/b/c", NULL));
    assert_false(strmap_get(map, "ns/pod", NULL));
    assert_true(strmap_put(map, "ns/pod", 5));
    assert_true(strmap_get2(map, "ns", "pod", &v));
    assert_int_equal(v, 1);
    /* NULL parts are "" */
    assert_true(strmap_put2(map, NULL, "m", 6));
    assert_true(strmap_get2(map, "", "m", &v));
    assert_int_equal(v, 6);
    assert_false(strmap_get2(map, "m", "", NULL));
    /* enough to grow several times with two-part keys */
    for (size_t i = 0; i < 3000; i++) {
        char ns[32];

        snprintf(ns, sizeof(ns), "ns%zu", i);
        assert_true(strmap_put2(map, ns, "model", 100 + i));
    }
    assert_true(strmap_get2(map, "ns2999", "model", &v));
    assert_int_equal(v, 3099);
    assert_true(strmap_get2(map, "a", "b/c", &v));
    assert_int_equal(v, 4);
    strmap_free(map);
}

/* Keys are whole, whatever their length: two model IDs of 2 KiB that
 * differ only in their last byte are two entries (a fixed 1 KiB key buffer
 * once merged them). */
static void test_strmap_long_keys(void **state)
{
    struct wva_strmap *map = strmap_new(4);
    char a[2049], b[2049];
    size_t v = 0;

    (void)state;
    memset(a, 'm', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[sizeof(b) - 2] = 'n';
    assert_true(strmap_put(map, a, 1));
    assert_true(strmap_put(map, b, 2));
    assert_true(strmap_put2(map, "team-a", a, 3));
    assert_true(strmap_put2(map, "team-a", b, 4));
    assert_true(strmap_get(map, b, &v));
    assert_int_equal(v, 2);
    assert_true(strmap_get2(map, "team-a", a, &v));
    assert_int_equal(v, 3);
    assert_true(strmap_get2(map, "team-a", b, &v));
    assert_int_equal(v, 4);
    b[sizeof(b) - 2] = 'o';
    assert_false(strmap_get2(map, "team-a", b, NULL));
    strmap_free(map);
}

/* FNV-1a 32 of known inputs: Lease and Event names depend on these
 * values never changing. */
static void test_strmap_hash(void **state)
{
    (void)state;
    assert_int_equal(strmap_hash(""), 0x811c9dc5u);
    assert_int_equal(strmap_hash(NULL), 0x811c9dc5u);
    assert_int_equal(strmap_hash("a"), 0xe40c292cu);
    assert_int_equal(strmap_hash("foobar"), 0xbf9cf968u);
}

static void test_kvlist(void **state)
{
    struct wva_kvlist list = {0};

    (void)state;
    assert_null(wva_kvlist_get(&list, "a"));
    assert_null(wva_kvlist_get(NULL, "a"));
    wva_kvlist_set(&list, "a", "1");
    wva_kvlist_set(&list, "b", "2");
    wva_kvlist_set(&list, "c", "3");
    wva_kvlist_set(&list, "a", "one");          /* replaced in place */
    assert_int_equal(list.count, 3);
    assert_string_equal(list.items[0].key, "a");
    assert_string_equal(list.items[0].value, "one");
    wva_kvlist_set(&list, "b", NULL);           /* removed, order kept */
    assert_int_equal(list.count, 2);
    assert_string_equal(list.items[1].key, "c");
    assert_null(wva_kvlist_get(&list, "b"));
    wva_kvlist_set(&list, "zz", NULL);          /* nothing to remove */
    assert_int_equal(list.count, 2);
    wva_kvlist_free(&list);
    assert_int_equal(list.count, 0);
    assert_null(list.items);
    wva_kvlist_free(NULL);
}

static void test_warnings(void **state)
{
    struct wva_warnings w = {0};

    (void)state;
    wva_warnings_add(&w, "first %d", 1);
    wva_warnings_add_once(&w, wva_xstrdup("second"));
    wva_warnings_add_once(&w, wva_xstrdup("second"));
    wva_warnings_add_once(&w, wva_xstrdup("first 1"));
    wva_warnings_add(NULL, "ignored");
    assert_int_equal(w.count, 2);
    assert_string_equal(w.items[0], "first 1");
    assert_string_equal(w.items[1], "second");
    wva_warnings_free(&w);
    assert_int_equal(w.count, 0);
    wva_warnings_free(NULL);
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
        cmocka_unit_test(test_strmap_two_parts),
        cmocka_unit_test(test_strmap_long_keys),
        cmocka_unit_test(test_strmap_hash),
        cmocka_unit_test(test_kvlist),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_error_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
