/* fake_prom_server.h - run tests/fixtures/prom/fake_prometheus.py (the
 * instant-query stand-in answering canned.json) from a cmocka test group:
 * start it on 127.0.0.1, read the requests it logged, stop it.  Also the
 * client the tests use against it.
 *
 * Header-only (static functions), like kubeapi_server.h, for the test
 * programs of the Prometheus client and of collect.
 */
#ifndef WVA_FAKE_PROM_SERVER_H
#define WVA_FAKE_PROM_SERVER_H

#include "test_util.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "wva/http.h"
#include "wva/prom_client.h"

#define TOKEN "s3cr3t-token-for-tests"

struct server {
    pid_t pid;
    int port;
    char dir[64];
    char log[128];
    char base_url[64];
};

static inline int server_start(void **state)
{
    struct server *srv = calloc(1, sizeof(*srv));
    char script[4096], canned[4096];
    int fds[2];
    char line[32];
    FILE *out;

    if (!srv)
        return -1;
    snprintf(script, sizeof(script), "%s", fixture_path("prom/fake_prometheus.py"));
    snprintf(canned, sizeof(canned), "%s", fixture_path("prom/canned.json"));
    snprintf(srv->dir, sizeof(srv->dir), "/tmp/wva-prom-test-XXXXXX");
    if (!mkdtemp(srv->dir) || pipe(fds) < 0)
        return -1;
    snprintf(srv->log, sizeof(srv->log), "%s/requests.log", srv->dir);
    srv->pid = fork();
    if (srv->pid < 0)
        return -1;
    if (srv->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", script, "--canned", canned, "--token", TOKEN,
               "--log", srv->log, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    if (!out || !fgets(line, sizeof(line), out)) {
        fprintf(stderr, "fake_prometheus.py did not start\n");
        if (out)
            fclose(out);
        return -1;
    }
    fclose(out);
    srv->port = atoi(line);
    snprintf(srv->base_url, sizeof(srv->base_url), "http://127.0.0.1:%d/", srv->port);
    *state = srv;
    return srv->port > 0 ? 0 : -1;
}

static inline int server_stop(void **state)
{
    struct server *srv = *state;
    char path[160];

    if (!srv)
        return 0;
    if (srv->pid > 0) {
        kill(srv->pid, SIGTERM);
        waitpid(srv->pid, NULL, 0);
    }
    unlink(srv->log);
    snprintf(path, sizeof(path), "%s/token", srv->dir);
    unlink(path);
    rmdir(srv->dir);
    free(srv);
    return 0;
}

/* Each test reads only the requests it made. */
static inline int server_reset_log(void **state)
{
    struct server *srv = *state;

    unlink(srv->log);
    return 0;
}

/* The logged requests as a JSON array of {"body","query","time"}. */
static inline json_object *server_requests(const struct server *srv)
{
    size_t len;
    char *text = read_whole_file(srv->log, &len);
    json_object *arr = json_object_new_array();
    char *save = NULL;

    if (!text)
        return arr;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        json_object_array_add(arr, json_tokener_parse(line));
    free(text);
    return arr;
}

static inline const char *request_field(json_object *arr, size_t i, const char *key)
{
    json_object *item = json_object_array_get_idx(arr, i), *v;

    if (!item || !json_object_object_get_ex(item, key, &v) ||
        json_object_is_type(v, json_type_null))
        return NULL;
    return json_object_get_string(v);
}

static inline struct prom_client *make_client(const struct server *srv, const char *token,
                                              const char *token_path)
{
    struct prom_options opts;
    struct wva_error err;
    struct prom_client *c;

    memset(&opts, 0, sizeof(opts));
    opts.base_url = srv->base_url;
    opts.bearer_token = token;
    opts.token_path = token_path;
    opts.max_retries = HTTP_NO_RETRY;   /* the 502 case must not wait for backoff */
    opts.timeout_ms = 5000;
    c = prom_client_new(&opts, &err);
    if (!c)
        fail_msg("prom_client_new: %s", err.msg);
    return c;
}

/* The sample of a series whose "pod" label is pod, or NULL. */
static inline const struct wva_sample *find_pod(const struct wva_series *s, const char *pod)
{
    for (size_t i = 0; i < s->count; i++) {
        const char *p = wva_kvlist_get(&s->items[i].labels, "pod");
        if (p && strcmp(p, pod) == 0)
            return &s->items[i];
    }
    return NULL;
}

#endif
