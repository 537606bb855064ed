/*
 * The fault: the record of why an attempt, or a whole exchange, failed.
 * One type, built in one place (the exchange), read by the Proxy-Status
 * writer, the error page, problem+json, the access log, metrics, doctor and
 * explain alike.
 *
 * Every fault telltale can produce is a row of the catalogue (catalogue.h):
 * its RFC 9209 error type, the status sent, the side and stage where it
 * happens, whether a retry is safe, its log token, and its story (a one-line
 * explanation, likely causes, numbered fix steps for the visitor and for the
 * operator).
 *
 * Invariant: a fault with id TT_FAULT_NONE carries nothing; any other id
 * indexes a catalogue row, and the record's strings are NUL-terminated.
 */
#ifndef TT_FAULT_FAULT_H
#define TT_FAULT_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "fault/catalogue.h"

/* Where in an exchange a fault happened. */
#define TT_STAGES(X)                                                                               \
	X(NONE, "none")                                                                            \
	X(REQUEST, "request") /* reading the downstream's request */                               \
	X(ROUTE, "route")     /* choosing an upstream */                                           \
	X(DNS, "dns")                                                                              \
	X(CONNECT, "connect")                                                                      \
	X(TLS, "tls")                                                                              \
	X(SEND, "send")           /* writing the request upstream */                               \
	X(WAIT_HEAD, "wait-head") /* request sent, no response byte yet */                         \
	X(READ_HEAD, "read-head") /* some of the response head received */                         \
	X(READ_BODY, "read-body") /* response head forwarded, body streaming */                    \
	X(RESPOND, "respond")     /* writing to the downstream */                                  \
	X(PROXY, "proxy")         /* inside telltale */

enum tt_stage {
#define X(id, s) TT_STAGE_##id,
	TT_STAGES(X)
#undef X
	    TT_STAGE__COUNT
};

/* Which hop of the chain downstream -> telltale -> upstream broke. */
enum tt_side {
	TT_SIDE_DOWNSTREAM = 0, /* the request was at fault */
	TT_SIDE_PROXY,          /* telltale itself (config, limits, internal) */
	TT_SIDE_UPSTREAM        /* the upstream or the way to it */
};

/* May another attempt run after this fault? */
enum tt_retry {
	TT_RETRY_NEVER = 0, /* the request may have been processed, or retrying cannot help */
	TT_RETRY_SAFE,      /* nothing reached the upstream: any method may be retried */
	TT_RETRY_IDEMPOTENT /* sent, no response: only idempotent methods may be retried */
};

#define TT_FAULT_MAX_ATTEMPTS 8

/* One try against one upstream server. */
struct tt_fault_attempt {
	char upstream[64];   /* "ip:port" */
	enum tt_fault_id id; /* TT_FAULT_NONE when it succeeded */
	enum tt_stage stage;
	int sys_err;       /* libuv code (negative errno), 0 = none */
	double connect_ms; /* < 0 = not reached */
	double head_ms;    /* < 0 = not reached */
	int reused;        /* the connection came from the keep-alive pool */
};

struct tt_fault {
	enum tt_fault_id id;
	enum tt_stage stage;
	int sys_err;         /* libuv code of the failure, 0 = none */
	int received_status; /* upstream status when one was received, 0 = none */
	char upstream[64];   /* "ip:port" of the failing server, "" = none */
	char group[64];      /* upstream group name, "" = none */
	/* RFC 9209 details: what was observed, for trusted eyes. */
	char details[200];
	/* One type-specific RFC 9209 parameter (header-section-size,
	 * header-name, coding, body-size...): name "" = none. Integer
	 * parameters have is_int set and the value in int_value. */
	char param_name[32];
	char param_value[96];
	int64_t int_value;
	int param_is_int;
	struct tt_fault_attempt attempts[TT_FAULT_MAX_ATTEMPTS];
	int nattempts;
};

/* Reset a record to TT_FAULT_NONE. */
void tt_fault_clear(struct tt_fault *f);

/* Set the id and stage; keeps nothing of an earlier fault but the attempts. */
void tt_fault_set(struct tt_fault *f, enum tt_fault_id id, enum tt_stage stage, int sys_err);

/* printf into details. */
void tt_fault_details(struct tt_fault *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set the type-specific parameter. */
void tt_fault_param_str(struct tt_fault *f, const char *name, const char *value, size_t len);
void tt_fault_param_int(struct tt_fault *f, const char *name, int64_t value);

/* Append an attempt (dropped silently past TT_FAULT_MAX_ATTEMPTS; the
 * count still grows so the log tells how many there were). Returns it or
 * NULL. */
struct tt_fault_attempt *tt_fault_attempt_add(struct tt_fault *f);

/* The stage's name as written in logs and details ("wait-head"). */
const char *tt_stage_name(enum tt_stage s);

/*
 * Map a libuv error met while connecting, reading or writing upstream to
 * the most specific fault: ECONNREFUSED -> CONNECTION_REFUSED, ETIMEDOUT ->
 * CONNECTION_TIMEOUT in connect (CONNECTION_WRITE_TIMEOUT in send,
 * CONNECTION_READ_TIMEOUT later), EACCES/EPERM -> DESTINATION_IP_PROHIBITED,
 * ENETUNREACH/EHOSTUNREACH -> DESTINATION_IP_UNROUTABLE,
 * ECONNRESET/EPIPE/EOF -> CONNECTION_TERMINATED, EMFILE/ENFILE/ENOMEM/
 * EADDRNOTAVAIL -> PROXY_INTERNAL_ERROR, anything else in connect ->
 * DESTINATION_UNAVAILABLE, else CONNECTION_TERMINATED.
 */
enum tt_fault_id tt_fault_from_uv(int uv_err, enum tt_stage stage);

#endif
