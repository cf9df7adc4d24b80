/* ddb_proto.c — request builders and the response stream parser (see ddb_proto.h). */
#include "ddb_proto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ddb_decode_internal.h (its state names clash with the parser's): the budget of
 * the decoder's next object. */
void ddb__decoder_set_budget(ddb_decoder *d, int64_t max_bytes);

#define ERR(...) do { if (errbuf && errlen) snprintf(errbuf, errlen, __VA_ARGS__); } while (0)

void ddb_behavior_default(ddb_behavior *b)
{
    memset(b, 0, sizeof *b);
    b->priority = 4;
    b->parallelism = 64;
}

/* A bounded text builder for the request line and the behavior string: snprintf
 * costs about a thousand instructions per call, and every request took three, a
 * third of the pool's client CPU per small task. */
typedef struct text {
    char *p;
    size_t len, cap;
    int over;                   /* something did not fit */
} text;

static void text_put(text *t, const char *s, size_t n)
{
    if (t->over || n >= t->cap - t->len) {
        t->over = 1;
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_str(text *t, const char *s) { text_put(t, s, strlen(s)); }

/* Decimal digits of u, as %llu / %zu print it. */
static size_t format_uint(char *out, unsigned long long u)
{
    char rev[24];
    size_t n = 0, k = 0;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n) out[k++] = rev[--n];
    return k;
}

/* Decimal digits of v, as %lld prints it. */
static size_t format_int(char *out, long long v)
{
    if (v >= 0)
        return format_uint(out, (unsigned long long)v);
    /* negate in unsigned arithmetic: LLONG_MIN has no positive counterpart */
    out[0] = '-';
    return 1 + format_uint(out + 1, 0ULL - (unsigned long long)v);
}

static void text_int(text *t, long long v)
{
    char digits[24];
    text_put(t, digits, format_int(digits, v));
}

int ddb_behavior_format(const ddb_behavior *b, char *out, size_t outlen)
{
    if (outlen == 0) return -1;
    text t = { out, 0, outlen, 0 };
    out[0] = '\0';
    int ha = b->client_id && b->client_id[0];
    /* flag_1_priority_parallelism[_rootId_fetchSize_offset_clientId_seqNo]: fields 5
     * (rootId) and 7 (offset) are always empty; trailing empty fields are dropped
     * (docs/PROTOCOL.md §3.1). */
    text_int(&t, b->flag);
    text_str(&t, "_1_");
    text_int(&t, b->priority);
    text_str(&t, "_");
    text_int(&t, b->parallelism);
    if (b->fetch_size > 0 || ha) {
        text_str(&t, "__");
        if (b->fetch_size > 0) text_int(&t, b->fetch_size);
    }
    if (ha) {
        text_str(&t, "__");
        text_str(&t, b->client_id);
        text_str(&t, "_");
        text_int(&t, (long long)b->seqno);
    }
    return t.over ? -1 : (int)t.len;
}

static int has_byte(const char *s, size_t n, char c)
{
    return memchr(s, c, n) != NULL;
}

int ddb_req_connect(ddb_buf *out, int flag, const char *user, const char *pwd,
                    char *errbuf, size_t errlen)
{
    size_t start = out->len;
    if (!pwd)
        pwd = "";
    if (user && user[0] && (strchr(user, '\n') || strchr(pwd, '\n'))) {
        ERR("user name or password contains a line feed");
        return -1;
    }
    ddb_buf body;
    ddb_buf_init(&body);
    if (user && user[0])
        ddb_buf_printf(&body, "connect\nlogin\n%s\n%s\nfalse", user, pwd);
    else
        ddb_buf_puts(&body, "connect\n");
    ddb_buf_printf(out, "API 0 %zu / %d_1_4_2\n", body.len, flag);
    ddb_buf_put(out, body.p, body.len);
    int oom = body.oom || out->oom;
    ddb_buf_free(&body);
    if (oom) {
        out->len = start;
        ERR("out of memory building the connect request");
        return -1;
    }
    return 0;
}

static int format_behavior(const ddb_behavior *b, char *out, size_t n,
                           char *errbuf, size_t errlen)
{
    ddb_behavior def;
    if (!b) {
        ddb_behavior_default(&def);
        b = &def;
    }
    if (b->client_id && (strchr(b->client_id, '_') || strchr(b->client_id, ' ') ||
                         strchr(b->client_id, '\n'))) {
        ERR("client id must not contain '_', ' ' or LF");
        return -1;
    }
    int len = ddb_behavior_format(b, out, n);
    if (len < 0) {
        ERR("behavior string too long");
        return -1;
    }
    return len;
}

/* The behavior text of the last request made on this thread, without its HA tail,
 * reused while its inputs stay the same: a pool sends the same one or two
 * combinations of flag, priority, parallelism and fetch size over and over, and
 * formatting them was a good part of the header's cost. Thread-local, so pools on
 * different threads neither share nor race on it. An HA request's tail
 * (clientId_seqNo) changes with every request and is appended to it. */
typedef struct behavior_cache {
    int valid;
    int flag, priority, parallelism, fetch_size;
    int len;
    char text[64];              /* four ints and separators: at most 51 bytes */
} behavior_cache;

static _Thread_local behavior_cache cached_behavior;

static int cache_matches(const behavior_cache *c, const ddb_behavior *b)
{
    return c->valid && c->flag == b->flag && c->priority == b->priority &&
           c->parallelism == b->parallelism && c->fetch_size == b->fetch_size;
}

/* Fill the cache with b's text minus any HA tail. */
static int cache_fill(behavior_cache *c, const ddb_behavior *b)
{
    ddb_behavior plain = *b;
    plain.client_id = NULL;
    c->valid = 0;
    int len = ddb_behavior_format(&plain, c->text, sizeof c->text);
    if (len < 0)
        return -1;
    c->len = len;
    c->flag = b->flag;
    c->priority = b->priority;
    c->parallelism = b->parallelism;
    c->fetch_size = b->fetch_size;
    c->valid = 1;
    return 0;
}

/* The cached text plus "[__]__<clientId>_<seqNo>" in out (n bytes), as
 * ddb_behavior_format would write it; -1 if it does not fit. */
static int with_ha_tail(const behavior_cache *c, const ddb_behavior *b, char *out, size_t n)
{
    char seq[24];
    size_t seq_len = format_int(seq, (long long)b->seqno);
    size_t cid_len = strlen(b->client_id);
    size_t gap = b->fetch_size > 0 ? 0 : 2;    /* the empty fetch-size field's "__" */
    size_t len = (size_t)c->len + gap + 2 + cid_len + 1 + seq_len;
    if (len >= n)
        return -1;
    char *w = out;
    memcpy(w, c->text, (size_t)c->len);
    w += c->len;
    memcpy(w, "____", gap + 2);
    w += gap + 2;
    memcpy(w, b->client_id, cid_len);
    w += cid_len;
    *w++ = '_';
    memcpy(w, seq, seq_len);
    w[seq_len] = '\0';
    return (int)len;
}

/* The behavior text of b, from the cache when only the HA tail (if any) is new.
 * Returns its length, or -1 with errbuf filled. */
static int behavior_text(const ddb_behavior *b, char *scratch, size_t n,
                         const char **text, char *errbuf, size_t errlen)
{
    ddb_behavior def;
    if (!b) {
        ddb_behavior_default(&def);
        b = &def;
    }
    behavior_cache *c = &cached_behavior;
    if (!cache_matches(c, b) && cache_fill(c, b)) {
        *text = scratch;                /* cannot happen (51 bytes at most); be safe */
        return format_behavior(b, scratch, n, errbuf, errlen);
    }
    if (!b->client_id || !b->client_id[0]) {
        *text = c->text;
        return c->len;
    }
    if (strpbrk(b->client_id, "_ \n")) {
        ERR("client id must not contain '_', ' ' or LF");
        return -1;
    }
    int len = with_ha_tail(c, b, scratch, n);
    if (len < 0) {
        ERR("behavior string too long");
        return -1;
    }
    *text = scratch;
    return len;
}

int ddb_req_header(ddb_buf *out, const char *kind, const char *session_id,
                   size_t body_len, const ddb_behavior *b, char *errbuf, size_t errlen)
{
    char scratch[160];
    const char *behavior;
    int blen = behavior_text(b, scratch, sizeof scratch, &behavior, errbuf, errlen);
    if (blen < 0)
        return -1;
    /* "KIND SESSION BODYLEN / BEHAVIOR\n", sized first and copied in one go */
    const char *sid = session_id && session_id[0] ? session_id : "0";
    size_t kind_len = strlen(kind), sid_len = strlen(sid);
    char len_text[24];
    size_t len_len = format_uint(len_text, body_len);
    size_t total = kind_len + 1 + sid_len + 1 + len_len + 3 + (size_t)blen + 1;
    if (ddb_buf_reserve(out, total)) {
        ERR("out of memory building a request header");
        return -1;
    }
    char *w = out->p + out->len;
    memcpy(w, kind, kind_len);
    w += kind_len;
    *w++ = ' ';
    memcpy(w, sid, sid_len);
    w += sid_len;
    *w++ = ' ';
    memcpy(w, len_text, len_len);
    w += len_len;
    memcpy(w, " / ", 3);
    w += 3;
    memcpy(w, behavior, (size_t)blen);
    w += blen;
    *w = '\n';
    out->len += total;
    return 0;
}

int ddb_body_script(ddb_buf *body, const char *text, size_t text_len, size_t *body_len,
                    char *errbuf, size_t errlen)
{
    if (!text || has_byte(text, text_len, '\0')) {
        ERR("script is NULL or contains a NUL byte");
        return -1;
    }
    size_t start = body->len;
    ddb_buf_puts(body, "script\n");
    ddb_buf_put(body, text, text_len);
    if (body->oom) {
        body->len = start;
        ERR("out of memory building the script request");
        return -1;
    }
    *body_len = body->len - start;
    return 0;
}

static int encode_objects(ddb_buf *out, ddb_obj *const *objs, int n,
                          char *errbuf, size_t errlen)
{
    ddb_encoder enc;
    ddb_encoder_init(&enc);
    for (int i = 0; i < n; i++) {
        char why[200];
        if (!objs[i]) {
            ERR("argument %d is NULL", i + 1);
            return -1;
        }
        if (ddb_encode(&enc, out, objs[i], why, sizeof why)) {
            ERR("argument %d cannot be serialized: %s", i + 1, why);
            return -1;
        }
    }
    return 0;
}

/* "<cmd>\n<what>\n<n>\n1" followed by the encoded objects. */
static int put_call(ddb_buf *body, const char *cmd, const char *what,
                    ddb_obj *const *objs, int n, size_t *body_len,
                    char *errbuf, size_t errlen)
{
    if (n < 0 || (n > 0 && !objs)) {
        ERR("invalid argument count %d", n);
        return -1;
    }
    size_t start = body->len;
    char count[24];
    ddb_buf_puts(body, cmd);            /* no printf: it costs more than the rest */
    ddb_buf_u8(body, '\n');
    ddb_buf_puts(body, what);
    ddb_buf_u8(body, '\n');
    ddb_buf_put(body, count, format_int(count, n));
    ddb_buf_put(body, "\n1", 2);
    size_t text_len = body->len - start;
    int rc = body->oom ? -1 : encode_objects(body, objs, n, errbuf, errlen);
    if (rc == 0 && body->oom) {
        ERR("out of memory building the %s request", cmd);
        rc = -1;
    }
    if (rc) {
        body->len = start;      /* leave no half-built request behind */
        return -1;
    }
    *body_len = text_len;
    return 0;
}

int ddb_body_function(ddb_buf *body, const char *name, ddb_obj *const *args, int nargs,
                      size_t *body_len, char *errbuf, size_t errlen)
{
    if (!name || !name[0] || strchr(name, '\n')) {
        ERR("function name must be non-empty and on one line");
        return -1;
    }
    return put_call(body, "function", name, args, nargs, body_len, errbuf, errlen);
}

static int valid_var_name(const char *s)
{
    if (!s || !isalpha((unsigned char)s[0]))
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return 0;
    return 1;
}

int ddb_body_upload(ddb_buf *body, const char *const *names, ddb_obj *const *values,
                    int n, size_t *body_len, char *errbuf, size_t errlen)
{
    if (n <= 0 || !names) {
        ERR("an upload needs at least one name and value");
        return -1;
    }
    ddb_buf list;
    ddb_buf_init(&list);
    for (int i = 0; i < n; i++) {
        if (!valid_var_name(names[i])) {
            ERR("invalid variable name '%s' (a letter, then letters, digits or _)",
                names[i] ? names[i] : "(null)");
            ddb_buf_free(&list);
            return -1;
        }
        if (i)
            ddb_buf_u8(&list, ',');
        ddb_buf_puts(&list, names[i]);
    }
    ddb_buf_u8(&list, 0);
    int rc = list.oom ? -1 : put_call(body, "variable", list.p, values, n, body_len,
                                      errbuf, errlen);
    ddb_buf_free(&list);
    return rc;
}

/* Header + body in one buffer: the form the unit tests compare byte for byte. */
static int whole_request(ddb_buf *out, const char *sid, const ddb_behavior *b,
                         ddb_buf *body, size_t body_len, char *errbuf, size_t errlen)
{
    size_t start = out->len;
    int rc = ddb_req_header(out, "API2", sid, body_len, b, errbuf, errlen);
    if (rc == 0 && ddb_buf_put(out, body->p, body->len)) {
        ERR("out of memory building a request");
        rc = -1;
    }
    if (rc)
        out->len = start;
    ddb_buf_free(body);
    return rc;
}

int ddb_req_script(ddb_buf *out, const char *session_id, const ddb_behavior *b,
                   const char *text, size_t text_len, char *errbuf, size_t errlen)
{
    ddb_buf body;
    size_t n;
    ddb_buf_init(&body);
    if (ddb_body_script(&body, text, text_len, &n, errbuf, errlen)) {
        ddb_buf_free(&body);
        return -1;
    }
    return whole_request(out, session_id, b, &body, n, errbuf, errlen);
}

int ddb_req_function(ddb_buf *out, const char *session_id, const ddb_behavior *b,
                     const char *name, ddb_obj *const *args, int nargs,
                     char *errbuf, size_t errlen)
{
    ddb_buf body;
    size_t n;
    ddb_buf_init(&body);
    if (ddb_body_function(&body, name, args, nargs, &n, errbuf, errlen)) {
        ddb_buf_free(&body);
        return -1;
    }
    return whole_request(out, session_id, b, &body, n, errbuf, errlen);
}

int ddb_req_upload(ddb_buf *out, const char *session_id, const ddb_behavior *b,
                   const char *const *names, ddb_obj *const *values, int n,
                   char *errbuf, size_t errlen)
{
    ddb_buf body;
    size_t len;
    ddb_buf_init(&body);
    if (ddb_body_upload(&body, names, values, n, &len, errbuf, errlen)) {
        ddb_buf_free(&body);
        return -1;
    }
    return whole_request(out, session_id, b, &body, len, errbuf, errlen);
}

/* ------------------------------------------------------------------ parser */

enum { ST_LINE, ST_MSG_TEXT, ST_STATUS, ST_OBJECT, ST_DONE, ST_FAILED };

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
    r->state = ST_LINE;
    r->msg_bytes = 0;
    r->session_id[0] = 0;
    r->little_endian = 1;
    r->object_count = 0;
    r->is_error = 0;
    r->parse_error[0] = 0;
}

void ddb_resp_set_max_bytes(ddb_resp *r, int64_t max_bytes)
{
    r->budget = max_bytes;
}

static int fail(ddb_resp *r, const char *fmt, const char *detail)
{
    snprintf(r->parse_error, sizeof r->parse_error, fmt, detail);
    r->state = ST_FAILED;
    return DDB_RESP_ERROR;
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

static int on_status_line(ddb_resp *r)
{
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
    if (r->state == ST_LINE && r->line.len == 0 && len && !r->general_only)
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
        }
    }
    *consumed = pos;
    if (r->state == ST_DONE && split_msgs(r))
        return fail(r, "%s", "out of memory for the MSG blocks");
    return r->state == ST_DONE ? DDB_RESP_DONE : DDB_RESP_NEED_MORE;
}

ddb_obj *ddb_resp_take_obj(ddb_resp *r)
{
    ddb_obj *o = r->obj;
    r->obj = NULL;
    return o;
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
