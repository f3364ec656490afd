/* yaml_doc.c - stub, being written. */
