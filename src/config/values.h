/*
 * The value parsers behind tt_cfg_parse_duration, _size, _percent, _addr
 * and _cidr, plus HTTP status ranges and booleans, returning *why* a value
 * is bad so the loader can give a precise message and hint, plus the edit
 * distance used for "did you mean ...?".
 *
 * Internal to src/config/. No allocation; nothing here prints. Only
 * tt_val_addr may block: it resolves host names (getaddrinfo, or the hook
 * set with tt_cfg_set_resolver), for listeners and the admin address.
 */
#ifndef TT_CONFIG_VALUES_H
#define TT_CONFIG_VALUES_H

#include "config/config.h"

enum tt_val_err {
	TT_VAL_OK = 0,
	TT_VAL_SYNTAX,       /* not of the expected form */
	TT_VAL_NO_UNIT,      /* duration: a bare integer other than 0 */
	TT_VAL_RANGE,        /* too large for its type, or past the duration cap */
	TT_VAL_LEADING_ZERO, /* "010": YAML 1.1 would read it as octal */
	TT_VAL_PORT,         /* port missing, not decimal, or outside 1..65535 */
	TT_VAL_V6_BRACKETS,  /* an IPv6 address without [brackets] before :port */
	TT_VAL_NO_HOST,      /* ":8080" where a host is required */
	TT_VAL_RESOLVE,      /* the host name does not resolve */
	TT_VAL_PREFIX,       /* CIDR prefix longer than the address */
	TT_VAL_HOST_BITS,    /* CIDR address has bits set past the prefix */
	TT_VAL_ORDER,        /* a range whose end is below its start */
};

/* Durations above one day are almost surely a unit mistake ("5h" for "5s"). */
#define TT_VAL_DURATION_MAX_MS (24ULL * 60 * 60 * 1000)

/* Unsigned decimal: digits only, no sign, no leading zero except "0". */
enum tt_val_err tt_val_uint(const char *s, uint64_t *out);

/* "250ms", "5s", "2m", "1h", "1h30m", "1m30s500ms" (units largest first,
 * each once), or "0". At most TT_VAL_DURATION_MAX_MS. */
enum tt_val_err tt_val_duration(const char *s, uint64_t *ms);

/* "512", "512b", "16k", "16kb", "16KiB", "1m", "1MiB", "1g"; k = 1024;
 * units are case-insensitive. */
enum tt_val_err tt_val_size(const char *s, uint64_t *bytes);

/*
 * "host:port" or "[v6]:port". With empty_host_ok, ":port" means
 * 0.0.0.0:port (listeners). On TT_VAL_RESOLVE, why holds the resolver's
 * reason. Numeric hosts never touch the resolver.
 */
enum tt_val_err tt_val_addr(const char *s, int empty_host_ok, struct sockaddr_storage *ss,
                            socklen_t *len, char *why, size_t whylen);

/*
 * An upstream server's "host:port" or "[v6]:port": never resolved. An IP
 * literal fills ss and len; a host name (checked for its characters) sets
 * *len to 0. Either way host (without brackets) and port are filled.
 */
enum tt_val_err tt_val_server(const char *s, char *host, size_t hostcap, uint16_t *port,
                              struct sockaddr_storage *ss, socklen_t *len);

/* A resolver's address: "ip", "ip:port", "v6" or "[v6]:port", literals only. */
enum tt_val_err tt_val_nameserver(const char *s);

/* "20%" or a bare "20": a whole percentage from 0 to 100. "20.5%", "020%"
 * and "101%" are refused (SYNTAX, LEADING_ZERO, RANGE). */
enum tt_val_err tt_val_percent(const char *s, uint32_t *out);

/* "200" or "200-399": one HTTP status or an inclusive range of them, each
 * from 100 to 599 (RANGE); "399-200" is ORDER. */
enum tt_val_err tt_val_status_range(const char *s, uint32_t *min, uint32_t *max);

/* "true" or "false", nothing else: YAML 1.1 read yes, no, on, off, y and n
 * as booleans and YAML 1.2 does not, so telltale accepts neither. */
enum tt_val_err tt_val_bool(const char *s, int *out);

/* "10.0.0.0/8", "::1/128", or a bare address (/32 or /128). */
enum tt_val_err tt_val_cidr(const char *s, struct tt_cfg_cidr *out);

/* Levenshtein distance, case-insensitive; words over 64 bytes count as far. */
unsigned tt_val_distance(const char *a, const char *b);

/* The candidate close enough to `word` to suggest, or NULL. */
const char *tt_val_closest(const char *word, const char *const *cands, size_t n);

#endif
