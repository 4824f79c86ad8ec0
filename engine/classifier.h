/* Packet classifier: first match over multi-field range rules.
 *
 * Internal to libgatehouse. The firewall tier compiles its header rules into
 * "boxes" (one range per field; a rule with address or port lists, or
 * negations, becomes several boxes carrying the same priority) and builds a
 * classifier over them. Build is slow and allocates; lookup is read-only,
 * allocation-free and safe from any number of threads.
 *
 * Field layout is chosen by the caller (the firewall uses, for IPv4:
 * proto, src, dst, sport, dport; for IPv6: proto, src words 0-3, dst words
 * 0-3, sport, dport; a CIDR prefix splits exactly into per-word ranges). */
#ifndef GATEHOUSE_CLASSIFIER_H
#define GATEHOUSE_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "gatehouse/common.h"

#define GH_CLS_MAX_FIELDS 12
#define GH_CLS_NOMATCH UINT32_MAX

/** One box: matches a key k iff lo[f] <= k[f] <= hi[f] for every field. */
typedef struct gh_cls_rule {
    uint32_t priority;  /**< lower wins; the value lookup returns */
    uint32_t lo[GH_CLS_MAX_FIELDS];
    uint32_t hi[GH_CLS_MAX_FIELDS];
} gh_cls_rule;

typedef struct gh_classifier gh_classifier;

/**
 * Build a classifier over @p n boxes of @p nfields fields (1..GH_CLS_MAX_FIELDS).
 * The rules are copied; the caller keeps ownership of @p rules.
 * Returns NULL and fills @p err on failure (e.g. a memory limit).
 */
gh_classifier *gh_cls_build(const gh_cls_rule *rules, size_t n, unsigned nfields, gh_error *err);

/** Priority of the best (lowest-priority-value) box containing @p key, or GH_CLS_NOMATCH. */
uint32_t gh_cls_lookup(const gh_classifier *c, const uint32_t *key);

/**
 * Classify @p n keys laid out one after another (n * nfields words) into
 * @p out; same results as calling gh_cls_lookup on each, faster.
 */
void gh_cls_lookup_burst(const gh_classifier *c, const uint32_t *keys, size_t n, uint32_t *out);

/** Bytes the built structure uses. */
size_t gh_cls_memory(const gh_classifier *c);

/** Number of fields the classifier was built for. */
unsigned gh_cls_nfields(const gh_classifier *c);

/** Free; NULL is fine. */
void gh_cls_free(gh_classifier *c);

/** Reference: a plain first-match scan (the differential tests' oracle). */
uint32_t gh_cls_linear_lookup(const gh_cls_rule *rules, size_t n, unsigned nfields,
                              const uint32_t *key);

#endif
