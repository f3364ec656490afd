/* engine.c - stub, being written. */
