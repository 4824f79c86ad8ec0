/* The options of failure policies and pool limits, which pcap and nfq
 * share (GH_CLI_LIMIT_OPTIONS in cli.h is their one table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void gh_cli_limits_init(gh_cli_limits *l)
{
    l->master = GH_EXC_AUTO;
    for (int c = 0; c < GH_EXC_COND_COUNT; c++)
        l->exc.on[c] = GH_EXC_AUTO;
}

/* A count from 1 to @p max. */
static bool parse_count(const char *arg, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (end == arg || *end || arg[0] == '-' || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* Bytes, with an optional k, m or g suffix (powers of 1024). */
static bool parse_size(const char *arg, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (end == arg || arg[0] == '-')
        return false;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end || v == 0 || v > (max >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static bool policy_arg(const char *prog, const char *opt, const char *arg, gh_exc_policy *out)
{
    if (gh_exc_policy_parse(arg, out))
        return true;
    fprintf(stderr, "%s: %s: unknown policy '%s' (auto, ignore, pass-packet, pass-flow, "
                    "bypass, drop-packet or drop-flow)\n", prog, opt, arg);
    return false;
}

int gh_cli_limit_option(const char *prog, int opt, const char *arg, gh_cli_limits *l,
                        gh_engine_config *cfg)
{
    uint64_t v = 0;
    if (opt >= GH_CLI_OPT_ON && opt < GH_CLI_OPT_ON + GH_EXC_COND_COUNT) {
        char name[40];
        snprintf(name, sizeof(name), "--on-%s", gh_exc_cond_name(opt - GH_CLI_OPT_ON, false));
        return policy_arg(prog, name, arg, &l->exc.on[opt - GH_CLI_OPT_ON]) ? 1 : -1;
    }
    switch (opt) {
    case GH_CLI_OPT_EXC_POLICY:
        return policy_arg(prog, "--exception-policy", arg, &l->master) ? 1 : -1;
    case GH_CLI_OPT_MAX_FLOWS:
        if (!parse_count(arg, GH_FLOW_MAX_FLOWS_LIMIT, &v))
            break;
        cfg->flow.max_flows = (uint32_t)v;
        return 1;
    case GH_CLI_OPT_FLOW_MEMCAP:
        if (!parse_size(arg, (uint64_t)1 << 40, &v))
            break;
        cfg->flow.memcap = (size_t)v;
        return 1;
    case GH_CLI_OPT_STREAM_MEMCAP:
        if (!parse_size(arg, (uint64_t)1 << 40, &v))
            break;
        cfg->stream_memcap = (size_t)v;
        return 1;
    case GH_CLI_OPT_STREAM_FLOWS:
        if (!parse_count(arg, 1u << 24, &v))
            break;
        cfg->stream_flows = (uint32_t)v;
        return 1;
    case GH_CLI_OPT_APP_FLOWS:
        if (!parse_count(arg, 1u << 24, &v))
            break;
        cfg->app_flows = (uint32_t)v;
        return 1;
    case GH_CLI_OPT_DECOMPRESS_CAP:
        if (!parse_size(arg, (uint64_t)1 << 30, &v))
            break;
        cfg->decompress_limit = (uint32_t)v;
        return 1;
    default:
        return 0;
    }
    const char *what = opt == GH_CLI_OPT_MAX_FLOWS ? "--max-flows takes 1 to 2^30 flows"
                     : opt == GH_CLI_OPT_STREAM_FLOWS ? "--stream-max-flows takes 1 to 2^24"
                     : opt == GH_CLI_OPT_APP_FLOWS ? "--app-max-flows takes 1 to 2^24"
                     : opt == GH_CLI_OPT_DECOMPRESS_CAP
                         ? "--decompress-cap takes 1 byte to 1g (k, m, g suffixes)"
                         : "a memcap takes 1 byte to 1024g (k, m, g suffixes)";
    fprintf(stderr, "%s: %s, not '%s'\n", prog, what, arg);
    return -1;
}

void gh_cli_limits_apply(const gh_cli_limits *l, gh_engine_config *cfg, bool ips)
{
    cfg->exc = l->exc;
    gh_exc_resolve(&cfg->exc, l->master, ips);
}

void gh_cli_limits_usage(FILE *out, const char *mode_default)
{
    fprintf(out,
            "Failure policies (see README \"Failure policies\"): what happens to a packet\n"
            "and its flow when a limit is hit or a parser gives up. POLICY is ignore,\n"
            "pass-packet, pass-flow, bypass (the flow goes on uninspected), drop-packet,\n"
            "drop-flow (the rest of the flow is dropped) or auto (%s).\n"
            "      --exception-policy POLICY  every condition not set below\n"
            "      --on-flow-full POLICY    the flow table holds --max-flows live flows\n"
            "      --on-stream-memcap POLICY  no stream state (--stream-max-flows) or\n"
            "                           reassembly memory (--stream-memcap) left\n"
            "      --on-app-memcap POLICY   no parser state left (--app-max-flows)\n"
            "      --on-app-error POLICY    a parser stopped on a protocol error\n"
            "      --on-midstream POLICY    a TCP flow picked up without its handshake\n"
            "      --on-decompress-cap POLICY  a body's decoding stopped at its cap\n"
            "      --max-flows N        flows per worker (default %u)\n"
            "      --flow-memcap SIZE   bytes of flow table per worker (k, m, g)\n"
            "      --stream-max-flows N  flows with stream state per worker (default 8192)\n"
            "      --stream-memcap SIZE  out-of-order bytes reassembly holds per worker\n"
            "                           (default 64m)\n"
            "      --app-max-flows N    parser states per worker (default: stream flows)\n"
            "      --decompress-cap SIZE  decompressed bytes per HTTP body (default 1m)\n",
            mode_default, GH_FLOW_DEFAULT_MAX_FLOWS);
}
