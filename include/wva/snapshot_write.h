/* snapshot_write.h - struct wva_snapshot written back as a snapshot
 * document (SPEC section 8): what --snapshot-out records and the history
 * store keeps.  Knows the data model and the document's shape only.
 */
#ifndef WVA_SNAPSHOT_WRITE_H
#define WVA_SNAPSHOT_WRITE_H

#include "wva/snapshot_model.h"

/* Serialise the fields the engine reads back into a valid snapshot
 * document: snapshot_parse() of the result gives an equal snapshot
 * (timestamps of deletion are not kept: captured_at stands in; a VA's
 * status.lastRunTime is written to the whole second, as Kubernetes does).
 * Numbers are written in the shortest form that reads back as the same
 * double (a sample value 0.65 as "0.65"), through values_json_number().
 * Returns a malloc'd NUL-terminated string. */
char *snapshot_to_json(const struct wva_snapshot *snap);

#endif
