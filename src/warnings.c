/* warnings.c - the run's warnings (see include/wva/warnings.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wva/strbuf.h"
#include "wva/warnings.h"

static void append(struct wva_warnings *w, char *msg)
{
    w->items = wva_xrealloc(w->items, (w->count + 1) * sizeof(*w->items));
    w->items[w->count++] = msg;
}

void wva_warnings_add(struct wva_warnings *w, const char *fmt, ...)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    va_list ap;

    if (!w)
        return;
    va_start(ap, fmt);
    wva_strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    append(w, wva_strbuf_detach(&sb));
}

void wva_warnings_add_once(struct wva_warnings *w, char *msg)
{
    for (size_t i = 0; i < w->count; i++) {
        if (strcmp(w->items[i], msg) == 0) {
            free(msg);
            return;
        }
    }
    append(w, msg);
}

void wva_warnings_free(struct wva_warnings *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        free(w->items[i]);
    free(w->items);
    w->items = NULL;
    w->count = 0;
}
