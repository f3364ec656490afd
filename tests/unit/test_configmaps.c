/* test_configmaps.c - src/yaml_doc.c and src/configmaps.c (SPEC section 5).
 *
 * Snapshots are built by hand here (not with snapshot_parse) so that these
 * tests depend only on the structures of snapshot.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>

#include "test_util.h"
#include "wva/configmaps.h"
#include "wva/strbuf.h"
#include "wva/yaml_doc.h"

#define SYS "wva-system"
#define SAT WVA_SATURATION_CONFIG
#define STZ WVA_SCALE_TO_ZERO_CONFIG

/* ---- helpers ---------------------------------------------------------- */

#define assert_near(a, b) near_check((a), (b), #a, __LINE__)

static void near_check(double a, double b, const char *expr, int line)
{
    if (!(fabs(a - b) <= 1e-9))
        fail_msg("line %d: %s = %.17g, want %.17g", line, expr, a, b);
}

/* Adds a ConfigMap ns/name with data given as key, value, ..., NULL. */
static void add_cm(struct wva_snapshot *s, const char *ns, const char *name, ...)
{
    struct wva_configmap *cm;
    const char *key;
    va_list ap;

    s->configmaps = wva_xrealloc(s->configmaps, (s->configmaps_count + 1) * sizeof(*cm));
    cm = &s->configmaps[s->configmaps_count++];
    memset(cm, 0, sizeof(*cm));
    cm->namespace_name = wva_xstrdup(ns);
    cm->name = wva_xstrdup(name);
    va_start(ap, name);
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);

        cm->data.items = wva_xrealloc(cm->data.items,
                                      (cm->data.count + 1) * sizeof(*cm->data.items));
        cm->data.items[cm->data.count].key = wva_xstrdup(key);
        cm->data.items[cm->data.count].value = wva_xstrdup(value);
        cm->data.count++;
    }
    va_end(ap);
}

static void free_snap(struct wva_snapshot *s)
{
    for (size_t i = 0; i < s->configmaps_count; i++) {
        struct wva_configmap *cm = &s->configmaps[i];

        for (size_t j = 0; j < cm->data.count; j++) {
            free(cm->data.items[j].key);
            free(cm->data.items[j].value);
        }
        free(cm->data.items);
        free(cm->namespace_name);
        free(cm->name);
    }
    free(s->configmaps);
    memset(s, 0, sizeof(*s));
}

/* ctx: NULL-terminated array of tracked namespace names. */
static bool tracked_in(const char *ns, void *ctx)
{
    for (const char *const *p = ctx; *p; p++)
        if (strcmp(*p, ns) == 0)
            return true;
    return false;
}

static const char *tracked_all[] = {"team-a", "team-b", NULL};

/* Fixture: a snapshot, its config and the warnings. */
struct fx {
    struct wva_snapshot snap;
    struct wva_config *cfg;
    struct wva_warnings w;
};

static void fx_load_with(struct fx *f, const char **tracked, bool stz_default)
{
    f->cfg = config_load(&f->snap, SYS, tracked_in, (void *)tracked, stz_default, &f->w);
    assert_non_null(f->cfg);
}

static void fx_load(struct fx *f)
{
    fx_load_with(f, tracked_all, false);
}

static void fx_free(struct fx *f)
{
    config_free(f->cfg);
    wva_warnings_free(&f->w);
    free_snap(&f->snap);
}

static int count_containing(const struct wva_warnings *w, const char *needle)
{
    int n = 0;

    for (size_t i = 0; i < w->count; i++)
        if (strstr(w->items[i], needle))
            n++;
    return n;
}

static void expect_warning(const struct wva_warnings *w, const char *exact)
{
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->items[i], exact) == 0)
            return;
    for (size_t i = 0; i < w->count; i++)
        print_message("  warning[%zu]: %s\n", i, w->items[i]);
    fail_msg("missing warning: %s", exact);
}

static void expect_no_warnings(const struct wva_warnings *w)
{
    for (size_t i = 0; i < w->count; i++)
        print_message("  unexpected warning: %s\n", w->items[i]);
    assert_int_equal(w->count, 0);
}

static void expect_builtin(const struct wva_thresholds *t)
{
    assert_near(t->kv_cache_threshold, 0.80);
    assert_near(t->queue_length_threshold, 5);
    assert_near(t->kv_spare_trigger, 0.10);
    assert_near(t->queue_spare_trigger, 3);
    assert_near(t->scale_down_stabilization, 300);
    assert_int_equal(t->max_scale_up_per_run, 0);
    assert_near(t->spare_replicas, 0.5);
}

/* spareReplicas (an extension): a number >= 0, fractions allowed,
 * resolved field by field like the others; a negative one is reported and
 * the next level applies. */
static void test_spare_replicas(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;
    bool found = false;

    (void)state;
    add_cm(&f.snap, SYS, SAT, "default", "spareReplicas: 1.25\n",
           "m1", "model_id: m1\nspareReplicas: 0\n",
           "m2", "model_id: m2\nspareReplicas: -1\n", NULL);
    fx_load(&f);
    config_thresholds(f.cfg, "ns", "any", &t);
    assert_near(t.spare_replicas, 1.25);
    config_thresholds(f.cfg, "ns", "m1", &t);
    assert_near(t.spare_replicas, 0);
    config_thresholds(f.cfg, "ns", "m2", &t);
    assert_near(t.spare_replicas, 1.25);
    for (size_t i = 0; i < f.w.count; i++)
        if (strstr(f.w.items[i], "spareReplicas") && strstr(f.w.items[i], "-1"))
            found = true;
    assert_true(found);
    fx_free(&f);
}

/* ---- yaml_doc ----------------------------------------------------------- */

static struct yaml_node *parse_ok(const char *text)
{
    struct wva_error err;
    struct yaml_node *root = yaml_doc_parse(text, strlen(text), &err);

    if (!root)
        fail_msg("YAML rejected: %s", err.msg);
    return root;
}

static const char *parse_bad(const char *text, size_t len)
{
    static struct wva_error err;

    wva_error_clear(&err);
    assert_null(yaml_doc_parse(text, len, &err));
    assert_true(err.msg[0] != '\0');
    return err.msg;
}

static void test_yaml_tree(void **state)
{
    struct yaml_node *root;
    const struct yaml_node *n;

    (void)state;
    root = parse_ok("a: 1\nb: \"two\"\nlist: [x, y, {k: v}]\nnested:\n  deep: true\n"
                    "empty:\nnul: ~\nquoted_null: \"null\"\ntagged: !!str null\n");
    assert_int_equal(yaml_node_kind(root), YAML_NODE_MAP);
    assert_int_equal(yaml_node_size(root), 8);
    assert_string_equal(yaml_node_map_key(root, 0), "a");
    assert_string_equal(yaml_node_scalar(yaml_node_map_value(root, 0)), "1");
    assert_string_equal(yaml_node_scalar(yaml_node_get(root, "b")), "two");
    n = yaml_node_get(root, "list");
    assert_int_equal(yaml_node_kind(n), YAML_NODE_SEQ);
    assert_int_equal(yaml_node_size(n), 3);
    assert_string_equal(yaml_node_scalar(yaml_node_item(n, 1)), "y");
    assert_string_equal(yaml_node_scalar(yaml_node_get(yaml_node_item(n, 2), "k")), "v");
    assert_null(yaml_node_item(n, 3));
    assert_null(yaml_node_get(n, "k"));                 /* not a map */
    assert_string_equal(yaml_node_scalar(yaml_node_get(yaml_node_get(root, "nested"), "deep")),
                        "true");
    assert_int_equal(yaml_node_kind(yaml_node_get(root, "empty")), YAML_NODE_NULL);
    assert_null(yaml_node_scalar(yaml_node_get(root, "empty")));
    assert_int_equal(yaml_node_kind(yaml_node_get(root, "nul")), YAML_NODE_NULL);
    assert_string_equal(yaml_node_scalar(yaml_node_get(root, "quoted_null")), "null");
    assert_string_equal(yaml_node_scalar(yaml_node_get(root, "tagged")), "null");
    assert_null(yaml_node_get(root, "missing"));
    assert_null(yaml_node_map_key(root, 8));
    assert_null(yaml_node_map_value(root, 8));
    assert_null(yaml_node_scalar(root));
    yaml_doc_free(root);

    root = parse_ok("");
    assert_int_equal(yaml_node_kind(root), YAML_NODE_NULL);
    yaml_doc_free(root);
    root = parse_ok("# only a comment\n");
    assert_int_equal(yaml_node_kind(root), YAML_NODE_NULL);
    yaml_doc_free(root);
    root = parse_ok("plain text");
    assert_int_equal(yaml_node_kind(root), YAML_NODE_SCALAR);
    assert_string_equal(yaml_node_scalar(root), "plain text");
    assert_int_equal(yaml_node_size(root), 0);
    yaml_doc_free(root);
    /* Only the first document counts; a broken second one is not read. */
    root = parse_ok("a: 1\n---\nb: [\n");
    assert_string_equal(yaml_node_scalar(yaml_node_get(root, "a")), "1");
    assert_null(yaml_node_get(root, "b"));
    yaml_doc_free(root);
    yaml_doc_free(NULL);
    assert_int_equal(yaml_node_kind(NULL), YAML_NODE_NULL);
}

static void test_yaml_errors(void **state)
{
    const char *msg;
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    (void)state;
    msg = parse_bad("a: 1\nb: [1, 2\n", 14);
    assert_non_null(strstr(msg, "line 3 column 1: did not find expected ',' or ']'"));
    msg = parse_bad("a: 1\n  b: 2\n", 12);
    assert_string_equal(msg, "line 2 column 4: mapping values are not allowed in this context");
    msg = parse_bad("a: &x 1\nb: 2\n", 12);
    assert_string_equal(msg, "line 1 column 4: aliases are not supported (anchor &x)");
    msg = parse_bad("a: 1\nb: *x\n", 10);
    assert_non_null(strstr(msg, "aliases are not supported"));
    msg = parse_bad("a: 1\nb: 2\na: 3\n", 15);
    assert_string_equal(msg, "line 1 column 1: duplicate key \"a\" in this map");
    msg = parse_bad("? [a, b]\n: 1\n", 13);
    assert_string_equal(msg, "line 1 column 3: complex (non-scalar) map keys are not supported");
    msg = parse_bad("a: \"x\\0y\"\n", 10);
    assert_non_null(strstr(msg, "NUL character"));

    /* Depth: 32 nested sequences are fine, 33 are not. */
    for (int i = 0; i < YAML_DOC_MAX_DEPTH; i++)
        wva_strbuf_adds(&sb, "[");
    for (int i = 0; i < YAML_DOC_MAX_DEPTH; i++)
        wva_strbuf_adds(&sb, "]");
    yaml_doc_free(parse_ok(wva_strbuf_str(&sb)));
    wva_strbuf_reset(&sb);
    for (int i = 0; i < YAML_DOC_MAX_DEPTH + 1; i++)
        wva_strbuf_adds(&sb, "[");
    for (int i = 0; i < YAML_DOC_MAX_DEPTH + 1; i++)
        wva_strbuf_adds(&sb, "]");
    msg = parse_bad(wva_strbuf_str(&sb), sb.len);
    assert_string_equal(msg, "line 1 column 33: nesting deeper than 32 levels");

    /* Node count. */
    wva_strbuf_reset(&sb);
    wva_strbuf_adds(&sb, "[");
    for (int i = 0; i < YAML_DOC_MAX_NODES; i++)
        wva_strbuf_adds(&sb, "1,");
    wva_strbuf_adds(&sb, "1]");
    msg = parse_bad(wva_strbuf_str(&sb), sb.len);
    assert_non_null(strstr(msg, "more than 100000 nodes in one document"));

    /* Size, checked before parsing. */
    char *big = wva_xcalloc(YAML_DOC_MAX_BYTES + 2, 1);
    memset(big, ' ', YAML_DOC_MAX_BYTES + 1);
    msg = parse_bad(big, YAML_DOC_MAX_BYTES + 1);
    assert_string_equal(msg, "YAML document of 1048577 bytes exceeds the limit of 1048576 bytes");
    free(big);
    wva_strbuf_release(&sb);
}

/* ---- saturation resolution levels ------------------------------------- */

static void test_builtin(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;
    struct wva_scale_to_zero z;

    (void)state;
    config_default_thresholds(&t);
    expect_builtin(&t);
    fx_load(&f);
    expect_no_warnings(&f.w);
    config_thresholds(f.cfg, "team-a", "m1", &t);
    expect_builtin(&t);
    config_scale_to_zero(f.cfg, "team-a", "m1", &z);
    assert_false(z.enabled);
    assert_near(z.retention_period, 600);
    fx_free(&f);

    /* NULL snapshot and NULL config give the built-ins too. */
    struct wva_config *cfg = config_load(NULL, SYS, NULL, NULL, true, NULL);
    config_thresholds(cfg, "x", "y", &t);
    expect_builtin(&t);
    config_scale_to_zero(cfg, "x", "y", &z);
    assert_true(z.enabled);
    config_free(cfg);
    config_thresholds(NULL, "x", "y", &t);
    expect_builtin(&t);
    config_free(NULL);
}

static void test_global_default(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    add_cm(&f.snap, SYS, SAT,
           "default", "kvCacheThreshold: 0.7\nqueueLengthThreshold: 8\n"
                      "scaleDownStabilizationWindow: 2m30s\nmaxScaleUpPerRun: 2\n", NULL);
    add_cm(&f.snap, "other", "unrelated", "default", "kvCacheThreshold: 0.1", NULL);
    fx_load(&f);
    expect_no_warnings(&f.w);
    config_thresholds(f.cfg, "anywhere", "any-model", &t);
    assert_near(t.kv_cache_threshold, 0.7);
    assert_near(t.queue_length_threshold, 8);
    assert_near(t.kv_spare_trigger, 0.10);
    assert_near(t.queue_spare_trigger, 3);
    assert_near(t.scale_down_stabilization, 150);
    assert_int_equal(t.max_scale_up_per_run, 2);
    fx_free(&f);
}

static void test_global_override(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    add_cm(&f.snap, SYS, SAT,
           "default", "kvCacheThreshold: 0.7",
           "llama", "model_id: meta/llama\nqueueLengthThreshold: 10",
           "llama-team-a", "model_id: meta/llama\nnamespace: team-a\nkvCacheThreshold: 0.9",
           "mistral-b", "model_id: mistral\nnamespace: team-b\nkvSpareTrigger: 0.2", NULL);
    fx_load(&f);
    expect_no_warnings(&f.w);

    config_thresholds(f.cfg, "team-a", "meta/llama", &t);   /* both overrides */
    assert_near(t.kv_cache_threshold, 0.9);
    assert_near(t.queue_length_threshold, 10);
    config_thresholds(f.cfg, "team-b", "meta/llama", &t);   /* namespace-less only */
    assert_near(t.kv_cache_threshold, 0.7);
    assert_near(t.queue_length_threshold, 10);
    config_thresholds(f.cfg, "team-a", "mistral", &t);      /* team-b only override */
    assert_near(t.kv_cache_threshold, 0.7);
    assert_near(t.kv_spare_trigger, 0.10);
    config_thresholds(f.cfg, "team-b", "mistral", &t);
    assert_near(t.kv_spare_trigger, 0.2);
    config_thresholds(f.cfg, "team-a", "other", &t);        /* default only */
    assert_near(t.kv_cache_threshold, 0.7);
    assert_near(t.queue_length_threshold, 5);
    fx_free(&f);
}

static void test_local_levels_field_by_field(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    /* Each level sets one field of its own and one it shares with the
     * level above, so the result shows which level won each field. */
    add_cm(&f.snap, SYS, SAT,
           "default", "kvCacheThreshold: 0.7\nqueueLengthThreshold: 6",
           "m1", "model_id: m1\nqueueLengthThreshold: 7\nkvSpareTrigger: 0.15", NULL);
    add_cm(&f.snap, "team-a", SAT,
           "default", "kvSpareTrigger: 0.2\nqueueSpareTrigger: 2",
           "m1-local", "model_id: m1\nqueueSpareTrigger: 1\nscaleDownStabilizationWindow: 1m",
           NULL);
    fx_load(&f);
    expect_no_warnings(&f.w);

    config_thresholds(f.cfg, "team-a", "m1", &t);
    assert_near(t.kv_cache_threshold, 0.7);          /* global default */
    assert_near(t.queue_length_threshold, 7);        /* global override */
    assert_near(t.kv_spare_trigger, 0.2);            /* local default over override */
    assert_near(t.queue_spare_trigger, 1);           /* local override */
    assert_near(t.scale_down_stabilization, 60);     /* local override */
    assert_int_equal(t.max_scale_up_per_run, 0);     /* built-in */

    config_thresholds(f.cfg, "team-a", "m2", &t);    /* local default, no overrides */
    assert_near(t.kv_cache_threshold, 0.7);
    assert_near(t.queue_length_threshold, 6);
    assert_near(t.kv_spare_trigger, 0.2);
    assert_near(t.queue_spare_trigger, 2);
    assert_near(t.scale_down_stabilization, 300);

    config_thresholds(f.cfg, "team-b", "m1", &t);    /* no local ConfigMap */
    assert_near(t.queue_length_threshold, 7);
    assert_near(t.kv_spare_trigger, 0.15);
    assert_near(t.queue_spare_trigger, 3);

    config_thresholds(f.cfg, NULL, NULL, &t);        /* nothing but global default */
    assert_near(t.kv_cache_threshold, 0.7);
    assert_near(t.queue_length_threshold, 6);
    fx_free(&f);
}

static void test_local_namespace_field(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    add_cm(&f.snap, "team-a", SAT,
           "own", "model_id: m1\nnamespace: team-a\nqueueLengthThreshold: 9",
           "other", "model_id: m2\nnamespace: team-b\nqueueLengthThreshold: 11", NULL);
    fx_load(&f);
    expect_warning(&f.w, "ConfigMap team-a/wva-saturation-config key other: namespace team-b "
                         "differs from the ConfigMap's own namespace team-a; entry ignored");
    assert_int_equal(f.w.count, 1);
    config_thresholds(f.cfg, "team-a", "m1", &t);
    assert_near(t.queue_length_threshold, 9);
    config_thresholds(f.cfg, "team-a", "m2", &t);
    assert_near(t.queue_length_threshold, 5);
    config_thresholds(f.cfg, "team-b", "m2", &t);
    assert_near(t.queue_length_threshold, 5);
    fx_free(&f);
}

static void test_alias(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    /* The alias alone is used, globally and locally. */
    add_cm(&f.snap, SYS, WVA_SATURATION_CONFIG_ALIAS, "default", "kvCacheThreshold: 0.6", NULL);
    add_cm(&f.snap, "team-b", WVA_SATURATION_CONFIG_ALIAS, "default", "queueLengthThreshold: 4",
           NULL);
    /* Both in team-a: the well-known name wins, whatever the order. */
    add_cm(&f.snap, "team-a", WVA_SATURATION_CONFIG_ALIAS, "default", "queueLengthThreshold: 20",
           NULL);
    add_cm(&f.snap, "team-a", SAT, "default", "queueLengthThreshold: 12", NULL);
    fx_load(&f);
    expect_warning(&f.w, "ConfigMaps team-a/wva-saturation-config and "
                         "team-a/wva-saturation-scaling-config both exist; using "
                         "wva-saturation-config and ignoring wva-saturation-scaling-config");
    assert_int_equal(f.w.count, 1);
    config_thresholds(f.cfg, "team-a", "m", &t);
    assert_near(t.kv_cache_threshold, 0.6);
    assert_near(t.queue_length_threshold, 12);
    config_thresholds(f.cfg, "team-b", "m", &t);
    assert_near(t.queue_length_threshold, 4);
    fx_free(&f);

    memset(&f, 0, sizeof(f));
    add_cm(&f.snap, SYS, STZ, "default", "enable_scale_to_zero: true", NULL);
    add_cm(&f.snap, SYS, WVA_SCALE_TO_ZERO_CONFIG_ALIAS, "default", "enable_scale_to_zero: false",
           NULL);
    fx_load(&f);
    expect_warning(&f.w, "ConfigMaps wva-system/wva-scale-to-zero-config and "
                         "wva-system/wva-model-scale-to-zero-config both exist; using "
                         "wva-scale-to-zero-config and ignoring wva-model-scale-to-zero-config");
    struct wva_scale_to_zero z;
    config_scale_to_zero(f.cfg, "team-a", "m", &z);
    assert_true(z.enabled);
    fx_free(&f);
}

static void test_untracked_namespace(void **state)
{
    static const char *only_a[] = {"team-a", NULL};
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    add_cm(&f.snap, "team-a", SAT, "default", "queueLengthThreshold: 7", NULL);
    add_cm(&f.snap, "team-c", SAT, "default", "queueLengthThreshold: 8",
           "broken", "not: [valid", NULL);
    add_cm(&f.snap, "team-c", STZ, "default", "enable_scale_to_zero: true", NULL);
    fx_load_with(&f, only_a, false);
    expect_no_warnings(&f.w);     /* team-c's broken entry is not even read */
    config_thresholds(f.cfg, "team-a", "m", &t);
    assert_near(t.queue_length_threshold, 7);
    config_thresholds(f.cfg, "team-c", "m", &t);
    assert_near(t.queue_length_threshold, 5);
    struct wva_scale_to_zero z;
    config_scale_to_zero(f.cfg, "team-c", "m", &z);
    assert_false(z.enabled);
    fx_free(&f);

    /* The system namespace is global whatever tracked() says. */
    static const char *none[] = {NULL};
    memset(&f, 0, sizeof(f));
    add_cm(&f.snap, SYS, SAT, "default", "queueLengthThreshold: 9", NULL);
    fx_load_with(&f, none, false);
    config_thresholds(f.cfg, "team-a", "m", &t);
    assert_near(t.queue_length_threshold, 9);
    fx_free(&f);
}

/* ---- validation --------------------------------------------------------- */

/* Loads one local default entry with `yaml` and checks that it is
 * ignored entirely with exactly the warning `want`. */
static void expect_invalid_default(const char *yaml, const char *want)
{
    struct fx f = {0};
    struct wva_thresholds t;

    add_cm(&f.snap, "team-a", SAT, "default", yaml, NULL);
    fx_load(&f);
    expect_warning(&f.w, want);
    assert_int_equal(f.w.count, 1);
    config_thresholds(f.cfg, "team-a", "m", &t);
    expect_builtin(&t);
    fx_free(&f);
}

#define PFX "ConfigMap team-a/wva-saturation-config key default: "

static void test_validation(void **state)
{
    (void)state;
    /* queueLengthThreshold 9 in the same entry is dropped with it. */
    expect_invalid_default("kvCacheThreshold: 1.4\nqueueLengthThreshold: 9",
                           PFX "kvCacheThreshold 1.4 is not in [0,1]; entry ignored");
    expect_invalid_default("kvSpareTrigger: -0.1",
                           PFX "kvSpareTrigger -0.1 is not in [0,1]; entry ignored");
    expect_invalid_default("queueLengthThreshold: -1",
                           PFX "queueLengthThreshold -1 is negative; entry ignored");
    expect_invalid_default("queueSpareTrigger: -2",
                           PFX "queueSpareTrigger -2 is negative; entry ignored");
    expect_invalid_default("queueSpareTrigger: abc",
                           PFX "queueSpareTrigger: \"abc\" is not a number; entry ignored");
    expect_invalid_default("kvCacheThreshold: 0.5\nkvSpareTrigger: 0.6",
                           PFX "kvCacheThreshold 0.5 must be greater than kvSpareTrigger 0.6; "
                               "entry ignored");
    expect_invalid_default("queueLengthThreshold: 3\nqueueSpareTrigger: 3",
                           PFX "queueLengthThreshold 3 must be greater than queueSpareTrigger 3; "
                               "entry ignored");
    expect_invalid_default("scaleDownStabilizationWindow: 5x",
                           PFX "scaleDownStabilizationWindow: \"5x\" is not a duration (Go syntax "
                               "such as 90s, 1m30s, 2h); entry ignored");
    expect_invalid_default("scaleDownStabilizationWindow: 300",
                           PFX "scaleDownStabilizationWindow: \"300\" is not a duration: missing "
                               "unit (Go syntax such as 90s, 1m30s, 2h); entry ignored");
    expect_invalid_default("maxScaleUpPerRun: -1",
                           PFX "maxScaleUpPerRun: -1 is not in [0,1000000]; entry ignored");
    expect_invalid_default("maxScaleUpPerRun: 1.5",
                           PFX "maxScaleUpPerRun: \"1.5\" is not an integer; entry ignored");
    expect_invalid_default("kvCacheThreshold:",
                           PFX "kvCacheThreshold is empty, expected a value; entry ignored");
    expect_invalid_default("kvCacheThreshold: [0.5]",
                           PFX "kvCacheThreshold is a list, expected a value; entry ignored");
    expect_invalid_default("just a string",
                           PFX "expected a YAML map, got a scalar; entry ignored");
    expect_invalid_default("- a\n- b",
                           PFX "expected a YAML map, got a list; entry ignored");
    expect_invalid_default("",
                           PFX "expected a YAML map, got empty; entry ignored");
    expect_invalid_default("kvCacheThreshold: [0.5\n",
                           PFX "invalid YAML: line 2 column 1: did not find expected ',' or ']' "
                               "(while parsing a flow sequence at line 1 column 19); "
                               "entry ignored");
    expect_invalid_default("base: &b 1\nkvCacheThreshold: 0.5",
                           PFX "invalid YAML: line 1 column 7: aliases are not supported "
                               "(anchor &b); entry ignored");
}

static void test_validation_overrides(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    add_cm(&f.snap, SYS, SAT,
           "a-first", "model_id: m1\nqueueLengthThreshold: 7",
           "b-second", "model_id: m1\nqueueLengthThreshold: 8",
           "c-ns", "model_id: m1\nnamespace: team-a\nqueueLengthThreshold: 9",
           "d-ns-dup", "model_id: m1\nnamespace: team-a\nqueueLengthThreshold: 10",
           "no-model", "queueLengthThreshold: 11",
           "empty-model", "model_id: \"\"\nqueueLengthThreshold: 11",
           "map-model", "model_id: {a: b}",
           "default", "model_id: m9\nnamespace: team-z\nkvCacheThreshold: 0.75\nfoo: 1",
           "quoted", "model_id: m2\nkvCacheThreshold: \"0.85\"\nmaxScaleUpPerRun: \"3\"\n"
                     "unknownField: x\nscaleDownStabilizationWindow: \"90s\"", NULL);
    fx_load(&f);
#define G "ConfigMap wva-system/wva-saturation-config key "
    expect_warning(&f.w, G "b-second: model_id m1 is already overridden by key a-first; "
                           "entry ignored");
    expect_warning(&f.w, G "d-ns-dup: model_id m1 namespace team-a is already overridden by "
                           "key c-ns; entry ignored");
    expect_warning(&f.w, G "no-model: override has no model_id; entry ignored");
    expect_warning(&f.w, G "empty-model: model_id is empty, expected a non-empty string; "
                           "entry ignored");
    expect_warning(&f.w, G "map-model: model_id is a map, expected a non-empty string; "
                           "entry ignored");
    expect_warning(&f.w, G "default: model_id is ignored in the default entry");
    expect_warning(&f.w, G "default: namespace is ignored in the default entry");
    expect_warning(&f.w, G "default: unknown field \"foo\" ignored");
    expect_warning(&f.w, G "quoted: unknown field \"unknownField\" ignored");
    assert_int_equal(f.w.count, 9);
#undef G
    config_thresholds(f.cfg, "team-b", "m1", &t);
    assert_near(t.queue_length_threshold, 7);
    assert_near(t.kv_cache_threshold, 0.75);    /* default used despite warnings */
    config_thresholds(f.cfg, "team-a", "m1", &t);
    assert_near(t.queue_length_threshold, 9);
    config_thresholds(f.cfg, "team-z", "m9", &t);  /* default's model_id has no effect */
    assert_near(t.queue_length_threshold, 5);
    config_thresholds(f.cfg, "team-a", "m2", &t);  /* quoted numbers accepted */
    assert_near(t.kv_cache_threshold, 0.85);
    assert_int_equal(t.max_scale_up_per_run, 3);
    assert_near(t.scale_down_stabilization, 90);
    fx_free(&f);
}

static void test_invalid_level_falls_through(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    /* An invalid local override leaves the local default and the global
     * levels in force. */
    add_cm(&f.snap, SYS, SAT, "default", "queueLengthThreshold: 6", NULL);
    add_cm(&f.snap, "team-a", SAT,
           "default", "kvCacheThreshold: 0.75",
           "m1", "model_id: m1\nkvCacheThreshold: 2\nqueueSpareTrigger: 1", NULL);
    fx_load(&f);
    expect_warning(&f.w, "ConfigMap team-a/wva-saturation-config key m1: kvCacheThreshold 2 "
                         "is not in [0,1]; entry ignored");
    assert_int_equal(f.w.count, 1);
    config_thresholds(f.cfg, "team-a", "m1", &t);
    assert_near(t.kv_cache_threshold, 0.75);
    assert_near(t.queue_length_threshold, 6);
    assert_near(t.queue_spare_trigger, 3);
    fx_free(&f);
}

/* ---- cross-field rules across levels ------------------------------------ */

static void test_cross_field_eager(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    add_cm(&f.snap, SYS, SAT, "default", "kvCacheThreshold: 0.8", NULL);
    add_cm(&f.snap, "team-a", SAT, "default", "kvSpareTrigger: 0.9\nqueueLengthThreshold: 9",
           NULL);
    add_cm(&f.snap, "team-b", SAT, "default", "queueSpareTrigger: 6", NULL);
    fx_load(&f);
    expect_warning(&f.w, "ConfigMap team-a/wva-saturation-config key default: kvSpareTrigger "
                         "0.9 is not less than kvCacheThreshold 0.8 (from ConfigMap "
                         "wva-system/wva-saturation-config key default); entry ignored");
    expect_warning(&f.w, "ConfigMap team-b/wva-saturation-config key default: "
                         "queueSpareTrigger 6 is not less than queueLengthThreshold 5 "
                         "(built-in default); entry ignored");
    assert_int_equal(f.w.count, 2);
    config_thresholds(f.cfg, "team-a", "m", &t);
    assert_near(t.kv_spare_trigger, 0.10);
    assert_near(t.queue_length_threshold, 5);   /* whole entry ignored */
    config_thresholds(f.cfg, "team-b", "m", &t);
    assert_near(t.queue_spare_trigger, 3);
    /* Already reported by config_load: nothing new to take. */
    struct wva_warnings more = {0};
    config_take_warnings(f.cfg, &more);
    assert_int_equal(more.count, 0);
    fx_free(&f);
}

static void test_cross_field_lazy(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;
    struct wva_warnings more = {0};

    (void)state;
    /* The local default is fine over the global default but clashes with
     * the global override of m1: only resolving (team-a, m1) shows it. */
    add_cm(&f.snap, SYS, SAT,
           "default", "kvCacheThreshold: 0.9",
           "m1", "model_id: m1\nkvCacheThreshold: 0.8", NULL);
    add_cm(&f.snap, "team-a", SAT, "default", "kvSpareTrigger: 0.85", NULL);
    fx_load(&f);
    expect_no_warnings(&f.w);

    config_thresholds(f.cfg, "team-a", "m2", &t);
    assert_near(t.kv_cache_threshold, 0.9);
    assert_near(t.kv_spare_trigger, 0.85);
    config_thresholds(f.cfg, "team-a", "m1", &t);
    assert_near(t.kv_cache_threshold, 0.8);
    assert_near(t.kv_spare_trigger, 0.10);
    config_thresholds(f.cfg, "team-a", "m1", &t);   /* same warning, once */
    config_take_warnings(f.cfg, &more);
    assert_int_equal(more.count, 1);
    assert_string_equal(more.items[0],
                        "ConfigMap team-a/wva-saturation-config key default: kvSpareTrigger "
                        "0.85 is not less than kvCacheThreshold 0.8 (from ConfigMap "
                        "wva-system/wva-saturation-config key m1); entry ignored");
    config_take_warnings(f.cfg, &more);     /* taken already */
    assert_int_equal(more.count, 1);
    config_thresholds(f.cfg, "team-a", "m1", &t);
    config_take_warnings(f.cfg, &more);     /* de-duplicated for good */
    assert_int_equal(more.count, 1);
    wva_warnings_free(&more);
    fx_free(&f);
}

static void test_cross_field_override_over_local_default(void **state)
{
    struct fx f = {0};
    struct wva_thresholds t;

    (void)state;
    /* A local override raising kvCacheThreshold is checked against the
     * merged spare trigger, and a lowering one rejected. */
    add_cm(&f.snap, "team-a", SAT,
           "default", "kvSpareTrigger: 0.3",
           "m1", "model_id: m1\nkvCacheThreshold: 0.25\nqueueLengthThreshold: 8",
           "m2", "model_id: m2\nkvCacheThreshold: 0.95", NULL);
    fx_load(&f);
    expect_warning(&f.w, "ConfigMap team-a/wva-saturation-config key m1: kvCacheThreshold 0.25 "
                         "is not greater than kvSpareTrigger 0.3 (from ConfigMap "
                         "team-a/wva-saturation-config key default); entry ignored");
    assert_int_equal(f.w.count, 1);
    config_thresholds(f.cfg, "team-a", "m1", &t);
    assert_near(t.kv_cache_threshold, 0.8);
    assert_near(t.kv_spare_trigger, 0.3);
    assert_near(t.queue_length_threshold, 5);
    config_thresholds(f.cfg, "team-a", "m2", &t);
    assert_near(t.kv_cache_threshold, 0.95);
    assert_near(t.kv_spare_trigger, 0.3);
    fx_free(&f);
}

/* ---- scale to zero ---------------------------------------------------- */

static void test_scale_to_zero(void **state)
{
    struct fx f = {0};
    struct wva_scale_to_zero z;

    (void)state;
    /* WVA_SCALE_TO_ZERO is the fallback below the global default. */
    fx_load_with(&f, tracked_all, true);
    config_scale_to_zero(f.cfg, "team-a", "m", &z);
    assert_true(z.enabled);
    assert_near(z.retention_period, 600);
    fx_free(&f);

    memset(&f, 0, sizeof(f));
    add_cm(&f.snap, SYS, STZ,
           "default", "retention_period: 15m",
           "m1", "model_id: m1\nenable_scale_to_zero: true",
           "m2-b", "model_id: m2\nnamespace: team-b\nenable_scale_to_zero: \"TRUE\"\n"
                   "retention_period: 1h", NULL);
    add_cm(&f.snap, "team-a", STZ,
           "default", "enable_scale_to_zero: true",
           "m1", "model_id: m1\nenable_scale_to_zero: false",
           "m3", "model_id: m3\nretention_period: 2m", NULL);
    fx_load_with(&f, tracked_all, false);
    expect_no_warnings(&f.w);
    config_scale_to_zero(f.cfg, "team-b", "m9", &z);     /* global default + fallback */
    assert_false(z.enabled);
    assert_near(z.retention_period, 900);
    config_scale_to_zero(f.cfg, "team-b", "m1", &z);     /* global override */
    assert_true(z.enabled);
    assert_near(z.retention_period, 900);
    config_scale_to_zero(f.cfg, "team-b", "m2", &z);     /* namespace-specific */
    assert_true(z.enabled);
    assert_near(z.retention_period, 3600);
    config_scale_to_zero(f.cfg, "team-c", "m2", &z);
    assert_false(z.enabled);
    config_scale_to_zero(f.cfg, "team-a", "m1", &z);     /* local override wins */
    assert_false(z.enabled);
    assert_near(z.retention_period, 900);
    config_scale_to_zero(f.cfg, "team-a", "m3", &z);     /* local default + override */
    assert_true(z.enabled);
    assert_near(z.retention_period, 120);
    fx_free(&f);

    /* Retention defaults to 10m when only enabling. */
    memset(&f, 0, sizeof(f));
    add_cm(&f.snap, "team-a", WVA_SCALE_TO_ZERO_CONFIG_ALIAS,
           "default", "enable_scale_to_zero: true", NULL);
    fx_load(&f);
    config_scale_to_zero(f.cfg, "team-a", "m", &z);
    assert_true(z.enabled);
    assert_near(z.retention_period, 600);
    fx_free(&f);
}

static void test_scale_to_zero_validation(void **state)
{
    struct fx f = {0};
    struct wva_scale_to_zero z;

    (void)state;
    add_cm(&f.snap, SYS, STZ,
           "default", "enable_scale_to_zero: yes\nretention_period: 20m",
           "m1", "model_id: m1\nretention_period: 0s",
           "m2", "model_id: m2\nretention_period: -5m",
           "m3", "model_id: m3\nenable_scale_to_zero: true\nkvCacheThreshold: 0.5", NULL);
    fx_load_with(&f, tracked_all, true);
#define G "ConfigMap wva-system/wva-scale-to-zero-config key "
    expect_warning(&f.w, G "default: enable_scale_to_zero: \"yes\" is not a boolean "
                           "(true, false, 1 or 0); entry ignored");
    expect_warning(&f.w, G "m1: retention_period 0s must be longer than 0; entry ignored");
    expect_warning(&f.w, G "m2: retention_period: \"-5m\" is not a valid duration: negative "
                           "durations are not allowed; entry ignored");
    expect_warning(&f.w, G "m3: unknown field \"kvCacheThreshold\" ignored");
    assert_int_equal(f.w.count, 4);
#undef G
    config_scale_to_zero(f.cfg, "team-a", "m1", &z);
    assert_true(z.enabled);                       /* fallback, default ignored */
    assert_near(z.retention_period, 600);
    config_scale_to_zero(f.cfg, "team-a", "m3", &z);
    assert_true(z.enabled);
    fx_free(&f);
}

/* ---- scale -------------------------------------------------------------- */

static void test_many_models(void **state)
{
    struct fx f = {0};
    struct wva_strbuf yaml = WVA_STRBUF_INIT;
    struct wva_configmap *cm;
    struct wva_thresholds t;
    char key[64];
    const int n = 4000;

    (void)state;
    add_cm(&f.snap, SYS, SAT, NULL);
    cm = &f.snap.configmaps[0];
    cm->data.items = wva_xcalloc((size_t)n, sizeof(*cm->data.items));
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "model-%d", i);
        wva_strbuf_reset(&yaml);
        wva_strbuf_addf(&yaml, "model_id: m%d\nqueueLengthThreshold: %d\n", i, 10 + i);
        cm->data.items[i].key = wva_xstrdup(key);
        cm->data.items[i].value = wva_xstrdup(wva_strbuf_str(&yaml));
    }
    cm->data.count = (size_t)n;
    wva_strbuf_release(&yaml);
    fx_load(&f);
    expect_no_warnings(&f.w);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "m%d", i);
        config_thresholds(f.cfg, "team-a", key, &t);
        assert_near(t.queue_length_threshold, 10 + i);
    }
    config_thresholds(f.cfg, "team-a", "m4000", &t);
    assert_near(t.queue_length_threshold, 5);
    fx_free(&f);
}

static void test_warnings_list(void **state)
{
    struct wva_warnings w = {0};
    char big[2000];

    (void)state;
    wva_warnings_add(&w, "a %d", 1);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    wva_warnings_add(&w, "%s", big);
    wva_warnings_add(NULL, "ignored");
    assert_int_equal(w.count, 2);
    assert_string_equal(w.items[0], "a 1");
    assert_int_equal(strlen(w.items[1]), sizeof(big) - 1);
    assert_int_equal(count_containing(&w, "xxx"), 1);
    wva_warnings_free(&w);
    assert_int_equal(w.count, 0);
    wva_warnings_free(&w);
    wva_warnings_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_tree),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_spare_replicas),
        cmocka_unit_test(test_global_default),
        cmocka_unit_test(test_global_override),
        cmocka_unit_test(test_local_levels_field_by_field),
        cmocka_unit_test(test_local_namespace_field),
        cmocka_unit_test(test_alias),
        cmocka_unit_test(test_untracked_namespace),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_validation_overrides),
        cmocka_unit_test(test_invalid_level_falls_through),
        cmocka_unit_test(test_cross_field_eager),
        cmocka_unit_test(test_cross_field_lazy),
        cmocka_unit_test(test_cross_field_override_over_local_default),
        cmocka_unit_test(test_scale_to_zero),
        cmocka_unit_test(test_scale_to_zero_validation),
        cmocka_unit_test(test_many_models),
        cmocka_unit_test(test_warnings_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
