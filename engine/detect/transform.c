/* Transforms, run side: Suricata 7.0's Transform callbacks
 * (detect-transform-*.c) over caller buffers. Each writes at most cap
 * bytes and stops there; none allocates, so the digests are computed here
 * (MD5: RFC 1321, SHA-1 and SHA-256: FIPS 180-4) rather than with a
 * library that would. */
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "detect/transform.h"

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

static size_t put(uint8_t *out, size_t cap, const uint8_t *p, size_t n)
{
    n = min_sz(n, cap);
    memcpy(out, p, n);
    return n;
}

/* C-locale isspace/tolower/toupper/isxdigit: Suricata calls the libc ones
 * in the C locale; these do not depend on the process's locale. */
static bool is_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static uint8_t upper(uint8_t c)
{
    return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ---- digests ------------------------------------------------------------- */

typedef void (*block_fn)(uint32_t *st, const uint8_t *blk);

static uint32_t rol(uint32_t x, unsigned n)
{
    return x << n | x >> (32 - n);
}

static uint32_t ror(uint32_t x, unsigned n)
{
    return x >> n | x << (32 - n);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The Merkle-Damgard frame the three share: whole 64-byte blocks straight
 * from the input, then 0x80, zeros and the bit length (little-endian for
 * MD5, big-endian for SHA) in one or two final blocks. */
static void digest(uint32_t *st, const uint8_t *in, size_t n, block_fn f, bool len_be)
{
    size_t whole = n & ~(size_t)63;
    for (size_t i = 0; i < whole; i += 64)
        f(st, in + i);
    uint8_t tail[128] = {0};
    size_t r = n - whole;
    memcpy(tail, in + whole, r);
    tail[r] = 0x80;
    size_t tl = r < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[len_be ? tl - 1 - i : tl - 8 + i] = (uint8_t)(bits >> (8 * i));
    f(st, tail);
    if (tl == 128)
        f(st, tail + 64);
}

static void md5_block(uint32_t *st, const uint8_t *blk)
{
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391};
    static const uint8_t S[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = le32(blk + 4 * i);
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        switch (i / 16) {
        case 0: f = (b & c) | (~b & d); g = i; break;
        case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
        case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16; break;
        default: f = c ^ (b | ~d); g = (7 * i) % 16; break;
        }
        uint32_t t = d;
        d = c;
        c = b;
        b += rol(a + f + K[i] + m[g], S[(i / 16) * 4 + i % 4]);
        a = t;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
}

static void sha1_block(uint32_t *st, const uint8_t *blk)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = be32(blk + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
    st[4] += e;
}

static void sha256_block(uint32_t *st, const uint8_t *blk)
{
    static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = be32(blk + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t v[8];
    memcpy(v, st, sizeof(v));
    for (int i = 0; i < 64; i++) {
        uint32_t e = v[4], a = v[0];
        uint32_t t1 = v[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & v[5]) ^ (~e & v[6])) +
                      K[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        st[i] += v[i];
}

/* Suricata hashes the empty buffer too: a digest always comes out. */
static size_t hash(uint8_t kind, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    uint32_t st[8];
    uint8_t d[32];
    size_t words;
    if (kind == GH_XF_TO_MD5) {
        static const uint32_t iv[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
        memcpy(st, iv, sizeof(iv));
        digest(st, in, n, md5_block, false);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                d[4 * i + j] = (uint8_t)(st[i] >> (8 * j));
        return put(out, cap, d, 16);
    }
    if (kind == GH_XF_TO_SHA1) {
        static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
                                       0xc3d2e1f0};
        memcpy(st, iv, sizeof(iv));
        digest(st, in, n, sha1_block, true);
        words = 5;
    } else {
        static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        memcpy(st, iv, sizeof(iv));
        digest(st, in, n, sha256_block, true);
        words = 8;
    }
    for (size_t i = 0; i < words; i++)
        for (int j = 0; j < 4; j++)
            d[4 * i + j] = (uint8_t)(st[i] >> (24 - 8 * j));
    return put(out, cap, d, 4 * words);
}

/* ---- the transforms ------------------------------------------------------- */

static size_t dotprefix(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    /* an empty buffer stays empty, as in Suricata */
    if (n == 0 || cap == 0)
        return 0;
    out[0] = '.';
    return 1 + put(out + 1, cap - 1, in, n);
}

static size_t compress_whitespace(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    /* a run keeps its first character, which need not be a space */
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++)
        if (!is_space(in[i]) || i == 0 || !is_space(in[i - 1]))
            out[o++] = in[i];
    return o;
}

static size_t url_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    /* %XX and '+'; a bad or cut-short '%' is kept, %u is not decoded */
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < n && (hi = hexval(in[i + 1])) >= 0 &&
            (lo = hexval(in[i + 2])) >= 0) {
            out[o++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = in[i] == '+' ? ' ' : in[i];
        }
    }
    return o;
}

static size_t header_lowercase(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    /* names (up to the first ':' of a line) lower-cased, values kept */
    bool value = false;
    n = min_sz(n, cap);
    for (size_t i = 0; i < n; i++) {
        out[i] = value ? in[i] : lower(in[i]);
        if (!value && in[i] == ':')
            value = true;
        else if (value && in[i] == '\n')
            value = false;
    }
    return n;
}

static size_t strip_pseudo_headers(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    /* drop the lines starting with ':' (HTTP/2 pseudo-headers) with their
     * '\n'; a line start skips any '\r' and '\n' first */
    bool new_line = true, pseudo = false;
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        if (new_line) {
            if (in[i] == ':')
                pseudo = true;
            if (in[i] != '\r' && in[i] != '\n')
                new_line = false;
        } else if (in[i] == '\n') {
            new_line = true;
            if (!pseudo)
                out[o++] = in[i];
            pseudo = false;
            continue;
        }
        if (!pseudo)
            out[o++] = in[i];
    }
    return o;
}

static size_t pcrexform(const gh_xform *x, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                        pcre2_match_data *md)
{
    /* group 1 of the first match; without one the buffer passes unchanged */
    int rc = pcre2_match(x->re, (PCRE2_SPTR)in, n, 0, 0, md, NULL);
    if (rc > 1) {
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[2] != PCRE2_UNSET && ov[3] >= ov[2])
            return put(out, cap, in + ov[2], ov[3] - ov[2]);
    }
    return put(out, cap, in, n);
}

size_t gh_xform_apply(const gh_xform *x, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                      void *md)
{
    size_t m = min_sz(n, cap), o = 0;
    switch ((gh_xform_kind)x->kind) {
    case GH_XF_DOTPREFIX:
        return dotprefix(in, n, out, cap);
    case GH_XF_TO_LOWERCASE:
        for (size_t i = 0; i < m; i++)
            out[i] = lower(in[i]);
        return m;
    case GH_XF_TO_UPPERCASE:
        for (size_t i = 0; i < m; i++)
            out[i] = upper(in[i]);
        return m;
    case GH_XF_STRIP_WHITESPACE:
        for (size_t i = 0; i < n && o < cap; i++)
            if (!is_space(in[i]))
                out[o++] = in[i];
        return o;
    case GH_XF_COMPRESS_WHITESPACE:
        return compress_whitespace(in, n, out, cap);
    case GH_XF_URL_DECODE:
        return url_decode(in, n, out, cap);
    case GH_XF_TO_MD5:
    case GH_XF_TO_SHA1:
    case GH_XF_TO_SHA256:
        return hash(x->kind, in, n, out, cap);
    case GH_XF_PCREXFORM:
        return pcrexform(x, in, n, out, cap, md);
    case GH_XF_XOR:
        /* the key restarts at the buffer's first byte */
        for (size_t i = 0; i < m; i++)
            out[i] = in[i] ^ x->key[i % x->key_len];
        return m;
    case GH_XF_HEADER_LOWERCASE:
        return header_lowercase(in, n, out, cap);
    case GH_XF_STRIP_PSEUDO_HEADERS:
        return strip_pseudo_headers(in, n, out, cap);
    case GH_XF_N: /* not a kind; listed so -Wswitch flags a new one left out */
        break;
    }
    return put(out, cap, in, n);
}

size_t gh_xform_chain(const gh_xform *x, size_t nx, const uint8_t *in, size_t n, uint8_t *buf_a,
                      uint8_t *buf_b, size_t cap, void *md, const uint8_t **res)
{
    const uint8_t *cur = in;
    for (size_t i = 0; i < nx; i++) {
        uint8_t *dst = i % 2 ? buf_b : buf_a;
        n = gh_xform_apply(&x[i], cur, n, dst, cap, md);
        cur = dst;
    }
    *res = cur;
    return n;
}
