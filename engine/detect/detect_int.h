/* Signature tier internals shared by the build side (rules/detect_build.c:
 * rules to signatures and Hyperscan databases) and the run side
 * (engine/detect/prefilter.c: which signatures are candidates for a packet,
 * stream window or transaction; engine/detect/inspect.c: the content engine
 * that verifies them over any buffer). Internal to libgatehouse. */
#ifndef GATEHOUSE_DETECT_INT_H
#define GATEHOUSE_DETECT_INT_H

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs.h>
#include <pcre2.h>

#include "gatehouse/buffer.h"
#include "gatehouse/dpi.h"
#include "gatehouse/tag.h"
#include "gatehouse/threshold.h"
#include "hdrmatch.h"
#include "detect/state.h"
#include "detect/stream_size.h"
#include "detect/transform.h"

/* Suricata's default pcre limits (suricata.yaml pcre.match-limit*). */
#define PCRE_MATCH_LIMIT 3500u
#define PCRE_DEPTH_LIMIT 1500u
/* Inspection steps per signature and buffer: Suricata's default
 * detect.inspection-recursion-limit (3000). */
#define VERIFY_BUDGET 3000u
/* Bytes a transformed buffer keeps (Suricata transforms whole buffers; ours
 * are at most a body limit long). */
#define XF_CAP (128u * 1024u)

/* packet kinds, and the rule protocols as sets of them */
enum { PK_TCP = 1, PK_UDP = 2, PK_ICMP4 = 4, PK_ICMP6 = 8, PK_OTHER = 16, PK_ALL = 31 };
enum { FAM_V4 = 1, FAM_V6 = 2 };
enum { CLS_TCP, CLS_UDP, CLS_ICMP, CLS_OTHER, CLS_N };
enum { DIR_TO_SERVER, DIR_TO_CLIENT, DIR_ANY, DIR_N };
enum { KW_CONTENT, KW_PCRE, KW_ISDATAAT, KW_BYTE_TEST, KW_BYTE_JUMP, KW_BYTE_EXTRACT,
       KW_BYTE_MATH, KW_BASE64 };
/* dpi_kw.buf of the keywords after base64_data while a rule is built; they
 * then move to dpi_sig.b64kw (Suricata's DETECT_SM_LIST_BASE64_DATA). */
#define DPI_BUF_B64 0xffu

/* byte_extract/byte_math variables: Suricata numbers them per buffer and
 * keyword (a uint8_t local_id), so a buffer has at most this many slots. */
#define DPI_VARS_MAX 256u
/* dpi_kw.vars and dpi_byte.vars: the field holds a variable slot */
enum {
    KV_OFFSET = 1,   /* content offset, byte_* offset */
    KV_DEPTH = 2,
    KV_DISTANCE = 4,
    KV_WITHIN = 8,
    KV_LEN = 16,     /* isdataat N */
    KV_NBYTES = 32,  /* byte_* nbytes */
    KV_VALUE = 64,   /* byte_test value, byte_math rvalue */
};
/* byte_test operators (Suricata's DETECT_BYTETEST_OP_*) and byte_math ones */
enum { BT_LT = 1, BT_GT, BT_EQ, BT_AND, BT_OR, BT_GE, BT_LE };
enum { BM_ADD = 1, BM_SUB, BM_DIV, BM_MUL, BM_SHL, BM_SHR };

/* A byte_test, byte_jump, byte_extract or byte_math keyword, as Suricata's
 * Detect{Bytetest,Bytejump,ByteExtract,ByteMath}Data. */
typedef struct dpi_byte {
    int32_t offset;     /* or a slot (KV_OFFSET) */
    int32_t nbytes;     /* or a slot (KV_NBYTES) */
    uint64_t value;     /* byte_test value, byte_math rvalue, or a slot (KV_VALUE) */
    uint32_t bitmask;
    uint8_t shift;      /* trailing zero bits of the bitmask */
    bool has_mask;
    uint8_t vars;       /* KV_* */
    uint8_t op;         /* BT_* or BM_* */
    uint8_t base;       /* string: strtoull's base (0: automatic) */
    bool string, little, neg_op;
    bool from_begin, from_end;
    uint8_t align;      /* byte_jump: 4 when align; byte_extract: 2 or 4; 0: none */
    uint16_t multiplier; /* byte_jump, byte_extract (1 when absent) */
    int32_t post_offset; /* byte_jump */
    uint8_t slot;       /* byte_extract, byte_math: the variable written */
    char *name;         /* byte_extract name, byte_math result (for errors and lookups) */
} dpi_byte;

static const unsigned cls_kinds[CLS_N] = {PK_TCP, PK_UDP, PK_ICMP4 | PK_ICMP6, PK_OTHER};

/* A pcre's JIT code, made on the expression's first match rather than at
 * load: ET Open has 4,500 expressions, a capture runs a few of them, and
 * JIT-compiling them all was a tenth of a warm load. The one mutable part
 * of a ruleset: the first worker to get @c busy compiles a copy and
 * publishes it in @c code; until then every worker interprets. */
typedef struct dpi_re_jit {
    _Atomic(pcre2_code *) code; /* NULL: not yet; the expression itself: no JIT here */
    atomic_flag busy;
} dpi_re_jit;

typedef struct dpi_kw {
    uint8_t type;       /* KW_* */
    bool negated;
    bool relative;      /* content: distance/within; pcre: R; isdataat, base64_decode:
                           relative */
    bool nocase;
    bool startswith, endswith;
    bool has_offset, has_depth, has_distance, has_within;
    bool retry;         /* a later keyword reads this one's match end */
    bool memo;          /* content: once every occurrence from a window start on has
                           failed, a later start fails too (vctx.memo_lo) */
    bool fast_pattern;
    bool fp_chop;
    bool last_ext;      /* no later keyword can extend a match's extent (stream mode) */
    bool anchored;      /* pcre: the A flag */
    uint8_t vars;       /* KV_*: offset/depth/distance/within/len hold a variable slot */
    uint8_t buf;        /* gh_buffer_id it inspects */
    int32_t distance;
    uint32_t within;
    uint32_t offset, depth; /* depth is absolute: offset + depth as written; base64_decode:
                               offset */
    uint32_t len;       /* content length, isdataat's N, base64_decode's bytes */
    uint16_t fp_off, fp_len;
    uint8_t *pat;       /* content bytes, lower-cased when nocase */
    pcre2_code *re;     /* interpreted; JIT-compiled into *re_jit on first use */
    struct dpi_re_jit *re_jit;
    dpi_byte *bk;       /* byte_* keywords */
    hs_database_t *re_hs; /* pcre: Hyperscan prefilter of the expression (no false
                             negatives), NULL when Hyperscan cannot take it; owned by
                             gh_dpi.dbs */
    const struct dpi_kw *sub; /* base64_decode: the keywords of base64_data (dpi_sig.b64kw) */
    uint32_t nsub;
    gh_rule_loc loc;    /* the keyword, for errors */
    uint32_t re_hs_req; /* build only: 1 + its prefilter's compile request, 0: none */
} dpi_kw;

/* The keywords of one buffer of a signature, with what Suricata applies to
 * the buffer first: transforms, then bsize/urilen. */
#define SEG_XF_MAX 8
/* A transformed transaction buffer a prefilter database scans: the buffer
 * and a chain of transforms without parameters (dotprefix, to_lowercase,
 * ...), which two signatures share when the kinds are equal. */
#define XBUF_MAX 16
typedef struct dpi_xbuf {
    uint8_t buf;
    uint8_t nxf;
    gh_xform xf[SEG_XF_MAX]; /* kinds only: nothing to free */
} dpi_xbuf;

typedef struct dpi_seg {
    uint8_t buf;        /* gh_buffer_id */
    uint8_t nxf;
    uint8_t nlen;
    bool has_ext;
    uint32_t first, n;  /* kw[first .. first + n) */
    gh_xform xf[SEG_XF_MAX];
    gh_uint_match len[2]; /* bsize, urilen: the buffer's length */
} dpi_seg;

/* A condition on an integer field of a transaction (gh_field_id). */
enum {
    FC_UINT,     /* um on the value (dns.opcode) */
    FC_TLSVER,   /* tls.version: value == ver, TLS 1.3 drafts as 1.3 unless raw */
    FC_SSLVER,   /* ssl_version: the version's bit (ssl_versions order) in flags */
    FC_SSLSTATE, /* ssl_state: ((flags & value) ^ mask) != 0, as Suricata */
    FC_BOUNCE,   /* ftpbounce: the PORT address is not the client's (first 32 bits) */
};
typedef struct dpi_fcond {
    uint8_t field;
    uint8_t kind;       /* FC_* */
    bool raw;           /* FC_TLSVER: compare the version as sent */
    gh_uint_match um;   /* FC_UINT */
    uint32_t ver;       /* FC_TLSVER */
    uint32_t flags, mask; /* FC_SSLSTATE; FC_SSLVER: versions listed (mask), not negated */
} dpi_fcond;

static inline bool gh_field_cond_eval(const dpi_fcond *fc, uint64_t v)
{
    switch (fc->kind) {
    case FC_UINT: return gh_uint_match_eval(&fc->um, v);
    case FC_TLSVER:
        if (!fc->raw && ((v >> 8) & 0xff) == 0x7f)
            v = 0x0304; /* a TLS 1.3 draft */
        return v == fc->ver;
    case FC_SSLVER: {
        static const uint16_t vers[] = {0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304};
        if (((v >> 8) & 0xff) == 0x7f)
            v = 0x0304;
        for (unsigned i = 0; i < 6; i++)
            if (v == vers[i])
                return (fc->flags >> i) & 1;
        return false;
    }
    case FC_SSLSTATE: return ((fc->flags & v) ^ fc->mask) != 0;
    default: return false;
    }
}

typedef struct dpi_sig {
    /* hot: read for every candidate, packed in the first cache lines (a
     * candidate touches these, the header match's first line and its
     * keywords, not the rest) */
    uint8_t kinds;      /* PK_* the protocol allows */
    uint8_t family;     /* FAM_* */
    bool bidir;
    bool any_ports;
    bool has_ext;       /* some keyword sets a match extent (positive content/pcre/isdataat) */
    bool ext_is_fp;     /* the only such keyword is the (unchopped) fast pattern content: on
                           a stream, only a new fast-pattern occurrence can be reported */
    /* info's type, no_stream, packet_scope and stream_scope, copied here */
    uint8_t type;
    bool no_stream, packet_scope, stream_scope;
    uint8_t alproto;        /* GH_ALPROTO_* the flow must have (rule protocol), 0: any */
    bool alproto_kw, alproto_neg; /* app-layer-protocol:[!]proto */
    uint8_t alproto_val;
    uint8_t nssize;
    uint8_t src_as, dst_as; /* ADDR_*: what src and dst are, so most need no search */
    uint16_t nvars;
    uint16_t fb_need;       /* 1 + a flowbit its flowbits:isset needs (one name), 0: none:
                               checked before the rest, without reading vars */
    uint32_t fp_len;        /* info.fast_pattern_len (the stream hits' windows) */
    dpi_kw *kw;
    size_t nkw;
    dpi_ssize *ssize;       /* stream_size options, all of which must hold */
    /* flowbits, flowint, xbits: tests checked with the other keywords,
     * changes applied when the signature matches; such signatures are
     * verified in rank order */
    dpi_var *vars;
    uint64_t ev_mask;       /* app-layer-event: the events (gh_app_tx.events bits), all
                               must be set */
    dpi_seg *segs;          /* every buffer's keywords, the payload's first (kw is sorted) */
    size_t nseg;
    dpi_fcond *fconds;      /* conditions on transaction fields */
    size_t nfcond;
    gh_addr_set src, dst;
    gh_port_set sp, dp;
    gh_hdr_match hm;
    /* cold */
    uint8_t dir;        /* DIR_* */
    int32_t fp_kw;      /* index of the fast pattern content, -1 when none */
    uint32_t ct_line, ct_col; /* the classtype option, for errors */
    gh_dpi_sig_info info;
    /* application layer */
    bool app;               /* inspected on transactions: some keyword reads an app buffer */
    uint8_t app_dirs;       /* GH_BUFDIR_* the transactions are inspected in */
    uint8_t ready[2];       /* per direction: stage at which its buffers are complete */
    uint8_t tx_fp_buf;      /* buffer of a fast pattern usable on transactions, 0: none */
    uint8_t tx_fp_x;        /* or its transformed buffer: index in gh_dpi.xbufs, 0: none */
    size_t nkw_all;         /* kw entries of every buffer (nkw: the payload's) */
    dpi_kw *b64kw;          /* the keywords after base64_data, inspected on the data
                               a base64_decode decoded (its dpi_kw.sub) */
    size_t nb64;
    uint8_t use[SV_N];      /* VAR_USE_* per kind of variable, 0: none */
    uint32_t rank;          /* position in Suricata's signature order (dpi_rank) */
    uint8_t ev_proto;       /* app-layer-event: the events' protocol (GH_ALPROTO_*) */
    /* thresholds (rules/threshold_build.c; run: engine/detect/threshold.c) */
    gh_threshold_spec th;
    uint32_t *sup_idx;      /* its suppressions with addresses, in gh_dpi.sups */
    size_t nsup;
    bool noalert;           /* a suppress without track: no alert, the action stays */
    /* tag keywords (rules/tag_build.c; run: engine/detect/tag.c) */
    gh_tag_spec tags[GH_TAG_PER_SIG];
    uint8_t ntags;
} dpi_sig;

/* dpi_sig.src_as, dst_as: the address set as the classes know it (the
 * home set of gh_dpi.home, its complement), or searched. */
enum { ADDR_LIST, ADDR_ANY, ADDR_HOME, ADDR_NOT_HOME };

/* A threshold file's suppress line with addresses. */
typedef struct dpi_suppress {
    uint8_t track;          /* GH_TRACK_SRC, _DST or _EITHER */
    gh_addr_set addrs;
} dpi_suppress;

/* An address as a 128-bit key in host order (IPv4: the top 32 bits). */
typedef struct dpi_akey {
    uint64_t hi, lo;
} dpi_akey;

/* Signatures indexed by one address of the packet: the elementary intervals
 * the endpoints of their address sets cut (interval i starts at pt[i]; pt[0]
 * is 0), each with the signatures whose set covers it, ids[off[i]] up to
 * ids[off[i + 1]], and what each needs of the packet's header fields (its
 * flags and ip_proto keywords), which add_nofp tests before their
 * candidacy. Built by rules/nofp_build.c. */
typedef struct dpi_nofp_need {
    uint8_t tcp_flags; /* flags bits its flags keyword needs set (0: none) */
    uint8_t proto;     /* the IP protocol its ip_proto keyword needs (IPv4; 0: any) */
    uint16_t sport;    /* the one source port of a one-way signature (0: any) */
    uint16_t dport;    /* the one destination port of a one-way signature (0: any) */
} dpi_nofp_need;

typedef struct dpi_aidx {
    dpi_akey *pt;
    uint32_t *off;
    uint32_t *ids;
    dpi_nofp_need *need; /* per ids[j] */
    uint32_t n;
} dpi_aidx;

/* The signatures of a group without a fast pattern, for one IP family: a
 * list checked on every buffer, and those that one of their address sets
 * makes selective, found by the packet's source (by[0]) or destination
 * (by[1]) address, so that a reputation list costs a lookup, not a check of
 * each of its signatures on every packet. */
typedef struct dpi_nofp {
    uint32_t *all;
    dpi_nofp_need *need; /* per all[i] */
    uint32_t n_all;
    dpi_aidx by[2];
} dpi_nofp;

typedef struct dpi_group {
    hs_database_t *db;  /* block or stream mode, see gh_dpi; owned by gh_dpi.dbs */
    dpi_nofp nofp[2];   /* without a fast pattern: IPv4 [0], IPv6 [1] */
    bool nofp_shared;   /* nofp is another group's (the same signatures): not freed here */
    size_t n_patterns;
    uint32_t max_len;   /* its longest pattern */
    bool all_matches;   /* block mode without HS_FLAG_SINGLEMATCH: every occurrence is
                           reported (the body buffers' databases, scanned by window) */
    bool pkt_hits;      /* a streaming database that holds packet-scope fast patterns
                           (PKT_HIT) */
} dpi_group;

/* The signatures a database holds (build_group). */
enum {
    SEL_ALL,        /* every signature of the class and direction */
    SEL_STREAM,     /* TCP stream scope: payload signatures that are neither
                       flow:no_stream nor packet-scope; the streaming database
                       also holds the packet-scope payload ones' fast patterns,
                       tagged PKT_HIT, so the scan of the new bytes finds their
                       candidates in the packet too */
    SEL_PACKET,     /* TCP packet scope, the complement: header-only,
                       flow:no_stream and packet-scope payload signatures */
    SEL_TX,         /* application-layer transactions (gsel.stage, gsel.buf) */
};

/* Port groups: for a packet of orientation o (0: to_server, 1: to_client),
 * the key port is the server's (dport when to_server, sport when to_client);
 * a signature can match only when the key port is in its constraint (dp when
 * o is 0, sp when 1, both for <> rules). The port space is cut into segments
 * of equal membership; the largest memberships get a group of their own
 * (with the signatures of every port), the rest share group 0. */
#define PG_MAX 8

/* Address classes: the packet's source and destination each in or out of
 * the ruleset's home set (the address set its signatures name most, e.g.
 * $HOME_NET; $EXTERNAL_NET is its complement): class 2 * (src in home) +
 * (dst in home). Every database group exists per class, holding only the
 * signatures whose addresses can match a packet of that class, so traffic
 * inside the home network is not scanned for the patterns of signatures
 * from or to the outside, and the reverse. One class when no set is named
 * often enough to pay (rules/detect_build.c, addr_classes). */
#define AC_MAX 4

typedef struct port_map {
    uint32_t n;        /* segments; 0: one group for every port */
    uint16_t *lo;      /* segment starts, ascending, lo[0] == 0 */
    uint8_t *grp;      /* each segment's group */
    unsigned ngroups;  /* groups in use (>= 1) */
} port_map;

/* The database groups of one address class. */
typedef struct dpi_groupset {
    /* block mode, per class, packet orientation (the signatures requiring
     * that direction or none) and port group: packets (gh_dpi_match_packet)
     * and windows of streams without incremental state (gh_dpi_match_stream) */
    dpi_group groups[CLS_N][2][PG_MAX];
    /* TCP, streaming mode, SEL_STREAM, per orientation and port group
     * (gh_dpi_match_stream_inc) */
    dpi_group sgroups[2][PG_MAX];
    /* TCP, block mode, SEL_PACKET: the once-per-packet part of a
     * stream-inspected TCP packet (GH_DPI_PACKET_TCP_SIDE) */
    dpi_group pgroups[2][PG_MAX];
    /* transactions: per direction, stage a signature is ready at, and fast
     * pattern buffer (block mode; index 0: the signatures without one).
     * A buffer complete before the body (not a body) has its signatures of
     * every stage in one group at stage GH_STAGE_NONE, scanned once per
     * transaction; bodies and index 0 have one per stage. */
    dpi_group txg[2][GH_STAGE_DONE + 1][GH_BUF_N];
    /* transactions, fast patterns in a transformed buffer: gh_dpi.xbufs'
     * groups as txg's (index 0 unused) */
    dpi_group txx[2][GH_STAGE_DONE + 1][XBUF_MAX];
    /* the txg and txx groups with a database, a bit per buffer (per xbuf):
     * the transaction calls visit those, not every group of the stage */
    uint64_t txg_dbs[2][GH_STAGE_DONE + 1];
    uint64_t txx_dbs[2][GH_STAGE_DONE + 1];
} dpi_groupset;

struct gh_dpi {
    dpi_sig *sigs;
    size_t n;
    uint64_t serial;   /* 1, 2, ... per ruleset built in the process: what state kept
                          across a reload (a transaction's waiting signatures) is of */
    struct gh_arena *mem;    /* the signatures' keyword and segment arrays, messages */
    struct gh_strpool *strs; /* the strings of the signatures' info shared by many
                                (file, protocol, classtype, category, type_why) */
    unsigned max_pg;   /* port groups per class and orientation (option) */
    unsigned pg_min_diff; /* build only: gh_dpi_options.port_group_min_diff */
    /* the database groups per address class (gs[0] only when nac is 1) */
    dpi_groupset gs[AC_MAX];
    unsigned nac;      /* address classes in use: 1 or AC_MAX */
    bool ac_opt;       /* build only: gh_dpi_options.addr_classes */
    bool body_block;   /* scan every body window whole, as a block (the reference the
                          tests compare the body tracks with) */
    gh_addr_set home;  /* the home set the classes are cut by (nac AC_MAX) */
    /* transformed transaction buffers with their own prefilter (Suricata's):
     * the distinct buffer and chain pairs (index 0 unused) */
    dpi_xbuf xbufs[XBUF_MAX];
    unsigned nxbufs;
    port_map pmap[CLS_N][2];
    /* the distinct Hyperscan databases, groups' and pcre prefilters': identical
     * ones are built once and shared, so they are freed from here only */
    hs_database_t **dbs;
    size_t ndbs;
    size_t db_bytes;
    size_t mem_bytes;
    size_t n_no_stream; /* signatures with flow:no_stream */
    size_t n_app;       /* signatures inspected on transactions */
    size_t n_vars;      /* signatures with flowbits, flowint or xbits */
    bool flowvars;      /* some use flowbits or flowint (flows need a place for them) */
    bool xbits;         /* some use xbits */
    gh_action_order order; /* precedence of the actions in a match list */
    dpi_suppress *sups;     /* shared by the signatures a suppress line names */
    size_t nsups;
    bool has_thresholds;    /* some signature has a threshold or suppression */
    bool has_tags;          /* some signature has a tag keyword */
    uint32_t b64_max;       /* the largest base64_decode bytes of the ruleset, 0: none; the
                               size of the decode buffer, as Suricata's
                               base64_decode_max_len */
};

struct gh_dpi_scratch {
    const gh_dpi *d;
    hs_scratch_t *hs;
    uint32_t *mark;     /* mark[sig] == gen: already a candidate for this buffer */
    uint32_t gen;
    uint32_t *cand;
    size_t ncand;
    uint32_t *hits;
    uint32_t *fbc;      /* candidates with variables, verified last in rank order */
    size_t nfbc;
    gh_state_stats state; /* what the variables could not keep */
    uint32_t *pidx;     /* stream calls: pending index of a marked signature */
    /* packet-scope hits of the stream calls since gh_dpi_stream_packet_begin */
    uint32_t *pmark, pgen;
    uint32_t *pcand;
    size_t npcand;
    bool pfed;          /* every stream call since then scanned its new bytes */
    uint8_t *xa, *xb;   /* transform outputs (XF_CAP bytes each; with transaction signatures) */
    uint8_t *b64;       /* base64_decode's output (gh_dpi.b64_max bytes) */
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    uint64_t vars[DPI_VARS_MAX]; /* byte_extract/byte_math values of the chain verified */
    gh_dpi_scratch_stats stats;
};

/* Fast-pattern hits one stream direction keeps: the signature, and the stream
 * offset just past its latest fast-pattern occurrence. */
#define STREAM_PENDING 32

typedef struct dpi_pend {
    uint32_t sig;
    uint64_t end;
} dpi_pend;

struct gh_dpi_stream {
    const gh_dpi *d;        /* the ruleset the streams were opened on */
    uint64_t serial;        /* ... its gh_dpi.serial (a reload may reuse the pointer) */
    hs_stream_t *hs[2][PG_MAX]; /* per sgroups orientation and port group: opened at
                                   first use, then reset */
    uint8_t hs_ac[2][PG_MAX]; /* the address class of the database hs[o][pg] is on */
    int o, pg, ac;          /* the database in use, -1: none */
    bool live;              /* hs[o][pg] holds this flow's state (else reset before use) */
    uint64_t base;          /* stream offset of Hyperscan's offset 0 */
    uint64_t next;          /* stream offset of the next byte to feed */
    uint64_t block_until;   /* pending overflowed: windows starting before this
                               offset take their candidates from a block scan */
    uint32_t n;
    dpi_pend pend[STREAM_PENDING];
};

/* Hyperscan ids of a streaming database: the signature index, with this bit
 * for packet-scope signatures (candidates for the packet, not the stream). */
#define PKT_HIT 0x80000000u
#define N_GROUPS                                                                             \
    (AC_MAX * (CLS_N * 2 * PG_MAX + 4 * PG_MAX + 2 * (GH_STAGE_DONE + 1) * (GH_BUF_N + XBUF_MAX)))

/* Whether address @p a of a packet of IP version @p ver is in @p s. */
static inline bool gh_detect_addr_in(const gh_addr_set *s, uint8_t ver, const gh_addr *a);

/* Packet @p p's address class (gh_dpi.gs). */
static inline unsigned gh_detect_addr_class(const gh_dpi *d, const gh_packet *p)
{
    if (d->nac == 1)
        return 0;
    return 2u * gh_detect_addr_in(&d->home, p->ip_ver, &p->src) +
           gh_detect_addr_in(&d->home, p->ip_ver, &p->dst);
}

static inline bool gh_detect_addr_in(const gh_addr_set *s, uint8_t ver, const gh_addr *a)
{
    if (ver == 4) {
        uint32_t v = ((uint32_t)a->b[0] << 24) | ((uint32_t)a->b[1] << 16) |
                     ((uint32_t)a->b[2] << 8) | a->b[3];
        size_t lo = 0, hi = s->n_v4;
        while (lo < hi) { /* first range with hi >= v */
            size_t mid = lo + (hi - lo) / 2;
            if (s->v4[mid].hi < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < s->n_v4 && s->v4[lo].lo <= v;
    }
    size_t lo = 0, hi = s->n_v6;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(s->v6[mid].hi, a->b, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_v6 && memcmp(s->v6[lo].lo, a->b, 16) <= 0;
}

static inline int lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c; /* ASCII only, as Hyperscan's caseless */
}


#define VCTX_MEMO 16

typedef struct vctx {
    const dpi_kw *kw;   /* the keywords of this buffer */
    size_t nkw;
    bool has_ext;       /* some keyword sets a match extent (stream windows) */
    const uint8_t *buf;
    uint32_t len;
    gh_dpi_scratch *s;
    uint32_t budget;
    bool bail;
    bool stop;          /* Suricata's discontinue_matching after a failed base64_decode:
                           no keyword retries another occurrence */
    /* stream windows (false/0 for a packet buffer) */
    bool stream;
    int64_t base;       /* stream offset of buf[0] */
    int64_t dbase;      /* absolute depths count from here: base on a stream; the start
                           of an HTTP body window, where Suricata rebases only depth */
    int64_t new_from;   /* a reported match's extent must exceed this index */
    /* pcre keywords (index < 64) without R: the subject is the whole buffer,
     * so the Hyperscan prefilter's answer holds for the whole verification */
    uint64_t re_scanned, re_none;
    /* memo keywords (index < VCTX_MEMO): every occurrence at or after
     * memo_lo[i] was tried and failed, with the keywords after it */
    uint16_t memo_set;
    uint32_t memo_lo[VCTX_MEMO];
} vctx;

/* Every database group of @p d (at most N_GROUPS). */
size_t gh_detect_all_groups(const gh_dpi *d, dpi_group **out);

/* Verify keywords v->kw[i..v->nkw) of a signature over v->buf: Suricata's
 * content inspection (rule order, relative windows, retries). */
bool gh_detect_inspect(size_t i, uint32_t prev_end, int64_t ext, vctx *v);

#endif
