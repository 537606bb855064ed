/*
 * The Proxy-Status field (RFC 9209): one member, telltale's, written for a
 * response it generated or forwarded.
 *
 *   NAME; error=TYPE; next-hop="10.0.0.7:8000"; received-status=503;
 *         details="..."; header-section-size=65536
 *
 * Detail is a security matter (DESIGN.md): an untrusted downstream sees the
 * error type, received-status and the type-specific parameters that reveal
 * nothing of the inside (header-section-size, header-name, body-size,
 * coding); next-hop, details and the rest (rcode, info-code, alert-id,
 * alert-message, ...) go to trusted downstreams only.
 *
 * Like the sf serializers, both functions write into the caller's buffer,
 * NUL-terminate it, and return the length without the NUL, or -1 when it
 * does not fit.
 */
#ifndef TT_RESPOND_PROXY_STATUS_H
#define TT_RESPOND_PROXY_STATUS_H

#include <stddef.h>
#include <sys/types.h>

#include "fault/fault.h"

/* Room a member can need: name, every parameter at its record's size. */
#define TT_PS_MEMBER_MAX 1024

/*
 * The member name for a configured proxy name (RFC 9209 section 2: the
 * intermediary's host name by default): an sf-token when the name is one
 * ("proxy.example.net", "edge-1:8443"), else an sf-string with bytes
 * outside printable ASCII replaced by '?'. NULL or "" gives "telltale".
 * Idempotent: a name that is already a whole valid sf-string (as this
 * function wrote it) is copied as it is.
 */
ssize_t tt_ps_name(char *out, size_t cap, const char *configured);

/*
 * One member, without the field name, parameters in this order:
 *
 *   error            the catalogue row's RFC 9209 type, as an sf-token;
 *                    absent when f is NULL or f->id is TT_FAULT_NONE (a
 *                    forwarded response: RFC 9209 section 2.1.1)
 *   next-hop         trusted only: f->upstream, or when that is "" the
 *                    upstream of the last recorded attempt (a forwarded
 *                    response keeps its successful attempt in the record);
 *                    always an sf-string ("10.0.0.7:8000" is no sf-token)
 *   received-status  received_status when > 0, else f->received_status
 *                    when > 0 (section 2.1.3: also for errors after a
 *                    status was received, e.g. http_response_incomplete)
 *   details          trusted only: f->details, when not ""
 *   the type param   f->param_name with f->int_value (param_is_int) or
 *                    f->param_value as an sf-string: to everyone for
 *                    header-section-size, header-name, body-size and
 *                    coding, to trusted downstreams only otherwise.
 *                    Dropped when the name is not a valid key, repeats a
 *                    parameter above, or the integer exceeds 15 digits.
 *
 * name is the member name, raw (then converted as by tt_ps_name) or as
 * tt_ps_name wrote it. Bytes of details and param values outside
 * printable ASCII become '?' (RFC 8941 section 3.3.3).
 */
ssize_t tt_ps_member(char *out, size_t cap, const char *name, const struct tt_fault *f,
                     int received_status, int trusted);

#endif
