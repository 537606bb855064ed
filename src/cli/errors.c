/*
 * `telltale errors [TOKEN|TYPE] [--markdown]`: the fault catalogue from the
 * command line. Without an argument it lists every fault; with a log token
 * (`upstream_refused`) or an RFC 9209 type (`connection_refused`) it prints
 * that fault's story; --markdown prints docs/errors.md.
 *
 * Everything comes from the catalogue table through fault/doc.h, so this
 * view, the error page and docs/errors.md never disagree.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "fault/doc.h"
#include "fault/fault.h"

#define NAME_MAX_LEN 64 /* longer than any token or type */

static const char usage[] =
    "usage: telltale errors [TOKEN|TYPE] [--markdown]\n"
    "\n"
    "Explain the errors telltale produces.\n"
    "\n"
    "  telltale errors               list every fault: token, RFC 9209 type, status, title\n"
    "  telltale errors TOKEN         the whole story of one fault, by the token of the\n"
    "                                access log's \"fault\" field (upstream_refused)\n"
    "  telltale errors TYPE          the same by Proxy-Status error type (connection_refused)\n"
    "  telltale errors --markdown    the catalogue as Markdown (docs/errors.md)\n";

/* "502", or "-" for a fault that sends no response. */
static void status_text(char *buf, size_t cap, int status)
{
	if (status)
		snprintf(buf, cap, "%d", status);
	else
		snprintf(buf, cap, "-");
}

static void list_all(void)
{
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		char status[8];
		status_text(status, sizeof(status), fi->status);
		printf("%-28s %-34s %-3s  ", fi->token, fi->type, status);
		fputs(fi->title, stdout);
		fputc('\n', stdout);
	}
}

/* Levenshtein distance of two short strings (each < NAME_MAX_LEN). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[NAME_MAX_LEN + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The token closest to name, or NULL when none is near enough to be a
 * plausible typo. A name that is part of a token ("refused") also counts. */
static const char *closest(const char *name)
{
	const char *best = NULL, *part = NULL;
	size_t best_d = (size_t)-1, len = strlen(name);

	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		const char *cand[2] = {fi->token, fi->type};
		for (int k = 0; k < 2; k++) {
			size_t d = distance(name, cand[k]);
			if (d < best_d) {
				best_d = d;
				best = fi->token;
			}
		}
		if (!part && len >= 3 && (strstr(fi->token, name) || strstr(fi->type, name)))
			part = fi->token;
	}
	if (best && best_d <= (len / 3 > 2 ? len / 3 : 2))
		return best;
	return part;
}

/* Every row of a type shared by several ("http_request_error"). */
static void list_type(const char *type, size_t len)
{
	printf("Several faults have the Proxy-Status error type %s:\n\n", type);
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		if (strlen(fi->type) != len || memcmp(fi->type, type, len) != 0)
			continue;
		char status[8];
		status_text(status, sizeof(status), fi->status);
		printf("  %-28s %-3s  ", fi->token, status);
		fputs(fi->title, stdout);
		fputc('\n', stdout);
	}
	printf("\n'telltale errors TOKEN' tells the story of one.\n");
}

static int explain(const char *arg)
{
	char name[NAME_MAX_LEN];
	size_t len = strlen(arg);
	enum tt_fault_id id;
	int n = 0;

	/* Forgive case and dashes: "CONNECTION_REFUSED", "upstream-refused". */
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	for (size_t i = 0; i < len; i++) {
		char c = arg[i];
		name[i] = c == '-' ? '_' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	name[len] = 0;
	id = tt_fault_by_token(name, len);
	if (id == TT_FAULT_NONE) {
		for (int i = 1; i < TT_FAULT__COUNT; i++)
			n += strcmp(tt_fault_info(i)->type, name) == 0;
		if (n > 1) {
			list_type(name, len);
			return 0;
		}
		id = tt_fault_by_type(name, len);
	}
	if (id == TT_FAULT_NONE) {
		const char *hint = closest(name);
		fprintf(stderr, "telltale errors: no fault has the token or type '%s'\n", arg);
		if (hint)
			fprintf(stderr, "  did you mean '%s'?\n", hint);
		fprintf(stderr, "  'telltale errors' lists them all.\n");
		return 1;
	}
	tt_fault_write_text(stdout, tt_fault_info(id));
	return 0;
}

int tt_cli_errors(int argc, char **argv)
{
	const char *name = NULL;
	int markdown = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (tt_cli_is_help(argv[i])) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--markdown") == 0) {
			markdown = 1;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "telltale errors: unknown option '%s'\n%s", argv[i], usage);
			return 2;
		} else if (name) {
			fprintf(stderr, "telltale errors: one fault at a time ('%s' and '%s')\n%s",
			        name, argv[i], usage);
			return 2;
		} else {
			name = argv[i];
		}
	}
	if (markdown && name) {
		fprintf(stderr,
		        "telltale errors: --markdown prints the whole catalogue; "
		        "drop '%s'\n%s",
		        name, usage);
		return 2;
	}
	if (markdown)
		tt_fault_write_markdown(stdout);
	else if (name)
		rc = explain(name);
	else
		list_all();
	/* A full disk or a closed pipe must not look like success when the
	 * output is redirected into docs/errors.md. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("telltale errors: stdout");
		return 1;
	}
	return rc;
}
