/* gatehouse nfq: inline through NFQUEUE. One thread per queue, each with its
 * own source and worker (the kernel's queue balancing keeps a flow on one
 * queue). The main thread only waits for signals: SIGHUP compiles the rule
 * files again while the workers keep serving and publishes the new ruleset
 * with one atomic pointer store; each worker moves to it between batches
 * and the old one is freed once no worker uses it. SIGTERM/SIGINT: every
 * worker drains what the kernel already handed over, answers it, writes its
 * events and the process exits 0. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "gatehouse/engine.h"
#include "gatehouse/reject.h"

#define MAX_QUEUES 64

_Static_assert(GH_NFQ_MAX_BATCH <= GH_MAX_BATCH, "a queue's batch fits one worker batch");
#define MAX_RETIRED 16

/* One compiled generation of the rule files; immutable once published. */
typedef struct nfq_rules {
    gh_fw *fw;
    gh_dpi *dpi;
    gh_rule_vars *vars;
    gh_classification *cls; /* the alerts' category and severity come from it */
    unsigned gen;
} nfq_rules;

/* What the rule files are, to compile them again on SIGHUP. */
typedef struct rule_spec {
    const char **fw, **sig, **vars_files, **var_defs;
    size_t n_fw, n_sig, n_vars_files, n_var_defs;
    const char *class_path;  /* NULL: the default classification.config */
    const char *thresh_path; /* --threshold-file, read again on every reload; NULL: none */
    gh_action_order order;
    bool verbose;
} rule_spec;

typedef struct qworker {
    pthread_t th;
    uint16_t queue;
    gh_source *src;
    gh_worker *w;
    gh_reject *rej;
    const nfq_rules *rules;        /* the generation this worker's engine runs */
    unsigned refused_gen;          /* a generation it could not move to (no retry) */
    _Atomic(const nfq_rules *) in_use; /* the same, for the main thread */
    gh_counters total;             /* counters of engines retired by reloads */
    uint64_t unanswered;           /* packets left without a verdict at exit (must be 0) */
    uint64_t event_errors;         /* batches whose events could not be written */
    uint64_t verdict_errors;       /* batches whose verdicts could not be sent */
    double first_pkt, last_pkt;    /* monotonic seconds, for throughput */
    atomic_bool done;
    int rc;
} qworker;

static struct {
    gh_engine_config cfg;
    gh_nfq_config ncfg;
    gh_eve *eve;
    uint32_t mark;
    double stats_interval;
    double t0;
    _Atomic(nfq_rules *) rules;
    atomic_bool stop;
} g;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nfq_usage(FILE *out)
{
    fprintf(out,
            "usage: gatehouse nfq --queue N[-M] [options]\n"
            "\n"
            "Inline: judge the packets iptables/nftables queue to NFQUEUE queues N..M\n"
            "(one thread per queue) and give the kernel a verdict for every one.\n"
            "\n"
            "  -Q, --queue N[-M]        queue number or range (with --queue-balance N:M)\n"
            "  -F, --firewall FILE      firewall rules (repeatable, read in order)\n"
            "      --policy accept|drop verdict when no firewall rule matches (default accept)\n"
            "  -S, --rules FILE|DIR     signatures (repeatable)\n"
            "      --var NAME=VALUE     define or override a rule variable\n"
            "      --vars FILE          variables file instead of the default vars.conf\n"
            "      --classification FILE  classtype table (default rules/classification.config)\n"
            "      --threshold-file FILE  Suricata threshold.config lines (read again on SIGHUP)\n"
            "      --cache-dir DIR      Hyperscan database cache (default $GATEHOUSE_CACHE_DIR,\n"
            "                           else $XDG_CACHE_HOME/gatehouse, else ~/.cache/gatehouse)\n"
            "      --no-cache           compile every database, read and write no cache\n"
            "      --action-order LIST  precedence of signature actions, e.g.\n"
            "                           drop,pass,reject,alert (default pass,drop,reject,alert)\n"
            "      --eve FILE           EVE JSON events ('-' = stdout); 'stats' events per\n"
            "                           queue every --stats-interval seconds\n"
            "      --stats-interval S   seconds between stats events (default 60; 0: only at exit)\n"
            "      --fail-open          ask the kernel to accept packets when the queue is full\n"
            "                           (warns loudly when the kernel refuses)\n"
            "      --mark VALUE         mark packets of flows the firewall passes (and the RSTs\n"
            "                           and ICMP errors reject sends) so the queue rule can\n"
            "                           skip them; see README \"Deployment\"\n"
            "      --queue-maxlen N     kernel queue length (default: kernel's, 1024)\n"
            "      --rcvbuf BYTES       netlink socket receive buffer (default 8 MiB): packets\n"
            "                           the kernel handed over but gatehouse has not read yet\n"
            "      --no-batch           one packet per read, one verdict message per packet\n"
            "      --no-gso             let the kernel segment GSO packets before queueing\n"
            "      --midstream          pick up TCP flows whose handshake was not seen\n"
            "                           (flows open before a start or reload)\n"
            "  -k, --checksum MODE      'none' (default here: local and GSO packets carry\n"
            "                           unfinished checksums) or 'all'\n"
            "      --eve-types LIST     the event types written, comma-separated (default\n"
            "                           all): alert, anomaly, drop, flow, packet, stats,\n"
            "                           http, dns, tls, smtp, ftp, ssh; repeatable (the lists\n"
            "                           add up). The others are not even formatted; their\n"
            "                           counters stay in the summary and the stats events\n"
            "      --no-anomaly-events  count anomalies but write no events for them (takes\n"
            "                           anomaly out of the types, --eve-types or not)\n"
            "      --no-flow-events     write no EVE flow events (likewise for flow)\n"
            "  -q, --quiet              no summary on stderr\n"
            "  -h, --help               this help\n"
            "\n");
    gh_cli_limits_usage(out, "inline, as Suricata's IPS: drop-packet for flow-full,\n"
                             "drop-flow for stream-memcap, app-memcap and app-error, ignore\n"
                             "for midstream and decompress-cap");
    fprintf(out,
            "\n"
            "Signals: SIGHUP compiles the rule files again; the old rules keep serving\n"
            "until the new ones are ready, and stay when the files have errors.\n"
            "SIGTERM/SIGINT: answer every packet already handed over, write the\n"
            "events, exit 0. Verdicts: accept, drop; reject drops and sends a TCP RST\n"
            "or an ICMP unreachable.\n"
            "\n"
            "Exit codes: 0 stopped by a signal; 1 a queue could not be bound, rules did\n"
            "not compile at start, or the netlink socket failed; 2 usage error.\n");
}

static void rules_free(nfq_rules *r)
{
    if (!r)
        return;
    gh_dpi_free(r->dpi);
    gh_fw_free(r->fw);
    gh_rule_vars_free(r->vars);
    gh_classification_free(r->cls);
    free(r);
}

/* Compile every rule file; NULL (errors printed) when any fails. */
static nfq_rules *rules_load(const rule_spec *sp, unsigned gen)
{
    int exit_code = GH_EXIT_OK;
    nfq_rules *r = calloc(1, sizeof(*r));
    if (!r) {
        fprintf(stderr, "gatehouse nfq: out of memory\n");
        return NULL;
    }
    r->gen = gen;
    if (!sp->n_fw && !sp->n_sig)
        return r;
    if (!(r->vars = gh_cli_vars_load("gatehouse nfq", sp->vars_files, sp->n_vars_files,
                                     sp->var_defs, sp->n_var_defs, &exit_code)))
        goto fail;
    if (sp->n_fw && !(r->fw = gh_cli_firewall_load("gatehouse nfq", sp->fw, sp->n_fw, r->vars,
                                                   sp->verbose, &exit_code)))
        goto fail;
    if (sp->n_sig) {
        /* read again on every reload, as the rule files */
        if (gh_cli_classification_load("gatehouse nfq", sp->class_path, &r->cls) != GH_EXIT_OK)
            goto fail;
        if (!(r->dpi = gh_cli_dpi_load("gatehouse nfq", sp->sig, sp->n_sig, r->vars, r->cls,
                                       sp->verbose, &exit_code)))
            goto fail;
        gh_dpi_set_action_order(r->dpi, &sp->order);
        if (sp->thresh_path && gh_cli_thresholds_apply("gatehouse nfq", sp->thresh_path, r->vars,
                                                       r->dpi, sp->verbose) != GH_EXIT_OK)
            goto fail;
    }
    return r;
fail:
    rules_free(r);
    return NULL;
}

static gh_worker *engine_new(const nfq_rules *r, gh_error *err)
{
    gh_engine_config c = g.cfg;
    c.fw = r->fw;
    c.dpi = r->dpi;
    return gh_worker_new(&c, g.eve, err);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This queue's counters: retired engines plus the running one. */
static void queue_counters(const qworker *q, gh_counters *c)
{
    *c = q->total;
    gh_counters_merge(c, gh_worker_counters(q->w));
}

static void write_stats(qworker *q)
{
    if (!g.eve || !(g.cfg.eve_types & (1u << GH_EVE_T_STATS)))
        return;
    gh_counters c;
    queue_counters(q, &c);
    gh_nfq_kstats ks;
    gh_nfq_kernel_stats(q->queue, &ks);
    gh_source_stats ss;
    gh_source_stats_get(q->src, &ss);
    const gh_reject_stats *rs = q->rej ? gh_reject_get_stats(q->rej) : NULL;
    char extra[768];
    snprintf(extra, sizeof(extra),
             "\"nfq\":{\"queue\":%u,\"packets\":%" PRIu64 ",\"held\":%" PRIu64
             ",\"fail_open\":%s,\"gso\":%s,\"rules_generation\":%u,\"verdict_errors\":%" PRIu64
             ",\"kernel\":{\"queue_total\":%" PRIu64 ",\"queue_dropped\":%" PRIu64
             ",\"user_dropped\":%" PRIu64 ",\"id_sequence\":%" PRIu64 "},\"reject\":{\"tcp_rst\":%"
             PRIu64 ",\"icmp\":%" PRIu64 ",\"not_answered\":%" PRIu64 ",\"send_errors\":%" PRIu64
             "},\"active_seconds\":%.6f}",
             q->queue, ss.packets, gh_source_nfq_held(q->src),
             gh_source_nfq_fail_open(q->src) ? "true" : "false",
             gh_source_nfq_gso(q->src) ? "true" : "false", q->rules->gen,
             gh_source_nfq_verdict_errors(q->src, NULL), ks.queue_total, ks.queue_dropped,
             ks.user_dropped, ks.id_sequence, rs ? rs->tcp_rst : 0, rs ? rs->icmp : 0,
             rs ? rs->not_answered : 0, rs ? rs->send_errors : 0,
             q->last_pkt > q->first_pkt ? q->last_pkt - q->first_pkt : 0.0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    gh_jbuf b;
    gh_jbuf_init(&b);
    gh_eve_fmt_stats_extra(&b, ts.tv_sec, (uint32_t)ts.tv_nsec, &c, mono_s() - g.t0, extra);
    gh_eve_write(g.eve, b.p, b.len);
    gh_jbuf_free(&b);
    gh_eve_flush(g.eve);
}

/* Move to the newest ruleset: a fresh engine on it (flows of the old one
 * end with their events; with --midstream open TCP flows are picked up). */
static void adopt_rules(qworker *q, const nfq_rules *r)
{
    gh_error err = {0};
    gh_worker *nw = engine_new(r, &err);
    if (!nw) {
        fprintf(stderr, "gatehouse nfq: queue %u: cannot use the new rules (%s); the old ones "
                        "stay\n", q->queue, err.msg);
        q->refused_gen = r->gen;
        return;
    }
    gh_worker_finish(q->w, now_ns());
    gh_counters_merge(&q->total, gh_worker_counters(q->w));
    gh_worker_free(q->w);
    q->w = nw;
    q->rules = r;
    atomic_store(&q->in_use, r);
}

/* Judge and answer one batch. */
static void judge(qworker *q, const gh_pkt_in *batch, size_t n)
{
    gh_verdict verdicts[GH_NFQ_MAX_BATCH];
    uint32_t marks[GH_NFQ_MAX_BATCH];
    double t = mono_s();
    if (!q->first_pkt)
        q->first_pkt = t;
    if (gh_worker_process_batch(q->w, batch, n, verdicts) != GH_OK && !q->event_errors++)
        fprintf(stderr, "gatehouse nfq: writing events failed\n");
    const gh_packet *pk = gh_worker_last_packets(q->w);
    const bool *passed = gh_worker_last_passed(q->w);
    for (size_t i = 0; i < n; i++) {
        marks[i] = g.mark && passed[i] ? g.mark : 0;
        if (verdicts[i] == GH_VERDICT_REJECT && q->rej)
            gh_reject_send(q->rej, &pk[i]);
    }
    if (gh_source_nfq_verdicts(q->src, batch, verdicts, g.mark ? marks : NULL, n) != GH_OK &&
        !q->verdict_errors++)
        fprintf(stderr, "gatehouse nfq: queue %u: sending verdicts failed: %s\n", q->queue,
                strerror(errno));
    q->last_pkt = mono_s();
}

static void *queue_thread(void *arg)
{
    qworker *q = arg;
    gh_pkt_in batch[GH_NFQ_MAX_BATCH];
    gh_error err = {0};
    double next_stats = g.stats_interval > 0 ? mono_s() + g.stats_interval : 0;
    while (!atomic_load(&g.stop)) {
        const nfq_rules *r = atomic_load(&g.rules);
        if (r != q->rules && r->gen != q->refused_gen)
            adopt_rules(q, r);
        size_t n = 0;
        if (gh_source_read_batch(q->src, batch, GH_NFQ_MAX_BATCH, &n, &err) != GH_OK) {
            fprintf(stderr, "gatehouse nfq: %s\n", err.msg);
            q->rc = GH_EXIT_RUNTIME;
            break;
        }
        if (n)
            judge(q, batch, n);
        if (next_stats && mono_s() >= next_stats) {
            write_stats(q);
            next_stats = mono_s() + g.stats_interval;
        }
    }
    /* Drain: answer what the kernel already handed over, until the socket
     * stays empty (bounded: a flood cannot keep us here). */
    gh_source_nfq_set_timeout(q->src, 20);
    double until = mono_s() + 2.0;
    int empty = 0;
    while (q->rc == GH_EXIT_OK && empty < 2 && mono_s() < until) {
        size_t n = 0;
        if (gh_source_read_batch(q->src, batch, GH_NFQ_MAX_BATCH, &n, &err) != GH_OK)
            break;
        if (n) {
            judge(q, batch, n);
            empty = 0;
        } else {
            empty++;
        }
    }
    q->unanswered = gh_source_nfq_held(q->src);
    gh_worker_finish(q->w, now_ns());
    write_stats(q);
    atomic_store(&q->done, true);
    return NULL;
}

/* "N" or "N-M" */
static int parse_queues(const char *s, unsigned *lo, unsigned *hi)
{
    char *end;
    errno = 0;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (end == s || errno)
        return -1;
    if (*end == '-' || *end == ':') {
        const char *p = end + 1;
        b = strtoul(p, &end, 10);
        if (end == p || errno)
            return -1;
    }
    if (*end || a > 65535 || b > 65535 || b < a || b - a >= MAX_QUEUES)
        return -1;
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s || *end || errno || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Free retired generations that no worker uses any more. */
static void reap_retired(nfq_rules **retired, size_t *n, qworker *qs, size_t nq)
{
    for (size_t i = 0; i < *n;) {
        bool used = false;
        for (size_t k = 0; k < nq; k++)
            used |= atomic_load(&qs[k].in_use) == retired[i];
        if (used) {
            i++;
            continue;
        }
        rules_free(retired[i]);
        retired[i] = retired[--*n];
    }
}

int gh_cmd_nfq(int argc, char **argv)
{
    const char *eve_path = NULL;
    unsigned qlo = 0, qhi = 0;
    bool have_queue = false, quiet = false;
    rule_spec sp = {0};
    gh_action_order_default(&sp.order);
    int exit_code = GH_EXIT_OK;
    memset(&g, 0, sizeof(g));
    gh_engine_config_init(&g.cfg);
    g.cfg.verify_checksums = false;
    g.stats_interval = 60;
    gh_nfq_config_init(&g.ncfg, 0);

    enum { OPT_EVE = 256, OPT_POLICY, OPT_VAR, OPT_VARS, OPT_FAILOPEN, OPT_MARK, OPT_MAXLEN,
           OPT_NOBATCH, OPT_NOGSO, OPT_MIDSTREAM, OPT_NOANOM, OPT_NOFLOW, OPT_STATS, OPT_RCVBUF,
           OPT_CLASSIFICATION, OPT_ACTION_ORDER, OPT_THRESHOLD, OPT_CACHE_DIR, OPT_NO_CACHE,
           OPT_EVE_TYPES };
    static const struct option opts[] = {
        {"queue", required_argument, NULL, 'Q'},
        {"firewall", required_argument, NULL, 'F'},
        {"rules", required_argument, NULL, 'S'},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"var", required_argument, NULL, OPT_VAR},
        {"vars", required_argument, NULL, OPT_VARS},
        {"classification", required_argument, NULL, OPT_CLASSIFICATION},
        {"threshold-file", required_argument, NULL, OPT_THRESHOLD},
        {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"action-order", required_argument, NULL, OPT_ACTION_ORDER},
        {"eve", required_argument, NULL, OPT_EVE},
        {"stats-interval", required_argument, NULL, OPT_STATS},
        {"fail-open", no_argument, NULL, OPT_FAILOPEN},
        {"mark", required_argument, NULL, OPT_MARK},
        {"queue-maxlen", required_argument, NULL, OPT_MAXLEN},
        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
        {"no-batch", no_argument, NULL, OPT_NOBATCH},
        {"no-gso", no_argument, NULL, OPT_NOGSO},
        {"midstream", no_argument, NULL, OPT_MIDSTREAM},
        {"checksum", required_argument, NULL, 'k'},
        {"no-anomaly-events", no_argument, NULL, OPT_NOANOM},
        {"no-flow-events", no_argument, NULL, OPT_NOFLOW},
        {"eve-types", required_argument, NULL, OPT_EVE_TYPES},
        GH_CLI_LIMIT_OPTIONS
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sp.fw = calloc((size_t)argc, sizeof(*sp.fw));
    sp.sig = calloc((size_t)argc, sizeof(*sp.sig));
    sp.vars_files = calloc((size_t)argc, sizeof(*sp.vars_files));
    sp.var_defs = calloc((size_t)argc, sizeof(*sp.var_defs));
    qworker *qs = NULL;
    size_t nq = 0, started = 0;
    nfq_rules *retired[MAX_RETIRED];
    size_t n_retired = 0;
    if (!sp.fw || !sp.sig || !sp.vars_files || !sp.var_defs) {
        fprintf(stderr, "gatehouse nfq: out of memory\n");
        exit_code = GH_EXIT_RUNTIME;
        goto early;
    }
    gh_cli_limits lim;
    gh_cli_limits_init(&lim);
    gh_cli_cache_config(NULL, false); /* the default directory unless an option says */
    uint32_t eve_listed = 0, eve_removed = 0;
    optind = 1;
    int c, lr;
    while ((c = getopt_long(argc, argv, "Q:F:S:k:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'Q':
            if (parse_queues(optarg, &qlo, &qhi) != 0) {
                fprintf(stderr, "gatehouse nfq: --queue takes N or N-M (at most %d queues), "
                                "not '%s'\n", MAX_QUEUES, optarg);
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            have_queue = true;
            break;
        case 'F':
            sp.fw[sp.n_fw++] = optarg;
            break;
        case 'S':
            sp.sig[sp.n_sig++] = optarg;
            break;
        case OPT_POLICY:
            if (!gh_cli_policy("gatehouse nfq", optarg, &g.cfg.policy)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_VAR:
            sp.var_defs[sp.n_var_defs++] = optarg;
            break;
        case OPT_VARS:
            sp.vars_files[sp.n_vars_files++] = optarg;
            break;
        case OPT_THRESHOLD:
            sp.thresh_path = optarg;
            break;
        case OPT_CACHE_DIR:
        case OPT_NO_CACHE:
            gh_cli_cache_config(optarg, c == OPT_NO_CACHE);
            break;
        case OPT_CLASSIFICATION:
            sp.class_path = optarg;
            break;
        case OPT_ACTION_ORDER:
            if (!gh_cli_action_order("gatehouse nfq", optarg, &sp.order)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_EVE:
            eve_path = optarg;
            break;
        case OPT_STATS: {
            char *end;
            g.stats_interval = strtod(optarg, &end);
            if (end == optarg || *end || g.stats_interval < 0) {
                fprintf(stderr, "gatehouse nfq: --stats-interval takes seconds, not '%s'\n",
                        optarg);
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        }
        case OPT_FAILOPEN:
            g.ncfg.fail_open = true;
            break;
        case OPT_MARK:
            if (parse_u32(optarg, &g.mark) != 0 || !g.mark) {
                fprintf(stderr, "gatehouse nfq: --mark takes a non-zero 32-bit value, not '%s'\n",
                        optarg);
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_MAXLEN:
            if (parse_u32(optarg, &g.ncfg.queue_maxlen) != 0 || !g.ncfg.queue_maxlen) {
                fprintf(stderr, "gatehouse nfq: --queue-maxlen takes a positive number, not "
                                "'%s'\n", optarg);
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_RCVBUF:
            if (parse_u32(optarg, &g.ncfg.rcvbuf) != 0 || g.ncfg.rcvbuf < 65536 ||
                g.ncfg.rcvbuf > (1u << 30)) {
                fprintf(stderr, "gatehouse nfq: --rcvbuf takes bytes from 65536 to 2^30, not "
                                "'%s'\n", optarg);
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_NOBATCH:
            g.ncfg.batch = false;
            break;
        case OPT_NOGSO:
            g.ncfg.gso = false;
            break;
        case OPT_MIDSTREAM:
            g.cfg.flow.midstream = true;
            break;
        case 'k':
            if (!gh_cli_checksums("gatehouse nfq", optarg, &g.cfg.verify_checksums)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case OPT_NOANOM:
            eve_removed |= 1u << GH_EVE_T_ANOMALY;
            break;
        case OPT_NOFLOW:
            eve_removed |= 1u << GH_EVE_T_FLOW;
            break;
        case OPT_EVE_TYPES:
            if (!gh_cli_eve_types("gatehouse nfq", optarg, &eve_listed)) {
                exit_code = GH_EXIT_USAGE;
                goto early;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            nfq_usage(stdout);
            goto early;
        default:
            if ((lr = gh_cli_limit_option("gatehouse nfq", c, optarg, &lim, &g.cfg)) > 0)
                break;
            if (lr == 0)
                nfq_usage(stderr);
            exit_code = GH_EXIT_USAGE;
            goto early;
        }
    }
    gh_cli_limits_apply(&lim, &g.cfg, true);
    g.cfg.eve_types = gh_cli_eve_types_final(eve_listed, eve_removed);
    if (optind < argc) {
        fprintf(stderr, "gatehouse nfq: unexpected argument '%s'\n", argv[optind]);
        exit_code = GH_EXIT_USAGE;
        goto early;
    }
    if (!have_queue) {
        fprintf(stderr, "gatehouse nfq: --queue N[-M] is required\n");
        nfq_usage(stderr);
        exit_code = GH_EXIT_USAGE;
        goto early;
    }
    sp.verbose = !quiet;
    g.t0 = mono_s();
    nfq_rules *first = rules_load(&sp, 1);
    if (!first) {
        exit_code = GH_EXIT_RUNTIME;
        goto early;
    }
    atomic_store(&g.rules, first);

    gh_error err = {0};
    if (eve_path && !(g.eve = gh_eve_open(eve_path, &err))) {
        fprintf(stderr, "gatehouse nfq: %s\n", err.msg);
        exit_code = GH_EXIT_RUNTIME;
        goto out;
    }
    /* Signals go to the main thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    nq = qhi - qlo + 1;
    if (!(qs = calloc(nq, sizeof(*qs)))) {
        fprintf(stderr, "gatehouse nfq: out of memory\n");
        exit_code = GH_EXIT_RUNTIME;
        goto out;
    }
    for (size_t i = 0; i < nq; i++) {
        qworker *q = &qs[i];
        q->queue = (uint16_t)(qlo + i);
        gh_nfq_config nc = g.ncfg;
        nc.queue = q->queue;
        if (!(q->src = gh_source_nfq_open(&nc, &err)) || !(q->w = engine_new(first, &err))) {
            fprintf(stderr, "gatehouse nfq: %s\n", err.msg);
            exit_code = GH_EXIT_RUNTIME;
            goto out;
        }
        q->rules = first;
        atomic_store(&q->in_use, first);
        if (!(q->rej = gh_reject_new(g.mark, &err)))
            fprintf(stderr, "gatehouse nfq: warning: %s; reject will only drop\n", err.msg);
        if (g.ncfg.fail_open && !gh_source_nfq_fail_open(q->src))
            fprintf(stderr,
                    "gatehouse nfq: WARNING: queue %u: the kernel REFUSED fail-open: when the "
                    "queue is full, packets will be DROPPED\n", q->queue);
        if (g.ncfg.gso && !gh_source_nfq_gso(q->src))
            fprintf(stderr, "gatehouse nfq: warning: queue %u: the kernel refused GSO; large "
                            "packets are segmented before queueing\n", q->queue);
    }
    for (size_t i = 0; i < nq; i++) {
        if (pthread_create(&qs[i].th, NULL, queue_thread, &qs[i]) != 0) {
            fprintf(stderr, "gatehouse nfq: cannot start a thread\n");
            atomic_store(&g.stop, true);
            exit_code = GH_EXIT_RUNTIME;
            break;
        }
        started++;
    }
    if (!quiet && started == nq)
        fprintf(stderr, "gatehouse nfq: ready: queues %u-%u, fail-open %s, GSO %s, %s\n", qlo, qhi,
                !g.ncfg.fail_open ? "off" : gh_source_nfq_fail_open(qs[0].src) ? "on" : "REFUSED",
                gh_source_nfq_gso(qs[0].src) ? "on" : "off",
                g.ncfg.batch ? "batched verdicts" : "one verdict per packet");
    unsigned gen = 1;
    while (!atomic_load(&g.stop)) {
        struct timespec tmo = {.tv_sec = 0, .tv_nsec = 200000000};
        int sig = sigtimedwait(&sigs, NULL, &tmo);
        reap_retired(retired, &n_retired, qs, started);
        bool any_done = false;
        for (size_t i = 0; i < started; i++)
            any_done |= atomic_load(&qs[i].done);
        if (any_done) {
            /* a queue failed: stop them all */
            exit_code = GH_EXIT_RUNTIME;
            break;
        }
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig != SIGHUP)
            continue;
        if (n_retired == MAX_RETIRED) {
            fprintf(stderr, "gatehouse nfq: reload: previous rulesets are still in use; "
                            "try again\n");
            continue;
        }
        fprintf(stderr, "gatehouse nfq: SIGHUP: compiling the rules again\n");
        nfq_rules *nr = rules_load(&sp, gen + 1);
        if (!nr) {
            fprintf(stderr, "gatehouse nfq: reload failed; the rules of generation %u keep "
                            "running\n", gen);
            continue;
        }
        gen++;
        retired[n_retired++] = atomic_exchange(&g.rules, nr);
        fprintf(stderr, "gatehouse nfq: reloaded: rules generation %u\n", gen);
    }
    atomic_store(&g.stop, true);
    for (size_t i = 0; i < started; i++) {
        pthread_join(qs[i].th, NULL);
        if (qs[i].rc != GH_EXIT_OK)
            exit_code = qs[i].rc;
    }
    if (!quiet && started) {
        gh_counters all;
        memset(&all, 0, sizeof(all));
        uint64_t unanswered = 0;
        for (size_t i = 0; i < started; i++) {
            gh_counters qc;
            queue_counters(&qs[i], &qc);
            gh_counters_merge(&all, &qc);
            unanswered += qs[i].unanswered;
        }
        gh_counters_print_summary(stderr, &all, mono_s() - g.t0);
        for (size_t i = 0; i < started; i++) {
            gh_nfq_kstats ks;
            gh_nfq_kernel_stats(qs[i].queue, &ks);
            gh_source_stats ss;
            gh_source_stats_get(qs[i].src, &ss);
            const gh_reject_stats *rs = qs[i].rej ? gh_reject_get_stats(qs[i].rej) : NULL;
            fprintf(stderr,
                    "queue %u: packets %" PRIu64 ", answered %" PRIu64 ", unanswered %" PRIu64
                    ", kernel queue drops %" PRIu64 ", socket drops %" PRIu64
                    ", RSTs %" PRIu64 ", ICMP unreachables %" PRIu64 "\n",
                    qs[i].queue, ss.packets, ss.packets - qs[i].unanswered, qs[i].unanswered,
                    ks.queue_dropped, ks.user_dropped, rs ? rs->tcp_rst : 0, rs ? rs->icmp : 0);
        }
        fprintf(stderr, "unanswered packets: %" PRIu64 "\n", unanswered);
    }
out:
    for (size_t i = 0; qs && i < nq; i++) {
        gh_worker_free(qs[i].w);
        gh_reject_free(qs[i].rej);
        gh_source_close(qs[i].src);
    }
    free(qs);
    if (gh_eve_close(g.eve, &err) != GH_OK) {
        fprintf(stderr, "gatehouse nfq: %s\n", err.msg);
        exit_code = GH_EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n_retired; i++)
        rules_free(retired[i]);
    rules_free(atomic_load(&g.rules));
early:
    free(sp.fw);
    free(sp.sig);
    free(sp.vars_files);
    free(sp.var_defs);
    return exit_code;
}
