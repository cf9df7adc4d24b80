/* ddb_proto_resp.c — the response stream parser (see ddb_proto.h): MSG blocks, the
 * header and status lines, then the object through the codec's incremental decoder,
 * with a shortcut for a reply that arrives whole. */
#include "ddb_proto.h"
#include "ddb_proto_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ddb_decode_internal.h (its state names clash with the parser's): the budget of
 * the decoder's next object. */
void ddb__decoder_set_budget(ddb_decoder *d, int64_t max_bytes);


int ddb_resp_init(ddb_resp *r, const ddb_limits *lim)
{
    memset(r, 0, sizeof *r);
    ddb_buf_init(&r->msg_text);
    if (lim)
        r->limits = *lim;
    else
        ddb_limits_default(&r->limits);
    ddb_buf_init(&r->line);
    r->dec = ddb_decoder_new(&r->limits);
    ddb_resp_reset(r);
    return r->dec ? 0 : -1;
}

/* A line or MSG buffer grown past this by a long response is freed, not kept. */
#define KEEP_LINE_BYTES 4096

static void free_results(ddb_resp *r)
{
    /* Tests first: after a plain reply (its object taken) there is nothing to free,
     * and this runs for every request. */
    if (r->error) {
        free(r->error);
        r->error = NULL;
    }
    if (r->obj) {
        ddb_obj_unref(r->obj);
        r->obj = NULL;
    }
    if (r->msgs) {
        for (int i = 0; i < r->nmsgs; i++)
            free(r->msgs[i]);
        free(r->msgs);
        r->msgs = NULL;
    }
    r->nmsgs = r->msgs_cap = 0;
    if (r->msg_offs) {
        free(r->msg_offs);
        r->msg_offs = NULL;
    }
    if (r->msg_text.cap > KEEP_LINE_BYTES) {
        ddb_buf_free(&r->msg_text);
        ddb_buf_init(&r->msg_text);
    }
    ddb_buf_reset(&r->msg_text);
}

void ddb_resp_free(ddb_resp *r)
{
    free_results(r);
    ddb_buf_free(&r->msg_text);
    ddb_buf_free(&r->line);
    ddb_decoder_free(r->dec);
    r->dec = NULL;
}

void ddb_resp_reset(ddb_resp *r)
{
    free_results(r);
    if (r->line.cap > KEEP_LINE_BYTES) {
        ddb_buf_free(&r->line);
        ddb_buf_init(&r->line);
    }
    ddb_buf_reset(&r->line);
    if (r->dec && r->dec_busy)
        ddb_decoder_reset(r->dec, 1);   /* drops a half-decoded object now */
    r->dec_busy = 0;
    r->budget = 0;
    r->fetch = r->blockwise = r->block_open = 0;
    r->blocks_total = r->blocks_left = 0;
    r->state = ST_LINE;
    r->msg_bytes = 0;
    r->session_id[0] = 0;
    r->little_endian = 1;
    r->object_count = 0;
    r->is_error = 0;
    r->parse_error[0] = 0;
}

static int fail(ddb_resp *r, const char *fmt, const char *detail)
{
    snprintf(r->parse_error, sizeof r->parse_error, fmt, detail);
    r->state = ST_FAILED;
    return DDB_RESP_ERROR;
}

int ddb__resp_fail(ddb_resp *r, const char *fmt, const char *detail)
{
    return fail(r, fmt, detail);
}

/* Accumulate bytes up to `stop` into r->line. Returns 1 when the terminator was
 * found (not stored), 0 when more bytes are needed, -1 when `cap` was exceeded. */
static int collect_until(ddb_resp *r, const char *p, size_t len, size_t *used,
                         char stop, size_t cap)
{
    const char *end = memchr(p, stop, len);
    size_t take = end ? (size_t)(end - p) : len;
    if (r->line.len + take > cap)
        return -1;
    if (ddb_buf_put(&r->line, p, take))
        return -1;
    *used = take + (end ? 1 : 0);
    return end ? 1 : 0;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "<sid> <count> <e>": exactly three fields, each strictly formatted. */
static int parse_header(ddb_resp *r, const char *s, size_t n)
{
    if (n == 0)
        return -1;
    const char *sp1 = memchr(s, ' ', n);
    if (!sp1)
        return -1;
    const char *rest = sp1 + 1;
    const char *sp2 = memchr(rest, ' ', n - (size_t)(rest - s));
    if (!sp2)
        return -1;
    const char *e = sp2 + 1;
    size_t sid_len = (size_t)(sp1 - s), cnt_len = (size_t)(sp2 - rest);
    size_t e_len = n - (size_t)(e - s);
    if (!all_digits(s, sid_len) || sid_len >= sizeof r->session_id)
        return -1;
    if (!all_digits(rest, cnt_len) || cnt_len > 3 || e_len != 1 ||
        (e[0] != '0' && e[0] != '1'))
        return -1;
    memcpy(r->session_id, s, sid_len);
    r->session_id[sid_len] = 0;
    int count = atoi(rest);     /* digits only, at most 3 of them */
    if (count > 1)
        return -2;
    r->object_count = count;
    r->little_endian = e[0] == '1';
    return 0;
}

/* MSG texts are gathered in one buffer while the response arrives (an offset per
 * block), and become separate strings only when the response is complete: a flood
 * of tiny blocks that ends in a protocol error costs two allocations, not one per
 * block. */
static int push_msg(ddb_resp *r)
{
    if (r->nmsgs == r->msgs_cap) {
        int cap = r->msgs_cap ? r->msgs_cap * 2 : 4;
        size_t *o = realloc(r->msg_offs, (size_t)cap * sizeof *o);
        if (!o)
            return -1;
        r->msg_offs = o;
        r->msgs_cap = cap;
    }
    r->msg_offs[r->nmsgs] = r->msg_text.len;
    if (ddb_buf_put(&r->msg_text, r->line.p ? r->line.p : "", r->line.len) ||
        ddb_buf_u8(&r->msg_text, 0))
        return -1;
    r->nmsgs++;
    return 0;
}

/* The complete response's MSG texts as the char ** the caller takes. */
static int split_msgs(ddb_resp *r)
{
    if (r->nmsgs == 0 || r->msgs)
        return 0;
    r->msgs = calloc((size_t)r->nmsgs, sizeof *r->msgs);
    if (!r->msgs)
        return -1;
    for (int i = 0; i < r->nmsgs; i++) {
        r->msgs[i] = strdup(r->msg_text.p + r->msg_offs[i]);
        if (!r->msgs[i])
            return -1;          /* free_results frees the ones made so far */
    }
    return 0;
}

/* One step of the first-line state: a MSG marker or the header line. */
static int on_first_line(ddb_resp *r)
{
    const char *s = r->line.p;
    size_t n = r->line.len;
    if (n == 3 && memcmp(s, "MSG", 3) == 0) {
        r->state = ST_MSG_TEXT;
        return 0;
    }
    int rc = parse_header(r, s, n);
    if (rc) {
        char shown[DDB_RESP_MAX_HEADER_LINE + 1];
        size_t k = n < DDB_RESP_MAX_HEADER_LINE ? n : DDB_RESP_MAX_HEADER_LINE;
        memcpy(shown, s ? s : "", k);
        shown[k] = 0;
        return fail(r, rc == -2 ? "response announces more than one object: '%.60s'"
                                : "malformed response header line '%.60s'", shown);
    }
    r->state = ST_STATUS;
    return 0;
}

/* The object's byte budget: the task's, or the limits'. */
static int64_t object_budget(const ddb_resp *r)
{
    return r->budget > 0 ? r->budget : r->limits.max_object_bytes;
}

static void begin_object(ddb_resp *r)
{
    ddb_decoder_reset(r->dec, r->little_endian);
    ddb__decoder_set_budget(r->dec, object_budget(r));
    r->dec_busy = 1;
}

void ddb__resp_begin_object(ddb_resp *r)
{
    begin_object(r);
}

static int on_status_line(ddb_resp *r)
{
    if (r->line.len == 2 && memcmp(r->line.p, "OK", 2) == 0 && r->object_count &&
        r->fetch) {
        r->state = ST_BLOCK_HEAD;       /* blocks or one object: ddb_proto_blocks.c */
        return 0;
    }
    if (r->line.len == 2 && memcmp(r->line.p, "OK", 2) == 0) {
        r->state = r->object_count ? ST_OBJECT : ST_DONE;
        if (r->object_count)
            begin_object(r);
        return 0;
    }
    /* Any other line is the error message; no object follows, whatever the count. */
    r->error = malloc(r->line.len + 1);
    if (!r->error)
        return fail(r, "%s", "out of memory for the error line");
    if (r->line.len)
        memcpy(r->error, r->line.p, r->line.len);
    r->error[r->line.len] = 0;
    r->is_error = 1;
    r->object_count = 0;
    r->state = ST_DONE;
    return 0;
}

/* The first line is "MSG" or "<digits> <digits> <digit>": reject anything else as
 * soon as it arrives instead of waiting for a line feed that may never come. */
static int plausible_first_line(const ddb_resp *r)
{
    const char *s = r->line.p;
    size_t n = r->line.len;
    if (n > 0 && s[0] == 'M')
        return n <= 3 && memcmp(s, "MSG", n) == 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] < '0' || s[i] > '9') && s[i] != ' ')
            return 0;
    return 1;
}

/* ---- the whole-response shortcut
 * A busy pool's replies nearly always arrive whole, as "<sid> <count> <e>\nOK\n" and
 * a small object. When this feed starts a response and holds its header and status
 * line, they are read in place (no copy into r->line, no line scans) and a scalar
 * object is built without the incremental decoder. Anything else — a MSG block, an
 * error line, a header split across feeds or not exactly well formed — is left to
 * the general states, untouched, so errors and odd input take one path only. */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of the run of ASCII digits at p, looking at most `max` bytes; eight bytes per
 * step, since session ids are 19 digits long. A byte is a digit when its top bit is
 * clear, subtracting '0' borrows nothing and adding 0x7F - '9' carries nothing into
 * its top bit; a byte outside the range always sets a top bit in one of the three
 * (a borrow or carry from it may set more, which only sends those eight bytes to the
 * byte loop). */
static size_t digit_run(const char *p, size_t max)
{
    const uint64_t zeros = 0x3030303030303030ull, to_top = 0x4646464646464646ull;
    const uint64_t tops = 0x8080808080808080ull;
    size_t i = 0;
    while (max - i >= 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (((v - zeros) | (v + to_top) | v) & tops)
            break;
        i += 8;
    }
    while (i < max && is_digit(p[i]))
        i++;
    return i;
}

/* "<1-31 digits> <1-3 digits> <0|1>\nOK\n" with a count of 0 or 1 at p: the bytes it
 * spans, or 0 when p holds anything else (or not all of it). */
static size_t fast_header(const char *p, size_t len, size_t *sid_len, int *count, int *le)
{
    size_t i = digit_run(p, len < 32 ? len : 32);
    if (i == 0 || i >= sizeof ((ddb_resp *)0)->session_id || i >= len || p[i] != ' ')
        return 0;
    *sid_len = i++;
    size_t c0 = i;
    int n = 0;
    while (i < len && i - c0 < 4 && is_digit(p[i]))
        n = n * 10 + (p[i++] - '0');
    size_t cnt_len = i - c0;
    if (cnt_len == 0 || cnt_len > 3 || n > 1 || len - i < 6)
        return 0;
    if (p[i] != ' ' || (p[i + 1] != '0' && p[i + 1] != '1') ||
        memcmp(p + i + 2, "\nOK\n", 4) != 0)
        return 0;
    *count = n;
    *le = p[i + 1] == '1';
    return i + 6;
}

/* Bytes of this feed the shortcut took (0: none, the general states go on). */
static size_t fast_start(ddb_resp *r, const char *p, size_t len)
{
    size_t sid_len = 0;
    int count = 0, le = 1;
    size_t pos = fast_header(p, len, &sid_len, &count, &le);
    if (!pos)
        return 0;
    memcpy(r->session_id, p, sid_len);
    r->session_id[sid_len] = 0;
    r->object_count = count;
    r->little_endian = le;
    r->state = ST_DONE;
    if (!count)
        return pos;
    size_t used = ddb__decode_scalar(p + pos, len - pos, le, object_budget(r), &r->obj);
    if (used)
        return pos + used;
    begin_object(r);
    r->state = ST_OBJECT;
    return pos;
}

int ddb_resp_feed(ddb_resp *r, const void *data, size_t len, size_t *consumed)
{
    const char *p = data;
    size_t pos = 0;
    *consumed = 0;
    if (r->state == ST_LINE && r->line.len == 0 && len && !r->general_only && !r->fetch)
        pos = fast_start(r, p, len);
    while (r->state != ST_DONE) {
        if (r->state == ST_FAILED)
            return DDB_RESP_ERROR;
        if (pos == len && r->state != ST_DONE)
            break;
        size_t used = 0;
        int rc;
        switch (r->state) {
        case ST_LINE:
            rc = collect_until(r, p + pos, len - pos, &used, '\n', DDB_RESP_MAX_HEADER_LINE);
            pos += used;
            if (rc >= 0 && !plausible_first_line(r))
                return fail(r, "%s", "not a DolphinDB response (bad bytes in the header "
                            "line)");
            if (rc < 0)
                return fail(r, "%s", "response header line too long (or not a DolphinDB "
                            "response)");
            if (rc == 1) {
                if (on_first_line(r))
                    return DDB_RESP_ERROR;
                ddb_buf_reset(&r->line);
            }
            break;
        case ST_MSG_TEXT: {
            /* Each block costs its text plus a fixed overhead: empty blocks are
             * free on the wire but not in memory. */
            size_t cap = DDB_RESP_MAX_MSG_BYTES - r->msg_bytes;
            rc = collect_until(r, p + pos, len - pos, &used, '\0', cap);
            pos += used;
            if (rc < 0)
                return fail(r, "%s", "MSG (print output) blocks exceed 16 MiB");
            if (rc == 1) {
                if (r->nmsgs >= DDB_RESP_MAX_MSGS)
                    return fail(r, "%s", "more than 100000 MSG (print output) blocks in "
                                "one response");
                r->msg_bytes += r->line.len + DDB_RESP_MSG_OVERHEAD;
                if (r->msg_bytes > DDB_RESP_MAX_MSG_BYTES)
                    return fail(r, "%s", "MSG (print output) blocks exceed 16 MiB");
                if (push_msg(r))
                    return fail(r, "%s", "out of memory for a MSG block");
                ddb_buf_reset(&r->line);
                r->state = ST_LINE;
            }
            break;
        }
        case ST_STATUS:
            rc = collect_until(r, p + pos, len - pos, &used, '\n', DDB_RESP_MAX_STATUS_LINE);
            pos += used;
            if (rc < 0)
                return fail(r, "%s", "response status line longer than 1 MiB");
            if (rc == 1) {
                if (on_status_line(r))
                    return DDB_RESP_ERROR;
                ddb_buf_reset(&r->line);
            }
            break;
        case ST_OBJECT:
            rc = ddb_decoder_feed(r->dec, p + pos, len - pos, &used);
            pos += used;
            if (rc == DDB_DEC_ERROR)
                return fail(r, "bad object in response: %s", ddb_decoder_error(r->dec));
            if (rc == DDB_DEC_DONE) {
                r->obj = ddb_decoder_take(r->dec);
                r->state = ST_DONE;
            }
            break;
        case ST_BLOCK_HEAD:
            if (ddb__blocks_head(r, p + pos, len - pos, &used))
                return DDB_RESP_ERROR;
            pos += used;
            break;
        case ST_BLOCK:
            rc = ddb__blocks_step(r, p + pos, len - pos, &used);
            pos += used;
            if (rc == DDB_RESP_ERROR)
                return rc;
            if (rc == DDB_RESP_BLOCK) {
                *consumed = pos;
                return DDB_RESP_BLOCK;
            }
            break;
        }
    }
    *consumed = pos;
    if (r->state == ST_DONE && split_msgs(r))
        return fail(r, "%s", "out of memory for the MSG blocks");
    return r->state == ST_DONE ? DDB_RESP_DONE : DDB_RESP_NEED_MORE;
}

char **ddb_resp_take_msgs(ddb_resp *r, int *n)
{
    char **m = r->msgs;
    *n = m ? r->nmsgs : 0;
    r->msgs = NULL;
    r->nmsgs = 0;
    return m;
}

char *ddb_resp_take_error(ddb_resp *r)
{
    char *e = r->error;
    r->error = NULL;
    return e;
}

int ddb_parse_not_leader(const char *msg, char *host, size_t hostlen, int *port)
{
    static const char tag[] = "<NotLeader>";
    const char *s = msg ? strstr(msg, tag) : NULL;
    if (!s)
        return 0;
    s += sizeof tag - 1;
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen)
        return 0;
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || v <= 0 || v > 65535)
        return 0;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    *port = (int)v;
    return 1;
}
