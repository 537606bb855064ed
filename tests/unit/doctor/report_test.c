/*
 * Doctor's report writers: the JSON document is well formed and escaped,
 * the text marks each step and uses colour only when asked.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/report.h"

/* Run a writer into a heap string (caller frees). */
static char *render(const struct tt_doc_report *rep, int json, int colour)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert(f);
	if (json)
		tt_doc_write_json(f, rep);
	else
		tt_doc_write_text(f, rep, colour);
	fclose(f);
	return buf;
}

static void sample(struct tt_doc_report *rep, int fail)
{
	struct tt_fault f;
	tt_doc_report_init(rep);
	snprintf(rep->url, sizeof(rep->url), "http://h/\"q\"");
	tt_doc_step_add(rep, TT_DOC_STEP_CONFIG, "", TT_DOC_SKIP, -1, "no config");
	tt_doc_step_add(rep, TT_DOC_STEP_DNS, "h:80", TT_DOC_PASS, 0.5, "a\nb\tc\x01");
	if (!fail)
		return;
	tt_doc_step_add(rep, TT_DOC_STEP_CONNECT, "h:80", TT_DOC_FAIL, 1.25, "refused");
	tt_fault_clear(&f);
	tt_fault_set(&f, TT_FAULT_CONNECTION_REFUSED, TT_STAGE_CONNECT, 0);
	tt_fault_details(&f, "connect to 10.0.0.1:80: connection refused");
	tt_doc_verdict(rep, &f, "h:80");
}

Test(doctor_report, json_escapes_and_names_the_fault)
{
	struct tt_doc_report rep;
	sample(&rep, 1);
	char *out = render(&rep, 1, 0);
	cr_expect(strstr(out, "\"url\":\"http://h/\\\"q\\\"\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"seen\":\"a\\nb\\tc\\u0001\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"ok\":false") != NULL, "%s", out);
	cr_expect(strstr(out, "\"type\":\"connection_refused\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"fault\":\"upstream_refused\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"status\":502") != NULL, "%s", out);
	cr_expect(strstr(out, "\"operator_steps\":[\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"ms\":null") != NULL, "%s", out);
	cr_expect(strstr(out, "\"ms\":1.250") != NULL, "%s", out);
	free(out);
	tt_doc_report_fini(&rep);
}

Test(doctor_report, json_without_a_fault_has_nulls)
{
	struct tt_doc_report rep;
	sample(&rep, 0);
	char *out = render(&rep, 1, 0);
	cr_expect(strstr(out, "\"ok\":true") != NULL, "%s", out);
	cr_expect(strstr(out, "\"fault\":null,\"type\":null") != NULL, "%s", out);
	cr_expect(strstr(out, "\"operator_steps\":[]") != NULL, "%s", out);
	free(out);
	tt_doc_report_fini(&rep);
}

Test(doctor_report, text_marks_steps_and_colours_only_when_asked)
{
	struct tt_doc_report rep;
	sample(&rep, 1);
	char *plain = render(&rep, 0, 0), *col = render(&rep, 0, 1);
	cr_expect(strstr(plain, "\u2713 2. dns") != NULL, "%s", plain);
	cr_expect(strstr(plain, "\u2717 3. connect") != NULL, "%s", plain);
	cr_expect(strstr(plain, "\u2013 1. config") != NULL, "%s", plain);
	cr_expect(strstr(plain, "What the operator can do:\n    1. ") != NULL, "%s", plain);
	cr_expect(strchr(plain, '\033') == NULL, "%s", plain);
	cr_expect(strchr(col, '\033') != NULL, "%s", col);
	free(plain);
	free(col);
	tt_doc_report_fini(&rep);
}

Test(doctor_report, the_first_fault_is_the_verdict)
{
	struct tt_doc_report rep;
	struct tt_fault f;
	sample(&rep, 1);
	tt_fault_clear(&f);
	tt_fault_set(&f, TT_FAULT_DNS_ERROR, TT_STAGE_DNS, 0);
	tt_doc_verdict(&rep, &f, "other:80");
	cr_expect_eq(rep.fault.id, TT_FAULT_CONNECTION_REFUSED);
	cr_expect_str_eq(rep.fault_server, "h:80");
	cr_expect(tt_doc_report_failed(&rep));
	tt_doc_report_fini(&rep);
}

Test(report, json_carries_dns_and_tls_facts)
{
	struct tt_doc_report rep;
	struct tt_doc_step *st;
	tt_doc_report_init(&rep);
	st = tt_doc_step_add(&rep, TT_DOC_STEP_DNS, "app.test:80", TT_DOC_FAIL, 3.0, "nx");
	struct tt_doc_dns_facts *d = tt_doc_step_dns_facts(st);
	snprintf(d->name, sizeof(d->name), "app.test");
	snprintf(d->resolver, sizeof(d->resolver), "10.0.0.53");
	d->rcode = "NXDOMAIN";
	st = tt_doc_step_add(&rep, TT_DOC_STEP_TLS, "app.test:80", TT_DOC_PASS, 1.0, "ok");
	struct tt_doc_tls_facts *t = tt_doc_step_tls_facts(st);
	snprintf(t->info.version, sizeof(t->info.version), "TLSv1.2");
	snprintf(t->info.sni, sizeof(t->info.sni), "10.0.0.1");
	t->info.nchain = 1;
	snprintf(t->info.chain[0].subject, sizeof(t->info.chain[0].subject), "CN=\"x\"");
	t->days_known[0] = 1;
	t->days_left[0] = -2;
	char *out = render(&rep, 1, 0);
	cr_assert(strstr(out, "\"dns\":{\"name\":\"app.test\",\"resolver\":\"10.0.0.53\","
	                      "\"addresses\":[],\"rcode\":\"NXDOMAIN\"}"),
	          "%s", out);
	cr_assert(strstr(out, "\"tls\":{\"version\":\"TLSv1.2\",\"cipher\":null,\"alpn\":null,"
	                      "\"sni\":null,\"name\":\"10.0.0.1\",\"resumed\":false,"
	                      "\"verify\":false"),
	          "%s", out);
	cr_assert(strstr(out, "\"chain\":[{\"subject\":\"CN=\\\"x\\\"\",\"issuer\":null,"
	                      "\"not_after\":null,\"days_left\":-2}]"),
	          "%s", out);
	free(out);
	tt_doc_report_fini(&rep);
}
