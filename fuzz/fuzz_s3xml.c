/* fuzz_s3xml.c — libFuzzer target for the reader of S3's XML answers (s3xml.c).
 *
 * The input is read as a ListObjectsV2 page (with and without a prefix to strip), as an
 * <Error> body, and for its UploadId. Invariants: every listed key is valid UTF-8-free
 * of NUL, starts where the prefix ended and is never longer than the input; the error
 * text fits its buffer; unescaping never grows text by more than 4 bytes per input byte
 * (&#x10FFFF; is 10 bytes in, 4 out) and a failed unescape leaves the buffer as it was. */
#include "core/buf.h"
#include "core/err.h"
#include "objstore/objstore.h"
#include "objstore/s3xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(x)                                                                                \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slice_t in = slice_make(data, size);
    const char *strips[] = {"", "pre/"};
    for (int k = 0; k < 2; k++) {
        objstore_list_t l = {0};
        size_t cap = 0;
        int truncated = -1;
        buf_t tok;
        buf_init(&tok, 4096);
        int rc = s3xml_parse_list(in, strips[k], &l, &cap, &truncated, &tok);
        FZ_CHECK(rc == 0 || rc == ORASI_EPARSE || rc == ORASI_ETOOBIG || rc == ORASI_ENOMEM);
        FZ_CHECK(truncated == 0 || truncated == 1);
        FZ_CHECK(tok.len <= size);
        for (size_t i = 0; i < l.n; i++) {
            FZ_CHECK(l.v[i].key != NULL);
            FZ_CHECK(strlen(l.v[i].key) <= size);
            FZ_CHECK(strlen(l.v[i].etag) < sizeof(l.v[i].etag));
        }
        objstore_list_free(&l);
        buf_free(&tok);
    }
    char msg[64];
    memset(msg, 'x', sizeof(msg));
    int has = s3xml_error(in, msg, sizeof(msg));
    FZ_CHECK(has == 0 || has == 1);
    FZ_CHECK(memchr(msg, 0, sizeof(msg)) != NULL);
    if (!has)
        FZ_CHECK(msg[0] == 0);

    slice_t id;
    if (s3xml_find(in, "UploadId", &id)) {
        FZ_CHECK(id.p >= data && id.p + id.len <= data + size);
        buf_t b;
        buf_init(&b, 1 << 16);
        FZ_CHECK(buf_append_str(&b, "keep") == 0);
        int urc = s3xml_unescape(id, &b);
        if (urc)
            FZ_CHECK(b.len == 4 && memcmp(b.data, "keep", 4) == 0);
        else
            FZ_CHECK(b.len - 4 <= id.len * 4);
        buf_free(&b);
    }
    int64_t ns;
    if (s3xml_parse_time(in, &ns) == 0)
        FZ_CHECK(ns >= 0);
    return 0;
}
