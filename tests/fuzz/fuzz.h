/* Helpers the fuzz targets share (fuzz.c). Each target is one file that
 * defines LLVMFuzzerTestOneInput; it links with libFuzzer (GH_FUZZ=ON) or
 * with replay.c, which runs it over the saved corpus in every build. */
#ifndef GH_FUZZ_H
#define GH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "app/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path that reads as @p n bytes of @p d (an anonymous memory file, so
 * code that opens files by name runs unchanged); "" when the file cannot
 * be made. Valid until the next call. */
const char *fuzz_mem_path(const void *d, size_t n);

/*
 * Drive application parser @p ops as the stream stage and detection do:
 * probe, then init, parse/datagram, gap and close per direction, every
 * buffer, field and event of each transaction as it progresses, reset and
 * the same session again, free. Input: one flags byte (bit 0: UDP, one
 * datagram per record, for parsers that take datagrams; bit 1: run the
 * session a second time on the reset state, whole), then records:
 *   byte h: bit 0 direction; bits 1-2 op (0 and 3 data, 1 a gap, 2 close);
 *           bits 3-7 chunk size the data is fed in (0: one call);
 *   2 bytes big-endian length; data: that many bytes (a gap has none).
 * A parser without state (detection only) is driven through the app stage
 * (gh_app_data on a flow with @p server_port) instead.
 */
void fuzz_app_session(const gh_app_ops *ops, uint16_t server_port, const uint8_t *data,
                      size_t size);

#endif
