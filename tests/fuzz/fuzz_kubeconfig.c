/* fuzz_kubeconfig.c - libFuzzer target: kubeconfig files, through
 * kube_config_load_file() (kubeconfig.h has no in-memory entry point: the
 * loader resolves relative certificate and token paths against the file's
 * directory, so a real file is the honest input).  Each input is written
 * to one file in a private temporary directory (TMPDIR, /dev/shm when it
 * exists) made once per process and removed at exit.
 *
 * Paths named by an input (certificate-authority, tokenFile...) are read
 * as the program would read them; run the fuzzer with stdin from
 * /dev/null (scripts/fuzz.sh does) so that "/dev/stdin" cannot block it.
 *
 * Properties checked: a loaded config has an http(s) server without a
 * trailing slash, a context and a namespace, absolute file paths, and a
 * client certificate exactly when it has a client key; a refused one has a
 * message naming the file.
 */
#include <stdbool.h>
#include <unistd.h>

#include "wva/kubeconfig.h"

#include "fuzz.h"

static char kc_dir[256];
static char kc_path[300];

static void kc_cleanup(void)
{
    unlink(kc_path);
    rmdir(kc_dir);
}

static void kc_setup(void)
{
    const char *tmp = getenv("TMPDIR");

    if (kc_dir[0])
        return;
    if (!tmp || !tmp[0])
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(kc_dir, sizeof(kc_dir), "%s/wva-fuzz-kubeconfig-XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(kc_dir) != NULL);
    snprintf(kc_path, sizeof(kc_path), "%s/config", kc_dir);
    atexit(kc_cleanup);
}

int fuzz_kubeconfig_one(const uint8_t *data, size_t size)
{
    struct kube_config cfg;
    struct wva_error err = {0};
    FILE *f;

    if (size > (1u << 20))
        return 0;
    kc_setup();
    f = fopen(kc_path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);

    if (kube_config_load_file(kc_path, NULL, &cfg, &err) == 0) {
        size_t len = strlen(cfg.server);

        FUZZ_CHECK(strncmp(cfg.server, "https://", 8) == 0 ||
                   strncmp(cfg.server, "http://", 7) == 0);
        FUZZ_CHECK(len > 0 && cfg.server[len - 1] != '/');
        FUZZ_CHECK(cfg.context && cfg.namespace_name && cfg.namespace_name[0]);
        FUZZ_CHECK(cfg.source && strcmp(cfg.source, kc_path) == 0);
        FUZZ_CHECK(!cfg.ca_file || cfg.ca_file[0] == '/');
        FUZZ_CHECK(!cfg.client_cert_file || cfg.client_cert_file[0] == '/');
        FUZZ_CHECK(!cfg.client_key_file || cfg.client_key_file[0] == '/');
        FUZZ_CHECK((cfg.client_cert_file || cfg.client_cert_data) ==
                   (cfg.client_key_file || cfg.client_key_data));
        FUZZ_CHECK(!cfg.token || cfg.token[0]);
        kube_config_free(&cfg);
    } else {
        FUZZ_CHECK(strstr(err.msg, kc_path) != NULL);
        FUZZ_CHECK(cfg.server == NULL && cfg.token == NULL);
    }
    return 0;
}

FUZZ_TARGET(fuzz_kubeconfig_one)
