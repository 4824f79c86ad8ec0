/* gatehouse: the firewall tier (SPI fast path). Header-only rules from -F
 * files, first match in file order, then the default policy. Compiled once
 * into classifier structures (never a loop over rules) and read-only after;
 * any number of workers may classify concurrently. */
#ifndef GATEHOUSE_FIREWALL_H
#define GATEHOUSE_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/decode.h"
#include "gatehouse/rules.h"

typedef enum gh_fw_action {
    GH_FW_ACCEPT = 1, /* allowed; the flow is remembered; DPI still inspects it */
    GH_FW_PASS = 2,   /* allowed and trusted: DPI never sees the flow */
    GH_FW_DROP = 3,   /* discarded */
    GH_FW_REJECT = 4, /* discarded, the sender told (RST / ICMP unreachable) */
} gh_fw_action;

/** "accept", "pass", "drop", "reject". */
GH_API const char *gh_fw_action_name(gh_fw_action a);

#define GH_FW_NOMATCH UINT32_MAX

/** What the table reports about one compiled rule. */
typedef struct gh_fw_rule_info {
    gh_fw_action action;
    uint32_t sid, gid, rev;
    const char *msg;   /* "" when the rule has none */
    const char *file;
    uint32_t line;
} gh_fw_rule_info;

/** The flow table's view of a packet, for the flow keyword. */
typedef struct gh_fw_state {
    bool has_flow;
    bool established;
    bool to_server;
} gh_fw_state;

typedef struct gh_fw gh_fw;

/**
 * Compile the rules of @p files (in order: file order then line order) with
 * variables @p vars. Every problem is appended to @p errs (grown with
 * realloc; caller frees) with its file:line:col; when any error is found
 * the result is NULL. On memory failure NULL with @p err filled.
 * Files must already have passed gh_rules_check without errors.
 */
GH_API gh_fw *gh_fw_compile(gh_rule_file *const *files, size_t nfiles, const gh_rule_vars *vars,
                            gh_rule_error **errs, size_t *nerrs, gh_error *err);

/** Index of the first rule matching @p p (in state @p st), or GH_FW_NOMATCH.
 *  Non-IP packets never match. */
GH_API uint32_t gh_fw_classify(const gh_fw *fw, const gh_packet *p, const gh_fw_state *st);

/** gh_fw_classify for @p n packets (n <= 64) with their states; the
 *  classifier lookups of IPv4 packets go in one burst. */
GH_API void gh_fw_classify_burst(const gh_fw *fw, const gh_packet *const *pkts,
                                 const gh_fw_state *st, size_t n, uint32_t *out);

/** Number of rules, and one rule's description (index < count). */
GH_API size_t gh_fw_rule_count(const gh_fw *fw);
GH_API const gh_fw_rule_info *gh_fw_rule(const gh_fw *fw, uint32_t idx);

/** Compile statistics: classifier boxes per family and bytes used. */
typedef struct gh_fw_stats {
    size_t rules, boxes_v4, boxes_v6, memory_bytes;
} gh_fw_stats;
GH_API void gh_fw_get_stats(const gh_fw *fw, gh_fw_stats *st);

/** Free; NULL is fine. */
GH_API void gh_fw_free(gh_fw *fw);

#endif
