/* ddb_proto_internal.h — what the response parser's files share (private):
 * ddb_proto_resp.c runs the states, ddb_proto_blocks.c the block-wise ones. */
#ifndef DDB_PROTO_INTERNAL_H
#define DDB_PROTO_INTERNAL_H

#include "ddb_proto.h"

enum { ST_LINE, ST_MSG_TEXT, ST_STATUS, ST_OBJECT, ST_DONE, ST_FAILED,
       ST_BLOCK_HEAD,   /* fetch mode: the first 2 (ANY vector: 10) object bytes */
       ST_BLOCK };      /* fetch mode: decoding the next block */

/* Record a parse error (parse_error, ST_FAILED); returns DDB_RESP_ERROR. */
int ddb__resp_fail(ddb_resp *r, const char *fmt, const char *detail);
/* Reset the decoder for a new top-level object with the response's byte budget. */
void ddb__resp_begin_object(ddb_resp *r);

/* ST_BLOCK_HEAD: 0 (bytes used, state may change) or DDB_RESP_ERROR. */
int ddb__blocks_head(ddb_resp *r, const char *p, size_t len, size_t *used);
/* ST_BLOCK: 0 (all used, need more), DDB_RESP_BLOCK or DDB_RESP_ERROR. */
int ddb__blocks_step(ddb_resp *r, const char *p, size_t len, size_t *used);

#endif
