/* Fuzz target: the FTP control channel parser;
 * input: records of a session (fuzz.h, fuzz_app_session). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_session(&gh_app_ftp_ops, 21, data, size);
    return 0;
}
