/* stream_size, app-layer-event and ftpbounce: the value forms Suricata 7
 * accepts and refuses, stream_size's comparison of each side, the event
 * tables' lookups, and how rules using them load (errors with their place,
 * skipped rules). Matching on traffic: tests/data/misc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/app.h"
#include "detect/stream_size.h"
#include "gatehouse/dpi.h"
#include "gatehouse/rules.h"

static void test_stream_size_forms(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        uint8_t which, mode;
        uint64_t n;
    } good[] = {
        {"server,<,5", SSIZE_SERVER, GH_UINT_LT, 5},
        {" client , = , 11 ", SSIZE_CLIENT, GH_UINT_EQ, 11},
        {"both,>=,0", SSIZE_BOTH, GH_UINT_GE, 0},
        {"either,!,3", SSIZE_EITHER, GH_UINT_NE, 3},
        {"either,!=,3", SSIZE_EITHER, GH_UINT_NE, 3},
        {"server,<=,4294967295", SSIZE_SERVER, GH_UINT_LE, 4294967295u},
        {"client,>,1800", SSIZE_CLIENT, GH_UINT_GT, 1800},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        dpi_ssize ss;
        char err[128] = "";
        assert_int_equal(gh_stream_size_parse(good[i].v, &ss, err, sizeof(err)), 0);
        assert_int_equal(ss.which, good[i].which);
        assert_int_equal(ss.um.mode, good[i].mode);
        assert_int_equal(ss.um.a, good[i].n);
    }
    /* Suricata's side names are lower case; the operator and the number
     * are required; the number is a decimal u32 and ends the value */
    static const char *const bad[] = {"Server,<,5", "server,5",      "server,<,",
                                      "server,<,5x", "server,<,4294967296", "server,<<,5",
                                      "sideways,<,1", "server,<,0x10", "", "server;<;5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dpi_ssize ss;
        char err[128] = "";
        assert_int_equal(gh_stream_size_parse(bad[i], &ss, err, sizeof(err)), -1);
        assert_true(err[0]);
    }
}

static void test_stream_size_sides(void **state)
{
    (void)state;
    gh_pkt_state st = {.tcp_ssn = true, .ssize = {11, 1}};
    dpi_ssize ss;
    char err[64];
    assert_int_equal(gh_stream_size_parse("client,=,11", &ss, err, sizeof(err)), 0);
    assert_true(gh_stream_size_eval(&ss, 1, &st));
    assert_int_equal(gh_stream_size_parse("server,<,5", &ss, err, sizeof(err)), 0);
    assert_true(gh_stream_size_eval(&ss, 1, &st));
    assert_int_equal(gh_stream_size_parse("both,>,5", &ss, err, sizeof(err)), 0);
    assert_false(gh_stream_size_eval(&ss, 1, &st));
    assert_int_equal(gh_stream_size_parse("either,>,5", &ss, err, sizeof(err)), 0);
    assert_true(gh_stream_size_eval(&ss, 1, &st));
    /* without a TCP session nothing matches, not even >= 0 */
    st.tcp_ssn = false;
    assert_int_equal(gh_stream_size_parse("either,>=,0", &ss, err, sizeof(err)), 0);
    assert_false(gh_stream_size_eval(&ss, 1, &st));
    assert_true(gh_stream_size_eval(&ss, 0, &st)); /* no option: nothing to check */
}

static void test_event_tables(void **state)
{
    (void)state;
    bool raised = false;
    int id = gh_app_event_id(GH_ALPROTO_HTTP1, "invalid_transfer_encoding_value_in_request",
                             &raised);
    assert_int_equal(id, 6);
    assert_true(raised);
    /* HTTP, TLS and SMTP ignore case (SCMapEnumNameToValue) */
    assert_int_equal(gh_app_event_id(GH_ALPROTO_HTTP1, "INVALID_TRANSFER_ENCODING_VALUE_IN_"
                                                       "REQUEST", NULL), 6);
    assert_true(gh_app_event_id(GH_ALPROTO_TLS, "invalid_sni_type", NULL) >= 0);
    assert_true(gh_app_event_id(GH_ALPROTO_SMTP, "mime_long_line", NULL) >= 0);
    /* the rust tables compare exactly */
    assert_int_equal(gh_app_event_id(GH_ALPROTO_DNS, "z_flag_set", NULL), 3);
    assert_int_equal(gh_app_event_id(GH_ALPROTO_DNS, "Z_FLAG_SET", NULL), -1);
    assert_int_equal(gh_app_event_id(GH_ALPROTO_FTP, "request_command_too_long", NULL), 0);
    /* known to Suricata, not raised by our parser */
    assert_true(gh_app_event_id(GH_ALPROTO_HTTP1, "request_body_unexpected", &raised) >= 0);
    assert_false(raised);
    assert_int_equal(gh_app_event_id(GH_ALPROTO_HTTP1, "no_such_event", NULL), -1);
    assert_int_equal(gh_app_event_id(GH_ALPROTO_FAILED, "z_flag_set", NULL), -1);
}

/* Load @p text (one rule): the compile report and the first error. */
static void load_one(const char *text, gh_dpi_load_report *rep, gh_rule_error *first,
                     size_t *nerrs)
{
    gh_error err = {0};
    gh_rule_file *f =
        gh_rules_parse_buffer("t.rules", text, strlen(text), GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(f);
    gh_rules_check(f, NULL);
    gh_rule_error *errs = NULL;
    *nerrs = 0;
    memset(first, 0, sizeof(*first));
    if (f->n_errors) {
        *first = f->errors[0];
        *nerrs = f->n_errors;
    }
    gh_dpi *d = gh_dpi_compile(&f, 1, NULL, &errs, nerrs, rep, &err);
    assert_non_null(d);
    if (!first->message[0] && *nerrs)
        *first = errs[0];
    gh_dpi_free(d);
    free(errs);
    gh_rule_file_free(f);
}

static void test_rule_loading(void **state)
{
    (void)state;
    static const struct {
        const char *rule;
        size_t loaded, unsupported;
        uint32_t col;      /* of the error, 0: none */
        const char *msg;   /* in the error */
    } cases[] = {
        {"alert tcp any any -> any any (stream_size:server,<,5; sid:1;)", 1, 0, 0, NULL},
        {"alert tcp any any -> any any (stream_size:server,<<,5; sid:1;)", 0, 0, 43,
         "stream_size: expected ',' after the operator"},
        {"alert tcp any any -> any any (stream_size:Server,<,5; sid:1;)", 0, 0, 43,
         "'Server' is not"},
        {"alert http any any -> any any (app-layer-event:http.invalid_transfer_encoding_value_"
         "in_request; sid:1;)", 1, 0, 0, NULL},
        {"alert tcp any any -> any any (app-layer-event:dns.z_flag_set; sid:1;)", 1, 0, 0,
         NULL},
        {"alert http any any -> any any (app-layer-event:http.no_such_event; sid:1;)", 0, 0, 48,
         "protocol 'http' has no event 'no_such_event'"},
        {"alert tcp any any -> any any (app-layer-event:nosuch.event; sid:1;)", 0, 0, 47,
         "unknown protocol 'nosuch'"},
        {"alert tcp any any -> any any (app-layer-event:dns.Z_FLAG_SET; sid:1;)", 0, 0, 47,
         "has no event"},
        {"alert icmp any any -> any any (app-layer-event:dns.z_flag_set; sid:1;)", 0, 0, 48,
         "needs a tcp or udp rule"},
        {"alert dns any any -> any any (app-layer-event:http.invalid_transfer_encoding_value_"
         "in_request; sid:1;)", 0, 0, 1, "the signature's protocol is dns"},
        /* events Suricata has that nothing here raises: skipped, not silently loaded */
        {"alert http any any -> any any (app-layer-event:http.request_body_unexpected; sid:1;)",
         0, 1, 0, NULL},
        {"alert tcp any any -> any any (app-layer-event:smb.malformed_data; sid:1;)", 0, 1, 0,
         NULL},
        {"alert tcp any any -> any any (app-layer-event:applayer_mismatch_protocol_both_"
         "directions; sid:1;)", 0, 1, 0, NULL},
        {"alert tcp any any -> any 21 (content:\"PORT\"; ftpbounce; sid:1;)", 1, 0, 0, NULL},
        {"alert dns any any -> any any (ftpbounce; sid:1;)", 0, 0, 1, "ftpbounce"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gh_dpi_load_report rep;
        gh_rule_error e;
        size_t nerrs;
        load_one(cases[i].rule, &rep, &e, &nerrs);
        if (rep.loaded != cases[i].loaded || rep.skipped_unsupported != cases[i].unsupported ||
            (cases[i].msg && (!strstr(e.message, cases[i].msg) || e.loc.col != cases[i].col)))
            fail_msg("%s: loaded %zu unsupported %zu error %u:%u %s", cases[i].rule, rep.loaded,
                     rep.skipped_unsupported, e.loc.line, e.loc.col, e.message);
        assert_int_equal(nerrs > 0, cases[i].msg != NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_size_forms),
        cmocka_unit_test(test_stream_size_sides),
        cmocka_unit_test(test_event_tables),
        cmocka_unit_test(test_rule_loading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
