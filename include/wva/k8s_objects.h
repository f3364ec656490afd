/* k8s_objects.h - one reader per Kubernetes kind a snapshot holds
 * (Namespace, VariantAutoscaling, Deployment, Pod, ConfigMap, Node): from
 * the json-c tree of one object (a List item or a GET's answer) to its
 * struct of snapshot_model.h, keeping only the fields the engine reads.
 *
 * Used by snapshot_append_item() (snapshot_lists.h), through which the
 * document reader and live runs both go, so a file and a live run read
 * objects the same way.  Knows nothing of the document around the objects.
 */
#ifndef WVA_K8S_OBJECTS_H
#define WVA_K8S_OBJECTS_H

#include <stddef.h>

#include "wva/error.h"
#include "wva/jpath.h"
#include "wva/snapshot_model.h"

/* GPU vendors in the order the SPEC tries them: the resource names
 * ("nvidia.com/gpu") and the node labels of their product names
 * ("nvidia.com/gpu.product"). */
#define K8S_GPU_VENDORS 3
extern const char *const k8s_gpu_resource_keys[K8S_GPU_VENDORS];
extern const char *const k8s_gpu_product_keys[K8S_GPU_VENDORS];

/* The vendor (index into the tables above) a product name belongs to, by
 * its prefix ("AMD-MI300X-192G" is AMD); NVIDIA when unknown or NULL. */
size_t k8s_product_vendor(const char *product);

/* Read item, an object of the given kind at path p, into dst (a zeroed
 * struct of that kind, e.g. struct wva_pod for SNAPSHOT_PODS).  Returns 0,
 * or -1 with err naming the path; dst may then hold some fields, which
 * the kind's release in snapshot_model.c frees.  Strings are copied: nothing of
 * item is kept.  A VA's spec problem is not an error (see
 * wva_va.spec_problem). */
int k8s_read_item(enum snapshot_list kind, struct jpath *p, struct json_object *item, void *dst,
                  struct wva_error *err);

#endif
