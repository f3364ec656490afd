/* observe.c - stub, being written. */
