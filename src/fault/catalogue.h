/*
 * The fault catalogue: every fault telltale can produce, one row each, in
 * one X-macro table. The enum, the log tokens, the Proxy-Status error types,
 * the error pages, problem+json, metrics labels, `telltale explain`,
 * `telltale doctor` and docs/errors.md all come from this table.
 *
 * Columns of X(...):
 *   ID          enum suffix: TT_FAULT_<ID>
 *   type        RFC 9209 proxy error type (section 2.3), as sent in Proxy-Status
 *   status      HTTP status telltale sends for it (0: no response is sent)
 *   rfc_status  the status RFC 9209 recommends for the type (0: none given)
 *   side        which hop broke: enum tt_side
 *   stage       where it typically happens: enum tt_stage (the record keeps the actual one)
 *   retry       may another attempt run: enum tt_retry
 *   token       short log token, unique, lower_snake
 *   title       one line naming what happened
 *   explain     one or two sentences: what telltale observed, in plain words
 *   causes      likely causes, one per line ("\n" separated)
 *   visitor     numbered steps for the person who met the error, one per line
 *   operator    numbered steps for the operator, one per line
 *
 * Invariant: tokens and IDs are unique; TT_FAULT_NONE is 0 and has no row.
 *
 * This file is past the usual length on purpose: it is a table, and its
 * text is the product (what a visitor and an operator read when something
 * breaks), so it stays in one place rather than scattered over renderers.
 *
 * How the texts are written (tests/unit/fault/catalogue_test.c checks the
 * mechanical parts):
 *   - list items are separated by "\n", with no numbering and no trailing
 *     "\n": the renderers number and bullet them;
 *   - visitor steps (2-3) are for anyone and contain no network detail;
 *   - operator steps (3-6) name commands and config keys in backquotes and
 *     use placeholders, never real addresses: FILE (configuration file),
 *     NAME (upstream group), ADDR = IP:PORT (upstream server, the log's
 *     `upstream`), UPSTREAM_HOST (its host name), APP (its service), HOST
 *     and PATH (the request's), LISTEN and LISTEN_PORT (telltale's listener),
 *     ACCESS_LOG (the access log file). docs/errors.md lists them too.
 */
#ifndef TT_FAULT_CATALOGUE_H
#define TT_FAULT_CATALOGUE_H

#include <stddef.h>

/* clang-format off */
#define TT_FAULT_TABLE(X) \
	/* ---- the request (downstream side) ---- */ \
	X(REQUEST_MALFORMED, "http_request_error", 400, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "bad_request", \
	  "The request was malformed", \
	  /* explain */ \
	  "telltale could not read the request as valid HTTP/1.1: its request line, a header field " \
	  "or the Host header broke the message syntax, so the request was refused before it was " \
	  "forwarded anywhere.", \
	  /* causes */ \
	  "A client, script or device that writes HTTP by hand and gets the syntax wrong (a bare " \
	  "CR or LF, a space before a colon, folded header lines, control characters)\n" \
	  "A missing, repeated or invalid Host header\n" \
	  "Something other than HTTP sent to this port: a TLS handshake from an https:// URL, a " \
	  "port scanner, a health check speaking another protocol\n" \
	  "A proxy or middlebox in front of telltale that rewrites requests badly", \
	  /* visitor */ \
	  "Check the address in the address bar for stray spaces or unusual characters, then try " \
	  "again\n" \
	  "If you use an app, a browser extension or a script that changes requests, try without it\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the request's access-log line by its request ID: its `fault_details` say which " \
	  "part was rejected\n" \
	  "Reproduce with the same client, or compare with `curl -v http://HOST/PATH`; look at the " \
	  "client's raw bytes with `tcpdump -A -i any 'tcp port LISTEN_PORT'`\n" \
	  "If the bytes are a TLS handshake, the client uses https:// against a plain-HTTP " \
	  "listener: give it the right URL or terminate TLS in front of telltale\n" \
	  "Fix the client or the proxy in front: telltale is strict on purpose (lenient parsing is " \
	  "how request smuggling starts) and has no switch to accept malformed requests") \
	X(REQUEST_FRAMING, "http_request_error", 400, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "bad_framing", \
	  "The request's body length was ambiguous", \
	  /* explain */ \
	  "The request declared the length of its body in a way two servers could read differently " \
	  "(Content-Length together with Transfer-Encoding, Content-Length values that disagree, " \
	  "or Transfer-Encoding without chunked last), so telltale refused it instead of guessing.", \
	  /* causes */ \
	  "A request smuggling attempt, or a security scanner probing for one\n" \
	  "A client library that sends both Content-Length and Transfer-Encoding: chunked\n" \
	  "Transfer-Encoding in an HTTP/1.0 request, or a Transfer-Encoding list that does not end " \
	  "with chunked\n" \
	  "A proxy in front of telltale that adds a second, different Content-Length", \
	  /* visitor */ \
	  "Try again; if you were sending a form or a file, try once more from another browser or " \
	  "app\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log lines with this token and look at `downstream`: a burst from one " \
	  "address is usually a scanner, not a customer\n" \
	  "Capture a failing request (`tcpdump -A -i any 'tcp port LISTEN_PORT'`) and look at its " \
	  "Content-Length and Transfer-Encoding fields\n" \
	  "Fix the client or the proxy in front so that each request carries exactly one framing " \
	  "(RFC 9112 section 6.3)\n" \
	  "Do not look for a setting to relax this: an ambiguous body length is exactly how " \
	  "request smuggling works, so telltale has none") \
	X(REQUEST_BODY_INVALID, "http_request_error", 400, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "bad_request_body", \
	  "The request body's chunked framing was invalid", \
	  /* explain */ \
	  "The request announced a chunked body, but the data that followed broke the chunked " \
	  "format (a bad chunk size, a missing line ending, a malformed trailer), so telltale " \
	  "stopped reading the request and did not pass the rest on.", \
	  /* causes */ \
	  "A client or library that writes chunk sizes or the line ending after each chunk wrongly\n" \
	  "A chunk extension or trailer field that is malformed, or a chunk size too large to be " \
	  "real\n" \
	  "The client or a middlebox cut the body short and sent something else on the same " \
	  "connection\n" \
	  "A request smuggling probe", \
	  /* visitor */ \
	  "Try sending the form or the upload again\n" \
	  "If it fails again, try another browser or app\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID; its `fault_details` give the offset in the " \
	  "body where the framing broke\n" \
	  "Send the same body with a known-good client: `curl -v -H 'Transfer-Encoding: chunked' " \
	  "--data-binary @FILE http://HOST/PATH`; if that works, the original client is at fault\n" \
	  "Capture the failing client's traffic (`tcpdump -A -i any 'tcp port LISTEN_PORT'`) and " \
	  "compare it with RFC 9112 section 7.1\n" \
	  "Fix or upgrade the client library; telltale does not accept invalid chunked framing") \
	X(REQUEST_TARGET_TOO_LONG, "http_request_error", 414, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "target_too_long", \
	  "The request's URL was too long", \
	  /* explain */ \
	  "The request's URL (its path and query string) was longer than this gateway accepts, so " \
	  "telltale refused it before it was forwarded.", \
	  /* causes */ \
	  "A redirect loop or a link that appends parameters to the URL again and again\n" \
	  "A form or client that puts large data in the query string instead of the request body\n" \
	  "Tracking or state parameters that grew over time\n" \
	  "A scanner sending oversized URLs\n" \
	  "`limits.head_bytes` set lower than the site's longest legitimate URLs (a URL may use at " \
	  "most half of it)", \
	  /* visitor */ \
	  "If the address looks very long or repeats itself, go to the site's home page and " \
	  "navigate from there\n" \
	  "If you followed a link or a bookmark, try reaching the page through the site's menus " \
	  "instead\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID and look at `target` (cut at 4096 bytes in " \
	  "the log): does it repeat itself?\n" \
	  "Look for a redirect loop: `curl -sIL --max-redirs 10 'http://HOST/PATH'` shows each " \
	  "Location\n" \
	  "Move large data out of the query string into a POST body in the application or client\n" \
	  "If such URLs are legitimate, raise `limits.head_bytes` (a URL may use half of it), run " \
	  "`telltale check -c FILE`, then reload or restart telltale") \
	X(REQUEST_HEAD_TOO_LARGE, "http_request_error", 431, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "head_too_large", \
	  "The request's header fields were too large", \
	  /* explain */ \
	  "The request's header section was too large for this gateway: all fields together, one " \
	  "single field, or the number of fields went over its limits, so telltale refused it " \
	  "before it was forwarded.", \
	  /* causes */ \
	  "Cookies that piled up for the site's domain (many cookies, or very large ones)\n" \
	  "A large Authorization or token header, such as a JWT carrying many claims\n" \
	  "A client, extension or proxy that adds many or repeated header fields\n" \
	  "`limits.head_bytes` or `limits.header_count` set lower than the application needs", \
	  /* visitor */ \
	  "Delete this site's cookies in your browser's settings, then reload the page\n" \
	  "Or open the site in a private window, which starts without cookies\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID; its `fault_details` say whether the whole " \
	  "header section, one field or the field count was over\n" \
	  "In the browser's developer tools (Network tab), look at the request's headers: the " \
	  "Cookie header is the usual culprit\n" \
	  "Have the application set fewer and smaller cookies, scoped to the paths that need them, " \
	  "and keep large tokens out of headers\n" \
	  "If the size is legitimate, raise `limits.head_bytes` (one field may use half of it; " \
	  "default 16k) or `limits.header_count` (default 100), run `telltale check -c FILE`, then " \
	  "reload or restart telltale") \
	X(REQUEST_BODY_TOO_LARGE, "http_request_error", 413, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "body_too_large", \
	  "The request's body was larger than allowed", \
	  /* explain */ \
	  "The request's body (an upload or a form) was larger than this gateway is configured to " \
	  "accept, so telltale refused it without forwarding the rest.", \
	  /* causes */ \
	  "A file upload larger than the site allows\n" \
	  "`limits.body_bytes` set lower than the application's legitimate uploads\n" \
	  "A client that sends a much larger body than intended (the wrong file, a runaway loop)", \
	  /* visitor */ \
	  "Try a smaller file, or compress or split it before uploading\n" \
	  "Check whether the site states a maximum upload size\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID; its `fault_details` give the size announced " \
	  "and the limit\n" \
	  "Check the limit in force: `grep -n body_bytes FILE`\n" \
	  "If such uploads are legitimate, raise `limits.body_bytes` (`0` means no limit), run " \
	  "`telltale check -c FILE`, then reload or restart telltale\n" \
	  "Keep the application's own upload limit in line with telltale's, so visitors get one " \
	  "consistent answer") \
	X(REQUEST_CODING_UNSUPPORTED, "http_request_error", 501, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "coding_unsupported", \
	  "The request used a transfer coding telltale does not implement", \
	  /* explain */ \
	  "The request's Transfer-Encoding named a coding other than chunked (for example gzip " \
	  "applied at the transfer level), which telltale does not implement, so it could not tell " \
	  "where the body ends and refused the request.", \
	  /* causes */ \
	  "A client that sends Transfer-Encoding: gzip, deflate or compress\n" \
	  "A client or library that confuses Transfer-Encoding with Content-Encoding\n" \
	  "A request smuggling probe using unusual codings", \
	  /* visitor */ \
	  "Try again from another browser or app\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID; its `fault_details` name the coding\n" \
	  "Capture the request (`tcpdump -A -i any 'tcp port LISTEN_PORT'`) and look at its " \
	  "Transfer-Encoding field\n" \
	  "Have the client compress with Content-Encoding: gzip instead, which telltale passes " \
	  "through untouched, and frame the body with Content-Length or chunked\n" \
	  "telltale implements only the chunked transfer coding (RFC 9112 section 7); there is no " \
	  "setting to add others") \
	X(REQUEST_METHOD_UNSUPPORTED, "http_request_error", 501, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "method_unsupported", \
	  "The request's method is not supported by this gateway", \
	  /* explain */ \
	  "The request used a method this gateway does not forward, such as CONNECT, which asks a " \
	  "proxy to open a tunnel, so telltale answered it itself.", \
	  /* causes */ \
	  "A client configured to use this server as a forward proxy (an `HTTPS_PROXY` or " \
	  "`HTTP_PROXY` setting pointing at it)\n" \
	  "A scanner looking for open proxies\n" \
	  "An application that expects to tunnel through the gateway", \
	  /* visitor */ \
	  "If your browser or system is set to use a proxy server, check that setting: this site " \
	  "is not a proxy\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log lines with this token: `method` and `target` show what was asked\n" \
	  "If they come from unknown addresses, they are open-proxy probes: nothing to fix, or " \
	  "block them in front of telltale\n" \
	  "If an internal client sends them, correct its proxy settings (`env | grep -i _proxy`)\n" \
	  "telltale is a reverse proxy: for tunnels, use a forward proxy") \
	X(REQUEST_VERSION_UNSUPPORTED, "http_request_error", 505, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "version_unsupported", \
	  "The request used an HTTP version this gateway does not speak", \
	  /* explain */ \
	  "The request line named an HTTP version other than HTTP/1.0 or HTTP/1.1, which this " \
	  "gateway does not speak on this connection, so telltale refused the request.", \
	  /* causes */ \
	  "An HTTP/2 client using prior knowledge without TLS (`curl --http2-prior-knowledge`, " \
	  "gRPC over plain TCP): its preface reads as an HTTP/2.0 request line\n" \
	  "A hand-written client or test tool with a wrong version in its request line\n" \
	  "A scanner", \
	  /* visitor */ \
	  "Try another browser, or update yours\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID and identify the client from `downstream`\n" \
	  "Check that the client works over HTTP/1.1: `curl -v --http1.1 http://HOST/PATH`\n" \
	  "If the client needs HTTP/2 without TLS (gRPC), point it at a service that speaks it: " \
	  "telltale accepts HTTP/1.0 and HTTP/1.1 from downstreams\n" \
	  "Fix clients that write the version by hand") \
	X(REQUEST_HEAD_TIMEOUT, "http_request_error", 408, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "request_timeout", \
	  "The request's header section did not arrive in time", \
	  /* explain */ \
	  "A connection was opened, but the complete request header section did not arrive within " \
	  "the time this gateway allows, so telltale gave up on it.", \
	  /* causes */ \
	  "A slow or unstable network between the visitor and the site (mobile, congested Wi-Fi)\n" \
	  "A client that opens a connection and then sends slowly or not at all: a slowloris-style " \
	  "attack, or a health check that connects but never sends a request\n" \
	  "`timeouts.downstream_head` set too short for the site's slowest legitimate clients", \
	  /* visitor */ \
	  "Check your internet connection, then reload the page\n" \
	  "On a slow or mobile connection, try another network\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Count these errors by downstream address: `jq -r 'select(.fault==\"request_timeout\") | " \
	  ".downstream' ACCESS_LOG | sed 's/:[0-9]*$//' | sort | uniq -c | sort -rn | head`\n" \
	  "One address with many: a slowloris-style client or a health check that connects without " \
	  "sending; block the former in front of telltale, make the latter an HTTP check\n" \
	  "Many addresses with few each: slow clients; if they are legitimate, raise " \
	  "`timeouts.downstream_head` (default 10s), run `telltale check -c FILE`, then reload or " \
	  "restart telltale") \
	X(REQUEST_BODY_TIMEOUT, "http_request_error", 408, 400, TT_SIDE_DOWNSTREAM, TT_STAGE_REQUEST, TT_RETRY_NEVER, "request_body_timeout", \
	  "The request's body stopped arriving", \
	  /* explain */ \
	  "The request's body started arriving, then stalled for longer than this gateway allows " \
	  "between two pieces, so telltale gave up on the request.", \
	  /* causes */ \
	  "A slow or interrupted network during an upload (mobile, VPN, a Wi-Fi drop)\n" \
	  "A client that announced a longer body (Content-Length) than it actually sent\n" \
	  "A slow-body attack holding connections open\n" \
	  "`timeouts.downstream_idle` set shorter than the pauses of legitimate slow uploads", \
	  /* visitor */ \
	  "Check your connection and send the form or the upload again\n" \
	  "For large files, use a steadier connection\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID: `bytes_in` tells how much of the body " \
	  "arrived before the stall\n" \
	  "If one client always stops at the same size, it announces a longer Content-Length than " \
	  "it sends: fix the client\n" \
	  "If many stalls come from a few addresses, treat it as an attack and limit those " \
	  "addresses in front of telltale\n" \
	  "If legitimate uploads pause longer, raise `timeouts.downstream_idle` (default 60s), run " \
	  "`telltale check -c FILE`, then reload or restart telltale") \
	X(REQUEST_DENIED, "http_request_denied", 403, 403, TT_SIDE_PROXY, TT_STAGE_REQUEST, TT_RETRY_NEVER, "request_denied", \
	  "The gateway's policy denied the request", \
	  /* explain */ \
	  "The request was understood, but a rule in this gateway's configuration forbids it, so " \
	  "telltale refused to forward it.", \
	  /* causes */ \
	  "An access rule matched the request's address, host or path on purpose\n" \
	  "The request now arrives through another proxy or NAT, so telltale sees a different " \
	  "address than the rule expects\n" \
	  "A rule written broader than intended", \
	  /* visitor */ \
	  "Check that you are using the right address, and that you are signed in if the site " \
	  "needs it\n" \
	  "If you believe you should have access, contact the site and give them the request ID " \
	  "shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID; its `fault_details` say what matched\n" \
	  "Look at `downstream` in the log line: behind a load balancer or NAT it is that device's " \
	  "address, not the visitor's\n" \
	  "Review the rules in FILE, then run `telltale check -c FILE`\n" \
	  "Reproduce from the client's network with `curl -v http://HOST/PATH`") \
	X(DOWNSTREAM_CLOSED, "http_request_error", 0, 0, TT_SIDE_DOWNSTREAM, TT_STAGE_RESPOND, TT_RETRY_NEVER, "downstream_closed", \
	  "The client went away before the response was complete", \
	  /* explain */ \
	  "The client closed its connection, or lost it, before telltale finished sending the " \
	  "response; there was nobody left to send an error to, so this fault is only logged.", \
	  /* causes */ \
	  "The visitor closed the tab, went to another page or pressed stop while the page loaded\n" \
	  "A client or a load balancer in front of telltale gave up, its timeout shorter than the " \
	  "response time\n" \
	  "A network interruption between the client and telltale\n" \
	  "A slow response made the visitor give up", \
	  /* visitor */ \
	  "If the page did not finish loading, reload it\n" \
	  "If pages often stop half-way, check your internet connection", \
	  /* operator */ \
	  "Expect a few of these on any site: people leave pages before they finish loading\n" \
	  "If they rise, look at `duration_ms` and `upstream_head_ms` on these lines: slow " \
	  "responses make people and clients give up\n" \
	  "If they cluster at one fixed duration (for example always about 30 s), a client or load " \
	  "balancer in front of telltale has that timeout: raise it, or speed up the endpoint\n" \
	  "Check the application's latency for the targets involved with `curl -s -o /dev/null -w " \
	  "'%{time_starttransfer}\\n' http://HOST/PATH`") \
	X(DOWNSTREAM_STALLED, "http_request_error", 0, 0, TT_SIDE_DOWNSTREAM, TT_STAGE_RESPOND, TT_RETRY_NEVER, "downstream_stalled", \
	  "The client stopped reading the response", \
	  /* explain */ \
	  "The client kept its connection open but read nothing of the response for longer than " \
	  "timeouts.downstream_idle; telltale had stopped reading the upstream meanwhile " \
	  "(backpressure), so the upstream was not at fault, and the connection was closed.", \
	  /* causes */ \
	  "A client that opened a download and stopped reading it (a paused or hung program)\n" \
	  "A very slow or congested network path to the client\n" \
	  "A deliberate slow-read attack holding connections open", \
	  /* visitor */ \
	  "Start the download again\n" \
	  "If it keeps stopping, check your connection or try another network", \
	  /* operator */ \
	  "Look at the downstream address and bytes_out on these lines: one client or many\n" \
	  "If they come from a few addresses holding many connections, limit them in front of " \
	  "telltale (limits.max_connections bounds the total)\n" \
	  "Raise timeouts.downstream_idle in FILE if legitimate clients read this slowly") \
	/* ---- telltale itself ---- */ \
	X(DESTINATION_NOT_FOUND, "destination_not_found", 404, 500, TT_SIDE_PROXY, TT_STAGE_ROUTE, TT_RETRY_NEVER, "no_route", \
	  "No route matches this host and path", \
	  /* explain */ \
	  "No route in telltale's configuration matches this request's host and path, so there was " \
	  "no upstream to forward it to.", \
	  /* causes */ \
	  "The host name is not configured: a new domain, `www.` versus the bare domain, or a " \
	  "client using the server's IP address\n" \
	  "The path is outside every configured prefix and there is no catch-all route for `/`\n" \
	  "A recent configuration change removed or renamed a route\n" \
	  "Scanners trying random host names", \
	  /* visitor */ \
	  "Check the address for typos, including whether it starts with www or not\n" \
	  "Go to the site's home page and follow its links\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID; its `fault_details` give the host and path " \
	  "that matched nothing\n" \
	  "Compare them with `routes` in FILE: the host matches exactly (case ignored, port " \
	  "removed) and a path prefix matches at a segment boundary; docs/config.md explains the " \
	  "order\n" \
	  "Reproduce with `curl -v -H 'Host: HOST' http://LISTEN/PATH`\n" \
	  "Add the missing route (or a catch-all `path: /`), run `telltale check -c FILE`, then " \
	  "reload or restart telltale") \
	X(PROXY_LOOP_DETECTED, "proxy_loop_detected", 502, 502, TT_SIDE_PROXY, TT_STAGE_REQUEST, TT_RETRY_NEVER, "loop_detected", \
	  "The request already passed through this gateway: a forwarding loop", \
	  /* explain */ \
	  "The request already carried this gateway's own name in its Via header, so it had passed " \
	  "through telltale before; forwarding it again would loop forever, so telltale stopped it.", \
	  /* causes */ \
	  "An upstream server address that points back at telltale itself (its own listen address, " \
	  "or a name that resolves to it)\n" \
	  "Two proxies configured to forward to each other\n" \
	  "Two telltale instances chained on purpose with the same `name`\n" \
	  "DNS for an upstream name resolving to the gateway instead of the application", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this " \
	  "page: only the site can fix this", \
	  /* operator */ \
	  "Run `telltale check -c FILE` and compare every `upstreams.NAME.servers` address with " \
	  "`listen`\n" \
	  "Resolve the upstream names from the gateway host: `getent ahosts UPSTREAM_HOST`\n" \
	  "Request the upstream directly with `curl -sv -o /dev/null http://ADDR/`: an answer " \
	  "carrying this proxy's `Proxy-Status` means the upstream forwards back to telltale\n" \
	  "If two telltale instances are chained on purpose, give each a distinct `name`") \
	X(CONNECTION_LIMIT_REACHED, "connection_limit_reached", 503, 503, TT_SIDE_PROXY, TT_STAGE_CONNECT, TT_RETRY_SAFE, "overloaded", \
	  "The gateway is at its connection limit for this upstream", \
	  /* explain */ \
	  "telltale already held as many connections to this upstream as it is allowed to, and " \
	  "none became free in time, so it answered 503 at once rather than pile more load onto " \
	  "the upstream.", \
	  /* causes */ \
	  "A traffic spike beyond what the upstream's connection limit allows\n" \
	  "Slow upstream responses that hold connections longer, so fewer requests fit\n" \
	  "A connection limit set lower than the upstream can really serve\n" \
	  "Clients retrying aggressively after errors, multiplying the load", \
	  /* visitor */ \
	  "The site is busy: wait a minute, then reload the page\n" \
	  "Avoid reloading again and again: it adds to the load\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Count these errors per minute in the access log, and watch `upstream_head_ms` of " \
	  "successful requests: rising latency means the application is the bottleneck\n" \
	  "Check the upstream's health and latency: `telltale doctor --upstream NAME`\n" \
	  "Count connections to the upstream from the gateway host: `ss -tn state established '( " \
	  "dport = :PORT )' | wc -l`\n" \
	  "If the upstream has spare capacity, raise its connection limit in FILE; otherwise add " \
	  "servers to `upstreams.NAME.servers`, then run `telltale check -c FILE` and reload") \
	X(PROXY_CONFIGURATION_ERROR, "proxy_configuration_error", 500, 500, TT_SIDE_PROXY, TT_STAGE_PROXY, TT_RETRY_NEVER, "config_error", \
	  "The gateway's configuration does not allow this request to be served", \
	  /* explain */ \
	  "The request reached a part of telltale's configuration that cannot serve it: something " \
	  "the route or its upstream needs is missing or inconsistent. This is a gateway setup " \
	  "problem, not a problem with the request.", \
	  /* causes */ \
	  "A configuration change that left a route or upstream in an unusable state\n" \
	  "A setting that can only fail when used: a certificate, key or template file that cannot " \
	  "be read, a name that no longer resolves\n" \
	  "A configuration written for another version of telltale", \
	  /* visitor */ \
	  "Try again in a few minutes: the site's owners need to fix this\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Run `telltale check -c FILE`: it reports every problem with its line and column\n" \
	  "Read what telltale logged when it loaded or used that setting: `journalctl -u telltale " \
	  "-e`\n" \
	  "Fix the setting, check the file again, then reload or restart telltale\n" \
	  "Confirm with `curl -v http://HOST/PATH`") \
	X(PROXY_INTERNAL_ERROR, "proxy_internal_error", 500, 500, TT_SIDE_PROXY, TT_STAGE_PROXY, TT_RETRY_NEVER, "internal_error", \
	  "The gateway failed internally", \
	  /* explain */ \
	  "Something failed inside telltale itself, not in the request or the upstream: for " \
	  "example it ran out of file descriptors, memory or local ports when it tried to open a " \
	  "connection.", \
	  /* causes */ \
	  "The process reached its open-file limit (EMFILE), or the system-wide one (ENFILE)\n" \
	  "No free local port to connect from (EADDRNOTAVAIL), usually because upstream " \
	  "connections are not reused and TIME_WAIT sockets pile up\n" \
	  "Memory exhausted (ENOMEM)\n" \
	  "A bug in telltale", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID; its `fault_details` name the system error\n" \
	  "EMFILE or ENFILE: compare `ls /proc/$(pidof telltale)/fd | wc -l` with `grep 'open " \
	  "files' /proc/$(pidof telltale)/limits`, then raise `LimitNOFILE=` in the service unit " \
	  "(or `ulimit -n`)\n" \
	  "EADDRNOTAVAIL: count `ss -tan state time-wait | wc -l`; keep connections reused (raise " \
	  "`upstreams.NAME.keepalive.max_idle`) and widen `net.ipv4.ip_local_port_range`\n" \
	  "ENOMEM: check `journalctl -k | grep -i oom` and the memory limits of the service\n" \
	  "If none of these fit, report a bug with the log line and the output of `telltale " \
	  "version`") \
	X(PROXY_INTERNAL_RESPONSE, "proxy_internal_response", 0, 0, TT_SIDE_PROXY, TT_STAGE_PROXY, TT_RETRY_NEVER, "internal_response", \
	  "The gateway answered this request itself", \
	  /* explain */ \
	  "telltale answered this request itself instead of forwarding it, as configured (for " \
	  "example a status page or a health endpoint); this is not a failure.", \
	  /* causes */ \
	  "The request was addressed to one of telltale's own endpoints\n" \
	  "A route configured to answer locally", \
	  /* visitor */ \
	  "Nothing to do: this answer came from the site's gateway on purpose\n" \
	  "If it is not what you expected, check the address", \
	  /* operator */ \
	  "Nothing to fix: this token marks responses telltale produced itself\n" \
	  "If a request meant for the application got one, review the routes in FILE and run " \
	  "`telltale check -c FILE`\n" \
	  "Reproduce with `curl -v http://HOST/PATH` and compare with what the application answers " \
	  "directly (`curl -v http://ADDR/PATH`)") \
	/* ---- finding the upstream ---- */ \
	X(DNS_TIMEOUT, "dns_timeout", 504, 504, TT_SIDE_UPSTREAM, TT_STAGE_DNS, TT_RETRY_SAFE, "dns_timeout", \
	  "The upstream's name could not be resolved in time", \
	  /* explain */ \
	  "telltale asked its DNS resolver for the upstream's address, but no answer came back in " \
	  "time, so it had no address to connect to.", \
	  /* causes */ \
	  "The resolver in /etc/resolv.conf is down, overloaded or unreachable from the gateway " \
	  "host\n" \
	  "A firewall dropping DNS traffic (UDP or TCP port 53) from the gateway host\n" \
	  "A large answer that needs DNS over TCP, while TCP port 53 is blocked\n" \
	  "Network trouble between the gateway and its resolver", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Query the resolver from the gateway host: `dig UPSTREAM_HOST`, then `dig +tcp " \
	  "UPSTREAM_HOST`\n" \
	  "See which resolvers are used: `cat /etc/resolv.conf` (and `resolvectl status` where " \
	  "systemd-resolved runs)\n" \
	  "Make sure UDP and TCP port 53 to those resolvers are allowed from the gateway host\n" \
	  "For critical upstreams, write IP addresses in `upstreams.NAME.servers`, or run a local " \
	  "caching resolver, to take DNS out of the request path") \
	X(DNS_ERROR, "dns_error", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_DNS, TT_RETRY_SAFE, "dns_error", \
	  "The upstream's name could not be resolved", \
	  /* explain */ \
	  "telltale asked DNS for the upstream's address and got an error back: the name does not " \
	  "exist (NXDOMAIN), it has no address records, or the resolver failed (SERVFAIL, REFUSED).", \
	  /* causes */ \
	  "A typo in the upstream's host name in the configuration\n" \
	  "The DNS record was deleted, or not created yet (a new service, a renamed Kubernetes " \
	  "Service)\n" \
	  "The name only resolves inside another network or search domain\n" \
	  "The resolver failed: a DNSSEC validation failure or an outage of the authoritative " \
	  "servers (SERVFAIL)", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The access-log line's `fault_details` carry the DNS answer telltale got (so do the " \
	  "Proxy-Status parameters `rcode` and `info-code`, seen from `error_detail_networks`)\n" \
	  "Query from the gateway host: `dig UPSTREAM_HOST`; the status line says NXDOMAIN, " \
	  "SERVFAIL, REFUSED, or NOERROR with no answer\n" \
	  "For SERVFAIL, try `dig +cd UPSTREAM_HOST`: if that answers, DNSSEC validation is failing\n" \
	  "Fix the name in `upstreams.NAME.servers` or create the record, then run `telltale check " \
	  "-c FILE`") \
	X(DESTINATION_UNAVAILABLE, "destination_unavailable", 503, 503, TT_SIDE_UPSTREAM, TT_STAGE_CONNECT, TT_RETRY_SAFE, "no_server", \
	  "No upstream server is available", \
	  /* explain */ \
	  "No server of the upstream group could take the request: each one was marked down or " \
	  "failed to connect, so telltale had nowhere to send it.", \
	  /* causes */ \
	  "Every server of the group is down, crashed or restarting at the same moment (a deploy)\n" \
	  "Health checks fail everywhere because the check itself is wrong (wrong path or port, a " \
	  "too short timeout)\n" \
	  "Servers taken out after a burst of failures and not yet back\n" \
	  "An unusual connection error reported by the operating system (the log's `fault_details` " \
	  "name it)", \
	  /* visitor */ \
	  "The service is temporarily unavailable: wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "See every server's state and try each one: `telltale doctor --upstream NAME`\n" \
	  "From the gateway host, request each server directly: `curl -v http://ADDR/`\n" \
	  "On the application hosts: `systemctl status APP` and `journalctl -u APP --since '10 min " \
	  "ago'`\n" \
	  "Stagger deployments so that not every server restarts at once, and add servers to " \
	  "`upstreams.NAME.servers` if one is not enough") \
	X(DESTINATION_IP_PROHIBITED, "destination_ip_prohibited", 502, 502, TT_SIDE_PROXY, TT_STAGE_CONNECT, TT_RETRY_SAFE, "ip_prohibited", \
	  "The gateway is not allowed to connect to the upstream's address", \
	  /* explain */ \
	  "The upstream's address is one this gateway is not allowed to connect to, by its " \
	  "configuration or by the host's firewall, so telltale did not open the connection.", \
	  /* causes */ \
	  "A name that now resolves to a forbidden address (loopback, link-local such as a cloud " \
	  "metadata service, or a private range the configuration excludes)\n" \
	  "DNS rebinding: a public name made to resolve to an internal address\n" \
	  "A firewall rule on the gateway host that forbids the connection", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The access-log line's `fault_details` give the address that was refused\n" \
	  "Check what the name resolves to now: `getent ahosts UPSTREAM_HOST`\n" \
	  "Check the gateway host's outgoing firewall rules: `nft list ruleset` or `iptables -S " \
	  "OUTPUT`\n" \
	  "If the address is legitimate, allow it in FILE or the firewall, then run `telltale " \
	  "check -c FILE`; if it is not, fix the DNS record") \
	X(DESTINATION_IP_UNROUTABLE, "destination_ip_unroutable", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_CONNECT, TT_RETRY_SAFE, "unroutable", \
	  "There is no network route to the upstream's address", \
	  /* explain */ \
	  "The operating system has no way to reach the upstream's address (network or host " \
	  "unreachable), so the connection failed before any answer from the upstream.", \
	  /* causes */ \
	  "The upstream host is down or gone, and nothing answers for its address on its network\n" \
	  "A missing or wrong route on the gateway host: a VPN or an interface down, a wrong subnet\n" \
	  "A firewall on the way rejecting the traffic with an ICMP unreachable message\n" \
	  "An IPv6 address on a host without IPv6 connectivity (or the reverse for IPv4)", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "See the route the gateway host would use: `ip route get IP`\n" \
	  "Find where the path stops: `ping -c3 IP` and `tracepath -n IP`\n" \
	  "On the same network, `ip neigh show IP` saying FAILED or INCOMPLETE means the host does " \
	  "not answer at all\n" \
	  "Fix the route, VPN or firewall, or correct the address in `upstreams.NAME.servers`; " \
	  "check with `telltale doctor --upstream NAME`") \
	/* ---- the connection to the upstream ---- */ \
	X(CONNECTION_REFUSED, "connection_refused", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_CONNECT, TT_RETRY_SAFE, "upstream_refused", \
	  "The upstream refused the connection", \
	  /* explain */ \
	  "telltale reached the upstream's address, but nothing accepted the connection there: the " \
	  "operating system answered with a refusal.", \
	  /* causes */ \
	  "The application is not running: it crashed, was stopped, or is still starting\n" \
	  "It listens on another port, or only on another interface (localhost only while telltale " \
	  "connects to the host's network address, or IPv4 only while telltale uses IPv6)\n" \
	  "A deploy or restart: the old process closed its socket before the new one opened it\n" \
	  "A firewall rule rejecting the connection with a TCP reset", \
	  /* visitor */ \
	  "Wait a minute, then reload the page: the site may be restarting\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "On the upstream host, see what listens on the port, and on which address: `ss -ltnp " \
	  "'sport = :PORT'`\n" \
	  "From the gateway host, try it directly: `curl -v http://ADDR/`\n" \
	  "Check the application: `systemctl status APP` and `journalctl -u APP -e` for a crash or " \
	  "a failed start\n" \
	  "Compare `upstreams.NAME.servers` in FILE with where the application listens; `telltale " \
	  "doctor --upstream NAME` tests each server\n" \
	  "For deploys, keep the listening socket open across restarts (socket activation, a " \
	  "graceful reload), or run several servers so that another one can take the request") \
	X(CONNECTION_TIMEOUT, "connection_timeout", 504, 504, TT_SIDE_UPSTREAM, TT_STAGE_CONNECT, TT_RETRY_SAFE, "connect_timeout", \
	  "The connection to the upstream could not be opened in time", \
	  /* explain */ \
	  "telltale asked to open a connection to the upstream, but neither an acceptance nor a " \
	  "refusal came back in time, so it gave up.", \
	  /* causes */ \
	  "A firewall or security group silently dropping traffic to the upstream's port\n" \
	  "The upstream host is down or unreachable, and no error comes back\n" \
	  "The application's accept queue is full, so its kernel drops new connections (an " \
	  "overloaded application)\n" \
	  "A wrong address where no host answers\n" \
	  "`timeouts.upstream_connect` too short for a slow or distant network", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "From the gateway host: `curl -v --connect-timeout 5 http://ADDR/` or `nc -vz -w5 IP " \
	  "PORT`\n" \
	  "Check that firewalls and security groups allow the gateway host to reach the upstream's " \
	  "port\n" \
	  "On the upstream host, `ss -ltn 'sport = :PORT'`: a Recv-Q near Send-Q means the accept " \
	  "queue is full; `nstat -az TcpExtListenOverflows` counts the drops\n" \
	  "Test each server of the group: `telltale doctor --upstream NAME`\n" \
	  "Only if the network is slow but working, raise `timeouts.upstream_connect` (default 5s)") \
	X(CONNECTION_TERMINATED, "connection_terminated", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_WAIT_HEAD, TT_RETRY_IDEMPOTENT, "upstream_closed", \
	  "The upstream closed the connection without a complete response", \
	  /* explain */ \
	  "The upstream closed or reset the connection while telltale was sending the request " \
	  "(stage `send`) or after it, before a complete response head arrived.", \
	  /* causes */ \
	  "The keep-alive race: telltale reused an idle pooled connection just as the upstream " \
	  "closed it, because the application's keep-alive timeout is shorter than " \
	  "`upstreams.NAME.keepalive.idle_timeout` (Node.js closes idle connections after 5 s)\n" \
	  "The application crashed or was killed while handling the request (out of memory, a " \
	  "deploy)\n" \
	  "The application closes connections on purpose: a limit of requests per connection, or " \
	  "it rejects the request without answering, such as an upload over its body size limit " \
	  "refused before it was read whole (stage `send`)\n" \
	  "A firewall, NAT or load balancer between them forgot an idle connection and reset it", \
	  /* visitor */ \
	  "Reload the page: this is often a brief hiccup\n" \
	  "If you had sent a form or a payment, check whether it went through before sending it " \
	  "again\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Look at the access-log line's `attempts`: `\"reused\":true` (the connection had waited " \
	  "in the pool) points at the keep-alive race; `false` (a fresh connection) points at the " \
	  "application\n" \
	  "For the keep-alive race, set `upstreams.NAME.keepalive.idle_timeout` below the " \
	  "application's keep-alive timeout (Node.js `server.keepAliveTimeout`, default 5 s; " \
	  "gunicorn `--keep-alive`, default 2 s), or raise the application's\n" \
	  "For a crash: `journalctl -u APP --since '10 min ago'` and `journalctl -k | grep -i -e " \
	  "oom -e killed`\n" \
	  "Reproduce directly from the gateway host: `curl -v http://ADDR/PATH`") \
	X(CONNECTION_READ_TIMEOUT, "connection_read_timeout", 504, 504, TT_SIDE_UPSTREAM, TT_STAGE_READ_BODY, TT_RETRY_IDEMPOTENT, "read_timeout", \
	  "The upstream went silent in the middle of its response", \
	  /* explain */ \
	  "The upstream started its response, then sent nothing for longer than this gateway " \
	  "allows; the response had already begun to reach the client, so telltale closed the " \
	  "connection to mark it incomplete.", \
	  /* causes */ \
	  "The application stalls while producing the response: a slow database query, a lock, a " \
	  "blocked worker\n" \
	  "A stream (server-sent events, long polling) that goes quiet for longer than " \
	  "`timeouts.upstream_idle` without a heartbeat\n" \
	  "Packet loss or an MTU problem between the gateway and the upstream\n" \
	  "`timeouts.upstream_idle` shorter than the application's legitimate pauses", \
	  /* visitor */ \
	  "Reload the page, or start the download again\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID: `bytes_out` shows how much reached the " \
	  "client, `upstream_head_ms` when the head arrived\n" \
	  "Time the response directly: `curl -s -o /dev/null -w 'head %{time_starttransfer}s, " \
	  "total %{time_total}s\\n' http://ADDR/PATH`\n" \
	  "Look for the stall in the application: `journalctl -u APP`, the database's slow query " \
	  "log\n" \
	  "For streams, send a heartbeat more often than `timeouts.upstream_idle` (default 60s), " \
	  "or raise it, then run `telltale check -c FILE` and reload") \
	X(CONNECTION_WRITE_TIMEOUT, "connection_write_timeout", 504, 504, TT_SIDE_UPSTREAM, TT_STAGE_SEND, TT_RETRY_IDEMPOTENT, "write_timeout", \
	  "The upstream stopped accepting the request", \
	  /* explain */ \
	  "telltale was sending the request, usually its body, to the upstream, but the upstream " \
	  "stopped reading it and the transfer made no progress in time.", \
	  /* causes */ \
	  "The application does not read the request body: it answers, or blocks, before reading " \
	  "an upload\n" \
	  "The application is overloaded or stuck, so its receive buffers stay full\n" \
	  "Network trouble between the gateway and the upstream\n" \
	  "An application that reads uploads slowly by design (scanning or storing them as they " \
	  "arrive)", \
	  /* visitor */ \
	  "Try again in a minute; if you were uploading, check first whether the upload went " \
	  "through\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log line by its request ID: `method`, `target` and `bytes_in` tell " \
	  "whether it was an upload and how far it got\n" \
	  "Reproduce directly: `curl -v --data-binary @FILE http://ADDR/PATH`\n" \
	  "On the upstream host, `ss -tn 'sport = :PORT'`: a large Recv-Q on the connection means " \
	  "the application is not reading\n" \
	  "Make the application read (or reject and close) request bodies promptly\n" \
	  "If slow reading is expected, raise `timeouts.downstream_idle`, which also bounds a " \
	  "stalled send to the upstream") \
	/* ---- TLS to the upstream ---- */ \
	X(TLS_PROTOCOL_ERROR, "tls_protocol_error", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_TLS, TT_RETRY_SAFE, "tls_protocol_error", \
	  "The TLS handshake with the upstream failed", \
	  /* explain */ \
	  "telltale tried to open a TLS session with the upstream, but the handshake failed: the " \
	  "two sides found no protocol version or cipher in common, or the upstream's answer was " \
	  "not TLS at all.", \
	  /* causes */ \
	  "The upstream's port speaks plain HTTP, not TLS\n" \
	  "No common version or cipher: an old upstream offering only TLS 1.0 or 1.1, which " \
	  "OpenSSL refuses by default\n" \
	  "The upstream needs a server name (SNI) other than the one telltale sends\n" \
	  "A middlebox interfering with the handshake", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Run the handshake by hand from the gateway host: `openssl s_client -connect ADDR " \
	  "-servername UPSTREAM_HOST -brief </dev/null`\n" \
	  "If `curl -v http://ADDR/` works, the port is plain HTTP: turn TLS off for that " \
	  "upstream, or use its TLS port\n" \
	  "Test versions one by one with `-tls1_2` and `-tls1_3` on `openssl s_client`; upgrade an " \
	  "upstream that only offers older ones\n" \
	  "Check the result for each server: `telltale doctor --upstream NAME`") \
	X(TLS_CERTIFICATE_ERROR, "tls_certificate_error", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_TLS, TT_RETRY_SAFE, "tls_certificate_error", \
	  "The upstream's TLS certificate could not be verified", \
	  /* explain */ \
	  "The upstream presented a TLS certificate that telltale could not verify: expired, not " \
	  "yet valid, issued for another name, or signed by an authority telltale does not trust.", \
	  /* causes */ \
	  "The certificate expired because its renewal failed\n" \
	  "Name mismatch: telltale connects with a name or IP address missing from the " \
	  "certificate's subjectAltName\n" \
	  "A self-signed or private-CA certificate, without that CA configured for telltale\n" \
	  "An incomplete chain: the upstream does not send its intermediate certificate\n" \
	  "A wrong clock on the gateway host", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "See the certificate: `openssl s_client -connect ADDR -servername UPSTREAM_HOST " \
	  "</dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -dates -ext " \
	  "subjectAltName`\n" \
	  "See why it fails: `openssl s_client -connect ADDR -servername UPSTREAM_HOST </dev/null " \
	  "2>/dev/null | grep 'Verify return code'`\n" \
	  "Renew an expired certificate, serve the full chain, or configure the private CA for " \
	  "this upstream in FILE\n" \
	  "Check the gateway host's clock: `timedatectl`") \
	X(TLS_ALERT_RECEIVED, "tls_alert_received", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_TLS, TT_RETRY_SAFE, "tls_alert", \
	  "The upstream ended the TLS handshake with an alert", \
	  /* explain */ \
	  "During the TLS handshake the upstream sent an alert and ended it: the upstream, not " \
	  "telltale, rejected the session, and the alert's name says why.", \
	  /* causes */ \
	  "The upstream requires a client certificate (mutual TLS) and telltale sent none, or one " \
	  "it does not accept\n" \
	  "The upstream finds no version or cipher in common (handshake_failure, protocol_version)\n" \
	  "The upstream does not serve the name telltale asked for (unrecognized_name)\n" \
	  "The upstream's TLS setup is broken, such as a missing or unreadable key", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The access-log line's `fault_details` give the alert (so do the Proxy-Status parameters " \
	  "`alert-id` and `alert-message`, seen from `error_detail_networks`)\n" \
	  "Reproduce it: `openssl s_client -connect ADDR -servername UPSTREAM_HOST </dev/null`; " \
	  "add `-cert CERT -key KEY` to test with a client certificate\n" \
	  "Read the upstream's side of the story in its logs: `journalctl -u APP`\n" \
	  "Align the server name, TLS versions and client certificate configured for this upstream " \
	  "in FILE with what the upstream expects") \
	/* ---- the upstream's response ---- */ \
	X(HTTP_RESPONSE_TIMEOUT, "http_response_timeout", 504, 504, TT_SIDE_UPSTREAM, TT_STAGE_WAIT_HEAD, TT_RETRY_IDEMPOTENT, "upstream_timeout", \
	  "The upstream did not answer in time", \
	  /* explain */ \
	  "telltale sent the whole request to the upstream, which kept the connection open but did " \
	  "not start its response within the time this gateway waits.", \
	  /* causes */ \
	  "The application is slow on this request: a long database query, a slow external call, a " \
	  "large report computed before answering\n" \
	  "The application is overloaded: every worker is busy and requests wait in its queue\n" \
	  "A deadlock, or a worker stuck on a lock\n" \
	  "`timeouts.upstream_head` shorter than legitimately slow endpoints need", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If you had sent a form or a payment, check whether it went through before sending it " \
	  "again\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log lines with this token: is it one `target` or all of them? One " \
	  "endpoint points at its code or query, all of them at overload\n" \
	  "Time the request directly from the gateway host: `curl -s -o /dev/null -w 'head after " \
	  "%{time_starttransfer}s\\n' http://ADDR/PATH`\n" \
	  "Look inside the application: `journalctl -u APP`, the database's slow query log, worker " \
	  "usage; a thread dump (`py-spy dump --pid PID`, `jstack PID`) shows where it waits\n" \
	  "Move long work to a background job; for legitimately slow endpoints raise " \
	  "`timeouts.upstream_head` (default 60s), run `telltale check -c FILE`, then reload") \
	X(HTTP_PROTOCOL_ERROR, "http_protocol_error", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_HEAD, TT_RETRY_IDEMPOTENT, "upstream_bad_response", \
	  "The upstream's response was not valid HTTP", \
	  /* explain */ \
	  "The upstream answered, but what it sent was not a valid HTTP/1.1 response (a malformed " \
	  "status line or header field), so telltale refused to pass it on.", \
	  /* causes */ \
	  "Something other than an HTTP server listens on that port: a database, a cache, an " \
	  "HTTP/2-only or gRPC server\n" \
	  "The upstream expects TLS on that port and telltale speaks plain HTTP to it\n" \
	  "The application writes output (debug prints, warnings) before its status line, or puts " \
	  "invalid bytes in a header (a line break inside a value)\n" \
	  "The application sends an unexpected interim or switching response, or writes two " \
	  "responses for one request on a reused connection", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The access-log line's `fault_details` say what was wrong and where\n" \
	  "Look at the raw bytes from the gateway host: `printf 'GET / HTTP/1.1\\r\\nHost: " \
	  "x\\r\\n\\r\\n' | nc -w3 IP PORT | head -c 300 | od -c | head`\n" \
	  "If the first bytes shown are `026 003` (a TLS handshake) or `025 003` (a TLS alert), " \
	  "the port speaks TLS: enable TLS for this upstream or use its plain-HTTP port; anything " \
	  "else that does not start with `HTTP/1.` means the wrong port in `upstreams.NAME.servers`\n" \
	  "If it is the application, find where it writes to the connection outside its framework, " \
	  "and check header values for line breaks\n" \
	  "Check each server: `telltale doctor --upstream NAME`") \
	X(HTTP_RESPONSE_HEADER_SECTION_SIZE, "http_response_header_section_size", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_HEAD, TT_RETRY_NEVER, "upstream_head_too_large", \
	  "The upstream's response header section was too large", \
	  /* explain */ \
	  "The upstream's response header section was larger than this gateway accepts, or had " \
	  "more fields than it allows, so telltale refused to pass it on.", \
	  /* causes */ \
	  "The application sets many or very large cookies\n" \
	  "Large headers carrying debug data, tokens, a long Content-Security-Policy or Link " \
	  "preload list\n" \
	  "A header that grows with every request (a cookie appended to in a loop)\n" \
	  "`limits.head_bytes` or `limits.header_count` lower than the application's legitimate " \
	  "responses", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Measure the response head from the gateway host: `curl -s -o /dev/null -D - " \
	  "http://ADDR/PATH | wc -lc` (field lines, then bytes)\n" \
	  "Find the biggest fields: `curl -s -o /dev/null -D - http://ADDR/PATH | awk '{ print " \
	  "length, $1 }' | sort -rn | head`\n" \
	  "Trim the headers in the application\n" \
	  "If the size is legitimate, raise `limits.head_bytes` (default 16k; it applies to " \
	  "request heads too) or `limits.header_count` (default 100), run `telltale check -c " \
	  "FILE`, then reload") \
	X(HTTP_RESPONSE_HEADER_SIZE, "http_response_header_size", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_HEAD, TT_RETRY_NEVER, "upstream_field_too_large", \
	  "One of the upstream's response header fields was too large", \
	  /* explain */ \
	  "One header field of the upstream's response was longer than this gateway accepts for a " \
	  "single field, so telltale refused to pass the response on.", \
	  /* causes */ \
	  "A very large cookie (Set-Cookie) or token header\n" \
	  "A long Content-Security-Policy, Link or debugging header\n" \
	  "A header value that grows with every request\n" \
	  "`limits.head_bytes` too low: one field may use at most half of it", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The Proxy-Status parameter `header-name` names the field\n" \
	  "Measure it from the gateway host: `curl -s -o /dev/null -D - http://ADDR/PATH | awk '{ " \
	  "print length, $1 }' | sort -rn | head`\n" \
	  "Shorten that field in the application\n" \
	  "If it is legitimate, raise `limits.head_bytes` (default 16k), run `telltale check -c " \
	  "FILE`, then reload") \
	X(HTTP_RESPONSE_BODY_SIZE, "http_response_body_size", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_BODY, TT_RETRY_NEVER, "upstream_body_too_large", \
	  "The upstream's response body was larger than allowed", \
	  /* explain */ \
	  "The upstream's response body was larger than this gateway is configured to accept, so " \
	  "telltale stopped it; if part of it had already reached the client, the connection was " \
	  "closed so the response is visibly incomplete.", \
	  /* causes */ \
	  "An export, report or download bigger than expected\n" \
	  "A runaway response: an endpoint returning an unbounded list, or a loop\n" \
	  "A response body limit set lower than legitimate responses", \
	  /* visitor */ \
	  "If you were downloading a large file or export, try a smaller selection\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The Proxy-Status parameter `body-size` gives the size seen\n" \
	  "Measure the response from the gateway host: `curl -s -o /dev/null -w " \
	  "'%{size_download}\\n' http://ADDR/PATH`\n" \
	  "Paginate or stream large results in the application\n" \
	  "If such responses are legitimate, raise the response body limit in FILE, run `telltale " \
	  "check -c FILE`, then reload") \
	X(HTTP_RESPONSE_TRANSFER_CODING, "http_response_transfer_coding", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_BODY, TT_RETRY_NEVER, "upstream_bad_coding", \
	  "The upstream's response body framing (transfer coding) was invalid", \
	  /* explain */ \
	  "The upstream's response body was framed in a way telltale could not read safely: " \
	  "malformed chunked data, a transfer coding other than chunked, or framing fields that " \
	  "contradict each other, so telltale stopped the response.", \
	  /* causes */ \
	  "The application writes chunk framing by hand and gets it wrong, or chunks a body its " \
	  "server chunks again\n" \
	  "The application sets Transfer-Encoding itself and then writes a plain body\n" \
	  "Both Content-Length and Transfer-Encoding in one response\n" \
	  "A transfer coding other than chunked (gzip at the transfer level)", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The access-log line's `fault_details` give the offset where the framing broke\n" \
	  "Look at the raw body from the gateway host: `curl -s --raw -D - -o /tmp/body.raw " \
	  "http://ADDR/PATH` then `head -c 200 /tmp/body.raw | od -c`; each chunk starts with a " \
	  "hex size and CRLF\n" \
	  "Find code in the application that sets Transfer-Encoding or writes chunk sizes, and let " \
	  "the server framework frame the body\n" \
	  "telltale does not relax this: ambiguous framing from an upstream can mix up responses " \
	  "on a reused connection") \
	X(HTTP_RESPONSE_CONTENT_CODING, "http_response_content_coding", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_BODY, TT_RETRY_NEVER, "upstream_bad_content_coding", \
	  "The upstream's response content coding could not be decoded", \
	  /* explain */ \
	  "The upstream's response declared a content coding (Content-Encoding such as gzip or br) " \
	  "that telltale needed to decode, but the data did not decode as that coding.", \
	  /* causes */ \
	  "The header says gzip but the body is plain, or compressed twice (by the application and " \
	  "a middleware)\n" \
	  "A compressed body cut short\n" \
	  "A coding telltale does not implement", \
	  /* visitor */ \
	  "Wait a minute, then reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "The Proxy-Status parameter `coding` names the coding\n" \
	  "Fetch the body as sent: `curl -s -H 'Accept-Encoding: gzip' -D - -o /tmp/body " \
	  "http://ADDR/PATH`, then `file /tmp/body` and `gzip -t /tmp/body`\n" \
	  "Make sure exactly one layer compresses (the application, a middleware or a web server) " \
	  "and that Content-Encoding names what it did\n" \
	  "Reproduce directly and compare with `curl --compressed -v http://ADDR/PATH`") \
	X(HTTP_RESPONSE_INCOMPLETE, "http_response_incomplete", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_BODY, TT_RETRY_NEVER, "upstream_incomplete", \
	  "The upstream's response ended before it was complete", \
	  /* explain */ \
	  "The upstream closed the connection before sending the whole body it announced (fewer " \
	  "bytes than its Content-Length, or no final chunk); the response had already started, so " \
	  "telltale closed the connection to the client to mark it incomplete rather than pass it " \
	  "off as whole.", \
	  /* causes */ \
	  "The application crashed, was restarted or killed in the middle of the response (out of " \
	  "memory, a deploy)\n" \
	  "A wrong Content-Length: the application announced more bytes than it wrote (counted " \
	  "before compression, or in characters rather than bytes)\n" \
	  "A timeout inside the application or its server closed the connection mid-response\n" \
	  "The network connection between the gateway and the upstream was cut", \
	  /* visitor */ \
	  "Reload the page, or start the download again\n" \
	  "If a download always stops at the same point, contact the site and give them the " \
	  "request ID shown on this page", \
	  /* operator */ \
	  "Find the access-log lines with this token: the same `target` with the same `bytes_out` " \
	  "each time points at a Content-Length bug, scattered ones at crashes\n" \
	  "Fetch it directly: `curl -sv -o /dev/null http://ADDR/PATH` reports `transfer closed " \
	  "with N bytes remaining to read` for a short body\n" \
	  "For a Content-Length bug, check where the length is computed (compression middleware " \
	  "order, bytes versus characters)\n" \
	  "For crashes: `journalctl -u APP --since '10 min ago'` and `journalctl -k | grep -i oom`") \
	X(HTTP_UPGRADE_FAILED, "http_upgrade_failed", 502, 502, TT_SIDE_UPSTREAM, TT_STAGE_READ_HEAD, TT_RETRY_NEVER, "upgrade_failed", \
	  "The upstream did not complete the protocol upgrade", \
	  /* explain */ \
	  "The upstream answered 101 Switching Protocols in a way telltale cannot pass on: to a " \
	  "request that asked for no upgrade, without an Upgrade field, or switching to a protocol " \
	  "the request did not offer (RFC 9110 section 7.8). An upstream that refuses an upgrade " \
	  "with an ordinary response (400, 426) is not a fault: that response is passed on.", \
	  /* causes */ \
	  "The application switches protocols on requests that did not ask for it (a h2c or " \
	  "WebSocket handler mounted too broadly)\n" \
	  "The application answers with a protocol or version the client did not offer\n" \
	  "A proxy or framework between telltale and the application drops or rewrites the Upgrade " \
	  "field", \
	  /* visitor */ \
	  "Reload the page\n" \
	  "If it keeps happening, contact the site and give them the request ID shown on this page", \
	  /* operator */ \
	  "Test the upgrade directly from the gateway host: `curl -v -H 'Connection: Upgrade' -H " \
	  "'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: " \
	  "dGhlIHNhbXBsZSBub25jZQ==' http://ADDR/PATH`; a working endpoint answers 101 with " \
	  "`Upgrade: websocket`\n" \
	  "Compare the protocol in the 101's Upgrade field (the fault's details) with the one the " \
	  "client offered, and fix the application's handler to answer with the offered one\n" \
	  "Check that the route in FILE sends this path to the upstream that serves WebSocket")
/* clang-format on */

enum tt_fault_id {
	TT_FAULT_NONE = 0,
#define X(id, ...) TT_FAULT_##id,
	TT_FAULT_TABLE(X)
#undef X
	    TT_FAULT__COUNT
};

/* One row, as data. Strings are static. */
struct tt_fault_info {
	enum tt_fault_id id;
	const char *type;
	int status;
	int rfc_status;
	int side;  /* enum tt_side */
	int stage; /* enum tt_stage */
	int retry; /* enum tt_retry */
	const char *token;
	const char *title;
	const char *explain;
	const char *causes;    /* lines separated by "\n" */
	const char *visitor;   /* lines separated by "\n" */
	const char *operator_; /* lines separated by "\n" */
};

/* The row of id, or NULL for TT_FAULT_NONE and out-of-range ids. */
const struct tt_fault_info *tt_fault_info(int id);
/* Look a row up by log token or by RFC 9209 type (first row of that
 * type); TT_FAULT_NONE when there is none. */
enum tt_fault_id tt_fault_by_token(const char *token, size_t len);
enum tt_fault_id tt_fault_by_type(const char *type, size_t len);

/* Iterate the items of a "\n"-separated column: *pos starts at 0; returns
 * 1 with the item in *item and *len, 0 at the end. */
int tt_fault_lines(const char *column, size_t *pos, const char **item, size_t *len);

#endif
