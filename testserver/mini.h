/* mini.h — ddbmini's process-wide state: configuration, users, fault switches,
 * the pretend cluster, running jobs and the HA retry cache. Everything here is
 * shared between the loop thread and the evaluation threads, so every access goes
 * through g_mini.lock (helpers below take it themselves). */
#ifndef DDBMINI_MINI_H
#define DDBMINI_MINI_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "ddb_obj.h"

#define MINI_VERSION "3.00.2.1 2024.09.01"
#define MINI_MAX_USERS 32
#define MINI_MAX_NODES 32
#define MINI_MAX_JOBS 1024
#define MINI_HA_CACHE 256
#define MINI_MAX_HEADER_LINE (64 * 1024)
#define MINI_MAX_BODY (64 * 1024 * 1024)
#define MINI_MAX_OBJECT (1LL << 30)     /* memory one decoded argument may take */

typedef struct mini_user {
    char name[64];
    char password[64];
    int admin;
} mini_user;

typedef struct mini_node {
    char host[64];
    int port;
    char alias[64];
    int down;                   /* simulated outage: hidden from cluster functions */
    int self;
} mini_node;

/* One switch of a fault: armed, parameter, and whether it disarms after firing. */
typedef struct mini_fault {
    int armed;
    int64_t param;
    int once;
} mini_fault;

typedef struct mini_faults {
    mini_fault drop;            /* close after `param` bytes of a response */
    mini_fault stall;           /* hold the response `param` ms (< 0: forever) */
    mini_fault garbage;         /* send `param` random bytes instead of the response */
    int64_t accept_delay_ms;    /* delay reading from new connections */
    int refuse;                 /* accept then close new connections */
    char not_leader[128];       /* answer "<NotLeader>this" to every request */
    int reject_login;           /* every login fails */
    char stream_not_leader[128]; /* publishTable answers "<NotLeader>this" (streaming.c) */
    int stream_tuples;          /* pushed rows one per message, as tuples of scalars */
    char stream_join_topic[128]; /* pushed messages name "<topic>,this" */
    char stream_sites[256];     /* publishTable answers (columns, these sites): an HA table */
} mini_faults;

/* What the writer must do to one response (taken from the switches atomically). */
typedef struct mini_fault_plan {
    int64_t drop_after;         /* -1: no drop */
    int64_t stall_ms;           /* 0: none; < 0: forever */
    int64_t garbage_bytes;      /* 0: none */
} mini_fault_plan;

typedef struct mini_job {
    int64_t session_id;
    int64_t job_id;
    char desc[128];
    char user[64];
    int64_t receive_ms;         /* TIMESTAMP */
    int priority, parallelism;
    volatile int cancelled;
    int used;
} mini_job;

typedef struct mini_ha_entry {
    char client_id[64];
    int64_t seq_no;
    /* the result serialized: objects are not shared between sessions' threads
     * (reference counts are not atomic), bytes are */
    char *result;               /* NULL: no object */
    size_t result_len;
    char *error;                /* NULL on success */
    int used;
    uint64_t touched;
} mini_ha_entry;

typedef struct mini_state {
    pthread_mutex_t lock;
    int port;                   /* actual listening port */
    int require_login;
    int compress_method;        /* DDB_COMPRESS_LZ4 or DDB_COMPRESS_DELTA for flag 64 */
    int64_t compressed_in[3];   /* compressed vectors received in requests, by method
                                   (compressedColumnsReceived()) */
    mini_user users[MINI_MAX_USERS];
    int nusers;
    mini_faults faults;
    mini_node nodes[MINI_MAX_NODES];
    int nnodes;
    char controller_alias[64];
    char leader[128];           /* "" or host:port of the leader */
    int connections;
    int64_t stream_max_rows;    /* rows a stream table may hold; 0: STREAM_MAX_ROWS */
    int64_t next_job_id;
    int stopping;               /* SIGTERM: jobs that start from now on are cancelled */
    mini_job jobs[MINI_MAX_JOBS];
    mini_ha_entry ha[MINI_HA_CACHE];
    uint64_t ha_clock;
} mini_state;

extern mini_state g_mini;

void mini_state_init(void);
void mini_state_free(void);
int mini_add_user(const char *spec, int admin);           /* "name:password" */
/* 1 when the credentials are valid (and logins are not rejected); *admin set. */
int mini_check_login(const char *user, const char *password, int *admin);

/* ---- faults (faults.c) ---- */
void faults_take(mini_fault_plan *plan);                   /* consumes one-shot ones */
/* "<NotLeader>host:port" when this node must redirect, else NULL (buf filled). */
const char *faults_not_leader(char *buf, size_t len);
int64_t faults_accept_delay(void);
int faults_refuse(void);

/* ---- cluster (cluster.c) ---- */
int cluster_parse(const char *spec);                       /* --cluster list */
void cluster_set_port(int port);                           /* resolves `self` */
int cluster_set_down(const char *hostport, int down);      /* 0, -1 unknown node */

/* ---- jobs ---- */
mini_job *jobs_start(int64_t session_id, const char *user, const char *desc,
                     int priority, int parallelism);
void jobs_finish(mini_job *job);
void jobs_cancel_all(void);                                /* shutdown */

/* ---- HA retry cache (docs/PROTOCOL.md §8.5) ---- */
#define MINI_HA_MAX_RESULT (16 * 1024 * 1024)  /* bigger results are not cached */
/* On a retry (seq < 0) of a cached request returns 1 with copies in result and error. */
int ha_lookup(const char *client_id, int64_t seq, ddb_obj **result, char **error);
void ha_store(const char *client_id, int64_t seq, const ddb_obj *result, const char *error);

int64_t mini_now_ms(void);

/* ---- logins that keep the password off the wire (auth.c) ---- */
struct eval_ctx;
/* Turns methods off (1 = off; 0 leaves it as it is): SCRAM, RSA-encrypted, plain. */
void auth_disable(int scram, int encrypted, int plain);
int auth_set_iterations(long n);                           /* SCRAM; -1 out of range */
int auth_add_scram_user(const char *spec);                 /* "name:password" */
int auth_init(char *err, size_t errlen);                   /* after the options */
int auth_load_rsa_key(const char *path, char *err, size_t errlen);  /* --rsa-key */
void auth_free(void);
int auth_plain_allowed(void);
int auth_encrypted_login(struct eval_ctx *ctx, const ddb_obj *enc_user, const ddb_obj *enc_password);
int auth_bi_public_key(struct eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int auth_bi_scram_first(struct eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
int auth_bi_scram_final(struct eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out);
#define AUTH_PLAIN_OFF "Plain-text login is disabled on this server (ddbmini --no-plain-login)"

#endif
