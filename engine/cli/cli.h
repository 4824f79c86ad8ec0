/* gatehouse CLI: subcommands and shared exit codes. */
#ifndef GATEHOUSE_CLI_H
#define GATEHOUSE_CLI_H

/* Exit codes (documented in the README and --help). */
#define GH_EXIT_OK 0        /* the run finished; every input was processed */
#define GH_EXIT_RUNTIME 1   /* input or output failed (corrupt pcap, write error, rule errors) */
#define GH_EXIT_USAGE 2     /* bad command line */

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "gatehouse/dpi.h"
#include "gatehouse/engine.h"
#include "gatehouse/firewall.h"
#include "gatehouse/rules.h"
#include "gatehouse/threshold.h"

int gh_cmd_pcap(int argc, char **argv);
int gh_cmd_check(int argc, char **argv);
int gh_cmd_nfq(int argc, char **argv);

/* Variables: @p files (or the default vars.conf when none), then the
 * NAME=VALUE @p defs. NULL with *exit_code set and the error printed. */
gh_rule_vars *gh_cli_vars_load(const char *prog, const char *const *files, size_t nfiles,
                               const char *const *defs, size_t ndefs, int *exit_code);

/* Parse, check and compile firewall files; every error is printed as
 * file:line:col. NULL with *exit_code set on any error. */
gh_fw *gh_cli_firewall_load(const char *prog, const char *const *paths, size_t n,
                            const gh_rule_vars *vars, bool verbose, int *exit_code);

/* The rule files named by -S arguments: a file as given, a directory's
 * regular *.rules files in name order. NULL (error printed, *exit_code set)
 * when a directory cannot be read. Free with gh_cli_rule_paths_free. */
char **gh_cli_rule_paths(const char *prog, const char *const *paths, size_t n, size_t *out_n,
                         int *exit_code);
void gh_cli_rule_paths_free(char **p, size_t n);

/* Parse, check and compile signature files (-S FILE|DIR; a directory's
 * *.rules in name order). Rules with unsupported keywords are skipped and
 * counted; any error is printed as file:line:col and fails the load. With
 * @p cls (may be NULL) alerts take their category and severity from it and
 * an unknown classtype is an error. */
gh_dpi *gh_cli_dpi_load(const char *prog, const char *const *paths, size_t n,
                        const gh_rule_vars *vars, const gh_classification *cls, bool verbose,
                        int *exit_code);
/* The same with compile options (NULL: defaults). */
gh_dpi *gh_cli_dpi_load_ex(const char *prog, const char *const *paths, size_t n,
                           const gh_rule_vars *vars, const gh_classification *cls,
                           const gh_dpi_options *opt, bool verbose, int *exit_code);

/* The signatures of a command about to exit: not freed one allocation at a
 * time (5% of a warm `gatehouse check` of all of ET Open) but left to the
 * exit, kept reachable so that LeakSanitizer does not count them. */
void gh_cli_dpi_release_at_exit(gh_dpi *dpi);

/* Threads that load rules ($GATEHOUSE_COMPILE_JOBS; 0: one per CPU). */
unsigned gh_cli_load_jobs(void);

/* The compile half of gh_cli_dpi_load_ex, for files already parsed and
 * checked without errors (gh_rules_check); they stay the caller's, released
 * (gh_rule_file_release: their rules are gone) before the databases build. */
gh_dpi *gh_cli_dpi_build(const char *prog, gh_rule_file *const *files, size_t nfiles,
                         const gh_rule_vars *vars, const gh_classification *cls,
                         const gh_dpi_options *opt, bool verbose, int *exit_code);

/* The Hyperscan database cache of gh_cli_dpi_load (--cache-dir DIR,
 * --no-cache): @p dir, or when NULL $GATEHOUSE_CACHE_DIR, else
 * $XDG_CACHE_HOME/gatehouse, else ~/.cache/gatehouse; @p off: none.
 * Loads without a call use no cache. A directory that cannot be used is
 * warned about once and the load compiles everything. */
void gh_cli_cache_config(const char *dir, bool off);

/* The classification table: @p path, or when NULL the default
 * classification.config (<dir of gatehouse>/rules/, else the source tree's
 * rules/); *out stays NULL with a warning when there is no default. Returns
 * an exit code; a bad file prints its path:line error. */
int gh_cli_classification_load(const char *prog, const char *path, gh_classification **out);

/* Read threshold file @p path (Suricata's threshold.config format) and
 * apply it to @p dpi (NULL: only check the file). Errors are printed as
 * file:line and fail (GH_EXIT_RUNTIME); lines naming no loaded signature are
 * warnings, printed when @p verbose. Returns an exit code. */
int gh_cli_thresholds_apply(const char *prog, const char *path, const gh_rule_vars *vars,
                            gh_dpi *dpi, bool verbose);

/* Options pcap and nfq share. Each parses @p arg into @p out, or prints
 * "PROG: ..." naming the bad value and returns false (a usage error). */
bool gh_cli_policy(const char *prog, const char *arg, gh_fw_action *out);      /* --policy */
bool gh_cli_checksums(const char *prog, const char *arg, bool *out);            /* -k */
bool gh_cli_action_order(const char *prog, const char *arg, gh_action_order *out);
/* --eve-types LIST: the types listed are added to *@p listed (repeatable). */
bool gh_cli_eve_types(const char *prog, const char *arg, uint32_t *listed);
/* The EVE types written: those --eve-types listed (none listed: all) less
 * @p removed (--no-flow-events, --no-anomaly-events), whatever the order. */
uint32_t gh_cli_eve_types_final(uint32_t listed, uint32_t removed);

/* Failure policies and pool limits, shared by pcap and nfq: the options
 * (one table, GH_CLI_LIMIT_OPTIONS, in each command's getopt array), their
 * values, and gh_cli_limit_option to parse one. */
enum {
    GH_CLI_OPT_EXC_POLICY = 1000,
    GH_CLI_OPT_MAX_FLOWS,
    GH_CLI_OPT_FLOW_MEMCAP,
    GH_CLI_OPT_STREAM_MEMCAP,
    GH_CLI_OPT_STREAM_FLOWS,
    GH_CLI_OPT_APP_FLOWS,
    GH_CLI_OPT_DECOMPRESS_CAP,
    GH_CLI_OPT_ON = 1100, /* + gh_exc_cond: --on-<condition> */
};
#define GH_CLI_ON_OPTION(e, opt, name, pkt)                                  \
    {"on-" opt, required_argument, NULL, GH_CLI_OPT_ON + GH_EXC_COND_##e},
#define GH_CLI_LIMIT_OPTIONS                                                 \
    GH_EXC_COND_LIST(GH_CLI_ON_OPTION)                                       \
    {"exception-policy", required_argument, NULL, GH_CLI_OPT_EXC_POLICY},    \
    {"max-flows", required_argument, NULL, GH_CLI_OPT_MAX_FLOWS},            \
    {"flow-memcap", required_argument, NULL, GH_CLI_OPT_FLOW_MEMCAP},        \
    {"stream-memcap", required_argument, NULL, GH_CLI_OPT_STREAM_MEMCAP},    \
    {"stream-max-flows", required_argument, NULL, GH_CLI_OPT_STREAM_FLOWS},  \
    {"app-max-flows", required_argument, NULL, GH_CLI_OPT_APP_FLOWS},        \
    {"decompress-cap", required_argument, NULL, GH_CLI_OPT_DECOMPRESS_CAP},

typedef struct gh_cli_limits {
    gh_exc_config exc;    /* per condition, GH_EXC_AUTO when not given */
    gh_exc_policy master; /* --exception-policy */
} gh_cli_limits;

void gh_cli_limits_init(gh_cli_limits *l);
/* Option @p opt with argument @p arg: 1 taken, 0 not one of these, -1 a bad
 * value (printed as "PROG: ..."). */
int gh_cli_limit_option(const char *prog, int opt, const char *arg, gh_cli_limits *l,
                        gh_engine_config *cfg);
/* The policies into @p cfg, resolved for the mode (@p ips: inline). */
void gh_cli_limits_apply(const gh_cli_limits *l, gh_engine_config *cfg, bool ips);
/* The options' help; @p mode_default says what auto means in the mode. */
void gh_cli_limits_usage(FILE *out, const char *mode_default);

#endif
