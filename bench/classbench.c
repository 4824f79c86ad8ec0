/* gatehouse-bench classbench: the firewall classifier on a ClassBench filter
 * set and its header trace.
 *
 * Rules: one filter per line, priority = order among the filter lines
 * (blank lines and '#' comments are skipped, as dpdk-test-acl does):
 *   @<src>/<len> <dst>/<len> <slo> : <shi> <dlo> : <dhi> <proto>/<mask> [<flags>/<mask>]
 * The optional 6th field (TCP flags, written by db_generator) is ignored.
 * proto/mask: 0xFF = exact, 0x00 = any, a prefix mask (0x80..0xFE) = one
 * range; any other mask is the union of the values v with (v & mask) ==
 * (value & mask), compiled into one box per run of such values (several
 * boxes with the same priority, as the firewall does for lists).
 * Trace: <src> <dst> <sport> <dport> <proto> <N>, N = 1-based number of the
 * first matching filter. Keys are laid out proto, src, dst, sport, dport.
 *
 * Everything is loaded before timing; build is timed separately; every
 * lookup result is checked against the trace (mismatches make the exit
 * status 1). Prints one JSON object. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifier.h"
#include "scenarios.h"

#define CB_FIELDS 5

typedef struct cb_rules {
    gh_cls_rule *box;
    size_t nbox, cap;
    size_t nrules;
} cb_rules;

typedef struct cb_trace {
    uint32_t *keys; /* CB_FIELDS words per header */
    uint32_t *expect;
    size_t n, cap;
} cb_trace;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Whole file into a NUL-terminated buffer. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "%s: out of memory\n", path);
            fclose(f);
            return NULL;
        }
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb)
            free(buf);
        buf = nb;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

/* A line cursor: p walks the current line, which ends at NUL or '\n'. */
typedef struct cur {
    const char *p;
    const char *file;
    size_t line;
} cur;

static void skip_ws(cur *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')
        c->p++;
}

static bool at_eol(cur *c)
{
    skip_ws(c);
    return *c->p == 0 || *c->p == '\n';
}

static int bad(const cur *c, const char *what)
{
    fprintf(stderr, "%s:%zu: %s\n", c->file, c->line, what);
    return -1;
}

/* An unsigned number (decimal, or hex with 0x) no larger than @p max. */
static int num(cur *c, uint64_t max, uint64_t *out, const char *what)
{
    skip_ws(c);
    if (*c->p < '0' || *c->p > '9')
        return bad(c, what);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(c->p, &end, 0);
    if (errno || v > max)
        return bad(c, what);
    c->p = end;
    *out = v;
    return 0;
}

static int expect_char(cur *c, char ch, const char *what)
{
    skip_ws(c);
    if (*c->p != ch)
        return bad(c, what);
    c->p++;
    return 0;
}

/* a.b.c.d/len -> [lo, hi] */
static int prefix(cur *c, uint32_t *lo, uint32_t *hi, const char *what)
{
    uint32_t a = 0;
    uint64_t v, len;
    for (int i = 0; i < 4; i++) {
        if (num(c, 255, &v, what) || (i < 3 && *c->p++ != '.'))
            return bad(c, what);
        a = a << 8 | (uint32_t)v;
    }
    if (*c->p != '/')
        return bad(c, what);
    c->p++;
    if (num(c, 32, &len, what))
        return -1;
    uint32_t mask = len ? ~(uint32_t)0 << (32 - len) : 0;
    *lo = a & mask;
    *hi = *lo | ~mask;
    return 0;
}

static int add_box(cb_rules *r, const gh_cls_rule *b)
{
    if (r->nbox == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        gh_cls_rule *nb = realloc(r->box, r->cap * sizeof(*nb));
        if (!nb)
            return -1;
        r->box = nb;
    }
    r->box[r->nbox++] = *b;
    return 0;
}

static int parse_rule(cur *c, cb_rules *r)
{
    gh_cls_rule b;
    memset(&b, 0, sizeof(b));
    b.priority = (uint32_t)r->nrules;
    uint64_t v0, v1, pv, pm;
    if (*c->p != '@')
        return bad(c, "expected '@' at the start of a filter");
    c->p++;
    if (prefix(c, &b.lo[1], &b.hi[1], "bad source prefix (want a.b.c.d/len)"))
        return -1;
    skip_ws(c);
    if (prefix(c, &b.lo[2], &b.hi[2], "bad destination prefix (want a.b.c.d/len)"))
        return -1;
    if (num(c, 65535, &v0, "bad source port range (want lo : hi, 0..65535)") ||
        expect_char(c, ':', "bad source port range (want lo : hi)") ||
        num(c, 65535, &v1, "bad source port range (want lo : hi, 0..65535)"))
        return -1;
    if (v0 > v1)
        return bad(c, "source port range has lo > hi");
    b.lo[3] = (uint32_t)v0;
    b.hi[3] = (uint32_t)v1;
    if (num(c, 65535, &v0, "bad destination port range (want lo : hi, 0..65535)") ||
        expect_char(c, ':', "bad destination port range (want lo : hi)") ||
        num(c, 65535, &v1, "bad destination port range (want lo : hi, 0..65535)"))
        return -1;
    if (v0 > v1)
        return bad(c, "destination port range has lo > hi");
    b.lo[4] = (uint32_t)v0;
    b.hi[4] = (uint32_t)v1;
    if (num(c, 255, &pv, "bad protocol (want value/mask, 0..0xff)") ||
        expect_char(c, '/', "bad protocol (want value/mask)") ||
        num(c, 255, &pm, "bad protocol mask (want 0..0xff)"))
        return -1;
    if (!at_eol(c)) {
        /* db_generator's 6th field, TCP flags value/mask: ignored */
        uint64_t fv, fm;
        if (num(c, 0xffff, &fv, "bad flags field (want value/mask)") ||
            expect_char(c, '/', "bad flags field (want value/mask)") ||
            num(c, 0xffff, &fm, "bad flags field (want value/mask)"))
            return -1;
        if (!at_eol(c))
            return bad(c, "trailing text after the filter");
    }
    r->nrules++;
    /* protocol: every run of values p with (p & mask) == (value & mask) */
    for (unsigned p = 0; p < 256;) {
        if ((p & pm) != (pv & pm)) {
            p++;
            continue;
        }
        unsigned q = p;
        while (q + 1 < 256 && ((q + 1) & pm) == (pv & pm))
            q++;
        b.lo[0] = p;
        b.hi[0] = q;
        if (add_box(r, &b))
            return bad(c, "out of memory");
        p = q + 1;
    }
    return 0;
}

static int load_rules(const char *path, cb_rules *r)
{
    char *buf = slurp(path);
    if (!buf)
        return -1;
    cur c = {.p = buf, .file = path, .line = 0};
    int rc = 0;
    while (*c.p && rc == 0) {
        c.line++;
        skip_ws(&c);
        if (*c.p != '\n' && *c.p != '#' && *c.p)
            rc = parse_rule(&c, r);
        while (*c.p && *c.p != '\n')
            c.p++;
        if (*c.p == '\n')
            c.p++;
    }
    free(buf);
    return rc;
}

static int load_trace(const char *path, cb_trace *t, size_t nrules)
{
    char *buf = slurp(path);
    if (!buf)
        return -1;
    cur c = {.p = buf, .file = path, .line = 0};
    int rc = 0;
    while (*c.p && rc == 0) {
        c.line++;
        skip_ws(&c);
        if (*c.p != '\n' && *c.p != '#' && *c.p) {
            uint64_t s, d, sp, dp, pr, n;
            if (num(&c, UINT32_MAX, &s, "bad source address (want 0..4294967295)") ||
                num(&c, UINT32_MAX, &d, "bad destination address (want 0..4294967295)") ||
                num(&c, 65535, &sp, "bad source port (want 0..65535)") ||
                num(&c, 65535, &dp, "bad destination port (want 0..65535)") ||
                num(&c, 255, &pr, "bad protocol (want 0..255)") ||
                num(&c, UINT32_MAX, &n, "bad expected filter number (want 1..rules)")) {
                rc = -1;
                break;
            }
            if (n < 1 || n > nrules) {
                rc = bad(&c, "expected filter number out of range (1..rules)");
                break;
            }
            if (!at_eol(&c)) {
                rc = bad(&c, "trailing text after the header");
                break;
            }
            if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 4096;
                uint32_t *k = realloc(t->keys, t->cap * CB_FIELDS * sizeof(*k));
                if (k)
                    t->keys = k;
                uint32_t *e = realloc(t->expect, t->cap * sizeof(*e));
                if (e)
                    t->expect = e;
                if (!k || !e) {
                    rc = bad(&c, "out of memory");
                    break;
                }
            }
            uint32_t *k = t->keys + t->n * CB_FIELDS;
            k[0] = (uint32_t)pr;
            k[1] = (uint32_t)s;
            k[2] = (uint32_t)d;
            k[3] = (uint32_t)sp;
            k[4] = (uint32_t)dp;
            t->expect[t->n++] = (uint32_t)(n - 1);
        }
        while (*c.p && *c.p != '\n')
            c.p++;
        if (*c.p == '\n')
            c.p++;
    }
    free(buf);
    return rc;
}

/* @p s as a JSON string. */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* The lookup code the classifier picks (mirrors classifier.c: AVX2 when the
 * CPU has it, unless GH_CLS_ISA forces sse2 or scalar). */
static const char *classifier_isa(void)
{
    const char *force = getenv("GH_CLS_ISA");
    if (force && (strcmp(force, "scalar") == 0 || strcmp(force, "sse2") == 0))
        return force;
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") ? "avx2" : "sse2";
#else
    return "scalar";
#endif
}

static void usage_classbench(void)
{
    fprintf(stderr, "usage: gatehouse-bench classbench RULES TRACE [--runs N] [--burst N]"
                    " [--min-lookups N] [--first N]\n");
}

int bench_classbench(int argc, char **argv)
{
    const char *rules_path = NULL, *trace_path = NULL;
    int runs = 5;
    size_t burst = 256;
    uint64_t min_lookups = 2000000;
    size_t first = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
            first = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc)
            burst = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--min-lookups") == 0 && i + 1 < argc)
            min_lookups = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] == '-' && argv[i][1]) {
            usage_classbench();
            return 2;
        } else if (!rules_path)
            rules_path = argv[i];
        else if (!trace_path)
            trace_path = argv[i];
        else {
            usage_classbench();
            return 2;
        }
    }
    if (!rules_path || !trace_path || runs < 1 || runs > 101 || burst < 1 || burst > 65536) {
        usage_classbench();
        return 2;
    }

    cb_rules r = {0};
    cb_trace t = {0};
    if (load_rules(rules_path, &r) != 0 || load_trace(trace_path, &t, r.nrules) != 0)
        return 1;
    if (t.n == 0) {
        fprintf(stderr, "%s: no headers\n", trace_path);
        return 1;
    }
    if (first && first < r.nrules) {
        /* the first N filters: a header whose first match lies beyond them
         * matches none of them */
        size_t k = 0;
        while (k < r.nbox && r.box[k].priority < first)
            k++;
        r.nbox = k;
        r.nrules = first;
        for (size_t i = 0; i < t.n; i++)
            if (t.expect[i] >= first)
                t.expect[i] = GH_CLS_NOMATCH;
    }

    /* build: the median of 3 */
    gh_error err = {0};
    gh_classifier *c = NULL;
    double bms[3];
    for (int i = 0; i < 3; i++) {
        gh_cls_free(c);
        double t0 = now_ns();
        c = gh_cls_build(r.box, r.nbox, CB_FIELDS, &err);
        bms[i] = (now_ns() - t0) / 1e6;
        if (!c) {
            fprintf(stderr, "gatehouse-bench: %s: %s\n", rules_path, err.msg);
            return 1;
        }
    }
    qsort(bms, 3, sizeof(double), cmp_double);
    double build_ms = bms[1];

    /* correctness: burst and single lookups against the trace */
    uint32_t *out = malloc(t.n * sizeof(*out));
    if (!out) {
        fprintf(stderr, "gatehouse-bench: out of memory\n");
        return 1;
    }
    gh_cls_lookup_burst(c, t.keys, t.n, out);
    size_t mismatches = 0, first_bad = SIZE_MAX;
    for (size_t i = 0; i < t.n; i++) {
        uint32_t one = gh_cls_lookup(c, t.keys + i * CB_FIELDS);
        if (out[i] != t.expect[i] || one != t.expect[i]) {
            mismatches++;
            if (first_bad == SIZE_MAX)
                first_bad = i;
        }
    }
    if (first_bad != SIZE_MAX) {
        const uint32_t *k = t.keys + first_bad * CB_FIELDS;
        fprintf(stderr,
                "gatehouse-bench: %s: header %zu (proto %u src %u dst %u sport %u dport %u): "
                "expected filter %u, burst %d, single %d\n",
                trace_path, first_bad + 1, k[0], k[1], k[2], k[3], k[4], t.expect[first_bad] + 1,
                (int)out[first_bad] + 1, (int)gh_cls_lookup(c, k) + 1);
    }

    /* throughput: the trace repeated to >= min_lookups, in bursts */
    uint64_t rounds = (min_lookups + t.n - 1) / t.n;
    if (rounds == 0)
        rounds = 1;
    double *lps = calloc((size_t)runs, sizeof(double));
    for (int run = 0; run < runs; run++) {
        double a = now_ns();
        for (uint64_t k = 0; k < rounds; k++) {
            for (size_t i = 0; i < t.n; i += burst) {
                size_t m = t.n - i < burst ? t.n - i : burst;
                gh_cls_lookup_burst(c, t.keys + i * CB_FIELDS, m, out + i);
            }
        }
        lps[run] = (double)(rounds * t.n) / ((now_ns() - a) / 1e9);
    }
    qsort(lps, (size_t)runs, sizeof(double), cmp_double);

    /* the same, one gh_cls_lookup per header (as a caller without bursts) */
    double *one = calloc((size_t)runs, sizeof(double));
    for (int run = 0; run < runs; run++) {
        double a = now_ns();
        for (uint64_t k = 0; k < rounds; k++)
            for (size_t i = 0; i < t.n; i++)
                out[i] = gh_cls_lookup(c, t.keys + i * CB_FIELDS);
        one[run] = (double)(rounds * t.n) / ((now_ns() - a) / 1e9);
    }
    qsort(one, (size_t)runs, sizeof(double), cmp_double);

    /* baseline: plain first-match scan; as many headers as fit in ~0.5 s */
    size_t lin_n = 0, lin_bad = 0;
    double a = now_ns(), lin_ns = 0;
    while (lin_n < t.n) {
        size_t end = lin_n + 256 < t.n ? lin_n + 256 : t.n;
        for (; lin_n < end; lin_n++) {
            uint32_t v = gh_cls_linear_lookup(r.box, r.nbox, CB_FIELDS, t.keys + lin_n * CB_FIELDS);
            lin_bad += v != t.expect[lin_n];
        }
        lin_ns = now_ns() - a;
        if (lin_ns > 5e8)
            break;
    }
    double lin_lps = (double)lin_n / (lin_ns / 1e9);

    printf("{\"bench\":\"classbench\",\"rules_file\":");
    json_str(rules_path);
    printf(",\"trace_file\":");
    json_str(trace_path);
    printf(",\"isa\":\"%s\",\"rules\":%zu,\"boxes\":%zu,\"fields\":%d,\"lookups\":%zu,"
           "\"mismatches\":%zu,\"build_ms\":%.3f,\"memory_bytes\":%zu,\"runs\":%d,\"burst\":%zu,"
           "\"lookups_per_run\":%" PRIu64 ",\"lookups_per_sec\":%.0f,"
           "\"lookups_per_sec_min\":%.0f,\"lookups_per_sec_max\":%.0f,\"ns_per_lookup\":%.2f,"
           "\"single_lookups_per_sec\":%.0f,"
           "\"linear_lookups\":%zu,\"linear_mismatches\":%zu,\"linear_lookups_per_sec\":%.0f,"
           "\"speedup_vs_linear\":%.1f}\n",
           classifier_isa(), r.nrules, r.nbox, CB_FIELDS, t.n, mismatches, build_ms,
           gh_cls_memory(c), runs, burst, rounds * t.n, lps[runs / 2], lps[0], lps[runs - 1],
           1e9 / lps[runs / 2], one[runs / 2], lin_n, lin_bad, lin_lps, lps[runs / 2] / lin_lps);
    free(lps);
    free(one);
    free(out);
    gh_cls_free(c);
    free(r.box);
    free(t.keys);
    free(t.expect);
    return mismatches || lin_bad ? 1 : 0;
}
