/*
 * A unified diff of two texts, line by line, byte for byte what GNU
 * `diff -u --label OLD --label NEW` prints for the same two files (the
 * header lines carry the labels and no timestamps). `edgecd app diff` and
 * the UI show desired against live manifests with it.
 *
 * Matching GNU diff exactly matters more than any particular algorithm:
 * an operator who pipes our output into `patch`, or compares it with what
 * `kubectl diff` or `argocd app diff` showed, should see the same hunks.
 * Many edit scripts are equally short, so the same output means making
 * the same choices: see diff.c.
 *
 * Texts are compared as text even when they hold NUL bytes (like `diff
 * -a`). Memory is linear in the number of lines; time is O((N+M)·D),
 * bounded for very different inputs by GNU's cost cut-off. Pure; any
 * thread.
 */
#ifndef EDGECD_CORE_DIFF_H
#define EDGECD_CORE_DIFF_H

#include <stddef.h>

#include "core/buf.h"

struct diff_options {
    const char *label_old; /* after "--- " */
    const char *label_new; /* after "+++ " */
    int context;           /* lines of context around each change (-U) */
};

#define DIFF_OPTIONS_INIT                                                                          \
    {                                                                                              \
        "desired", "live", 3                                                                       \
    }

/* Append to out the unified diff that turns old_text (old_len bytes) into
 * new_text: the two header lines, then hunks `@@ -a,b +c,d @@` with
 * context, `-` and `+` lines, and `\ No newline at end of file` after a
 * last line without one. Appends nothing when the texts are equal.
 * opt may be NULL for DIFF_OPTIONS_INIT. Returns 1 when the texts differ,
 * 0 when they are equal; never fails (allocation failure aborts). */
int diff_unified(struct buf *out, const char *old_text, size_t old_len, const char *new_text,
                 size_t new_len, const struct diff_options *opt);

#endif
