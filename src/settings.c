/* settings.c - stub, being written. */
