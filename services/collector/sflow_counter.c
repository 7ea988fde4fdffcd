/* sflow_counter.c - being written. */
