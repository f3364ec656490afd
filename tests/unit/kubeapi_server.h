/* kubeapi_server.h - run tests/servers/kubeapi.py (the Kubernetes API test
 * server) from a cmocka test: start it on 127.0.0.1 with a state directory
 * under /tmp, wait for its ready file, drive its admin port (load objects,
 * faults, request log), stop it and remove the directory.
 *
 * Header-only (static functions) so that each test program that needs the
 * server includes it without another library.
 */
#ifndef WVA_KUBEAPI_SERVER_H
#define WVA_KUBEAPI_SERVER_H

#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "wva/http.h"
#include "wva/kube_client.h"
#include "wva/kubeconfig.h"

#define KUBEAPI_TOKEN "kubeapi-test-token-3b9d"
#define KUBEAPI_START_TIMEOUT_S 30

struct kubeapi_server {
    pid_t pid;
    char dir[64];
    char url[128];
    char admin_url[128];
    char ca[256];
    struct http_client *admin;
};

static int kubeapi_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void kubeapi_stop(struct kubeapi_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    http_client_free(s->admin);
    s->admin = NULL;
    if (s->dir[0])
        nftw(s->dir, kubeapi_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
}

/* Start the server; 0 on success (the ready file read), -1 after printing
 * why (the server's stderr is kept in DIR/kubeapi.err). */
static int kubeapi_start(struct kubeapi_server *s)
{
    const char *top = getenv("top_srcdir");
    char script[1024], ready[128], errfile[128];
    struct wva_error err = {0};

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/wva-kubeapi-XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(script, sizeof(script), "%s/tests/servers/kubeapi.py", top ? top : ".");
    snprintf(ready, sizeof(ready), "%s/ready.json", s->dir);
    snprintf(errfile, sizeof(errfile), "%s/kubeapi.err", s->dir);
    s->pid = fork();
    if (s->pid < 0) {
        perror("fork");
        return -1;
    }
    if (s->pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDWR);
        if (fd >= 0)
            dup2(fd, 2);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        execlp("python3", "python3", script, "--state-dir", s->dir, "--token", KUBEAPI_TOKEN,
               "--ready-file", ready, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < KUBEAPI_START_TIMEOUT_S * 20; i++) {
        json_object *doc = access(ready, R_OK) == 0 ? json_object_from_file(ready) : NULL;
        if (doc) {
            snprintf(s->url, sizeof(s->url), "%s",
                     json_object_get_string(json_object_object_get(doc, "url")));
            snprintf(s->admin_url, sizeof(s->admin_url), "%s",
                     json_object_get_string(json_object_object_get(doc, "admin_url")));
            snprintf(s->ca, sizeof(s->ca), "%s",
                     json_object_get_string(json_object_object_get(doc, "ca")));
            json_object_put(doc);
            s->admin = http_client_new(NULL, &err);
            return s->admin ? 0 : -1;
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            fprintf(stderr, "kubeapi.py exited early; see %s\n", errfile);
            s->pid = 0;
            return -1;
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "kubeapi.py not ready after %d s\n", KUBEAPI_START_TIMEOUT_S);
    return -1;
}

/* A Kubernetes client for the server (token auth, its CA). */
static struct kube_client *kubeapi_client(const struct kubeapi_server *s)
{
    struct kube_config cfg = {
        .server = (char *)s->url, .ca_file = (char *)s->ca, .token = (char *)KUBEAPI_TOKEN,
        .source = (char *)"kubeapi test server",
    };
    struct wva_error err = {0};
    struct kube_client *c = kube_client_new(&cfg, &err);

    if (!c)
        fail_msg("kube_client_new: %s", err.msg);
    return c;
}

/* The environment must not choose settings for tests that resolve them
 * the way a live command does: unset every variable of the settings table
 * that a test machine might carry. */
static inline void kubeapi_clear_settings_env(void)
{
    static const char *const vars[] = {"WATCH_NAMESPACE", "CONTROLLER_INSTANCE", "POD_NAMESPACE",
                                       "CONFIG_MAP_NAME", "GLOBAL_OPT_ENABLE",
                                       "GLOBAL_OPT_INTERVAL", "PROMETHEUS_BASE_URL",
                                       "WVA_LIMITED_MODE", "KUBERNETES_SERVICE_HOST",
                                       "KUBECONFIG"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

/* cmocka group setup of a test program with one server and one client:
 * 0, or -1 (the group is then not run). */
static int kubeapi_group_start(struct kubeapi_server *s, struct kube_client **kc)
{
    if (kubeapi_start(s) < 0) {
        kubeapi_stop(s);
        return -1;
    }
    *kc = kubeapi_client(s);
    return 0;
}

static void kubeapi_group_stop(struct kubeapi_server *s, struct kube_client **kc)
{
    kube_client_free(*kc);
    *kc = NULL;
    kubeapi_stop(s);
}

/* One admin request; the parsed response (caller puts it).  Fails the test
 * unless the admin port answers 200. */
static json_object *kubeapi_admin(const struct kubeapi_server *s, const char *method,
                                  const char *path, const char *body)
{
    char url[512];
    struct wva_error err = {0};
    struct http_response resp;
    json_object *doc;

    snprintf(url, sizeof(url), "%s%s", s->admin_url, path);
    struct http_request req = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0,
        .content_type = body ? "application/json" : NULL,
    };
    if (http_do(s->admin, &req, &resp, &err) < 0)
        fail_msg("admin %s %s: %s", method, path, err.msg);
    if (resp.status != 200)
        fail_msg("admin %s %s: %ld %s", method, path, resp.status, wva_strbuf_str(&resp.body));
    doc = json_tokener_parse(wva_strbuf_str(&resp.body));
    http_response_free(&resp);
    if (!doc)
        fail_msg("admin %s %s: response is not JSON", method, path);
    return doc;
}

/* The same, dropping the response. */
static void kubeapi_admin_do(const struct kubeapi_server *s, const char *method,
                             const char *path, const char *body)
{
    json_object_put(kubeapi_admin(s, method, path, body));
}

/* Empty store, no faults, no deny rules, empty request log; then the
 * Namespace ns when not NULL. */
static void kubeapi_reset(const struct kubeapi_server *s, const char *ns)
{
    char body[256];

    kubeapi_admin_do(s, "POST", "/reset", NULL);
    kubeapi_admin_do(s, "DELETE", "/log", NULL);
    if (ns) {
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
                 ns);
        kubeapi_admin_do(s, "POST", "/objects", body);
    }
}

/* The number of requests logged so far. */
static size_t kubeapi_log_count(const struct kubeapi_server *s)
{
    json_object *doc = kubeapi_admin(s, "GET", "/log?since=1000000000", NULL);
    size_t n = (size_t)json_object_get_int64(json_object_object_get(doc, "next"));

    json_object_put(doc);
    return n;
}

/* The server logs a request after sending its response, so the last
 * request a client saw may not be logged yet: wait until the log has not
 * grown for 30 ms. */
static void kubeapi_log_settle(const struct kubeapi_server *s)
{
    size_t last = kubeapi_log_count(s);

    for (int i = 0; i < 100; i++) {
        usleep(30 * 1000);
        size_t now = kubeapi_log_count(s);
        if (now == last)
            return;
        last = now;
    }
}

/* A mark for kubeapi_requests: the settled number of requests so far. */
static size_t kubeapi_log_mark(const struct kubeapi_server *s)
{
    kubeapi_log_settle(s);
    return kubeapi_log_count(s);
}

/* The request log entries since mark (a new reference to the array; caller
 * puts it), once the log has settled. */
static json_object *kubeapi_requests(const struct kubeapi_server *s, size_t since)
{
    char path[64];
    json_object *doc, *entries;

    kubeapi_log_settle(s);
    snprintf(path, sizeof(path), "/log?since=%zu", since);
    doc = kubeapi_admin(s, "GET", path, NULL);
    entries = json_object_get(json_object_object_get(doc, "entries"));
    json_object_put(doc);
    return entries;
}

/* A string field of a JSON object by dotted path ("spec.replicas" works
 * for any scalar: its JSON text), or NULL. */
static const char *json_at(json_object *obj, const char *dotted)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", dotted);
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(obj, json_type_array))
            obj = json_object_array_get_idx(obj, (size_t)atoi(k));
        else if (!json_object_object_get_ex(obj, k, &obj))
            return NULL;
        if (!obj)
            return NULL;
    }
    return json_object_get_string(obj);
}

#endif
