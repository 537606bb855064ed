/*
 * The catalogue rendered for people: docs/errors.md (Markdown) and one
 * row as plain text for a terminal (`telltale errors TOKEN`).
 *
 * Both read only the table (catalogue.h): a change of wording there is a
 * change here, and tests/unit/fault/catalogue_test.c fails until
 * docs/errors.md is regenerated with `build/telltale errors --markdown`.
 * Output is deterministic: no date, no version, no locale.
 */
#ifndef TT_FAULT_DOC_H
#define TT_FAULT_DOC_H

#include <stdio.h>

#include "fault/catalogue.h"

/* Write the whole of docs/errors.md to out. Write errors are left in
 * out's error indicator (ferror) for the caller to check. */
void tt_fault_write_markdown(FILE *out);

/* Write one row's full story as plain text, wrapped for an 80-column
 * terminal. fi must not be NULL. */
void tt_fault_write_text(FILE *out, const struct tt_fault_info *fi);

/* Write s[0..len) word-wrapped at width columns and a newline: the first
 * line starts at column first (the caller already wrote that much), the
 * next ones are indented by hang spaces. Words longer than a line stay
 * whole. Shared by the catalogue's text and telltale doctor's report. */
void tt_fault_wrap(FILE *out, const char *s, size_t len, int first, int hang, int width);

/* Names used in the docs, the text and the CLI: "downstream", "proxy",
 * "upstream"; "never", "safe", "idempotent". "?" when out of range. */
const char *tt_fault_side_name(int side);
const char *tt_fault_retry_name(int retry);

#endif
