/*
 * The retry decision as a table: every row is the inputs of one failed
 * attempt and the verdict, and the rows that pit two rules against each
 * other pin the precedence documented in retry.h. Then the backoff's
 * bounds and cap.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "upstream/retry.h"

/* The documented defaults, but three attempts so there is room to test. */
static const struct tt_cfg_retry dflt = {
    .attempts = 3,
    .budget_percent = 20,
    .min_retries = 3,
    .backoff_ms = 25,
    .backoff_max_ms = 250,
    .body_bytes = 65536,
};
static const struct tt_cfg_retry one_attempt = {
    .attempts = 1, .budget_percent = 20, .min_retries = 3};
static const struct tt_cfg_retry no_budget = {.attempts = 3};
static const struct tt_cfg_retry full_budget = {.attempts = 3, .budget_percent = 100};

#define GET    TT_METHOD_GET
#define HEAD   TT_METHOD_HEAD
#define POST   TT_METHOD_POST
#define PUT    TT_METHOD_PUT
#define DELETE TT_METHOD_DELETE
#define PATCH  TT_METHOD_PATCH
#define F(x)   TT_FAULT_##x
#define S(x)   TT_STAGE_##x
#define V(x)   TT_RETRY_##x

struct row {
	const char *name;
	enum tt_fault_id fault;
	enum tt_stage stage;
	enum tt_h1_method method;
	int body, held, sent, started, done;
	uint32_t requests, retries;
	int usable;
	const struct tt_cfg_retry *cfg; /* NULL = dflt */
	enum tt_retry_verdict want;
};

/* clang-format off */
static const struct row rows[] = {
	/* name                                      fault                        stage       method  body held sent start done reqs retr usable cfg   verdict */
	{"GET refused goes",                         F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"POST refused goes (nothing sent)",         F(CONNECTION_REFUSED),       S(CONNECT), POST,   1, 1, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"POST without body refused goes",           F(CONNECTION_REFUSED),       S(CONNECT), POST,   0, 0, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"POST refused, body not held",              F(CONNECTION_REFUSED),       S(CONNECT), POST,   1, 0, 0, 0, 1,   1,  0, 2, NULL, V(NO_BODY_NOT_HELD)},
	{"POST connect timeout goes",                F(CONNECTION_TIMEOUT),       S(CONNECT), POST,   1, 1, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"GET DNS timeout goes",                     F(DNS_TIMEOUT),              S(DNS),     GET,    0, 0, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"GET TLS certificate error goes",           F(TLS_CERTIFICATE_ERROR),    S(TLS),     GET,    0, 0, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"GET at connection limit goes",             F(CONNECTION_LIMIT_REACHED), S(CONNECT), GET,    0, 0, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"POST after send never",                    F(CONNECTION_TERMINATED),    S(WAIT_HEAD), POST, 1, 1, 1, 0, 1,   1,  0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"POST reset mid-send never",                F(CONNECTION_TERMINATED),    S(SEND),    POST,   1, 1, 1, 0, 1,   1,  0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"POST reused conn closed before write goes",F(CONNECTION_TERMINATED),    S(SEND),    POST,   1, 1, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"POST wait-head implies sent",              F(HTTP_RESPONSE_TIMEOUT),    S(WAIT_HEAD), POST, 0, 0, 0, 0, 1,   1,  0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"POST read-head implies sent",              F(HTTP_PROTOCOL_ERROR),      S(READ_HEAD), POST, 0, 0, 0, 0, 1,   1,  0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"PATCH response timeout never",             F(HTTP_RESPONSE_TIMEOUT),    S(WAIT_HEAD), PATCH, 1, 1, 1, 0, 1,  1,  0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"unknown method after send never",          F(CONNECTION_TERMINATED),    S(WAIT_HEAD), TT_METHOD_OTHER, 0, 0, 1, 0, 1, 1, 0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"POST write timeout after bytes never",     F(CONNECTION_WRITE_TIMEOUT), S(SEND),    POST,   1, 1, 1, 0, 1,   1,  0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"POST write timeout before any byte goes",  F(CONNECTION_WRITE_TIMEOUT), S(SEND),    POST,   1, 1, 0, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"GET response timeout goes",                F(HTTP_RESPONSE_TIMEOUT),    S(WAIT_HEAD), GET,  0, 0, 1, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"HEAD write timeout goes",                  F(CONNECTION_WRITE_TIMEOUT), S(SEND),    HEAD,   0, 0, 1, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"DELETE bad response head goes",            F(HTTP_PROTOCOL_ERROR),      S(READ_HEAD), DELETE, 0, 0, 1, 0, 1, 1,  0, 2, NULL, V(GO)},
	{"PUT reset, body held, goes",               F(CONNECTION_TERMINATED),    S(WAIT_HEAD), PUT,  1, 1, 1, 0, 1,   1,  0, 2, NULL, V(GO)},
	{"PUT reset, body not held",                 F(CONNECTION_TERMINATED),    S(WAIT_HEAD), PUT,  1, 0, 1, 0, 1,   1,  0, 2, NULL, V(NO_BODY_NOT_HELD)},
	{"GET after response started never",         F(CONNECTION_TERMINATED),    S(READ_BODY), GET,  0, 0, 1, 1, 1,   1,  0, 2, NULL, V(NO_RESPONSE_STARTED)},
	{"GET started flag wins at read-head",       F(HTTP_PROTOCOL_ERROR),      S(READ_HEAD), GET,  0, 0, 1, 1, 1,   1,  0, 2, NULL, V(NO_RESPONSE_STARTED)},
	{"read-body stage implies started",          F(CONNECTION_READ_TIMEOUT),  S(READ_BODY), GET,  0, 0, 1, 0, 1,   1,  0, 2, NULL, V(NO_RESPONSE_STARTED)},
	{"respond stage implies started",            F(DOWNSTREAM_CLOSED),        S(RESPOND), GET,    0, 0, 1, 0, 1,   1,  0, 2, NULL, V(NO_RESPONSE_STARTED)},
	{"header section too large never",           F(HTTP_RESPONSE_HEADER_SECTION_SIZE), S(READ_HEAD), GET, 0, 0, 1, 0, 1, 1, 0, 2, NULL, V(NO_CLASS)},
	{"response incomplete never",                F(HTTP_RESPONSE_INCOMPLETE), S(READ_HEAD), GET,  0, 0, 1, 0, 1,   1,  0, 2, NULL, V(NO_CLASS)},
	{"malformed request never",                  F(REQUEST_MALFORMED),        S(REQUEST), GET,    0, 0, 0, 0, 1,   1,  0, 2, NULL, V(NO_CLASS)},
	{"no fault never",                           TT_FAULT_NONE,               S(CONNECT), GET,    0, 0, 0, 0, 1,   1,  0, 2, NULL, V(NO_CLASS)},
	{"unknown fault id never",                   TT_FAULT__COUNT,             S(CONNECT), GET,    0, 0, 0, 0, 1,   1,  0, 2, NULL, V(NO_CLASS)},
	{"attempts left goes",                       F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 2,   1,  0, 2, NULL, V(GO)},
	{"attempts exhausted",                       F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 3,   1,  0, 2, NULL, V(NO_ATTEMPTS)},
	{"attempts 1 means no retries",              F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1,   1,  0, 2, &one_attempt, V(NO_ATTEMPTS)},
	{"budget share left",                        F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1, 100, 19, 2, NULL, V(GO)},
	{"budget exhausted at 20% of 100",           F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1, 100, 20, 2, NULL, V(NO_BUDGET)},
	{"min_retries floor over a small share",     F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1,   5,  2, 2, NULL, V(GO)},
	{"min_retries floor reached",                F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1,   5,  3, 2, NULL, V(NO_BUDGET)},
	{"floor applies with nothing counted",       F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1,   0,  0, 2, NULL, V(GO)},
	{"zero budget and floor: no retries",        F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1, 100,  0, 2, &no_budget, V(NO_BUDGET)},
	{"budget share does not overflow",           F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1, UINT32_MAX, UINT32_MAX - 1, 2, &full_budget, V(GO)},
	{"no usable server",                         F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1,   1,  0, 0, NULL, V(NO_SERVER)},
	{"only the failed server left goes",         F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1,   1,  0, 1, NULL, V(GO)},
	/* Precedence: two rules say no, the earlier one names the verdict. */
	{"started beats class",                      F(HTTP_RESPONSE_INCOMPLETE), S(READ_BODY), GET,  0, 0, 1, 1, 1,   1,  0, 2, NULL, V(NO_RESPONSE_STARTED)},
	{"started beats POST refused",               F(CONNECTION_REFUSED),       S(CONNECT), POST,   0, 0, 0, 1, 1,   1,  0, 2, NULL, V(NO_RESPONSE_STARTED)},
	{"class beats not idempotent",               F(HTTP_RESPONSE_HEADER_SECTION_SIZE), S(READ_HEAD), POST, 0, 0, 1, 0, 1, 1, 0, 2, NULL, V(NO_CLASS)},
	{"not idempotent beats body not held",       F(CONNECTION_TERMINATED),    S(WAIT_HEAD), POST, 1, 0, 1, 0, 1,   1,  0, 2, NULL, V(NO_NOT_IDEMPOTENT)},
	{"body not held beats attempts",             F(CONNECTION_TERMINATED),    S(WAIT_HEAD), PUT,  1, 0, 1, 0, 3,   1,  0, 2, NULL, V(NO_BODY_NOT_HELD)},
	{"attempts beat budget",                     F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 3, 100, 50, 2, NULL, V(NO_ATTEMPTS)},
	{"budget beats no server",                   F(CONNECTION_REFUSED),       S(CONNECT), GET,    0, 0, 0, 0, 1, 100, 50, 0, NULL, V(NO_BUDGET)},
};
/* clang-format on */

Test(retry, decision_table)
{
	size_t n = sizeof(rows) / sizeof(rows[0]);
	cr_assert_geq(n, 30);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct tt_retry_in in = {
		    .fault = r->fault,
		    .stage = r->stage,
		    .method = r->method,
		    .has_body = r->body,
		    .body_replayable = r->held,
		    .request_sent_any = r->sent,
		    .response_started = r->started,
		    .attempts_done = r->done,
		    .cfg = r->cfg ? r->cfg : &dflt,
		    .active_requests = r->requests,
		    .active_retries = r->retries,
		    .servers_usable = r->usable,
		};
		enum tt_retry_verdict got = tt_retry_decide(&in);
		cr_expect_eq(got, r->want, "row %zu \"%s\": got %s, want %s", i, r->name,
		             tt_retry_verdict_name(got), tt_retry_verdict_name(r->want));
	}
}

Test(retry, a_non_idempotent_request_that_may_have_arrived_is_never_retried)
{
	/* The invariant, swept: every retryable fault, every stage at or
	 * after the request was written, however generous the limits. */
	static const struct tt_cfg_retry generous = {.attempts = 8, .min_retries = 1000};
	enum tt_h1_method m[] = {POST, PATCH, TT_METHOD_CONNECT, TT_METHOD_OTHER};
	for (int f = 1; f < TT_FAULT__COUNT; f++)
		for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++)
			for (int st = TT_STAGE_SEND; st < TT_STAGE__COUNT; st++) {
				struct tt_retry_in in = {.fault = f,
				                         .stage = st,
				                         .method = m[k],
				                         .request_sent_any = 1,
				                         .attempts_done = 1,
				                         .cfg = &generous,
				                         .servers_usable = 5};
				cr_assert_neq(tt_retry_decide(&in), TT_RETRY_GO,
				              "fault %d stage %d method %d", f, st, m[k]);
			}
}

Test(retry, verdict_names_are_unique_tokens)
{
	for (int i = 0; i < TT_RETRY__VERDICT_COUNT; i++) {
		const char *a = tt_retry_verdict_name(i);
		cr_assert(a[0] && strcmp(a, "?") != 0, "verdict %d", i);
		cr_assert_eq(strspn(a, "abcdefghijklmnopqrstuvwxyz_"), strlen(a), "%s", a);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(a, tt_retry_verdict_name(j));
	}
	cr_assert_str_eq(tt_retry_verdict_name(TT_RETRY_GO), "go");
	cr_assert_str_eq(tt_retry_verdict_name(TT_RETRY_NO_BUDGET), "budget_spent");
	cr_assert_str_eq(tt_retry_verdict_name(TT_RETRY__VERDICT_COUNT), "?");
	cr_assert_str_eq(tt_retry_verdict_name((enum tt_retry_verdict) - 1), "?");
}

/* rnd values giving the lowest and (nearly) the highest jitter. */
#define JLOW  0ull
#define JHIGH UINT64_MAX

Test(retry, backoff_doubles_from_the_base)
{
	/* Lowest jitter is exactly 0.5: 25 ms base gives 12, 25, 50, 100. */
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 1, JLOW), 12);
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 2, JLOW), 25);
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 3, JLOW), 50);
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 4, JLOW), 100);
	/* Highest jitter is just under 1.5. */
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 1, JHIGH), 37);
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 2, JHIGH), 74);
}

Test(retry, backoff_stays_within_jitter_bounds)
{
	uint64_t x = 1, lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < 10000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t ms = tt_retry_backoff_ms(&dflt, 2, x);
		cr_assert(ms >= 25 && ms < 75, "backoff %lu for n=2", (unsigned long)ms);
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	/* The jitter really spreads the waits over its range. */
	cr_assert_leq(lo, 27);
	cr_assert_geq(hi, 72);
}

Test(retry, backoff_never_passes_the_cap)
{
	uint64_t x = 7;
	for (int n = 1; n <= 200; n++)
		for (int i = 0; i < 50; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			cr_assert_leq(tt_retry_backoff_ms(&dflt, n, x), 250, "n=%d", n);
		}
	/* At the cap, the jitter still lowers the wait: 250 * [0.5, 1). */
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 5, JLOW), 125);
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 5, JHIGH), 250);
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 1000000, JLOW), 125);
	/* 200 ms at n=4 with high jitter would be 299: capped. */
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 4, JHIGH), 250);
}

Test(retry, backoff_edges)
{
	struct tt_cfg_retry c = dflt;
	/* n < 1 reads as the first retry. */
	cr_assert_eq(tt_retry_backoff_ms(&dflt, 0, JLOW), 12);
	cr_assert_eq(tt_retry_backoff_ms(&dflt, -3, JLOW), 12);
	/* No base, no wait. */
	c.backoff_ms = 0;
	cr_assert_eq(tt_retry_backoff_ms(&c, 3, JHIGH), 0);
	/* No cap: doubling goes on, and saturates instead of wrapping. */
	c.backoff_ms = 25;
	c.backoff_max_ms = 0;
	cr_assert_eq(tt_retry_backoff_ms(&c, 10, JLOW), 6400);
	cr_assert_eq(tt_retry_backoff_ms(&c, 100, JHIGH), UINT64_MAX);
	/* A cap below the base is the cap. */
	c.backoff_max_ms = 10;
	cr_assert_eq(tt_retry_backoff_ms(&c, 1, JLOW), 5);
	cr_assert_eq(tt_retry_backoff_ms(&c, 1, JHIGH), 10);
}
