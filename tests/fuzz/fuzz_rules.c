/* Fuzz target: the rule language, as `gatehouse check` reads it. The first
 * byte picks the input kind, the rest is the file's text:
 *   0 firewall rules: parse, check, and compile the clean ones;
 *   1 signatures: parse and check; each rule's canonical form must parse
 *     back to itself (the promise of gh_rule_format);
 *   2 signatures: parse, check, compile the clean ones (PCRE2, Hyperscan);
 *   3 a vars file, then rules that use the usual variables;
 *   4 a classification.config;
 *   5 a threshold.config, applied to a few signatures. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gatehouse/dpi.h"
#include "gatehouse/firewall.h"
#include "gatehouse/rules.h"
#include "gatehouse/threshold.h"

static const char vars_rules[] =
    "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (sid:1;)\n"
    "alert udp [$DNS_SERVERS,!$HOME_NET] ![$SHELLCODE_PORTS,53] <> any $ORACLE_PORTS (sid:2;)\n"
    "alert ip $SMTP_SERVERS $FILE_DATA_PORTS -> $TELNET_SERVERS !$SSH_PORTS (sid:3;)\n";

static const char thresh_rules[] =
    "alert tcp any any -> any any (content:\"a\"; sid:1; gid:1;)\n"
    "alert udp any any -> any any (content:\"b\"; threshold:type limit, track by_src, "
    "count 1, seconds 60; sid:2;)\n"
    "alert ip any any -> any any (sid:3; gid:3;)\n";

static gh_rule_vars *default_vars(void)
{
    static gh_rule_vars *v;
    if (!v && (!(v = gh_rule_vars_new(NULL)) ||
               gh_rule_vars_load(v, GH_SOURCE_DIR "/rules/vars.conf", NULL) != GH_OK))
        abort();
    return v;
}

static gh_rule_file *parse(const char *text, size_t len, gh_rule_tier tier,
                           const gh_rule_vars *vars)
{
    gh_rule_file *f = gh_rules_parse_buffer("fuzz.rules", text, len, tier, NULL);
    if (f && gh_rules_check(f, vars) != GH_OK) {
        gh_rule_file_free(f);
        return NULL;
    }
    return f;
}

/* gh_rule_format's output parses to one rule with the same output. */
static void round_trip(const gh_rule_file *f)
{
    for (size_t i = 0; i < f->n_rules; i++) {
        char *s = gh_rule_format(&f->rules[i]);
        if (!s)
            continue;
        gh_rule_file *g = gh_rules_parse_buffer("again", s, strlen(s), f->tier, NULL);
        char *t = g && g->n_rules == 1 ? gh_rule_format(&g->rules[0]) : NULL;
        if (g && (!t || strcmp(s, t) != 0))
            abort();
        free(t);
        gh_rule_file_free(g);
        free(s);
    }
}

static gh_dpi *compile_sigs(gh_rule_file *f, const gh_rule_vars *vars)
{
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_dpi *d = gh_dpi_compile(&f, 1, vars, &errs, &nerrs, NULL, NULL);
    free(errs);
    (void)nerrs;
    return d;
}

static void rules(const char *text, size_t len, int kind)
{
    const gh_rule_vars *vars = default_vars();
    gh_rule_tier tier = kind == 0 ? GH_RULE_TIER_FIREWALL : GH_RULE_TIER_SIGNATURE;
    gh_rule_file *f = parse(text, len, tier, vars);
    if (!f)
        return;
    if (kind == 1)
        round_trip(f);
    if (f->n_errors == 0 && kind == 0) {
        gh_rule_error *errs = NULL;
        size_t nerrs = 0;
        gh_fw_free(gh_fw_compile(&f, 1, vars, &errs, &nerrs, NULL));
        free(errs);
    }
    if (f->n_errors == 0 && kind == 2)
        gh_dpi_free(compile_sigs(f, vars));
    gh_rule_file_free(f);
}

static void vars_file(const uint8_t *d, size_t n)
{
    gh_rule_vars *v = gh_rule_vars_new(NULL);
    if (!v)
        abort();
    if (gh_rule_vars_load(v, fuzz_mem_path(d, n), NULL) == GH_OK)
        gh_rule_file_free(parse(vars_rules, sizeof(vars_rules) - 1, GH_RULE_TIER_SIGNATURE, v));
    gh_rule_vars_free(v);
}

static void classification(const uint8_t *d, size_t n)
{
    gh_classification *c = gh_classification_new();
    if (!c)
        abort();
    gh_classification_load(c, fuzz_mem_path(d, n), NULL);
    for (size_t i = 0; i < gh_classification_count(c); i++)
        gh_classification_find(c, gh_classification_get(c, i)->name);
    gh_classification_free(c);
}

static void thresholds(const uint8_t *d, size_t n)
{
    const gh_rule_vars *vars = default_vars();
    char *text = malloc(n + 1);
    if (!text)
        abort();
    memcpy(text, d, n);
    text[n] = '\0';
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_threshold_conf *c = gh_threshold_conf_parse("fuzz.config", text, vars, &errs, &nerrs,
                                                   NULL);
    free(errs);
    free(text);
    if (!c)
        return;
    /* applying a file changes the signatures: a fresh set each time */
    gh_rule_file *f = parse(thresh_rules, sizeof(thresh_rules) - 1, GH_RULE_TIER_SIGNATURE,
                            vars);
    gh_dpi *dpi = f && !f->n_errors ? compile_sigs(f, vars) : NULL;
    if (!dpi)
        abort();
    errs = NULL;
    gh_dpi_set_thresholds(dpi, c, &errs, &nerrs);
    free(errs);
    gh_dpi_free(dpi);
    gh_rule_file_free(f);
    gh_threshold_conf_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 6) {
    case 0:
    case 1:
    case 2:
        rules(text, len, data[0] % 6);
        break;
    case 3:
        vars_file(data + 1, len);
        break;
    case 4:
        classification(data + 1, len);
        break;
    default:
        thresholds(data + 1, len);
        break;
    }
    return 0;
}
