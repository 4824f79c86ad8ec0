/* Flowbits at run time: the conditions a candidate signature must meet and
 * the changes a matching one makes (see flowbits.h). */
#include "detect/flowbits.h"

bool gh_flowbits_test(const dpi_fb *fb, size_t n, const gh_flowbits *bits)
{
    for (size_t i = 0; i < n; i++) {
        if (fb[i].cmd != FB_ISSET && fb[i].cmd != FB_ISNOTSET)
            continue;
        if (!bits)
            return false;
        bool want = fb[i].cmd == FB_ISSET, ok = false;
        for (uint16_t k = 0; k < fb[i].n && !ok; k++)
            ok = gh_flowbits_isset(bits, fb[i].ids[k]) == want;
        if (!ok)
            return false;
    }
    return true;
}

static void bit_unset(gh_flowbits *bits, uint16_t id)
{
    for (uint16_t i = 0; i < bits->n; i++)
        if (bits->id[i] == id) {
            bits->id[i] = bits->id[--bits->n];
            return;
        }
}

static bool bit_set(gh_flowbits *bits, uint16_t id)
{
    if (gh_flowbits_isset(bits, id))
        return true;
    if (bits->n == GH_FLOWBITS_MAX)
        return false;
    bits->id[bits->n++] = id;
    return true;
}

unsigned gh_flowbits_apply(const dpi_fb *fb, size_t n, gh_flowbits *bits)
{
    unsigned refused = 0;
    for (size_t i = 0; i < n && bits; i++) {
        if (!fb[i].n)
            continue;
        uint16_t id = fb[i].ids[0];
        switch (fb[i].cmd) {
        case FB_SET:
            refused += !bit_set(bits, id);
            break;
        case FB_UNSET:
            bit_unset(bits, id);
            break;
        case FB_TOGGLE:
            if (gh_flowbits_isset(bits, id))
                bit_unset(bits, id);
            else
                refused += !bit_set(bits, id);
            break;
        default:
            break;
        }
    }
    return refused;
}
