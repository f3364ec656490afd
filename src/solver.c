/* solver.c - stub, being written. */
