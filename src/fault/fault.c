/*
 * The fault record: setting it, filling in what was observed, and mapping
 * libuv's error codes to the catalogue's vocabulary.
 *
 * Invariant: every string field stays NUL-terminated, whatever a caller
 * passes in; text that came from a peer (a header name, a coding) is cut
 * at a UTF-8 character boundary and stripped of control bytes, since the
 * record ends up in a header field, a page and a log line.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "fault/fault.h"

void tt_fault_clear(struct tt_fault *f)
{
	memset(f, 0, sizeof(*f));
}

void tt_fault_set(struct tt_fault *f, enum tt_fault_id id, enum tt_stage stage, int sys_err)
{
	/* Field by field rather than a memset of the whole record, so the
	 * attempts (the history of this exchange) survive. */
	f->id = id;
	f->stage = stage;
	f->sys_err = sys_err;
	f->received_status = 0;
	memset(f->upstream, 0, sizeof(f->upstream));
	memset(f->group, 0, sizeof(f->group));
	memset(f->details, 0, sizeof(f->details));
	memset(f->param_name, 0, sizeof(f->param_name));
	memset(f->param_value, 0, sizeof(f->param_value));
	f->int_value = 0;
	f->param_is_int = 0;
}

/* The length of s[0..len) cut back so that it does not end inside a UTF-8
 * sequence: a continuation byte is never left without its lead byte. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;
	size_t back = n;

	if (n == len)
		return n;
	/* s[n] is the first byte dropped: if it continues a sequence, drop
	 * the sequence's start too. */
	while (back > 0 && ((unsigned char)s[back] & 0xC0) == 0x80)
		back--;
	return back;
}

/* Copy at most cap - 1 bytes of src[0..len) into dst, NUL-terminated, with
 * control bytes (which could split a log line or a header) made '?'.
 * Returns 1 when src had to be cut. */
static int copy_clean(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = utf8_cut(src, len, cap - 1);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[n] = 0;
	return n < len;
}

void tt_fault_details(struct tt_fault *f, const char *fmt, ...)
{
	char tmp[sizeof(f->details) * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		f->details[0] = 0;
		return;
	}
	if ((size_t)n >= sizeof(tmp))
		n = (int)sizeof(tmp) - 1;
	/* A cut is marked so nobody takes a shortened detail for the whole. */
	if (copy_clean(f->details, sizeof(f->details), tmp, (size_t)n)) {
		size_t at = utf8_cut(f->details, strlen(f->details), sizeof(f->details) - 4);
		memcpy(f->details + at, "...", 4);
	}
}

void tt_fault_param_str(struct tt_fault *f, const char *name, const char *value, size_t len)
{
	copy_clean(f->param_name, sizeof(f->param_name), name, strlen(name));
	copy_clean(f->param_value, sizeof(f->param_value), value ? value : "", value ? len : 0);
	f->int_value = 0;
	f->param_is_int = 0;
}

void tt_fault_param_int(struct tt_fault *f, const char *name, int64_t value)
{
	copy_clean(f->param_name, sizeof(f->param_name), name, strlen(name));
	/* The decimal text too, for readers that only print strings. */
	snprintf(f->param_value, sizeof(f->param_value), "%lld", (long long)value);
	f->int_value = value;
	f->param_is_int = 1;
}

struct tt_fault_attempt *tt_fault_attempt_add(struct tt_fault *f)
{
	struct tt_fault_attempt *a;

	if (f->nattempts >= TT_FAULT_MAX_ATTEMPTS) {
		/* Counted, not stored: the log still tells how many there were. */
		if (f->nattempts < INT_MAX)
			f->nattempts++;
		return NULL;
	}
	a = &f->attempts[f->nattempts++];
	memset(a, 0, sizeof(*a));
	a->connect_ms = -1;
	a->head_ms = -1;
	return a;
}

const char *tt_stage_name(enum tt_stage s)
{
	static const char *const names[] = {
#define X(id, str) str,
	    TT_STAGES(X)
#undef X
	};
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}

enum tt_fault_id tt_fault_from_uv(int uv_err, enum tt_stage stage)
{
	switch (uv_err) {
	case 0: return TT_FAULT_NONE;
	case UV_ECONNREFUSED: return TT_FAULT_CONNECTION_REFUSED;
	/* Outside connect, ETIMEDOUT is the kernel giving up on an
	 * established connection (retransmissions, keepalive probes). */
	case UV_ETIMEDOUT:
		return stage == TT_STAGE_CONNECT ? TT_FAULT_CONNECTION_TIMEOUT
		       : stage == TT_STAGE_SEND  ? TT_FAULT_CONNECTION_WRITE_TIMEOUT
		                                 : TT_FAULT_CONNECTION_READ_TIMEOUT;
	/* A local firewall rule refused the connect. */
	case UV_EACCES:
	case UV_EPERM: return TT_FAULT_DESTINATION_IP_PROHIBITED;
	case UV_ENETUNREACH:
	case UV_EHOSTUNREACH: return TT_FAULT_DESTINATION_IP_UNROUTABLE;
	case UV_ECONNRESET:
	case UV_EPIPE:
	case UV_EOF: return TT_FAULT_CONNECTION_TERMINATED;
	/* Resources of telltale's own host ran out: not the upstream's fault. */
	case UV_EMFILE:
	case UV_ENFILE:
	case UV_ENOMEM:
	case UV_EADDRNOTAVAIL: return TT_FAULT_PROXY_INTERNAL_ERROR;
	default: break;
	}
	return stage == TT_STAGE_CONNECT ? TT_FAULT_DESTINATION_UNAVAILABLE
	                                 : TT_FAULT_CONNECTION_TERMINATED;
}
