/* The rule parser: Suricata's rule syntax into a gh_rule tree.
 *
 * A file is cut into logical lines: a line ending in '\' (trailing
 * whitespace allowed) continues on the next one, as in Suricata; each byte
 * of a logical line keeps its physical line and column, so every token and
 * every error points into the file as written. Lines starting with '#' are
 * comments (never continued); a comment that holds a rule ("#alert ...") is
 * counted as disabled. Each other logical line is one rule; on a syntax
 * error the parser reports it and goes on with the next line, so a file's
 * errors are all reported in one pass. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "rules_int.h"

typedef struct parser {
    gh_rule_file *f;
    gh_arena *a;
    size_t rules_cap, errors_cap;
    /* the logical line being assembled */
    char *buf;
    uint32_t *lines, *cols;
    size_t len, cap;
    /* options of the rule being parsed */
    gh_rule_option *opts;
    size_t n_opts, opts_cap;
    bool oom;
} parser;

static const struct {
    const char *name;
    gh_rule_action action;
} actions[] = {
    {"alert", GH_ACTION_ALERT},         {"pass", GH_ACTION_PASS},
    {"drop", GH_ACTION_DROP},           {"reject", GH_ACTION_REJECT},
    {"rejectsrc", GH_ACTION_REJECTSRC}, {"rejectdst", GH_ACTION_REJECTDST},
    {"rejectboth", GH_ACTION_REJECTBOTH}, {"accept", GH_ACTION_ACCEPT},
};

static bool find_action(const char *s, size_t n, gh_rule_action *out)
{
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strlen(actions[i].name) == n && memcmp(actions[i].name, s, n) == 0) {
            *out = actions[i].action;
            return true;
        }
    }
    return false;
}

/* ---- errors and storage ------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static void add_error(parser *P, gh_rule_loc loc,
                                                            const char *fmt, ...)
{
    gh_rule_file *f = P->f;
    if (f->n_errors == P->errors_cap) {
        size_t cap = P->errors_cap ? P->errors_cap * 2 : 16;
        gh_rule_error *e = realloc(f->errors, cap * sizeof(*e));
        if (!e) {
            P->oom = true;
            return;
        }
        f->errors = e;
        P->errors_cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    gh_rerr_vset(&f->errors[f->n_errors++], loc, fmt, ap);
    va_end(ap);
}

static void add_rerr(parser *P, const gh_rule_error *e)
{
    if (gh_rerr_is_nomem(e)) {
        P->oom = true;
        return;
    }
    add_error(P, e->loc, "%s", e->message);
}

static const char *dup(parser *P, const char *s, size_t n)
{
    char *p = gh_arena_strndup(P->a, s, n);
    if (!p)
        P->oom = true;
    return p;
}

/* ---- one rule ------------------------------------------------------------- */

/* The next whitespace-delimited token at @p, quoted for a message. */
static const char *next_tok(const gh_src *v, size_t p, char *buf, size_t n)
{
    if (p >= v->len)
        return "end of rule";
    size_t e = p + 1;
    if (!strchr(";(),", v->s[p]))
        while (e < v->len && !gh_is_ws(v->s[e]) && !strchr(";(),", v->s[e]))
            e++;
    char tk[64];
    snprintf(buf, n, "'%s'", gh_tok(tk, sizeof(tk), v->s + p, e - p));
    return buf;
}

/* Inside a quoted value, an unescaped '"' closes the string only when the
 * next non-blank character is ';' or ',' or the text ends: Suricata itself
 * ends an option at the first unescaped ';' and takes inner quotes
 * literally, and real rules rely on that (pcre:"/^["']?post/Ri";). */
bool gh_quote_closes(const char *s, size_t i, size_t n)
{
    size_t j = i + 1;
    while (j < n && gh_is_ws(s[j]))
        j++;
    return j >= n || s[j] == ';' || s[j] == ',';
}

/* Option value as kept in the tree: trimmed, whitespace runs outside double
 * quotes collapsed to one space, quoted text and escapes as written. */
static const char *normalize_value(parser *P, const char *s, size_t n)
{
    while (n && gh_is_ws(s[n - 1]))
        n--;
    while (n && gh_is_ws(*s)) {
        s++;
        n--;
    }
    char *out = gh_arena_stralloc(P->a, n + 1);
    if (!out) {
        P->oom = true;
        return NULL;
    }
    size_t o = 0;
    bool inq = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            out[o++] = c;
            out[o++] = s[++i];
            continue;
        }
        if (c == '"')
            inq = inq ? !gh_quote_closes(s, i, n) : true;
        if (!inq && gh_is_ws(c)) {
            while (i + 1 < n && gh_is_ws(s[i + 1]))
                i++;
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

static bool push_opt(parser *P, const gh_rule_option *o)
{
    if (P->n_opts == P->opts_cap) {
        size_t cap = P->opts_cap ? P->opts_cap * 2 : 32;
        gh_rule_option *p = realloc(P->opts, cap * sizeof(*p));
        if (!p) {
            P->oom = true;
            return false;
        }
        P->opts = p;
        P->opts_cap = cap;
    }
    P->opts[P->n_opts++] = *o;
    return true;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* Options from just after '(' to the closing ')'. Returns false after
 * reporting an error. */
static bool parse_options(parser *P, const gh_src *v, size_t *pp)
{
    const char *s = v->s;
    size_t p = *pp;
    char g[96];
    P->n_opts = 0;
    for (;;) {
        while (p < v->len && gh_is_ws(s[p]))
            p++;
        if (p >= v->len) {
            add_error(P, gh_src_loc(v, p), "missing ')' at end of rule");
            return false;
        }
        if (s[p] == ')') {
            p++;
            break;
        }
        size_t n0 = p;
        while (p < v->len && name_char(s[p]))
            p++;
        if (p == n0) {
            add_error(P, gh_src_loc(v, p), "expected option name, got %s",
                      next_tok(v, p, g, sizeof(g)));
            return false;
        }
        gh_rule_option o = {0};
        const char *canon;
        o.kw_ = gh_kw_index_n(s + n0, p - n0, &canon);
        /* the keyword table's name when written so: not a copy per option */
        o.name.text = canon ? canon : dup(P, s + n0, p - n0);
        o.name.loc = gh_src_loc(v, n0);
        const char *nm = o.name.text ? o.name.text : "?";
        while (p < v->len && gh_is_ws(s[p]))
            p++;
        if (p >= v->len) {
            add_error(P, gh_src_loc(v, p), "expected ';' after option '%s', got end of rule", nm);
            return false;
        }
        if (s[p] == ';') {
            p++;
        } else if (s[p] == ':') {
            size_t colon = p++;
            while (p < v->len && gh_is_ws(s[p]))
                p++;
            size_t v0 = p, quote = 0;
            bool inq = false;
            while (p < v->len) {
                char c = s[p];
                if (c == '\\') {
                    p = p + 2 < v->len ? p + 2 : v->len;
                    continue;
                }
                if (c == '"') {
                    if (!inq)
                        quote = p;
                    inq = inq ? !gh_quote_closes(s, p, v->len) : true;
                } else if (c == ';' && !inq) {
                    break;
                }
                p++;
            }
            if (p >= v->len) {
                if (inq) {
                    add_error(P, gh_src_loc(v, quote), "unterminated string in option '%s'", nm);
                    return false;
                }
                size_t last = v->len;
                while (last > v0 && gh_is_ws(s[last - 1]))
                    last--;
                if (last > v0 && s[last - 1] == ')')
                    add_error(P, gh_src_loc(v, last - 1), "expected ';' after option '%s', got ')'",
                              nm);
                else
                    add_error(P, gh_src_loc(v, v->len),
                              "expected ';' after option '%s', got end of rule", nm);
                return false;
            }
            o.value.text = normalize_value(P, s + v0, p - v0);
            o.value.loc = gh_src_loc(v, v0);
            p++; /* ';' */
            if (o.value.text && !o.value.text[0]) {
                add_error(P, gh_src_loc(v, colon), "empty value for option '%s'", nm);
                return false;
            }
        } else if (s[p] == ')') {
            add_error(P, gh_src_loc(v, p), "expected ';' after option '%s', got ')'", nm);
            return false;
        } else {
            add_error(P, gh_src_loc(v, p), "expected ':' or ';' after option '%s', got %s", nm,
                      next_tok(v, p, g, sizeof(g)));
            return false;
        }
        if (P->oom || !push_opt(P, &o))
            return false;
    }
    *pp = p;
    return true;
}

static const char *const field_names[7] = {
    "action", "protocol", "source address", "source port", "direction",
    "destination address", "destination port",
};

/* Interpret header field @k, s[b, e), into @r; false after an error. */
static bool header_field(parser *P, const gh_src *v, int k, size_t b, size_t e, gh_rule *r)
{
    const char *s = v->s;
    char tk[96];
    gh_rule_loc loc = gh_src_loc(v, b);
    gh_rule_error err;
    switch (k) {
    case 0:
        r->loc = loc;
        if (!find_action(s + b, e - b, &r->action)) {
            add_error(P, loc, "unknown action '%s'", gh_tok(tk, sizeof(tk), s + b, e - b));
            return false;
        }
        r->action_tok.text = dup(P, s + b, e - b);
        r->action_tok.loc = loc;
        return r->action_tok.text != NULL;
    case 1:
        r->proto.text = dup(P, s + b, e - b);
        r->proto.loc = loc;
        if (!r->proto.text)
            return false;
        if (gh_proto_class(r->proto.text) == GH_PROTO_UNKNOWN) {
            add_error(P, loc, "unknown protocol '%s'", gh_tok(tk, sizeof(tk), s + b, e - b));
            return false;
        }
        return true;
    case 4:
        r->dir.loc = loc;
        if (e - b == 2 && (memcmp(s + b, "->", 2) == 0 || memcmp(s + b, "<>", 2) == 0)) {
            r->dir.text = dup(P, s + b, 2);
            r->bidirectional = s[b] == '<';
            return r->dir.text != NULL;
        }
        add_error(P, loc, "expected '->' or '<>', got '%s'", gh_tok(tk, sizeof(tk), s + b, e - b));
        return false;
    default: {
        gh_rule_expr **dst = k == 2 ? &r->src_addr : k == 3 ? &r->src_port
                           : k == 5 ? &r->dst_addr : &r->dst_port;
        gh_rule_expr_ctx ctx = (k == 2 || k == 5) ? GH_EXPR_CTX_ADDR : GH_EXPR_CTX_PORT;
        *dst = gh_expr_parse(P->a, v, b, e, ctx, &err);
        if (!*dst)
            add_rerr(P, &err);
        return *dst != NULL;
    }
    }
}

static void parse_rule(parser *P, const gh_src *v)
{
    const char *s = v->s;
    size_t p = 0;
    char g[96];
    P->f->n_statements++;
    gh_rule r = {0};

    /* every piece of a rule is kept as a C string: text after a NUL byte
     * would be silently dropped from the rule */
    const char *nul = memchr(s, '\0', v->len);
    if (nul) {
        add_error(P, gh_src_loc(v, (size_t)(nul - s)), "NUL byte in rule");
        return;
    }

    /* Header fields end at whitespace outside brackets, or at '(' (never
     * part of an address or port, so an unclosed '[' stops there); a lone
     * '!' sticks to the field after it ("! 1.2.3.4"). Each field is
     * interpreted as soon as it is cut, so the first error is reported. */
    for (int k = 0; k < 7; k++) {
        while (p < v->len && gh_is_ws(s[p]))
            p++;
        if (p >= v->len || s[p] == '(') {
            add_error(P, gh_src_loc(v, p), "expected %s, got %s", field_names[k],
                      p >= v->len ? "end of rule" : "'('");
            return;
        }
        size_t b = p;
        int depth = 0;
        while (p < v->len && s[p] != '(') {
            char c = s[p];
            if (c == '[') {
                depth++;
            } else if (c == ']') {
                depth--;
            } else if (depth <= 0 && gh_is_ws(c)) {
                if (p - b == 1 && s[b] == '!') {
                    while (p < v->len && gh_is_ws(s[p]))
                        p++;
                    continue;
                }
                break;
            }
            p++;
        }
        size_t e = p;
        while (e > b && gh_is_ws(s[e - 1]))
            e--;
        if (!header_field(P, v, k, b, e, &r))
            return;
    }

    while (p < v->len && gh_is_ws(s[p]))
        p++;
    if (p >= v->len || s[p] != '(') {
        add_error(P, gh_src_loc(v, p), "expected '(' after destination port, got %s",
                  next_tok(v, p, g, sizeof(g)));
        return;
    }
    p++;
    if (!parse_options(P, v, &p))
        return;
    while (p < v->len && gh_is_ws(s[p]))
        p++;
    if (p < v->len) {
        add_error(P, gh_src_loc(v, p), "unexpected text after ')': %s",
                  next_tok(v, p, g, sizeof(g)));
        return;
    }
    if (P->n_opts) {
        r.options = gh_arena_alloc(P->a, P->n_opts * sizeof(*r.options));
        if (!r.options) {
            P->oom = true;
            return;
        }
        memcpy(r.options, P->opts, P->n_opts * sizeof(*r.options));
        r.n_options = P->n_opts;
    }
    if (P->oom)
        return;
    gh_rule_file *f = P->f;
    if (f->n_rules == P->rules_cap) {
        size_t cap = P->rules_cap ? P->rules_cap * 2 : 64;
        gh_rule *nr = realloc(f->rules, cap * sizeof(*nr));
        if (!nr) {
            P->oom = true;
            return;
        }
        f->rules = nr;
        P->rules_cap = cap;
    }
    f->rules[f->n_rules++] = r;
}

/* ---- lines ----------------------------------------------------------------- */

/* "#alert tcp ... (...)": a rule someone commented out. */
static bool is_disabled_rule(const char *s, size_t n)
{
    size_t p = 1; /* after '#' */
    while (p < n && gh_is_ws(s[p]))
        p++;
    size_t w = p;
    while (p < n && isalpha((unsigned char)s[p]))
        p++;
    gh_rule_action a;
    if (p == w || p >= n || !gh_is_ws(s[p]) || !find_action(s + w, p - w, &a))
        return false;
    while (n > p && gh_is_ws(s[n - 1]))
        n--;
    return memchr(s + p, '(', n - p) != NULL && s[n - 1] == ')';
}

static bool line_append(parser *P, const char *s, size_t n, uint32_t lineno)
{
    if (P->len + n + 1 > P->cap) {
        size_t cap = P->cap ? P->cap : 4096;
        while (cap < P->len + n + 1)
            cap *= 2;
        char *b = realloc(P->buf, cap);
        if (b)
            P->buf = b;
        uint32_t *l = realloc(P->lines, cap * sizeof(*l));
        if (l)
            P->lines = l;
        uint32_t *c = realloc(P->cols, cap * sizeof(*c));
        if (c)
            P->cols = c;
        if (!b || !l || !c) {
            P->oom = true;
            return false;
        }
        P->cap = cap;
    }
    memcpy(P->buf + P->len, s, n);
    for (size_t i = 0; i < n; i++) {
        P->lines[P->len + i] = lineno;
        P->cols[P->len + i] = (uint32_t)i + 1;
    }
    P->len += n;
    return true;
}

static void flush_line(parser *P, uint32_t first_line)
{
    if (P->len == 0)
        return;
    gh_src v = {.file = P->f->path, .s = P->buf, .len = P->len, .lines = P->lines,
                .cols = P->cols, .line0 = first_line, .col0 = 1};
    parse_rule(P, &v);
    P->len = 0;
}

/* @text's first line is line @line0 + 1 of the file. */
static void parse_text(parser *P, const char *text, size_t len, uint32_t line0)
{
    size_t i = 0;
    uint32_t lineno = line0, first = 0;
    bool cont = false;
    while (i < len && !P->oom) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        const char *s = text + i;
        i += n + (nl ? 1 : 0);
        lineno++;
        while (n && gh_is_ws(s[n - 1]))
            n--;
        if (!cont) {
            size_t p = 0;
            while (p < n && gh_is_ws(s[p]))
                p++;
            if (p == n)
                continue;
            if (s[p] == '#') {
                if (is_disabled_rule(s + p, n - p))
                    P->f->n_disabled++;
                continue;
            }
            first = lineno;
        }
        cont = n && s[n - 1] == '\\';
        if (!cont && P->len == 0) { /* a rule on one line: parsed in place */
            gh_src v = {.file = P->f->path, .s = s, .len = n, .line0 = lineno, .col0 = 1};
            parse_rule(P, &v);
            continue;
        }
        if (!line_append(P, s, cont ? n - 1 : n, lineno))
            return;
        if (!cont)
            flush_line(P, first);
    }
    if (cont && !P->oom)
        flush_line(P, first);
}

/* ---- protocols ------------------------------------------------------------- */

/* Every protocol name Suricata 7 takes, sorted for bsearch: net ones the
 * engine inspects, others valid in Suricata that it does not inspect yet,
 * application layers. */
typedef struct proto_name {
    const char *name;
    gh_proto_class_t cls;
} proto_name;

static const proto_name proto_names[] = {
    {"bittorrent-dht", GH_PROTO_APP}, {"dcerpc", GH_PROTO_APP},   {"dhcp", GH_PROTO_APP},
    {"dnp3", GH_PROTO_APP},           {"dns", GH_PROTO_APP},      {"doh2", GH_PROTO_APP},
    {"enip", GH_PROTO_APP},           {"ftp", GH_PROTO_APP},      {"ftp-data", GH_PROTO_APP},
    {"http", GH_PROTO_APP},           {"http1", GH_PROTO_APP},    {"http2", GH_PROTO_APP},
    {"icmp", GH_PROTO_NET},           {"icmpv4", GH_PROTO_NET},   {"icmpv6", GH_PROTO_NET},
    {"ike", GH_PROTO_APP},            {"ikev2", GH_PROTO_APP},    {"imap", GH_PROTO_APP},
    {"ip", GH_PROTO_NET},             {"ip4", GH_PROTO_NET},      {"ip6", GH_PROTO_NET},
    {"ipv4", GH_PROTO_NET},           {"ipv6", GH_PROTO_NET},     {"krb5", GH_PROTO_APP},
    {"ldap", GH_PROTO_APP},           {"llmnr", GH_PROTO_APP},    {"mdns", GH_PROTO_APP},
    {"modbus", GH_PROTO_APP},         {"mqtt", GH_PROTO_APP},     {"mysql", GH_PROTO_APP},
    {"nfs", GH_PROTO_APP},            {"ntp", GH_PROTO_APP},      {"pgsql", GH_PROTO_APP},
    {"pkthdr", GH_PROTO_OTHER},       {"pop3", GH_PROTO_APP},     {"quic", GH_PROTO_APP},
    {"rdp", GH_PROTO_APP},            {"rfb", GH_PROTO_APP},      {"sctp", GH_PROTO_OTHER},
    {"sip", GH_PROTO_APP},            {"smb", GH_PROTO_APP},      {"smtp", GH_PROTO_APP},
    {"snmp", GH_PROTO_APP},           {"ssh", GH_PROTO_APP},      {"tcp", GH_PROTO_NET},
    {"tcp-pkt", GH_PROTO_NET},        {"tcp-stream", GH_PROTO_NET}, {"telnet", GH_PROTO_APP},
    {"template", GH_PROTO_APP},       {"tftp", GH_PROTO_APP},     {"tls", GH_PROTO_APP},
    {"udp", GH_PROTO_NET},            {"websocket", GH_PROTO_APP},
};

static int proto_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const proto_name *)elem)->name);
}

/* A rule's protocol name, any case: a lookup in the sorted table (every
 * rule asks several times; a walk of the lists with strcasecmp was 3% of a
 * warm load of all of ET Open). */
gh_proto_class_t gh_proto_class(const char *name)
{
    char low[16];
    size_t n = 0;
    for (; name[n]; n++) {
        if (n + 1 >= sizeof(low))
            return GH_PROTO_UNKNOWN;
        low[n] = (char)tolower((unsigned char)name[n]);
    }
    low[n] = '\0';
    const proto_name *p = bsearch(low, proto_names, sizeof(proto_names) / sizeof(proto_names[0]),
                                  sizeof(proto_names[0]), proto_cmp);
    return p ? p->cls : GH_PROTO_UNKNOWN;
}

/* ---- entry points ------------------------------------------------------------ */

/* A file whose path is @path (NULL: a copy of @name in its arena). */
static gh_rule_file *parse_into(const char *name, const char *path, const char *text,
                                size_t len, uint32_t line0, gh_rule_tier tier, gh_error *err)
{
    gh_rule_file *f = calloc(1, sizeof(*f));
    gh_arena *a = gh_arena_new(2 * len); /* all of ET Open: 2.8 bytes a byte of text */
    if (!f || !a) {
        free(f);
        gh_arena_free(a);
        gh_error_set(err, GH_E_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    f->internal_ = a;
    f->tier = tier;
    f->path = path ? path : (f->path_copy_ = strdup(name));
    if (!f->path)
        goto nomem;
    parser P = {.f = f, .a = a};
    parse_text(&P, text, len, line0);
    free(P.buf);
    free(P.lines);
    free(P.cols);
    free(P.opts);
    if (P.oom)
        goto nomem;
    return f;
nomem:
    gh_rule_file_free(f);
    gh_error_set(err, GH_E_NOMEM, "%s: out of memory", name);
    return NULL;
}

gh_rule_file *gh_rules_parse_buffer(const char *name, const char *text, size_t len,
                                    gh_rule_tier tier, gh_error *err)
{
    return parse_into(name, NULL, text, len, 0, tier, err);
}

gh_rule_file *gh_rules_parse_part(const char *path, const char *text, size_t len,
                                  uint32_t line0, gh_rule_tier tier, gh_error *err)
{
    return parse_into(path, path, text, len, line0, tier, err);
}

int gh_rules_read_text(const char *path, gh_mem_file *text, gh_error *err)
{
    if (gh_mem_file_read(path, text) == 0)
        return 0;
    if (errno == ENOMEM)
        gh_error_set(err, GH_E_NOMEM, "%s: out of memory", path);
    else
        gh_error_set(err, GH_E_IO, "%s: %s", path, strerror(errno));
    return -1;
}

gh_rule_file *gh_rules_parse_file(const char *path, gh_rule_tier tier, gh_error *err)
{
    gh_mem_file text;
    if (gh_rules_read_text(path, &text, err) != 0)
        return NULL;
    gh_rule_file *f = gh_rules_parse_buffer(path, text.p, text.len, tier, err);
    gh_mem_file_free(&text);
    return f;
}

void gh_rule_file_free(gh_rule_file *f)
{
    if (!f)
        return;
    gh_rule_file_release(f);
    free(f->errors);
    free(f->path_copy_);
    free(f);
    gh_mem_chunks_trim(); /* the arena's chunks: no load goes on to reuse them */
}

void gh_rule_file_release(gh_rule_file *f)
{
    free(f->rules);
    f->rules = NULL;
    f->n_rules = 0;
    free(f->unsupported_kw); /* its names may be in the arena */
    f->unsupported_kw = NULL;
    f->n_unsupported_kw = 0;
    gh_arena_free(f->internal_);
    f->internal_ = NULL;
}
