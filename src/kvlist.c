/* kvlist.c - ordered string pairs (see include/wva/kvlist.h).
 *
 * The array is kept at exactly count items: these lists are short and
 * mostly built once, so there is no capacity to keep in step. */
#include <stdlib.h>
#include <string.h>

#include "wva/kvlist.h"
#include "wva/strbuf.h"

const char *wva_kvlist_get(const struct wva_kvlist *list, const char *key)
{
    if (!list || !key)
        return NULL;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].key, key) == 0)
            return list->items[i].value;
    return NULL;
}

void wva_kvlist_set(struct wva_kvlist *list, const char *key, const char *value)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        if (strcmp(list->items[i].key, key) == 0)
            break;
    if (i < list->count) {
        free(list->items[i].value);
        if (value) {
            list->items[i].value = wva_xstrdup(value);
            return;
        }
        free(list->items[i].key);
        memmove(&list->items[i], &list->items[i + 1],
                (list->count - i - 1) * sizeof(list->items[0]));
        list->count--;
        return;
    }
    if (!value)
        return;
    list->items = wva_xrealloc(list->items, (list->count + 1) * sizeof(list->items[0]));
    list->items[list->count].key = wva_xstrdup(key);
    list->items[list->count].value = wva_xstrdup(value);
    list->count++;
}

void wva_kvlist_free(struct wva_kvlist *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].key);
        free(list->items[i].value);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}
