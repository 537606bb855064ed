/*
 * Access log: see access_log.h. Strings are escaped for JSON; bytes outside
 * printable ASCII are written as \u00XX so a line is always valid JSON
 * whatever a downstream put in its request target.
 */
#include "obs/access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_esc(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(o, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(o, e, 6);
		} else {
			put(o, (const char *)&s[i], 1);
		}
	}
	put(o, "\"", 1);
}

static void key_str(struct out *o, const char *key, const char *s, size_t n)
{
	puts_(o, ",\"");
	puts_(o, key);
	puts_(o, "\":");
	if (s)
		put_esc(o, s, n);
	else
		puts_(o, "null");
}

static void key_num(struct out *o, const char *key, int decimals, double v, int null)
{
	char tmp[64];
	puts_(o, ",\"");
	puts_(o, key);
	puts_(o, "\":");
	if (null) {
		puts_(o, "null");
		return;
	}
	int n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
	put(o, tmp, (size_t)n);
}

static void put_attempt(struct out *o, const struct tt_fault_attempt *a)
{
	const struct tt_fault_info *fi = tt_fault_info(a->id);
	puts_(o, "{\"upstream\":");
	put_esc(o, a->upstream, strlen(a->upstream));
	key_str(o, "fault", fi ? fi->token : NULL, fi ? strlen(fi->token) : 0);
	if (fi) {
		const char *st = tt_stage_name(a->stage);
		key_str(o, "stage", st, strlen(st));
	} else {
		key_str(o, "stage", NULL, 0);
	}
	key_num(o, "connect_ms", 3, a->connect_ms, a->connect_ms < 0);
	key_num(o, "head_ms", 3, a->head_ms, a->head_ms < 0);
	puts_(o, a->reused ? ",\"reused\":true}" : ",\"reused\":false}");
}

/* "fault", "fault_type", "fault_stage", "fault_details" and "attempts". */
static void put_fault(struct out *o, const struct tt_fault *f)
{
	const struct tt_fault_info *fi = f ? tt_fault_info(f->id) : NULL;
	int n = f ? f->nattempts : 0;
	if (fi) {
		const char *st = tt_stage_name(f->stage);
		key_str(o, "fault", fi->token, strlen(fi->token));
		key_str(o, "fault_type", fi->type, strlen(fi->type));
		key_str(o, "fault_stage", st, strlen(st));
		key_str(o, "fault_details", f->details[0] ? f->details : NULL, strlen(f->details));
	} else {
		puts_(o, ",\"fault\":null,\"fault_type\":null,\"fault_stage\":null,\"fault_"
		         "details\":null");
	}
	puts_(o, ",\"attempts\":[");
	for (int i = 0; i < n && i < TT_FAULT_MAX_ATTEMPTS; i++) {
		if (i)
			puts_(o, ",");
		put_attempt(o, &f->attempts[i]);
	}
	puts_(o, "]");
}

size_t tt_log_format(char *buf, size_t cap, const struct tt_log_entry *e)
{
	struct out o = {buf, 0, cap - 1};
	char ts[64];
	time_t secs = (time_t)(e->time_ms / 1000);
	struct tm tm;
	size_t tlen = e->target_len;

	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	puts_(&o, "{\"time\":\"");
	puts_(&o, ts);
	snprintf(ts, sizeof(ts), ".%03uZ\"", (unsigned)(e->time_ms % 1000));
	puts_(&o, ts);
	key_str(&o, "request_id", e->request_id, e->request_id ? strlen(e->request_id) : 0);
	key_str(&o, "trace_id", e->trace_id, e->trace_id ? strlen(e->trace_id) : 0);
	key_str(&o, "downstream", e->downstream, e->downstream ? strlen(e->downstream) : 0);
	if (e->tls_version) {
		key_str(&o, "tls", e->tls_version, strlen(e->tls_version));
		key_str(&o, "tls_cipher", e->tls_cipher, e->tls_cipher ? strlen(e->tls_cipher) : 0);
		puts_(&o, e->tls_resumed ? ",\"tls_resumed\":true" : ",\"tls_resumed\":false");
	}
	key_str(&o, "method", e->method, e->method_len);
	if (tlen > TT_LOG_TARGET_MAX)
		tlen = TT_LOG_TARGET_MAX;
	key_str(&o, "target", e->target, tlen);
	if (tlen < e->target_len) {
		o.len--; /* reopen the string to mark the cut */
		puts_(&o, "...\"");
	}
	key_num(&o, "status", 0, e->status, 0);
	key_num(&o, "bytes_in", 0, (double)e->bytes_in, 0);
	key_num(&o, "bytes_out", 0, (double)e->bytes_out, 0);
	key_num(&o, "duration_ms", 3, e->duration_ms, 0);
	key_str(&o, "upstream", e->upstream, e->upstream ? strlen(e->upstream) : 0);
	key_num(&o, "upstream_status", 0, e->upstream_status, e->upstream_status == 0);
	key_num(&o, "upstream_connect_ms", 3, e->upstream_connect_ms, e->upstream_connect_ms < 0);
	key_num(&o, "upstream_head_ms", 3, e->upstream_head_ms, e->upstream_head_ms < 0);
	put_fault(&o, e->fault);
	o.cap++;
	puts_(&o, "}\n");
	return o.len;
}

int tt_log_sink_open(struct tt_log_sink *s, const char *where)
{
	s->fd = -1;
	s->owns_fd = 0;
	pthread_mutex_init(&s->mu, NULL);
	if (!where)
		return 0;
	if (strcmp(where, "-") == 0) {
		s->fd = STDOUT_FILENO;
		return 0;
	}
	s->fd = open(where, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->fd < 0)
		return -errno;
	s->owns_fd = 1;
	return 0;
}

void tt_log_sink_close(struct tt_log_sink *s)
{
	if (s->owns_fd && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	pthread_mutex_destroy(&s->mu);
}

void tt_log_buf_init(struct tt_log_buf *b, struct tt_log_sink *sink)
{
	b->sink = sink;
	b->len = 0;
	b->data = NULL;
	if (sink->fd >= 0) {
		b->data = malloc(TT_LOG_BUF_BYTES);
		if (!b->data)
			abort();
	}
}

void tt_log_buf_fini(struct tt_log_buf *b)
{
	tt_log_flush(b);
	free(b->data);
	b->data = NULL;
}

void tt_log_flush(struct tt_log_buf *b)
{
	size_t off = 0;
	if (!b->len || b->sink->fd < 0)
		return;
	pthread_mutex_lock(&b->sink->mu);
	while (off < b->len) {
		ssize_t n = write(b->sink->fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a full disk or closed pipe must not stop the proxy */
		off += (size_t)n;
	}
	pthread_mutex_unlock(&b->sink->mu);
	b->len = 0;
}

void tt_log_write(struct tt_log_buf *b, const struct tt_log_entry *e)
{
	if (!b->data)
		return;
	if (TT_LOG_BUF_BYTES - b->len < TT_LOG_LINE_MAX)
		tt_log_flush(b);
	b->len += tt_log_format(b->data + b->len, TT_LOG_BUF_BYTES - b->len, e);
}
