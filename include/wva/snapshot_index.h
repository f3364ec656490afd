/* snapshot_index.h - lookups of a snapshot's objects by namespace and name.
 *
 * Sorted indexes over the arrays of struct wva_snapshot, built once the
 * lists are complete; without them, lookups scan the arrays.  Knows the
 * data model only.
 */
#ifndef WVA_SNAPSHOT_INDEX_H
#define WVA_SNAPSHOT_INDEX_H

#include "wva/snapshot_model.h"

/* (Re)build the lookup indexes after the arrays were filled or changed
 * (snapshot_parse calls it; a live loader calls it once its lists are
 * complete).  The indexes point into the arrays: call it again after any
 * change to them.  Without it, lookups fall back to a linear scan. */
void snapshot_finish(struct wva_snapshot *snap);

/* Lookups by namespace/name: O(log n) after snapshot_finish, NULL when
 * absent.  With duplicates (not possible in a real cluster) the first in
 * array order is returned.  The result points into snap. */
const struct wva_namespace *snapshot_find_namespace(const struct wva_snapshot *snap,
                                                    const char *name);
const struct wva_deployment *snapshot_find_deployment(const struct wva_snapshot *snap,
                                                      const char *ns, const char *name);
const struct wva_configmap *snapshot_find_configmap(const struct wva_snapshot *snap,
                                                    const char *ns, const char *name);

#endif
