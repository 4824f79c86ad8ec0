/* The per-worker pipeline: decode once, then the stages in order of cost.
 * flow lookup -> firewall (state first, then the table) -> verdict + events.
 * Reassembly and DPI plug in after the firewall for flows it accepted. */
#include <stdlib.h>
#include <string.h>

#include "gatehouse/engine.h"
#include "detect/state.h"
#include "detect/tag.h"
#include "detect/threshold.h"
#include "hdrmatch.h"
#include "stream_inspect.h"

_Static_assert(GH_FLOW_END_COUNT == 4, "gh_counters.flows_ended has one slot per end reason");

#define GH_MAX_MATCHES 32
/* largest reassembled datagram: 65535 bytes of IP plus a stripped IPv6 header chain */
#define GH_DFSLOT 65600u

/* gh_flow.stage_flags bits of the signature stage */
enum {
    STAGE_IPONLY_TS = 1u << 0, /* IP-only signatures evaluated to_server */
    STAGE_IPONLY_TC = 1u << 1, /* ... and to_client */
    STAGE_NODETECT = 1u << 2,  /* a pass-flow failure policy: tracked, parsed, not matched */
};

/* Hosts and host pairs whose xbits a worker keeps (the table's size: 84
 * bytes each); a full table evicts the entry that expires first. */
#define XBITS_MAX 16384u

struct gh_worker {
    gh_engine_config cfg;
    gh_decode_opts dopts;
    gh_eve *eve;
    uint32_t eve_types;       /* cfg.eve_types, none without an EVE output */
    uint32_t app_protos;      /* protocols (1u << gh_alproto) whose events are written */
    gh_counters counters;
    gh_jbuf events;           /* this batch's event lines */
    gh_flow_table *flows;
    const gh_fw *fw;
    uint64_t *fw_hits;        /* per firewall rule */
    const gh_dpi *dpi;
    gh_dpi_scratch *scratch;
    uint64_t *sig_hits;       /* per signature: alerts (and passes) that took effect */
    gh_thresh_table *thresh;  /* threshold state, when the signatures have thresholds */
    gh_tag_table *tags;       /* flows' and hosts' tags, when the signatures tag */
    gh_dpi_match matches[GH_MAX_MATCHES];
    gh_dpi_match end_matches[GH_MAX_MATCHES]; /* flow end (may come mid-batch) */
    uint8_t *paybuf;          /* a stream alert's payload (window and hole marker) */
    size_t paycap;
    gh_stream_inspect *si;    /* TCP stream inspection (with signatures) */
    gh_xbits *xbits;          /* hosts' and host pairs' xbits (signatures use them) */
    gh_defrag *defrag;
    uint8_t *dfbuf;           /* GH_MAX_BATCH slots of GH_DFSLOT bytes: reassembled datagrams */
    bool held[GH_MAX_BATCH];  /* fragment held by the defragmenter */
    bool dgram[GH_MAX_BATCH]; /* the descriptor is a reassembled datagram */
    const gh_pkt_in *batch_in; /* the batch being processed */
    uint64_t policy_hits;
    uint64_t last_ns;
    gh_packet pkts[GH_MAX_BATCH];
    const gh_packet *pkt_ptrs[GH_MAX_BATCH];
    gh_flow *pkt_flows[GH_MAX_BATCH];
    int pkt_dirs[GH_MAX_BATCH];
    bool pkt_est[GH_MAX_BATCH]; /* flow established as of this packet */
    bool passed[GH_MAX_BATCH];  /* accepted, and its flow is trusted (pass) */
    uint64_t pkt_ns[GH_MAX_BATCH];
    uint64_t pkt_ids[GH_MAX_BATCH];
    uint32_t fw_pre[GH_MAX_BATCH]; /* table answer computed in the batch's burst */
    bool fw_has_pre[GH_MAX_BATCH];
};

void gh_engine_config_init(gh_engine_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->verify_checksums = true;
    cfg->eve_types = GH_EVE_TYPES_ALL;
    cfg->policy = GH_FW_ACCEPT;
    gh_flow_config_init(&cfg->flow);
    cfg->defrag = true;
    cfg->stream = true;
    cfg->stream_window = 4096;
    cfg->stream_flows = 8192;
    cfg->threshold_entries = 16384;
    cfg->tag_entries = 4096;
    gh_defrag_config_init(&cfg->defrag_cfg);
    for (int c = 0; c < GH_EXC_COND_COUNT; c++)
        cfg->exc.on[c] = GH_EXC_IGNORE;
}

/* Is an event of type @p t written? Others are not even formatted. */
static inline bool eve_on(const gh_worker *w, gh_eve_type t)
{
    return w->eve_types & (1u << t);
}

/* The application layer's events of the last packet (or flow end) of flow
 * @p f: an "http" event per completed transaction, an "anomaly" per parser
 * event. @p p gives the addresses (a packet of direction @p dir). */
static void app_events(gh_worker *w, const gh_pkt_in *in, const gh_packet *p, const gh_flow *f,
                       int dir)
{
    gh_app *app = w->si ? gh_stream_inspect_app(w->si) : NULL;
    if (!app || !f || !(w->app_protos || eve_on(w, GH_EVE_T_ANOMALY)))
        return;
    gh_packet mirror;
    const gh_packet *cs = p; /* the packet's addresses, client to server */
    if (dir == GH_FLOW_TOCLIENT) {
        mirror = *p;
        mirror.src = p->dst;
        mirror.dst = p->src;
        mirror.sport = p->dport;
        mirror.dport = p->sport;
        cs = &mirror;
    }
    for (size_t i = 0, n = gh_app_record_count(app); i < n; i++) {
        const gh_app_rec *r = gh_app_get_record(app, i);
        if (!(w->app_protos & (1u << r->proto)))
            continue;
        const char *e = r->events, *end = r->events ? r->events + r->events_len : NULL;
        while (e && e < end) { /* one event per line of members */
            const char *nl = memchr(e, '\n', (size_t)(end - e));
            size_t len = nl ? (size_t)(nl - e) : (size_t)(end - e);
            gh_eve_fmt_app_event(&w->events, in, r->packet_dir ? p : cs, f->flow_id,
                                 gh_alproto_name(r->proto), e, len);
            e += len + 1;
        }
    }
    for (size_t i = 0, n = eve_on(w, GH_EVE_T_ANOMALY) ? gh_app_anomaly_count(app) : 0; i < n;
         i++) {
        const gh_app_anom *a = gh_app_get_anomaly(app, i);
        gh_eve_fmt_app_anomaly(&w->events, in, cs, f->flow_id, gh_alproto_name(f->app_proto),
                               a->tx_id, a->has_tx, a->name);
    }
}

/* What an alert shows of the flow's application layer: its protocol, and
 * the transaction it matched; for a stream match or on a UDP flow, the
 * transaction the direction is at (Suricata's guess for such alerts). */
static void alert_app(gh_worker *w, const gh_flow *f, int dir, const gh_dpi_match *m,
                      gh_eve_alert_data *x)
{
    if (!f || !f->app_proto || f->app_proto == GH_ALPROTO_FAILED || !w->si)
        return;
    x->app_proto = gh_alproto_name(f->app_proto);
    int rec = m->tx;
    if (rec < 0 && (m->stream || f->key.proto == 17))
        rec = gh_stream_inspect_record_current(w->si, f, dir);
    const gh_app_rec *r = rec >= 0 ? gh_app_get_record(gh_stream_inspect_app(w->si), (size_t)rec)
                                   : NULL;
    if (r && r->alert) {
        x->app_json = r->alert;
        x->app_json_len = r->alert_len;
        x->tx_id = r->tx_id;
    }
}

/* What becomes of signature @p idx's match on packet @p p at @p ns: its
 * thresholds and suppressions (engine/detect/threshold.c); @p act is its
 * action, which a rate_filter may change. */
static gh_th_result threshold_handle(gh_worker *w, uint32_t idx, const gh_packet *p, uint64_t ns,
                                     gh_rule_action *act)
{
    if (!w->thresh)
        return GH_TH_ALERT;
    return gh_thresh_handle(w->thresh, w->dpi, idx, p, ns, act);
}

/* Alerts for the stream bytes inspected when flow @p f ends (Suricata's
 * "stream (flow timeout)" pseudo packets): no packet to drop, so every
 * alert is "allowed"; a pass ends each direction's list. */
static void flow_end_alerts(gh_worker *w, gh_flow *f)
{
    for (int dir = 0; dir < 2; dir++) {
        gh_packet pp;
        gh_pkt_state st = {.xb = w->xbits, .now_s = (uint32_t)(f->last_ns / 1000000000u)};
        pp.ip_ver = 0;
        size_t n = gh_stream_inspect_flow_end(w->si, w->scratch, f, dir, &pp, &st,
                                              w->end_matches, GH_MAX_MATCHES);
        if (pp.ip_ver) {
            /* a pseudo packet of the direction: like-IP-only signatures match
             * it too (Suricata skips only type pkt on them) */
            st.iponly_done = true;
            n += gh_dpi_match_packet_ex(w->dpi, w->scratch, &pp, &st, NULL, 0,
                                        GH_DPI_PACKET_FLOW_END, w->end_matches + n,
                                        GH_MAX_MATCHES - n);
            gh_dpi_match_sort(w->dpi, w->end_matches, n);
        }
        for (size_t i = 0; i < n; i++) {
            const gh_dpi_sig_info *si = gh_dpi_sig(w->dpi, w->end_matches[i].idx);
            gh_rule_action act = si->action;
            gh_th_result res = threshold_handle(w, w->end_matches[i].idx, &pp, f->last_ns, &act);
            if (res == GH_TH_DISCARD)
                continue;
            if (w->tags) /* the tags of an alert at flow end (its session's go with it) */
                gh_tag_match(w->tags, w->dpi, w->end_matches[i].idx, &pp, f->flow_id,
                             f->last_ns);
            if (res == GH_TH_SILENT) /* nothing to drop: only the alert would have shown */
                continue;
            w->sig_hits[w->end_matches[i].idx]++;
            if (gh_action_class_of(act) == GH_ACTCLASS_PASS)
                break;
            if (si->noalert)
                continue;
            w->counters.alerts++;
            f->flags |= GH_FLOWF_ALERTED;
            if (!eve_on(w, GH_EVE_T_ALERT))
                continue;
            gh_eve_rule er = {.action = gh_rule_action_name(act), .sid = si->sid,
                              .gid = si->gid, .rev = si->rev, .msg = si->msg, .file = si->file,
                              .line = si->line, .target = si->target};
            gh_pkt_in in = {.ts_sec = (int64_t)(f->last_ns / 1000000000u),
                            .ts_nsec = (uint32_t)(f->last_ns % 1000000000u)};
            gh_eve_alert_data x = {.pkt_src = "stream (flow timeout)",
                                   .fields = w->cfg.eve_alert_fields,
                                   .stream = w->end_matches[i].stream};
            if (x.fields) {
                x.payload = w->paybuf;
                x.payload_len = gh_stream_inspect_payload(w->si, f, dir, w->paybuf, w->paycap);
            }
            alert_app(w, f, dir, &w->end_matches[i], &x);
            gh_eve_fmt_alert_ex(&w->events, &in, &pp, f->flow_id, &er, false, si->category,
                                si->severity, &x);
        }
        if (pp.ip_ver) {
            gh_pkt_in in = {.ts_sec = (int64_t)(f->last_ns / 1000000000u),
                            .ts_nsec = (uint32_t)(f->last_ns % 1000000000u)};
            app_events(w, &in, &pp, f, dir);
        }
    }
}

static void on_flow_end(void *ctx, gh_flow *f)
{
    gh_worker *w = ctx;
    if (w->si && f->ext) {
        flow_end_alerts(w, f);
        gh_stream_inspect_flow_release(w->si, f);
    }
    if (w->tags)
        gh_tag_flow_end(w->tags, f->flow_id);
    if (f->end_reason < 4)
        w->counters.flows_ended[f->end_reason]++;
    if (eve_on(w, GH_EVE_T_FLOW))
        gh_eve_fmt_flow(&w->events, f);
}

gh_worker *gh_worker_new(const gh_engine_config *cfg, gh_eve *eve, gh_error *err)
{
    gh_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    w->dopts.verify_checksums = cfg->verify_checksums;
    w->eve = eve;
    w->eve_types = eve ? cfg->eve_types : 0;
    /* an application event's type is its protocol's name */
    for (unsigned p = 0; p < GH_ALPROTO_N; p++) {
        gh_eve_type t;
        const char *name = gh_alproto_name((uint8_t)p);
        if (gh_eve_type_find(name, strlen(name), &t) && eve_on(w, t))
            w->app_protos |= 1u << p;
    }
    w->fw = cfg->fw;
    gh_jbuf_init(&w->events);
    gh_flow_config fc = cfg->flow;
    fc.on_end = on_flow_end;
    fc.on_end_ctx = w;
    /* ignore keeps making room by evicting live flows; any other policy
     * decides instead (Suricata's flow memcap policy fires once no flow
     * can be freed) */
    fc.evict_live = cfg->exc.on[GH_EXC_COND_FLOW_FULL] == GH_EXC_IGNORE;
    if (!(w->flows = gh_flow_table_new(&fc, err)))
        goto fail;
    if (w->fw && !(w->fw_hits = calloc(gh_fw_rule_count(w->fw) + 1, sizeof(uint64_t)))) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        goto fail;
    }
    if (cfg->defrag) {
        if (!(w->defrag = gh_defrag_new(&cfg->defrag_cfg, err)))
            goto fail;
        /* one slot per batch packet; pages are touched only when used */
        if (!(w->dfbuf = malloc((size_t)GH_MAX_BATCH * GH_DFSLOT))) {
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    w->dpi = cfg->dpi;
    if (w->dpi) {
        if (!(w->scratch = gh_dpi_scratch_new(w->dpi, err)))
            goto fail;
        if (!(w->sig_hits = calloc(gh_dpi_sig_count(w->dpi) + 1, sizeof(uint64_t)))) {
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            goto fail;
        }
        if (gh_thresh_needed(w->dpi) &&
            !(w->thresh = gh_thresh_table_new(cfg->threshold_entries))) {
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            goto fail;
        }
        if (gh_tag_needed(w->dpi) && !(w->tags = gh_tag_table_new(cfg->tag_entries))) {
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            goto fail;
        }
        gh_stream_inspect_limits sl = {.reasm_memcap = cfg->stream_memcap,
                                       .app_flows = cfg->app_flows,
                                       .decompress_limit = cfg->decompress_limit};
        if (cfg->stream && !(w->si = gh_stream_inspect_new(w->dpi, cfg->stream_window,
                                                           cfg->stream_flows,
                                                           cfg->flow.midstream,
                                                           cfg->stream_acked, &sl, err)))
            goto fail;
        /* the parsers format only what events will show */
        if (w->si)
            gh_app_set_log(gh_stream_inspect_app(w->si), eve_on(w, GH_EVE_T_ALERT),
                           w->app_protos);
        if (gh_dpi_has_xbits(w->dpi) && !(w->xbits = gh_xbits_new(XBITS_MAX))) {
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            goto fail;
        }
        w->paycap = (size_t)cfg->stream_window + 64;
        if (w->si && !(w->paybuf = malloc(w->paycap))) {
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; i < GH_MAX_BATCH; i++)
        w->pkt_ptrs[i] = &w->pkts[i];
    return w;
fail:
    gh_worker_free(w);
    return NULL;
}

static gh_verdict drop(gh_worker *w, const gh_pkt_in *in, const gh_packet *p, const gh_flow *f,
                       gh_fw_action action, gh_drop_reason reason, const gh_fw_rule_info *ri)
{
    bool reject = action == GH_FW_REJECT;
    if (reject)
        w->counters.rejected++;
    else
        w->counters.dropped++;
    w->counters.drop_reason[reason]++;
    if (eve_on(w, GH_EVE_T_DROP)) {
        gh_eve_rule er;
        if (ri) {
            er = (gh_eve_rule){.action = gh_fw_action_name(ri->action), .sid = ri->sid,
                               .gid = ri->gid, .rev = ri->rev, .msg = ri->msg,
                               .file = ri->file, .line = ri->line};
        }
        gh_eve_fmt_drop(&w->events, in, p, f ? f->flow_id : 0, reason, reject, ri ? &er : NULL);
    }
    return reject ? GH_VERDICT_REJECT : GH_VERDICT_DROP;
}

/* The firewall stage: a decided flow skips the table (both directions). */
static gh_verdict firewall(gh_worker *w, const gh_pkt_in *in, const gh_packet *p, gh_flow *f,
                           int dir, bool est)
{
    if (!w->fw)
        return GH_VERDICT_ACCEPT;
    /* the rule language speaks of IP only; other frames pass untouched */
    if (!p->ip_ver) {
        w->counters.fw_non_ip++;
        return GH_VERDICT_ACCEPT;
    }
    if (f && (f->action == GH_FLOW_ACTION_ACCEPT || f->action == GH_FLOW_ACTION_PASS)) {
        w->counters.fw_fastpath++;
        return GH_VERDICT_ACCEPT;
    }
    gh_fw_state st = {.has_flow = f != NULL,
                      .established = f && est,
                      .to_server = dir == GH_FLOW_TOSERVER};
    w->counters.fw_lookups++;
    size_t bi = (size_t)(p - w->pkts);
    uint32_t r = w->fw_has_pre[bi] ? w->fw_pre[bi] : gh_fw_classify(w->fw, p, &st);
    const gh_fw_rule_info *ri = NULL;
    gh_fw_action action;
    if (r != GH_FW_NOMATCH) {
        ri = gh_fw_rule(w->fw, r);
        action = ri->action;
        w->fw_hits[r]++;
    } else {
        action = w->cfg.policy;
        w->policy_hits++;
    }
    switch (action) {
    case GH_FW_ACCEPT:
    case GH_FW_PASS:
        /* remember the decision: later packets of the flow skip the table */
        if (f) {
            f->action = action == GH_FW_PASS ? GH_FLOW_ACTION_PASS : GH_FLOW_ACTION_ACCEPT;
            f->rule_id = r;
        }
        return GH_VERDICT_ACCEPT;
    default:
        /* drops are not remembered: every packet is judged (pf's block) */
        return drop(w, in, p, f, action, ri ? GH_DROP_FW_RULE : GH_DROP_FW_POLICY, ri);
    }
}

/* A decision on the flow: the first one set stays (Suricata's "first to set
 * wins"), so a later pass cannot undo a drop, nor a drop a pass. */
static void flow_decide(gh_flow *f, uint8_t a)
{
    if (f && f->action != GH_FLOW_ACTION_PASS && f->action != GH_FLOW_ACTION_DROP &&
        f->action != GH_FLOW_ACTION_REJECT)
        f->action = a;
}

/* Condition @p c of the failure policies hit packet @p p (flow @p f, NULL
 * when it has none): count it under the configured policy, write an
 * "anomaly" event (not for ignore; once per flow and condition; without a
 * flow at the 1st, 2nd, 4th, 8th... packet, so a flood writes a few dozen
 * lines) and put the policy's decision on the flow: drop-flow drops the
 * rest of it, bypass accepts the rest uninspected, pass-flow keeps tracking
 * and parsing it without matching signatures. Returns the policy, which the
 * caller applies to the packet. */
static gh_exc_policy exc_hit(gh_worker *w, const gh_pkt_in *in, const gh_packet *p, gh_flow *f,
                             gh_exc_cond c)
{
    gh_exc_policy pol = w->cfg.exc.on[c];
    uint64_t n = ++w->counters.exc[c][pol];
    bool event = f ? !(f->exc_seen & (1u << c)) : (n & (n - 1)) == 0;
    if (f)
        f->exc_seen |= (uint8_t)(1u << c);
    if (event && pol != GH_EXC_IGNORE && eve_on(w, GH_EVE_T_ANOMALY))
        gh_eve_fmt_exc_anomaly(&w->events, in, p, f ? f->flow_id : 0, c, pol);
    if (!f)
        return pol;
    switch (pol) {
    case GH_EXC_DROP_FLOW:
        flow_decide(f, GH_FLOW_ACTION_DROP);
        break;
    case GH_EXC_BYPASS:
        if (f->action == GH_FLOW_ACTION_NONE || f->action == GH_FLOW_ACTION_ACCEPT)
            f->action = GH_FLOW_ACTION_PASS;
        break;
    case GH_EXC_PASS_FLOW:
        f->stage_flags |= STAGE_NODETECT;
        break;
    default:
        break;
    }
    return pol;
}

/* The signature stage's decision over the n matches in w->matches, which are
 * in the action order (gh_dpi_match_sort): each applies in turn, as
 * Suricata's alert finalisation (PacketAlertFinalize) does. Thresholds and
 * suppressions come first: a discarded match neither alerts nor acts; a
 * silenced one acts without an alert (a dropping signature past its limit
 * still drops). A pass that alerts ends the list: it and the matches after
 * it raise no alert. A drop or reject drops the packet; the alerts of a
 * dropped packet say "blocked". A pass, drop or reject decides the whole
 * flow when the signature's type says so (ip_only, like_ip_only, app-layer
 * types) or it matched on the reassembled stream; any other match decides
 * that packet only (Suricata's PACKET_ALERT_FLAG_APPLY_ACTION_TO_FLOW). */
static gh_verdict apply_matches(gh_worker *w, const gh_pkt_in *in, const gh_packet *p, gh_flow *f,
                                int dir, size_t n)
{
    if (!n)
        return GH_VERDICT_ACCEPT;
    size_t cut = n, drop_at = n;
    gh_th_result res[GH_MAX_MATCHES];
    gh_rule_action act[GH_MAX_MATCHES];
    uint64_t ns = (uint64_t)in->ts_sec * 1000000000u + in->ts_nsec;
    for (size_t i = 0; i < n; i++) {
        const gh_dpi_sig_info *si = gh_dpi_sig(w->dpi, w->matches[i].idx);
        act[i] = si->action;
        res[i] = threshold_handle(w, w->matches[i].idx, p, ns, &act[i]);
        if (res[i] == GH_TH_DISCARD)
            continue;
        /* Suricata runs a signature's tag keywords for each alert its
         * thresholds keep (also a silenced one), before a pass ends the list */
        if (w->tags)
            gh_tag_match(w->tags, w->dpi, w->matches[i].idx, p, f ? f->flow_id : 0, ns);
        gh_action_class c = gh_action_class_of(act[i]);
        bool flow_scope = gh_sig_type_flow_action(si->type) || w->matches[i].stream;
        if (res[i] == GH_TH_ALERT)
            w->sig_hits[w->matches[i].idx]++;
        if (c == GH_ACTCLASS_PASS) {
            if (flow_scope)
                flow_decide(f, GH_FLOW_ACTION_PASS);
            if (res[i] == GH_TH_SILENT) /* Suricata goes on with the list */
                continue;
            if (drop_at == n)
                w->counters.dpi_passed++;
            cut = i;
            break;
        }
        if (c == GH_ACTCLASS_DROP || c == GH_ACTCLASS_REJECT) {
            if (drop_at == n)
                drop_at = i;
            if (flow_scope)
                flow_decide(f, c == GH_ACTCLASS_REJECT ? GH_FLOW_ACTION_REJECT
                                                       : GH_FLOW_ACTION_DROP);
        }
    }
    bool blocked = drop_at < n;
    for (size_t i = 0; i < cut; i++) {
        if (res[i] != GH_TH_ALERT)
            continue;
        const gh_dpi_sig_info *si = gh_dpi_sig(w->dpi, w->matches[i].idx);
        if (si->noalert)
            continue;
        w->counters.alerts++;
        if (f)
            f->flags |= GH_FLOWF_ALERTED;
        if (eve_on(w, GH_EVE_T_ALERT)) {
            gh_eve_rule er = {.action = gh_rule_action_name(act[i]), .sid = si->sid,
                              .gid = si->gid, .rev = si->rev, .msg = si->msg, .file = si->file,
                              .line = si->line, .target = si->target};
            /* a stream match shows the stream bytes it was found in */
            gh_eve_alert_data x = {.pkt_src = w->dgram[in - w->batch_in] ? "defrag" : "wire/pcap",
                                   .fields = w->cfg.eve_alert_fields,
                                   .payload = p->payload, .payload_len = p->payload_len,
                                   .stream = w->matches[i].stream};
            alert_app(w, f, dir, &w->matches[i], &x);
            if (x.stream && x.fields && w->si) {
                size_t pl = gh_stream_inspect_payload(w->si, f, dir, w->paybuf, w->paycap);
                if (pl) {
                    x.payload = w->paybuf;
                    x.payload_len = pl;
                }
            }
            gh_eve_fmt_alert_ex(&w->events, in, p, f ? f->flow_id : 0, &er, blocked,
                                si->category, si->severity, &x);
        }
    }
    if (!blocked)
        return GH_VERDICT_ACCEPT;
    const gh_dpi_sig_info *si = gh_dpi_sig(w->dpi, w->matches[drop_at].idx);
    bool reject = gh_action_class_of(act[drop_at]) == GH_ACTCLASS_REJECT;
    gh_fw_rule_info ri = {.action = reject ? GH_FW_REJECT : GH_FW_DROP, .sid = si->sid,
                          .gid = si->gid, .rev = si->rev, .msg = si->msg, .file = si->file,
                          .line = si->line};
    return drop(w, in, p, f, ri.action, GH_DROP_SIGNATURE, &ri);
}

/* Suricata's TagHandlePacket, after the packet's alerts: whether it is a
 * tagged packet, then a "packet" event for it when asked. */
static void tag_packet(gh_worker *w, const gh_pkt_in *in, const gh_packet *p, const gh_flow *f)
{
    uint64_t ns = (uint64_t)in->ts_sec * 1000000000u + in->ts_nsec;
    /* GET_PKT_LEN: the bytes captured (a reassembled datagram: its IP length) */
    uint32_t len = w->dgram[in - w->batch_in] ? p->l3_len : in->caplen;
    if (!gh_tag_packet(w->tags, p, f ? f->flow_id : 0, ns, len))
        return;
    w->counters.tagged++;
    if (eve_on(w, GH_EVE_T_PACKET) && (w->cfg.eve_alert_fields & GH_EVE_ALERT_TAGGED_PACKETS))
        gh_eve_fmt_packet(&w->events, in, p, f ? f->flow_id : 0);
}

/* The signature stage for one packet's payload. */
static gh_verdict signatures(gh_worker *w, const gh_pkt_in *in, const gh_packet *p, gh_flow *f,
                             int dir, bool est)
{
    /* IP-only signatures: on the first packet of each flow direction */
    uint8_t iponly_bit = dir == GH_FLOW_TOSERVER ? STAGE_IPONLY_TS : STAGE_IPONLY_TC;
    gh_pkt_state st = {.has_flow = f != NULL,
                       .established = f && est,
                       .to_server = dir == GH_FLOW_TOSERVER,
                       .iponly_done = f && (f->stage_flags & iponly_bit),
                       .xb = w->xbits, .now_s = (uint32_t)in->ts_sec};
    if (f)
        f->stage_flags |= iponly_bit;
    w->counters.dpi_inspected++;
    if (w->si) /* conditions of earlier work (a flow's end) are no packet's */
        gh_stream_inspect_take_exceptions(w->si);
    size_t n;
    bool app = w->si && f && (p->layers & (GH_LAYER_TCP | GH_LAYER_UDP));
    if (app && (p->layers & GH_LAYER_TCP))
        n = gh_stream_inspect_packet(w->si, w->scratch, f, dir, p, &st, w->matches,
                                     GH_MAX_MATCHES);
    else if (app)
        n = gh_stream_inspect_datagram(w->si, w->scratch, f, dir, p, &st, w->matches,
                                       GH_MAX_MATCHES);
    else {
        if (w->si && f)
            st.fv = gh_stream_inspect_flowvars(w->si, f);
        n = gh_dpi_match_packet(w->dpi, w->scratch, p, &st, p->payload, p->payload_len,
                                w->matches, GH_MAX_MATCHES);
    }
    /* the conditions inspecting this packet hit: any policy but ignore
     * takes the packet out of detection; the strongest one decides */
    gh_exc_policy pol = GH_EXC_IGNORE;
    for (unsigned m = w->si ? gh_stream_inspect_take_exceptions(w->si) : 0; m; m &= m - 1) {
        gh_exc_policy q = exc_hit(w, in, p, f, (gh_exc_cond)__builtin_ctz(m));
        pol = q > pol ? q : pol;
    }
    if (pol != GH_EXC_IGNORE || (f && (f->stage_flags & STAGE_NODETECT)))
        n = 0;
    gh_verdict v = apply_matches(w, in, p, f, dir, n);
    if (pol >= GH_EXC_DROP_PACKET)
        v = drop(w, in, p, f, GH_FW_DROP, GH_DROP_EXCEPTION, NULL);
    if (w->tags)
        tag_packet(w, in, p, f);
    if (app)
        app_events(w, in, p, f, dir);
    return v;
}

/* The threshold table's counters into the worker's. */
static void thresh_counters(gh_worker *w)
{
    if (w->thresh) {
        const gh_thresh_stats *ts = gh_thresh_table_stats(w->thresh);
        w->counters.threshold_expired = ts->expired;
        w->counters.threshold_evicted = ts->evicted;
    }
    if (w->tags) {
        const gh_tag_stats *gs = gh_tag_table_stats(w->tags);
        w->counters.tag_refused = gs->refused;
        w->counters.tag_evicted = gs->evicted;
    }
}

/* Feed fragment i to the defragmenter. Held: the packet waits (accepted).
 * Completed: the whole datagram, copied into the packet's slot, replaces the
 * fragment's descriptor for every later stage. Refused: inspected alone. */
static void defragment(gh_worker *w, size_t i)
{
    gh_packet *p = &w->pkts[i];
    gh_defrag_out out;
    int rc = gh_defrag_add(w->defrag, p, w->pkt_ns[i], &out);
    if (rc == 0) {
        w->held[i] = true;
        w->counters.frag_held++;
        return;
    }
    if (rc < 0) {
        w->counters.frag_errors++;
        return;
    }
    uint8_t *slot = w->dfbuf + i * (size_t)GH_DFSLOT;
    uint32_t len = out.len <= GH_DFSLOT ? out.len : GH_DFSLOT;
    memcpy(slot, out.data, len);
    /* the datagram keeps the fragment's L2 context (VLANs key flows) */
    uint16_t vlan[GH_MAX_VLAN];
    uint8_t nvlan = p->vlan_count;
    memcpy(vlan, p->vlan_id, sizeof(vlan));
    gh_decode(p, out.linktype, slot, len, &w->dopts);
    memcpy(p->vlan_id, vlan, sizeof(vlan));
    p->vlan_count = nvlan;
    w->counters.frag_reassembled++;
    w->dgram[i] = true;
    if (out.dgram_flags & GH_DEFRAG_DG_CONFLICT)
        w->counters.frag_conflicts++;
    /* the whole datagram's anomalies (an L4 checksum is checkable only now) */
    for (uint64_t m = p->anomalies; m; m &= m - 1) {
        gh_anomaly a = (gh_anomaly)__builtin_ctzll(m);
        w->counters.anomalies[a]++;
        if (eve_on(w, GH_EVE_T_ANOMALY))
            gh_eve_fmt_anomaly(&w->events, &w->batch_in[i], p, a);
    }
}

int gh_worker_process_batch(gh_worker *w, const gh_pkt_in *pkts, size_t n, gh_verdict *verdicts)
{
    if (n > GH_MAX_BATCH)
        n = GH_MAX_BATCH;
    w->events.len = 0;
    w->batch_in = pkts;
    for (size_t i = 0; i < n; i++) {
        const gh_pkt_in *in = &pkts[i];
        gh_packet *p = &w->pkts[i];
        gh_decode(p, in->linktype, in->data, in->caplen, &w->dopts);
        gh_counters_add_packet(&w->counters, p, in->caplen);
        if (GH_UNLIKELY(p->anomalies) && eve_on(w, GH_EVE_T_ANOMALY)) {
            uint64_t m = p->anomalies;
            while (m) {
                gh_eve_fmt_anomaly(&w->events, in, p, (gh_anomaly)__builtin_ctzll(m));
                m &= m - 1;
            }
        }
        w->pkt_ns[i] = (uint64_t)in->ts_sec * 1000000000u + in->ts_nsec;
        w->pkt_ids[i] = in->id;
        w->held[i] = false;
        w->dgram[i] = false;
        if ((p->flags & GH_PKT_FRAGMENT) && w->defrag)
            defragment(w, i);
    }
    /* The flow stage for the whole batch (lookups overlap their cache
     * misses); each packet keeps the established state it saw, so the flow
     * keyword and the stream stage judge it as it arrived. */
    gh_flow_lookup_burst_state(w->flows, w->pkt_ptrs, n, w->pkt_ns, w->pkt_ids, w->pkt_flows,
                               w->pkt_dirs, w->pkt_est);
    /* The table lookups the batch will need, in one burst: packets whose
     * flow has no decision yet as the batch starts (their state is known
     * now, so the answers equal per-packet ones; a flow decided by an
     * earlier packet of this batch just leaves its answer unused). */
    if (w->fw) {
        const gh_packet *lp[GH_MAX_BATCH];
        gh_fw_state lst[GH_MAX_BATCH];
        uint32_t lr[GH_MAX_BATCH];
        size_t li[GH_MAX_BATCH], m = 0;
        for (size_t i = 0; i < n; i++) {
            const gh_flow *f = w->pkt_flows[i];
            w->fw_has_pre[i] = false;
            if (w->held[i] || !w->pkts[i].ip_ver ||
                (f && f->action != GH_FLOW_ACTION_NONE))
                continue;
            lp[m] = &w->pkts[i];
            lst[m] = (gh_fw_state){.has_flow = f != NULL, .established = f && w->pkt_est[i],
                                   .to_server = w->pkt_dirs[i] == GH_FLOW_TOSERVER};
            li[m++] = i;
        }
        if (m > 1) {
            gh_fw_classify_burst(w->fw, lp, lst, m, lr);
            for (size_t j = 0; j < m; j++) {
                w->fw_pre[li[j]] = lr[j];
                w->fw_has_pre[li[j]] = true;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const gh_packet *p = &w->pkts[i];
        gh_flow *f = w->pkt_flows[i];
        gh_verdict v;
        /* the failure policies of the flow stage's conditions */
        gh_exc_policy pol = GH_EXC_IGNORE;
        if (GH_UNLIKELY(w->pkt_dirs[i] == GH_FLOW_FULL)) {
            w->counters.flow_pool_full++;
            pol = exc_hit(w, &pkts[i], p, NULL, GH_EXC_COND_FLOW_FULL);
        } else if (GH_UNLIKELY(f && (f->flags & GH_FLOWF_MIDSTREAM) &&
                               !(f->exc_seen & (1u << GH_EXC_COND_MIDSTREAM)))) {
            pol = exc_hit(w, &pkts[i], p, f, GH_EXC_COND_MIDSTREAM);
        }
        if (GH_UNLIKELY(pol >= GH_EXC_DROP_PACKET)) {
            v = drop(w, &pkts[i], p, f, GH_FW_DROP, GH_DROP_EXCEPTION, NULL);
            w->passed[i] = false;
            verdicts[i] = v;
            continue;
        }
        if (w->held[i]) {
            /* the datagram's verdict falls on the fragment that completes it */
            w->counters.accepted++;
            w->passed[i] = false;
            verdicts[i] = GH_VERDICT_ACCEPT;
            continue;
        }
        if (f && (f->action == GH_FLOW_ACTION_DROP || f->action == GH_FLOW_ACTION_REJECT)) {
            /* a signature dropped this flow: the rest of it goes too */
            v = drop(w, &pkts[i], p, f,
                     f->action == GH_FLOW_ACTION_REJECT ? GH_FW_REJECT : GH_FW_DROP,
                     GH_DROP_FLOW_DROPPED, NULL);
        } else {
            /* Malformed packets go to the policy like any other. */
            v = firewall(w, &pkts[i], p, f, w->pkt_dirs[i], w->pkt_est[i]);
            if (v == GH_VERDICT_ACCEPT && w->dpi && p->ip_ver && pol != GH_EXC_PASS_PACKET &&
                !(f && f->action == GH_FLOW_ACTION_PASS)) {
                /* an IP length beyond the captured bytes: Suricata's decoder
                 * makes the packet invalid and detection skips it */
                if (GH_UNLIKELY(p->flags & GH_PKT_TRUNCATED))
                    w->counters.dpi_truncated++;
                else
                    v = signatures(w, &pkts[i], p, f, w->pkt_dirs[i], w->pkt_est[i]);
            }
        }
        if (v == GH_VERDICT_ACCEPT)
            w->counters.accepted++;
        w->passed[i] = v == GH_VERDICT_ACCEPT && f && f->action == GH_FLOW_ACTION_PASS;
        verdicts[i] = v;
    }
    thresh_counters(w);
    if (n) {
        w->last_ns = w->pkt_ns[n - 1];
        /* flow pointers of this batch are done with: recycle and expire */
        gh_flow_table_expire(w->flows, w->last_ns);
        if (w->defrag)
            gh_defrag_expire(w->defrag, w->last_ns);
    }
    int rc = GH_OK;
    if (w->events.len && w->eve)
        rc = gh_eve_write(w->eve, w->events.p, w->events.len);
    if (w->events.oom) {
        w->events.oom = false;
        rc = GH_E_NOMEM;
    }
    return rc;
}

int gh_worker_finish(gh_worker *w, uint64_t now_ns)
{
    w->events.len = 0;
    gh_flow_table_flush(w->flows, now_ns ? now_ns : w->last_ns);
    if (w->si) {
        /* flushing ended every flow, so reassembly has counted every gap */
        const gh_stream_inspect_stats *ss = gh_stream_inspect_get_stats(w->si);
        const gh_reasm_stats *rs = gh_reasm_get_stats(gh_stream_inspect_reasm(w->si));
        w->counters.stream_bytes = ss->bytes;
        w->counters.stream_alone = ss->not_synced + ss->no_slot + ss->reasm_refused;
        w->counters.stream_conflicts = rs->retrans_conflicts + rs->overlap_conflicts;
        w->counters.stream_rescans = ss->packet_rescans;
        w->counters.stream_gaps = rs->gaps;
        const gh_app_stats *as = gh_app_get_stats(gh_stream_inspect_app(w->si));
        w->counters.app_txs = as->txs;
        w->counters.app_anomalies = as->anomalies;
        w->counters.app_no_state = as->no_state;
    }
    if (w->scratch) {
        gh_dpi_scratch_stats ds;
        gh_dpi_scratch_get_stats(w->scratch, &ds);
        w->counters.vars_refused = ds.vars_refused;
        w->counters.xbits_evicted = ds.xbits_evicted;
    }
    thresh_counters(w); /* flow-end alerts went through the table too */
    int rc = GH_OK;
    if (w->events.len && w->eve)
        rc = gh_eve_write(w->eve, w->events.p, w->events.len);
    return rc;
}

const gh_packet *gh_worker_last_packets(const gh_worker *w)
{
    return w->pkts;
}

const bool *gh_worker_last_passed(const gh_worker *w)
{
    return w->passed;
}

const gh_counters *gh_worker_counters(const gh_worker *w)
{
    return &w->counters;
}

const uint64_t *gh_worker_fw_hits(const gh_worker *w)
{
    return w->fw_hits;
}

uint64_t gh_worker_policy_hits(const gh_worker *w)
{
    return w->policy_hits;
}

const uint64_t *gh_worker_sig_hits(const gh_worker *w)
{
    return w->sig_hits;
}

const gh_defrag *gh_worker_defrag(const gh_worker *w)
{
    return w->defrag;
}

const gh_flow_table *gh_worker_flows(const gh_worker *w)
{
    return w->flows;
}

void gh_worker_free(gh_worker *w)
{
    if (!w)
        return;
    gh_flow_table_free(w->flows);
    gh_stream_inspect_free(w->si);
    gh_xbits_free(w->xbits);
    free(w->paybuf);
    gh_defrag_free(w->defrag);
    free(w->dfbuf);
    gh_dpi_scratch_free(w->scratch);
    free(w->sig_hits);
    gh_thresh_table_free(w->thresh);
    gh_tag_table_free(w->tags);
    free(w->fw_hits);
    gh_jbuf_free(&w->events);
    free(w);
}
