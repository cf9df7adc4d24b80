/* ddb_proto.c — request builders: the connect request, bodies, the request line and
 * its behavior string (see ddb_proto.h; the response parser is ddb_proto_resp.c). */
#include "ddb_proto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(...) do { if (errbuf && errlen) snprintf(errbuf, errlen, __VA_ARGS__); } while (0)

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
    body.secret = out->secret;
    if (user && user[0]) {        /* puts, not printf: no stack copy of the password */
        ddb_buf_puts(&body, "connect\nlogin\n");
        ddb_buf_puts(&body, user);
        ddb_buf_puts(&body, "\n");
        ddb_buf_puts(&body, pwd);
        ddb_buf_puts(&body, "\nfalse");
    } else
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
    body.secret = out->secret;      /* a login's arguments */
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
