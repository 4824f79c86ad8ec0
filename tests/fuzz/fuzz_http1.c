/* Fuzz target: the HTTP/1.x parser, both directions, any segmentation;
 * input: records of a session (fuzz.h, fuzz_app_session). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_session(&gh_app_http1_ops, 80, data, size);
    return 0;
}
