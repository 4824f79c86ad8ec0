/* Stateful keywords, build side: flowbits, flowint and xbits values parsed
 * and checked as Suricata 7.0's DetectFlowbitSetup, DetectFlowintParse and
 * DetectXbitParse do (detect-flowbits.c, detect-flowint.c, detect-xbits.c);
 * names turned into ids that the ruleset shares, one name space per kind of
 * variable (a flowbit and a flowint may share a name, as in Suricata). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/state.h"

/* Suricata copies the command into 16 bytes and the names into 256. */
#define FB_CMD_MAX 15
#define FB_NAME_MAX 255
/* Ids are 16-bit; 0 is never given out. */
#define FB_IDS_MAX 65535u

struct gh_var_names {
    char **slot;      /* open addressing, a power of two; NULL: free */
    uint16_t *id;
    size_t cap, n;
};

gh_var_names *gh_var_names_new(void)
{
    gh_var_names *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cap = 256;
    t->slot = calloc(t->cap, sizeof(*t->slot));
    t->id = calloc(t->cap, sizeof(*t->id));
    if (!t->slot || !t->id) {
        gh_var_names_free(t);
        return NULL;
    }
    return t;
}

void gh_var_names_free(gh_var_names *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->slot && i < t->cap; i++)
        free(t->slot[i]);
    free(t->slot);
    free(t->id);
    free(t);
}

static size_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static size_t find_slot(char *const *slot, size_t cap, const char *s, size_t len)
{
    size_t i = name_hash(s, len) & (cap - 1);
    while (slot[i] && (strlen(slot[i]) != len || memcmp(slot[i], s, len)))
        i = (i + 1) & (cap - 1);
    return i;
}

static int grow(gh_var_names *t)
{
    size_t cap = t->cap * 2;
    char **slot = calloc(cap, sizeof(*slot));
    uint16_t *id = calloc(cap, sizeof(*id));
    if (!slot || !id) {
        free(slot);
        free(id);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i]) {
            size_t j = find_slot(slot, cap, t->slot[i], strlen(t->slot[i]));
            slot[j] = t->slot[i];
            id[j] = t->id[i];
        }
    free(t->slot);
    free(t->id);
    t->slot = slot;
    t->id = id;
    t->cap = cap;
    return 0;
}

/* The id of name @p s[0 .. len) in the name space of @p kind (SV_*),
 * registered if new; 0 when out of memory or ids. */
static uint16_t name_id(gh_var_names *t, int kind, const char *s, size_t len)
{
    char key[FB_NAME_MAX + 2];
    if (len > FB_NAME_MAX)
        return 0;
    key[0] = (char)('a' + kind);
    memcpy(key + 1, s, len);
    len++;
    size_t i = find_slot(t->slot, t->cap, key, len);
    if (t->slot[i])
        return t->id[i];
    if (t->n >= FB_IDS_MAX)
        return 0;
    if ((t->n + 1) * 2 > t->cap) {
        if (grow(t) != 0)
            return 0;
        i = find_slot(t->slot, t->cap, key, len);
    }
    if (!(t->slot[i] = strndup(key, len)))
        return 0;
    t->id[i] = (uint16_t)++t->n;
    return t->id[i];
}

size_t gh_var_names_count(const gh_var_names *t)
{
    return t->n;
}

int gh_var_names_merge(gh_var_names *dst, const gh_var_names *src, uint16_t *map)
{
    const char **by_id = calloc(src->n + 1, sizeof(*by_id));
    if (!by_id)
        return -1;
    for (size_t i = 0; i < src->cap; i++)
        if (src->slot[i])
            by_id[src->id[i]] = src->slot[i];
    map[0] = 0;
    int rc = 0;
    for (size_t id = 1; id <= src->n && !rc; id++) {
        const char *key = by_id[id]; /* the kind's letter, then the name */
        map[id] = name_id(dst, key[0] - 'a', key + 1, strlen(key + 1));
        rc = map[id] ? 0 : -1;
    }
    free(by_id);
    return rc;
}

void gh_var_remap(dpi_var *v, const uint16_t *map)
{
    for (uint16_t i = 0; i < v->n; i++)
        v->ids[i] = map[v->ids[i]];
    if (v->kind == SV_FLOWINT && v->target)
        v->target = map[v->target];
}

static int name_error(const gh_var_names *t, char *err, size_t errlen)
{
    snprintf(err, errlen, t->n >= FB_IDS_MAX ? "more than 65535 variable names"
                                             : "out of memory");
    return -1;
}

/* One id into @p out. */
static int one_id(gh_var_names *t, int kind, const char *s, size_t len, dpi_var *out,
                  char *err, size_t errlen)
{
    uint16_t id = name_id(t, kind, s, len);
    if (!id || !(out->ids = malloc(sizeof(*out->ids))))
        return name_error(t, err, errlen);
    out->ids[0] = id;
    out->n = 1;
    return 1;
}

/* The commands of flowbits and xbits; noalert last (no FB_* code). */
static const char *const bit_cmds[] = {"isset", "isnotset", "set", "unset", "toggle", "noalert"};
static const uint8_t bit_codes[] = {FB_ISSET, FB_ISNOTSET, FB_SET, FB_UNSET, FB_TOGGLE};
#define CMD_NOALERT 5

/* The lower-case command at the start of @p v (Suricata's "^([a-z]+)"):
 * its index in bit_cmds, -1 when none is there, -2 when it is not one of them. */
static int command(const char *v, size_t *len)
{
    size_t cl = 0;
    while (v[cl] >= 'a' && v[cl] <= 'z')
        cl++;
    *len = cl;
    if (!cl)
        return -1;
    for (size_t i = 0; i < sizeof(bit_cmds) / sizeof(bit_cmds[0]); i++)
        if (strlen(bit_cmds[i]) == cl && !memcmp(bit_cmds[i], v, cl))
            return (int)i;
    return -2;
}

/* Command @p c (command's answer for the @p cl bytes at @p v) of keyword
 * @p kw with a name of @p nl bytes: 1 with *@p code set, 0 for noalert
 * (which takes no name), -1 on an error. */
static int bit_command(const char *kw, const char *v, int c, size_t cl, size_t nl,
                       uint8_t *code, char *err, size_t errlen)
{
    if (c == CMD_NOALERT) {
        if (nl) {
            snprintf(err, errlen, "%s:noalert takes no name", kw);
            return -1;
        }
        return 0;
    }
    if (c < 0) {
        snprintf(err, errlen, "%s action '%.*s' is not supported", kw, (int)cl, v);
        return -1;
    }
    if (!nl) {
        snprintf(err, errlen, "%s:%.*s needs a name", kw, (int)cl, v);
        return -1;
    }
    *code = bit_codes[c];
    return 1;
}

/* flowbits:<cmd>[,<name>[|<name>...]] */
static int flowbits_compile(const char *v, gh_var_names *names, dpi_var *out, char *err,
                            size_t errlen)
{
    size_t cl;
    int c = command(v, &cl);
    if (c == -1) {
        snprintf(err, errlen, "'%s' is not a valid setting for flowbits", v);
        return -1;
    }
    if (cl > FB_CMD_MAX) {
        snprintf(err, errlen, "flowbits command '%.*s' is too long", (int)cl, v);
        return -1;
    }
    /* "^([a-z]+)(?:,\s*(.*))?": anything but a comma after the command
     * leaves the names empty */
    const char *nm = "";
    size_t nl = 0;
    if (v[cl] == ',') {
        nm = v + cl + 1;
        while (isspace((unsigned char)*nm))
            nm++;
        nl = strlen(nm);
        while (nl && isblank((unsigned char)nm[nl - 1]))
            nl--;
        if (nl > FB_NAME_MAX) {
            snprintf(err, errlen, "flowbit name is longer than %d bytes", FB_NAME_MAX);
            return -1;
        }
    }
    int rc = bit_command("flowbits", v, c, cl, nl, &out->cmd, err, errlen);
    if (rc <= 0)
        return rc;
    out->kind = SV_FLOWBITS;
    bool list = memchr(nm, '|', nl) != NULL;
    if (!list && (memchr(nm, ' ', nl) || memchr(nm, '\t', nl))) {
        snprintf(err, errlen, "spaces are not allowed in flowbit names");
        return -1;
    }
    if (!list)
        return one_id(names, SV_FLOWBITS, nm, nl, out, err, errlen);
    uint16_t ids[FB_LIST_MAX];
    uint16_t n = 0;
    for (size_t i = 0; i < nl;) {
        size_t e = i;
        while (e < nl && nm[e] != '|')
            e++;
        size_t a = i, b = e; /* the token, without the blanks around it */
        while (a < b && isspace((unsigned char)nm[a]))
            a++;
        while (b > a && isspace((unsigned char)nm[b - 1]))
            b--;
        i = e + 1;
        if (a == b)
            continue;
        if (memchr(nm + a, ' ', b - a)) {
            snprintf(err, errlen, "spaces are not allowed in flowbit names");
            return -1;
        }
        if (n == FB_LIST_MAX) {
            snprintf(err, errlen, "more than %d flowbit names", FB_LIST_MAX);
            return -1;
        }
        if (!(ids[n++] = name_id(names, SV_FLOWBITS, nm + a, b - a)))
            return name_error(names, err, errlen);
    }
    if (!n) {
        snprintf(err, errlen, "no valid flowbits specified");
        return -1;
    }
    /* A '|' list means "any of" to isset and isnotset; Suricata's set, unset
     * and toggle act on the option's single id, which a list leaves unset:
     * they change no bit a signature can test. */
    if (out->cmd != FB_ISSET && out->cmd != FB_ISNOTSET)
        return 1;
    if (!(out->ids = malloc(n * sizeof(*out->ids))))
        return name_error(names, err, errlen);
    memcpy(out->ids, ids, n * sizeof(*ids));
    out->n = n;
    return 1;
}

static bool is_word(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* flowint:<name>,<op>[,]<number or variable>, or <name>,isset|isnotset|notset:
 * Suricata's "^\s*([a-zA-Z][\w\d_./]+)\s*,\s*(op)\s*,?\s*([a-zA-Z][\w\d]+|[\d]{1,10})?\s*$" */
static int flowint_compile(const char *v, gh_var_names *names, dpi_var *out, char *err,
                           size_t errlen)
{
    const char *p = v;
    while (isspace((unsigned char)*p))
        p++;
    const char *nm = p;
    if (isalpha((unsigned char)*p))
        while (is_word(*p) || *p == '.' || *p == '/')
            p++;
    size_t nl = (size_t)(p - nm);
    while (isspace((unsigned char)*p))
        p++;
    if (nl < 2 || *p != ',') {
        snprintf(err, errlen, "'%s' is not a valid setting for flowint", v);
        return -1;
    }
    p++;
    while (isspace((unsigned char)*p))
        p++;
    static const struct {
        const char *op;
        uint8_t cmd;
    } ops[] = {{"isnotset", FI_ISNOTSET}, {"notset", FI_ISNOTSET}, {"isset", FI_ISSET},
               {"==", FI_EQ}, {"!=", FI_NE}, {"<=", FI_LE}, {">=", FI_GE}, {"<", FI_LT},
               {">", FI_GT}, {"=", FI_SET}, {"+", FI_ADD}, {"-", FI_SUB}};
    int oi = -1;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && oi < 0; i++)
        if (!strncmp(p, ops[i].op, strlen(ops[i].op)))
            oi = (int)i;
    if (oi < 0) {
        snprintf(err, errlen, "flowint: unknown modifier in '%s'", v);
        return -1;
    }
    p += strlen(ops[oi].op);
    while (isspace((unsigned char)*p))
        p++;
    if (*p == ',')
        p++;
    while (isspace((unsigned char)*p))
        p++;
    const char *val = p;
    if (isalpha((unsigned char)*p)) {
        while (is_word(*p))
            p++;
    } else {
        while (isdigit((unsigned char)*p) && p - val < 10)
            p++;
    }
    size_t vl = (size_t)(p - val);
    while (isspace((unsigned char)*p))
        p++;
    if (*p || (vl == 1 && isalpha((unsigned char)*val))) {
        snprintf(err, errlen, "'%s' is not a valid setting for flowint", v);
        return -1;
    }
    out->kind = SV_FLOWINT;
    out->cmd = ops[oi].cmd;
    bool test_only = out->cmd == FI_ISSET || out->cmd == FI_ISNOTSET;
    if (!test_only && !vl) {
        snprintf(err, errlen, "flowint: '%s' needs a value", ops[oi].op);
        return -1;
    }
    if (!test_only && isdigit((unsigned char)*val)) {
        unsigned long long x = strtoull(val, NULL, 10);
        if (x > UINT32_MAX) {
            snprintf(err, errlen, "flowint: value %.*s is over %u", (int)vl, val, UINT32_MAX);
            return -1;
        }
        out->value = (uint32_t)x;
    } else if (!test_only && !(out->target = name_id(names, SV_FLOWINT, val, vl))) {
        return name_error(names, err, errlen);
    }
    return one_id(names, SV_FLOWINT, nm, nl, out, err, errlen);
}

/* xbits:<cmd>,<name>,track ip_src|ip_dst|ip_pair[,expire <seconds>]: Suricata's
 * "^([a-z]+)(?:,\s*([^,]+))?(?:,\s*(?:track\s+([^,]+)))(?:,\s*(?:expire\s+([^,]+)))?" */
static int xbits_compile(const char *v, gh_var_names *names, dpi_var *out, char *err,
                         size_t errlen)
{
    size_t cl;
    int c = command(v, &cl);
    /* the fields after the command, split at commas */
    const char *f[4] = {0};
    size_t fl[4] = {0}, nf = 0;
    for (const char *p = v + cl; *p == ',' && nf < 4;) {
        p++;
        while (isspace((unsigned char)*p))
            p++;
        f[nf] = p;
        while (*p && *p != ',')
            p++;
        fl[nf] = (size_t)(p - f[nf]);
        nf++;
    }
    /* the name is optional (noalert): the track field may come first */
    size_t ti = nf && fl[0] > 6 && !strncmp(f[0], "track", 5) && isspace((unsigned char)f[0][5])
                    ? 0 : 1;
    if (c == -1 || cl > FB_CMD_MAX || ti >= nf || strncmp(f[ti], "track", 5) ||
        !isspace((unsigned char)f[ti][5]) || nf > ti + 2 || v[cl] != ',') {
        snprintf(err, errlen, "'%s' is not a valid setting for xbits", v);
        return -1;
    }
    const char *tr = f[ti] + 5;
    while (isspace((unsigned char)*tr))
        tr++;
    size_t trl = fl[ti] - (size_t)(tr - f[ti]);
    static const char *const tracks[] = {"ip_src", "ip_dst", "ip_pair"};
    int t = -1;
    for (int i = 0; i < 3; i++)
        if (strlen(tracks[i]) == trl && !memcmp(tracks[i], tr, trl))
            t = i;
    if (t < 0) {
        snprintf(err, errlen, "xbits: unknown track '%.*s'", (int)trl, tr);
        return -1;
    }
    uint32_t expire = 30; /* DETECT_XBITS_EXPIRE_DEFAULT */
    if (nf > ti + 1) {
        const char *e = f[ti + 1];
        char *end;
        if (strncmp(e, "expire", 6) || !isspace((unsigned char)e[6])) {
            snprintf(err, errlen, "'%s' is not a valid setting for xbits", v);
            return -1;
        }
        e += 6;
        while (isspace((unsigned char)*e))
            e++;
        unsigned long long x = strtoull(e, &end, 10);
        if (end == e || (size_t)(end - f[ti + 1]) != fl[ti + 1] || x > UINT32_MAX) {
            snprintf(err, errlen, "xbits: invalid value for expire: '%.*s'",
                     (int)(fl[ti + 1] - (size_t)(e - f[ti + 1])), e);
            return -1;
        }
        if (!x) {
            snprintf(err, errlen, "xbits: expire must be bigger than 0");
            return -1;
        }
        expire = (uint32_t)x;
    }
    size_t nl = ti ? fl[0] : 0;
    int rc = bit_command("xbits", v, c, cl, nl, &out->cmd, err, errlen);
    if (rc <= 0)
        return rc;
    out->kind = t == XB_PAIR ? SV_PAIRBITS : SV_HOSTBITS;
    out->track = (uint8_t)t;
    out->value = expire;
    return one_id(names, out->kind, f[0], nl, out, err, errlen);
}

int gh_var_compile(const char *kw, const char *value, gh_var_names *names, dpi_var *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *v = value ? value : "";
    if (!strcmp(kw, "flowint"))
        return flowint_compile(v, names, out, err, errlen);
    if (!strcmp(kw, "xbits"))
        return xbits_compile(v, names, out, err, errlen);
    return flowbits_compile(v, names, out, err, errlen);
}
