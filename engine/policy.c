/* Failure policies: names, parsing and the defaults of each mode. */
#include <string.h>

#include "gatehouse/policy.h"

static const char *const policy_opt[] = {
#define GH_X_NAME(e, opt, name) opt,
    GH_EXC_POLICY_LIST(GH_X_NAME)
#undef GH_X_NAME
};
static const char *const policy_ctr[] = {
#define GH_X_NAME(e, opt, name) name,
    GH_EXC_POLICY_LIST(GH_X_NAME)
#undef GH_X_NAME
};
static const char *const cond_opt[] = {
#define GH_X_NAME(e, opt, name, pkt) opt,
    GH_EXC_COND_LIST(GH_X_NAME)
#undef GH_X_NAME
};
static const char *const cond_target[] = {
#define GH_X_NAME(e, opt, name, pkt) name,
    GH_EXC_COND_LIST(GH_X_NAME)
#undef GH_X_NAME
};
static const bool cond_packet_only[] = {
#define GH_X_PKT(e, opt, name, pkt) pkt,
    GH_EXC_COND_LIST(GH_X_PKT)
#undef GH_X_PKT
};

const char *gh_exc_policy_name(gh_exc_policy p, bool counter_name)
{
    if ((unsigned)p >= GH_EXC_POLICY_COUNT)
        return "?";
    return counter_name ? policy_ctr[p] : policy_opt[p];
}

const char *gh_exc_cond_name(gh_exc_cond c, bool target)
{
    if ((unsigned)c >= GH_EXC_COND_COUNT)
        return "?";
    return target ? cond_target[c] : cond_opt[c];
}

bool gh_exc_policy_parse(const char *s, gh_exc_policy *out)
{
    for (unsigned i = 0; i < GH_EXC_POLICY_COUNT; i++) {
        if (strcmp(s, policy_opt[i]) == 0) {
            *out = (gh_exc_policy)i;
            return true;
        }
    }
    return false;
}

/* Suricata's "auto": fail closed inline, ignore otherwise. Midstream stays
 * ignore inline too: a reload (or restart) starts a fresh flow table, and
 * dropping every connection open across it would make reloads an outage.
 * The decompression cap is hit by ordinary pages (1 MiB decompressed);
 * the bytes before it were inspected, as Suricata (which has no policy
 * for it) does. */
static gh_exc_policy auto_policy(gh_exc_cond c, bool ips)
{
    if (!ips || c == GH_EXC_COND_MIDSTREAM || c == GH_EXC_COND_DECOMPRESS_CAP)
        return GH_EXC_IGNORE;
    return c == GH_EXC_COND_FLOW_FULL ? GH_EXC_DROP_PACKET : GH_EXC_DROP_FLOW;
}

static gh_exc_policy fit(gh_exc_cond c, gh_exc_policy p)
{
    if (cond_packet_only[c]) {
        if (p == GH_EXC_DROP_FLOW)
            return GH_EXC_DROP_PACKET;
        if (p == GH_EXC_PASS_FLOW || p == GH_EXC_BYPASS)
            return GH_EXC_PASS_PACKET;
    } else if (c == GH_EXC_COND_MIDSTREAM) {
        if (p == GH_EXC_DROP_PACKET)
            return GH_EXC_DROP_FLOW;
        if (p == GH_EXC_PASS_PACKET)
            return GH_EXC_PASS_FLOW;
    }
    return p;
}

void gh_exc_resolve(gh_exc_config *cfg, gh_exc_policy master, bool ips)
{
    for (unsigned c = 0; c < GH_EXC_COND_COUNT; c++) {
        gh_exc_policy p = cfg->on[c] != GH_EXC_AUTO ? cfg->on[c] : master;
        if (p == GH_EXC_AUTO)
            p = auto_policy((gh_exc_cond)c, ips);
        cfg->on[c] = fit((gh_exc_cond)c, p);
    }
}
