/* Signatures on application-layer transactions (type app_tx and the other
 * signatures reading an application buffer): what the stream stage calls
 * from a parser's progress callback. Internal to libgatehouse. */
#ifndef GATEHOUSE_DETECT_TX_H
#define GATEHOUSE_DETECT_TX_H

#include "app/app.h"
#include "gatehouse/dpi.h"
#include "hdrmatch.h"

/* A transaction and the parser that answers for its buffers. */
typedef struct gh_dpi_tx_view {
    const gh_app_ops *ops;
    void *state;
    gh_app_tx *tx;
    /* HTTP bodies of the call's direction (Suricata 7's inspection windows):
     * detection reads file_data and http.response_body from file_from and
     * http.request_body from reqbody_from, offsets and depths counting from
     * the body's start; body_none: no new body bytes, those buffers are
     * absent. Unused (0, false) unless windowed. */
    bool windowed, body_none;
    uint32_t file_from, reqbody_from;
} gh_dpi_tx_view;

/* Does @p d have signatures inspected on transactions? */
bool gh_dpi_has_tx_sigs(const gh_dpi *d);
/* Does some signature of @p d read buffer @p b? */
bool gh_dpi_reads_buffer(const gh_dpi *d, gh_buffer_id b);

/*
 * Transaction @p tv advanced to @p stage in direction @p dir (0 to_server),
 * carried by packet @p p in state @p st: inspect the signatures that became
 * ready since its last inspection (and those reading the body, while it
 * grows and when it completes). A signature alerts at most once per
 * transaction (remembered in the tx). Writes up to @p max matches in
 * precedence order, their tx set to 0; returns their number.
 */
size_t gh_dpi_match_tx(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                       const gh_pkt_state *st, const gh_dpi_tx_view *tv, int dir,
                       gh_app_stage stage, gh_dpi_match *out, size_t max);

#endif
