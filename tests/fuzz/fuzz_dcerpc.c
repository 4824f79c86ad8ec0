/* Fuzz target: DCERPC detection through the app stage (no parser);
 * input: records of a session (fuzz.h, fuzz_app_session). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_session(&gh_app_dcerpc_ops, 135, data, size);
    return 0;
}
