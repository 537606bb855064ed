/*
 * The catalogue's rows as data, and lookups over them. Everything here is
 * derived from TT_FAULT_TABLE; nothing is written twice.
 *
 * Invariant: rows[i] is the row of id i + 1, so an id indexes in O(1).
 */
#include <string.h>

#include "fault/fault.h"

/* clang-format off */
#define X(id_, type_, status_, rfc_, side_, stage_, retry_, token_, title_, explain_, causes_, \
          visitor_, operator__) \
	{.id = TT_FAULT_##id_, .type = type_, .status = status_, .rfc_status = rfc_, \
	 .side = side_, .stage = stage_, .retry = retry_, .token = token_, .title = title_, \
	 .explain = explain_, .causes = causes_, .visitor = visitor_, .operator_ = operator__},
static const struct tt_fault_info rows[] = {TT_FAULT_TABLE(X)};
#undef X
/* clang-format on */

_Static_assert(sizeof(rows) / sizeof(rows[0]) == TT_FAULT__COUNT - 1,
               "one row per fault id, TT_FAULT_NONE excepted");

const struct tt_fault_info *tt_fault_info(int id)
{
	if (id <= TT_FAULT_NONE || id >= TT_FAULT__COUNT)
		return NULL;
	return &rows[id - 1];
}

static int same(const char *s, const char *p, size_t len)
{
	return strlen(s) == len && memcmp(s, p, len) == 0;
}

enum tt_fault_id tt_fault_by_token(const char *token, size_t len)
{
	if (!token)
		return TT_FAULT_NONE;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (same(rows[i].token, token, len))
			return rows[i].id;
	return TT_FAULT_NONE;
}

enum tt_fault_id tt_fault_by_type(const char *type, size_t len)
{
	if (!type)
		return TT_FAULT_NONE;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (same(rows[i].type, type, len))
			return rows[i].id;
	return TT_FAULT_NONE;
}

int tt_fault_lines(const char *column, size_t *pos, const char **item, size_t *len)
{
	const char *start, *nl;

	if (!column || !column[*pos])
		return 0;
	start = column + *pos;
	nl = strchr(start, '\n');
	*item = start;
	*len = nl ? (size_t)(nl - start) : strlen(start);
	/* Step over the separator; a trailing "\n" (which the table never
	 * has) then ends the iteration instead of yielding an empty item. */
	*pos += *len + (nl ? 1 : 0);
	return 1;
}
