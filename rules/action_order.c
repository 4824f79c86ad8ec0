/* Suricata's action-order: the precedence in which the actions of the
 * signatures that matched one packet are applied (pass, drop, reject, alert
 * by default). A user who wants drops to win over passes reorders them. */
#include <stdio.h>
#include <string.h>

#include "gatehouse/rules.h"

static const char *const class_names[GH_ACTCLASS_N] = {
    [GH_ACTCLASS_PASS] = "pass",
    [GH_ACTCLASS_DROP] = "drop",
    [GH_ACTCLASS_REJECT] = "reject",
    [GH_ACTCLASS_ALERT] = "alert",
};

void gh_action_order_default(gh_action_order *o)
{
    for (unsigned c = 0; c < GH_ACTCLASS_N; c++)
        o->rank[c] = (uint8_t)c;
}

gh_action_class gh_action_class_of(gh_rule_action a)
{
    switch (a) {
    case GH_ACTION_PASS: return GH_ACTCLASS_PASS;
    case GH_ACTION_DROP: return GH_ACTCLASS_DROP;
    case GH_ACTION_REJECT:
    case GH_ACTION_REJECTSRC:
    case GH_ACTION_REJECTDST:
    case GH_ACTION_REJECTBOTH: return GH_ACTCLASS_REJECT;
    default: return GH_ACTCLASS_ALERT;
    }
}

int gh_action_order_parse(gh_action_order *o, const char *text, gh_error *err)
{
    gh_action_order r;
    bool seen[GH_ACTCLASS_N] = {false};
    unsigned pos = 0;
    const char *s = text ? text : "";
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *b = s;
        while (*s && *s != ',' && *s != ' ' && *s != '\t')
            s++;
        size_t len = (size_t)(s - b);
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != ',') {
            gh_error_set(err, GH_E_INVAL, "action order '%s': expected ',' after '%.*s'", text,
                         (int)len, b);
            return GH_E_INVAL;
        }
        unsigned c = 0;
        while (c < GH_ACTCLASS_N && !(strlen(class_names[c]) == len &&
                                      strncmp(class_names[c], b, len) == 0))
            c++;
        if (c == GH_ACTCLASS_N) {
            gh_error_set(err, GH_E_INVAL,
                         "action order '%s': unknown action '%.*s' (expected pass, drop, "
                         "reject and alert, each once)", text, (int)len, b);
            return GH_E_INVAL;
        }
        if (seen[c]) {
            gh_error_set(err, GH_E_INVAL, "action order '%s': '%s' is listed twice", text,
                         class_names[c]);
            return GH_E_INVAL;
        }
        seen[c] = true;
        r.rank[c] = (uint8_t)pos++;
        if (!*s)
            break;
        s++; /* the comma */
    }
    for (unsigned c = 0; c < GH_ACTCLASS_N; c++) {
        if (!seen[c]) {
            gh_error_set(err, GH_E_INVAL, "action order '%s': '%s' is missing (list pass, "
                         "drop, reject and alert, each once)", text, class_names[c]);
            return GH_E_INVAL;
        }
    }
    *o = r;
    return GH_OK;
}

void gh_action_order_format(const gh_action_order *o, char *buf, size_t size)
{
    size_t at = 0;
    if (size)
        buf[0] = '\0';
    for (unsigned pos = 0; pos < GH_ACTCLASS_N; pos++) {
        for (unsigned c = 0; c < GH_ACTCLASS_N; c++) {
            if (o->rank[c] != pos)
                continue;
            int w = snprintf(buf + at, size > at ? size - at : 0, "%s%s", pos ? "," : "",
                             class_names[c]);
            if (w > 0)
                at += (size_t)w;
        }
    }
}
