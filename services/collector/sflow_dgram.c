/* sflow_dgram.c - being written. */
