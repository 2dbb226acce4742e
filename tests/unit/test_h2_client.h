/* test_h2_client.h — a small blocking HTTP/2 (prior knowledge) client on nghttp2 for the
 * server tests: several streams per connection, response headers, body and trailers
 * recorded per stream, RST_STREAM and GOAWAY observed. Header-only, static. */
#ifndef TEST_H2_CLIENT_H
#define TEST_H2_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define H2C_MAX_STREAMS 64

struct h2c_stream {
    int32_t id;
    int closed;
    uint32_t rst_error;
    int status;
    char headers[8192];  /* "name: value\n" of the response HEADERS */
    char trailers[8192]; /* same for trailing HEADERS */
    uint8_t *data;
    size_t len, cap;
    const uint8_t *body; /* request body */
    size_t body_len, body_off;
};

struct h2c {
    int fd;
    nghttp2_session *s;
    struct h2c_stream st[H2C_MAX_STREAMS];
    int n;
    int goaway;
    int eof;
};

static struct h2c_stream *h2c_find(struct h2c *c, int32_t id)
{
    for (int i = 0; i < c->n; i++)
        if (c->st[i].id == id)
            return &c->st[i];
    return NULL;
}

static int h2c_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                         size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    struct h2c_stream *st = h2c_find(ud, f->hd.stream_id);
    if (!st || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    char *dst = f->headers.cat == NGHTTP2_HCAT_HEADERS ? st->trailers : st->headers;
    size_t used = strlen(dst);
    snprintf(dst + used, 8192 - used, "%.*s: %.*s\n", (int)nl, name, (int)vl, value);
    if (nl == 7 && memcmp(name, ":status", 7) == 0)
        st->status = atoi((const char *)value);
    return 0;
}

static int h2c_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d,
                       size_t len, void *ud)
{
    struct h2c_stream *st = h2c_find(ud, id);
    if (!st)
        return 0;
    if (st->len + len > st->cap) {
        st->cap = (st->len + len) * 2;
        st->data = realloc(st->data, st->cap);
    }
    memcpy(st->data + st->len, d, len);
    st->len += len;
    return 0;
}

static int h2c_on_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    struct h2c_stream *st = h2c_find(ud, id);
    if (st) {
        st->closed = 1;
        st->rst_error = err;
    }
    return 0;
}

static int h2c_on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    if (f->hd.type == NGHTTP2_GOAWAY)
        ((struct h2c *)ud)->goaway = 1;
    return 0;
}

static ssize_t h2c_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                             uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    struct h2c_stream *st = src->ptr;
    size_t n = st->body_len - st->body_off;
    if (n > length)
        n = length;
    memcpy(buf, st->body + st->body_off, n);
    st->body_off += n;
    if (st->body_off == st->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static struct h2c *h2c_connect(int port)
{
    struct h2c *c = calloc(1, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(c->fd);
        free(c);
        return NULL;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2c_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2c_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2c_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2c_on_frame);
    nghttp2_session_client_new(&c->s, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 << 20}};
    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 1);
    nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 64 << 20);
    return c;
}

static void h2c_free(struct h2c *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->st[i].data);
    nghttp2_session_del(c->s);
    close(c->fd);
    free(c);
}

#define H2C_NV(n, v)                                                                       \
    {                                                                                      \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE         \
    }

/* Submit a request; extra headers are "name", "value" pairs. Returns the stream index. */
static int h2c_submit(struct h2c *c, const char *method, const char *path,
                      const char *const *extra, int nextra, const void *body, size_t len)
{
    nghttp2_nv nv[32];
    int n = 0;
    nv[n++] = (nghttp2_nv)H2C_NV(":method", method);
    nv[n++] = (nghttp2_nv)H2C_NV(":scheme", "http");
    nv[n++] = (nghttp2_nv)H2C_NV(":authority", "127.0.0.1");
    nv[n++] = (nghttp2_nv)H2C_NV(":path", path);
    for (int i = 0; i < nextra && n < 32; i++)
        nv[n++] = (nghttp2_nv)H2C_NV(extra[2 * i], extra[2 * i + 1]);
    struct h2c_stream *st = &c->st[c->n];
    memset(st, 0, sizeof(*st));
    st->body = body;
    st->body_len = len;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = h2c_read_body};
    int32_t id = nghttp2_submit_request(c->s, NULL, nv, (size_t)n, body ? &prd : NULL, NULL);
    if (id < 0)
        return -1;
    st->id = id;
    return c->n++;
}

/* Pump I/O until every submitted stream is closed (or the connection ends, or the
 * timeout). 0 when all closed, -1 otherwise. */
static int h2c_run(struct h2c *c, int timeout_ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int waited = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        const uint8_t *d;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(c->s, &d)) > 0) {
            size_t off = 0;
            while (off < (size_t)n) {
                ssize_t w = send(c->fd, d + off, (size_t)n - off, MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno == EAGAIN || errno == EINTR)
                        continue;
                    c->eof = 1;
                    return -1;
                }
                off += (size_t)w;
            }
        }
        int all = c->n > 0;
        for (int i = 0; i < c->n; i++)
            all &= c->st[i].closed;
        if (all)
            return 0;
        if (c->eof || waited >= timeout_ms)
            return -1;
        struct pollfd p = {c->fd, POLLIN, 0};
        int left = timeout_ms - waited;
        if (poll(&p, 1, left < 50 ? left : 50) == 0)
            continue;
        uint8_t buf[65536];
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        if (r <= 0) {
            c->eof = 1;
            continue;
        }
        if (nghttp2_session_mem_recv(c->s, buf, (size_t)r) < 0) {
            c->eof = 1;
            continue;
        }
    }
}

/* Wait for the server to close the connection (after GOAWAY). 1 when it did. */
__attribute__((unused)) static int h2c_wait_eof(struct h2c *c, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms && !c->eof; waited += 50) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 50) == 0)
            continue;
        uint8_t buf[16384];
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        if (r <= 0)
            c->eof = 1;
        else
            nghttp2_session_mem_recv(c->s, buf, (size_t)r);
    }
    return c->eof;
}

/* Value of a header in "name: value\n" text, copied into out; NULL when absent. */
__attribute__((unused)) static const char *h2c_hdr(const char *text, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, name, nl) == 0 && p[nl] == ':' && p[nl + 1] == ' ') {
            const char *v = p + nl + 2, *e = strchr(v, '\n');
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

#endif
