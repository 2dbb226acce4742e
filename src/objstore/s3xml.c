/* s3xml.c — slices out of S3's XML responses (see s3xml.h). */
#include "objstore/s3xml.h"

#include "core/err.h"
#include "objstore/objstore_int.h"

#include <string.h>
#include <time.h>

/* Index of needle in hay[from..), or -1. */
static long find_at(slice_t hay, size_t from, const char *needle, size_t nlen)
{
    if (nlen == 0 || hay.len < nlen)
        return -1;
    for (size_t i = from; i + nlen <= hay.len; i++) {
        const void *p = memchr(hay.p + i, needle[0], hay.len - nlen + 1 - i);
        if (!p)
            return -1;
        i = (size_t)((const uint8_t *)p - hay.p);
        if (memcmp(hay.p + i, needle, nlen) == 0)
            return (long)i;
    }
    return -1;
}

static int name_end(uint8_t c)
{
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int s3xml_next(slice_t doc, size_t *pos, const char *name, slice_t *content)
{
    size_t nl = strlen(name);
    size_t i = *pos;
    while (i < doc.len) {
        long lt = find_at(doc, i, "<", 1);
        if (lt < 0)
            return 0;
        size_t s = (size_t)lt + 1;
        if (s + nl >= doc.len) /* need at least one byte after the name */
            return 0;
        if (memcmp(doc.p + s, name, nl) != 0 || !name_end(doc.p[s + nl])) {
            i = s;
            continue;
        }
        /* end of the start tag */
        long gt = find_at(doc, s + nl, ">", 1);
        if (gt < 0)
            return 0;
        if (doc.p[gt - 1] == '/') { /* <name/> */
            *content = slice_make(doc.p + gt + 1, 0);
            *pos = (size_t)gt + 1;
            return 1;
        }
        size_t cs = (size_t)gt + 1;
        /* the end tag: "</name" then optional blanks then '>' */
        for (size_t j = cs;;) {
            long et = find_at(doc, j, "</", 2);
            if (et < 0)
                return 0;
            size_t k = (size_t)et + 2;
            if (k + nl <= doc.len && memcmp(doc.p + k, name, nl) == 0) {
                size_t m = k + nl;
                while (m < doc.len && (doc.p[m] == ' ' || doc.p[m] == '\t' || doc.p[m] == '\r' ||
                                       doc.p[m] == '\n'))
                    m++;
                if (m < doc.len && doc.p[m] == '>') {
                    *content = slice_make(doc.p + cs, (size_t)et - cs);
                    *pos = m + 1;
                    return 1;
                }
            }
            j = k;
        }
    }
    return 0;
}

int s3xml_find(slice_t doc, const char *name, slice_t *content)
{
    size_t pos = 0;
    return s3xml_next(doc, &pos, name, content);
}

static int put_utf8(buf_t *out, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return ORASI_EPARSE;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(out, b, n);
}

int s3xml_unescape(slice_t in, buf_t *out)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    size_t start = out->len;
    int rc = 0;
    for (size_t i = 0; i < in.len && !rc;) {
        const uint8_t *amp = memchr(in.p + i, '&', in.len - i);
        size_t run = amp ? (size_t)(amp - in.p) - i : in.len - i;
        if (run && (rc = buf_append(out, in.p + i, run)))
            break;
        i += run;
        if (i >= in.len)
            break;
        const uint8_t *semi = memchr(in.p + i, ';', in.len - i < 12 ? in.len - i : 12);
        if (!semi) {
            rc = ORASI_EPARSE;
            break;
        }
        const char *e = (const char *)in.p + i + 1;
        size_t elen = (size_t)(semi - in.p) - i - 1;
        if (elen >= 2 && e[0] == '#') {
            uint32_t cp = 0;
            int hex = e[1] == 'x' || e[1] == 'X';
            size_t k = hex ? 2 : 1;
            if (k >= elen)
                rc = ORASI_EPARSE;
            for (; k < elen && !rc; k++) {
                char c = e[k];
                uint32_t d;
                if (c >= '0' && c <= '9')
                    d = (uint32_t)(c - '0');
                else if (hex && c >= 'a' && c <= 'f')
                    d = (uint32_t)(c - 'a' + 10);
                else if (hex && c >= 'A' && c <= 'F')
                    d = (uint32_t)(c - 'A' + 10);
                else {
                    rc = ORASI_EPARSE;
                    break;
                }
                cp = cp * (hex ? 16u : 10u) + d;
                if (cp > 0x10ffff)
                    rc = ORASI_EPARSE;
            }
            if (!rc)
                rc = put_utf8(out, cp);
        } else {
            size_t j = 0;
            for (; j < sizeof(ents) / sizeof(ents[0]); j++)
                if (strlen(ents[j].name) == elen && memcmp(ents[j].name, e, elen) == 0)
                    break;
            if (j == sizeof(ents) / sizeof(ents[0]))
                rc = ORASI_EPARSE;
            else
                rc = buf_append_byte(out, (uint8_t)ents[j].c);
        }
        i = (size_t)(semi - in.p) + 1;
    }
    if (rc)
        out->len = start; /* leave the buffer as it was */
    return rc;
}

static int digits(const uint8_t *p, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return ORASI_EPARSE;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return 0;
}

int s3xml_parse_time(slice_t s, int64_t *ns)
{
    /* YYYY-MM-DDTHH:MM:SS[.fff…]Z */
    int y, mo, d, h, mi, se;
    const uint8_t *p = s.p;
    if (s.len < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' ||
        p[s.len - 1] != 'Z')
        return ORASI_EPARSE;
    if (digits(p, 4, &y) || digits(p + 5, 2, &mo) || digits(p + 8, 2, &d) ||
        digits(p + 11, 2, &h) || digits(p + 14, 2, &mi) || digits(p + 17, 2, &se))
        return ORASI_EPARSE;
    /* ns since the epoch fit an int64 until April 2262 */
    if (y < 1970 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 60)
        return ORASI_EPARSE;
    int64_t frac = 0, scale = 1000000000;
    size_t i = 19;
    if (i < s.len - 1) {
        if (p[i] != '.')
            return ORASI_EPARSE;
        for (i++; i < s.len - 1; i++) {
            if (p[i] < '0' || p[i] > '9')
                return ORASI_EPARSE;
            if (scale > 1) {
                scale /= 10;
                frac += (p[i] - '0') * scale;
            }
        }
    }
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return ORASI_EPARSE;
    *ns = (int64_t)t * 1000000000 + frac;
    return 0;
}

static int parse_u64(slice_t s, uint64_t *v)
{
    uint64_t x = 0;
    if (s.len == 0 || s.len > 19)
        return ORASI_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return ORASI_EPARSE;
        x = x * 10 + (uint64_t)(s.p[i] - '0');
    }
    *v = x;
    return 0;
}

int s3xml_parse_list(slice_t body, const char *strip, objstore_list_t *out, size_t *cap,
                     int *truncated, buf_t *next_token)
{
    slice_t c, v;
    size_t pos = 0, sl = strip ? strlen(strip) : 0;
    int rc = 0;
    buf_t key;
    buf_init(&key, 4 * OBJSTORE_MAX_KEY);
    *truncated = s3xml_find(body, "IsTruncated", &v) && slice_eq_cstr(v, "true");
    if (s3xml_find(body, "NextContinuationToken", &v) && (rc = s3xml_unescape(v, next_token)))
        goto out;
    while (s3xml_next(body, &pos, "Contents", &c)) {
        slice_t k, sz, et = {0}, lm;
        uint64_t size = 0;
        int64_t mtime = 0;
        buf_clear(&key);
        if (!s3xml_find(c, "Key", &k) || !s3xml_find(c, "Size", &sz) || parse_u64(sz, &size) ||
            (rc = s3xml_unescape(k, &key)) != 0) {
            rc = rc == ORASI_ETOOBIG ? rc : ORASI_EPARSE;
            goto out;
        }
        if (key.len < sl || (sl && memcmp(key.data, strip, sl) != 0) || key.len == sl)
            continue; /* not ours (should not happen with prefix= in the request) */
        s3xml_find(c, "ETag", &et);
        if (s3xml_find(c, "LastModified", &lm) && s3xml_parse_time(lm, &mtime))
            mtime = 0;
        /* ETags come entity-escaped ("&quot;abc&quot;"); unescape into a small buffer */
        char etag[80] = "";
        buf_t eb;
        buf_init(&eb, 79);
        if (et.len && s3xml_unescape(et, &eb) == 0)
            objstore_etag_copy(etag, (const char *)eb.data, eb.len);
        buf_free(&eb);
        rc = objstore_list_push(out, cap, (const char *)key.data + sl, key.len - sl, size, mtime,
                                etag, strlen(etag));
        if (rc)
            goto out;
    }
out:
    buf_free(&key);
    return rc;
}

int s3xml_error(slice_t body, char *out, size_t outlen)
{
    slice_t e, code = {0}, msg = {0};
    if (!outlen)
        return 0;
    out[0] = 0;
    if (!s3xml_find(body, "Error", &e))
        return 0;
    s3xml_find(e, "Code", &code);
    s3xml_find(e, "Message", &msg);
    buf_t b;
    buf_init(&b, outlen - 1);
    if (s3xml_unescape(code, &b) != 0)
        buf_append(&b, code.p, code.len < outlen - 1 ? code.len : outlen - 1);
    if (msg.len) {
        buf_append_str(&b, ": ");
        if (s3xml_unescape(msg, &b) != 0) {
            size_t room = outlen - 1 - b.len;
            buf_append(&b, msg.p, msg.len < room ? msg.len : room);
        }
    }
    if (b.len)
        memcpy(out, b.data, b.len);
    out[b.len] = 0;
    buf_free(&b);
    return 1;
}
