/* Internet checksum (RFC 1071). The one's-complement sum does not depend on
 * byte order, so words are summed in native order 32 bits at a time and the
 * folded result is swapped once at the end. */
#include <string.h>

#include "gatehouse/decode.h"

static uint64_t sum_native(const uint8_t *p, size_t len)
{
    uint64_t s = 0;
    while (len >= 16) {
        uint32_t w[4];
        memcpy(w, p, 16);
        s += (uint64_t)w[0] + w[1] + w[2] + w[3];
        p += 16;
        len -= 16;
    }
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        s += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        s += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        /* odd trailing byte is the high byte of a zero-padded word */
        uint16_t w = 0;
        memcpy(&w, p, 1);
        s += w;
    }
    return s;
}

static uint32_t fold16(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    return (uint32_t)s;
}

uint32_t gh_csum_partial(const uint8_t *p, size_t len, uint32_t sum)
{
    uint32_t n = fold16(sum_native(p, len));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    n = ((n & 0xffu) << 8) | (n >> 8);
#endif
    return fold16((uint64_t)sum + n);
}

uint16_t gh_csum_fold(uint32_t sum)
{
    return (uint16_t)~fold16(sum);
}
