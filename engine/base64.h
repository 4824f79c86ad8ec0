/* Base64 alphabet values (RFC 4648) for the decoders of the run side. */
#ifndef GH_ENGINE_BASE64_H
#define GH_ENGINE_BASE64_H

#include <stdint.h>

extern const int8_t gh_b64_values[256];

/* 0..63 for an alphabet character, -1 for any other byte ('=' included). */
static inline int gh_b64_value(uint8_t c)
{
    return gh_b64_values[c];
}

#endif
