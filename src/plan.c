/* plan.c - stub, being written. */
