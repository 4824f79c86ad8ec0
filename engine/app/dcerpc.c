/* DCERPC over TCP and UDP: protocol detection only (Suricata 7's rust/src/dcerpc
 * pattern and probe). A flow detected as DCERPC has no parser state and
 * no transactions: its app protocol is what `alert dcerpc` signatures with
 * payload keywords need (they also match SMB flows, as Suricata's
 * AppProtoEquals has it). */
#include <stdint.h>

#include "app/app.h"

/* The fixed part of a PDU header: connection-oriented (TCP), connectionless (UDP). */
#define HDR_LEN_TCP 16
#define HDR_LEN_UDP 80

/* A data representation with a known integer and character format and at
 * most 3 as the floating-point one. */
static bool drep_ok(const uint8_t *d)
{
    return (d[0] & 0xee) == 0 && d[1] <= 3;
}

/* Suricata's patterns at offset 0, confirmed by its probes once a header is
 * there. TCP: "|05 00|" (version 5.0) on any port, either direction. UDP:
 * "|04 00|" (version 4, a request) from the client only, with flags2's
 * reserved bits clear; one datagram decides. */
static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    bool udp = pc->transport == GH_APP_UDP;
    if ((udp && dir) || (n > 0 && b[0] != (udp ? 0x04 : 0x05)) || (n > 1 && b[1] != 0x00))
        return GH_PROBE_NO;
    if (n < (udp ? HDR_LEN_UDP : HDR_LEN_TCP))
        return udp ? GH_PROBE_NO : GH_PROBE_MORE;
    return (!udp || (b[3] & 0xfc) == 0) && drep_ok(b + 4) ? GH_PROBE_YES : GH_PROBE_NO;
}

/* Detection only (no state_size): nothing is parsed. */
const gh_app_ops gh_app_dcerpc_ops = {
    .name = "dcerpc",
    .proto = GH_ALPROTO_DCERPC,
    .transports = GH_APP_TCP | GH_APP_UDP,
    .probe = probe,
};
