/* Application layer: limits, the engine's part of a transaction. */
#include <stdlib.h>

#include "app/app.h"

void gh_app_limits_init(gh_app_limits *l)
{
    /* libhtp's field limit and Suricata 7's default body limits */
    l->header_limit = 18000;
    l->request_body_limit = 100 * 1024;
    l->response_body_limit = 100 * 1024;
    l->decompress_limit = 1024 * 1024;
    l->max_tx = 16;
}

void gh_app_tx_start(gh_app_tx *tx, uint64_t id)
{
    uint32_t *keep = tx->alerted;
    uint16_t cap = tx->cap_alerted;
    *tx = (gh_app_tx){.id = id, .alerted = keep, .cap_alerted = cap};
}

void gh_app_tx_release(gh_app_tx *tx)
{
    free(tx->alerted);
    tx->alerted = NULL;
    tx->cap_alerted = 0;
    tx->n_alerted = 0;
}
