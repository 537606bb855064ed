/*
 * Pieces shared by the error bodies (error_body.c) and operator templates
 * (error_template.c): the view resolved once (catalogue row, reason phrase,
 * time, failed hop), and the HTML fragments both page kinds insert: the
 * chain, step lists and the trusted detail block.
 *
 * Internal to src/respond/. Fragments write through a tt_out and escape
 * every inserted value; the untrusted fragments read nothing internal from
 * the fault (no address, group, details, system error or attempts).
 */
#ifndef TT_RESPOND_ERROR_PARTS_H
#define TT_RESPOND_ERROR_PARTS_H

#include "respond/error_body.h"
#include "respond/out.h"

struct tt_ev {
	const struct tt_error_view *v;
	const struct tt_fault *f;         /* NULL when the view has none */
	const struct tt_fault_info *info; /* never NULL: PROXY_INTERNAL_ERROR stands in */
	int side;                         /* enum tt_side of the row */
	const char *reason;               /* "Bad Gateway" */
	const char *explain;              /* the row's explanation, or its title when "" */
	const char *failed_hop;           /* "downstream-proxy", "proxy", "proxy-upstream" */
	const char *proxy_name;
	const char *upstream; /* trusted views: the failing server's "ip:port", "" = none */
	char time[TT_TIME_MAX];
};

void tt_ev_init(struct tt_ev *e, const struct tt_error_view *v);

/* RFC 9110 section 15 reason phrase, "Error" for codes it does not name. */
const char *tt_http_reason(int status);

/* The libuv name of a system error ("ECONNREFUSED"), NULL for 0. */
const char *tt_ev_sys_err(int sys_err);

/* Attempts recorded in f (at most TT_FAULT_MAX_ATTEMPTS). */
int tt_ev_nattempts(const struct tt_fault *f);

/* The stage's name, "none" for no fault. */
const char *tt_ev_stage(const struct tt_ev *e);

/* <ol id="chain"> with the three hops and two links, the failed one
 * marked. */
void tt_ev_html_chain(struct tt_out *o, const struct tt_ev *e);

/* The "\n"-separated lines of a catalogue column as <li> items. */
void tt_ev_html_steps(struct tt_out *o, const char *column);

/* The trusted detail block (<section id="details"> with the attempts
 * table); nothing for an untrusted view. */
void tt_ev_html_details(struct tt_out *o, const struct tt_ev *e);

/* The request line shown to the visitor: "GET host/target", cut past
 * TT_ERROR_TARGET_SHOWN bytes of target; writes nothing without a method. */
void tt_ev_request(struct tt_out *o, const struct tt_ev *e,
                   void (*esc)(struct tt_out *, const char *, size_t));

#endif
