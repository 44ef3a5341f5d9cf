/*
 * Semantic versions and the constraint language Argo CD accepts in
 * targetRevision (Masterminds semver, as Argo CD uses it): comparisons
 * (=, !=, >, <, >=, <=), ranges joined by "," or space (AND) and "||"
 * (OR), wildcards (1.x, 1.2.*, *), tilde (~1.4: >=1.4.0 <1.5.0), caret
 * (^1.2: >=1.2.0 <2.0.0; ^0.2.3: >=0.2.3 <0.3.0) and hyphen ranges
 * (1.2 - 1.4.5). A version may start with "v" and omit minor and patch.
 * A pre-release version satisfies a constraint only if some comparator in
 * it names a pre-release, as in Masterminds.
 */
#ifndef EDGECD_GIT_SEMVER_H
#define EDGECD_GIT_SEMVER_H

#include <stddef.h>

struct semver {
    long major, minor, patch;
    char pre[64]; /* "" when not a pre-release */
};

/* Parse a version ("v1.2.3-rc.1+build"). 0, or ERR_INVALID. */
int semver_parse(struct semver *out, const char *text);

/* <0, 0, >0 as a is lower, equal to or higher than b (build ignored). */
int semver_cmp(const struct semver *a, const struct semver *b);

typedef struct semver_constraint semver_constraint;

/* Parse a constraint. ERR_INVALID naming the bad part. */
int semver_constraint_parse(semver_constraint **out, const char *text);
void semver_constraint_free(semver_constraint *c);

/* 1 if v satisfies c. */
int semver_satisfies(const semver_constraint *c, const struct semver *v);

/* 1 if text can only be a constraint, not a plain version, branch or tag
 * name: it has an operator, a wildcard, "||", "," or a space. */
int semver_is_constraint(const char *text);

/* 1 if text is a plain, possibly partial version: "1", "v1.2", "1.2.3". */
int semver_is_version(const char *text);

#endif
