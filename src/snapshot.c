/* snapshot.c - stub, being written. */
