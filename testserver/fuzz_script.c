/* fuzz_script.c — libFuzzer target: arbitrary bytes as a ddbmini script through the
 * lexer, parser, evaluator and built-ins, then the result through the response
 * encoder and print(). Built with -DDDBMINI_FUZZ, which makes sleep() return at once and
 * lowers the element caps so one input stays fast. */
#include "eval.h"
#include "server.h"
#include "tables.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static int ready;
    if (!ready) {
        mini_state_init();
        ready = 1;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    session s;
    session_init(&s);
    ddb_buf msgs;
    ddb_buf_init(&msgs);
    eval_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.sess = &s;
    ctx.api2 = 1;
    ctx.msgs = &msgs;
    for (int round = 0; round < 2; round++) {     /* twice: state left by the first run */
        ddb_obj *out = NULL;
        ctx.err[0] = 0;
        ctx.err_quoted = 0;
        s.request_no++;
        if (eval_script(&ctx, text, size, &out) == 0 && out) {
            response resp;
            response_init(&resp);
            char err[256];
            response_add_object(&resp, out, round ? 8192 : 0, round, err, sizeof err);
            response_free(&resp);
            ctx_print(&ctx, out);   /* formatted as print() does it, size check included */
            ddb_buf_reset(&msgs);
        }
        ddb_obj_unref(out);
        session_release_created(&s, s.request_no);
    }
    session_free(&s);
    tables_reset();             /* shared tables and databases outlive sessions */
    ddb_buf_free(&msgs);
    free(text);
    return 0;
}
