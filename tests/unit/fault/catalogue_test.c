/*
 * The fault catalogue: the table's invariants (unique lower_snake tokens,
 * registered RFC 9209 types, sane statuses, every story written), the
 * lookups, the libuv mapping, the fault record, and docs/errors.md being
 * exactly what the renderer writes today.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fault/doc.h"
#include "fault/fault.h"

/* RFC 9209 section 2.3: every registered proxy error type and the status it
 * recommends (0: none). */
static const struct {
	const char *type;
	int status;
} registry[] = {
    {"dns_timeout", 504},
    {"dns_error", 502},
    {"destination_not_found", 500},
    {"destination_unavailable", 503},
    {"destination_ip_prohibited", 502},
    {"destination_ip_unroutable", 502},
    {"connection_refused", 502},
    {"connection_terminated", 502},
    {"connection_timeout", 504},
    {"connection_read_timeout", 504},
    {"connection_write_timeout", 504},
    {"connection_limit_reached", 503},
    {"tls_protocol_error", 502},
    {"tls_certificate_error", 502},
    {"tls_alert_received", 502},
    {"http_request_error", 400},
    {"http_request_denied", 403},
    {"http_response_incomplete", 502},
    {"http_response_header_section_size", 502},
    {"http_response_header_size", 502},
    {"http_response_body_size", 502},
    {"http_response_trailer_section_size", 502},
    {"http_response_trailer_size", 502},
    {"http_response_transfer_coding", 502},
    {"http_response_content_coding", 502},
    {"http_response_timeout", 504},
    {"http_upgrade_failed", 502},
    {"http_protocol_error", 502},
    {"proxy_internal_response", 0},
    {"proxy_internal_error", 500},
    {"proxy_configuration_error", 500},
    {"proxy_loop_detected", 502},
};

#define NREGISTRY (sizeof(registry) / sizeof(registry[0]))

static int registry_status(const char *type)
{
	for (size_t i = 0; i < NREGISTRY; i++)
		if (strcmp(registry[i].type, type) == 0)
			return registry[i].status;
	return -1;
}

static int lower_snake(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return 0;
	for (const char *p = s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
		if (!ok || (p[0] == '_' && (p[1] == '_' || p[1] == 0)))
			return 0;
	}
	return 1;
}

Test(catalogue, ids_index_rows_and_none_has_no_row)
{
	cr_assert_null(tt_fault_info(TT_FAULT_NONE));
	cr_assert_null(tt_fault_info(-1));
	cr_assert_null(tt_fault_info(TT_FAULT__COUNT));
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		cr_assert_not_null(fi, "id %d", id);
		cr_assert_eq((int)fi->id, id, "row %d carries id %d", id, (int)fi->id);
	}
}

Test(catalogue, tokens_are_unique_lower_snake)
{
	for (int a = 1; a < TT_FAULT__COUNT; a++) {
		const char *t = tt_fault_info(a)->token;
		cr_expect(lower_snake(t), "token '%s' is not lower_snake", t);
		for (int b = a + 1; b < TT_FAULT__COUNT; b++)
			cr_expect_str_neq(t, tt_fault_info(b)->token, "token '%s' is used twice",
			                  t);
	}
}

Test(catalogue, types_are_registered_and_statuses_sane)
{
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		int rfc = registry_status(fi->type);
		cr_expect_neq(rfc, -1, "%s: '%s' is not an RFC 9209 type", fi->token, fi->type);
		cr_expect(fi->status == 0 || (fi->status >= 400 && fi->status <= 599),
		          "%s: status %d", fi->token, fi->status);
		/* A row that sends nothing may leave the recommendation out. */
		cr_expect(fi->rfc_status == rfc || (fi->status == 0 && fi->rfc_status == 0),
		          "%s: rfc_status %d, RFC 9209 recommends %d for %s", fi->token,
		          fi->rfc_status, rfc, fi->type);
		cr_expect(fi->side >= TT_SIDE_DOWNSTREAM && fi->side <= TT_SIDE_UPSTREAM,
		          "%s: side", fi->token);
		cr_expect(fi->stage > TT_STAGE_NONE && fi->stage < TT_STAGE__COUNT, "%s: stage",
		          fi->token);
		cr_expect(fi->retry >= TT_RETRY_NEVER && fi->retry <= TT_RETRY_IDEMPOTENT,
		          "%s: retry", fi->token);
	}
}

/* Count a list column's items, failing on empty, numbered, bulleted or
 * full-stopped items: the renderers number and punctuate. */
static int items(const char *token, const char *what, const char *column)
{
	const char *item;
	size_t len, pos = 0, clen = strlen(column);
	int n = 0;

	cr_expect(clen > 0 && column[clen - 1] != '\n', "%s %s: trailing newline", token, what);
	while (tt_fault_lines(column, &pos, &item, &len)) {
		n++;
		cr_expect(len > 0, "%s %s item %d is empty", token, what, n);
		if (!len)
			continue;
		cr_expect(!(item[0] >= '0' && item[0] <= '9' && len > 1 &&
		            (item[1] == '.' || item[1] == ')')),
		          "%s %s item %d is numbered", token, what, n);
		cr_expect(item[0] != '-' && item[0] != '*', "%s %s item %d is bulleted", token,
		          what, n);
		cr_expect(item[len - 1] != '.', "%s %s item %d ends with '.'", token, what, n);
	}
	return n;
}

/* An IPv4 address written out (four dot-separated numbers): stories are
 * generic and never name a network's addresses. */
static int has_dotted_quad(const char *s)
{
	for (const char *p = s; *p; p++) {
		const char *q = p;
		int parts = 0;
		if (p != s && (p[-1] >= '0' && p[-1] <= '9'))
			continue;
		while (parts < 4 && *q >= '0' && *q <= '9') {
			while (*q >= '0' && *q <= '9')
				q++;
			parts++;
			if (parts < 4 && *q == '.' && q[1] >= '0' && q[1] <= '9')
				q++;
			else
				break;
		}
		if (parts == 4)
			return 1;
	}
	return 0;
}

Test(catalogue, every_story_is_written)
{
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		const char *t = fi->token;
		const char *texts[] = {fi->title, fi->explain, fi->causes, fi->visitor,
		                       fi->operator_};
		int n;

		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			cr_expect(texts[i] && texts[i][0], "%s: text column %zu is empty", t, i);
			cr_expect(!has_dotted_quad(texts[i]),
			          "%s: text column %zu names an address", t, i);
		}
		cr_expect(strchr(fi->title, '\n') == NULL &&
		              fi->title[strlen(fi->title) - 1] != '.',
		          "%s: the title is one line without a full stop", t);
		cr_expect(strchr(fi->explain, '\n') == NULL &&
		              fi->explain[strlen(fi->explain) - 1] == '.',
		          "%s: the explanation is sentences on one line", t);
		n = items(t, "causes", fi->causes);
		cr_expect(n >= 2 && n <= 5, "%s: %d causes, want 2-5", t, n);
		n = items(t, "visitor", fi->visitor);
		cr_expect(n >= 2 && n <= 3, "%s: %d visitor steps, want 2-3", t, n);
		n = items(t, "operator", fi->operator_);
		cr_expect(n >= 3 && n <= 6, "%s: %d operator steps, want 3-6", t, n);
		/* The visitor is not an engineer: no commands, no config keys. */
		cr_expect(strchr(fi->visitor, '`') == NULL, "%s: visitor steps quote code", t);
	}
}

Test(catalogue, lookups_by_token_and_type)
{
	cr_assert_eq(tt_fault_by_token("upstream_refused", 16), TT_FAULT_CONNECTION_REFUSED);
	cr_assert_eq(tt_fault_by_token("upstream_refusedX", 16), TT_FAULT_CONNECTION_REFUSED,
	             "the length bounds the token");
	cr_assert_eq(tt_fault_by_token("upstream_refuse", 15), TT_FAULT_NONE);
	cr_assert_eq(tt_fault_by_token("", 0), TT_FAULT_NONE);
	cr_assert_eq(tt_fault_by_token(NULL, 0), TT_FAULT_NONE);
	cr_assert_eq(tt_fault_by_type("connection_refused", 18), TT_FAULT_CONNECTION_REFUSED);
	cr_assert_eq(tt_fault_by_type("http_request_error", 18), TT_FAULT_REQUEST_MALFORMED,
	             "a shared type finds its first row");
	cr_assert_eq(tt_fault_by_type("upstream_refused", 16), TT_FAULT_NONE,
	             "a token is not a type");
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		enum tt_fault_id by_type = tt_fault_by_type(fi->type, strlen(fi->type));
		cr_expect_eq((int)tt_fault_by_token(fi->token, strlen(fi->token)), id, "%s",
		             fi->token);
		cr_expect(by_type != TT_FAULT_NONE && (int)by_type <= id &&
		              strcmp(tt_fault_info(by_type)->type, fi->type) == 0,
		          "%s", fi->type);
	}
}

Test(catalogue, lines_iterates_items)
{
	const char *item;
	size_t len, pos = 0;

	cr_assert(tt_fault_lines("a\nbc\n\nd", &pos, &item, &len));
	cr_assert(len == 1 && item[0] == 'a');
	cr_assert(tt_fault_lines("a\nbc\n\nd", &pos, &item, &len));
	cr_assert(len == 2 && memcmp(item, "bc", 2) == 0);
	cr_assert(tt_fault_lines("a\nbc\n\nd", &pos, &item, &len));
	cr_assert_eq(len, 0, "an empty item in the middle is one");
	cr_assert(tt_fault_lines("a\nbc\n\nd", &pos, &item, &len));
	cr_assert(len == 1 && item[0] == 'd');
	cr_assert_not(tt_fault_lines("a\nbc\n\nd", &pos, &item, &len));
	pos = 0;
	cr_assert_not(tt_fault_lines("", &pos, &item, &len));
	cr_assert_not(tt_fault_lines(NULL, &pos, &item, &len));
	pos = 0;
	cr_assert(tt_fault_lines("x\n", &pos, &item, &len));
	cr_assert_not(tt_fault_lines("x\n", &pos, &item, &len), "a trailing newline adds nothing");
}

Test(catalogue, uv_errors_map_to_the_most_specific_fault)
{
	static const struct {
		int err;
		enum tt_stage stage;
		enum tt_fault_id want;
	} cases[] = {
	    {0, TT_STAGE_CONNECT, TT_FAULT_NONE},
	    {UV_ECONNREFUSED, TT_STAGE_CONNECT, TT_FAULT_CONNECTION_REFUSED},
	    {UV_ETIMEDOUT, TT_STAGE_CONNECT, TT_FAULT_CONNECTION_TIMEOUT},
	    {UV_ETIMEDOUT, TT_STAGE_SEND, TT_FAULT_CONNECTION_WRITE_TIMEOUT},
	    {UV_ETIMEDOUT, TT_STAGE_READ_BODY, TT_FAULT_CONNECTION_READ_TIMEOUT},
	    {UV_EPERM, TT_STAGE_CONNECT, TT_FAULT_DESTINATION_IP_PROHIBITED},
	    {UV_ENETUNREACH, TT_STAGE_CONNECT, TT_FAULT_DESTINATION_IP_UNROUTABLE},
	    {UV_EHOSTUNREACH, TT_STAGE_CONNECT, TT_FAULT_DESTINATION_IP_UNROUTABLE},
	    {UV_ECONNRESET, TT_STAGE_WAIT_HEAD, TT_FAULT_CONNECTION_TERMINATED},
	    {UV_ECONNRESET, TT_STAGE_CONNECT, TT_FAULT_CONNECTION_TERMINATED},
	    {UV_EPIPE, TT_STAGE_SEND, TT_FAULT_CONNECTION_TERMINATED},
	    {UV_EOF, TT_STAGE_WAIT_HEAD, TT_FAULT_CONNECTION_TERMINATED},
	    {UV_EOF, TT_STAGE_READ_HEAD, TT_FAULT_CONNECTION_TERMINATED},
	    {UV_EMFILE, TT_STAGE_CONNECT, TT_FAULT_PROXY_INTERNAL_ERROR},
	    {UV_ENFILE, TT_STAGE_CONNECT, TT_FAULT_PROXY_INTERNAL_ERROR},
	    {UV_ENOMEM, TT_STAGE_READ_BODY, TT_FAULT_PROXY_INTERNAL_ERROR},
	    {UV_EADDRNOTAVAIL, TT_STAGE_CONNECT, TT_FAULT_PROXY_INTERNAL_ERROR},
	    {UV_EACCES, TT_STAGE_CONNECT, TT_FAULT_DESTINATION_IP_PROHIBITED},
	    {UV_EINVAL, TT_STAGE_CONNECT, TT_FAULT_DESTINATION_UNAVAILABLE},
	    {UV_EINVAL, TT_STAGE_CONNECT, TT_FAULT_DESTINATION_UNAVAILABLE},
	    {UV_ECONNABORTED, TT_STAGE_READ_BODY, TT_FAULT_CONNECTION_TERMINATED},
	    {UV_EIO, TT_STAGE_SEND, TT_FAULT_CONNECTION_TERMINATED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(tt_fault_from_uv(cases[i].err, cases[i].stage), cases[i].want,
		             "%s in %s", cases[i].err ? uv_err_name(cases[i].err) : "0",
		             tt_stage_name(cases[i].stage));
}

Test(fault, stage_names)
{
	cr_assert_str_eq(tt_stage_name(TT_STAGE_WAIT_HEAD), "wait-head");
	cr_assert_str_eq(tt_stage_name(TT_STAGE_CONNECT), "connect");
	cr_assert_str_eq(tt_stage_name(TT_STAGE_NONE), "none");
	cr_assert_str_eq(tt_stage_name(TT_STAGE__COUNT), "unknown");
}

Test(fault, set_keeps_only_the_attempts)
{
	struct tt_fault f;
	struct tt_fault_attempt *a;

	tt_fault_clear(&f);
	cr_assert_eq(f.id, TT_FAULT_NONE);
	a = tt_fault_attempt_add(&f);
	cr_assert_not_null(a);
	cr_assert(a->connect_ms < 0 && a->head_ms < 0 && a->id == TT_FAULT_NONE);
	snprintf(f.upstream, sizeof(f.upstream), "upstream");
	tt_fault_details(&f, "old %d", 1);
	tt_fault_param_int(&f, "body-size", 5);
	f.received_status = 503;
	tt_fault_set(&f, TT_FAULT_CONNECTION_REFUSED, TT_STAGE_CONNECT, UV_ECONNREFUSED);
	cr_assert_eq(f.id, TT_FAULT_CONNECTION_REFUSED);
	cr_assert_eq(f.stage, TT_STAGE_CONNECT);
	cr_assert_eq(f.sys_err, UV_ECONNREFUSED);
	cr_assert(f.upstream[0] == 0 && f.details[0] == 0 && f.param_name[0] == 0);
	cr_assert(f.received_status == 0 && !f.param_is_int);
	cr_assert_eq(f.nattempts, 1);
}

Test(fault, attempts_past_the_cap_are_counted_not_stored)
{
	struct tt_fault f;

	tt_fault_clear(&f);
	for (int i = 0; i < TT_FAULT_MAX_ATTEMPTS; i++)
		cr_assert_not_null(tt_fault_attempt_add(&f));
	cr_assert_null(tt_fault_attempt_add(&f));
	cr_assert_null(tt_fault_attempt_add(&f));
	cr_assert_eq(f.nattempts, TT_FAULT_MAX_ATTEMPTS + 2);
}

Test(fault, details_are_cut_safely)
{
	struct tt_fault f;
	char big[400];

	tt_fault_clear(&f);
	tt_fault_details(&f, "connect: %s", "connection refused");
	cr_assert_str_eq(f.details, "connect: connection refused");
	tt_fault_details(&f, "a\r\nb");
	cr_assert_str_eq(f.details, "a??b", "control bytes would split a log line");

	/* 'a' then two-byte characters: the cut must not split one. */
	big[0] = 'a';
	for (size_t i = 1; i + 2 < sizeof(big); i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	big[sizeof(big) - 1] = 0;
	tt_fault_details(&f, "%s", big);
	size_t n = strlen(f.details);
	cr_assert_lt(n, sizeof(f.details));
	cr_assert_str_eq(f.details + n - 3, "...", "a cut is marked");
	cr_assert_eq((n - 3 - 1) % 2, 0, "no character is split: %zu bytes", n);
}

Test(fault, params)
{
	struct tt_fault f;

	tt_fault_clear(&f);
	tt_fault_param_str(&f, "header-name", "set-cookieXYZ", 10);
	cr_assert_str_eq(f.param_name, "header-name");
	cr_assert_str_eq(f.param_value, "set-cookie");
	cr_assert_not(f.param_is_int);
	tt_fault_param_int(&f, "header-section-size", 70000);
	cr_assert_str_eq(f.param_name, "header-section-size");
	cr_assert(f.param_is_int && f.int_value == 70000);
	cr_assert_str_eq(f.param_value, "70000");
}

/* The whole of a file, or NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

Test(docs, errors_md_is_generated_from_the_table)
{
	char *doc = NULL, *want;
	size_t doc_len = 0, want_len = 0, at = 0;
	FILE *mem = open_memstream(&doc, &doc_len);
	int missing, stale;

	cr_assert_not_null(mem);
	tt_fault_write_markdown(mem);
	cr_assert_eq(fclose(mem), 0);
	/* The Makefile runs unit tests from the repository root. */
	want = slurp("docs/errors.md", &want_len);
	missing = want == NULL;
	stale = !missing && (want_len != doc_len || memcmp(want, doc, doc_len) != 0);
	while (stale && at < doc_len && at < want_len && want[at] == doc[at])
		at++;
	/* Freed before asserting, so a failure reports no leak besides. */
	free(want);
	free(doc);
	cr_assert_not(missing, "docs/errors.md is missing (run the test from the repository root, "
	                       "or `build/telltale errors --markdown > docs/errors.md`)");
	cr_assert_not(stale,
	              "docs/errors.md is stale: run `build/telltale errors --markdown > "
	              "docs/errors.md` (first difference at byte %zu)",
	              at);
}

Test(docs, text_view_has_every_part)
{
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);

	tt_fault_write_text(mem, tt_fault_info(TT_FAULT_CONNECTION_TERMINATED));
	cr_assert_eq(fclose(mem), 0);
	cr_assert(strncmp(out, "upstream_closed: ", 17) == 0);
	cr_assert_not_null(strstr(out, "connection_terminated"));
	cr_assert_not_null(strstr(out, "wait-head"));
	cr_assert_not_null(strstr(out, "\nLikely causes:\n  - "));
	cr_assert_not_null(strstr(out, "\nWhat the visitor can do:\n  1. "));
	cr_assert_not_null(strstr(out, "\nWhat the operator can do:\n  1. "));
	for (const char *line = out; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		/* Long commands stay whole, so allow a little past the wrap. */
		cr_expect_leq(n, 100, "line too long: %.*s", (int)n, line);
		line += n + (nl ? 1 : 0);
	}
	free(out);
}
