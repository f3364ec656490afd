/* kube_client.c - stub, being written. */
