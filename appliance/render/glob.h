/*
 * Glob patterns as Argo CD's directory.include / directory.exclude use
 * them (gobwas/glob without separators): `*` any run of characters,
 * including '/'; `?` one character; `[abc]`, `[a-z]`, `[!x]` classes;
 * `{a,b,c}` alternatives, which may nest and hold wildcards; `\` quotes
 * the next character. Matched against the whole path.
 */
#ifndef EDGECD_RENDER_GLOB_H
#define EDGECD_RENDER_GLOB_H

/* 0 if pattern is well formed, else ERR_INVALID naming the problem
 * (an unclosed `[` or `{`, a trailing `\`, nesting deeper than 16). */
int render_glob_check(const char *pattern);

/* 1 if path matches the (checked) pattern, 0 if not. */
int render_glob_match(const char *pattern, const char *path);

#endif
