/* The on-disk Hyperscan database cache (layout in rules/hs_cache.h).
 *
 * File format, host byte order (a database only loads on the platform that
 * built it anyway):
 *   header  "GHHSCACH", u32 format version, u32 entry count
 *   index   per entry: key[16], u32 flags (ENT_REJECTED), u32 0, u64 checksum
 *           of its bytes (sum64), u64 length
 *   bytes   every entry's, in index order
 * The bytes are hs_serialize_database's output. Everything read is checked
 * (bounds, checksum, hs_serialized_database_info, hs_deserialize_database)
 * before use: a bad entry is a miss, never a crash. A pack's entries are
 * checked when used (a pack also keeps other rulesets' entries), and those
 * a load did not use before they are written again.
 *
 * Files are read into the reader's buffer (gh_hs_rbuf), not mapped: a warm
 * load reads 150 files, most of a few KB, and a mapping's set-up, first
 * touch of each page and unmapping (a TLB shootdown on every CPU the
 * process runs on) cost more than the copy. A pack stays open from its
 * first lookup to gh_hs_cache_close, its entries read by offset. */
#include "hs_cache.h"
#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FORMAT_VERSION 3u
#define N_PACKS 16
#define PACK_KEEP_UNUSED 512 /* a pack keeps this many entries no load used, for other rulesets */
#define ENT_REJECTED 1u

static const char magic[8] = {'G', 'H', 'H', 'S', 'C', 'A', 'C', 'H'};

typedef struct file_hdr {
    char magic[8];
    uint32_t version;
    uint32_t count;
} file_hdr;

typedef struct ent_hdr {
    uint8_t key[GH_HS_KEY_LEN];
    uint32_t flags;
    uint32_t zero;
    uint64_t sum;
    uint64_t len;
} ent_hdr;

/* A checksum of the bytes against a truncated or damaged file (not against
 * tampering): XXH64's rounds over four lanes, several bytes a cycle. zlib's
 * CRC-32 of the 29 MiB all of ET Open keeps took 4% of a warm load. */
#define P1 UINT64_C(0x9E3779B185EBCA87)
#define P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define P3 UINT64_C(0x165667B19E3779F9)
#define P4 UINT64_C(0x85EBCA77C2B2AE63)
#define P5 UINT64_C(0x27D4EB2F165667C5)

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

static inline uint64_t lane(uint64_t acc, const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return rotl64(acc + v * P2, 31) * P1;
}

static uint64_t sum64(const uint8_t *p, size_t n)
{
    uint64_t a[4] = {P1 + P2, P2, 0, (uint64_t)0 - P1};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (unsigned k = 0; k < 4; k++)
            a[k] = lane(a[k], p + i + 8 * k);
    uint64_t h = rotl64(a[0], 1) + rotl64(a[1], 7) + rotl64(a[2], 12) + rotl64(a[3], 18) + n;
    for (; i + 8 <= n; i += 8)
        h = rotl64(h ^ lane(0, p + i), 27) * P1 + P4;
    for (; i < n; i++)
        h = rotl64(h ^ p[i] * P5, 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    return h ^ h >> 32;
}

typedef struct pack_ent {
    gh_hs_key key;
    uint32_t flags;
    uint64_t off;     /* of the bytes in the pack's file (not owned) */
    size_t len;
    uint64_t sum;     /* the file's checksum of the bytes */
    uint8_t *owned;   /* bytes of an entry put by this load */
    bool used;        /* read or put by this load */
    bool checked;     /* the bytes match sum (an entry put by this load: by making) */
    bool bad;         /* they do not: a miss, never written again */
} pack_ent;

typedef struct pack {
    pthread_mutex_t mu; /* loading it; marking it dirty */
    bool loaded, dirty;
    int fd;           /* the pack as read (-1: none); old entries are read from it */
    pack_ent *e;
    size_t n, cap;
} pack;

struct gh_hs_cache {
    char *dir;
    uint64_t max_bytes;
    bool wrote;       /* something was written: prune at close */
    unsigned tmp_seq;
    pack packs[N_PACKS];
};

static int mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

gh_hs_cache *gh_hs_cache_open(const char *dir, uint64_t max_bytes, char *why, size_t why_len)
{
    struct stat st;
    if (!dir || !*dir) {
        snprintf(why, why_len, "no cache directory");
        return NULL;
    }
    const char *bad = NULL;
    if (mkdir_p(dir) != 0 || stat(dir, &st) != 0)
        bad = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        bad = "not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        bad = strerror(errno);
    if (bad) {
        snprintf(why, why_len, "cannot use cache directory %s: %s", dir, bad);
        return NULL;
    }
    gh_hs_cache *c = calloc(1, sizeof(*c));
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    c->max_bytes = max_bytes;
    for (unsigned i = 0; i < N_PACKS; i++) {
        pthread_mutex_init(&c->packs[i].mu, NULL);
        c->packs[i].fd = -1;
    }
    return c;
}

static char *path_of(const gh_hs_cache *c, const char *name)
{
    size_t n = strlen(c->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", c->dir, name);
    return p;
}

static void key_hex(const gh_hs_key *k, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < GH_HS_KEY_LEN; i++) {
        out[2 * i] = hx[k->b[i] >> 4];
        out[2 * i + 1] = hx[k->b[i] & 15];
    }
    out[2 * GH_HS_KEY_LEN] = '\0';
}

void gh_hs_rbuf_free(gh_hs_rbuf *rb)
{
    if (rb->cap == GH_MEM_CHUNK)
        gh_mem_chunk_put(rb->p);
    else
        free(rb->p);
    *rb = (gh_hs_rbuf){0};
}

/* Room for @p n bytes in @p rb: false when memory runs out. Up to 2 MiB
 * (all but the largest databases) it is a whole chunk: during a load, one
 * the parse gave back, its pages mapped already. */
static bool rbuf_fit(gh_hs_rbuf *rb, size_t n)
{
    if (n <= rb->cap)
        return true;
    bool zeroed;
    uint8_t *p = n <= GH_MEM_CHUNK ? gh_mem_chunk_get(&zeroed) : malloc(n);
    if (!p)
        return false;
    gh_hs_rbuf_free(rb);
    rb->p = p;
    rb->cap = n <= GH_MEM_CHUNK ? GH_MEM_CHUNK : n;
    return true;
}

/* @p n bytes at @p off of @p fd into @p dst: false on a short read. */
static bool read_at(int fd, uint8_t *dst, size_t n, uint64_t off)
{
    while (n) {
        ssize_t got = pread(fd, dst, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        dst += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return true;
}

/* Open @p path and read it whole into @p rb: its fd (the caller closes it)
 * with *@p len, or -1 when it cannot be read. The mtime is refreshed (the
 * file is used). Entries are replaced by rename, never rewritten in place,
 * so an open file keeps its content while the cache changes. */
static int read_all(const char *path, gh_hs_rbuf *rb, size_t *len)
{
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > SIZE_MAX / 2 ||
        !rbuf_fit(rb, (size_t)st.st_size) || !read_at(fd, rb->p, (size_t)st.st_size, 0)) {
        close(fd);
        return -1;
    }
    *len = (size_t)st.st_size;
    (void)futimens(fd, NULL);
    return fd;
}

/* The entry of file @p b at @p off (advanced past it); false when out of
 * bounds. Its checksum is the caller's to check. */
static bool next_entry(const uint8_t *b, size_t len, size_t *off, ent_hdr *h,
                       const uint8_t **bytes)
{
    if (len - *off < sizeof(*h))
        return false;
    memcpy(h, b + *off, sizeof(*h));
    *off += sizeof(*h);
    if (h->len > len - *off)
        return false;
    *bytes = b + *off;
    *off += h->len;
    return true;
}

static bool header_ok(const uint8_t *b, size_t len, uint32_t *count)
{
    file_hdr h;
    if (!b || len < sizeof(h))
        return false;
    memcpy(&h, b, sizeof(h));
    *count = h.count;
    return memcmp(h.magic, magic, sizeof(magic)) == 0 && h.version == FORMAT_VERSION;
}

/* Deserialize @p bytes into the huge-page pool; NULL when they are not a
 * database for this host. */
static hs_database_t *load_db(const uint8_t *bytes, size_t len)
{
    char *info = NULL;
    size_t size = 0;
    if (hs_serialized_database_info((const char *)bytes, len, &info) != HS_SUCCESS)
        return NULL;
    free(info);
    hs_database_t *db = NULL;
    if (hs_serialized_database_size((const char *)bytes, len, &size) != HS_SUCCESS ||
        !(db = gh_mem_pool_alloc(size)))
        return NULL;
    if (hs_deserialize_database_at((const char *)bytes, len, db) != HS_SUCCESS) {
        gh_mem_pool_free(db);
        return NULL;
    }
    return db;
}

void gh_hs_db_free(hs_database_t *db)
{
    if (db && !gh_mem_pool_free(db))
        hs_free_database(db);
}

/* The index of pack @p i, read through @p rb (the caller holds its lock):
 * its header and index only, the bytes when an entry is used. */
static void pack_load(gh_hs_cache *c, unsigned i, gh_hs_rbuf *rb)
{
    pack *p = &c->packs[i];
    p->loaded = true;
    char name[32];
    snprintf(name, sizeof(name), "pcre-%x.pack", i);
    char *path = path_of(c, name);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    struct stat st;
    uint32_t count = 0;
    uint64_t size = 0;
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    if (ok) {
        size = (uint64_t)st.st_size;
        ok = rbuf_fit(rb, sizeof(file_hdr)) &&
             read_at(fd, rb->p, size < sizeof(file_hdr) ? (size_t)size : sizeof(file_hdr), 0) &&
             header_ok(rb->p, (size_t)size, &count);
    }
    /* a count the file cannot hold is a damaged header: nothing of it is used */
    uint64_t data = sizeof(file_hdr) + (uint64_t)count * sizeof(ent_hdr);
    ok = ok && data <= size && rbuf_fit(rb, (size_t)(data - sizeof(file_hdr))) &&
         read_at(fd, rb->p, (size_t)(data - sizeof(file_hdr)), sizeof(file_hdr)) &&
         (p->e = calloc(count ? count : 1, sizeof(*p->e)));
    if (!ok) {
        if (fd >= 0)
            close(fd);
        return; /* missing, foreign or damaged: empty, rewritten on the first put */
    }
    (void)futimens(fd, NULL); /* used */
    p->fd = fd;
    p->cap = count ? count : 1;
    uint64_t off = data;
    for (uint32_t k = 0; k < count; k++) {
        ent_hdr h;
        memcpy(&h, rb->p + (size_t)k * sizeof(h), sizeof(h));
        if (h.len > size - off) {
            p->dirty = true; /* truncated: keep what came before, rewrite */
            break;
        }
        pack_ent *e = &p->e[p->n++];
        memcpy(e->key.b, h.key, GH_HS_KEY_LEN);
        e->flags = h.flags;
        e->off = off;
        e->len = (size_t)h.len;
        e->sum = h.sum;
        off += h.len;
    }
}

/* @p e's bytes: its own, or read from pack @p p into @p rb and checked
 * (once: e->bad after); NULL when they cannot be read or are damaged. */
static const uint8_t *ent_bytes(const pack *p, pack_ent *e, gh_hs_rbuf *rb)
{
    if (e->owned || !e->len)
        return e->owned ? e->owned : (const uint8_t *)"";
    if (e->bad || !rbuf_fit(rb, e->len) || !read_at(p->fd, rb->p, e->len, e->off))
        return NULL;
    if (!e->checked) {
        e->bad = sum64(rb->p, e->len) != e->sum;
        e->checked = true;
    }
    return e->bad ? NULL : rb->p;
}

static pack_ent *pack_find(pack *p, const gh_hs_key *k)
{
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->e[i].key.b, k->b, GH_HS_KEY_LEN) == 0)
            return &p->e[i];
    return NULL;
}

bool gh_hs_cache_get(gh_hs_cache *c, const gh_hs_key *k, bool packed, gh_hs_rbuf *rb,
                     hs_database_t **db)
{
    *db = NULL;
    if (packed) {
        pack *p = &c->packs[k->b[0] >> 4];
        pthread_mutex_lock(&p->mu);
        if (!p->loaded)
            pack_load(c, k->b[0] >> 4, rb);
        pthread_mutex_unlock(&p->mu);
        /* each key is looked up once a load: the entry is this thread's */
        pack_ent *e = pack_find(p, k);
        const uint8_t *bytes = e ? ent_bytes(p, e, rb) : NULL;
        if (!bytes) {
            if (e) {
                pthread_mutex_lock(&p->mu);
                p->dirty = true; /* rewritten without it */
                pthread_mutex_unlock(&p->mu);
            }
            return false;
        }
        if (e->flags & ENT_REJECTED) {
            e->used = true;
            return true;
        }
        *db = load_db(bytes, e->len);
        e->used = *db != NULL;
        return *db != NULL;
    }
    char name[2 * GH_HS_KEY_LEN + 8];
    memcpy(name, "db-", 3);
    key_hex(k, name + 3);
    strcat(name, ".hs");
    char *path = path_of(c, name);
    size_t len = 0;
    int fd = read_all(path, rb, &len);
    free(path);
    if (fd < 0)
        return false;
    close(fd);
    const uint8_t *b = rb->p;
    uint32_t count;
    size_t off = sizeof(file_hdr);
    ent_hdr h;
    const uint8_t *bytes;
    if (header_ok(b, len, &count) && count == 1 && next_entry(b, len, &off, &h, &bytes) &&
        memcmp(h.key, k->b, GH_HS_KEY_LEN) == 0 && !(h.flags & ENT_REJECTED) &&
        sum64(bytes, (size_t)h.len) == h.sum)
        *db = load_db(bytes, (size_t)h.len);
    return *db != NULL;
}

/* Write @p n entries to @p name atomically (a temporary file, then rename);
 * the old ones of pack @p p (NULL: there are none) are read through @p rb. */
static void write_file(gh_hs_cache *c, const char *name, const pack *p, pack_ent *const *e,
                       size_t n, gh_hs_rbuf *rb)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".tmp-%ld-%u", (long)getpid(), c->tmp_seq++);
    char *tpath = path_of(c, tmp), *path = path_of(c, name);
    FILE *f = tpath && path ? fopen(tpath, "wbe") : NULL;
    bool ok = f != NULL;
    file_hdr fh = {.version = FORMAT_VERSION, .count = (uint32_t)n};
    memcpy(fh.magic, magic, sizeof(magic));
    ok = ok && fwrite(&fh, sizeof(fh), 1, f) == 1;
    for (size_t i = 0; i < n && ok; i++) {
        ent_hdr h = {.flags = e[i]->flags, .len = e[i]->len};
        memcpy(h.key, e[i]->key.b, GH_HS_KEY_LEN);
        /* old entries were checked against their sum */
        h.sum = e[i]->owned ? sum64(e[i]->owned, e[i]->len) : e[i]->sum;
        ok = fwrite(&h, sizeof(h), 1, f) == 1;
    }
    for (size_t i = 0; i < n && ok; i++) {
        const uint8_t *bytes = ent_bytes(p, e[i], rb);
        ok = bytes && (!e[i]->len || fwrite(bytes, e[i]->len, 1, f) == 1);
    }
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tpath, path) == 0)
        c->wrote = true;
    else if (f)
        unlink(tpath);
    free(tpath);
    free(path);
}

void gh_hs_cache_put(gh_hs_cache *c, const gh_hs_key *k, bool packed, const hs_database_t *db)
{
    char *bytes = NULL;
    size_t len = 0;
    if (db && hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
        return;
    pack_ent ent = {.key = *k, .flags = db ? 0 : ENT_REJECTED, .len = len,
                    .owned = (uint8_t *)bytes, .used = true, .checked = true};
    if (!packed) {
        char name[2 * GH_HS_KEY_LEN + 8];
        memcpy(name, "db-", 3);
        key_hex(k, name + 3);
        strcat(name, ".hs");
        pack_ent *one = &ent;
        if (db)
            write_file(c, name, NULL, &one, 1, NULL);
        free(bytes);
        return;
    }
    pack *p = &c->packs[k->b[0] >> 4];
    if (!p->loaded) {
        gh_hs_rbuf rb = {0};
        pack_load(c, k->b[0] >> 4, &rb);
        gh_hs_rbuf_free(&rb);
    }
    pack_ent *old = pack_find(p, k);
    if (old) { /* a bad entry of the same key: replace it */
        free(old->owned);
        *old = ent;
    } else {
        if (p->n == p->cap) {
            size_t nc = p->cap ? 2 * p->cap : 64;
            pack_ent *ne = realloc(p->e, nc * sizeof(*ne));
            if (!ne) {
                free(bytes);
                return;
            }
            p->e = ne;
            p->cap = nc;
        }
        p->e[p->n++] = ent;
    }
    p->dirty = true;
}

typedef struct cfile {
    char *name;
    time_t mtime;
    uint64_t size;
} cfile;

static int cfile_cmp(const void *a, const void *b)
{
    const cfile *x = a, *y = b;
    return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

static bool ours(const char *n)
{
    size_t l = strlen(n);
    return (!strncmp(n, "db-", 3) && l > 6 && !strcmp(n + l - 3, ".hs")) ||
           (!strncmp(n, "pcre-", 5) && l > 10 && !strcmp(n + l - 5, ".pack")) ||
           !strncmp(n, ".tmp-", 5);
}

/* Remove the least recently used files until the directory fits its bound;
 * temporaries left by a crashed load go when an hour old. */
static void prune(gh_hs_cache *c)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return;
    cfile *f = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!ours(de->d_name))
            continue;
        char *p = path_of(c, de->d_name);
        struct stat st;
        if (!p || stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (!strncmp(de->d_name, ".tmp-", 5)) {
            if (now - st.st_mtime > 3600)
                unlink(p);
            free(p);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            cfile *nf = realloc(f, nc * sizeof(*nf));
            if (!nf) {
                free(p);
                break;
            }
            f = nf;
            cap = nc;
        }
        f[n++] = (cfile){p, st.st_mtime, (uint64_t)st.st_size};
        total += (uint64_t)st.st_size;
    }
    closedir(d);
    qsort(f, n, sizeof(*f), cfile_cmp);
    for (size_t i = 0; i < n; i++) {
        if (total > c->max_bytes && unlink(f[i].name) == 0)
            total -= f[i].size;
        free(f[i].name);
    }
    free(f);
}

void gh_hs_cache_close(gh_hs_cache *c)
{
    if (!c)
        return;
    gh_hs_rbuf rb = {0};
    for (unsigned i = 0; i < N_PACKS; i++) {
        pack *p = &c->packs[i];
        if (p->dirty) {
            /* this load's entries, then as many others as the bound keeps */
            pack_ent **w = malloc((p->n ? p->n : 1) * sizeof(*w));
            size_t nw = 0, unused = 0;
            for (size_t k = 0; w && k < p->n; k++)
                if (p->e[k].used)
                    w[nw++] = &p->e[k];
            for (size_t k = 0; w && k < p->n && unused < PACK_KEEP_UNUSED; k++)
                if (!p->e[k].used && ent_bytes(p, &p->e[k], &rb)) {
                    w[nw++] = &p->e[k];
                    unused++;
                }
            char name[32];
            snprintf(name, sizeof(name), "pcre-%x.pack", i);
            if (w)
                write_file(c, name, p, w, nw, &rb);
            free(w);
        }
        for (size_t k = 0; k < p->n; k++)
            free(p->e[k].owned);
        free(p->e);
        if (p->fd >= 0)
            close(p->fd);
        pthread_mutex_destroy(&p->mu);
    }
    gh_hs_rbuf_free(&rb);
    if (c->wrote)
        prune(c);
    free(c->dir);
    free(c);
}
