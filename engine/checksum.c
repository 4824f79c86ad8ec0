/* Internet checksum (RFC 1071). The one's-complement sum does not depend on
 * byte order, so words are summed in native order and the folded result is
 * swapped once at the end. With SSE2 (every x86-64), 32 bytes per step:
 * 16-bit words widened to 32-bit lanes, two independent accumulators,
 * emptied into the 64-bit sum before a lane could overflow; elsewhere four
 * 32-bit words per step. */
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "gatehouse/decode.h"

static uint64_t sum_native(const uint8_t *p, size_t len)
{
    uint64_t s = 0;
#ifdef __SSE2__
    while (len >= 32) {
        /* a lane gains at most 2 * 0xffff per step: 32768 steps fit in 32 bits */
        size_t steps = len / 32 < 32768 ? len / 32 : 32768;
        const __m128i z = _mm_setzero_si128();
        __m128i a = z, b = z;
        for (size_t i = 0; i < steps; i++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
            a = _mm_add_epi32(a, _mm_add_epi32(_mm_unpacklo_epi16(v, z),
                                               _mm_unpackhi_epi16(v, z)));
            b = _mm_add_epi32(b, _mm_add_epi32(_mm_unpacklo_epi16(w, z),
                                               _mm_unpackhi_epi16(w, z)));
            p += 32;
        }
        len -= steps * 32;
        uint32_t l[8];
        _mm_storeu_si128((__m128i *)(void *)l, a);
        _mm_storeu_si128((__m128i *)(void *)(l + 4), b);
        for (int i = 0; i < 8; i++)
            s += l[i];
    }
#endif
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
