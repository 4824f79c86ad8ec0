/* Fuzz target: the SSH banner parser;
 * input: records of a session (fuzz.h, fuzz_app_session). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_session(&gh_app_ssh_ops, 22, data, size);
    return 0;
}
