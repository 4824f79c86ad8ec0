/* The per-worker pipeline: decode once, then the stages in order of cost.
 * Stages after decode (flow, firewall, reassembly, DPI) plug in between
 * decode and verdict in process_one(). */
#include <stdlib.h>
#include <string.h>

#include "gatehouse/engine.h"

struct gh_worker {
    gh_engine_config cfg;
    gh_decode_opts dopts;
    gh_eve *eve;
    gh_counters counters;
    gh_jbuf events;           /* this batch's event lines */
    gh_packet pkts[GH_MAX_BATCH];
};

void gh_engine_config_init(gh_engine_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->verify_checksums = true;
    cfg->anomaly_events = true;
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
    gh_jbuf_init(&w->events);
    return w;
}

static gh_verdict process_one(gh_worker *w, const gh_pkt_in *in, gh_packet *p)
{
    gh_decode(p, in->linktype, in->data, in->caplen, &w->dopts);
    gh_counters_add_packet(&w->counters, p, in->caplen);
    if (GH_UNLIKELY(p->anomalies) && w->eve && w->cfg.anomaly_events) {
        uint64_t m = p->anomalies;
        while (m) {
            gh_eve_fmt_anomaly(&w->events, in, p, (gh_anomaly)__builtin_ctzll(m));
            m &= m - 1;
        }
    }
    /* Malformed packets go to the policy like any other; with no firewall
     * or signatures loaded the policy is accept. */
    w->counters.accepted++;
    return GH_VERDICT_ACCEPT;
}

int gh_worker_process_batch(gh_worker *w, const gh_pkt_in *pkts, size_t n, gh_verdict *verdicts)
{
    if (n > GH_MAX_BATCH)
        n = GH_MAX_BATCH;
    w->events.len = 0;
    for (size_t i = 0; i < n; i++)
        verdicts[i] = process_one(w, &pkts[i], &w->pkts[i]);
    int rc = GH_OK;
    if (w->events.len && w->eve)
        rc = gh_eve_write(w->eve, w->events.p, w->events.len);
    if (w->events.oom) {
        w->events.oom = false;
        rc = GH_E_NOMEM;
    }
    return rc;
}

const gh_packet *gh_worker_last_packets(const gh_worker *w)
{
    return w->pkts;
}

const gh_counters *gh_worker_counters(const gh_worker *w)
{
    return &w->counters;
}

void gh_worker_free(gh_worker *w)
{
    if (!w)
        return;
    gh_jbuf_free(&w->events);
    free(w);
}
