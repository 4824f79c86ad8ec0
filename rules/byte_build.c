/* Parse byte_test, byte_jump, byte_extract and byte_math values as Suricata
 * 7.0 does: DetectBytetestParse (detect-bytetest.c), DetectBytejumpParse
 * (detect-bytejump.c), DetectByteExtractParse (detect-byte-extract.c) and
 * parse_bytemath (rust/src/detect/byte_math.rs), with their setup checks.
 * Numbers go through strtoull/strtoll as Suricata's util-byte.c helpers do,
 * so what they accept (a 0x prefix, trailing text where not strict) is
 * accepted here too. */
#include "byte_build.h"

#define TOK_MAX 16

typedef struct tok {
    size_t at, len;
    char s[BYTE_NAME_MAX];
} tok;

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Comma-separated fields, blanks trimmed; -1 when too many or too long. */
static int split(const char *v, tok *t)
{
    int n = 0;
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        const char *end = e ? e : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && blank(*a))
            a++;
        while (b > a && blank(b[-1]))
            b--;
        if (n == TOK_MAX || (size_t)(b - a) >= BYTE_NAME_MAX)
            return -1;
        t[n].at = (size_t)(a - v);
        t[n].len = (size_t)(b - a);
        memcpy(t[n].s, a, t[n].len);
        t[n].s[t[n].len] = '\0';
        n++;
        if (!e)
            return n;
        p = e + 1;
    }
}

static bool has_blank(const char *s)
{
    for (; *s; s++)
        if (blank(*s))
            return true;
    return false;
}

/* Suricata's ByteExtractString: strtoull in @p base, a digit needed, no
 * overflow; @p strict: nothing may follow. */
static bool sc_u64(const char *s, int base, bool strict, uint64_t *out)
{
    char *end;
    errno = 0;
    *out = strtoull(s, &end, base);
    return errno != ERANGE && end != s && (!strict || *end == '\0');
}

/* ByteExtractStringSigned: strtoll; @p strict as above. */
static bool sc_i64(const char *s, int base, bool strict, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, base);
    *out = x;
    return errno != ERANGE && end != s && (!strict || *end == '\0');
}

/* A variable name where Suricata takes one: a first letter, not '-'. */
static bool is_var(const char *s)
{
    return isalpha((unsigned char)s[0]) != 0;
}

static void fail(byte_parse *p, const tok *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first error wins, at token @p t (NULL: the value's start). */
static void fail(byte_parse *p, const tok *t, const char *fmt, ...)
{
    if (p->status)
        return;
    p->status = -1;
    p->at = t ? t->at : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
}

static void unsupported(byte_parse *p, const char *tag)
{
    if (p->status)
        return;
    p->status = 1;
    p->tag = tag;
}

static uint8_t trailing_zeros(uint32_t m)
{
    uint8_t n = 0;
    while (m && !(m & 1)) {
        m >>= 1;
        n++;
    }
    return n;
}

/* An option field of byte_test's regex: one of its keywords, a blank and a
 * word, or a run of the letters of "relative|big|...|bitmask". */
static bool bt_opt_form(const char *s)
{
    static const char *const kw[] = {"relative", "big", "little", "string", "oct",
                                     "dec", "hex", "dce", "bitmask"};
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
        size_t n = strlen(kw[i]);
        if (!strncmp(s, kw[i], n) && blank(s[n])) {
            const char *w = s + n;
            while (blank(*w))
                w++;
            return *w && !has_blank(w);
        }
    }
    for (const char *c = s; *c; c++)
        if (!strchr("relativ|bgsnodcxhmk", *c))
            return false;
    return *s != '\0';
}

static void parse_test(tok *t, int n, dpi_byte *b, byte_parse *p)
{
    if (n < 4 || n > 10 || !t[0].len || !t[2].len || !t[3].len || has_blank(t[0].s) ||
        has_blank(t[2].s) || has_blank(t[3].s)) {
        fail(p, NULL, "byte_test: expected nbytes, operator, value, offset[, options]%s", "");
        return;
    }
    uint64_t u;
    if (t[0].s[0] != '-' && is_var(t[0].s)) {
        snprintf(p->var[BV_NBYTES], BYTE_NAME_MAX, "%s", t[0].s);
    } else if (!sc_u64(t[0].s, 10, true, &u) || u > 0xffffffffu) {
        fail(p, &t[0], "byte_test: bad number of bytes '%s'", t[0].s);
        return;
    } else {
        b->nbytes = (int32_t)u;
    }
    const char *op = t[1].s;
    if (*op == '!') {
        b->neg_op = true;
        op++;
        while (blank(*op))
            op++;
    }
    if (has_blank(op)) {
        fail(p, &t[1], "byte_test: invalid operator '%s'", t[1].s);
        return;
    }
    static const char *const ops[] = {"<", ">", "=", "&", "^", ">=", "<="};
    for (unsigned i = 0; i < 7; i++)
        if (!strcmp(op, ops[i]))
            b->op = (uint8_t)(BT_LT + i);
    if (!*op && b->neg_op)
        b->op = BT_EQ;
    if (!b->op) {
        fail(p, &t[1], "byte_test: invalid operator '%s'", t[1].s);
        return;
    }
    if (t[2].s[0] != '-' && is_var(t[2].s))
        snprintf(p->var[BV_VALUE], BYTE_NAME_MAX, "%s", t[2].s);
    else if (!sc_u64(t[2].s, 0, false, &b->value)) {
        fail(p, &t[2], "byte_test: bad value '%s'", t[2].s);
        return;
    }
    int64_t o;
    if (t[3].s[0] != '-' && is_var(t[3].s))
        snprintf(p->var[BV_OFFSET], BYTE_NAME_MAX, "%s", t[3].s);
    else if (!sc_i64(t[3].s, 0, false, &o) || o < INT32_MIN || o > INT32_MAX) {
        fail(p, &t[3], "byte_test: bad offset '%s'", t[3].s);
        return;
    } else {
        b->offset = (int32_t)o;
    }
    bool big = false, little = false, dce = false;
    for (int i = 4; i < n; i++) {
        const char *s = t[i].s;
        if (!bt_opt_form(s)) {
            fail(p, &t[i], "byte_test: bad option '%s'", s);
            return;
        }
        if (!strcmp(s, "relative")) {
            p->relative = true;
        } else if (!strcmp(s, "string")) {
            b->string = true;
        } else if (!strcmp(s, "dec")) {
            b->base |= 10;
        } else if (!strcmp(s, "hex")) {
            b->base |= 16;
        } else if (!strcmp(s, "oct")) {
            b->base |= 8;
        } else if (!strcmp(s, "big")) {
            big = true, little = false;
        } else if (!strcmp(s, "little")) {
            little = true;
        } else if (!strcmp(s, "dce")) {
            dce = true;
        } else if (!strncmp(s, "bitmask", 7)) {
            if (!sc_u64(s + 7, 0, false, &u) || u > 0xffffffffu) {
                fail(p, &t[i], "byte_test: bad bitmask '%s'", s);
                return;
            }
            b->has_mask = true;
            b->bitmask = (uint32_t)u;
            b->shift = trailing_zeros(b->bitmask);
        } else {
            fail(p, &t[i], "byte_test: unknown option '%s'", s);
            return;
        }
    }
    b->little = little;
    if (!p->var[BV_NBYTES][0]) {
        if (b->string ? b->nbytes > 23 : b->nbytes > 8) {
            fail(p, &t[0], b->string ? "byte_test: more than 23 bytes with string: '%s'"
                                     : "byte_test: more than 8 bytes without string: '%s'",
                 t[0].s);
            return;
        }
    }
    if (!b->string && b->base) {
        fail(p, NULL, "byte_test: a base without 'string'%s", "");
        return;
    }
    if (dce && (b->string || little || big || b->base == 8 || b->base == 10 || b->base == 16))
        fail(p, NULL, "byte_test: dce with string, an endianness or a base%s", "");
    else if (dce)
        unsupported(p, "byte_test/dce");
}

static void parse_jump(tok *t, int n, dpi_byte *b, byte_parse *p)
{
    if (n < 2 || n > 11 || !t[0].len || !t[1].len || has_blank(t[0].s) || has_blank(t[1].s)) {
        fail(p, NULL, "byte_jump: expected nbytes, offset[, options]%s", "");
        return;
    }
    uint64_t u;
    int64_t o;
    b->multiplier = 1;
    if (t[0].s[0] != '-' && is_var(t[0].s))
        snprintf(p->var[BV_NBYTES], BYTE_NAME_MAX, "%s", t[0].s);
    else if (!sc_u64(t[0].s, 10, true, &u) || u > 0xffffffffu) {
        fail(p, &t[0], "byte_jump: bad number of bytes '%s'", t[0].s);
        return;
    } else {
        b->nbytes = (int32_t)u;
    }
    if (t[1].s[0] != '-' && is_var(t[1].s))
        snprintf(p->var[BV_OFFSET], BYTE_NAME_MAX, "%s", t[1].s);
    else if (!sc_i64(t[1].s, 10, true, &o) || o < -65535 || o > 65535) {
        fail(p, &t[1], "byte_jump: bad offset '%s'", t[1].s);
        return;
    } else {
        b->offset = (int32_t)o;
    }
    bool big = false, dce = false;
    for (int i = 2; i < n; i++) {
        const char *s = t[i].s;
        bool two = !strncmp(s, "multiplier", 10) || !strncmp(s, "post_offset", 11);
        if (!t[i].len || (has_blank(s) && !two)) {
            fail(p, &t[i], "byte_jump: bad option '%s'", s);
            return;
        }
        if (!strcmp(s, "relative")) {
            p->relative = true;
        } else if (!strcasecmp(s, "string")) {
            b->string = true;
        } else if (!strcasecmp(s, "dec")) {
            b->base |= 10;
        } else if (!strcasecmp(s, "hex")) {
            b->base |= 16;
        } else if (!strcasecmp(s, "oct")) {
            b->base |= 8;
        } else if (!strcasecmp(s, "big")) {
            big = true, b->little = false;
        } else if (!strcasecmp(s, "little")) {
            b->little = true;
        } else if (!strcasecmp(s, "from_beginning")) {
            b->from_begin = true;
        } else if (!strcasecmp(s, "from_end")) {
            b->from_end = true;
        } else if (!strcasecmp(s, "align")) {
            b->align = 4;
        } else if (!strncasecmp(s, "multiplier ", 11)) {
            if (!sc_u64(s + 11, 10, true, &u) || u < 1 || u > 65535) {
                fail(p, &t[i], "byte_jump: bad multiplier '%s'", s);
                return;
            }
            b->multiplier = (uint16_t)u;
        } else if (!strncasecmp(s, "post_offset ", 12)) {
            if (!sc_i64(s + 12, 10, true, &o) || o < -65535 || o > 65535) {
                fail(p, &t[i], "byte_jump: bad post_offset '%s'", s);
                return;
            }
            b->post_offset = (int32_t)o;
        } else if (!strcasecmp(s, "dce")) {
            dce = true;
        } else {
            fail(p, &t[i], "byte_jump: unknown option '%s'", s);
            return;
        }
    }
    if (b->from_begin && b->from_end) {
        fail(p, NULL, "byte_jump: from_end and from_beginning together%s", "");
        return;
    }
    if (!p->var[BV_NBYTES][0] && (b->string ? b->nbytes > 23 : b->nbytes > 8)) {
        fail(p, &t[0], b->string ? "byte_jump: more than 23 bytes with string: '%s'"
                                 : "byte_jump: more than 8 bytes without string: '%s'",
             t[0].s);
        return;
    }
    if (!b->string && b->base) {
        fail(p, NULL, "byte_jump: a base without 'string'%s", "");
        return;
    }
    if (dce && (b->string || b->little || big || b->from_begin || b->from_end ||
                b->base == 8 || b->base == 10 || b->base == 16))
        fail(p, NULL, "byte_jump: dce with string, an endianness, from_* or a base%s", "");
    else if (dce)
        unsupported(p, "byte_jump/dce");
}

static void parse_extract(tok *t, int n, dpi_byte *b, byte_parse *p)
{
    uint64_t u;
    int64_t o;
    if (n < 3 || n > 8 || !sc_u64(t[0].s, 10, true, &u) || !isdigit((unsigned char)t[0].s[0]) ||
        !sc_i64(t[1].s, 10, true, &o) || has_blank(t[1].s) || !t[2].len || has_blank(t[2].s)) {
        fail(p, NULL, "byte_extract: expected nbytes, offset, name[, options]%s", "");
        return;
    }
    if (u > 255) {
        fail(p, &t[0], "byte_extract: bad number of bytes '%s'", t[0].s);
        return;
    }
    b->nbytes = (int32_t)u;
    if (o < -65535 || o > 65535) {
        fail(p, &t[1], "byte_extract: bad offset '%s'", t[1].s);
        return;
    }
    b->offset = (int32_t)o;
    if (!(b->name = strdup(t[2].s))) {
        fail(p, NULL, "out of memory%s", "");
        return;
    }
    bool mult = false, endian = false, dce = false;
    for (int i = 3; i < n; i++) {
        /* a field is one word or two (an option and its value) */
        char w[2][BYTE_NAME_MAX] = {"", ""};
        const char *s = t[i].s;
        size_t a = strcspn(s, " \t\n\r\v\f");
        snprintf(w[0], sizeof(w[0]), "%.*s", (int)a, s);
        const char *r = s + a;
        while (blank(*r))
            r++;
        snprintf(w[1], sizeof(w[1]), "%s", r);
        if (!w[0][0] || has_blank(w[1])) {
            fail(p, &t[i], "byte_extract: bad option '%s'", s);
            return;
        }
        const char *k = w[0];
        bool takes = !strcmp(k, "multiplier") || !strcmp(k, "align");
        if (w[1][0] && !takes) {
            /* Suricata reads the second word as the next option */
            fail(p, &t[i], "byte_extract: invalid option '%s'", w[1]);
            return;
        }
        if (!strcmp(k, "relative")) {
            if (p->relative)
                fail(p, &t[i], "byte_extract: '%s' more than once", k);
            p->relative = true;
        } else if (!strcmp(k, "multiplier")) {
            if (mult)
                fail(p, &t[i], "byte_extract: '%s' more than once", k);
            mult = true;
            if (!sc_u64(w[1], 10, true, &u) || u < 1 || u > 65535)
                fail(p, &t[i], "byte_extract: bad multiplier '%s'", s);
            b->multiplier = (uint16_t)u;
        } else if (!strcmp(k, "big") || !strcmp(k, "little") || !strcmp(k, "dce")) {
            if (endian)
                fail(p, &t[i], "byte_extract: endianness '%s' given twice", k);
            endian = true;
            b->little = !strcmp(k, "little");
            dce = !strcmp(k, "dce");
        } else if (!strcmp(k, "string")) {
            if (b->string)
                fail(p, &t[i], "byte_extract: '%s' more than once", k);
            if (b->base)
                fail(p, &t[i], "byte_extract: the base must follow 'string'%s", "");
            b->string = true;
        } else if (!strcmp(k, "hex") || !strcmp(k, "oct") || !strcmp(k, "dec")) {
            if (!b->string)
                fail(p, &t[i], "byte_extract: base '%s' without a 'string' before it", k);
            if (b->base)
                fail(p, &t[i], "byte_extract: more than one base ('%s')", k);
            b->base = k[0] == 'h' ? 16 : k[0] == 'o' ? 8 : 10;
        } else if (!strcmp(k, "align")) {
            if (b->align)
                fail(p, &t[i], "byte_extract: '%s' more than once", k);
            if (!sc_u64(w[1], 10, true, &u) || (u != 2 && u != 4))
                fail(p, &t[i], "byte_extract: bad align '%s' (2 or 4)", s);
            b->align = (uint8_t)u;
        } else {
            fail(p, &t[i], "byte_extract: invalid option '%s'", s);
        }
        if (p->status)
            return;
    }
    if (!mult)
        b->multiplier = 1;
    if (b->string) {
        if (!b->base)
            b->base = 10;
        unsigned max = b->base == 8 ? 23 : b->base == 10 ? 20 : 14;
        if (endian) {
            fail(p, NULL, "byte_extract: an endianness with 'string'%s", "");
        } else if ((unsigned)b->nbytes > max) {
            fail(p, &t[0], "byte_extract: too many bytes for a string: '%s'", t[0].s);
        }
    } else if (b->nbytes > 8) {
        fail(p, &t[0], "byte_extract: more than 8 bytes without string: '%s'", t[0].s);
    } else if (dce) {
        unsupported(p, "byte_extract/dce");
    }
}

static void parse_math(const char *v, dpi_byte *b, byte_parse *p)
{
    /* parse_bytemath: fields split on ',', each "name value"; an empty
     * field ends the list (the rest is ignored, as nom's separated_list1) */
    tok t[TOK_MAX];
    int n = 0;
    const char *s = v;
    for (;;) {
        while (blank(*s))
            s++;
        size_t len = strcspn(s, ",");
        if (!len || n == TOK_MAX || len >= BYTE_NAME_MAX)
            break;
        t[n].at = (size_t)(s - v);
        t[n].len = len;
        memcpy(t[n].s, s, len);
        t[n].s[len] = '\0';
        n++;
        s += len;
        if (*s != ',')
            break;
        s++;
    }
    if (n < 5 || n > 10) {
        fail(p, NULL, "byte_math: 5 to 10 fields needed (bytes, offset, oper, rvalue, "
                      "result)%s", "");
        return;
    }
    unsigned req = 0;
    bool endian = false, dce = false;
    b->base = 10;
    for (int i = 0; i < n; i++) {
        char *f = t[i].s;
        size_t a = strcspn(f, " \t\n\r");
        char *val = f + a;
        if (*val)
            *val++ = '\0';
        while (blank(*val))
            val++;
        for (size_t l = strlen(val); l && blank(val[l - 1]); l--)
            val[l - 1] = '\0';
        char tokv[BYTE_NAME_MAX]; /* parse_token: up to a terminator */
        snprintf(tokv, sizeof(tokv), "%.*s", (int)strcspn(val, "\n\r\t,;: "), val);
        unsigned bit = 0;
        uint64_t u;
        if (!strcmp(f, "oper")) {
            bit = 4;
            static const char *const ops[] = {"+", "-", "/", "*", "<<", ">>"};
            for (unsigned o = 0; o < 6; o++)
                if (!strcmp(val, ops[o]))
                    b->op = (uint8_t)(BM_ADD + o);
            if (!b->op)
                fail(p, &t[i], "byte_math: unknown oper '%s'", val);
        } else if (!strcmp(f, "result")) {
            bit = 16;
            free(b->name);
            if (!(b->name = strdup(val)))
                fail(p, NULL, "out of memory%s", "");
        } else if (!strcmp(f, "rvalue")) {
            bit = 8;
            if (!tokv[0])
                fail(p, &t[i], "byte_math: bad rvalue '%s'", val);
            else if (tokv[0] != '-' && sc_u64(tokv, 10, true, &u) && isdigit((unsigned char)
                                                                            tokv[tokv[0] == '+']))
                (u > 0xffffffffu ? fail(p, &t[i], "byte_math: rvalue '%s' above 4294967295",
                                        tokv)
                                 : (void)(b->value = u));
            else
                snprintf(p->var[BV_VALUE], BYTE_NAME_MAX, "%s", tokv);
        } else if (!strcmp(f, "endian") || !strcmp(f, "dce")) {
            if (endian)
                fail(p, &t[i], "byte_math: endianness given twice ('%s')", f);
            endian = true;
            const char *e = f[0] == 'd' ? "dce" : val;
            if (!strcmp(e, "little"))
                b->little = true;
            else if (!strcmp(e, "dce"))
                dce = true;
            else if (strcmp(e, "big") != 0)
                fail(p, &t[i], "byte_math: invalid endian '%s'", val);
        } else if (!strcmp(f, "string")) {
            if (b->string)
                fail(p, &t[i], "byte_math: 'string' given twice%s", "");
            b->string = true;
            b->base = !strcmp(val, "hex") ? 16 : !strcmp(val, "oct") ? 8 : 10;
            if (strcmp(val, "hex") && strcmp(val, "oct") && strcmp(val, "dec"))
                fail(p, &t[i], "byte_math: invalid string value '%s'", val);
        } else if (!strcmp(f, "relative")) {
            if (p->relative)
                fail(p, &t[i], "byte_math: 'relative' given twice%s", "");
            p->relative = true;
        } else if (!strcmp(f, "bitmask")) {
            u = 0;
            if (b->has_mask)
                fail(p, &t[i], "byte_math: 'bitmask' given twice%s", "");
            const char *h = !strncmp(val, "0x", 2) || !strncmp(val, "0X", 2) ? val + 2 : val;
            bool ok = *h && *h != '+' && *h != '-' && sc_u64(h, 16, true, &u) &&
                      u <= 0xffffffffu;
            if (!ok)
                fail(p, &t[i], "byte_math: invalid bitmask '%s'", val);
            b->has_mask = true;
            b->bitmask = (uint32_t)u;
            b->shift = trailing_zeros(b->bitmask);
        } else if (!strcmp(f, "offset")) {
            bit = 2;
            int64_t o;
            const char *d = val + (*val == '+' || *val == '-');
            if (!isdigit((unsigned char)*d) || !sc_i64(val, 10, true, &o) || o < -65535 ||
                o > 65535)
                fail(p, &t[i], "byte_math: invalid offset '%s'", val);
            else
                b->offset = (int32_t)o;
        } else if (!strcmp(f, "bytes")) {
            bit = 1;
            if (!tokv[0])
                fail(p, &t[i], "byte_math: bad bytes '%s'", val);
            else if (tokv[0] != '-' && sc_u64(tokv, 10, true, &u) && isdigit((unsigned char)
                                                                            tokv[tokv[0] == '+']))
                (u < 1 || u > 10 ? fail(p, &t[i], "byte_math: bytes '%s' not in 1..10", tokv)
                                 : (void)(b->nbytes = (int32_t)u));
            else
                snprintf(p->var[BV_NBYTES], BYTE_NAME_MAX, "%s", tokv);
        } else {
            fail(p, &t[i], "byte_math: unknown keyword '%s'", f);
        }
        if (bit && (req & bit))
            fail(p, &t[i], "byte_math: '%s' given twice", f);
        req |= bit;
        if (p->status)
            return;
    }
    if (req != 31) {
        fail(p, NULL, "byte_math: bytes, offset, oper, rvalue and result are required%s", "");
        return;
    }
    if ((b->op == BM_SHL || b->op == BM_SHR) && b->nbytes > 4) {
        fail(p, NULL, "byte_math: bytes must be 1 to 4 with << and >>%s", "");
        return;
    }
    /* Suricata's setup then refuses dce whatever the base (its default is dec) */
    if (dce)
        fail(p, NULL, "byte_math: dce cannot be used (Suricata refuses it with any base)%s", "");
}

void gh_byte_parse(uint8_t type, const char *val, dpi_byte *b, byte_parse *p)
{
    memset(p, 0, sizeof(*p));
    if (!val) {
        fail(p, NULL, "a value is needed%s", "");
        return;
    }
    if (type == KW_BYTE_MATH) {
        parse_math(val, b, p);
    } else {
        tok t[TOK_MAX];
        int n = split(val, t);
        if (n < 0)
            fail(p, NULL, "too many or too long fields%s", "");
        else if (type == KW_BYTE_TEST)
            parse_test(t, n, b, p);
        else if (type == KW_BYTE_JUMP)
            parse_jump(t, n, b, p);
        else
            parse_extract(t, n, b, p);
    }
    if (p->status < 0) {
        free(b->name);
        b->name = NULL;
    }
}
