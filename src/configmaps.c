/* configmaps.c - the WVA ConfigMaps (SPEC section 5): saturation thresholds
 * and scale-to-zero settings, resolved per (namespace, model).
 *
 * Design: config_load() parses every relevant ConfigMap once into "entries"
 * (one per data key: the default or an override for a model), validating
 * each entry on its own and dropping invalid ones with a warning.  The two
 * kinds of ConfigMap share all of this through a field table per kind.
 * Overrides are kept sorted by (model, namespace) and local ConfigMaps
 * sorted by namespace, so resolving one (namespace, model) pair is a handful
 * of binary searches and never touches YAML: the engine resolves thousands
 * of models per run.
 *
 * Resolution starts from the built-in values and applies, field by field,
 * the global default, the global override for the model (namespace-less,
 * then namespace-specific), the local default and the local override.  An
 * entry whose fields would break a cross-field rule of the merged result is
 * skipped for that resolution; those warnings depend on the pair resolved,
 * so they are collected inside the config (de-duplicated) and handed out
 * by config_take_warnings().
 *
 * This module knows nothing of Prometheus, the solver, or how the snapshot
 * was obtained; which namespaces are tracked is the caller's decision.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wva/configmaps.h"
#include "wva/strbuf.h"
#include "wva/values.h"
#include "wva/yaml_doc.h"

#define MAX_FIELDS 7

enum field_type {
    FIELD_FRACTION,     /* number in [0,1] */
    FIELD_NONNEG,       /* number >= 0 */
    FIELD_DURATION,     /* Go duration */
    FIELD_POS_DURATION, /* Go duration > 0 */
    FIELD_COUNT,        /* integer >= 0 */
    FIELD_BOOL,
};

struct field_def {
    const char *name;
    enum field_type type;
};

/* "fields[hi] > fields[lo]" must hold in every merged result. */
struct field_rule {
    int hi;
    int lo;
};

struct kind_def {
    const char *name;               /* well-known ConfigMap name */
    const char *alias;              /* upstream name, accepted too */
    const struct field_def *fields;
    int nfields;
    const struct field_rule *rules;
    int nrules;
};

enum { SAT_KV, SAT_QUEUE, SAT_KV_SPARE, SAT_QUEUE_SPARE, SAT_WINDOW, SAT_MAX_UP, SAT_SPARE };
enum { STZ_ENABLED, STZ_RETENTION };

static const struct field_def sat_fields[] = {
    [SAT_KV] = {"kvCacheThreshold", FIELD_FRACTION},
    [SAT_QUEUE] = {"queueLengthThreshold", FIELD_NONNEG},
    [SAT_KV_SPARE] = {"kvSpareTrigger", FIELD_FRACTION},
    [SAT_QUEUE_SPARE] = {"queueSpareTrigger", FIELD_NONNEG},
    [SAT_WINDOW] = {"scaleDownStabilizationWindow", FIELD_DURATION},
    [SAT_MAX_UP] = {"maxScaleUpPerRun", FIELD_COUNT},
    /* An extension of upstream's fields (SPEC section 5 lists the others). */
    [SAT_SPARE] = {"spareReplicas", FIELD_NONNEG},
};
static const struct field_rule sat_rules[] = {
    {SAT_KV, SAT_KV_SPARE},
    {SAT_QUEUE, SAT_QUEUE_SPARE},
};
static const struct kind_def sat_kind = {
    WVA_SATURATION_CONFIG, WVA_SATURATION_CONFIG_ALIAS,
    sat_fields, 7, sat_rules, 2,
};

static const struct field_def stz_fields[] = {
    [STZ_ENABLED] = {"enable_scale_to_zero", FIELD_BOOL},
    [STZ_RETENTION] = {"retention_period", FIELD_POS_DURATION},
};
static const struct kind_def stz_kind = {
    WVA_SCALE_TO_ZERO_CONFIG, WVA_SCALE_TO_ZERO_CONFIG_ALIAS,
    stz_fields, 2, NULL, 0,
};

struct cm_source;

/* One valid data key of a ConfigMap. */
struct entry {
    const struct cm_source *src;
    char *key;
    char *model_id;                 /* NULL for the default entry */
    char *ns;                       /* global overrides only, else NULL */
    unsigned set;                   /* bit f: field f given */
    double v[MAX_FIELDS];
    char *text[MAX_FIELDS];         /* as written, for warnings */
};

/* One ConfigMap in use (global, or local to ns). */
struct cm_source {
    char *ns;
    char *name;
    bool global;
    struct entry *dflt;
    struct entry **overrides;       /* sorted by (model_id, ns) */
    size_t noverrides;
};

struct kind_cfg {
    const struct kind_def *def;
    double builtin[MAX_FIELDS];
    struct cm_source *global;
    struct cm_source **locals;      /* sorted by ns */
    size_t nlocals;
};

struct wva_config {
    struct kind_cfg sat;
    struct kind_cfg stz;
    /* Resolution warnings: appended by the const lookups (through this
     * pointer), handed out from index taken on. */
    struct wva_warnings *resolved;
    size_t taken;
};

/* ---- freeing ---------------------------------------------------------- */

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->key);
    free(e->model_id);
    free(e->ns);
    for (int i = 0; i < MAX_FIELDS; i++)
        free(e->text[i]);
    free(e);
}

static void source_free(struct cm_source *s)
{
    if (!s)
        return;
    entry_free(s->dflt);
    for (size_t i = 0; i < s->noverrides; i++)
        entry_free(s->overrides[i]);
    free(s->overrides);
    free(s->ns);
    free(s->name);
    free(s);
}

static void kind_free(struct kind_cfg *k)
{
    source_free(k->global);
    for (size_t i = 0; i < k->nlocals; i++)
        source_free(k->locals[i]);
    free(k->locals);
}

void config_free(struct wva_config *cfg)
{
    if (!cfg)
        return;
    kind_free(&cfg->sat);
    kind_free(&cfg->stz);
    wva_warnings_free(cfg->resolved);
    free(cfg->resolved);
    free(cfg);
}

/* ---- parsing one entry ------------------------------------------------ */

static const char *node_kind_name(const struct yaml_node *n)
{
    switch (yaml_node_kind(n)) {
    case YAML_NODE_MAP: return "a map";
    case YAML_NODE_SEQ: return "a list";
    case YAML_NODE_NULL: return "empty";
    default: return "a scalar";
    }
}

/* Parses one field value into *out; on failure fills err with the field
 * name, the value and what is wrong. */
static int parse_field(const struct field_def *f, const char *text, double *out,
                       struct wva_error *err)
{
    struct wva_error verr;
    bool b;
    long l;

    switch (f->type) {
    case FIELD_FRACTION:
    case FIELD_NONNEG:
        if (values_parse_number(text, out, &verr))
            goto bad;
        if (f->type == FIELD_FRACTION && !(*out >= 0.0 && *out <= 1.0)) {
            wva_error_set(err, "%s %.64s is not in [0,1]", f->name, text);
            return -1;
        }
        if (f->type == FIELD_NONNEG && !(*out >= 0.0)) {
            wva_error_set(err, "%s %.64s is negative", f->name, text);
            return -1;
        }
        return 0;
    case FIELD_DURATION:
    case FIELD_POS_DURATION:
        if (values_parse_duration(text, out, &verr))
            goto bad;
        if (f->type == FIELD_POS_DURATION && *out <= 0.0) {
            wva_error_set(err, "%s %.64s must be longer than 0", f->name, text);
            return -1;
        }
        return 0;
    case FIELD_COUNT:
        if (values_parse_int(text, 0, 1000000, &l, &verr))
            goto bad;
        *out = (double)l;
        return 0;
    case FIELD_BOOL:
        if (values_parse_bool(text, &b, &verr))
            goto bad;
        *out = b ? 1.0 : 0.0;
        return 0;
    }
    wva_error_set(err, "%s has an unknown type", f->name);
    return -1;
bad:
    wva_error_set(err, "%s: %s", f->name, verr.msg);
    return -1;
}

/* A string field (model_id, namespace): a non-empty scalar. */
static int string_field(const struct yaml_node *v, const char *name, char **out,
                        struct wva_error *err)
{
    const char *s = yaml_node_scalar(v);

    if (!s || !*s) {
        wva_error_set(err, "%s is %s, expected a non-empty string", name,
                      s ? "empty" : node_kind_name(v));
        return -1;
    }
    free(*out);
    *out = wva_xstrdup(s);
    return 0;
}

/* Checks the kind's cross-field rules among the fields an entry gives
 * itself (both sides present). */
static int check_own_rules(const struct kind_def *def, const struct entry *e,
                           struct wva_error *err)
{
    for (int r = 0; r < def->nrules; r++) {
        int hi = def->rules[r].hi, lo = def->rules[r].lo;

        if ((e->set & (1u << hi)) && (e->set & (1u << lo)) && !(e->v[hi] > e->v[lo])) {
            wva_error_set(err, "%s %.64s must be greater than %s %.64s", def->fields[hi].name,
                          e->text[hi], def->fields[lo].name, e->text[lo]);
            return -1;
        }
    }
    return 0;
}

/* Parses data key `key` of src into a new entry, or returns NULL after
 * adding a warning.  Warnings that do not invalidate the entry (unknown
 * fields) are added too. */
static struct entry *parse_entry(const struct kind_def *def, const struct cm_source *src,
                                 const char *key, const char *value,
                                 struct wva_warnings *warnings)
{
    bool is_default = strcmp(key, "default") == 0;
    struct wva_error err;
    struct yaml_node *doc = NULL;
    struct entry *e = wva_xcalloc(1, sizeof(*e));

    e->src = src;
    e->key = wva_xstrdup(key);
    doc = yaml_doc_parse(value, value ? strlen(value) : 0, &err);
    if (!doc) {
        wva_error_prefix(&err, "invalid YAML: ");
        goto invalid;
    }
    if (yaml_node_kind(doc) != YAML_NODE_MAP) {
        wva_error_set(&err, "expected a YAML map, got %s", node_kind_name(doc));
        goto invalid;
    }
    for (size_t i = 0; i < yaml_node_size(doc); i++) {
        const char *name = yaml_node_map_key(doc, i);
        const struct yaml_node *v = yaml_node_map_value(doc, i);
        int f;

        if (strcmp(name, "model_id") == 0 || strcmp(name, "namespace") == 0) {
            bool is_model = name[0] == 'm';

            if (is_default) {
                wva_warnings_add(warnings, "ConfigMap %s/%s key %s: %s is ignored in the "
                                 "default entry", src->ns, src->name, key, name);
                continue;
            }
            if (string_field(v, name, is_model ? &e->model_id : &e->ns, &err))
                goto invalid;
            continue;
        }
        for (f = 0; f < def->nfields; f++)
            if (strcmp(name, def->fields[f].name) == 0)
                break;
        if (f == def->nfields) {
            wva_warnings_add(warnings, "ConfigMap %s/%s key %s: unknown field \"%.64s\" ignored",
                             src->ns, src->name, key, name);
            continue;
        }
        if (yaml_node_kind(v) != YAML_NODE_SCALAR) {
            wva_error_set(&err, "%s is %s, expected a value", name, node_kind_name(v));
            goto invalid;
        }
        if (parse_field(&def->fields[f], yaml_node_scalar(v), &e->v[f], &err))
            goto invalid;
        e->set |= 1u << f;
        free(e->text[f]);
        e->text[f] = wva_xstrdup(yaml_node_scalar(v));
    }
    if (!is_default && !e->model_id) {
        wva_error_set(&err, "override has no model_id");
        goto invalid;
    }
    if (check_own_rules(def, e, &err))
        goto invalid;
    if (e->ns && !src->global) {
        if (strcmp(e->ns, src->ns) != 0) {
            wva_error_set(&err, "namespace %.64s differs from the ConfigMap's own namespace %s",
                          e->ns, src->ns);
            goto invalid;
        }
        /* In a local ConfigMap the namespace is implied; dropping it makes
         * "namespace: own" and no namespace the same override. */
        free(e->ns);
        e->ns = NULL;
    }
    yaml_doc_free(doc);
    return e;
invalid:
    wva_warnings_add(warnings, "ConfigMap %s/%s key %s: %s; entry ignored", src->ns,
                     src->name, key, err.msg);
    yaml_doc_free(doc);
    entry_free(e);
    return NULL;
}

/* ---- parsing one ConfigMap -------------------------------------------- */

static int cmp_opt_str(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);   /* NULL first */
    return strcmp(a, b);
}

static int cmp_kv_key(const void *a, const void *b)
{
    const struct wva_kv *x = *(const struct wva_kv *const *)a;
    const struct wva_kv *y = *(const struct wva_kv *const *)b;

    return cmp_opt_str(x->key, y->key);
}

/* Sorts by (model, ns), keeping key order among equals: the overrides
 * were appended in key order, so the key breaks ties. */
static int cmp_override(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    int c = strcmp(x->model_id, y->model_id);

    if (!c)
        c = cmp_opt_str(x->ns, y->ns);
    if (!c)
        c = strcmp(x->key, y->key);
    return c;
}

static struct cm_source *source_parse(const struct kind_def *def,
                                      const struct wva_configmap *cm, bool global,
                                      struct wva_warnings *warnings)
{
    struct cm_source *s = wva_xcalloc(1, sizeof(*s));
    const struct wva_kv **keys;
    size_t n = cm->data.count, kept = 0;

    s->ns = wva_xstrdup(cm->namespace_name ? cm->namespace_name : "");
    s->name = wva_xstrdup(cm->name);
    s->global = global;
    /* "First in key order" means sorted key order, which is the order the
     * API server returns and does not depend on how a snapshot was written. */
    keys = wva_xmalloc((n ? n : 1) * sizeof(*keys));
    for (size_t i = 0; i < n; i++)
        keys[i] = &cm->data.items[i];
    qsort(keys, n, sizeof(*keys), cmp_kv_key);
    s->overrides = wva_xmalloc((n ? n : 1) * sizeof(*s->overrides));
    for (size_t i = 0; i < n; i++) {
        struct entry *e;

        if (!keys[i]->key || (i > 0 && strcmp(keys[i - 1]->key, keys[i]->key) == 0))
            continue;   /* a repeated data key cannot come from the API */
        e = parse_entry(def, s, keys[i]->key, keys[i]->value, warnings);
        if (!e)
            continue;
        if (!e->model_id)
            s->dflt = e;
        else
            s->overrides[s->noverrides++] = e;
    }
    free(keys);
    qsort(s->overrides, s->noverrides, sizeof(*s->overrides), cmp_override);
    for (size_t i = 0; i < s->noverrides; i++) {
        struct entry *e = s->overrides[i];
        struct entry *first = kept ? s->overrides[kept - 1] : NULL;

        if (first && strcmp(first->model_id, e->model_id) == 0 &&
            cmp_opt_str(first->ns, e->ns) == 0) {
            wva_warnings_add(warnings, "ConfigMap %s/%s key %s: model_id %s%s%s is already "
                             "overridden by key %s; entry ignored", s->ns, s->name, e->key,
                             e->model_id, e->ns ? " namespace " : "", e->ns ? e->ns : "",
                             first->key);
            entry_free(e);
            continue;
        }
        s->overrides[kept++] = e;
    }
    s->noverrides = kept;
    return s;
}

/* ---- lookups and resolution ------------------------------------------- */

static const struct entry *find_override(const struct cm_source *s, const char *model,
                                         const char *ns)
{
    size_t lo = 0, hi;

    if (!s || !model)
        return NULL;
    hi = s->noverrides;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct entry *e = s->overrides[mid];
        int c = strcmp(e->model_id, model);

        if (!c)
            c = cmp_opt_str(e->ns, ns);
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct cm_source *find_local(const struct kind_cfg *k, const char *ns)
{
    size_t lo = 0, hi = k->nlocals;

    if (!ns)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(k->locals[mid]->ns, ns);

        if (c == 0)
            return k->locals[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Adds msg to the resolution warnings unless an identical one is there:
 * the same conflict shows up for every model it touches. */
static void add_resolved_warning(const struct wva_config *cfg, char *msg)
{
    wva_warnings_add_once(cfg->resolved, msg);
}

static void describe_origin(struct wva_strbuf *sb, const struct entry *origin)
{
    if (origin)
        wva_strbuf_addf(sb, "from ConfigMap %s/%s key %s", origin->src->ns,
                        origin->src->name, origin->key);
    else
        wva_strbuf_adds(sb, "built-in default");
}

/* Applies e's fields over the merged values, unless the result would break
 * a cross-field rule: then e is skipped (for this resolution) with a
 * warning naming e, its field and the value it clashes with. */
static void apply_entry(const struct wva_config *cfg, const struct kind_cfg *k,
                        const struct entry *e, double *vals, const struct entry **origin)
{
    const struct kind_def *def = k->def;
    double merged[MAX_FIELDS];

    if (!e)
        return;
    memcpy(merged, vals, sizeof(merged));
    for (int f = 0; f < def->nfields; f++)
        if (e->set & (1u << f))
            merged[f] = e->v[f];
    for (int r = 0; r < def->nrules; r++) {
        int hi = def->rules[r].hi, lo = def->rules[r].lo;
        struct wva_strbuf sb = WVA_STRBUF_INIT;

        if (merged[hi] > merged[lo])
            continue;
        /* The lower levels satisfy every rule and e alone does too, so e
         * sets exactly one side of the broken rule. */
        wva_strbuf_addf(&sb, "ConfigMap %s/%s key %s: ", e->src->ns, e->src->name, e->key);
        if (e->set & (1u << hi)) {
            wva_strbuf_addf(&sb, "%s %.64s is not greater than %s %g (", def->fields[hi].name,
                            e->text[hi], def->fields[lo].name, merged[lo]);
            describe_origin(&sb, origin[lo]);
        } else {
            wva_strbuf_addf(&sb, "%s %.64s is not less than %s %g (", def->fields[lo].name,
                            e->text[lo], def->fields[hi].name, merged[hi]);
            describe_origin(&sb, origin[hi]);
        }
        wva_strbuf_adds(&sb, "); entry ignored");
        add_resolved_warning(cfg, wva_strbuf_detach(&sb));
        return;
    }
    for (int f = 0; f < def->nfields; f++) {
        if (e->set & (1u << f)) {
            vals[f] = e->v[f];
            origin[f] = e;
        }
    }
}

/* Resolves (ns, model) for one kind into vals.  model NULL: no override
 * applies (used to check defaults eagerly). */
static void resolve(const struct wva_config *cfg, const struct kind_cfg *k, const char *ns,
                    const char *model, double *vals)
{
    const struct entry *origin[MAX_FIELDS] = {NULL};
    const struct cm_source *local = find_local(k, ns);

    memcpy(vals, k->builtin, sizeof(k->builtin));
    if (k->global) {
        apply_entry(cfg, k, k->global->dflt, vals, origin);
        apply_entry(cfg, k, find_override(k->global, model, NULL), vals, origin);
        if (ns)
            apply_entry(cfg, k, find_override(k->global, model, ns), vals, origin);
    }
    if (local) {
        apply_entry(cfg, k, local->dflt, vals, origin);
        apply_entry(cfg, k, find_override(local, model, NULL), vals, origin);
    }
}

void config_default_thresholds(struct wva_thresholds *out)
{
    out->kv_cache_threshold = 0.80;
    out->queue_length_threshold = 5;
    out->kv_spare_trigger = 0.10;
    out->queue_spare_trigger = 3;
    out->scale_down_stabilization = 300;
    out->max_scale_up_per_run = 0;
    out->spare_replicas = WVA_DEFAULT_SPARE_REPLICAS;
}

void config_thresholds(const struct wva_config *cfg, const char *ns,
                       const char *model_id, struct wva_thresholds *out)
{
    double v[MAX_FIELDS];

    if (!cfg) {
        config_default_thresholds(out);
        return;
    }
    resolve(cfg, &cfg->sat, ns, model_id, v);
    out->kv_cache_threshold = v[SAT_KV];
    out->queue_length_threshold = v[SAT_QUEUE];
    out->kv_spare_trigger = v[SAT_KV_SPARE];
    out->queue_spare_trigger = v[SAT_QUEUE_SPARE];
    out->scale_down_stabilization = v[SAT_WINDOW];
    out->max_scale_up_per_run = (int)v[SAT_MAX_UP];
    out->spare_replicas = v[SAT_SPARE];
}

void config_scale_to_zero(const struct wva_config *cfg, const char *ns,
                          const char *model_id, struct wva_scale_to_zero *out)
{
    double v[MAX_FIELDS];

    if (!cfg) {
        out->enabled = false;
        out->retention_period = 600;
        return;
    }
    resolve(cfg, &cfg->stz, ns, model_id, v);
    out->enabled = v[STZ_ENABLED] != 0.0;
    out->retention_period = v[STZ_RETENTION];
}

void config_take_warnings(struct wva_config *cfg, struct wva_warnings *warnings)
{
    if (!cfg)
        return;
    for (; cfg->taken < cfg->resolved->count; cfg->taken++)
        wva_warnings_add(warnings, "%s", cfg->resolved->items[cfg->taken]);
}

/* ---- loading ---------------------------------------------------------- */

/* A ConfigMap of one kind that counts, before choosing among aliases. */
struct candidate {
    const struct wva_configmap *cm;
    bool alias;
    size_t index;
};

static int cmp_candidate(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    int c = strcmp(x->cm->namespace_name, y->cm->namespace_name);

    if (!c)
        c = (int)x->alias - (int)y->alias;
    if (!c)
        c = (x->index > y->index) - (x->index < y->index);
    return c;
}

static int cmp_source_ns(const void *a, const void *b)
{
    return strcmp((*(struct cm_source *const *)a)->ns, (*(struct cm_source *const *)b)->ns);
}

static void load_kind(struct kind_cfg *k, const struct wva_snapshot *snap,
                      const char *system_ns, bool (*tracked)(const char *, void *),
                      void *tracked_ctx, struct wva_warnings *warnings)
{
    const struct kind_def *def = k->def;
    struct candidate *cands = wva_xmalloc((snap->configmaps_count + 1) * sizeof(*cands));
    size_t n = 0;

    for (size_t i = 0; i < snap->configmaps_count; i++) {
        const struct wva_configmap *cm = &snap->configmaps[i];
        bool alias;

        if (!cm->name || !cm->namespace_name)
            continue;
        if (strcmp(cm->name, def->name) == 0)
            alias = false;
        else if (strcmp(cm->name, def->alias) == 0)
            alias = true;
        else
            continue;
        /* Local ConfigMaps of untracked namespaces are not ours to read:
         * ignored silently, as the controller never sees them. */
        if (strcmp(cm->namespace_name, system_ns) != 0 && tracked &&
            !tracked(cm->namespace_name, tracked_ctx))
            continue;
        cands[n].cm = cm;
        cands[n].alias = alias;
        cands[n].index = i;
        n++;
    }
    qsort(cands, n, sizeof(*cands), cmp_candidate);
    k->locals = wva_xmalloc((n ? n : 1) * sizeof(*k->locals));
    for (size_t i = 0; i < n; i++) {
        const struct wva_configmap *cm = cands[i].cm;
        bool global = strcmp(cm->namespace_name, system_ns) == 0;
        struct cm_source *s;

        if (i > 0 && strcmp(cands[i - 1].cm->namespace_name, cm->namespace_name) == 0) {
            if (cands[i].alias && !cands[i - 1].alias)
                wva_warnings_add(warnings, "ConfigMaps %s/%s and %s/%s both exist; using %s "
                                 "and ignoring %s", cm->namespace_name, def->name,
                                 cm->namespace_name, def->alias, def->name, def->alias);
            continue;
        }
        s = source_parse(def, cm, global, warnings);
        if (global)
            k->global = s;
        else
            k->locals[k->nlocals++] = s;
    }
    free(cands);
    qsort(k->locals, k->nlocals, sizeof(*k->locals), cmp_source_ns);
}

/* Resolves the combinations config_load can foresee, so that conflicts
 * between levels are reported with the load warnings rather than only when
 * a model happens to be resolved. */
static void check_kind(const struct wva_config *cfg, const struct kind_cfg *k)
{
    double v[MAX_FIELDS];

    resolve(cfg, k, NULL, NULL, v);
    if (k->global)
        for (size_t i = 0; i < k->global->noverrides; i++)
            resolve(cfg, k, k->global->overrides[i]->ns, k->global->overrides[i]->model_id, v);
    for (size_t i = 0; i < k->nlocals; i++) {
        const struct cm_source *s = k->locals[i];

        resolve(cfg, k, s->ns, NULL, v);
        for (size_t j = 0; j < s->noverrides; j++)
            resolve(cfg, k, s->ns, s->overrides[j]->model_id, v);
    }
}

struct wva_config *config_load(const struct wva_snapshot *snap,
                               const char *system_namespace,
                               bool (*tracked)(const char *ns, void *ctx),
                               void *tracked_ctx,
                               bool default_scale_to_zero,
                               struct wva_warnings *warnings)
{
    struct wva_config *cfg = wva_xcalloc(1, sizeof(*cfg));
    struct wva_thresholds t;

    cfg->resolved = wva_xcalloc(1, sizeof(*cfg->resolved));
    cfg->sat.def = &sat_kind;
    config_default_thresholds(&t);
    cfg->sat.builtin[SAT_KV] = t.kv_cache_threshold;
    cfg->sat.builtin[SAT_QUEUE] = t.queue_length_threshold;
    cfg->sat.builtin[SAT_KV_SPARE] = t.kv_spare_trigger;
    cfg->sat.builtin[SAT_QUEUE_SPARE] = t.queue_spare_trigger;
    cfg->sat.builtin[SAT_WINDOW] = t.scale_down_stabilization;
    cfg->sat.builtin[SAT_MAX_UP] = t.max_scale_up_per_run;
    cfg->sat.builtin[SAT_SPARE] = t.spare_replicas;
    cfg->stz.def = &stz_kind;
    cfg->stz.builtin[STZ_ENABLED] = default_scale_to_zero ? 1.0 : 0.0;
    cfg->stz.builtin[STZ_RETENTION] = 600;
    if (!snap)
        return cfg;
    if (!system_namespace)
        system_namespace = "";
    load_kind(&cfg->sat, snap, system_namespace, tracked, tracked_ctx, warnings);
    load_kind(&cfg->stz, snap, system_namespace, tracked, tracked_ctx, warnings);
    check_kind(cfg, &cfg->sat);
    check_kind(cfg, &cfg->stz);
    config_take_warnings(cfg, warnings);
    return cfg;
}
