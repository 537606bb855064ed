/*
 * Doctor's report as one JSON document (see docs/doctor.md for the
 * shape). Strings are escaped byte for byte: control characters as \uXXXX,
 * bytes >= 0x80 passed through (the texts are UTF-8; seen text quotes
 * upstream bytes only in escaped form).
 */
#include "doctor/report.h"

#include <string.h>

void tt_doc_json_str(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void str_or_null(FILE *out, const char *s)
{
	if (s && s[0])
		tt_doc_json_str(out, s, strlen(s));
	else
		fputs("null", out);
}

static void key(FILE *out, const char *k, const char *s)
{
	fprintf(out, ",\"%s\":", k);
	str_or_null(out, s);
}

static void dns_json(FILE *out, const struct tt_doc_dns_facts *d)
{
	fputs("{\"name\":", out);
	str_or_null(out, d->name);
	key(out, "resolver", d->resolver);
	fputs(",\"addresses\":[", out);
	for (size_t i = 0; i < d->naddrs && i < TT_DOC_DNS_MAX; i++) {
		fputs(i ? ",{\"address\":" : "{\"address\":", out);
		str_or_null(out, d->addrs[i].addr);
		fprintf(out, ",\"ttl\":%u}", (unsigned)d->addrs[i].ttl_s);
	}
	fputc(']', out);
	key(out, "rcode", d->rcode);
	fputc('}', out);
}

static void chain_json(FILE *out, const struct tt_doc_tls_facts *t)
{
	fputs(",\"chain\":[", out);
	for (int i = 0; i < t->info.nchain && i < TT_TLS_INFO_CHAIN; i++) {
		const struct tt_tls_cert_summary *c = &t->info.chain[i];
		fputs(i ? ",{\"subject\":" : "{\"subject\":", out);
		str_or_null(out, c->subject);
		key(out, "issuer", c->issuer);
		key(out, "not_after", c->not_after);
		fputs(",\"days_left\":", out);
		if (t->days_known[i])
			fprintf(out, "%ld}", t->days_left[i]);
		else
			fputs("null}", out);
	}
	fputc(']', out);
}

static void tls_json(FILE *out, const struct tt_doc_tls_facts *t)
{
	const struct tt_tls_info *in = &t->info;
	fputs("{\"version\":", out);
	str_or_null(out, in->version);
	key(out, "cipher", in->cipher);
	key(out, "alpn", in->alpn);
	key(out, "sni", t->sni_sent ? in->sni : NULL);
	key(out, "name", in->sni);
	fprintf(out, ",\"resumed\":%s,\"verify\":%s,\"verify_result\":{\"code\":%d,\"text\":",
	        in->resumed ? "true" : "false", t->verify ? "true" : "false", in->verify_code);
	str_or_null(out, in->verify_text);
	fputs("},\"would_verify\":", out);
	if (t->would_checked) {
		fprintf(out, "{\"ok\":%s,\"details\":", t->would_pass ? "true" : "false");
		str_or_null(out, t->would);
		fputc('}', out);
	} else {
		fputs("null", out);
	}
	chain_json(out, t);
	fputc('}', out);
}

static void step_json(FILE *out, const struct tt_doc_step *s)
{
	fprintf(out, "{\"n\":%d,\"name\":\"%s\",\"server\":", s->n, tt_doc_step_name(s->n));
	str_or_null(out, s->server);
	fprintf(out, ",\"status\":\"%s\",\"ms\":", tt_doc_status_name(s->status));
	if (s->ms >= 0)
		fprintf(out, "%.3f", s->ms);
	else
		fputs("null", out);
	fputs(",\"seen\":", out);
	tt_doc_json_str(out, s->seen, strlen(s->seen));
	if (s->dns) {
		fputs(",\"dns\":", out);
		dns_json(out, s->dns);
	}
	if (s->tls) {
		fputs(",\"tls\":", out);
		tls_json(out, s->tls);
	}
	fputc('}', out);
}

static void lines_json(FILE *out, const char *column)
{
	const char *item;
	size_t len, pos = 0;
	int first = 1;

	fputc('[', out);
	while (column && tt_fault_lines(column, &pos, &item, &len)) {
		if (!first)
			fputc(',', out);
		tt_doc_json_str(out, item, len);
		first = 0;
	}
	fputc(']', out);
}

static void verdict_json(FILE *out, const struct tt_doc_report *rep)
{
	const struct tt_fault_info *fi = tt_fault_info(rep->fault.id);
	const struct tt_fault *f = &rep->fault;

	if (!fi) {
		fputs("{\"fault\":null,\"type\":null,\"status\":null,\"stage\":null,\"title\":",
		      out);
		str_or_null(out, tt_doc_report_failed(rep) ? "a step failed without a fault"
		                                           : "no fault");
		fputs(",\"explanation\":null,\"details\":null,\"server\":null,"
		      "\"operator_steps\":[]}",
		      out);
		return;
	}
	fputs("{\"fault\":", out);
	str_or_null(out, fi->token);
	fputs(",\"type\":", out);
	str_or_null(out, fi->type);
	fprintf(out, ",\"status\":%d,\"stage\":\"%s\",\"title\":", fi->status,
	        tt_stage_name(f->stage));
	str_or_null(out, fi->title);
	fputs(",\"explanation\":", out);
	str_or_null(out, fi->explain);
	fputs(",\"details\":", out);
	str_or_null(out, f->details);
	fputs(",\"server\":", out);
	str_or_null(out, rep->fault_server);
	if (f->param_name[0]) {
		fputs(",\"param\":{", out);
		tt_doc_json_str(out, f->param_name, strlen(f->param_name));
		fputc(':', out);
		if (f->param_is_int)
			fprintf(out, "%lld", (long long)f->int_value);
		else
			tt_doc_json_str(out, f->param_value, strlen(f->param_value));
		fputc('}', out);
	}
	fputs(",\"operator_steps\":", out);
	lines_json(out, fi->operator_);
	fputc('}', out);
}

void tt_doc_write_json(FILE *out, const struct tt_doc_report *rep)
{
	fputs("{\"url\":", out);
	str_or_null(out, rep->url);
	fputs(",\"upstream\":", out);
	str_or_null(out, rep->upstream);
	fputs(",\"ok\":", out);
	fputs(tt_doc_report_failed(rep) ? "false" : "true", out);
	fputs(",\"steps\":[", out);
	for (size_t i = 0; i < rep->nsteps; i++) {
		if (i)
			fputc(',', out);
		step_json(out, &rep->steps[i]);
	}
	fputs("],\"verdict\":", out);
	verdict_json(out, rep);
	fputs("}\n", out);
}
