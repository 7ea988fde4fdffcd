/* pcap_frame.c - being written. */
