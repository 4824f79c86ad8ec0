/* gatehouse: the rule language. Suricata's syntax (a superset of Snort 2's)
 * parsed into a tree whose every token keeps its file, line and column;
 * rule variables ($HOME_NET, ...); evaluation of address and port
 * expressions into sorted, disjoint ranges; and the checks behind
 * `gatehouse check` (firewall/signature tiers, keyword values).
 *
 * Compile, then run: this is the front half of the rule compiler. The
 * parse tree is read-only for callers and owned by its gh_rule_file.
 *
 * Errors: syntax and check errors are structured (gh_rule_error: file, line,
 * column, message naming the offending token) and collected in the
 * gh_rule_file; the parser recovers at the next rule, so every error of a
 * file is reported. I/O and allocation failures use the gh_error convention
 * (constructors return NULL, other functions a negative GH_E_*).
 */
#ifndef GATEHOUSE_RULES_H
#define GATEHOUSE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gatehouse/common.h"

/* ---- positions and errors ------------------------------------------------ */

/** Where a token starts. @c file is owned by the structure holding the
 * token (the gh_rule_file, the gh_rule_vars, or a standalone expression);
 * @c line and @c col are 1-based, columns count bytes. */
typedef struct gh_rule_loc {
    const char *file;
    uint32_t line;
    uint32_t col;
} gh_rule_loc;

#define GH_RULE_MSG_MAX 384

/** One compile error: print as "file:line:col: message". */
typedef struct gh_rule_error {
    gh_rule_loc loc;
    char message[GH_RULE_MSG_MAX];
} gh_rule_error;

/** Append an error at @p loc to the growable array *errs (*nerrs entries;
 *  realloc'd, the caller frees). When memory runs out the error is dropped:
 *  the caller has already failed for the error it was reporting. */
GH_API void gh_rule_error_append(gh_rule_error **errs, size_t *nerrs, gh_rule_loc loc,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- the parse tree ------------------------------------------------------ */

/** The two rule tiers (DESIGN.md section 2): they differ in the actions and
 * options they allow, checked by gh_rules_check. */
typedef enum gh_rule_tier {
    GH_RULE_TIER_SIGNATURE = 0, /**< -S: DPI signatures */
    GH_RULE_TIER_FIREWALL = 1,  /**< -F: header-only firewall rules */
} gh_rule_tier;

typedef enum gh_rule_action {
    GH_ACTION_ALERT,
    GH_ACTION_PASS,
    GH_ACTION_DROP,
    GH_ACTION_REJECT,
    GH_ACTION_REJECTSRC,
    GH_ACTION_REJECTDST,
    GH_ACTION_REJECTBOTH,
    GH_ACTION_ACCEPT, /**< firewall tier only */
} gh_rule_action;

/** Kinds of address/port expression nodes. */
typedef enum gh_rule_expr_kind {
    GH_EXPR_ANY,  /**< "any" */
    GH_EXPR_VAR,  /**< "$NAME" */
    GH_EXPR_LIST, /**< "[a,b,...]" */
    GH_EXPR_IP4,  /**< IPv4 address, CIDR, netmask or a-b range */
    GH_EXPR_IP6,  /**< IPv6 address, prefix or a-b range */
    GH_EXPR_PORT, /**< "N", "N:", ":N", "N:M" */
} gh_rule_expr_kind;

/** Whether an expression is read as addresses or as ports. */
typedef enum gh_rule_expr_ctx {
    GH_EXPR_CTX_ADDR,
    GH_EXPR_CTX_PORT,
} gh_rule_expr_ctx;

typedef struct gh_rule_expr gh_rule_expr;

/** An address or port expression. Leaves carry their literal value already
 * parsed (v); variables are resolved only by gh_rule_eval_addr/_port. */
struct gh_rule_expr {
    gh_rule_expr_kind kind;
    bool negated;          /**< written with a leading '!' */
    gh_rule_loc loc;       /**< the token (after any '!'), or the '[' of a list */
    const char *text;      /**< leaf as written, whitespace removed ("$HOME_NET",
                                "10.0.0.0/8", "1024:"); NULL for lists */
    gh_rule_expr **items;  /**< GH_EXPR_LIST: the elements */
    size_t n_items;
    union {
        struct {
            uint32_t lo, hi; /**< host byte order, inclusive */
        } ip4;
        struct {
            uint8_t lo[16], hi[16]; /**< network byte order, inclusive */
        } ip6;
        struct {
            uint16_t lo, hi; /**< inclusive */
        } port;
    } v;
};

/** A token as written, with its position. */
typedef struct gh_rule_token {
    const char *text;
    gh_rule_loc loc;
} gh_rule_token;

/** One rule option: "name;" (value.text == NULL) or "name:value;". The value
 * is the text between ':' and the terminating ';' (which is not inside a
 * quoted string and not escaped by '\'; inside a quoted string a '"' ends
 * it only when ';' or ',' follows, as real pcre values such as
 * "/^["']?x/" need), with leading/trailing whitespace
 * removed and every run of whitespace outside double quotes replaced by one
 * space; quoted text and escapes are kept as written. */
typedef struct gh_rule_option {
    gh_rule_token name;
    gh_rule_token value;
    uint16_t kw_;                /**< private: 1 + the keyword table entry of
                                      name (set by the parser), 0: unknown */
} gh_rule_option;

/** One rule:
 * action proto src_addr src_port ->|<> dst_addr dst_port (options) */
typedef struct gh_rule {
    gh_rule_loc loc;             /**< start of the rule (its action) */
    gh_rule_action action;
    gh_rule_token action_tok;
    gh_rule_token proto;         /**< as written: "tcp", "http", "tcp-pkt", ... */
    gh_rule_expr *src_addr, *src_port;
    gh_rule_token dir;           /**< "->" or "<>" */
    bool bidirectional;          /**< "<>" */
    gh_rule_expr *dst_addr, *dst_port;
    gh_rule_option *options;     /**< in rule order */
    size_t n_options;
    /* Filled by gh_rules_check: */
    uint32_t sid, gid, rev;      /**< 0 when absent (gid defaults to 1) */
    bool has_error;              /**< gh_rules_check reported an error for it */
    const char *unsupported;     /**< first keyword (or "proto:NAME") the
                                      engine does not implement yet, or NULL */
} gh_rule;

/** How many rules use one keyword the engine does not implement yet. */
typedef struct gh_rule_kwcount {
    const char *keyword;
    size_t rules;
} gh_rule_kwcount;

/** A parsed rule file. Everything it points to is owned by it. */
typedef struct gh_rule_file {
    const char *path;            /**< the name given to the parser */
    gh_rule_tier tier;
    gh_rule *rules;              /**< rules that parsed (syntax correct) */
    size_t n_rules;
    size_t n_statements;         /**< rule statements, including ones that failed to parse */
    size_t n_disabled;           /**< commented-out rules ("#alert ...") */
    gh_rule_error *errors;       /**< sorted by position after gh_rules_check */
    size_t n_errors;
    /* Filled by gh_rules_check: */
    size_t n_unsupported;        /**< signature rules using an unimplemented keyword */
    gh_rule_kwcount *unsupported_kw; /**< per keyword, most used first */
    size_t n_unsupported_kw;
    void *internal_;             /**< private: the allocation arena */
    char *path_copy_;            /**< private: path's own copy (NULL: borrowed) */
} gh_rule_file;

/**
 * Parse a rule file. Syntax errors go to the returned file's errors (the
 * parser skips to the next rule after each); the function returns NULL and
 * fills @p err only when the file cannot be read or memory runs out.
 * The caller owns the result (gh_rule_file_free).
 */
GH_API gh_rule_file *gh_rules_parse_file(const char *path, gh_rule_tier tier, gh_error *err);

/** Same as gh_rules_parse_file for rules in memory; @p name is used in
 * positions. @p text need not be NUL-terminated and is not kept. */
GH_API gh_rule_file *gh_rules_parse_buffer(const char *name, const char *text, size_t len,
                                           gh_rule_tier tier, gh_error *err);

typedef struct gh_rule_vars gh_rule_vars;

/**
 * Check a parsed file: actions, protocols and options allowed by its tier,
 * option values (flow, flags, ttl, dsize, itype, icode, ip_proto, fragbits,
 * sid, content, pcre, ...), required sid, duplicate sids, and evaluates every
 * address and port (undefined variables, cycles, empty sets). Errors are
 * added to @p f and all errors sorted by position; fills each rule's sid,
 * gid, rev, has_error, unsupported and the file's unsupported tallies.
 * @p vars may be NULL (then any variable is undefined). Call it once per file.
 * Returns 0, or GH_E_NOMEM.
 */
GH_API int gh_rules_check(gh_rule_file *f, const gh_rule_vars *vars);

/**
 * gh_rules_parse_file then gh_rules_check, on up to @p jobs threads (0: one
 * per online CPU): a large file is cut at rule boundaries into parts that
 * are parsed and checked at the same time, then joined in file order. The
 * result is the same as the two calls': rules, errors, counts and tallies.
 * Returns NULL and fills @p err only when the file cannot be read or memory
 * runs out.
 */
GH_API gh_rule_file *gh_rules_load_file(const char *path, gh_rule_tier tier,
                                        const gh_rule_vars *vars, unsigned jobs,
                                        gh_error *err);

/** Free a rule file; NULL is fine. */
GH_API void gh_rule_file_free(gh_rule_file *f);

/** Free @p f's rules and their parse tree, the bulk of its memory, and keep
 *  the rest: path (so the positions in errors stay valid), errors and counts
 *  (n_rules becomes 0, the keyword tallies are dropped). */
GH_API void gh_rule_file_release(gh_rule_file *f);

/**
 * Format @p r in canonical form (one line, no newline):
 *   ACTION PROTO SRC SPORT DIR DST DPORT (NAME:VALUE; NAME; ...;)
 * single spaces between header fields; expressions as written without
 * whitespace ("[10.0.0.0/8,!10.1.0.0/16]", "$HOME_NET", "1024:");
 * options in rule order, each "name;" or "name:value;" (value normalized as
 * in gh_rule_option) and separated by one space; "()" when there are none.
 * Parsing the output gives the same output again. Returns a malloc'd string
 * the caller frees, or NULL when memory runs out.
 */
GH_API char *gh_rule_format(const gh_rule *r);

/** Write gh_rule_format(r) and a newline to @p out. Returns 0 or GH_E_IO/GH_E_NOMEM. */
GH_API int gh_rule_dump(FILE *out, const gh_rule *r);

/** "alert", "drop", ... */
GH_API const char *gh_rule_action_name(gh_rule_action a);

/* ---- classification.config (the classtype keyword's table) --------------- */

/** One classification: classtype SHORTNAME, its description (alert
 *  category) and priority (alert severity unless a rule sets priority). */
typedef struct gh_class_entry {
    const char *name;
    const char *description;
    uint32_t priority;
} gh_class_entry;

typedef struct gh_classification gh_classification;

/** An empty table; NULL when memory runs out. Free with gh_classification_free. */
GH_API gh_classification *gh_classification_new(void);
GH_API void gh_classification_free(gh_classification *c);

/**
 * Add the entries of @p path (Suricata's classification.config format:
 * `config classification: SHORTNAME,DESCRIPTION,PRIORITY` per line, '#'
 * comments, blank lines). The description runs to the last comma; the
 * priority is 1 to 255; a name defined again with other values is an
 * error, the same definition twice is not. Returns 0, GH_E_IO, or
 * GH_E_FORMAT with @p err saying "path:line: what" (entries before the
 * bad line stay added).
 */
GH_API int gh_classification_load(gh_classification *c, const char *path, gh_error *err);

/** The entry for classtype @p name (case-insensitive), NULL when unknown. */
GH_API const gh_class_entry *gh_classification_find(const gh_classification *c,
                                                    const char *name);
GH_API size_t gh_classification_count(const gh_classification *c);
GH_API const gh_class_entry *gh_classification_get(const gh_classification *c, size_t i);

/* ---- action order (Suricata's action-order) -------------------------------- */

/** The four action classes that precedence orders; every reject* is "reject". */
typedef enum gh_action_class {
    GH_ACTCLASS_PASS,
    GH_ACTCLASS_DROP,
    GH_ACTCLASS_REJECT,
    GH_ACTCLASS_ALERT,
    GH_ACTCLASS_N,
} gh_action_class;

/** Precedence of the signature actions: rank[class] is the class's position
 *  (0 applies first). Suricata's default is pass, drop, reject, alert. */
typedef struct gh_action_order {
    uint8_t rank[GH_ACTCLASS_N];
} gh_action_order;

/** Fill @p o with the default order pass,drop,reject,alert. */
GH_API void gh_action_order_default(gh_action_order *o);

/** Parse "drop,pass,reject,alert": each of the four classes exactly once,
 *  comma-separated (spaces around names allowed). Returns GH_E_INVAL with a
 *  message naming the bad token in @p err (may be NULL); @p o is unchanged
 *  then. */
GH_API int gh_action_order_parse(gh_action_order *o, const char *text, gh_error *err);

/** Class of a signature action (alert for accept, which signatures never have). */
GH_API gh_action_class gh_action_class_of(gh_rule_action a);

/** Write @p o as "pass,drop,reject,alert" into @p buf (at least 32 bytes). */
GH_API void gh_action_order_format(const gh_action_order *o, char *buf, size_t size);

/** An option value without its double quotes and escapes ("a \\"b\\"" -> a "b");
 *  a value without quotes is copied as is, NULL gives "". malloc'd, the
 *  caller frees; NULL when memory runs out. */
GH_API char *gh_rule_unquote(const char *value);

/** First option of @p r named @p name (case-insensitive), or NULL. */
GH_API const gh_rule_option *gh_rule_find_option(const gh_rule *r, const char *name);

/* ---- keywords ------------------------------------------------------------ */

typedef enum gh_rule_kw_status {
    GH_KW_UNKNOWN,     /**< not a Suricata keyword we know: an error */
    GH_KW_SUPPORTED,   /**< implemented by the engine */
    GH_KW_UNSUPPORTED, /**< valid Suricata, not implemented yet: rule skipped */
} gh_rule_kw_status;

/** Status of a keyword in signature rules; @p is_payload (may be NULL) is
 * set when the keyword inspects payload or app-layer data (never allowed in
 * firewall rules). */
GH_API gh_rule_kw_status gh_rule_keyword_status(const char *name, bool *is_payload);

/* ---- signature types ----------------------------------------------------- */

/** Suricata's signature types (its "Rule Types and Categorization"): where a
 *  signature is inspected and what its action applies to. */
typedef enum gh_sig_type {
    GH_SIG_TYPE_IPONLY,      /**< addresses/ports only: once per flow direction;
                                  its action applies to the flow */
    GH_SIG_TYPE_LIKE_IPONLY, /**< as IP-only with a negated address: every packet */
    GH_SIG_TYPE_PDONLY,      /**< only app-layer-protocol */
    GH_SIG_TYPE_DEONLY,      /**< only decode/engine events */
    GH_SIG_TYPE_PKT,         /**< each packet (payload or header matches) */
    GH_SIG_TYPE_PKT_STREAM,  /**< the TCP stream, then the packet */
    GH_SIG_TYPE_STREAM,      /**< the reassembled TCP stream (a packet when it has none) */
    GH_SIG_TYPE_APPLAYER,    /**< an app-layer protocol and nothing else */
    GH_SIG_TYPE_APP_TX,      /**< application-layer buffers: per transaction */
    GH_SIG_TYPE_N
} gh_sig_type;

/** Whether a pass, drop or reject of a signature of type @p t applies to its
 *  whole flow (ip_only, like_ip_only, pd_only, app_layer, app_tx); for
 *  stream and pkt_stream only a match on the reassembled stream does, for
 *  pkt and de_only never (Suricata 7's signature properties). */
GH_API bool gh_sig_type_flow_action(gh_sig_type t);

/** The type name as Suricata's engine analysis spells it ("ip_only", "pkt_stream"). */
GH_API const char *gh_sig_type_name(gh_sig_type t);

/**
 * Classify signature rule @p r (parsed; variables @p vars expand its
 * addresses, may be NULL) as Suricata 7 does, from its protocol, options
 * and addresses. Writes why into @p why (@p whylen bytes, may be NULL/0),
 * e.g. "payload; 'dsize' needs the packet".
 */
GH_API gh_sig_type gh_rule_sig_type(const gh_rule *r, const gh_rule_vars *vars, char *why,
                                    size_t whylen);

/* ---- variables ----------------------------------------------------------- */

/** An empty variable table. Returns NULL and fills @p err when memory runs out. */
GH_API gh_rule_vars *gh_rule_vars_new(gh_error *err);

/**
 * Load variables from @p path: one "NAME = VALUE" per line ('#' comments,
 * blank lines; the value may be wrapped in double quotes, as in
 * suricata.yaml). Later definitions override earlier ones. A value is
 * parsed when it is used, as an address or a port expression. Returns 0,
 * GH_E_IO, or GH_E_FORMAT with "path:line:col: message" in @p err.
 */
GH_API int gh_rule_vars_load(gh_rule_vars *v, const char *path, gh_error *err);

/** Define or override @p name (without '$') as @p value. @p origin names the
 * definition in positions (e.g. "--var"); NULL means "<var>".
 * Returns 0, GH_E_INVAL (bad name) or GH_E_NOMEM. */
GH_API int gh_rule_vars_set(gh_rule_vars *v, const char *name, const char *value,
                            const char *origin, gh_error *err);

/** The value of @p name as written, or NULL when undefined. */
GH_API const char *gh_rule_vars_get(const gh_rule_vars *v, const char *name);

/** Free a variable table; NULL is fine. */
GH_API void gh_rule_vars_free(gh_rule_vars *v);

/* ---- expressions and their evaluation ------------------------------------ */

/**
 * Parse one address or port expression, e.g. "[10.0.0.0/8,!$DNS_SERVERS]".
 * Positions use file "<expr>", line 1. Returns NULL and fills @p err on a
 * syntax error (or, with an empty message, when memory runs out); free the
 * result with gh_rule_expr_free.
 */
GH_API gh_rule_expr *gh_rule_expr_parse(const char *text, gh_rule_expr_ctx ctx,
                                        gh_rule_error *err);

/** Free an expression from gh_rule_expr_parse (not one inside a
 * gh_rule_file); NULL is fine. */
GH_API void gh_rule_expr_free(gh_rule_expr *e);

typedef struct gh_ip4_range {
    uint32_t lo, hi; /**< host byte order, inclusive */
} gh_ip4_range;

typedef struct gh_ip6_range {
    uint8_t lo[16], hi[16]; /**< network byte order, inclusive */
} gh_ip6_range;

/** A set of addresses: sorted, disjoint, non-adjacent ranges per family. */
typedef struct gh_addr_set {
    gh_ip4_range *v4;
    size_t n_v4;
    gh_ip6_range *v6;
    size_t n_v6;
} gh_addr_set;

typedef struct gh_port_range {
    uint16_t lo, hi; /**< inclusive */
} gh_port_range;

/** A set of ports: sorted, disjoint, non-adjacent ranges. */
typedef struct gh_port_set {
    gh_port_range *r;
    size_t n;
} gh_port_set;

/**
 * Evaluate an address expression. Semantics: "any" is every IPv4 and IPv6
 * address; "!X" is the complement of X; a list is the union of its
 * non-negated elements (every address when it has none) minus the union of
 * its negated ones; "$NAME" is the variable's value read as an address
 * expression. An undefined variable, a cycle, a bad literal inside a
 * variable, or an empty result (of the whole expression, of a list, or of a
 * variable) is an error at the offending token (for a variable's contents:
 * at the variable's use in @p e, the message says which variable).
 * On success fills @p out (caller frees with gh_addr_set_free) and returns 0;
 * otherwise GH_E_FORMAT with @p err filled, or GH_E_NOMEM.
 */
GH_API int gh_rule_eval_addr(const gh_rule_expr *e, const gh_rule_vars *vars,
                             gh_addr_set *out, gh_rule_error *err);

/** Evaluate a port expression (same semantics over 0..65535). */
GH_API int gh_rule_eval_port(const gh_rule_expr *e, const gh_rule_vars *vars,
                             gh_port_set *out, gh_rule_error *err);

/** Free the ranges of a set and zero it; NULL is fine. */
GH_API void gh_addr_set_free(gh_addr_set *s);
GH_API void gh_port_set_free(gh_port_set *s);

#endif
