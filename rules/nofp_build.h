/* Build side of the signatures without a fast pattern (rules/nofp_build.c):
 * per IP family, the list checked on every buffer and the address indexes. */
#ifndef GATEHOUSE_NOFP_BUILD_H
#define GATEHOUSE_NOFP_BUILD_H

#include "detect/detect_int.h"

/* Fill @p nofp (IPv4, IPv6; zeroed by the caller) with the signatures
 * @p ids[0..n) of @p d. GH_OK or GH_E_NOMEM (what was built is freed by
 * gh_nofp_free). */
int gh_nofp_build(const gh_dpi *d, dpi_nofp nofp[2], const uint32_t *ids, size_t n);

void gh_nofp_free(dpi_nofp nofp[2]);

#endif
