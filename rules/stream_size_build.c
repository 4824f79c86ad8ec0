/* stream_size's value, with the forms Suricata 7 accepts
 * (rust/src/detect/stream_size.rs detect_parse_stream_size): a side name
 * in lower case, an operator, a decimal u32, separated by commas with
 * optional spaces around them. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "detect/stream_size.h"

static const char *spaces(const char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

int gh_stream_size_parse(const char *v, dpi_ssize *out, char *err, size_t errlen)
{
    static const char *const sides[] = {"server", "client", "both", "either"};
    static const struct {
        const char *op;
        uint8_t mode;
    } ops[] = {{">=", GH_UINT_GE}, {"<=", GH_UINT_LE}, {">", GH_UINT_GT}, {"<", GH_UINT_LT},
               {"!=", GH_UINT_NE}, {"!", GH_UINT_NE}, {"=", GH_UINT_EQ}};
    const char *s = spaces(v ? v : "");
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z'))
        n++;
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < 4; i++)
        if (strlen(sides[i]) == n && !strncmp(s, sides[i], n))
            out->which = (uint8_t)(SSIZE_SERVER + i);
    if (!out->which) {
        snprintf(err, errlen, "'%.*s' is not server, client, both or either", (int)n, s);
        return -1;
    }
    s = spaces(s + n);
    if (*s != ',') {
        snprintf(err, errlen, "expected ',' after the side");
        return -1;
    }
    s = spaces(s + 1);
    unsigned k = 0;
    while (k < sizeof(ops) / sizeof(ops[0]) && strncmp(s, ops[k].op, strlen(ops[k].op)))
        k++;
    if (k == sizeof(ops) / sizeof(ops[0])) {
        snprintf(err, errlen, "expected an operator (<, <=, >, >=, =, !=)");
        return -1;
    }
    out->um.mode = ops[k].mode;
    s = spaces(s + strlen(ops[k].op));
    if (*s != ',') {
        snprintf(err, errlen, "expected ',' after the operator");
        return -1;
    }
    s = spaces(s + 1);
    uint64_t x = 0;
    const char *d = s;
    for (; *s >= '0' && *s <= '9'; s++) {
        x = x * 10 + (uint64_t)(*s - '0');
        if (x > UINT32_MAX) {
            snprintf(err, errlen, "the size is more than %u", UINT32_MAX);
            return -1;
        }
    }
    if (s == d || *spaces(s)) {
        snprintf(err, errlen, "expected a decimal size at the end");
        return -1;
    }
    out->um.a = x;
    return 0;
}
