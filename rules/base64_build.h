/* Build side of base64_decode: parse its value as Suricata 7 does
 * (rules/base64_build.c). */
#ifndef GATEHOUSE_BASE64_BUILD_H
#define GATEHOUSE_BASE64_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Suricata's BASE64_DECODE_MAX: the bytes decoded when "bytes" is absent or 0. */
#define B64_DECODE_MAX 65535u

/* Parse "[bytes N[,]] [offset N[,]] [relative]" (@p val NULL: the defaults)
 * into @p bytes (B64_DECODE_MAX when absent or 0), @p offset, @p relative.
 * false on Suricata's refusals: @p msg, and @p at the offset of the bad
 * token in @p val. */
bool gh_b64_parse(const char *val, uint32_t *bytes, uint32_t *offset, bool *relative,
                  size_t *at, char *msg, size_t cap);

#endif
