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

/* Names used in the docs, the text and the CLI: "downstream", "proxy",
 * "upstream"; "never", "safe", "idempotent". "?" when out of range. */
const char *tt_fault_side_name(int side);
const char *tt_fault_retry_name(int retry);

#endif
