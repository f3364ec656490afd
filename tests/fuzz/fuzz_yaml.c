/* fuzz_yaml.c - libFuzzer target: yaml_doc_parse(), the YAML reader under
 * ConfigMap values and kubeconfig files.
 *
 * Properties checked: a parsed tree respects the header's bounds (depth,
 * node count), every map key is a string, sizes agree with the accessors,
 * scalars hold no NUL; a refused document has a message naming the line and
 * column (or the size limit).
 */
#include "wva/yaml_doc.h"

#include "fuzz.h"

/* Walks the tree; returns the number of nodes. */
static size_t yaml_walk(const struct yaml_node *node, int depth)
{
    size_t nodes = 1, n = yaml_node_size(node);

    FUZZ_CHECK(depth <= YAML_DOC_MAX_DEPTH + 1);
    switch (yaml_node_kind(node)) {
    case YAML_NODE_SCALAR:
        FUZZ_CHECK(yaml_node_scalar(node) != NULL);
        FUZZ_CHECK(n == 0);
        break;
    case YAML_NODE_NULL:
        FUZZ_CHECK(yaml_node_scalar(node) == NULL && n == 0);
        break;
    case YAML_NODE_MAP:
        for (size_t i = 0; i < n; i++) {
            const char *key = yaml_node_map_key(node, i);

            FUZZ_CHECK(key != NULL);
            /* the first entry with that key is what a lookup finds */
            FUZZ_CHECK(yaml_node_get(node, key) != NULL);
            nodes += yaml_walk(yaml_node_map_value(node, i), depth + 1);
        }
        FUZZ_CHECK(yaml_node_map_key(node, n) == NULL);
        FUZZ_CHECK(yaml_node_item(node, 0) == NULL);
        break;
    case YAML_NODE_SEQ:
        for (size_t i = 0; i < n; i++)
            nodes += yaml_walk(yaml_node_item(node, i), depth + 1);
        FUZZ_CHECK(yaml_node_item(node, n) == NULL);
        FUZZ_CHECK(yaml_node_map_key(node, 0) == NULL);
        break;
    }
    return nodes;
}

int fuzz_yaml_one(const uint8_t *data, size_t size)
{
    struct wva_error err = {0};
    struct yaml_node *root = yaml_doc_parse((const char *)data, size, &err);

    if (!root) {
        FUZZ_CHECK(strncmp(err.msg, "line ", 5) == 0 || strstr(err.msg, "exceeds") ||
                   strstr(err.msg, "memory"));
        return 0;
    }
    FUZZ_CHECK(yaml_walk(root, 1) <= YAML_DOC_MAX_NODES + 1);
    yaml_doc_free(root);
    return 0;
}

FUZZ_TARGET(fuzz_yaml_one)
