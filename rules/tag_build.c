/* The tag keyword, build side: Suricata 7's DetectTagParse (detect-tag.c). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "gatehouse/tag.h"
#include "detect/detect_int.h"

static const char *skip_ws(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/* The word @p w at @p s, not followed by a letter of a longer word (the
 * regular expression wants spaces, ',' or the end next). */
static const char *word(const char *s, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(s, w, n) != 0)
        return NULL;
    const char *e = skip_ws(s + n);
    return *e == ',' || *e == '\0' ? e : NULL;
}

bool gh_tag_parse_keyword(const char *value, gh_tag_spec *out, char *msg, size_t msz)
{
    /* ^\s*(host|session)\s*(,\s*(\d+)\s*,\s*(packets|bytes|seconds)\s*(,\s*(src|dst))?\s*)?$ */
    gh_tag_spec t = {.count = GH_TAG_MAX_PKTS, .metric = GH_TAG_PACKETS, .dir = GH_TAG_DST};
    const char *s = skip_ws(value), *e;
    if ((e = word(s, "session")))
        t.type = GH_TAG_SESSION;
    else if ((e = word(s, "host")))
        t.type = GH_TAG_HOST;
    else
        goto bad;
    if (*e == ',') {
        s = skip_ws(e + 1);
        if (!isdigit((unsigned char)*s))
            goto bad;
        unsigned long long c = 0;
        bool big = false;
        for (; isdigit((unsigned char)*s); s++) {
            if (!big)
                c = c * 10 + (unsigned)(*s - '0');
            big |= c > UINT32_MAX;
        }
        s = skip_ws(s);
        if (*s != ',')
            goto bad;
        s = skip_ws(s + 1);
        if ((e = word(s, "packets")))
            t.metric = GH_TAG_PACKETS;
        else if ((e = word(s, "seconds")))
            t.metric = GH_TAG_SECONDS;
        else if ((e = word(s, "bytes")))
            t.metric = GH_TAG_BYTES;
        else
            goto bad;
        if (*e == ',') {
            s = skip_ws(e + 1);
            /* Suricata only warns about a direction on a session tag */
            if ((e = word(s, "src")))
                t.dir = GH_TAG_SRC;
            else if ((e = word(s, "dst")))
                t.dir = GH_TAG_DST;
            else
                goto bad;
            if (*e)
                goto bad;
        }
        if (big) {
            snprintf(msg, msz, "Invalid argument for count. Must be a value in the range of 0 "
                               "to %u (%s)", UINT32_MAX, value);
            return false;
        }
        t.count = (uint32_t)c;
        if (t.metric == GH_TAG_PACKETS && t.count > GH_TAG_MAX_PKTS)
            t.count = GH_TAG_MAX_PKTS;
    }
    *out = t;
    return true;
bad:
    snprintf(msg, msz, "bad tag value '%s' (expected session|host[,count,packets|seconds|bytes"
                       "[,src|dst]])", value);
    return false;
}

const gh_tag_spec *gh_dpi_sig_tags(const gh_dpi *d, uint32_t idx, size_t *n)
{
    if (!d || idx >= d->n || !d->sigs[idx].ntags) {
        *n = 0;
        return NULL;
    }
    *n = d->sigs[idx].ntags;
    return d->sigs[idx].tags;
}
