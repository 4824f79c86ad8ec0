/* base64_decode's value, as Suricata 7's DetectBase64DecodeParse: its
 * unanchored regex \s*(bytes\s+(\d+),?)?\s*(offset\s+(\d+),?)?\s*(\w+)?
 * matches at the start of the value, every part optional and greedy, so
 * the parts are taken in that order and anything after the word is
 * ignored. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64_build.h"

static size_t skip_ws(const char *s, size_t i)
{
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    return i;
}

/* "name\s+(\d+),?" at @p i: the digits' start and end, and the end of the part. */
static bool part(const char *s, size_t i, const char *name, size_t *d0, size_t *d1,
                 size_t *end)
{
    size_t n = strlen(name);
    if (strncmp(s + i, name, n) || !isspace((unsigned char)s[i + n]))
        return false;
    size_t j = skip_ws(s, i + n);
    size_t k = j;
    while (isdigit((unsigned char)s[k]))
        k++;
    if (k == j)
        return false;
    *d0 = j;
    *d1 = k;
    *end = s[k] == ',' ? k + 1 : k;
    return true;
}

/* StringParseUint16/32 of the digits: decimal, within @p max. */
static bool num(const char *s, size_t d0, size_t d1, unsigned long long max,
                unsigned long long *out)
{
    char b[32];
    if (d1 - d0 >= sizeof(b))
        return false;
    memcpy(b, s + d0, d1 - d0);
    b[d1 - d0] = '\0';
    errno = 0;
    *out = strtoull(b, NULL, 10);
    return errno == 0 && *out <= max;
}

bool gh_b64_parse(const char *val, uint32_t *bytes, uint32_t *offset, bool *relative,
                  size_t *at, char *msg, size_t cap)
{
    *bytes = 0;
    *offset = 0;
    *relative = false;
    *at = 0;
    if (val) {
        size_t i = skip_ws(val, 0), d0, d1, e;
        bool any = false; /* pcre2 returned at least 3: some part matched */
        unsigned long long v;
        if (part(val, i, "bytes", &d0, &d1, &e)) {
            if (!num(val, d0, d1, 65535, &v)) {
                *at = d0;
                snprintf(msg, cap, "base64_decode: bad value for bytes: \"%.*s\"",
                         (int)(d1 - d0), val + d0);
                return false;
            }
            *bytes = (uint32_t)v;
            any = true;
            i = e;
        }
        i = skip_ws(val, i);
        if (part(val, i, "offset", &d0, &d1, &e)) {
            if (!num(val, d0, d1, UINT32_MAX, &v)) {
                *at = d0;
                snprintf(msg, cap, "base64_decode: bad value for offset: \"%.*s\"",
                         (int)(d1 - d0), val + d0);
                return false;
            }
            *offset = (uint32_t)v;
            any = true;
            i = e;
        }
        i = skip_ws(val, i);
        size_t w = i;
        while (isalnum((unsigned char)val[w]) || val[w] == '_')
            w++;
        if (w > i) {
            if (w - i != 8 || strncmp(val + i, "relative", 8)) {
                *at = i;
                snprintf(msg, cap, "base64_decode: invalid argument: \"%.*s\"", (int)(w - i),
                         val + i);
                return false;
            }
            *relative = true;
        } else if (!any) {
            *at = i;
            snprintf(msg, cap, "base64_decode: invalid value");
            return false;
        }
    }
    if (!*bytes)
        *bytes = B64_DECODE_MAX;
    return true;
}
