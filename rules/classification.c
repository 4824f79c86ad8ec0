/* classification.config: the table behind the classtype keyword (Suricata's
 * format, `config classification: SHORTNAME,DESCRIPTION,PRIORITY`). Alerts
 * take the class's description as category and its priority as severity. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gatehouse/rules.h"
#include "rules_int.h"

struct gh_classification {
    gh_class_entry *e;
    uint32_t *line; /* where each entry was defined, for duplicate errors */
    size_t n, cap;
};

gh_classification *gh_classification_new(void)
{
    return calloc(1, sizeof(gh_classification));
}

void gh_classification_free(gh_classification *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free((char *)c->e[i].name);
        free((char *)c->e[i].description);
    }
    free(c->e);
    free(c->line);
    free(c);
}

size_t gh_classification_count(const gh_classification *c)
{
    return c ? c->n : 0;
}

const gh_class_entry *gh_classification_get(const gh_classification *c, size_t i)
{
    return c && i < c->n ? &c->e[i] : NULL;
}

const gh_class_entry *gh_classification_find(const gh_classification *c, const char *name)
{
    /* Suricata matches classtype names without regard to case */
    for (size_t i = 0; c && name && i < c->n; i++)
        if (strcasecmp(c->e[i].name, name) == 0)
            return &c->e[i];
    return NULL;
}

static char *dup_range(const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    char *s = malloc((size_t)(e - b) + 1);
    if (s) {
        memcpy(s, b, (size_t)(e - b));
        s[e - b] = '\0';
    }
    return s;
}

/* One line: 0 (an entry or nothing), or an error in @p err naming path:line. */
static int parse_line(gh_classification *c, const char *s, const char *path, uint32_t ln,
                      gh_error *err)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s || *s == '#')
        return GH_OK;
    static const char kw1[] = "config", kw2[] = "classification";
    const char *p = s;
    if (strncmp(p, kw1, sizeof(kw1) - 1) != 0)
        goto syntax;
    p += sizeof(kw1) - 1;
    if (!isspace((unsigned char)*p))
        goto syntax;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, kw2, sizeof(kw2) - 1) != 0)
        goto syntax;
    p += sizeof(kw2) - 1;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ':')
        goto syntax;
    const char *name = p, *comma1 = strchr(p, ','), *end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    const char *comma2 = comma1 ? end : NULL;
    while (comma2 && comma2 > comma1 && comma2[-1] != ',')
        comma2--;
    if (!comma1 || !comma2 || comma2 - 1 == comma1) {
        gh_error_set(err, GH_E_FORMAT, "%s:%u: expected 'config classification: "
                     "SHORTNAME,DESCRIPTION,PRIORITY'", path, ln);
        return GH_E_FORMAT;
    }
    comma2--; /* at the last comma */
    const char *nb = name, *ne = comma1;
    while (nb < ne && isspace((unsigned char)*nb))
        nb++;
    while (ne > nb && isspace((unsigned char)ne[-1]))
        ne--;
    bool name_ok = nb < ne;
    for (const char *q = nb; q < ne; q++)
        if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
            name_ok = false;
    if (!name_ok) {
        gh_error_set(err, GH_E_FORMAT, "%s:%u: bad classification name '%.*s' (letters, "
                     "digits, '-' and '_')", path, ln, (int)(ne - nb), nb);
        return GH_E_FORMAT;
    }
    const char *pb = comma2 + 1;
    while (pb < end && isspace((unsigned char)*pb))
        pb++;
    unsigned long prio = 0;
    bool prio_ok = pb < end && (size_t)(end - pb) <= 3;
    for (const char *q = pb; q < end && prio_ok; q++) {
        if (!isdigit((unsigned char)*q))
            prio_ok = false;
        else
            prio = prio * 10 + (unsigned long)(*q - '0');
    }
    if (!prio_ok || prio < 1 || prio > 255) {
        gh_error_set(err, GH_E_FORMAT, "%s:%u: bad priority '%.*s' (expected 1 to 255)", path,
                     ln, (int)(end - pb), pb);
        return GH_E_FORMAT;
    }
    char *nm = dup_range(nb, ne), *desc = dup_range(comma1 + 1, comma2);
    if (!nm || !desc) {
        free(nm);
        free(desc);
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return GH_E_NOMEM;
    }
    if (!*desc) {
        gh_error_set(err, GH_E_FORMAT, "%s:%u: classification '%s' has no description", path,
                     ln, nm);
        free(nm);
        free(desc);
        return GH_E_FORMAT;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (strcasecmp(c->e[i].name, nm) != 0)
            continue;
        int rc = GH_OK;
        if (strcmp(c->e[i].description, desc) != 0 || c->e[i].priority != prio) {
            gh_error_set(err, GH_E_FORMAT, "%s:%u: classification '%s' defined again "
                         "differently (first at line %u)", path, ln, nm, c->line[i]);
            rc = GH_E_FORMAT;
        }
        free(nm);
        free(desc);
        return rc; /* the same definition twice is harmless */
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        gh_class_entry *e = realloc(c->e, cap * sizeof(*e));
        if (e)
            c->e = e;
        uint32_t *l = e ? realloc(c->line, cap * sizeof(*l)) : NULL;
        if (l)
            c->line = l;
        if (!e || !l) {
            free(nm);
            free(desc);
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            return GH_E_NOMEM;
        }
        c->cap = cap;
    }
    c->e[c->n] = (gh_class_entry){.name = nm, .description = desc, .priority = (uint32_t)prio};
    c->line[c->n++] = ln;
    return GH_OK;
syntax:
    gh_error_set(err, GH_E_FORMAT, "%s:%u: expected 'config classification: "
                 "SHORTNAME,DESCRIPTION,PRIORITY'", path, ln);
    return GH_E_FORMAT;
}

typedef struct class_file {
    gh_classification *c;
    const char *path;
} class_file;

static int class_line(void *ctx, char *line, size_t len, uint32_t ln, gh_error *err)
{
    (void)len;
    const class_file *cf = ctx;
    return parse_line(cf->c, line, cf->path, ln, err);
}

int gh_classification_load(gh_classification *c, const char *path, gh_error *err)
{
    class_file cf = {.c = c, .path = path};
    return gh_rule_read_lines(path, class_line, &cf, err);
}
