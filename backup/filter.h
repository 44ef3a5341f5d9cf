/*
 * A backup's spec, in Velero's Backup fields and with Velero's meaning,
 * kept as the JSON Velero would show (so the manifest carries it as is):
 *
 *   includedNamespaces: ["*"]        globs (`*`, `?`, `[a-z]`); "*" or none: all
 *   excludedNamespaces: []           globs; an exclude wins over an include
 *   includedResources:  ["*"]        "configmaps", "deployments.apps", or a kind
 *   excludedResources:  []           a "*" here is ignored, as Velero does
 *   includeClusterResources: null    true | false | null ("auto": only when every
 *                                    namespace is backed up)
 *   labelSelector:    {matchLabels, matchExpressions}
 *   orLabelSelectors: [ ... ]        objects matching any one; not with labelSelector
 *   ttl: "720h0m0s"
 *   storageLocation: "/var/lib/edgecd/backups"
 *
 * Namespace objects follow the namespace filter, not
 * includeClusterResources, as in Velero: backing up namespace `shop` takes
 * the Namespace `shop` too. Nodes and events are never taken, whatever
 * the spec says: they cannot be restored meaningfully.
 */
#ifndef EDGECD_BACKUP_FILTER_H
#define EDGECD_BACKUP_FILTER_H

#include <jansson.h>

#include "kube/client.h"

/* Check a spec; ERR_INVALID naming the field. Fills defaults in place
 * (includedNamespaces ["*"], includedResources ["*"], ttl "720h0m0s"). */
int filter_spec_check(json_t *spec);

/* A label selector as kubectl and Velero's --selector write it
 * ("app=web,tier!=db,env in (a,b),!legacy") into a new LabelSelector
 * object {matchLabels, matchExpressions}. ERR_INVALID quoting it. */
int filter_selector_parse(const char *text, json_t **out);

/* A LabelSelector back into the query string the API takes; a new string.
 * ERR_INVALID for an operator or shape the API would refuse. */
int filter_selector_string(const json_t *selector, char **out);

/* 1 if labels (an object of strings, or NULL) match a checked
 * LabelSelector: every matchLabels pair and every matchExpressions
 * requirement (In, NotIn, Exists, DoesNotExist), as the API server
 * decides. Restore filters objects from an archive with it. */
int filter_selector_match(const json_t *selector, const json_t *labels);

/* 1 if namespace ns is backed up. */
int filter_namespace(const json_t *spec, const char *ns);

/* 1 if the namespace filter takes every namespace (Velero's "include
 * everything"): then namespaced kinds are listed across all namespaces
 * and includeClusterResources: null means true. */
int filter_all_namespaces(const json_t *spec);

/* The namespaces to list one by one when the spec names them all
 * literally (no glob), as a new array of strings; NULL when the kinds must
 * be listed across all namespaces and filtered here. */
json_t *filter_namespace_list(const json_t *spec);

/* 1 if objects of r are backed up at all (resource filter, scope rules,
 * the never-taken kinds). qualified is "resource" or "resource.group". */
int filter_resource(const json_t *spec, const struct kube_resource *r, const char *qualified);

/* 1 if an object must be skipped for its labels: the label
 * velero.io/exclude-from-backup=true. */
int filter_excluded_object(const json_t *obj);

#endif
