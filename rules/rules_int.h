/* Rule language internals shared by the files of rules/: the allocation
 * arena, source positions, the expression parser, the variable table and
 * small text helpers. Not installed. */
#ifndef GATEHOUSE_RULES_INT_H
#define GATEHOUSE_RULES_INT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/buffer.h"
#include "gatehouse/rules.h"

/* ---- arena: every node of a parse tree lives in one, freed at once ------ */

typedef struct gh_arena gh_arena;

/* @p expect: about how many bytes it will hold (0: not known). Chunks grow
 * from 64 KiB to 2 MiB, or are 2 MiB from the start when @p expect is
 * larger (each 4 KiB page of the small ones is a page fault). */
gh_arena *gh_arena_new(size_t expect);
/* Zeroed, 16-byte aligned; NULL when memory runs out. */
void *gh_arena_alloc(gh_arena *a, size_t n);
char *gh_arena_strndup(gh_arena *a, const char *s, size_t n);
/* @p n zeroed bytes for text: not aligned. */
char *gh_arena_stralloc(gh_arena *a, size_t n);
/* gh_rule_unquote into the arena. */
char *gh_arena_unquote(gh_arena *a, const char *v);
void gh_arena_free(gh_arena *a);
/* Threads to use: @p jobs, or one per online CPU when it is 0. */
unsigned gh_load_threads(unsigned jobs);

/* Move every block of @src into @dst (which frees them) and free @src. */
void gh_arena_adopt(gh_arena *dst, gh_arena *src);

/* Interned strings: one copy of each distinct string, freed all at once
 * (the file, protocol and classtype of thousands of signatures). */
typedef struct gh_strpool gh_strpool;
gh_strpool *gh_strpool_new(void);
/* The pool's copy of @s; NULL when memory runs out. */
const char *gh_strpool_get(gh_strpool *p, const char *s);
/* Move @src's strings into @dst (their addresses stay valid) and free @src. */
void gh_strpool_merge(gh_strpool *dst, gh_strpool *src);
void gh_strpool_free(gh_strpool *p);

/* ---- parsing and checking in parts (load.c) --------------------------------- */

/* Map or read the rule file @path: 0, or -1 with @err naming it. */
struct gh_mem_file;
int gh_rules_read_text(const char *path, struct gh_mem_file *text, gh_error *err);

/* Parse @text, lines @line0 + 1... of the file @path, which the result
 * borrows (it must outlive the result). */
gh_rule_file *gh_rules_parse_part(const char *path, const char *text, size_t len,
                                  uint32_t line0, gh_rule_tier tier, gh_error *err);
/* gh_rules_check in two steps: every rule on its own (any part of a file,
 * the keyword tallies unsorted), then what spans the file: duplicate sids,
 * the errors in position order, the tallies most used first. */
int gh_rules_check_rules(gh_rule_file *f, const gh_rule_vars *vars);
int gh_rules_check_finish(gh_rule_file *f);

/* ---- growable byte buffer ------------------------------------------------ */

typedef struct gh_sbuf {
    char *p;
    size_t len, cap;
    bool oom; /* an append failed; p holds what fit */
} gh_sbuf;

void gh_sbuf_put(gh_sbuf *b, const char *s, size_t n);
void gh_sbuf_puts(gh_sbuf *b, const char *s);
void gh_sbuf_putc(gh_sbuf *b, char c);

/* ---- source text and positions ------------------------------------------ */

/* A logical rule line (continuation lines joined) or any other text, with
 * the physical position of every byte. When lines/cols are NULL, byte i is
 * at (line0, col0 + i). */
typedef struct gh_src {
    const char *file;
    const char *s;
    size_t len;
    const uint32_t *lines, *cols;
    uint32_t line0, col0;
} gh_src;

/* Position of byte @off (off == len: just after the last byte). */
gh_rule_loc gh_src_loc(const gh_src *v, size_t off);

/* ---- errors ---------------------------------------------------------------- */

void gh_rerr_set(gh_rule_error *e, gh_rule_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gh_rerr_vset(gh_rule_error *e, gh_rule_loc loc, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Copy a token for a message, shortened to fit in @n with "..." when long. */
const char *gh_tok(char *buf, size_t n, const char *s, size_t len);

/* Marker message for "memory ran out" (callers turn it into GH_E_NOMEM). */
#define GH_RERR_NOMEM "out of memory"
bool gh_rerr_is_nomem(const gh_rule_error *e);

static inline bool gh_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* ---- expressions ------------------------------------------------------------ */

/* Parse the expression in v->s[b, e): whitespace is insignificant, one '!'
 * may precede any element, lists nest. Returns NULL with @err filled on a
 * syntax error (GH_RERR_NOMEM when memory runs out). */
gh_rule_expr *gh_expr_parse(gh_arena *a, const gh_src *v, size_t b, size_t e,
                            gh_rule_expr_ctx ctx, gh_rule_error *err);

/* Append the canonical text of @x ("!"?, leaf as written or "[a,b]"). */
void gh_expr_format(gh_sbuf *b, const gh_rule_expr *x);

/* ---- variables ------------------------------------------------------------ */

/* One variable: its value as written and both readings of it, parsed once. */
typedef struct gh_var {
    const char *name;
    uint32_t name_hash;        /* gh_vars_lookup compares it before the name */
    const char *value;
    gh_rule_loc loc;           /* of the value */
    gh_rule_expr *as_addr;     /* NULL: addr_err says why */
    gh_rule_expr *as_port;
    gh_rule_error addr_err, port_err;
    /* The value evaluated as addresses [0] and as ports [1], kept by the
     * first evaluation that succeeds (resolve.c) so that the thousands of
     * rules naming $HOME_NET share one; cleared when any variable changes. */
    _Atomic(struct gh_var_memo *) memo[2];
} gh_var;

const gh_var *gh_vars_lookup(const gh_rule_vars *v, const char *name);
/* resolve.c: drop @v's evaluated values. */
void gh_var_memo_clear(gh_var *v);

/* Whether @p s equals one of the @p n names in @p list, ignoring case. */
bool gh_name_in(const char *s, const char *const *list, size_t n);
#define GH_NAME_IN(s, list) gh_name_in((s), (list), sizeof(list) / sizeof((list)[0]))

/* Whether the '"' at s[i], inside a quoted option value, ends the string. */
bool gh_quote_closes(const char *s, size_t i, size_t n);

/* ---- protocols ---------------------------------------------------------- */

typedef enum gh_proto_class_t {
    GH_PROTO_UNKNOWN,
    GH_PROTO_NET,   /* ip, tcp, udp, icmp*, tcp-pkt, tcp-stream: inspected by the engine */
    GH_PROTO_OTHER, /* sctp, pkthdr: valid, not inspected yet */
    GH_PROTO_APP,   /* app-layer protocols (http, dns, tls, ...) */
} gh_proto_class_t;

gh_proto_class_t gh_proto_class(const char *name);

/* ---- keywords ------------------------------------------------------------ */

/* The signature list Suricata files a keyword's match under, which decides
 * the signature's type (sigtype.c). */
typedef enum gh_kw_list {
    KL_UNKNOWN,   /* not a keyword we know */
    KL_NONE,      /* no list: metadata, content modifiers, transforms, flags */
    KL_MATCH,     /* packet/flow match (Suricata's MATCH list) */
    KL_MATCH_PKT, /* ... that needs a packet: "require packet" (ttl, flags, dsize) */
    KL_IPONLY,    /* compatible with IP-only signatures (ip_proto, xbits, threshold, tag) */
    KL_FLOW,      /* flow: a match; no_stream/only_stream require packet/stream */
    KL_FLOWBITS,  /* flowbits: IP-only compatible for set and noalert, else a match */
    KL_PMATCH,    /* payload keyword, inspecting the current buffer (content, pcre) */
    KL_APP,       /* an application-layer buffer or list (sticky, modifier or own) */
    KL_PKT_BUF,   /* a packet buffer (ipv4.hdr, tcp.hdr): sticky */
    KL_DERIVED,   /* a buffer derived from the payload (base64_data): sticky, its own list */
    KL_PAYLOAD,   /* pkt_data: back to the payload */
    KL_PD,        /* app-layer-protocol */
    KL_DE,        /* decode-event (engine-event and stream-event are matches) */
} gh_kw_list;

/* 1 + the keyword table entry of @p name (any case), 0: unknown; the
 * parser keeps it in gh_rule_option.kw_ so that later passes need no lookup. */
uint16_t gh_kw_index(const char *name);
/* The same for @p name[0..n); *@p canon: the table's own copy of the name
 * when @p name is written exactly so (lower case), else NULL. */
uint16_t gh_kw_index_n(const char *name, size_t n, const char **canon);

gh_kw_list gh_kw_list_of(const gh_rule_option *o);

/* What a keyword does to the buffer later payload keywords inspect. */
typedef enum gh_kw_role {
    GH_KWR_NONE,
    GH_KWR_STICKY,    /* sticky buffer (http.uri, file.data, pkt_data): *buf */
    GH_KWR_MODIFIER,  /* legacy modifier: moves the previous content to *buf */
    GH_KWR_CONTENT,   /* a content of its own buffer (uricontent): *buf */
    GH_KWR_TRANSFORM, /* transforms the current sticky buffer */
} gh_kw_role;

/* The keywords the checker and the compiler handle one by one; the others
 * go by their table entry alone (role, buffer, field). The header keywords
 * (FLOW ... IP_PROTO) are those gh_hdr_match_add knows. */
typedef enum gh_kw_id {
    GH_KWID_OTHER = 0, /* any other keyword, or unknown */
    GH_KWID_MSG, GH_KWID_SID, GH_KWID_GID, GH_KWID_REV, GH_KWID_CLASSTYPE, GH_KWID_PRIORITY,
    GH_KWID_REFERENCE, GH_KWID_METADATA, GH_KWID_TARGET,
    GH_KWID_FLOW, GH_KWID_FLAGS, GH_KWID_FRAGBITS, GH_KWID_TTL, GH_KWID_DSIZE, GH_KWID_ITYPE,
    GH_KWID_ICODE, GH_KWID_IP_PROTO,
    GH_KWID_CONTENT, GH_KWID_URICONTENT, GH_KWID_PCRE,
    GH_KWID_NOCASE, GH_KWID_RAWBYTES, GH_KWID_OFFSET, GH_KWID_DEPTH, GH_KWID_DISTANCE,
    GH_KWID_WITHIN, GH_KWID_STARTSWITH, GH_KWID_ENDSWITH, GH_KWID_FAST_PATTERN,
    GH_KWID_BSIZE, GH_KWID_URILEN, GH_KWID_APP_LAYER_PROTOCOL, GH_KWID_FLOWBITS,
    GH_KWID_FLOWINT, GH_KWID_XBITS, GH_KWID_APP_LAYER_EVENT, GH_KWID_STREAM_SIZE,
    GH_KWID_NOALERT, GH_KWID_THRESHOLD, GH_KWID_DETECTION_FILTER, GH_KWID_TAG,
    GH_KWID_BASE64_DECODE, GH_KWID_BASE64_DATA, GH_KWID_ISDATAAT, GH_KWID_BYTE_TEST,
    GH_KWID_BYTE_JUMP, GH_KWID_BYTE_EXTRACT, GH_KWID_BYTE_MATH,
} gh_kw_id;

#define GH_KWID_IS_META(id) ((id) >= GH_KWID_MSG && (id) <= GH_KWID_TARGET)
#define GH_KWID_IS_HDR(id) ((id) >= GH_KWID_FLOW && (id) <= GH_KWID_IP_PROTO)
#define GH_KWID_IS_CMOD(id) ((id) >= GH_KWID_NOCASE && (id) <= GH_KWID_FAST_PATTERN)

/* What the compiler needs to know of an option name, in one lookup. */
typedef struct gh_kw_desc {
    gh_kw_id id;
    gh_kw_role role;   /* what it does to the buffer later keywords inspect */
    gh_buffer_id buf;  /* its buffer (STICKY, MODIFIER, CONTENT); GH_BUF_PAYLOAD when unsupported */
    bool is_field;     /* compares the transaction field @field (dns.opcode, ssl_state) */
    gh_field_id field;
} gh_kw_desc;

void gh_kw_describe(const gh_rule_option *o, gh_kw_desc *d);

/* The application-layer protocol (gh_alproto) a rule protocol name or an
 * app-layer-protocol value names among those the engine parses, 0: none. */
uint8_t gh_app_proto_of(const char *name);

/* A signature that requires both the packet (tcp-pkt, flow:no_stream, a
 * packet keyword such as dsize or ttl) and the stream (tcp-stream,
 * flow:only_stream), which Suricata refuses: true with the later of the two
 * in @p loc and a message. */
bool gh_sig_require_conflict(const gh_rule *r, gh_rule_loc *loc, char *msg, size_t n);

/* Read text file @p path line by line: @p fn gets each line (with its end of
 * line, @p len bytes, NUL-terminated) and its 1-based number, and stops the
 * reading by returning anything but GH_OK, which is then returned. A file
 * that cannot be opened or read is GH_E_IO with @p err naming it. */
typedef int (*gh_line_fn)(void *ctx, char *line, size_t len, uint32_t lineno, gh_error *err);
int gh_rule_read_lines(const char *path, gh_line_fn fn, void *ctx, gh_error *err);

#endif
