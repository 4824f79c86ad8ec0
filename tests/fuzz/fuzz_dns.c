/* Fuzz target: the DNS parser, UDP datagrams or TCP framing;
 * input: records of a session (fuzz.h, fuzz_app_session). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_session(&gh_app_dns_ops, 53, data, size);
    return 0;
}
