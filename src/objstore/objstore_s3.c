/*
 * objstore_s3.c — the S3-compatible backend over libcurl (docs/internals/objstore.md).
 *
 * Signing: libcurl's CURLOPT_AWS_SIGV4 ("aws:amz:<region>:s3") computes the SigV4
 * Authorization header from the request it sends. libcurl 7.88 (Debian 12) needs help:
 *   - it uses the query string exactly as given as the canonical query, so we build every
 *     query already canonical: names and values RFC 3986-encoded, pairs sorted, and a
 *     bare parameter written "uploads=" (canonical form), never "uploads";
 *   - it does not hash a body it reads through a callback, so we send
 *     x-amz-content-sha256 with the SHA-256 of the payload ourselves (libcurl then signs
 *     with that value), and x-amz-security-token for temporary credentials;
 *   - the path is signed as sent, so keys are percent-encoded once, '/' kept.
 * tests/unit/test_objstore_s3.c checks the Authorization header of real requests against
 * a SigV4 computed independently in the test.
 *
 * Transfers: a single PUT below multipart_threshold; above it CreateMultipartUpload
 * (POST ?uploads=), UploadPart (PUT ?partNumber=N&uploadId=…), CompleteMultipartUpload
 * (POST ?uploadId=… with the part list), and AbortMultipartUpload (DELETE ?uploadId=…)
 * when anything fails. Bodies are read from the file with pread (no copy in memory).
 * GET writes to a temporary file next to the destination, fsyncs and renames it.
 *
 * Retries: every request is retried up to max_retries times with exponential backoff
 * and full jitter in [d/2, d] on connection errors, timeouts, 5xx, 429 and 400
 * RequestTimeout; other 4xx are final. A 200 whose body is an <Error> (S3 does this for
 * CompleteMultipartUpload) is treated as a 500.
 */
#include "objstore/objstore_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "objstore/s3xml.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX (16u << 20) /* largest response body kept in memory (list pages: ~1 MiB) */
#define MAX_PARTS 10000      /* S3's limit on parts of one upload */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
    objstore_t base;
    struct objstore_s3_options o; /* strings owned (copies, env applied) */
    char *base_url;               /* bucket root without trailing '/' */
    char *key_prefix;             /* "" or ending in '/' */
    char *token_hdr;              /* "x-amz-security-token: …" or NULL */
    char sigv4[160];              /* "aws:amz:<region>:s3" */
    CURL *curl;
    int anonymous;
};

/* ---- encoding and hashing (exposed for tests) -------------------------------------------- */

int objstore_s3_uri_encode(buf_t *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = out->len;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            rc = buf_append_byte(out, c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = buf_append(out, e, 3);
        }
    }
    if (rc)
        out->len = start;
    return rc;
}

struct qpair {
    buf_t n, v;
};

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    size_t m = x->n.len < y->n.len ? x->n.len : y->n.len;
    int c = m ? memcmp(x->n.data, y->n.data, m) : 0;
    if (c || x->n.len != y->n.len)
        return c ? c : (x->n.len < y->n.len ? -1 : 1);
    m = x->v.len < y->v.len ? x->v.len : y->v.len;
    c = m ? memcmp(x->v.data, y->v.data, m) : 0;
    if (c || x->v.len != y->v.len)
        return c ? c : (x->v.len < y->v.len ? -1 : 1);
    return 0;
}

int objstore_s3_canonical_query(buf_t *out, const char *const *names, const char *const *values,
                                size_t n)
{
    int rc = 0;
    size_t start = out->len;
    struct qpair *p = n ? orasi_calloc(n, sizeof(*p)) : NULL;
    if (n && !p)
        return ORASI_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        buf_init(&p[i].n, 3 * OBJSTORE_MAX_KEY + 64);
        buf_init(&p[i].v, 3 * OBJSTORE_MAX_KEY + 64);
        const char *v = values && values[i] ? values[i] : "";
        if (!names[i]) {
            rc = ORASI_EINVAL;
            break;
        }
        rc = objstore_s3_uri_encode(&p[i].n, names[i], strlen(names[i]), 0);
        if (!rc)
            rc = objstore_s3_uri_encode(&p[i].v, v, strlen(v), 0);
    }
    if (rc)
        goto out;
    qsort(p, n, sizeof(*p), qpair_cmp);
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_append_byte(out, '&');
        if (!rc)
            rc = buf_append(out, p[i].n.data ? p[i].n.data : (const uint8_t *)"", p[i].n.len);
        if (!rc)
            rc = buf_append_byte(out, '=');
        if (!rc && p[i].v.len)
            rc = buf_append(out, p[i].v.data, p[i].v.len);
    }
out:
    for (size_t i = 0; i < n; i++) {
        buf_free(&p[i].n);
        buf_free(&p[i].v);
    }
    orasi_free(p);
    if (rc)
        out->len = start;
    return rc;
}

int objstore_s3_sha256_hex(int fd, const void *mem, uint64_t off, uint64_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    enum { CHUNK = 1 << 20 };
    uint8_t md[32];
    unsigned mdlen = 0;
    uint8_t *buf = NULL;
    int rc = ORASI_EINTERNAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return ORASI_ENOMEM;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    if (fd < 0) {
        if (len && EVP_DigestUpdate(ctx, (const uint8_t *)mem + off, (size_t)len) != 1)
            goto out;
    } else {
        buf = orasi_malloc(CHUNK);
        if (!buf) {
            rc = ORASI_ENOMEM;
            goto out;
        }
        for (uint64_t done = 0; done < len;) {
            size_t want = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
            ssize_t got = pread(fd, buf, want, (off_t)(off + done));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                rc = got < 0 ? orasi_err_from_errno(errno) : ORASI_EIO; /* file shrank */
                goto out;
            }
            if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1)
                goto out;
            done += (uint64_t)got;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = 0;
    rc = 0;
out:
    orasi_free(buf);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* ---- one request, with retries ------------------------------------------------------------ */

struct req {
    const char *method; /* GET PUT POST DELETE HEAD */
    const char *key;    /* full key (prefix included), or NULL for the bucket */
    const char *const *qn;
    const char *const *qv;
    size_t nq;
    /* body: a file region (fd >= 0) or memory */
    int body_fd;
    uint64_t body_off, body_len;
    const char *body_mem;
    const char *content_type;
    /* response: 2xx bodies go to out_fd when >= 0 (truncated before each attempt), else
     * to resp; error bodies always to resp */
    int out_fd;
    buf_t *resp;
    /* filled in */
    long status;
    char etag[80];
    int64_t mtime_ns;
    int64_t length;
    /* internal state of one attempt */
    uint64_t rpos;
    int werr; /* local write error of out_fd */
    int rerr; /* local read error of body_fd */
    buf_t errbody;
};

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
    struct req *r = ud;
    size_t want = size * nmemb;
    uint64_t left = r->body_len - r->rpos;
    if (want > left)
        want = (size_t)left;
    if (!want)
        return 0;
    if (r->body_fd < 0) {
        memcpy(dst, r->body_mem + r->rpos, want);
    } else {
        ssize_t got;
        do
            got = pread(r->body_fd, dst, want, (off_t)(r->body_off + r->rpos));
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            r->rerr = got < 0 ? orasi_err_from_errno(errno) : ORASI_EIO;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)got;
    }
    r->rpos += want;
    return want;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    struct req *r = ud;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    r->rpos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

struct wctx {
    struct req *r;
    CURL *curl;
};

static size_t on_write(char *src, size_t size, size_t nmemb, void *ud)
{
    struct wctx *w = ud;
    struct req *r = w->r;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
        if (r->out_fd >= 0) {
            for (size_t off = 0; off < n;) {
                ssize_t wr = write(r->out_fd, src + off, n - off);
                if (wr < 0 && errno == EINTR)
                    continue;
                if (wr < 0) {
                    r->werr = orasi_err_from_errno(errno);
                    return 0;
                }
                off += (size_t)wr;
            }
            return n;
        }
        if (r->resp && buf_append(r->resp, src, n) != 0) {
            r->werr = ORASI_ETOOBIG;
            return 0;
        }
        return n;
    }
    /* an error body: keep the start of it for the message */
    size_t room = r->errbody.max - r->errbody.len;
    buf_append(&r->errbody, src, n < room ? n : room);
    return n;
}

static size_t on_header(char *src, size_t size, size_t nmemb, void *ud)
{
    struct req *r = ud;
    size_t n = size * nmemb;
    if (n > 5 && strncasecmp(src, "etag:", 5) == 0)
        objstore_etag_copy(r->etag, src + 5, n - 5);
    return n;
}

static uint64_t rand64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (uint64_t)clock() * 0x9e3779b97f4a7c15ull;
    return v;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    return objstore_cancelled(ud) ? 1 : 0; /* non-zero aborts the transfer */
}

/* Sleep the backoff of retry `attempt` in slices, returning early when cancelled. */
static void backoff_sleep(struct s3 *s, int attempt)
{
    uint64_t d = s->o.retry_base ? s->o.retry_base : 200000000ull;
    for (int i = 0; i < attempt && d < s->o.retry_max; i++)
        d *= 2;
    if (s->o.retry_max && d > s->o.retry_max)
        d = s->o.retry_max;
    d = d / 2 + rand64() % (d / 2 + 1);
    while (d && !objstore_cancelled(&s->base)) {
        uint64_t step = d < 20000000ull ? d : 20000000ull;
        struct timespec ts = {0, (long)step};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        d -= step;
    }
}

static int curl_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

/* The URL of a key (or of the bucket) with a canonical query. */
static int build_url(const struct s3 *s, const struct req *r, buf_t *url)
{
    int rc = buf_append_str(url, s->base_url);
    if (!rc && r->key) {
        rc = buf_append_byte(url, '/');
        if (!rc)
            rc = objstore_s3_uri_encode(url, r->key, strlen(r->key), 1);
    } else if (!rc && s->o.path_style == 0) {
        rc = buf_append_byte(url, '/'); /* virtual-hosted bucket root is "/" */
    }
    if (!rc && r->nq) {
        rc = buf_append_byte(url, '?');
        if (!rc)
            rc = objstore_s3_canonical_query(url, r->qn, r->qv, r->nq);
    }
    if (!rc)
        rc = buf_append_byte(url, 0);
    return rc;
}

/*
 * Perform r with retries. 0 on a 2xx; otherwise a code as objstore.h describes and a
 * message "METHOD key: HTTP 403 AccessDenied: Access Denied" in err.
 */
static int s3_do(struct s3 *s, struct req *r, char *err, size_t errlen)
{
    char sha[65], hdr[600], cerr[CURL_ERROR_SIZE];
    struct curl_slist *hl = NULL, *t;
    buf_t url;
    int rc = 0;
    const char *what = r->key ? r->key + strlen(s->key_prefix) : "(bucket)";
    buf_init(&url, 8 * OBJSTORE_MAX_KEY + 4096);
    buf_init(&r->errbody, 8192);

    if ((rc = build_url(s, r, &url)))
        goto out;
    if (r->body_len || r->body_mem)
        rc = objstore_s3_sha256_hex(r->body_fd, r->body_mem, r->body_off, r->body_len, sha);
    else
        memcpy(sha, EMPTY_SHA256, sizeof(EMPTY_SHA256));
    if (rc) {
        snprintf(err, errlen, "%s %s: hashing the body: %s", r->method, what, orasi_strerror(rc));
        goto out;
    }
    snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", sha);
    hl = curl_slist_append(hl, hdr);
    if (hl && s->token_hdr) {
        t = curl_slist_append(hl, s->token_hdr);
        hl = t ? t : (curl_slist_free_all(hl), NULL);
    }
    if (hl && r->content_type) {
        /* Never send "Name:" to remove a header curl adds (Content-Type of a POST,
         * Expect): libcurl 7.88 lists such a header as signed but does not send it, and
         * the signature cannot verify. Headers curl adds itself are not signed. */
        snprintf(hdr, sizeof(hdr), "Content-Type: %s", r->content_type);
        t = curl_slist_append(hl, hdr);
        hl = t ? t : (curl_slist_free_all(hl), NULL);
    }
    if (!hl) {
        rc = ORASI_ENOMEM;
        goto out;
    }

    int max = (int)(s->o.max_retries < 0 ? 0 : s->o.max_retries);
    for (int attempt = 0;; attempt++) {
        CURL *c = s->curl;
        struct wctx w = {r, c};
        int retry = 0;
        r->status = 0;
        r->etag[0] = 0;
        r->rpos = 0;
        r->werr = r->rerr = 0;
        r->errbody.len = 0;
        if (r->resp)
            buf_clear(r->resp);
        if (r->out_fd >= 0 && (ftruncate(r->out_fd, 0) != 0 || lseek(r->out_fd, 0, SEEK_SET) < 0)) {
            rc = orasi_err_from_errno(errno);
            snprintf(err, errlen, "%s %s: truncating the download: %s", r->method, what,
                     strerror(errno));
            goto out;
        }
        cerr[0] = 0;
        curl_easy_reset(c); /* keeps the connection cache */
        curl_easy_setopt(c, CURLOPT_URL, (const char *)url.data);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(s->o.timeout / 1000000ull));
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->o.connect_timeout / 1000000ull));
        curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s->base);
        if (!s->anonymous) {
            curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
            curl_easy_setopt(c, CURLOPT_USERNAME, s->o.access_key_id);
            curl_easy_setopt(c, CURLOPT_PASSWORD, s->o.secret_access_key);
        }
        if (strcmp(r->method, "PUT") == 0) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, r);
            curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
        } else if (strcmp(r->method, "POST") == 0) {
            /* POSTFIELDS: libcurl 7.88 hashes these bytes itself when signing; our
             * x-amz-content-sha256 holds the same value */
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body_mem ? r->body_mem : "");
        } else if (strcmp(r->method, "HEAD") == 0) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (strcmp(r->method, "DELETE") == 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
        }
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        if (cc != CURLE_OK) {
            if (r->werr || r->rerr) {
                rc = r->werr ? r->werr : r->rerr;
                snprintf(err, errlen, "%s %s: local %s error: %s", r->method, what,
                         r->werr ? "write" : "read", orasi_strerror(rc));
                goto out;
            }
            if (cc == CURLE_ABORTED_BY_CALLBACK && objstore_cancelled(&s->base)) {
                rc = ORASI_ECLOSED;
                snprintf(err, errlen, "%s %s: cancelled", r->method, what);
                goto out;
            }
            rc = cc == CURLE_OPERATION_TIMEDOUT ? ORASI_ETIMEOUT : ORASI_EUNAVAILABLE;
            snprintf(err, errlen, "%s %s: %s%s%s", r->method, what, curl_easy_strerror(cc),
                     cerr[0] ? ": " : "", cerr);
            retry = curl_retryable(cc);
            if (!retry)
                rc = ORASI_EIO;
        } else {
            char xmsg[400] = "";
            int has_err = s3xml_error(buf_slice(&r->errbody), xmsg, sizeof(xmsg));
            if (r->status >= 200 && r->status < 300 && r->resp && r->out_fd < 0 &&
                s3xml_error(buf_slice(r->resp), xmsg, sizeof(xmsg)))
                r->status = 500, has_err = 1; /* "200 OK" carrying an <Error> */
            if (r->status >= 200 && r->status < 300) {
                curl_off_t ft = -1, cl = -1;
                curl_easy_getinfo(c, CURLINFO_FILETIME_T, &ft);
                curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
                r->mtime_ns = ft > 0 ? (int64_t)ft * 1000000000 : 0;
                r->length = cl;
                rc = 0;
                break;
            }
            retry = r->status >= 500 || r->status == 429 ||
                    (r->status == 400 && strncmp(xmsg, "RequestTimeout", 14) == 0);
            rc = r->status == 404 ? ORASI_ENOTFOUND : retry ? ORASI_EUNAVAILABLE : ORASI_EINVAL;
            snprintf(err, errlen, "%s %s: HTTP %ld%s%s", r->method, what, r->status,
                     has_err ? " " : "", xmsg);
        }
        if (!retry || attempt >= max)
            break;
        if (objstore_cancelled(&s->base)) {
            rc = ORASI_ECLOSED;
            break;
        }
        LOG_D("objstore", "retry %d/%d: %s", attempt + 1, max, err);
        backoff_sleep(s, attempt);
    }
out:
    curl_slist_free_all(hl);
    buf_free(&url);
    buf_free(&r->errbody);
    return rc;
}

static void req_init(struct req *r, const char *method, const char *key)
{
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->key = key;
    r->body_fd = -1;
    r->out_fd = -1;
}

/* prefix + key into a new string. */
static char *full_key(const struct s3 *s, const char *key)
{
    size_t a = strlen(s->key_prefix), b = strlen(key);
    char *k = orasi_malloc(a + b + 1);
    if (k) {
        memcpy(k, s->key_prefix, a);
        memcpy(k + a, key, b + 1);
    }
    return k;
}

/* ---- operations --------------------------------------------------------------------------- */

static int put_multipart(struct s3 *s, const char *fk, int fd, uint64_t size, char *err,
                         size_t errlen)
{
    struct req r;
    buf_t resp, id, body;
    char(*etags)[80] = NULL;
    int rc, started = 0;
    uint64_t part = s->o.part_size ? s->o.part_size : 8ull << 20;
    while ((size + part - 1) / part > MAX_PARTS)
        part *= 2;
    size_t nparts = (size_t)((size + part - 1) / part);
    buf_init(&resp, RESP_MAX);
    buf_init(&id, 4096);
    buf_init(&body, (size_t)nparts * 160 + 256);

    /* CreateMultipartUpload */
    static const char *const up_n[] = {"uploads"};
    req_init(&r, "POST", fk);
    r.qn = up_n;
    r.nq = 1;
    r.resp = &resp;
    r.content_type = "application/octet-stream"; /* else curl sends a form type */
    if ((rc = s3_do(s, &r, err, errlen)))
        goto out;
    slice_t v;
    if (!s3xml_find(buf_slice(&resp), "UploadId", &v) || !v.len || s3xml_unescape(v, &id) ||
        buf_append_byte(&id, 0)) {
        rc = ORASI_EPARSE;
        snprintf(err, errlen, "POST %s?uploads: no UploadId in the answer", fk);
        goto out;
    }
    started = 1;
    etags = orasi_calloc(nparts, sizeof(*etags));
    if (!etags) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    /* UploadPart, in order */
    for (size_t i = 0; i < nparts; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", i + 1);
        const char *qn[] = {"partNumber", "uploadId"};
        const char *qv[] = {num, (const char *)id.data};
        req_init(&r, "PUT", fk);
        r.qn = qn;
        r.qv = qv;
        r.nq = 2;
        r.body_fd = fd;
        r.body_off = (uint64_t)i * part;
        r.body_len = size - r.body_off < part ? size - r.body_off : part;
        r.resp = &resp;
        if ((rc = s3_do(s, &r, err, errlen)))
            goto out;
        if (!r.etag[0]) {
            rc = ORASI_EPARSE;
            snprintf(err, errlen, "PUT %s part %zu: no ETag in the answer", fk, i + 1);
            goto out;
        }
        memcpy(etags[i], r.etag, sizeof(etags[i]));
    }
    /* CompleteMultipartUpload */
    rc = buf_append_str(&body, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < nparts && !rc; i++)
        rc = buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
                        i + 1, etags[i]);
    if (!rc)
        rc = buf_append_str(&body, "</CompleteMultipartUpload>");
    if (!rc)
        rc = buf_append_byte(&body, 0);
    if (rc)
        goto out;
    {
        const char *qn[] = {"uploadId"};
        const char *qv[] = {(const char *)id.data};
        req_init(&r, "POST", fk);
        r.qn = qn;
        r.qv = qv;
        r.nq = 1;
        r.body_mem = (const char *)body.data;
        r.body_len = body.len - 1;
        r.content_type = "application/xml";
        r.resp = &resp;
        rc = s3_do(s, &r, err, errlen);
    }
out:
    if (rc && started) {
        /* AbortMultipartUpload so the parts do not linger (and cost) in the bucket */
        char aerr[256];
        const char *qn[] = {"uploadId"};
        const char *qv[] = {(const char *)id.data};
        req_init(&r, "DELETE", fk);
        r.qn = qn;
        r.qv = qv;
        r.nq = 1;
        if (s3_do(s, &r, aerr, sizeof(aerr)))
            LOG_W("objstore", "abort of multipart upload failed: %s", aerr);
    }
    orasi_free(etags);
    buf_free(&resp);
    buf_free(&id);
    buf_free(&body);
    return rc;
}

static int s3_put(objstore_t *os, const char *key, const char *path, char *err, size_t errlen)
{
    struct s3 *s = (struct s3 *)os;
    struct stat sb;
    struct req r;
    buf_t resp;
    int rc = 0;
    char *fk = full_key(s, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    buf_init(&resp, RESP_MAX);
    if (!fk) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int e = errno;
        rc = e == ENOENT ? ORASI_ENOTFOUND : orasi_err_from_errno(e);
        snprintf(err, errlen, "open %s: %s", path, strerror(e));
        goto out;
    }
    if ((uint64_t)sb.st_size >= s->o.multipart_threshold && sb.st_size > 0) {
        rc = put_multipart(s, fk, fd, (uint64_t)sb.st_size, err, errlen);
        goto out;
    }
    req_init(&r, "PUT", fk);
    r.body_fd = fd;
    r.body_len = (uint64_t)sb.st_size;
    r.resp = &resp;
    r.content_type = "application/octet-stream";
    rc = s3_do(s, &r, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    buf_free(&resp);
    orasi_free(fk);
    return rc;
}

static int s3_get(objstore_t *os, const char *key, const char *path, char *err, size_t errlen)
{
    struct s3 *s = (struct s3 *)os;
    struct req r;
    char tmp[PATH_MAX], dir[PATH_MAX];
    int rc = 0, fd = -1;
    char *fk = full_key(s, key);
    const char *slash = strrchr(path, '/');
    if (!fk)
        return ORASI_ENOMEM;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp-%08" PRIx32, path, (uint32_t)rand64());
    int dn = slash ? snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path)
                   : snprintf(dir, sizeof(dir), ".");
    if (n < 0 || (size_t)n >= sizeof(tmp) || dn < 0 || (size_t)dn >= sizeof(dir)) {
        rc = ORASI_ETOOBIG;
        goto out;
    }
    if (!dir[0])
        dir[0] = '/', dir[1] = 0;
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
        tmp[0] = 0;
        goto out;
    }
    req_init(&r, "GET", fk);
    r.out_fd = fd;
    if ((rc = s3_do(s, &r, err, errlen)))
        goto out;
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
        goto out;
    }
    tmp[0] = 0;
    int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc && tmp[0])
        unlink(tmp);
    orasi_free(fk);
    return rc;
}

static int s3_del(objstore_t *os, const char *key, char *err, size_t errlen)
{
    struct s3 *s = (struct s3 *)os;
    struct req r;
    char *fk = full_key(s, key);
    if (!fk)
        return ORASI_ENOMEM;
    req_init(&r, "DELETE", fk);
    int rc = s3_do(s, &r, err, errlen);
    if (rc == ORASI_ENOTFOUND) /* S3 answers 204 anyway; some clones say 404 */
        rc = 0, err[0] = 0;
    orasi_free(fk);
    return rc;
}

static int s3_head(objstore_t *os, const char *key, objstore_obj_t *info, char *err, size_t errlen)
{
    struct s3 *s = (struct s3 *)os;
    struct req r;
    char *fk = full_key(s, key);
    if (!fk)
        return ORASI_ENOMEM;
    req_init(&r, "HEAD", fk);
    int rc = s3_do(s, &r, err, errlen);
    if (!rc) {
        info->size = r.length > 0 ? (uint64_t)r.length : 0;
        info->mtime_ns = r.mtime_ns;
        memcpy(info->etag, r.etag, sizeof(info->etag));
    }
    orasi_free(fk);
    return rc;
}

static int s3_list(objstore_t *os, const char *prefix, objstore_list_t *out, size_t *cap, char *err,
                   size_t errlen)
{
    struct s3 *s = (struct s3 *)os;
    struct req r;
    buf_t resp, token, tok2;
    int rc = 0, truncated = 1;
    char *fp = full_key(s, prefix);
    buf_init(&resp, RESP_MAX);
    buf_init(&token, 4096);
    buf_init(&tok2, 4096);
    if (!fp) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    /* the page count is bounded by OBJSTORE_MAX_LIST through objstore_list_push */
    while (truncated) {
        const char *qn[] = {"list-type", "prefix", "continuation-token"};
        const char *qv[] = {"2", fp, NULL};
        size_t nq = 2;
        if (token.len) {
            if ((rc = buf_append_byte(&token, 0)))
                goto out;
            qv[2] = (const char *)token.data;
            nq = 3;
        }
        req_init(&r, "GET", NULL);
        r.qn = qn;
        r.qv = qv;
        r.nq = nq;
        r.resp = &resp;
        if ((rc = s3_do(s, &r, err, errlen)))
            goto out;
        buf_clear(&tok2);
        rc = s3xml_parse_list(buf_slice(&resp), s->key_prefix, out, cap, &truncated, &tok2);
        if (rc) {
            snprintf(err, errlen, "ListObjectsV2 %s: unreadable answer: %s", prefix,
                     orasi_strerror(rc));
            goto out;
        }
        if (truncated && !tok2.len) {
            rc = ORASI_EPARSE;
            snprintf(err, errlen, "ListObjectsV2 %s: truncated without a continuation token",
                     prefix);
            goto out;
        }
        buf_clear(&token);
        if ((rc = buf_append(&token, tok2.data, tok2.len)))
            goto out;
    }
out:
    buf_free(&resp);
    buf_free(&token);
    buf_free(&tok2);
    orasi_free(fp);
    return rc;
}

static void s3_destroy(objstore_t *os)
{
    struct s3 *s = (struct s3 *)os;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    config_free_struct(objstore_s3_config_options, &s->o);
    orasi_free(s->base_url);
    orasi_free(s->key_prefix);
    orasi_free(s->token_hdr);
    orasi_free(s);
    curl_global_cleanup();
}

static const struct objstore_ops s3_ops = {
    .kind = "s3",
    .put_file = s3_put,
    .get_file = s3_get,
    .del = s3_del,
    .list = s3_list,
    .head = s3_head,
    .destroy = s3_destroy,
};

/* Copy a string option, or the first set environment variable, or a default. */
static int pick(char **dst, const char *cfg, const char *env1, const char *env2, const char *def)
{
    const char *v = cfg && cfg[0] ? cfg : NULL;
    if (!v && env1 && getenv(env1) && getenv(env1)[0])
        v = getenv(env1);
    if (!v && env2 && getenv(env2) && getenv(env2)[0])
        v = getenv(env2);
    if (!v)
        v = def;
    *dst = NULL;
    if (!v)
        return 0;
    *dst = orasi_strdup(v);
    return *dst ? 0 : ORASI_ENOMEM;
}

static int valid_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' ||
              b[i] == '.' || (b[i] >= 'A' && b[i] <= 'Z') || b[i] == '_'))
            return 0;
    return 1;
}

int objstore_s3_open(const struct objstore_s3_options *o, objstore_t **out, char *err,
                     size_t errlen)
{
    int rc = ORASI_ENOMEM;
    buf_t b;
    struct s3 *s = NULL;
    buf_init(&b, 8192);
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "objstore: libcurl initialisation failed");
        return ORASI_EINTERNAL;
    }
    s = orasi_calloc(1, sizeof(*s));
    if (!s)
        goto fail;
    s->o = *o;
    /* the strings are ours from here on: copy (with the environment's defaults) */
    s->o.endpoint = s->o.region = s->o.bucket = s->o.prefix = NULL;
    s->o.access_key_id = s->o.secret_access_key = s->o.session_token = NULL;
    if (pick(&s->o.region, o->region, "AWS_REGION", "AWS_DEFAULT_REGION", "us-east-1") ||
        pick(&s->o.bucket, o->bucket, NULL, NULL, NULL) ||
        pick(&s->o.prefix, o->prefix, NULL, NULL, "") ||
        pick(&s->o.access_key_id, o->access_key_id, "AWS_ACCESS_KEY_ID", NULL, NULL) ||
        pick(&s->o.secret_access_key, o->secret_access_key, "AWS_SECRET_ACCESS_KEY", NULL, NULL) ||
        pick(&s->o.session_token, o->session_token, "AWS_SESSION_TOKEN", NULL, NULL))
        goto fail;
    if (!o->endpoint || !o->endpoint[0]) {
        if (buf_printf(&b, "https://s3.%s.amazonaws.com", s->o.region) || buf_append_byte(&b, 0))
            goto fail;
    }
    if (pick(&s->o.endpoint, o->endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL",
             (const char *)b.data))
        goto fail;
    buf_clear(&b);
    rc = ORASI_ECONFIG;
    if (!s->o.bucket || !valid_bucket(s->o.bucket)) {
        snprintf(err, errlen, "objstore: s3.bucket %s%s%s", s->o.bucket ? "\"" : "",
                 s->o.bucket ? s->o.bucket : "is required",
                 s->o.bucket ? "\" is not a valid bucket name" : "");
        goto fail;
    }
    if (!!s->o.access_key_id != !!s->o.secret_access_key) {
        snprintf(err, errlen,
                 "objstore: s3 needs both access_key_id and secret_access_key (or "
                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or neither (anonymous)");
        goto fail;
    }
    s->anonymous = !s->o.access_key_id;
    if (s->o.session_token && s->o.session_token[0]) {
        /* STS tokens run to a few KiB; a line break would inject a header */
        size_t tl = strlen(s->o.session_token);
        if (tl > 16384 || strpbrk(s->o.session_token, "\r\n")) {
            snprintf(err, errlen, "objstore: s3.session_token is too long or holds a line break");
            goto fail;
        }
        rc = ORASI_ENOMEM;
        if (!(s->token_hdr = orasi_malloc(tl + 24)))
            goto fail;
        snprintf(s->token_hdr, tl + 24, "x-amz-security-token: %s", s->o.session_token);
        rc = ORASI_ECONFIG;
    }
    for (const char *p = s->o.region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            snprintf(err, errlen, "objstore: s3.region \"%s\" is not a region name", s->o.region);
            goto fail;
        }
    if (strlen(s->o.region) > 64) {
        snprintf(err, errlen, "objstore: s3.region is too long");
        goto fail;
    }
    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->o.region);
    if (s->o.part_size < (5ull << 20) || s->o.multipart_threshold < s->o.part_size / 2) {
        snprintf(err, errlen, "objstore: s3.part_size must be at least 5MiB");
        goto fail;
    }
    /* base URL: path style "scheme://host[:port][/path]/bucket", virtual-hosted
     * "scheme://bucket.host[:port][/path]" */
    const char *e = s->o.endpoint;
    const char *sep = strstr(e, "://");
    size_t schemelen = sep ? (size_t)(sep - e) + 3 : 0;
    size_t elen = strlen(e);
    while (elen > schemelen && e[elen - 1] == '/')
        elen--;
    if (elen <= schemelen) {
        snprintf(err, errlen, "objstore: s3.endpoint \"%s\" has no host", e);
        goto fail;
    }
    rc = ORASI_ENOMEM;
    if (!sep && buf_append_str(&b, "https://"))
        goto fail;
    if (s->o.path_style) {
        if (buf_append(&b, e, elen) || buf_append_byte(&b, '/') ||
            objstore_s3_uri_encode(&b, s->o.bucket, strlen(s->o.bucket), 0))
            goto fail;
    } else if (buf_append(&b, e, schemelen) || buf_append_str(&b, s->o.bucket) ||
               buf_append_byte(&b, '.') || buf_append(&b, e + schemelen, elen - schemelen)) {
        goto fail;
    }
    if (buf_append_byte(&b, 0) || !(s->base_url = orasi_strdup((const char *)b.data)))
        goto fail;
    /* prefix: strip slashes at both ends, then end it with one */
    const char *p = s->o.prefix;
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    if (pl > 512) {
        rc = ORASI_ECONFIG;
        snprintf(err, errlen, "objstore: s3.prefix is longer than 512 bytes");
        goto fail;
    }
    s->key_prefix = orasi_malloc(pl + 2);
    if (!s->key_prefix)
        goto fail;
    memcpy(s->key_prefix, p, pl);
    if (pl)
        s->key_prefix[pl++] = '/';
    s->key_prefix[pl] = 0;
    if (!(s->curl = curl_easy_init())) {
        rc = ORASI_EINTERNAL;
        snprintf(err, errlen, "objstore: curl_easy_init failed");
        goto fail;
    }
    objstore_base_init(&s->base, &s3_ops);
    buf_free(&b);
    *out = &s->base;
    return 0;
fail:
    if (rc == ORASI_ENOMEM)
        snprintf(err, errlen, "objstore: out of memory");
    buf_free(&b);
    if (s) {
        s->base.ops = &s3_ops;
        s3_destroy(&s->base); /* also balances curl_global_init */
    } else {
        curl_global_cleanup();
    }
    return rc;
}
