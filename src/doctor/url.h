/*
 * The URL `telltale doctor` is given: http://host[:port][/path][?query],
 * or https://. Pure parsing, no I/O; the authority is checked with the
 * proxy's own Host validator (http/uri_host.h).
 *
 * Invariant: on success every string is NUL-terminated, host carries no
 * brackets, hostport always has a port, and path starts with "/".
 */
#ifndef TT_DOCTOR_URL_H
#define TT_DOCTOR_URL_H

#include <stddef.h>
#include <stdint.h>

#define TT_DOC_HOST_MAX 256
#define TT_DOC_PATH_MAX 2048

struct tt_doc_url {
	int https;                           /* scheme https:// */
	char host[TT_DOC_HOST_MAX];          /* "example.com", "10.0.0.1", "::1" */
	uint16_t port;                       /* 80 or 443 unless given */
	char authority[TT_DOC_HOST_MAX + 8]; /* host[:port] as written: the Host field */
	char hostport[TT_DOC_HOST_MAX + 8];  /* "host:port", "[v6]:port": for the config */
	char path[TT_DOC_PATH_MAX];          /* path and query, without the fragment */
};

/* Parse s. Returns 0, or -1 with a reason in why (NUL-terminated). */
int tt_doc_url_parse(const char *s, struct tt_doc_url *u, char *why, size_t whylen);

/* Split "host:port" or "[v6]:port" (a server address as written in the
 * config). Returns 0 with host (no brackets) and *port, or -1. */
int tt_doc_split_hostport(const char *s, char *host, size_t cap, uint16_t *port);

/* 1 when host is an IPv4 or IPv6 literal (no DNS needed). */
int tt_doc_is_ip_literal(const char *host);

#endif
