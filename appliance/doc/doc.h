/*
 * The document model: every YAML and JSON document edgecd handles (Git
 * manifests, Kubernetes objects, API bodies, its own config) becomes one
 * tree type, jansson's json_t, whose objects keep key order. YAML scalars
 * are typed the way kubectl types them (go-yaml v2 rules + sigs.k8s.io/yaml
 * conversion: `yes`/`on` are booleans, `0777` is octal, `1e3` is a number,
 * `~` is null, mapping keys become strings). Hostile input meets hard
 * limits (size, depth, alias expansion, document count) and gets an error
 * naming `source:line:col`, never a crash.
 *
 * Ownership: every json_t ** output is a new reference the caller must
 * json_decref. Functions named doc_get* return borrowed references.
 * All functions are safe to call from any thread on distinct trees.
 */
#ifndef EDGECD_DOC_DOC_H
#define EDGECD_DOC_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

struct doc_limits {
    size_t max_bytes;     /* whole input */
    size_t max_depth;     /* nesting of mappings/sequences */
    size_t max_nodes;     /* nodes produced, aliases expanded */
    size_t max_documents; /* documents in one stream */
    /* 1: type plain scalars as yaml.v3 does (kustomize's reader): only
     * true/True/TRUE/false/False/FALSE are booleans, so yes/no/on/off/y/n
     * stay strings. 0: kubectl's YAML 1.1 typing. */
    int yaml_v3_bools;
};

/* 8 MiB, depth 100, 1,000,000 nodes, 10,000 documents, kubectl's typing. */
#define DOC_LIMITS_INIT                                                                            \
    {                                                                                              \
        8u << 20, 100, 1000000, 10000, 0                                                           \
    }

/* Parse a YAML stream into a new JSON array holding one element per
 * non-empty document, in order (a document that is only `---` or null is
 * skipped, as kubectl does). `source` names the input in error messages
 * ("repo@abc123:apps/cm.yaml"). lim may be NULL for the defaults.
 * Errors: ERR_INVALID (syntax, duplicate key, unsupported tag) and
 * ERR_TOOLARGE (a limit), message "source:line:col: what". */
int doc_parse_yaml(json_t **out_docs, const char *data, size_t len, const char *source,
                   const struct doc_limits *lim);

/* Parse one JSON text (same limits and error form) into a new value. */
int doc_parse_json(json_t **out, const char *data, size_t len, const char *source,
                   const struct doc_limits *lim);

/* Parse by name: `.json` files as JSON (one value; a top-level value is
 * wrapped in a one-element array), anything else as a YAML stream. */
int doc_parse_file_data(json_t **out_docs, const char *data, size_t len, const char *source,
                        const struct doc_limits *lim);

/* Serialise as YAML (block style, keys in order, strings quoted exactly
 * when a reader would otherwise type them differently) / as JSON (compact
 * when pretty is 0, two-space indent otherwise). Appends to out. */
void doc_emit_yaml(struct buf *out, const json_t *doc);
void doc_emit_json(struct buf *out, const json_t *doc, int pretty);

/* Serialise an array of documents (as doc_parse_yaml returns) as one YAML
 * stream, documents after the first introduced by `---`. Appends to out. */
void doc_emit_yaml_stream(struct buf *out, const json_t *docs);

/* Borrowed lookup by dotted path of object keys ("metadata.name"); NULL
 * when any step is missing or not an object. Keys with dots are reached
 * too: at each step a key equal to the whole rest of the path wins, and
 * after a step named labels, annotations, matchLabels, nodeSelector, data,
 * stringData or binaryData the rest is one key
 * ("metadata.labels.app.kubernetes.io/name"). */
json_t *doc_get(const json_t *root, const char *dotted);
/* The string at a dotted path, or NULL if missing or not a string. */
const char *doc_get_str(const json_t *root, const char *dotted);

/* Set root[dotted] = value, creating intermediate objects (replacing
 * non-objects on the way); steals value. Same path rules as doc_get. */
void doc_set_new(json_t *root, const char *dotted, json_t *value);

/* The same with the path as n separate keys, for keys the dotted form
 * cannot spell. doc_get_keys borrows; doc_set_keys_new steals value. */
json_t *doc_get_keys(const json_t *root, const char *const *keys, size_t n);
void doc_set_keys_new(json_t *root, const char *const *keys, size_t n, json_t *value);

/* Deep equality, ignoring object key order. */
int doc_equal(const json_t *a, const json_t *b);

/* SHA-256 (hex) of the canonical JSON form (sorted keys, compact). */
void doc_hash(const json_t *doc, char out[65]);

/*
 * Argo CD's diff customisation: ignoreDifferences rules name fields to
 * leave out when a desired and a live object are compared. A rule selects
 * objects by group and kind (Argo CD globs: "*", "?", "[a-z]", "{a,b}";
 * "" is the core group) and, when set, exact name and namespace; it names
 * fields by RFC 6901 JSON pointers, by jq path expressions of the subset
 * below, and by managers: the fields the live object's
 * metadata.managedFields lists for them (fieldsV1 "f:", "k:{...}", "v:",
 * "i:" keys resolved against the object; a list item a manager created,
 * marked ".", goes whole unless another manager owns part of it).
 *
 * jq subset: a pipeline (`|`) of paths and select()s. A path starts with
 * `.` and goes on with `.name`, `."any key"`, `["any key"]`, `[N]`
 * (negative from the end), `[]` (every item or value) and `?`.
 * select(PATH == LITERAL), select(PATH != LITERAL),
 * select(PATH | startswith("s")) and select(PATH | endswith("s")) keep the
 * value when the condition holds; PATH there is fields and indices only,
 * LITERAL a JSON string, number, true, false or null. Anything else is
 * refused with ERR_UNSUPPORTED naming the expression when the rules are
 * read. Paths that do not exist in an object are no fields, not errors.
 *
 * A rule set is built once (doc_ignore_new, then doc_ignore_add_* for each
 * source) and is read-only after: apply, paths and is_ignored may run on
 * any thread at once. Every path is resolved against the object as given,
 * so two rules naming items of one list never shift each other.
 */
typedef struct doc_ignore doc_ignore;

/* A new empty rule set (always 0); free with doc_ignore_free. */
int doc_ignore_new(doc_ignore **out);
void doc_ignore_free(doc_ignore *ig);

/* Number of rules in the set (0 for NULL). */
size_t doc_ignore_count(const doc_ignore *ig);

/* Add the rules of an Application's spec.ignoreDifferences: a list of
 * {group, kind, name, namespace, jsonPointers, jqPathExpressions,
 * managedFieldsManagers}; NULL or null adds nothing. `where` starts error
 * messages ("apps/guestbook.yaml: spec.ignoreDifferences", giving
 * "...[0].jqPathExpressions[1]: ..."). ERR_INVALID: not a list, a field of
 * the wrong type, an unknown field, kind missing, a malformed glob or
 * pointer; ERR_UNSUPPORTED: a jq expression outside the subset;
 * ERR_TOOLARGE: an expression over 1024 bytes. On error nothing is
 * added. */
int doc_ignore_add_app(doc_ignore *ig, const json_t *rules, const char *where);

/* Add the rules of one argocd-cm style setting, key and value as the
 * ConfigMap's data holds them (value a string of YAML) or already parsed
 * (value a mapping):
 *   resource.customizations.ignoreDifferences.<group>_<kind>  (or .<kind>
 *     for the core group, or .all for every kind): {jsonPointers,
 *     jqPathExpressions, managedFieldsManagers}
 *   resource.customizations: a map of "<group>/<kind>" (or "<kind>") to
 *     settings whose ignoreDifferences is such a body; other fields of it
 *     (health.lua, actions, ...) are left to others.
 * ERR_NOTFOUND (nothing added) for any other key; otherwise the errors of
 * doc_ignore_add_app, prefixed with the key. On error nothing is added. */
int doc_ignore_add_setting(doc_ignore *ig, const char *key, const json_t *value);

/* A copy of obj (a new reference) without the fields the rules selecting
 * obj ignore, for comparing a desired and a live object normalised alike
 * (doc_equal). live (may be NULL, may be obj itself) supplies
 * metadata.managedFields for managers' rules. When some rule selects obj,
 * maps and lists left empty are dropped too, as Argo CD does, so an
 * ignored last annotation does not leave `annotations: {}` behind. A
 * non-object obj is copied as is. */
json_t *doc_ignore_apply(const doc_ignore *ig, const json_t *obj, const json_t *live);

/* The ignored fields of obj as sorted RFC 6901 pointers ("/spec/replicas",
 * "/metadata/annotations/a~1b", "/spec/template/spec/containers/1"), none
 * under another; a new array. For the UI. */
json_t *doc_ignore_paths(const doc_ignore *ig, const json_t *obj, const json_t *live);

/* 1 if the field at pointer (RFC 6901) is ignored: it or a field above it
 * is among doc_ignore_paths; 0 if not. */
int doc_ignore_is_ignored(const doc_ignore *ig, const json_t *obj, const json_t *live,
                          const char *pointer);

/* ---- Secret masking (mask.c) ----
 * Argo CD's HideSecretData: the values of a v1 Secret's data (stringData
 * first folded into data as base64, as the API server does) are replaced
 * by runs of '+', per key: the first distinct value seen gets 8, the next
 * 12, and so on, across target, live and live's
 * kubectl.kubernetes.io/last-applied-configuration annotation (masked
 * too). Equal values get equal runs and different values different ones,
 * so a diff still shows that a value changed, never what it is. */

/* 1 if obj is a v1 Secret. */
int doc_is_secret(const json_t *obj);

/* Mask target and live in place (either may be NULL; objects that are
 * not Secrets are left alone). */
void doc_mask_secrets(json_t *target, json_t *live);

/* Every value (as stored in data, and decoded) of obj's data and
 * stringData as a new array of strings, longest first, for scrubbing free
 * text such as event messages; [] when obj is not a Secret. */
json_t *doc_secret_values(const json_t *obj);

/* text with every occurrence of the strings of values (doc_secret_values;
 * empty ones and those under 4 bytes skipped) replaced by "++++++++"; a
 * new string. */
char *doc_mask_text(const char *text, const json_t *values);

#endif
