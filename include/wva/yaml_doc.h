/* yaml_doc.h - a small read-only YAML tree built with libyaml, for the
 * ConfigMap values (and later kubeconfig files).  Documents from outside are
 * untrusted: size, depth and node count are bounded, aliases are refused,
 * and errors name the line and column.
 */
#ifndef WVA_YAML_DOC_H
#define WVA_YAML_DOC_H

#include <stddef.h>

#include "wva/error.h"

#define YAML_DOC_MAX_BYTES (1u << 20)
#define YAML_DOC_MAX_DEPTH 32
#define YAML_DOC_MAX_NODES 100000

enum yaml_node_kind { YAML_NODE_SCALAR, YAML_NODE_MAP, YAML_NODE_SEQ, YAML_NODE_NULL };

struct yaml_node;

/* Parse the first document of text (len bytes).  An empty document gives a
 * YAML_NODE_NULL root.  Returns NULL with err set on failure.  Free with
 * yaml_doc_free(). */
struct yaml_node *yaml_doc_parse(const char *text, size_t len, struct wva_error *err);
void yaml_doc_free(struct yaml_node *root);

enum yaml_node_kind yaml_node_kind(const struct yaml_node *node);
/* Scalar text (NULL for non-scalars).  Owned by the tree. */
const char *yaml_node_scalar(const struct yaml_node *node);
/* Number of entries of a map or items of a sequence (0 otherwise). */
size_t yaml_node_size(const struct yaml_node *node);
/* Map entry i: key text and value node (NULL when out of range). */
const char *yaml_node_map_key(const struct yaml_node *node, size_t i);
const struct yaml_node *yaml_node_map_value(const struct yaml_node *node, size_t i);
/* Map lookup by key (NULL when absent or not a map). */
const struct yaml_node *yaml_node_get(const struct yaml_node *node, const char *key);
/* Sequence item i (NULL when out of range or not a sequence). */
const struct yaml_node *yaml_node_item(const struct yaml_node *node, size_t i);

#endif
