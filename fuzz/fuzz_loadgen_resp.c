/* fuzz_loadgen_resp.c — libFuzzer target for what the load generator parses from servers:
 * HTTP/1.1 responses (lgclient_http_response: Content-Length and chunked framing) and
 * Export*ServiceResponse bodies (lgclient_parse_partial, protobuf and JSON).
 *
 * Properties: the result is complete (1), incomplete (0) or ORASI_EPARSE, nothing else;
 * a complete response consumes at most the input, has a 3-digit status, and its body lies
 * inside the input or the scratch buffer; every strict prefix of a complete response is
 * reported incomplete (the parser is incremental: feeding more bytes never turns an
 * "incomplete" into a different response); partial-success parsing never reads out of
 * bounds and never reports a negative count from protobuf varints it accepted. */
#include "core/err.h"
#include "loadgen/lgclient.h"

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
    buf_t scratch;
    buf_init(&scratch, LGCLIENT_MAX_RESP);
    lgclient_http_resp_t r;
    int rc = lgclient_http_response(data, size, &scratch, &r);
    FZ_CHECK(rc == 0 || rc == 1 || rc == ORASI_EPARSE);
    if (rc == 1) {
        FZ_CHECK(r.consumed <= size && r.consumed >= 16);
        FZ_CHECK(r.status >= 0 && r.status <= 999);
        FZ_CHECK(r.body_len <= LGCLIENT_MAX_RESP);
        int in_input = r.body >= data && r.body + r.body_len <= data + r.consumed;
        int in_scratch = r.body_len == 0 || (scratch.data && r.body >= scratch.data &&
                                             r.body + r.body_len <= scratch.data + scratch.len);
        FZ_CHECK(in_input || in_scratch);
        int64_t rej;
        lgclient_parse_partial(LGCLIENT_HTTP_PROTOBUF, r.body, r.body_len, &rej);
        lgclient_parse_partial(LGCLIENT_HTTP_JSON, r.body, r.body_len, &rej);
        /* a strict prefix of a complete response is incomplete */
        buf_t s2;
        buf_init(&s2, LGCLIENT_MAX_RESP);
        lgclient_http_resp_t r2;
        FZ_CHECK(lgclient_http_response(data, r.consumed - 1, &s2, &r2) == 0);
        buf_free(&s2);
    }
    int64_t rej = -1;
    int prc = lgclient_parse_partial(LGCLIENT_GRPC, data, size, &rej);
    FZ_CHECK(prc == 0 || prc == ORASI_EPARSE);
    prc = lgclient_parse_partial(LGCLIENT_HTTP_JSON, data, size, &rej);
    FZ_CHECK(prc == 0 || prc == ORASI_EPARSE);
    if (prc == 0)
        FZ_CHECK(rej >= 0);
    buf_free(&scratch);
    return 0;
}
