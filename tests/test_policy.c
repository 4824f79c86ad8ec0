/* Failure policies: names, parsing, and each mode's defaults after
 * gh_exc_resolve (what pcap and nfq start with). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gatehouse/policy.h"

static void all(gh_exc_config *c, gh_exc_policy p)
{
    for (int i = 0; i < GH_EXC_COND_COUNT; i++)
        c->on[i] = p;
}

static void test_parse(void **state)
{
    (void)state;
    gh_exc_policy p;
    for (int i = 0; i < GH_EXC_POLICY_COUNT; i++) {
        assert_true(gh_exc_policy_parse(gh_exc_policy_name((gh_exc_policy)i, false), &p));
        assert_int_equal(p, i);
    }
    assert_false(gh_exc_policy_parse("drop", &p));
    assert_false(gh_exc_policy_parse("drop_flow", &p)); /* the option spells it drop-flow */
    assert_false(gh_exc_policy_parse("", &p));
    assert_string_equal(gh_exc_policy_name(GH_EXC_DROP_FLOW, true), "drop_flow");
    assert_string_equal(gh_exc_cond_name(GH_EXC_COND_FLOW_FULL, false), "flow-full");
    assert_string_equal(gh_exc_cond_name(GH_EXC_COND_FLOW_FULL, true), "flow_memcap");
    assert_string_equal(gh_exc_cond_name(GH_EXC_COND_MIDSTREAM, true), "stream_midstream");
    assert_string_equal(gh_exc_cond_name(GH_EXC_COND_APP_ERROR, true), "app_layer_error");
}

/* nfq: Suricata's IPS auto (fail closed), but midstream and the cap ignored */
static void test_ips_defaults(void **state)
{
    (void)state;
    gh_exc_config c;
    all(&c, GH_EXC_AUTO);
    gh_exc_resolve(&c, GH_EXC_AUTO, true);
    assert_int_equal(c.on[GH_EXC_COND_FLOW_FULL], GH_EXC_DROP_PACKET);
    assert_int_equal(c.on[GH_EXC_COND_STREAM_MEMCAP], GH_EXC_DROP_FLOW);
    assert_int_equal(c.on[GH_EXC_COND_APP_MEMCAP], GH_EXC_DROP_FLOW);
    assert_int_equal(c.on[GH_EXC_COND_APP_ERROR], GH_EXC_DROP_FLOW);
    assert_int_equal(c.on[GH_EXC_COND_MIDSTREAM], GH_EXC_IGNORE);
    assert_int_equal(c.on[GH_EXC_COND_DECOMPRESS_CAP], GH_EXC_IGNORE);
}

/* pcap: IDS, everything ignored (as Suricata's auto in IDS mode) */
static void test_ids_defaults(void **state)
{
    (void)state;
    gh_exc_config c;
    all(&c, GH_EXC_AUTO);
    gh_exc_resolve(&c, GH_EXC_AUTO, false);
    for (int i = 0; i < GH_EXC_COND_COUNT; i++)
        assert_int_equal(c.on[i], GH_EXC_IGNORE);
}

/* the master switch fills what was not set; each policy fits its condition */
static void test_master_and_fit(void **state)
{
    (void)state;
    gh_exc_config c;
    all(&c, GH_EXC_AUTO);
    c.on[GH_EXC_COND_APP_ERROR] = GH_EXC_PASS_PACKET;
    gh_exc_resolve(&c, GH_EXC_DROP_FLOW, false);
    assert_int_equal(c.on[GH_EXC_COND_FLOW_FULL], GH_EXC_DROP_PACKET); /* no flow to drop */
    assert_int_equal(c.on[GH_EXC_COND_STREAM_MEMCAP], GH_EXC_DROP_FLOW);
    assert_int_equal(c.on[GH_EXC_COND_APP_ERROR], GH_EXC_PASS_PACKET);
    assert_int_equal(c.on[GH_EXC_COND_MIDSTREAM], GH_EXC_DROP_FLOW);

    all(&c, GH_EXC_AUTO);
    gh_exc_resolve(&c, GH_EXC_BYPASS, true);
    assert_int_equal(c.on[GH_EXC_COND_FLOW_FULL], GH_EXC_PASS_PACKET);
    assert_int_equal(c.on[GH_EXC_COND_MIDSTREAM], GH_EXC_BYPASS);

    all(&c, GH_EXC_AUTO);
    gh_exc_resolve(&c, GH_EXC_PASS_PACKET, true);
    assert_int_equal(c.on[GH_EXC_COND_MIDSTREAM], GH_EXC_PASS_FLOW); /* a flow condition */
    assert_int_equal(c.on[GH_EXC_COND_STREAM_MEMCAP], GH_EXC_PASS_PACKET);

    all(&c, GH_EXC_AUTO);
    gh_exc_resolve(&c, GH_EXC_IGNORE, true); /* the master switch off, inline too */
    for (int i = 0; i < GH_EXC_COND_COUNT; i++)
        assert_int_equal(c.on[i], GH_EXC_IGNORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_ips_defaults),
        cmocka_unit_test(test_ids_defaults),
        cmocka_unit_test(test_master_and_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
