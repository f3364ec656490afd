/* kubeconfig.c - stub, being written. */
