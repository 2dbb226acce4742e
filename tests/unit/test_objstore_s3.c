/*
 * test_objstore_s3.c — the S3 backend's requests on the wire, against a small S3 stand-in
 * on a loopback port that VERIFIES every request's SigV4 signature with its own,
 * independent implementation (itself checked against the examples of the AWS S3
 * documentation), checks x-amz-content-sha256 against the bytes that arrived, records
 * the requests and answers from a script. It shows: the signing inputs we compute
 * ourselves (canonical query, payload hash) are what S3 computes; multipart requests
 * and their order; retries on 5xx/429/RequestTimeout/connection loss and none on other
 * 4xx; S3 error codes in messages; aborts of failed multipart uploads; timeouts.
 * (s3rver does not check SigV4, so this is where signatures are tested.)
 */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "objstore/objstore.h"
#include "objstore/s3xml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "test_objstore_util.h"

#define AK "AKIDEXAMPLETEST"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCY/secret=="

/* ---- an independent SigV4 ------------------------------------------------------------ */

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t md[32];
    unsigned len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    hex(md, 32, out);
}

static void hmac(const uint8_t *key, size_t klen, const char *msg, uint8_t out[32])
{
    unsigned len = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const uint8_t *)msg, strlen(msg), out, &len);
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Percent-decode then encode again as SigV4 wants (into out, NUL-terminated). */
static void reencode(const char *s, size_t n, int keep_slash, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        unsigned v;
        if (c == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
            c = v;
            i += 2;
        }
        assert_true(o + 4 < outlen);
        if (unreserved((unsigned char)c) || (keep_slash && c == '/'))
            out[o++] = (char)c;
        else
            o += (size_t)sprintf(out + o, "%%%02X", c);
    }
    out[o] = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical query from a raw query: decode, encode, sort (names and values never
 * contain '=' or '&' after encoding, so sorting "name=value" strings sorts by name
 * then value). */
static void canon_query(const char *raw, char *out, size_t outlen)
{
    char *parts[64];
    size_t n = 0;
    out[0] = 0;
    if (!raw || !raw[0])
        return;
    const char *p = raw;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char name[1024], value[4096];
        reencode(p, eq ? (size_t)(eq - p) : len, 0, name, sizeof(name));
        if (eq)
            reencode(eq + 1, len - (size_t)(eq - p) - 1, 0, value, sizeof(value));
        else
            value[0] = 0;
        assert_true(n < 64);
        parts[n] = malloc(strlen(name) + strlen(value) + 2);
        sprintf(parts[n++], "%s=%s", name, value);
        p += len;
        if (*p == '&')
            p++;
    }
    qsort(parts, n, sizeof(parts[0]), cmp_str);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "&" : "", parts[i]);
        free(parts[i]);
    }
}

struct hdr {
    char name[64];
    char value[4096];
};

/* Signature of a request as S3 computes it. */
static void sigv4(const char *method, const char *path, const char *query, const struct hdr *h,
                  size_t nh, const char *signed_headers, const char *payload_hash,
                  const char *amzdate, const char *region, const char *secret, char out[65])
{
    static char creq[65536];
    char uri[4096], q[8192], sh[512], chash[65], sts[1024];
    size_t o = 0;
    reencode(path, strlen(path), 1, uri, sizeof(uri));
    canon_query(query, q, sizeof(q));
    o += (size_t)snprintf(creq + o, sizeof(creq) - o, "%s\n%s\n%s\n", method, uri, q);
    snprintf(sh, sizeof(sh), "%s", signed_headers);
    for (char *save = NULL, *name = strtok_r(sh, ";", &save); name;
         name = strtok_r(NULL, ";", &save)) {
        char val[4096] = "";
        int found = 0;
        for (size_t i = 0; i < nh; i++) {
            if (strcasecmp(h[i].name, name) != 0)
                continue;
            /* trim, collapse runs of spaces; repeated headers joined with ',' */
            const char *v = h[i].value;
            while (*v == ' ')
                v++;
            size_t vl = strlen(val);
            if (found)
                val[vl++] = ',';
            for (; *v; v++) {
                if (*v == ' ' && (v[1] == ' ' || v[1] == 0))
                    continue;
                val[vl++] = *v;
            }
            val[vl] = 0;
            found = 1;
        }
        if (!found) {
            out[0] = 0; /* a signed header that was not sent can never verify */
            return;
        }
        o += (size_t)snprintf(creq + o, sizeof(creq) - o, "%s:%s\n", name, val);
    }
    o += (size_t)snprintf(creq + o, sizeof(creq) - o, "\n%s\n%s", signed_headers, payload_hash);
    sha256_hex(creq, o, chash);
    char date[9];
    memcpy(date, amzdate, 8);
    date[8] = 0;
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amzdate, date,
             region, chash);
    uint8_t k[32], k2[32];
    char ksecret[256];
    snprintf(ksecret, sizeof(ksecret), "AWS4%s", secret);
    hmac((const uint8_t *)ksecret, strlen(ksecret), date, k);
    hmac(k, 32, region, k2);
    hmac(k2, 32, "s3", k);
    hmac(k, 32, "aws4_request", k2);
    hmac(k2, 32, sts, k);
    hex(k, 32, out);
}

/* The verifier reproduces the examples of the S3 SigV4 documentation ("Signature
 * Calculations for the Authorization Header: Transferring Payload in a Single Chunk"). */
static void test_verifier_aws_examples(void **state)
{
    (void)state;
    const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    char sig[65];
    /* GET Object */
    struct hdr g[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                      {"Range", "bytes=0-9"},
                      {"x-amz-content-sha256",
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                      {"x-amz-date", "20130524T000000Z"}};
    sigv4("GET", "/test.txt", "", g, 4, "host;range;x-amz-content-sha256;x-amz-date",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "20130524T000000Z",
          "us-east-1", secret, sig);
    assert_string_equal(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    /* GET Bucket (List Objects), a query to sort */
    struct hdr l[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                      {"x-amz-content-sha256",
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                      {"x-amz-date", "20130524T000000Z"}};
    sigv4("GET", "/", "prefix=J&max-keys=2", l, 3, "host;x-amz-content-sha256;x-amz-date",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "20130524T000000Z",
          "us-east-1", secret, sig);
    assert_string_equal(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    /* GET Bucket lifecycle: a bare parameter canonicalises to "lifecycle=" */
    sigv4("GET", "/", "lifecycle", l, 3, "host;x-amz-content-sha256;x-amz-date",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "20130524T000000Z",
          "us-east-1", secret, sig);
    assert_string_equal(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    /* PUT Object with a payload and an encoded key */
    char ph[65];
    sha256_hex("Welcome to Amazon S3.", 21, ph);
    assert_string_equal(ph, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    struct hdr p[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                      {"x-amz-date", "20130524T000000Z"},
                      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                      {"x-amz-content-sha256", ""}};
    snprintf(p[4].value, sizeof(p[4].value), "%s", ph);
    sigv4("PUT", "/test%24file.text", "", p, 5,
          "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", ph, "20130524T000000Z",
          "us-east-1", secret, sig);
    assert_string_equal(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* ---- the stand-in server ------------------------------------------------------------------ */

enum { ACT_ANSWER = 0, ACT_CLOSE, ACT_HANG };

struct resp {
    int act;
    int status;
    char headers[256]; /* extra header lines, each ending in \r\n */
    char body[2048];
};

struct rec {
    char method[8];
    char path[4096];
    char query[4096];
    char content_type[128];
    char token[2048];
    size_t body_len;
    int sig_ok; /* Authorization verified */
    int sha_ok; /* x-amz-content-sha256 == SHA-256 of the body received */
    char *body; /* first 64 KiB, NUL-terminated (malloc) */
};

#define MAX_REC 128
struct fake {
    int lfd, port;
    pthread_t th;
    pthread_mutex_t mu;
    int stop;
    struct resp script[32];
    size_t nscript, next;
    struct rec rec[MAX_REC];
    size_t nrec;
    char get_body[2048]; /* default answer body of a GET (when not scripted) */
};

static ssize_t read_some(int fd, char *p, size_t n, int ms)
{
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, ms) <= 0)
        return -1;
    return recv(fd, p, n, 0);
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static const char *hget(const struct hdr *h, size_t nh, const char *name)
{
    for (size_t i = 0; i < nh; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* Serve one connection until the client closes it. Returns when done. */
static void serve_conn(struct fake *f, int cfd)
{
    static char head[65536];
    size_t hl = 0;
    for (;;) {
        /* request head */
        char *end = NULL;
        while (!(end = hl ? memmem(head, hl, "\r\n\r\n", 4) : NULL)) {
            if (hl == sizeof(head))
                return;
            ssize_t r = read_some(cfd, head + hl, sizeof(head) - hl, 5000);
            if (r <= 0)
                return;
            hl += (size_t)r;
        }
        size_t headlen = (size_t)(end - head) + 4;
        struct rec rc;
        memset(&rc, 0, sizeof(rc));
        struct hdr h[48];
        size_t nh = 0;
        char target[4096];
        char *line_end = memmem(head, headlen, "\r\n", 2);
        *line_end = 0;
        assert_int_equal(sscanf(head, "%7s %4095s", rc.method, target), 2);
        char *q = strchr(target, '?');
        if (q) {
            *q = 0;
            snprintf(rc.query, sizeof(rc.query), "%s", q + 1);
        }
        snprintf(rc.path, sizeof(rc.path), "%s", target);
        for (char *l = line_end + 2; l < head + headlen - 2 && nh < 48;) {
            char *e = memmem(l, (size_t)(head + headlen - l), "\r\n", 2);
            *e = 0;
            char *colon = strchr(l, ':');
            if (colon) {
                *colon = 0;
                snprintf(h[nh].name, sizeof(h[nh].name), "%s", l);
                const char *v = colon + 1;
                while (*v == ' ')
                    v++;
                snprintf(h[nh].value, sizeof(h[nh].value), "%s", v);
                nh++;
            }
            l = e + 2;
        }
        const char *cl = hget(h, nh, "Content-Length");
        size_t blen = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
        const char *exp = hget(h, nh, "Expect");
        if (exp && strcasecmp(exp, "100-continue") == 0)
            send_all(cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        /* body: hash all of it, keep the start */
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        size_t keep = blen < 65536 ? blen : 65536;
        rc.body = calloc(1, keep + 1);
        size_t have = hl - headlen, got = 0;
        size_t take = have < blen ? have : blen;
        EVP_DigestUpdate(ctx, head + headlen, take);
        memcpy(rc.body, head + headlen, take < keep ? take : keep);
        got = take;
        memmove(head, head + headlen + take, hl - headlen - take);
        hl -= headlen + take;
        static char chunk[1 << 16];
        while (got < blen) {
            size_t want = blen - got < sizeof(chunk) ? blen - got : sizeof(chunk);
            ssize_t r = read_some(cfd, chunk, want, 5000);
            if (r <= 0) {
                EVP_MD_CTX_free(ctx);
                free(rc.body);
                return;
            }
            EVP_DigestUpdate(ctx, chunk, (size_t)r);
            if (got < keep)
                memcpy(rc.body + got, chunk, (size_t)r < keep - got ? (size_t)r : keep - got);
            got += (size_t)r;
        }
        uint8_t md[32];
        unsigned mdl = 0;
        char bsha[65];
        EVP_DigestFinal_ex(ctx, md, &mdl);
        EVP_MD_CTX_free(ctx);
        hex(md, 32, bsha);
        rc.body_len = blen;
        const char *psha = hget(h, nh, "x-amz-content-sha256");
        rc.sha_ok = psha && strcmp(psha, bsha) == 0;
        const char *ct = hget(h, nh, "Content-Type");
        snprintf(rc.content_type, sizeof(rc.content_type), "%.*s", (int)sizeof(rc.content_type) - 1,
                 ct ? ct : "");
        const char *tok = hget(h, nh, "x-amz-security-token");
        snprintf(rc.token, sizeof(rc.token), "%.*s", (int)sizeof(rc.token) - 1, tok ? tok : "");
        /* verify the Authorization header */
        const char *auth = hget(h, nh, "Authorization");
        const char *amzdate = hget(h, nh, "x-amz-date");
        if (auth && amzdate && psha) {
            char cred[256], signed_h[512], sig[128], date[16], region[64], svc[16];
            if (sscanf(auth,
                       "AWS4-HMAC-SHA256 Credential=%255[^,], SignedHeaders=%511[^,], "
                       "Signature=%127s",
                       cred, signed_h, sig) == 3 &&
                sscanf(cred, AK "/%15[^/]/%63[^/]/%15[^/]/aws4_request", date, region, svc) == 3 &&
                strcmp(svc, "s3") == 0 && strncmp(date, amzdate, 8) == 0 &&
                strstr(signed_h, "x-amz-content-sha256") && strstr(signed_h, "host")) {
                char want[65];
                sigv4(rc.method, rc.path, rc.query, h, nh, signed_h, psha, amzdate, region, SK,
                      want);
                rc.sig_ok = strcmp(want, sig) == 0;
                if (tok && !strstr(signed_h, "x-amz-security-token"))
                    rc.sig_ok = 0;
            }
        }
        /* record and pick the answer */
        pthread_mutex_lock(&f->mu);
        struct resp r = {ACT_ANSWER, 200, "", ""};
        if (f->next < f->nscript)
            r = f->script[f->next++];
        else if (strcmp(rc.method, "GET") == 0)
            snprintf(r.body, sizeof(r.body), "%s", f->get_body);
        if (f->nrec < MAX_REC)
            f->rec[f->nrec++] = rc;
        else
            free(rc.body);
        pthread_mutex_unlock(&f->mu);
        if (r.act == ACT_CLOSE)
            return;
        if (r.act == ACT_HANG) {
            /* until the client gives up (EOF) or 2 s */
            char c;
            for (int i = 0; i < 40 && !f->stop; i++)
                if (read_some(cfd, &c, 1, 50) == 0)
                    break;
            return;
        }
        if (!rc.sig_ok || !rc.sha_ok) {
            r.status = 403;
            r.headers[0] = 0;
            snprintf(r.body, sizeof(r.body),
                     "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
                     "<Message>sig %d sha %d</Message></Error>",
                     rc.sig_ok, rc.sha_ok);
        }
        char resp[4096];
        int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n%s",
                         r.status, strcmp(rc.method, "HEAD") == 0 ? (size_t)1234 : strlen(r.body),
                         r.headers, strcmp(rc.method, "HEAD") == 0 ? "" : r.body);
        send_all(cfd, resp, (size_t)n);
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    while (!f->stop) {
        struct pollfd pf = {f->lfd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int c = accept(f->lfd, NULL, NULL);
        if (c < 0)
            continue;
        serve_conn(f, c);
        close(c);
    }
    return NULL;
}

static struct fake *fake_start(void)
{
    struct fake *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    getsockname(f->lfd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
    return f;
}

static void fake_stop(struct fake *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->lfd);
    for (size_t i = 0; i < f->nrec; i++)
        free(f->rec[i].body);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static void fake_script(struct fake *f, int act, int status, const char *headers, const char *body)
{
    pthread_mutex_lock(&f->mu);
    assert_true(f->nscript < 32);
    struct resp *r = &f->script[f->nscript++];
    r->act = act;
    r->status = status;
    snprintf(r->headers, sizeof(r->headers), "%s", headers ? headers : "");
    snprintf(r->body, sizeof(r->body), "%s", body ? body : "");
    pthread_mutex_unlock(&f->mu);
}

static void fake_reset(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nrec; i++)
        free(f->rec[i].body);
    f->nrec = 0;
    f->nscript = f->next = 0;
    pthread_mutex_unlock(&f->mu);
}

static objstore_t *open_s3(struct fake *f, int path_style, const char *prefix, const char *token)
{
    struct objstore_s3_options o;
    objstore_s3_options_default(&o);
    char ep[64];
    /* virtual-hosted style needs a name: libcurl resolves *.localhost to loopback */
    snprintf(ep, sizeof(ep), "http://%s:%d", path_style ? "127.0.0.1" : "localhost",
             f ? f->port : 1);
    o.endpoint = ep;
    o.region = "eu-central-1";
    o.bucket = "test-bucket";
    o.prefix = (char *)prefix;
    o.access_key_id = AK;
    o.secret_access_key = SK;
    o.session_token = (char *)token;
    o.path_style = path_style;
    o.multipart_threshold = 6u << 20;
    o.part_size = 5u << 20;
    o.retry_base = 5000000; /* 5 ms: keep the test fast */
    o.retry_max = 40000000; /* 40 ms */
    o.max_retries = 3;
    o.timeout = 1500000000ull;
    objstore_t *os = NULL;
    char err[256] = "";
    int rc = objstore_s3_open(&o, &os, err, sizeof(err));
    if (rc)
        fprintf(stderr, "objstore_s3_open: %s\n", err);
    assert_int_equal(rc, 0);
    return os;
}

/* ---- signing inputs ------------------------------------------------------------------------- */

static void test_uri_encode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int keep_slash;
        const char *out;
    } v[] = {
        {"AZaz09-._~", 0, "AZaz09-._~"},
        {"a b+c", 0, "a%20b%2Bc"},
        {"tenant=t1/signal=traces/x.parquet", 1, "tenant%3Dt1/signal%3Dtraces/x.parquet"},
        {"a/b", 0, "a%2Fb"},
        {"%*'()!$&,;:@?#[]", 0, "%25%2A%27%28%29%21%24%26%2C%3B%3A%40%3F%23%5B%5D"},
        {"\xc3\xa9\x01\x7f\xff", 0, "%C3%A9%01%7F%FF"},
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        buf_t b;
        buf_init(&b, 1024);
        assert_int_equal(objstore_s3_uri_encode(&b, v[i].in, strlen(v[i].in), v[i].keep_slash), 0);
        assert_int_equal(buf_append_byte(&b, 0), 0);
        assert_string_equal((const char *)b.data, v[i].out);
        buf_free(&b);
    }
    /* the cap is respected and the buffer left as it was */
    buf_t b;
    buf_init(&b, 8);
    assert_int_equal(buf_append_str(&b, "ab"), 0);
    assert_int_equal(objstore_s3_uri_encode(&b, "a b c", 5, 0), ORASI_ETOOBIG);
    assert_int_equal(b.len, 2);
    buf_free(&b);
}

static void test_canonical_query(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 4096);
    /* sorted by encoded name, then value; bare parameters as "name=" */
    const char *n1[] = {"uploadId", "partNumber"};
    const char *v1[] = {"VXBsb2FkIElE+/=~x", "10"};
    assert_int_equal(objstore_s3_canonical_query(&b, n1, v1, 2), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    assert_string_equal((const char *)b.data, "partNumber=10&uploadId=VXBsb2FkIElE%2B%2F%3D~x");
    buf_clear(&b);
    const char *n2[] = {"uploads"};
    assert_int_equal(objstore_s3_canonical_query(&b, n2, NULL, 1), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    assert_string_equal((const char *)b.data, "uploads=");
    buf_clear(&b);
    /* upper case sorts before lower case (byte order), equal names by value */
    const char *n3[] = {"prefix", "list-type", "continuation-token", "a", "a", "Z"};
    const char *v3[] = {"tenant=x/", "2", "1/2 3", "b", "a", NULL};
    assert_int_equal(objstore_s3_canonical_query(&b, n3, v3, 6), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    assert_string_equal((const char *)b.data,
                        "Z=&a=a&a=b&continuation-token=1%2F2%203&list-type=2&prefix=tenant%3Dx%2F");
    buf_free(&b);
}

static void test_sha256_hex(void **state)
{
    (void)state;
    char out[65];
    assert_int_equal(objstore_s3_sha256_hex(-1, "", 0, 0, out), 0);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(objstore_s3_sha256_hex(-1, "xxabcxx", 2, 3, out), 0);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* a region of a file larger than the hashing chunk */
    char *dir = to_tmpdir(), path[512];
    snprintf(path, sizeof(path), "%s/f", dir);
    to_write_random(path, (3u << 20) + 17, 7);
    size_t n = 0;
    uint8_t *all = to_read_file(path, &n);
    int fd = open(path, O_RDONLY);
    char want[65];
    sha256_hex(all + 100, n - 200, want);
    assert_int_equal(objstore_s3_sha256_hex(fd, NULL, 100, n - 200, out), 0);
    assert_string_equal(out, want);
    /* past the end of the file: an error, not a wrong hash */
    assert_true(objstore_s3_sha256_hex(fd, NULL, n - 10, 20, out) < 0);
    close(fd);
    free(all);
    to_rmrf(dir);
    free(dir);
}

/* ---- requests on the wire -------------------------------------------------------------------- */

static void test_signed_requests(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    char *dir = to_tmpdir(), src[512], dst[512], err[512];
    snprintf(src, sizeof(src), "%s/src", dir);
    snprintf(dst, sizeof(dst), "%s/dst", dir);
    to_write_random(src, 100000, 1);
    /* STS session tokens are long: 1500 bytes here */
    char token[1501];
    for (int i = 0; i < 1500; i++)
        token[i] = "AZaz09+/="[i % 9];
    token[1500] = 0;
    for (int style = 0; style < 2; style++) {
        fake_reset(f);
        objstore_t *os = open_s3(f, style, "/lake/prefix/", style ? token : NULL);
        assert_string_equal(objstore_kind(os), "s3");
        const char *key = "tenant=t1/signal=traces/date=2026-01-02/hour=03/a b+c.parquet";
        assert_int_equal(objstore_put_file(os, key, src, err, sizeof(err)), 0);
        snprintf(f->get_body, sizeof(f->get_body), "hello object");
        assert_int_equal(objstore_get_file(os, key, dst, err, sizeof(err)), 0);
        size_t n = 0;
        uint8_t *got = to_read_file(dst, &n);
        assert_int_equal(n, 12);
        assert_memory_equal(got, "hello object", 12);
        free(got);
        fake_script(f, ACT_ANSWER, 200,
                    "ETag: \"abc123\"\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "");
        objstore_obj_t info;
        assert_int_equal(objstore_head(os, key, &info, err, sizeof(err)), 0);
        assert_int_equal(info.size, 1234);
        assert_string_equal(info.etag, "abc123");
        assert_int_equal(info.mtime_ns, 1445412480ll * 1000000000ll);
        fake_script(f, ACT_ANSWER, 204, NULL, NULL);
        assert_int_equal(objstore_delete(os, key, err, sizeof(err)), 0);
        objstore_close(os);

        assert_int_equal(f->nrec, 4);
        const char *path = style ? "/test-bucket/lake/prefix/tenant%3Dt1/signal%3Dtraces/"
                                   "date%3D2026-01-02/hour%3D03/a%20b%2Bc.parquet"
                                 : "/lake/prefix/tenant%3Dt1/signal%3Dtraces/"
                                   "date%3D2026-01-02/hour%3D03/a%20b%2Bc.parquet";
        const char *methods[] = {"PUT", "GET", "HEAD", "DELETE"};
        for (size_t i = 0; i < 4; i++) {
            assert_string_equal(f->rec[i].method, methods[i]);
            assert_string_equal(f->rec[i].path, path);
            assert_true(f->rec[i].sig_ok);
            assert_true(f->rec[i].sha_ok);
            assert_string_equal(f->rec[i].token, style ? token : "");
        }
        assert_int_equal(f->rec[0].body_len, 100000);
    }
    /* the verifier does reject: a wrong secret is a 403 SignatureDoesNotMatch, final */
    fake_reset(f);
    struct objstore_s3_options o;
    objstore_s3_options_default(&o);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", f->port);
    o.endpoint = ep;
    o.bucket = "test-bucket";
    o.access_key_id = AK;
    o.secret_access_key = "not-the-secret";
    o.path_style = 1;
    objstore_t *os = NULL;
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), 0);
    assert_int_equal(objstore_put_file(os, "k", src, err, sizeof(err)), ORASI_EINVAL);
    assert_non_null(strstr(err, "HTTP 403 SignatureDoesNotMatch"));
    assert_int_equal(f->nrec, 1);
    assert_false(f->rec[0].sig_ok);
    assert_true(f->rec[0].sha_ok);
    objstore_close(os);
    to_rmrf(dir);
    free(dir);
    fake_stop(f);
}

static void test_list_pages(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    objstore_t *os = open_s3(f, 1, "pre", NULL);
    char err[512];
    fake_script(f, ACT_ANSWER, 200, NULL,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
                "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>test-bucket</Name>"
                "<Prefix>pre/a/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
                "<NextContinuationToken>1/tok+en=&amp;</NextContinuationToken>"
                "<Contents><Key>pre/a/2.parquet</Key><LastModified>2026-01-02T03:04:05.500Z"
                "</LastModified><ETag>&quot;e2&quot;</ETag><Size>20</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>"
                "<Contents><Key>pre/a/1 &amp; &#x41;.parquet</Key><Size>10</Size></Contents>"
                "</ListBucketResult>");
    fake_script(f, ACT_ANSWER, 200, NULL,
                "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>pre/a/0"
                "</Key><Size>0</Size><ETag>\"e0\"</ETag></Contents></ListBucketResult>");
    objstore_list_t l;
    assert_int_equal(objstore_list(os, "a/", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].key, "a/0");
    assert_string_equal(l.v[0].etag, "e0");
    assert_string_equal(l.v[1].key, "a/1 & A.parquet");
    assert_int_equal(l.v[1].size, 10);
    assert_string_equal(l.v[2].key, "a/2.parquet");
    assert_int_equal(l.v[2].size, 20);
    assert_string_equal(l.v[2].etag, "e2");
    assert_int_equal(l.v[2].mtime_ns, 1767323045500000000ll);
    objstore_list_free(&l);
    assert_int_equal(f->nrec, 2);
    assert_string_equal(f->rec[0].path, "/test-bucket");
    assert_string_equal(f->rec[0].query, "list-type=2&prefix=pre%2Fa%2F");
    assert_string_equal(f->rec[1].query,
                        "continuation-token=1%2Ftok%2Ben%3D%26&list-type=2&prefix=pre%2Fa%2F");
    assert_true(f->rec[0].sig_ok && f->rec[1].sig_ok);
    /* truncated without a token: an error, not a loop */
    fake_script(f, ACT_ANSWER, 200, NULL,
                "<ListBucketResult><IsTruncated>true</IsTruncated>"
                "</ListBucketResult>");
    assert_int_equal(objstore_list(os, "", &l, err, sizeof(err)), ORASI_EPARSE);
    assert_int_equal(l.n, 0);
    objstore_close(os);
    fake_stop(f);
}

static void test_multipart(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    objstore_t *os = open_s3(f, 1, "", NULL);
    char *dir = to_tmpdir(), src[512], err[512];
    snprintf(src, sizeof(src), "%s/big", dir);
    size_t size = (11u << 20) + 123; /* 3 parts of 5 MiB */
    to_write_random(src, size, 2);
    const char *id = "VXBsb2Fk+SUQ/=x";
    char init[512];
    snprintf(init, sizeof(init),
             "<InitiateMultipartUploadResult><Bucket>test-bucket</Bucket><Key>k/big</Key>"
             "<UploadId>%s</UploadId></InitiateMultipartUploadResult>",
             id);
    fake_script(f, ACT_ANSWER, 200, NULL, init);
    fake_script(f, ACT_ANSWER, 200, "ETag: \"p1\"\r\n", "");
    fake_script(f, ACT_ANSWER, 503, NULL, "<Error><Code>SlowDown</Code></Error>"); /* retried */
    fake_script(f, ACT_ANSWER, 200, "ETag: \"p2\"\r\n", "");
    fake_script(f, ACT_ANSWER, 200, "ETag: \"p3\"\r\n", "");
    fake_script(f, ACT_ANSWER, 200, NULL,
                "<CompleteMultipartUploadResult><Key>k/big</Key></CompleteMultipartUploadResult>");
    assert_int_equal(objstore_put_file(os, "k/big", src, err, sizeof(err)), 0);
    assert_int_equal(f->nrec, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_true(f->rec[i].sig_ok);
        assert_true(f->rec[i].sha_ok);
    }
    assert_string_equal(f->rec[0].method, "POST");
    assert_string_equal(f->rec[0].query, "uploads=");
    assert_string_equal(f->rec[0].content_type, "application/octet-stream");
    const char *qs[] = {"partNumber=1&uploadId=VXBsb2Fk%2BSUQ%2F%3Dx",
                        "partNumber=2&uploadId=VXBsb2Fk%2BSUQ%2F%3Dx",
                        "partNumber=2&uploadId=VXBsb2Fk%2BSUQ%2F%3Dx",
                        "partNumber=3&uploadId=VXBsb2Fk%2BSUQ%2F%3Dx"};
    size_t lens[] = {5u << 20, 5u << 20, 5u << 20, size - (10u << 20)};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(f->rec[1 + i].method, "PUT");
        assert_string_equal(f->rec[1 + i].query, qs[i]);
        assert_int_equal(f->rec[1 + i].body_len, lens[i]);
    }
    assert_string_equal(f->rec[5].method, "POST");
    assert_string_equal(f->rec[5].query, "uploadId=VXBsb2Fk%2BSUQ%2F%3Dx");
    assert_string_equal(f->rec[5].content_type, "application/xml");
    assert_string_equal(f->rec[5].body, "<CompleteMultipartUpload>"
                                        "<Part><PartNumber>1</PartNumber><ETag>\"p1\"</ETag></Part>"
                                        "<Part><PartNumber>2</PartNumber><ETag>\"p2\"</ETag></Part>"
                                        "<Part><PartNumber>3</PartNumber><ETag>\"p3\"</ETag></Part>"
                                        "</CompleteMultipartUpload>");

    /* a part refused for good: the upload is aborted, the error names S3's code */
    fake_reset(f);
    fake_script(f, ACT_ANSWER, 200, NULL, init);
    fake_script(f, ACT_ANSWER, 200, "ETag: \"p1\"\r\n", "");
    fake_script(f, ACT_ANSWER, 403, NULL,
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
    fake_script(f, ACT_ANSWER, 204, NULL, "");
    assert_int_equal(objstore_put_file(os, "k/big", src, err, sizeof(err)), ORASI_EINVAL);
    assert_non_null(strstr(err, "HTTP 403 AccessDenied: Access Denied"));
    assert_int_equal(f->nrec, 4);
    assert_string_equal(f->rec[3].method, "DELETE");
    assert_string_equal(f->rec[3].query, "uploadId=VXBsb2Fk%2BSUQ%2F%3Dx");
    assert_true(f->rec[3].sig_ok);

    /* "200 OK" with an <Error> body on completion counts as a failure (retried) */
    fake_reset(f);
    fake_script(f, ACT_ANSWER, 200, NULL, init);
    for (int i = 1; i <= 3; i++)
        fake_script(f, ACT_ANSWER, 200, "ETag: \"p\"\r\n", "");
    for (int i = 0; i < 4; i++)
        fake_script(f, ACT_ANSWER, 200, NULL,
                    "<Error><Code>InternalError</Code><Message>try again</Message></Error>");
    fake_script(f, ACT_ANSWER, 204, NULL, "");
    assert_int_equal(objstore_put_file(os, "k/big", src, err, sizeof(err)), ORASI_EUNAVAILABLE);
    assert_non_null(strstr(err, "InternalError: try again"));
    assert_int_equal(f->nrec, 1 + 3 + 4 + 1);
    assert_string_equal(f->rec[8].method, "DELETE");
    objstore_close(os);
    to_rmrf(dir);
    free(dir);
    fake_stop(f);
}

static void test_retries(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    objstore_t *os = open_s3(f, 1, "", NULL);
    char *dir = to_tmpdir(), src[512], dst[512], err[512];
    snprintf(src, sizeof(src), "%s/src", dir);
    snprintf(dst, sizeof(dst), "%s/dst", dir);
    to_write_random(src, 4000, 3);

    /* 500, 429, a dropped connection, 400 RequestTimeout, then success: 5 requests */
    fake_script(f, ACT_ANSWER, 500, NULL, "<Error><Code>InternalError</Code></Error>");
    fake_script(f, ACT_ANSWER, 429, NULL, "");
    fake_script(f, ACT_CLOSE, 0, NULL, NULL);
    fake_script(f, ACT_ANSWER, 400, NULL,
                "<Error><Code>RequestTimeout</Code><Message>idle</Message></Error>");
    fake_script(f, ACT_ANSWER, 200, NULL, "");
    /* 4 failures need max_retries 4: raise it for this call by opening another handle */
    objstore_close(os);
    {
        struct objstore_s3_options o;
        objstore_s3_options_default(&o);
        char ep[64];
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", f->port);
        o.endpoint = ep;
        o.region = "us-east-1";
        o.bucket = "test-bucket";
        o.access_key_id = AK;
        o.secret_access_key = SK;
        o.path_style = 1;
        o.retry_base = 5000000;
        o.retry_max = 20000000;
        o.max_retries = 4;
        assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), 0);
    }
    assert_int_equal(objstore_put_file(os, "a", src, err, sizeof(err)), 0);
    assert_int_equal(f->nrec, 5);
    for (size_t i = 0; i < 5; i++)
        if (strcmp(f->rec[i].method, "PUT") == 0 && f->rec[i].body_len)
            assert_true(f->rec[i].sha_ok);
    objstore_close(os);
    os = open_s3(f, 1, "", NULL); /* max_retries 3 */

    /* a final 4xx is not retried */
    fake_reset(f);
    fake_script(f, ACT_ANSWER, 403, NULL,
                "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you "
                "provided does not exist in our records.</Message></Error>");
    assert_int_equal(objstore_put_file(os, "a", src, err, sizeof(err)), ORASI_EINVAL);
    assert_non_null(strstr(err, "PUT a: HTTP 403 InvalidAccessKeyId: The AWS Access Key Id"));
    assert_int_equal(f->nrec, 1);

    /* 5xx past max_retries: retryable error after 1 + 3 attempts */
    fake_reset(f);
    for (int i = 0; i < 4; i++)
        fake_script(f, ACT_ANSWER, 503, NULL,
                    "<Error><Code>SlowDown</Code><Message>Reduce your request rate."
                    "</Message></Error>");
    assert_int_equal(objstore_put_file(os, "a", src, err, sizeof(err)), ORASI_EUNAVAILABLE);
    assert_non_null(strstr(err, "HTTP 503 SlowDown"));
    assert_int_equal(f->nrec, 4);

    /* 404: HEAD says not found; DELETE of a missing key is fine; GET fails, no file */
    fake_reset(f);
    fake_script(f, ACT_ANSWER, 404, NULL, "");
    objstore_obj_t info;
    assert_int_equal(objstore_head(os, "nope", &info, err, sizeof(err)), ORASI_ENOTFOUND);
    fake_script(f, ACT_ANSWER, 404, NULL,
                "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
    assert_int_equal(objstore_delete(os, "nope", err, sizeof(err)), 0);
    fake_script(f, ACT_ANSWER, 404, NULL,
                "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
                "</Message></Error>");
    assert_int_equal(objstore_get_file(os, "nope", dst, err, sizeof(err)), ORASI_ENOTFOUND);
    assert_non_null(strstr(err, "NoSuchKey"));
    assert_int_equal(access(dst, F_OK), -1);
    assert_int_equal(f->nrec, 3);

    /* GET: a failed attempt's bytes never reach the file */
    fake_reset(f);
    fake_script(f, ACT_ANSWER, 500, NULL, "<Error><Code>InternalError</Code></Error>");
    fake_script(f, ACT_ANSWER, 200, NULL, "final bytes");
    assert_int_equal(objstore_get_file(os, "k", dst, err, sizeof(err)), 0);
    size_t n = 0;
    uint8_t *got = to_read_file(dst, &n);
    assert_int_equal(n, 11);
    assert_memory_equal(got, "final bytes", 11);
    free(got);

    /* a server that never answers: the request times out (1.5 s), retried, ETIMEOUT */
    objstore_close(os);
    {
        struct objstore_s3_options o;
        objstore_s3_options_default(&o);
        char ep[64];
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", f->port);
        o.endpoint = ep;
        o.bucket = "test-bucket";
        o.access_key_id = AK;
        o.secret_access_key = SK;
        o.path_style = 1;
        o.retry_base = 5000000;
        o.max_retries = 1;
        o.timeout = 1000000000ull;
        assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), 0);
    }
    fake_reset(f);
    fake_script(f, ACT_HANG, 0, NULL, NULL);
    fake_script(f, ACT_HANG, 0, NULL, NULL);
    assert_int_equal(objstore_put_file(os, "a", src, err, sizeof(err)), ORASI_ETIMEOUT);
    assert_int_equal(f->nrec, 2);
    objstore_close(os);

    /* nobody listening: connection refused, retried, EUNAVAILABLE */
    int port = f->port;
    fake_stop(f);
    {
        struct objstore_s3_options o;
        objstore_s3_options_default(&o);
        char ep[64];
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
        o.endpoint = ep;
        o.bucket = "test-bucket";
        o.path_style = 1;
        o.retry_base = 1000000;
        o.max_retries = 2;
        assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), 0);
    }
    assert_int_equal(objstore_put_file(os, "a", src, err, sizeof(err)), ORASI_EUNAVAILABLE);
    assert_non_null(strstr(err, "PUT a:"));
    /* a missing local file is reported as such, before any request */
    assert_int_equal(objstore_put_file(os, "a", "/nonexistent/file", err, sizeof(err)),
                     ORASI_ENOTFOUND);
    assert_int_equal(objstore_put_file(os, "../a", src, err, sizeof(err)), ORASI_EINVAL);
    objstore_close(os);
    to_rmrf(dir);
    free(dir);
}

static void test_open_options(void **state)
{
    (void)state;
    struct objstore_s3_options o;
    objstore_t *os = NULL;
    char err[256];
    objstore_s3_options_default(&o);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    /* no bucket */
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), ORASI_ECONFIG);
    assert_non_null(strstr(err, "bucket"));
    o.bucket = "ok-bucket";
    /* a key without a secret */
    o.access_key_id = "AK";
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), ORASI_ECONFIG);
    /* the secret from the environment */
    setenv("AWS_SECRET_ACCESS_KEY", "from-env", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), 0);
    objstore_close(os);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_REGION");
    o.region = "bad region";
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), ORASI_ECONFIG);
    o.region = NULL;
    o.secret_access_key = "secret";
    o.session_token = "tok\r\nX-Injected: 1";
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), ORASI_ECONFIG);
    assert_non_null(strstr(err, "session_token"));
    o.session_token = NULL;
    o.bucket = "x";
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), ORASI_ECONFIG);
}

/* Every allocation of a signed PUT and a list fails in turn: errors, never crashes. */
static void test_alloc_failures(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    char *dir = to_tmpdir(), src[512], err[256];
    snprintf(src, sizeof(src), "%s/src", dir);
    to_write_random(src, 1000, 4);
    snprintf(f->get_body, sizeof(f->get_body),
             "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>1"
             "</Size></Contents></ListBucketResult>");
    int failed = 0;
    for (long n = 0; n < 400; n++) {
        struct objstore_s3_options o;
        objstore_s3_options_default(&o);
        char ep[64];
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", f->port);
        o.endpoint = ep;
        o.bucket = "test-bucket";
        o.access_key_id = AK;
        o.secret_access_key = SK;
        o.region = "us-east-1";
        o.path_style = 1;
        o.max_retries = 0;
        objstore_t *os = NULL;
        orasi_alloc_fail_after(n);
        int rc = objstore_s3_open(&o, &os, err, sizeof(err));
        if (!rc) {
            rc = objstore_put_file(os, "a", src, err, sizeof(err));
            objstore_list_t l;
            int rc2 = objstore_list(os, "", &l, err, sizeof(err));
            if (!rc2)
                assert_int_equal(l.n, 1);
            objstore_list_free(&l);
            if (!rc)
                rc = rc2;
            objstore_close(os);
        }
        orasi_alloc_fail_after(-1);
        if (!rc)
            break;
        failed++;
    }
    assert_true(failed > 3);
    fake_stop(f);
    to_rmrf(dir);
    free(dir);
}

/* The XML reader on its own: entities, times, errors, odd documents. */
static void test_s3xml(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 64);
    assert_int_equal(
        s3xml_unescape(SLICE_LIT("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&#xe9;&#x1F600;"), &b), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    assert_string_equal((const char *)b.data, "a&b<>\"'AB\xc3\xa9\xf0\x9f\x98\x80");
    const char *bad[] = {"&",        "&amp",       "&nope;",         "&#;",   "&#x;", "&#0;",
                         "&#xD800;", "&#x110000;", "&#99999999999;", "&#12a;"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b.len = 1;
        assert_int_equal(s3xml_unescape(slice_cstr(bad[i]), &b), ORASI_EPARSE);
        assert_int_equal(b.len, 1); /* unchanged */
    }
    buf_free(&b);
    int64_t ns = 0;
    assert_int_equal(s3xml_parse_time(SLICE_LIT("1970-01-01T00:00:01Z"), &ns), 0);
    assert_int_equal(ns, 1000000000);
    assert_int_equal(s3xml_parse_time(SLICE_LIT("2026-01-02T03:04:05.123456789123Z"), &ns), 0);
    assert_int_equal(ns % 1000000000, 123456789);
    /* found by fuzzing: years past 2262 overflow int64 nanoseconds */
    assert_int_equal(s3xml_parse_time(SLICE_LIT("9999-01-01T00:00:00Z"), &ns), ORASI_EPARSE);
    assert_int_equal(s3xml_parse_time(SLICE_LIT("2026-13-01T00:00:00Z"), &ns), ORASI_EPARSE);
    assert_int_equal(s3xml_parse_time(SLICE_LIT("2026-01-01 00:00:00Z"), &ns), ORASI_EPARSE);
    char msg[32];
    assert_int_equal(
        s3xml_error(SLICE_LIT("<Error><Code>SlowDown</Code><Message>Reduce your request "
                              "rate, please, a lot</Message></Error>"),
                    msg, sizeof(msg)),
        1);
    assert_string_equal(msg, "SlowDown: Reduce your request r"); /* truncated to fit */
    assert_int_equal(s3xml_error(SLICE_LIT("<Ok/>"), msg, sizeof(msg)), 0);
    assert_string_equal(msg, "");
    slice_t c;
    assert_int_equal(
        s3xml_find(SLICE_LIT("<a><Keyx>1</Keyx><Key attr=\"1\">v</Key ></a>"), "Key", &c), 1);
    assert_true(slice_eq_cstr(c, "v"));
    assert_int_equal(s3xml_find(SLICE_LIT("<Key>unterminated"), "Key", &c), 0);
    assert_int_equal(s3xml_find(SLICE_LIT("<Key/>"), "Key", &c), 1);
    assert_int_equal(c.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verifier_aws_examples),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_s3xml),
        cmocka_unit_test(test_signed_requests),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_open_options),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
