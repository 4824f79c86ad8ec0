/* Fuzz target: the whole pipeline. The input is a capture read through the
 * pcap source into a fresh worker: decode, defragmentation, flows, TCP
 * reassembly, the application layer and every signature of pipeline.rules
 * (DPI on, mid-stream pick-up on), events formatted into /dev/null, then
 * the flows ended as at the end of a run. */
#include <stdlib.h>

#include "fuzz.h"
#include "gatehouse/engine.h"
#include "gatehouse/rules.h"

static const gh_dpi *signatures(void)
{
    static gh_dpi *dpi;
    if (dpi)
        return dpi;
    gh_rule_vars *vars = gh_rule_vars_new(NULL);
    if (!vars || gh_rule_vars_load(vars, GH_SOURCE_DIR "/rules/vars.conf", NULL) != GH_OK)
        abort();
    gh_rule_file *f = gh_rules_parse_file(GH_SOURCE_DIR "/tests/fuzz/pipeline.rules",
                                          GH_RULE_TIER_SIGNATURE, NULL);
    if (!f || gh_rules_check(f, vars) != GH_OK || f->n_errors || f->n_unsupported)
        abort();
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    dpi = gh_dpi_compile(&f, 1, vars, &errs, &nerrs, NULL, NULL);
    if (!dpi || nerrs)
        abort();
    free(errs);
    gh_rule_file_free(f);
    gh_rule_vars_free(vars);
    return dpi;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gh_eve *eve;
    if (!eve && !(eve = gh_eve_open("/dev/null", NULL)))
        abort();
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    cfg.dpi = signatures();
    cfg.eve_alert_fields = GH_EVE_ALERT_PAYLOAD | GH_EVE_ALERT_PAYLOAD_PRINTABLE |
                           GH_EVE_ALERT_PACKET | GH_EVE_ALERT_TAGGED_PACKETS;
    cfg.flow.max_flows = 64;
    cfg.flow.midstream = true;
    cfg.stream_flows = 16;
    cfg.threshold_entries = 64;
    cfg.tag_entries = 64;
    cfg.defrag_cfg.max_datagrams = 16;
    cfg.defrag_cfg.memcap = 256 * 1024;
    gh_error err = {0};
    gh_source *src = gh_source_pcap_open(fuzz_mem_path(data, size), &err);
    if (!src)
        return 0;
    gh_worker *w = gh_worker_new(&cfg, eve, &err);
    if (!w)
        abort();
    gh_pkt_in pkts[GH_MAX_BATCH];
    gh_verdict v[GH_MAX_BATCH];
    size_t n;
    uint64_t last = 0;
    while (gh_source_read_batch(src, pkts, GH_MAX_BATCH, &n, &err) == GH_OK) {
        gh_worker_process_batch(w, pkts, n, v);
        last = (uint64_t)pkts[n - 1].ts_sec * 1000000000u + pkts[n - 1].ts_nsec;
    }
    gh_worker_finish(w, last);
    gh_worker_free(w);
    gh_source_close(src);
    return 0;
}
