/* Counters: per worker on the packet path, summed and printed at the end. */
#include <inttypes.h>
#include <string.h>

#include "gatehouse/counters.h"
#include "detect/state.h"

static void count_linktype(gh_counters *c, uint32_t lt)
{
    for (int i = 0; i < GH_MAX_LINKTYPES; i++) {
        if (c->linktype_pkts[i] && c->linktype[i] == lt) {
            c->linktype_pkts[i]++;
            return;
        }
        if (!c->linktype_pkts[i]) {
            c->linktype[i] = lt;
            c->linktype_pkts[i] = 1;
            return;
        }
    }
    c->linktype_other++;
}

void gh_counters_add_packet(gh_counters *c, const gh_packet *p, uint32_t caplen)
{
    uint32_t l = p->layers;
    c->pkts++;
    c->bytes += caplen;
    if (caplen > c->max_pkt_size)
        c->max_pkt_size = caplen;
    count_linktype(c, p->linktype);
    c->ethernet += !!(l & GH_LAYER_ETH);
    c->vlan += !!(l & GH_LAYER_VLAN);
    c->vlan_qinq += p->vlan_count >= 2;
    c->mpls += !!(l & GH_LAYER_MPLS);
    c->pseudowire += !!(l & GH_LAYER_PW);
    c->sll += !!(l & GH_LAYER_SLL);
    c->null += !!(l & GH_LAYER_NULL);
    c->arp += !!(l & GH_LAYER_ARP);
    c->other_l3 += !!(l & GH_LAYER_OTHER_L3);
    c->ipv4 += !!(l & GH_LAYER_IPV4);
    c->ipv6 += !!(l & GH_LAYER_IPV6);
    c->ipv4_frag += (l & GH_LAYER_IPV4) && (p->flags & GH_PKT_FRAGMENT);
    c->ipv6_frag += (l & GH_LAYER_IPV6) && (p->flags & GH_PKT_FRAGMENT);
    c->tcp += !!(l & GH_LAYER_TCP);
    c->udp += !!(l & GH_LAYER_UDP);
    c->icmpv4 += !!(l & GH_LAYER_ICMPV4);
    c->icmpv6 += !!(l & GH_LAYER_ICMPV6);
    c->other_l4 += !!(l & GH_LAYER_OTHER_L4);
    if (l & GH_LAYER_ICMP_INNER) {
        c->icmp_quoting_tcp += p->icmp_inner.ip_proto == 6;
        c->icmp_quoting_udp += p->icmp_inner.ip_proto == 17;
    }
    if (p->anomalies) {
        c->invalid++;
        uint64_t m = p->anomalies;
        while (m) {
            int a = __builtin_ctzll(m);
            c->anomalies[a]++;
            m &= m - 1;
        }
    }
}

void gh_counters_merge(gh_counters *dst, const gh_counters *src)
{
    dst->pkts += src->pkts;
    dst->bytes += src->bytes;
    dst->invalid += src->invalid;
    if (src->max_pkt_size > dst->max_pkt_size)
        dst->max_pkt_size = src->max_pkt_size;
#define GH_X_SUM(f, s) dst->f += src->f;
    GH_PROTO_COUNTER_LIST(GH_X_SUM)
#undef GH_X_SUM
    for (int a = 0; a < GH_ANOM_COUNT; a++)
        dst->anomalies[a] += src->anomalies[a];
    for (int r = 0; r < GH_DROP_REASON_COUNT; r++)
        dst->drop_reason[r] += src->drop_reason[r];
    dst->fw_lookups += src->fw_lookups;
    dst->fw_fastpath += src->fw_fastpath;
    dst->fw_non_ip += src->fw_non_ip;
    dst->flow_pool_full += src->flow_pool_full;
    for (int e = 0; e < GH_EXC_COND_COUNT; e++)
        for (int q = 0; q < GH_EXC_POLICY_COUNT; q++)
            dst->exc[e][q] += src->exc[e][q];
    dst->dpi_inspected += src->dpi_inspected;
    dst->dpi_passed += src->dpi_passed;
    dst->dpi_truncated += src->dpi_truncated;
    dst->alerts += src->alerts;
    dst->threshold_expired += src->threshold_expired;
    dst->threshold_evicted += src->threshold_evicted;
    dst->tagged += src->tagged;
    dst->tag_refused += src->tag_refused;
    dst->tag_evicted += src->tag_evicted;
    dst->frag_held += src->frag_held;
    dst->frag_reassembled += src->frag_reassembled;
    dst->frag_conflicts += src->frag_conflicts;
    dst->frag_errors += src->frag_errors;
    dst->stream_bytes += src->stream_bytes;
    dst->stream_alone += src->stream_alone;
    dst->stream_conflicts += src->stream_conflicts;
    dst->stream_rescans += src->stream_rescans;
    dst->stream_gaps += src->stream_gaps;
    dst->app_txs += src->app_txs;
    dst->app_anomalies += src->app_anomalies;
    dst->app_no_state += src->app_no_state;
    dst->vars_refused += src->vars_refused;
    dst->xbits_evicted += src->xbits_evicted;
    for (int r = 0; r < 4; r++)
        dst->flows_ended[r] += src->flows_ended[r];
    dst->accepted += src->accepted;
    dst->dropped += src->dropped;
    dst->rejected += src->rejected;
    for (int i = 0; i < GH_MAX_LINKTYPES; i++) {
        if (!src->linktype_pkts[i])
            continue;
        int j;
        for (j = 0; j < GH_MAX_LINKTYPES; j++) {
            if (dst->linktype_pkts[j] && dst->linktype[j] == src->linktype[i]) {
                dst->linktype_pkts[j] += src->linktype_pkts[i];
                break;
            }
            if (!dst->linktype_pkts[j]) {
                dst->linktype[j] = src->linktype[i];
                dst->linktype_pkts[j] = src->linktype_pkts[i];
                break;
            }
        }
        if (j == GH_MAX_LINKTYPES)
            dst->linktype_other += src->linktype_pkts[i];
    }
    dst->linktype_other += src->linktype_other;
}

static const char *const drop_reason_names[GH_DROP_REASON_COUNT] = {
#define GH_X_NAME(e, s) s,
    GH_DROP_REASON_LIST(GH_X_NAME)
#undef GH_X_NAME
};

const char *gh_drop_reason_name(gh_drop_reason r)
{
    return (unsigned)r < GH_DROP_REASON_COUNT ? drop_reason_names[r] : "unknown";
}

const char *gh_linktype_name(uint32_t lt)
{
    switch (lt) {
    case GH_LINK_NULL: return "null";
    case GH_LINK_ETHERNET: return "ethernet";
    case GH_LINK_RAW:
    case GH_LINK_RAW_DLT:
    case GH_LINK_RAW_DLT14: return "raw";
    case GH_LINK_LOOP: return "loop";
    case GH_LINK_SLL: return "sll";
    case GH_LINK_IPV4: return "ipv4";
    case GH_LINK_IPV6: return "ipv6";
    case GH_LINK_SLL2: return "sll2";
    case GH_LINK_CHDLC: return "chdlc";
    default: return NULL;
    }
}

static void human_bytes(char *buf, size_t n, double v)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

void gh_counters_print_summary(FILE *out, const gh_counters *c, double elapsed_s)
{
    char hb[32];
    human_bytes(hb, sizeof(hb), (double)c->bytes);
    fprintf(out, "packets: %" PRIu64 "  bytes: %" PRIu64 " (%s)  invalid: %" PRIu64 "\n",
            c->pkts, c->bytes, hb, c->invalid);
    fprintf(out, "link types:");
    for (int i = 0; i < GH_MAX_LINKTYPES; i++) {
        if (!c->linktype_pkts[i])
            continue;
        const char *n = gh_linktype_name(c->linktype[i]);
        if (n)
            fprintf(out, " %s %" PRIu64, n, c->linktype_pkts[i]);
        else
            fprintf(out, " linktype_%u %" PRIu64 " (unsupported)", c->linktype[i],
                    c->linktype_pkts[i]);
    }
    if (c->linktype_other)
        fprintf(out, " other %" PRIu64, c->linktype_other);
    fprintf(out, "\nprotocols:");
    int col = 0;
#define GH_X_PRINT(f, s)                                                     \
    if (c->f) {                                                              \
        fprintf(out, "%s %s %" PRIu64, col && col % 6 == 0 ? "\n          " : "", s, c->f); \
        col++;                                                               \
    }
    GH_PROTO_COUNTER_LIST(GH_X_PRINT)
#undef GH_X_PRINT
    fprintf(out, "\n");
    fprintf(out, "anomalies:");
    bool any = false;
    for (int a = 0; a < GH_ANOM_COUNT; a++) {
        if (!c->anomalies[a])
            continue;
        fprintf(out, "\n  %-36s %" PRIu64, gh_anomaly_name((gh_anomaly)a), c->anomalies[a]);
        any = true;
    }
    fprintf(out, "%s\n", any ? "" : " none");
    fprintf(out, "verdicts: accepted %" PRIu64 "  dropped %" PRIu64 "  rejected %" PRIu64 "\n",
            c->accepted, c->dropped, c->rejected);
    for (int r = 0; r < GH_DROP_REASON_COUNT; r++)
        if (c->drop_reason[r])
            fprintf(out, "  dropped by %-24s %" PRIu64 "\n", gh_drop_reason_name((gh_drop_reason)r),
                    c->drop_reason[r]);
    if (c->fw_lookups || c->fw_fastpath)
        fprintf(out, "firewall: %" PRIu64 " table lookups, %" PRIu64 " packets on the flow fast path"
                     ", %" PRIu64 " non-IP accepted\n",
                c->fw_lookups, c->fw_fastpath, c->fw_non_ip);
    if (c->dpi_inspected)
        fprintf(out, "signatures: %" PRIu64 " packets inspected, %" PRIu64 " alerts, %" PRIu64
                     " packets passed by a pass signature, %" PRIu64
                     " truncated packets not inspected\n",
                c->dpi_inspected, c->alerts, c->dpi_passed, c->dpi_truncated);
    if (c->threshold_expired || c->threshold_evicted)
        fprintf(out, "thresholds: %" PRIu64 " expired entries reused, %" PRIu64
                     " live entries evicted (table full)\n",
                c->threshold_expired, c->threshold_evicted);
    if (c->tagged || c->tag_refused || c->tag_evicted)
        fprintf(out, "tags: %" PRIu64 " packets tagged, %" PRIu64 " tags refused (flow or host "
                     "full), %" PRIu64 " flows or hosts evicted (table full)\n",
                c->tagged, c->tag_refused, c->tag_evicted);
    if (c->frag_held || c->frag_reassembled || c->frag_errors)
        fprintf(out, "defrag: %" PRIu64 " fragments held, %" PRIu64 " datagrams reassembled (%"
                     PRIu64 " with conflicting overlaps), %" PRIu64 " fragments refused\n",
                c->frag_held, c->frag_reassembled, c->frag_conflicts, c->frag_errors);
    if (c->stream_bytes || c->stream_alone)
        fprintf(out, "streams: %" PRIu64 " bytes inspected reassembled, %" PRIu64
                     " TCP packets inspected alone, %" PRIu64 " conflicting retransmissions or "
                     "overlaps, %" PRIu64 " gaps, %" PRIu64 " payloads scanned twice\n",
                c->stream_bytes, c->stream_alone, c->stream_conflicts, c->stream_gaps,
                c->stream_rescans);
    if (c->app_txs || c->app_anomalies || c->app_no_state)
        fprintf(out, "app layer: %" PRIu64 " transactions, %" PRIu64 " parser anomalies, %" PRIu64
                     " flows not parsed (parser pool full)\n",
                c->app_txs, c->app_anomalies, c->app_no_state);
    if (c->vars_refused || c->xbits_evicted)
        fprintf(out, "variables: %" PRIu64 " flowbits/flowint/xbits sets refused (a flow keeps "
                     "%d bits and %d integers), %" PRIu64 " xbits hosts or pairs evicted\n",
                c->vars_refused, GH_FLOWBITS_MAX, GH_FLOWINTS_MAX, c->xbits_evicted);
    if (c->flow_pool_full)
        fprintf(out, "flow table full: %" PRIu64 " packets classified without state\n",
                c->flow_pool_full);
    any = false;
    for (int e = 0; e < GH_EXC_COND_COUNT; e++) {
        for (int q = 0; q < GH_EXC_POLICY_COUNT; q++) {
            if (!c->exc[e][q])
                continue;
            if (!any)
                fprintf(out, "failure policies (times applied):\n");
            any = true;
            fprintf(out, "  %-16s %-12s %" PRIu64 "\n", gh_exc_cond_name((gh_exc_cond)e, true),
                    gh_exc_policy_name((gh_exc_policy)q, false), c->exc[e][q]);
        }
    }
    if (elapsed_s > 0) {
        double pps = (double)c->pkts / elapsed_s;
        double gbps = (double)c->bytes * 8.0 / elapsed_s / 1e9;
        fprintf(out, "time: %.3f s  %.0f packets/s  %.3f Gbit/s\n", elapsed_s, pps, gbps);
    }
}
