/* Transform keywords, build side: recognize the names, check the option
 * value as Suricata 7.0's SigParseOptions and each keyword's Setup do
 * (detect-parse.c, detect-transform-*.c), and turn it into a gh_xform:
 * the xor key in bytes, the pcrexform expression compiled. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "detect/transform.h"

static const char *const xform_names[GH_XF_N] = {
    [GH_XF_DOTPREFIX] = "dotprefix",
    [GH_XF_TO_LOWERCASE] = "to_lowercase",
    [GH_XF_TO_UPPERCASE] = "to_uppercase",
    [GH_XF_STRIP_WHITESPACE] = "strip_whitespace",
    [GH_XF_COMPRESS_WHITESPACE] = "compress_whitespace",
    [GH_XF_URL_DECODE] = "url_decode",
    [GH_XF_TO_MD5] = "to_md5",
    [GH_XF_TO_SHA1] = "to_sha1",
    [GH_XF_TO_SHA256] = "to_sha256",
    [GH_XF_PCREXFORM] = "pcrexform",
    [GH_XF_XOR] = "xor",
    [GH_XF_HEADER_LOWERCASE] = "header_lowercase",
    [GH_XF_STRIP_PSEUDO_HEADERS] = "strip_pseudo_headers",
};

/* Suricata's pcrexform match context (SC_MATCH_LIMIT_DEFAULT and
 * SC_MATCH_LIMIT_RECURSION_DEFAULT). The run side gets no match context,
 * so the limits travel in the pattern, where they lower PCRE2's defaults. */
static const char re_limits[] = "(*LIMIT_MATCH=3500)(*LIMIT_DEPTH=1500)";

static int kind_of(const char *name)
{
    if (!name)
        return -1;
    for (int k = 0; k < GH_XF_N; k++)
        if (strcasecmp(name, xform_names[k]) == 0)
            return k;
    return -1;
}

bool gh_xform_is(const char *name)
{
    return kind_of(name) >= 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The text between the mandatory double quotes of @v, as Suricata takes it
 * for SIGMATCH_QUOTES_MANDATORY keywords: blanks around the quotes
 * dropped, nothing unescaped. malloc'd into *@out; -1 with a message. */
static int unquote(const char *name, const char *v, char **out, char *err, size_t errlen)
{
    const char *s = v ? v : "";
    while (is_blank(*s))
        s++;
    if (!*s)
        return fail(err, errlen, "invalid formatting or malformed option to %s keyword: '%s'",
                    name, v ? v : name);
    if (*s != '"')
        return fail(err, errlen, "invalid formatting to %s keyword: value must be double quoted '%s'",
                    name, v);
    size_t n = strlen(s);
    while (n && is_blank(s[n - 1]))
        n--;
    if (s[n - 1] != '"')
        return fail(err, errlen,
                    "bad option value formatting (possible missing semicolon) for keyword %s: '%s'",
                    name, v);
    /* a lone '"' is passed on as is, as Suricata does */
    if (n > 1) {
        s++;
        n -= 2;
    }
    if (n == 0)
        return fail(err, errlen, "bad input for keyword %s: '%s'", name, v);
    if (!(*out = strndup(s, n)))
        return fail(err, errlen, "out of memory");
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_xor(const char *key, gh_xform *out, char *err, size_t errlen)
{
    size_t n = strlen(key);
    if (n % 2 == 1)
        return fail(err, errlen, "XOR transform key's length must be an even number");
    if (n / 2 > UINT8_MAX)
        return fail(err, errlen, "Key length too big for XOR transform");
    uint8_t *k = malloc(n / 2);
    if (!k)
        return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(key[2 * i]), lo = hexval(key[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(k);
            return fail(err, errlen, "XOR transform key must be hexadecimal characters only");
        }
        k[i] = (uint8_t)(hi << 4 | lo);
    }
    out->key = k;
    out->key_len = (uint32_t)(n / 2);
    return 0;
}

static int parse_pcrexform(const char *re, gh_xform *out, char *err, size_t errlen)
{
    size_t pl = sizeof(re_limits) - 1, n = strlen(re);
    char *pat = malloc(pl + n + 1);
    if (!pat)
        return fail(err, errlen, "out of memory");
    memcpy(pat, re_limits, pl);
    memcpy(pat + pl, re, n + 1);
    int ec;
    PCRE2_SIZE eoff;
    /* no JIT: Suricata runs pcrexform in the interpreter, whose limits
     * count differently from the JIT's */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec, &eoff, NULL);
    free(pat);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        return fail(err, errlen, "pcre2 compile of \"%s\" failed at offset %d: %s", re,
                    (int)(eoff > pl ? eoff - pl : 0), (char *)msg);
    }
    uint32_t nb;
    if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &nb) < 0) {
        pcre2_code_free(code);
        return fail(err, errlen, "pcrexform failed getting info about capturecount");
    }
    if (nb != 1) {
        pcre2_code_free(code);
        return fail(err, errlen, "pcrexform needs exactly one substring capture, found %" PRIu32, nb);
    }
    out->re = code;
    return 0;
}

int gh_xform_parse(const char *name, const char *value, gh_xform *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int k = kind_of(name);
    if (k < 0)
        return fail(err, errlen, "unknown rule keyword '%s'.", name ? name : "");
    out->kind = (uint8_t)k;
    if (k != GH_XF_PCREXFORM && k != GH_XF_XOR) {
        /* Suricata prints the keyword name where we print the value */
        if (value && *value)
            return fail(err, errlen, "unexpected option to %s keyword: '%s'", name, value);
        return 0;
    }
    char *v = NULL;
    if (unquote(name, value, &v, err, errlen) < 0)
        return -1;
    int rc = k == GH_XF_XOR ? parse_xor(v, out, err, errlen) : parse_pcrexform(v, out, err, errlen);
    free(v);
    return rc;
}

void gh_xform_free(gh_xform *x)
{
    if (!x)
        return;
    pcre2_code_free(x->re);
    free(x->key);
    memset(x, 0, sizeof(*x));
}
