/* gatehouse-bench memory and sigsubset.
 *
 * memory: what the engine's structures cost, with the existing APIs: the
 * firewall's compile time and classifier bytes, the signature databases
 * (gh_dpi_load_report: Hyperscan bytes, one worker's scratch), one stream
 * direction's matching state (gh_dpi_stream_size after a first packet), the
 * flow entry, and the flow table at its default size. Compile times are the
 * median of --runs compilations.
 *
 * sigsubset: the source lines of the first N signatures that load (rules
 * with unsupported keywords skipped), for a sweep over signature counts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gatehouse/engine.h"
#include "hdrmatch.h"
#include "scenarios.h"
#include "trace.h"

/* Parse, check and compile signature files with the load report. */
static gh_dpi *dpi_compile(const char *const *paths, size_t n, const gh_rule_vars *vars,
                           gh_dpi_load_report *rep)
{
    int exit_code = 0;
    size_t nfiles = 0;
    char **names = gh_cli_rule_paths("gatehouse-bench", paths, n, &nfiles, &exit_code);
    if (!names)
        return NULL;
    gh_rule_file **files = calloc(nfiles ? nfiles : 1, sizeof(*files));
    gh_dpi *d = NULL;
    gh_error err = {0};
    for (size_t i = 0; files && i < nfiles; i++) {
        if (!(files[i] = gh_rules_parse_file(names[i], GH_RULE_TIER_SIGNATURE, &err)) ||
            gh_rules_check(files[i], vars) != GH_OK || files[i]->n_errors) {
            fprintf(stderr, "gatehouse-bench: %s: does not load (run gatehouse check)\n", names[i]);
            goto out;
        }
    }
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    memset(rep, 0, sizeof(*rep));
    if (files)
        d = gh_dpi_compile(files, nfiles, vars, &errs, &nerrs, rep, &err);
    free(errs);
    if (d && nerrs) {
        gh_dpi_free(d);
        d = NULL;
    }
out:
    for (size_t i = 0; files && i < nfiles; i++)
        gh_rule_file_free(files[i]);
    free(files);
    gh_cli_rule_paths_free(names, nfiles);
    return d;
}

/* One worker's scratch (0: it could not be allocated). */
static size_t scratch_bytes(const gh_dpi *d)
{
    gh_error err = {0};
    gh_dpi_scratch *s = gh_dpi_scratch_new(d, &err);
    size_t n = s ? gh_dpi_scratch_size(s) : 0;
    gh_dpi_scratch_free(s);
    return n;
}

/* Hyperscan stream state and hits of one direction after one packet. */
static size_t stream_bytes(const gh_dpi *d)
{
    uint8_t f[14 + 20 + 20 + 64];
    memset(f, 0, sizeof(f));
    memcpy(f + 12, "\x08\x00", 2);
    f[14] = 0x45;
    f[14 + 3] = sizeof(f) - 14;
    f[14 + 8] = 64;
    f[14 + 9] = 6;
    memcpy(f + 14 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    f[34 + 1] = 0x50; /* sport 80 */
    f[34 + 3] = 0x50;
    f[34 + 12] = 0x50;
    f[34 + 13] = 0x18;
    memset(f + 54, 'a', 64);
    gh_decode_opts o = {.verify_checksums = false};
    gh_packet p;
    gh_decode(&p, 1, f, sizeof(f), &o);
    gh_error err = {0};
    gh_dpi_scratch *s = gh_dpi_scratch_new(d, &err);
    gh_dpi_stream *ds = gh_dpi_stream_new();
    size_t sz = 0;
    if (s && ds) {
        gh_pkt_state st = {.has_flow = true, .established = true, .to_server = true};
        gh_dpi_match m[8];
        gh_dpi_stream_packet_begin(s);
        gh_dpi_match_stream_inc(d, s, ds, &p, &st, p.payload, p.payload_len, 0, 0,
                                GH_DPI_STREAM_FEED_ONLY, m, 8);
        sz = gh_dpi_stream_size(ds);
    }
    gh_dpi_stream_free(ds);
    gh_dpi_scratch_free(s);
    return sz;
}

int bench_memory(int argc, char **argv)
{
    const char **fw = calloc((size_t)argc + 1, sizeof(*fw));
    const char **sig = calloc((size_t)argc + 1, sizeof(*sig));
    size_t nfw = 0, nsig = 0;
    int runs = 3, rc = 1, exit_code = 0;
    gh_rule_vars *vars = NULL;
    if (!fw || !sig)
        goto out;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-F") && i + 1 < argc)
            fw[nfw++] = argv[++i];
        else if (!strcmp(argv[i], "-S") && i + 1 < argc)
            sig[nsig++] = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: gatehouse-bench memory [-F FILE]... [-S FILE|DIR]... [--runs N]\n");
            rc = 2;
            goto out;
        }
    }
    if (runs < 1 || runs > 21 || !(vars = gh_cli_vars_load("gatehouse-bench", NULL, 0, NULL, 0,
                                                           &exit_code)))
        goto out;
    gh_flow_config fc;
    gh_flow_config_init(&fc);
    if (!fc.max_flows)
        fc.max_flows = GH_FLOW_DEFAULT_MAX_FLOWS;
    printf("{\"bench\":\"memory\",\"flow_entry_bytes\":%zu,\"flow_table_default_flows\":%u,"
           "\"flow_table_default_bytes\":%zu,\"flow_table_bytes_per_flow\":%.1f",
           sizeof(gh_flow), fc.max_flows, gh_flow_table_memsize(fc.max_flows),
           (double)gh_flow_table_memsize(fc.max_flows) / (double)fc.max_flows);
    double ms[21];
    if (nfw) {
        gh_fw *f = NULL;
        for (int r = 0; r < runs; r++) {
            gh_fw_free(f);
            double a = bench_now_ns();
            if (!(f = gh_cli_firewall_load("gatehouse-bench", fw, nfw, vars, false, &exit_code))) {
                printf("}\n");
                goto out;
            }
            ms[r] = (bench_now_ns() - a) / 1e6;
        }
        qsort(ms, (size_t)runs, sizeof(double), bench_cmp_double);
        gh_fw_stats st;
        gh_fw_get_stats(f, &st);
        printf(",\"firewall\":{\"rules\":%zu,\"boxes_v4\":%zu,\"boxes_v6\":%zu,\"memory_bytes\":%zu,"
               "\"compile_ms\":%.2f}",
               st.rules, st.boxes_v4, st.boxes_v6, st.memory_bytes, ms[runs / 2]);
        gh_fw_free(f);
    }
    if (nsig) {
        gh_dpi *d = NULL;
        gh_dpi_load_report rep;
        for (int r = 0; r < runs; r++) {
            gh_dpi_free(d);
            double a = bench_now_ns();
            if (!(d = dpi_compile(sig, nsig, vars, &rep))) {
                printf("}\n");
                goto out;
            }
            ms[r] = (bench_now_ns() - a) / 1e6;
        }
        qsort(ms, (size_t)runs, sizeof(double), bench_cmp_double);
        printf(",\"signatures\":{\"rules\":%zu,\"loaded\":%zu,\"skipped\":%zu,\"patterns\":%zu,"
               "\"databases\":%zu,\"hyperscan_db_bytes\":%zu,\"scratch_bytes\":%zu,"
               "\"dpi_memory_bytes\":%zu,\"stream_state_bytes\":%zu,\"compile_ms\":%.2f}",
               rep.rules, rep.loaded, rep.skipped, rep.patterns, rep.databases, rep.db_bytes,
               scratch_bytes(d), gh_dpi_memory(d), stream_bytes(d), ms[runs / 2]);
        gh_dpi_free(d);
    }
    printf("}\n");
    rc = 0;
out:
    gh_rule_vars_free(vars);
    free(fw);
    free(sig);
    return rc;
}

/* Line @p line (1-based) of @p path, written to stdout. */
static int print_line(const char *path, uint32_t line)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *buf = NULL;
    size_t cap = 0;
    uint32_t n = 0;
    int rc = -1;
    while (getline(&buf, &cap, f) > 0)
        if (++n == line) {
            fputs(buf, stdout);
            if (!strchr(buf, '\n'))
                putchar('\n');
            rc = 0;
            break;
        }
    free(buf);
    fclose(f);
    return rc;
}

int bench_sigsubset(int argc, char **argv)
{
    const char **sig = calloc((size_t)argc + 1, sizeof(*sig));
    size_t nsig = 0, first = 0;
    int rc = 1, exit_code = 0;
    gh_rule_vars *vars = NULL;
    gh_dpi *d = NULL;
    for (int i = 0; sig && i < argc; i++) {
        if (!strcmp(argv[i], "-S") && i + 1 < argc)
            sig[nsig++] = argv[++i];
        else if (!strcmp(argv[i], "--first") && i + 1 < argc)
            first = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: gatehouse-bench sigsubset -S FILE|DIR... --first N\n");
            rc = 2;
            goto out;
        }
    }
    if (!nsig || !first ||
        !(vars = gh_cli_vars_load("gatehouse-bench", NULL, 0, NULL, 0, &exit_code)) ||
        !(d = gh_cli_dpi_load("gatehouse-bench", sig, nsig, vars, NULL, false, &exit_code)))
        goto out;
    /* continuation lines are not followed: every loaded rule must be one line.
     * Only signatures with a fast pattern: the sweep measures the matcher
     * (ET's IP-reputation rules, header-only, load since thresholds do). */
    rc = 0;
    for (size_t i = 0, k = 0; i < gh_dpi_sig_count(d) && k < first; i++) {
        const gh_dpi_sig_info *si = gh_dpi_sig(d, (uint32_t)i);
        if (!si->fast_pattern)
            continue;
        k++;
        if (print_line(si->file, si->line) != 0) {
            fprintf(stderr, "gatehouse-bench: %s:%u: cannot read\n", si->file, si->line);
            rc = 1;
        }
    }
out:
    gh_dpi_free(d);
    gh_rule_vars_free(vars);
    free(sig);
    return rc;
}
