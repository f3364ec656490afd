/* fuzz.h - shared by the libFuzzer targets under tests/fuzz/ and by the
 * regression test that replays their findings (tests/unit/
 * test_fuzz_regressions.c).
 *
 * Each target file defines fuzz_<target>_one(), the whole body of one
 * fuzzing iteration, and wraps it in LLVMFuzzerTestOneInput unless
 * WVA_FUZZ_NO_MAIN is defined (the regression test links every target's
 * body into one cmocka program, built by gcc without libFuzzer).  Besides
 * "does not crash, does not leak", each body checks properties of the
 * parser's answer (FUZZ_CHECK): an oracle that fails aborts, which
 * libFuzzer reports as a crash with the input saved.
 */
#ifndef WVA_FUZZ_H
#define WVA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wva/strbuf.h"

#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz oracle failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond);                                                            \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* The input as a NUL-terminated string (caller frees).  Bytes after an
 * embedded NUL are kept but invisible to C-string parsers. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = wva_xmalloc(size + 1);

    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Split the input at NUL bytes into at most max C strings (pointers into
 * buf, a NUL-terminated copy the caller frees).  Returns the count. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, char **buf, const char **parts,
                                size_t max)
{
    size_t n = 0, start = 0;

    *buf = fuzz_cstr(data, size);
    for (size_t i = 0; i <= size && n < max; i++) {
        if (i == size || (*buf)[i] == '\0') {
            parts[n++] = *buf + start;
            start = i + 1;
        }
    }
    return n;
}

/* One iteration of each target.  They return 0 (libFuzzer's convention);
 * a broken property aborts. */
int fuzz_snapshot_one(const uint8_t *data, size_t size);
int fuzz_kube_list_one(const uint8_t *data, size_t size);
int fuzz_prom_one(const uint8_t *data, size_t size);
int fuzz_configmap_one(const uint8_t *data, size_t size);
int fuzz_yaml_one(const uint8_t *data, size_t size);
int fuzz_kubeconfig_one(const uint8_t *data, size_t size);
int fuzz_duration_one(const uint8_t *data, size_t size);
int fuzz_quantity_one(const uint8_t *data, size_t size);
int fuzz_values_one(const uint8_t *data, size_t size);
int fuzz_plan_one(const uint8_t *data, size_t size);

#ifdef WVA_FUZZ_NO_MAIN
#define FUZZ_TARGET(fn)
#else
#define FUZZ_TARGET(fn)                                               \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)      \
    {                                                                 \
        return fn(data, size);                                        \
    }
#endif

#endif
