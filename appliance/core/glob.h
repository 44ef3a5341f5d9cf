/*
 * Glob patterns as Argo CD matches them (gobwas/glob without separators):
 * directory.include / directory.exclude against file paths, and the
 * group and kind of ignoreDifferences rules. `*` any run of characters,
 * including '/'; `?` one character; `[abc]`, `[a-z]`, `[!x]` classes;
 * `{a,b,c}` alternatives, which may nest and hold wildcards; `\` quotes
 * the next character. Matched against the whole string. Pure; any thread.
 */
#ifndef EDGECD_CORE_GLOB_H
#define EDGECD_CORE_GLOB_H

/* 0 if pattern is well formed, else ERR_INVALID naming the problem
 * (an unclosed `[` or `{`, a trailing `\`, nesting deeper than 16). */
int glob_check(const char *pattern);

/* 1 if text matches the (checked) pattern, 0 if not. */
int glob_match(const char *pattern, const char *text);

#endif
