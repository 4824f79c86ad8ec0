/* gatehouse pcap --threads N: this thread reads the capture and N worker
 * threads run the pipeline, each with its own gh_worker (flow table,
 * reassembly, scratch), sharing the ruleset and the EVE writer as nfq's
 * queues do.
 *
 * Dispatch: gh_flow_hash_frame (the unordered address pair, an ICMP error's
 * quoted pair) modulo N, so both directions of a flow, every fragment of a
 * datagram and the ICMP errors about a flow reach the worker owning it.
 * Each worker has a ring of RING_SLOTS slots, one producer (the reader) and
 * one consumer (the worker). The reader copies a packet into its worker's
 * open slot and hands every slot that holds packets over at the end of each
 * batch it read. The worker writes the slot's verdicts and gives it
 * back; the reader takes packets back in capture order (a ring of packet
 * owners says which worker holds the next one) and writes them to the
 * accepted/dropped captures as one thread would. No allocation and no lock
 * per packet: a mutex is taken only to sleep on an empty or full ring. */
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/pcap_threads.h"

#define RING_SLOTS 8
#define SLOT_BYTES (512u << 10) /* packet bytes a slot holds: above libpcap's largest snaplen */
#define SPINS 32                /* yields before sleeping on a ring */

typedef struct slot {
    size_t n;     /* packets in the slot */
    size_t used;  /* bytes of data used */
    gh_pkt_in pkts[GH_MAX_BATCH];
    gh_verdict verdicts[GH_MAX_BATCH];
    uint8_t *data;
} slot;

typedef struct ring {
    /* written by the reader */
    alignas(64) _Atomic uint64_t head; /* slots handed to the worker */
    atomic_bool eof;                   /* no more slots; last_ns is set */
    uint64_t last_ns;
    uint64_t taken;                    /* slots the reader took back (reader only) */
    size_t next;                       /* next packet of slot taken to take back */
    /* written by the worker */
    alignas(64) _Atomic uint64_t done; /* slots the worker finished */
    uint64_t event_errors;
    alignas(64) atomic_bool worker_sleeps, reader_sleeps;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    gh_worker *w;
    pthread_t th;
    slot slots[RING_SLOTS];
} ring;

typedef struct dispatch {
    ring *rings;
    unsigned n;
    uint8_t *owner;        /* worker of packet seq, at seq & owner_mask */
    uint64_t owner_mask;
    uint64_t seq;          /* packets handed out */
    uint64_t taken_seq;    /* packets taken back */
    gh_pcap_writer *wacc, *wdrop;
    bool write_failed;
} dispatch;

double gh_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gh_progress_init(gh_progress *pg, bool on, double t0)
{
    pg->on = on;
    pg->t0 = t0;
    pg->next = t0 + 1.0;
}

void gh_progress_tick(gh_progress *pg, uint64_t pkts)
{
    if (!pg->on)
        return;
    double t = gh_cli_now();
    if (t < pg->next)
        return;
    fprintf(stderr, "\r%llu packets, %.0f packets/s ", (unsigned long long)pkts,
            (double)pkts / (t - pg->t0));
    pg->next = t + 1.0;
}

void gh_progress_end(const gh_progress *pg)
{
    if (pg->on && gh_cli_now() - pg->t0 >= 1.0)
        fprintf(stderr, "\n");
}

static void wake(ring *r, atomic_bool *sleeps, pthread_cond_t *cv)
{
    /* seq_cst store of the counter (by the caller) then this load, against
     * the sleeper's store of *sleeps then load of the counter: one of the
     * two sees the other, so no wakeup is lost */
    if (!atomic_load(sleeps))
        return;
    pthread_mutex_lock(&r->mu);
    pthread_cond_signal(cv);
    pthread_mutex_unlock(&r->mu);
}

/* Wait until *ctr moves from @p seen (or, with @p until_eof, eof is set). */
static void await(ring *r, _Atomic uint64_t *ctr, uint64_t seen, bool until_eof,
                  atomic_bool *sleeps, pthread_cond_t *cv)
{
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load(ctr) != seen || (until_eof && atomic_load(&r->eof)))
            return;
        sched_yield();
    }
    pthread_mutex_lock(&r->mu);
    atomic_store(sleeps, true);
    while (atomic_load(ctr) == seen && !(until_eof && atomic_load(&r->eof)))
        pthread_cond_wait(cv, &r->mu);
    atomic_store(sleeps, false);
    pthread_mutex_unlock(&r->mu);
}

static void *worker_main(void *arg)
{
    ring *r = arg;
    uint64_t tail = 0;
    for (;;) {
        if (atomic_load(&r->head) == tail) {
            await(r, &r->head, tail, true, &r->worker_sleeps, &r->cv_work);
            /* the last head is stored before eof: seen eof, head is final */
            if (atomic_load(&r->head) == tail)
                break;
        }
        slot *s = &r->slots[tail % RING_SLOTS];
        if (gh_worker_process_batch(r->w, s->pkts, s->n, s->verdicts) != GH_OK)
            r->event_errors++;
        atomic_store(&r->done, ++tail);
        wake(r, &r->reader_sleeps, &r->cv_done);
    }
    /* every worker ends its flows at the run's last time, as one would */
    if (gh_worker_finish(r->w, r->last_ns) != GH_OK)
        r->event_errors++;
    return NULL;
}

/* Hand ring r's open slot to its worker (when it holds packets). */
static void publish(ring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h - r->taken == RING_SLOTS || !r->slots[h % RING_SLOTS].n)
        return;
    atomic_store(&r->head, h + 1);
    wake(r, &r->worker_sleeps, &r->cv_work);
}

static void publish_all(dispatch *d)
{
    for (unsigned i = 0; i < d->n; i++)
        publish(&d->rings[i]);
}

/* Take back finished packets in capture order, as far as they are done;
 * write each to the accepted or dropped capture. */
static void take_back(dispatch *d)
{
    while (d->taken_seq < d->seq) {
        ring *o = &d->rings[d->owner[d->taken_seq & d->owner_mask]];
        if (atomic_load_explicit(&o->done, memory_order_acquire) == o->taken)
            return;
        slot *s = &o->slots[o->taken % RING_SLOTS];
        gh_pcap_writer *out = s->verdicts[o->next] == GH_VERDICT_ACCEPT ? d->wacc : d->wdrop;
        gh_error err = {0};
        if (out && !d->write_failed &&
            gh_pcap_writer_write(out, &s->pkts[o->next], &err) != GH_OK) {
            fprintf(stderr, "gatehouse: %s\n", err.msg);
            d->write_failed = true;
        }
        d->taken_seq++;
        if (++o->next == s->n) {
            o->next = 0;
            s->n = 0;
            s->used = 0;
            o->taken++;
        }
    }
}

/* Take packets back until ring @p want (NULL: none) has a free slot and at
 * most @p inflight packets are out; waits on the worker holding the oldest. */
static void reclaim(dispatch *d, ring *want, uint64_t inflight)
{
    for (;;) {
        take_back(d);
        bool slot_free = !want || atomic_load_explicit(&want->head, memory_order_relaxed) -
                                          want->taken < RING_SLOTS;
        if (slot_free && d->seq - d->taken_seq <= inflight)
            return;
        /* the oldest packet must be in a handed-over slot before we wait */
        publish_all(d);
        ring *o = &d->rings[d->owner[d->taken_seq & d->owner_mask]];
        await(o, &o->done, o->taken, false, &o->reader_sleeps, &o->cv_done);
    }
}

/* Copy one packet into worker @p wi's open slot. */
static void dispatch_one(dispatch *d, unsigned wi, const gh_pkt_in *in)
{
    ring *r = &d->rings[wi];
    if (d->seq - d->taken_seq > d->owner_mask)
        reclaim(d, NULL, d->owner_mask);
    slot *s;
    for (;;) {
        uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        if (h - r->taken == RING_SLOTS) {
            reclaim(d, r, d->owner_mask + 1);
            continue;
        }
        s = &r->slots[h % RING_SLOTS];
        if (s->n < GH_MAX_BATCH && s->used + in->caplen <= SLOT_BYTES)
            break;
        publish(r);
    }
    gh_pkt_in *p = &s->pkts[s->n++];
    *p = *in;
    p->data = s->data + s->used;
    memcpy(s->data + s->used, in->data, in->caplen);
    s->used += in->caplen;
    d->owner[d->seq++ & d->owner_mask] = (uint8_t)wi;
    if (s->n == GH_MAX_BATCH)
        publish(r);
}

static int read_all(dispatch *d, gh_source *src, gh_progress *pg, gh_pcap_totals *tot)
{
    gh_pkt_in batch[GH_MAX_BATCH];
    gh_error err = {0};
    for (;;) {
        size_t n = 0;
        int rc = gh_source_read_batch(src, batch, GH_MAX_BATCH, &n, &err);
        if (rc == GH_E_EOF)
            return GH_EXIT_OK;
        if (rc != GH_OK) {
            fprintf(stderr, "gatehouse: %s\n", err.msg);
            return GH_EXIT_RUNTIME;
        }
        for (size_t i = 0; i < n; i++) {
            if (batch[i].caplen > SLOT_BYTES) {
                fprintf(stderr, "gatehouse: packet %llu: %u captured bytes, more than "
                                "--threads takes (%u)\n", (unsigned long long)batch[i].id,
                        batch[i].caplen, SLOT_BYTES);
                return GH_EXIT_RUNTIME;
            }
            uint32_t h = gh_flow_hash_frame(batch[i].linktype, batch[i].data, batch[i].caplen);
            dispatch_one(d, h % d->n, &batch[i]);
        }
        /* A worker's batch never mixes two reader batches: two packets it
         * sees in one batch were in one batch of a single-threaded run, so
         * the batch's flow lookups, made ahead of its verdicts, see the same
         * (a flow that times out and starts again within a batch). */
        publish_all(d);
        tot->last_sec = batch[n - 1].ts_sec;
        tot->last_nsec = batch[n - 1].ts_nsec;
        take_back(d);
        if (d->write_failed)
            return GH_EXIT_RUNTIME;
        gh_progress_tick(pg, d->seq);
    }
}

static void sum_totals(const dispatch *d, const gh_engine_config *cfg, uint64_t *fw_hits,
                       uint64_t *sig_hits, gh_pcap_totals *tot)
{
    for (unsigned i = 0; i < d->n; i++) {
        const gh_worker *w = d->rings[i].w;
        gh_counters_merge(&tot->counters, gh_worker_counters(w));
        tot->policy_hits += gh_worker_policy_hits(w);
        for (uint32_t k = 0; fw_hits && k < gh_fw_rule_count(cfg->fw); k++)
            fw_hits[k] += gh_worker_fw_hits(w)[k];
        for (uint32_t k = 0; sig_hits && k < gh_dpi_sig_count(cfg->dpi); k++)
            sig_hits[k] += gh_worker_sig_hits(w)[k];
        const gh_flow_stats *fs = gh_flow_table_stats(gh_worker_flows(w));
        tot->flows_created += fs->created;
        tot->flows_timed_out += fs->timed_out;
        tot->flows_evicted += fs->evicted;
        tot->flows_shutdown += fs->shutdown;
        tot->events_failed |= d->rings[i].event_errors != 0;
    }
}

int gh_pcap_run_threads(gh_source *src, const gh_engine_config *cfg, gh_eve *eve,
                        unsigned nthreads, gh_pcap_writer *wacc, gh_pcap_writer *wdrop,
                        gh_progress *pg, gh_pcap_totals *tot)
{
    memset(tot, 0, sizeof(*tot));
    dispatch d = {.n = nthreads, .wacc = wacc, .wdrop = wdrop};
    /* room for every packet the rings can hold, so slots, not this, bound them */
    uint64_t cap = 1;
    while (cap < (uint64_t)nthreads * RING_SLOTS * GH_MAX_BATCH)
        cap <<= 1;
    d.owner_mask = cap - 1;
    d.owner = malloc(cap);
    d.rings = calloc(nthreads, sizeof(*d.rings));
    /* owned by tot from here (gh_pcap_totals_free) */
    uint64_t *fw_hits = cfg->fw ? calloc(gh_fw_rule_count(cfg->fw) + 1, sizeof(uint64_t)) : NULL;
    uint64_t *sig_hits = cfg->dpi ? calloc(gh_dpi_sig_count(cfg->dpi) + 1, sizeof(uint64_t))
                                  : NULL;
    tot->fw_hits = fw_hits;
    tot->sig_hits = sig_hits;
    for (unsigned i = 0; d.rings && i < nthreads; i++) {
        pthread_mutex_init(&d.rings[i].mu, NULL);
        pthread_cond_init(&d.rings[i].cv_work, NULL);
        pthread_cond_init(&d.rings[i].cv_done, NULL);
    }
    int exit_code = GH_EXIT_OK;
    unsigned started = 0;
    double t0 = 0;
    if (!d.owner || !d.rings || (cfg->fw && !fw_hits) || (cfg->dpi && !sig_hits)) {
        fprintf(stderr, "gatehouse: out of memory\n");
        exit_code = GH_EXIT_RUNTIME;
        goto out;
    }
    for (unsigned i = 0; i < nthreads; i++) {
        ring *r = &d.rings[i];
        for (int k = 0; k < RING_SLOTS; k++) {
            if (!(r->slots[k].data = malloc(SLOT_BYTES))) {
                fprintf(stderr, "gatehouse: out of memory\n");
                exit_code = GH_EXIT_RUNTIME;
                goto out;
            }
        }
        gh_engine_config c = *cfg;
        c.flow.worker_id = (uint16_t)i;
        gh_error err = {0};
        if (!(r->w = gh_worker_new(&c, eve, &err))) {
            fprintf(stderr, "gatehouse: %s\n", err.msg);
            exit_code = GH_EXIT_RUNTIME;
            goto out;
        }
    }
    t0 = gh_cli_now(); /* as one worker's run: creating workers is not timed */
    for (; started < nthreads; started++) {
        if (pthread_create(&d.rings[started].th, NULL, worker_main, &d.rings[started]) != 0) {
            fprintf(stderr, "gatehouse: cannot start a thread\n");
            exit_code = GH_EXIT_RUNTIME;
            break;
        }
    }
    if (exit_code == GH_EXIT_OK)
        exit_code = read_all(&d, src, pg, tot);
    /* everything read is processed (and written, unless a write failed) */
    reclaim(&d, NULL, 0);
    if (d.write_failed)
        exit_code = GH_EXIT_RUNTIME;
    gh_progress_end(pg);
out:
    for (unsigned i = 0; i < started; i++) {
        ring *r = &d.rings[i];
        r->last_ns = (uint64_t)tot->last_sec * 1000000000u + tot->last_nsec;
        atomic_store(&r->eof, true);
        wake(r, &r->worker_sleeps, &r->cv_work);
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(d.rings[i].th, NULL);
    if (started)
        tot->elapsed = gh_cli_now() - t0;
    if (started) /* threads start once every worker exists */
        sum_totals(&d, cfg, fw_hits, sig_hits, tot);
    for (unsigned i = 0; d.rings && i < nthreads; i++) {
        ring *r = &d.rings[i];
        gh_worker_free(r->w);
        for (int k = 0; k < RING_SLOTS; k++)
            free(r->slots[k].data);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv_work);
        pthread_cond_destroy(&r->cv_done);
    }
    free(d.rings);
    free(d.owner);
    return exit_code;
}

void gh_pcap_totals_free(gh_pcap_totals *tot)
{
    free((void *)tot->fw_hits);
    free((void *)tot->sig_hits);
}
