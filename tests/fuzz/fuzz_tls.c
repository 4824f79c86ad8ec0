/* Fuzz target: the TLS parser with its X.509 certificates;
 * input: records of a session (fuzz.h, fuzz_app_session). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_session(&gh_app_tls_ops, 443, data, size);
    return 0;
}
