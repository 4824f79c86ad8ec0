/* gatehouse check: parse and check rule files, report every error as
 * file:line:col, summarize, and optionally dump the rules in canonical form. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gatehouse/firewall.h"
#include "gatehouse/rules.h"

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: gatehouse check [-F FILE]... [-S FILE|DIR]... [options]\n"
            "\n"
            "Parse and check rule files (Suricata syntax); print every error as\n"
            "FILE:LINE:COL: message, then a summary per file.\n"
            "\n"
            "  -F, --firewall FILE    firewall rules: actions accept|pass|drop|reject, options\n"
            "                         msg sid rev flow flags ttl dsize itype icode ip_proto\n"
            "                         fragbits only (no payload keywords)\n"
            "  -S, --rules FILE|DIR   signature rules; a directory means its *.rules files\n"
            "      --vars FILE        load variables from FILE instead of the default\n"
            "                         vars.conf (Suricata's defaults); repeatable\n"
            "      --var NAME=VALUE   define or override a variable, e.g.\n"
            "                         --var 'HOME_NET=[10.0.0.0/8]'; repeatable\n"
            "      --classification FILE  classtype table (Suricata's classification.config\n"
            "                         format); a classtype it does not define is an error\n"
            "      --threshold-file FILE  check a threshold.config (and apply it to the\n"
            "                         signatures: lines naming none are warnings)\n"
            "      --cache-dir DIR    Hyperscan database cache (default $GATEHOUSE_CACHE_DIR,\n"
            "                         else $XDG_CACHE_HOME/gatehouse, else ~/.cache/gatehouse)\n"
            "      --no-cache         compile every database, read and write no cache\n"
            "      --dump             print each rule that parsed in canonical form (stdout)\n"
            "      --explain-types[=all]  print each loaded signature's type (Suricata's:\n"
            "                         ip_only, pkt, stream, pkt_stream, ...) and why, on stdout:\n"
            "                         FILE:LINE<TAB>SID<TAB>TYPE<TAB>REASON; with =all every\n"
            "                         rule that parsed, in file order (REASON ends 'not loaded:\n"
            "                         KEYWORD' for a keyword the parser knows is not supported)\n"
            "  -q, --quiet            no summaries, only errors (and --dump output)\n"
            "  -h, --help             this help\n"
            "\n"
            "Summary (stderr): 'FILE: N rules, M disabled, E errors' where N counts rule\n"
            "statements and M commented-out rules; for signature files also 'L loaded,\n"
            "U unsupported' with the rules per keyword the engine does not implement yet\n"
            "(app-layer protocols in the header count as 'proto:NAME').\n"
            "\n"
            "Canonical form (--dump), one rule per line:\n"
            "  ACTION PROTO SRC SPORT DIR DST DPORT (NAME:VALUE; NAME; ...;)\n"
            "addresses and ports as written without whitespace, variables kept; option\n"
            "values as written, trimmed, whitespace outside quotes collapsed to one space.\n"
            "\n"
            "Default variables: <dir of gatehouse>/rules/vars.conf, else the source tree's\n"
            "rules/vars.conf; classifications likewise from rules/classification.config.\n"
            "\n"
            "Exit codes: 0 no errors; 1 a rule has an error or a file cannot be read;\n"
            "2 usage error.\n");
}

typedef struct input {
    const char *path;
    gh_rule_tier tier;
} input;

typedef struct totals {
    size_t files, rules, disabled, errors, loaded, unsupported;
    bool any_sig;
    gh_rule_kwcount *kw;
    size_t n_kw;
    bool failed; /* a file could not be read, or memory ran out */
    bool explain_all; /* --explain-types=all: also the rules not loaded */
    gh_rule_file **sigs; /* the signature files, parsed and checked once, compiled after */
    size_t n_sigs;
} totals;

static void add_kw(totals *t, const gh_rule_kwcount *k)
{
    for (size_t i = 0; i < t->n_kw; i++) {
        if (strcmp(t->kw[i].keyword, k->keyword) == 0) {
            t->kw[i].rules += k->rules;
            return;
        }
    }
    gh_rule_kwcount *p = realloc(t->kw, (t->n_kw + 1) * sizeof(*p));
    if (!p) {
        t->failed = true;
        return;
    }
    t->kw = p;
    /* Keyword strings of a file die with it; keep our own copy. */
    char *name = strdup(k->keyword);
    if (!name) {
        t->failed = true;
        return;
    }
    t->kw[t->n_kw].keyword = name;
    t->kw[t->n_kw].rules = k->rules;
    t->n_kw++;
}

static int cmp_kw(const void *a, const void *b)
{
    const gh_rule_kwcount *x = a, *y = b;
    if (x->rules != y->rules)
        return x->rules > y->rules ? -1 : 1;
    return strcmp(x->keyword, y->keyword);
}

static void check_file(const char *path, gh_rule_tier tier, const gh_rule_vars *vars, bool dump,
                       bool quiet, totals *t)
{
    gh_error err = {0};
    gh_rule_file *f = gh_rules_load_file(path, tier, vars, gh_cli_load_jobs(), &err);
    if (!f) {
        fprintf(stderr, "gatehouse check: %s\n", err.msg);
        t->failed = true;
        return;
    }
    for (size_t i = 0; i < f->n_errors; i++) {
        const gh_rule_error *e = &f->errors[i];
        fprintf(stderr, "%s:%u:%u: %s\n", e->loc.file, e->loc.line, e->loc.col, e->message);
    }
    if (dump) {
        for (size_t i = 0; i < f->n_rules; i++) {
            if (gh_rule_dump(stdout, &f->rules[i]) != GH_OK) {
                fprintf(stderr, "gatehouse check: writing the dump failed\n");
                t->failed = true;
                break;
            }
        }
    }
    for (size_t i = 0; t->explain_all && i < f->n_rules; i++) {
        const gh_rule *r = &f->rules[i];
        if (r->has_error || tier != GH_RULE_TIER_SIGNATURE)
            continue;
        char why[160];
        gh_sig_type ty = gh_rule_sig_type(r, vars, why, sizeof(why));
        printf("%s:%u\t%u\t%s\t%s%s%s\n", r->loc.file, r->loc.line, r->sid,
               gh_sig_type_name(ty), why, r->unsupported ? "; not loaded: " : "",
               r->unsupported ? r->unsupported : "");
    }
    size_t with_err = 0;
    for (size_t i = 0; i < f->n_rules; i++)
        with_err += f->rules[i].has_error;
    size_t loaded = f->n_rules - with_err - f->n_unsupported;
    if (!quiet) {
        fprintf(stderr, "%s: %zu rules, %zu disabled, %zu errors\n", path, f->n_statements,
                f->n_disabled, f->n_errors);
        if (tier == GH_RULE_TIER_SIGNATURE) {
            fprintf(stderr, "%s: %zu loaded, %zu unsupported", path, loaded, f->n_unsupported);
            for (size_t i = 0; i < f->n_unsupported_kw; i++)
                fprintf(stderr, "%s%s %zu", i ? ", " : " (", f->unsupported_kw[i].keyword,
                        f->unsupported_kw[i].rules);
            fprintf(stderr, "%s\n", f->n_unsupported_kw ? ")" : "");
        }
    }
    t->files++;
    t->rules += f->n_statements;
    t->disabled += f->n_disabled;
    t->errors += f->n_errors;
    if (tier == GH_RULE_TIER_SIGNATURE) {
        t->any_sig = true;
        t->loaded += loaded;
        t->unsupported += f->n_unsupported;
        for (size_t i = 0; i < f->n_unsupported_kw; i++)
            add_kw(t, &f->unsupported_kw[i]);
        gh_rule_file **v = realloc(t->sigs, (t->n_sigs + 1) * sizeof(*v));
        if (v) {
            t->sigs = v;
            t->sigs[t->n_sigs++] = f;
            return;
        }
        t->failed = true;
    }
    gh_rule_file_free(f);
}

/* -S DIR: every *.rules file in it, in name order. */
static void check_dir(const char *dir, const gh_rule_vars *vars, bool dump, bool quiet,
                      totals *t)
{
    int rc = GH_EXIT_OK;
    size_t n = 0;
    char **names = gh_cli_rule_paths("gatehouse check", &dir, 1, &n, &rc);
    if (!names) {
        t->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        check_file(names[i], GH_RULE_TIER_SIGNATURE, vars, dump, quiet, t);
    gh_cli_rule_paths_free(names, n);
}

int gh_cmd_check(int argc, char **argv)
{
    enum { OPT_VAR = 256, OPT_VARS, OPT_DUMP, OPT_CLASSIFICATION, OPT_EXPLAIN, OPT_THRESHOLD,
           OPT_CACHE_DIR, OPT_NO_CACHE };
    static const struct option opts[] = {
        {"firewall", required_argument, NULL, 'F'},
        {"rules", required_argument, NULL, 'S'},
        {"var", required_argument, NULL, OPT_VAR},
        {"vars", required_argument, NULL, OPT_VARS},
        {"dump", no_argument, NULL, OPT_DUMP},
        {"explain-types", optional_argument, NULL, OPT_EXPLAIN},
        {"classification", required_argument, NULL, OPT_CLASSIFICATION},
        {"threshold-file", required_argument, NULL, OPT_THRESHOLD},
        {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    input *inputs = calloc((size_t)argc, sizeof(*inputs));
    const char **vars_files = calloc((size_t)argc, sizeof(*vars_files));
    const char **var_defs = calloc((size_t)argc, sizeof(*var_defs));
    if (!inputs || !vars_files || !var_defs) {
        free(inputs);
        free(vars_files);
        free(var_defs);
        fprintf(stderr, "gatehouse check: out of memory\n");
        return GH_EXIT_RUNTIME;
    }
    size_t n_inputs = 0, n_vars_files = 0, n_var_defs = 0;
    bool dump = false, quiet = false, explain = false;
    int rc = GH_EXIT_OK;
    gh_rule_vars *vars = NULL;
    const char *class_path = NULL, *thresh_path = NULL;
    bool thresh_done = false;
    gh_classification *cls = NULL;
    totals t = {0};

    gh_cli_cache_config(NULL, false); /* the default directory unless an option says */
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "F:S:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'F':
        case 'S':
            inputs[n_inputs].path = optarg;
            inputs[n_inputs++].tier = c == 'F' ? GH_RULE_TIER_FIREWALL : GH_RULE_TIER_SIGNATURE;
            break;
        case OPT_VAR:
            if (!strchr(optarg, '=')) {
                fprintf(stderr, "gatehouse check: --var takes NAME=VALUE, not '%s'\n", optarg);
                rc = GH_EXIT_USAGE;
                goto out;
            }
            var_defs[n_var_defs++] = optarg;
            break;
        case OPT_VARS:
            vars_files[n_vars_files++] = optarg;
            break;
        case OPT_DUMP:
            dump = true;
            break;
        case OPT_EXPLAIN:
            if (optarg && strcmp(optarg, "all") != 0) {
                fprintf(stderr, "gatehouse check: --explain-types takes no value or 'all'\n");
                rc = GH_EXIT_USAGE;
                goto out;
            }
            explain = true;
            t.explain_all = optarg != NULL;
            break;
        case OPT_CLASSIFICATION:
            class_path = optarg;
            break;
        case OPT_THRESHOLD:
            thresh_path = optarg;
            break;
        case OPT_CACHE_DIR:
        case OPT_NO_CACHE:
            gh_cli_cache_config(optarg, c == OPT_NO_CACHE);
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            check_usage(stdout);
            goto out;
        default:
            check_usage(stderr);
            rc = GH_EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gatehouse check: unexpected argument '%s'\n", argv[optind]);
        rc = GH_EXIT_USAGE;
        goto out;
    }
    if (n_inputs == 0) {
        fprintf(stderr, "gatehouse check: give at least one -F FILE or -S FILE|DIR\n");
        check_usage(stderr);
        rc = GH_EXIT_USAGE;
        goto out;
    }

    if (!(vars = gh_cli_vars_load("gatehouse check", vars_files, n_vars_files, var_defs,
                                  n_var_defs, &rc)))
        goto out;
    if ((rc = gh_cli_classification_load("gatehouse check", class_path, &cls)) != GH_EXIT_OK)
        goto out;

    for (size_t i = 0; i < n_inputs; i++) {
        struct stat st;
        if (inputs[i].tier == GH_RULE_TIER_SIGNATURE && stat(inputs[i].path, &st) == 0 &&
            S_ISDIR(st.st_mode))
            check_dir(inputs[i].path, vars, dump, quiet, &t);
        else
            check_file(inputs[i].path, inputs[i].tier, vars, dump, quiet, &t);
    }
    /* a clean firewall file must also compile into the lookup structures
     * (protocols, option values, expansion limits) */
    if (!t.errors && !t.failed) {
        const char **fw_paths = calloc(n_inputs, sizeof(*fw_paths));
        size_t n_fw = 0;
        for (size_t i = 0; fw_paths && i < n_inputs; i++)
            if (inputs[i].tier == GH_RULE_TIER_FIREWALL)
                fw_paths[n_fw++] = inputs[i].path;
        if (!fw_paths) {
            t.failed = true;
        } else if (n_fw) {
            int frc = GH_EXIT_OK;
            gh_fw *fw = gh_cli_firewall_load("gatehouse check", fw_paths, n_fw, vars, !quiet, &frc);
            if (!fw)
                t.failed = true;
            gh_fw_free(fw);
        }
        /* signatures too: pcre that PCRE2 rejects, modifier conflicts, the
         * Hyperscan databases */
        if (t.n_sigs) {
            int drc = GH_EXIT_OK;
            gh_dpi *dpi = gh_cli_dpi_build("gatehouse check", t.sigs, t.n_sigs, vars, cls, NULL,
                                           !quiet, &drc);
            if (!dpi)
                t.failed = true;
            if (dpi && thresh_path) {
                thresh_done = true;
                if (gh_cli_thresholds_apply("gatehouse check", thresh_path, vars, dpi, !quiet) !=
                    GH_EXIT_OK)
                    t.failed = true;
            }
            for (uint32_t k = 0; dpi && explain && !t.explain_all && k < gh_dpi_sig_count(dpi);
                 k++) {
                const gh_dpi_sig_info *si = gh_dpi_sig(dpi, k);
                printf("%s:%u\t%u\t%s\t%s\n", si->file, si->line, si->sid,
                       gh_sig_type_name(si->type), si->type_why);
            }
            gh_cli_dpi_release_at_exit(dpi);
        }
        free(fw_paths);
    }
    /* without signatures to apply it to, the file's syntax is still checked */
    if (thresh_path && !thresh_done &&
        gh_cli_thresholds_apply("gatehouse check", thresh_path, vars, NULL, !quiet) != GH_EXIT_OK)
        t.failed = true;
    if (!quiet && t.files > 1) {
        fprintf(stderr, "total: %zu rules, %zu disabled, %zu errors in %zu files", t.rules,
                t.disabled, t.errors, t.files);
        if (t.any_sig)
            fprintf(stderr, "; signatures: %zu loaded, %zu unsupported", t.loaded,
                    t.unsupported);
        fprintf(stderr, "\n");
        if (t.n_kw) {
            qsort(t.kw, t.n_kw, sizeof(*t.kw), cmp_kw);
            fprintf(stderr, "unsupported (rules per keyword):\n");
            for (size_t i = 0; i < t.n_kw; i++)
                fprintf(stderr, "  %-32s %zu\n", t.kw[i].keyword, t.kw[i].rules);
        }
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "gatehouse check: writing to stdout failed\n");
        t.failed = true;
    }
    rc = (t.errors || t.failed) ? GH_EXIT_RUNTIME : GH_EXIT_OK;
out:
    for (size_t i = 0; i < t.n_kw; i++)
        free((char *)t.kw[i].keyword);
    free(t.kw);
    for (size_t i = 0; i < t.n_sigs; i++)
        gh_rule_file_free(t.sigs[i]);
    free(t.sigs);
    gh_rule_vars_free(vars);
    gh_classification_free(cls);
    free(inputs);
    free(vars_files);
    free(var_defs);
    return rc;
}
