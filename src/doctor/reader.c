/*
 * Doctor's response reader (see reader.h): the proxy's parser, pump,
 * timers and classification, driven by bytes and times from a caller.
 */
#include "doctor/reader.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uint64_t ms_ns(uint64_t ms)
{
	return ms * 1000000ull;
}

void tt_doc_reader_init(struct tt_doc_reader *r, const struct tt_config *cfg, enum tt_h1_method m,
                        uint64_t t_start_ns, uint64_t t_sent_ns)
{
	uint32_t head = cfg->limits.head_bytes;

	memset(r, 0, sizeof(*r));
	r->to = &cfg->timeouts;
	/* The same limits as a worker's (core/worker.c). */
	r->lim.max_head_bytes = head;
	r->lim.max_target_bytes = head / 2;
	r->lim.max_field_bytes = head / 2;
	r->lim.max_fields = cfg->limits.header_count;
	r->fields = calloc(r->lim.max_fields ? r->lim.max_fields : 1, sizeof(*r->fields));
	r->buf = malloc(head ? head : 1);
	if (!r->fields || !r->buf)
		abort();
	r->method = m;
	r->t_start_ns = t_start_ns;
	r->t_sent_ns = t_sent_ns;
	r->t_last_ns = t_sent_ns;
	if (r->to->upstream_head_ms)
		r->head_deadline_ns = t_sent_ns + ms_ns(r->to->upstream_head_ms);
	tt_fault_clear(&r->fault);
}

void tt_doc_reader_fini(struct tt_doc_reader *r)
{
	free(r->fields);
	free(r->buf);
	r->fields = NULL;
	r->buf = NULL;
}

static enum tt_doc_phase fail(struct tt_doc_reader *r, enum tt_fault_id id, enum tt_stage st,
                              int sys_err, uint64_t now_ns)
{
	tt_fault_set(&r->fault, id, st, sys_err);
	if (r->head.status)
		r->fault.received_status = r->head.status;
	r->t_done_ns = now_ns;
	r->phase = TT_DOC_FAILED;
	return r->phase;
}

static enum tt_doc_phase finish(struct tt_doc_reader *r, uint64_t now_ns)
{
	r->phase = TT_DOC_DONE;
	r->t_done_ns = now_ns;
	r->keep_alive = !r->head.conn_close && r->head.framing != TT_H1_BODY_CLOSE && !r->extra;
	return r->phase;
}

/* Body bytes through the pump, as pump_response feeds it. */
static enum tt_doc_phase body(struct tt_doc_reader *r, char *in, size_t n, uint64_t now_ns)
{
	while (n && !r->pump.done) {
		uv_buf_t iov[TT_PUMP_MAX_IOV];
		int niov = 0;
		size_t used = 0;
		if (tt_pump_feed(&r->pump, in, n, iov, &niov, &used) != TT_PUMP_OK) {
			fail(r, TT_FAULT_HTTP_RESPONSE_TRANSFER_CODING, TT_STAGE_READ_BODY, 0,
			     now_ns);
			tt_fault_describe_bad_chunk(&r->fault, &r->pump.dec);
			return r->phase;
		}
		in += used;
		n -= used;
		if (!used && !r->pump.done)
			break;
	}
	if (r->pump.done) {
		r->extra = n > 0;
		return finish(r, now_ns);
	}
	return r->phase;
}

static void start_body(struct tt_doc_reader *r, uint64_t now_ns)
{
	const struct tt_h1_head *h = &r->head;
	enum tt_pump_in in = TT_PUMP_IN_NONE;

	if (h->framing == TT_H1_BODY_LENGTH)
		in = TT_PUMP_IN_LENGTH;
	else if (h->framing == TT_H1_BODY_CHUNKED)
		in = TT_PUMP_IN_CHUNKED;
	else if (h->framing == TT_H1_BODY_CLOSE)
		in = TT_PUMP_IN_CLOSE;
	tt_pump_init(&r->pump, in, h->content_length, TT_PUMP_OUT_RAW, 0);
	r->phase = TT_DOC_BODY;
	r->t_head_ns = now_ns;
}

/* Parse what the buffer holds; more input waits in *rest. */
static enum tt_doc_phase heads(struct tt_doc_reader *r, char **rest, size_t *nrest, uint64_t now_ns)
{
	size_t cap = r->lim.max_head_bytes;

	for (;;) {
		size_t take = *nrest < cap - r->len ? *nrest : cap - r->len;
		memcpy(r->buf + r->len, *rest, take);
		r->len += take;
		*rest += take;
		*nrest -= take;
		memset(&r->head, 0, sizeof(r->head));
		r->head.fields = r->fields;
		ssize_t k = tt_h1_parse_response(r->buf, r->len, r->method, &r->lim, &r->head);
		if (k == TT_H1_INCOMPLETE && r->len < cap)
			return r->phase;
		if (k == TT_H1_INCOMPLETE) {
			fail(r, TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE, TT_STAGE_READ_HEAD, 0,
			     now_ns);
			tt_fault_describe_head_overflow(&r->fault, r->len);
			return r->phase;
		}
		if (k == TT_H1_ERROR) {
			struct tt_h1_head bad = r->head;
			r->head.status = 0;
			fail(r, tt_fault_from_head_error(bad.err), TT_STAGE_READ_HEAD, 0, now_ns);
			tt_fault_describe_head_error(&r->fault, &bad, r->buf, r->len, &r->lim);
			return r->phase;
		}
		if (r->head.status == 101) {
			fail(r, TT_FAULT_HTTP_UPGRADE_FAILED, TT_STAGE_READ_HEAD, 0, now_ns);
			tt_fault_describe_unexpected_101(&r->fault);
			return r->phase;
		}
		if (r->head.status >= 200) {
			r->head.head_len = (size_t)k;
			start_body(r, now_ns);
			return r->phase;
		}
		/* RFC 9110 section 15.2: interim responses are skipped. */
		r->interim++;
		memmove(r->buf, r->buf + k, r->len - (size_t)k);
		r->len -= (size_t)k;
	}
}

/* Bytes after the end of the response: the connection cannot be reused
 * (response.c response_done). */
static void extra(struct tt_doc_reader *r)
{
	r->extra = 1;
	r->keep_alive = 0;
}

enum tt_doc_phase tt_doc_reader_feed(struct tt_doc_reader *r, char *data, size_t n, uint64_t now_ns)
{
	if (n && r->phase == TT_DOC_DONE)
		extra(r);
	if (r->phase >= TT_DOC_DONE || n == 0)
		return r->phase;
	r->bytes += n;
	if (r->phase == TT_DOC_BODY && now_ns - r->t_last_ns > r->max_gap_ns)
		r->max_gap_ns = now_ns - r->t_last_ns;
	r->t_last_ns = now_ns;
	if (r->phase == TT_DOC_HEAD) {
		if (heads(r, &data, &n, now_ns) != TT_DOC_BODY)
			return r->phase;
		/* Body bytes that came with the head, then the rest. */
		size_t off = r->head.head_len;
		body(r, r->buf + off, r->len - off, now_ns);
		if (n && r->phase == TT_DOC_DONE)
			extra(r);
		if (r->phase != TT_DOC_BODY)
			return r->phase;
	}
	return body(r, data, n, now_ns);
}

enum tt_doc_phase tt_doc_reader_eof(struct tt_doc_reader *r, int uv_err, uint64_t now_ns)
{
	enum tt_stage st;
	enum tt_fault_id id;

	if (r->phase == TT_DOC_HEAD) {
		id = tt_fault_from_eof(0, r->len, &st);
		fail(r, id, st, uv_err, now_ns);
		tt_fault_describe_eof_head(&r->fault, uv_err, r->len, 0);
	} else if (r->phase == TT_DOC_BODY) {
		uv_buf_t iov[2];
		int niov = 0;
		if (tt_pump_eof(&r->pump, iov, &niov) == TT_PUMP_OK) {
			finish(r, now_ns);
			r->keep_alive = 0;
			return r->phase;
		}
		id = tt_fault_from_eof(1, 0, &st);
		fail(r, id, st, uv_err, now_ns);
		tt_fault_describe_eof_body(&r->fault, uv_err, r->pump.in == TT_PUMP_IN_LENGTH,
		                           r->pump.body_bytes, r->pump.remaining);
	}
	return r->phase;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

uint64_t tt_doc_reader_deadline(const struct tt_doc_reader *r)
{
	uint64_t d = 0, idle = r->to->upstream_idle_ms;

	if (r->phase == TT_DOC_HEAD) {
		/* response.c arm_head_timer: the head deadline, or sooner the
		 * idle timeout once some bytes of the head arrived. */
		d = r->head_deadline_ns;
		if (r->len && idle)
			d = earliest(d, r->t_last_ns + ms_ns(idle));
	} else if (r->phase == TT_DOC_BODY && idle) {
		d = r->t_last_ns + ms_ns(idle);
	} else if (r->phase != TT_DOC_BODY) {
		return 0;
	}
	if (r->to->total_ms)
		d = earliest(d, r->t_start_ns + ms_ns(r->to->total_ms));
	return d;
}

void tt_doc_wait_state(const struct tt_doc_reader *r, const struct tt_cfg_timeouts *to,
                       uint64_t t_start_ns, uint64_t now_ns, struct tt_fault_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->to = to;
	w->total_expired = to->total_ms && now_ns - t_start_ns >= ms_ns(to->total_ms);
	if (!r)
		return;
	w->connected = 1;
	w->head_done = r->phase != TT_DOC_HEAD;
	w->head_bytes = w->head_done ? 0 : r->len;
	w->before_head_deadline = r->head_deadline_ns && now_ns < r->head_deadline_ns;
	w->body_bytes = r->pump.body_bytes;
}

enum tt_doc_phase tt_doc_reader_timeout(struct tt_doc_reader *r, uint64_t now_ns)
{
	struct tt_fault_wait w;
	enum tt_stage st;
	int sys_err;
	enum tt_fault_id id;

	if (r->phase >= TT_DOC_DONE)
		return r->phase;
	tt_doc_wait_state(r, r->to, r->t_start_ns, now_ns, &w);
	id = tt_fault_from_timeout(&w, &st, &sys_err);
	fail(r, id, st, sys_err, now_ns);
	tt_fault_describe_timeout(&r->fault, &w);
	return r->phase;
}
