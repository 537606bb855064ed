/*
 * The access log: one JSON object per line per request, written to stdout,
 * a file, or nowhere.
 *
 * Formatting is a pure function (tt_log_format). Each worker appends lines
 * to its own buffer and flushes it with one write(2) under the sink's lock
 * when it fills or on the worker's flush timer, so the hot path makes no
 * system call per request and lines from different workers never interleave.
 */
#ifndef TT_OBS_ACCESS_LOG_H
#define TT_OBS_ACCESS_LOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fault/fault.h"

/* One request's record. Strings need not be NUL-terminated where a length
 * is given; NULL strings and negative durations are written as null. */
struct tt_log_entry {
	uint64_t time_ms; /* wall clock, ms since the epoch, at request start */
	const char *request_id;
	const char *trace_id;   /* W3C trace-id, 32 hex digits, or NULL */
	const char *downstream; /* "ip:port" */
	/* The downstream's TLS session (static strings), NULL on plain HTTP. */
	const char *tls_version; /* "TLSv1.3" */
	const char *tls_cipher;  /* "TLS_AES_256_GCM_SHA384" */
	int tls_resumed;
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	int status;
	uint64_t bytes_in;  /* request body payload bytes */
	uint64_t bytes_out; /* bytes written downstream, head included */
	double duration_ms;
	const char *upstream;         /* "ip:port" or NULL */
	int upstream_status;          /* 0 = none */
	double upstream_connect_ms;   /* < 0 = none */
	double upstream_head_ms;      /* < 0 = none */
	const struct tt_fault *fault; /* why it failed (id NONE: it did not), and every attempt */
};

/* Longest target written; longer ones are cut and marked with "...". */
#define TT_LOG_TARGET_MAX 4096
/* Room one formatted line can need at most: an escaped target, the
 * fault's details and up to TT_FAULT_MAX_ATTEMPTS attempts. */
#define TT_LOG_LINE_MAX (6 * TT_LOG_TARGET_MAX + 6 * 200 + 4096)

/* Format one line, newline included, into out (cap >= TT_LOG_LINE_MAX).
 * Returns its length. */
size_t tt_log_format(char *out, size_t cap, const struct tt_log_entry *e);

/* Where lines go; shared by the workers. */
struct tt_log_sink {
	int fd; /* -1 = off */
	int owns_fd;
	pthread_mutex_t mu;
};

/* Open the sink for the config's access_log value (NULL = off, "-" =
 * stdout, else a file opened for append). Returns 0 or -errno. */
int tt_log_sink_open(struct tt_log_sink *s, const char *where);
void tt_log_sink_close(struct tt_log_sink *s);

/* A worker's pending lines. */
struct tt_log_buf {
	struct tt_log_sink *sink;
	char *data; /* heap, TT_LOG_BUF_BYTES */
	size_t len;
};
#define TT_LOG_BUF_BYTES (64 * 1024)

void tt_log_buf_init(struct tt_log_buf *b, struct tt_log_sink *sink);
void tt_log_buf_fini(struct tt_log_buf *b); /* flushes first */
/* Format and append an entry; flushes when the buffer is nearly full. */
void tt_log_write(struct tt_log_buf *b, const struct tt_log_entry *e);
void tt_log_flush(struct tt_log_buf *b);

#endif
