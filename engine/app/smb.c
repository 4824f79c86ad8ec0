/* SMB: protocol detection only (Suricata 7's rust/src/smb probing). A flow
 * detected as SMB has no parser state and no transactions: its app protocol
 * is what `alert smb` signatures with payload keywords need. */
#include <stdint.h>

#include "app/app.h"

/* An NBSS header and an SMB header: the least Suricata probes (MIN_REC_SIZE). */
#define MIN_REC 36
/* Suricata's default detection port for its probing parser (no
 * app-layer.protocols.smb.detection-ports in the configuration). */
#define SMB_PORT 445

/* NBSS message types: session message, then request, positive, negative
 * and retarget responses, keep-alive. */
static bool nbss_type_ok(uint8_t t)
{
    return t == 0x00 || (t >= 0x81 && t <= 0x85);
}

/* Are the first @p n (at most 4) bytes of @p m those of "\xffSMB" (SMB1),
 * "\xfeSMB" (SMB2/3) or "\xfdSMB" (SMB3 transform)? */
static bool magic_prefix(const uint8_t *m, size_t n)
{
    static const char smb[] = "SMB";
    if (n && m[0] != 0xff && m[0] != 0xfe && m[0] != 0xfd)
        return false;
    for (size_t i = 1; i < n && i < 4; i++)
        if (m[i] != (uint8_t)smb[i - 1])
            return false;
    return true;
}

static bool smb_magic(const uint8_t *m)
{
    return magic_prefix(m, 4);
}

/* Suricata's pattern, on any port: the magic at offset 4, confirmed once
 * MIN_REC bytes are there by a valid NBSS message type. */
static int probe_pattern(const uint8_t *b, size_t n)
{
    if (n && !nbss_type_ok(b[0]))
        return GH_PROBE_NO;
    if (n > 4 && !magic_prefix(b + 4, n - 4))
        return GH_PROBE_NO;
    return n < MIN_REC ? GH_PROBE_MORE : GH_PROBE_YES;
}

/* Suricata's probing parser on the server port: an SMB record, or a short
 * NBSS message (a session request) followed by one. It waits for MIN_REC
 * bytes and, for a short first message, once more; past MIN_REC bytes an
 * inconclusive answer is a failure (the probing parser's max depth). */
static int probe_port(const uint8_t *b, size_t n)
{
    if (n < MIN_REC)
        return GH_PROBE_MORE;
    if (!nbss_type_ok(b[0]))
        return GH_PROBE_NO;
    if (smb_magic(b + 4))
        return GH_PROBE_YES;
    if (b[0] == 0x00)
        return GH_PROBE_NO;
    size_t hl = (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
    if (n - 4 >= hl + 8)
        return nbss_type_ok(b[4 + hl]) && smb_magic(b + 8 + hl) ? GH_PROBE_YES : GH_PROBE_NO;
    return hl < 256 && n == MIN_REC ? GH_PROBE_MORE : GH_PROBE_NO;
}

/* Both directions alike: Suricata registers its pattern for each and its
 * probing parser for both on the destination port. */
static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    (void)dir;
    int r = probe_pattern(b, n);
    if (r != GH_PROBE_NO || pc->server_port != SMB_PORT)
        return r;
    return probe_port(b, n);
}

/* Detection only (no state_size): nothing is parsed. */
const gh_app_ops gh_app_smb_ops = {
    .name = "smb",
    .proto = GH_ALPROTO_SMB,
    .transports = GH_APP_TCP,
    .probe = probe,
};
