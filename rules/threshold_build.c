/* Thresholds, build side: the threshold and detection_filter keyword values
 * and threshold.config lines, read with Suricata 7's own regular expressions
 * (detect-threshold.c, detect-detection-filter.c, util-threshold-config.c)
 * so exactly the same text is accepted, into gh_threshold_spec; and
 * gh_dpi_set_thresholds, which applies a threshold file to the compiled
 * signatures with Suricata's precedence. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect/detect_int.h"
#include "gatehouse/threshold.h"
#include "mem.h"
#include "rules_int.h"

/* ---- Suricata's regular expressions ------------------------------------------ */

#define RX_TH_ALT "(limit|both|threshold|by_dst|by_src|by_both|by_rule|\\d+)"
#define RX_TH_PAIR "(track|type|count|seconds)\\s+" RX_TH_ALT
#define RX_DF_PAIR "(track|count|seconds)\\s+(by_src|by_dst|\\d+)"

enum { RX_TH, RX_DF, RX_BASE, RX_CONF_TH, RX_RATE, RX_SUPPRESS, RX_N };

static const char *const rx_src[RX_N] = {
    /* DetectThresholdParse: no trailing $, so text after the 4th pair is ignored */
    "^\\s*" RX_TH_PAIR "\\s*,\\s*" RX_TH_PAIR "\\s*,\\s*" RX_TH_PAIR "\\s*,\\s*" RX_TH_PAIR
    "\\s*",
    "^\\s*" RX_DF_PAIR "\\s*,\\s*" RX_DF_PAIR "\\s*,\\s*" RX_DF_PAIR "\\s*$",
    "^\\s*(event_filter|threshold|rate_filter|suppress)\\s*gen_id\\s*(\\d+)\\s*,\\s*sig_id"
    "\\s*(\\d+)\\s*(.*)\\s*$",
    "^,\\s*type\\s*(limit|both|threshold)\\s*,\\s*track\\s*(by_dst|by_src|by_both|by_rule)"
    "\\s*,\\s*count\\s*(\\d+)\\s*,\\s*seconds\\s*(\\d+)\\s*$",
    "^,\\s*track\\s*(by_dst|by_src|by_both|by_rule)\\s*,\\s*count\\s*(\\d+)\\s*,\\s*seconds"
    "\\s*(\\d+)\\s*,\\s*new_action\\s*(alert|drop|pass|log|sdrop|reject)\\s*,\\s*timeout"
    "\\s*(\\d+)\\s*$",
    "^,\\s*track\\s*(by_dst|by_src|by_either)\\s*,\\s*ip\\s*([\\[\\],\\$\\s\\da-zA-Z.:/_]+)*"
    "\\s*$",
};

static pcre2_code *rx[RX_N];
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;

static void rx_init(void)
{
    for (int i = 0; i < RX_N; i++) {
        int ec;
        PCRE2_SIZE eo;
        rx[i] = pcre2_compile((PCRE2_SPTR)rx_src[i], PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
    }
}

/* Match @p s against regex @p which; the captures as strings in @p cap
 * (each @p capsz bytes, "" when unset). Returns the number of captures set
 * (pcre2_match's count minus one), or -1 when it does not match. */
static int rx_match(int which, const char *s, char cap[][256], int ncap)
{
    pthread_once(&rx_once, rx_init);
    if (!rx[which])
        return -1;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(rx[which], NULL);
    if (!md)
        return -1;
    int rc = pcre2_match(rx[which], (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    for (int i = 0; i < ncap; i++) {
        PCRE2_SIZE len = 256;
        cap[i][0] = '\0';
        if (i + 1 < rc && pcre2_substring_copy_bynumber(md, (uint32_t)i + 1,
                                                        (PCRE2_UCHAR *)cap[i], &len) < 0)
            cap[i][0] = '\0';
    }
    pcre2_match_data_free(md);
    return rc > 0 ? rc - 1 : -1;
}

/* Suricata's StringParseUint32 on a run of digits: no overflow. */
static bool parse_u32(const char *s, uint32_t *out)
{
    unsigned long long v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > 0xffffffffu)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* ---- the keywords ------------------------------------------------------------- */

/* Suricata counts the comma-separated parts that name each setting before
 * the regex runs (a substring test, so "seconds" counts for "second"); the
 * loop stops after as many parts as the first part is long, as its strtok
 * loop does. */
static bool parts_once(const char *value, bool threshold)
{
    char *copy = strdup(value);
    if (!copy)
        return false;
    int count = 0, second = 0, type = 0, track = 0;
    char *save = NULL;
    size_t pos = 0;
    for (char *t = strtok_r(copy, ",", &save); t && pos < strlen(copy);
         pos++, t = strtok_r(NULL, ",", &save)) {
        count += strstr(t, "count") != NULL;
        second += strstr(t, "second") != NULL;
        type += strstr(t, "type") != NULL;
        track += strstr(t, "track") != NULL;
    }
    free(copy);
    return count == 1 && second == 1 && track == 1 && (threshold ? type == 1 : true);
}

bool gh_threshold_parse_keyword(const char *name, const char *value, gh_threshold_spec *out,
                                char *msg, size_t msz)
{
    bool th = strcasecmp(name, "threshold") == 0;
    char cap[8][256];
    memset(out, 0, sizeof(*out));
    out->present = true;
    out->from_keyword = true;
    int n = parts_once(value, th) ? rx_match(th ? RX_TH : RX_DF, value, cap, th ? 8 : 6) : -1;
    int count_pos = -1, sec_pos = -1;
    for (int i = 0; i < n; i++) {
        const char *a = cap[i];
        /* as Suricata: every capture is tested against every word, by prefix */
        if (th && !strncasecmp(a, "limit", 5))
            out->type = GH_TH_LIMIT;
        if (th && !strncasecmp(a, "both", 4))
            out->type = GH_TH_BOTH;
        if (th && !strncasecmp(a, "threshold", 9))
            out->type = GH_TH_THRESHOLD;
        if (!strncasecmp(a, "by_dst", 6))
            out->track = GH_TRACK_DST;
        if (!strncasecmp(a, "by_src", 6))
            out->track = GH_TRACK_SRC;
        if (th && !strncasecmp(a, "by_both", 7))
            out->track = GH_TRACK_BOTH;
        if (th && !strncasecmp(a, "by_rule", 7))
            out->track = GH_TRACK_RULE;
        if (!strncasecmp(a, "count", 5))
            count_pos = i + 1;
        if (!strncasecmp(a, "seconds", 7))
            sec_pos = i + 1;
    }
    if (!th)
        out->type = GH_TH_DETECTION;
    bool ok = n >= 4 && count_pos > 0 && sec_pos > 0 && count_pos < n && sec_pos < n &&
              parse_u32(cap[count_pos], &out->count) && parse_u32(cap[sec_pos], &out->seconds);
    if (ok && !th && (out->count == 0 || out->seconds == 0)) {
        snprintf(msg, msz, "detection_filter count and seconds must be > 0");
        return false;
    }
    if (!ok) {
        if (th)
            snprintf(msg, msz, "bad threshold value '%s' (expected type limit|threshold|both, "
                               "track by_src|by_dst|by_rule|by_both, count N, seconds N)", value);
        else
            snprintf(msg, msz, "bad detection_filter value '%s' (expected track "
                               "by_src|by_dst, count N, seconds N)", value);
        return false;
    }
    return true;
}

/* ---- threshold.config ------------------------------------------------------------ */

enum { TE_SUPPRESS, TE_THRESHOLD, TE_RATE };

typedef struct th_entry {
    uint8_t kind;          /* TE_* */
    uint8_t track;         /* suppress: GH_TRACK_RULE when it names no addresses */
    uint32_t gid, sid, line;
    gh_threshold_spec spec; /* TE_THRESHOLD, TE_RATE */
    gh_addr_set addrs;     /* suppress with track */
} th_entry;

struct gh_threshold_conf {
    char *name;
    th_entry *e;
    size_t n, cap;
};

void gh_threshold_conf_free(gh_threshold_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        gh_addr_set_free(&c->e[i].addrs);
    free(c->e);
    free(c->name);
    free(c);
}

size_t gh_threshold_conf_count(const gh_threshold_conf *c)
{
    return c ? c->n : 0;
}

static uint8_t track_of(const char *t)
{
    static const struct {
        const char *name;
        uint8_t track;
    } tracks[] = {{"by_dst", GH_TRACK_DST},
                  {"by_src", GH_TRACK_SRC},
                  {"by_both", GH_TRACK_BOTH},
                  {"by_rule", GH_TRACK_RULE},
                  {"by_either", GH_TRACK_EITHER}};
    for (size_t i = 0; i < sizeof(tracks) / sizeof(tracks[0]); i++)
        if (!strcasecmp(t, tracks[i].name))
            return tracks[i].track;
    return GH_TRACK_NONE;
}

typedef struct conf_ctx {
    gh_threshold_conf *c;
    const char *name;      /* the caller's: errors outlive c when parsing fails */
    const gh_rule_vars *vars;
    gh_rule_error **errs;
    size_t *nerrs;
    size_t bad;
    bool oom;
} conf_ctx;

static void conf_error(conf_ctx *x, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conf_error(conf_ctx *x, uint32_t line, const char *fmt, ...)
{
    char m[GH_RULE_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    gh_rule_loc loc = {.file = x->name, .line = line, .col = 1};
    gh_rule_error_append(x->errs, x->nerrs, loc, "%s", m);
    x->bad++;
}

/* The addresses of a suppress line: Suricata's DetectAddressParse, which
 * takes variables, CIDRs and [lists]. */
static bool suppress_addrs(conf_ctx *x, uint32_t line, const char *ip, gh_addr_set *out)
{
    char t[256];
    size_t n = strlen(ip);
    while (n && gh_is_ws(ip[n - 1]))
        n--;
    while (n && gh_is_ws(*ip)) {
        ip++;
        n--;
    }
    /* Suricata's DetectAddressParse also takes a list without brackets */
    bool wrap = *ip != '[' && memchr(ip, ',', n);
    snprintf(t, sizeof(t), "%s%.*s%s", wrap ? "[" : "", (int)n, ip, wrap ? "]" : "");
    gh_rule_error e;
    gh_rule_expr *ex = gh_rule_expr_parse(t, GH_EXPR_CTX_ADDR, &e);
    int rc = ex ? gh_rule_eval_addr(ex, x->vars, out, &e) : GH_E_FORMAT;
    gh_rule_expr_free(ex);
    if (rc == GH_E_NOMEM || (!ex && !e.message[0])) {
        x->oom = true;
        return false;
    }
    if (rc != GH_OK) {
        conf_error(x, line, "suppress: bad ip '%s': %s", t, e.message);
        return false;
    }
    return true;
}

/* One logical line (ParseThresholdRule). */
static void conf_line(conf_ctx *x, const char *s, uint32_t line)
{
    char b[4][256], o[5][256];
    if (rx_match(RX_BASE, s, b, 4) < 4) {
        conf_error(x, line, "bad threshold.config line (expected suppress|event_filter|"
                            "threshold|rate_filter gen_id N, sig_id N, ...)");
        return;
    }
    th_entry e = {.line = line};
    if (!parse_u32(b[1], &e.gid) || !parse_u32(b[2], &e.sid)) {
        conf_error(x, line, "gen_id or sig_id out of range");
        return;
    }
    const char *ext = b[3];
    if (!strcasecmp(b[0], "suppress")) {
        e.kind = TE_SUPPRESS;
        e.track = GH_TRACK_RULE;
        if (*ext) {
            if (rx_match(RX_SUPPRESS, ext, o, 2) < 2 || !o[1][0]) {
                conf_error(x, line, "bad suppress options '%s' (expected , track "
                                    "by_src|by_dst|by_either, ip ADDRESSES)", ext);
                return;
            }
            e.track = track_of(o[0]);
            if (!suppress_addrs(x, line, o[1], &e.addrs))
                return;
        }
        if (e.sid && !e.gid) {
            conf_error(x, line, "sig_id %u with gen_id 0", e.sid);
            gh_addr_set_free(&e.addrs);
            return;
        }
    } else if (!strcasecmp(b[0], "rate_filter")) {
        e.kind = TE_RATE;
        if (rx_match(RX_RATE, ext, o, 5) < 5) {
            conf_error(x, line, "bad rate_filter options '%s' (expected , track by_src|by_dst|"
                                "by_both|by_rule, count N, seconds N, new_action "
                                "alert|drop|pass|reject, timeout N)", ext);
            return;
        }
        static const struct {
            const char *name;
            gh_rule_action a;
        } acts[] = {{"alert", GH_ACTION_ALERT},
                    {"drop", GH_ACTION_DROP},
                    {"pass", GH_ACTION_PASS},
                    {"reject", GH_ACTION_REJECT}};
        for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
            if (!strcasecmp(o[3], acts[i].name)) {
                e.spec.has_new_action = true;
                e.spec.new_action = acts[i].a;
            }
        e.spec.type = GH_TH_RATE;
        e.spec.track = track_of(o[0]);
        if (!parse_u32(o[1], &e.spec.count) || !parse_u32(o[2], &e.spec.seconds) ||
            !parse_u32(o[4], &e.spec.timeout)) {
            conf_error(x, line, "rate_filter: a number is out of range");
            return;
        }
    } else {
        e.kind = TE_THRESHOLD;
        if (rx_match(RX_CONF_TH, ext, o, 4) < 4) {
            conf_error(x, line, "bad %s options '%s' (expected , type limit|threshold|both, "
                                "track by_src|by_dst|by_both|by_rule, count N, seconds N)",
                       b[0], ext);
            return;
        }
        e.spec.type = !strcasecmp(o[0], "limit")  ? GH_TH_LIMIT
                      : !strcasecmp(o[0], "both") ? GH_TH_BOTH
                                                  : GH_TH_THRESHOLD;
        e.spec.track = track_of(o[1]);
        if (!parse_u32(o[2], &e.spec.count) || !parse_u32(o[3], &e.spec.seconds)) {
            conf_error(x, line, "%s: a number is out of range", b[0]);
            return;
        }
    }
    if (e.kind != TE_SUPPRESS) {
        e.spec.present = true;
        if (e.spec.count == 0) {
            conf_error(x, line, "%s: count must be > 0", b[0]);
            return;
        }
    }
    if (x->c->n == x->c->cap) {
        size_t cap = x->c->cap ? x->c->cap * 2 : 16;
        th_entry *ne = realloc(x->c->e, cap * sizeof(*ne));
        if (!ne) {
            gh_addr_set_free(&e.addrs);
            x->oom = true;
            return;
        }
        x->c->e = ne;
        x->c->cap = cap;
    }
    x->c->e[x->c->n++] = e;
}

/* Suricata's SCThresholdConfIsLineBlankOrComment. */
static bool blank_or_comment(const char *s)
{
    for (; *s; s++) {
        if (*s == '#')
            return true;
        if (!gh_is_ws(*s))
            return false;
    }
    return true;
}

/* Suricata's SCThresholdConfLineIsMultiline: where a trailing '\' is. */
static size_t continuation_at(const char *s)
{
    size_t flag = 0;
    for (size_t i = 0; s[i] && s[i] != '\n'; i++) {
        if (s[i] == '\\')
            flag = i;
        else if (!gh_is_ws(s[i]))
            flag = 0;
    }
    return flag;
}

gh_threshold_conf *gh_threshold_conf_parse(const char *name, const char *text,
                                           const gh_rule_vars *vars, gh_rule_error **errs,
                                           size_t *nerrs, gh_error *err)
{
    gh_threshold_conf *c = calloc(1, sizeof(*c));
    char *buf = malloc(strlen(text) + 1);
    conf_ctx x = {.c = c, .name = name, .vars = vars, .errs = errs, .nerrs = nerrs};
    if (!c || !buf || !(c->name = strdup(name))) {
        x.oom = true;
        goto out;
    }
    /* a logical line is built in buf: a continued line is overwritten from
     * its '\' on by the next one, as Suricata's fgets at esc_pos */
    size_t esc = 0;
    uint32_t lineno = 0, first = 0;
    for (const char *p = text; *p && !x.oom;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        memcpy(buf + esc, p, len);
        buf[esc + len] = '\0';
        p += len;
        lineno++;
        if (!esc)
            first = lineno;
        if (blank_or_comment(buf))
            continue;
        esc = continuation_at(buf);
        if (!esc)
            conf_line(&x, buf, first);
    }
out:
    free(buf);
    if (x.oom) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        gh_threshold_conf_free(c);
        return NULL;
    }
    if (x.bad) {
        gh_error_set(err, GH_E_FORMAT, "%s: %zu error%s", name, x.bad, x.bad == 1 ? "" : "s");
        gh_threshold_conf_free(c);
        return NULL;
    }
    return c;
}

gh_threshold_conf *gh_threshold_conf_load(const char *path, const gh_rule_vars *vars,
                                          gh_rule_error **errs, size_t *nerrs, gh_error *err)
{
    gh_mem_file m;
    if (gh_mem_file_read(path, &m) != 0) {
        if (errno == ENOMEM)
            gh_error_set(err, GH_E_NOMEM, "out of memory");
        else
            gh_error_set(err, GH_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* the parser reads a C string: a NUL byte would hide the rest */
    const char *nul = memchr(m.p, '\0', m.len);
    char *text = nul ? NULL : malloc(m.len + 1);
    if (text) {
        memcpy(text, m.p, m.len);
        text[m.len] = '\0';
    }
    size_t at = nul ? (size_t)(nul - m.p) : 0;
    gh_mem_file_free(&m);
    if (nul) {
        gh_error_set(err, GH_E_FORMAT, "%s: NUL byte at offset %zu", path, at);
        return NULL;
    }
    if (!text) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    gh_threshold_conf *c = gh_threshold_conf_parse(path, text, vars, errs, nerrs, err);
    free(text);
    return c;
}

/* ---- applying a threshold file ------------------------------------------------------ */

static int add_suppress(gh_dpi *d, dpi_sig *sg, uint32_t si)
{
    uint32_t *ni = realloc(sg->sup_idx, (sg->nsup + 1) * sizeof(*ni));
    if (!ni)
        return GH_E_NOMEM;
    sg->sup_idx = ni;
    sg->sup_idx[sg->nsup++] = si;
    d->has_thresholds = true;
    return GH_OK;
}

/* One line on one signature (SetupSuppressRule / SetupThresholdRule). */
static int apply_entry(gh_dpi *d, dpi_sig *sg, const th_entry *e, uint32_t si, bool one_sig)
{
    if (e->kind == TE_SUPPRESS) {
        if (e->track == GH_TRACK_RULE) {
            sg->noalert = true; /* Suricata clears the signature's ACTION_ALERT */
            d->has_thresholds = true;
            return GH_OK;
        }
        return add_suppress(d, sg, si);
    }
    /* the keyword (or an earlier line) wins, except an event_filter or
     * threshold line for this very signature, which replaces it */
    if (sg->th.present && !(one_sig && e->kind == TE_THRESHOLD))
        return GH_OK;
    sg->th = e->spec;
    d->has_thresholds = true;
    return GH_OK;
}

int gh_dpi_set_thresholds(gh_dpi *d, const gh_threshold_conf *c, gh_rule_error **warns,
                          size_t *nwarns)
{
    size_t ns = 0;
    for (size_t i = 0; i < c->n; i++)
        ns += c->e[i].kind == TE_SUPPRESS && c->e[i].track != GH_TRACK_RULE;
    if (ns) {
        dpi_suppress *s = realloc(d->sups, (d->nsups + ns) * sizeof(*s));
        if (!s)
            return GH_E_NOMEM;
        d->sups = s;
    }
    for (size_t i = 0; i < c->n; i++) {
        const th_entry *e = &c->e[i];
        uint32_t si = 0;
        if (e->kind == TE_SUPPRESS && e->track != GH_TRACK_RULE) {
            dpi_suppress *s = &d->sups[d->nsups];
            s->track = e->track;
            s->addrs = (gh_addr_set){0};
            if ((e->addrs.n_v4 && !(s->addrs.v4 = malloc(e->addrs.n_v4 * sizeof(gh_ip4_range)))) ||
                (e->addrs.n_v6 && !(s->addrs.v6 = malloc(e->addrs.n_v6 * sizeof(gh_ip6_range))))) {
                gh_addr_set_free(&s->addrs);
                return GH_E_NOMEM;
            }
            if (e->addrs.n_v4)
                memcpy(s->addrs.v4, e->addrs.v4, e->addrs.n_v4 * sizeof(gh_ip4_range));
            if (e->addrs.n_v6)
                memcpy(s->addrs.v6, e->addrs.v6, e->addrs.n_v6 * sizeof(gh_ip6_range));
            s->addrs.n_v4 = e->addrs.n_v4;
            s->addrs.n_v6 = e->addrs.n_v6;
            si = (uint32_t)d->nsups++;
        }
        if (e->sid && !e->gid) {
            /* Suricata logs an error for such an event_filter/rate_filter and
             * goes on (a suppress is refused when parsed) */
            gh_rule_loc loc = {.file = c->name, .line = e->line, .col = 1};
            gh_rule_error_append(warns, nwarns, loc, "sig_id %u with gen_id 0: ignored", e->sid);
            continue;
        }
        bool found = false;
        for (size_t k = 0; k < d->n; k++) {
            dpi_sig *sg = &d->sigs[k];
            if ((e->gid && sg->info.gid != e->gid) || (e->sid && sg->info.sid != e->sid))
                continue;
            found = true;
            if (apply_entry(d, sg, e, si, e->sid != 0) != GH_OK)
                return GH_E_NOMEM;
        }
        if (!found && e->sid) {
            gh_rule_loc loc = {.file = c->name, .line = e->line, .col = 1};
            gh_rule_error_append(warns, nwarns, loc, "sid %u, gid %u: no such signature loaded",
                                 e->sid, e->gid);
        }
    }
    return GH_OK;
}

const gh_threshold_spec *gh_dpi_sig_threshold(const gh_dpi *d, uint32_t idx)
{
    return idx < d->n ? &d->sigs[idx].th : NULL;
}
