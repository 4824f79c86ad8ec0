/* gatehouse: failure policies (Suricata's exception policies). When a
 * bounded resource runs out or a parser gives up, the configured policy of
 * that condition decides what becomes of the packet and its flow, and a
 * counter per condition and policy says so. */
#ifndef GATEHOUSE_POLICY_H
#define GATEHOUSE_POLICY_H

#include <stdbool.h>

#include "gatehouse/common.h"

/** Policies, weakest first: when several conditions hit one packet, the
 *  strongest policy applies. X(enum, option value, counter/event name). */
#define GH_EXC_POLICY_LIST(X)                                                \
    X(AUTO, "auto", "auto")                                                  \
    X(IGNORE, "ignore", "ignore")                                            \
    X(PASS_PACKET, "pass-packet", "pass_packet")                             \
    X(PASS_FLOW, "pass-flow", "pass_flow")                                   \
    X(BYPASS, "bypass", "bypass")                                            \
    X(DROP_PACKET, "drop-packet", "drop_packet")                             \
    X(DROP_FLOW, "drop-flow", "drop_flow")

typedef enum gh_exc_policy {
#define GH_X_ENUM(e, opt, name) GH_EXC_##e,
    GH_EXC_POLICY_LIST(GH_X_ENUM)
#undef GH_X_ENUM
    GH_EXC_POLICY_COUNT
} gh_exc_policy;

/** Conditions: X(enum, option suffix (--on-...), counter/event target,
 *  applies to the packet only (no flow to act on)). The targets are
 *  Suricata 8's names where Suricata has the condition. */
#define GH_EXC_COND_LIST(X)                                                  \
    X(FLOW_FULL, "flow-full", "flow_memcap", true)                           \
    X(STREAM_MEMCAP, "stream-memcap", "stream_memcap", false)                \
    X(APP_MEMCAP, "app-memcap", "app_layer_memcap", false)                   \
    X(APP_ERROR, "app-error", "app_layer_error", false)                      \
    X(MIDSTREAM, "midstream", "stream_midstream", false)                     \
    X(DECOMPRESS_CAP, "decompress-cap", "decompress_cap", false)

typedef enum gh_exc_cond {
#define GH_X_ENUM(e, opt, name, pkt) GH_EXC_COND_##e,
    GH_EXC_COND_LIST(GH_X_ENUM)
#undef GH_X_ENUM
    GH_EXC_COND_COUNT
} gh_exc_cond;

/** One policy per condition; GH_EXC_AUTO until resolved. */
typedef struct gh_exc_config {
    gh_exc_policy on[GH_EXC_COND_COUNT];
} gh_exc_config;

/** "drop-flow" (the option's spelling) or "drop_flow" (@p counter_name). */
GH_API const char *gh_exc_policy_name(gh_exc_policy p, bool counter_name);
/** "flow-full" (the option's suffix) or "flow_memcap" (@p target). */
GH_API const char *gh_exc_cond_name(gh_exc_cond c, bool target);
/** Parse an option value; false when it names no policy. */
GH_API bool gh_exc_policy_parse(const char *s, gh_exc_policy *out);

/**
 * Replace every AUTO in @p cfg with @p master (itself AUTO: the mode's
 * default), then fit each policy to its condition: a condition with no flow
 * to act on (flow-full) takes drop-flow as drop-packet and pass-flow or
 * bypass as pass-packet; midstream, a condition of the whole flow, takes
 * drop-packet as drop-flow and pass-packet as pass-flow. Defaults: @p ips
 * (inline, nfq) fails closed as Suricata's auto does (flow-full
 * drop-packet; stream-memcap, app-memcap, app-error drop-flow), except
 * midstream and decompress-cap (ignore); IDS (pcap) ignores everything.
 */
GH_API void gh_exc_resolve(gh_exc_config *cfg, gh_exc_policy master, bool ips);

#endif
