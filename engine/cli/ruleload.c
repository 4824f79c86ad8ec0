/* Loading rules for the CLI commands: variables (default vars.conf, --vars,
 * --var) and the firewall tier (-F), with every error printed as
 * file:line:col: message. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* <dir of the executable>/rules/NAME, then the source tree's copy. */
static const char *default_data_file(const char *name, const char *source_path, char *buf,
                                     size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, n, "%s/rules/%s", exe, name);
            if (file_exists(buf))
                return buf;
        }
    }
    if (source_path && file_exists(source_path))
        return source_path;
    return NULL;
}

static const char *default_vars(char *buf, size_t n)
{
#ifdef GH_VARS_SOURCE_PATH
    return default_data_file("vars.conf", GH_VARS_SOURCE_PATH, buf, n);
#else
    return default_data_file("vars.conf", NULL, buf, n);
#endif
}

int gh_cli_classification_load(const char *prog, const char *path, gh_classification **out)
{
    *out = NULL;
    char defbuf[PATH_MAX + 32];
    if (!path) {
#ifdef GH_CLASSIFICATION_SOURCE_PATH
        path = default_data_file("classification.config", GH_CLASSIFICATION_SOURCE_PATH,
                                 defbuf, sizeof(defbuf));
#else
        path = default_data_file("classification.config", NULL, defbuf, sizeof(defbuf));
#endif
        if (!path) {
            fprintf(stderr, "%s: warning: no default classification.config found; alerts "
                            "carry the classtype name as category (--classification FILE)\n",
                    prog);
            return GH_EXIT_OK;
        }
    }
    gh_error err = {0};
    gh_classification *c = gh_classification_new();
    if (!c) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return GH_EXIT_RUNTIME;
    }
    if (gh_classification_load(c, path, &err) != GH_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        gh_classification_free(c);
        return GH_EXIT_RUNTIME;
    }
    *out = c;
    return GH_EXIT_OK;
}

gh_rule_vars *gh_cli_vars_load(const char *prog, const char *const *files, size_t nfiles,
                               const char *const *defs, size_t ndefs, int *exit_code)
{
    gh_error err = {0};
    gh_rule_vars *vars = gh_rule_vars_new(&err);
    if (!vars) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        *exit_code = GH_EXIT_RUNTIME;
        return NULL;
    }
    char defbuf[PATH_MAX + 32];
    const char *def = nfiles ? NULL : default_vars(defbuf, sizeof(defbuf));
    if (!nfiles && !def)
        fprintf(stderr, "%s: warning: no default vars.conf found; define variables with --vars "
                        "or --var\n", prog);
    for (size_t i = 0; i < nfiles + (def ? 1 : 0); i++) {
        const char *path = i < nfiles ? files[i] : def;
        if (gh_rule_vars_load(vars, path, &err) != GH_OK) {
            fprintf(stderr, "%s\n", err.msg);
            *exit_code = GH_EXIT_RUNTIME;
            gh_rule_vars_free(vars);
            return NULL;
        }
    }
    for (size_t i = 0; i < ndefs; i++) {
        char name[128];
        const char *eq = strchr(defs[i], '=');
        if (!eq) {
            fprintf(stderr, "%s: --var takes NAME=VALUE, not '%s'\n", prog, defs[i]);
            *exit_code = GH_EXIT_USAGE;
            gh_rule_vars_free(vars);
            return NULL;
        }
        size_t nlen = (size_t)(eq - defs[i]);
        if (nlen >= sizeof(name))
            nlen = sizeof(name) - 1;
        memcpy(name, defs[i], nlen);
        name[nlen] = '\0';
        if (gh_rule_vars_set(vars, name, eq + 1, "--var", &err) != GH_OK) {
            fprintf(stderr, "%s: --var %s: %s\n", prog, defs[i], err.msg);
            *exit_code = err.code == GH_E_INVAL ? GH_EXIT_USAGE : GH_EXIT_RUNTIME;
            gh_rule_vars_free(vars);
            return NULL;
        }
    }
    return vars;
}

static void print_errors(const gh_rule_error *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s:%u:%u: %s\n", e[i].loc.file, e[i].loc.line, e[i].loc.col,
                e[i].message);
}

gh_fw *gh_cli_firewall_load(const char *prog, const char *const *paths, size_t n,
                            const gh_rule_vars *vars, bool verbose, int *exit_code)
{
    gh_error err = {0};
    gh_rule_file **files = calloc(n ? n : 1, sizeof(*files));
    gh_fw *fw = NULL;
    size_t nerr = 0;
    if (!files) {
        fprintf(stderr, "%s: out of memory\n", prog);
        *exit_code = GH_EXIT_RUNTIME;
        return NULL;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n; i++) {
        files[i] = gh_rules_load_file(paths[i], GH_RULE_TIER_FIREWALL, vars, gh_cli_load_jobs(),
                                      &err);
        if (!files[i]) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            *exit_code = GH_EXIT_RUNTIME;
            goto out;
        }
        print_errors(files[i]->errors, files[i]->n_errors);
        nerr += files[i]->n_errors;
    }
    if (nerr) {
        fprintf(stderr, "%s: %zu error%s in the firewall rules\n", prog, nerr, nerr == 1 ? "" : "s");
        *exit_code = GH_EXIT_RUNTIME;
        goto out;
    }
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    fw = gh_fw_compile(files, n, vars, &errs, &nerrs, &err);
    print_errors(errs, nerrs);
    free(errs);
    if (!fw) {
        if (nerrs)
            fprintf(stderr, "%s: %zu error%s in the firewall rules\n", prog, nerrs,
                    nerrs == 1 ? "" : "s");
        else
            fprintf(stderr, "%s: %s\n", prog, err.msg);
        *exit_code = GH_EXIT_RUNTIME;
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (verbose) {
        gh_fw_stats st;
        gh_fw_get_stats(fw, &st);
        fprintf(stderr,
                "firewall: %zu rules from %zu file%s, %zu IPv4 + %zu IPv6 boxes, %.1f KiB, "
                "compiled in %.1f ms\n",
                st.rules, n, n == 1 ? "" : "s", st.boxes_v4, st.boxes_v6,
                (double)st.memory_bytes / 1024.0,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    }
out:
    for (size_t i = 0; i < n; i++)
        gh_rule_file_free(files[i]);
    free(files);
    return fw;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **gh_cli_rule_paths(const char *prog, const char *const *paths, size_t n, size_t *out_n,
                         int *exit_code)
{
    size_t cap = 16, k = 0;
    char **out = malloc(cap * sizeof(*out));
    if (!out)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            /* a file, or nothing: the parser names the path if it cannot read it */
            if (k == cap) {
                char **no = realloc(out, (cap *= 2) * sizeof(*out));
                if (!no)
                    goto oom;
                out = no;
            }
            if (!(out[k++] = strdup(paths[i])))
                goto oom;
            continue;
        }
        DIR *d = opendir(paths[i]);
        if (!d) {
            fprintf(stderr, "%s: %s: cannot open directory: %s\n", prog, paths[i], strerror(errno));
            *exit_code = GH_EXIT_RUNTIME;
            goto fail;
        }
        size_t first = k;
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t len = strlen(de->d_name);
            if (len < 7 || strcmp(de->d_name + len - 6, ".rules") != 0)
                continue;
            if (k == cap) {
                char **no = realloc(out, (cap *= 2) * sizeof(*out));
                if (!no) {
                    closedir(d);
                    goto oom;
                }
                out = no;
            }
            size_t plen = strlen(paths[i]) + len + 2;
            if (!(out[k] = malloc(plen))) {
                closedir(d);
                goto oom;
            }
            const char *dir = paths[i];
            snprintf(out[k], plen, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                     de->d_name);
            /* only regular files: a directory named x.rules is not a rule file */
            if (!file_exists(out[k])) {
                free(out[k]);
                continue;
            }
            k++;
        }
        closedir(d);
        qsort(out + first, k - first, sizeof(*out), cmp_str);
    }
    *out_n = k;
    return out;
oom:
    fprintf(stderr, "%s: out of memory\n", prog);
    *exit_code = GH_EXIT_RUNTIME;
fail:
    for (size_t i = 0; out && i < k; i++)
        free(out[i]);
    free(out);
    return NULL;
}

void gh_cli_rule_paths_free(char **p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i]);
    free(p);
}

/* The Hyperscan cache of gh_cli_dpi_load (gh_cli_cache_config). */
static struct {
    bool on;
    const char *dir;   /* --cache-dir; NULL: the default directory */
    bool warned;
} cache_conf;

void gh_cli_cache_config(const char *dir, bool off)
{
    cache_conf.on = !off;
    cache_conf.dir = off ? NULL : dir;
}

/* --cache-dir, else $GATEHOUSE_CACHE_DIR, $XDG_CACHE_HOME/gatehouse,
 * ~/.cache/gatehouse; NULL when there is no home. */
static const char *cache_dir(char *buf, size_t n)
{
    const char *e;
    if (cache_conf.dir)
        return cache_conf.dir;
    if ((e = getenv("GATEHOUSE_CACHE_DIR")) && *e)
        return e;
    if ((e = getenv("XDG_CACHE_HOME")) && *e)
        snprintf(buf, n, "%s/gatehouse", e);
    else if ((e = getenv("HOME")) && *e)
        snprintf(buf, n, "%s/.cache/gatehouse", e);
    else
        return NULL;
    return buf;
}

/* GATEHOUSE_COMPILE_JOBS: threads loading rules, i.e. parsing and checking
 * the parts of a large file, and compiling databases (0 or unset: one per CPU). */
unsigned gh_cli_load_jobs(void)
{
    const char *e = getenv("GATEHOUSE_COMPILE_JOBS");
    char *end;
    unsigned long v = e ? strtoul(e, &end, 10) : 0;
    return e && *e && !*end && v < 1024 ? (unsigned)v : 0;
}

static gh_dpi *kept_for_exit;

void gh_cli_dpi_release_at_exit(gh_dpi *dpi)
{
    gh_dpi_free(kept_for_exit);
    kept_for_exit = dpi;
}

gh_dpi *gh_cli_dpi_load(const char *prog, const char *const *paths, size_t n,
                        const gh_rule_vars *vars, const gh_classification *cls, bool verbose,
                        int *exit_code)
{
    return gh_cli_dpi_load_ex(prog, paths, n, vars, cls, NULL, verbose, exit_code);
}

gh_dpi *gh_cli_dpi_load_ex(const char *prog, const char *const *paths, size_t n,
                           const gh_rule_vars *vars, const gh_classification *cls,
                           const gh_dpi_options *opt, bool verbose, int *exit_code)
{
    gh_error err = {0};
    size_t nfiles = 0;
    char **names = gh_cli_rule_paths(prog, paths, n, &nfiles, exit_code);
    if (!names)
        return NULL;
    gh_rule_file **files = calloc(nfiles ? nfiles : 1, sizeof(*files));
    gh_dpi *dpi = NULL;
    size_t nerr = 0;
    if (!files) {
        fprintf(stderr, "%s: out of memory\n", prog);
        *exit_code = GH_EXIT_RUNTIME;
        goto out;
    }
    for (size_t i = 0; i < nfiles; i++) {
        files[i] = gh_rules_load_file(names[i], GH_RULE_TIER_SIGNATURE, vars, gh_cli_load_jobs(),
                                      &err);
        if (!files[i]) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            *exit_code = GH_EXIT_RUNTIME;
            goto out;
        }
        print_errors(files[i]->errors, files[i]->n_errors);
        nerr += files[i]->n_errors;
    }
    if (nerr) {
        fprintf(stderr, "%s: %zu error%s in the signature rules\n", prog, nerr, nerr == 1 ? "" : "s");
        *exit_code = GH_EXIT_RUNTIME;
        goto out;
    }
    dpi = gh_cli_dpi_build(prog, files, nfiles, vars, cls, opt, verbose, exit_code);
out:
    for (size_t i = 0; files && i < nfiles; i++)
        gh_rule_file_free(files[i]);
    free(files);
    gh_cli_rule_paths_free(names, nfiles);
    return dpi;
}

gh_dpi *gh_cli_dpi_build(const char *prog, gh_rule_file *const *files, size_t nfiles,
                         const gh_rule_vars *vars, const gh_classification *cls,
                         const gh_dpi_options *opt, bool verbose, int *exit_code)
{
    gh_error err = {0};
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_dpi_load_report rep;
    memset(&rep, 0, sizeof(rep));
    gh_dpi_options o;
    if (opt)
        o = *opt;
    else
        gh_dpi_options_init(&o);
    char dirbuf[PATH_MAX];
    if (cache_conf.on && !o.cache_dir && !(o.cache_dir = cache_dir(dirbuf, sizeof(dirbuf))) &&
        !cache_conf.warned) {
        fprintf(stderr, "%s: warning: no cache directory (no HOME): compiling without cache\n",
                prog);
        cache_conf.warned = true;
    }
    if (!o.jobs)
        o.jobs = gh_cli_load_jobs();
    o.release_rules = true; /* the files are only freed after this */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gh_dpi *dpi = gh_dpi_compile_ex(files, nfiles, vars, &o, &errs, &nerrs, &rep, &err);
    if (rep.cache_error[0] && !cache_conf.warned) {
        fprintf(stderr, "%s: warning: %s: compiling without cache\n", prog, rep.cache_error);
        cache_conf.warned = true;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (dpi && cls && gh_dpi_set_classification(dpi, cls, &errs, &nerrs) == GH_E_NOMEM) {
        gh_dpi_free(dpi);
        dpi = NULL;
        gh_error_set(&err, GH_E_NOMEM, "out of memory");
    }
    print_errors(errs, nerrs);
    free(errs);
    if (!dpi || nerrs) {
        if (nerrs)
            fprintf(stderr, "%s: %zu error%s in the signature rules\n", prog, nerrs,
                    nerrs == 1 ? "" : "s");
        else
            fprintf(stderr, "%s: %s\n", prog, err.msg);
        gh_dpi_free(dpi);
        *exit_code = GH_EXIT_RUNTIME;
        return NULL;
    }
    if (verbose) {
        fprintf(stderr, "signatures: loaded %zu, skipped %zu", rep.loaded, rep.skipped);
        for (size_t i = 0; i < rep.n_kw && i < 8; i++)
            fprintf(stderr, "%s%s %zu", i ? ", " : " (", rep.kw[i].keyword, rep.kw[i].rules);
        if (rep.n_kw)
            fprintf(stderr, "%s", rep.n_kw > 8 ? ", ...)" : ")");
        if (rep.pcre)
            fprintf(stderr, "; pcre %zu (%zu with a Hyperscan prefilter)", rep.pcre,
                    rep.pcre_hyperscan);
        fprintf(stderr, "; %zu Hyperscan databases (%zu distinct: %zu from the cache, %zu "
                "compiled; prefilters: %zu from the cache), %.1f KiB, compiled in %.1f ms\n",
                rep.databases, rep.db_distinct, rep.db_cached, rep.db_compiled, rep.pcre_cached,
                (double)rep.db_bytes / 1024.0,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    }
    return dpi;
}

int gh_cli_thresholds_apply(const char *prog, const char *path, const gh_rule_vars *vars,
                            gh_dpi *dpi, bool verbose)
{
    gh_error err = {0};
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_threshold_conf *c = gh_threshold_conf_load(path, vars, &errs, &nerrs, &err);
    print_errors(errs, nerrs);
    free(errs);
    if (!c) {
        if (nerrs)
            fprintf(stderr, "%s: %zu error%s in the threshold file\n", prog, nerrs,
                    nerrs == 1 ? "" : "s");
        else
            fprintf(stderr, "%s: %s\n", prog, err.msg);
        return GH_EXIT_RUNTIME;
    }
    int rc = GH_EXIT_OK;
    if (dpi) {
        gh_rule_error *warns = NULL;
        size_t nwarns = 0;
        if (gh_dpi_set_thresholds(dpi, c, &warns, &nwarns) != GH_OK) {
            fprintf(stderr, "%s: out of memory\n", prog);
            rc = GH_EXIT_RUNTIME;
        }
        for (size_t i = 0; verbose && i < nwarns; i++)
            fprintf(stderr, "%s:%u: warning: %s\n", warns[i].loc.file, warns[i].loc.line,
                    warns[i].message);
        free(warns);
    }
    if (verbose && rc == GH_EXIT_OK)
        fprintf(stderr, "thresholds: %zu line%s from %s\n", gh_threshold_conf_count(c),
                gh_threshold_conf_count(c) == 1 ? "" : "s", path);
    gh_threshold_conf_free(c);
    return rc;
}

bool gh_cli_policy(const char *prog, const char *arg, gh_fw_action *out)
{
    if (strcmp(arg, "accept") == 0)
        *out = GH_FW_ACCEPT;
    else if (strcmp(arg, "drop") == 0)
        *out = GH_FW_DROP;
    else {
        fprintf(stderr, "%s: --policy takes 'accept' or 'drop', not '%s'\n", prog, arg);
        return false;
    }
    return true;
}

bool gh_cli_checksums(const char *prog, const char *arg, bool *out)
{
    if (strcmp(arg, "none") == 0)
        *out = false;
    else if (strcmp(arg, "all") == 0)
        *out = true;
    else {
        fprintf(stderr, "%s: -k takes 'all' or 'none', not '%s'\n", prog, arg);
        return false;
    }
    return true;
}

bool gh_cli_eve_types(const char *prog, const char *arg, uint32_t *listed)
{
    gh_error err = {0};
    uint32_t m;
    if (gh_eve_types_parse(arg, &m, &err) != GH_OK) {
        fprintf(stderr, "%s: --eve-types: %s\n", prog, err.msg);
        return false;
    }
    *listed |= m;
    return true;
}

uint32_t gh_cli_eve_types_final(uint32_t listed, uint32_t removed)
{
    return (listed ? listed : GH_EVE_TYPES_ALL) & ~removed;
}

bool gh_cli_action_order(const char *prog, const char *arg, gh_action_order *out)
{
    gh_error err = {0};
    if (gh_action_order_parse(out, arg, &err) != GH_OK) {
        fprintf(stderr, "%s: --action-order: %s\n", prog, err.msg);
        return false;
    }
    return true;
}
