/*
 * Scalar typing as kubectl does it: go-yaml v2's resolver (YAML 1.1 with
 * Go's strconv underneath) followed by sigs.k8s.io/yaml's conversion of
 * map keys to strings. Kept apart from the parser because the emitter asks
 * the same question in reverse: "would a reader type this text as a
 * string?" decides whether a string needs quotes.
 */
#ifndef EDGECD_DOC_RESOLVE_H
#define EDGECD_DOC_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

enum resolve_kind {
    RESOLVE_STR,
    RESOLVE_NULL,
    RESOLVE_BOOL,
    RESOLVE_INT,   /* fits int64 */
    RESOLVE_UINT,  /* above INT64_MAX, fits uint64 (Go returns uint64) */
    RESOLVE_FLOAT, /* may be NaN or infinite */
};

struct resolve_value {
    enum resolve_kind kind;
    int b;
    int64_t i;
    uint64_t u;
    double f;
};

/* Type the text of an untagged plain scalar (len bytes, may hold NULs).
 * Never fails: anything that is not a null, bool, int or float is a
 * string. */
void resolve_plain(const char *s, size_t len, struct resolve_value *out);

/* 1 if s looks like the start of a YAML 1.1 timestamp (YYYY-), which is
 * what go-yaml checks before trying its timestamp formats. */
int resolve_is_timestamp(const char *s, size_t len);

/* A float as a map key, the way sigs.k8s.io/yaml spells it: Go's
 * strconv.FormatFloat(f, 'g', -1, 32), with .inf/-.inf/.nan. */
void resolve_float_key(double f, char out[48]);

/* Shortest decimal text that reads back as exactly f (f finite). */
void resolve_float_text(double f, char out[32]);

#endif
