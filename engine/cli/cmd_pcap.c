/* gatehouse pcap: the pipeline over capture files, for rule testing. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/pcap_threads.h"
#include "gatehouse/engine.h"
#include "gatehouse/pcap_writer.h"
#include "mem.h"

static void pcap_usage(FILE *out)
{
    fprintf(out,
            "usage: gatehouse pcap -r FILE|DIR [options]\n"
            "\n"
            "Run decode -> flow -> firewall -> DPI -> verdict over pcap or pcapng\n"
            "files and report what an inline deployment would do.\n"
            "\n"
            "  -r, --read FILE|DIR      capture file, or a directory read in name order\n"
            "  -F, --firewall FILE      firewall rules (header-only; first match wins);\n"
            "                           repeat for several files, read in order\n"
            "      --policy accept|drop verdict when no firewall rule matches (default accept)\n"
            "  -S, --rules FILE|DIR     signatures (DPI); a directory's *.rules in name order;\n"
            "                           repeatable. Rules using keywords not implemented yet\n"
            "                           are skipped and counted, never half-matched\n"
            "      --var NAME=VALUE     define or override a rule variable\n"
            "      --vars FILE          variables file instead of the default vars.conf\n"
            "      --midstream          pick up TCP flows whose handshake was not seen\n"
            "      --async-oneside      a TCP handshake completes on the client's ACK alone\n"
            "                           when the SYN/ACK took another path\n"
            "      --stream-inspect WHEN  'arrival' (default; inline/IPS: stream bytes are\n"
            "                           inspected as they arrive) or 'acked' (IDS, Suricata's\n"
            "                           default: once the receiver acknowledges them, on the\n"
            "                           sender's next packet or at flow end)\n"
            "      --classification FILE  classtype table (Suricata's classification.config\n"
            "                           format; default <dir of gatehouse>/rules/\n"
            "                           classification.config): alert category and severity\n"
            "      --threshold-file FILE  suppress, event_filter, threshold and rate_filter\n"
            "                           lines (Suricata's threshold.config format)\n"
            "      --cache-dir DIR      Hyperscan database cache (default $GATEHOUSE_CACHE_DIR,\n"
            "                           else $XDG_CACHE_HOME/gatehouse, else ~/.cache/gatehouse)\n"
            "      --no-cache           compile every database, read and write no cache\n"
            "      --action-order LIST  precedence of signature actions, e.g.\n"
            "                           drop,pass,reject,alert (default pass,drop,reject,alert)\n"
            "      --eve FILE           write EVE JSON events (one per line; '-' = stdout)\n"
            "      --eve-payload        alerts carry 'payload' (base64 of the packet payload,\n"
            "                           or of the stream bytes for a stream match) and 'stream'\n"
            "      --eve-payload-printable  alerts carry 'payload_printable' (non-printable\n"
            "                           bytes as '.') and 'stream'\n"
            "      --eve-packet         alerts carry 'packet' (base64 of the captured frame)\n"
            "      --eve-tagged-packets  a 'packet' event per packet a tag keyword tagged\n"
            "                           (Suricata's alert option tagged-packets)\n"
            "      --eve-types LIST     the event types written, comma-separated (default\n"
            "                           all): alert, anomaly, drop, flow, packet, stats,\n"
            "                           http, dns, tls, smtp, ftp, ssh; repeatable (the lists\n"
            "                           add up). The others are not even formatted; their\n"
            "                           counters stay in the summary and the stats event\n"
            "  -k, --checksum MODE      'all' (default) verifies IPv4/TCP/UDP/ICMP checksums,\n"
            "                           'none' skips them (captures from offloading hosts)\n"
            "      --write-accepted F   write accepted packets to pcap file F\n"
            "      --write-dropped F    write dropped packets to pcap file F\n"
            "      --no-anomaly-events  count anomalies but write no events for them (takes\n"
            "                           anomaly out of the types, --eve-types or not)\n"
            "      --no-flow-events     write no EVE flow events (likewise for flow)\n"
            "      --threads N|auto     N worker threads (default 1; at most %d; 'auto' or 0:\n"
            "                           one per online CPU) fed by one reader thread. A\n"
            "                           packet goes to the worker of its address pair (an\n"
            "                           ICMP error: of the pair it quotes), so each flow and\n"
            "                           each fragmented datagram stays on one worker; the\n"
            "                           verdicts, alerts and written captures are those of\n"
            "                           one thread, events are not in capture order, and\n"
            "                           per-host state (xbits, thresholds, host tags) is\n"
            "                           per worker (see README)\n"
            "      --warm-heap MIB      heap a helper thread maps while the rules load, for\n"
            "                           the packets to find mapped (first touches of pages\n"
            "                           are page faults); default: the capture's size within\n"
            "                           4 and 16 MiB; 0: none. One worker only\n"
            "  -q, --quiet              no summary on stderr\n"
            "  -h, --help               this help\n"
            "\n",
            GH_PCAP_MAX_THREADS);
    gh_cli_limits_usage(out, "ignore in pcap mode, as Suricata's IDS");
    fprintf(out,
            "\n"
            "Signatures (-S) see the packets the firewall accepted; TCP signatures match\n"
            "the reassembled stream of each direction, IP fragments are reassembled\n"
            "first. The matches of a packet apply in the action order; a pass ends the\n"
            "list. A drop drops the packet, and the rest of its flow when the signature\n"
            "has no payload keywords or matched the stream; alerts say 'blocked' or\n"
            "'allowed' as inline would.\n"
            "Without -F every packet is accepted by the firewall stage. With -F, a flow that a rule (or the\n"
            "accept policy) accepted is remembered and its later packets, both ways,\n"
            "skip the table; dropped packets are judged one by one. Frames that are not\n"
            "IP are outside the rule language and always accepted.\n"
            "The summary (stderr) lists packets, bytes, link types, protocols,\n"
            "anomalies by name, verdicts and throughput; the last EVE event is 'stats'\n"
            "(unless --eve-types leaves it out).\n"
            "\n"
            "Exit codes: 0 every input processed; 1 an input or output failed (a corrupt\n"
            "pcap names the file, packet number and byte offset; packets before it are\n"
            "processed and reported); 2 usage error.\n");
}

/* Rule hits, in file order: what fired and how often. */
static void print_fw_hits(const gh_fw *fw, const uint64_t *hits, uint64_t policy_hits,
                          gh_fw_action policy)
{
    fprintf(stderr, "firewall rules (packets decided):\n");
    for (uint32_t i = 0; i < gh_fw_rule_count(fw); i++) {
        if (!hits[i])
            continue;
        const gh_fw_rule_info *ri = gh_fw_rule(fw, i);
        fprintf(stderr, "  %-7s sid %-10u %-10llu %s:%u %s\n", gh_fw_action_name(ri->action),
                ri->sid, (unsigned long long)hits[i], ri->file, ri->line, ri->msg);
    }
    fprintf(stderr, "  %-7s policy         %llu\n", gh_fw_action_name(policy),
            (unsigned long long)policy_hits);
}

/* Signatures that matched, in load order; "noalert" marks those whose
 * matches raise no alert (they set flowbits, or only act). */
static void print_sig_hits(const gh_dpi *dpi, const uint64_t *hits)
{
    bool any = false;
    for (uint32_t i = 0; i < gh_dpi_sig_count(dpi); i++) {
        if (!hits[i])
            continue;
        if (!any)
            fprintf(stderr, "signatures (packets matched):\n");
        any = true;
        const gh_dpi_sig_info *si = gh_dpi_sig(dpi, i);
        fprintf(stderr, "  %-7s sid %-10u %-10llu %s%s\n", gh_rule_action_name(si->action),
                si->sid, (unsigned long long)hits[i], si->noalert ? "(noalert) " : "", si->msg);
    }
    if (!any)
        fprintf(stderr, "signatures: none matched\n");
}

/* The final stats event (when its type is written) and the summary on stderr. */
static void summarize(const gh_pcap_totals *tot, double elapsed, gh_eve *eve, uint32_t types,
                      const gh_fw *fw, const gh_dpi *dpi, gh_fw_action policy, bool quiet)
{
    if (eve && (types & (1u << GH_EVE_T_STATS))) {
        gh_jbuf b;
        gh_jbuf_init(&b);
        gh_eve_fmt_stats(&b, tot->last_sec, tot->last_nsec, &tot->counters, elapsed);
        gh_eve_write(eve, b.p, b.len);
        gh_jbuf_free(&b);
    }
    if (quiet)
        return;
    gh_counters_print_summary(stderr, &tot->counters, elapsed);
    if (fw)
        print_fw_hits(fw, tot->fw_hits, tot->policy_hits, policy);
    if (dpi)
        print_sig_hits(dpi, tot->sig_hits);
    fprintf(stderr, "flows: %llu (%llu timed out, %llu evicted, %llu at end of input)\n",
            (unsigned long long)tot->flows_created, (unsigned long long)tot->flows_timed_out,
            (unsigned long long)tot->flows_evicted, (unsigned long long)tot->flows_shutdown);
}

/* --threads: N, or 'auto' / 0 for one per online CPU. */
static bool parse_threads(const char *arg, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (strcmp(arg, "auto") == 0 || (end != arg && !*end && v == 0)) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        v = cpus < 1 ? 1 : cpus > GH_PCAP_MAX_THREADS ? GH_PCAP_MAX_THREADS : (unsigned long)cpus;
    } else if (end == arg || *end || v > GH_PCAP_MAX_THREADS || arg[0] == '-') {
        fprintf(stderr, "gatehouse pcap: --threads takes 1 to %d, 0 or 'auto', not '%s'\n",
                GH_PCAP_MAX_THREADS, arg);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* The heap to map ahead for a capture of @p path (a file, or a directory
 * of them): as many bytes as it holds, within 4 and 16 MiB; 16 MiB when its
 * size is unknown (a pipe). The packet path's heap grows with the flows
 * carrying data at once, not with the capture: the merged corpus capture
 * (10 MB) took ~8 MB; the peak RSS of a large capture grows by the 16 MiB
 * at most. */
static size_t warm_bytes(const char *path)
{
    const size_t lo = (size_t)4 << 20, hi = (size_t)16 << 20;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return hi;
    uint64_t total = 0;
    if (S_ISREG(sb.st_mode)) {
        total = (uint64_t)sb.st_size;
    } else if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) && total < hi) {
            char file[4096];
            if (de->d_name[0] != '.' &&
                snprintf(file, sizeof(file), "%s/%s", path, de->d_name) < (int)sizeof(file) &&
                stat(file, &sb) == 0 && S_ISREG(sb.st_mode))
                total += (uint64_t)sb.st_size;
        }
        if (d)
            closedir(d);
    } else {
        return hi;
    }
    return total < lo ? lo : total > hi ? hi : (size_t)total;
}

int gh_cmd_pcap(int argc, char **argv)
{
    const char *input = NULL, *eve_path = NULL, *acc_path = NULL, *drop_path = NULL;
    const char *class_path = NULL, *thresh_path = NULL;
    gh_classification *cls = NULL;
    gh_mem_warm *warm = NULL;
    long warm_mib = -1; /* -1: warm_bytes */
    bool quiet = false;
    unsigned nthreads = 1;
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    gh_action_order order;
    gh_action_order_default(&order);

    enum { OPT_EVE = 256, OPT_WACC, OPT_WDROP, OPT_NOANOM, OPT_NOFLOW, OPT_POLICY, OPT_VAR,
           OPT_VARS, OPT_MIDSTREAM, OPT_ACTION_ORDER, OPT_ASYNC, OPT_STREAM_INSPECT, OPT_EVE_PAYLOAD, OPT_EVE_PRINTABLE,
           OPT_EVE_PACKET, OPT_EVE_TAGGED, OPT_CLASSIFICATION, OPT_THRESHOLD, OPT_THREADS,
           OPT_CACHE_DIR, OPT_NO_CACHE, OPT_EVE_TYPES, OPT_WARM };
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},
        {"firewall", required_argument, NULL, 'F'},
        {"rules", required_argument, NULL, 'S'},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"var", required_argument, NULL, OPT_VAR},
        {"vars", required_argument, NULL, OPT_VARS},
        {"midstream", no_argument, NULL, OPT_MIDSTREAM},
        {"action-order", required_argument, NULL, OPT_ACTION_ORDER},
        {"classification", required_argument, NULL, OPT_CLASSIFICATION},
        {"threshold-file", required_argument, NULL, OPT_THRESHOLD},
        {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"warm-heap", required_argument, NULL, OPT_WARM},
        {"async-oneside", no_argument, NULL, OPT_ASYNC},
        {"stream-inspect", required_argument, NULL, OPT_STREAM_INSPECT},
        {"no-flow-events", no_argument, NULL, OPT_NOFLOW},
        {"eve", required_argument, NULL, OPT_EVE},
        {"eve-payload", no_argument, NULL, OPT_EVE_PAYLOAD},
        {"eve-payload-printable", no_argument, NULL, OPT_EVE_PRINTABLE},
        {"eve-packet", no_argument, NULL, OPT_EVE_PACKET},
        {"eve-tagged-packets", no_argument, NULL, OPT_EVE_TAGGED},
        {"eve-types", required_argument, NULL, OPT_EVE_TYPES},
        {"checksum", required_argument, NULL, 'k'},
        {"write-accepted", required_argument, NULL, OPT_WACC},
        {"write-dropped", required_argument, NULL, OPT_WDROP},
        {"no-anomaly-events", no_argument, NULL, OPT_NOANOM},
        {"threads", required_argument, NULL, OPT_THREADS},
        GH_CLI_LIMIT_OPTIONS
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* argv outlives the run, so option arguments are kept by pointer */
    const char **fw_files = calloc((size_t)argc, sizeof(*fw_files));
    const char **sig_files = calloc((size_t)argc, sizeof(*sig_files));
    size_t n_sig = 0;
    gh_dpi *dpi = NULL;
    const char **vars_files = calloc((size_t)argc, sizeof(*vars_files));
    const char **var_defs = calloc((size_t)argc, sizeof(*var_defs));
    size_t n_fw = 0, n_vars_files = 0, n_var_defs = 0;
    int exit_code = GH_EXIT_OK;
    gh_rule_vars *vars = NULL;
    gh_fw *fw = NULL;
    if (!fw_files || !sig_files || !vars_files || !var_defs) {
        fprintf(stderr, "gatehouse pcap: out of memory\n");
        exit_code = GH_EXIT_RUNTIME;
        goto early;
    }

    gh_cli_limits lim;
    gh_cli_limits_init(&lim);
    gh_cli_cache_config(NULL, false); /* the default directory unless an option says */
    uint32_t eve_listed = 0, eve_removed = 0;
    optind = 1;
    int c, lr;
    while ((c = getopt_long(argc, argv, "r:F:S:k:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            input = optarg;
            break;
        case 'F':
            fw_files[n_fw++] = optarg;
            break;
        case 'S':
            sig_files[n_sig++] = optarg;
            break;
        case OPT_POLICY:
            if (!gh_cli_policy("gatehouse pcap", optarg, &cfg.policy)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_VAR:
            var_defs[n_var_defs++] = optarg;
            break;
        case OPT_VARS:
            vars_files[n_vars_files++] = optarg;
            break;
        case OPT_MIDSTREAM:
            cfg.flow.midstream = true;
            break;
        case OPT_ASYNC:
            cfg.flow.async_oneside = true;
            break;
        case OPT_STREAM_INSPECT:
            if (strcmp(optarg, "acked") == 0) {
                cfg.stream_acked = true;
            } else if (strcmp(optarg, "arrival") == 0) {
                cfg.stream_acked = false;
            } else {
                fprintf(stderr, "gatehouse pcap: --stream-inspect: unknown value '%s' "
                                "(arrival or acked)\n", optarg);
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_THRESHOLD:
            thresh_path = optarg;
            break;
        case OPT_CACHE_DIR:
        case OPT_NO_CACHE:
            gh_cli_cache_config(optarg, c == OPT_NO_CACHE);
            break;
        case OPT_CLASSIFICATION:
            class_path = optarg;
            break;
        case OPT_ACTION_ORDER:
            if (!gh_cli_action_order("gatehouse pcap", optarg, &order)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_NOFLOW:
            eve_removed |= 1u << GH_EVE_T_FLOW;
            break;
        case OPT_EVE:
            eve_path = optarg;
            break;
        case OPT_EVE_PAYLOAD:
            cfg.eve_alert_fields |= GH_EVE_ALERT_PAYLOAD;
            break;
        case OPT_EVE_PRINTABLE:
            cfg.eve_alert_fields |= GH_EVE_ALERT_PAYLOAD_PRINTABLE;
            break;
        case OPT_EVE_PACKET:
            cfg.eve_alert_fields |= GH_EVE_ALERT_PACKET;
            break;
        case OPT_EVE_TAGGED:
            cfg.eve_alert_fields |= GH_EVE_ALERT_TAGGED_PACKETS;
            break;
        case OPT_EVE_TYPES:
            if (!gh_cli_eve_types("gatehouse pcap", optarg, &eve_listed)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case 'k':
            if (!gh_cli_checksums("gatehouse pcap", optarg, &cfg.verify_checksums)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_WACC:
            acc_path = optarg;
            break;
        case OPT_WDROP:
            drop_path = optarg;
            break;
        case OPT_NOANOM:
            eve_removed |= 1u << GH_EVE_T_ANOMALY;
            break;
        case OPT_WARM: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > 1024) {
                fprintf(stderr, "gatehouse pcap: --warm-heap takes MiB from 0 to 1024, "
                                "not '%s'\n", optarg);
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            warm_mib = v;
            break;
        }
        case OPT_THREADS:
            if (!parse_threads(optarg, &nthreads)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            pcap_usage(stdout);
            goto early;
        default:
            if ((lr = gh_cli_limit_option("gatehouse pcap", c, optarg, &lim, &cfg)) > 0)
                break;
            if (lr == 0)
                pcap_usage(stderr);
            exit_code = GH_EXIT_USAGE;
            goto early;
        }
    }
    gh_cli_limits_apply(&lim, &cfg, false);
    cfg.eve_types = gh_cli_eve_types_final(eve_listed, eve_removed);
    if (optind < argc) {
        fprintf(stderr, "gatehouse pcap: unexpected argument '%s'\n", argv[optind]);
        exit_code = GH_EXIT_USAGE;
        goto early;
    }
    if (!input) {
        fprintf(stderr, "gatehouse pcap: -r FILE|DIR is required\n");
        pcap_usage(stderr);
        exit_code = GH_EXIT_USAGE;
        goto early;
    }
    /* one worker runs on this thread: map its heap while the rules load */
    if (nthreads <= 1 && warm_mib)
        warm = gh_mem_warm_start(warm_mib < 0 ? warm_bytes(input) : (size_t)warm_mib << 20);
    if (n_fw || n_sig) {
        if (!(vars = gh_cli_vars_load("gatehouse pcap", vars_files, n_vars_files, var_defs,
                                      n_var_defs, &exit_code)))
            goto early;
    }
    if (n_fw) {
        if (!(fw = gh_cli_firewall_load("gatehouse pcap", fw_files, n_fw, vars, !quiet,
                                        &exit_code)))
            goto early;
        cfg.fw = fw;
    }
    if (n_sig) {
        if ((exit_code = gh_cli_classification_load("gatehouse pcap", class_path, &cls)) !=
            GH_EXIT_OK)
            goto early;
        if (!(dpi = gh_cli_dpi_load("gatehouse pcap", sig_files, n_sig, vars, cls, !quiet,
                                    &exit_code)))
            goto early;
        gh_dpi_set_action_order(dpi, &order);
        if (thresh_path && (exit_code = gh_cli_thresholds_apply("gatehouse pcap", thresh_path,
                                                                vars, dpi, !quiet)) != GH_EXIT_OK)
            goto early;
        cfg.dpi = dpi;
    }

    gh_error err = {0};
    gh_source *src = NULL;
    gh_eve *eve = NULL;
    gh_worker *w = NULL;
    gh_pcap_writer *wacc = NULL, *wdrop = NULL;

    src = gh_source_pcap_open(input, &err);
    if (!src) {
        fprintf(stderr, "gatehouse: %s\n", err.msg);
        exit_code = GH_EXIT_RUNTIME;
        goto early;
    }
    if (eve_path && !(eve = gh_eve_open(eve_path, &err)))
        goto fail;
    if (acc_path && !(wacc = gh_pcap_writer_open(acc_path, &err)))
        goto fail;
    if (drop_path && !(wdrop = gh_pcap_writer_open(drop_path, &err)))
        goto fail;
    gh_pcap_totals tot;
    memset(&tot, 0, sizeof(tot));
    gh_progress pg;
    if (nthreads > 1) {
        gh_progress_init(&pg, !quiet && isatty(STDERR_FILENO), gh_cli_now());
        exit_code = gh_pcap_run_threads(src, &cfg, eve, nthreads, wacc, wdrop, &pg, &tot);
        if (tot.events_failed && exit_code == GH_EXIT_OK) {
            fprintf(stderr, "gatehouse: writing events to %s failed\n", eve_path);
            exit_code = GH_EXIT_RUNTIME;
        }
        summarize(&tot, tot.elapsed, eve, cfg.eve_types, fw, dpi, cfg.policy, quiet);
        gh_pcap_totals_free(&tot);
        goto written;
    }
    if (!(w = gh_worker_new(&cfg, eve, &err)))
        goto fail;
    gh_mem_warm_finish(warm);
    double t0 = gh_cli_now();
    gh_progress_init(&pg, !quiet && isatty(STDERR_FILENO), t0);

    gh_pkt_in batch[GH_MAX_BATCH];
    gh_verdict verdicts[GH_MAX_BATCH];
    for (;;) {
        size_t n = 0;
        int rc = gh_source_read_batch(src, batch, GH_MAX_BATCH, &n, &err);
        if (rc == GH_E_EOF)
            break;
        if (rc != GH_OK) {
            fprintf(stderr, "gatehouse: %s\n", err.msg);
            exit_code = GH_EXIT_RUNTIME;
            break;
        }
        if (gh_worker_process_batch(w, batch, n, verdicts) != GH_OK && exit_code == GH_EXIT_OK) {
            fprintf(stderr, "gatehouse: writing events to %s failed\n", eve_path);
            exit_code = GH_EXIT_RUNTIME;
        }
        for (size_t i = 0; i < n; i++) {
            gh_pcap_writer *out = verdicts[i] == GH_VERDICT_ACCEPT ? wacc : wdrop;
            if (out && gh_pcap_writer_write(out, &batch[i], &err) != GH_OK) {
                fprintf(stderr, "gatehouse: %s\n", err.msg);
                exit_code = GH_EXIT_RUNTIME;
                goto done;
            }
        }
        tot.last_sec = batch[n - 1].ts_sec;
        tot.last_nsec = batch[n - 1].ts_nsec;
        gh_progress_tick(&pg, gh_worker_counters(w)->pkts);
    }
    gh_progress_end(&pg);
done:;
    if (gh_worker_finish(w, (uint64_t)tot.last_sec * 1000000000u + tot.last_nsec) != GH_OK &&
        exit_code == GH_EXIT_OK) {
        fprintf(stderr, "gatehouse: writing events to %s failed\n", eve_path);
        exit_code = GH_EXIT_RUNTIME;
    }
    double elapsed = gh_cli_now() - t0;
    /* one worker's own numbers, in the shape N workers' sum takes */
    tot.counters = *gh_worker_counters(w);
    tot.fw_hits = gh_worker_fw_hits(w);
    tot.policy_hits = gh_worker_policy_hits(w);
    tot.sig_hits = gh_worker_sig_hits(w);
    const gh_flow_stats *fs = gh_flow_table_stats(gh_worker_flows(w));
    tot.flows_created = fs->created;
    tot.flows_timed_out = fs->timed_out;
    tot.flows_evicted = fs->evicted;
    tot.flows_shutdown = fs->shutdown;
    summarize(&tot, elapsed, eve, cfg.eve_types, fw, dpi, cfg.policy, quiet);
written:
    if (wacc && gh_pcap_writer_skipped(wacc))
        fprintf(stderr, "gatehouse: %llu accepted packets not written (link type mismatch)\n",
                (unsigned long long)gh_pcap_writer_skipped(wacc));
    if (wdrop && gh_pcap_writer_skipped(wdrop))
        fprintf(stderr, "gatehouse: %llu dropped packets not written (link type mismatch)\n",
                (unsigned long long)gh_pcap_writer_skipped(wdrop));
    goto cleanup;

fail:
    fprintf(stderr, "gatehouse: %s\n", err.msg);
    exit_code = GH_EXIT_RUNTIME;
cleanup:
    gh_pcap_writer *outs[2] = {wacc, wdrop};
    for (int i = 0; i < 2; i++) {
        if (gh_pcap_writer_close(outs[i], &err) != GH_OK) {
            fprintf(stderr, "gatehouse: %s\n", err.msg);
            exit_code = GH_EXIT_RUNTIME;
        }
    }
    if (gh_eve_close(eve, &err) != GH_OK) {
        fprintf(stderr, "gatehouse: %s\n", err.msg);
        exit_code = GH_EXIT_RUNTIME;
    }
    gh_worker_free(w);
    gh_source_close(src);
early:
    gh_mem_warm_free(warm);
    gh_cli_dpi_release_at_exit(dpi);
    gh_classification_free(cls);
    free(sig_files);
    gh_fw_free(fw);
    gh_rule_vars_free(vars);
    free(fw_files);
    free(vars_files);
    free(var_defs);
    return exit_code;
}
