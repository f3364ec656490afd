/* test_util.h - helpers shared by the cmocka unit tests. */
#ifndef WVA_TEST_UTIL_H
#define WVA_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Path of a file under tests/fixtures, honouring $top_srcdir (set by
 * `make check`; "." otherwise).  Returns a static buffer. */
static inline const char *fixture_path(const char *name)
{
    static char path[4096];
    const char *top = getenv("top_srcdir");

    snprintf(path, sizeof(path), "%s/tests/fixtures/%s", top ? top : ".", name);
    return path;
}

/* Read a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
static inline char *read_whole_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (len_out)
        *len_out = 0;
    if (!f)
        return NULL;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (!buf) {
                fclose(f);
                return NULL;
            }
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

#endif
