/* Canonical form of a rule, for `gatehouse check --dump` and the golden
 * tests (see gh_rule_format in rules.h). Everything printed is what the
 * parser keeps, so parsing the output and printing it again is the identity. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_int.h"

void gh_expr_format(gh_sbuf *b, const gh_rule_expr *x)
{
    if (x->negated)
        gh_sbuf_putc(b, '!');
    if (x->kind != GH_EXPR_LIST) {
        gh_sbuf_puts(b, x->text);
        return;
    }
    gh_sbuf_putc(b, '[');
    for (size_t i = 0; i < x->n_items; i++) {
        if (i)
            gh_sbuf_putc(b, ',');
        gh_expr_format(b, x->items[i]);
    }
    gh_sbuf_putc(b, ']');
}

char *gh_rule_format(const gh_rule *r)
{
    gh_sbuf b = {0};
    gh_sbuf_puts(&b, r->action_tok.text);
    gh_sbuf_putc(&b, ' ');
    gh_sbuf_puts(&b, r->proto.text);
    gh_sbuf_putc(&b, ' ');
    gh_expr_format(&b, r->src_addr);
    gh_sbuf_putc(&b, ' ');
    gh_expr_format(&b, r->src_port);
    gh_sbuf_putc(&b, ' ');
    gh_sbuf_puts(&b, r->dir.text);
    gh_sbuf_putc(&b, ' ');
    gh_expr_format(&b, r->dst_addr);
    gh_sbuf_putc(&b, ' ');
    gh_expr_format(&b, r->dst_port);
    gh_sbuf_puts(&b, " (");
    for (size_t i = 0; i < r->n_options; i++) {
        const gh_rule_option *o = &r->options[i];
        if (i)
            gh_sbuf_putc(&b, ' ');
        gh_sbuf_puts(&b, o->name.text);
        if (o->value.text) {
            gh_sbuf_putc(&b, ':');
            gh_sbuf_puts(&b, o->value.text);
        }
        gh_sbuf_putc(&b, ';');
    }
    gh_sbuf_putc(&b, ')');
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

int gh_rule_dump(FILE *out, const gh_rule *r)
{
    char *s = gh_rule_format(r);
    if (!s)
        return GH_E_NOMEM;
    int rc = fprintf(out, "%s\n", s) < 0 ? GH_E_IO : GH_OK;
    free(s);
    return rc;
}

const char *gh_rule_action_name(gh_rule_action a)
{
    static const char *const names[] = {
        [GH_ACTION_ALERT] = "alert",         [GH_ACTION_PASS] = "pass",
        [GH_ACTION_DROP] = "drop",           [GH_ACTION_REJECT] = "reject",
        [GH_ACTION_REJECTSRC] = "rejectsrc", [GH_ACTION_REJECTDST] = "rejectdst",
        [GH_ACTION_REJECTBOTH] = "rejectboth", [GH_ACTION_ACCEPT] = "accept",
    };
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const gh_rule_option *gh_rule_find_option(const gh_rule *r, const char *name)
{
    for (size_t i = 0; i < r->n_options; i++)
        if (strcasecmp(r->options[i].name.text, name) == 0)
            return &r->options[i];
    return NULL;
}
