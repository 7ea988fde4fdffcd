/* sflow_header.c - being written. */
