/*
 * Operator page templates: an HTML file of the operator's own with
 * {{placeholders}} that telltale fills per error, so the error page can
 * carry the site's look while still drawing the chain and telling the
 * story.
 *
 * Placeholders (spaces inside the braces are allowed: "{{ title }}"):
 *   {{status}} {{reason}} {{title}} {{explanation}} {{request_id}} {{time}}
 *   {{failed_hop}} {{proxy_status}} {{fault}} {{type}}   text, HTML-escaped
 *   {{visitor_steps}} {{operator_steps}}   <li> items, for inside an <ol>
 *   {{chain}}    the built-in chain markup (ids, classes and data- hooks
 *                as in error_body.h; the template's CSS styles it)
 *   {{details}}  the trusted detail block, "" for untrusted viewers
 *
 * Single braces are the template's own (CSS, scripts), and so is a "}}"
 * with no "{{" before it: minified CSS closes nested blocks with "}}".
 */
#ifndef TT_RESPOND_ERROR_TEMPLATE_H
#define TT_RESPOND_ERROR_TEMPLATE_H

#include <stddef.h>

/*
 * Check a template before it is used (`telltale check`, config load).
 * Returns 0 when every "{{" opens a known placeholder closed by "}}" on the
 * same line. Otherwise -1, with the 1-based line and column (in bytes) of
 * the first bad "{{" in *line and *col, and a message naming the problem
 * and listing the valid placeholders in msg (cut to msgcap, NUL-terminated;
 * msg may be NULL).
 */
int tt_error_template_check(const char *tpl, size_t len, unsigned *line, unsigned *col, char *msg,
                            size_t msgcap);

struct tt_out;
struct tt_ev;

/* Render e->v->template_html with its placeholders filled, for
 * error_body.c. An unknown or unclosed placeholder (the template was not
 * checked) is copied as it is. */
void tt_error_template_render(struct tt_out *o, const struct tt_ev *e);

#endif
