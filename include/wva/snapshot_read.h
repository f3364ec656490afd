/* snapshot_read.h - the snapshot document of SPEC section 8, read into
 * struct wva_snapshot.
 *
 * json-c parses the document (strict, depth-limited); the big arrays are
 * parsed one element at a time (json_split.h) and each object is read by
 * the readers of k8s_objects.h, so nothing downstream ever sees JSON.
 * Every problem is reported with its JSON path (jpath.h).  Knows nothing
 * of the filter rules, the analysis or how a live run talks to the API.
 */
#ifndef WVA_SNAPSHOT_READ_H
#define WVA_SNAPSHOT_READ_H

#include <stddef.h>

#include "wva/error.h"
#include "wva/snapshot.h"

/* Parse a snapshot document held in memory (len bytes, need not be
 * NUL-terminated).  On a malformed document returns -1 with err naming the
 * JSON path ("deployments.items[3].spec.replicas: expected integer, got
 * \"abc\"").  On success *out is a new snapshot the caller frees, with its
 * lookup indexes built. */
int snapshot_parse(const char *text, size_t len, struct wva_snapshot **out,
                   struct wva_error *err);

/* Read and parse a file ("-" = stdin).  Files over 512 MiB are refused.
 * Error messages are prefixed with "snapshot PATH: ". */
int snapshot_load_file(const char *path, struct wva_snapshot **out,
                       struct wva_error *err);

#endif
