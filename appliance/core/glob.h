/*
 * Glob patterns as Argo CD matches them (gobwas/glob): `*` any run of
 * characters, `?` one character, `[abc]`, `[a-z]`, `[!x]` classes,
 * `{a,b,c}` alternatives, which may nest and hold wildcards; `\` quotes the
 * next character. Matched against the whole string.
 *
 * Without a separator (directory.include/exclude, destinations, sync
 * windows) `*` and `?` match any character, '/' too. With one (sourceRepos
 * use '/'), `*` and `?` stop at it and `**` crosses it.
 */
#ifndef EDGECD_CORE_GLOB_H
#define EDGECD_CORE_GLOB_H

/* 0 if pattern is well formed, else ERR_INVALID naming the problem
 * (an unclosed `[` or `{`, a trailing `\`, nesting deeper than 16). */
int glob_check(const char *pattern);

/* 1 if s matches the (checked) pattern, 0 if not. sep is the separator
 * character, or 0 for none. Time is at most the product of the two
 * lengths, whatever the pattern. Any thread. */
int glob_match(const char *pattern, const char *s, char sep);

#endif
