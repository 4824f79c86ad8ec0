/* Flowbits, build side: the option's value parsed and checked as Suricata
 * 7.0's DetectFlowbitSetup does (detect-flowbits.c), names turned into ids
 * that the ruleset shares. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/flowbits.h"

/* Suricata copies the command into 16 bytes and the names into 256. */
#define FB_CMD_MAX 15
#define FB_NAME_MAX 255
/* Ids are 16-bit; 0 is never given out. */
#define FB_IDS_MAX 65535u

struct gh_fb_names {
    char **slot;      /* open addressing, a power of two; NULL: free */
    uint16_t *id;
    size_t cap, n;
};

gh_fb_names *gh_fb_names_new(void)
{
    gh_fb_names *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cap = 256;
    t->slot = calloc(t->cap, sizeof(*t->slot));
    t->id = calloc(t->cap, sizeof(*t->id));
    if (!t->slot || !t->id) {
        gh_fb_names_free(t);
        return NULL;
    }
    return t;
}

void gh_fb_names_free(gh_fb_names *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->slot && i < t->cap; i++)
        free(t->slot[i]);
    free(t->slot);
    free(t->id);
    free(t);
}

size_t gh_fb_names_count(const gh_fb_names *t)
{
    return t->n;
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

static int grow(gh_fb_names *t)
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

/* The id of name @p s[0 .. len), registered if new; 0 when out of memory or ids. */
static uint16_t name_id(gh_fb_names *t, const char *s, size_t len)
{
    size_t i = find_slot(t->slot, t->cap, s, len);
    if (t->slot[i])
        return t->id[i];
    if (t->n >= FB_IDS_MAX)
        return 0;
    if ((t->n + 1) * 2 > t->cap) {
        if (grow(t) != 0)
            return 0;
        i = find_slot(t->slot, t->cap, s, len);
    }
    if (!(t->slot[i] = strndup(s, len)))
        return 0;
    t->id[i] = (uint16_t)++t->n;
    return t->id[i];
}

int gh_flowbits_compile(const char *value, gh_fb_names *names, dpi_fb *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *v = value ? value : "";
    /* Suricata's "^([a-z]+)(?:,\s*(.*))?": a lower-case command, then
     * optionally a comma and the names; anything else after the command
     * leaves the names empty */
    size_t cl = 0;
    while (v[cl] >= 'a' && v[cl] <= 'z')
        cl++;
    if (cl == 0) {
        snprintf(err, errlen, "'%s' is not a valid setting for flowbits", v);
        return -1;
    }
    if (cl > FB_CMD_MAX) {
        snprintf(err, errlen, "flowbits command '%.*s' is too long", (int)cl, v);
        return -1;
    }
    static const struct {
        const char *name;
        int cmd;
    } cmds[] = {{"isset", FB_ISSET}, {"isnotset", FB_ISNOTSET}, {"set", FB_SET},
                {"unset", FB_UNSET}, {"toggle", FB_TOGGLE}, {"noalert", -1}};
    int cmd = -2;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strlen(cmds[i].name) == cl && !memcmp(cmds[i].name, v, cl))
            cmd = cmds[i].cmd;
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
    if (cmd == -1) {
        if (nl) {
            snprintf(err, errlen, "flowbits:noalert takes no name");
            return -1;
        }
        return 0;
    }
    if (cmd == -2) {
        snprintf(err, errlen, "flowbits action '%.*s' is not supported", (int)cl, v);
        return -1;
    }
    if (!nl) {
        snprintf(err, errlen, "flowbits:%.*s needs a flowbit name", (int)cl, v);
        return -1;
    }
    out->cmd = (uint8_t)cmd;
    bool list = memchr(nm, '|', nl) != NULL;
    if (!list && (memchr(nm, ' ', nl) || memchr(nm, '\t', nl))) {
        snprintf(err, errlen, "spaces are not allowed in flowbit names");
        return -1;
    }
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
        if (!(ids[n++] = name_id(names, nm + a, b - a))) {
            snprintf(err, errlen, names->n >= FB_IDS_MAX ? "more than 65535 flowbit names"
                                                          : "out of memory");
            return -1;
        }
    }
    if (!n) {
        snprintf(err, errlen, "no valid flowbits specified");
        return -1;
    }
    /* A '|' list means "any of" to isset and isnotset; Suricata's set, unset
     * and toggle act on the option's single id, which a list leaves unset:
     * they change no bit a signature can test. */
    if (list && cmd != FB_ISSET && cmd != FB_ISNOTSET)
        return 1;
    if (!(out->ids = malloc(n * sizeof(*out->ids)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(out->ids, ids, n * sizeof(*ids));
    out->n = n;
    return 1;
}
