/*
 * Upstream response problems to faults, shared by the proxy and doctor
 * (see classify.h). The wording of the details is what the access log and
 * trusted Proxy-Status readers see, so it lives here once.
 */
#include "fault/classify.h"

#include <netdb.h>
#include <string.h>
#include <uv.h>

enum tt_fault_id tt_fault_from_head_error(enum tt_h1_err err)
{
	switch (err) {
	case TT_H1_ERR_HEAD_TOO_LARGE:
	case TT_H1_ERR_TOO_MANY_FIELDS: return TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE;
	case TT_H1_ERR_FIELD_TOO_LARGE: return TT_FAULT_HTTP_RESPONSE_HEADER_SIZE;
	case TT_H1_ERR_TE_UNKNOWN: return TT_FAULT_HTTP_RESPONSE_TRANSFER_CODING;
	default: return TT_FAULT_HTTP_PROTOCOL_ERROR;
	}
}

/* The name of the field line around offset off of a head, lower-cased,
 * for header-name. */
static void field_name_at(const char *buf, size_t len, size_t off, char *out, size_t cap)
{
	size_t start = off < len ? off : len, n = 0;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	while (start + n < len && buf[start + n] != ':' && buf[start + n] != '\r' &&
	       buf[start + n] != '\n' && n + 1 < cap) {
		char ch = buf[start + n];
		out[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	out[n] = 0;
}

void tt_fault_describe_head_error(struct tt_fault *f, const struct tt_h1_head *h, const char *buf,
                                  size_t len, const struct tt_h1_limits *lim)
{
	unsigned char bad = h->err_offset < len ? (unsigned char)buf[h->err_offset] : 0;
	char name[64];

	switch (tt_fault_from_head_error(h->err)) {
	case TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE:
		tt_fault_param_int(f, "header-section-size", (int64_t)len);
		tt_fault_details(f, "%s: over %zu bytes or %zu fields", tt_h1_err_token(h->err),
		                 lim->max_head_bytes, lim->max_fields);
		return;
	case TT_FAULT_HTTP_RESPONSE_HEADER_SIZE:
		field_name_at(buf, len, h->err_offset, name, sizeof(name));
		tt_fault_param_str(f, "header-name", name, strlen(name));
		tt_fault_details(f, "field '%s' is over %zu bytes", name, lim->max_field_bytes);
		return;
	case TT_FAULT_HTTP_RESPONSE_TRANSFER_CODING:
		tt_fault_details(f, "Transfer-Encoding names a coding telltale cannot decode");
		return;
	default:
		if (bad >= 0x21 && bad < 0x7f)
			tt_fault_details(f, "%s at offset %zu: byte 0x%02x '%c'",
			                 tt_h1_err_token(h->err), h->err_offset, bad, bad);
		else
			tt_fault_details(f, "%s at offset %zu: byte 0x%02x",
			                 tt_h1_err_token(h->err), h->err_offset, bad);
	}
}

void tt_fault_describe_head_overflow(struct tt_fault *f, size_t received)
{
	tt_fault_param_int(f, "header-section-size", (int64_t)received);
	tt_fault_details(f, "no end of the head in %zu bytes", received);
}

void tt_fault_describe_unexpected_101(struct tt_fault *f)
{
	tt_fault_details(f, "101 Switching Protocols to a request without Upgrade");
}

/* The branches of tt_fault_from_timeout, in the order they are tried. */
enum wait_kind { W_TOTAL, W_CONNECT, W_HEAD_IDLE, W_HEAD, W_BODY };

static enum wait_kind wait_kind(const struct tt_fault_wait *w)
{
	if (w->total_expired)
		return W_TOTAL;
	if (!w->connected)
		return W_CONNECT;
	if (!w->head_done && w->head_bytes && w->before_head_deadline)
		return W_HEAD_IDLE;
	if (!w->head_done)
		return W_HEAD;
	return W_BODY;
}

enum tt_fault_id tt_fault_from_timeout(const struct tt_fault_wait *w, enum tt_stage *stage,
                                       int *sys_err)
{
	*sys_err = 0;
	switch (wait_kind(w)) {
	case W_TOTAL:
		*stage = w->head_done ? TT_STAGE_READ_BODY : TT_STAGE_WAIT_HEAD;
		return TT_FAULT_HTTP_RESPONSE_TIMEOUT;
	case W_CONNECT:
		*stage = TT_STAGE_CONNECT;
		*sys_err = UV_ETIMEDOUT;
		return TT_FAULT_CONNECTION_TIMEOUT;
	case W_HEAD_IDLE: *stage = TT_STAGE_READ_HEAD; return TT_FAULT_CONNECTION_READ_TIMEOUT;
	case W_HEAD:
		*stage = w->head_bytes ? TT_STAGE_READ_HEAD : TT_STAGE_WAIT_HEAD;
		return TT_FAULT_HTTP_RESPONSE_TIMEOUT;
	default: *stage = TT_STAGE_READ_BODY; return TT_FAULT_CONNECTION_READ_TIMEOUT;
	}
}

void tt_fault_describe_timeout(struct tt_fault *f, const struct tt_fault_wait *w)
{
	const struct tt_cfg_timeouts *to = w->to;

	switch (wait_kind(w)) {
	case W_TOTAL:
		tt_fault_details(f, "the exchange ran past timeouts.total (%llu ms)",
		                 (unsigned long long)to->total_ms);
		return;
	case W_CONNECT:
		tt_fault_details(f, "no answer to the connection attempt within %llu ms",
		                 (unsigned long long)to->upstream_connect_ms);
		return;
	case W_HEAD_IDLE:
		tt_fault_details(f, "%llu bytes of the head, then silence for %llu ms",
		                 (unsigned long long)w->head_bytes,
		                 (unsigned long long)to->upstream_idle_ms);
		return;
	case W_HEAD:
		tt_fault_details(f, "no complete response head within %llu ms",
		                 (unsigned long long)to->upstream_head_ms);
		return;
	default:
		tt_fault_details(f, "silence for %llu ms after %llu body bytes",
		                 (unsigned long long)to->upstream_idle_ms,
		                 (unsigned long long)w->body_bytes);
	}
}

enum tt_fault_id tt_fault_from_eof(int head_done, uint64_t head_bytes, enum tt_stage *stage)
{
	if (head_done) {
		*stage = TT_STAGE_READ_BODY;
		return TT_FAULT_HTTP_RESPONSE_INCOMPLETE;
	}
	*stage = head_bytes ? TT_STAGE_READ_HEAD : TT_STAGE_WAIT_HEAD;
	return TT_FAULT_CONNECTION_TERMINATED;
}

static const char *eof_text(int uv_err)
{
	return uv_err == UV_EOF ? "connection closed" : uv_strerror(uv_err);
}

void tt_fault_describe_eof_head(struct tt_fault *f, int uv_err, uint64_t head_bytes, int reused)
{
	tt_fault_details(f, "%s after %llu bytes of the response head%s", eof_text(uv_err),
	                 (unsigned long long)head_bytes,
	                 reused ? " (reused keep-alive connection)" : "");
}

void tt_fault_describe_eof_send(struct tt_fault *f, int uv_err, int has_body, uint64_t body_bytes)
{
	if (has_body)
		tt_fault_details(
		    f, "%s while the request was being sent, after %llu bytes of its body",
		    eof_text(uv_err), (unsigned long long)body_bytes);
	else
		tt_fault_details(f, "%s while the request head was being sent", eof_text(uv_err));
}

void tt_fault_describe_eof_body(struct tt_fault *f, int uv_err, int by_length, uint64_t body_bytes,
                                uint64_t remaining)
{
	if (by_length)
		tt_fault_details(f, "%s after %llu of %llu body bytes", eof_text(uv_err),
		                 (unsigned long long)body_bytes,
		                 (unsigned long long)(body_bytes + remaining));
	else
		tt_fault_details(f, "%s after %llu body bytes, before the last chunk",
		                 eof_text(uv_err), (unsigned long long)body_bytes);
}

void tt_fault_describe_bad_chunk(struct tt_fault *f, const struct tt_chunked *dec)
{
	tt_fault_param_str(f, "coding", "chunked", 7);
	tt_fault_details(f, "%s at body offset %llu", tt_chunked_err_token(dec->err),
	                 (unsigned long long)dec->err_offset);
}

void tt_fault_describe_connect_error(struct tt_fault *f, const char *addr, int uv_err)
{
	tt_fault_details(f, "connect to %s: %s", addr, uv_strerror(uv_err));
}

void tt_fault_describe_send_error(struct tt_fault *f, int uv_err, int has_body, uint64_t body_bytes)
{
	if (has_body)
		tt_fault_details(f, "writing the request: %s, after %llu bytes of its body",
		                 uv_strerror(uv_err), (unsigned long long)body_bytes);
	else
		tt_fault_details(f, "writing the request: %s", uv_strerror(uv_err));
}

enum tt_fault_id tt_fault_from_gai(int gai_err)
{
	return gai_err == EAI_AGAIN ? TT_FAULT_DNS_TIMEOUT : TT_FAULT_DNS_ERROR;
}
