/* Parsing and checking a rule file on several threads (gh_rules_load_file).
 *
 * Rules are independent of each other until the duplicate-sid check, so a
 * large file is cut at rule boundaries (a newline that does not end a
 * continued line) into one part per thread. Each part is parsed and checked
 * into its own arena with its own line numbers; the parts are then joined
 * in file order and the checks that span the file run once on the whole. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "rules_int.h"

/* Below this a part is not worth a thread (ET Open's files: 10 KB - 3 MB). */
#define PART_MIN (512 * 1024)
#define PARTS_MAX 16

typedef struct part {
    const char *path;
    const char *text;
    size_t len;
    uint32_t line0;
    gh_rule_tier tier;
    const gh_rule_vars *vars;
    gh_rule_file *f;
    gh_error err;
} part;

static void *part_run(void *arg)
{
    part *p = arg;
    p->f = gh_rules_parse_part(p->path, p->text, p->len, p->line0, p->tier, &p->err);
    if (p->f && gh_rules_check_rules(p->f, p->vars) != GH_OK) {
        gh_rule_file_free(p->f);
        p->f = NULL;
        gh_error_set(&p->err, GH_E_NOMEM, "%s: out of memory", p->path);
    }
    return NULL;
}

/* The end of the part that should end near @want: just after a newline
 * whose line does not end with a continuation backslash. */
static size_t cut_after(const char *s, size_t len, size_t want)
{
    for (size_t i = want; i < len; i++) {
        if (s[i] != '\n')
            continue;
        size_t e = i;
        while (e > 0 && gh_is_ws(s[e - 1]))
            e--;
        if (e == 0 || s[e - 1] != '\\')
            return i + 1;
    }
    return len;
}

static uint32_t count_lines(const char *s, size_t n)
{
    uint32_t k = 0;
    for (const char *e = s + n; (s = memchr(s, '\n', (size_t)(e - s))) != NULL; s++)
        k++;
    return k;
}

/* Keyword tallies of @src added to @f's (same keyword: same text). */
static int add_tallies(gh_rule_file *f, const gh_rule_file *src)
{
    for (size_t i = 0; i < src->n_unsupported_kw; i++) {
        const gh_rule_kwcount *k = &src->unsupported_kw[i];
        size_t j = 0;
        while (j < f->n_unsupported_kw && strcmp(f->unsupported_kw[j].keyword, k->keyword))
            j++;
        if (j == f->n_unsupported_kw) {
            gh_rule_kwcount *p =
                realloc(f->unsupported_kw, (f->n_unsupported_kw + 1) * sizeof(*p));
            if (!p)
                return GH_E_NOMEM;
            f->unsupported_kw = p;
            p[f->n_unsupported_kw++] = (gh_rule_kwcount){.keyword = k->keyword};
        }
        f->unsupported_kw[j].rules += k->rules;
    }
    return GH_OK;
}

/* Append @p's rules, errors, counts and arena to @f, and free @p. The
 * first part's arrays become @p f's (megabytes of rules not copied). */
static int join(gh_rule_file *f, gh_rule_file *p)
{
    if (!f->n_rules && !f->n_errors) {
        free(f->rules);
        free(f->errors);
        f->rules = p->rules;
        f->errors = p->errors;
        p->rules = NULL;
        p->errors = NULL;
        f->n_rules = p->n_rules;
        f->n_errors = p->n_errors;
        p->n_rules = p->n_errors = 0;
    }
    gh_rule *r = realloc(f->rules, (f->n_rules + p->n_rules + 1) * sizeof(*r));
    if (r)
        f->rules = r;
    gh_rule_error *e = r ? realloc(f->errors, (f->n_errors + p->n_errors + 1) * sizeof(*e)) : NULL;
    if (e)
        f->errors = e;
    if (!r || !e || add_tallies(f, p) != GH_OK) {
        gh_rule_file_free(p);
        return GH_E_NOMEM;
    }
    if (p->n_rules)
        memcpy(f->rules + f->n_rules, p->rules, p->n_rules * sizeof(*r));
    if (p->n_errors)
        memcpy(f->errors + f->n_errors, p->errors, p->n_errors * sizeof(*e));
    f->n_rules += p->n_rules;
    f->n_errors += p->n_errors;
    f->n_statements += p->n_statements;
    f->n_disabled += p->n_disabled;
    f->n_unsupported += p->n_unsupported;
    gh_arena_adopt(f->internal_, p->internal_);
    p->internal_ = NULL;
    gh_rule_file_free(p);
    return GH_OK;
}

gh_rule_file *gh_rules_load_file(const char *path, gh_rule_tier tier, const gh_rule_vars *vars,
                                 unsigned jobs, gh_error *err)
{
    gh_mem_file text;
    if (gh_rules_read_text(path, &text, err) != 0)
        return NULL;
    jobs = gh_load_threads(jobs);
    size_t nparts = text.len / PART_MIN;
    if (nparts > jobs)
        nparts = jobs;
    if (nparts > PARTS_MAX)
        nparts = PARTS_MAX;
    gh_rule_file *f = NULL;
    if (nparts < 2) {
        f = gh_rules_parse_buffer(path, text.p, text.len, tier, err);
        if (f && gh_rules_check(f, vars) != GH_OK) {
            gh_rule_file_free(f);
            f = NULL;
            gh_error_set(err, GH_E_NOMEM, "%s: out of memory", path);
        }
        gh_mem_file_free(&text);
        return f;
    }
    /* the joined file: it owns the path the parts borrow */
    f = gh_rules_parse_buffer(path, "", 0, tier, err);
    part parts[PARTS_MAX];
    pthread_t th[PARTS_MAX];
    bool started[PARTS_MAX] = {false};
    size_t at = 0;
    uint32_t line0 = 0;
    for (size_t i = 0; f && i < nparts; i++) {
        size_t end = i + 1 == nparts ? text.len : cut_after(text.p, text.len,
                                                               at + (text.len - at) / (nparts - i));
        parts[i] = (part){.path = f->path, .text = text.p + at, .len = end - at, .line0 = line0,
                          .tier = tier, .vars = vars};
        line0 += count_lines(text.p + at, end - at);
        at = end;
        /* part 0 runs on this thread, after the others have started */
        started[i] = i > 0 && pthread_create(&th[i], NULL, part_run, &parts[i]) == 0;
    }
    if (f)
        part_run(&parts[0]);
    int rc = f ? GH_OK : GH_E_NOMEM;
    for (size_t i = 0; f && i < nparts; i++) {
        if (i > 0 && started[i])
            pthread_join(th[i], NULL);
        else if (i > 0)
            part_run(&parts[i]); /* no thread: run it here */
        if (!parts[i].f) {
            if (rc == GH_OK && err)
                *err = parts[i].err;
            rc = GH_E_NOMEM;
        } else if (rc != GH_OK) {
            gh_rule_file_free(parts[i].f);
        } else if ((rc = join(f, parts[i].f)) != GH_OK) {
            gh_error_set(err, GH_E_NOMEM, "%s: out of memory", path);
        }
    }
    gh_mem_file_free(&text);
    if (f && rc == GH_OK && gh_rules_check_finish(f) != GH_OK) {
        rc = GH_E_NOMEM;
        gh_error_set(err, GH_E_NOMEM, "%s: out of memory", path);
    }
    if (rc != GH_OK) {
        gh_rule_file_free(f);
        return NULL;
    }
    return f;
}
