/* analyze.c - stub, being written. */
