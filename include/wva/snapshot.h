/* snapshot.h - the snapshot: the cluster and metrics state one run works
 * on, read from a file (SPEC section 8, --from-file) or, in live runs,
 * from the Kubernetes API and Prometheus; and the snapshot document reader.
 *
 * The parts below the reader have their modules, and this header includes
 * their headers so that the snapshot's users include one:
 *   snapshot_model.h  the data model: its types and memory
 *   snapshot_lists.h  its Kubernetes lists grown one object at a time
 *   snapshot_index.h  lookups by name: snapshot_finish, snapshot_find_*
 *   snapshot_write.h  the writer: snapshot_to_json
 * and below them k8s_objects.h (one reader per Kubernetes kind), jpath.h
 * (type checks that name the JSON path) and json_split.h (the splitter of
 * big arrays), which only the snapshot's own modules use.
 *
 * The reader:
 * json-c parses the document (strict, depth-limited); the big arrays are
 * parsed one element at a time (json_split.h) and each object is read by
 * the readers of k8s_objects.h, so nothing downstream ever sees JSON.
 * Every problem is reported with its JSON path (jpath.h).  Knows nothing
 * of the filter rules, the analysis or how a live run talks to the API.
 */
#ifndef WVA_SNAPSHOT_H
#define WVA_SNAPSHOT_H

#include <stddef.h>

#include "wva/error.h"
#include "wva/snapshot_index.h"
#include "wva/snapshot_lists.h"
#include "wva/snapshot_model.h"
#include "wva/snapshot_write.h"

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
