/* Rule variables ($HOME_NET, $HTTP_PORTS, ...): a table of NAME -> value
 * loaded from a vars file (rules/vars.conf holds Suricata's defaults) and
 * overridden from the command line. Each value is parsed once, both as an
 * address and as a port expression, keeping the error of the reading that
 * fails; which one applies depends on where the variable is used. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

struct gh_rule_vars {
    gh_arena *a;
    gh_var *v;
    size_t n, cap;
};

gh_rule_vars *gh_rule_vars_new(gh_error *err)
{
    gh_rule_vars *v = calloc(1, sizeof(*v));
    if (v && !(v->a = gh_arena_new(0))) {
        free(v);
        v = NULL;
    }
    if (!v)
        gh_error_set(err, GH_E_NOMEM, "out of memory");
    return v;
}

void gh_rule_vars_free(gh_rule_vars *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        gh_var_memo_clear(&v->v[i]);
    gh_arena_free(v->a);
    free(v->v);
    free(v);
}

/* FNV-1a of the first @n bytes of @s (all of it up to its NUL when shorter). */
static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n && s[i]; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

const gh_var *gh_vars_lookup(const gh_rule_vars *v, const char *name)
{
    if (!v)
        return NULL;
    uint32_t h = name_hash(name, SIZE_MAX);
    for (size_t i = v->n; i-- > 0;)
        if (v->v[i].name_hash == h && strcmp(v->v[i].name, name) == 0)
            return &v->v[i];
    return NULL;
}

const char *gh_rule_vars_get(const gh_rule_vars *v, const char *name)
{
    const gh_var *x = gh_vars_lookup(v, name);
    return x ? x->value : NULL;
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* Define NAME (n bytes) as value (vn bytes) whose first byte is at @loc. */
static int define(gh_rule_vars *v, const char *name, size_t n, const char *value, size_t vn,
                  gh_rule_loc loc)
{
    gh_var nv = {0};
    nv.name = gh_arena_strndup(v->a, name, n);
    nv.name_hash = name_hash(name, n);
    nv.value = gh_arena_strndup(v->a, value, vn);
    if (!nv.name || !nv.value)
        return GH_E_NOMEM;
    nv.loc = loc;
    gh_src src = {.file = loc.file, .s = nv.value, .len = vn, .line0 = loc.line,
                  .col0 = loc.col};
    nv.as_addr = gh_expr_parse(v->a, &src, 0, vn, GH_EXPR_CTX_ADDR, &nv.addr_err);
    if (!nv.as_addr && gh_rerr_is_nomem(&nv.addr_err))
        return GH_E_NOMEM;
    nv.as_port = gh_expr_parse(v->a, &src, 0, vn, GH_EXPR_CTX_PORT, &nv.port_err);
    if (!nv.as_port && gh_rerr_is_nomem(&nv.port_err))
        return GH_E_NOMEM;

    /* any variable's value may name this one */
    for (size_t i = 0; i < v->n; i++)
        gh_var_memo_clear(&v->v[i]);
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i].name, nv.name) == 0) {
            v->v[i] = nv;
            return GH_OK;
        }
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        gh_var *p = realloc(v->v, cap * sizeof(*p));
        if (!p)
            return GH_E_NOMEM;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = nv;
    return GH_OK;
}

int gh_rule_vars_set(gh_rule_vars *v, const char *name, const char *value, const char *origin,
                     gh_error *err)
{
    if (name[0] == '$')
        name++;
    if (!valid_name(name, strlen(name))) {
        gh_error_set(err, GH_E_INVAL, "bad variable name '%s'", name);
        return GH_E_INVAL;
    }
    const char *file = gh_arena_strndup(v->a, origin ? origin : "<var>",
                                        strlen(origin ? origin : "<var>"));
    if (!file) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return GH_E_NOMEM;
    }
    gh_rule_loc loc = {.file = file, .line = 1, .col = 1};
    int rc = define(v, name, strlen(name), value, strlen(value), loc);
    if (rc != GH_OK)
        gh_error_set(err, rc, "out of memory");
    return rc;
}

typedef struct vars_file {
    gh_rule_vars *v;
    const char *path;
    const char *file; /* the path, owned by the table (rule locations point at it) */
} vars_file;

/* One line of a vars file: "NAME = value", "NAME: value", blank or "# ...". */
static int vars_line(void *ctx, char *line, size_t got, uint32_t lineno, gh_error *err)
{
    const vars_file *vf = ctx;
    const char *path = vf->path;
    size_t n = got;
    while (n && gh_is_ws(line[n - 1]))
        n--;
    size_t p = 0;
    while (p < n && gh_is_ws(line[p]))
        p++;
    if (p == n || line[p] == '#')
        return GH_OK;
    size_t name0 = p;
    while (p < n && (isalnum((unsigned char)line[p]) || line[p] == '_'))
        p++;
    size_t name1 = p;
    while (p < n && gh_is_ws(line[p]))
        p++;
    if (name1 == name0 || !valid_name(line + name0, name1 - name0)) {
        gh_error_set(err, GH_E_FORMAT, "%s:%u:%zu: expected a variable name", path, lineno,
                     name0 + 1);
        return GH_E_FORMAT;
    }
    if (p >= n || (line[p] != '=' && line[p] != ':')) {
        gh_error_set(err, GH_E_FORMAT, "%s:%u:%zu: expected '=' after '%.*s'", path, lineno,
                     p + 1, (int)(name1 - name0), line + name0);
        return GH_E_FORMAT;
    }
    p++;
    while (p < n && gh_is_ws(line[p]))
        p++;
    /* A trailing " # comment" (values never contain '#'). */
    for (size_t i = p; i < n; i++) {
        if (line[i] == '#' && i > p && gh_is_ws(line[i - 1])) {
            n = i;
            while (n > p && gh_is_ws(line[n - 1]))
                n--;
            break;
        }
    }
    if (n - p >= 2 && (line[p] == '"' || line[p] == '\'') && line[n - 1] == line[p]) {
        p++;
        n--;
    }
    if (p >= n) {
        gh_error_set(err, GH_E_FORMAT, "%s:%u:%zu: empty value for '%.*s'", path, lineno, p + 1,
                     (int)(name1 - name0), line + name0);
        return GH_E_FORMAT;
    }
    gh_rule_loc loc = {.file = vf->file, .line = lineno, .col = (uint32_t)p + 1};
    int rc = define(vf->v, line + name0, name1 - name0, line + p, n - p, loc);
    if (rc != GH_OK)
        gh_error_set(err, rc, "out of memory");
    return rc;
}

int gh_rule_vars_load(gh_rule_vars *v, const char *path, gh_error *err)
{
    const char *file = gh_arena_strndup(v->a, path, strlen(path));
    if (!file) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return GH_E_NOMEM;
    }
    vars_file vf = {.v = v, .path = path, .file = file};
    return gh_rule_read_lines(path, vars_line, &vf, err);
}
