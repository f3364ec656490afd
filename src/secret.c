/* secret.c - secrets in memory: wiping and reading (see
 * include/wva/secret.h).
 *
 * Knows memory and files only.  Error messages name the file and the
 * setting it came from, never its contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>

#include "wva/secret.h"

#define READ_CHUNK 8192

void wva_secret_wipe(void *buf, size_t len)
{
    if (buf && len)
        explicit_bzero(buf, len);
}

void wva_secret_free(char *s)
{
    if (!s)
        return;
    wva_secret_wipe(s, strlen(s));
    free(s);
}

void wva_secret_strbuf_release(struct wva_strbuf *sb)
{
    wva_secret_wipe(sb->buf, sb->cap);
    wva_strbuf_release(sb);
}

/* Make room for `need` bytes plus the terminator.  Growing by hand, not by
 * realloc: realloc may move the secret and leave the old copy unwiped. */
static void reserve(char **buf, size_t *cap, size_t len, size_t need)
{
    size_t newcap;
    char *grown;

    if (need + 1 <= *cap)
        return;
    newcap = *cap ? *cap : READ_CHUNK;
    while (newcap < need + 1)
        newcap *= 2;
    grown = wva_xmalloc(newcap);
    if (*buf) {
        memcpy(grown, *buf, len);
        wva_secret_wipe(*buf, *cap);
        free(*buf);
    }
    *buf = grown;
    *cap = newcap;
}

char *wva_secret_read_file(const char *what, const char *path, size_t max, size_t *len_out,
                           struct wva_error *err)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        wva_error_setk(err, WVA_ERR_CONFIG, "%s %s: cannot open: %s", what, path,
                       strerror(errno));
        return NULL;
    }
    for (;;) {
        reserve(&buf, &cap, len, len + READ_CHUNK);
        ssize_t n = read(fd, buf + len, READ_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            wva_error_setk(err, WVA_ERR_CONFIG, "%s %s: cannot read: %s", what, path,
                           strerror(errno));
            goto fail;
        }
        len += (size_t)n;
        if (len > max) {
            wva_error_setk(err, WVA_ERR_CONFIG, "%s %s: larger than %zu bytes", what, path, max);
            goto fail;
        }
    }
    close(fd);
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
fail:
    close(fd);
    wva_secret_wipe(buf, cap);
    free(buf);
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

char *wva_secret_read_token(const char *what, const char *path, struct wva_error *err)
{
    size_t len, start = 0;
    char *tok = wva_secret_read_file(what, path, WVA_SECRET_TOKEN_MAX, &len, err);

    if (!tok)
        return NULL;
    if (memchr(tok, '\0', len)) {
        wva_error_setk(err, WVA_ERR_CONFIG, "%s %s: contains a NUL byte", what, path);
        goto fail;
    }
    while (len > 0 && is_space(tok[len - 1]))
        tok[--len] = '\0';
    while (start < len && is_space(tok[start]))
        start++;
    if (start == len) {
        wva_error_setk(err, WVA_ERR_CONFIG, "%s %s: empty", what, path);
        goto fail;
    }
    memmove(tok, tok + start, len - start + 1);
    wva_secret_wipe(tok + len - start + 1, start);
    return tok;
fail:
    wva_secret_wipe(tok, len);
    free(tok);
    return NULL;
}
