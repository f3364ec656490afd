/* configmaps.c - stub, being written. */
