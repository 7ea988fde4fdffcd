/* sflow_flow.c - being written. */
