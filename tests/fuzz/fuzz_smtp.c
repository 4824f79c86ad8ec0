/* Fuzz target: the SMTP parser with MIME attachments;
 * input: records of a session (fuzz.h, fuzz_app_session). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_session(&gh_app_smtp_ops, 25, data, size);
    return 0;
}
