/* filter.c - stub, being written. */
