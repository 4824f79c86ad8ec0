/* Small helpers of the rule compiler: a bump arena (a parse tree is freed at
 * once, and 25k rules make hundreds of thousands of nodes), a growable
 * buffer, source positions and error messages. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mem.h"
#include "rules_int.h"

unsigned gh_load_threads(unsigned jobs)
{
    if (jobs)
        return jobs;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (unsigned)cpus : 1;
}

/* ---- arena ---------------------------------------------------------------- */

/* Chunks grow with the arena, from 64 KiB (heap-sized: freed after the
 * build, they are the warm memory the run side's first allocations reuse)
 * doubling to 2 MiB, which are gh_mem_chunk_get's on transparent huge
 * pages: the parse of all of ET Open fills tens of MB, and a first touch of
 * a 4 KiB page is a page fault (~10 us on a VM with shadow page tables). */
#define ARENA_CHUNK (64 * 1024)
#define ARENA_CHUNK_MAX GH_MEM_CHUNK

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    bool whole; /* a gh_mem_chunk_get chunk, not malloc'd */
    _Alignas(16) unsigned char data[];
} arena_chunk;

struct gh_arena {
    arena_chunk *head;
    size_t grow; /* size of the next chunk */
};

gh_arena *gh_arena_new(size_t expect)
{
    gh_arena *a = calloc(1, sizeof(gh_arena));
    if (a && expect > ARENA_CHUNK_MAX)
        a->grow = ARENA_CHUNK_MAX;
    return a;
}

/* @p n bytes aligned to @p align (a power of two up to 16): nodes take 16,
 * strings 1, so that a parse tree's thousands of short names and values
 * waste no padding. Zeroed: a chunk is, and nothing is reused. */
static void *arena_take(gh_arena *a, size_t n, size_t align)
{
    arena_chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->size || c->size - at < n) {
        size_t grow = a->grow ? a->grow : ARENA_CHUNK;
        bool one_off = n > grow / 4;
        size_t size = one_off ? n : grow - sizeof(*c);
        /* zeroed once, not per object */
        bool whole = !one_off && grow == ARENA_CHUNK_MAX, zeroed = false;
        c = whole ? gh_mem_chunk_get(&zeroed) : calloc(1, sizeof(*c) + size);
        if (!c)
            return NULL;
        if (whole && !zeroed)
            memset(c, 0, ARENA_CHUNK_MAX);
        c->used = 0;
        c->size = size;
        c->whole = whole;
        if (!one_off && grow < ARENA_CHUNK_MAX)
            a->grow = grow * 2;
        /* A big one-off block goes behind the current chunk so the space
         * left in the current one is still used. */
        if (one_off && a->head) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
        at = 0;
    }
    void *p = c->data + at;
    c->used = at + n;
    return p;
}

void *gh_arena_alloc(gh_arena *a, size_t n)
{
    return arena_take(a, n, 16);
}

char *gh_arena_stralloc(gh_arena *a, size_t n)
{
    return arena_take(a, n, 1);
}

char *gh_arena_strndup(gh_arena *a, const char *s, size_t n)
{
    char *p = arena_take(a, n + 1, 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void gh_arena_adopt(gh_arena *dst, gh_arena *src)
{
    arena_chunk *tail = src->head;
    while (tail && tail->next)
        tail = tail->next;
    if (tail && dst->head) { /* dst's current block stays the one it allocates from */
        tail->next = dst->head->next;
        dst->head->next = src->head;
    } else if (tail) {
        dst->head = src->head;
    }
    free(src);
}

void gh_arena_free(gh_arena *a)
{
    if (!a)
        return;
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        if (c->whole)
            gh_mem_chunk_put(c);
        else
            free(c);
    }
    free(a);
}

/* ---- string pool ------------------------------------------------------------ */

struct gh_strpool {
    gh_arena *a;
    const char **slot; /* open addressing, a power of two, at most half full */
    uint32_t *hash;
    size_t cap, n;
};

gh_strpool *gh_strpool_new(void)
{
    gh_strpool *p = calloc(1, sizeof(*p));
    if (p && !(p->a = gh_arena_new(0))) {
        free(p);
        p = NULL;
    }
    return p;
}

static uint32_t str_hash(const char *s, size_t *len)
{
    uint32_t h = 2166136261u;
    size_t n = 0;
    for (; s[n]; n++)
        h = (h ^ (unsigned char)s[n]) * 16777619u;
    *len = n;
    return h;
}

static bool strpool_grow(gh_strpool *p)
{
    size_t cap = p->cap ? 2 * p->cap : 256;
    const char **slot = calloc(cap, sizeof(*slot));
    uint32_t *hash = calloc(cap, sizeof(*hash));
    if (!slot || !hash) {
        free(slot);
        free(hash);
        return false;
    }
    for (size_t i = 0; i < p->cap; i++) {
        if (!p->slot[i])
            continue;
        size_t j = p->hash[i] & (cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = p->slot[i];
        hash[j] = p->hash[i];
    }
    free(p->slot);
    free(p->hash);
    p->slot = slot;
    p->hash = hash;
    p->cap = cap;
    return true;
}

const char *gh_strpool_get(gh_strpool *p, const char *s)
{
    if (2 * (p->n + 1) > p->cap && !strpool_grow(p))
        return NULL;
    size_t len;
    uint32_t h = str_hash(s, &len);
    size_t i = h & (p->cap - 1);
    for (; p->slot[i]; i = (i + 1) & (p->cap - 1))
        if (p->hash[i] == h && strcmp(p->slot[i], s) == 0)
            return p->slot[i];
    char *c = gh_arena_strndup(p->a, s, len);
    if (!c)
        return NULL;
    p->slot[i] = c;
    p->hash[i] = h;
    p->n++;
    return c;
}

void gh_strpool_merge(gh_strpool *dst, gh_strpool *src)
{
    for (size_t i = 0; i < src->cap; i++) {
        if (!src->slot[i] || (2 * (dst->n + 1) > dst->cap && !strpool_grow(dst)))
            continue; /* no room to index it: the string stays valid, unshared */
        size_t j = src->hash[i] & (dst->cap - 1);
        while (dst->slot[j] && strcmp(dst->slot[j], src->slot[i]) != 0)
            j = (j + 1) & (dst->cap - 1);
        if (!dst->slot[j]) {
            dst->slot[j] = src->slot[i];
            dst->hash[j] = src->hash[i];
            dst->n++;
        }
    }
    gh_arena_adopt(dst->a, src->a);
    src->a = NULL;
    gh_strpool_free(src);
}

void gh_strpool_free(gh_strpool *p)
{
    if (!p)
        return;
    gh_arena_free(p->a);
    free(p->slot);
    free(p->hash);
    free(p);
}

/* ---- buffer ----------------------------------------------------------------- */

void gh_sbuf_put(gh_sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void gh_sbuf_puts(gh_sbuf *b, const char *s)
{
    gh_sbuf_put(b, s, strlen(s));
}

void gh_sbuf_putc(gh_sbuf *b, char c)
{
    gh_sbuf_put(b, &c, 1);
}

/* ---- positions and messages ------------------------------------------------- */

gh_rule_loc gh_src_loc(const gh_src *v, size_t off)
{
    gh_rule_loc loc = {.file = v->file};
    if (!v->lines) {
        loc.line = v->line0;
        loc.col = v->col0 + (uint32_t)off;
        return loc;
    }
    if (v->len == 0) {
        loc.line = v->line0;
        loc.col = v->col0;
    } else if (off < v->len) {
        loc.line = v->lines[off];
        loc.col = v->cols[off];
    } else {
        loc.line = v->lines[v->len - 1];
        loc.col = v->cols[v->len - 1] + 1;
    }
    return loc;
}

void gh_rerr_vset(gh_rule_error *e, gh_rule_loc loc, const char *fmt, va_list ap)
{
    if (!e)
        return;
    e->loc = loc;
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

void gh_rerr_set(gh_rule_error *e, gh_rule_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gh_rerr_vset(e, loc, fmt, ap);
    va_end(ap);
}

bool gh_rerr_is_nomem(const gh_rule_error *e)
{
    return strcmp(e->message, GH_RERR_NOMEM) == 0;
}

const char *gh_tok(char *buf, size_t n, const char *s, size_t len)
{
    if (len < n) {
        memcpy(buf, s, len);
        buf[len] = '\0';
    } else {
        memcpy(buf, s, n - 4);
        memcpy(buf + n - 4, "...", 4);
    }
    return buf;
}

bool gh_name_in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, list[i]) == 0)
            return true;
    return false;
}

/* @p v unquoted into @p out (room for strlen(v) + 1 bytes; v may be NULL). */
static char *unquote_into(const char *v, char *out)
{
    size_t n = v ? strlen(v) : 0;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\\' && i + 1 < n)
            i++;
        out[k++] = v[i];
    }
    out[k] = '\0';
    return out;
}

char *gh_rule_unquote(const char *v)
{
    char *out = malloc(v ? strlen(v) + 1 : 1);
    return out ? unquote_into(v, out) : NULL;
}

char *gh_arena_unquote(gh_arena *a, const char *v)
{
    char *out = gh_arena_stralloc(a, v ? strlen(v) + 1 : 1);
    return out ? unquote_into(v, out) : NULL;
}

void gh_rule_error_append(gh_rule_error **errs, size_t *nerrs, gh_rule_loc loc, const char *fmt,
                          ...)
{
    if (!errs || !nerrs)
        return;
    gh_rule_error *ne = realloc(*errs, (*nerrs + 1) * sizeof(**errs));
    if (!ne)
        return;
    *errs = ne;
    va_list ap;
    va_start(ap, fmt);
    gh_rerr_vset(&ne[(*nerrs)++], loc, fmt, ap);
    va_end(ap);
}

int gh_rule_read_lines(const char *path, gh_line_fn fn, void *ctx, gh_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        gh_error_set(err, GH_E_IO, "%s: %s", path, strerror(errno));
        return GH_E_IO;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint32_t lineno = 0;
    int rc = GH_OK;
    while (rc == GH_OK && (got = getline(&line, &cap, f)) >= 0)
        rc = fn(ctx, line, (size_t)got, ++lineno, err);
    if (rc == GH_OK && ferror(f)) {
        gh_error_set(err, GH_E_IO, "%s: read error", path);
        rc = GH_E_IO;
    }
    free(line);
    fclose(f);
    return rc;
}
