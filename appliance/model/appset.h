/*
 * Argo CD's ApplicationSet (argoproj.io/v1alpha1) as edgecd reads it:
 * parse and validate. The generators are checked here, whole and
 * recursively (matrix and merge hold generators), so the engine only ever
 * runs a generator it knows; anything edgecd does not run (templatePatch,
 * progressive syncs, the scmProvider, pullRequest, clusterDecisionResource
 * and plugin generators, post-selectors, cluster selectors) is
 * ERR_UNSUPPORTED naming the field, never ignored: an ApplicationSet that
 * silently generated other apps than Argo CD would is worse than one that
 * is refused.
 *
 * Messages name the source and the field path:
 * "repo@abc1234:appsets.yaml: spec.generators[0].git.directories[1].path:
 * needs a string".
 */
#ifndef EDGECD_MODEL_APPSET_H
#define EDGECD_MODEL_APPSET_H

#include <jansson.h>

/* Matrix and merge generators nest at most this deep (Argo CD: two). */
#define APPSET_MAX_DEPTH 3
/* Generators of one matrix (Argo CD: exactly two) / of one merge. */
#define APPSET_MAX_CHILDREN 8
/* Argo CD's default requeueAfterSeconds. */
#define APPSET_DEFAULT_REQUEUE_SECONDS 180

/* spec.syncPolicy.applicationsSync, with Argo CD's meaning. */
enum appset_policy {
    APPSET_POLICY_SYNC,          /* create, update and delete (the default) */
    APPSET_POLICY_CREATE_ONLY,   /* create; never update or delete */
    APPSET_POLICY_CREATE_UPDATE, /* create and update; never delete */
    APPSET_POLICY_CREATE_DELETE, /* create and delete; never update */
};

struct appset {
    char *name;
    int go_template;        /* spec.goTemplate */
    int missingkey_error;   /* goTemplateOptions: ["missingkey=error"] */
    int preserve_resources; /* syncPolicy.preserveResourcesOnDeletion */
    enum appset_policy policy;
    /* the smallest requeueAfterSeconds of its generators (default 180;
     * 0 when one asks for none, as Argo CD's list generator does not) */
    long requeue_seconds;
    const json_t *generators; /* spec.generators, borrowed from manifest */
    const json_t *tmpl;       /* spec.template, borrowed from manifest */
    json_t *manifest;         /* owned reference */
};

/* Parse obj (borrowed; a reference is kept in out->manifest). source
 * names where it came from (NULL: none). ERR_INVALID or ERR_UNSUPPORTED
 * naming the field. out is caller-owned: appset_dispose, also after a
 * failure. Any thread. */
int appset_parse(struct appset *out, const json_t *obj, const char *source);
void appset_dispose(struct appset *a);

/* 1 if obj looks like an ApplicationSet (apiVersion argoproj.io/...,
 * kind ApplicationSet). */
int appset_is_appset(const json_t *obj);

/* The name of the one generator kind gen holds ("list", "git", ...), or
 * NULL. Borrowed static string. */
const char *appset_generator_kind(const json_t *gen);

/* The policy's name as written in a manifest ("sync", "create-only"...). */
const char *appset_policy_name(enum appset_policy p);

#endif
