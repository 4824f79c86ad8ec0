/* gatehouse: pcap output (accepted / dropped packets). */
#ifndef GATEHOUSE_PCAP_WRITER_H
#define GATEHOUSE_PCAP_WRITER_H

#include "gatehouse/source.h"

typedef struct gh_pcap_writer gh_pcap_writer;

/** Create a writer for @p path; the file is created at the first packet,
 *  with that packet's link type. NULL and @p err on failure. */
GH_API gh_pcap_writer *gh_pcap_writer_open(const char *path, gh_error *err);

/** Write one packet (nanosecond timestamps). A packet whose link type differs
 *  from the file's cannot be stored: it is counted (see _skipped) and a
 *  warning is printed once. Returns GH_E_IO on a write error. */
GH_API int gh_pcap_writer_write(gh_pcap_writer *w, const gh_pkt_in *p, gh_error *err);

/** Packets written / skipped for a link-type mismatch. */
GH_API uint64_t gh_pcap_writer_written(const gh_pcap_writer *w);
GH_API uint64_t gh_pcap_writer_skipped(const gh_pcap_writer *w);

/** Flush and close; returns GH_E_IO with @p err on failure. NULL is fine. A
 *  writer that saw no packet still creates an empty capture (Ethernet). */
GH_API int gh_pcap_writer_close(gh_pcap_writer *w, gh_error *err);

#endif
