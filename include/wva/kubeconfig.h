/* kubeconfig.h - where the Kubernetes API server is and how to
 * authenticate to it (SPEC section 3, "Kubernetes access").
 *
 * Sources, first match wins (the order controller-runtime uses, so an
 * explicit choice beats the environment it runs in):
 *   1. an explicit path (--kubeconfig);
 *   2. $KUBECONFIG: only the FIRST file of a colon-separated list is read
 *      (contexts are not merged across files);
 *   3. in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT set,
 *      token, CA and namespace from the service-account directory;
 *   4. ~/.kube/config ($HOME).
 *
 * A kubeconfig supplies: current-context (its cluster, user, namespace);
 * cluster server, certificate-authority (file) or certificate-authority-data
 * (base64), insecure-skip-tls-verify, tls-server-name; user
 * client-certificate / client-key (file or -data), token or tokenFile.
 * When both a file and its -data form are given, the data wins; token wins
 * over tokenFile.  Relative file paths are resolved against the kubeconfig
 * file's directory.  Users with exec or auth-provider plugins, or with
 * username/password, are refused with an error saying so.  tokenFile is read
 * once at load (a run is short-lived).
 */
#ifndef WVA_KUBECONFIG_H
#define WVA_KUBECONFIG_H

#include <stdbool.h>

#include "wva/error.h"

#define KUBE_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
    char *server;                   /* "https://host:port", no trailing '/' */
    char *namespace_name;           /* context / service-account namespace, "default" */
    char *source;                   /* "in-cluster" or the kubeconfig path (for messages) */
    char *context;                  /* context used (NULL in-cluster) */

    /* TLS: file paths are absolute (resolved); *_data hold decoded PEM. */
    char *ca_file;
    char *ca_data;
    char *client_cert_file;
    char *client_cert_data;
    char *client_key_file;
    char *client_key_data;          /* secret */
    char *server_name;              /* tls-server-name, or NULL */
    bool insecure_skip_verify;

    char *token;                    /* secret: never logged; NULL = none */
};

/* Choose the source as described above and load it into cfg (which the
 * function initialises).  explicit_path may be NULL or "".  sa_dir is the
 * service-account directory (NULL = KUBE_SA_DIR_DEFAULT; tests override it).
 * Returns -1 with err naming the file, context or field on failure. */
int kube_config_load(const char *explicit_path, const char *sa_dir,
                     struct kube_config *cfg, struct wva_error *err);

/* Load one kubeconfig file.  context NULL or "" = its current-context. */
int kube_config_load_file(const char *path, const char *context,
                          struct kube_config *cfg, struct wva_error *err);

/* In-cluster configuration from KUBERNETES_SERVICE_HOST/PORT and sa_dir
 * (NULL = KUBE_SA_DIR_DEFAULT): token (required), ca.crt (required),
 * namespace (optional, default "default"). */
int kube_config_in_cluster(const char *sa_dir, struct kube_config *cfg,
                           struct wva_error *err);

/* Free the contents (secrets are overwritten first) and zero cfg.  NULL is
 * a no-op. */
void kube_config_free(struct kube_config *cfg);

#endif
