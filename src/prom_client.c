/* prom_client.c - stub, being written. */
