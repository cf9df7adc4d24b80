/* fuzz_request.c — libFuzzer target: arbitrary bytes as one ddbmini request
 * (header line, body, payload objects) through the same parsing and execution the
 * server uses, minus the sockets. Built with -DDDBMINI_FUZZ (instant sleep). */
#include "server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static int ready;
    if (!ready) {
        mini_state_init();
        ready = 1;
    }
    const unsigned char *lf = memchr(data, '\n', size);
    if (!lf)
        return 0;
    request r;
    size_t body_len;
    char err[256];
    if (request_parse_header(&r, (const char *)data, (size_t)(lf - data), &body_len, err, sizeof err))
        return 0;
    size_t off = (size_t)(lf - data) + 1;
    if (body_len > size - off)
        return 0;
    r.body = malloc(body_len + 1);
    if (!r.body)
        return 0;
    memcpy(r.body, data + off, body_len);
    r.body[body_len] = 0;
    r.body_len = body_len;
    off += body_len;
    if (request_parse_body(&r, err, sizeof err) == 0) {
        ddb_limits lim;         /* the decoder sizes arrays from headers: keep OOM away */
        ddb_limits_default(&lim);
        lim.max_object_bytes = 64 << 20;
        int ok = 1;
        while (ok && r.ngot < r.nobjs) {
            size_t used = 0;
            ddb_obj *o = ddb_decode(data + off, size - off, r.little, &lim, &used, err, sizeof err);
            if (!o)
                ok = 0;
            else {
                r.objs[r.ngot++] = o;
                off += used;
            }
        }
        if (ok) {
            session s;
            session_init(&s);
            response resp;
            response_init(&resp);
            request_prepare(&s, &r);    /* the server's quick-path check and parse cache */
            request_execute(&s, &r, &resp);
            response_free(&resp);
            session_free(&s);
        }
    }
    request_free(&r);
    return 0;
}
