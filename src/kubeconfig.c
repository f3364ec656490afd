/* kubeconfig.c - find the API server and credentials: kubeconfig files
 * (parsed with yaml_doc) or the in-cluster service account (see
 * include/wva/kubeconfig.h for the rules).
 *
 * This module turns configuration into a struct kube_config and nothing
 * more: it makes no HTTP request and knows nothing of what the cluster is
 * used for.  Files it reads are untrusted (sizes bounded, types checked);
 * secrets (token, client key) are never put into error messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wva/kubeconfig.h"
#include "wva/secret.h"
#include "wva/strbuf.h"
#include "wva/values.h"
#include "wva/yaml_doc.h"

#define KUBE_NAMESPACE_MAX_BYTES 253u

void kube_config_free(struct kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->namespace_name);
    free(cfg->source);
    free(cfg->context);
    free(cfg->ca_file);
    free(cfg->ca_data);
    free(cfg->client_cert_file);
    free(cfg->client_cert_data);
    free(cfg->client_key_file);
    wva_secret_free(cfg->client_key_data);
    free(cfg->server_name);
    wva_secret_free(cfg->token);
    memset(cfg, 0, sizeof(*cfg));
}

/* Standard base64 (RFC 4648), as kubeconfig *-data fields use.  Whitespace
 * is skipped (wrapped PEM-style data occurs); padding is optional.  Returns
 * a NUL-terminated malloc'd buffer, or NULL on a bad character. */
static char *base64_decode(const char *in, size_t *len_out)
{
    size_t n = strlen(in);
    unsigned char *out = wva_xmalloc(n / 4 * 3 + 4);
    size_t o = 0;
    unsigned int acc = 0;
    int bits = 0;
    bool padding = false;

    for (const char *p = in; *p; p++) {
        int v;
        char ch = *p;

        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (ch == '=') {
            padding = true;
            continue;
        }
        if (padding)
            goto bad;               /* data after padding */
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z')
            v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9')
            v = ch - '0' + 52;
        else if (ch == '+')
            v = 62;
        else if (ch == '/')
            v = 63;
        else
            goto bad;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6)                  /* a lone trailing character */
        goto bad;
    out[o] = '\0';
    if (len_out)
        *len_out = o;
    return (char *)out;
bad:
    free(out);
    return NULL;
}

/* Directory part of path ("." when none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return wva_xstrdup(".");
    if (slash == path)
        return wva_xstrdup("/");
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    wva_strbuf_add(&sb, path, (size_t)(slash - path));
    return wva_strbuf_detach(&sb);
}

static char *resolve_path(const char *dir, const char *path)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    if (path[0] == '/')
        return wva_xstrdup(path);
    wva_strbuf_addf(&sb, "%s/%s", dir, path);
    return wva_strbuf_detach(&sb);
}

/* Context for error messages while reading one kubeconfig. */
struct kc {
    const char *path;
    const char *dir;
    struct wva_error *err;
};

/* String field of a map: absent or null -> *out NULL, scalar -> its text,
 * anything else is an error naming the field. */
static int get_string(const struct kc *kc, const struct yaml_node *map, const char *where,
                      const char *key, const char **out)
{
    const struct yaml_node *v = map ? yaml_node_get(map, key) : NULL;

    *out = NULL;
    if (!v || yaml_node_kind(v) == YAML_NODE_NULL)
        return 0;
    if (yaml_node_kind(v) != YAML_NODE_SCALAR) {
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                       "kubeconfig %s: %s: %s must be a string", kc->path, where, key);
        return -1;
    }
    *out = yaml_node_scalar(v);
    if (!(*out)[0])
        *out = NULL;
    return 0;
}

/* The entry called name in the list under list_key (clusters, users,
 * contexts), returning its inner map (cluster, user, context; a missing
 * inner map reads as empty).  A missing entry is an error naming it and the
 * context that refers to it (of_context, NULL for contexts themselves). */
static int find_named(const struct kc *kc, const struct yaml_node *root, const char *list_key,
                      const char *inner_key, const char *name, const char *of_context,
                      const struct yaml_node **out)
{
    const struct yaml_node *list = yaml_node_get(root, list_key);
    size_t n;

    *out = NULL;
    if (list && yaml_node_kind(list) != YAML_NODE_SEQ && yaml_node_kind(list) != YAML_NODE_NULL) {
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                       "kubeconfig %s: %s must be a list", kc->path, list_key);
        return -1;
    }
    n = list ? yaml_node_size(list) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *item = yaml_node_item(list, i);
        const struct yaml_node *nm = yaml_node_get(item, "name");

        if (!nm || yaml_node_kind(nm) != YAML_NODE_SCALAR ||
            strcmp(yaml_node_scalar(nm), name) != 0)
            continue;
        const struct yaml_node *inner = yaml_node_get(item, inner_key);
        if (inner && yaml_node_kind(inner) != YAML_NODE_MAP &&
            yaml_node_kind(inner) != YAML_NODE_NULL) {
            wva_error_setk(kc->err, WVA_ERR_CONFIG,
                           "kubeconfig %s: %s \"%s\": %s must be a map", kc->path,
                           inner_key, name, inner_key);
            return -1;
        }
        *out = inner && yaml_node_kind(inner) == YAML_NODE_MAP ? inner : NULL;
        return 0;
    }
    if (of_context)
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                       "kubeconfig %s: %s \"%s\" (of context \"%s\") not found",
                       kc->path, inner_key, name, of_context);
    else
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                       "kubeconfig %s: %s \"%s\" not found", kc->path, inner_key,
                       name);
    return -1;
}

/* A file-or-data pair (certificate-authority / certificate-authority-data
 * and the client ones): data wins; a file path is resolved against the
 * kubeconfig's directory. */
static int get_file_or_data(const struct kc *kc, const struct yaml_node *map, const char *where,
                            const char *file_key, const char *data_key, char **file_out,
                            char **data_out)
{
    const char *file, *data;

    if (get_string(kc, map, where, file_key, &file) < 0 ||
        get_string(kc, map, where, data_key, &data) < 0)
        return -1;
    if (data) {
        size_t len;
        char *decoded = base64_decode(data, &len);
        if (!decoded || len == 0 || strlen(decoded) != len) {
            /* A PEM never holds NUL bytes; reject rather than truncate. */
            if (decoded)
                wva_secret_free(decoded);
            wva_error_setk(kc->err, WVA_ERR_CONFIG,
                           "kubeconfig %s: %s: %s is not valid base64-encoded PEM",
                           kc->path, where, data_key);
            return -1;
        }
        *data_out = decoded;
    } else if (file) {
        *file_out = resolve_path(kc->dir, file);
    }
    return 0;
}

static int read_cluster(const struct kc *kc, const struct yaml_node *root, const char *name,
                        struct kube_config *cfg)
{
    const struct yaml_node *cluster;
    char where[320];
    const char *server, *insecure, *server_name;

    snprintf(where, sizeof(where), "cluster \"%s\"", name);
    if (find_named(kc, root, "clusters", "cluster", name, cfg->context, &cluster) < 0)
        return -1;
    if (get_string(kc, cluster, where, "server", &server) < 0 ||
        get_string(kc, cluster, where, "insecure-skip-tls-verify", &insecure) < 0 ||
        get_string(kc, cluster, where, "tls-server-name", &server_name) < 0)
        return -1;
    if (!server) {
        wva_error_setk(kc->err, WVA_ERR_CONFIG, "kubeconfig %s: %s has no server", kc->path, where);
        return -1;
    }
    /* A host must follow the scheme: "https://" alone would lose its
     * slashes below and reach the HTTP layer as "https:". */
    size_t scheme = strncmp(server, "https://", 8) == 0  ? 8
                    : strncmp(server, "http://", 7) == 0 ? 7
                                                         : 0;
    if (!scheme || server[scheme] == '\0' || server[scheme] == '/') {
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                       "kubeconfig %s: %s: server \"%s\" is not an http(s) URL",
                       kc->path, where, server);
        return -1;
    }
    cfg->server = wva_xstrdup(server);
    size_t len = strlen(cfg->server);
    while (len > 0 && cfg->server[len - 1] == '/')
        cfg->server[--len] = '\0';
    if (insecure) {
        struct wva_error berr;
        if (values_parse_bool(insecure, &cfg->insecure_skip_verify, &berr) < 0) {
            wva_error_setk(kc->err, WVA_ERR_CONFIG,
                          "kubeconfig %s: %s: insecure-skip-tls-verify \"%s\" is not a boolean",
                          kc->path, where, insecure);
            return -1;
        }
    }
    cfg->server_name = wva_xstrdup(server_name);
    return get_file_or_data(kc, cluster, where, "certificate-authority",
                            "certificate-authority-data", &cfg->ca_file, &cfg->ca_data);
}

/* Users that authenticate through a plugin (exec, auth-provider) are
 * refused with an error naming the plugin.  what: how to describe it, with
 * one %s for the plugin's name_key value. */
static int refuse_plugin(const struct kc *kc, const struct yaml_node *user, const char *where,
                         const char *key, const char *name_key, const char *what)
{
    const struct yaml_node *plugin = yaml_node_get(user, key);
    const char *name = NULL;
    char desc[512];

    if (!plugin || yaml_node_kind(plugin) == YAML_NODE_NULL)
        return 0;
    if (yaml_node_kind(plugin) == YAML_NODE_MAP &&
        get_string(kc, plugin, where, name_key, &name) < 0)
        return -1;
    snprintf(desc, sizeof(desc), what, name ? name : "?");
    wva_error_setk(kc->err, WVA_ERR_CONFIG,
                  "kubeconfig %s: %s uses %s; give the user a token, tokenFile or client "
                  "certificate instead (e.g. a ServiceAccount token)",
                  kc->path, where, desc);
    return -1;
}

static int read_user(const struct kc *kc, const struct yaml_node *root, const char *name,
                     struct kube_config *cfg)
{
    const struct yaml_node *user;
    char where[320];
    const char *token, *token_file, *username;

    snprintf(where, sizeof(where), "user \"%s\"", name);
    if (find_named(kc, root, "users", "user", name, cfg->context, &user) < 0)
        return -1;
    if (refuse_plugin(kc, user, where, "exec", "command",
                      "an exec credential plugin (command \"%s\"), which wva-optimizer "
                      "does not run") < 0 ||
        refuse_plugin(kc, user, where, "auth-provider", "name",
                      "the auth-provider \"%s\", which wva-optimizer does not support") < 0)
        return -1;
    if (get_string(kc, user, where, "username", &username) < 0)
        return -1;
    if (username) {
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                      "kubeconfig %s: %s uses username/password (basic) authentication, which "
                      "wva-optimizer does not support; use a token or client certificate",
                      kc->path, where);
        return -1;
    }
    if (get_file_or_data(kc, user, where, "client-certificate", "client-certificate-data",
                         &cfg->client_cert_file, &cfg->client_cert_data) < 0 ||
        get_file_or_data(kc, user, where, "client-key", "client-key-data",
                         &cfg->client_key_file, &cfg->client_key_data) < 0)
        return -1;
    if ((cfg->client_cert_file || cfg->client_cert_data) !=
        (cfg->client_key_file || cfg->client_key_data)) {
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                      "kubeconfig %s: %s has a client certificate without a key or a key "
                      "without a certificate", kc->path, where);
        return -1;
    }
    if (get_string(kc, user, where, "token", &token) < 0 ||
        get_string(kc, user, where, "tokenFile", &token_file) < 0)
        return -1;
    if (token) {
        cfg->token = wva_xstrdup(token);
    } else if (token_file) {
        char *path = resolve_path(kc->dir, token_file);
        char what[400];
        snprintf(what, sizeof(what), "kubeconfig %s: %s: tokenFile", kc->path, where);
        cfg->token = wva_secret_read_token(what, path, kc->err);
        free(path);
        if (!cfg->token)
            return -1;
    }
    return 0;
}

static int parse_kubeconfig(const struct kc *kc, const struct yaml_node *root, const char *context,
                            struct kube_config *cfg)
{
    const struct yaml_node *ctx;
    const char *current, *cluster_name, *user_name, *ns;

    if (yaml_node_kind(root) != YAML_NODE_MAP) {
        wva_error_setk(kc->err, WVA_ERR_CONFIG, "kubeconfig %s: not a YAML map", kc->path);
        return -1;
    }
    if (context && context[0]) {
        current = context;
    } else {
        if (get_string(kc, root, "top level", "current-context", &current) < 0)
            return -1;
        if (!current) {
            wva_error_setk(kc->err, WVA_ERR_CONFIG, "kubeconfig %s: no current-context is set "
                           "(kubectl config use-context NAME)", kc->path);
            return -1;
        }
    }
    cfg->context = wva_xstrdup(current);
    if (find_named(kc, root, "contexts", "context", current, NULL, &ctx) < 0)
        return -1;
    char where[320];
    snprintf(where, sizeof(where), "context \"%s\"", current);
    if (get_string(kc, ctx, where, "cluster", &cluster_name) < 0 ||
        get_string(kc, ctx, where, "user", &user_name) < 0 ||
        get_string(kc, ctx, where, "namespace", &ns) < 0)
        return -1;
    if (!cluster_name) {
        wva_error_setk(kc->err, WVA_ERR_CONFIG,
                       "kubeconfig %s: context \"%s\" names no cluster", kc->path,
                       current);
        return -1;
    }
    cfg->namespace_name = wva_xstrdup(ns ? ns : "default");
    if (read_cluster(kc, root, cluster_name, cfg) < 0)
        return -1;
    /* A context without a user is anonymous access (as with kubectl). */
    if (user_name && read_user(kc, root, user_name, cfg) < 0)
        return -1;
    return 0;
}

int kube_config_load_file(const char *path, const char *context, struct kube_config *cfg,
                          struct wva_error *err)
{
    struct yaml_node *root = NULL;
    char *text = NULL, *dir = NULL;
    size_t len;
    int rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    text = wva_secret_read_file("kubeconfig", path, YAML_DOC_MAX_BYTES, &len, err);
    if (!text)
        goto out;
    root = yaml_doc_parse(text, len, err);
    if (!root) {
        wva_error_prefix(err, "kubeconfig %s: ", path);
        if (err)
            err->kind = WVA_ERR_CONFIG;     /* the YAML reader does not classify */
        goto out;
    }
    dir = dir_of(path);
    struct kc kc = { .path = path, .dir = dir, .err = err };
    if (parse_kubeconfig(&kc, root, context, cfg) < 0)
        goto out;
    cfg->source = wva_xstrdup(path);
    rc = 0;
out:
    if (rc < 0)
        kube_config_free(cfg);
    yaml_doc_free(root);
    /* The text may hold a token or key. */
    if (text) {
        wva_secret_wipe(text, len);
        free(text);
    }
    free(dir);
    return rc;
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config *cfg, struct wva_error *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char *ns = NULL;
    int rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    if (!sa_dir)
        sa_dir = KUBE_SA_DIR_DEFAULT;
    if (!host || !host[0] || !port || !port[0]) {
        wva_error_setk(err, WVA_ERR_CONFIG, "in-cluster config: KUBERNETES_SERVICE_HOST and "
                       "KUBERNETES_SERVICE_PORT must both be set");
        goto out;
    }
    if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5) {
        wva_error_setk(err, WVA_ERR_CONFIG,
                       "in-cluster config: KUBERNETES_SERVICE_PORT \"%s\" is not a port",
                       port);
        goto out;
    }
    /* An IPv6 service address needs brackets in a URL. */
    if (strchr(host, ':'))
        wva_strbuf_addf(&sb, "https://[%s]:%s", host, port);
    else
        wva_strbuf_addf(&sb, "https://%s:%s", host, port);
    cfg->server = wva_strbuf_detach(&sb);

    wva_strbuf_addf(&sb, "%s/token", sa_dir);
    cfg->token = wva_secret_read_token("in-cluster config: service-account token",
                                       wva_strbuf_str(&sb), err);
    wva_strbuf_reset(&sb);
    if (!cfg->token)
        goto out;

    wva_strbuf_addf(&sb, "%s/ca.crt", sa_dir);
    if (access(wva_strbuf_str(&sb), R_OK) != 0) {
        wva_error_setk(err, WVA_ERR_CONFIG, "in-cluster config: service-account CA %s: %s",
                       wva_strbuf_str(&sb), strerror(errno));
        goto out;
    }
    cfg->ca_file = wva_strbuf_detach(&sb);

    /* The namespace file is optional (older clusters); "default" then. */
    wva_strbuf_addf(&sb, "%s/namespace", sa_dir);
    if (access(wva_strbuf_str(&sb), F_OK) == 0) {
        ns = wva_secret_read_token("in-cluster config: service-account namespace",
                                   wva_strbuf_str(&sb), err);
        if (!ns)
            goto out;
        if (strlen(ns) > KUBE_NAMESPACE_MAX_BYTES) {
            wva_error_setk(err, WVA_ERR_CONFIG,
                           "in-cluster config: namespace file %s holds no namespace name",
                           wva_strbuf_str(&sb));
            goto out;
        }
    }
    cfg->namespace_name = ns ? ns : wva_xstrdup("default");
    ns = NULL;
    cfg->source = wva_xstrdup("in-cluster");
    rc = 0;
out:
    if (rc < 0)
        kube_config_free(cfg);
    free(ns);
    wva_strbuf_release(&sb);
    return rc;
}

int kube_config_load(const char *explicit_path, const char *sa_dir, struct kube_config *cfg,
                     struct wva_error *err)
{
    const char *env = getenv("KUBECONFIG");
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *home = getenv("HOME");

    if (explicit_path && explicit_path[0])
        return kube_config_load_file(explicit_path, NULL, cfg, err);
    if (env && env[0]) {
        /* Only the first file of the list is read (documented). */
        const char *p = env;
        while (*p == ':')
            p++;
        size_t n = strcspn(p, ":");
        if (n > 0) {
            char *first = wva_xmalloc(n + 1);
            memcpy(first, p, n);
            first[n] = '\0';
            int rc = kube_config_load_file(first, NULL, cfg, err);
            if (rc < 0)
                wva_error_prefix(err, "KUBECONFIG: ");
            free(first);
            return rc;
        }
    }
    if (host && host[0])
        return kube_config_in_cluster(sa_dir, cfg, err);
    if (home && home[0]) {
        struct wva_strbuf sb = WVA_STRBUF_INIT;
        struct stat st;
        wva_strbuf_addf(&sb, "%s/.kube/config", home);
        if (stat(wva_strbuf_str(&sb), &st) == 0) {
            int rc = kube_config_load_file(wva_strbuf_str(&sb), NULL, cfg, err);
            wva_strbuf_release(&sb);
            return rc;
        }
        wva_strbuf_release(&sb);
    }
    memset(cfg, 0, sizeof(*cfg));
    wva_error_setk(err, WVA_ERR_CONFIG,
                   "no Kubernetes configuration found: no --kubeconfig, KUBECONFIG unset, "
                   "not running in a cluster (KUBERNETES_SERVICE_HOST unset) and no "
                   "$HOME/.kube/config");
    return -1;
}
