/* test_lease.c - the interval gate and mutual exclusion (SPEC section 3)
 * against tests/servers/kubeapi.py: create when absent, held by another
 * run, too early, --once, takeover of an expired lease, release, races. */
#include "kubeapi_server.h"

#include "wva/lease.h"
#include "wva/log.h"
#include "wva/strbuf.h"

#define SYS_NS "wva-system"
#define T0 1798761600.0                 /* 2027-01-01T00:00:00Z */
#define T0_TEXT "2027-01-01T00:00:00Z"
#define LEASE_PATH "/apis/coordination.k8s.io/v1/namespaces/" SYS_NS "/leases/wva-optimizer"

static struct kubeapi_server server;
static struct kube_client *kc;

static int group_setup(void **state)
{
    (void)state;
    log_configure(0, 0);
    return kubeapi_group_start(&server, &kc);
}

static int group_teardown(void **state)
{
    (void)state;
    kubeapi_group_stop(&server, &kc);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    kubeapi_reset(&server, SYS_NS);
    return 0;
}

static struct lease_options opts(const char *identity, double now, bool honour)
{
    return (struct lease_options){ .system_namespace = SYS_NS, .identity = identity,
                                   .interval_seconds = 60, .honour_interval = honour,
                                   .now = now };
}

static int acquire(const char *identity, double now, bool honour, struct lease *l)
{
    struct lease_options o = opts(identity, now, honour);
    struct wva_error err = {0};
    int rc = lease_acquire(kc, &o, l, &err);

    if (rc == LEASE_ERROR)
        fail_msg("lease_acquire: %s", err.msg);
    assert_string_equal(err.msg, "");
    return rc;
}

static json_object *stored_lease(const char *name)
{
    char path[128];

    snprintf(path, sizeof(path), "/objects/leases/" SYS_NS "/%s", name);
    return kubeapi_admin(&server, "GET", path, NULL);
}

/* "METHOD status" per request since mark. */
static char *request_lines(size_t mark)
{
    json_object *entries = kubeapi_requests(&server, mark);
    struct wva_strbuf sb = WVA_STRBUF_INIT;

    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *e = json_object_array_get_idx(entries, i);
        wva_strbuf_addf(&sb, "%s %s %s\n", json_at(e, "method"), json_at(e, "path"),
                        json_at(e, "status"));
    }
    json_object_put(entries);
    return wva_strbuf_detach(&sb);
}

static void assert_requests(size_t mark, const char *want)
{
    char *lines = request_lines(mark);

    assert_string_equal(lines, want);
    free(lines);
}

static void test_lease_name(void **state)
{
    char buf[96], again[96];

    (void)state;
    lease_name(NULL, buf, sizeof(buf));
    assert_string_equal(buf, "wva-optimizer");
    lease_name("", buf, sizeof(buf));
    assert_string_equal(buf, "wva-optimizer");
    lease_name("Team-A", buf, sizeof(buf));
    assert_string_equal(buf, "wva-optimizer-team-a");
    /* Not a DNS label: a stable 8-hex-digit hash. */
    lease_name("team_a", buf, sizeof(buf));
    assert_int_equal(strlen(buf), strlen("wva-optimizer-") + 8);
    assert_int_equal(strncmp(buf, "wva-optimizer-", 14), 0);
    assert_int_equal(strspn(buf + 14, "0123456789abcdef"), 8);
    lease_name("team_a", again, sizeof(again));
    assert_string_equal(buf, again);
    lease_name("team_b", again, sizeof(again));
    assert_string_not_equal(buf, again);
    lease_name("-a", again, sizeof(again));
    assert_int_equal(strlen(again), 22);
    lease_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", again,
               sizeof(again));
    assert_int_equal(strlen(again), 22);
    assert_string_equal(lease_outcome_name(LEASE_TOO_EARLY), "too-early");
    assert_string_equal(lease_outcome_name(LEASE_HELD_BY_OTHER), "held-by-other");
}

static void test_acquire_absent_creates(void **state)
{
    struct lease l;
    size_t mark = kubeapi_log_mark(&server);

    (void)state;
    assert_int_equal(acquire("run-a", T0, true, &l), LEASE_ACQUIRED);
    assert_true(l.held);
    assert_string_equal(l.name, "wva-optimizer");
    assert_string_equal(l.identity, "run-a");
    assert_true(l.last_completed_run < 0);
    assert_requests(mark, "GET " LEASE_PATH " 404\n"
                          "POST /apis/coordination.k8s.io/v1/namespaces/" SYS_NS "/leases 201\n");
    json_object *o = stored_lease("wva-optimizer");
    assert_string_equal(json_at(o, "spec.holderIdentity"), "run-a");
    assert_string_equal(json_at(o, "spec.leaseDurationSeconds"), "120");   /* 2 x interval */
    assert_string_equal(json_at(o, "spec.acquireTime"), "2027-01-01T00:00:00.000000Z");
    assert_string_equal(json_at(o, "spec.renewTime"), "2027-01-01T00:00:00.000000Z");
    assert_string_equal(json_at(o, "spec.leaseTransitions"), "0");
    json_object_put(o);
    lease_free(&l);
    lease_free(NULL);

    /* The default identity is host_pid; the duration never below 60 s. */
    struct lease_options op = opts(NULL, T0, false);
    struct wva_error err = {0};
    char want[64];
    op.instance = "Blue";
    op.duration_seconds = 20;
    assert_int_equal(lease_acquire(kc, &op, &l, &err), LEASE_ACQUIRED);
    snprintf(want, sizeof(want), "_%ld", (long)getpid());
    assert_non_null(strstr(l.identity, want));
    o = stored_lease("wva-optimizer-blue");
    assert_string_equal(json_at(o, "spec.leaseDurationSeconds"), "60");
    json_object_put(o);
    lease_free(&l);
}

static void test_held_by_other(void **state)
{
    struct lease a, b;

    (void)state;
    assert_int_equal(acquire("run-a", T0, true, &a), LEASE_ACQUIRED);
    size_t mark = kubeapi_log_mark(&server);
    assert_int_equal(acquire("run-b", T0 + 30, true, &b), LEASE_HELD_BY_OTHER);
    assert_false(b.held);
    assert_string_equal(b.other_holder, "run-a");
    assert_true(b.other_expires_at == T0 + 120);
    lease_free(&b);
    /* --once does not bypass mutual exclusion. */
    assert_int_equal(acquire("run-b", T0 + 119, false, &b), LEASE_HELD_BY_OTHER);
    lease_free(&b);
    assert_requests(mark, "GET " LEASE_PATH " 200\nGET " LEASE_PATH " 200\n");
    json_object *o = stored_lease("wva-optimizer");
    assert_string_equal(json_at(o, "spec.holderIdentity"), "run-a");
    json_object_put(o);
    lease_free(&a);
}

static void test_release_and_interval_gate(void **state)
{
    struct wva_error err = {0};
    struct lease a, b;

    (void)state;
    assert_int_equal(acquire("run-a", T0, true, &a), LEASE_ACQUIRED);
    assert_int_equal(lease_release(kc, &a, true, T0 + 5, &err), 0);
    assert_false(a.held);
    json_object *o = stored_lease("wva-optimizer");
    assert_null(json_at(o, "spec.holderIdentity"));
    assert_string_equal(json_at(o, "spec.renewTime"), "2027-01-01T00:00:05.000000Z");
    /* The run's start, not its end: the next CronJob tick is one interval
     * after this one started. */
    json_object *ann = json_object_object_get(json_object_object_get(o, "metadata"),
                                              "annotations");
    assert_string_equal(json_object_get_string(json_object_object_get(
                            ann, "wva.llmd.ai/last-completed-run")), T0_TEXT);
    json_object_put(o);
    lease_free(&a);
    /* Releasing twice is an error, not a write. */
    assert_int_equal(lease_release(kc, &a, true, T0 + 5, &err), -1);

    /* A scheduled run 30 s later is too early, and writes nothing. */
    size_t mark = kubeapi_log_mark(&server);
    assert_int_equal(acquire("run-b", T0 + 30, true, &b), LEASE_TOO_EARLY);
    assert_true(b.last_completed_run == T0);
    assert_false(b.held);
    lease_free(&b);
    /* 60 - min(60/4, 15) = 45 s: CronJob jitter tolerated. */
    assert_int_equal(acquire("run-b", T0 + 44, true, &b), LEASE_TOO_EARLY);
    lease_free(&b);
    assert_requests(mark, "GET " LEASE_PATH " 200\nGET " LEASE_PATH " 200\n");

    /* --once ignores the interval. */
    assert_int_equal(acquire("run-b", T0 + 30, false, &b), LEASE_ACQUIRED);
    o = stored_lease("wva-optimizer");
    assert_string_equal(json_at(o, "spec.holderIdentity"), "run-b");
    assert_string_equal(json_at(o, "spec.leaseTransitions"), "1");
    json_object_put(o);
    /* Not completed: the last run stays the previous one. */
    assert_int_equal(lease_release(kc, &b, false, T0 + 40, &err), 0);
    lease_free(&b);
    o = stored_lease("wva-optimizer");
    ann = json_object_object_get(json_object_object_get(o, "metadata"), "annotations");
    assert_string_equal(json_object_get_string(json_object_object_get(
                            ann, "wva.llmd.ai/last-completed-run")), T0_TEXT);
    json_object_put(o);

    assert_int_equal(acquire("run-c", T0 + 46, true, &b), LEASE_ACQUIRED);
    lease_free(&b);
}

static void test_takeover_of_expired_lease(void **state)
{
    struct lease l;

    (void)state;
    kubeapi_admin_do(&server, "POST", "/objects",
                     "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                     "\"metadata\":{\"name\":\"wva-optimizer\",\"namespace\":\"" SYS_NS "\"},"
                     "\"spec\":{\"holderIdentity\":\"crashed-run\",\"leaseDurationSeconds\":60,"
                     "\"acquireTime\":\"2027-01-01T00:00:00.000000Z\","
                     "\"renewTime\":\"2027-01-01T00:00:00.000000Z\",\"leaseTransitions\":3}}");
    assert_int_equal(acquire("run-a", T0 + 59, true, &l), LEASE_HELD_BY_OTHER);
    assert_string_equal(l.other_holder, "crashed-run");
    lease_free(&l);
    size_t mark = kubeapi_log_mark(&server);
    assert_int_equal(acquire("run-a", T0 + 61, true, &l), LEASE_ACQUIRED);
    assert_requests(mark, "GET " LEASE_PATH " 200\nPUT " LEASE_PATH " 200\n");
    json_object *o = stored_lease("wva-optimizer");
    assert_string_equal(json_at(o, "spec.holderIdentity"), "run-a");
    assert_string_equal(json_at(o, "spec.leaseTransitions"), "4");
    assert_string_equal(json_at(o, "spec.acquireTime"), "2027-01-01T00:01:01.000000Z");
    json_object_put(o);
    lease_free(&l);

    /* A holder that never renewed cannot be shown alive: taken over. */
    kubeapi_admin_do(&server, "PUT", "/objects/leases/" SYS_NS "/wva-optimizer",
                     "{\"metadata\":{\"namespace\":\"" SYS_NS "\"},"
                     "\"spec\":{\"holderIdentity\":\"ghost\"}}");
    assert_int_equal(acquire("run-b", T0, true, &l), LEASE_ACQUIRED);
    lease_free(&l);
}

static void test_release_after_takeover_writes_nothing(void **state)
{
    struct wva_error err = {0};
    struct lease a, b;

    (void)state;
    assert_int_equal(acquire("run-a", T0, true, &a), LEASE_ACQUIRED);
    /* run-a overran its lease; run-b took over. */
    assert_int_equal(acquire("run-b", T0 + 121, true, &b), LEASE_ACQUIRED);
    size_t mark = kubeapi_log_mark(&server);
    assert_int_equal(lease_release(kc, &a, true, T0 + 130, &err), -1);
    assert_string_equal(err.msg, "lease " SYS_NS "/wva-optimizer: release: the lease was taken "
                                 "over by run-b (ours had expired); the last completed run is "
                                 "not recorded");
    assert_requests(mark, "PUT " LEASE_PATH " 409\nGET " LEASE_PATH " 200\n");
    json_object *o = stored_lease("wva-optimizer");
    assert_string_equal(json_at(o, "spec.holderIdentity"), "run-b");
    assert_null(json_at(o, "metadata.annotations"));
    json_object_put(o);
    lease_free(&a);

    /* run-b's own release survives someone labelling the Lease meanwhile. */
    kubeapi_admin_do(&server, "PATCH", "/objects/leases/" SYS_NS "/wva-optimizer",
                     "{\"metadata\":{\"labels\":{\"team\":\"ops\"}}}");
    mark = kubeapi_log_mark(&server);
    assert_int_equal(lease_release(kc, &b, true, T0 + 140, &err), 0);
    assert_requests(mark, "PUT " LEASE_PATH " 409\nGET " LEASE_PATH " 200\n"
                          "PUT " LEASE_PATH " 200\n");
    o = stored_lease("wva-optimizer");
    assert_null(json_at(o, "spec.holderIdentity"));
    assert_string_equal(json_at(o, "metadata.labels.team"), "ops");
    json_object_put(o);
    lease_free(&b);
}

/* Two processes race for the Lease from a common start signal; exit code
 * 0 = acquired, 1 = held by other, 2 = anything else. */
static void race(double now)
{
    int gate[2];
    pid_t pids[2];
    int acquired = 0, held = 0;

    assert_int_equal(pipe(gate), 0);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            char id[32], c;
            struct kube_client *mine = kubeapi_client(&server);
            struct wva_error err = {0};
            struct lease l;

            snprintf(id, sizeof(id), "racer-%d", i);
            struct lease_options o = opts(id, now, true);
            close(gate[1]);
            (void)!read(gate[0], &c, 1);    /* EOF when the parent opens the gate */
            int rc = lease_acquire(mine, &o, &l, &err);
            /* Free before exiting so valgrind's leak check in the child
             * does not replace the exit status. */
            lease_free(&l);
            kube_client_free(mine);
            _exit(rc == LEASE_ACQUIRED ? 0 : rc == LEASE_HELD_BY_OTHER ? 1 : 2);
        }
    }
    close(gate[0]);
    usleep(100 * 1000);                     /* both clients ready */
    close(gate[1]);
    for (int i = 0; i < 2; i++) {
        int st = 0;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st));
        acquired += WEXITSTATUS(st) == 0;
        held += WEXITSTATUS(st) == 1;
    }
    assert_int_equal(acquired, 1);
    assert_int_equal(held, 1);
    json_object *o = stored_lease("wva-optimizer");
    assert_int_equal(strncmp(json_at(o, "spec.holderIdentity"), "racer-", 6), 0);
    json_object_put(o);
}

static void test_concurrent_acquirers(void **state)
{
    struct wva_error err = {0};
    struct lease l;

    (void)state;
    race(T0);                                   /* absent: both POST */
    kubeapi_reset(&server, SYS_NS);
    assert_int_equal(acquire("run-a", T0, true, &l), LEASE_ACQUIRED);
    assert_int_equal(lease_release(kc, &l, false, T0 + 1, &err), 0);
    lease_free(&l);
    race(T0 + 2);                               /* free: both PUT the same version */
}

static void test_errors(void **state)
{
    struct lease_options o = opts("run-a", T0, true);
    struct wva_error err = {0};
    struct lease l;

    (void)state;
    kubeapi_admin_do(&server, "PUT", "/rbac", "{\"deny\":[\"get leases\"]}");
    assert_int_equal(lease_acquire(kc, &o, &l, &err), LEASE_ERROR);
    assert_non_null(strstr(err.msg, "lease " SYS_NS "/wva-optimizer: GET leases " SYS_NS
                                    "/wva-optimizer: 403 Forbidden"));
    assert_false(l.held);
    lease_free(&l);
    kubeapi_admin_do(&server, "DELETE", "/rbac", NULL);

    /* The system namespace does not exist: the create fails. */
    o.system_namespace = "nowhere";
    assert_int_equal(lease_acquire(kc, &o, &l, &err), LEASE_ERROR);
    assert_non_null(strstr(err.msg, "lease nowhere/wva-optimizer: POST leases in namespace "
                                    "nowhere: 404"));
    lease_free(&l);

    o.system_namespace = NULL;
    assert_int_equal(lease_acquire(kc, &o, &l, &err), LEASE_ERROR);
    assert_string_equal(err.msg, "lease: missing namespace");
    o.system_namespace = SYS_NS;
    o.interval_seconds = 0;
    assert_int_equal(lease_acquire(kc, &o, &l, &err), LEASE_ERROR);
    assert_string_equal(err.msg, "lease: interval 0 s must be > 0");
    lease_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_name),
        cmocka_unit_test_setup(test_acquire_absent_creates, setup),
        cmocka_unit_test_setup(test_held_by_other, setup),
        cmocka_unit_test_setup(test_release_and_interval_gate, setup),
        cmocka_unit_test_setup(test_takeover_of_expired_lease, setup),
        cmocka_unit_test_setup(test_release_after_takeover_writes_nothing, setup),
        cmocka_unit_test_setup(test_concurrent_acquirers, setup),
        cmocka_unit_test_setup(test_errors, setup),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
