/* values.c - stub, being written. */
