/*
 * The body of an error telltale generates, in the kind the downstream
 * accepts (negotiate.h): an HTML page that draws the chain
 * You -> proxy -> upstream and marks the hop that failed, an RFC 9457
 * problem+json document, or plain text. All three read one fault and its
 * catalogue row (fault/catalogue.h) and say the same things: the status and
 * title, the explanation, what the visitor can do, what the operator can do,
 * the request ID and the time.
 *
 * Detail is a security matter (DESIGN.md): only when the view is trusted do
 * the bodies show the fault token's internals, stage, details text, upstream
 * group and address, system error, attempts and the Proxy-Status member.
 * An untrusted body names the failed hop, the RFC 9209 type and the log
 * token, and nothing of the network behind telltale.
 *
 * Renderers write into the caller's buffer and never allocate; output is
 * NUL-terminated, and the return is its length without the NUL or -1 when
 * it does not fit (TT_ERROR_BODY_MAX always fits the built-in bodies).
 */
#ifndef TT_RESPOND_ERROR_BODY_H
#define TT_RESPOND_ERROR_BODY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fault/fault.h"
#include "respond/error_template.h"
#include "respond/negotiate.h"

/* Room the built-in bodies can need, with every field at its largest
 * (request target shown cut to TT_ERROR_TARGET_SHOWN bytes). A template's
 * body needs the template's size plus this. */
#define TT_ERROR_BODY_MAX     32768
#define TT_ERROR_TARGET_SHOWN 200

struct tt_error_view {
	const struct tt_fault *fault; /* its catalogue row gives title, explanation, steps;
	                                 NULL or TT_FAULT_NONE: the PROXY_INTERNAL_ERROR row */
	int status;                   /* HTTP status sent */
	const char *request_id;       /* NULL = none */
	const char *trace_id;         /* W3C trace-id (32 hex digits), NULL = none */
	uint64_t time_ms;             /* wall clock, ms since epoch (UTC) */
	int trusted;                  /* show internal detail */
	const char *proxy_name;       /* shown as the middle hop's label; NULL = "telltale" */
	const char *host;             /* request Host, may be NULL */
	size_t host_len;
	const char *method; /* may be NULL */
	size_t method_len;
	const char *target; /* may be NULL */
	size_t target_len;
	const char *proxy_status;  /* the Proxy-Status member sent, for the trusted detail block */
	const char *template_html; /* operator's page template, NULL = built-in */
	size_t template_len;
};

/*
 * Render the body of kind for v into out[0..cap). *content_type is set to
 * its media type with charset ("text/html; charset=utf-8",
 * "application/problem+json", "text/plain; charset=utf-8").
 *
 * HTML hooks, stable for tests and for operators' CSS: id="chain" holding
 * data-hop="downstream|proxy|upstream" and data-link="downstream-proxy|
 * proxy-upstream", the failed one with class "failed" and
 * data-failed="true"; id="title", "explanation", "visitor-steps",
 * "operator-steps", "request-id", "trace-id" (when there is one), "time",
 * and for trusted views "details" and "attempts". The failed hop comes from the row's side:
 * TT_SIDE_DOWNSTREAM the link You -> proxy, TT_SIDE_PROXY the proxy hop,
 * TT_SIDE_UPSTREAM the link proxy -> upstream.
 *
 * JSON (RFC 9457): type "tag:telltale,2026:error/<RFC 9209 type>" (an RFC
 * 4151 tag URI), title, status, detail (the explanation), instance
 * "tag:telltale,2026:request/<request ID, percent-encoded>" (absent without
 * an ID), and the extension members proxy_status, fault, request_id,
 * trace_id (null when none), failed_hop, time, visitor_steps, operator_steps; trusted views add
 * details, upstream, upstream_group, stage, system_error and attempts
 * (upstream, fault, stage, system_error, connect_ms, head_ms, reused; null
 * where there is none).
 *
 * With template_html set, an HTML body is the template with its
 * placeholders replaced (error_template.h).
 */
ssize_t tt_error_body(char *out, size_t cap, enum tt_body_kind kind, const struct tt_error_view *v,
                      const char **content_type);

#endif
